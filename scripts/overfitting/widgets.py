"""Export the data of the overfitting explainer's widgets, and the checks the browser test replays on them.

Two widgets, drawn by templates/widgets/overfitting.js from one overfit run (the first seed):

- ``overfit-epochs``, an epoch slider: the loss and accuracy curves with the chosen epoch marked, the histogram of
  the per-image validation loss (right and wrong apart) and the reliability diagram at that epoch. The per-epoch
  histograms and reliability bins are computed here from every epoch's validation logits (``val_logits_epochs``
  of ``diagnostics.npz``) with the functions the figures use (``models.calibration``), so only counts travel to
  the page. The numbers it prints at an epoch (validation loss, accuracy, wrong images, ECE) are the history's;
  its checks set the slider to the epoch of lowest validation loss and to the last epoch.
- ``overfit-temperature``, a temperature slider: the last epoch's validation logits divided by T, the validation
  loss, accuracy and ECE computed in the browser for every T of a grid that holds 1 and the fitted temperature.
  Its checks: at T = 1 the page shows the history's validation loss, at the fitted T the history's
  temperature-scaled loss and metrics.json's scaled ECE.

Usage::

    PYTHONPATH=scripts python scripts/overfitting/widgets.py \\
        --history results/models/overfit/seed-1/history.json \\
        --diagnostics results/models/overfit/seed-1/diagnostics.npz \\
        --metrics results/models/overfit/seed-1/metrics.json \\
        --output results/widgets/overfitting.js --checks results/widgets/overfitting.checks.json
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from kit.cli import PipelineError, run_cli
from kit.figure import Input
from kit.formats import fixed, num, pct
from kit.io import load_npz
from kit.widgets import Export, check, encode_array, widgets_main
from models.calibration import N_BINS, confidences, expected_calibration_error, per_example_loss, reliability_bins
from models.modelio import RERUN, read_diagnostics, read_model_history, read_model_metrics
from overfitting.figures.loss_histograms import loss_bins

#: History columns the epoch slider shows.
CURVES = ("train_loss", "val_loss", "train_accuracy", "val_accuracy", "val_ece", "val_n_wrong")

#: The temperature slider's grid: this many temperatures spaced evenly in log T between the ends, plus 1 and the
#: fitted temperature of the last epoch (so the reader can land exactly on both).
TEMPERATURE_STEPS = 121
TEMPERATURE_RANGE = (0.25, 8.0)

#: Recomputed per-epoch values may differ from the history's (rounded to 10 significant digits) by this much.
HISTORY_RTOL = 1e-6


def read_history(path: str | os.PathLike[str]) -> dict[str, Any]:
    """``history.json`` with the columns the widgets show."""
    return read_model_history(path, (*CURVES, "temperature", "val_loss_temperature_scaled"))


def read_epoch_logits(path: str | os.PathLike[str]) -> dict[str, Any]:
    """``diagnostics.npz`` checked by the shared reader, plus every epoch's validation logits."""
    diagnostics = read_diagnostics(path)
    arrays = load_npz(path)
    if "val_logits_epochs" not in arrays:
        raise PipelineError(f"{path}: has no 'val_logits_epochs' (every epoch's validation logits); {RERUN}")
    logits = np.asarray(arrays["val_logits_epochs"], dtype=np.float64)
    n_val, n_classes = diagnostics["val_logits_best"].shape
    if logits.ndim != 3 or logits.shape[1:] != (n_val, n_classes) or logits.shape[0] != diagnostics["last_epoch"]:
        raise PipelineError(
            f"{path}: 'val_logits_epochs' has shape {logits.shape}, expected ({diagnostics['last_epoch']}, {n_val}, "
            f"{n_classes}); {RERUN}"
        )
    if not np.all(np.isfinite(logits)):
        raise PipelineError(f"{path}: 'val_logits_epochs' holds non-finite values; {RERUN}")
    for which, epoch in (("best", diagnostics["best_epoch"]), ("last", diagnostics["last_epoch"])):
        if not np.array_equal(logits[epoch - 1], diagnostics[f"val_logits_{which}"]):
            raise PipelineError(f"{path}: epoch {epoch} of 'val_logits_epochs' differs from 'val_logits_{which}'")
    return {**diagnostics, "val_logits_epochs": logits}


