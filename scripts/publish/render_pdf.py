"""Print an explainer page to a PDF handout with WeasyPrint, reading only files from allowed folders.

The page's print style sheet (templates/print.css) lays out the handout: running header, "Page n of m" footer,
figures kept whole. This script adds the paper size and writes a tagged PDF/UA-1 file (WeasyPrint's
``pdf/ua-1`` variant: structure tags, alt text, embedded fonts) whose language, title and author come from the
page's ``<html lang>``, ``<title>`` and ``<meta name="author">``; a page lacking one of them, or an image
without alt text, is refused. The same bytes come out on every run: no creation or modification date unless
the page states one explicitly (``<meta name="dcterms.created">``), an identifier derived from the content,
fixed font time stamps.

Before printing, the page's audits (``<section class="audit">``, the claims checks, verifications and provenance
that the web page folds in place; see macros.html.j2) move into its print appendix (``<div class="appendix-part">``,
which runs on after the lesson), the answers to the exercises move after it (print.css starts them on a page of
their own, the last), and a fitting pass (``publish.fit``) closes the holes that figures and other
unbreakable blocks leave when they move to the next page. Both act on WeasyPrint's parsed copy of the page; the
HTML file is unchanged. ``--no-fit`` prints without the fitting pass. The figures are drawn through
``publish.svgdraw``'s memos (the same bytes in about half the time).

Every resource the page asks for goes through ``SafeFetcher``: only ``data:`` URLs and local files inside the
``--allow`` folders are read. Anything else (the network, ``/etc/passwd``, a ``../`` escape, a symlink out of
the allowed folders) fails the render with an error naming the URL, and no PDF is written.

Usage (as the Snakemake rule calls it)::

    PYTHONPATH=scripts python scripts/publish/render_pdf.py --html results/reports/pca.html \\
        --allow results --allow templates --page-size A4 --stylesheet templates/print.css \\
        --output results/reports/pca.pdf
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import cssselect2
import weasyprint
from weasyprint.urls import FatalURLFetchingError, URLFetcher

from kit.cli import ArgumentParser, PipelineError, input_file, run_cli
from kit.io import atomic_path
from publish.drawcache import DrawCache, cached_svg_drawing
from publish.fit import FitCache, detach, fit
from publish.svgdraw import MEMOS, faster_svg_drawing

PAGE_SIZES: tuple[str, ...] = ("A4", "Letter")
#: The PDF flavour written: tagged PDF for accessibility (PDF/UA-1, PDF 1.7), which screen readers and
#: reflowing viewers understand; WeasyPrint adds the structure tree, the language and the XMP metadata.
PDF_VARIANT = "pdf/ua-1"
#: WeasyPrint options for both layout and output (tags asked for explicitly: the variant only fills options
#: left at ``None``, and ``pdf_tags`` defaults to ``False``).
PDF_OPTIONS: dict[str, Any] = {"pdf_variant": PDF_VARIANT, "pdf_tags": True}
#: How WeasyPrint's message about a link to a missing element starts (``target-counter`` of an absent id).
UNDEFINED_ANCHOR = "Content discarded: target points to undefined anchor"


class RefusedURLError(FatalURLFetchingError):
    """A URL outside the allowed folders. Fatal, so WeasyPrint stops instead of logging a warning."""


class SafeFetcher(URLFetcher):
    """A URL fetcher that reads ``data:`` URLs and files inside allowed folders, and nothing else.

    Why: an HTML page is input, and WeasyPrint would otherwise fetch whatever it names, from the network or
    from anywhere on disk, into the PDF. Refusals and failed fetches are also recorded, because WeasyPrint
    catches some errors (inside SVG images, for instance) and would only log them.
    """

    def __init__(self, allowed: Sequence[str | os.PathLike[str]], **kwargs: Any) -> None:
        super().__init__(allowed_protocols=("data", "file"), **kwargs)
        self.allowed = tuple(Path(folder).resolve() for folder in allowed)
        self.refused: list[str] = []
        self.failed: list[str] = []

    def allowed_path(self, url: str) -> Path | None:
        """The resolved local path of a ``file:`` URL if it lies inside an allowed folder, else ``None``."""
        parts = urlsplit(url)
        if parts.scheme.lower() != "file" or parts.netloc not in ("", "localhost"):
            return None
        path = Path(unquote(parts.path)).resolve()
        if any(path.is_relative_to(folder) for folder in self.allowed):
            return path
        return None

    def fetch(self, url: str, headers: dict[str, str] | None = None) -> Any:
        """Fetch ``url`` if the rules allow it; refuse it (and remember that) otherwise."""
        scheme = url.split(":", 1)[0].lower() if ":" in url else ""
        if scheme != "data" and self.allowed_path(url) is None:
            self.refused.append(url)
            raise RefusedURLError(f"refused to fetch {url}")
        try:
            return super().fetch(url, headers)
        except Exception as exc:
            self.failed.append(f"{url} ({type(exc).__name__}: {exc})")
            raise

    def describe_allowed(self) -> str:
        """The allowed folders, for error messages."""
        return ", ".join(str(folder) for folder in self.allowed) or "(none)"


class _ErrorCollector(logging.Handler):
    """Collects WeasyPrint's error messages, which it logs instead of raising (a broken image, say)."""

    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@contextmanager
