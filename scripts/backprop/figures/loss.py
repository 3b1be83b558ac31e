"""The Tom-Dick-Harry network learning: loss and accuracy over the SGD steps.

Left: the cross-entropy of each step's mini-batch (thin, grey), and the loss on the whole training subset and on
the held-out test images at the evaluation steps. Right: accuracy on both. Reads ``history.npz`` and
``metrics.json`` (backprop/network.py).

    PYTHONPATH=scripts python scripts/backprop/figures/loss.py --history results/backprop/history.npz \\
        --metrics results/backprop/metrics.json \\
        --output results/figures/backprop/loss.svg --meta results/figures/backprop/loss.json
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from backprop.bpio import read_history, read_metrics, rises
from kit.cli import run_cli
from kit.figure import Input, figure_main
from kit.io import round_significant
from kit.plotstyle import PALETTE, new_figure, percent, set_title


def plot_loss(history: dict[str, np.ndarray], metrics: dict[str, Any], title: str) -> Figure:
    """Loss (left) and accuracy (right) against the step."""
    steps, evals = history["step"], history["eval_step"]
    n_train, n_test = metrics["n_train"], metrics["n_test"]
    fig = new_figure(3.1)
    left, right = fig.subplots(1, 2)
    left.plot(steps, history["batch_loss"], color="#b0b0b0", linestyle="-", linewidth=0.6, label="mini-batch")
    for key, colour, style, marker, label in (
        ("train", PALETTE[0], "-", "o", f"{n_train:,} training images"),
        ("test", PALETTE[1], "--", "s", f"{n_test:,} test images"),
    ):
        every = max(1, len(evals) // 12)
        left.plot(evals, history[f"{key}_loss"], color=colour, linestyle=style, marker=marker, markersize=3.5,
                  markevery=every, label=label)  # fmt: skip
        right.plot(evals, 100 * history[f"{key}_accuracy"], color=colour, linestyle=style, marker=marker,
                   markersize=3.5, markevery=every, label=label)  # fmt: skip
    left.set_ylim(0, 1.05 * float(max(history["batch_loss"].max(), history["test_loss"].max())))
    left.set_xlabel("SGD step")
    left.set_ylabel("cross-entropy loss (nats)")
    left.set_title("Loss")
    right.set_ylim(0, 100)
    right.set_xlabel("SGD step")
    right.set_ylabel("accuracy (%)")
    right.set_title("Accuracy")
    for ax in (left, right):
        ax.set_xlim(0, int(steps[-1]))
    handles, labels = left.get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=3)
    set_title(fig, title)
    return fig


def describe(history: dict[str, np.ndarray], metrics: dict[str, Any]) -> dict[str, Any]:
    """Title, alt text and numbers: where the loss and accuracy start and end."""
    n_steps = int(history["step"][-1])
    n_train, n_test = metrics["n_train"], metrics["n_test"]
    first = {key: float(history[key][0]) for key in ("train_loss", "test_loss", "train_accuracy", "test_accuracy")}
    last = {key: float(history[key][-1]) for key in first}
    falls = last["train_loss"] < first["train_loss"]
    up, n_evals = rises(history["train_loss"]), len(history["eval_step"]) - 1
    span = f"from {first['train_loss']:.3f} to {last['train_loss']:.3f} nats in {n_steps:,} SGD steps"
    if falls and up == 0:
        trend = f"falls at every evaluation, {span}"
    elif falls:
        trend = f"falls overall, {span}, but is above the evaluation before at {up} of {n_evals} evaluations"
    else:
        trend = f"does not fall overall: it goes {span}"
    title = (
        f"The loss on the {n_train:,} training images {trend}; test accuracy ends at {percent(last['test_accuracy'])}"
    )
    alt = (
        f"Two line charts over {n_steps:,} SGD steps. Left: cross-entropy loss. The mini-batch loss (grey, "
        f"noisy) goes from {history['batch_loss'][0]:.2f} to {history['batch_loss'][-1]:.2f}; the loss on the "
        f"{n_train:,} training images from {first['train_loss']:.3f} to {last['train_loss']:.3f} nats, on the "
        f"{n_test:,} test images from {first['test_loss']:.3f} to {last['test_loss']:.3f}. Right: accuracy, "
        f"from {percent(first['train_accuracy'])} to {percent(last['train_accuracy'])} on the training images "
        f"and from {percent(first['test_accuracy'])} to {percent(last['test_accuracy'])} on the test images."
    )
    lowest = int(np.argmin(history["test_loss"]))
    return {
        "title": title,
        "alt": alt,
        "steps": n_steps,
        "loss_falls": falls,
        "train_loss_rises": up,
        "evaluations": n_evals,
        "first": {key: round_significant(value) for key, value in first.items()},
        "last": {key: round_significant(value) for key, value in last.items()},
        "test_loss_min": round_significant(float(history["test_loss"][lowest])),
        "test_loss_min_step": int(history["eval_step"][lowest]),
    }


def main(argv: Sequence[str] | None = None) -> None:
    """Read the run and write the figure and its sidecar."""
    figure_main(
        argv,
        __doc__,
        inputs=[
            Input("history", "history.npz written by backprop/network.py", read_history),
            Input("metrics", "metrics.json written by backprop/network.py", read_metrics),
        ],
        describe=lambda d, a: describe(d["history"], d["metrics"]),
        draw=lambda d, info, a: plot_loss(d["history"], d["metrics"], info["title"]),
    )


if __name__ == "__main__":
    sys.exit(run_cli(main))
