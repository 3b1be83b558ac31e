"""Line chart: how sure the model is of its right and of its wrong validation predictions, epoch by epoch.

A prediction's confidence is its top-class probability. The chart shows the mean confidence of the correctly
and of the wrongly classified validation examples, the mean over all of them, and the validation accuracy for
reference: a calibrated model's mean confidence equals its accuracy, so the gap between those two lines is
over-confidence. When wrong predictions become more confident, their cross-entropy grows, which is how the
validation loss can rise while accuracy rises too. Reads ``--history``, writes ``--output`` and ``--meta``.

    PYTHONPATH=scripts python scripts/overfitting/figures/confidence.py \\
        --history results/models/overfit/seed-1/history.json \\
        --output results/figures/overfitting/confidence.svg --meta results/figures/overfitting/confidence.json
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from kit.cli import run_cli
from kit.facts import choose
from kit.figure import Input, figure_main
from kit.io import round_significant
from kit.plotstyle import PALETTE, capitalised, new_figure, percent, percent_value, set_title
from models.modelio import read_model_history
from overfitting.epochs import best_epoch_label, epoch_axis, mark_best_epoch, markevery

COLUMNS = ("val_confidence_mean", "val_confidence_correct_mean", "val_confidence_wrong_mean", "val_ece")

#: A change of mean confidence smaller than this (in percentage points) is reported as no change.
STEADY_POINTS = 0.5

#: The four lines: history column, legend label, colour, dash pattern, marker. Dash pattern and marker
#: differ for every line so they stay apart in grey print.
LINES: tuple[tuple[str, str, str, Any, str], ...] = (
    ("val_confidence_correct_mean", "confidence, correctly classified", PALETTE[0], "-", "o"),
    ("val_confidence_wrong_mean", "confidence, wrongly classified", PALETTE[1], "--", "s"),
    ("val_confidence_mean", "confidence, all examples", PALETTE[2], "-.", "D"),
    ("val_accuracy", "validation accuracy", "black", (0, (3, 1, 1, 1, 1, 1)), "^"),
)


def describe(run: dict[str, Any]) -> dict[str, Any]:
    """Title, alt text and numbers: confidence of each group at the best and the last epoch."""
    h = run["history"]
    best, last = run["best_epoch"], run["epochs"]

    def at(name: str, epoch: int) -> float:
        return float(h[name][epoch - 1])

    wrong_best, wrong_last = at("val_confidence_wrong_mean", best), at("val_confidence_wrong_mean", last)
    over_last = at("val_confidence_mean", last) - at("val_accuracy", last)
    change = 100 * (wrong_last - wrong_best)
    if np.isnan(change) or best == last:
        title = (
            f"At epoch {last} right predictions average {percent(at('val_confidence_correct_mean', last))} "
            f"confidence, wrong ones {percent(wrong_last)}"
        )
    elif change >= STEADY_POINTS:
        title = (
            f"After epoch {best} wrong predictions grow more confident ({percent(wrong_best)} \u2192 "
            f"{percent(wrong_last)})"
        )
    elif change <= -STEADY_POINTS:
        title = (
            f"After epoch {best} wrong predictions grow less confident ({percent(wrong_best)} \u2192 "
            f"{percent(wrong_last)})"
        )
    else:
        title = f"Wrong predictions keep a mean confidence of about {percent(wrong_last)} after epoch {best}"
    if abs(100 * over_last) >= STEADY_POINTS and best < last:
        title += (
            f"; confidence overall {'exceeds' if over_last > 0 else 'falls short of'} accuracy by "
            f"{abs(100 * over_last):.1f} points"
        )

    def group(epoch: int) -> str:
        return (
            f"at epoch {epoch} right predictions average {percent(at('val_confidence_correct_mean', epoch))}, "
            f"wrong ones {percent(at('val_confidence_wrong_mean', epoch))}, all "
            f"{percent(at('val_confidence_mean', epoch))} against an accuracy of {percent(at('val_accuracy', epoch))}"
        )

    alt = (
        f"Line chart over {last} epochs of the mean top-class probability (confidence) of the validation "
        f"predictions, for correctly classified examples, wrongly classified ones and all, with the validation "
        f"accuracy for reference. {capitalised(group(best))} (epoch {best} has the lowest "
        f"validation loss); {group(last)}. The expected calibration error is {percent(at('val_ece', best))} at "
        f"epoch {best} and {percent(at('val_ece', last))} at epoch {last}."
    )
    if best == last or np.isnan(change):
        notice = choose(
            [],
            f"Notice the gap between the mean confidence of all predictions and the accuracy at epoch {last}: "
            f"{abs(100 * over_last):.1f} points.",
        )
    else:
        notice = choose(
            [
                (wrong_last > wrong_best, f"wrong predictions' mean confidence {wrong_last} > {wrong_best}",
                 f"Notice that the wrong predictions' mean confidence is higher at the last epoch "
                 f"({percent(wrong_last)}) than at the marked epoch ({percent(wrong_best)})."),
                (wrong_last < wrong_best, f"wrong predictions' mean confidence {wrong_last} < {wrong_best}",
                 f"Notice that the wrong predictions' mean confidence is lower at the last epoch "
                 f"({percent(wrong_last)}) than at the marked epoch ({percent(wrong_best)})."),
            ],
            f"Notice that the wrong predictions' mean confidence is the same at the marked and the last epoch "
            f"({percent(wrong_last)}).",
        )  # fmt: skip
    numbers: dict[str, Any] = {"model": run["model"], "epochs": last, "best_epoch": best, "notice": notice}
    for name in (*COLUMNS, "val_accuracy"):
        for which, epoch in (("best", best), ("last", last)):
            numbers[f"{name}_{which}"] = round_significant(at(name, epoch))
            numbers[f"{name}_{which}_percent"] = None if np.isnan(at(name, epoch)) else percent_value(at(name, epoch))
    numbers["overconfidence_last_points"] = round(100 * over_last, 1)
    numbers["overconfidence_best_points"] = round(100 * (at("val_confidence_mean", best) - at("val_accuracy", best)), 1)
    numbers["wrong_confidence_change_points"] = None if np.isnan(change) else round(change, 1)
    return {"title": title, "alt": alt, **numbers}


def plot_confidence(run: dict[str, Any], title: str) -> Figure:
    """Four lines in % over the epochs, legend to the right so the lines' ends stay visible."""
    h = run["history"]
    epochs, best = run["epochs"], run["best_epoch"]
    x = h["epoch"]
    fig = new_figure(3.2)
    ax = fig.subplots()
    handles = []
    for offset, (column, label, color, style, marker) in enumerate(LINES):
        (line,) = ax.plot(
            x, 100 * h[column], color=color, linestyle=style, marker=marker, markersize=3.5,
            markevery=markevery(epochs, offset), label=label,
        )  # fmt: skip
        handles.append(line)
    handles.append(mark_best_epoch(ax, best))
    epoch_axis(ax, epochs)
    ax.set_ylim(0, 101)
    ax.set_ylabel("mean confidence, accuracy (%)")
    fig.legend(handles, [*(line[1] for line in LINES), best_epoch_label(best)], loc="outside right center")
    set_title(fig, title)
    return fig


def read_history(path: Path) -> dict[str, Any]:
    """``history.json`` checked, with the columns this figure draws."""
    return read_model_history(path, COLUMNS)


def main(argv: Sequence[str] | None = None) -> None:
    """Read the history and write the figure and its sidecar."""
    figure_main(
        argv,
        __doc__,
        inputs=[Input("history", "history.json written by models/train.py", read_history)],
        describe=lambda d, a: describe(d["history"]),
        draw=lambda d, info, a: plot_confidence(d["history"], info["title"]),
    )


if __name__ == "__main__":
    sys.exit(run_cli(main))
