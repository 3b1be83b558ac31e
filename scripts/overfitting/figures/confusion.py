"""Confusion matrix of a model on the test set: which garments it mistakes for which.

Rows are the true classes, columns the predicted ones; each cell shows the number of test images, and its
shade the share of that row (so every class is shaded on the same scale whatever its size); shades follow the
square root of the share, so that small confusions show too. The diagonal holds the correct predictions. The
title gives the test accuracy and names the class the model gets wrong most often, with the class it takes it
for. Reads the model's ``metrics.json`` (``--metrics``), writes ``--output`` and
``--meta``.

    PYTHONPATH=scripts python scripts/overfitting/figures/confusion.py \\
        --metrics results/models/cnn/seed-1/metrics.json \\
        --output results/figures/overfitting/confusion.svg --meta results/figures/overfitting/confusion.json
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

import numpy as np
from matplotlib.colors import PowerNorm
from matplotlib.figure import Figure

from kit.cli import run_cli
from kit.figure import Input, figure_main
from kit.io import round_significant
from kit.plotstyle import capitalised, new_figure, percent, percent_value, set_title
from models.modelio import read_model_metrics

#: Sequential grey-blue map: light for small shares, dark for large, the same order in grey print.
CMAP = "Blues"

#: Shade = (row share) ** GAMMA: a square root, so that a 5 % confusion is visibly tinted while the
#: diagonal's 90 % stays darkest; the colour bar shows the true scale.
GAMMA = 0.5

#: Cells shaded darker than this (0 = white, 1 = darkest) get white text, the rest black, so counts stay legible.
DARK_CELL = 0.6

#: How many of the largest off-diagonal cells the sidecar lists.
TOP_CONFUSIONS = 5

#: What the model is, for title and alt text: the figure shows the regularised CNN's test predictions.
LABEL = "the CNN"


def row_shares(confusion: np.ndarray) -> np.ndarray:
    """Each cell as a share of its row (true class); rows with no images stay 0."""
    totals = confusion.sum(axis=1, keepdims=True)
    return np.divide(confusion, totals, out=np.zeros(confusion.shape), where=totals > 0)


def describe(metrics: dict[str, Any], label: str) -> dict[str, Any]:
    """Title, alt text and numbers: accuracy, the weakest class and the most frequent confusions."""
    confusion = metrics["confusion_matrix"]
    names = metrics["class_names"]
    n_test = int(confusion.sum())
    accuracy = float(np.trace(confusion) / n_test)
    totals = confusion.sum(axis=1)
    per_class = np.divide(np.diag(confusion), totals, out=np.full(len(names), np.nan), where=totals > 0)
    worst = int(np.nanargmin(per_class))
    off = confusion.copy()
    np.fill_diagonal(off, -1)
    taken_for = int(np.argmax(off[worst]))
    # Largest off-diagonal cells, ties broken by row then column so the list does not depend on sort details.
    pairs = sorted(
        ((int(off[i, j]), i, j) for i in range(len(names)) for j in range(len(names)) if i != j and off[i, j] > 0),
        key=lambda t: (-t[0], t[1], t[2]),
    )[:TOP_CONFUSIONS]
    top = [{"true": names[i], "predicted": names[j], "count": c} for c, i, j in pairs]

    title = f"{capitalised(label)} classifies {percent(accuracy)} of the {n_test:,} test images correctly"
    if off[worst, taken_for] > 0:
        title += (
            f"; {names[worst]} is hardest ({percent(per_class[worst], 0)} right, most often taken for "
            f"{names[taken_for]})"
        )
    best = int(np.nanargmax(per_class))
    listed = "; ".join(f"{t['true']} taken for {t['predicted']} {t['count']:,} times" for t in top)
    alt = (
        f"Confusion matrix of {label} on {n_test:,} test images, true class in rows and predicted class in "
        f"columns, each cell giving the number of images and shaded by its share of the row. The diagonal holds "
        f"{int(np.trace(confusion)):,} correct predictions ({percent(accuracy)}). Per-class accuracy ranges from "
        f"{percent(per_class[worst])} for {names[worst]} to {percent(per_class[best])} for {names[best]}."
        + (f" The most frequent mistakes: {listed}." if top else " There are no mistakes.")
    )
    return {
        "title": title,
        "alt": alt,
        "model": metrics["model"],
        "label": label,
        "n_test": n_test,
        "test_accuracy": round_significant(accuracy),
        "test_accuracy_percent": percent_value(accuracy),
        "class_names": list(names),
        "confusion_matrix": confusion.tolist(),
        "per_class_accuracy": [round_significant(v) for v in per_class],
        "per_class_accuracy_percent": [None if np.isnan(v) else percent_value(v) for v in per_class],
        "hardest_class": names[worst],
        "hardest_class_accuracy": round_significant(per_class[worst]),
        "hardest_class_taken_for": names[taken_for] if off[worst, taken_for] > 0 else None,
        "easiest_class": names[best],
        "easiest_class_accuracy": round_significant(per_class[best]),
        "top_confusions": top,
    }


def plot_confusion(confusion: np.ndarray, names: Sequence[str], title: str) -> Figure:
    """The matrix as shaded cells with the count written in each; a colour bar for the row share in %."""
    shares = row_shares(confusion)
    k = len(names)
    fig = new_figure(5.4)
    ax = fig.subplots()
    norm = PowerNorm(GAMMA, vmin=0, vmax=100)
    image = ax.imshow(100 * shares, cmap=CMAP, norm=norm, aspect="equal")
    for i in range(k):
        for j in range(k):
            color = "white" if norm(100 * shares[i, j]) > DARK_CELL else "black"
            weight = "bold" if i == j else "normal"
            ax.text(j, i, f"{confusion[i, j]:,}", ha="center", va="center", fontsize=7.5, color=color, weight=weight)
    ax.set_xticks(range(k), names, rotation=40, ha="right", rotation_mode="anchor")
    ax.set_yticks(range(k), names)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    ax.grid(False)
    ax.tick_params(length=0)
    for spine in ax.spines.values():
        spine.set_visible(False)
    bar = fig.colorbar(image, ax=ax, shrink=0.8, pad=0.02, ticks=[0, 5, 10, 25, 50, 75, 100])
    bar.set_label("share of the true class (%)")
    bar.outline.set_visible(False)
    set_title(fig, title)
    return fig


def main(argv: Sequence[str] | None = None) -> None:
    """Read the metrics and write the figure and its sidecar."""
    figure_main(
        argv,
        __doc__,
        inputs=[Input("metrics", "metrics.json of a model, written by models/train.py", read_model_metrics)],
        describe=lambda d, a: describe(d["metrics"], LABEL),
        draw=lambda d, info, a: plot_confusion(
            d["metrics"]["confusion_matrix"], d["metrics"]["class_names"], info["title"]
        ),
    )


if __name__ == "__main__":
    sys.exit(run_cli(main))
