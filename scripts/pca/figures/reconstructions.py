"""Image grid: one test image per class beside its reconstructions from k principal components.

A reconstruction keeps an image's scores on the first k components and drops the rest:
``x_k = mean + sum_{i <= k} score_i * component_i``. Each row is the first test image of one class (in
class order; classes missing from a small dataset are skipped), each column one ``--counts`` value, titled
with the share of variance those k components keep. The sidecar also reports the mean squared
reconstruction error over the whole test set for each k (pixels scaled to [0, 1]), and the facts the page states
about them: whether the fewest components leave the images nearer the mean image than their originals, whether the
most components redraw them closely (a typical pixel error of at most ``pcaio.CLOSE_RMSE``), and how the share of
the error removed on the test images compares with the share of training variance kept.

    PYTHONPATH=scripts python scripts/pca/figures/reconstructions.py --pca results/pca/pca.npz \\
        --data results/data/fashion-mnist.npy --counts 1 4 24 84 187 \\
        --output results/figures/pca/reconstructions.svg \\
        --meta results/figures/pca/reconstructions.json
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from kit.cli import PipelineError, run_cli
from kit.dataset import CLASS_NAMES, load_split
from kit.facts import compare
from kit.figure import Data, Input, Option, figure_main
from kit.formats import fixed, pct, plural
from kit.io import round_significant
from kit.plotstyle import IMAGE_CMAP, as_list, new_figure, percent, set_title
from pca.pcaio import CLOSE_RMSE, check_same_pixels, load_pca

#: Test and training shares count as "about the same" when they differ by at most this (a fraction: 1 point).
SAME_SHARE = 0.01


def check_counts(counts: Sequence[int], available: int) -> list[int]:
    """Return the counts sorted and without repeats, or raise an error naming ``--counts``."""
    bad = [k for k in counts if not 1 <= k <= available]
    if bad:
        raise PipelineError(
            f"--counts {' '.join(map(str, bad))} out of range: each count must be from 1 to {available} "
            "(the number of components in the PCA)"
        )
    return sorted(set(counts))


def first_of_each_class(labels: np.ndarray) -> list[tuple[int, int]]:
    """``(class, index)`` of the first image of each class present, in class order."""
    picks = []
    for label in range(len(CLASS_NAMES)):
        where = np.flatnonzero(labels == label)
        if where.size:
            picks.append((label, int(where[0])))
    return picks


def reconstruct(
    images: np.ndarray, mean: np.ndarray, components: np.ndarray, counts: Sequence[int]
) -> list[np.ndarray]:
    """Reconstructions of ``images`` (n, d) from the first k components, for each k in ``counts``.

    Projects once onto the largest k needed; each smaller k uses the leading columns of the same scores.
    """
    centred = images - mean
    scores = centred @ components[: max(counts)].T
    return [mean + scores[:, :k] @ components[:k] for k in counts]


def reconstruction_mse(
    images: np.ndarray, mean: np.ndarray, components: np.ndarray, counts: Sequence[int], chunk: int = 2048
) -> list[float]:
    """Mean squared error per pixel of the k-component reconstructions over all ``images``, for each k.

    Works through the images in chunks so that memory stays bounded on the full test set.
    """
    totals = np.zeros(len(counts))
    top = components[: max(counts)]
    for start in range(0, len(images), chunk):
        centred = images[start : start + chunk] - mean
        scores = centred @ top.T  # one projection serves every k
        for j, k in enumerate(counts):
            residual = scores[:, :k] @ top[:k]
            np.subtract(centred, residual, out=residual)
            totals[j] += float(np.einsum("ij,ij->", residual, residual))
    return (totals / images.size).tolist()


def error_text(value: float, threshold: float = CLOSE_RMSE) -> str:
    """A typical pixel error with enough decimals that it never reads as the threshold it is compared with."""
    for digits in (3, 4, 5, 6):
        text = fixed(value, digits)
        if float(text) != threshold or value == threshold:
            return text
    return fixed(value, 7)


def describe(
    classes: Sequence[int],
    counts: Sequence[int],
    retained: np.ndarray,
    mse: Sequence[float],
    n_test: int,
    mse_mean_only: float,
    test_indices: Sequence[int],
) -> dict[str, Any]:
    """Title, alt text, the facts the page states and the quotable numbers (variance kept and test error for each k)."""
    k_first, k_last = counts[0], counts[-1]
    rmse = [math.sqrt(e) for e in mse]
    removed = [1 - e / mse_mean_only if mse_mean_only > 0 else 0.0 for e in mse]
    if len(counts) > 1 and mse[-1] < mse[0]:
        title = (
            f"Redrawn from more components, the test images come closer to the originals: {k_last} components keep "
            f"{percent(retained[-1], 0)} of the variance"
        )
    else:
        title = f"Test images redrawn from k = {', '.join(map(str, counts))} components"
    names = [CLASS_NAMES[c] for c in classes]
    kept = ", ".join(f"{percent(r, 0)}" for r in retained)
    errors = ", ".join(f"{e:.4f} with k = {k}" for k, e in zip(counts, mse, strict=True))
    alt = (
        f"Grid of {len(classes)} test images, one per class ({', '.join(names)}), each followed by its "
        f"reconstructions from k = {', '.join(map(str, counts))} principal components, which keep {kept} of "
        "the variance. Over all "
        f"{n_test:,} test images the mean squared error per pixel (pixel values 0 to 1) is {errors}, "
        f"against {mse_mean_only:.4f} for the mean image alone."
    )
    to_mean = mse_mean_only - mse[0]  # Pythagoras: the error from the mean splits into these two parts
    first = compare(
        mse[0],
        ">",
        to_mean,
        f"With {plural(k_first, 'component')} ({pct(retained[0])} of the variance) the redrawn test images lie, on "
        f"average, closer to the mean image than to their originals (mean squared distance per pixel "
        f"{fixed(to_mean, 4)} from the mean image, {fixed(mse[0], 4)} from the original): blurred shapes near the "
        "mean image.",
        f"With {plural(k_first, 'component')} ({pct(retained[0])} of the variance) the redrawn test images already lie "
        f"closer to their originals than to the mean image (mean squared distance per pixel {fixed(mse[0], 4)} from "
        f"the original, {fixed(to_mean, 4)} from the mean image).",
        what="squared error from the original vs squared distance from the mean image",
    )
    last = compare(
        rmse[-1],
        "<=",
        CLOSE_RMSE,
        f"With {plural(k_last, 'component')} ({pct(retained[-1])} of the variance) a typical pixel of the redrawn "
        f"test images is off by {error_text(rmse[-1])}, at most {CLOSE_RMSE:g}, a twentieth of the way from black "
        "to white.",
        f"Even with {plural(k_last, 'component')} ({pct(retained[-1])} of the variance) a typical pixel of the "
        f"redrawn test images is off by {error_text(rmse[-1])}, more than {CLOSE_RMSE:g}, a twentieth of the way "
        "from black to white.",
        what="typical pixel error with the most components drawn vs the closeness threshold",
    )
    trend = compare(
        mse[-1],
        "<",
        mse[0],
        f"The error falls from {fixed(mse[0], 4)} with {plural(k_first, 'component')} to {fixed(mse[-1], 4)} with "
        f"{num_text(k_last)}: a typical pixel is off by {fixed(rmse[0], 3)} at first and by {fixed(rmse[-1], 3)} at "
        "the end, on a scale where black is 0 and white is 1.",
        f"The error is {fixed(mse[0], 4)} with {plural(k_first, 'component')} and {fixed(mse[-1], 4)} with "
        f"{num_text(k_last)}: a typical pixel is off by {fixed(rmse[0], 3)} and by {fixed(rmse[-1], 3)}, on a scale "
        "where black is 0 and white is 1.",
        what="error with the most components vs with the fewest",
    )
    gaps = [abs(a - b) for a, b in zip(removed, retained, strict=True)]
    worst = int(np.argmax(gaps))
    pairs = ", ".join(f"k = {k}: {pct(a)} against {pct(b)}" for k, a, b in zip(counts, removed, retained, strict=True))
    notice = compare(
        max(gaps),
        "<=",
        SAME_SHARE,
        f"Notice that on the test images each k removes about the share of the mean image's error that it keeps of "
        f"the training variance ({pairs}; the gaps are at most {SAME_SHARE * 100:g} point): components fitted on the "
        "training images describe new images about as well.",
        f"Notice that on the test images the counts remove a share of the mean image's error that differs from the "
        f"share of training variance they keep ({pairs}; the largest gap, at k = {counts[worst]}, is "
        f"{fixed(100 * gaps[worst], 1)} points).",
        what="largest gap between test error removed and training variance kept",
    )
    return {
        "title": title,
        "alt": alt,
        "notice": notice,
        "first_count": first,
        "last_count": last,
        "error_trend": trend,
        "counts": list(counts),
        "variance_retained": as_list(retained),
        "variance_retained_percent": [round(100 * r, 1) for r in retained.tolist()],
        "mse": as_list(mse),
        "rmse": as_list(rmse),
        "test_error_removed": as_list(removed),
        "mse_mean_only": round_significant(mse_mean_only),
        "n_test": n_test,
        "classes": names,
        "test_indices": list(test_indices),
        "pixel_scale": "pixel values scaled to [0, 1]",
    }


def num_text(k: int) -> str:
    """``k`` as the page writes a count of components after "with": ``1 component``, ``187``."""
    return plural(k, "component") if k == 1 else f"{k:,}"


def row_label(count: int, retained: float) -> str:
    """Label of the row redrawn from ``count`` components: the count and the share of variance it keeps."""
    return f"k = {count}\n{100 * retained:.0f} % var."


def column_title(class_name: str) -> str:
    """A class name on two short lines ("T-shirt/" "top", "Ankle" "boot") so neighbouring titles stay apart."""
    return class_name.replace("/", "/\n").replace(" ", "\n")


def plot_reconstructions(
    originals: np.ndarray,
    reconstructions: Sequence[np.ndarray],
    classes: Sequence[int],
    counts: Sequence[int],
    retained: np.ndarray,
    title: str,
) -> Figure:
    """Columns = classes, rows = the original then each k; grey scale from 0 (white) to 1 (black).

    Why this way round: ten classes side by side fill a page's width, so the grid prints large enough to see
    detail, and reading down a column follows one garment as components are added.
    """
    side = math.isqrt(originals.shape[1])
    rows, columns = 1 + len(counts), len(classes)
    fig = new_figure(0.75 + 0.58 * rows, width_in=min(6.3, 1.2 + 0.52 * columns))
    axes = fig.subplots(rows, columns, squeeze=False)
    row_labels = ["original"] + [row_label(k, r) for k, r in zip(counts, retained, strict=True)]
    for col, label in enumerate(classes):
        pictures = [originals[col]] + [rec[col] for rec in reconstructions]
        for row, picture in enumerate(pictures):
            ax = axes[row, col]
            ax.imshow(picture.reshape(side, side), cmap=IMAGE_CMAP, vmin=0, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
            ax.grid(False)
            for spine in ax.spines.values():
                spine.set_visible(True)
                spine.set_color("#bbbbbb")
                spine.set_linewidth(0.5)
        axes[0, col].set_title(column_title(CLASS_NAMES[label]), fontsize=8)
    for row, text in enumerate(row_labels):
        axes[row, 0].set_ylabel(text, rotation=0, ha="right", va="center", fontsize=8, labelpad=6)
    set_title(fig, title)
    return fig


def read_test(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """The test split's images as float rows scaled to [0, 1], and their labels."""
    test = load_split(path, "test")
    return test.flat_float(), np.asarray(test.labels)


