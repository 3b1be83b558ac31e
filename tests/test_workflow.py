"""The workflow as a whole: config validation, the DAG, and an end-to-end run on a small slice of the real data."""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import yaml

from kit.config import repository_schema, schema_defaults
from tools.benchmark import output_hashes

ROOT = Path(__file__).resolve().parents[1]
SNAKEFILE = ROOT / "workflow" / "Snakefile"
DEBIAN_DATA = Path("/usr/share/datasets/fashion-mnist")

#: A config for quick end-to-end runs: the real files, but only a slice of them (shared with the SLURM test).
SMALL_CONFIG = yaml.safe_load((ROOT / ".test" / "config" / "config.yaml").read_text())


def snakemake(
    workdir: Path, *args: str, config: dict | None = None, snakefile: Path = SNAKEFILE
) -> subprocess.CompletedProcess[str]:
    """Run Snakemake on the workflow (this repository's by default) with ``workdir`` as its working directory."""
    config_dir = workdir / "config"
    config_dir.mkdir(parents=True, exist_ok=True)
    (config_dir / "config.yaml").write_text(yaml.safe_dump(config if config is not None else SMALL_CONFIG))
    command = [
        sys.executable, "-m", "snakemake", "--snakefile", str(snakefile), "--directory", str(workdir),
        "--cores", "2", *args,
    ]  # fmt: skip
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.run(command, capture_output=True, text=True, cwd=workdir, env=env, timeout=900)


def declarations() -> dict[str, dict]:
    """Each explainer's declaration (workflow/explainers/<name>.yaml), in reading order."""
    paths = (ROOT / "workflow" / "explainers").glob("*.yaml")
    specs = {path.stem: yaml.safe_load(path.read_text()) for path in paths}
    return dict(sorted(specs.items(), key=lambda item: item[1]["order"]))


def planned_jobs(result: subprocess.CompletedProcess[str]) -> dict[str, int]:
    """Parse the job table Snakemake prints for a (dry) run: rule name -> count."""
    jobs: dict[str, int] = {}
    for match in re.finditer(r"^(\w+)\s+(\d+)$", result.stdout + result.stderr, re.MULTILINE):
        if match.group(1) != "total":
            jobs[match.group(1)] = int(match.group(2))
    return jobs


def test_dry_run_plans_the_whole_dag(tmp_path: Path) -> None:
    result = snakemake(tmp_path, "--dry-run")
    assert result.returncode == 0, result.stdout + result.stderr
    jobs = planned_jobs(result)
    assert jobs["download"] == 4
    single = ["prepare", "pca_fit", "split", "overfitting_seed_spread", "index", "all", "convolutions_compute"]
    single += ["backprop_puzzle", "backprop_network", "booklet", "rulegraph"]
    for rule in single:
        assert jobs[rule] == 1, rule
    defaults = schema_defaults(repository_schema())["models"]
    seeds = [SMALL_CONFIG["models"][model].get("seeds", defaults[model]["seeds"]) for model in ("cnn", "overfit")]
    assert jobs["train"] == sum(len(model_seeds) for model_seeds in seeds)  # one job per model and seed
    for rule in ("provenance", "report_html", "report_pdf", "claims"):
        assert jobs[rule] == 4, rule  # one per explainer
    # One job per declared figure, all through the one generic rule.
    declared = [yaml.safe_load(path.read_text()) for path in (ROOT / "workflow" / "explainers").glob("*.yaml")]
    assert jobs["figure"] == sum(len(spec["figures"]) for spec in declared)


def test_rules_are_few_and_figures_share_one(tmp_path: Path) -> None:
    """The workflow stays a table of contents: at most 22 rules, of which at most 2 draw figures."""
    result = snakemake(tmp_path, "--list-rules")
    assert result.returncode == 0, result.stdout + result.stderr
    rules = [line.strip() for line in result.stdout.splitlines() if re.fullmatch(r"\s*\w+", line)]
    assert "figure" in rules and "all" in rules
    assert len(rules) <= 22, rules
    assert len([rule for rule in rules if "fig" in rule]) <= 2, rules


