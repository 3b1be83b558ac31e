"""Tests for the overfitting figures: valid, reproducible SVGs and sidecars whose numbers match the inputs.

``write_model_inputs`` writes a small but self-consistent ``history.json``, ``diagnostics.npz`` and
``metrics.json`` (as models/train.py writes them) into a folder; every expected number below is computed from those
files with plain numpy, not with the figure scripts' code, so a recorded real training run can replace the
synthetic one without changing the tests. Each script runs once by its CLI and once in-process; both must
write the same bytes.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import conftest
from conftest import ROOT, SCRIPT_ENV, SCRIPTS, run_script, synthetic_images
from kit.cli import PipelineError, run_cli
from kit.dataset import CLASS_NAMES, TEST, TRAIN, load_split, make_records, save_records
from kit.io import save_npz, write_json
from models import modelio as modelio
from models.calibration import epoch_diagnostics
from overfitting import epochs
from overfitting.figures import confidence as fig_confidence
from overfitting.figures import confusion as fig_confusion
from overfitting.figures import curves as fig_curves
from overfitting.figures import loss_histograms as fig_loss_histograms
from overfitting.figures import loss_split as fig_loss_split
from overfitting.figures import reliability as fig_reliability
from overfitting.figures import test_grid as fig_test_grid

FIGURE_SCRIPTS = (
    "overfitting/figures/curves.py",
    "overfitting/figures/loss_split.py",
    "overfitting/figures/confidence.py",
    "overfitting/figures/loss_histograms.py",
    "overfitting/figures/reliability.py",
    "overfitting/figures/confusion.py",
    "overfitting/figures/test_grid.py",
)

# --------------------------------------------------------------------------------------------------------
# Inputs: a synthetic training run that overfits the way the explainer describes
# --------------------------------------------------------------------------------------------------------

N_VAL, N_CLASSES, EPOCHS = 600, 10, 12


def synthetic_val_logits(labels: np.ndarray, epoch: int, rng_seed: int = 7) -> np.ndarray:
    """Validation logits at ``epoch``: margins improve slowly (accuracy creeps up) while the scale grows.

    The growing scale makes right answers more confident and wrong ones more confidently wrong, so the mean
    loss falls, bottoms out and rises again while accuracy keeps rising: the puzzle, in miniature.
    """
    rng = np.random.default_rng(rng_seed)  # the same examples at every epoch
    base = rng.normal(0.0, 1.0, (len(labels), N_CLASSES))
    margin = rng.normal(2.5, 1.6, len(labels))
    logits = base.copy()
    logits[np.arange(len(labels)), labels] += margin + 0.05 * epoch
    return (0.4 + 0.3 * epoch) * logits


def synthetic_test_logits(labels: np.ndarray) -> np.ndarray:
    """Test logits with known mistakes: within each class the 2nd and 4th image are wrong, class 8 is always
    wrong and class 9 always right (so the grid must leave a blank cell for each)."""
    rng = np.random.default_rng(11)
    logits = rng.normal(0.0, 0.5, (len(labels), N_CLASSES))
    seen = np.zeros(N_CLASSES, dtype=int)
    for i, y in enumerate(labels):
        wrong = y == 8 or (y != 9 and seen[y] in (1, 3))
        seen[y] += 1
        target = (y + 1 + i % 3) % N_CLASSES if wrong else y
        if wrong and target == 9 and y == 8:
            target = 0
        logits[i, target] += 2.0 + 0.4 * (i % 7)
    return logits.astype(np.float32)


def write_model_inputs(folder: Path, data: Path) -> dict[str, Path]:
    """Write history.json, diagnostics.npz and metrics.json of one synthetic run into ``folder``.

    ``data`` is a prepared dataset; its test split provides the test labels. Returns the paths.
    """
    folder.mkdir(parents=True, exist_ok=True)
    val_labels = np.arange(N_VAL) % N_CLASSES
    rows = [epoch_diagnostics(synthetic_val_logits(val_labels, e), val_labels) for e in range(1, EPOCHS + 1)]
    columns = {key: [row[key] for row in rows] for key in rows[0]}
    epochs = np.arange(1, EPOCHS + 1)
    train_loss = [float(f"{v:.10g}") for v in 1.6 * np.exp(-0.45 * epochs)]
    train_accuracy = [float(f"{v:.10g}") for v in 1 - 0.5 * np.exp(-0.4 * epochs)]
    best = int(np.argmin(columns["val_loss"])) + 1
    write_json(
        folder / "history.json",
        {
            "model": "overfit",
            "settings": {"epochs": EPOCHS, "seed": 0},
            "n_train": 2000,
            "n_validation": N_VAL,
            "n_classes": N_CLASSES,
            "best_epoch": best,
            "history": {
                "epoch": epochs.tolist(),
                "train_loss": train_loss,
                "train_accuracy": train_accuracy,
                **columns,
            },
        },
    )

    def per_example(logits: np.ndarray) -> np.ndarray:
        shifted = logits - logits.max(axis=1, keepdims=True)
        log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        return -log_p[np.arange(len(val_labels)), val_labels]

    logits_best = synthetic_val_logits(val_labels, best).astype(np.float32)
    logits_last = synthetic_val_logits(val_labels, EPOCHS).astype(np.float32)
    test_labels = np.asarray(load_split(data, "test").labels, dtype=np.int64)
    test_logits = synthetic_test_logits(test_labels)
    save_npz(
        folder / "diagnostics.npz",
        val_labels=val_labels.astype(np.int64),
        val_logits_best=logits_best,
        val_logits_last=logits_last,
        val_loss_best=per_example(logits_best.astype(np.float64)),
        val_loss_last=per_example(logits_last.astype(np.float64)),
        best_epoch=np.int64(best),
        last_epoch=np.int64(EPOCHS),
        test_labels=test_labels,
        test_logits=test_logits,
        test_index=np.arange(len(test_labels), dtype=np.int64),
    )

    predicted = test_logits.argmax(axis=1)
    confusion = np.zeros((N_CLASSES, N_CLASSES), dtype=int)
    np.add.at(confusion, (test_labels, predicted), 1)
    write_json(
        folder / "metrics.json",
        {
            "model": "cnn",
            "n_train": 2000,
            "n_validation": N_VAL,
            "n_test": len(test_labels),
            "parameters": 1234,
            "epochs": EPOCHS,
            "best_epoch": best,
            "test_accuracy": float(np.trace(confusion) / len(test_labels)),
            "test_loss": 1.0,
            "class_names": list(CLASS_NAMES),
            "confusion_matrix": confusion.tolist(),
            "per_class_accuracy": (np.diag(confusion) / confusion.sum(axis=1)).tolist(),
            "final": {},
            "settings": {},
        },
    )
    return {
        "history": folder / "history.json",
        "diagnostics": folder / "diagnostics.npz",
        "metrics": folder / "metrics.json",
        "data": data,
    }


#: A small real run of models/train.py on real images, recorded by tests/data/record_history.py.
RECORDED = Path(__file__).resolve().parent / "data" / "recorded"


@pytest.fixture(scope="module", params=["synthetic", "recorded"])
def inputs(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The three model files and the prepared dataset (the figures only read them), once per module and kind.

    ``synthetic``: a history built here from random logits; ``recorded``: the small real training run in
    ``tests/data/recorded`` (copied, so no test can change it).
    """
    folder = tmp_path_factory.mktemp(f"model-inputs-{request.param}")
    if request.param == "recorded":
        for name in ("history.json", "diagnostics.npz", "metrics.json", "fashion-mnist.npy"):
            shutil.copyfile(RECORDED / name, folder / name)
        return {
            "history": folder / "history.json",
            "diagnostics": folder / "diagnostics.npz",
            "metrics": folder / "metrics.json",
            "data": folder / "fashion-mnist.npy",
        }
    data = folder / "fashion-mnist.npy"
    (train_x, train_y), (test_x, test_y) = synthetic_images(200, seed=3), synthetic_images(50, seed=4)
    save_records(data, np.concatenate([make_records(train_x, train_y, TRAIN), make_records(test_x, test_y, TEST)]))
    return write_model_inputs(folder, data)