def collect_weasyprint_errors() -> Iterator[_ErrorCollector]:
    """Attach an error collector to WeasyPrint's logger for the duration of a render."""
    collector = _ErrorCollector()
    logger = logging.getLogger("weasyprint")
    logger.addHandler(collector)
    try:
        yield collector
    finally:
        logger.removeHandler(collector)


#: Time stamp written into the subset fonts' ``head`` tables when fontTools subsets them (WeasyPrint's fallback
#: when the HarfBuzz subsetter is missing): 1980-01-01, the usual fixed date of reproducible builds.
FIXED_SOURCE_DATE_EPOCH = "315532800"


@contextmanager
def fixed_font_timestamps() -> Iterator[None]:
    """Make font subsetting reproducible for one render.

    Why: fontTools stamps every font it saves with the current time unless ``SOURCE_DATE_EPOCH`` is set, so two
    renders of the same page would differ in the embedded fonts. A value the caller already set is kept.
    """
    previous = os.environ.get("SOURCE_DATE_EPOCH")
    if previous is None:
        os.environ["SOURCE_DATE_EPOCH"] = FIXED_SOURCE_DATE_EPOCH
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop("SOURCE_DATE_EPOCH", None)


def page_size_css(page_size: str) -> str:
    """The one style rule this script adds: the paper size, kept out of style.css so one page prints on both."""
    if page_size not in PAGE_SIZES:
        raise PipelineError(f"--page-size {page_size!r}: use one of {', '.join(PAGE_SIZES)}")
    return f"@page {{ size: {page_size}; }}"


class _ImagesWithoutAlt(HTMLParser):
    """Finds ``<img>`` elements with no or empty alt text (a PDF/UA figure must have one)."""

    def __init__(self) -> None:
        super().__init__()
        self.missing: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "img":
            values = dict(attrs)
            if not (values.get("alt") or "").strip():
                self.missing.append(values.get("src") or "(no src)")


def images_without_alt(html: str) -> list[str]:
    """The ``src`` of every image lacking alt text: such a page would print an inaccessible figure."""
    finder = _ImagesWithoutAlt()
    finder.feed(html)
    finder.close()
    return finder.missing


def check_metadata(html_path: Path, metadata: Any) -> None:
    """Refuse a page whose PDF would lack the language, title or author that PDF/UA readers announce."""
    missing = [
        what
        for what, value in (
            ('the language (<html lang="...">)', metadata.lang),
            ("a title (<title>)", metadata.title),
            ('an author (<meta name="author" content="...">)', metadata.authors),
        )
        if not value
    ]
    if missing:
        raise PipelineError(f"{html_path}: the page has no {' and no '.join(missing)}; add it to the template")


def read_page(html_path: Path) -> str:
    """The text of an HTML page; a file that is not UTF-8 text (a binary, a broken copy) is named, not a traceback."""
    try:
        return html_path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise PipelineError(f"{html_path}: not a UTF-8 HTML page; rerun the step that writes it") from None


def with_print_stylesheet(html: str, html_path: Path, stylesheet: str | Path) -> str:
    """The page with the print style sheet added as the last ``<style>`` of its head.

    Why here and not in the page: the print sheet uses CSS Paged Media (``@page`` boxes, ``string-set``,
    bookmarks) that only WeasyPrint understands and HTML validators reject, so the pages a browser reads stay
    free of it. Why not WeasyPrint's ``stylesheets=``: those are user style sheets, which lose to the page's own
    (author) rules in the cascade, so the print layout could not override the screen layout.
    """
    stylesheet = Path(stylesheet)
    try:
        css = stylesheet.read_text(encoding="utf-8")
    except OSError as exc:
        raise PipelineError(f"--stylesheet {stylesheet}: cannot read it ({exc.strerror}); check the path") from None
    except UnicodeDecodeError:
        raise PipelineError(f"--stylesheet {stylesheet}: not a UTF-8 text file; give the print style sheet") from None
    if "</style" in css.lower():
        raise PipelineError(f"--stylesheet {stylesheet}: contains '</style'; a style sheet must hold CSS only")
    head_end = html.lower().find("</head>")
    if head_end < 0:
        raise PipelineError(f"{html_path}: the page has no </head> to add the print style sheet to")
    return f"{html[:head_end]}<style>\n{css}\n</style>\n{html[head_end:]}"