@pytest.mark.parametrize(
    ("config", "words"),
    [
        ({"pca": {"n_components": -1}}, ["key 'pca.n_components'", "minimum"]),
        ({"data": {"max_train": 2000}}, ["models.validation_size", "data.max_train"]),
    ],
    ids=["schema", "conflict"],
)
def test_bad_config_stops_before_any_job(tmp_path: Path, config: dict, words: list[str]) -> None:
    """Refused before the first job (every message case is unit-tested in test_config.py)."""
    result = snakemake(tmp_path, config=config)
    assert result.returncode != 0
    output = result.stdout + result.stderr
    for word in words:
        assert word in output, output
    assert "config/README.md" in output
    assert not (tmp_path / "results").exists(), "a job ran despite the invalid config"


def test_defaults_fill_a_partial_config(tmp_path: Path) -> None:
    """Keys left out take the schema's defaults, so a one-line config is enough."""
    result = snakemake(tmp_path, "--dry-run", "--printshellcmds", config={"pca": {"n_components": 3}})
    assert result.returncode == 0, result.stdout + result.stderr
    assert "--n-components 3" in result.stdout
    assert "--counts 1 4 24 84 187" in result.stdout


def test_a_model_setting_overrides_only_that_key(tmp_path: Path) -> None:
    """A partial model section keeps the model's other defaults (not the other model's)."""
    config = {"models": {"overfit": {"epochs": 7}}}
    result = snakemake(tmp_path, "--dry-run", "--printshellcmds", config=config)
    assert result.returncode == 0, result.stdout + result.stderr
    overfit = next(
        line for line in result.stdout.splitlines() if "models/train.py" in line and "--name overfit" in line
    )
    defaults = schema_defaults(repository_schema())["models"]
    assert "--epochs 7" in overfit and f"--train-size {defaults['overfit']['train_size']}" in overfit
    assert "--no-batch-norm" in overfit and f"--dropout {defaults['overfit']['dropout']}" in overfit
    cnn = next(line for line in result.stdout.splitlines() if "models/train.py" in line and "--name cnn" in line)
    assert f"--epochs {defaults['cnn']['epochs']}" in cnn and "--batch-norm" in cnn
    assert f"--dropout {defaults['cnn']['dropout']}" in cnn
    # Each model's threads setting is its job's thread count (the CNN's capped by the 2 cores these runs give).
    assert f"--threads {defaults['overfit']['threads']} " in overfit
    assert f"--threads {min(defaults['cnn']['threads'], 2)} " in cnn
    threads = snakemake(tmp_path, "--dry-run", "--printshellcmds", config={"models": {"overfit": {"threads": 2}}})
    assert any("--name overfit" in line and "--threads 2 " in line for line in threads.stdout.splitlines())


def test_seeds_train_each_model_once_per_seed(tmp_path: Path) -> None:
    """Each model's list of seeds fans out into one training job per seed, all in the run-to-run spread."""
    config = {"models": {"overfit": {"seeds": [3, 1, 4]}, "cnn": {"seeds": [5]}}}
    result = snakemake(tmp_path, "--dry-run", "--printshellcmds", config=config)
    assert result.returncode == 0, result.stdout + result.stderr
    assert planned_jobs(result)["train"] == 4
    trainings = [line for line in result.stdout.splitlines() if "models/train.py" in line and "--name" in line]
    for model, seeds in (("overfit", (3, 1, 4)), ("cnn", (5,))):
        for seed in seeds:
            weights = f"results/models/{model}/seed-{seed}/weights.npz"
            assert any(f"--name {model}" in line and f"--seed {seed} " in line and weights in line
                       for line in trainings), (model, seed)  # fmt: skip
    spread = next(
        line for line in result.stdout.splitlines() if "overfitting/seed_spread.py" in line and "--run" in line
    )
    assert spread.count("--run") == 4


