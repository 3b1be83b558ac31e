"""Line charts: the variance each component explains, and the running total over all components.

Two panels share a logarithmic component axis, because after the first few components the individual
shares are tiny and a linear axis would squeeze 780 of them into a flat line. Left: each component's share
(logarithmic too, it spans nine orders of magnitude). Right: the cumulative share, with the points where it
first reaches each ``--thresholds`` value marked and labelled with the number of components ``k``.

    PYTHONPATH=scripts python scripts/pca/figures/variance_cumulative.py --metrics results/pca/metrics.json \\
        --thresholds 0.8 0.9 0.95 --output results/figures/pca/variance_cumulative.svg \\
        --meta results/figures/pca/variance_cumulative.json
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from kit.cli import PipelineError, run_cli
from kit.figure import Input, Option, figure_main
from kit.io import round_significant
from kit.plotstyle import PALETTE, as_list, new_figure, percent, set_title
from pca.pcaio import components_needed, read_ratios


def threshold_counts(ratios: np.ndarray, thresholds: Sequence[float]) -> dict[str, int]:
    """Smallest number of components whose cumulative share reaches each threshold (the metrics' rule).

    Keys are written like the metrics file's (``"0.8"``), so the prose can look a value up in either.
    """
    cumulative = np.cumsum(ratios)
    for t in thresholds:
        if not 0 < t <= 1:
            raise PipelineError(f"--thresholds {t:g} is out of range: give fractions in (0, 1], e.g. 0.9")
        if cumulative[-1] < t - 1e-9:
            raise PipelineError(
                f"--thresholds {t:g} is never reached: all {ratios.size} components explain "
                f"{percent(cumulative[-1])}; give a smaller threshold"
            )
    return components_needed(cumulative, thresholds)


def describe(ratios: np.ndarray, counts: dict[str, int]) -> dict[str, Any]:
    """Title, alt text and quotable numbers, all computed from the ratios."""
    n = ratios.size
    cumulative = np.cumsum(ratios)
    items = sorted(counts.items(), key=lambda kv: float(kv[0]))
    first_t, first_k = items[0]
    title = f"{percent(float(first_t), 0)} of the variance needs {first_k} of {n} components"
    if len(items) > 1:
        last_t, last_k = items[-1]
        title += f", {percent(float(last_t), 0)} needs {last_k}"
    below_1 = int(np.argmax(ratios < 0.01)) + 1 if np.any(ratios < 0.01) else None
    reached = [f"{percent(float(t), 0)} with {k}" for t, k in items]
    reached_text = reached[0] if len(reached) == 1 else ", ".join(reached[:-1]) + " and " + reached[-1]
    alt = (
        f"Two line charts over all {n} principal components, with the component number on a logarithmic axis. "
        f"Left, on a logarithmic scale: the share of variance explained by each component falls from "
        f"{percent(ratios[0])} for component 1 to {_readable_percent(ratios[-1])} for component {n}"
        + (f"; from component {below_1} on, each explains less than 1 %. " if below_1 else ". ")
        + f"Right: the cumulative share rises from {percent(cumulative[0])} with one component to "
        f"{percent(cumulative[-1])} with all {n}, first reaching {reached_text} components."
    )
    return {
        "title": title,
        "alt": alt,
        "n_components": n,
        "thresholds": counts,
        "cumulative_at_thresholds": {t: round_significant(cumulative[k - 1]) for t, k in items},
        "first_component_below_1_percent": below_1,
        "cumulative_ratio_first_10": as_list(cumulative[:10]),
    }


def _readable_percent(ratio: float) -> str:
    """A share as plain decimals a screen reader speaks well (``0.00000015 %``, never ``1.5e-07 %``)."""
    return np.format_float_positional(100 * ratio, precision=2, unique=False, fractional=False, trim="-") + " %"


def _percent_tick(value: float, _pos: int) -> str:
    """Tick labels like ``10 %`` or ``0.001 %``; powers of ten below that, never ``1e-05``."""
    if value >= 1e-3:
        return f"{value:g} %"
    return f"$10^{{{round(np.log10(value))}}}$ %"


def _component_ticks(n: int) -> list[int]:
    """Plain-number ticks for a log component axis: 1, 10, 100 ... and the last component."""
    ticks = [10**e for e in range(len(str(n))) if 10**e < n * 0.7]
    return [*ticks, n]


def plot_variance_cumulative(ratios: np.ndarray, counts: dict[str, int], title: str) -> Figure:
    """Left panel: each component's share (log-log). Right: cumulative share with thresholds marked."""
    n = ratios.size
    k = np.arange(1, n + 1)
    cumulative = 100 * np.cumsum(ratios)
    fig = new_figure(3.1)
    left, right = fig.subplots(1, 2)

    positive = ratios > 0  # a zero share cannot sit on a log axis; it is simply not drawn
    left.plot(k[positive], 100 * ratios[positive], color=PALETTE[0], linestyle="-")
    left.set_xscale("log")
    left.set_yscale("log")
    left.yaxis.set_major_formatter(FuncFormatter(_percent_tick))
    left.set_title("each component")
    left.set_xlabel("component number (log scale)")
    left.set_ylabel("explained variance (% of total, log scale)")

    right.plot(k, cumulative, color=PALETTE[1], linestyle="-")
    right.set_xscale("log")
    right.set_ylim(0, 102)
    right.set_yticks(range(0, 101, 20), [f"{v} %" for v in range(0, 101, 20)])
    for t, kt in sorted(counts.items(), key=lambda kv: float(kv[0])):
        level = 100 * float(t)
        right.plot([1, kt], [level, level], color="#555555", linewidth=0.8, linestyle=":")
        right.plot([kt, kt], [0, cumulative[kt - 1]], color="#555555", linewidth=0.8, linestyle=":")
        right.plot([kt], [cumulative[kt - 1]], marker="o", markersize=4, color="black", linestyle="none")
        # Below the curve is empty (the curve rises), so labels run up along the drop lines there.
        right.annotate(
            f"{level:g} % at k = {kt}",
            xy=(kt, 2),
            xytext=(-2, 0),
            textcoords="offset points",
            rotation=90,
            ha="right",
            va="bottom",
            fontsize=7.5,
        )
    for ax in (left, right):
        ax.set_xlim(1, n * 1.15)
        ax.set_xticks(_component_ticks(n), [str(t) for t in _component_ticks(n)])
    right.set_title("cumulative")
    right.set_xlabel("number of components k (log scale)")
    right.set_ylabel("explained variance (% of total)")
    set_title(fig, title)
    return fig


def main(argv: Sequence[str] | None = None) -> None:
    """Read the metrics, find where each threshold is first reached, and write the figure and its sidecar."""
    figure_main(
        argv,
        __doc__,
        inputs=[Input("metrics", "PCA metrics JSON written by pca/fit.py", read_ratios)],
        options=[Option("thresholds", float, "cumulative shares to mark, as fractions in (0, 1]", nargs="+")],
        check=lambda d, a: threshold_counts(d["metrics"], sorted(set(a.thresholds))),
        describe=lambda d, a: describe(d["metrics"], threshold_counts(d["metrics"], sorted(set(a.thresholds)))),
        draw=lambda d, info, a: plot_variance_cumulative(d["metrics"], info["thresholds"], info["title"]),
    )


if __name__ == "__main__":
    sys.exit(run_cli(main))
