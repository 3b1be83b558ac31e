"""Line charts: the variance each component explains, and the running total over all components.

Top: the first few components on a linear axis, each component's share as a bar and the running total as a
line, with the source thread's ``--thread-components`` (4: "about 58 %") marked, so that the components the
thread talks about are not squeezed into a sliver. Below, two panels share a logarithmic component axis, because
after the first few components the individual shares are tiny and a linear axis would squeeze 780 of them into a
flat line. Left: each component's share (logarithmic too, it spans nine orders of magnitude). Right: the
cumulative share, with the points where it first reaches each ``--thresholds`` value marked and labelled with
the number of components ``k``, and the thread's count marked again.

    PYTHONPATH=scripts python scripts/pca/figures/variance_cumulative.py --metrics results/pca/metrics.json \\
        --thresholds 0.8 0.9 0.95 --thread-components 4 --output results/figures/pca/variance_cumulative.svg \\
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
from kit.facts import compare, state
from kit.figure import Input, Option, figure_main
from kit.io import round_significant
from kit.plotstyle import PALETTE, as_list, check_count, is_narrow, new_figure, percent, set_title
from pca.pcaio import components_needed, read_ratios

#: Components the linear panel shows at least (more when the thread's count needs them).
LINEAR_COMPONENTS = 12

#: The notice says the curve "climbs fast at first" when the first tenth of the components holds at least this share.
FAST_SHARE = 0.5


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


def linear_count(n: int, thread: int) -> int:
    """How many leading components the linear panel shows."""
    return min(n, max(LINEAR_COMPONENTS, thread + 2))


def describe(ratios: np.ndarray, counts: dict[str, int], thread: int) -> dict[str, Any]:
    """Title, alt text, the caption's notice and quotable numbers, all computed from the ratios."""
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
    shown = linear_count(n, thread)
    tenth = max(1, n // 10)
    alt = (
        f"Three charts. Top, on linear axes: the first {shown} components, each component's share of the variance as "
        f"a bar and the running total as a line; the source thread's {thread} components are marked, explaining "
        f"{percent(cumulative[thread - 1])} together. Below, two line charts over all {n} principal components, with "
        "the component number on a logarithmic axis. "
        f"Left, on a logarithmic scale: the share of variance explained by each component falls from "
        f"{percent(ratios[0])} for component 1 to {_readable_percent(ratios[-1])} for component {n}"
        + (f"; from component {below_1} on, each explains less than 1 %. " if below_1 else ". ")
        + f"Right: the cumulative share rises from {percent(cumulative[0])} with one component to "
        f"{percent(cumulative[-1])} with all {n}, first reaching {reached_text} components, with the thread's "
        f"{thread} marked again."
    )
    return {
        "title": title,
        "alt": alt,
        "notice": compare(
            float(cumulative[tenth - 1]),
            ">=",
            FAST_SHARE,
            f"Notice that the running total climbs fast at first and then flattens: the first "
            f"{tenth} of the {n} components (a tenth) hold {percent(cumulative[tenth - 1])} of the variance, the "
            f"other {n - tenth} the remaining {percent(1 - cumulative[tenth - 1])}.",
            f"Notice how the running total climbs: the first {tenth} of the {n} components (a tenth) hold "
            f"{percent(cumulative[tenth - 1])} of the variance, the other {n - tenth} the remaining "
            f"{percent(1 - cumulative[tenth - 1])}.",
            what=f"share of the first tenth of the components vs {FAST_SHARE}",
        ),
        "thread_mark": state(
            f"The thread's {thread} components explain {percent(cumulative[thread - 1])} of the variance together, "
            "marked on both cumulative curves.",
            components=thread,
            cumulative=float(cumulative[thread - 1]),
        ),
        "thread_components": thread,
        "thread_cumulative": round_significant(cumulative[thread - 1]),
        "linear_components": shown,
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


def plot_variance_cumulative(ratios: np.ndarray, counts: dict[str, int], title: str, thread: int) -> Figure:
    """Top: the first components on linear axes, the thread's count marked. Below, left: each component's share
    (log-log); right: the cumulative share (log x) with the thresholds and the thread's count marked."""
    n = ratios.size
    k = np.arange(1, n + 1)
    cumulative = 100 * np.cumsum(ratios)
    narrow = is_narrow()
    fig = new_figure(7.6 if narrow else 5.4)
    if narrow:
        top, left, right = fig.subplots(3, 1)
    else:
        grid = fig.add_gridspec(2, 2, height_ratios=[1, 1.15])
        top = fig.add_subplot(grid[0, :])
        left, right = fig.add_subplot(grid[1, 0]), fig.add_subplot(grid[1, 1])

    shown = linear_count(n, thread)
    first = np.arange(1, shown + 1)
    top.bar(first, 100 * ratios[:shown], width=0.6, color=PALETTE[0], label="each component")
    top.plot(first, cumulative[:shown], color=PALETTE[1], marker="o", markersize=3.5, label="running total")
    level = cumulative[thread - 1]
    top.plot([thread, thread], [0, level], color="#555555", linewidth=0.8, linestyle=":")
    top.plot([thread], [level], marker="D", markersize=6, color=PALETTE[2], linestyle="none", zorder=3)
    top.annotate(
        f"the thread's {thread}: {level:.1f} %",
        xy=(thread, level),
        xytext=(6, -12),
        textcoords="offset points",
        ha="left",
        va="top",
        fontsize=8,
    )
    top.set_xlim(0.4, shown + 0.6)
    top.set_ylim(0, 102)
    top.set_xticks(first, [str(i) for i in first])
    top.set_yticks(range(0, 101, 20), [f"{v} %" for v in range(0, 101, 20)])
    top.grid(axis="x", visible=False)
    top.set_title(f"the first {shown} components (linear axes)")
    top.set_xlabel("component k" if narrow else "component number k")
    top.set_ylabel("% of total variance")
    top.legend(loc="lower right", bbox_to_anchor=(1.0, 0.08), fontsize=7.5)

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
        level_t = 100 * float(t)
        right.plot([1, kt], [level_t, level_t], color="#555555", linewidth=0.8, linestyle=":")
        right.plot([kt, kt], [0, cumulative[kt - 1]], color="#555555", linewidth=0.8, linestyle=":")
        right.plot([kt], [cumulative[kt - 1]], marker="o", markersize=4, color="black", linestyle="none")
        # Below the curve is empty (the curve rises), so labels run up along the drop lines there.
        right.annotate(
            f"{level_t:g} % at k = {kt}",
            xy=(kt, 2),
            xytext=(-2, 0),
            textcoords="offset points",
            rotation=90,
            ha="right",
            va="bottom",
            fontsize=7.5,
        )
    right.plot([thread], [level], marker="D", markersize=6, color=PALETTE[2], linestyle="none", zorder=3)
    right.annotate(
        f"thread: {thread}",
        xy=(thread, level),
        xytext=(-4, 6),
        textcoords="offset points",
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


def check(data: dict[str, Any], args: Any) -> None:
    """Refuse thresholds the spectrum never reaches and a thread count the spectrum does not have."""
    threshold_counts(data["metrics"], sorted(set(args.thresholds)))
    check_count(args.thread_components, data["metrics"].size, "--thread-components", "components in the metrics")


def main(argv: Sequence[str] | None = None) -> None:
    """Read the metrics, find where each threshold is first reached, and write the figure and its sidecar."""
    figure_main(
        argv,
        __doc__,
        inputs=[Input("metrics", "PCA metrics JSON written by pca/fit.py", read_ratios)],
        options=[
            Option("thresholds", float, "cumulative shares to mark, as fractions in (0, 1]", nargs="+"),
            Option("thread_components", int, "the source thread's number of components, marked on the curves"),
        ],
        check=check,
        describe=lambda d, a: describe(
            d["metrics"], threshold_counts(d["metrics"], sorted(set(a.thresholds))), a.thread_components
        ),
        draw=lambda d, info, a: plot_variance_cumulative(
            d["metrics"], info["thresholds"], info["title"], a.thread_components
        ),
    )


if __name__ == "__main__":
    sys.exit(run_cli(main))
