"""The overfitting page rendered from the small recorded real run: every figure and table, numbers from the
inputs, and the plain statement when a run does not show the puzzle.

The inputs are built by the pipeline's own scripts (claims check, the eight figure scripts) from
``tests/data/recorded`` (one real training run, used for both models here), so the page is tested against what
the pipeline really writes.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from conftest import ROOT, run_script
from test_render import PROVENANCE, page_text, parse, render, write

RECORDED = ROOT / "tests" / "data" / "recorded"
FIGURES = {
    "curves_overfit": ("overfitting/figures/curves.py", "history"),  # labels: see LABELS
    "loss_split": ("overfitting/figures/loss_split.py", "history"),
    "loss_histograms": ("overfitting/figures/loss_histograms.py", "diagnostics"),
    "confidence": ("overfitting/figures/confidence.py", "history"),
    "reliability": ("overfitting/figures/reliability.py", "diagnostics"),
    "curves_cnn": ("overfitting/figures/curves.py", "history"),
    "confusion": ("overfitting/figures/confusion.py", "metrics"),
    "test_grid": ("overfitting/figures/test_grid.py", "diagnostics"),
}
#: The curves' --label, as workflow/explainers/overfitting.yaml declares it.
LABELS = {"curves_overfit": "unregularised CNN on a small subset", "curves_cnn": "regularised CNN"}
#: The claims check's thresholds, at the config schema's defaults (overfitting.*); a test appends what it changes.
THRESHOLDS = [
    "--min-loss-rise-percent", "5", "--min-accuracy-rise-points", "0.2", "--min-wrong-share-of-rise", "0.5",
    "--min-removed-percent", "50",
]  # fmt: skip
SPLIT = {"n_validation": 1000, "n_train": 2000, "n_train_split": 3000, "seed": 20171025}


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Model files, figures and contexts laid out like results/ (claims computed by overfitting/claims.py)."""
    results = tmp_path_factory.mktemp("overfitting") / "results"
    models = results / "models" / "run"
    models.mkdir(parents=True)
    for name in ("history.json", "metrics.json", "diagnostics.npz"):
        shutil.copyfile(RECORDED / name, models / name)
    files = {
        key: models / f"{key}.{ext}" for key, ext in (("history", "json"), ("metrics", "json"), ("diagnostics", "npz"))
    }
    figures = {}
    for name, (script, source) in FIGURES.items():
        svg = results / "figures" / "overfitting" / f"{name}.svg"
        extra = ["--data", str(RECORDED / "fashion-mnist.npy")] if name == "test_grid" else []
        extra += ["--label", LABELS[name]] if name in LABELS else []
        run_script(script, f"--{source}", files[source], *extra, "--output", svg, "--meta", svg.with_suffix(".json"))
        figures[name] = svg
    contexts = {
        "overfit": files["metrics"],
        "overfit_history": files["history"],
        "cnn": files["metrics"],
        "cnn_history": files["history"],
        "split": write(results / "data" / "split.json", SPLIT),
        "dataset": write(results / "data" / "fashion-mnist.json", {"n_train": 3000, "n_test": 200}),
        "provenance": write(results / "provenance" / "overfitting.json", PROVENANCE),
        "seeds": spread(results, models, seeds=(1, 2)),
    }
    return {"results": results, "files": files, "figures": figures, "contexts": contexts}


def spread(results: Path, run: Path, seeds: tuple[int, ...]) -> Path:
    """The run-to-run spread of the recorded run copied once per seed (overfitting/seed_spread.py reads them)."""
    output = results / "overfitting" / f"seeds-{len(seeds)}.json"
    folders = []
    for seed in seeds:
        folder = results / "models" / f"seed-{seed}"
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(run / "metrics.json", folder / "metrics.json")
        history = json.loads((run / "history.json").read_text())
        history["settings"]["seed"] = seed
        (folder / "history.json").write_text(json.dumps(history))
        folders.append(f"--run=overfit={seed}={folder}")
        folders.append(f"--run=cnn={seed}={folder}")
    run_script("overfitting/seed_spread.py", *folders, "--output", output)
    return output


def render_page(built: dict, claims_args: list[str], name: str, **contexts: Path) -> tuple[str, dict]:
    """Run the claims check with ``claims_args``, render the page, return its HTML and the claims."""
    claims = built["results"] / "overfitting" / f"{name}.json"
    run_script("overfitting/claims.py", "--history", built["files"]["history"], "--metrics",
               built["files"]["metrics"], *THRESHOLDS, *claims_args, "--output", claims)  # fmt: skip
    output = built["results"] / "reports" / f"{name}.html"
    args = ["--template", "overfitting.html.j2", "--output", str(output), f"--context=claims={claims}"]
    args += [f"--context={key}={path}" for key, path in {**built["contexts"], **contexts}.items()]
    args += [f"--figure={key}={path}" for key, path in built["figures"].items()]
    render(*args, "--site-title", "Explainers", "--site-author", "Tester")
    return output.read_text(encoding="utf-8"), json.loads(claims.read_text())


def test_page_shows_every_figure_table_and_claim(built: dict) -> None:
    html, claims = render_page(built, [], "shown")
    parser = parse(html)
    text = page_text(parser)
    assert claims["puzzle_shown"], "the recorded run shows the puzzle"
    for number, name in enumerate(FIGURES, start=1):
        image = parser.find("img", src=f"../figures/overfitting/{name}.svg")
        assert image and image[0]["alt"], name
        assert f"Figure {number}." in text
    for number in (1, 2, 3, 4, 5):
        assert f"Table {number}." in text
    # Table 5: one row per network and seed, then the spread (two identical runs: no spread at all).
    seeds = json.loads(built["contexts"]["seeds"].read_text())
    run = seeds["models"]["overfit"]["runs"][0]
    assert "trained once per seed (1, 2)" in text
    assert f"{100 * run['test_accuracy']:.2f} % ± 0.00" in text
    assert f"{run['best_epoch']} of {run['epochs']}" in text
    assert "the run shows the puzzle" in text
    for claim in claims["claims"]:
        assert claim["measured"] in text and claim["verdict"] in text
    history = json.loads(built["files"]["history"].read_text())
    assert f"lowest at epoch {history['best_epoch']}" in text
    # Numbers in the prose are the inputs' numbers.
    n = claims["numbers"]
    assert f"rises by {n['val_loss_rise_percent']:.0f} %" in text
    assert f"from {100 * n['val_accuracy_at_best']:.2f} % to {100 * n['val_accuracy_last']:.2f} %" in text
    assert f"fitted temperature is {n['temperature_last']:.2f}" in text
    assert not re.search(r"\.[A-Z]", re.sub(r"\d\.\d|[A-Z]\.[A-Z]|e\.g|i\.e|fig\.|\.svg|\.py|\.json|\.npz", "", text))


def test_a_run_without_the_puzzle_says_so(built: dict) -> None:
    html, claims = render_page(built, ["--min-loss-rise-percent", "1000"], "absent")
    text = page_text(parse(html))
    assert claims["puzzle_shown"] is False
    assert "This run does not show the puzzle." in text
    assert "does not reproduce the puzzle" in text
    assert "the run does not show the puzzle" in text
    assert "shows the puzzle in this run" not in text
    assert "not supported" in text


def test_one_seed_says_how_to_see_the_spread(built: dict) -> None:
    results = built["results"]
    one = spread(results, built["files"]["history"].parent, seeds=(1,))
    html, _ = render_page(built, [], "one-seed", seeds=one)
    text = page_text(parse(html))
    assert "Each network was trained once, with seed 1." in text
    assert "models.seeds" in text
    assert "Table 5." not in text