def test_the_cnn_outranks_every_overfit_seed_together(tmp_path: Path) -> None:
    """Snakemake's scheduler picks the set of ready jobs with the largest sum of priorities; the CNN (the longest
    job, first on the way to two pages) must win against all overfit seeds at once, however many there are."""
    config = {"models": {"overfit": {"seeds": [3, 1, 4, 5, 9]}, "cnn": {"seeds": [2, 6]}}}
    result = snakemake(tmp_path, "--dry-run", config=config)
    assert result.returncode == 0, result.stdout + result.stderr
    blocks = re.findall(r"wildcards: model=(\w+), seed=(\d+)\n\s+priority: (\d+)", result.stdout)
    priorities: dict[str, list[int]] = {}
    for model, _seed, priority in blocks:
        priorities.setdefault(model, []).append(int(priority))
    assert sorted(map(len, priorities.values())) == [2, 5], blocks
    assert min(priorities["cnn"]) > sum(priorities["overfit"]) > 0


def test_command_line_config_values_take_the_schema_types(tmp_path: Path) -> None:
    """--config parses nested values as strings; they are turned into the schema's numbers, lists and booleans."""
    config = 'models={"overfit": {"seeds": [3, 1], "epochs": 7, "dropout": 0.1, "batch_norm": true}}'
    result = snakemake(tmp_path, "--dry-run", "--printshellcmds", "--config", config, 'pca={"n_components": 6}')
    assert result.returncode == 0, result.stdout + result.stderr
    assert planned_jobs(result)["train"] == 3
    overfit = next(
        line for line in result.stdout.splitlines() if "models/train.py" in line and "--name overfit" in line
    )
    assert "--epochs 7" in overfit and "--dropout 0.1" in overfit and "--batch-norm" in overfit
    assert "--n-components 6" in result.stdout
    wrong = snakemake(tmp_path, "--dry-run", "--config", 'pca={"n_components": "six"}')
    assert wrong.returncode != 0 and "pca.n_components" in wrong.stdout + wrong.stderr


