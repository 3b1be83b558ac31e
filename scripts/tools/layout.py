"""Measure the print layout of the PDF handouts: the blank share of each page and headings stranded at its foot.

A page "with a hole" is one whose body (the area between the running header and the page footer, that is the
page less the top and bottom margins of ``templates/print.css``) ends well above the bottom margin: typically
a tall figure or table that did not fit was pushed whole to the next page. The measure is the share of the
body's height that lies blank below the last line of ink, read from the page as printed: every page is
rendered with ``pdftoppm -r 40 -gray`` (poppler-utils) and a pixel row counts as ink when any pixel in it is
darker than ``INK_LEVEL``.

A heading is stranded when it is the last thing printed on its page: its text (read from the HTML page the PDF
was printed from, ``h2``-``h4``) is the last line that ``pdftotext -bbox-layout`` finds in the page's body and
no ink follows it.

Rules checked (``check``): no page more than ``--max-blank`` blank (default 25 %) except the last page. With
``--part-ends`` (the booklet) the last page of each part is let off too: a part (the booklet's contents, chapters,
answers and appendix) starts on a new page at a level-1 bookmark (read with ``pdftohtml -xml``), so the page
before it may end early. A handout is checked without it: its one forced break is before the answers, and the
fitting pass fills the page before them. With ``--max-blank-last``, the last page must not be nearly empty
either. No heading alone at the foot of a page.

Usage (``make check-layout`` runs it on every PDF in ``results/reports``)::

    PYTHONPATH=scripts python scripts/tools/layout.py results/reports/pca.pdf results/reports/backprop.pdf
    PYTHONPATH=scripts python scripts/tools/layout.py --part-ends --max-blank-last 0.75 results/reports/booklet.pdf

Prints one line per page (``pca.pdf page 4: 37.2 % blank``) with the problems marked, and exits 1 when a rule
is broken; ``--json FILE`` writes the measurements.
"""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from html.parser import HTMLParser
from pathlib import Path

import numpy as np

from kit.cli import ArgumentParser, PipelineError, input_file, run_cli

#: Resolution of the rendered pages: coarse, since only the position of the last line matters (1 px = 0.64 mm).
DPI = 40
#: A pixel darker than this (0 black, 255 white) is ink; anti-aliased text at 40 dpi stays well below it.
INK_LEVEL = 230
#: The page margins of templates/print.css (``@page { margin: 20mm 17mm 20mm }``): the running header sits in
#: the top margin, "Page n of m" in the bottom one. tests/test_layout.py checks that the two agree.
TOP_MARGIN_MM = 20.0
BOTTOM_MARGIN_MM = 20.0
#: The default limit: no page but the last more than a quarter blank below its last line.
MAX_BLANK = 0.25
#: Headings whose text is looked for at the foot of a page.
HEADING_TAGS = ("h2", "h3", "h4")
MM_PER_INCH = 25.4
PT_PER_INCH = 72.0


@dataclass
class Page:
    """One printed page: its number, the blank share of its body below the last ink, what is stranded on it."""

    number: int
    blank: float
    exempt: str = ""  # why the blank rule does not apply ("last page", "end of a part"), or ""
    stranded: list[str] = field(default_factory=list)  # headings printed as the last line of the page


@dataclass
class Report:
    """The measurements of one PDF and the rules it breaks."""

    pdf: str
    pages: list[Page]
    problems: list[str]


def need(program: str) -> str:
    """The path of a poppler program, or a clear error saying which Debian package installs it."""
    found = shutil.which(program)
    if found is None:
        raise PipelineError(f"{program} not found; install poppler-utils (make system-packages)")
    return found


def read_pgm(path: Path) -> np.ndarray:
    """A binary greyscale PGM (``P5``, 8 bits, as ``pdftoppm -gray`` writes it) as a 2D uint8 array."""
    data = path.read_bytes()
    fields: list[bytes] = []
    position = 0
    while len(fields) < 4:  # magic, width, height, maximum value; comments start with #
        match = re.compile(rb"\s*(#[^\n]*\n\s*)*(\S+)").match(data, position)
        if match is None:
            raise PipelineError(f"{path}: not a PGM image")
        fields.append(match.group(2))
        position = match.end()
    magic, width, height, maximum = fields[0], int(fields[1]), int(fields[2]), int(fields[3])
    if magic != b"P5" or maximum > 255:
        raise PipelineError(f"{path}: not an 8-bit binary PGM image")
    pixels = np.frombuffer(data, dtype=np.uint8, count=width * height, offset=position + 1)
    return pixels.reshape(height, width)


def render_pages(pdf: Path, dpi: int = DPI) -> list[np.ndarray]:
    """Every page of ``pdf`` as a greyscale image (``pdftoppm -r DPI -gray``), in page order."""
    with tempfile.TemporaryDirectory() as folder:
        result = subprocess.run(
            [need("pdftoppm"), "-r", str(dpi), "-gray", str(pdf), str(Path(folder) / "page")],
            capture_output=True,
            text=True,
        )
        if result.returncode != 0:
            raise PipelineError(f"{pdf}: pdftoppm could not render it ({result.stderr.strip()})")
        files = sorted(Path(folder).glob("page-*.pgm"), key=lambda path: int(path.stem.rsplit("-", 1)[1]))
        return [read_pgm(path) for path in files]


