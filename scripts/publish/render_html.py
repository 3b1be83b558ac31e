"""Render an explainer page (or the site index) from a Jinja2 template and the pipeline's JSON results.

Every number a page shows comes from the context files given here, never from the template's text, so a
rerun on other data or settings rewrites the prose with it. Figures are referenced by relative path (not
inlined), numbered in the order given, and carry the alt text and caption numbers of their sidecars.

Usage (as the Snakemake rule calls it)::

    PYTHONPATH=scripts python scripts/publish/render_html.py --template pca.html.j2 --output results/reports/pca.html \\
        --context metrics=results/pca/metrics.json --context claims=results/pca/claims.json \\
        --context dataset=results/data/fashion-mnist.json --context provenance=results/provenance/pca.json \\
        --figure variance_bar=results/figures/pca/variance_bar.svg ... \\
        --site-title "Machine learning explainers" --site-author "ML explainers pipeline"
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import traceback
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

import jinja2
import markupsafe

from kit.cli import PipelineError, run_cli
from kit.io import atomic_open, read_json

#: The repository's templates folder, used when ``--templates-dir`` is not given.
TEMPLATES_DIR = Path(__file__).resolve().parents[2] / "templates"

#: Context keys the script fills itself; a ``--context`` file may not take them.
RESERVED_KEYS = frozenset({"site", "figures", "explainers"})

#: Keys each figure sidecar must hold (the figure scripts write them); other keys are passed through.
FIGURE_KEYS: tuple[str, ...] = ("alt", "title")

#: Keys each entry of ``--explainers`` must hold to become a card on the index.
EXPLAINER_KEYS: tuple[str, ...] = ("name", "title", "summary", "html", "pdf")

MISSING = "n/a"


# --------------------------------------------------------------------------------------------------------
# Filters: the only place numbers are turned into text, so every page formats them alike
# --------------------------------------------------------------------------------------------------------


def _is_missing(value: Any) -> bool:
    """Whether a measured value is absent (``None`` or not a finite number)."""
    return value is None or (isinstance(value, float) and not math.isfinite(value))


def pct(ratio: float | None, digits: int = 1) -> str:
    """A ratio as a percentage with a space before the sign: ``0.29`` -> ``"29.0 %"``."""
    if _is_missing(ratio):
        return MISSING
    return f"{100 * float(ratio):.{digits}f} %"


def num(value: float | None, digits: int = 0) -> str:
    """A number with thousands separators: ``60000`` -> ``"60,000"``; ``digits`` decimals for floats."""
    if _is_missing(value):
        return MISSING
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return f"{float(value):,.{digits}f}"


def fixed(value: float | None, digits: int = 2) -> str:
    """A number with exactly ``digits`` decimals and no separators: ``0.01234`` -> ``"0.0123"`` (digits=4)."""
    if _is_missing(value):
        return MISSING
    return f"{float(value):.{digits}f}"


def measure(value: float | str | None, unit: str | None = "", digits: int = 1) -> str:
    """A claimed or measured quantity with its unit: whole numbers without decimals (``84 components``),
    others with ``digits`` decimals (``28.97`` -> ``"29.0 %"``); text (a described shape) passes unchanged."""
    if isinstance(value, str):
        return value
    if _is_missing(value):
        return MISSING
    number = float(value)
    text = f"{int(number):,}" if number.is_integer() else f"{number:,.{digits}f}"
    return f"{text} {unit}" if unit else text


def duration(seconds: float | None) -> str:
    """Run time for people: ``0.42`` -> ``"0.4 s"``, ``83`` -> ``"1 min 23 s"``, ``4000`` -> ``"1 h 6 min"``."""
    if _is_missing(seconds):
        return MISSING
    seconds = float(seconds)
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {secs} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min"


def squash(text: str) -> str:
    """Collapse runs of whitespace to one space (for attribute values such as the page description),
    keeping already-escaped markup escaped exactly once."""
    squashed = " ".join(str(text).split())
    return markupsafe.Markup(squashed) if isinstance(text, markupsafe.Markup) else squashed


def flatten(settings: Mapping[str, Any], prefix: str = "") -> list[tuple[str, str]]:
    """Nested settings as ``("pca.n_components", "4")`` rows, so the appendix can show them as one table."""
    rows: list[tuple[str, str]] = []
    for key, value in settings.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            rows.extend(flatten(value, prefix=f"{name}."))
        else:
            rows.append((name, json.dumps(value, ensure_ascii=False, sort_keys=True)))
    return rows


def by_threshold(thresholds: Mapping[str, int]) -> list[tuple[float, int]]:
    """Threshold -> k pairs sorted by threshold; JSON keys are strings (``"0.95"``), so sort them as numbers."""
    try:
        return sorted((float(key), value) for key, value in thresholds.items())
    except ValueError as exc:
        raise PipelineError(f"thresholds must be keyed by numbers such as '0.9' ({exc})") from None


FILTERS = {
    "pct": pct,
    "num": num,
    "fixed": fixed,
    "measure": measure,
    "duration": duration,
    "squash": squash,
    "flatten": flatten,
    "by_threshold": by_threshold,
}


# --------------------------------------------------------------------------------------------------------
# Building the context
# --------------------------------------------------------------------------------------------------------


def parse_pairs(values: Iterable[str], flag: str) -> list[tuple[str, str]]:
    """Split repeated ``KEY=PATH`` flag values, refusing empty parts and repeated keys."""
    pairs: list[tuple[str, str]] = []
    seen: set[str] = set()
    for value in values:
        key, sep, path = value.partition("=")
        if not sep or not key or not path:
            raise PipelineError(f"{flag} {value!r}: expected KEY=PATH")
        if key in seen:
            raise PipelineError(f"{flag} {key!r} is given twice; give each name once")
        seen.add(key)
        pairs.append((key, path))
    return pairs


def load_context(pairs: Sequence[tuple[str, str]]) -> dict[str, Any]:
    """Read each ``--context`` JSON file under its key."""
    context: dict[str, Any] = {}
    for key, path in pairs:
        if key in RESERVED_KEYS:
            raise PipelineError(f"--context {key}=...: {key!r} is filled by the script itself; use another key")
        context[key] = read_json(path)
    return context


def relative_url(target: str | Path, start: str | Path) -> str:
    """The URL of ``target`` relative to the folder ``start``, so a page works wherever results/ is copied."""
    relative = os.path.relpath(Path(target).absolute(), Path(start).absolute())
    return quote(Path(relative).as_posix())


def load_figures(pairs: Sequence[tuple[str, str]], output: str | Path) -> dict[str, dict[str, Any]]:
    """Describe each figure for the templates: its sidecar's keys plus ``name``, ``id``, ``src`` and ``number``.

    Numbers follow the order of the flags (1..n), so the page's "Figure 2" is the second figure given.
    """
    figures: dict[str, dict[str, Any]] = {}
    out_dir = Path(output).parent
    for number, (name, path) in enumerate(pairs, start=1):
        image = Path(path)
        if not image.is_file():
            raise PipelineError(f"--figure {name}={path}: image not found; run the figure step first")
        sidecar_path = image.with_suffix(".json")
        sidecar = read_json(sidecar_path)
        if not isinstance(sidecar, dict):
            raise PipelineError(f"{sidecar_path}: figure sidecar must be a JSON object; rerun the figure step")
        missing = [key for key in FIGURE_KEYS if not sidecar.get(key)]
        if missing:
            raise PipelineError(f"{sidecar_path}: figure sidecar lacks {', '.join(missing)}; rerun the figure step")
        figures[name] = {
            **sidecar,
            "name": name,
            "id": f"fig-{name}",
            "src": relative_url(image, out_dir),
            "number": number,
        }
    return figures


def read_explainers(value: str) -> list[dict[str, Any]]:
    """Read the index's explainer list from a JSON list string (or a JSON file) and check each entry."""
    if value.lstrip().startswith("["):
        try:
            explainers = json.loads(value)
        except json.JSONDecodeError as exc:
            raise PipelineError(f"--explainers: not valid JSON ({exc})") from None
    else:
        explainers = read_json(value)
    if not isinstance(explainers, list):
        raise PipelineError("--explainers: expected a JSON list of {name, title, summary, html, pdf} objects")
    for index, entry in enumerate(explainers):
        missing = [key for key in EXPLAINER_KEYS if not isinstance(entry, dict) or key not in entry]
        if missing:
            raise PipelineError(f"--explainers: entry {index} lacks {', '.join(missing)}")
    return explainers


