"""Image grid: how to read a component, drawn the standard way: the mean image minus and plus a multiple of it.

For each of the first ``--n-components`` components, three pictures: the mean training image with the component
added ``--spread`` standard deviations of its scores below the mean score, the mean image itself, and the same
amount above (``mean +/- spread * sd_i * component_i``, where ``sd_i`` is the standard deviation of the training
images' scores on component i, the square root of its explained variance). Moving from the left picture to the
right one is what a growing score does to an image. Pixel values outside 0 to 1 (no ink to full ink) cannot be
drawn and are clipped; the sidecar says how many.

    PYTHONPATH=scripts python scripts/pca/figures/variation_modes.py --pca results/pca/pca.npz \\
        --n-components 4 --spread 2 \\
        --output results/figures/pca/variation_modes.svg --meta results/figures/pca/variation_modes.json
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Sequence
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from kit.cli import PipelineError, run_cli
from kit.facts import choose
from kit.figure import Data, Input, Option, figure_main
from kit.io import round_significant
from kit.plotstyle import IMAGE_CMAP, as_list, capitalised, check_count, is_narrow, new_figure, percent, set_title
from pca.pcaio import load_pca

#: The most components one figure shows (as pca.n_components allows).
MAX_COMPONENTS = 16

#: The notice calls a component's effect mostly "how much ink" when the total ink changes by at least this share of
#: the mean image's ink between the two ends.
INK_CHANGE = 0.5


def modes(pca: dict[str, np.ndarray], n_components: int, spread: float) -> dict[str, np.ndarray]:
    """The pictures: ``low`` and ``high`` (n, d), unclipped, the mean (d,) and each component's score deviation."""
    if "explained_variance" not in pca:
        raise PipelineError("the PCA file has no explained_variance array; rerun the pca step")
    sd = np.sqrt(np.clip(pca["explained_variance"][:n_components], 0.0, None))
    step = spread * sd[:, None] * pca["components"][:n_components]
    return {"mean": pca["mean"], "low": pca["mean"] - step, "high": pca["mean"] + step, "sd": sd}


def describe(pictures: dict[str, np.ndarray], ratios: np.ndarray, spread: float) -> dict[str, Any]:
    """Title, alt text, the caption's notice and numbers: the ink of each end picture and what was clipped."""
    n, d = pictures["low"].shape
    side = math.isqrt(d)
    mean_ink = float(pictures["mean"].sum())
    low_ink = np.clip(pictures["low"], 0, 1).sum(axis=1)
    high_ink = np.clip(pictures["high"], 0, 1).sum(axis=1)
    clipped = [
        float(np.mean((pictures["low"][i] < 0) | (pictures["low"][i] > 1) | (pictures["high"][i] < 0) |
                      (pictures["high"][i] > 1)))
        for i in range(n)
    ]  # fmt: skip
    change = np.abs(high_ink - low_ink) / mean_ink if mean_ink > 0 else np.zeros(n)
    largest = int(np.argmax(change))
    s = f"{spread:g}"
    title = f"Reading a component: the mean image with it added at −{s} and +{s} standard deviations of its scores"
    parts = [
        f"component {i + 1} ({percent(ratios[i])} of the variance, score standard deviation "
        f"{pictures['sd'][i]:.2f}): total ink {low_ink[i]:.0f} at -{s} SD and {high_ink[i]:.0f} at +{s} SD"
        for i in range(n)
    ]
    alt = (
        f"Grid of {side} by {side} grey images, one row of three per component for the first {n} principal "
        f"component{'s' if n > 1 else ''}: the mean training image minus {s} standard deviations of the component, "
        f"the mean image (total ink {mean_ink:.0f}, summing pixel values from 0 for no ink to 1 for full ink), and "
        f"the mean image plus {s} standard deviations. "
        + capitalised("; ".join(parts))
        + ". Pixel values outside 0 to 1 are "
        f"clipped: from {percent(min(clipped), 0)} to {percent(max(clipped), 0)} of the pixels, depending on the "
        "component."
    )
    first = (
        f"from −{s} to +{s} standard deviations along component 1 the image's total ink goes from "
        f"{low_ink[0]:.0f} to {high_ink[0]:.0f} (the mean image: {mean_ink:.0f})"
    )
    notice = choose(
        [
            (
                largest == 0 and change[0] >= INK_CHANGE,
                f"component 1 changes the ink most ({percent(change[0], 0)} of the mean image's) and by at least "
                f"{percent(INK_CHANGE, 0)}",
                f"Notice that {first}: of the components shown, component 1 changes the amount of ink the most, so "
                "its score says largely how big and dark a garment is.",
            ),
        ],
        f"Notice that {first}; component {largest + 1} changes the total ink the most of the components shown "
        f"({percent(change[largest], 0)} of the mean image's).",
        values={"ink_change": as_list(change), "largest": largest + 1},
    )
    return {
        "title": title,
        "alt": alt,
        "notice": notice,
        "n_components": n,
        "spread": spread,
        "score_sd": as_list(pictures["sd"]),
        "mean_ink": round_significant(mean_ink),
        "low_ink": as_list(low_ink),
        "high_ink": as_list(high_ink),
        "clipped_share": as_list(clipped),
        "pixel_scale": "pixel values scaled to [0, 1]; ink is the sum of the clipped pixel values",
    }


