"""The explainers, each declared once in ``workflow/explainers/<name>.yaml``, read and resolved for a config.

A declaration says what the page is (title, summary, reading order, template), what it reads (context files),
its claims check and its figures (inputs, settings, memory). From it the workflow builds the generic
``claims`` and ``figure`` jobs, the figure numbers (declaration order), the index card and the page's figure
list, so adding a figure is one script and one entry. This module is plain Python: the workflow and the tests
read the declarations the same way.

    explainers = load_explainers("workflow/explainers", config)
    explainers["pca"].figures[0].command_args()   # ['--metrics', 'results/pca/metrics.json', '--n-components', '4']
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from kit.cli import PipelineError
from kit.config import lookup

#: The folder of the scripts (scripts/kit/ -> scripts/); figure scripts are scripts/<explainer>/figures/<name>.py.
SCRIPTS = Path(__file__).resolve().parents[1]

#: The declarations' schema (scripts/kit/ -> workflow/schemas/).
SCHEMA = Path(__file__).resolve().parents[2] / "workflow" / "schemas" / "explainer.schema.yaml"


def flag_args(flag: str, value: Any) -> list[str]:
    """A flag and its value as command-line words: a bool is ``--flag``/``--no-flag``, a list gives one word per
    item, None leaves the flag out (the script's own rule applies)."""
    if value is None:
        return []
    if isinstance(value, bool):
        return [f"--{flag}" if value else f"--no-{flag}"]
    if isinstance(value, (list, tuple)):
        return [f"--{flag}", *(str(item) for item in value)]
    return [f"--{flag}", str(value)]


#: ``{cnn_seed}``/``{overfit_seeds}``: the first seed of a model, or one copy of the pattern per seed.
SEED_FIELD = re.compile(r"\{(\w+)_(seeds?)\}")


def expand(pattern: str, config: Mapping[str, Any]) -> list[str]:
    """``pattern`` with ``{<model>_seed}`` as that model's first seed, or one copy per seed for
    ``{<model>_seeds}`` (the seeds are ``models.<model>.seeds``)."""
    fields = SEED_FIELD.findall(pattern)
    many = [(model, kind) for model, kind in fields if kind == "seeds"]
    if len(many) > 1:
        raise PipelineError(f"{pattern!r}: at most one {{<model>_seeds}} per path")

    def seeds_of(model: str) -> list[int]:
        if model not in config["models"] or not isinstance(config["models"][model], Mapping):
            raise PipelineError(f"{pattern!r}: no model {model!r} in the config's models section")
        return list(config["models"][model]["seeds"])

    first = SEED_FIELD.sub(lambda m: str(seeds_of(m.group(1))[0]) if m.group(2) == "seed" else m.group(0), pattern)
    if not many:
        return [first]
    model = many[0][0]
    return [first.replace(f"{{{model}_seeds}}", str(seed)) for seed in seeds_of(model)]


@dataclass(frozen=True)
class Step:
    """One job of an explainer (its claims check or a figure): script, input files, flags, memory."""

    explainer: str
    name: str
    script: Path
    inputs: dict[str, list[str]]
    settings: dict[str, Any]
    args: dict[str, Any]
    mem_mb: int
    #: Flag -> dotted config key of each setting (the test that script defaults agree with the schema uses it).
    config_keys: dict[str, str] = field(default_factory=dict)
    #: Inputs given once per seed (the flag takes several files).
    many: frozenset[str] = field(default_factory=frozenset)

    def input_files(self) -> dict[str, str | list[str]]:
        """Input files by flag: one path, or a list for an input given per seed."""
        return {name: paths if name in self.many else paths[0] for name, paths in self.inputs.items()}

    def command_args(self) -> list[str]:
        """The script's flags for this job, except its outputs: inputs first, then settings and fixed values."""
        words: list[str] = []
        for name, paths in self.inputs.items():
            words += [f"--{name}", *paths]
        for flag, value in {**self.settings, **self.args}.items():
            words += flag_args(flag, value)
        return words


@dataclass(frozen=True)
class Explainer:
    """One explainer as its declaration gives it, resolved for a config (paths, settings, seeds)."""

    name: str
    title: str
    summary: str
    order: int
    template: str
    config_sections: list[str]
    steps: list[str]
    context: dict[str, str]
    claims: Step
    figures: list[Step]
    key_figure: str

    def figure(self, name: str) -> Step:
        """A figure by name, or an error naming the explainer's figures."""
        for step in self.figures:
            if step.name == name:
                return step
        known = ", ".join(step.name for step in self.figures)
        raise PipelineError(f"explainer {self.name!r} has no figure {name!r} (it has {known})")

    def figure_files(self) -> list[str]:
        """The figure SVGs in page order."""
        return [f"results/figures/{self.name}/{step.name}.svg" for step in self.figures]

    def all_steps(self) -> list[str]:
        """Benchmark names of every step the page depends on: the declared ones, the claims, each figure."""
        return [*self.steps, f"claims/{self.name}", *(f"figure/{self.name}/{step.name}" for step in self.figures)]


def _step(explainer: str, name: str, script: Path, spec: Mapping[str, Any], config: Mapping[str, Any]) -> Step:
    """Resolve one claims or figure entry: paths for the seeds, settings from the config."""
    inputs = {flag: expand(pattern, config) for flag, pattern in spec.get("inputs", {}).items()}
    many = frozenset(flag for flag, pattern in spec.get("inputs", {}).items() if "_seeds}" in pattern)
    settings = {flag: lookup(config, key) for flag, key in spec.get("settings", {}).items()}
    return Step(
        explainer=explainer,
        name=name,
        script=script,
        inputs=inputs,
        settings=settings,
        args=dict(spec.get("args", {})),
        mem_mb=int(spec.get("mem_mb", 300)),
        many=many,
        config_keys=dict(spec.get("settings", {})),
    )


def _check_figure_names(name: str, figures: Iterable[Mapping[str, Any]], path: Path) -> None:
    """Figure names must be unique, and no script may be named like a module of Python's standard library
    (Python puts a script's own folder first on its path, so ``signal.py`` would hide the real ``signal``)."""
    seen: set[str] = set()
    for entry in figures:
        figure, script = entry["name"], entry.get("script", entry["name"])
        if figure in seen:
            raise PipelineError(f"{path}: figure {figure!r} is declared twice; give each figure its own name")
        seen.add(figure)
        if script in sys.stdlib_module_names:
            raise PipelineError(
                f"{path}: figure script {script!r} would shadow Python's own module {script!r}; rename the figure"
            )
        script_path = SCRIPTS / name / "figures" / f"{script}.py"
        if not script_path.is_file():
            raise PipelineError(f"{path}: figure {figure!r} needs the script {script_path}, which does not exist")


#: libyaml's safe loader where PyYAML has it (the same documents, parsed in C: the Snakefile reads every
#: declaration twice at each start), else the pure-Python one.
SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@cache
def declaration_validator() -> jsonschema.Draft202012Validator:
    """The declarations' schema, read once per process."""
    return jsonschema.Draft202012Validator(yaml.load(SCHEMA.read_text(encoding="utf-8"), Loader=SAFE_LOADER))


def read_declaration(path: Path) -> dict[str, Any]:
    """One declaration file, checked against the schema, with an error naming the file and the key."""
    try:
        spec = yaml.load(path.read_text(encoding="utf-8"), Loader=SAFE_LOADER)
    except (OSError, yaml.YAMLError) as exc:
        raise PipelineError(f"{path}: cannot be read as YAML ({exc})") from None
    errors = sorted(declaration_validator().iter_errors(spec), key=lambda e: list(e.absolute_path))
    if errors:
        where = ".".join(str(part) for part in errors[0].absolute_path) or "(top level)"
        raise PipelineError(f"{path}: key '{where}': {errors[0].message}; see {SCHEMA.name}")
    return spec


def explainer_from(path: Path, config: Mapping[str, Any]) -> Explainer:
    """Read, check and resolve the declaration in ``path`` (the explainer is named after the file)."""
    name = path.name.removesuffix(".yaml")
    spec = read_declaration(path)
    _check_figure_names(name, spec["figures"], path)
    if spec["key_figure"] not in {entry["name"] for entry in spec["figures"]}:
        raise PipelineError(f"{path}: key_figure {spec['key_figure']!r} is not one of its figures")
    unknown = [section for section in spec["config_sections"] if section not in config]
    if unknown:
        raise PipelineError(f"{path}: config_sections names unknown section(s) {', '.join(unknown)}")
    figures = [
        _step(name, entry["name"], SCRIPTS / name / "figures" / f"{entry.get('script', entry['name'])}.py", entry,
              config)
        for entry in spec["figures"]
    ]  # fmt: skip
    return Explainer(
        name=name,
        title=spec["title"],
        summary=" ".join(spec["summary"].split()),
        order=spec["order"],
        template=spec["template"],
        config_sections=list(spec["config_sections"]),
        steps=[step for pattern in spec["steps"] for step in expand(pattern, config)],
        context={key: expand(pattern, config)[0] for key, pattern in spec["context"].items()},
        claims=_step(name, "claims", SCRIPTS / name / "claims.py", spec["claims"], config),
        figures=figures,
        key_figure=spec["key_figure"],
    )


def load_explainers(folder: str | os.PathLike[str], config: Mapping[str, Any]) -> dict[str, Explainer]:
    """Every declaration in ``folder``, in reading order (``order``), resolved for ``config``."""
    paths = sorted(Path(folder).glob("*.yaml"))
    if not paths:
        raise PipelineError(f"{folder}: holds no explainer declarations (<name>.yaml)")
    explainers = [explainer_from(path, config) for path in paths]
    orders = [item.order for item in explainers]
    if len(set(orders)) != len(orders):
        raise PipelineError(
            f"{folder}: two explainers share a position in 'order' ({sorted(orders)}); make them unique"
        )
    return {item.name: item for item in sorted(explainers, key=lambda item: item.order)}
