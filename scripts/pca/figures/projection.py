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
from kit.facts import choose, state
from kit.figure import Data, Input, figure_main
from kit.formats import pct
from kit.plotstyle import CLASS_COLORS, CLASS_MARKERS, new_figure, percent, set_title
from pca.pcaio import FOOTWEAR, TOPS, check_same_pixels, load_pca

#: The groups the notice looks at, by class name: a group "has its own region" when most of its images lie nearest
#: the centre of a class of the same group.
GROUPS: dict[str, frozenset[str]] = {"footwear": FOOTWEAR, "trousers": frozenset({"Trouser"}), "tops": TOPS}

#: A group has its own region when at least this share of its images lies nearest a centre of its own group; the
#: kinds of top overlap when fewer than ``OVERLAP`` of the tops lie nearest the centre of their own kind.
OWN_REGION = 2 / 3
OVERLAP = 1 / 2

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


def nearest_centre_shares(
    scores: np.ndarray, labels: np.ndarray, centroids: dict[int, tuple[float, float]]
) -> dict[str, float | None]:
    """How the groups sit in the plane: for each group, the share of its images nearest a centre of its own group
    (``<group>``), and for the tops, the share nearest the centre of their own class (``tops_own_kind``)."""
    order = list(centroids)
    centres = np.array([centroids[c] for c in order])
    nearest = np.asarray(order)[np.argmin(((scores[:, None, :] - centres[None]) ** 2).sum(axis=2), axis=1)]
    names = np.array(CLASS_NAMES)
    shares: dict[str, float | None] = {}
    for name, members in GROUPS.items():
        mine = np.isin(names[labels], list(members))
        shares[name] = float(np.isin(names[nearest[mine]], list(members)).mean()) if mine.any() else None
    tops = np.isin(names[labels], list(TOPS))
    shares["tops_own_kind"] = float(np.mean(nearest[tops] == labels[tops])) if tops.any() else None
    return shares


def region_notice(shares: dict[str, float | None]) -> dict[str, Any]:
    """The caption's "what to notice" about the groups, chosen by the measured shares."""
    present = {name: share for name, share in shares.items() if share is not None}
    if len(present) < len(shares):
        return state(
            "Notice which classes lie near each other; not every group of garments is among these test images.",
            **present,
        )
    own = [shares[name] for name in GROUPS]
    separate = min(own) >= OWN_REGION
    overlap = shares["tops_own_kind"] < OVERLAP
    measured = (
        f"{pct(shares['footwear'], 0)} of the footwear, {pct(shares['trousers'], 0)} of the trousers and "
        f"{pct(shares['tops'], 0)} of the tops lie nearest a class centre of their own group, and "
        f"{pct(shares['tops_own_kind'], 0)} of the tops nearest the centre of their own kind of top"
    )
    return choose(
        [
            (
                separate and overlap,
                f"each group >= {OWN_REGION:.2f} nearest its own group, tops < {OVERLAP:.2f} nearest their own kind",
                f"Notice that PCA was never told the classes, yet footwear, trousers and tops fall in different "
                f"regions while the four kinds of tops overlap: {measured}.",
            ),
            (
                separate,
                f"each group >= {OWN_REGION:.2f} nearest its own group",
                f"Notice that PCA was never told the classes, yet footwear, trousers and tops fall in different "
                f"regions: {measured}.",
            ),
        ],
        f"Notice how the groups mix in this plane: {measured}.",
        values=present,
    )


def describe(
    centroids: dict[int, tuple[float, float]],
    ratios: np.ndarray,
    n_images: int,
    shares: dict[str, float | None] | None = None,
) -> dict[str, Any]:
    """Title, alt text, centroids and the facts the page states; the alt text orders classes along each axis, as a
    reader sees them."""
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
    centres = (
        f"Judged by the class centres, the first component runs from {names[by_pc1[0]]} to {names[by_pc1[-1]]} "
        f"and the second from {names[by_pc2[0]]} to {names[by_pc2[-1]]}."
    )
    facts: dict[str, Any] = {"centres": state(centres)}
    if shares is not None:
        facts["notice"] = region_notice(shares)
        if shares.get("tops_own_kind") is not None:
            facts["tops_overlap"] = choose(
                [
                    (
                        shares["tops_own_kind"] < OVERLAP,
                        f"tops nearest their own kind's centre {shares['tops_own_kind']:.3f} < {OVERLAP:.2f}",
                        "T-shirts, pullovers, coats and shirts overlap heavily: only "
                        f"{pct(shares['tops_own_kind'], 0)} of them lie nearest the centre of their own kind.",
                    )
                ],
                f"{pct(shares['tops_own_kind'], 0)} of the T-shirts, pullovers, coats and shirts lie nearest the "
                "centre of their own kind.",
                values={"tops_own_kind": shares["tops_own_kind"]},
            )
    return {
        "title": title,
        "alt": alt,
        **facts,
        "nearest_centre_shares": shares,
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
    scores, labels = scores_of(data), data["data"][1]
    centroids = class_centroids(scores, labels)
    shares = nearest_centre_shares(scores, labels, centroids)
    return describe(centroids, data["pca"]["explained_variance_ratio"], len(data["data"][0]), shares)


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
