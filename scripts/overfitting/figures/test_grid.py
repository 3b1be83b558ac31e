"""Image grid: for each class, the first test image the model gets right and the first it gets wrong.

One row per class. The left half shows the first correctly classified test image of that class (in test-split
order), the right half the first wrongly classified one, each labelled "true X / predicted Y" with the
model's confidence (its top-class probability). Wrong predictions are marked twice, so the mark survives
grey-scale print: a thick vermillion frame and a "✗" before the label (right ones get a thin grey frame and a
"✓"). A class with no wrong (or no right) test prediction leaves that cell blank with a note, and the sidecar
says so. The title quotes the test accuracy and how confident the model is when it is wrong, over the whole
test set. Reads ``diagnostics.npz`` (``--diagnostics``, test logits) and the prepared dataset (``--data``, the
images); writes ``--output`` and ``--meta``.

    PYTHONPATH=scripts python scripts/overfitting/figures/test_grid.py \\
        --diagnostics results/models/cnn/seed-1/diagnostics.npz \\
        --data results/data/fashion-mnist.npy --output results/figures/overfitting/test_grid.svg \\
        --meta results/figures/overfitting/test_grid.json
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from kit.cli import PipelineError, run_cli
from kit.dataset import CLASS_NAMES, load_split
from kit.figure import Data, Input, figure_main
from kit.io import round_significant
from kit.plotstyle import IMAGE_CMAP, PALETTE, capitalised, new_figure, percent, percent_value, set_title
from models.calibration import confidences
from models.modelio import RERUN, read_diagnostics

#: Marks that tell right from wrong without colour (both glyphs exist in DejaVu Sans, the figures' font).
RIGHT_MARK, WRONG_MARK = "\u2713", "\u2717"

#: Frame and text colour of a wrong prediction, and of a right one.
WRONG_COLOR, RIGHT_COLOR = PALETTE[1], "#222222"

#: Share of wrong predictions counted as "confidently wrong" in the sidecar.
CONFIDENT = 0.9

#: What the model is, for title and alt text: the figure shows the regularised CNN's test predictions.
LABEL = "the CNN"


def check_test_split(diagnostics: dict[str, Any], test_labels: np.ndarray, path: Path, data: Path) -> None:
    """Refuse diagnostics whose test rows do not point at images of the same labels in ``data``'s test split.

    Why: a diagnostics file from a run on another dataset (or a subset) would otherwise label the wrong images.
    """
    index = diagnostics["test_index"]
    if index.max() >= len(test_labels):
        raise PipelineError(
            f"{path}: 'test_index' reaches position {int(index.max())} but the test split of {data} holds "
            f"{len(test_labels):,} images; {RERUN} on this dataset"
        )
    if not np.array_equal(test_labels[index], diagnostics["test_labels"]):
        raise PipelineError(
            f"{path}: 'test_labels' do not match the labels of the test split of {data}; {RERUN} on this dataset"
        )
    if diagnostics["test_logits"].shape[1] != len(CLASS_NAMES):
        raise PipelineError(
            f"{path}: 'test_logits' has {diagnostics['test_logits'].shape[1]} classes, expected {len(CLASS_NAMES)}; "
            f"{RERUN}"
        )


def pick_examples(
    index: np.ndarray, labels: np.ndarray, predicted: np.ndarray, confidence: np.ndarray
) -> list[dict[str, Any]]:
    """Per class, the first right and the first wrong prediction in test-split order (None where there is none).

    ``index`` is each row's position in the test split; rows are visited in that order, so the choice does
    not depend on how the diagnostics file happens to order them.
    """
    order = np.argsort(index, kind="stable")
    cells = []
    for label, name in enumerate(CLASS_NAMES):
        rows = order[labels[order] == label]
        cell: dict[str, Any] = {"class": name, "n_test": int(rows.size)}
        for kind, wanted in (("right", True), ("wrong", False)):
            hits = rows[(predicted[rows] == labels[rows]) == wanted]
            cell[kind] = (
                {
                    "test_index": int(index[hits[0]]),
                    "predicted": CLASS_NAMES[int(predicted[hits[0]])],
                    "confidence": round_significant(confidence[hits[0]]),
                }
                if hits.size
                else None
            )
        cells.append(cell)
    return cells


def describe(
    cells: list[dict[str, Any]], labels: np.ndarray, predicted: np.ndarray, confidence: np.ndarray, label: str
) -> dict[str, Any]:
    """Title, alt text and numbers over the whole test set and for the images shown."""
    correct = predicted == labels
    accuracy = float(correct.mean())
    wrong_median = float(np.median(confidence[~correct])) if (~correct).any() else None
    right_median = float(np.median(confidence[correct])) if correct.any() else None
    confident_share = float((confidence[~correct] > CONFIDENT).mean()) if (~correct).any() else None
    no_wrong = [c["class"] for c in cells if c["wrong"] is None and c["n_test"]]
    no_right = [c["class"] for c in cells if c["right"] is None and c["n_test"]]
    absent = [c["class"] for c in cells if not c["n_test"]]

    title = f"{capitalised(label)} gets {percent(accuracy)} of the test images right"
    if wrong_median is not None:
        title += f"; its wrong answers have a median confidence of {percent(wrong_median, 0)}"

    def shown(cell: dict[str, Any], kind: str) -> str:
        pick = cell[kind]
        return f"{pick['predicted']} at {percent(pick['confidence'], 0)}"

    mistakes = [f"{c['class']} taken for {shown(c, 'wrong')}" for c in cells if c["wrong"] is not None]
    notes = []
    if no_wrong:
        notes.append(f"no wrong prediction for {', '.join(no_wrong)}")
    if no_right:
        notes.append(f"no right prediction for {', '.join(no_right)}")
    if absent:
        notes.append(f"no test image of {', '.join(absent)}")
    alt = (
        f"Grid of test images, one row per class: left the first test image of the class that {label} "
        f"classifies correctly, right the first it gets wrong, each labelled with the true and the predicted "
        f"class and the confidence; wrong ones have a thick frame and a cross. The mistakes shown: "
        f"{'; '.join(mistakes) if mistakes else 'none'}."
        + (f" Blank cells: {'; '.join(notes)}." if notes else "")
        + f" Over all {len(labels):,} test images {label} is right on {percent(accuracy)}"
        + (
            f"; its wrong answers have a median confidence of {percent(wrong_median)} and "
            f"{percent(confident_share)} of them exceed {percent(CONFIDENT, 0)}."
            if wrong_median is not None
            else "."
        )
    )
    return {
        "title": title,
        "alt": alt,
        "label": label,
        "n_test": len(labels),
        "test_accuracy": round_significant(accuracy),
        "test_accuracy_percent": percent_value(accuracy),
        "n_wrong": int((~correct).sum()),
        "wrong_confidence_median": round_significant(wrong_median),
        "right_confidence_median": round_significant(right_median),
        "wrong_confident_share": round_significant(confident_share),
        "confident_threshold": CONFIDENT,
        "cells": cells,
        "classes_without_wrong": no_wrong,
        "classes_without_right": no_right,
        "classes_absent": absent,
        "note": "; ".join(notes) if notes else None,
    }


def draw_image(ax: Axes, image: np.ndarray | None, wrong: bool) -> None:
    """One test image (ink dark on white) in a frame: thick and vermillion if wrong, thin and grey if right."""
    ax.set_xticks([])
    ax.set_yticks([])
    ax.grid(False)
    if image is None:
        ax.axis("off")
        return
    ax.imshow(image, cmap=IMAGE_CMAP, vmin=0, vmax=255)
    for spine in ax.spines.values():
        spine.set_visible(True)
        spine.set_color(WRONG_COLOR if wrong else "#999999")
        spine.set_linewidth(2.2 if wrong else 0.6)


def confidence_text(confidence: float) -> str:
    """A confidence as "87.1 %", but "> 99.9 %" rather than a rounded "100.0 %" the model never reached."""
    return "> 99.9 %" if confidence >= 0.9995 else percent(confidence)


def draw_label(ax: Axes, class_name: str, pick: dict[str, Any] | None, wrong: bool) -> None:
    """Two lines beside an image: "true X / predicted Y", then the mark and the confidence."""
    ax.axis("off")
    if pick is None:
        what = "wrongly" if wrong else "correctly"
        text = f"no {class_name} test image\nis {what} classified"
        ax.text(0, 0.5, text, va="center", fontsize=7.5, color="#666666", style="italic")
        return
    mark = f"{WRONG_MARK} wrong" if wrong else f"{RIGHT_MARK} right"
    text = (
        f"true {class_name} / predicted {pick['predicted']}\n{mark}, confidence {confidence_text(pick['confidence'])}"
    )
    color = WRONG_COLOR if wrong else RIGHT_COLOR
    ax.text(0, 0.5, text, va="center", fontsize=7.5, linespacing=1.35, color=color)


def plot_grid(cells: list[dict[str, Any]], images: np.ndarray, title: str) -> Figure:
    """Ten rows (classes) of image + label, right predictions in the left half, wrong ones in the right."""
    fig = new_figure(5.5)
    grid = fig.add_gridspec(len(cells), 4, width_ratios=[0.45, 2.6, 0.45, 2.6], wspace=0.02, hspace=0.06)
    for row, cell in enumerate(cells):
        for half, kind in enumerate(("right", "wrong")):
            pick = cell[kind]
            image_ax = fig.add_subplot(grid[row, 2 * half])
            label_ax = fig.add_subplot(grid[row, 2 * half + 1])
            draw_image(image_ax, None if pick is None else images[pick["test_index"]], kind == "wrong")
            draw_label(label_ax, cell["class"], pick, kind == "wrong")
            if row == 0:
                label_ax.set_title(
                    "first correctly classified" if kind == "right" else "first wrongly classified",
                    loc="left", fontsize=8.5, weight="bold",
                )  # fmt: skip
    set_title(fig, title)
    return fig


def read_test(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """The test split's labels (int64) and images, in test-split order."""
    test = load_split(path, "test")
    return np.asarray(test.labels, dtype=np.int64), np.asarray(test.images)


def describe_data(data: Data, args: argparse.Namespace) -> dict[str, Any]:
    """Pick the images to show and describe them and the whole test set."""
    diagnostics = data["diagnostics"]
    confidence, predicted = confidences(diagnostics["test_logits"])
    labels = diagnostics["test_labels"]
    cells = pick_examples(diagnostics["test_index"], labels, predicted, confidence)
    return describe(cells, labels, predicted, confidence, LABEL)


def main(argv: Sequence[str] | None = None) -> None:
    """Check the diagnostics against the dataset, pick the images, and write the figure and its sidecar."""
    figure_main(
        argv,
        __doc__,
        inputs=[
            Input("diagnostics", "diagnostics.npz written by models/train.py", read_diagnostics),
            Input("data", "prepared dataset .npy written by dataset/prepare.py", read_test),
        ],
        check=lambda d, a: check_test_split(d["diagnostics"], d["data"][0], a.diagnostics, a.data),
        describe=describe_data,
        draw=lambda d, info, a: plot_grid(info["cells"], d["data"][1], info["title"]),
    )


if __name__ == "__main__":
    sys.exit(run_cli(main))
