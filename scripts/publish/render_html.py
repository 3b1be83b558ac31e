"""Render an explainer page (or the site index) from a Jinja2 template and the pipeline's JSON results.

Every number a page shows comes from the context files given here, never from the template's text, so a
rerun on other data or settings rewrites the prose with it. Figures are referenced by relative path (not
inlined), numbered in the order given, and carry the alt text and caption numbers of their sidecars.

Usage (as the Snakemake rule calls it)::

    PYTHONPATH=scripts python scripts/publish/render_html.py --template pca.html.j2 --output results/reports/pca.html \\
        --context metrics=results/pca/metrics.json --context claims=results/pca/claims.json \\
        --context dataset=results/data/fashion-mnist.json --context provenance=results/provenance/pca.json \\
        --figure variance_bar=results/figures/pca/variance_bar.svg ... \\
        --nav '{"previous": null, "next": {"title": "...", "href": "backprop.html"}, "pdf": "pca.pdf"}' \\
        --site-title "Machine learning explainers" --site-author "ML explainers pipeline"

Every environment also holds the lesson's shared data, read from the templates folder: ``terms``
(glossary.yaml, for the term and glossary macros) and ``bibliography`` (references.yaml, for cite and
references); a key a page uses that the file lacks fails the render, naming the key and the file. ``--nav``
gives a page its neighbours in reading order and its PDF (base.html.j2 links them).

A figure's phone variant (``<name>.narrow.svg`` beside it, drawn by the figure frame) is found by its name; an
explainer with interactive widgets gets ``--widgets results/widgets/<explainer>.js``, the data file the page loads
(see ``kit.widgets``).
"""

from __future__ import annotations

import json
import os
import re
import sys
import traceback
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

import jinja2
import markupsafe
import yaml

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
RESERVED_KEYS = frozenset({"site", "figures", "explainers", "widgets", "nav"})

#: Keys each figure sidecar must hold (the figure scripts write them); other keys are passed through.
FIGURE_KEYS: tuple[str, ...] = ("alt", "title")

#: Keys each entry of ``--explainers`` must hold to become a card on the index (``claims``, the path of the
#: explainer's claims file, is optional: its ``facts.headline`` and ``facts.description`` head the card).
EXPLAINER_KEYS: tuple[str, ...] = ("name", "title", "summary", "html", "pdf")

#: The lesson's shared data, read from the templates folder into every environment (see ``Glossary``).
GLOSSARY_FILE = "glossary.yaml"
REFERENCES_FILE = "references.yaml"

#: A figure up to this natural width (CSS px) shows at 90 % or more in a 390 px phone's text column (361 px), so
#: it needs neither a narrow variant nor a sideways scroll there.
PHONE_FITS_PX = 400

#: The root element's width of an SVG file (matplotlib writes points, Graphviz points, others px or no unit).
SVG_WIDTH = re.compile(r'<svg\b[^>]*?\swidth="([0-9.]+)(pt|px)?"')


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


def svg_width_px(path: str | Path) -> float | None:
    """The natural width of an SVG file in CSS px (1 pt = 4/3 px), or None when its root gives none."""
    with open(path, encoding="utf-8", errors="replace") as handle:
        match = SVG_WIDTH.search(handle.read(4096))
    if match is None:
        return None
    return float(match.group(1)) * (4 / 3 if match.group(2) == "pt" else 1.0)


def phone_layout(image: Path, out_dir: Path) -> dict[str, Any]:
    """How a phone shows the figure: its narrow variant (``<name>.narrow.svg``, when narrower than the figure), or
    the figure itself, whole when it fits a phone's column and else in a box that scrolls sideways.

    Returns ``narrow_src`` (URL or None) and ``phone``: ``"narrow"``, ``"fits"`` or ``"scroll"``.
    """
    width = svg_width_px(image)
    narrow = image.with_name(image.name.removesuffix(".svg") + ".narrow.svg")
    if narrow.is_file() and narrow.stat().st_size > 0:
        narrow_width = svg_width_px(narrow)
        if width is not None and narrow_width is not None and narrow_width < width:
            return {"narrow_src": relative_url(narrow, out_dir), "phone": "narrow"}
    fits = width is None or width <= PHONE_FITS_PX
    return {"narrow_src": None, "phone": "fits" if fits else "scroll"}