@pytest.fixture(scope="module")
def synthetic_inputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The synthetic inputs alone, for the malformed-input tests whose messages quote its sizes."""
    folder = tmp_path_factory.mktemp("model-inputs-malformed")
    data = folder / "fashion-mnist.npy"
    (train_x, train_y), (test_x, test_y) = synthetic_images(200, seed=3), synthetic_images(50, seed=4)
    save_records(data, np.concatenate([make_records(train_x, train_y, TRAIN), make_records(test_x, test_y, TEST)]))
    return write_model_inputs(folder, data)


def read(path: Path) -> dict:
    """A JSON file as a dict."""
    return json.loads(Path(path).read_text(encoding="utf-8"))


def npz(path: Path) -> dict[str, np.ndarray]:
    """An .npz file's arrays."""
    with np.load(path, allow_pickle=False) as data:
        return {key: data[key] for key in data.files}


def log_softmax(logits: np.ndarray) -> np.ndarray:
    """Independent log-softmax in float64 (not calibration.py's)."""
    z = logits.astype(np.float64)
    z = z - z.max(axis=1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=1, keepdims=True))


def io_flags(folder: Path, name: str) -> list[str]:
    """``--output folder/name.svg --meta folder/name.json``."""
    return ["--output", str(folder / f"{name}.svg"), "--meta", str(folder / f"{name}.json")]


