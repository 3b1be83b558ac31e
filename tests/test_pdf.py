"""Print checks of the PDF handouts and the booklet: tagged PDF/UA, metadata, page boxes, bookmarks, contents.

The PDFs are rendered from small hand-made pages that use the real print.css (and, for the booklet, the real
booklet template), then checked with the tools a publisher would use: ``qpdf --check``, ``qpdf --json``
(outline, catalog), ``pdffonts`` (embedding), ``pdfinfo`` (metadata, page size) and ``pdftotext`` (what each
page prints). Tests needing qpdf or poppler are skipped with the reason when the tool is missing.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import ROOT, run_script
from kit.cli import PipelineError

QPDF = shutil.which("qpdf")
POPPLER = all(shutil.which(tool) for tool in ("pdfinfo", "pdffonts", "pdftotext"))
needs_qpdf = pytest.mark.skipif(QPDF is None, reason="qpdf is not installed (make system-packages installs it)")
needs_poppler = pytest.mark.skipif(
    not POPPLER, reason="pdfinfo/pdffonts/pdftotext (poppler-utils) are not installed (make system-packages)"
)

PRINT_CSS = (ROOT / "templates" / "print.css").read_text(encoding="utf-8")
SVG = (
    '<svg xmlns="http://www.w3.org/2000/svg" width="200" height="100" viewBox="0 0 200 100">'
    '<rect width="200" height="100" fill="#0072b2"/></svg>'
)
FILLER = "<p>" + "A sentence of filler text that takes up room on the page. " * 14 + "</p>"


# --------------------------------------------------------------------------------------------------------
# Tools
# --------------------------------------------------------------------------------------------------------


def tool(*args: str | Path) -> str:
    """Run a PDF tool and return its standard output (failing the test with its message if it fails)."""
    result = subprocess.run([str(a) for a in args], capture_output=True, text=True)
    assert result.returncode == 0, f"{args[0]} failed: {result.stderr}{result.stdout}"
    return result.stdout


def pdfinfo(path: Path) -> dict[str, str]:
    output = tool("pdfinfo", path)
    return {key.strip(): value.strip() for key, _, value in (line.partition(":") for line in output.splitlines())}


def page_texts(path: Path) -> list[str]:
    """The text of each page, in layout order (pdftotext separates pages with form feeds)."""
    return tool("pdftotext", "-layout", path, "-").split("\f")[:-1]


def fonts(path: Path) -> list[dict[str, str]]:
    """pdffonts' table as dicts; the yes/no columns are counted from the right, since names may hold spaces."""
    lines = tool("pdffonts", path).splitlines()[2:]
    rows = []
    for line in lines:
        fields = line.split()
        rows.append({"name": fields[0], "emb": fields[-5], "sub": fields[-4], "uni": fields[-3]})
    return rows


def outline(path: Path) -> list[tuple[int, str, int]]:
    """The PDF bookmarks as (level, title, page) in reading order, from ``qpdf --json``."""
    data = json.loads(tool("qpdf", "--json", "--json-key=outlines", path))

    def walk(items: list[dict], level: int) -> list[tuple[int, str, int]]:
        found = []
        for item in items:
            found.append((level, item["title"], item["destpageposfrom1"]))
            found += walk(item["kids"], level + 1)
        return found

    return walk(data["outlines"], 1)


def catalog(path: Path) -> dict:
    """The document catalog (language, structure tree root, marking) from ``qpdf --json``."""
    data = json.loads(tool("qpdf", "--json", "--json-key=qpdf", path))
    objects = data["qpdf"][1]
    return next(
        item["value"]
        for item in objects.values()
        if isinstance(item.get("value"), dict) and item["value"].get("/Type") == "/Catalog"
    )


def decompressed(path: Path) -> bytes:
    """The PDF's bytes with every stream uncompressed (``qpdf --qdf``), to look inside the XMP metadata."""
    plain = path.with_suffix(".qdf.pdf")
    subprocess.run(["qpdf", "--qdf", "--object-streams=disable", str(path), str(plain)], check=True)
    return plain.read_bytes()


