"""The print layout check (scripts/tools/layout.py) on small PDFs built here with WeasyPrint, and the fitting pass
of render_pdf.py (publish/fit.py) that keeps handouts free of holes.

Every PDF is rendered from a hand-made page styled by the real print.css, then measured as the make target
measures the handouts: ``pdftoppm`` renders each page, the blank share below the last line is read off the pixels.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

from conftest import ROOT, run_script
from kit.cli import PipelineError

POPPLER = all(shutil.which(tool) for tool in ("pdftoppm", "pdftotext"))
needs_poppler = pytest.mark.skipif(not POPPLER, reason="pdftoppm/pdftotext (poppler-utils) are not installed")
needs_qpdf = pytest.mark.skipif(shutil.which("qpdf") is None, reason="qpdf is not installed")

PRINT_CSS = ROOT / "templates" / "print.css"
FILLER = "<p>" + "A sentence of filler text that takes up room on the page. " * 14 + "</p>"
#: A figure drawn 169 x 106 mm (640 x 400 CSS px), about 120 mm tall with its caption and margins.
TALL_SVG = (
    '<svg xmlns="http://www.w3.org/2000/svg" width="640" height="400" viewBox="0 0 640 400">'
    '<rect width="640" height="400" fill="#0072b2"/></svg>'
)


def page(folder: Path, body: str, title: str = "Layout test") -> Path:
    """A page laid out like an explainer (article > header > h1), with one tall figure file beside it."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "tall.svg").write_text(TALL_SVG, encoding="utf-8")
    path = folder / "page.html"
    path.write_text(
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{title}</title>'
        '<meta name="author" content="Tester"></head><body><main><article><header>'
        f"<h1>{title}</h1></header>{body}</article></main></body></html>",
        encoding="utf-8",
    )
    return path


def pdf(html: Path, out: Path | None = None, fit: bool = True) -> Path:
    """Print ``html`` through render_pdf.py (print.css added, only its folder readable)."""
    from publish import render_pdf

    out = out or html.with_suffix(".pdf")
    args = ["--html", str(html), "--output", str(out), "--allow", str(html.parent), "--page-size", "A4"]
    render_pdf.main([*args, "--stylesheet", str(PRINT_CSS), *([] if fit else ["--no-fit"])])
    return out


def ink(height_mm: float) -> str:
    """A black block: ink of a known height, so a test knows how much room is left on its page."""
    return f'<div style="height: {height_mm}mm; background: #000"></div>'


def figure(name: str) -> str:
    return (
        f'<figure id="fig-{name}"><img src="tall.svg" alt="A blue block ({name})">'
        f'<figcaption><span class="label">Figure.</span> CAPTION-{name}.</figcaption></figure>'
    )


def page_texts(path: Path) -> list[str]:
    import subprocess

    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True).stdout.split("\f")


# --------------------------------------------------------------------------------------------------------
# The measure
# --------------------------------------------------------------------------------------------------------


def test_the_margins_are_those_of_print_css() -> None:
    from tools import layout

    rule = re.search(r"@page\s*\{\s*margin:\s*([0-9.]+)mm\s+[0-9.]+mm\s+([0-9.]+)mm", PRINT_CSS.read_text())
    assert rule, "print.css should set the page margins as 'margin: TOP SIDES BOTTOM' in mm"
    assert (float(rule.group(1)), float(rule.group(2))) == (layout.TOP_MARGIN_MM, layout.BOTTOM_MARGIN_MM)


def test_blank_share_of_synthetic_images() -> None:
    from tools import layout

    height = 468  # A4 at 40 dpi
    top, bottom = layout.body_rows(height)
    assert (top, bottom) == (31, 437)
    image = np.full((height, 331), 255, dtype=np.uint8)
    assert layout.blank_share(image) == 1.0, "an empty body is all blank"
    image[5:12, 100:200] = 0  # the running header, in the top margin: not the body
    image[450:455, 150:180] = 0  # the footer, in the bottom margin
    assert layout.blank_share(image) == 1.0
    image[top + 10 : top + 20, 20:300] = 40  # a line of text
    assert layout.blank_share(image) == pytest.approx((bottom - top - 20) / (bottom - top))
    image[bottom - 1, 20] = 200  # ink on the body's last row
    assert layout.blank_share(image) == 0.0
    image[bottom - 1, 20] = 240  # too light to be ink
    assert layout.blank_share(image) > 0.9


