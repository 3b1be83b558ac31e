"""Image grid: the first principal components drawn as 28 x 28 pictures of their pixel loadings.

A component is a direction in pixel space, so it can be shown as an image: as an image's score on the
component grows, its red pixels get higher values (more garment) and its blue pixels lower ones. All panels
share one diverging colour scale, symmetric around zero, so that the panels can be compared and white always
means "no effect". On component 1, where the thread sees "a very transparent shape for the shoe", two outlines
point at it: dashed, where the average training top has ink; solid, where the average training shoe has ink and
the average top has none (ink level ``pcaio.INK_LEVEL``), the part of a shoe that a top cannot explain.

    PYTHONPATH=scripts python scripts/pca/figures/components.py --pca results/pca/pca.npz \\
        --metrics results/pca/metrics.json --data results/data/fashion-mnist.npy --n-components 4 \\
        --output results/figures/pca/components.svg --meta results/figures/pca/components.json
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Sequence
from typing import Any

import numpy as np
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from kit.cli import PipelineError, run_cli
from kit.dataset import load_split
from kit.facts import compare
from kit.figure import Data, Input, Option, figure_main
from kit.io import round_significant
from kit.plotstyle import DIVERGING_CMAP, as_list, check_count, new_figure, percent, set_title
from pca.pcaio import INK_LEVEL, check_same_pixels, load_pca, outlines, read_ratios

#: Panels per row, and the most panels one figure shows (beyond that each picture gets too small).
COLUMNS = 4
MAX_PANELS = 16


def component_images(components: np.ndarray, n_components: int) -> np.ndarray:
    """The first ``n_components`` rows reshaped to square images ``(n, side, side)``."""
    side = math.isqrt(components.shape[1])
    if side * side != components.shape[1]:
        raise PipelineError(f"components have {components.shape[1]} features, not a square image; rerun pca")
    return components[:n_components].reshape(n_components, side, side)


def outline_drawn(mask: np.ndarray) -> bool:
    """Whether an outline can be drawn around a mask: it covers some pixels, but not all."""
    return bool(0 < mask.sum() < mask.size)


def describe(images: np.ndarray, ratios: np.ndarray, masks: dict[str, np.ndarray] | None = None) -> dict[str, Any]:
    """Title, alt text, the caption's notice and numbers: each component's share, its signs, the outlines."""
    n, side, _ = images.shape
    limit = float(np.abs(images).max())
    title = "Components are pixel-weight images: red adds, blue subtracts"
    panels = []
    for i, (image, ratio) in enumerate(zip(images, ratios, strict=True), start=1):
        positive = float((image > 0).mean())
        panels.append(
            f"component {i} ({percent(ratio)} of the variance) has loadings from {image.min():.3f} to "
            f"{image.max():.3f}, {percent(positive, 0)} of its pixels positive"
        )
    outlined = ""
    if masks is not None:
        only = masks["shoe_only"].reshape(side, side)
        first = images[0]
        top_sign = 1.0 if first[masks["top"].reshape(side, side)].mean() >= 0 else -1.0
        opposite = int(np.sum(first[only] * top_sign < 0))
        outlined = (
            " On component 1, a dashed outline marks where the average training top has ink "
            f"({int(masks['top'].sum())} pixels) and a solid outline where the average shoe has ink and the average "
            f"top has none ({int(only.sum())} pixels, {opposite} of them with the sign opposite to the top's)."
        )
    alt = (
        f"{n} heat map{'s' if n > 1 else ''} of {side} by {side} pixels showing the loadings of principal "
        f"components 1 to {n} on a red-white-blue scale from -{limit:.3f} (blue) to +{limit:.3f} (red): "
        + "; ".join(panels)
        + "."
        + outlined
    )
    fractions = [float((image > 0).mean()) for image in images]
    both = all(0 < f < 1 for f in fractions)
    low, high = min(fractions), max(fractions)
    one = n == 1
    return {
        "title": title,
        "alt": alt,
        "notice": compare(
            both,
            "==",
            True,
            (
                f"Notice that {'the component' if one else f'each of the {n} components'} has pixels of both signs "
                f"({percent(low, 0) if one else f'from {percent(low, 0)} to {percent(high, 0)}'} of "
                f"{'its' if one else 'their'} pixels positive): regions that brighten and regions that darken as "
                "the score grows."
            ),
            (
                f"Notice the signs: {percent(low, 0)} to {percent(high, 0)} of the pixels of the components shown are "
                "positive, and some component has pixels of one sign only."
            ),
            what="every component shown has pixels of both signs",
            positive_fractions=fractions,
        ),
        "n_components": n,
        "explained_variance_ratio": as_list(ratios),
        "explained_variance_percent": [round(100 * r, 1) for r in ratios.tolist()],
        "loading_limit": round_significant(limit),
        "positive_fraction": [round(float((image > 0).mean()), 4) for image in images],
        "ink_level": INK_LEVEL,
        "outlined_pixels": (
            {"top": int(masks["top"].sum()), "shoe_only": int(masks["shoe_only"].sum())} if masks is not None else None
        ),
        "outlines_drawn": {key: bool(masks is not None and outline_drawn(masks[key])) for key in ("top", "shoe_only")},
    }


def plot_components(
    images: np.ndarray, ratios: np.ndarray, title: str, masks: dict[str, np.ndarray] | None = None
) -> Figure:
    """One panel per component on a shared symmetric diverging scale, one colour bar for all; with ``masks``, the
    average top (dashed) and the shoe-only region (solid) outlined on component 1."""
    n = len(images)
    columns = min(n, COLUMNS)
    rows = math.ceil(n / columns)
    limit = float(np.abs(images).max()) or 1.0
    norm = Normalize(vmin=-limit, vmax=limit)
    fig = new_figure(0.95 + 1.6 * rows)
    axes = np.atleast_1d(fig.subplots(rows, columns, squeeze=False)).ravel()
    for i, ax in enumerate(axes):
        if i >= n:
            ax.set_visible(False)
            continue
        mappable = ax.imshow(images[i], cmap=DIVERGING_CMAP, norm=norm)
        if i == 0 and masks is not None:
            side = images.shape[1]
            for key, style in (("top", "--"), ("shoe_only", "-")):
                mask = masks[key].reshape(side, side).astype(float)
                if outline_drawn(mask):
                    ax.contour(mask, levels=[0.5], colors="black", linewidths=1.0, linestyles=style)
        ax.set_title(f"Component {i + 1} · {percent(ratios[i])}", fontsize=8.5, pad=3)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.grid(False)
        for spine in ax.spines.values():
            spine.set_visible(True)
            spine.set_color("#999999")
            spine.set_linewidth(0.6)
    colorbar = fig.colorbar(
        mappable, ax=list(axes), orientation="horizontal", location="bottom", shrink=0.5, aspect=40, pad=0.03
    )
    colorbar.set_label("loading (0 = pixel unaffected)")
    colorbar.set_ticks(MaxNLocator(nbins=6, symmetric=True))
    colorbar.ax.tick_params(labelsize=7.5)
    set_title(fig, title)
    return fig


def read_train(path: Any) -> tuple[np.ndarray, np.ndarray]:
    """The training images (uint8) and labels, for the outlines of the average top and shoe."""
    train = load_split(path, "train")
    return train.images, np.asarray(train.labels)


def check(data: Data, args: argparse.Namespace) -> None:
    """Refuse a metrics file and arrays from different fits, images of another size, and a count the figure cannot
    show."""
    ratios, components = data["metrics"], data["pca"]["components"]
    check_same_pixels(args.data, data["data"][0][0].size, args.pca, data["pca"])
    if ratios.size != components.shape[0]:
        raise PipelineError(
            f"{args.metrics} lists {ratios.size} components but {args.pca} holds {components.shape[0]}; "
            "rerun the pca step so both come from the same fit"
        )
    check_count(args.n_components, min(MAX_PANELS, ratios.size), "--n-components", "panels must stay readable")
    component_images(components, args.n_components)


def masks_of(data: Data) -> dict[str, np.ndarray]:
    """The outlines of the average top and the shoe-only region, from the training images (see pcaio.outlines)."""
    return outlines(*data["data"])


def main(argv: Sequence[str] | None = None) -> None:
    """Read the PCA and its metrics, check they match, and write the figure and its sidecar."""
    figure_main(
        argv,
        __doc__,
        inputs=[
            Input("pca", "pca.npz written by pca/fit.py (mean, components)", load_pca),
            Input("metrics", "PCA metrics JSON written by pca/fit.py", read_ratios),
            Input("data", "prepared dataset .npy the PCA was fitted on (for the outlines)", read_train),
        ],
        options=[Option("n_components", int, f"number of leading components to draw (1-{MAX_PANELS})")],
        check=check,
        describe=lambda d, a: describe(
            component_images(d["pca"]["components"], a.n_components), d["metrics"][: a.n_components], masks_of(d)
        ),
        draw=lambda d, info, a: plot_components(
            component_images(d["pca"]["components"], a.n_components),
            d["metrics"][: a.n_components],
            info["title"],
            masks_of(d),
        ),
    )


if __name__ == "__main__":
    sys.exit(run_cli(main))