def run_twice(script: str, module: object, args: list, out: Path, name: str) -> tuple[str, dict]:
    """``conftest.run_twice``, and no NaN may reach a sidecar (missing values are written as null)."""
    svg, meta = conftest.run_twice(script, module, args, out, name)
    assert "nan" not in json.dumps(meta).lower()
    return svg, meta


def svg_text(line: str) -> str:
    """How matplotlib records a drawn text line in the SVG (a comment beside the glyph paths)."""
    return f"<!-- {line} -->"


# --------------------------------------------------------------------------------------------------------
# Tests: the figures drawn from history.json
# --------------------------------------------------------------------------------------------------------


def test_curves_show_the_puzzle(inputs, tmp_path):
    svg, meta = run_twice(
        "overfitting/figures/curves.py",
        fig_curves,
        ["--history", inputs["history"], "--label", "small unregularised CNN"],
        tmp_path,
        "curves",
    )
    h = read(inputs["history"])["history"]
    val_loss, val_acc = np.array(h["val_loss"]), np.array(h["val_accuracy"])
    best = int(np.argmin(val_loss)) + 1
    assert meta["best_epoch"] == best == read(inputs["history"])["best_epoch"]
    assert meta["epochs"] == len(val_loss)
    assert meta["val_loss_best"] == pytest.approx(val_loss.min(), rel=1e-9)
    assert meta["val_loss_last"] == pytest.approx(val_loss[-1], rel=1e-9)
    rise = val_loss[-1] / val_loss.min() - 1
    gain = 100 * (val_acc[-1] - val_acc[best - 1])
    assert meta["val_loss_rise_ratio"] == pytest.approx(rise, rel=1e-9)
    assert meta["val_accuracy_gain_points"] == round(gain, 1)
    assert meta["val_accuracy_max_epoch"] == int(np.argmax(val_acc)) + 1
    if rise >= epochs.RISE_THRESHOLD and gain >= 0.05:  # the fixture's run overfits this way
        assert meta["pattern"] == "loss_rises_accuracy_gains"
        assert meta["title"] == (
            f"Small unregularised CNN: validation loss rises {100 * rise:.0f} % after epoch {best} while "
            f"validation accuracy still gains {gain:.1f} points"
        )
    assert f"{100 * val_acc[-1]:.1f} %" in meta["alt"]
    for text in ("cross-entropy loss (nats)", "accuracy (%)", "epoch", f"lowest validation loss (epoch {best})"):
        assert svg_text(text) in svg
    assert svg.count(svg_text("epoch")) == 2


def test_curves_of_a_model_that_does_not_overfit(inputs, tmp_path):
    """Cut the history at its best epoch: the losses then fall together and the title must say so."""
    history = read(inputs["history"])
    best = history["best_epoch"]
    history["history"] = {key: values[:best] for key, values in history["history"].items()}
    write_json(tmp_path / "history.json", history)
    fig_curves.main(
        ["--history", str(tmp_path / "history.json"), "--label", "regularised CNN", *io_flags(tmp_path, "c")]
    )
    meta = read(tmp_path / "c.json")
    assert meta["pattern"] == "losses_fall_together"
    assert meta["best_epoch"] == meta["epochs"] == best
    assert meta["title"].startswith(f"Regularised CNN: training and validation loss fall together to epoch {best}")
    assert f"{100 * history['history']['val_accuracy'][-1]:.1f} %" in meta["title"]
    assert meta["label"] == "regularised CNN" and "for the regularised CNN" in meta["alt"]
    # Without a label (only in-process: the command line requires one) the model's name stands in.
    unlabelled = fig_curves.describe(modelio.read_model_history(tmp_path / "history.json"), None)
    assert unlabelled["title"].startswith(f"Training and validation loss fall together to epoch {best}")
    assert unlabelled["label"] is None and "model 'overfit'" in unlabelled["alt"]


def test_curves_label_has_no_default(inputs, tmp_path, capsys):
    """The label comes from the explainer's declaration; leaving it out is a one-line error, nothing written."""
    argv = ["--history", str(inputs["history"]), *io_flags(tmp_path, "c")]
    with pytest.raises(PipelineError, match="--label"):
        fig_curves.main(argv)
    assert run_cli(fig_curves.main, argv) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "--label" in err and len(err.splitlines()) == 1
    assert not (tmp_path / "c.svg").exists()


