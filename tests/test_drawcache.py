"""publish.drawcache: a PDF printed with kept drawings of its figures is byte for byte the PDF printed without;
a figure drawn where it was drawn before is replayed, one moved, changed or damaged in the cache is drawn again,
and a drawing the cache cannot repeat exactly (a hatch pattern, a translucent group) is never kept."""

from __future__ import annotations

from io import StringIO
from pathlib import Path

import matplotlib
import numpy as np
import pydyf
import pytest
import weasyprint.images
from matplotlib.figure import Figure
from weasyprint.pdf.stream import Stream

from publish import drawcache
from publish.render_pdf import render_pdf

FIGURES = {
    # A line plot with a legend, text as paths (the figure scripts' settings) and a translucent band.
    "plot": lambda ax: (
        ax.plot([0, 1, 2, 3], [1, 3, 2, 4], marker="o", label="loss"),
        ax.fill_between([0, 1, 2, 3], [0.5, 2, 1, 3], [1.5, 4, 3, 5], alpha=0.3),
        ax.set_title("Loss 0.125"),
        ax.legend(framealpha=1),
    ),
    # A raster image (embedded as a data: URL), as imshow draws filters and digits.
    "image": lambda ax: ax.imshow(np.arange(64, dtype=float).reshape(8, 8), cmap="gray"),
    # Hatched bars (a pattern) and a legend on a translucent frame (a group with an opacity): resources the cache
    # does not repeat, so drawn every time.
    "hatch": lambda ax: (ax.bar([0, 1], [2, 3], hatch="//", fill=False, label="bars"), ax.legend(framealpha=0.8)),
}


def figure_svg(name: str, scale: float = 1.0) -> str:
    """One of ``FIGURES`` saved as the figure scripts save theirs (text as paths, fixed ids)."""
    with matplotlib.rc_context({"svg.fonttype": "path", "svg.hashsalt": "test-drawcache"}):
        fig = Figure(figsize=(3, 2))
        ax = fig.add_subplot()
        FIGURES[name](ax)
        ax.set_xlim(-0.5 * scale, 3.5 * scale)
        out = StringIO()
        fig.savefig(out, format="svg", metadata={"Date": None})
    return out.getvalue()


def write_page(folder: Path, lead: str = "", between: str = "") -> Path:
    """A page showing each figure, the plot twice at two widths, after ``lead`` (paragraphs that move them; those
    ``between`` move the second plot only); all fit on the first page."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in FIGURES:
        (folder / f"{name}.svg").write_text(figure_svg(name), encoding="utf-8")
    images = "".join(f'<p><img src="{name}.svg" alt="The {name} figure." style="width: 7cm"></p>' for name in FIGURES)
    page = folder / "page.html"
    page.write_text(
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Figures</title>'
        f'<meta name="author" content="Test author"></head><body><h1>Figures</h1>{lead}{images}{between}'
        '<p><img src="plot.svg" alt="The plot, smaller." style="width: 5cm"></p></body></html>',
        encoding="utf-8",
    )
    return page


class Counted:
    """Counts what ``cached_svg_drawing`` did in the renders made while it is patched in."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.stats: list[drawcache.DrawStats] = []
        original = drawcache.cached_svg_drawing

        def counting(cache):
            context = original(cache)
            if cache is not None:
                self.stats.append(cache.stats)
            return context

        monkeypatch.setattr("publish.render_pdf.cached_svg_drawing", counting)

    @property
    def last(self) -> drawcache.DrawStats:
        """The last render's counts."""
        return self.stats[-1]


def render(page: Path, cache: Path | None) -> bytes:
    """The page's PDF, with ``cache`` as the draw cache (``None``: without)."""
    return render_pdf(page, [page.parent], fit_pages=False, draw_cache=cache)


def test_kept_drawings_replay_to_the_same_bytes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    counted = Counted(monkeypatch)
    page = write_page(tmp_path / "site")
    cache = tmp_path / "cache"
    plain = render(page, None)
    assert render(page, cache) == plain
    # Plot twice (two widths), image once: kept; the hatched bars: drawn, not kept.
    assert counted.last == drawcache.DrawStats(replayed=0, kept=3, not_kept=1)
    assert len(list(cache.glob("*.draw"))) == 3
    assert render(page, cache) == plain
    assert counted.last == drawcache.DrawStats(replayed=3, kept=0, not_kept=1)


