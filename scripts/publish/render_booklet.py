"""Bind every explainer's page into one printed booklet: cover, contents, the explainers, answers, one appendix.

The booklet is built from the same HTML pages the site publishes (``results/reports/<name>.html``): each page's
``<article>`` is copied into one document, with its ids prefixed by the explainer's name (``fig-loss_split`` in
the overfitting page becomes ``overfitting-fig-loss_split``) and its links rewritten to match, so "Figure 3"
still points at that explainer's Figure 3; image paths are rebased onto the booklet's folder. The contents list
each explainer and its sections with the page they start on (CSS ``target-counter``), the PDF outline has the
explainers at level 1 and their sections at level 2.

Each chapter prints its lesson only. What a handout prints at its end is gathered from every chapter instead:
the answers to the exercises (``<section class="answers">``) into one answers part, and the audits (claims checks,
verifications: ``class="audit"``) with each page's appendix (``class="appendix-part"``) into one shared appendix,
a subsection per explainer (headings one level down), followed by one summary of the explainers' provenance
files (data checksums, package versions, git commits, run times) in place of each page's own tables
(``class="provenance-shared"``). The cover shows the title, a key figure (``--cover-figure``) and the contents.
The PDF is written by ``publish/render_pdf.py``'s renderer: tagged PDF/UA-1, the same reproducible bytes on
every run, only files under ``--allow`` folders, and its fitting pass against holes at the feet of pages. The
cover, the contents, each chapter, the answers and the appendix start on pages of their own, so the fitting pass
fits each alone, and ``--fit-cache`` keeps the fitted ones for the next build (publish/fit.py); ``--draw-cache``
keeps what was drawn for each figure, replayed where the figure sits where it sat (publish/drawcache.py).

Usage (as the Snakemake rule calls it)::

    PYTHONPATH=scripts python scripts/publish/render_booklet.py --page pca=results/reports/pca.html \\
        --page overfitting=results/reports/overfitting.html \\
        --provenance pca=results/provenance/pca.json --provenance overfitting=results/provenance/overfitting.json \\
        --templates-dir templates --site-title "Machine learning explainers" --site-author "ML explainers pipeline" \\
        --html-output results/booklet/booklet.html --output results/reports/booklet.pdf \\
        --allow results --allow templates --page-size A4 --stylesheet templates/print.css \\
        --cover-figure results/figures/pca/components.svg --fit-cache results/booklet/fit-cache \\
        --draw-cache results/booklet/draw-cache
"""

from __future__ import annotations

import html
import os
import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from kit.cli import ArgumentParser, PipelineError, cache_folder, input_file, run_cli
from kit.io import atomic_path, read_json
from publish.render_html import FIGURE_KEYS, TEMPLATES_DIR, input_pairs, relative_url, render
from publish.render_pdf import PAGE_SIZES, read_page, render_pdf