def assert_publishable(path: Path) -> None:
    """What every PDF must pass: qpdf finds no error and every font is embedded."""
    check = subprocess.run(["qpdf", "--check", str(path)], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    assert "No syntax or stream encoding errors" in check.stdout
    table = fonts(path)
    assert table, "the PDF should use fonts"
    assert all(row["emb"] == "yes" for row in table), table


# --------------------------------------------------------------------------------------------------------
# Hand-made pages
# --------------------------------------------------------------------------------------------------------


def handout_page(folder: Path, body: str, title: str = "Handout title", lang: str = ' lang="en"') -> Path:
    """A page laid out like an explainer (article > header > h1), styled by the real print.css."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "fig.svg").write_text(SVG, encoding="utf-8")
    page = folder / "page.html"
    page.write_text(
        f'<!doctype html><html{lang}><head><meta charset="utf-8"><title>{title}</title>'
        '<meta name="author" content="Handout author"><meta name="description" content="A test handout.">'
        f"<style>{PRINT_CSS}</style></head><body><main><article><header><h1>{title}</h1></header>"
        f"{body}</article></main></body></html>",
        encoding="utf-8",
    )
    return page


def render(page: Path, out: Path, page_size: str = "A4") -> Path:
    """Render a page through publish/render_pdf.py in-process, allowing only the page's folder."""
    from publish import render_pdf

    render_pdf.main(["--html", str(page), "--output", str(out), "--allow", str(page.parent), "--page-size", page_size])
    return out


TWO_PAGES = (
    '<section id="one"><h2>First section</h2>' + FILLER * 4 + "</section>"
    '<section id="two"><h2>Second section</h2><p>See <a href="#fig-one">Figure 1</a>.</p>' + FILLER * 3 + "</section>"
    '<figure id="fig-one"><img src="fig.svg" alt="A blue rectangle, 200 by 100 units">'
    '<figcaption><span class="label">Figure 1.</span> A blue rectangle.</figcaption></figure>'
)


# --------------------------------------------------------------------------------------------------------
# Handouts
# --------------------------------------------------------------------------------------------------------


@needs_qpdf
@needs_poppler
def test_handout_is_tagged_pdf_ua_with_metadata_and_embedded_fonts(tmp_path) -> None:
    out = render(handout_page(tmp_path / "site", TWO_PAGES), tmp_path / "handout.pdf")
    assert_publishable(out)
    info = pdfinfo(out)
    assert info["Title"] == "Handout title" and info["Author"] == "Handout author"
    assert info["Subject"] == "A test handout."
    assert info["Tagged"] == "yes" and info["PDF version"] == "1.7"
    assert "CreationDate" not in info and "ModDate" not in info, "no date that changes from run to run"
    root = catalog(out)
    assert root["/Lang"] == "u:en", "the document language comes from <html lang>"
    assert "/StructTreeRoot" in root and root["/MarkInfo"]["/Marked"] is True
    plain = decompressed(out)
    assert b'pdfuaid:part="1"' in plain, "the XMP metadata declares PDF/UA-1"
    assert b'<dc:title><rdf:Alt><rdf:li xml:lang="x-default">Handout title</rdf:li>' in plain
    assert b"CreateDate" not in plain and b"ModifyDate" not in plain


@needs_poppler
def test_running_header_and_page_n_of_m(tmp_path) -> None:
    out = render(handout_page(tmp_path / "site", TWO_PAGES), tmp_path / "handout.pdf")
    pages = page_texts(out)
    assert len(pages) >= 2
    for number, text in enumerate(pages, start=1):
        assert f"Page {number} of {len(pages)}" in text
    # The title runs in the header of every page but the first, where the h1 itself prints it.
    assert pages[0].count("Handout title") == 1
    for text in pages[1:]:
        assert text.lstrip().startswith("Handout title"), text[:200]


@needs_poppler
def test_a_figure_is_never_split_across_pages(tmp_path) -> None:
    """A tall figure after most of a page of text moves whole to the next page, caption included."""
    body = (
        FILLER * 3
        + '<figure id="fig-tall"><div style="height: 150mm">FIGURE-TOP</div>'
        + '<img src="fig.svg" alt="A blue rectangle"><figcaption>FIGURE-CAPTION</figcaption></figure>'
    )
    out = render(handout_page(tmp_path / "site", body), tmp_path / "figure.pdf")
    pages = page_texts(out)
    top = [i for i, text in enumerate(pages) if "FIGURE-TOP" in text]
    caption = [i for i, text in enumerate(pages) if "FIGURE-CAPTION" in text]
    assert top == caption == [1], (top, caption)


@needs_poppler
def test_page_size_follows_the_flag(tmp_path) -> None:
    page = handout_page(tmp_path / "site", "<p>Short.</p>")
    assert "(A4)" in pdfinfo(render(page, tmp_path / "a4.pdf", "A4"))["Page size"]
    assert "(letter)" in pdfinfo(render(page, tmp_path / "letter.pdf", "Letter"))["Page size"]


def test_handout_renders_to_the_same_bytes_twice(tmp_path) -> None:
    page = handout_page(tmp_path / "site", TWO_PAGES)
    first = tmp_path / "first.pdf"
    run_script("publish/render_pdf.py", "--html", page, "--output", first, "--allow", page.parent, "--page-size", "A4")
    second = render(page, tmp_path / "second.pdf")
    assert first.read_bytes() == second.read_bytes()
    assert b"/CreationDate" not in first.read_bytes() and b"/ModDate" not in first.read_bytes()


def test_explicit_dates_are_the_only_dates(tmp_path) -> None:
    """A date stated in the page is written (and stays the same on a rerun); nothing else adds one."""
    from publish import render_pdf

    page = handout_page(tmp_path / "site", "<p>Dated.</p>")
    text = page.read_text(encoding="utf-8")
    page.write_text(text.replace("<title>", '<meta name="dcterms.created" content="2024-05-01"><title>'))
    first = render_pdf.render_pdf(page, [page.parent])
    assert first == render_pdf.render_pdf(page, [page.parent])
    if POPPLER:
        out = tmp_path / "dated.pdf"
        out.write_bytes(first)
        info = pdfinfo(out)
        assert info["CreationDate"].startswith("Wed May  1") and "2024" in info["CreationDate"]
        assert "ModDate" not in info


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"lang": ""}, "language"),
        ({"title": ""}, "title"),
    ],
)
def test_handout_without_language_or_title_is_refused(tmp_path, change, expected) -> None:
    from publish import render_pdf

    page = handout_page(tmp_path / "site", "<p>Text.</p>", **change)
    with pytest.raises(PipelineError, match=expected) as excinfo:
        render_pdf.render_pdf(page, [page.parent])
    assert str(page) in str(excinfo.value)


