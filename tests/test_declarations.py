"""Explainer declarations and derived dependencies: what the workflow builds from one entry per figure, and the
project modules and templates each job depends on, read from the code."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import yaml

from kit.cli import PipelineError
from kit.config import repository_schema, schema_defaults
from kit.deps import project_modules, template_files
from kit.explainers import explainer_from, flag_args, load_explainers
from test_workflow import snakemake

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = ROOT / "scripts"
DECLARATIONS = ROOT / "workflow" / "explainers"
DEFAULTS = schema_defaults(repository_schema())


# --------------------------------------------------------------------------------------------------------
# Dependencies read from the code
# --------------------------------------------------------------------------------------------------------


def write_tree(root: Path, files: dict[str, str]) -> None:
    """A small package tree of Python files."""
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def test_project_modules_follow_imports_transitively(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "app/__init__.py": "",
            "app/main.py": "import json\nimport numpy as np\nfrom app import helper\nfrom lib.sub import thing\n",
            "app/helper.py": "import lib.other\n",
            "lib/__init__.py": "",
            "lib/sub/__init__.py": "from lib.sub.thing import VALUE\n",
            "lib/sub/thing.py": "VALUE = 1\n",
            "lib/other.py": "def f():\n    from lib import late  # imports inside functions count too\n",
            "lib/late.py": "",
            "lib/unused.py": "",
        },
    )
    found = {path.relative_to(tmp_path).as_posix() for path in project_modules(tmp_path / "app/main.py", tmp_path)}
    assert found == {
        "app/__init__.py", "app/helper.py", "lib/__init__.py", "lib/sub/__init__.py", "lib/sub/thing.py",
        "lib/other.py", "lib/late.py",
    }  # fmt: skip


def test_project_modules_refuse_a_script_that_does_not_parse(tmp_path: Path) -> None:
    write_tree(tmp_path, {"broken.py": "def (:\n"})
    with pytest.raises(PipelineError, match=r"broken\.py"):
        project_modules(tmp_path / "broken.py", tmp_path)


def test_the_overfitting_claims_depend_on_the_calibration_maths() -> None:
    """The staleness found in review: editing calibration.py must rerun the overfitting verdicts."""
    modules = {path.relative_to(SCRIPTS).as_posix() for path in project_modules(SCRIPTS / "overfitting" / "claims.py")}
    assert {"models/calibration.py", "models/modelio.py", "kit/cli.py", "kit/io.py"} <= modules


def test_template_files_follow_extends_includes_and_imports(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "page.j2": '{% extends "base.j2" %}{% from "macros.j2" import m %}',
            "base.j2": '{% include "style.css" %}{% block x %}{% endblock %}',
            "macros.j2": "{% macro m() %}{% endmacro %}",
            "style.css": "",
            "other.j2": "",
        },
    )
    assert [path.name for path in template_files("page.j2", tmp_path)] == [
        "base.j2",
        "macros.j2",
        "page.j2",
        "style.css",
    ]
    (tmp_path / "dynamic.j2").write_text("{% include name %}")
    with pytest.raises(PipelineError, match="variable"):
        template_files("dynamic.j2", tmp_path)


def dry_run_jobs(workdir: Path, *args: str) -> list[dict[str, object]]:
    """Each job of a dry run with --printshellcmds: its rule, inputs and shell command."""
    result = snakemake(workdir, "--dry-run", "--printshellcmds", *args, config={})
    assert result.returncode == 0, result.stdout + result.stderr
    jobs = []
    for block in re.split(r"\n(?=\[[^\]]+\]\n(?:local)?rule )", result.stdout):
        rule = re.search(r"^(?:local)?rule (\w+):", block, re.M)
        command = re.search(r"^Shell command: (.*)$", block, re.M)
        inputs = re.search(r"^    input: (.*)$", block, re.M)
        if rule and command and command.group(1) != "None":
            jobs.append({
                "rule": rule.group(1),
                "command": command.group(1),
                "inputs": set(inputs.group(1).split(", ")) if inputs else set(),
            })  # fmt: skip
    return jobs


@pytest.fixture(scope="module")
def default_jobs(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, object]]:
    """The jobs of a full run with the default settings, planned in an empty folder."""
    return dry_run_jobs(tmp_path_factory.mktemp("plan"))


def test_every_job_lists_its_script_and_the_modules_it_imports(default_jobs: list[dict]) -> None:
    assert len(default_jobs) > 40
    for job in default_jobs:
        script = re.search(r"(\S*scripts/)([\w/]+\.py)", job["command"])
        prefix, name = script.group(1), script.group(2)
        assert prefix + name in job["inputs"], job["rule"]
        wanted = {prefix + path.relative_to(SCRIPTS).as_posix() for path in project_modules(SCRIPTS / name)}
        assert wanted <= job["inputs"], (job["rule"], sorted(wanted - job["inputs"]))


def test_no_job_reads_an_absolute_path(default_jobs: list[dict]) -> None:
    """Inputs are relative to the working folder, so a checkout moved together with its results/ reruns nothing."""
    for job in default_jobs:
        assert not [path for path in job["inputs"] if path.startswith("/") and "/fashion-mnist" not in path], job


# --------------------------------------------------------------------------------------------------------
# Declarations
# --------------------------------------------------------------------------------------------------------


def test_declarations_load_in_reading_order_with_their_figures() -> None:
    explainers = load_explainers(DECLARATIONS, DEFAULTS)
    orders = [item.order for item in explainers.values()]
    assert orders == sorted(orders) and len(set(orders)) == len(orders)
    for name, item in explainers.items():
        spec = yaml.safe_load((DECLARATIONS / f"{name}.yaml").read_text())
        assert [step.name for step in item.figures] == [entry["name"] for entry in spec["figures"]]
        for step in item.figures:
            assert step.script.is_file(), step.script
            assert step.command_args()[0].startswith("--")
        assert item.key_figure in {step.name for step in item.figures}


def test_settings_come_from_the_config_and_paths_from_the_seeds() -> None:
    config = {**DEFAULTS, "pca": {**DEFAULTS["pca"], "n_components": 6}}
    config["models"] = {**DEFAULTS["models"], "overfit": {**DEFAULTS["models"]["overfit"], "seeds": [7, 2]}}
    explainers = load_explainers(DECLARATIONS, config)
    assert explainers["pca"].figure("variance_bar").command_args()[-2:] == ["--n-components", "6"]
    assert "results/models/overfit/seed-7/history.json" in explainers["overfitting"].figure("loss_split").command_args()
    assert "train/overfit/seed-2" in explainers["overfitting"].steps


@pytest.mark.parametrize(
    ("value", "words"),
    [(True, ["--flag"]), (False, ["--no-flag"]), ([1, 2], ["--flag", "1", "2"]), (None, []), (0.5, ["--flag", "0.5"])],
)
def test_flag_args(value: object, words: list[str]) -> None:
    assert flag_args("flag", value) == words


def declaration(tmp_path: Path, change: dict) -> Path:
    """The PCA declaration with ``change`` applied, written into ``tmp_path`` under the PCA's name."""
    spec = yaml.safe_load((DECLARATIONS / "pca.yaml").read_text())
    spec.update(change)
    path = tmp_path / "pca.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"titel": "x"}, ["pca.yaml", "titel"]),
        ({"figures": [{"name": "signal"}]}, ["shadow", "signal"]),
        ({"figures": [{"name": "no_such_figure"}]}, ["no_such_figure.py", "does not exist"]),
        ({"figures": [{"name": "components"}, {"name": "components"}]}, ["declared twice"]),
        ({"key_figure": "nothing"}, ["key_figure"]),
        ({"figures": [{"name": "Bad-Name"}]}, ["figures.0", "Bad-Name"]),
        ({"config_sections": ["pca", "nope"]}, ["nope"]),
        ({"claims": {"inputs": {"metrics": "/etc/passwd"}}}, ["claims.inputs.metrics"]),
    ],
)
def test_bad_declarations_are_refused_naming_the_file_and_what(tmp_path: Path, change: dict, words: list[str]) -> None:
    if change.get("figures") and "key_figure" not in change:
        change = {**change, "key_figure": change["figures"][0]["name"]}
    with pytest.raises(PipelineError) as info:
        explainer_from(declaration(tmp_path, change), DEFAULTS)
    for word in words:
        assert word in str(info.value), str(info.value)