def test_read_pgm_reads_what_pdftoppm_writes(tmp_path) -> None:
    from tools import layout

    data = np.arange(12, dtype=np.uint8).reshape(3, 4)
    path = tmp_path / "x.pgm"
    path.write_bytes(b"P5\n# a comment\n4 3\n255\n" + data.tobytes())
    assert (layout.read_pgm(path) == data).all()
    path.write_bytes(b"P6\n4 3\n255\n" + bytes(36))
    with pytest.raises(PipelineError, match="not an 8-bit binary PGM"):
        layout.read_pgm(path)


@needs_poppler
def test_a_half_empty_page_measures_half_blank(tmp_path) -> None:
    """A block of ink half the body's height, then a forced break: page 1 is half blank, page 2 is not checked."""
    from tools import layout

    body = '<div style="height: 128.5mm; background: #000"></div><p style="break-before: page">Next page.</p>'
    html = tmp_path / "site" / "page.html"
    html.parent.mkdir()
    html.write_text(
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>T</title><meta name="author" content="A">'
        f"<style>@page {{ margin: 20mm 17mm 20mm }} body {{ margin: 0 }}</style></head><body>{body}</body></html>",
        encoding="utf-8",
    )
    from publish import render_pdf

    out = tmp_path / "half.pdf"
    out.write_bytes(render_pdf.render_pdf(html, [html.parent], "A4"))
    shares = layout.blank_shares(out)
    assert len(shares) == 2
    assert shares[0] == pytest.approx(0.5, abs=0.01)
    report = layout.check(out)
    assert [p.number for p in report.pages if p.exempt] == [2]
    assert report.problems == [f"half.pdf page 1: {shares[0]:.1%} blank below its last line (limit 25%)"]


@needs_poppler
@needs_qpdf
def test_pages_before_a_part_are_exempt_with_part_ends_and_a_near_empty_last_page_is_caught(tmp_path) -> None:
    """The answers start a part on a new page (a level-1 bookmark): with ``part_ends`` (the booklet) the page
    before may end early; a handout is held to the rule there too."""
    from tools import layout

    body = (
        FILLER + '<section class="answers" id="answers" hidden><h2 class="part-title">Answers</h2><p>One.</p></section>'
    )
    out = pdf(page(tmp_path / "site", body))
    report = layout.check(out, max_blank_last=0.75, part_ends=True)
    assert [(p.number, p.exempt) for p in report.pages] == [(1, "end of a part"), (2, "last page")]
    assert len(report.problems) == 1
    assert "page 2 (the last)" in report.problems[0] and "nearly empty" in report.problems[0]
    assert layout.check(out, part_ends=True).problems == [], "without --max-blank-last the last page is not checked"
    strict = layout.check(out)
    assert [p.exempt for p in strict.pages] == ["", "last page"]
    assert [problem.split(":")[0] for problem in strict.problems] == ["page.pdf page 1"]


@needs_poppler
def test_a_heading_alone_at_the_foot_of_a_page_is_found(tmp_path) -> None:
    from tools import layout

    stranded = FILLER * 2 + '<h2 id="lonely">A lonely heading</h2><p style="break-before: page">Text.</p>'
    out = pdf(page(tmp_path / "a", stranded))
    found = layout.stranded_headings(out, layout.heading_texts(out.with_suffix(".html")))
    assert found == {1: ["A lonely heading"]}
    report = layout.check(out)
    assert any("heading 'A lonely heading' is alone at the foot of the page" in p for p in report.problems)

    kept = FILLER * 2 + '<h2 id="kept">A kept heading</h2>' + FILLER + '<p style="break-before: page">Text.</p>'
    out = pdf(page(tmp_path / "b", kept))
    assert layout.stranded_headings(out, ["A kept heading"]) == {}


@needs_poppler
def test_print_css_keeps_a_heading_with_the_figure_after_it(tmp_path) -> None:
    """A heading right before a figure that does not fit goes to the next page with it (break-after: avoid)."""
    from tools import layout

    body = FILLER * 6 + '<section id="s"><h2>The heading before a figure</h2>' + figure("one") + FILLER + "</section>"
    out = pdf(page(tmp_path / "site", body), fit=False)
    assert layout.check(out, max_blank=1.0).problems == []
    texts = page_texts(out)
    heading = [i for i, text in enumerate(texts) if "The heading before a figure" in text]
    caption = [i for i, text in enumerate(texts) if "CAPTION-one" in text]
    assert heading == caption, (heading, caption)