def classes(element: Any) -> list[str]:
    """The class names of an element of the parsed page."""
    return (element.get("class") or "").split()


def gather_appendix(root: Any) -> int:
    """Move every audit of the page into its print appendix; return how many moved.

    An audit (``class="audit"``) sits where the web page folds it; in print it belongs to the appendix, so it
    moves, in page order, to the start of ``<div class="appendix-part">`` (after the part's title). A page with
    audits but no appendix part gets one at the end of its article. Audits inside another audit move with it.
    """
    parents = {child: parent for parent in root.iter() for child in parent}

    def inside(element: Any, ancestor_class: str) -> bool:
        parent = parents.get(element)
        while parent is not None:
            if ancestor_class in classes(parent):
                return True
            parent = parents.get(parent)
        return False

    audits = [
        element
        for element in root.iter()
        if "audit" in classes(element) and not inside(element, "audit") and not inside(element, "appendix-part")
    ]
    if not audits:
        return 0
    part = next((element for element in root.iter() if "appendix-part" in classes(element)), None)
    if part is None:
        container = next(root.iter("article"), None)
        if container is None:
            container = next(root.iter("body"), root)
        part = root.makeelement("div", {"class": "appendix-part"})
        part.text, part.tail = "\n", "\n"
        container.append(part)
    position = next((i + 1 for i, child in enumerate(part) if "part-title" in classes(child)), 0)
    for audit in audits:
        detach(parents[audit], audit).tail = "\n"
        part.insert(position, audit)
        position += 1
    return len(audits)


def answers_last(root: Any) -> bool:
    """Move the answers to the exercises (``<section class="answers">``) after the appendix, to the end of the
    handout: the appendix runs on after the lesson, and the answers start the one page a teacher can hold back.
    Returns whether they moved (a page without answers or without an appendix is left as it is)."""
    parents = {child: parent for parent in root.iter() for child in parent}
    answers = next((element for element in root.iter() if "answers" in classes(element)), None)
    part = next((element for element in root.iter() if "appendix-part" in classes(element)), None)
    if answers is None or part is None or answers in part.iter():
        return False
    detach(parents[answers], answers)
    holder = parents[part]
    answers.tail = part.tail
    part.tail = "\n"
    holder.insert(list(holder).index(part) + 1, answers)
    return True


def allowed_bytes(fetcher: SafeFetcher, html_path: Path, source: str) -> bytes:
    """The bytes of a file a page refers to (an image's ``src``, relative to the page), for the fit cache's key;
    empty for a file that is missing or outside the allowed folders (the render refuses those anyway)."""
    found = allowed_file_bytes(fetcher, (html_path.resolve().parent / unquote(urlsplit(source).path)).as_uri())
    return found if found is not None else b""


def allowed_file_bytes(fetcher: SafeFetcher, url: str) -> bytes | None:
    """The bytes of the file at a ``file:`` URL, for a cache's key; ``None`` for one that is missing or outside
    the allowed folders (the render refuses those anyway)."""
    path = fetcher.allowed_path(url)
    try:
        return path.read_bytes() if path is not None else None
    except OSError:
        return None