def test_image_without_alt_text_is_refused(tmp_path) -> None:
    page = handout_page(tmp_path / "site", '<figure><img src="fig.svg"><figcaption>No alt.</figcaption></figure>')
    result = run_script(
        "publish/render_pdf.py", "--html", page, "--output", tmp_path / "x.pdf", "--allow", page.parent,
        "--page-size", "A4", check=False,
    )  # fmt: skip
    assert result.returncode == 1 and "without alt text: fig.svg" in result.stderr
    assert "Traceback" not in result.stderr and not (tmp_path / "x.pdf").exists()


@pytest.mark.parametrize("url", ["file:///etc/passwd", "http://127.0.0.1:9/figure.svg"])
def test_handout_refuses_files_outside_results_and_the_network(tmp_path, url) -> None:
    page = handout_page(tmp_path / "site", f'<img src="{url}" alt="x">')
    result = run_script(
        "publish/render_pdf.py", "--html", page, "--output", tmp_path / "x.pdf", "--allow", page.parent,
        "--page-size", "A4", check=False,
    )  # fmt: skip
    assert result.returncode == 1
    assert f"refused to read {url}" in result.stderr and "allowed folders" in result.stderr
    assert not (tmp_path / "x.pdf").exists()


# --------------------------------------------------------------------------------------------------------
# The booklet
# --------------------------------------------------------------------------------------------------------

