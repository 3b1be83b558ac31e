"""Check the built site: valid HTML (Nu Html Checker), no axe-core violations in headless Chromium, screenshots.

Every HTML page under the results folder (``index.html`` and ``reports/*.html``) is checked three ways:

1. vnu (the Nu Html Checker, from npm's ``vnu-jar``, run with the system's Java 17+): no error on any page;
2. axe-core in Debian's headless Chromium, driven by npm's ``playwright-core`` (``browser_checks.mjs``), at a
   phone (390 px) and a desktop (1280 px) width: no violation of WCAG 2.0/2.1 A and AA or axe's best practices,
   no broken image, no sideways scrolling of the page itself;
3. a full-page screenshot of every page at both widths, into ``results/screenshots/`` (look at them).

Usage (``make test-site`` installs the tools into .tools/ and runs this through pytest)::

    python tests/site/check_site.py --results results --tools .tools --screenshots results/screenshots

Prints one line per problem and exits 1 when there is any; writes the full report as JSON beside the screenshots.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
WIDTHS = (390, 1280)


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


def run_browser(
    node: str, chromium: str, tools: Path, pages: Sequence[Path], screenshots: Path, widths: Sequence[int]
) -> dict:
    """axe-core results, layout checks and screenshots from headless Chromium (browser_checks.mjs)."""
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
        "--report",
        str(report),
        *map(str, pages),
    ]
    env = {**os.environ, "NODE_PATH": str(node_modules)}
    result = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    if result.returncode != 0:
        raise SiteCheckError(f"browser checks failed to run (exit {result.returncode}): {result.stderr.strip()}")
    return json.loads(report.read_text(encoding="utf-8"))


def problems_of(vnu_errors: dict[str, list[str]], browser: dict) -> list[str]:
    """Every finding as one line a person can act on."""
    problems = [f"{page}: vnu: {error}" for page, errors in vnu_errors.items() for error in errors]
    for entry in browser["pages"]:
        where = f"{entry['page']} at {entry['width']} px"
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
    results: Path, tools: Path, screenshots: Path, widths: Sequence[int] = WIDTHS, chromium: str | None = None
) -> dict:
    """Run both checks on every page; the report holds the pages, the problems and how long each check took."""
    pages = find_pages(results)
    java = executable("java", "default-jre-headless")
    node = executable("node", "nodejs")
    chromium = chromium or executable("chromium", "chromium")
    vnu_jar = tool(tools / "node_modules" / "vnu-jar" / "build" / "dist" / "vnu.jar", "npm vnu-jar")
    screenshots.mkdir(parents=True, exist_ok=True)

    start = time.perf_counter()
    vnu_errors = run_vnu(java, vnu_jar, pages)
    vnu_seconds = time.perf_counter() - start
    start = time.perf_counter()
    browser = run_browser(node, chromium, tools, pages, screenshots, widths)
    browser_seconds = time.perf_counter() - start

    report = {
        "pages": [str(page) for page in pages],
        "widths": list(widths),
        "vnu_errors": vnu_errors,
        "axe_version": browser["axe_version"],
        "axe_tags": browser["tags"],
        "browser": browser["pages"],
        "problems": problems_of(vnu_errors, browser),
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
    seconds = report["seconds"]
    print(
        f"{len(report['pages'])} pages, widths {report['widths']}: {len(report['problems'])} problems "
        f"(vnu {seconds['vnu']} s, axe + screenshots {seconds['browser']} s; axe-core {report['axe_version']})"
    )
    return 1 if report["problems"] else 0


if __name__ == "__main__":
    sys.exit(main())