def render_pdf(
    html_path: str | Path,
    allowed: Sequence[str | Path],
    page_size: str = "A4",
    stylesheet: str | Path | None = None,
    fit_pages: bool = True,
    gather: bool = True,
    fit_cache: str | Path | None = None,
    svg_memos: Collection[str] = MEMOS,
    draw_cache: str | Path | None = None,
) -> bytes:
    """Render the HTML file (plus the print ``stylesheet``, if given) to tagged PDF bytes.

    Unless ``gather`` is false (the booklet gathers its parts itself), the page's audits move to its appendix
    (``gather_appendix``) and the answers after it (``answers_last``); unless ``fit_pages`` is false, the
    fitting pass closes the holes at the feet of pages
    (``publish.fit``); ``fit_cache`` names a folder where it keeps fitted parts (``publish.fit.FitCache``).
    The figures are drawn with ``svg_memos`` (``publish.svgdraw``; none: WeasyPrint's own code, to compare);
    ``draw_cache`` names a folder where their drawings are kept for the next build (``publish.drawcache``).
    Fails if any resource was refused or could not be loaded.
    """
    html_path = Path(html_path)
    if not html_path.is_file():
        raise PipelineError(f"{html_path}: HTML page not found; run the render_html step first")
    html = read_page(html_path)
    if stylesheet is not None:
        html = with_print_stylesheet(html, html_path, stylesheet)
    if missing_alt := images_without_alt(html):
        raise PipelineError(f"{html_path}: images without alt text: {', '.join(missing_alt)}; give each an alt")
    fetcher = SafeFetcher(allowed)
    stylesheet = weasyprint.CSS(string=page_size_css(page_size), url_fetcher=fetcher)
    refused_during_render: str | None = None
    salt = f"{page_size_css(page_size)}\n{sorted(PDF_OPTIONS.items())}"
    drawings = None
    if draw_cache is not None:
        drawings = DrawCache(Path(draw_cache), salt, lambda url: allowed_file_bytes(fetcher, url))
    with (
        collect_weasyprint_errors() as errors,
        fixed_font_timestamps(),
        faster_svg_drawing(svg_memos),
        cached_svg_drawing(drawings),
    ):
        try:
            base_url = html_path.resolve().as_uri()
            page = weasyprint.HTML(string=html, base_url=base_url, url_fetcher=fetcher)
            if gather:
                gather_appendix(page.etree_element)
                answers_last(page.etree_element)

            def lay_out() -> Any:
                # The selector matcher caches the tree's structure: rebuild it after the tree changed.
                page.wrapper_element = cssselect2.ElementWrapper.from_html_root(page.etree_element)
                return page.render(stylesheets=[stylesheet], **PDF_OPTIONS)

            cache = None
            if fit_cache is not None:
                cache = FitCache(fit_cache, salt, lambda source: allowed_bytes(fetcher, html_path, source))

            def lay_out_part() -> Any:
                # A part laid out alone links to pages of the parts taken out (the contents, "see page n"):
                # WeasyPrint logs those links as errors; the whole document, laid out last, checks them.
                logged = len(errors.messages)
                document = lay_out()
                errors.messages[logged:] = [
                    message for message in errors.messages[logged:] if not message.startswith(UNDEFINED_ANCHOR)
                ]
                return document

            document = (
                fit(page.etree_element, lay_out, cache=cache, lay_out_part=lay_out_part) if fit_pages else lay_out()
            )
            if cache is not None:
                cache.prune()
            check_metadata(html_path, document.metadata)
            pdf = document.write_pdf(pdf_identifier=True, uncompressed_pdf=False, **PDF_OPTIONS)
            if drawings is not None:
                drawings.prune()
        except RefusedURLError as exc:
            refused_during_render = str(exc)
    if fetcher.refused or refused_during_render:
        urls = ", ".join(dict.fromkeys(fetcher.refused)) or refused_during_render
        raise PipelineError(
            f"{html_path}: refused to read {urls}; only data: URLs and files inside the allowed folders "
            f"({fetcher.describe_allowed()}) may be read; pass the folder with --allow if it is meant to be"
        )
    if fetcher.failed:
        raise PipelineError(f"{html_path}: could not load {'; '.join(fetcher.failed)}")
    if errors.messages:
        raise PipelineError(f"{html_path}: WeasyPrint reported: {'; '.join(errors.messages)}")
    return pdf


def build_parser() -> ArgumentParser:
    """The command line: the page, the folders it may read, the paper size (from the config), the output."""
    parser = ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--html", required=True, type=input_file, help="HTML page to print")
    parser.add_argument("--output", required=True, type=Path, help="PDF file to write")
    parser.add_argument(
        "--allow",
        action="append",
        default=None,
        metavar="DIR",
        help="a folder WeasyPrint may read files from (repeatable); everything else is refused",
    )
    parser.add_argument(
        "--page-size", required=True, choices=PAGE_SIZES, help="paper size of the handout (config report.page_size)"
    )
    parser.add_argument(
        "--stylesheet", type=input_file, help="print style sheet added to the page's head (templates/print.css)"
    )
    parser.add_argument(
        "--no-fit",
        dest="fit",
        action="store_false",
        help="print without the fitting pass that closes holes at the feet of pages (to compare)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    """Parse the flags, render the PDF and write it atomically."""
    args = build_parser().parse_args(argv)
    pdf = render_pdf(args.html, args.allow or [], args.page_size, args.stylesheet, args.fit)
    with atomic_path(args.output, suffix=".pdf") as tmp:
        tmp.write_bytes(pdf)


if __name__ == "__main__":
    sys.exit(run_cli(main))
