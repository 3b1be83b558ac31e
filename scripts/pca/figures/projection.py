"""Scatter plot: every test image placed by its scores on the first two principal components.

Shows what a two-number summary of an image keeps: images of the same class land near each other, and
some classes overlap. Each class has its own colour and marker (so the plot survives grey-scale print) and a
large outlined marker at its centroid. The dense point cloud is rasterised, so the SVG stays small while
axes and text stay vector.

    PYTHONPATH=scripts python scripts/pca/figures/projection.py --pca results/pca/pca.npz \\
        --data results/data/fashion-mnist.npy \\
        --output results/figures/pca/projection.svg --meta results/figures/pca/projection.json
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from kit.cli import PipelineError, run_cli
from kit.dataset import CLASS_NAMES, load_split
from kit.figure import Data, Input, figure_main
from kit.plotstyle import CLASS_COLORS, CLASS_MARKERS, new_figure, percent, set_title
from pca.pcaio import check_same_pixels, load_pca

#: The points of each class are drawn in this many interleaved rounds, so that no class is buried under
#: the classes drawn after it.
ROUNDS = 10


def project(images: np.ndarray, mean: np.ndarray, components: np.ndarray) -> np.ndarray:
    """Scores ``(n, 2)`` of the images on the first two components."""
    if components.shape[0] < 2:
        raise PipelineError("the PCA holds fewer than 2 components; refit it with at least 2")
    return (images - mean) @ components[:2].T


def class_centroids(scores: np.ndarray, labels: np.ndarray) -> dict[int, tuple[float, float]]:
    """Mean (pc1, pc2) of each class present, in class order."""
    return {
        label: (float(scores[labels == label, 0].mean()), float(scores[labels == label, 1].mean()))
        for label in range(len(CLASS_NAMES))
        if np.any(labels == label)
    }


def describe(centroids: dict[int, tuple[float, float]], ratios: np.ndarray, n_images: int) -> dict[str, Any]:
    """Title, alt text and centroids; the alt text orders classes along each axis, as a reader sees them."""
    names = {label: CLASS_NAMES[label] for label in centroids}
    by_pc1 = sorted(centroids, key=lambda c: centroids[c][0])
    by_pc2 = sorted(centroids, key=lambda c: centroids[c][1])
    title = (
        f"Component 1 runs from {names[by_pc1[0]]} to {names[by_pc1[-1]]}, "
        f"component 2 from {names[by_pc2[0]]} to {names[by_pc2[-1]]}"
    )
    alt = (
        f"Scatter plot of {n_images:,} test images by their scores on principal component 1 (x axis, "
        f"{percent(ratios[0])} of the variance) and component 2 (y axis, {percent(ratios[1])}), one colour "
        f"and marker per class. Class centroids from lowest to highest component-1 score: "
        + ", ".join(f"{names[c]} ({centroids[c][0]:.2f})" for c in by_pc1)
        + ". From lowest to highest component-2 score: "
        + ", ".join(f"{names[c]} ({centroids[c][1]:.2f})" for c in by_pc2)
        + "."
    )
    return {
        "title": title,
        "alt": alt,
        "n_images": n_images,
        "explained_variance_percent": [round(100 * float(r), 1) for r in ratios[:2]],
        "centroids": {names[c]: [round(x, 4), round(y, 4)] for c, (x, y) in centroids.items()},
        "score_units": "pixel values scaled to [0, 1]; scores are dot products with unit-length components",
    }


def plot_projection(
    scores: np.ndarray,
    labels: np.ndarray,
    centroids: dict[int, tuple[float, float]],
    ratios: np.ndarray,
    title: str,
) -> Figure:
    """All points, coloured and marked by class, with class centroids and a legend of class names."""
    fig = new_figure(4.3)
    ax = fig.subplots()
    members = {label: np.flatnonzero(labels == label) for label in centroids}
    for round_ in range(ROUNDS):
        for label, index in members.items():
            part = index[round_::ROUNDS]
            ax.scatter(
                scores[part, 0],
                scores[part, 1],
                s=5,
                marker=CLASS_MARKERS[label],
                color=CLASS_COLORS[label],
                alpha=0.45,
                linewidths=0,
                rasterized=True,  # 10 000 points as one embedded image; axes and text stay vector
            )
    for label, (x, y) in centroids.items():
        ax.plot(
            x,
            y,
            marker=CLASS_MARKERS[label],
            markersize=10,
            markerfacecolor=CLASS_COLORS[label],
            markeredgecolor="white",
            markeredgewidth=1.2,
            linestyle="none",
            zorder=3,
        )
    handles = [
        Line2D(
            [],
            [],
            marker=CLASS_MARKERS[label],
            color=CLASS_COLORS[label],
            markersize=6,
            linestyle="none",
            label=CLASS_NAMES[label],
        )
        for label in centroids
    ]
    ax.legend(
        handles=handles,
        title="class (large marker:\nclass centroid)",
        loc="upper left",
        bbox_to_anchor=(1.01, 1.0),
        handletextpad=0.3,
        borderaxespad=0,
    )
    ax.set_xlabel(f"score on component 1 ({percent(ratios[0])} of variance)")
    ax.set_ylabel(f"score on component 2 ({percent(ratios[1])} of variance)")
    set_title(fig, title)
    return fig


def read_test(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """The test split's images as float rows scaled to [0, 1], and their labels."""
    test = load_split(path, "test")
    return test.flat_float(), np.asarray(test.labels)


def check(data: Data, args: argparse.Namespace) -> None:
    """Refuse test images of another size than the PCA was fitted on."""
    check_same_pixels(args.data, data["data"][0].shape[1], args.pca, data["pca"])


def scores_of(data: Data) -> np.ndarray:
    """The test images' scores on the first two components."""
    return project(data["data"][0], data["pca"]["mean"], data["pca"]["components"])


def describe_data(data: Data, args: argparse.Namespace) -> dict[str, Any]:
    """``describe`` of the test images' scores."""
    centroids = class_centroids(scores_of(data), data["data"][1])
    return describe(centroids, data["pca"]["explained_variance_ratio"], len(data["data"][0]))


def draw(data: Data, info: dict[str, Any], args: argparse.Namespace) -> Figure:
    """The scatter plot of the test images' scores."""
    scores, labels = scores_of(data), data["data"][1]
    ratios = data["pca"]["explained_variance_ratio"]
    return plot_projection(scores, labels, class_centroids(scores, labels), ratios, info["title"])


def main(argv: Sequence[str] | None = None) -> None:
    """Project the test images and write the figure and its sidecar."""
    figure_main(
        argv,
        __doc__,
        inputs=[
            Input("pca", "pca.npz written by pca/fit.py (mean, components)", load_pca),
            Input("data", "prepared dataset .npy written by dataset/prepare.py", read_test),
        ],
        check=check,
        describe=describe_data,
        draw=draw,
    )


if __name__ == "__main__":
    sys.exit(run_cli(main))
