"""1D convolution of a signal: the noisy mains-like input, a smoothing and an edge kernel, their outputs.

Input, kernels and outputs are drawn one above the other on one time axis: each output value sits at the
centre of the window it was computed from, so the reader sees that a kernel of width k gives k - 1 fewer values
and that it only ever moves along time (the arrow). Reads ``--arrays`` and ``--metrics`` from convolutions/compute.py.

    PYTHONPATH=scripts python scripts/convolutions/figures/signal_1d.py --arrays results/convolutions/arrays.npz \\
        --metrics results/convolutions/metrics.json \\
        --output results/figures/convolutions/signal_1d.svg --meta results/figures/convolutions/signal_1d.json
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
    stem,
    window,
)
from kit.cli import PipelineError, run_cli
from kit.figure import figure_main
from kit.io import round_significant
from kit.plotstyle import PALETTE, new_figure, set_title

ARRAYS = {
    "signal_time_s": 1,
    "signal": 1,
    "kernel_smooth": 1,
    "kernel_edge": 1,
    "signal_smooth": 1,
    "signal_edge": 1,
}


def check(a: dict[str, np.ndarray], path: Path) -> None:
    """Each output must be as long as a kernel sliding over the input without padding gives."""
    n = len(a["signal"])
    for kind in ("smooth", "edge"):
        if len(a[f"signal_{kind}"]) != n - len(a[f"kernel_{kind}"]) + 1 or len(a["signal_time_s"]) != n:
            raise PipelineError(f"{path}: signal_{kind} does not fit the signal and kernel lengths; rerun convolutions")


def describe(a: dict[str, np.ndarray], metrics: dict[str, Any]) -> dict[str, Any]:
    """Title, alt text and numbers: lengths, kernels and what each kernel did to the signal."""
    sig = metrics["signal"]
    n, ks = len(a["signal"]), len(a["kernel_smooth"])
    ns, ne = len(a["signal_smooth"]), len(a["signal_edge"])
    rows = [example(metrics, "signal_smooth"), example(metrics, "signal_edge")]
    directions = sorted({row["directions"] for row in rows})
    title = (
        f"1D convolution: both kernels slide along time only, so the {n}-sample signal gives {ns} smoothed "
        f"and {ne} edge values"
    )
    alt = (
        f"Three stacked line charts over {1000 * sig['duration_s']:g} ms. Top: a mains-like signal of {n} samples "
        f"(a {sig['mains_hz']:g} Hz sine sampled at {sig['rate_hz']:g} Hz plus noise of standard deviation "
        f"{sig['noise_std']:g}), from {a['signal'].min():.2f} to {a['signal'].max():.2f}, with the kernel's window "
        f"outlined and an arrow along the time axis. Middle: the {ks}-point moving average (every weight "
        f"{1 / ks:.3f}) gives {ns} values; their root-mean-square distance from the noise-free sine is "
        f"{sig['rms_from_clean_smoothed']:.3f}, against {sig['rms_from_clean_input']:.3f} for the input. Bottom: the "
        f"edge kernel ({', '.join(f'{v:g}' for v in a['kernel_edge'])}) gives {ne} values from "
        f"{a['signal_edge'].min():.3f} to {a['signal_edge'].max():.3f}, largest at phase "
        f"{sig['edge_peak_phase_deg']:.0f} degrees of the sine (0 is an upward zero crossing, where the noise-free "
        "sine rises fastest). "
        f"Each kernel has one position per output value and moves in {directions[0]} direction."
    )
    return {
        "title": title,
        "alt": alt,
        "samples": n,
        "smooth_width": ks,
        "smooth_length": ns,
        "edge_length": ne,
        "directions": directions,
        "rms_from_clean_input": sig["rms_from_clean_input"],
        "rms_from_clean_smoothed": sig["rms_from_clean_smoothed"],
        "edge_min": round_significant(float(a["signal_edge"].min())),
        "edge_max": round_significant(float(a["signal_edge"].max())),
    }


def plot(a: dict[str, np.ndarray], title: str) -> Figure:
    """Input on top with the sliding window, then each kernel (left) beside its output (right)."""
    t_ms = 1000 * a["signal_time_s"]
    dt = float(t_ms[1] - t_ms[0]) if len(t_ms) > 1 else 1.0
    fig = new_figure(4.4)
    grid = fig.add_gridspec(3, 2, width_ratios=[1, 5.2])
    ax_in = fig.add_subplot(grid[0, 1])
    axes = [ax_in, fig.add_subplot(grid[1, 1], sharex=ax_in), fig.add_subplot(grid[2, 1], sharex=ax_in)]
    ax_in.plot(t_ms, a["signal"], color=PALETTE[0], linewidth=1.0, linestyle="-")
    ax_in.set_ylabel("input\n(a.u.)")
    width = len(a["kernel_smooth"])
    start = len(t_ms) // 5
    low, high = float(a["signal"].min()), float(a["signal"].max())
    window(ax_in, t_ms[start] - dt / 2, low - 0.05 * (high - low), width * dt, 1.1 * (high - low))
    arrow(ax_in, (0.22, 1.04), (0.42, 1.04), " kernel slides along time (1 direction)", va="center")
    for ax, kind, label in ((axes[1], "smooth", "smoothed"), (axes[2], "edge", "edge")):
        k = len(a[f"kernel_{kind}"])
        centres = t_ms[(k - 1) // 2 : (k - 1) // 2 + len(a[f"signal_{kind}"])] + (dt / 2 if k % 2 == 0 else 0)
        if kind == "smooth":  # the input behind the smoothed output shows what was removed
            ax.plot(t_ms, a["signal"], color="#bbbbbb", linewidth=0.8, linestyle="-", label="input")
        else:
            ax.axhline(0, color="#777777", linewidth=0.6)
        ax.plot(centres, a[f"signal_{kind}"], color=PALETTE[2 if kind == "smooth" else 3], linewidth=1.4,
                linestyle="-", label=f"output: {len(centres)} values, one per kernel position")  # fmt: skip
        ax.set_ylabel(f"{label}\n(a.u.)")
        ax.legend(loc="lower right", bbox_to_anchor=(1.0, 0.97), fontsize=7.5, ncols=2, handlelength=1.5,
                  borderaxespad=0)  # fmt: skip
    axes[2].set_xlabel("time (ms)")
    for ax in axes[:2]:
        ax.tick_params(labelbottom=False)
    ax_in.set_xlim(t_ms[0] - dt, t_ms[-1] + dt)
    fig.add_subplot(grid[0, 0]).set_axis_off()
    stem(fig.add_subplot(grid[1, 0]), a["kernel_smooth"], f"smoothing kernel\n({width} taps)")
    stem(fig.add_subplot(grid[2, 0]), a["kernel_edge"], f"edge kernel\n({len(a['kernel_edge'])} taps)")
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
