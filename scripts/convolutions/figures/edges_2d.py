"""2D convolution of the test image with Sobel x and Sobel y: the image, both kernels and both edge maps.

A 3 x 3 kernel slides along x and along y (two directions), so a 28 x 28 image gives a 26 x 26 output
without padding. Sobel x answers "does the image get more ink to the right?" and Sobel y "downwards?": red
and blue mark the garment's left/right and top/bottom outlines. Reads ``--arrays`` and ``--metrics``.

    PYTHONPATH=scripts python scripts/convolutions/figures/edges_2d.py --arrays results/convolutions/arrays.npz \\
        --metrics results/convolutions/metrics.json \\
        --output results/figures/convolutions/edges_2d.svg --meta results/figures/convolutions/edges_2d.json
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from convolutions.convio import (
    arrow,
    example,
    figure_inputs,
    show_image,
    show_signed,
    symmetric_norm,
    times,
    window,
    write_weights,
)
from kit.cli import PipelineError, run_cli
from kit.figure import figure_main
from kit.io import round_significant
from kit.plotstyle import new_figure, set_title

ARRAYS = {"image": 2, "sobel_x": 2, "sobel_y": 2, "sobel_x_output": 2, "sobel_y_output": 2}
NAMES = ("sobel_x", "sobel_y")


def check(a: dict[str, np.ndarray], path: Path) -> None:
    """Each output must have the size a kernel sliding over the image without padding gives."""
    for name in NAMES:
        expected = tuple(n - k + 1 for n, k in zip(a["image"].shape, a[name].shape, strict=True))
        if a[f"{name}_output"].shape != expected:
            raise PipelineError(
                f"{path}: {name}_output has shape {a[f'{name}_output'].shape}, expected {expected}; rerun convolutions"
            )


def strongest(output: np.ndarray, kernel: np.ndarray) -> tuple[int, int]:
    """(row, column) in the image of the centre of the window with the largest absolute response."""
    row, col = np.unravel_index(int(np.argmax(np.abs(output))), output.shape)
    return int(row) + kernel.shape[0] // 2, int(col) + kernel.shape[1] // 2


def describe(a: dict[str, np.ndarray], metrics: dict[str, Any]) -> dict[str, Any]:
    """Title, alt text and numbers: shapes, directions, ranges and where each map responds most."""
    image = metrics["image"]
    rows = {name: example(metrics, name) for name in NAMES}
    out = times(a["sobel_x_output"].shape)
    title = (
        f"2D convolution: each Sobel kernel slides along x and y over the {times(a['image'].shape)} image, "
        f"giving a {out} edge map"
    )
    parts = []
    numbers: dict[str, Any] = {}
    for name, axis in zip(NAMES, ("left to right", "top to bottom"), strict=True):
        y = a[f"{name}_output"]
        r, c = strongest(y, a[name])
        weights = " ".join(f"{v:g}" for v in a[name].ravel())
        parts.append(
            f"{name.replace('_', ' ').capitalize()} (weights {weights}, row by row) "
            f"responds to changes from {axis}: {out} values from {y.min():.2f} to {y.max():.2f}, strongest at "
            f"row {r}, column {c}"
        )
        numbers[f"{name}_min"] = round_significant(float(y.min()))
        numbers[f"{name}_max"] = round_significant(float(y.max()))
        numbers[f"{name}_strongest"] = [r, c]
        numbers[f"{name}_directions"] = rows[name]["directions"]
    alt = (
        f"Left: test image {image['index']} ({image['class']}), {times(a['image'].shape)} pixels, ink dark, with a "
        "3 by 3 window outlined and arrows along x and y. Middle: the two 3 by 3 kernels with their weights. Right: "
        "their outputs on a red (positive) to blue (negative) scale. " + "; ".join(parts) + ". Each kernel moves "
        f"in {rows['sobel_x']['directions']} directions."
    )
    return {"title": title, "alt": alt, "output_shape": list(a["sobel_x_output"].shape), **numbers}


def plot(a: dict[str, np.ndarray], title: str) -> Figure:
    """Image (left, both rows), the kernels (middle) and their outputs (right) on one shared colour scale."""
    fig = new_figure(4.1)
    grid = fig.add_gridspec(2, 3, width_ratios=[2.3, 1.0, 2.0])
    ax_img = fig.add_subplot(grid[:, 0])
    show_image(ax_img, a["image"], "input: test image, 28 × 28")
    window(ax_img, 9.5, 14.5, 3, 3)
    arrow(ax_img, (0.05, -0.04), (0.55, -0.04), " x", va="top", ha="left")
    arrow(ax_img, (-0.04, 0.95), (-0.04, 0.45), "y", va="top", ha="center")
    ax_img.text(0.5, -0.11, "the kernel moves along x and along y", transform=ax_img.transAxes, ha="center",
                va="top", fontsize=8, color="#D55E00")  # fmt: skip
    norm_out = symmetric_norm(a["sobel_x_output"], a["sobel_y_output"])
    outputs = []
    for r, name in enumerate(NAMES):
        label = name.replace("_", " ").capitalize()
        ax_k = fig.add_subplot(grid[r, 1])
        norm_k = symmetric_norm(a[name])
        show_signed(ax_k, a[name], norm_k, f"kernel: {label}")
        write_weights(ax_k, a[name], norm_k)
        ax_out = fig.add_subplot(grid[r, 2])
        shape = times(a[f"{name}_output"].shape)
        outputs.append(show_signed(ax_out, a[f"{name}_output"], norm_out, f"{label} output, {shape}"))
    colorbar = fig.colorbar(outputs[0], ax=[out.axes for out in outputs], location="right", shrink=0.6, aspect=25)
    colorbar.ax.tick_params(labelsize=7)
    colorbar.set_label("response (pixel value change)", fontsize=7.5)
    set_title(fig, title)
    return fig


def main(argv: Sequence[str] | None = None) -> None:
    """Read the arrays and the metrics, check that they fit together, and write the figure and its sidecar."""
    figure_main(
        argv,
        __doc__,
        inputs=figure_inputs(ARRAYS),
        check=lambda d, a: check(d["arrays"], a.arrays),
        describe=lambda d, a: describe(d["arrays"], d["metrics"]),
        draw=lambda d, info, a: plot(d["arrays"], info["title"]),
    )


if __name__ == "__main__":
    sys.exit(run_cli(main))