def test_cli_reports_each_page_and_fails_on_a_hole(tmp_path, capsys) -> None:
    if not POPPLER:
        pytest.skip("poppler-utils are not installed")
    from tools import layout

    holed = pdf(page(tmp_path / "a", ink(150) + figure("one") + FILLER * 6), fit=False)
    expected = r"1 layout problem\(s\):\n  page\.pdf page 1: .* blank below its last line"
    with pytest.raises(PipelineError, match=expected):
        layout.main([str(holed), "--json", str(tmp_path / "report.json")])
    printed = capsys.readouterr().out
    assert re.search(r"^page\.pdf page 1: [0-9.]+% blank$", printed, re.M)
    assert re.search(r"^page\.pdf page 3: [0-9.]+% blank  \(last page\)$", printed, re.M)
    report = json.loads((tmp_path / "report.json").read_text())
    assert report[0]["pages"][0]["number"] == 1 and report[0]["problems"]
    result = run_script("tools/layout.py", holed, "--max-blank", "0.9", check=False)
    assert result.returncode == 0, result.stderr
    result = run_script("tools/layout.py", holed, check=False)
    assert result.returncode == 1 and result.stderr.startswith("error: 1 layout problem(s):")
    result = run_script("tools/layout.py", tmp_path / "missing.pdf", check=False)
    assert result.returncode == 1 and "missing.pdf: file not found" in result.stderr


# --------------------------------------------------------------------------------------------------------
# The fitting pass (publish/fit.py through render_pdf.py)
# --------------------------------------------------------------------------------------------------------


def figure_pages(path: Path, names: list[str]) -> dict[str, int]:
    """The page (from 1) each figure's caption prints on."""
    texts = page_texts(path)
    return {name: next(i + 1 for i, text in enumerate(texts) if f"CAPTION-{name}" in text) for name in names}


@needs_poppler
def test_fitting_moves_the_text_after_a_pushed_figure_into_the_hole(tmp_path) -> None:
    from tools import layout

    body = '<section id="s">' + ink(150) + figure("one") + FILLER * 5 + figure("two") + FILLER * 3 + "</section>"
    html = page(tmp_path / "site", body)
    plain = pdf(html, tmp_path / "plain.pdf", fit=False)
    fitted = pdf(html, tmp_path / "fitted.pdf")
    assert max(layout.blank_shares(plain)[:-1]) > 0.25, "the test needs a hole to begin with"
    shares = layout.blank_shares(fitted)
    assert max(shares[:-1]) <= 0.25, shares
    assert layout.check(fitted).problems == []
    # Each figure is still whole (its caption on the page of its image) and the figures keep their order.
    pages = figure_pages(fitted, ["one", "two"])
    assert pages["one"] <= pages["two"]
    assert html.read_text(encoding="utf-8").count("CAPTION-one") == 1, "the HTML file itself is not changed"


@needs_poppler
def test_fitting_moves_a_figure_at_the_end_of_a_section_into_the_next_one(tmp_path) -> None:
    from tools import layout

    body = (
        '<section id="a"><h2>First</h2>' + ink(140) + figure("one") + "</section>"
        '<section id="b"><h2>Second</h2>' + FILLER * 6 + "</section>"
    )
    html = page(tmp_path / "site", body)
    assert max(layout.blank_shares(pdf(html, tmp_path / "plain.pdf", fit=False))[:-1]) > 0.25
    fitted = pdf(html, tmp_path / "fitted.pdf")
    assert layout.check(fitted).problems == []
    assert len(page_texts(fitted)[figure_pages(fitted, ["one"])["one"] - 1].split("CAPTION-one")) == 2


@needs_poppler
def test_fitting_shrinks_a_figure_that_almost_fits(tmp_path) -> None:
    """With no text after it to move up, a figure a little too tall for the hole is drawn a little smaller."""
    from tools import layout

    body = ink(150) + figure("one")
    html = page(tmp_path / "site", body + '<section class="answers" hidden><h2 class="part-title">A</h2></section>')
    plain = pdf(html, tmp_path / "plain.pdf", fit=False)
    fitted = pdf(html, tmp_path / "fitted.pdf")
    assert figure_pages(plain, ["one"]) == {"one": 2} and layout.blank_shares(plain)[0] > 0.25
    assert figure_pages(fitted, ["one"]) == {"one": 1}
    assert layout.blank_shares(fitted)[0] < 0.1
    assert len(page_texts(fitted)) == len(page_texts(plain)) - 1