def test_loss_split_parts_add_up(inputs, tmp_path):
    svg, meta = run_twice(
        "overfitting/figures/loss_split.py", fig_loss_split, ["--history", inputs["history"]], tmp_path, "split"
    )
    history = read(inputs["history"])
    h = {key: np.array(values, dtype=float) for key, values in history["history"].items()}
    best, last = history["best_epoch"], len(h["epoch"])
    np.testing.assert_allclose(h["val_loss_correct_part"] + h["val_loss_wrong_part"], h["val_loss"], rtol=1e-8)
    for which, epoch in (("best", best), ("last", last)):
        assert meta[f"val_loss_wrong_part_{which}"] == pytest.approx(h["val_loss_wrong_part"][epoch - 1], rel=1e-9)
        assert meta[f"val_loss_correct_part_{which}"] == pytest.approx(h["val_loss_correct_part"][epoch - 1])
        assert meta[f"val_n_wrong_{which}"] == h["val_n_wrong"][epoch - 1]
        scaled = h["val_loss_temperature_scaled"][epoch - 1]
        assert meta[f"val_loss_temperature_scaled_{which}"] == pytest.approx(scaled, rel=1e-9)
    rise = h["val_loss"][-1] - h["val_loss"][best - 1]
    rise_wrong = h["val_loss_wrong_part"][-1] - h["val_loss_wrong_part"][best - 1]
    assert meta["rise"] == pytest.approx(rise, rel=1e-8)
    assert meta["rise_wrong_part"] + meta["rise_correct_part"] == pytest.approx(rise, rel=1e-6)
    if meta["loss_rises"]:
        assert meta["rise_wrong_fraction"] == pytest.approx(rise_wrong / rise, rel=1e-6)
        assert f"epoch {best}" in meta["title"]
        if h["val_loss_correct_part"][-1] <= h["val_loss_correct_part"][best - 1]:
            assert "only the wrongly classified examples" in meta["title"]
    for text in ("validation loss (nats)", "after temperature scaling", "from wrongly classified examples"):
        assert svg_text(text) in svg


def test_confidence_of_right_and_wrong(inputs, tmp_path):
    svg, meta = run_twice(
        "overfitting/figures/confidence.py", fig_confidence, ["--history", inputs["history"]], tmp_path, "conf"
    )
    history = read(inputs["history"])
    h, best = history["history"], history["best_epoch"]
    for name in ("val_confidence_wrong_mean", "val_confidence_correct_mean", "val_confidence_mean", "val_accuracy"):
        assert meta[f"{name}_best"] == pytest.approx(h[name][best - 1], rel=1e-9)
        assert meta[f"{name}_last"] == pytest.approx(h[name][-1], rel=1e-9)
        assert meta[f"{name}_last_percent"] == round(100 * h[name][-1], 1)
    change = 100 * (h["val_confidence_wrong_mean"][-1] - h["val_confidence_wrong_mean"][best - 1])
    assert meta["wrong_confidence_change_points"] == round(change, 1)
    assert meta["overconfidence_last_points"] == round(100 * (h["val_confidence_mean"][-1] - h["val_accuracy"][-1]), 1)
    if change > 0.5:
        assert meta["title"].startswith(f"After epoch {best} wrong predictions grow more confident")
    assert f"{100 * h['val_confidence_wrong_mean'][-1]:.1f} %" in meta["title"]
    assert svg_text("mean confidence, accuracy (%)") in svg


def test_group_means_may_be_null(inputs, tmp_path):
    """An epoch where every example is right has no wrong-group means (null in the file): still a figure."""
    history = read(inputs["history"])
    h = history["history"]
    h["val_loss_wrong_mean"][0] = h["val_confidence_wrong_mean"][0] = None
    write_json(tmp_path / "history.json", history)
    run = modelio.read_model_history(tmp_path / "history.json", ["val_confidence_wrong_mean", "val_loss_wrong_mean"])
    assert np.isnan(run["history"]["val_confidence_wrong_mean"][0])
    assert run["history"]["epoch"].dtype == np.int64
    fig_confidence.main(["--history", str(tmp_path / "history.json"), *io_flags(tmp_path, "c")])
    assert read(tmp_path / "c.json")["title"]


# --------------------------------------------------------------------------------------------------------
# Tests: the figures drawn from diagnostics.npz and metrics.json
# --------------------------------------------------------------------------------------------------------


