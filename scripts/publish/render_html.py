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

import json
import os
import sys
import traceback
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

import jinja2
import markupsafe

from kit.cli import ArgumentParser, PipelineError, input_file, run_cli
from kit.facts import checked
from kit.formats import (
    duration,
    fixed,
    lower_bound,
    measure,
    num,
    pct,
    plural,
    scientific,
    signed,
    upper_bound,
)
from kit.io import atomic_open, read_json

#: The repository's templates folder, used when ``--templates-dir`` is not given.
TEMPLATES_DIR = Path(__file__).resolve().parents[2] / "templates"

#: Context keys the script fills itself; a ``--context`` file may not take them.
RESERVED_KEYS = frozenset({"site", "figures", "explainers"})

#: Keys each figure sidecar must hold (the figure scripts write them); other keys are passed through.
FIGURE_KEYS: tuple[str, ...] = ("alt", "title")

#: Keys each entry of ``--explainers`` must hold to become a card on the index.
EXPLAINER_KEYS: tuple[str, ...] = ("name", "title", "summary", "html", "pdf")



# --------------------------------------------------------------------------------------------------------
# Filters: the only place numbers are turned into text, so every page formats them alike
# --------------------------------------------------------------------------------------------------------


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


def say(value: Any) -> str:
    """The sentence a fact chose for this run (``{{ claims.facts.rise | say }}``); anything else is refused.

    Why a filter and not plain text: a sentence stating a result must come from the code that tested its
    condition (``kit.facts``), so a template can only print the outcome that held.
    """
    return checked(value, "say")["text"]


def holds(value: Any) -> bool:
    """Whether a fact's condition held (``{% if claims.facts.puzzle | holds %}``), for a template's branches."""
    return bool(checked(value, "holds")["holds"])


def general(text: str) -> str:
    """Marks template text that explains in general, true of any run (``{% filter general %}...{% endfilter %}``).

    It changes nothing on the page; ``tests/test_templates.py`` exempts such text from its check for result words.
    """
    return text


FILTERS = {
    "pct": pct,
    "num": num,
    "fixed": fixed,
    "signed": signed,
    "measure": measure,
    "duration": duration,
    "scientific": scientific,
    "upper_bound": upper_bound,
    "lower_bound": lower_bound,
    "plural": plural,
    "say": say,
    "holds": holds,
    "general": general,
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


def pair_file(flag: str, key: str, path: str | Path) -> Path:
    """The file of one ``KEY=PATH`` flag value, checked like every input file (``kit.cli.input_file``).

    Why here and not in argparse: the value is a pair, so the type cannot check it; a missing, empty or
    directory path is refused with the flag and the key named, before anything is rendered.
    """
    try:
        return input_file(str(path))
    except PipelineError as exc:
        raise PipelineError(f"{flag} {key}: {exc}") from None


def input_pairs(values: Iterable[str], flag: str) -> list[tuple[str, Path]]:
    """``parse_pairs`` for flags whose paths are input files: each path is checked with ``pair_file``."""
    return [(key, pair_file(flag, key, path)) for key, path in parse_pairs(values, flag)]


def load_context(pairs: Sequence[tuple[str, str | Path]]) -> dict[str, Any]:
    """Read each ``--context`` JSON file under its key (each path checked by ``pair_file``)."""
    context: dict[str, Any] = {}
    for key, path in pairs:
        if key in RESERVED_KEYS:
            raise PipelineError(f"--context {key}=...: {key!r} is filled by the script itself; use another key")
        context[key] = read_json(pair_file("--context", key, path))
    return context


def relative_url(target: str | Path, start: str | Path) -> str:
    """The URL of ``target`` relative to the folder ``start``, so a page works wherever results/ is copied."""
    relative = os.path.relpath(Path(target).absolute(), Path(start).absolute())
    return quote(Path(relative).as_posix())


def load_figures(pairs: Sequence[tuple[str, str | Path]], output: str | Path) -> dict[str, dict[str, Any]]:
    """Describe each figure for the templates: its sidecar's keys plus ``name``, ``id``, ``src`` and ``number``.

    Numbers follow the order of the flags (1..n), so the page's "Figure 2" is the second figure given.
    """
    figures: dict[str, dict[str, Any]] = {}
    out_dir = Path(output).parent
    for number, (name, path) in enumerate(pairs, start=1):
        image = pair_file("--figure", name, path)
        sidecar_path = image.with_suffix(".json")
        sidecar = read_json(pair_file("--figure", f"{name} (its sidecar)", sidecar_path))
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
        try:
            explainers = read_json(input_file(value))
        except PipelineError as exc:
            raise PipelineError(f"--explainers: {exc}") from None
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


def build_parser() -> ArgumentParser:
    """The command line: template, context files, figures, site title and author (from the config), output."""
    parser = ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--template", required=True, help="template file name, e.g. pca.html.j2")
    parser.add_argument(
        "--templates-dir", type=Path, default=None, help="folder holding the templates (default: the repository's)"
    )
    parser.add_argument("--output", required=True, type=Path, help="HTML file to write")
    parser.add_argument(
        "--context", action="append", default=None, metavar="KEY=PATH", help="a JSON file under a context key"
    )
    parser.add_argument(
        "--figure",
        action="append",
        default=None,
        metavar="NAME=PATH",
        help="an SVG figure with its PATH.json sidecar (repeatable, in figure-number order)",
    )
    parser.add_argument("--site-title", required=True, help="site title in the header (config report.title)")
    parser.add_argument("--site-author", required=True, help="author in the page metadata (config report.author)")
    parser.add_argument(
        "--run-times",
        action="store_true",
        help="print each step's measured run time in the appendix (the page then differs from run to run)",
    )
    parser.add_argument(
        "--explainers", help="for the index: JSON list (or JSON file) of {name, title, summary, html, pdf}"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    """Parse the flags, build the context, render the template and write the page atomically."""
    args = build_parser().parse_args(argv)

    context = load_context(input_pairs(args.context or [], "--context"))
    context["figures"] = load_figures(input_pairs(args.figure or [], "--figure"), args.output)
    context["site"] = {"title": args.site_title, "author": args.site_author, "run_times": args.run_times}
    if args.explainers is not None:
        context["explainers"] = read_explainers(args.explainers)

    html = render(args.template, context, args.templates_dir or TEMPLATES_DIR)
    with atomic_open(args.output, "w", encoding="utf-8", newline="\n") as handle:
        handle.write(html)


if __name__ == "__main__":
    sys.exit(run_cli(main))