def body_rows(
    height_px: int, dpi: int = DPI, top_mm: float = TOP_MARGIN_MM, bottom_mm: float = BOTTOM_MARGIN_MM
) -> tuple[int, int]:
    """The first and one-past-last pixel row of a page's body: the page less its top and bottom margins."""
    px_per_mm = dpi / MM_PER_INCH
    return round(top_mm * px_per_mm), height_px - round(bottom_mm * px_per_mm)


def ink_rows(image: np.ndarray, level: int = INK_LEVEL) -> np.ndarray:
    """Whether each pixel row holds ink (any pixel darker than ``level``)."""
    return (image < level).any(axis=1)


def blank_share(
    image: np.ndarray, dpi: int = DPI, top_mm: float = TOP_MARGIN_MM, bottom_mm: float = BOTTOM_MARGIN_MM
) -> float:
    """The share of the page's body height that is blank below its last line of ink (1.0 for an empty body)."""
    top, bottom = body_rows(image.shape[0], dpi, top_mm, bottom_mm)
    rows = np.flatnonzero(ink_rows(image[top:bottom]))
    if rows.size == 0:
        return 1.0
    return float((bottom - top - 1 - rows[-1]) / (bottom - top))


def blank_shares(
    pdf: str | Path, dpi: int = DPI, top_mm: float = TOP_MARGIN_MM, bottom_mm: float = BOTTOM_MARGIN_MM
) -> list[float]:
    """The blank share of every page of ``pdf``, in page order."""
    return [blank_share(image, dpi, top_mm, bottom_mm) for image in render_pages(Path(pdf), dpi)]


