"""Check the built site: valid HTML (Nu Html Checker), accessible, phone-ready, dark, offline, widgets that show
the pipeline's numbers, and within its weight budget; with screenshots.

Every HTML page under the results folder (``index.html`` and ``reports/*.html``), plus a preview page of each
explainer's widgets (``templates/widgets/preview.html.j2``, rendered into ``results/screenshots/preview/`` for each
``results/widgets/<explainer>.js``), is checked:

1. vnu (the Nu Html Checker, from npm's ``vnu-jar``, run with the system's Java 17+): no error on any page;
2. in Debian's headless Chromium, driven by npm's ``playwright-core`` (``browser_checks.mjs``), at a phone
   (390 px) and a desktop (1280 px) width, each in the light and the dark colour scheme: no axe-core violation
   of WCAG 2.0/2.1 A and AA or axe's best practices, no broken image, no sideways scrolling of the page, no
   request that leaves file://, no script error; dark mode darkens the page and its figures;
3. on the phone: every figure shows at 90 % or more of its natural width (the narrow variant where it has one)
   and its labels at 9 CSS px or more (the type sizes read from the SVG the browser picked); every box that
   scrolls sideways says so;
4. each widget shows, for each check in ``results/widgets/<explainer>.checks.json``, exactly the text the
   pipeline computed (some checks moved with the keyboard); every widget a page shows has checks, a keyboard
   one among them (generic: a new widget is driven from its checks file, no edit here);
5. each page's weight: at most 150 KB of script (gzip) and 3 MB of widget data;
6. a full-page screenshot of every page at both widths in both schemes, into ``results/screenshots/``
   (``<page>-<width>.png``, ``<page>-<width>-dark.png``; look at them).

Usage (``make test-site`` installs the tools into .tools/ and runs this through pytest)::

    python tests/site/check_site.py --results results --tools .tools --screenshots results/screenshots

Prints one line per problem and each page's weight (and, as a note, the figures a phone shows by scrolling their
own box sideways, which have no narrow variant), and exits 1 when there is any problem; writes the full report as
JSON beside the screenshots. ``make test-site SITE_DIR=<folder>`` checks the site built in another folder (the
pytest wrapper reads ``SITE_RESULTS``).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
WIDTHS = (390, 1280)
SCHEMES = ("light", "dark")

#: The phone: the width at which figures must show at 90 % of their natural width, labels at 9 CSS px or more.
PHONE_WIDTH = 390
MIN_FIGURE_SHARE = 0.9
MIN_LABEL_PX = 9.0
#: A page's budget: script (inline and external, gzip -9) and widget data (results/widgets/*.js, as stored).
SCRIPT_BUDGET_GZIP = 150_000
DATA_BUDGET = 3_000_000
#: The body's background luminance (0 black to 1 white) dark mode must stay under.
DARK_BACKGROUND_MAX = 0.2

#: The size of a text drawn as paths by matplotlib: a group scaled by size / 100 (flipped vertically).
SVG_TEXT_SCALE = re.compile(r"scale\(([0-9.]+) -\1\)")
#: Graphviz and others write real text: <text ... font-size="14.00">.
SVG_FONT_SIZE = re.compile(r'font-size[=:]\s*"?([0-9.]+)')


class SiteCheckError(Exception):
    """A tool is missing or failed to run (not a finding about the pages)."""


def find_pages(results: Path) -> list[Path]:
    """The site's HTML pages: the index first, then every report page in name order."""
    pages = [results / "index.html", *sorted((results / "reports").glob("*.html"))]
    missing = [str(page) for page in pages if not page.is_file()]
    if missing or len(pages) < 2:
        raise SiteCheckError(
            f"pages missing in {results}: {', '.join(missing) or 'reports/*.html'}; "
            "build them first (.venv/bin/snakemake --cores 4 results/index.html)"
        )
    return pages


def tool(path: Path, what: str) -> Path:
    """A file from the npm tools folder, or a clear error saying how to install it."""
    if not path.is_file():
        raise SiteCheckError(f"{path} not found ({what}); run `make site-tools` (or `make test-site`)")
    return path


def executable(name: str, package: str) -> str:
    """A program on PATH (Java, Chromium, Node), or a clear error naming the Debian package."""
    found = shutil.which(name)
    if found is None:
        raise SiteCheckError(f"'{name}' not found; install Debian's {package} (`make test-site` does it as root)")
    return found