CHAPTERS = {
    "alpha": ("Alpha explainer: the first chapter", ["Alpha begins", "Alpha measures", "Alpha concludes"]),
    "beta": ("Beta explainer &amp; the second chapter", ["Beta begins", "Beta ends"]),
}


def explainer_page(reports: Path, name: str, title: str, sections: list[str]) -> Path:
    """An explainer page as publish/render_html.py writes it: site header, a contents nav, sections, a figure, links."""
    parts = []
    for number, heading in enumerate(sections, start=1):
        parts.append(f'<section id="s{number}"><h2>{heading}</h2>{FILLER * 2}</section>')
    figure = (
        f'<figure id="fig-one"><img src="../figures/{name}/one.svg" alt="Figure of {name}">'
        f'<figcaption><span class="label">Figure 1.</span> {name} figure.</figcaption></figure>'
        f'<p>As <a href="#fig-one">Figure 1</a> shows; compare <a href="alpha.html#fig-one">alpha</a>.</p>'
        '<h3 id="detail">A detail heading</h3><p>Not in the outline.</p>'
    )
    page = reports / f"{name}.html"
    page.write_text(
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{title}</title></head><body>'
        '<header class="site-header"><nav><a href="../index.html">Site</a></nav></header>'
        f'<main><article><header><h1>{title}</h1><p class="summary">About {name}.</p></header>'
        '<nav class="toc" aria-label="Contents"><h2>Contents</h2><ol><li><a href="#s1">x</a></li></ol></nav>'
        f"{parts[0]}{figure}{''.join(parts[1:])}</article></main>"
        '<footer class="site-footer"><p>Footer.</p></footer></body></html>',
        encoding="utf-8",
    )
    return page


def provenance_record(name: str, seconds: float, numpy: str = "2.4.6") -> dict:
    return {
        "explainer": name,
        "data": [{"file": "train-images-idx3-ubyte.gz", "bytes": 47040016, "sha256": "ab" * 32, "source": "x"}],
        "packages": {"numpy": numpy, "weasyprint": "70.0"},
        "git_commit": "0123456789abcdef0123456789abcdef01234567",
        "platform": "Linux x86_64 (CPython)",
        "settings": {},
        "steps": [
            {"step": "prepare", "seconds": 10.0, "max_rss_mb": 100.0},
            {"step": f"{name}_step", "seconds": seconds, "max_rss_mb": None},
        ],
    }


@pytest.fixture
def booklet_inputs(tmp_path: Path) -> dict:
    """A results folder with two explainer pages, their figures and provenance records."""
    results = tmp_path / "results"
    reports = results / "reports"
    reports.mkdir(parents=True)
    args: list[str] = []
    for index, (name, (title, sections)) in enumerate(CHAPTERS.items()):
        figures = results / "figures" / name
        figures.mkdir(parents=True)
        (figures / "one.svg").write_text(SVG, encoding="utf-8")
        page = explainer_page(reports, name, title, sections)
        record = results / "provenance" / f"{name}.json"
        record.parent.mkdir(exist_ok=True)
        record.write_text(json.dumps(provenance_record(name, 5.0 + index, "2.4.6" if index == 0 else "2.5.0")))
        args += ["--page", f"{name}={page}", "--provenance", f"{name}={record}"]
    args += ["--site-title", "Test site", "--site-author", "Test author", "--allow", str(results), "--page-size", "A4"]
    args += ["--stylesheet", str(ROOT / "templates" / "print.css")]
    return {"results": results, "reports": reports, "args": args}


def build_booklet(inputs: dict, stem: str = "booklet", *extra: str, cli: bool = False) -> tuple[Path, Path]:
    """Render the booklet (in-process, or through its CLI) and return its HTML and PDF paths."""
    html, pdf = inputs["reports"] / f"{stem}.html", inputs["reports"] / f"{stem}.pdf"
    args = [*inputs["args"], "--html-output", str(html), "--output", str(pdf), *extra]
    if cli:
        run_script("publish/render_booklet.py", *args)
    else:
        from publish import render_booklet

        render_booklet.main(args)
    return html, pdf