def plot_modes(pictures: dict[str, np.ndarray], spread: float, title: str) -> Figure:
    """Triples (-spread SD, mean, +spread SD) of grey images, two triples per row on the page, one on a phone."""
    n, d = pictures["low"].shape
    side = math.isqrt(d)
    per_row = 1 if is_narrow() else 2
    rows = math.ceil(n / per_row)
    fig = new_figure(0.6 + 1.15 * rows)
    grid = fig.add_gridspec(rows, 4 * per_row - 1, width_ratios=([1, 1, 1, 0.25] * per_row)[:-1])
    heads = (f"−{spread:g} SD", "mean", f"+{spread:g} SD")
    for i in range(n):
        row, slot = divmod(i, per_row)
        pictures_i = (pictures["low"][i], pictures["mean"], pictures["high"][i])
        for j, picture in enumerate(pictures_i):
            ax = fig.add_subplot(grid[row, 4 * slot + j])
            ax.imshow(np.clip(picture, 0, 1).reshape(side, side), cmap=IMAGE_CMAP, vmin=0, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
            ax.grid(False)
            for spine in ax.spines.values():
                spine.set_visible(True)
                spine.set_color("#bbbbbb")
                spine.set_linewidth(0.5)
            ax.set_title(heads[j], fontsize=7.5, pad=2)
            if j == 0:
                ax.set_ylabel(f"comp. {i + 1}", fontsize=8, rotation=0, ha="right", va="center", labelpad=4)
    set_title(fig, title)
    return fig


def check(data: Data, args: argparse.Namespace) -> None:
    """Refuse a count the figure cannot show, a spread that is not a positive number, a PCA without variances."""
    check_count(args.n_components, min(MAX_COMPONENTS, data["pca"]["components"].shape[0]), "--n-components", "rows")
    if not (math.isfinite(args.spread) and args.spread > 0):
        raise PipelineError(f"--spread must be a positive number of standard deviations, got {args.spread}")
    modes(data["pca"], args.n_components, args.spread)


def main(argv: Sequence[str] | None = None) -> None:
    """Read the PCA, build the pictures and write the figure and its sidecar."""
    figure_main(
        argv,
        __doc__,
        inputs=[Input("pca", "pca.npz written by pca/fit.py (mean, components, explained variances)", load_pca)],
        options=[
            Option("n_components", int, f"number of leading components to draw (1-{MAX_COMPONENTS})"),
            Option("spread", float, "how many standard deviations of the scores to go below and above the mean"),
        ],
        check=check,
        describe=lambda d, a: describe(
            modes(d["pca"], a.n_components, a.spread), d["pca"]["explained_variance_ratio"], a.spread
        ),
        draw=lambda d, info, a: plot_modes(modes(d["pca"], a.n_components, a.spread), a.spread, info["title"]),
    )


if __name__ == "__main__":
    sys.exit(run_cli(main))