@pytest.mark.skipif(
    not (DEBIAN_DATA / "train-images-idx3-ubyte.gz").exists(),
    reason="needs Debian's dataset-fashion-mnist package (`make test` installs it as root)",
)
def test_end_to_end_small_config(tmp_path: Path) -> None:
    # A copy of the project, so that the test can edit a template without touching the checkout.
    project = tmp_path / "project"
    for part in ("workflow", "scripts", "templates"):
        shutil.copytree(ROOT / part, project / part, ignore=shutil.ignore_patterns("__pycache__"))
    snakefile = project / "workflow" / "Snakefile"
    run = tmp_path / "run"

    result = snakemake(run, snakefile=snakefile)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    results = run / "results"

    index = (results / "index.html").read_text()
    declared = declarations()
    assert list(declared) == ["pca", "backprop", "convolutions", "overfitting"]  # the reading order
    for name, spec in declared.items():
        page = (results / "reports" / f"{name}.html").read_text()
        assert (results / "reports" / f"{name}.pdf").read_bytes().startswith(b"%PDF"), name
        assert f"reports/{name}.html" in index and f"reports/{name}.pdf" in index, name
        assert "data:image" not in page, "figures must be referenced as files, not inlined"
        # Every declared figure, with its phone variant, and no other, is on its page.
        figures = {item["name"] for item in spec["figures"]}
        assert set(re.findall(rf"\.\./figures/{name}/(\w+)\.svg", page)) == figures, name
        for figure in figures:
            assert (results / "figures" / name / f"{figure}.narrow.svg").stat().st_size > 0, (name, figure)
        # The page's title and the index card follow the run's facts; every verdict of the check is on the page.
        checked = json.loads((results / name / "claims.json").read_text())
        headline = html.escape(checked["facts"]["headline"]["text"], quote=False)
        assert f"<title>{headline}</title>" in page and headline in index, name
        assert checked["claims"] and all(claim["verdict"] in page for claim in checked["claims"]), name
        # The appendix carries the data checksums.
        provenance = json.loads((results / "provenance" / f"{name}.json").read_text())
        assert all(entry["sha256"] in page for entry in provenance["data"]), name
    assert (results / "reports" / "booklet.pdf").read_bytes().startswith(b"%PDF")
    assert "reports/booklet.pdf" in index

    # Each model trained once per seed on the slice; the spread over the seeds covers every run.
    defaults = schema_defaults(repository_schema())["models"]
    seeds = {
        model: SMALL_CONFIG["models"][model].get("seeds", defaults[model]["seeds"]) for model in ("cnn", "overfit")
    }
    for model, model_seeds in seeds.items():
        for seed in model_seeds:
            metrics = json.loads((results / "models" / model / f"seed-{seed}" / "metrics.json").read_text())
            assert metrics["n_validation"] == SMALL_CONFIG["models"]["validation_size"] and metrics["n_test"] == 500
            assert 0 <= metrics["test_accuracy"] <= 1
    spread = json.loads((results / "overfitting" / "seeds.json").read_text())
    assert {model: [run["seed"] for run in spread["models"][model]["runs"]] for model in seeds} == seeds
    assert not list((results / "models").glob("**/checkpoint.npz")), "checkpoints are removed after training"
    assert json.loads((results / "pca" / "metrics.json").read_text())["n_samples"] == 2000

    # Two clean runs giving the same bytes is checked by the slow tier (tests/test_scenarios.py): a second run
    # would double this test's time, and every step's own determinism is tested in the default suite.
    assert {"index.html", "reports/booklet.pdf", "reports/backprop.pdf"} <= output_hashes(results).keys()

    # Snakemake's own report holds every figure, page and handout marked with report().
    made = snakemake(run, "--report", "report.zip", snakefile=snakefile)
    assert made.returncode == 0, made.stdout[-3000:] + made.stderr[-3000:]
    with zipfile.ZipFile(run / "report.zip") as archive:
        names = [Path(name).name for name in archive.namelist()]
    n_figures = sum(len(spec["figures"]) for spec in declared.values())
    assert sum(name.endswith(".svg") and ".narrow." not in name for name in names) == n_figures, "every figure"
    for name in declared:
        assert f"{name}.html" in names and f"{name}.pdf" in names, name
    assert {"booklet.pdf", "index.html", "report.html"} <= set(names)

    # Nothing changed: nothing to do.
    rerun = snakemake(run, "--dry-run", snakefile=snakefile)
    assert rerun.returncode == 0
    assert planned_jobs(rerun) == {}, rerun.stdout

    # The checkout and its results moved together elsewhere: still nothing to do (no absolute path anywhere).
    moved = tmp_path / "moved"
    shutil.copytree(project, moved / "project", symlinks=True)
    shutil.copytree(run, moved / "run", symlinks=True)
    after_move = snakemake(moved / "run", "--dry-run", snakefile=moved / "project" / "workflow" / "Snakefile")
    assert after_move.returncode == 0, after_move.stdout + after_move.stderr
    assert planned_jobs(after_move) == {}, after_move.stdout

    # Editing a template reruns only the rendering jobs.
    template = project / "templates" / "pca.html.j2"
    template.write_text(template.read_text() + "{# edited #}\n")
    edited = snakemake(run, "--dry-run", snakefile=snakefile)
    assert edited.returncode == 0, edited.stdout + edited.stderr
    assert set(planned_jobs(edited)) == {"report_html", "report_pdf", "booklet", "all"}, edited.stdout
    assert planned_jobs(edited)["report_html"] == 1, edited.stdout  # only the edited page