def check(data: Data, args: argparse.Namespace) -> None:
    """Refuse counts the PCA cannot serve and images of another size than the PCA was fitted on."""
    check_counts(args.counts, data["pca"]["components"].shape[0])
    check_same_pixels(args.data, data["data"][0].shape[1], args.pca, data["pca"])


def shown(data: Data, args: argparse.Namespace) -> dict[str, Any]:
    """What the grid shows: the counts, the first test image of each class and the variance each count keeps."""
    pca, (images, labels) = data["pca"], data["data"]
    counts = check_counts(args.counts, pca["components"].shape[0])
    picks = first_of_each_class(labels)
    indices = [index for _, index in picks]
    return {
        "counts": counts,
        "classes": [label for label, _ in picks],
        "indices": indices,
        "originals": images[indices],
        "retained": np.cumsum(pca["explained_variance_ratio"])[np.asarray(counts) - 1],
    }


def describe_data(data: Data, args: argparse.Namespace) -> dict[str, Any]:
    """``describe`` over the whole test set: the reconstruction error for each count and for the mean alone."""
    pca, (images, _) = data["pca"], data["data"]
    s = shown(data, args)
    mse = reconstruction_mse(images, pca["mean"], pca["components"], s["counts"])
    mse_mean_only = float(np.mean((images - pca["mean"]) ** 2))
    return describe(s["classes"], s["counts"], s["retained"], mse, len(images), mse_mean_only, s["indices"])


def draw(data: Data, info: dict[str, Any], args: argparse.Namespace) -> Figure:
    """The grid of originals and their reconstructions."""
    pca, s = data["pca"], shown(data, args)
    reconstructions = reconstruct(s["originals"], pca["mean"], pca["components"], s["counts"])
    return plot_reconstructions(
        s["originals"], reconstructions, s["classes"], s["counts"], s["retained"], info["title"]
    )


def main(argv: Sequence[str] | None = None) -> None:
    """Reconstruct the chosen test images and the whole test set, and write the figure and its sidecar."""
    figure_main(
        argv,
        __doc__,
        inputs=[
            Input("pca", "pca.npz written by pca/fit.py (mean, components)", load_pca),
            Input("data", "prepared dataset .npy written by dataset/prepare.py", read_test),
        ],
        options=[Option("counts", int, "numbers of components k to reconstruct with", nargs="+")],
        check=check,
        describe=describe_data,
        draw=draw,
    )


if __name__ == "__main__":
    sys.exit(run_cli(main))