def test_adding_a_figure_is_one_script_and_one_entry(tmp_path: Path) -> None:
    """The README's walk-through: copy a figure script under a new name, add one entry; the workflow plans its
    job, numbers it after the others and hands it to the page."""
    project = tmp_path / "project"
    for part in ("workflow", "scripts", "templates"):
        shutil.copytree(ROOT / part, project / part, ignore=shutil.ignore_patterns("__pycache__"))
    figures = project / "scripts" / "pca" / "figures"
    shutil.copy(figures / "variance_bar.py", figures / "variance_top.py")
    spec_path = project / "workflow" / "explainers" / "pca.yaml"
    spec = yaml.safe_load(spec_path.read_text())
    spec["figures"].append(
        {
            "name": "variance_top",
            "inputs": {"metrics": "results/pca/metrics.json"},
            "settings": {"n-components": "pca.n_components"},
        }
    )
    spec_path.write_text(yaml.safe_dump(spec, sort_keys=False))
    result = snakemake(tmp_path / "run", "--dry-run", "--printshellcmds", "results/reports/pca.html",
                       config={}, snakefile=project / "workflow" / "Snakefile")  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "scripts/pca/figures/variance_top.py --metrics results/pca/metrics.json --n-components 4" in result.stdout
    assert "--output results/figures/pca/variance_top.svg" in result.stdout
    render = next(line for line in result.stdout.splitlines() if "render_html.py --template" in line)
    figures_given = re.findall(r"--figure (\w+)=", render)
    assert figures_given[-1] == "variance_top" and len(figures_given) == len(spec["figures"])
