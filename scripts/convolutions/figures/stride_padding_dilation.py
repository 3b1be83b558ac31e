"""Stride, padding and dilation drawn: which input cells one output reads, and the output size torch returns.

On a small square input (7 x 7 by default of compute.py) a 3 x 3 kernel runs four times: plain (stride 1, no
padding, no dilation), then with stride 2, padding 1 and dilation 2, one change at a time. Each panel shows the
input (padding cells dashed, holding zeros), the cells the first output reads and those its neighbour along x
reads (found by compute.py with torch's autograd, not drawn by hand), and below it the output grid with those two
outputs marked, at the size torch returned. Reads ``--arrays`` and ``--metrics`` from convolutions/compute.py.

    PYTHONPATH=scripts python scripts/convolutions/figures/stride_padding_dilation.py \\
        --arrays results/convolutions/arrays.npz --metrics results/convolutions/metrics.json \\
        --output results/figures/convolutions/stride_padding_dilation.svg \\
        --meta results/figures/convolutions/stride_padding_dilation.json
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Patch, Rectangle

from convolutions.convio import MOVE_COLOR, figure_inputs
from kit.cli import PipelineError, run_cli
from kit.figure import figure_main
from kit.plotstyle import PALETTE, is_narrow, new_figure, set_title

ARRAYS = {"spd_cells": 3, "spd_reads": 4}

#: Colours of the first output (and the cells it reads) and of its neighbour along x.
FIRST, SECOND = MOVE_COLOR, PALETTE[0]

#: What each case changes, for its panel's title.
CHANGE = {
    "plain": "plain",
    "stride": "stride {stride}",
    "padding": "padding {padding}",
    "dilation": "dilation {dilation}",
}


def cases_of(metrics: dict[str, Any], path: Path | str = "metrics.json") -> list[dict[str, Any]]:
    """The four cases of metrics.json, checked."""
    cases = metrics.get("stride_padding_dilation", {}).get("cases")
    if not isinstance(cases, list) or not cases or any(case.get("name") not in CHANGE for case in cases):
        raise PipelineError(f"{path}: has no 'stride_padding_dilation.cases'; rerun the convolutions step")
    return cases


def check(a: dict[str, np.ndarray], metrics: dict[str, Any], path: Path) -> None:
    """One grid and two read masks per case, all on the same square grid."""
    cases = cases_of(metrics, path)
    cells, reads = a["spd_cells"], a["spd_reads"]
    n, side = len(cases), cells.shape[-1]
    if cells.shape != (n, side, side) or reads.shape != (n, 2, side, side):
        raise PipelineError(
            f"{path}: spd_cells {cells.shape} and spd_reads {reads.shape} do not fit {n} cases; rerun convolutions"
        )


def title_of(case: dict[str, Any]) -> str:
    """A panel's name: what it changes from the plain case."""
    return CHANGE[case["name"]].format(**case)


def describe(a: dict[str, np.ndarray], metrics: dict[str, Any]) -> dict[str, Any]:
    """Title, alt text and numbers: each case's output size from torch and what its first two outputs read."""
    spd = metrics["stride_padding_dilation"]
    cases = cases_of(metrics)
    side, k = spd["input_side"], spd["kernel"]
    sizes = ", ".join(f"{c['output_side']} × {c['output_side']}" for c in cases)
    title = f"Stride, padding and dilation on a {side} × {side} input with a {k} × {k} kernel: torch returns {sizes}"
    parts = []
    for i, case in enumerate(cases):
        first, second = (int(a["spd_reads"][i, j].sum()) for j in (0, 1))
        padding_cells = int(((a["spd_reads"][i, 0] > 0) & (a["spd_cells"][i] == 1)).sum())
        parts.append(
            f"{title_of(case)}: output {case['output_side']} by {case['output_side']}; the first output reads {first} "
            f"cells spanning {case['first_span']} columns ({padding_cells} of them padding), the next output along x "
            f"reads {second} cells starting {case['second_offset']} column{'s' if case['second_offset'] != 1 else ''} "
            "further right"
        )
    alt = (
        f"Four panels, one per case, each a {side} by {side} grid of input cells (padding cells, which hold zeros, "
        f"dashed) with the cells read by the first output filled orange and those read by the next output along x "
        f"hatched blue, and below it the output grid at the size torch returned with those two outputs marked. "
        + "; ".join(parts)
        + "."
    )
    return {
        "title": title,
        "alt": alt,
        "input_side": side,
        "kernel": k,
        "output_sides": {case["name"]: case["output_side"] for case in cases},
        "second_offsets": {case["name"]: case["second_offset"] for case in cases},
        "first_spans": {case["name"]: case["first_span"] for case in cases},
    }