def test_booklet_html_prefixes_ids_rewrites_links_and_rebases_images(booklet_inputs) -> None:
    html_path, _ = build_booklet(booklet_inputs)
    html = html_path.read_text(encoding="utf-8")
    for name in CHAPTERS:
        assert f'<section class="booklet-explainer fit-part" id="{name}">' in html
        assert f'id="{name}-fig-one"' in html and f'href="#{name}-fig-one"' in html
        assert f'src="../figures/{name}/one.svg"' in html
        assert (html_path.parent / f"../figures/{name}/one.svg").is_file()
    assert html.count('href="#alpha-fig-one"') == 3, "a link to alpha.html#fig-one becomes an in-booklet link"
    assert 'id="fig-one"' not in html and 'href="#fig-one"' not in html
    assert 'class="toc"' not in html and "../index.html" not in html and "Footer." not in html
    assert "Beta explainer &amp; the second chapter" in html, "entities survive the copy"


@needs_qpdf
@needs_poppler
def test_booklet_pdf_contents_bookmarks_and_checks(booklet_inputs) -> None:
    _, pdf = build_booklet(booklet_inputs, "booklet", "--page-size", "Letter", cli=True)
    assert_publishable(pdf)
    info = pdfinfo(pdf)
    assert info["Title"] == "Test site: the booklet" and info["Author"] == "Test author"
    assert info["Tagged"] == "yes" and "(letter)" in info["Page size"]
    pages = page_texts(pdf)
    assert "Test site" in pages[0] and "Page 1 of" not in pages[0], "the cover has no footer"

    # Bookmarks: contents, each explainer and the appendix at level 1, their sections at level 2, nothing deeper.
    marks = outline(pdf)
    titles = [(level, title) for level, title, _ in marks]
    expected = [(1, "Contents")]
    for title, sections in CHAPTERS.values():
        expected += [(1, title.replace("&amp;", "&"))] + [(2, section) for section in sections]
    expected += [(1, "Appendix"), (2, "How this booklet was made")]
    assert titles == expected

    # The contents give each entry's page, and that is where the bookmark (and the heading) lands.
    contents = pages[1]
    starts = {title: page for level, title, page in marks}
    listed = [title for level, title, _ in marks if title != "Contents"]
    assert len(listed) == 9
    for title in listed:
        page = starts[title]
        line = next(line for line in contents.splitlines() if line.strip().startswith(title[:25]))
        assert line.rstrip().endswith(f" {page}"), (title, line, page)
        assert title[:25] in pages[page - 1], f"{title!r} is not printed on page {page}"
    # Each explainer starts on a fresh page, with its running header on the pages after.
    alpha_start = starts["Alpha explainer: the first chapter"]
    beta_start = starts["Beta explainer & the second chapter"]
    assert beta_start > alpha_start + 1
    assert pages[alpha_start].lstrip().startswith("Alpha explainer: the first chapter")


def test_booklet_appendix_summarises_provenance(booklet_inputs) -> None:
    from publish import render_booklet

    html, _ = build_booklet(booklet_inputs)
    text = html.read_text(encoding="utf-8")
    assert "21.0 s" not in text and "report.run_times" in text, "run times are printed only when asked for"
    html, _ = build_booklet(booklet_inputs, "timed", "--run-times")
    text = html.read_text(encoding="utf-8")
    assert "All 3 distinct steps, each counted once" in text and "21.0 s" in text  # prepare once: 10 + 5 + 6
    assert "<code>2.4.6, 2.5.0</code>" in text, "a package whose version differs lists both"
    assert text.count("ab" * 32) == 1, "a data file shared by the chapters is listed once"

    summary = render_booklet.summarise_provenance({"a": provenance_record("a", 5.0), "b": provenance_record("b", 6.0)})
    assert [chapter["seconds"] for chapter in summary["chapters"]] == [15.0, 16.0]
    assert summary["unique_steps"] == 3 and summary["total_seconds"] == 21.0
    assert summary["packages"]["numpy"] == ["2.4.6"]
    with pytest.raises(PipelineError, match="not a provenance record"):
        render_booklet.summarise_provenance({"a": {"data": []}})