def test_loss_histograms(inputs, tmp_path):
    svg, meta = run_twice(
        "overfitting/figures/loss_histograms.py",
        fig_loss_histograms,
        ["--diagnostics", inputs["diagnostics"]],
        tmp_path,
        "hist",
    )
    d = npz(inputs["diagnostics"])
    labels = d["val_labels"]
    rows = np.arange(len(labels))
    groups = {}
    for which in ("best", "last"):
        log_p = log_softmax(d[f"val_logits_{which}"])
        losses, right = -log_p[rows, labels], log_p.argmax(axis=1) == labels
        groups[which] = (losses, right)
        m = meta[which]
        assert m["epoch"] == int(d[f"{which}_epoch"].reshape(()))
        assert (m["n_correct"], m["n_wrong"]) == (int(right.sum()), int((~right).sum()))
        assert m["loss_mean"] == pytest.approx(losses.mean(), rel=1e-9)
        assert m["loss_wrong_median"] == pytest.approx(np.median(losses[~right]), rel=1e-9)
        assert m["loss_correct_median"] == pytest.approx(np.median(losses[right]), rel=1e-9)
        assert m["loss_wrong_share"] == pytest.approx(losses[~right].sum() / losses.sum(), rel=1e-9)
    (loss_b, right_b), (loss_l, right_l) = groups["best"], groups["last"]
    t = meta["transitions"]
    assert t["n_fixed"] == int((~right_b & right_l).sum())
    assert t["n_broken"] == int((right_b & ~right_l).sum())
    assert t["n_stayed_wrong"] == int((~right_b & ~right_l).sum())
    assert t["n_stayed_right"] + t["n_stayed_wrong"] + t["n_fixed"] + t["n_broken"] == len(labels)
    parts = sum(t[f"{g}_loss_change_part"] for g in ("stayed_right", "stayed_wrong", "fixed", "broken"))
    assert parts == pytest.approx(loss_l.mean() - loss_b.mean(), rel=1e-6)
    stayed = ~right_b & ~right_l
    if stayed.any() and np.median(loss_l[stayed]) > np.median(loss_b[stayed]):
        assert f"{np.median(loss_l[stayed]):.2f} nats" in meta["title"]
    width = meta["bin_width"]
    assert meta["bin_edges"][0] == 0 and meta["bin_edges"][-1] >= max(loss_b.max(), loss_l.max())
    assert np.allclose(np.diff(meta["bin_edges"]), width)
    assert svg_text("per-example cross-entropy loss (nats)") in svg


def test_reliability(inputs, tmp_path):
    svg, meta = run_twice(
        "overfitting/figures/reliability.py", fig_reliability, ["--diagnostics", inputs["diagnostics"]], tmp_path, "rel"
    )
    d = npz(inputs["diagnostics"])
    labels = d["val_labels"]
    for which in ("best", "last"):
        p = np.exp(log_softmax(d[f"val_logits_{which}"]))
        confidence, right = p.max(axis=1), p.argmax(axis=1) == labels
        counts, ece = np.zeros(15, dtype=int), 0.0
        for b in range(15):  # bin b holds (b/15, (b+1)/15]
            members = (confidence > b / 15) & (confidence <= (b + 1) / 15)
            counts[b] = members.sum()
            if members.any():
                ece += members.sum() / len(labels) * abs(right[members].mean() - confidence[members].mean())
        assert meta[which]["bins"]["count"] == counts.tolist()
        assert meta[f"ece_{which}"] == pytest.approx(ece, abs=1e-9)
        assert meta[which]["accuracy"] == pytest.approx(right.mean())
        assert f"ECE {100 * ece:.1f} %" in svg  # each panel's title
    history = read(inputs["history"])  # the history's ECE came from the same epochs' logits
    assert meta["ece_best"] == pytest.approx(history["history"]["val_ece"][history["best_epoch"] - 1], abs=1e-6)
    assert meta["ece_last"] == pytest.approx(history["history"]["val_ece"][-1], abs=1e-6)
    assert meta["n_bins"] == 15


def test_reliability_bins(inputs):
    """Any bin count partitions the examples; the figure itself uses the history's N_BINS, so its ECE matches."""
    d = npz(inputs["diagnostics"])
    r = fig_reliability.epoch_reliability(d["val_logits_best"], d["val_labels"], 10, 1)
    assert len(r["bins"]["count"]) == 10 and sum(r["bins"]["count"]) == len(d["val_labels"])
    assert r["bins"]["lower"][0] == 0 and r["bins"]["upper"][-1] == 1


