"""Learning curves: training and validation loss (left) and accuracy (right) over the epochs of one model.

The overfitting puzzle in one picture: for the small unregularised CNN the validation loss turns upwards after
its best epoch while the validation accuracy keeps creeping up. The same script draws the regularised CNN, whose
two losses fall together. Training curves are solid, validation curves dashed, with different markers, and a
dotted vertical line marks the epoch with the lowest validation loss. Reads ``history.json`` (``--history``) and
writes the SVG (``--output``) and a JSON sidecar (``--meta``) whose title is computed from the curves.

    PYTHONPATH=scripts python scripts/overfitting/figures/curves.py \\
        --history results/models/overfit/seed-1/history.json \\
        --label "small unregularised CNN" \\
        --output results/figures/overfitting/curves_overfit.svg \\
        --meta results/figures/overfitting/curves_overfit.json
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from kit.cli import run_cli
from kit.figure import Input, Option, figure_main
from kit.io import round_significant
from kit.plotstyle import PALETTE, capitalised, new_figure, percent, percent_value, set_title
from models.modelio import read_model_history
from overfitting.epochs import RISE_THRESHOLD, best_epoch_label, epoch_axis, mark_best_epoch, markevery

#: An accuracy change smaller than this (in percentage points) is reported as holding steady.
STEADY_POINTS = 0.05


def pattern_of(rise: float, gain_points: float, best: int, last: int) -> str:
    """Which of the stories the curves tell: the puzzle (loss up, accuracy up) or one of the plain cases."""
    if best == last or rise < RISE_THRESHOLD:
        return "losses_fall_together"
    if gain_points >= STEADY_POINTS:
        return "loss_rises_accuracy_gains"
    if gain_points <= -STEADY_POINTS:
        return "loss_rises_accuracy_falls"
    return "loss_rises_accuracy_holds"


def describe(run: dict[str, Any], label: str | None) -> dict[str, Any]:
    """Title, alt text and the quotable numbers, all read off the same history."""
    h = run["history"]
    best, last = run["best_epoch"], run["epochs"]
    val_loss, val_acc = h["val_loss"], h["val_accuracy"]
    loss_best, loss_last = float(val_loss[best - 1]), float(val_loss[-1])
    acc_best, acc_last = float(val_acc[best - 1]), float(val_acc[-1])
    rise = loss_last / loss_best - 1 if loss_best > 0 else 0.0
    gain_points = 100 * (acc_last - acc_best)
    pattern = pattern_of(rise, gain_points, best, last)
    acc_max_epoch = int(np.argmax(val_acc)) + 1

    if pattern == "losses_fall_together":
        if best == last:
            point = f"training and validation loss fall together to epoch {last}"
        else:
            point = (
                f"training and validation loss fall together; validation loss ends within {percent(rise)} "
                f"of its minimum at epoch {best}"
            )
        point += f"; validation accuracy reaches {percent(acc_last)}"
    else:
        tail = {
            "loss_rises_accuracy_gains": f"while validation accuracy still gains {gain_points:.1f} points",
            "loss_rises_accuracy_falls": f"and validation accuracy falls {-gain_points:.1f} points",
            "loss_rises_accuracy_holds": f"while validation accuracy holds at {percent(acc_last)}",
        }[pattern]
        point = f"validation loss rises {percent(rise, 0)} after epoch {best} {tail}"
    title = f"{capitalised(label)}: {point}" if label else capitalised(point)

    who = f"the {label}" if label else f"model '{run['model']}'"
    alt = (
        f"Two line charts over {last} epochs for {who}, trained on {run['n_train']:,} images and validated on "
        f"{run['n_validation']:,}. Left, cross-entropy loss: training loss falls from {h['train_loss'][0]:.3f} to "
        f"{h['train_loss'][-1]:.3f} nats; validation loss goes from {val_loss[0]:.3f} at epoch 1 to its minimum "
        f"{loss_best:.3f} at epoch {best}"
        + (
            f" and ends at {loss_last:.3f} at epoch {last} ({'+' if rise >= 0 else ''}{percent(rise)})."
            if best < last
            else "."
        )
        + f" Right, accuracy: training accuracy ends at {percent(h['train_accuracy'][-1])}; validation accuracy is "
        f"{percent(acc_best)} at epoch {best} and {percent(acc_last)} at epoch {last}, highest "
        f"{percent(val_acc[acc_max_epoch - 1])} at epoch {acc_max_epoch}. A dotted vertical line marks epoch {best}, "
        "the lowest validation loss."
    )
    return {
        "title": title,
        "alt": alt,
        "model": run["model"],
        "label": label,
        "pattern": pattern,
        "n_train": run["n_train"],
        "n_validation": run["n_validation"],
        "epochs": last,
        "best_epoch": best,
        "train_loss_first": round_significant(h["train_loss"][0]),
        "train_loss_last": round_significant(h["train_loss"][-1]),
        "train_accuracy_last": round_significant(h["train_accuracy"][-1]),
        "train_accuracy_last_percent": percent_value(h["train_accuracy"][-1]),
        "val_loss_first": round_significant(val_loss[0]),
        "val_loss_best": round_significant(loss_best),
        "val_loss_last": round_significant(loss_last),
        "val_loss_rise_ratio": round_significant(rise),
        "val_loss_rise_percent": percent_value(rise),
        "val_accuracy_best": round_significant(acc_best),
        "val_accuracy_best_percent": percent_value(acc_best),
        "val_accuracy_last": round_significant(acc_last),
        "val_accuracy_last_percent": percent_value(acc_last),
        "val_accuracy_gain_points": round(gain_points, 1),
        "val_accuracy_max": round_significant(val_acc[acc_max_epoch - 1]),
        "val_accuracy_max_percent": percent_value(val_acc[acc_max_epoch - 1]),
        "val_accuracy_max_epoch": acc_max_epoch,
        "generalisation_gap_last": round_significant(loss_last - float(h["train_loss"][-1])),
    }


def plot_curves(run: dict[str, Any], title: str) -> Figure:
    """Loss panel and accuracy panel side by side, one legend underneath for both.

    Why one shared legend below: inside either panel it would cover the curves' ends, where the story is.
    """
    h = run["history"]
    epochs, best = run["epochs"], run["best_epoch"]
    x = h["epoch"]
    fig = new_figure(3.2)
    ax_loss, ax_acc = fig.subplots(1, 2)
    lines = []
    for ax, column, scale in ((ax_loss, "loss", 1.0), (ax_acc, "accuracy", 100.0)):
        lines = [
            ax.plot(
                x, scale * h[f"train_{column}"], color=PALETTE[0], linestyle="-", marker="o", markersize=3.5,
                markevery=markevery(epochs), label="training",
            )[0],
            ax.plot(
                x, scale * h[f"val_{column}"], color=PALETTE[1], linestyle="--", marker="s", markersize=3.5,
                markevery=markevery(epochs, 1), label="validation",
            )[0],
            mark_best_epoch(ax, best),
        ]  # fmt: skip
        epoch_axis(ax, epochs)
    ax_loss.set_ylim(bottom=0)
    ax_loss.set_ylabel("cross-entropy loss (nats)")
    ax_loss.set_title("loss", fontsize=9)
    ax_acc.set_ylabel("accuracy (%)")
    ax_acc.set_title("accuracy", fontsize=9)
    fig.legend(
        handles=lines,
        labels=["training", "validation", best_epoch_label(best)],
        loc="outside lower center",
        ncols=3,
    )
    set_title(fig, title)
    return fig


def main(argv: Sequence[str] | None = None) -> None:
    """Read the history and write the figure and its sidecar."""
    figure_main(
        argv,
        __doc__,
        inputs=[Input("history", "history.json written by models/train.py", read_model_history)],
        options=[Option("label", str, "what the model is, for title and alt text (e.g. 'small unregularised CNN')")],
        describe=lambda d, a: describe(d["history"], a.label),
        draw=lambda d, info, a: plot_curves(d["history"], info["title"]),
    )


if __name__ == "__main__":
    sys.exit(run_cli(main))