def load_figures(pairs: Sequence[tuple[str, str | Path]], output: str | Path) -> dict[str, dict[str, Any]]:
    """Describe each figure for the templates: its sidecar's keys plus ``name``, ``id``, ``src``, ``number`` and how a
    phone shows it (``narrow_src``, ``phone``: see ``phone_layout``).

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
            **phone_layout(image, out_dir),
        }
    return figures


def load_widgets(path: str | Path | None, output: str | Path) -> dict[str, Any] | None:
    """The page's widget data file (``--widgets``) as the templates use it: its URL relative to the page and the
    explainer it belongs to (the file's name); None without one, so a page renders its widgets' hooks hidden."""
    if path is None:
        return None
    data = pair_file("--widgets", "data", path)
    if data.suffix != ".js":
        raise PipelineError(f"--widgets {path}: expected the .js data file that kit.widgets writes")
    # The widgets' names (the data object's keys), for pages that place every hook (widgets/preview.html.j2).
    found = re.search(r"\] = (\{.*\});\s*\Z", data.read_text(encoding="utf-8"), re.DOTALL)
    names = sorted(json.loads(found.group(1))) if found else []
    return {"src": relative_url(data, Path(output).parent), "explainer": data.name.removesuffix(".js"), "names": names}


# --------------------------------------------------------------------------------------------------------
# The lesson's glossary and references (templates/glossary.yaml, templates/references.yaml)
# --------------------------------------------------------------------------------------------------------


class Listing:
    """Entries of a YAML file in the templates folder, by key, and the keys a page has used, in order of first use.

    The macros of macros.html.j2 reach it as a global (``terms`` for the glossary, ``bibliography`` for the
    references), so every imported macro sees it. A key the file lacks fails the render with the key and the file
    named: a page never prints an empty definition or a dead citation.
    """

    #: What an entry is called in error messages, and the fields each entry must have.
    what = "entry"
    fields: tuple[str, ...] = ()

    def __init__(self, entries: Mapping[str, Any], source: str) -> None:
        self.entries = dict(entries)
        self.source = source
        self.used: dict[str, int] = {}  # key -> how many times the page used it

    @classmethod
    def load(cls, path: Path) -> Listing:
        """Read and check the file (an absent file gives an empty listing, so any use of it fails by name)."""
        if not path.is_file():
            return cls({}, str(path))
        try:
            entries = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as exc:
            raise PipelineError(f"{path}: not valid YAML ({exc})") from None
        if not isinstance(entries, Mapping):
            raise PipelineError(f"{path}: expected a mapping of keys to {cls.what} entries")
        for key, entry in entries.items():
            missing = [name for name in cls.fields if not isinstance(entry, Mapping) or not entry.get(name)]
            if missing:
                raise PipelineError(f"{path}: {cls.what} {key!r} lacks {', '.join(missing)}")
        return cls(entries, str(path))

    def __getitem__(self, key: str) -> Any:
        if key not in self.entries:
            raise PipelineError(f"{self.what} {key!r} is not in {self.source}; add it there")
        return self.entries[key]

    def __contains__(self, key: object) -> bool:
        return key in self.entries

    def use(self, key: str) -> str:
        """Record one use of ``key`` and return an id unique on the page for it (``<key>-<n>``)."""
        self[key]
        self.used[key] = self.used.get(key, 0) + 1
        return f"{key}-{self.used[key]}"

    def listing(self, keys: Sequence[str] | None = None) -> list[tuple[str, Any]]:
        """The entries to list: ``keys`` (each checked), or every key used so far; each used key must be among
        them, so a page cannot use a term or cite a source that its list leaves out."""
        chosen = list(dict.fromkeys(keys if keys is not None else self.used))
        for key in chosen:
            self[key]
        left_out = [key for key in self.used if key not in chosen]
        if left_out:
            names = ", ".join(map(repr, left_out))
            raise PipelineError(f"the page uses {self.what} {names} but its list leaves it out; add it to the keys")
        return self.order([(key, self.entries[key]) for key in chosen])

    def order(self, items: list[tuple[str, Any]]) -> list[tuple[str, Any]]:
        """The listing's order (as chosen)."""
        return items


class Glossary(Listing):
    """templates/glossary.yaml: ``key: {term, definition}``; the list is alphabetical by term."""

    what = "glossary term"
    fields = ("term", "definition")

    def order(self, items: list[tuple[str, Any]]) -> list[tuple[str, Any]]:
        return sorted(items, key=lambda item: str(item[1]["term"]).casefold())


class Bibliography(Listing):
    """templates/references.yaml: ``key: {short, title, url}`` (plus optional authors, year, venue, note); the list
    is in order of first citation."""

    what = "reference"
    fields = ("short", "title", "url")


def require(condition: Any, message: str) -> str:
    """``{{ require(items | length <= 5, "takeaways: ...") }}``: fail the render with ``message`` unless it holds."""
    if not condition:
        raise PipelineError(message)
    return ""


def read_nav(value: str) -> dict[str, Any]:
    """The page's neighbours in reading order and its PDF, from ``--nav`` (a JSON object: ``previous`` and
    ``next``, each ``{title, href}`` or null, and ``pdf``, the handout's URL relative to the page)."""
    try:
        nav = json.loads(value)
    except json.JSONDecodeError as exc:
        raise PipelineError(f"--nav: not valid JSON ({exc})") from None
    if not isinstance(nav, dict) or not isinstance(nav.get("pdf"), str) or not nav["pdf"]:
        raise PipelineError("--nav: expected a JSON object with pdf (the handout's URL) and previous/next")
    for side in ("previous", "next"):
        item = nav.setdefault(side, None)
        if item is not None and not (isinstance(item, dict) and item.get("title") and item.get("href")):
            raise PipelineError(f"--nav: {side} must be null or an object with title and href")
    return nav


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
        if entry.get("claims"):
            try:
                claims = read_json(input_file(str(entry["claims"])))
            except PipelineError as exc:
                raise PipelineError(f"--explainers: entry {index} ({entry['name']}): {exc}") from None
            facts = claims.get("facts") if isinstance(claims, dict) else None
            entry["facts"] = facts if isinstance(facts, dict) else {}
        else:
            entry["facts"] = {}
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
    folder = Path(templates_dir)
    env.globals.update(
        terms=Glossary.load(folder / GLOSSARY_FILE),
        bibliography=Bibliography.load(folder / REFERENCES_FILE),
        require=require,
    )
    return env


#: Files whose frames a rendering error's traceback names (templates, and the style sheets they include).
TEMPLATE_FILES = (".j2", ".html", ".css")


def _template_location(exc: BaseException) -> str:
    """``name, line N`` of the innermost template frame in a rendering error's traceback (Jinja2 puts the
    template file and line into the traceback it rewrites).

    When that frame is inside a macro (macros.html.j2), the page's line that called it comes first
    (``pca.html.j2, line 40, in macros.html.j2, line 168``): that is the line to fix.
    """
    frames = [frame for frame in traceback.extract_tb(exc.__traceback__) if frame.filename.endswith(TEMPLATE_FILES)]
    if not frames:
        return "template"
    inner = frames[-1]
    where = f"{Path(inner.filename).name}, line {inner.lineno}"
    if inner.name.startswith("block ") or inner.name == "top-level template code":
        return where
    caller = next(
        (frame for frame in reversed(frames) if frame.name.startswith("block ") or frame.name.startswith("top-level")),
        None,
    )
    return where if caller is None else f"{Path(caller.filename).name}, line {caller.lineno}, in {where}"


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
    parser.add_argument(
        "--nav",
        help="the page's neighbours in reading order and its PDF: JSON {previous, next, pdf} (see read_nav)",
    )
    parser.add_argument(
        "--widgets", metavar="PATH", help="the page's widget data file (results/widgets/<explainer>.js, kit.widgets)"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    """Parse the flags, build the context, render the template and write the page atomically."""
    args = build_parser().parse_args(argv)

    context = load_context(input_pairs(args.context or [], "--context"))
    context["figures"] = load_figures(input_pairs(args.figure or [], "--figure"), args.output)
    context["site"] = {"title": args.site_title, "author": args.site_author, "run_times": args.run_times}
    context["widgets"] = load_widgets(args.widgets, args.output)
    if args.explainers is not None:
        context["explainers"] = read_explainers(args.explainers)
    if args.nav is not None:
        context["nav"] = read_nav(args.nav)

    html = render(args.template, context, args.templates_dir or TEMPLATES_DIR)
    with atomic_open(args.output, "w", encoding="utf-8", newline="\n") as handle:
        handle.write(html)


if __name__ == "__main__":
    sys.exit(run_cli(main))