def test_booklet_is_byte_identical_on_rerun(booklet_inputs) -> None:
    html_a, pdf_a = build_booklet(booklet_inputs, "first")
    html_b, pdf_b = build_booklet(booklet_inputs, "second")
    assert html_a.read_bytes() == html_b.read_bytes()
    assert pdf_a.read_bytes() == pdf_b.read_bytes()


def test_booklet_refuses_a_page_reaching_outside_results(booklet_inputs) -> None:
    page = booklet_inputs["reports"] / "beta.html"
    page.write_text(page.read_text().replace("../figures/beta/one.svg", "file:///etc/passwd"))
    with pytest.raises(PipelineError, match="refused to read file:///etc/passwd"):
        build_booklet(booklet_inputs)
    assert not (booklet_inputs["reports"] / "booklet.pdf").exists()


def test_booklet_bad_inputs_fail_clearly(booklet_inputs, tmp_path) -> None:
    from publish import render_booklet

    out = ["--html-output", str(tmp_path / "b.html"), "--output", str(tmp_path / "b.pdf")]
    out += ["--site-title", "T", "--site-author", "A", "--page-size", "A4"]
    with pytest.raises(PipelineError, match="one record per --page"):
        render_booklet.main([*booklet_inputs["args"][:6], *out])
    no_article = tmp_path / "plain.html"
    no_article.write_text("<html><body><p>No article.</p></body></html>", encoding="utf-8")
    record = booklet_inputs["results"] / "provenance" / "alpha.json"
    with pytest.raises(PipelineError, match="no complete <article>"):
        render_booklet.main(["--page", f"plain={no_article}", "--provenance", f"plain={record}", *out])
    with pytest.raises(PipelineError, match=r"--page gone: .*gone\.html: file not found"):
        render_booklet.main(["--page", f"gone={tmp_path / 'gone.html'}", "--provenance", f"gone={record}", *out])
    with pytest.raises(PipelineError, match=r"--provenance plain: .*: is a directory"):
        render_booklet.main(["--page", f"plain={no_article}", "--provenance", f"plain={tmp_path}", *out])
    (tmp_path / "empty.json").write_text("", encoding="utf-8")
    with pytest.raises(PipelineError, match=r"--provenance plain: .*empty\.json: is empty"):
        render_booklet.main(["--page", f"plain={no_article}", "--provenance", f"plain={tmp_path / 'empty.json'}", *out])
    with pytest.raises(PipelineError, match="page not found"):
        render_booklet.read_chapter("gone", tmp_path / "gone.html", tmp_path, ["gone"])
    (tmp_path / "binary.html").write_bytes(b"\x00\xff\xfe not a page")
    with pytest.raises(PipelineError, match=r"binary\.html: not a UTF-8 HTML page"):
        render_booklet.main(["--page", f"plain={tmp_path / 'binary.html'}", "--provenance", f"plain={record}", *out])
    with pytest.raises(PipelineError, match="lower-case words"):
        render_booklet.main(["--page", f"Bad Name={no_article}", "--provenance", f"Bad Name={record}", *out])
    result = run_script("publish/render_booklet.py", *out[4:], *out[:4], check=False)
    assert result.returncode == 1 and "required: --page" in result.stderr and "Traceback" not in result.stderr
    assert result.stderr.count("\n") == 1
    for flag in ("--fit-cache", "--draw-cache"):  # a file where a cache folder should be: refused before any work
        with pytest.raises(PipelineError, match=rf"--{flag[2:]}.*empty\.json: is not a folder"):
            render_booklet.main([*booklet_inputs["args"], *out, flag, str(tmp_path / "empty.json")])
    assert not (tmp_path / "b.html").exists() and not (tmp_path / "b.pdf").exists()
