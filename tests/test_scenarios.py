"""The slow tier: whole small runs under settings other than the defaults, read against their own outputs.

Pages are read sentence by sentence under settings nobody has seen. The default suite renders every template from
inputs with different outcomes (the render tests) and refuses result words outside the facts mechanism
(test_templates.py); this tier runs the real workflow on a slice of the data under several changed settings,
each picked to flip an outcome the issue found published falsely (ReLU instead of sigmoid, another fix fraction,
other PCA counts, an overfit run long enough to show the puzzle, 3D motion that never stops), and checks each
page against numbers read here from the run's own outputs, not from its facts. It also makes a second clean run and
requires the same bytes for every output. Run it with `make test-slow` (about 20 minutes on 2 cores).
"""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from test_workflow import DEBIAN_DATA, ROOT, SMALL_CONFIG, declarations, snakemake
from tools.benchmark import output_hashes

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not (DEBIAN_DATA / "train-images-idx3-ubyte.gz").exists(),
        reason="needs Debian's dataset-fashion-mnist package (`make test` installs it as root)",
    ),
]

#: Changed settings, each merged into the small config; every one changes what at least one page may say.
SCENARIOS = {
    "relu-half-pca8": {
        "backprop": {"activation": "relu", "fix_fraction": 0.5, "learning_rate": 2.0},
        "pca": {"n_components": 8, "reconstruction_counts": [2, 10, 50], "classifier_counts": [1, 2]},
    },
    "long-overfit-uniform": {
        "models": {"overfit": {"epochs": 12, "seeds": [1, 2]}, "cnn": {"epochs": 2}},
        "convolutions": {"volume_motion": "uniform", "volume_shift": 3, "stack_filters": 1},
        "backprop": {"fix_fraction": 0.2, "steps": 40},
    },
}


def merged(base: dict, change: dict) -> dict:
    """``base`` with ``change`` merged in, section by section (a nested mapping replaces keys, not the section)."""
    result = json.loads(json.dumps(base))
    for key, value in change.items():
        if isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = merged(result[key], value)
        else:
            result[key] = value
    return result


@pytest.fixture(scope="module")
def base_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One small run with the small config; each scenario starts from a copy, so only what a setting touches reruns."""
    run = tmp_path_factory.mktemp("base") / "run"
    result = snakemake(run)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return run


def test_two_clean_runs_give_the_same_bytes(base_run: Path, tmp_path: Path) -> None:
    """A second clean run in another folder gives the same bytes: data, models, figures, pages, PDFs, booklet."""
    second = tmp_path / "second"
    result = snakemake(second)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    first_hashes, second_hashes = output_hashes(base_run / "results"), output_hashes(second / "results")
    assert first_hashes.keys() == second_hashes.keys()
    differ = sorted(path for path in first_hashes if first_hashes[path] != second_hashes[path])
    assert not differ, f"two clean runs differ in {differ}"
    assert {"index.html", "reports/booklet.pdf", "reports/backprop.pdf"} <= first_hashes.keys()


def title(page: str) -> str:
    """The page's <title>, unescaped."""
    match = re.search(r"<title>(.*?)</title>", page, re.DOTALL)
    assert match, "page without a title"
    return html.unescape(match.group(1)).strip()


def text(page: str) -> str:
    """The page's visible words, roughly: tags dropped, entities unescaped, spaces collapsed."""
    body = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.DOTALL)
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", body)))


def check_overfitting(results: Path, config: dict, page: str) -> None:
    """The title's outcome against each seed's validation history, read here."""
    seeds = config["models"]["overfit"].get("seeds", [1, 2, 3])
    rises, gains = [], []
    for seed in seeds:
        history = json.loads((results / "models" / "overfit" / f"seed-{seed}" / "history.json").read_text())["history"]
        loss, accuracy = np.array(history["val_loss"]), np.array(history["val_accuracy"])
        best = int(np.argmin(loss))
        rises.append(loss[-1] / loss[best] - 1)
        gains.append(accuracy[-1] - accuracy[best])
    heading = title(page).lower()
    if "loss up" in heading or "loss rises" in heading:
        assert min(rises) > 0, (heading, rises)
    if "accuracy up" in heading:
        assert min(gains) > 0, (heading, gains)
    if "no overfitting puzzle" in heading:
        assert min(rises) < 0.05 or min(gains) < 0, (heading, rises, gains)