def test_fitting_leaves_a_page_before_a_forced_break_and_is_deterministic(tmp_path) -> None:
    body = FILLER + '<section class="answers" hidden><h2 class="part-title">Answers</h2>' + FILLER + "</section>"
    html = page(tmp_path / "site", body)
    first = pdf(html, tmp_path / "a.pdf")
    second = pdf(html, tmp_path / "b.pdf")
    assert first.read_bytes() == second.read_bytes()
    assert first.read_bytes() == pdf(html, tmp_path / "c.pdf", fit=False).read_bytes(), "nothing to fit here"


def test_fit_helpers_on_a_laid_out_document(tmp_path) -> None:
    """``view`` measures pages, ``starts_part`` sees forced breaks, ``pushed_block`` finds the pushed figure."""
    import weasyprint

    from publish import fit

    body = ink(150) + "<section><h2>Heading</h2>" + figure("one") + "</section>"
    body += '<p style="break-before: page">x</p>'
    html = page(tmp_path / "site", body)
    css = PRINT_CSS.read_text(encoding="utf-8")
    document = weasyprint.HTML(string=html.read_text().replace("</head>", f"<style>{css}</style></head>"),
                               base_url=str(html)).render()  # fmt: skip
    pages = [fit.view(p) for p in document.pages]
    assert len(pages) == 3
    assert pages[0].blank > 0.25 and not fit.starts_part(pages[1], pages[0]) and fit.starts_part(pages[2], pages[1])
    carried, block = fit.pushed_block(pages[1])
    assert [box.element_tag for box in carried] == ["h2"] and block.element_tag == "figure"
    assert fit.pushed_block(pages[2]) is None, "a page opening with running text has no pushed block"


@needs_poppler
def test_a_last_page_with_a_few_lines_of_the_answers_is_avoided(tmp_path) -> None:
    """The last part (the answers) spilling a couple of lines onto a last page is set a little tighter, so the
    page goes."""
    from tools import layout

    def appendix(lines: int) -> str:
        rows = "".join(f"<p>Appendix line {i}.</p>" for i in range(lines))
        return FILLER + f'<section class="answers" hidden><h2 class="part-title">Answers</h2>{rows}</section>'

    # How many one-line paragraphs fill the answers' first page, on this system's fonts.
    probe = pdf(page(tmp_path / "probe", appendix(90)), fit=False)
    per_page = page_texts(probe)[1].count("Appendix line")
    html = page(tmp_path / "site", appendix(per_page + 2))
    plain = pdf(html, tmp_path / "plain.pdf", fit=False)
    assert layout.blank_shares(plain)[-1] > 0.75 and len(page_texts(plain)) - 1 == 3
    fitted = pdf(html, tmp_path / "fitted.pdf")
    assert len(page_texts(fitted)) - 1 == 2, "the answers now fit their page"
    assert layout.check(fitted, max_blank_last=0.75, part_ends=True).problems == []


@needs_poppler
@pytest.mark.parametrize("lines", [4, 30])
def test_the_page_before_the_answers_is_filled_by_setting_the_appendix_looser_or_tighter(tmp_path, lines) -> None:
    """A handout's appendix (class fit-stretch) runs on after the lesson; where it ends short of the page before
    the answers, its type is scaled (within the limits) until that page is filled or its lines move back."""
    from publish import fit
    from tools import layout

    def handout(rows: int) -> str:
        text = "".join(f"<p>Appendix line {i} with a few more words on it.</p>" for i in range(rows))
        return (
            FILLER * 3
            + f'<div class="appendix-part fit-stretch"><h2 class="part-title" hidden>Appendix</h2>{text}</div>'
            + '<section class="answers" hidden><h2 class="part-title">Answers</h2><p>One.</p></section>'
        )

    # An appendix whose last page holds only `lines` lines: as many as a long probe prints on its first two pages,
    # and `lines` more.
    probe = page_texts(pdf(page(tmp_path / "probe", handout(200)), fit=False))
    html = page(tmp_path / "site", handout(sum(text.count("Appendix line") for text in probe[:2]) + lines))
    plain = pdf(html, tmp_path / "plain.pdf", fit=False)
    shares = layout.blank_shares(plain)
    assert shares[-2] > 0.25, f"the test needs a short page before the answers: {shares}"
    fitted = pdf(html, tmp_path / "fitted.pdf")
    assert layout.check(fitted).problems == [], layout.blank_shares(fitted)
    assert page_texts(fitted)[-2].lstrip().startswith("Layout test") and "One." in page_texts(fitted)[-2]
    low, high = fit.STRETCH_LIMITS
    # Every paragraph of the appendix got one size, a scale within the limits of print.css's 10.5pt (14 px).
    sizes = {float(size) for size in re.findall(r"font-size: ([0-9.]+)px", _fitted_styles(html))}
    assert len(sizes) == 1 and low * 14 - 0.01 <= sizes.pop() <= high * 14 + 0.01


