"""Several filters on one input: each filter gives one map, and the maps stack into a multi-channel output.

A convolution layer applies all of its filters to the same input in one call. Here a few of the trained CNN's
first-layer filters (chosen by compute.py, ``stack.filters``) slide over the normalised test image; each gives
one 28 x 28 map (padding 1), and torch returns them stacked as one output with one channel per filter: the
multi-channel input of the next layer. Shapes are written in the thread's notation (axes first, channels last)
and read from the tensors torch returned. Reads ``--arrays`` and ``--metrics`` from convolutions/compute.py.

    PYTHONPATH=scripts python scripts/convolutions/figures/filter_stack.py \\
        --arrays results/convolutions/arrays.npz --metrics results/convolutions/metrics.json \\
        --output results/figures/convolutions/filter_stack.svg --meta results/figures/convolutions/filter_stack.json
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from matplotlib.patches import ConnectionPatch, Rectangle

from convolutions.convio import (
    MOVE_COLOR,
    example,
    figure_inputs,
    show_image,
    show_signed,
    symmetric_norm,
    times,
    write_weights,
)
from kit.cli import PipelineError, run_cli
from kit.figure import figure_main
from kit.plotstyle import DIVERGING_CMAP, is_narrow, new_figure, set_title

ARRAYS = {"learned_input": 2, "stack_filters": 3, "stack_maps": 3}

#: How far each map behind the front one is drawn up and to the right in the stack, in pixels of the map.
OFFSET = 5


def check(a: dict[str, np.ndarray], metrics: dict[str, Any], path: Path) -> None:
    """One map per filter, each the input's size (padding 1 keeps it), and the filters' numbers in the metrics."""
    k = len(a["stack_filters"])
    if a["stack_maps"].shape != (k, *a["learned_input"].shape):
        raise PipelineError(
            f"{path}: {k} filters but maps of shape {a['stack_maps'].shape} for an input of "
            f"{a['learned_input'].shape}; rerun the convolutions step"
        )
    filters = metrics.get("stack", {}).get("filters")
    if not isinstance(filters, list) or len(filters) != k:
        raise PipelineError(f"{path}: metrics 'stack.filters' must list the {k} filters; rerun the convolutions step")


def describe(a: dict[str, np.ndarray], metrics: dict[str, Any]) -> dict[str, Any]:
    """Title, alt text and numbers: the filters, their maps and the stacked output's shape (thread's notation)."""
    row, image, numbers = example(metrics, "stack"), metrics["image"], metrics["stack"]["filters"]
    k = len(numbers)
    maps = a["stack_maps"]
    out = times(row["output_extent"])
    noun = "filter" if k == 1 else "filters"
    title = (
        f"One input, {k} {noun}, {k} maps: conv2d stacks them into one {out} output, a channel per filter"
        if k != 1
        else f"One input, 1 {noun}, 1 map: conv2d returns it as a {out} output of one channel"
    )
    ranges = "; ".join(
        f"filter {n}: weights {a['stack_filters'][i].min():.2f} to {a['stack_filters'][i].max():.2f}, map "
        f"{maps[i].min():.1f} to {maps[i].max():.1f}"
        for i, n in enumerate(numbers)
    )
    alt = (
        f"Left: test image {image['index']} ({image['class']}), {times(row['input_extent'])}, normalised as the "
        f"CNN was trained. Middle: {k} of the CNN's first-layer 3 by 3 {noun} with their weights written in, each "
        f"beside the {times(maps.shape[1:])} map it makes of the image (padding 1), red positive, blue negative "
        f"({ranges}). Right: the {k} map{'s' if k != 1 else ''} drawn one behind the other as one block, the output "
        f"torch returns: {out}, one channel per filter, which is what the next layer takes as its input. Each "
        f"filter moves in {row['directions']} directions."
    )
    return {
        "title": title,
        "alt": alt,
        "filters": numbers,
        "count": k,
        "input_extent": row["input_extent"],
        "kernel_extent": row["kernel_extent"],
        "output_extent": row["output_extent"],
        "directions": row["directions"],
    }


def draw_stack(ax: Axes, maps: np.ndarray, norm: Normalize, label: str) -> None:
    """The maps one behind the other, the first in front, each shifted up and right: one block of channels."""
    k, side = len(maps), maps.shape[1]
    for depth in reversed(range(k)):
        dx = dy = OFFSET * depth
        ax.imshow(maps[depth], cmap=DIVERGING_CMAP, norm=norm,
                  extent=(dx, dx + side, dy, dy + side), origin="upper", zorder=k - depth)  # fmt: skip
        ax.add_patch(Rectangle((dx, dy), side, side, fill=False, edgecolor="#555555", linewidth=0.7, zorder=k - depth))
        ax.text(dx + side - 0.8, dy + side - 0.8, f"{depth + 1}", fontsize=6.5, ha="right", va="top", zorder=k + 1,
                bbox={"boxstyle": "square,pad=0.15", "facecolor": "white", "edgecolor": "none"})  # fmt: skip
    ax.set_xlim(-1, side + OFFSET * (k - 1) + 4)
    ax.set_ylim(-1, side + OFFSET * (k - 1) + 2)
    ax.set_aspect("equal")
    ax.set_axis_off()
    ax.set_title(label, fontsize=8, pad=3)


def link(fig: Figure, start: Axes, end: Axes, from_xy: tuple[float, float], to_xy: tuple[float, float]) -> None:
    """An arrow from one panel to another (axes fractions of each)."""
    fig.add_artist(
        ConnectionPatch(
            xyA=from_xy, coordsA=start.transAxes, xyB=to_xy, coordsB=end.transAxes, arrowstyle="-|>",
            color=MOVE_COLOR, linewidth=1.0, mutation_scale=8,
        )
    )  # fmt: skip


def plot(a: dict[str, np.ndarray], info: dict[str, Any]) -> Figure:
    """Input (left), the filters beside their maps (one row each), the stacked output (right); on a phone the
    input on top and the stack at the bottom."""
    image, filters, maps = a["learned_input"], a["stack_filters"], a["stack_maps"]
    k = len(filters)
    narrow = is_narrow()
    norm_f, norm_m = symmetric_norm(filters), symmetric_norm(maps)
    if narrow:
        fig = new_figure(2.6 + 1.0 * k)
        grid = fig.add_gridspec(k + 2, 2, height_ratios=[1.6] + [1] * k + [1.8])
        ax_in, ax_stack = fig.add_subplot(grid[0, :]), fig.add_subplot(grid[-1, :])
        cells = [(grid[1 + i, 0], grid[1 + i, 1]) for i in range(k)]
    else:
        fig = new_figure(max(2.4, 0.55 + 0.8 * k))
        grid = fig.add_gridspec(k, 4, width_ratios=[1.7, 0.8, 0.8, 2.0])
        ax_in, ax_stack = fig.add_subplot(grid[:, 0]), fig.add_subplot(grid[:, 3])
        cells = [(grid[i, 1], grid[i, 2]) for i in range(k)]
    show_image(ax_in, image, f"input {times(info['input_extent'])}", norm=Normalize(image.min(), image.max()))
    for i, (cell_f, cell_m) in enumerate(cells):
        ax_f, ax_m = fig.add_subplot(cell_f), fig.add_subplot(cell_m)
        show_signed(ax_f, filters[i], norm_f, f"filter {info['filters'][i]}")
        write_weights(ax_f, np.round(filters[i], 1) + 0.0, norm_f, fmt="{:+.1f}", size=6)  # + 0.0: no "-0.0"
        show_signed(ax_m, maps[i], norm_m, f"channel {i + 1}")
        for ax in (ax_f, ax_m):
            ax.title.set_fontsize(7)
        if not narrow:
            link(fig, ax_in, ax_f, (1.02, 0.5), (-0.05, 0.5))
            link(fig, ax_m, ax_stack, (1.06, 0.5), (0.0, 0.45))
    draw_stack(ax_stack, maps, norm_m, f"output {times(info['output_extent'])}:\none channel per filter")
    set_title(fig, info["title"])
    return fig


def main(argv: Sequence[str] | None = None) -> None:
    """Read the arrays and the metrics, check that they fit together, and write the figure and its sidecar."""
    figure_main(
        argv,
        __doc__,
        inputs=figure_inputs(ARRAYS),
        check=lambda d, a: check(d["arrays"], d["metrics"], a.arrays),
        describe=lambda d, a: describe(d["arrays"], d["metrics"]),
        draw=lambda d, info, a: plot(d["arrays"], info),
        narrow=True,  # plot() lays the panels out for a phone when is_narrow()
    )


if __name__ == "__main__":
    sys.exit(run_cli(main))