def test_confusion(inputs, tmp_path):
    svg, meta = run_twice(
        "overfitting/figures/confusion.py",
        fig_confusion,
        ["--metrics", inputs["metrics"]],
        tmp_path,
        "conf",
    )
    metrics = read(inputs["metrics"])
    confusion = np.array(metrics["confusion_matrix"])
    assert meta["confusion_matrix"] == metrics["confusion_matrix"]
    assert meta["n_test"] == confusion.sum() == metrics["n_test"]
    accuracy = np.trace(confusion) / confusion.sum()
    assert meta["test_accuracy"] == pytest.approx(metrics["test_accuracy"])
    assert meta["title"].startswith(f"The CNN classifies {100 * accuracy:.1f} % of the {confusion.sum():,} test")
    per_class = np.diag(confusion) / confusion.sum(axis=1)
    assert meta["hardest_class"] == CLASS_NAMES[int(np.argmin(per_class))]
    off = confusion - np.diag(np.diag(confusion))
    i, j = np.unravel_index(np.argmax(off), off.shape)
    assert meta["top_confusions"][0] == {"true": CLASS_NAMES[i], "predicted": CLASS_NAMES[j], "count": int(off[i, j])}
    for name in CLASS_NAMES:
        assert svg_text(name) in svg
    for count in np.unique(confusion):
        assert svg_text(f"{count:,}") in svg
    assert svg_text("true class") in svg and svg_text("predicted class") in svg


def expected_picks(diagnostics: dict[str, np.ndarray]) -> dict[str, dict]:
    """Per class the test positions of the first right and first wrong prediction, by a plain loop."""
    predicted = diagnostics["test_logits"].argmax(axis=1)
    picks: dict[str, dict] = {name: {"right": None, "wrong": None} for name in CLASS_NAMES}
    for row in np.argsort(diagnostics["test_index"]):
        name = CLASS_NAMES[diagnostics["test_labels"][row]]
        kind = "right" if predicted[row] == diagnostics["test_labels"][row] else "wrong"
        if picks[name][kind] is None:
            picks[name][kind] = int(diagnostics["test_index"][row])
    return picks


def test_test_grid(inputs, tmp_path):
    svg, meta = run_twice(
        "overfitting/figures/test_grid.py",
        fig_test_grid,
        ["--diagnostics", inputs["diagnostics"], "--data", inputs["data"]],
        tmp_path,
        "grid",
    )
    d = npz(inputs["diagnostics"])
    picks = expected_picks(d)
    for cell in meta["cells"]:
        for kind in ("right", "wrong"):
            expected = picks[cell["class"]][kind]
            assert (cell[kind] or {}).get("test_index") == expected
    assert meta["classes_without_wrong"] == [
        n for n, p in picks.items() if p["wrong"] is None and p["right"] is not None
    ]
    assert meta["classes_without_right"] == [
        n for n, p in picks.items() if p["right"] is None and p["wrong"] is not None
    ]
    predicted = d["test_logits"].argmax(axis=1)
    wrong = predicted != d["test_labels"]
    confidence = np.exp(log_softmax(d["test_logits"])).max(axis=1)
    assert meta["test_accuracy"] == pytest.approx(1 - wrong.mean())
    assert meta["wrong_confidence_median"] == pytest.approx(np.median(confidence[wrong]), rel=1e-9)
    assert f"{100 * (1 - wrong.mean()):.1f} %" in meta["title"]
    # A class with no wrong (or no right) prediction leaves a blank cell with a note; the synthetic run has one
    # of each (Ankle boot always right, Bag always wrong), a recorded real run may have none.
    blanks = meta["classes_without_wrong"] + meta["classes_without_right"]
    assert bool(blanks) == (meta["note"] is not None)
    for name in blanks:
        assert name in meta["note"]
        assert svg_text(f"no {name} test image") in svg
    n_wrong_shown = sum(cell["wrong"] is not None for cell in meta["cells"])
    assert svg.count(f"{fig_test_grid.WRONG_MARK} wrong, confidence") == n_wrong_shown
    first = meta["cells"][0]
    assert svg_text(f"true {first['class']} / predicted {first['wrong']['predicted']}") in svg