# --------------------------------------------------------------------------------------------------------
# Rendering
# --------------------------------------------------------------------------------------------------------


def make_environment(templates_dir: str | Path) -> jinja2.Environment:
    """A Jinja2 environment that escapes HTML and fails loudly on any name the context lacks.

    Why ``StrictUndefined``: a missing number must stop the build, not print an empty string in the prose.
    """
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates_dir)),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html", "htm", "xml", "j2"), default=True),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        extensions=["jinja2.ext.do"],
    )
    env.filters.update(FILTERS)
    return env


def _template_location(exc: BaseException) -> str:
    """``name, line N`` of the innermost template frame in a rendering error's traceback (Jinja2 puts the
    template file and line into the traceback it rewrites)."""
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        if frame.filename.endswith((".j2", ".html", ".css")):
            return f"{Path(frame.filename).name}, line {frame.lineno}"
    return "template"


def render(template: str, context: Mapping[str, Any], templates_dir: str | Path = TEMPLATES_DIR) -> str:
    """Render ``template`` with ``context``, turning any template problem into a ``PipelineError``."""
    env = make_environment(templates_dir)
    try:
        return env.get_template(template).render(context)
    except jinja2.TemplateNotFound as exc:
        raise PipelineError(f"template {exc.name!r} not found in {templates_dir}") from None
    except jinja2.TemplateSyntaxError as exc:
        where = f"{exc.name or template}, line {exc.lineno}"
        raise PipelineError(f"{where}: template syntax error: {exc.message}") from None
    except jinja2.UndefinedError as exc:
        raise PipelineError(
            f"{_template_location(exc)}: {exc.message}; a context file lacks this value "
            "(check the --context/--figure files and rerun the step that writes them)"
        ) from None
    except PipelineError as exc:
        raise PipelineError(f"{_template_location(exc)}: {exc}") from None
    except (TypeError, ValueError, KeyError, IndexError, ArithmeticError, jinja2.TemplateError) as exc:
        raise PipelineError(f"{_template_location(exc)}: {type(exc).__name__}: {exc}") from None