def part_starts(pdf: str | Path) -> list[int]:
    """The pages (from 1) where a level-1 bookmark points: where print.css starts a part on a new page (the
    booklet's contents, chapters, answers and appendix; a handout's title, answers and appendix)."""
    result = subprocess.run(
        [need("pdftohtml"), "-xml", "-stdout", "-i", "-q", str(pdf)], capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise PipelineError(f"{pdf}: pdftohtml could not read its bookmarks ({result.stderr.strip()})")
    start = result.stdout.find("<outline>")
    if start < 0:
        return []
    end = result.stdout.rfind("</outline>") + len("</outline>")
    outline = ET.fromstring(result.stdout[start:end])
    return sorted({int(item.get("page", 0)) for item in outline.findall("item")})


class _Headings(HTMLParser):
    """Collects the text of every ``h2``-``h4`` of an HTML page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.headings: list[str] = []
        self.parts: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in HEADING_TAGS:
            self.parts = []

    def handle_endtag(self, tag: str) -> None:
        if tag in HEADING_TAGS and self.parts is not None:
            text = " ".join("".join(self.parts).split())
            if text:
                self.headings.append(text)
            self.parts = None

    def handle_data(self, data: str) -> None:
        if self.parts is not None:
            self.parts.append(data)


def heading_texts(page: str | Path) -> list[str]:
    """The text of every ``h2``-``h4`` heading of an HTML page."""
    parser = _Headings()
    parser.feed(Path(page).read_text(encoding="utf-8"))
    parser.close()
    return parser.headings


def _words(text: str) -> str:
    """Text compared for headings: words only, lower case (hyphenation and spacing differ between HTML and PDF)."""
    return " ".join(re.findall(r"\w+", text.lower()))


def last_lines(
    pdf: str | Path, top_mm: float = TOP_MARGIN_MM, bottom_mm: float = BOTTOM_MARGIN_MM
) -> list[tuple[str, float]]:
    """Per page, the last text line in the body and how far below it (in mm) the body's ink may still reach.

    Returns a list of ``(text, bottom_mm)`` per page, ``("", 0)`` for a page without text in its body.
    """
    result = subprocess.run(
        [need("pdftotext"), "-bbox-layout", str(pdf), "-"], capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise PipelineError(f"{pdf}: pdftotext could not read it ({result.stderr.strip()})")
    root = ET.fromstring(re.sub(r"<!DOCTYPE[^>]*>", "", result.stdout))
    lines = []
    for page in root.iter("{http://www.w3.org/1999/xhtml}page"):
        height = float(page.get("height", 0))
        top, bottom = top_mm / MM_PER_INCH * PT_PER_INCH, height - bottom_mm / MM_PER_INCH * PT_PER_INCH
        last: tuple[float, str] = (-1.0, "")
        for line in page.iter("{http://www.w3.org/1999/xhtml}line"):
            y_min, y_max = float(line.get("yMin", 0)), float(line.get("yMax", 0))
            if y_min >= top and y_max <= bottom and y_max > last[0]:
                words = [word.text or "" for word in line.iter("{http://www.w3.org/1999/xhtml}word")]
                last = (y_max, " ".join(words))
        lines.append((html.unescape(last[1]), last[0] / PT_PER_INCH * MM_PER_INCH if last[0] >= 0 else 0.0))
    return lines


def stranded_headings(
    pdf: str | Path, headings: Sequence[str], images: Sequence[np.ndarray] | None = None, dpi: int = DPI
) -> dict[int, list[str]]:
    """Headings printed as the last line of a page's body with no ink below them, by page number (from 1).

    A heading's last printed line is matched against the end of the heading's text, so a heading that wraps
    onto two lines is found too.
    """
    images = list(images) if images is not None else render_pages(Path(pdf), dpi)
    wanted = [_words(text) for text in headings if _words(text)]
    found: dict[int, list[str]] = {}
    for number, (text, bottom_mm) in enumerate(last_lines(pdf), start=1):
        line = _words(text)
        if not line or not any(heading.endswith(line) and len(line) >= min(8, len(heading)) for heading in wanted):
            continue
        image = images[number - 1]
        top, bottom = body_rows(image.shape[0], dpi)
        below = round((bottom_mm + 1.5) * dpi / MM_PER_INCH)  # a little under the line's box: descenders
        if not ink_rows(image[max(below, top) : bottom]).any():
            found.setdefault(number, []).append(text)
    return found


def check(
    pdf: str | Path,
    max_blank: float = MAX_BLANK,
    max_blank_last: float | None = None,
    page: str | Path | None = None,
    dpi: int = DPI,
    part_ends: bool = False,
) -> Report:
    """Measure ``pdf`` and list the rules it breaks (see the module's doc); ``part_ends`` lets off the last
    page of each part, as for the booklet.

    ``page`` is the HTML page the PDF was printed from, for its headings (default: the ``.html`` beside the PDF,
    when there is one).
    """
    pdf = Path(pdf)
    images = render_pages(pdf, dpi)
    if not images:
        raise PipelineError(f"{pdf}: no pages")
    ends = {start - 1 for start in part_starts(pdf) if start > 1} if part_ends else set()
    page = Path(page) if page is not None else pdf.with_suffix(".html")
    stranded = stranded_headings(pdf, heading_texts(page), images, dpi) if page.is_file() else {}
    pages: list[Page] = []
    problems: list[str] = []
    for number, image in enumerate(images, start=1):
        share = blank_share(image, dpi)
        exempt = "last page" if number == len(images) else "end of a part" if number in ends else ""
        item = Page(number, share, exempt, stranded.get(number, []))
        pages.append(item)
        if not exempt and share > max_blank:
            problems.append(f"{pdf.name} page {number}: {share:.1%} blank below its last line (limit {max_blank:.0%})")
        if number == len(images) and max_blank_last is not None and share > max_blank_last:
            problems.append(
                f"{pdf.name} page {number} (the last): {share:.1%} blank, nearly empty (limit {max_blank_last:.0%})"
            )
        for heading in item.stranded:
            problems.append(f"{pdf.name} page {number}: heading {heading!r} is alone at the foot of the page")
    return Report(str(pdf), pages, problems)


def build_parser() -> ArgumentParser:
    """The command line: the PDFs, the limits, an optional JSON report."""
    parser = ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("pdfs", nargs="+", type=input_file, metavar="PDF", help="PDF files to measure")
    parser.add_argument(
        "--max-blank", type=float, default=MAX_BLANK, help="largest blank share of a page but the last (default 0.25)"
    )
    parser.add_argument(
        "--max-blank-last", type=float, default=None, help="largest blank share of the last page (default: no limit)"
    )
    parser.add_argument(
        "--part-ends",
        action="store_true",
        help="let off the last page of each part (a level-1 bookmark starts the next): for the booklet",
    )
    parser.add_argument("--json", type=Path, default=None, help="write the measurements to this JSON file")
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    """Measure every PDF, print a line per page, and fail (exit 1) when a rule is broken."""
    args = build_parser().parse_args(argv)
    reports = [check(pdf, args.max_blank, args.max_blank_last, part_ends=args.part_ends) for pdf in args.pdfs]
    for report in reports:
        for page in report.pages:
            notes = [page.exempt] if page.exempt else []
            notes += [f"stranded heading {text!r}" for text in page.stranded]
            note = f"  ({'; '.join(notes)})" if notes else ""
            print(f"{Path(report.pdf).name} page {page.number}: {page.blank:.1%} blank{note}")
    if args.json is not None:
        args.json.write_text(json.dumps([asdict(report) for report in reports], indent=2) + "\n", encoding="utf-8")
    problems = [problem for report in reports for problem in report.problems]
    if problems:
        raise PipelineError(f"{len(problems)} layout problem(s):\n  " + "\n  ".join(problems))


if __name__ == "__main__":
    sys.exit(run_cli(main))