def test_test_grid_follows_test_order_not_row_order(inputs, tmp_path):
    """Rows of the diagnostics file in another order pick the same images (each row names its test position)."""
    d = npz(inputs["diagnostics"])
    order = np.random.default_rng(3).permutation(len(d["test_labels"]))
    for key in ("test_labels", "test_logits", "test_index"):
        d[key] = d[key][order]
    save_npz(tmp_path / "shuffled.npz", **d)
    fig_test_grid.main(["--diagnostics", str(tmp_path / "shuffled.npz"), "--data", str(inputs["data"]),
                        *io_flags(tmp_path, "g")])  # fmt: skip
    fig_test_grid.main(["--diagnostics", str(inputs["diagnostics"]), "--data", str(inputs["data"]),
                        *io_flags(tmp_path, "h")])  # fmt: skip
    assert read(tmp_path / "g.json") == read(tmp_path / "h.json")
    assert (tmp_path / "g.svg").read_bytes() == (tmp_path / "h.svg").read_bytes()


def test_test_grid_refuses_another_dataset(inputs, tmp_path):
    (train_x, train_y), (test_x, test_y) = synthetic_images(20, seed=8), synthetic_images(50, seed=9)
    other = tmp_path / "other.npy"
    save_records(other, np.concatenate([make_records(train_x, train_y, TRAIN), make_records(test_x, test_y, TEST)]))
    with pytest.raises(PipelineError, match=r"diagnostics\.npz: 'test_(labels|index)' .*other\.npy"):
        fig_test_grid.main(["--diagnostics", str(inputs["diagnostics"]), "--data", str(other),
                            *io_flags(tmp_path, "g")])  # fmt: skip


# --------------------------------------------------------------------------------------------------------
# Tests: clear errors for missing and malformed inputs
# --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("script", "flag"),
    [
        ("overfitting/figures/curves.py", "--history"),
        ("overfitting/figures/loss_split.py", "--history"),
        ("overfitting/figures/confidence.py", "--history"),
        ("overfitting/figures/loss_histograms.py", "--diagnostics"),
        ("overfitting/figures/reliability.py", "--diagnostics"),
        ("overfitting/figures/confusion.py", "--metrics"),
        ("overfitting/figures/test_grid.py", "--diagnostics"),
    ],
)
def test_missing_input_exits_1_naming_the_file(inputs, tmp_path, script, flag):
    missing = tmp_path / "nowhere" / "input.file"
    extra = {
        "overfitting/figures/test_grid.py": ["--data", str(inputs["data"])],
        "overfitting/figures/curves.py": ["--label", "CNN"],
    }.get(script, [])
    result = run_script(script, flag, missing, *extra, *io_flags(tmp_path, "f"), check=False)
    assert result.returncode == 1
    assert result.stderr.startswith(f"error: {missing}: file not found")
    assert len(result.stderr.splitlines()) == 1
    assert not (tmp_path / "f.svg").exists() and not (tmp_path / "f.json").exists()


def edit_history(source: Path, target: Path, change: object) -> Path:
    """Copy history.json to ``target`` with ``change(data)`` applied."""
    data = read(source)
    change(data)
    write_json(target, data)
    return target


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d["history"].pop("val_loss_wrong_part"), "history lacks column(s) 'val_loss_wrong_part'"),
        (lambda d: d["history"]["val_loss"].pop(), "'val_loss' has 11 values but 'epoch' has 12"),
        (lambda d: d.update(best_epoch=1), "'best_epoch' 1 has validation loss"),
        (lambda d: d.update(best_epoch=99), "'best_epoch' must be an epoch from 1 to 12"),
        (lambda d: d["history"]["val_accuracy"].__setitem__(0, 71.0), "must hold fractions from 0 to 1"),
        (lambda d: d["history"]["val_loss"].__setitem__(2, None), "'val_loss' holds null values"),
        (lambda d: d["history"]["epoch"].__setitem__(3, 7), "'epoch' must count 1, 2, ..."),
        (lambda d: d.pop("history"), "has no 'history' object"),
    ],
)
def test_malformed_history_names_file_and_key(synthetic_inputs, tmp_path, capsys, change, message):
    path = edit_history(synthetic_inputs["history"], tmp_path / "history.json", change)
    assert run_cli(fig_loss_split.main, ["--history", str(path), *io_flags(tmp_path, "f")]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"error: {path}: ")
    assert message in err
    assert err.rstrip().endswith("rerun the train step")
    assert not (tmp_path / "f.svg").exists()