def main(argv: Sequence[str] | None = None) -> None:
    """Parse the flags, build the context, render the template and write the page atomically."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--template", required=True, help="template file name, e.g. pca.html.j2")
    parser.add_argument("--templates-dir", default=str(TEMPLATES_DIR), help="folder holding the templates")
    parser.add_argument("--output", required=True, help="HTML file to write")
    parser.add_argument(
        "--context", action="append", default=[], metavar="KEY=PATH", help="a JSON file under a context key"
    )
    parser.add_argument(
        "--figure",
        action="append",
        default=[],
        metavar="NAME=PATH",
        help="an SVG figure with its PATH.json sidecar (repeatable, in figure-number order)",
    )
    parser.add_argument("--site-title", default="Machine learning explainers", help="site title in the header")
    parser.add_argument("--site-author", default="ML explainers pipeline", help="author in the page metadata")
    parser.add_argument(
        "--run-times",
        action="store_true",
        help="print each step's measured run time in the appendix (the page then differs from run to run)",
    )
    parser.add_argument(
        "--explainers", help="for the index: JSON list (or JSON file) of {name, title, summary, html, pdf}"
    )
    args = parser.parse_args(argv)

    context = load_context(parse_pairs(args.context, "--context"))
    context["figures"] = load_figures(parse_pairs(args.figure, "--figure"), args.output)
    context["site"] = {"title": args.site_title, "author": args.site_author, "run_times": args.run_times}
    if args.explainers is not None:
        context["explainers"] = read_explainers(args.explainers)

    html = render(args.template, context, args.templates_dir)
    with atomic_open(args.output, "w", encoding="utf-8", newline="\n") as handle:
        handle.write(html)


if __name__ == "__main__":
    sys.exit(run_cli(main))
