"""1D convolution of one image row: the test image with the row marked, the row's pixels, two kernels, outputs.

A row of a Fashion-MNIST image is a 1D signal of 28 pixel values, so a 1D kernel can slide along it; the
smoothing kernel blurs the garment's outline and the edge kernel answers where the row gains or loses ink
from one pixel to the next. Reads ``--arrays`` and ``--metrics`` from convolutions/compute.py.

    PYTHONPATH=scripts python scripts/convolutions/figures/image_row_1d.py --arrays results/convolutions/arrays.npz \\
        --metrics results/convolutions/metrics.json \\
        --output results/figures/convolutions/image_row_1d.svg \\
        --meta results/figures/convolutions/image_row_1d.json
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
    stem,
    window,
)
from kit.cli import PipelineError, run_cli
from kit.figure import figure_main
from kit.io import round_significant
from kit.plotstyle import PALETTE, new_figure, set_title

ARRAYS = {"image": 2, "row": 1, "kernel_smooth": 1, "kernel_edge": 1, "row_smooth": 1, "row_edge": 1}


def check(a: dict[str, np.ndarray], row: int, path: Path) -> None:
    """The row must be the image's row ``row``, and each output as long as a kernel sliding over it gives."""
    if not 0 <= row < a["image"].shape[0] or not np.array_equal(a["image"][row], a["row"]):
        raise PipelineError(f"{path}: 'row' is not row {row} of 'image'; rerun the convolutions step")
    for kind in ("smooth", "edge"):
        if len(a[f"row_{kind}"]) != len(a["row"]) - len(a[f"kernel_{kind}"]) + 1:
            raise PipelineError(f"{path}: row_{kind} does not fit the row and kernel lengths; rerun convolutions")


def centre(index: int, width: int) -> float:
    """The pixel column at the centre of the window whose first pixel is ``index``."""
    return index + (width - 1) / 2


def describe(a: dict[str, np.ndarray], metrics: dict[str, Any]) -> dict[str, Any]:
    """Title, alt text and numbers: lengths, and where the edge kernel finds the garment's borders."""
    image = metrics["image"]
    n, ns, ne = len(a["row"]), len(a["row_smooth"]), len(a["row_edge"])
    ke = len(a["kernel_edge"])
    rising, falling = centre(int(np.argmax(a["row_edge"])), ke), centre(int(np.argmin(a["row_edge"])), ke)
    inked = np.flatnonzero(a["row"] > 0.1)
    directions = sorted({example(metrics, name)["directions"] for name in ("row_smooth", "row_edge")})
    span = f"columns {inked[0]} to {inked[-1]}" if inked.size else "no column"
    if inked.size:
        title = (
            f"One image row is a 1D signal: its {n} pixels give {ns} smoothed and {ne} edge values, "
            f"the edge values largest at column {rising:g} and most negative at column {falling:g}"
        )
        edges = (
            f"{ne} values from {a['row_edge'].min():.2f} (column {falling:g}, where the row loses the most ink going "
            f"right) to {a['row_edge'].max():.2f} (column {rising:g}, where it gains the most)"
        )
    else:
        title = (
            f"One image row is a 1D signal: its {n} pixels give {ns} smoothed and {ne} edge values; this row holds "
            "no ink"
        )
        edges = f"{ne} values from {a['row_edge'].min():.2f} to {a['row_edge'].max():.2f}: the row holds no ink"
    alt = (
        f"Left: test image {image['index']} ({image['class']}), {a['image'].shape[0]} by {a['image'].shape[1]} pixels, "
        f"with row {image['row']} outlined and an arrow along it. Right, stacked on one axis of pixel columns: the "
        f"row's {n} pixel values (0 to 1; ink above 0.1 in {span}); the {len(a['kernel_smooth'])}-pixel moving "
        f"average, {ns} values from {a['row_smooth'].min():.2f} to {a['row_smooth'].max():.2f}; and the edge kernel "
        f"({', '.join(f'{v:g}' for v in a['kernel_edge'])}), {edges}. The kernels move along the row only: "
        f"{directions[0]} direction."
    )
    return {
        "title": title,
        "alt": alt,
        "row": image["row"],
        "pixels": n,
        "smooth_length": ns,
        "edge_length": ne,
        "directions": directions,
        "edge_max_column": rising,
        "edge_min_column": falling,
        "edge_max": round_significant(float(a["row_edge"].max())),
        "edge_min": round_significant(float(a["row_edge"].min())),
    }


def plot(a: dict[str, np.ndarray], row: int, title: str) -> Figure:
    """The image with the row (left); the kernels (middle); the row and both outputs on one column axis (right)."""
    fig = new_figure(3.9)
    grid = fig.add_gridspec(3, 3, width_ratios=[2.1, 0.95, 4.2])
    ax_img = fig.add_subplot(grid[:, 0])
    show_image(ax_img, a["image"])
    side = a["image"].shape[1]
    window(ax_img, -0.5, row - 0.5, side, 1)
    ax_img.set_title(f"test image, row {row} outlined", fontsize=8, pad=3)
    arrow(ax_img, (0.05, -0.05), (0.95, -0.05))
    ax_img.text(0.5, -0.1, "the kernel moves along the row", transform=ax_img.transAxes, ha="center", va="top",
                fontsize=8, color=PALETTE[1])  # fmt: skip
    ax_row = fig.add_subplot(grid[0, 2])
    cols = np.arange(len(a["row"]))
    ax_row.step(cols, a["row"], where="mid", color=PALETTE[0], linewidth=1.3, linestyle="-")
    ax_row.set_ylabel("pixel\nvalue")
    ax_row.set_ylim(-0.05, 1.1)
    axes = [ax_row]
    for r, kind, label, name in ((1, "smooth", "smoothed", "smoothing"), (2, "edge", "edge", "edge")):
        ax = fig.add_subplot(grid[r, 2], sharex=ax_row)
        k = len(a[f"kernel_{kind}"])
        x = [centre(i, k) for i in range(len(a[f"row_{kind}"]))]
        ax.axhline(0, color="#777777", linewidth=0.6)
        ax.plot(x, a[f"row_{kind}"], color=PALETTE[2 if kind == "smooth" else 3], linestyle="-", marker="o",
                markersize=2.5, linewidth=1.3, label=f"{len(x)} values")  # fmt: skip
        ax.set_ylabel(label)
        ax.legend(loc="lower right", bbox_to_anchor=(1.0, 0.97), fontsize=7.5, borderaxespad=0)
        stem(fig.add_subplot(grid[r, 1]), a[f"kernel_{kind}"], f"{name} kernel")
        axes.append(ax)
    for ax in axes[:-1]:
        ax.tick_params(labelbottom=False)
    axes[-1].set_xlabel("pixel column")
    ax_row.set_xlim(-0.8, len(cols) - 0.2)
    fig.add_subplot(grid[0, 1]).set_axis_off()
    set_title(fig, title)
    return fig


def main(argv: Sequence[str] | None = None) -> None:
    """Read the arrays and the metrics, check that they fit together, and write the figure and its sidecar."""
    figure_main(
        argv,
        __doc__,
        inputs=figure_inputs(ARRAYS),
        check=lambda d, a: check(d["arrays"], int(d["metrics"]["image"]["row"]), a.arrays),
        describe=lambda d, a: describe(d["arrays"], d["metrics"]),
        draw=lambda d, info, a: plot(d["arrays"], int(d["metrics"]["image"]["row"]), info["title"]),
    )


if __name__ == "__main__":
    sys.exit(run_cli(main))
