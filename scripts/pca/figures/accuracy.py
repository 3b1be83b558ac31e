"""Line chart: how many components a classifier needs, measured against how much variance they keep.

Reads ``classification.json`` (pca/classify.py): the test accuracy of a linear classifier (LDA) fitted on the
first k PCA scores of the training images, for each k measured, and the share of the variance those k components
keep. Both are drawn against k on a logarithmic axis, with the band within ``--within-pp`` percentage points of
the best accuracy, the smallest k inside it marked (only when the counts include all components:
see ``pcaio.enough_count``), and the share of the most common test class (what always
guessing it would score) as a dashed line.

    PYTHONPATH=scripts python scripts/pca/figures/accuracy.py --classification results/pca/classification.json \\
        --within-pp 1 --output results/figures/pca/accuracy.svg --meta results/figures/pca/accuracy.json
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Sequence
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import FixedLocator, NullLocator

from kit.cli import PipelineError, run_cli
from kit.facts import choose
from kit.figure import Data, Input, Option, figure_main
from kit.formats import pct
from kit.plotstyle import PALETTE, as_list, new_figure, percent, set_title
from pca.pcaio import enough_count, read_classification


def summary(data: dict[str, Any], within_pp: float) -> dict[str, Any]:
    """The numbers the chart marks: accuracies, the best count and the smallest count within ``within_pp`` (None when
    the counts stop short of all components: see ``pcaio.enough_count``)."""
    counts, correct, n_test = data["counts"], data["correct"], data["n_test"]
    accuracy = np.asarray(correct, dtype=float) / n_test
    best = int(np.argmax(accuracy))
    k_enough = enough_count(counts, correct, n_test, within_pp, data["n_components_available"])
    enough = None if k_enough is None else counts.index(k_enough)
    return {"counts": counts, "accuracy": accuracy, "best": best, "enough": enough}


def describe(data: dict[str, Any], within_pp: float) -> dict[str, Any]:
    """Title, alt text, the caption's notice and the numbers drawn."""
    s = summary(data, within_pp)
    counts, accuracy, best, enough = s["counts"], s["accuracy"], s["best"], s["enough"]
    kept = data["variance_kept"]
    available = data["n_components_available"]
    points = f"{within_pp:g} point{'' if within_pp == 1 else 's'}"
    if enough is not None and enough < best:
        title = f"A linear classifier comes within {points} of its best test accuracy with {counts[enough]} components"
    else:
        title = "Test accuracy of a linear classifier on the first k component scores"
    listed = ", ".join(f"{percent(a)} with k = {k}" for k, a in zip(counts, accuracy, strict=True))
    band = (
        f"a band marks the accuracies within {points} of it, first reached at k = {counts[enough]}"
        if enough is not None
        else f"the counts stop short of all {available} components, so no count is marked as enough"
    )
    alt = (
        f"Line chart against the number of components k (logarithmic axis, k = {', '.join(map(str, counts))}): the "
        f"test accuracy of a linear classifier (LDA) fitted on the first k scores of the "
        f"{data['n_train']:,} training images and scored on {data['n_test']:,} test images, {listed}; and the share "
        f"of the variance the same k components keep, from {percent(kept[0])} to {percent(kept[-1])}. The best "
        f"accuracy, {percent(accuracy[best])}, is at k = {counts[best]}; {band}. A dashed line at "
        f"{percent(data['majority_share'])} marks always guessing the most common class."
    )
    notice = choose(
        [
            (
                len(counts) == 1,
                "one count measured",
                f"Only k = {counts[0]} was measured: {pct(accuracy[0])} correct, with {pct(kept[0])} of the variance.",
            ),
            (
                enough is None,
                f"largest count measured {counts[-1]} < {available}",
                f"The counts measured stop at k = {counts[-1]}, short of all {available} components, so the chart "
                "cannot show how many are enough: the accuracy of larger counts is not measured.",
            ),
        ],
        f"Notice where the two curves stand at k = {counts[enough or 0]}, the smallest count within {points} of the "
        f"best accuracy: the classifier labels {pct(accuracy[enough or 0])} of the test images correctly, and the "
        f"components keep {pct(kept[enough or 0])} of the variance.",
        values={"k_enough": None if enough is None else counts[enough], "k_best": counts[best]},
    )
    return {
        "title": title,
        "alt": alt,
        "notice": notice,
        "counts": list(counts),
        "accuracy": as_list(accuracy),
        "variance_kept": as_list(kept),
        "k_best": counts[best],
        "k_enough": None if enough is None else counts[enough],
        "within_pp": within_pp,
        "majority_share": data["majority_share"],
    }


def plot_accuracy(data: dict[str, Any], within_pp: float, title: str) -> Figure:
    """Accuracy and variance kept (both %) against k on a log axis; the band, the enough count, the guessing line."""
    s = summary(data, within_pp)
    counts, accuracy, best, enough = s["counts"], 100 * s["accuracy"], s["best"], s["enough"]
    kept = 100 * np.asarray(data["variance_kept"], dtype=float)
    fig = new_figure(3.2)
    ax = fig.subplots()
    top = accuracy[best]
    ax.axhspan(top - within_pp, top, color=PALETTE[0], alpha=0.12, linewidth=0, label=f"within {within_pp:g} pt")
    ax.plot(counts, kept, color=PALETTE[1], marker="s", markersize=3.5, label="variance kept")
    ax.plot(counts, accuracy, color=PALETTE[0], marker="o", markersize=4, label="test accuracy")
    guess = 100 * data["majority_share"]
    ax.axhline(guess, color="#555555", linewidth=0.8, linestyle="--", label="guessing the commonest class")
    if enough is not None:
        ax.plot([counts[enough]], [accuracy[enough]], marker="D", markersize=7, color=PALETTE[2], linestyle="none")
        ax.annotate(
            f"k = {counts[enough]}: {accuracy[enough]:.1f} %",
            xy=(counts[enough], accuracy[enough]),
            xytext=(4, -14),
            textcoords="offset points",
            ha="left",
            va="top",
            fontsize=8,
        )
    ax.set_xscale("log")
    if len(counts) > 1:
        ax.set_xlim(counts[0] / 1.3, counts[-1] * 1.3)
    ax.xaxis.set_major_locator(FixedLocator(counts))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.set_xticks(counts, [str(k) for k in counts], fontsize=7 if len(counts) > 10 else 8)
    ax.set_ylim(0, 102)
    ax.set_yticks(range(0, 101, 20), [f"{v} %" for v in range(0, 101, 20)])
    ax.set_xlabel("number of components k (log scale)")
    ax.set_ylabel("% (test images correct; variance kept)")
    ax.legend(loc="lower right", fontsize=7.5)
    set_title(fig, title)
    return fig


def check(data: Data, args: argparse.Namespace) -> None:
    """Refuse a tolerance that is not a finite number above 0."""
    if not (math.isfinite(args.within_pp) and args.within_pp > 0):
        raise PipelineError(f"--within-pp must be a finite number > 0, got {args.within_pp}")


def main(argv: Sequence[str] | None = None) -> None:
    """Read the accuracies and write the figure and its sidecar."""
    figure_main(
        argv,
        __doc__,
        inputs=[Input("classification", "classification.json written by pca/classify.py", read_classification)],
        options=[
            Option("within_pp", float, "percentage points below the best accuracy that still count as enough"),
        ],
        check=check,
        describe=lambda d, a: describe(d["classification"], a.within_pp),
        draw=lambda d, info, a: plot_accuracy(d["classification"], a.within_pp, info["title"]),
    )


if __name__ == "__main__":
    sys.exit(run_cli(main))