def test_moved_or_changed_figures_are_drawn_again_and_old_entries_pruned(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    counted = Counted(monkeypatch)
    page = write_page(tmp_path / "site")
    cache = tmp_path / "cache"
    render(page, cache)
    first = set(cache.glob("*.draw"))

    # A paragraph before the figures moves them down the page: the matrix differs, every figure is drawn.
    moved = write_page(tmp_path / "site", lead="<p>A new first paragraph.</p>")
    drawn = render(moved, cache)
    assert counted.last == drawcache.DrawStats(replayed=0, kept=3, not_kept=1)
    assert drawn == render(moved, None)
    now = set(cache.glob("*.draw"))
    assert len(now) == 3 and first.isdisjoint(now), "the old positions' entries are pruned"

    # The image's data changes, same file name and place: drawn again; the plots are replayed.
    image = np.arange(64, dtype=float).reshape(8, 8)[::-1]
    with matplotlib.rc_context({"svg.fonttype": "path", "svg.hashsalt": "test-drawcache"}):
        fig = Figure(figsize=(3, 2))
        fig.add_subplot().imshow(image, cmap="gray")
        fig.savefig(moved.parent / "image.svg", format="svg", metadata={"Date": None})
    drawn = render(moved, cache)
    assert counted.last == drawcache.DrawStats(replayed=2, kept=1, not_kept=1)
    assert drawn == render(moved, None)

    # The second plot alone moves: the first draw of the plot is replayed, the second drawn afresh. WeasyPrint
    # changes a figure's parsed tree as it draws it (a <use> passes its attributes on to the glyph it shows), so
    # this checks that a fresh draw after a skipped one still gives the bytes of a draw after a draw.
    # (write_page puts the first image back: its entry was pruned by the last build, so it is drawn too.)
    again = write_page(tmp_path / "site", lead="<p>A new first paragraph.</p>", between="<p>Between.</p>")
    drawn = render(again, cache)
    assert counted.last == drawcache.DrawStats(replayed=1, kept=2, not_kept=1)
    assert drawn == render(again, None)


def test_a_damaged_entry_is_drawn_again_and_rewritten(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    counted = Counted(monkeypatch)
    page = write_page(tmp_path / "site")
    cache = tmp_path / "cache"
    plain = render(page, cache)
    entries = sorted(cache.glob("*.draw"), key=lambda path: path.stat().st_size)
    cut, garbled = entries[-1], entries[0]
    whole = cut.read_bytes()
    cut.write_bytes(whole[: whole.rindex(b"\n")])  # the last operation lost
    garbled.write_bytes(b"{not json\n")
    assert render(page, cache) == plain
    assert counted.last == drawcache.DrawStats(replayed=1, kept=2, not_kept=1)
    assert cut.read_bytes() == whole


def test_the_context_puts_the_original_draw_back() -> None:
    original = weasyprint.images.SVGImage.draw
    cache = drawcache.DrawCache(Path("unused"), "", lambda url: None)
    with pytest.raises(RuntimeError, match="failed"), drawcache.cached_svg_drawing(cache):
        assert weasyprint.images.SVGImage.draw is not original
        raise RuntimeError("failed")
    assert weasyprint.images.SVGImage.draw is original
    with drawcache.cached_svg_drawing(None) as stats:
        assert stats is None and weasyprint.images.SVGImage.draw is original


def bare_stream() -> Stream:
    """A page stream as WeasyPrint makes one, on empty resources."""
    resources = pydyf.Dictionary({name: pydyf.Dictionary() for name in ("ExtGState", "XObject", "Pattern", "Shading")})
    return Stream({}, (0, 0, 100, 100), resources, {}, None, {}, None)


class NoImages:
    """A layout context that loads no image (as for a data: URL that no longer decodes)."""

    @staticmethod
    def get_image_from_uri(url: str, forced_mime_type: str | None = None) -> None:
        """Nothing, whatever the URL."""
        return None


class Unloadable:
    """An SVG image drawn in a context that loads no image."""

    _base_url = "data:image/svg+xml,<svg/>"
    _context = NoImages()


def test_replay_does_nothing_when_an_image_does_not_load() -> None:
    stream = bare_stream()
    stream.stream.append(b"q")
    record = {
        "operations": [b"/a0.5 gs", b"/iabc1 Do"],
        "alphas": [["a0.5", "ca", 0.5]],
        "images": [["data:image/png;base64,AAAA", True, 1, "iabc1"]],
        "state": {name: None for name in drawcache.LEFT_STATE},
    }
    assert drawcache.replay(record, Unloadable(), stream) is False
    assert stream.stream == [b"q"] and len(stream._resources["ExtGState"]) == 0


def test_replay_adds_only_the_missing_opacities_in_first_use_order() -> None:
    stream = bare_stream()
    stream._resources["ExtGState"]["a1"] = pydyf.Dictionary({"ca": 1})
    record = {
        "operations": [b"/a0.3 gs", b"0 0 m", b"/a1 gs", b"/A0.8 gs"],
        "alphas": [["a0.3", "ca", 0.3], ["a1", "ca", 1], ["A0.8", "CA", 0.8]],
        "images": [],
        "state": {name: None for name in drawcache.LEFT_STATE} | {"_current_color": ["srgb", 0.0, 0.5, 1.0]},
    }
    assert drawcache.replay(record, Unloadable(), stream) is True
    assert list(stream._resources["ExtGState"]) == ["a1", "a0.3", "A0.8"]
    assert stream.stream == record["operations"]
    assert stream._current_color == ("srgb", 0.0, 0.5, 1.0), "kept tuples come back as tuples"


def test_another_weasyprint_version_keeps_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The checks read WeasyPrint 70.0's stream: under another version the figures are drawn as without cache.
    original = weasyprint.images.SVGImage.draw
    monkeypatch.setattr(weasyprint, "__version__", "99.0")
    cache = drawcache.DrawCache(tmp_path, "", lambda url: b"")
    with drawcache.cached_svg_drawing(cache) as stats:
        assert weasyprint.images.SVGImage.draw is original and stats == drawcache.DrawStats()


def test_a_moved_project_replays_its_entries(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The keys hold the figures' bytes, not their paths: a project run in another folder (a cluster's working
    # folder, a fresh clone with the cache copied) finds the same entries.
    import shutil

    counted = Counted(monkeypatch)
    page = write_page(tmp_path / "here" / "site")
    plain = render(page, tmp_path / "here" / "cache")
    shutil.copytree(tmp_path / "here", tmp_path / "there")
    assert render(tmp_path / "there" / "site" / "page.html", tmp_path / "there" / "cache") == plain
    assert counted.last == drawcache.DrawStats(replayed=3, kept=0, not_kept=1)


def test_a_figure_that_reads_another_file_is_drawn_every_time(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The other file's bytes are not in the key: a kept drawing could outlive a change to it.
    from PIL import Image

    counted = Counted(monkeypatch)
    folder = tmp_path / "site"
    folder.mkdir()
    Image.new("RGB", (4, 4), (0, 114, 178)).save(folder / "pic.png")
    (folder / "linked.svg").write_text(
        '<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="100" '
        'height="50" viewBox="0 0 100 50"><image x="0" y="0" width="50" height="50" xlink:href="pic.png"/>'
        '<rect x="60" y="10" width="30" height="30" fill="#d55e00"/></svg>',
        encoding="utf-8",
    )
    page = folder / "page.html"
    page.write_text(
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Linked</title>'
        '<meta name="author" content="Test author"></head><body><h1>Linked</h1>'
        '<p><img src="linked.svg" alt="A blue square beside an orange one." style="width: 6cm"></p></body></html>',
        encoding="utf-8",
    )
    cache = tmp_path / "cache"
    first = render(page, cache)
    Image.new("RGB", (4, 4), (230, 159, 0)).save(folder / "pic.png")
    assert render(page, cache) == render(page, None) != first
    assert counted.last == drawcache.DrawStats(replayed=0, kept=0, not_kept=1)
    assert not list(cache.glob("*.draw"))