def epoch_rows(logits: np.ndarray, labels: np.ndarray) -> list[dict[str, Any]]:
    """Per epoch: per-image losses, right/wrong flags, confidences and the reliability bins."""
    rows = []
    for z in logits:
        confidence, predicted = confidences(z)
        correct = predicted == labels
        rows.append(
            {
                "loss": per_example_loss(z, labels),
                "correct": correct,
                "bins": reliability_bins(confidence, correct, N_BINS),
                "ece": expected_calibration_error(confidence, correct, N_BINS),
            }
        )
    return rows


def check_history(history: Mapping[str, Any], rows: Sequence[Mapping[str, Any]], labels: np.ndarray) -> None:
    """The recomputed loss, wrong count and ECE of every epoch equal the history's (same run, same logits)."""
    h = history["history"]
    for index, row in enumerate(rows):
        wrong = int((~row["correct"]).sum())
        same = (
            wrong == h["val_n_wrong"][index]
            and math.isclose(float(row["loss"].mean()), h["val_loss"][index], rel_tol=HISTORY_RTOL)
            and math.isclose(row["ece"], h["val_ece"][index], rel_tol=HISTORY_RTOL, abs_tol=1e-9)
        )
        if not same:
            raise PipelineError(
                f"epoch {index + 1}: the diagnostics' logits do not give the history's validation numbers; the two "
                f"files come from different runs; {RERUN}"
            )


def epochs_widget(history: Mapping[str, Any], diagnostics: Mapping[str, Any]) -> tuple[dict, list[dict]]:
    """The epoch slider's data and checks."""
    labels = diagnostics["val_labels"]
    rows = epoch_rows(diagnostics["val_logits_epochs"], labels)
    check_history(history, rows, labels)
    h = history["history"]
    edges = loss_bins(*(row["loss"] for row in rows))
    right = np.array([np.histogram(r["loss"][r["correct"]], edges)[0] for r in rows])
    wrong = np.array([np.histogram(r["loss"][~r["correct"]], edges)[0] for r in rows])
    count = np.array([r["bins"]["count"] for r in rows])
    hits = np.array(
        [
            [0.0 if a is None else a * c for a, c in zip(r["bins"]["accuracy"], r["bins"]["count"], strict=True)]
            for r in rows
        ]
    )
    confidence = np.array(
        [[0.0 if m is None else m for m in r["bins"]["mean_confidence"]] for r in rows], dtype=np.float64
    )
    epochs = [int(e) for e in h["epoch"]]
    best, last = int(diagnostics["best_epoch"]), int(diagnostics["last_epoch"])
    data = {
        "epochs": epochs,
        "best": best,
        "n": len(labels),
        "curves": {key: [float(v) for v in h[key]] for key in CURVES},
        "edges": [float(e) for e in edges],
        "right": encode_array(right, "uint32"),
        "wrong": encode_array(wrong, "uint32"),
        "bin_count": encode_array(count, "uint32"),
        "bin_hits": encode_array(np.round(hits), "uint32"),
        "bin_confidence": encode_array(confidence, "float32"),
        "n_bins": N_BINS,
    }
    checks = [
        check(
            "overfit-epochs",
            {"epoch": epoch},
            epoch_text(h, epoch),
            keys=epoch == best,
            note=f"the history at epoch {epoch} ({what})",
        )
        for epoch, what in ((best, "lowest validation loss"), (last, "last epoch"))
    ]
    return data, checks


def epoch_text(h: Mapping[str, Any], epoch: int) -> dict[str, str]:
    """What the epoch slider's outputs show at ``epoch`` (formatted as templates/widgets/overfitting.js does)."""
    i = epoch - 1
    return {
        "val-loss": fixed(h["val_loss"][i], 3),
        "val-accuracy": pct(h["val_accuracy"][i], 2),
        "wrong": num(h["val_n_wrong"][i]),
        "ece": pct(h["val_ece"][i], 1),
    }