def _fitted_styles(html: Path) -> str:
    """The inline styles the fitting pass gives the appendix's paragraphs (it works on WeasyPrint's parsed
    copy of the page, so the test fits a copy of its own)."""
    import weasyprint

    from publish import fit, render_pdf

    page = weasyprint.HTML(filename=str(html))
    css = weasyprint.CSS(filename=str(PRINT_CSS))
    sheet = weasyprint.CSS(string=render_pdf.page_size_css("A4"))

    def lay_out():
        import cssselect2

        page.wrapper_element = cssselect2.ElementWrapper.from_html_root(page.etree_element)
        return page.render(stylesheets=[sheet, css])

    fit.fit(page.etree_element, lay_out)
    part = next(element for element in page.etree_element.iter("div") if "fit-stretch" in element.get("class", ""))
    return " ".join(element.get("style") or "" for element in part.iter("p"))


def test_next_scale_interpolates_extrapolates_and_keeps_within_the_limits() -> None:
    from publish import fit

    low, high = fit.STRETCH_LIMITS
    # First try: along the block's own span (a block 2 pages long must grow 10 % to end 0.2 pages later).
    assert fit.next_scale([(1.0, 5.5)], 5.7, 2.0) == pytest.approx(1.1)
    # Between the nearest tries on either side of the target.
    assert fit.next_scale([(1.0, 5.5), (1.1, 6.1)], 5.8, 2.0) == pytest.approx(1.05)
    # Beyond the limits: the limit itself, once; then nothing more to try.
    assert fit.next_scale([(1.0, 5.5)], 9.0, 2.0) == high
    assert fit.next_scale([(1.0, 5.5), (high, 5.9)], 9.0, 2.0) is None
    assert fit.next_scale([(1.0, 5.5)], 1.0, 2.0) == low


# --------------------------------------------------------------------------------------------------------
# Parts fitted alone (class fit-part), and the fit cache
# --------------------------------------------------------------------------------------------------------


def parts_page(folder: Path, parts: list[str], part_class: str = "fit-part") -> Path:
    """A booklet-like page: ``main`` holding one section per part, each starting on a new page."""
    sections = "".join(
        f'<section class="{part_class}" style="break-before: page"><h1>Part {number}</h1>{body}</section>'
        for number, body in enumerate(parts, start=1)
    )
    path = page(folder, "")  # the figure file beside it
    path.write_text(
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Parts</title>'
        f'<meta name="author" content="Tester"></head><body><main>{sections}</main></body></html>',
        encoding="utf-8",
    )
    return path


def render_counting(html: Path, cache: Path | None, monkeypatch) -> tuple[bytes, list[int]]:
    """The PDF bytes of ``html`` (fitted, with ``cache``) and the page count of every layout pass it took."""
    import weasyprint

    from publish import render_pdf

    passes: list[int] = []
    original = weasyprint.HTML.render

    def counted(self, *args, **kwargs):
        document = original(self, *args, **kwargs)
        passes.append(len(document.pages))
        return document

    monkeypatch.setattr(weasyprint.HTML, "render", counted)
    pdf_bytes = render_pdf.render_pdf(html, [html.parent], "A4", PRINT_CSS, fit_cache=cache)
    monkeypatch.setattr(weasyprint.HTML, "render", original)
    return pdf_bytes, passes


def three_parts(spill: int) -> list[str]:
    """Parts with holes to fix (a figure pushed off a page) and a last part that spills ``spill`` lines onto a
    last page of its own (set tighter then)."""
    rows = "".join(f"<p>Closing line {i}.</p>" for i in range(spill))
    return [
        ink(150) + figure("one") + FILLER * 5,
        FILLER + ink(120) + figure("two") + FILLER * 4,
        rows,
    ]


