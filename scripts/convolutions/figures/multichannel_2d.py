"""2D convolution of a 28 x 28 x 6 input: the six channels, the 3 x 3 x 6 kernel, and the one 2D output.

The input is the thread's 28 x 28 x 6 example, built from the trained CNN: the first six feature maps its first
layer makes of the test image, before the max-pooling that halves them (the CNN's second layer itself receives
the pooled maps, all of them; compute.py records that shape). The kernel is one of the second layer's filters
restricted to those six channels. A "3 x 3" kernel on six channels has
3 x 3 x 6 weights: at each position it weighs all six channels at once and adds them up, so it never moves
across the channels and the output is one 2D map. The bottom row shows the six per-channel parts whose sum is
the output. Reads ``--arrays`` and ``--metrics`` from convolutions/compute.py.

    PYTHONPATH=scripts python scripts/convolutions/figures/multichannel_2d.py \\
        --arrays results/convolutions/arrays.npz --metrics results/convolutions/metrics.json \\
        --output results/figures/convolutions/multichannel_2d.svg \\
        --meta results/figures/convolutions/multichannel_2d.json
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.colors import Normalize
from matplotlib.figure import Figure

from convolutions.convio import (
    example,
    figure_inputs,
    show_image,
    show_signed,
    symmetric_norm,
    times,
)
from kit.cli import PipelineError, run_cli
from kit.figure import figure_main
from kit.formats import upper_bound
from kit.io import round_significant
from kit.plotstyle import new_figure, set_title

ARRAYS = {"multi_input": 3, "multi_kernel": 3, "multi_parts": 3, "multi_output": 2}


def check(a: dict[str, np.ndarray], path: Path) -> None:
    """Channels must agree across input, kernel and parts, and the parts must have the output's shape."""
    c = a["multi_input"].shape[0]
    if a["multi_kernel"].shape[0] != c or a["multi_parts"].shape != (c, *a["multi_output"].shape):
        raise PipelineError(
            f"{path}: input {a['multi_input'].shape}, kernel {a['multi_kernel'].shape}, parts "
            f"{a['multi_parts'].shape} and output {a['multi_output'].shape} do not fit; rerun the convolutions step"
        )


def describe(a: dict[str, np.ndarray], metrics: dict[str, Any]) -> dict[str, Any]:
    """Title, alt text and numbers: the shapes as the thread writes them and the channel-sum check."""
    row = example(metrics, "multichannel")
    padded = example(metrics, "multichannel_padded")
    multi = metrics["multichannel"]
    c = a["multi_input"].shape[0]
    side = times(a["multi_input"].shape[1:])
    kernel = times(row["kernel_extent"])
    out = times(a["multi_output"].shape)
    difference = float(np.abs(a["multi_output"] - a["multi_parts"].sum(axis=0)).max())
    pooling = ", before its max-pooling" if metrics.get("second_layer", {}).get("pooled") else ""
    title = f"On a {side} × {c} input a 3 × 3 kernel is {kernel}: it sums the channels in place and gives one {out} map"
    alt = (
        f"Top row: the {c} input channels, each {side} (the first {c} feature maps of the trained CNN's first layer "
        f"for the test image{pooling}; values from {a['multi_input'].min():.2f} to "
        f"{a['multi_input'].max():.2f}). Middle row: the kernel's {c} "
        f"slices of 3 by 3 weights (filter {multi['filter']} of the CNN's second layer, weights from "
        f"{a['multi_kernel'].min():.2f} to {a['multi_kernel'].max():.2f}). Bottom row: each slice's 2D convolution "
        f"with its channel, {out} each, and their sum, the output ({out}, values from {a['multi_output'].min():.2f} "
        f"to {a['multi_output'].max():.2f}); torch's conv2d output "
        + (
            "equals the sum of the parts exactly"
            if difference == 0
            else f"differs from the sum of the parts by at most {upper_bound(difference)}"
        )
        + f". In the thread's notation: input {times(row['input_extent'])}, kernel {times(row['kernel_extent'])}, "
        f"output {times(row['output_extent'])} ({times(padded['output_extent'])} with padding 1); the kernel moves "
        f"in {row['directions']} directions."
    )
    return {
        "title": title,
        "alt": alt,
        "channels": c,
        "input_extent": row["input_extent"],
        "kernel_extent": row["kernel_extent"],
        "output_shape": row["output_shape"],
        "padded_output_shape": padded["output_shape"],
        "directions": row["directions"],
        "max_abs_difference_from_channel_sum": round_significant(difference),
    }


def label_cell(fig: Figure, cell: Any, text: str) -> None:
    """A text-only panel at the end of a row that names what the row holds."""
    ax = fig.add_subplot(cell)
    ax.set_axis_off()
    ax.text(0.0, 0.5, text, transform=ax.transAxes, ha="left", va="center", fontsize=8)


def plot(a: dict[str, np.ndarray], info: dict[str, Any]) -> Figure:
    """Channels, kernel slices and per-channel parts in three rows, the output at the end of the last row."""
    c = info["channels"]
    fig = new_figure(3.9)
    grid = fig.add_gridspec(3, c + 1, width_ratios=[1] * c + [1.45])
    norm_in = Normalize(0, float(a["multi_input"].max()) or 1.0)
    norm_k = symmetric_norm(a["multi_kernel"])
    norm_out = symmetric_norm(a["multi_parts"], a["multi_output"])
    for i in range(c):
        show_image(fig.add_subplot(grid[0, i]), a["multi_input"][i], f"channel {i + 1}", norm=norm_in)
        show_signed(fig.add_subplot(grid[1, i]), a["multi_kernel"][i], norm_k, f"slice {i + 1}")
        ax = fig.add_subplot(grid[2, i])
        show_signed(ax, a["multi_parts"][i], norm_out, f"part {i + 1}")
        ax.text(1.1, 0.5, "=" if i == c - 1 else "+", transform=ax.transAxes, ha="center", va="center", fontsize=11)
    label_cell(fig, grid[0, c], f"input\n{times(info['input_extent'])}")
    label_cell(fig, grid[1, c], f"kernel\n{times(info['kernel_extent'])}:\none position\nacross the\nchannels")
    ax_out = fig.add_subplot(grid[2, c])
    show_signed(ax_out, a["multi_output"], norm_out, f"output {times(a['multi_output'].shape)}")
    ax_out.title.set_fontweight("bold")
    set_title(fig, info["title"])
    return fig


def main(argv: Sequence[str] | None = None) -> None:
    """Read the arrays and the metrics, check that they fit together, and write the figure and its sidecar."""
    figure_main(
        argv,
        __doc__,
        inputs=figure_inputs(ARRAYS),
        check=lambda d, a: check(d["arrays"], a.arrays),
        describe=lambda d, a: describe(d["arrays"], d["metrics"]),
        draw=lambda d, info, a: plot(d["arrays"], info),
    )


if __name__ == "__main__":
    sys.exit(run_cli(main))