def cell(ax: Axes, col: float, row: float, size: float = 1.0, **style: Any) -> None:
    """One square cell with its top-left corner at (col, row), rows counted downwards."""
    ax.add_patch(Rectangle((col, row), size, size, **style))


def panel(ax: Axes, cells: np.ndarray, reads: np.ndarray, case: dict[str, Any]) -> None:
    """One case: the input grid with the cells each of the two outputs reads, and the output grid below."""
    side = cells.shape[0]
    for (r, c), kind in np.ndenumerate(cells):
        if kind == 0:
            continue
        padding = kind == 1
        cell(ax, c, r, facecolor="white" if padding else "#e6e6e6", edgecolor="#888888",
             linewidth=0.5, linestyle=(0, (2, 1.5)) if padding else "-")  # fmt: skip
        if padding:
            ax.text(c + 0.5, r + 0.5, "0", ha="center", va="center", fontsize=5.5, color="#999999")
        if reads[0, r, c]:
            cell(ax, c + 0.06, r + 0.06, 0.88, facecolor=FIRST, alpha=0.8, edgecolor="none")
        if reads[1, r, c]:
            cell(ax, c + 0.06, r + 0.06, 0.88, facecolor="none", edgecolor=SECOND, linewidth=1.2, hatch="////")
    n = case["output_side"]
    top = side + 1.6
    left = (side - n) / 2
    for r in range(n):
        for c in range(n):
            face = FIRST if (r, c) == (0, 0) else "#f4f4f4"
            cell(ax, left + c, top + r, facecolor=face, edgecolor="#777777", linewidth=0.6)
            if (r, c) == (0, 1):
                cell(ax, left + c + 0.06, top + r + 0.06, 0.88, facecolor="none", edgecolor=SECOND, linewidth=1.2,
                     hatch="////")  # fmt: skip
    ax.text(side / 2, side + 0.75, "input", ha="center", va="center", fontsize=7, color="#555555")
    ax.text(side / 2, top + n + 0.3, f"output {n} × {n}", ha="center", va="top", fontsize=7.5)
    ax.set_xlim(-0.2, side + 0.2)
    ax.set_ylim(top + 7 + 1.4, -0.2)  # room for the largest output (7 x 7) so every panel has one scale
    ax.set_aspect("equal")
    ax.set_axis_off()
    ax.set_title(title_of(case), fontsize=8, pad=2)


def plot(a: dict[str, np.ndarray], metrics: dict[str, Any], title: str) -> Figure:
    """The four cases side by side (two by two on a phone), with one legend below."""
    cases = cases_of(metrics)
    columns = 2 if is_narrow() else len(cases)  # a phone: two by two instead of one tall column
    rows = -(-len(cases) // columns)
    fig = new_figure(3.4 * rows if rows > 1 else 3.5)
    axes = fig.subplots(rows, columns, squeeze=False).ravel()
    for ax, case, i in zip(axes, cases, range(len(cases)), strict=False):
        panel(ax, a["spd_cells"][i], a["spd_reads"][i], case)
    handles = [
        Patch(facecolor=FIRST, alpha=0.8, label="cells the first output reads"),
        Patch(facecolor="none", edgecolor=SECOND, hatch="////", label="cells the next output along x reads"),
        Patch(facecolor="white", edgecolor="#888888", linestyle=(0, (2, 1.5)), label="padding (zeros)"),
    ]
    fig.legend(handles=handles, loc="outside lower center", ncols=1 if rows > 1 else 3, fontsize=7.5, frameon=False)
    set_title(fig, title)
    return fig


def main(argv: Sequence[str] | None = None) -> None:
    """Read the arrays and the metrics, check that they fit together, and write the figure and its sidecar."""
    figure_main(
        argv,
        __doc__,
        inputs=figure_inputs(ARRAYS),
        check=lambda d, a: check(d["arrays"], d["metrics"], a.arrays),
        describe=lambda d, a: describe(d["arrays"], d["metrics"]),
        draw=lambda d, info, a: plot(d["arrays"], d["metrics"], info["title"]),
        narrow=True,  # plot() lays the panels out for a phone when is_narrow()
    )


if __name__ == "__main__":
    sys.exit(run_cli(main))