#: Attributes whose value names one or more element ids (space-separated), so they get the prefix too.
ID_LIST_ATTRIBUTES = frozenset({"for", "headers", "aria-labelledby", "aria-describedby", "aria-controls"})
#: Attributes holding a URL that may need rebasing or rewriting into an in-booklet link.
URL_ATTRIBUTES = frozenset({"href", "src"})
#: Dropped from each article: its own table of contents (the booklet has one for all explainers), the web page's
#: link to its handout, the print titles of its answers and appendix (the booklet's parts have their own), and
#: its provenance tables (the booklet's appendix summarises them once).
DROPPED_CLASSES = frozenset({"toc", "handout-link", "part-title", "provenance-shared"})
#: Parts of an article gathered at the end of the booklet: class -> (where to, whether the element's own tags go
#: along). The answers' and the appendix's wrappers stay behind (the booklet's parts replace them); an audit
#: moves whole.
GATHERED_CLASSES = {"answers": ("answers", False), "appendix-part": ("appendix", False), "audit": ("appendix", True)}
#: Headings of blocks that are not sections of the chapter (left out of the contents).
UNLISTED_CLASSES = frozenset({"takeaways"})
HEADING = re.compile(r"^h([1-5])$")
#: A name becomes a prefix of ids and URL fragments, so only plain lower-case words are accepted.
NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_-]*$")
#: Elements without an end tag: the parser reports only their start.
VOID_TAGS = frozenset(
    {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
)


@dataclass
class Heading:
    """A section of an explainer, for the booklet's contents: its (prefixed) target id and its text."""

    target: str
    text: str


@dataclass
class Chapter:
    """One explainer as the booklet prints it: the rewritten article and what the contents list."""

    name: str
    title: str
    article: str
    sections: list[Heading] = field(default_factory=list)
    answers: str = ""  # the answers to its exercises, gathered into the booklet's answers part
    appendix: str = ""  # its audits and appendix, gathered into the booklet's appendix


def is_external(url: str) -> bool:
    """True for URLs with a scheme or host (``http:``, ``data:``, ``mailto:``): those are never rebased."""
    parts = urlsplit(url)
    return bool(parts.scheme or parts.netloc)


class ArticleRewriter(HTMLParser):
    """Copies a page's ``<article>`` element, prefixing ids and rewriting links and image paths.

    Why a token-level copy (and not a DOM round trip): the markup comes out exactly as publish/render_html.py wrote it,
    apart from the attributes that must change, so the booklet prints like the handouts.
    """

    def __init__(self, name: str, source_dir: Path, output_dir: Path, chapters: Sequence[str]) -> None:
        super().__init__(convert_charrefs=False)
        self.name = name
        self.source_dir = source_dir
        self.output_dir = output_dir
        self.chapters = frozenset(chapters)
        self.parts: list[str] = []
        self.gathered: dict[str, list[str]] = {"answers": [], "appendix": []}
        self.gathering: list[tuple[str, int, bool]] = []  # (where to, depth it started at, own tags go along)
        self.unlisted = 0  # > 0 while inside a block whose headings the contents leave out
        self.depth = 0  # open elements inside <article>, the article itself included
        self.done = False
        self.skip_depth = 0  # > 0 while inside a dropped element (the page's own contents)
        self.open_tags: list[tuple[str, str | None, bool]] = []  # (tag, prefixed id, unlisted) of open elements
        self.title_parts: list[str] | None = None
        self.title = ""
        self.sections: list[Heading] = []
        self.section_parts: list[str] | None = None
        self.section_target = ""

    # --- rewriting attribute values ------------------------------------------------------------------

    def prefixed(self, element_id: str) -> str:
        """The booklet-wide id of one of this page's ids."""
        return f"{self.name}-{element_id}"

    def rewrite_url(self, url: str) -> str:
        """Point a link or image at the same thing from inside the booklet.

        ``#x`` becomes ``#<name>-x``; ``other.html#y`` becomes ``#other-y`` when that explainer is in the booklet
        (a page beside this one; ``other.html`` alone becomes ``#other``, its chapter); other relative paths are
        rebased from the page's folder onto the booklet's; absolute URLs are left alone (the PDF renderer decides
        what may be read).
        """
        if not url or is_external(url):
            return url
        if url.startswith("#"):
            return "#" + self.prefixed(url[1:])
        parts = urlsplit(url)
        target = (self.source_dir / unquote(parts.path)).resolve()
        page = target.stem if target.suffix == ".html" else None
        if page in self.chapters and target.parent == self.source_dir:
            return f"#{page}-{parts.fragment}" if parts.fragment else f"#{page}"
        rebased = quote(Path(os.path.relpath(target, self.output_dir.resolve())).as_posix())
        return rebased + (f"#{parts.fragment}" if parts.fragment else "")

    def rewrite_attrs(self, attrs: list[tuple[str, str | None]]) -> list[tuple[str, str | None]]:
        """Attributes with ids prefixed and URLs rewritten; everything else unchanged."""
        rewritten: list[tuple[str, str | None]] = []
        for key, value in attrs:
            if value is not None and key == "id":
                value = self.prefixed(value)
            elif value is not None and key in ID_LIST_ATTRIBUTES:
                value = " ".join(self.prefixed(part) for part in value.split())
            elif value is not None and key in URL_ATTRIBUTES:
                value = self.rewrite_url(value)
            rewritten.append((key, value))
        return rewritten

    @staticmethod
    def start_tag(tag: str, attrs: list[tuple[str, str | None]], closed: bool = False) -> str:
        """Serialise a start tag (values escaped again, since the parser unescaped them)."""
        text = "".join(f" {key}" if value is None else f' {key}="{html.escape(value)}"' for key, value in attrs)
        return f"<{tag}{text}{' /' if closed else ''}>"

    # --- the parser's callbacks ----------------------------------------------------------------------

    def emit(self, text: str) -> None:
        """Keep ``text`` if it lies inside the article (and outside dropped parts), in the article or in the part
        it is gathered into; collect heading text."""
        if self.depth == 0 or self.skip_depth:
            return
        if self.gathering:
            self.gathered[self.gathering[-1][0]].append(text)
            return
        self.parts.append(text)
        for collector in (self.title_parts, self.section_parts):
            if collector is not None:
                collector.append(text)

    def gathered_tag(self, tag: str) -> str:
        """A heading gathered into a part goes one level down (it sits under the chapter's title there)."""
        match = HEADING.match(tag)
        return f"h{int(match.group(1)) + 1}" if self.gathering and match else tag

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.done:
            return
        if self.depth == 0:
            if tag != "article":
                return
        elif self.skip_depth:
            self.skip_depth += tag not in VOID_TAGS
            return
        values = dict(attrs)
        names = set((values.get("class") or "").split())
        if names & DROPPED_CLASSES:
            self.skip_depth = 1
            return
        self.depth += 1
        attrs = self.rewrite_attrs(attrs)
        element_id = dict(attrs).get("id")
        own_tags = True
        gather = next((GATHERED_CLASSES[name] for name in sorted(names) if name in GATHERED_CLASSES), None)
        if gather is not None and not self.gathering:
            self.gathering.append((gather[0], self.depth, gather[1]))
            own_tags = gather[1]
        self.unlisted += bool(names & UNLISTED_CLASSES)
        if tag == "h1" and self.title_parts is None and not self.title and not self.gathering:
            self.title_parts = []
        elif tag == "h2" and not self.gathering and not self.unlisted:
            section = next((eid for t, eid, _ in reversed(self.open_tags) if t == "section" and eid), None)
            self.section_target = element_id or section or ""
            self.section_parts = []
        if own_tags:
            self.emit(self.start_tag(self.gathered_tag(tag), attrs))
        self.open_tags.append((tag, element_id, bool(names & UNLISTED_CLASSES)))
        if tag in VOID_TAGS:
            self.handle_endtag(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.depth and not self.skip_depth and not self.done:
            self.emit(self.start_tag(self.gathered_tag(tag), self.rewrite_attrs(attrs), closed=True))

    def handle_endtag(self, tag: str) -> None:
        if self.done or self.depth == 0:
            return
        if self.skip_depth:
            self.skip_depth -= 1
            return
        ends_gathering = bool(self.gathering) and self.gathering[-1][1] == self.depth
        if tag not in VOID_TAGS and (not ends_gathering or self.gathering[-1][2]):
            self.emit(f"</{self.gathered_tag(tag)}>")
        if ends_gathering:
            self.gathering.pop()
        if self.open_tags:
            self.unlisted -= self.open_tags.pop()[2]
        if tag == "h1" and self.title_parts is not None:
            self.title = heading_text(self.title_parts)
            self.title_parts = None
        elif tag == "h2" and self.section_parts is not None:
            if self.section_target:
                self.sections.append(Heading(self.section_target, heading_text(self.section_parts)))
            self.section_parts = None
        self.depth -= 1
        if self.depth == 0:
            self.done = True

    def handle_data(self, data: str) -> None:
        self.emit(data)

    def handle_entityref(self, name: str) -> None:
        self.emit(f"&{name};")

    def handle_charref(self, name: str) -> None:
        self.emit(f"&#{name};")

    def handle_comment(self, data: str) -> None:
        self.emit(f"<!--{data}-->")


def heading_text(parts: Sequence[str]) -> str:
    """The plain text of a heading's collected markup (tags dropped, entities decoded, spaces squashed)."""
    text = re.sub(r"<[^>]*>", "", "".join(parts))
    return " ".join(html.unescape(text).split())


def read_chapter(name: str, page: Path, output_dir: Path, chapters: Sequence[str]) -> Chapter:
    """Read one explainer page and rewrite its article for the booklet; fail clearly if it has none."""
    if not NAME_PATTERN.match(name):
        raise PipelineError(f"--page {name}=...: names are lower-case words (letters, digits, - and _)")
    if not page.is_file():
        raise PipelineError(f"--page {name}={page}: page not found; run the report_html step first")
    rewriter = ArticleRewriter(name, page.parent.resolve(), output_dir, chapters)
    rewriter.feed(read_page(page))
    rewriter.close()
    if not rewriter.done:
        raise PipelineError(f"{page}: no complete <article> element; the booklet copies each page's article")
    if not rewriter.title:
        raise PipelineError(f"{page}: the article has no <h1> title; the booklet's contents need one")
    return Chapter(
        name,
        rewriter.title,
        "".join(rewriter.parts),
        rewriter.sections,
        "".join(rewriter.gathered["answers"]).strip(),
        "".join(rewriter.gathered["appendix"]).strip(),
    )


def summarise_provenance(provenance: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """What the booklet's appendix shows: each data file once, package versions, commits and run times.

    Why summarise: the explainers share steps (download, prepare, training), so listing every step once and
    flagging any package or data file that differs between explainers tells the reader whether the chapters
    come from one consistent run.
    """
    data: dict[tuple[str, str], dict[str, Any]] = {}
    packages: dict[str, set[str]] = {}
    commits: dict[str, list[str]] = {}
    steps: dict[str, dict[str, Any]] = {}
    chapters = []
    for name, record in provenance.items():
        try:
            for item in record["data"]:
                data.setdefault((item["file"], item["sha256"]), item)
            for package, version in record["packages"].items():
                packages.setdefault(package, set()).add("not installed" if version is None else str(version))
            commits.setdefault(record.get("git_commit") or "not recorded", []).append(name)
            for step in record["steps"]:
                steps.setdefault(step["step"], step)
            seconds = sum(step["seconds"] or 0 for step in record["steps"])
        except (KeyError, TypeError) as exc:
            raise PipelineError(
                f"--provenance {name}=...: not a provenance record (missing {exc}); rerun the provenance step"
            ) from None
        chapters.append({"name": name, "steps": len(record["steps"]), "seconds": seconds})
    return {
        "data": sorted(data.values(), key=lambda item: (item["file"], item["sha256"])),
        "packages": {package: sorted(versions) for package, versions in sorted(packages.items())},
        "commits": commits,
        "platforms": sorted({str(record.get("platform")) for record in provenance.values()}),
        "chapters": chapters,
        "unique_steps": len(steps),
        "total_seconds": sum(step["seconds"] or 0 for step in steps.values()),
    }


def cover_figure(path: Path | None, html_output: Path) -> dict[str, Any] | None:
    """The cover's key figure: its URL relative to the booklet and its sidecar's title and alt text."""
    if path is None:
        return None
    sidecar = path.with_suffix(".json")
    try:
        meta = read_json(input_file(str(sidecar)))
    except PipelineError as exc:
        raise PipelineError(f"--cover-figure {path}: its sidecar: {exc}") from None
    missing = [key for key in FIGURE_KEYS if not isinstance(meta, dict) or not meta.get(key)]
    if missing:
        raise PipelineError(f"{sidecar}: figure sidecar lacks {', '.join(missing)}; rerun the figure step")
    return {"src": relative_url(path, html_output.parent), "title": meta["title"], "alt": meta["alt"]}


def booklet_html(
    chapters: Sequence[Chapter],
    provenance: Mapping[str, Mapping[str, Any]],
    site: Mapping[str, str],
    templates_dir: str | Path = TEMPLATES_DIR,
    cover: Mapping[str, Any] | None = None,
) -> str:
    """The booklet as one HTML document, from the booklet template."""
    context = {
        "site": dict(site),
        "chapters": chapters,
        "provenance": summarise_provenance(provenance),
        "cover": cover,
    }
    return render("booklet.html.j2", context, templates_dir)


def build_parser() -> ArgumentParser:
    """The command line: pages and provenance records, site title, author and paper size (from the config)."""
    parser = ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--page",
        action="append",
        required=True,
        metavar="NAME=HTML",
        help="an explainer's page, in booklet order (repeatable)",
    )
    parser.add_argument(
        "--provenance",
        action="append",
        required=True,
        metavar="NAME=JSON",
        help="an explainer's provenance record, one per --page",
    )
    parser.add_argument(
        "--templates-dir", type=Path, default=None, help="folder holding booklet.html.j2 (default: the repository's)"
    )
    parser.add_argument("--site-title", required=True, help="title on the cover (config report.title)")
    parser.add_argument(
        "--site-author", required=True, help="author on the cover and in the metadata (config report.author)"
    )
    parser.add_argument(
        "--html-output", required=True, type=Path, help="the booklet's HTML file (images are relative to it)"
    )
    parser.add_argument("--output", required=True, type=Path, help="the booklet's PDF file")
    parser.add_argument("--allow", action="append", default=None, metavar="DIR", help="a folder the PDF may read")
    parser.add_argument("--page-size", required=True, choices=PAGE_SIZES, help="paper size (config report.page_size)")
    parser.add_argument(
        "--stylesheet", type=input_file, help="print style sheet added to the booklet's head (templates/print.css)"
    )
    parser.add_argument(
        "--run-times", action="store_true", help="print the chapters' run times (the booklet then differs per run)"
    )
    parser.add_argument(
        "--cover-figure", type=input_file, help="the key figure on the cover (an SVG with its .json sidecar)"
    )
    parser.add_argument(
        "--fit-cache",
        type=cache_folder,
        default=None,
        metavar="DIR",
        help="a folder keeping the fitted parts (publish.fit.FitCache): after one chapter changed, only it is "
        "fitted again; the PDF is the same with or without it",
    )
    parser.add_argument(
        "--draw-cache",
        type=cache_folder,
        default=None,
        metavar="DIR",
        help="a folder keeping what was drawn for each figure (publish.drawcache.DrawCache): a figure drawn at the "
        "same place as last time is not drawn again; the PDF is the same with or without it",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    """Parse the flags, build the booklet's HTML, print it, and write both files atomically."""
    args = build_parser().parse_args(argv)

    pages = input_pairs(args.page, "--page")
    records = dict(input_pairs(args.provenance, "--provenance"))
    names = [name for name, _ in pages]
    if sorted(records) != sorted(names):
        raise PipelineError(
            f"--provenance: give one record per --page (pages: {', '.join(names)}; "
            f"records: {', '.join(records) or 'none'})"
        )
    html_output = args.html_output
    chapters = [read_chapter(name, path, html_output.parent, names) for name, path in pages]
    provenance = {name: read_json(records[name]) for name in names}
    site = {"title": args.site_title, "author": args.site_author, "run_times": args.run_times}
    cover = cover_figure(args.cover_figure, html_output)
    document = booklet_html(chapters, provenance, site, args.templates_dir or TEMPLATES_DIR, cover)
    with atomic_path(html_output, suffix=".html") as tmp:
        tmp.write_text(document, encoding="utf-8")
    pdf = render_pdf(
        html_output,
        args.allow or [],
        args.page_size,
        args.stylesheet,
        gather=False,
        fit_cache=args.fit_cache,
        draw_cache=args.draw_cache,
    )
    with atomic_path(args.output, suffix=".pdf") as tmp:
        tmp.write_bytes(pdf)


if __name__ == "__main__":
    sys.exit(run_cli(main))
