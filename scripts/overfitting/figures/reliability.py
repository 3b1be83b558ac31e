"""Reliability diagrams at the best and the last epoch: is the model as sure as it is right?

The validation predictions are put into equal-width bins by their confidence (top-class probability); each
bar is the accuracy within one bin, and the hatched gap bar reaches from there to the bin's mean confidence.
A calibrated model's bars touch the dashed diagonal; bars below it mean over-confidence. The number at the
foot of each bar is how many examples fall in that bin. Each panel's title
gives the expected calibration error (ECE: the gaps averaged with the bins' sizes as weights, Guo et al.
2017). Reads ``diagnostics.npz`` (``--diagnostics``), writes ``--output`` and ``--meta``.

    PYTHONPATH=scripts python scripts/overfitting/figures/reliability.py \\
        --diagnostics results/models/overfit/seed-1/diagnostics.npz \\
        --output results/figures/overfitting/reliability.svg --meta results/figures/overfitting/reliability.json
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from kit.cli import run_cli
from kit.facts import choose
from kit.figure import Data, Input, figure_main
from kit.io import round_significant
from kit.plotstyle import PALETTE, capitalised, new_figure, panel_grid, percent, percent_value, set_title
from models.calibration import N_BINS, confidences, expected_calibration_error, reliability_bins
from models.modelio import read_diagnostics

#: A change of ECE smaller than this (in percentage points) is reported as no change.
STEADY_POINTS = 0.1

#: A gap between mean confidence and accuracy of at least this many points counts as over- or under-confidence.
OFF_DIAGONAL_POINTS = 0.5

ACCURACY_STYLE: dict[str, Any] = {"facecolor": "#b3d4e8", "edgecolor": PALETTE[0], "linewidth": 0.8}
COUNT_STYLE: dict[str, Any] = {
    "fontsize": 7,
    "color": "#222222",
    "bbox": {"boxstyle": "square,pad=0.12", "facecolor": "white", "edgecolor": "none", "alpha": 0.85},
}
GAP_STYLE: dict[str, Any] = {"facecolor": "none", "edgecolor": PALETTE[1], "hatch": "////", "linewidth": 0.8}


def epoch_reliability(logits: np.ndarray, labels: np.ndarray, n_bins: int, epoch: int) -> dict[str, Any]:
    """Bins, ECE and the overall confidence and accuracy of one epoch's validation predictions."""
    confidence, predicted = confidences(logits)
    correct = predicted == labels
    bins = reliability_bins(confidence, correct, n_bins)
    counts = np.asarray(bins["count"])
    accuracy, mean_confidence = float(correct.mean()), float(confidence.mean())
    return {
        "epoch": epoch,
        "ece": round_significant(expected_calibration_error(confidence, correct, n_bins)),
        "accuracy": round_significant(accuracy),
        "accuracy_percent": percent_value(accuracy),
        "confidence_mean": round_significant(mean_confidence),
        "confidence_mean_percent": percent_value(mean_confidence),
        "overconfidence_points": round(100 * (mean_confidence - accuracy), 1),
        "share_in_top_bin": round_significant(counts[-1] / counts.sum()),
        "bins": {
            "lower": [round_significant(v) for v in bins["lower"]],
            "upper": [round_significant(v) for v in bins["upper"]],
            "count": [int(v) for v in bins["count"]],
            "mean_confidence": [round_significant(v) for v in bins["mean_confidence"]],
            "accuracy": [round_significant(v) for v in bins["accuracy"]],
        },
    }


def describe(best: dict[str, Any], last: dict[str, Any], n_bins: int, n_val: int) -> dict[str, Any]:
    """Title and alt text: how the calibration error and the direction of the miscalibration change."""
    change = 100 * (last["ece"] - best["ece"])
    if best["epoch"] == last["epoch"]:
        title = f"Expected calibration error at epoch {last['epoch']}: {percent(last['ece'])}"
    elif change >= STEADY_POINTS:
        kind = "over-confident" if last["overconfidence_points"] > 0 else "under-confident"
        title = (
            f"Expected calibration error rises from {percent(best['ece'])} at epoch {best['epoch']} to "
            f"{percent(last['ece'])} at epoch {last['epoch']}"
        )
        if abs(last["overconfidence_points"]) >= OFF_DIAGONAL_POINTS:
            title += f", where the model is {kind} by {abs(last['overconfidence_points']):.1f} points"
    elif change <= -STEADY_POINTS:
        title = (
            f"Expected calibration error falls from {percent(best['ece'])} at epoch {best['epoch']} to "
            f"{percent(last['ece'])} at epoch {last['epoch']}"
        )
    else:
        title = (
            f"Expected calibration error {percent(best['ece'])} at epoch {best['epoch']} and "
            f"{percent(last['ece'])} at epoch {last['epoch']}"
        )

    def panel(r: dict[str, Any], note: str) -> str:
        side = "above" if r["overconfidence_points"] > 0 else "below"
        return (
            f"at epoch {r['epoch']} ({note}) the mean confidence is {percent(r['confidence_mean'])} against an "
            f"accuracy of {percent(r['accuracy'])} ({abs(r['overconfidence_points']):.1f} points {side}), "
            f"{percent(r['share_in_top_bin'])} of the examples fall in the most confident bin and the ECE is "
            f"{percent(r['ece'])}"
        )

    alt = (
        f"Two reliability diagrams of the {n_val:,} validation predictions in {n_bins} equal-width confidence "
        "bins: bars show the accuracy in each bin, hatched bars the gap to the bin's mean confidence, a dashed "
        "diagonal marks perfect calibration, and each bar is labelled with its number of examples. "
        f"{capitalised(panel(best, 'lowest validation loss'))}; "
        f"{panel(last, 'last epoch')}."
    )
    gap = last["overconfidence_points"]
    notice = choose(
        [
            (gap >= OFF_DIAGONAL_POINTS, f"mean confidence - accuracy = {gap} points >= {OFF_DIAGONAL_POINTS}",
             f"Notice the hatched gaps at the last epoch: overall, its mean confidence exceeds its accuracy by "
             f"{gap:.1f} points."),
            (gap <= -OFF_DIAGONAL_POINTS, f"mean confidence - accuracy = {gap} points <= -{OFF_DIAGONAL_POINTS}",
             f"Notice the hatched gaps at the last epoch: overall, its accuracy exceeds its mean confidence by "
             f"{-gap:.1f} points."),
        ],
        f"Notice that at the last epoch the mean confidence and the accuracy differ by less than "
        f"{OFF_DIAGONAL_POINTS:g} points.",
        values={"overconfidence_points": gap},
    )  # fmt: skip
    return {"title": title, "alt": alt, "notice": notice}