def check_backprop(results: Path, config: dict, page: str) -> None:
    """Sentences the issue found false under ReLU or a rising loss, against the run's history and settings."""
    words = text(page)
    metrics = json.loads((results / "backprop" / "metrics.json").read_text())
    activation = config["backprop"].get("activation", "sigmoid")
    assert metrics.get("activation", activation) == activation
    if activation == "relu":
        assert "because an input is blank" not in words
    with np.load(results / "backprop" / "history.npz", allow_pickle=False) as history:
        losses = [history[key] for key in history.files if "loss" in key and "test" not in key]
    rose = any(np.any(np.diff(np.asarray(loss, dtype=float)) > 0) for loss in losses if np.asarray(loss).ndim == 1)
    if rose:
        assert "fallen round after round" not in words
    if abs(config["backprop"].get("fix_fraction", 1 / 3) - 1 / 3) > 1e-6:
        assert "chosen to match the thread" not in words


def check_pca(results: Path, config: dict, page: str) -> None:
    """The reconstruction figure draws the configured counts; no count is called almost exact unless the error is
    small."""
    counts = config["pca"]["reconstruction_counts"]
    sidecar = json.loads((results / "figures" / "pca" / "reconstructions.json").read_text())
    assert str(counts[-1]) in json.dumps(sidecar)
    words = text(page)
    metrics = json.loads((results / "pca" / "metrics.json").read_text())
    share = np.cumsum(metrics["explained_variance_ratio"])
    for count in counts:
        if re.search(rf"\b{count} components redraw images almost exactly", words):
            assert share[count - 1] >= 0.9, (count, share[count - 1])


def check_convolutions(results: Path, config: dict, page: str) -> None:
    """A 3D example whose garment loses ink in some frame must not say flatly that it stays in the picture (the
    ink per frame read here from the video itself)."""
    with np.load(results / "convolutions" / "arrays.npz", allow_pickle=False) as arrays:
        video = np.asarray(arrays["volume_input"], dtype=float)
    ink = video.reshape(len(video), -1).sum(axis=1)
    if ink[0] > 0 and ink.min() < ink[0] * (1 - 1e-9):
        assert "The garment stays in the picture" not in text(page)


CHECKS = {
    "overfitting": check_overfitting,
    "backprop": check_backprop,
    "pca": check_pca,
    "convolutions": check_convolutions,
}


@pytest.mark.parametrize("name", SCENARIOS)
def test_pages_stay_true_under_changed_settings(base_run: Path, tmp_path: Path, name: str) -> None:
    config = merged(SMALL_CONFIG, SCENARIOS[name])
    run = tmp_path / "run"
    shutil.copytree(base_run, run, symlinks=True)
    shutil.rmtree(run / ".snakemake", ignore_errors=True)
    result = snakemake(run, config=config)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    results = run / "results"
    index = (results / "index.html").read_text()
    for explainer in declarations():
        page = (results / "reports" / f"{explainer}.html").read_text()
        facts = json.loads((results / explainer / "claims.json").read_text())["facts"]
        # The title is the run's headline fact, and the index card says the same.
        assert title(page) == facts["headline"]["text"], explainer
        assert html.escape(facts["headline"]["text"], quote=False) in index, explainer
        # A fact's sentence is the first of its cases that held (no template can print a failed one).
        for key, fact in facts.items():
            held = [case for case in fact.get("cases", []) if case["holds"]]
            if held and "text" in held[0]:
                assert fact["text"] == held[0]["text"], (explainer, key)
        CHECKS[explainer](results, config, page)
    # The printed handouts keep their layout under these settings too.
    pdfs = [str(results / "reports" / f"{explainer}.pdf") for explainer in declarations()]
    layout = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "tools" / "layout.py"), *pdfs],
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(ROOT / "scripts"), "PATH": "/usr/bin:/bin"},
    )
    assert layout.returncode == 0, layout.stdout + layout.stderr
