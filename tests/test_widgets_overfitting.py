"""The overfitting explainer's widgets (scripts/overfitting/widgets.py, templates/widgets/overfitting.js).

The export is checked against the pipeline's own numbers (history.json, metrics.json, the figures' functions),
and the temperature slider's computation, which the browser does itself, is run under node and compared with
models.calibration on the same logits, at the temperatures the checks replay and at others.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from conftest import ROOT, run_script
from kit import widgets
from kit.cli import PipelineError
from kit.formats import fixed, num, pct
from kit.io import load_npz, read_json, save_npz
from models.calibration import N_BINS, confidences, expected_calibration_error, per_example_loss, reliability_bins
from overfitting_inputs import write_run
from test_widgets import CORE_JS, needs_node, run_js

OVERFIT_JS = ROOT / "templates" / "widgets" / "overfitting.js"


def export(tmp_path, outcome="puzzle"):
    write_run(tmp_path / "run", outcome, 1)
    folder = tmp_path / "run"
    out = tmp_path / "out"
    run_script("overfitting/widgets.py", "--history", folder / "history.json", "--diagnostics",
               folder / "diagnostics.npz", "--metrics", folder / "metrics.json",
               "--output", out / "overfitting.js", "--checks", out / "checks.json")  # fmt: skip
    _, data = widgets.read_data(out / "overfitting.js")
    checks = read_json(out / "checks.json")["checks"]
    return folder, data, checks


@pytest.mark.parametrize("outcome", ["puzzle", "no_rise"])
def test_epoch_slider_data_equal_the_history_and_the_figures_functions(tmp_path, outcome) -> None:
    folder, data, checks = export(tmp_path, outcome)
    history = read_json(folder / "history.json")
    h = history["history"]
    w = data["overfit-epochs"]
    assert w["epochs"] == h["epoch"] and w["best"] == history["best_epoch"]
    assert w["curves"]["val_loss"] == h["val_loss"]
    d = load_npz(folder / "diagnostics.npz")
    labels = d["val_labels"]
    right, wrong = widgets.decode_array(w["right"]), widgets.decode_array(w["wrong"])
    count, hits = widgets.decode_array(w["bin_count"]), widgets.decode_array(w["bin_hits"])
    edges = np.array(w["edges"])
    for i, z in enumerate(d["val_logits_epochs"].astype(np.float64)):
        loss = per_example_loss(z, labels)
        conf, predicted = confidences(z)
        correct = predicted == labels
        assert right[i].tolist() == np.histogram(loss[correct], edges)[0].tolist()
        assert wrong[i].tolist() == np.histogram(loss[~correct], edges)[0].tolist()
        assert right[i].sum() + wrong[i].sum() == len(labels)  # the edges cover every loss
        bins = reliability_bins(conf, correct, N_BINS)
        assert count[i].tolist() == bins["count"]
        # The ECE from the exported bins is the history's.
        mean_conf = widgets.decode_array(w["bin_confidence"])[i].astype(np.float64)
        ece = float(np.sum(np.abs(hits[i] - mean_conf * count[i])) / len(labels))
        assert ece == pytest.approx(h["val_ece"][i], abs=1e-6)
        assert ece == pytest.approx(expected_calibration_error(conf, correct, N_BINS), abs=1e-6)
    # The checks: the history's numbers at the lowest-loss and the last epoch, formatted as the page formats them.
    epoch_checks = [c for c in checks if c["widget"] == "overfit-epochs"]
    assert [c["set"]["epoch"] for c in epoch_checks] == [history["best_epoch"], len(h["epoch"])]
    for c in epoch_checks:
        i = c["set"]["epoch"] - 1
        assert c["expect"] == {"val-loss": fixed(h["val_loss"][i], 3), "val-accuracy": pct(h["val_accuracy"][i], 2),
                               "wrong": num(h["val_n_wrong"][i]), "ece": pct(h["val_ece"][i], 1)}  # fmt: skip
    assert any(c.get("keys") for c in epoch_checks)


def test_temperature_checks_are_the_pipelines_numbers(tmp_path) -> None:
    folder, data, checks = export(tmp_path)
    h = read_json(folder / "history.json")["history"]
    metrics = read_json(folder / "metrics.json")
    w = data["overfit-temperature"]
    grid = w["temperatures"]
    assert grid == sorted(grid) and 1.0 in grid and w["fitted"] in grid and w["fitted"] == h["temperature"][-1]
    by_t = {grid[c["set"]["temperature"]]: c["expect"] for c in checks if c["widget"] == "overfit-temperature"}
    assert by_t[1.0]["loss"] == fixed(h["val_loss"][-1], 3)
    assert by_t[w["fitted"]]["loss"] == fixed(h["val_loss_temperature_scaled"][-1], 3)
    assert by_t[w["fitted"]]["ece"] == pct(metrics["ece_last_temperature_scaled"], 1)
    assert by_t[1.0]["accuracy"] == by_t[w["fitted"]]["accuracy"] == pct(h["val_accuracy"][-1], 2)


@needs_node
def test_temperature_slider_computes_in_javascript_what_python_computes(tmp_path) -> None:
    _, data, checks = export(tmp_path)
    w = data["overfit-temperature"]
    z = widgets.decode_array(w["logits"])
    labels = widgets.decode_array(w["labels"])
    temps = [w["temperatures"][0], 1.0, w["fitted"], 2.5, w["temperatures"][-1]]
    calls = [("overfitting.temperatureStats", [z.ravel().tolist(), labels.tolist(), 10, t, N_BINS]) for t in temps]
    results = run_js(calls, scripts=(CORE_JS, OVERFIT_JS))
    for t, got in zip(temps, results, strict=True):
        scaled = z.astype(np.float64) / t
        conf, predicted = confidences(scaled)
        correct = predicted == labels
        assert got["loss"] == pytest.approx(float(per_example_loss(scaled, labels).mean()), rel=1e-12)
        assert got["accuracy"] == pytest.approx(float(correct.mean()), abs=0)
        assert got["ece"] == pytest.approx(expected_calibration_error(conf, correct, N_BINS), rel=1e-9, abs=1e-12)
    # Every check's text, computed by the JavaScript and formatted by its formats.
    for c in (c for c in checks if c["widget"] == "overfit-temperature"):
        t = w["temperatures"][c["set"]["temperature"]]
        got = run_js([("overfitting.temperatureStats", [z.ravel().tolist(), labels.tolist(), 10, t, N_BINS])],
                     scripts=(CORE_JS, OVERFIT_JS))[0]  # fmt: skip
        shown = run_js([("format.fixed", [got["loss"], 3]), ("format.pct", [got["ece"], 1])], scripts=(CORE_JS,))
        assert shown == [c["expect"]["loss"], c["expect"]["ece"]], c["note"]


def test_widgets_refuse_diagnostics_without_every_epoch(tmp_path) -> None:
    write_run(tmp_path / "run", "puzzle", 1)
    folder = tmp_path / "run"
    arrays = dict(load_npz(folder / "diagnostics.npz"))
    del arrays["val_logits_epochs"]
    save_npz(tmp_path / "old.npz", **arrays)
    from overfitting import widgets as ov

    with pytest.raises(PipelineError, match="has no 'val_logits_epochs'"):
        ov.read_epoch_logits(tmp_path / "old.npz")
    arrays = dict(load_npz(folder / "diagnostics.npz"))
    arrays["val_logits_epochs"] = arrays["val_logits_epochs"][::-1].copy()
    save_npz(tmp_path / "swapped.npz", **arrays)
    with pytest.raises(PipelineError, match=r"differs from 'val_logits_(best|last)'"):
        ov.read_epoch_logits(tmp_path / "swapped.npz")


def test_export_is_deterministic_and_within_budget(tmp_path) -> None:
    _, data, _ = export(tmp_path / "a")
    _, again, _ = export(tmp_path / "b")
    assert json.dumps(data, sort_keys=True) == json.dumps(again, sort_keys=True)
    size = len((tmp_path / "a" / "out" / "overfitting.js").read_bytes())
    # 1,000 images here; the full data's 10,000 x 10 float32 logits take ten times this share of the budget.
    assert size * 10 < widgets.MAX_DATA_BYTES
    assert math.isfinite(data["overfit-temperature"]["fitted"])