def draw_panel(ax: Axes, r: dict[str, Any], note: str) -> None:
    """One reliability diagram in %: accuracy bars, hatched gap bars to the mean confidence, the diagonal."""
    b = r["bins"]
    rows = zip(b["lower"], b["upper"], b["count"], b["accuracy"], b["mean_confidence"], strict=True)
    for lower, upper, count, acc, conf in rows:
        if acc is None:
            continue  # empty bin: no bar, rather than a misleading one at 0
        left, width = 100 * lower, 100 * (upper - lower)
        ax.bar(left, 100 * acc, width=width, align="edge", **ACCURACY_STYLE)
        ax.bar(left, 100 * (conf - acc), bottom=100 * acc, width=width, align="edge", **GAP_STYLE)
        # The bin's size, written up the bar's foot: a bar from a handful of examples is noise.
        ax.text(left + width / 2, 2, f"{count:,}", rotation=90, ha="center", va="bottom", **COUNT_STYLE)
    ax.plot([0, 100], [0, 100], color="black", linestyle="--", linewidth=1.0)
    ax.set_xlim(0, 100)
    ax.set_ylim(0, 100)
    ax.set_aspect("equal")
    ax.set_title(f"epoch {r['epoch']} ({note}) \u00b7 ECE {percent(r['ece'])}", fontsize=9)
    ax.set_xlabel("confidence (top-class probability, %)")


def plot_reliability(best: dict[str, Any], last: dict[str, Any], title: str) -> Figure:
    """Best epoch left, last epoch right, one legend underneath."""
    fig = new_figure(3.6 if panel_grid(2)[0] == 1 else 7.0)
    axes = fig.subplots(*panel_grid(2), sharey=True).ravel()
    draw_panel(axes[0], best, "lowest val. loss")
    draw_panel(axes[1], last, "last")
    axes[0].set_ylabel("accuracy in bin (%)")
    handles = [
        Patch(**ACCURACY_STYLE),
        Patch(**GAP_STYLE),
        Line2D([], [], color="black", linestyle="--", linewidth=1.0),
        Line2D([], [], color="#222222", linestyle="none", marker="$12$", markersize=9),
    ]
    labels = ["accuracy", "gap to mean confidence", "perfect calibration", "examples in bin"]
    fig.legend(handles, labels, loc="outside lower center", ncols=4)
    set_title(fig, title)
    return fig


def both_epochs(diagnostics: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """``epoch_reliability`` of the best and the last epoch, in ``N_BINS`` bins (those of the history's ECE)."""
    labels = diagnostics["val_labels"]
    best = epoch_reliability(diagnostics["val_logits_best"], labels, N_BINS, diagnostics["best_epoch"])
    last = epoch_reliability(diagnostics["val_logits_last"], labels, N_BINS, diagnostics["last_epoch"])
    return best, last


def describe_data(data: Data, args: argparse.Namespace) -> dict[str, Any]:
    """The sidecar: title and alt text, and both epochs' bins and calibration numbers."""
    best, last = both_epochs(data["diagnostics"])
    n_val = len(data["diagnostics"]["val_labels"])
    return {
        **describe(best, last, N_BINS, n_val),
        "n_bins": N_BINS,
        "n_validation": n_val,
        "best_epoch": best["epoch"],
        "last_epoch": last["epoch"],
        "ece_best": best["ece"],
        "ece_last": last["ece"],
        "ece_best_percent": percent_value(best["ece"]),
        "ece_last_percent": percent_value(last["ece"]),
        "best": best,
        "last": last,
    }


def main(argv: Sequence[str] | None = None) -> None:
    """Bin the best and last epoch's validation predictions and write the figure and its sidecar."""
    figure_main(
        argv,
        __doc__,
        inputs=[Input("diagnostics", "diagnostics.npz written by models/train.py", read_diagnostics)],
        describe=describe_data,
        draw=lambda d, info, a: plot_reliability(info["best"], info["last"], info["title"]),
    )


if __name__ == "__main__":
    sys.exit(run_cli(main))