def temperature_grid(fitted: float) -> list[float]:
    """The slider's temperatures: log-spaced over ``TEMPERATURE_RANGE`` (widened to reach half and twice the fitted
    temperature), with 1 and the fitted one added."""
    lo, hi = min(TEMPERATURE_RANGE[0], fitted / 2), max(TEMPERATURE_RANGE[1], 2 * fitted)
    grid = {float(round(t, 4)) for t in np.exp(np.linspace(math.log(lo), math.log(hi), TEMPERATURE_STEPS))}
    grid |= {1.0, float(fitted)}
    return sorted(grid)


def temperature_widget(
    history: Mapping[str, Any], diagnostics: Mapping[str, Any], metrics: Mapping[str, Any]
) -> tuple[dict, list[dict]]:
    """The temperature slider's data (last epoch's validation logits) and checks."""
    h = history["history"]
    fitted = float(h["temperature"][-1])
    logits32 = diagnostics["val_logits_last"].astype(np.float32)
    labels = diagnostics["val_labels"]
    grid = temperature_grid(fitted)
    data = {
        "logits": encode_array(logits32, "float32"),
        "labels": encode_array(labels, "uint8"),
        "temperatures": grid,
        "fitted": fitted,
        "epoch": int(diagnostics["last_epoch"]),
        "n_bins": N_BINS,
    }
    z = logits32.astype(np.float64)
    accuracy = pct(h["val_accuracy"][-1], 2)
    checks = [
        check(
            "overfit-temperature",
            {"temperature": grid.index(1.0)},
            {
                "temperature": fixed(1.0, 2),
                "loss": fixed(h["val_loss"][-1], 3),
                "accuracy": accuracy,
                "ece": pct(h["val_ece"][-1], 1),
            },
            note="T = 1: the history's validation loss and ECE at the last epoch",
        ),
        check(
            "overfit-temperature",
            {"temperature": grid.index(fitted)},
            {
                "temperature": fixed(fitted, 2),
                "loss": fixed(h["val_loss_temperature_scaled"][-1], 3),
                "accuracy": accuracy,
                "ece": pct(metrics["ece_last_temperature_scaled"], 1),
            },
            keys=True,
            note="the fitted temperature: the history's scaled loss and metrics.json's scaled ECE",
        ),
    ]
    scaled = float(per_example_loss(z / fitted, labels).mean())
    if not math.isclose(scaled, h["val_loss_temperature_scaled"][-1], rel_tol=1e-6):
        raise PipelineError(f"the stored logits give a scaled loss of {scaled}, the history says otherwise; {RERUN}")
    return data, checks


def build(history: Mapping[str, Any], diagnostics: Mapping[str, Any], metrics: Mapping[str, Any]) -> Export:
    """Both widgets' data and checks."""
    if len(history["history"]["epoch"]) != diagnostics["last_epoch"]:
        raise PipelineError(f"the history has {len(history['history']['epoch'])} epochs, the diagnostics "
                            f"{diagnostics['last_epoch']}; {RERUN}")  # fmt: skip
    epochs, epoch_checks = epochs_widget(history, diagnostics)
    temperature, temperature_checks = temperature_widget(history, diagnostics, metrics)
    return Export(
        widgets={"overfit-epochs": epochs, "overfit-temperature": temperature},
        checks=epoch_checks + temperature_checks,
    )


def main(argv: Sequence[str] | None = None) -> None:
    """Read the first overfit seed's history, diagnostics and metrics; write the widgets' data and checks."""
    widgets_main(
        argv,
        __doc__,
        explainer="overfitting",
        inputs=[
            Input("history", "history.json of the overfit model's first seed", read_history),
            Input("diagnostics", "diagnostics.npz of the same run (with val_logits_epochs)", read_epoch_logits),
            Input("metrics", "metrics.json of the same run", read_model_metrics),
        ],
        build=lambda d, a: build(d["history"], d["diagnostics"], d["metrics"]),
    )


if __name__ == "__main__":
    sys.exit(run_cli(main))