@needs_poppler
def test_parts_fitted_alone_print_as_the_whole_document_fitted_at_once(tmp_path, monkeypatch) -> None:
    """Fitting each part alone (fit-part) gives the very PDF that fitting the whole document gives, holes fixed
    and the nearly empty last page avoided, in passes over single parts instead of the whole."""
    from tools import layout

    # How many one-line paragraphs fill a page, on this system's fonts; the last part spills 2 lines.
    lines = page_texts(pdf(parts_page(tmp_path / "lines", ["".join(f"<p>Closing line {i}.</p>" for i in range(90))]),
                           fit=False))[0].count("Closing line")  # fmt: skip
    bodies = three_parts(lines + 2)
    # Same length of markup on both sides ("fit-part" / "no-part"), so only the fitting differs.
    whole = parts_page(tmp_path / "whole", bodies, part_class="no-part")
    alone = parts_page(tmp_path / "alone", bodies)
    plain = pdf(alone, tmp_path / "plain.pdf", fit=False)
    shares = layout.blank_shares(plain)
    assert max(shares[:-1]) > 0.25 and shares[-1] > 0.75, f"the test needs holes and a near-empty end: {shares}"
    whole_pdf, whole_passes = render_counting(whole, None, monkeypatch)
    alone_pdf, alone_passes = render_counting(alone, None, monkeypatch)
    assert alone_pdf == whole_pdf
    fitted = tmp_path / "fitted.pdf"
    fitted.write_bytes(alone_pdf)
    assert layout.check(fitted, max_blank_last=0.75, part_ends=True).problems == []
    # Whole-document passes: the fitted whole document is laid out once, every other pass is one part alone.
    total = len(page_texts(fitted)) - 1
    assert alone_passes[-1] == total and all(count < total for count in alone_passes[:-1])
    assert all(count >= total for count in whole_passes[:-1]), "without parts, every pass is the whole document"


@needs_poppler
def test_the_fit_cache_reuses_unchanged_parts_and_gives_the_same_bytes(tmp_path, monkeypatch) -> None:
    """A second build takes every fitted part from the cache (one layout, of the whole); a part whose text or
    images changed is fitted again, the others are not; the bytes are always those of a build without cache."""
    from publish import render_pdf

    bodies = three_parts(3)
    html = parts_page(tmp_path / "site", bodies)
    cache = tmp_path / "cache"
    fresh, _ = render_counting(html, None, monkeypatch)
    cold, cold_passes = render_counting(html, cache, monkeypatch)
    assert cold == fresh and len(list(cache.glob("*.xml"))) == 3
    warm, warm_passes = render_counting(html, cache, monkeypatch)
    assert warm == fresh and len(warm_passes) == 1 < len(cold_passes)

    # One part's text changes: that part alone is fitted again (its passes are shorter than the whole).
    html.write_text(html.read_text(encoding="utf-8").replace("Closing line 0.", "Closing line nought."), "utf-8")
    edited, passes = render_counting(html, cache, monkeypatch)
    assert edited == render_pdf.render_pdf(html, [html.parent], "A4", PRINT_CSS)
    assert len(passes) == 2 and passes[0] < passes[1], "the edited part alone, then the whole"

    # The figure file changes (same name, taller drawing): the parts showing it are fitted again.
    (html.parent / "tall.svg").write_text(TALL_SVG.replace('height="400"', 'height="500"'), encoding="utf-8")
    _, passes = render_counting(html, cache, monkeypatch)
    assert len(passes) >= 3, "parts 1 and 2 show the figure"
    assert len(list(cache.glob("*.xml"))) == 3, "the cache keeps only this build's parts"

    # A damaged entry is a miss: that part is fitted again and written anew, the bytes unchanged.
    damaged = sorted(cache.glob("*.xml"))[0]
    damaged.write_text("<section", encoding="utf-8")
    again, passes = render_counting(html, cache, monkeypatch)
    assert again == render_pdf.render_pdf(html, [html.parent], "A4", PRINT_CSS) and len(passes) >= 2
    assert damaged.read_text(encoding="utf-8").startswith("<section ")


def test_parts_must_share_one_holder() -> None:
    import xml.etree.ElementTree as ET

    from publish import fit

    root = ET.fromstring(
        '<html><body><main><section class="fit-part"/></main><div><section class="fit-part"/></div></body></html>'
    )
    with pytest.raises(ValueError, match="children of one element"):
        fit.fit_parts(root, lambda: None, fit.FIT_BLANK, None)