def run_vnu(java: str, vnu_jar: Path, pages: Sequence[Path]) -> dict[str, list[str]]:
    """Errors the Nu Html Checker reports, per page ("line N: message"). Warnings and info are not errors.

    Every error counts: the pages carry no CSS that only WeasyPrint knows (render_pdf.py adds the print style
    sheet, with its paged-media rules, only when it prints a page)."""
    command = [java, "-jar", str(vnu_jar), "--format", "json", "--stdout", "--exit-zero-always"]
    result = subprocess.run([*command, *map(str, pages)], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise SiteCheckError(f"vnu failed to run (exit {result.returncode}): {result.stderr.strip()[-2000:]}")
    try:
        messages = json.loads(result.stdout)["messages"]
    except (json.JSONDecodeError, KeyError) as exc:
        raise SiteCheckError(f"vnu printed no JSON report ({exc}): {result.stdout[:500]}") from None
    errors: dict[str, list[str]] = {str(page): [] for page in pages}
    for message in messages:
        text = message.get("message", "")
        if message.get("type") == "error" or message.get("subType") == "fatal":
            page = message.get("url", "").removeprefix("file:")
            key = next((str(p) for p in pages if Path(page).resolve() == p.resolve()), page)
            errors.setdefault(key, []).append(f"line {message.get('lastLine', '?')}: {text}")
    return errors


def svg_text_pt(text: str) -> float | None:
    """The smallest text size of an SVG in its own units (points for matplotlib and Graphviz), or None without text.

    matplotlib draws text as paths in groups scaled by size / 100; exponents inside a label (``scale(0.7)`` on
    their glyphs) are typeset at 70 % of their label by convention and are not counted as a label size.
    """
    sizes = [100 * float(value) for value in SVG_TEXT_SCALE.findall(text)]
    sizes += [float(value) for value in SVG_FONT_SIZE.findall(text)]
    return min(sizes) if sizes else None


def svg_width_units(text: str) -> float | None:
    """The width of an SVG's root in its own units (the text sizes' units), from viewBox or width."""
    root = re.search(r"<svg\b[^>]*>", text)
    if root is None:
        return None
    box = re.search(r'viewBox="[-0-9.]+ [-0-9.]+ ([0-9.]+) [0-9.]+"', root.group(0))
    if box:
        return float(box.group(1))
    width = re.search(r'\swidth="([0-9.]+)', root.group(0))
    return float(width.group(1)) if width else None


def file_of(url: str) -> Path | None:
    """The local file a file:// URL names (None for other URLs)."""
    parts = urlsplit(url)
    return Path(unquote(parts.path)) if parts.scheme == "file" else None


#: The attributes through which a browser loads something, by element.
LOADED = {
    "img": ("src", "srcset"),
    "source": ("src", "srcset"),
    "script": ("src",),
    "link": ("href",),
    "iframe": ("src",),
    "embed": ("src",),
    "object": ("data",),
    "video": ("src", "poster"),
    "audio": ("src",),
}


class Scripts(HTMLParser):
    """Collects a page's inline scripts, the src of its external ones, and every URL the browser would load."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.inline: list[str] = []
        self.sources: list[str] = []
        self.urls: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        self.urls += [values[key] or "" for key in LOADED.get(tag, ()) if values.get(key)]
        if tag == "script":
            if values.get("src"):
                self.sources.append(values["src"] or "")
            else:
                self._in_script = True
                self.inline.append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self.inline[-1] += data


def page_weight(page: Path) -> dict:
    """What a page loads besides itself and its images: script (inline and external; bytes and gzip -9 bytes) and
    widget data (the results/widgets/*.js files it loads), and any URL it would load from outside file://."""
    parser = Scripts()
    parser.feed(page.read_text(encoding="utf-8"))
    script = "".join(parser.inline)
    data_files, data_bytes, data_text = [], 0, b""
    for src in parser.sources:
        path = (page.parent / unquote(urlsplit(src).path)).resolve()
        content = path.read_bytes() if path.is_file() else b""
        if path.parent.name == "widgets" and content.startswith(b"/* Widget data"):
            data_files.append(src)
            data_bytes += len(content)
            data_text += content
        else:
            script += content.decode("utf-8", errors="replace")
    return {
        "page": str(page),
        "script_bytes": len(script.encode("utf-8")),
        "script_gzip_bytes": len(gzip.compress(script.encode("utf-8"), 9, mtime=0)),
        "data_files": data_files,
        "data_bytes": data_bytes,
        "data_gzip_bytes": len(gzip.compress(data_text, 9, mtime=0)) if data_text else 0,
        "external_requests": sorted({url for url in parser.urls if leaves_file(url)}),
    }


def leaves_file(url: str) -> bool:
    """Whether a URL the page loads points outside the local files (a scheme other than file:, or //host)."""
    url = url.strip().lower()
    return bool(re.match(r"^([a-z][a-z0-9+.-]*:)?//", url)) and not url.startswith("file:")


def render_previews(results: Path, out_dir: Path) -> list[Path]:
    """A preview page of each explainer's widgets (templates/widgets/preview.html.j2), next to the screenshots."""
    pages = []
    for data in sorted((results / "widgets").glob("*.js")):
        page = out_dir / f"{data.stem}-widgets.html"
        command = [
            sys.executable, str(ROOT / "scripts" / "publish" / "render_html.py"),
            "--template", "widgets/preview.html.j2", "--output", str(page), "--widgets", str(data),
            "--site-title", "Widget preview", "--site-author", "the site tests",
        ]  # fmt: skip
        env = {**os.environ, "PYTHONPATH": str(ROOT / "scripts")}
        result = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
        if result.returncode != 0:
            raise SiteCheckError(f"cannot render the widget preview of {data.name}: {result.stderr.strip()}")
        pages.append(page)
    return pages


def checks_of(page: Path) -> Path | None:
    """The checks file of the widget data a page loads (results/widgets/<explainer>.checks.json), if any."""
    for src in page_weight(page)["data_files"]:
        data = (page.parent / unquote(src)).resolve()
        checks = data.with_name(data.name.removesuffix(".js") + ".checks.json")
        if checks.is_file():
            return checks
    return None


def run_browser(
    node: str, chromium: str, tools: Path, pages: Sequence[Path], screenshots: Path, widths: Sequence[int],
    schemes: Sequence[str] = SCHEMES, checks: dict[Path, Path] | None = None,
) -> dict:  # fmt: skip
    """axe-core results, layout, colours, requests, widget replays and screenshots from headless Chromium
    (browser_checks.mjs)."""
    node_modules = tools / "node_modules"
    tool(node_modules / "playwright-core" / "package.json", "npm playwright-core")
    axe = tool(node_modules / "axe-core" / "axe.min.js", "npm axe-core")
    report = screenshots / "browser-report.json"
    command = [
        node,
        str(HERE / "browser_checks.mjs"),
        "--chromium",
        chromium,
        "--axe",
        str(axe),
        "--screenshots",
        str(screenshots),
        "--widths",
        ",".join(map(str, widths)),
        "--schemes",
        ",".join(schemes),
        "--report",
        str(report),
        *[arg for page, file in (checks or {}).items() for arg in ("--checks", f"{page}={file}")],
        *map(str, pages),
    ]
    env = {**os.environ, "NODE_PATH": str(node_modules)}
    result = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    if result.returncode != 0:
        raise SiteCheckError(f"browser checks failed to run (exit {result.returncode}): {result.stderr.strip()}")
    return json.loads(report.read_text(encoding="utf-8"))


def luminance(css_colour: str) -> float:
    """Relative luminance (0 to 1) of a CSS rgb()/rgba() colour."""
    values = [float(v) for v in re.findall(r"[0-9.]+", css_colour)[:3]] or [255.0, 255.0, 255.0]
    linear = [(v / 255) / 12.92 if v / 255 <= 0.04045 else ((v / 255 + 0.055) / 1.055) ** 2.4 for v in values]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def figure_problems(where: str, entry: dict, text_sizes: dict[Path, tuple[float | None, float | None]]) -> list[str]:
    """On the phone: each figure at 90 % of its natural width or more, its labels at 9 CSS px or more."""
    problems = []
    for figure in entry["figures"]:
        share = figure["shown_px"] / figure["natural_px"] if figure["natural_px"] else 0.0
        name = figure["figure"] or figure["src"]
        path = file_of(figure["src"])
        figure["share"] = round(share, 3)
        if path is not None and path.is_file():
            if path not in text_sizes:
                text = path.read_text(encoding="utf-8", errors="replace")
                text_sizes[path] = (svg_text_pt(text), svg_width_units(text))
            smallest, units = text_sizes[path]
            if smallest is not None and units:
                figure["label_px"] = round(smallest * figure["shown_px"] / units, 2)
        if entry["width"] != PHONE_WIDTH:
            continue
        if share < MIN_FIGURE_SHARE:
            problems.append(f"{where}: figure {name} shows at {share:.0%} of its natural width ({figure['src']})")
        if figure.get("label_px", MIN_LABEL_PX) < MIN_LABEL_PX:
            problems.append(f"{where}: figure {name}'s smallest label is {figure['label_px']} CSS px, under 9")
    return problems


def coverage_problems(browser: dict, checks: dict[Path, Path]) -> list[str]:
    """Each widget a page shows must be checked against the pipeline's numbers, at least once with the keyboard:
    a hook on a page whose checks file has no check of it (or no keyboard check) is a problem."""
    problems = []
    seen: set[str] = set()
    for entry in browser["pages"]:
        page = Path(entry["page"])
        if entry["page"] in seen:
            continue
        seen.add(entry["page"])
        file = checks.get(page) or next((f for p, f in checks.items() if p.resolve() == page.resolve()), None)
        hooks = [hook["name"] for hook in entry.get("widget_hooks", [])]
        if not hooks:
            continue
        if file is None:
            problems.append(f"{page}: widgets {', '.join(hooks)} have no checks file (results/widgets/*.checks.json)")
            continue
        listed = json.loads(Path(file).read_text(encoding="utf-8")).get("checks", [])
        checked = {item["widget"] for item in listed}
        keyed = {item["widget"] for item in listed if item.get("keys")}
        for name in hooks:
            if name not in checked:
                problems.append(f"{page}: widget {name} has no check in {file}; add checks (kit.widgets.check)")
            elif name not in keyed:
                problems.append(f"{page}: widget {name} has no keyboard check in {file} (check(..., keys=True))")
    return problems


def problems_of(
    vnu_errors: dict[str, list[str]],
    browser: dict,
    weights: Sequence[dict] = (),
    checks: dict[Path, Path] | None = None,
) -> list[str]:
    """Every finding as one line a person can act on."""
    problems = [f"{page}: vnu: {error}" for page, errors in vnu_errors.items() for error in errors]
    if checks is not None:  # the widget checks files found for the pages (check_site gives them)
        problems += coverage_problems(browser, checks)
    text_sizes: dict[Path, tuple[float | None, float | None]] = {}
    for weight in weights:
        if weight["script_gzip_bytes"] > SCRIPT_BUDGET_GZIP:
            problems.append(f"{weight['page']}: {weight['script_gzip_bytes']:,} bytes of script (gzip), over 150 KB")
        if weight["data_bytes"] > DATA_BUDGET:
            problems.append(f"{weight['page']}: {weight['data_bytes']:,} bytes of widget data, over 3 MB")
        problems += [f"{weight['page']}: refers to {url}, outside file://" for url in weight["external_requests"]]
    for entry in browser["pages"]:
        scheme = entry.get("scheme", "light")
        where = f"{entry['page']} at {entry['width']} px ({scheme})"
        problems += [f"{where}: a request left file://: {url}" for url in entry.get("outside_requests", [])]
        problems += figure_problems(where, entry, text_sizes)
        for box in entry.get("boxes", []):
            if box["overflows"] and not (box["scrolls"] and box["shadow"]):
                problems.append(
                    f"{where}: a box ({box['kind']}, {box['label'][:60]}) overflows without scrolling and a hint"
                )
        if scheme == "dark":
            if luminance(entry["colours"]["background"]) > DARK_BACKGROUND_MAX:
                problems.append(f"{where}: the page stays light in dark mode ({entry['colours']['background']})")
            problems += [
                f"{where}: figure {figure['figure']} is not darkened ({figure['filter']})"
                for figure in entry.get("figures", [])
                if "invert" not in figure["filter"]
            ]
        for hook in entry.get("widget_hooks", []):
            if hook["loaded"] and not hook["shown"]:
                problems.append(f"{where}: widget {hook['name']} did not mount")
        if entry.get("widgets"):
            problems += [f"{where}: {failure}" for failure in entry["widgets"]["failures"]]
            if entry["widgets"]["failed"] > len(entry["widgets"]["failures"]):
                problems.append(f"{where}: ... {entry['widgets']['failed']} widget checks failed in all")
        for violation in entry["violations"]:
            targets = "; ".join(node["target"] for node in violation["nodes"])
            problems.append(
                f"{where}: axe {violation['id']} ({violation['impact']}, {violation['count']}x): "
                f"{violation['help']} [{targets}]"
            )
        if entry["horizontal_overflow_px"] > 0:
            problems.append(f"{where}: the page scrolls sideways by {entry['horizontal_overflow_px']} px")
        problems += [f"{where}: broken image {src}" for src in entry["broken_images"]]
        problems += [f"{where}: {problem}" for problem in entry["problems"]]
        if not Path(entry["screenshot"]).is_file():
            problems.append(f"{where}: screenshot {entry['screenshot']} was not written")
    return problems


def check_site(
    results: Path, tools: Path, screenshots: Path, widths: Sequence[int] = WIDTHS, chromium: str | None = None,
    schemes: Sequence[str] = SCHEMES,
) -> dict:  # fmt: skip
    """Run every check on every page; the report holds the pages, their weights, the problems and how long each
    check took."""
    pages = find_pages(results)
    java = executable("java", "default-jre-headless")
    node = executable("node", "nodejs")
    chromium = chromium or executable("chromium", "chromium")
    vnu_jar = tool(tools / "node_modules" / "vnu-jar" / "build" / "dist" / "vnu.jar", "npm vnu-jar")
    screenshots.mkdir(parents=True, exist_ok=True)
    pages += render_previews(results, screenshots / "preview")
    weights = [page_weight(page) for page in pages]
    checks = {page: found for page in pages if (found := checks_of(page)) is not None}

    start = time.perf_counter()
    vnu_errors = run_vnu(java, vnu_jar, pages)
    vnu_seconds = time.perf_counter() - start
    start = time.perf_counter()
    browser = run_browser(node, chromium, tools, pages, screenshots, widths, schemes, checks)
    browser_seconds = time.perf_counter() - start

    report = {
        "pages": [str(page) for page in pages],
        "widths": list(widths),
        "schemes": list(schemes),
        "weights": weights,
        "widget_checks": {str(page): str(file) for page, file in checks.items()},
        "vnu_errors": vnu_errors,
        "axe_version": browser["axe_version"],
        "axe_tags": browser["tags"],
        "browser": browser["pages"],
        "problems": problems_of(vnu_errors, browser, weights, checks),
        # Figures a phone shows whole only by scrolling their own box sideways (no narrow variant): legible, and
        # the page does not scroll, but a narrow drawing (kit.figure, narrow=True) would serve the reader better.
        "phone_scroll_figures": sorted(
            {
                f"{Path(entry['page']).name}: {figure['figure']}"
                for entry in browser["pages"]
                if entry["width"] == PHONE_WIDTH
                for figure in entry["figures"]
                if figure.get("scrolls")
            }
        ),
        "seconds": {"vnu": round(vnu_seconds, 1), "browser": round(browser_seconds, 1)},
    }
    (screenshots / "site-report.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return report


def main(argv: Sequence[str] | None = None) -> int:
    """Check the site and print the verdict; exit 1 on any problem, 2 when a tool is missing."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--results", type=Path, default=ROOT / "results", help="folder holding index.html")
    parser.add_argument("--tools", type=Path, default=ROOT / ".tools", help="npm prefix with vnu-jar, axe-core, ...")
    parser.add_argument("--screenshots", type=Path, default=ROOT / "results" / "screenshots")
    parser.add_argument("--chromium", help="Chromium executable (default: chromium on PATH)")
    parser.add_argument("--widths", type=int, nargs="+", default=list(WIDTHS), help="viewport widths in px")
    args = parser.parse_args(argv)
    try:
        report = check_site(args.results, args.tools, args.screenshots, args.widths, args.chromium)
    except SiteCheckError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for problem in report["problems"]:
        print(problem)
    for weight in report["weights"]:
        print(
            f"{weight['page']}: script {weight['script_bytes']:,} bytes ({weight['script_gzip_bytes']:,} gzip), "
            f"widget data {weight['data_bytes']:,} bytes ({weight['data_gzip_bytes']:,} gzip)"
        )
    if report["phone_scroll_figures"]:
        print(f"note: on a phone these figures scroll sideways in their own box: {report['phone_scroll_figures']}")
    seconds = report["seconds"]
    print(
        f"{len(report['pages'])} pages, widths {report['widths']}: {len(report['problems'])} problems "
        f"(vnu {seconds['vnu']} s, axe + screenshots {seconds['browser']} s; axe-core {report['axe_version']})"
    )
    return 1 if report["problems"] else 0


if __name__ == "__main__":
    sys.exit(main())
