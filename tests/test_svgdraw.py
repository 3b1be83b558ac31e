"""publish.svgdraw: SVG figures print to the same PDF bytes with the memos as without, the memos are used, and
WeasyPrint's own functions are back in place after the context, also after an error."""

from __future__ import annotations

from io import StringIO
from pathlib import Path

import matplotlib
import pytest
import weasyprint
import weasyprint.svg
import weasyprint.svg.defs
from matplotlib.figure import Figure

from publish.render_pdf import render_pdf
from publish.svgdraw import CHECKED_VERSION, MEMOS, faster_svg_drawing


def hand_svg(width: int) -> str:
    """A hand-written figure with what matplotlib's lack: markers (drawn from a path's vertices), a path in
    percentages (so its drawing depends on ``width``), a path used thrice, a colour used twice with an opacity
    (WeasyPrint multiplies the parsed colour's alpha in place), a style attribute."""
    return f"""<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink"
 width="{width}" height="100" viewBox="0 0 {width} 100">
 <defs>
  <marker id="dot" markerWidth="4" markerHeight="4" refX="2" refY="2"><circle cx="2" cy="2" r="1.5"/></marker>
  <path id="zig" d="M 10 10 l 20 15 l 20 -15 l 20 15" style="fill: none; stroke: #d55e00"
        marker-start="url(#dot)" marker-mid="url(#dot)" marker-end="url(#dot)"/>
 </defs>
 <use xlink:href="#zig"/>
 <use xlink:href="#zig" transform="translate(0 40)"/>
 <use xlink:href="#zig" transform="translate(0 40)"/>
 <path d="M 50% 10% L 90% 10% L 90% 90% z" fill="#0072b2" fill-opacity="0.5" stroke="black" stroke-width="1.5"/>
 <path d="M 5 90 h 30 v -20 z" fill="#0072b2" fill-opacity="0.5"/>
</svg>"""


def matplotlib_svg() -> str:
    """A small matplotlib figure saved as SVG with its text as paths, as the figure scripts save theirs."""
    with matplotlib.rc_context({"svg.fonttype": "path", "svg.hashsalt": "test-svgdraw"}):
        fig = Figure(figsize=(3, 2))
        ax = fig.add_subplot()
        ax.plot([0, 1, 2, 3], [1, 3, 2, 4], marker="o", label="loss")
        ax.set_title("Accuracy 0.875")
        ax.set_xlabel("epoch")
        ax.legend()
        out = StringIO()
        fig.savefig(out, format="svg", metadata={"Date": None})
    return out.getvalue()


@pytest.fixture(scope="module")
def figure_page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A page holding the matplotlib figure (twice) and the hand-written one at two widths."""
    folder = tmp_path_factory.mktemp("svgdraw")
    (folder / "plot.svg").write_text(matplotlib_svg(), encoding="utf-8")
    (folder / "hand.svg").write_text(hand_svg(200), encoding="utf-8")
    (folder / "wide.svg").write_text(hand_svg(300), encoding="utf-8")
    page = folder / "page.html"
    page.write_text(
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Figures</title>'
        '<meta name="author" content="Test author"></head><body><h1>Figures</h1>'
        '<p><img src="plot.svg" alt="A line plot of loss by epoch." style="width: 12cm"></p>'
        '<p><img src="hand.svg" alt="Zigzag lines with dots at their corners." style="width: 8cm"></p>'
        '<p><img src="wide.svg" alt="The same, wider." style="width: 12cm"></p>'
        '<p><img src="plot.svg" alt="The same line plot, smaller." style="width: 6cm"></p>'
        "</body></html>",
        encoding="utf-8",
    )
    return page


def weasyprint_functions() -> dict[str, object]:
    """The functions the context replaces, as WeasyPrint holds them now."""
    return {
        "path": weasyprint.svg.TAGS["path"],
        "transform": weasyprint.svg.transform,
        "size": weasyprint.svg.size,
        "color": weasyprint.svg.color,
        "parse_url": weasyprint.svg.parse_url,
        "defs.parse_url": weasyprint.svg.defs.parse_url,
        "style": weasyprint.svg.parse_declarations,
        "href": weasyprint.svg.Node.__dict__["get_href"],
        "get_child": weasyprint.svg.Node.__dict__["get_child"],
    }


def test_checked_against_the_pinned_weasyprint() -> None:
    # The stand-ins copy WeasyPrint 70.0's behaviour: a new version must be read again before they are trusted.
    assert weasyprint.__version__ == CHECKED_VERSION


def test_same_pdf_bytes_with_the_memos_and_they_are_hit(figure_page: Path) -> None:
    plain = render_pdf(figure_page, [figure_page.parent], fit_pages=False, svg_memos=())
    with faster_svg_drawing() as stats:
        memoised = render_pdf(figure_page, [figure_page.parent], fit_pages=False, svg_memos=())
    assert memoised == plain
    assert render_pdf(figure_page, [figure_page.parent], fit_pages=False) == plain, "render_pdf's own default"
    # The glyphs repeat within the plot and the plot is drawn twice; the zigzag is used three times.
    for name in ("path", "transform", "size", "color", "parse_url", "href", "get_child"):
        assert stats.hits[name] > 0, (name, stats)
    assert stats.hits["path"] > stats.misses["path"] > 0


def test_each_memo_alone_keeps_the_bytes(figure_page: Path) -> None:
    plain = render_pdf(figure_page, [figure_page.parent], fit_pages=False, svg_memos=())
    for name in ("path", "get_child"):  # the two that replay or search, rather than return a value
        with faster_svg_drawing([name]) as stats:
            assert render_pdf(figure_page, [figure_page.parent], fit_pages=False, svg_memos=()) == plain, name
        assert stats.hits[name] > 0
        assert sum(stats.hits.values()) == stats.hits[name], "only the chosen memo is used"


def test_originals_are_restored_on_exit_and_after_an_error() -> None:
    originals = weasyprint_functions()
    with faster_svg_drawing():
        inside = weasyprint_functions()
        assert all(inside[name] is not originals[name] for name in originals)
        assert inside["parse_url"] is inside["defs.parse_url"]
        with faster_svg_drawing(["path"]):  # nested: the inner context puts back the outer's stand-in
            assert weasyprint.svg.TAGS["path"] is not inside["path"]
        assert weasyprint_functions() == inside
    assert weasyprint_functions() == originals
    with pytest.raises(RuntimeError, match="drawing failed"), faster_svg_drawing():
        raise RuntimeError("drawing failed")
    assert weasyprint_functions() == originals


def test_unknown_memo_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown memos"), faster_svg_drawing(["path", "paths"]):
        pass
    assert set(MEMOS) >= {"path", "transform"}


def test_another_weasyprint_version_gets_no_memos(monkeypatch: pytest.MonkeyPatch) -> None:
    originals = weasyprint_functions()
    monkeypatch.setattr(weasyprint, "__version__", "99.0")
    with pytest.warns(RuntimeWarning, match="checked against WeasyPrint"), faster_svg_drawing() as stats:
        assert weasyprint_functions() == originals
    assert sum(stats.hits.values()) == 0