def test_malformed_diagnostics_name_file_and_array(synthetic_inputs, tmp_path):
    d = npz(synthetic_inputs["diagnostics"])
    broken = {key: value for key, value in d.items() if key != "val_logits_last"}
    save_npz(tmp_path / "a.npz", **broken)
    with pytest.raises(PipelineError, match=r"a\.npz: missing array\(s\) val_logits_last; rerun the train step"):
        modelio.read_diagnostics(tmp_path / "a.npz")
    logits = d["val_logits_best"].copy()
    logits[0, 0] = np.nan
    save_npz(tmp_path / "b.npz", **{**d, "val_logits_best": logits})
    with pytest.raises(PipelineError, match=r"b\.npz: array 'val_logits_best' holds non-finite values"):
        modelio.read_diagnostics(tmp_path / "b.npz")
    save_npz(tmp_path / "c.npz", **{**d, "val_loss_best": d["val_loss_best"] + 0.5})
    with pytest.raises(PipelineError, match=r"c\.npz: 'val_loss_best' does not match the loss of 'val_logits_best'"):
        fig_loss_histograms.main(["--diagnostics", str(tmp_path / "c.npz"), *io_flags(tmp_path, "h")])
    save_npz(tmp_path / "d.npz", **{**d, "val_labels": d["val_labels"][:-1]})
    with pytest.raises(PipelineError, match=r"d\.npz: array 'val_logits_best' has shape"):
        modelio.read_diagnostics(tmp_path / "d.npz")
    save_npz(tmp_path / "e.npz", **{**d, "best_epoch": np.int64(20)})
    with pytest.raises(PipelineError, match=r"e\.npz: 'best_epoch' 20 must lie from 1 to 'last_epoch' 12"):
        modelio.read_diagnostics(tmp_path / "e.npz")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda m: m.pop("confusion_matrix"), "lacks key(s) 'confusion_matrix'"),
        (lambda m: m.update(test_accuracy=0.99), "'test_accuracy' 0.99 differs from the confusion matrix's"),
        (lambda m: m["confusion_matrix"].pop(), "'confusion_matrix' must be 10 rows of 10"),
        (lambda m: m.update(n_test=7), "'confusion_matrix' counts 50 test images but 'n_test' is 7"),
    ],
)
def test_malformed_metrics_name_file_and_key(synthetic_inputs, tmp_path, change, message):
    path = edit_history(synthetic_inputs["metrics"], tmp_path / "metrics.json", change)
    with pytest.raises(PipelineError) as caught:
        fig_confusion.main(["--metrics", str(path), *io_flags(tmp_path, "c")])
    assert str(caught.value).startswith(f"{path}: ")
    assert message in str(caught.value)


def test_not_json_is_a_clear_error(tmp_path, capsys):
    (tmp_path / "history.json").write_text("{ not json", encoding="utf-8")
    argv = ["--history", str(tmp_path / "history.json"), "--label", "CNN", *io_flags(tmp_path, "c")]
    assert run_cli(fig_curves.main, argv) == 1
    assert capsys.readouterr().err.startswith(f"error: {tmp_path / 'history.json'}: not valid JSON")


# --------------------------------------------------------------------------------------------------------
# Tests: no torch
# --------------------------------------------------------------------------------------------------------


def test_figures_never_import_torch(inputs, tmp_path):
    """Every figure script runs with torch made unimportable, and torch is not loaded afterwards.

    The scripts are imported as the workflow runs them: the packages in scripts/ on PYTHONPATH (``SCRIPT_ENV``).
    """
    calls = {
        "overfitting.figures.curves": ["--history", inputs["history"], "--label", "CNN"],
        "overfitting.figures.loss_split": ["--history", inputs["history"]],
        "overfitting.figures.confidence": ["--history", inputs["history"]],
        "overfitting.figures.loss_histograms": ["--diagnostics", inputs["diagnostics"]],
        "overfitting.figures.reliability": ["--diagnostics", inputs["diagnostics"]],
        "overfitting.figures.confusion": ["--metrics", inputs["metrics"]],
        "overfitting.figures.test_grid": ["--diagnostics", inputs["diagnostics"], "--data", inputs["data"]],
    }
    assert {name.replace(".", "/") + ".py" for name in calls} == set(FIGURE_SCRIPTS)
    program = "\n".join(
        [
            "import importlib, sys",
            "sys.modules['torch'] = None  # any 'import torch' now raises ImportError",
            "import models.modelio",
            *(
                f"importlib.import_module({name!r}).main({[str(a) for a in args] + io_flags(tmp_path, name)!r})"
                for name, args in calls.items()
            ),
            "assert sys.modules['torch'] is None, 'torch was imported'",
            "print('ok')",
        ]
    )
    result = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, cwd=ROOT, env=SCRIPT_ENV)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"
    assert len(list(tmp_path.glob("*.svg"))) == len(calls)
    for script in (*FIGURE_SCRIPTS, "overfitting/epochs.py", "models/modelio.py", "models/calibration.py"):
        source = (SCRIPTS / script).read_text(encoding="utf-8")
        assert "import torch" not in source and "from torch" not in source, script
