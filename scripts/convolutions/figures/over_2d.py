"""The thread's 1D convolution over a 2D input: 20 time steps x 8 sensors, a width-3 kernel that is 3 x 8.

The kernel covers all 8 sensors at once, so it has only one position across them and moves along time only:
the output is a 1D array of 18 values. Input, kernel and output are drawn as heat maps on one diverging scale
per panel, the output under the input on the same time axis. Reads ``--arrays`` and ``--metrics``.

    PYTHONPATH=scripts python scripts/convolutions/figures/over_2d.py --arrays results/convolutions/arrays.npz \\
        --metrics results/convolutions/metrics.json \\
        --output results/figures/convolutions/over_2d.svg --meta results/figures/convolutions/over_2d.json
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
    show_signed,
    symmetric_norm,
    times,
    window,
    write_weights,
)
from kit.cli import PipelineError, run_cli
from kit.figure import figure_main
from kit.plotstyle import PALETTE, new_figure, set_title

ARRAYS = {"over2d_input": 2, "over2d_kernel": 2, "over2d_output": 1}


def check(a: dict[str, np.ndarray], path: Path) -> None:
    """The kernel must span every sensor, and the output be as long as a kernel sliding along time gives."""
    sensors, steps = a["over2d_input"].shape
    k_sensors, width = a["over2d_kernel"].shape
    if k_sensors != sensors or len(a["over2d_output"]) != steps - width + 1:
        raise PipelineError(
            f"{path}: input {a['over2d_input'].shape}, kernel {a['over2d_kernel'].shape} and output "
            f"{a['over2d_output'].shape} do not fit a 1D convolution over time; rerun the convolutions step"
        )


def describe(a: dict[str, np.ndarray], metrics: dict[str, Any]) -> dict[str, Any]:
    """Title, alt text and numbers, with the shapes as the thread writes them (time x sensors)."""
    row = example(metrics, "over_2d")
    sensors, steps = a["over2d_input"].shape
    width = a["over2d_kernel"].shape[1]
    out = a["over2d_output"]
    title = (
        f"1D convolution over a {steps} × {sensors} input: the width-{width} kernel is {width} × {sensors}, spans "
        f"all {sensors} sensors and slides along time only, giving {len(out)} values"
    )
    alt = (
        f"Top left: heat map of the input, {sensors} sensors (rows) by {steps} time steps (columns), a "
        f"{metrics['signal']['mains_hz']:g} Hz sine at {sensors} phases plus noise, values from "
        f"{a['over2d_input'].min():.2f} to {a['over2d_input'].max():.2f}, with a {width}-step window outlined "
        f"over all {sensors} rows and an arrow along time. Top right: the kernel, {sensors} rows by {width} "
        f"columns of weights from {a['over2d_kernel'].min():.2f} to {a['over2d_kernel'].max():.2f}, written in "
        f"its cells. Bottom: the output, {len(out)} values from {out.min():.2f} to {out.max():.2f}, one per "
        f"window position. In the thread's notation: input {times(row['input_extent'])}, kernel "
        f"{times(row['kernel_extent'])}, output {times(row['output_extent'])}; the kernel moves in "
        f"{row['directions']} direction."
    )
    return {
        "title": title,
        "alt": alt,
        "input_extent": row["input_extent"],
        "kernel_extent": row["kernel_extent"],
        "output_length": len(out),
        "directions": row["directions"],
        "output_extent": row["output_extent"],
        "input_shape": row["input_shape"],
        "kernel_shape": row["kernel_shape"],
        "output_shape": row["output_shape"],
    }


def plot(a: dict[str, np.ndarray], info: dict[str, Any]) -> Figure:
    """Input heat map with the window and arrow, the kernel with its weights, the output under the input."""
    x, w, y = a["over2d_input"], a["over2d_kernel"], a["over2d_output"]
    sensors, steps = x.shape
    width = w.shape[1]
    fig = new_figure(3.7)
    grid = fig.add_gridspec(2, 2, width_ratios=[4.2, 1.35], height_ratios=[1.5, 1])
    ax_in = fig.add_subplot(grid[0, 0])
    show_signed(ax_in, x, symmetric_norm(x))
    ax_in.set_aspect("auto")
    ax_in.set_yticks(range(sensors), [str(i + 1) for i in range(sensors)], fontsize=7)
    ax_in.set_ylabel("sensor")
    ax_in.set_xticks(range(0, steps, 2), [str(i + 1) for i in range(0, steps, 2)], fontsize=7)
    ax_in.set_xlabel("time step", labelpad=1)
    ax_in.set_title(f"input {steps} × {sensors} (red above 0, blue below)", fontsize=8, pad=3, loc="left")
    window(ax_in, 3.5, -0.5, width, sensors)
    arrow(ax_in, (0.62, 1.06), (0.9, 1.06), " kernel slides")
    ax_k = fig.add_subplot(grid[0, 1])
    norm_k = symmetric_norm(w)
    show_signed(ax_k, w, norm_k, f"kernel {width} × {sensors}")
    ax_k.set_aspect("auto")
    write_weights(ax_k, w, norm_k, fmt="{:+.2f}", size=7)
    ax_k.set_xticks(range(width), [str(i + 1) for i in range(width)], fontsize=7)
    ax_k.set_xlabel("tap", labelpad=1)
    ax_out = fig.add_subplot(grid[1, 0], sharex=ax_in)
    centres = np.arange(len(y)) + (width - 1) / 2
    ax_out.axhline(0, color="#777777", linewidth=0.6)
    ax_out.plot(centres, y, color=PALETTE[3], linestyle="-", marker="o", markersize=3, linewidth=1.3)
    ax_out.set_xlabel("time step (centre of the kernel's window)")
    ax_out.set_ylabel("output")
    ax_out.set_title(f"output: {len(y)} values, a 1D array", fontsize=8, pad=3, loc="left")
    ax_text = fig.add_subplot(grid[1, 1])
    ax_text.set_axis_off()
    lines = [
        "shapes (time × sensors)",
        f"input   {times(info['input_extent'])}",
        f"kernel  {times(info['kernel_extent'])}",
        f"output  {times(info['output_extent'])}",
        f"directions moved: {info['directions']}",
    ]
    ax_text.text(0.0, 0.95, "\n".join(lines), transform=ax_text.transAxes, va="top", ha="left", fontsize=7.5,
                 family="DejaVu Sans Mono", linespacing=1.5)  # fmt: skip
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
