"""How the correction flows back from Harry through Dick to Tom: the size of the backward message at each hop.

The message is the error signal of one image: at Harry's output it is ``delta_Harry = softmax - onehot``; the
chain rule sends it back through Harry's weights (``delta_Harry W_Harry^T``), through Dick's activation slope
(``delta_Dick``), through Dick's weights and through Tom's slope (``delta_Tom``). A layer's weight gradient is
its input times its delta, so Dick's update is built from what is left of Harry's signal after one layer, and
Tom's after two. Its size is the L2 norm per image, averaged over the step's mini-batch.

Left: the mean size at each of the five hops over all steps, with the mean factor by which each hop multiplies
it. Right: the three deltas over the steps (trailing mean, log y). Reads ``history.npz`` and ``metrics.json``.

    PYTHONPATH=scripts python scripts/backprop/figures/flow.py --history results/backprop/history.npz \\
        --metrics results/backprop/metrics.json --window 25 \\
        --output results/figures/backprop/flow.svg --meta results/figures/backprop/flow.json
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from backprop.bpio import (
    MESSAGE_STAGES,
    PERSON_INDEX,
    TIMES,
    check_window,
    effective_window,
    factor,
    moving_average,
    read_history,
    read_metrics,
    share,
)
from kit.cli import run_cli
from kit.figure import Input, Option, figure_main
from kit.io import round_significant
from kit.plotstyle import LINESTYLES, PALETTE, new_figure, set_title

#: Short axis labels of the five hops, and whose colour each bar takes (the layer the message has reached).
HOP_LABELS: dict[str, str] = {
    "harry": "δ Harry\n(output)",
    "harry_to_dick": "through\nHarry's W",
    "dick": "δ Dick",
    "dick_to_tom": "through\nDick's W",
    "tom": "δ Tom",
}
HOP_OWNER: dict[str, str] = {
    "harry": "Harry",
    "harry_to_dick": "Dick",
    "dick": "Dick",
    "dick_to_tom": "Tom",
    "tom": "Tom",
}
#: What each hop does to the message, for the sidecar's factors.
HOP_STEPS: tuple[tuple[str, str, str], ...] = (
    ("harry_weights", "harry", "harry_to_dick"),
    ("dick_slope", "harry_to_dick", "dick"),
    ("dick_weights", "dick", "dick_to_tom"),
    ("tom_slope", "dick_to_tom", "tom"),
)


#: How the activations are written in titles.
ACTIVATION_NAMES: dict[str, str] = {"sigmoid": "sigmoid", "relu": "ReLU"}


def flow_numbers(history: dict[str, np.ndarray]) -> dict[str, Any]:
    """Mean size at each hop over all steps, and each hop's factor as the ratio of those means.

    Why ratios of means: the factors then multiply exactly to the ratio of the bars they sit between, so the
    chart adds up (delta_Tom / delta_Harry is the product of the four factors).
    """
    sizes = {stage: float(np.mean(history[f"message_{stage}"])) for stage in MESSAGE_STAGES}

    def ratio(top: str, bottom: str) -> float:
        return sizes[top] / sizes[bottom]

    factors = {name: ratio(after, before) for name, before, after in HOP_STEPS}
    return {
        "sizes": sizes,
        "factors": factors,
        "dick_over_harry": ratio("dick", "harry"),
        "tom_over_harry": ratio("tom", "harry"),
    }


def plot_flow(history: dict[str, np.ndarray], numbers: dict[str, Any], window: int, title: str) -> Figure:
    """The waterfall of mean sizes (left) and the three deltas over the steps (right)."""
    fig = new_figure(3.2)
    left, right = fig.subplots(1, 2, width_ratios=[1.1, 1])
    x = np.arange(len(MESSAGE_STAGES))
    heights = [numbers["sizes"][stage] for stage in MESSAGE_STAGES]
    for i, stage in enumerate(MESSAGE_STAGES):
        colour = PALETTE[PERSON_INDEX[HOP_OWNER[stage]]]
        delta = stage in ("harry", "dick", "tom")
        left.bar(i, heights[i], width=0.62, color=colour if delta else "white", edgecolor=colour, linewidth=1.2,
                 hatch="" if delta else "///")  # fmt: skip
    top = max(heights)
    for i, (name, before, after) in enumerate(HOP_STEPS):
        # A short arrow from the top of one bar to the top of the next, labelled with the hop's mean factor.
        y0, y1 = numbers["sizes"][before], numbers["sizes"][after]
        left.annotate("", xy=(i + 0.72, y1), xytext=(i + 0.28, y0),
                      arrowprops={"arrowstyle": "-|>", "color": "#333333", "linewidth": 1.0})  # fmt: skip
        left.text(i + 0.5, max(y0, y1) + 0.04 * top, f"{TIMES}{numbers['factors'][name]:.2f}", ha="center",
                  va="bottom", fontsize=8, bbox={"facecolor": "white", "edgecolor": "none", "pad": 0.5})  # fmt: skip
    left.set_xticks(x, [HOP_LABELS[stage] for stage in MESSAGE_STAGES], fontsize=7.5)
    left.set_ylim(0, 1.18 * top)
    left.set_ylabel("mean size per image (L2 norm)")
    left.set_title("Mean size at each hop, Harry → Tom")
    left.grid(axis="x", visible=False)

    steps = history["step"]
    for stage in ("harry", "dick", "tom"):
        i = PERSON_INDEX[HOP_OWNER[stage]]
        right.plot(steps, moving_average(history[f"message_{stage}"], window), color=PALETTE[i],
                   linestyle=LINESTYLES[i], label=f"δ {HOP_OWNER[stage]}")  # fmt: skip
    right.set_yscale("log")
    right.set_xlim(0, int(steps[-1]))
    right.set_xlabel("SGD step")
    right.set_ylabel("size per image (log scale)")
    right.set_title(f"The three deltas (mean of {window} steps)")
    low, high = right.get_ylim()
    right.set_ylim(low, high * 4)  # room for the legend above the lines
    right.legend(loc="upper right", ncols=3, handlelength=1.8, columnspacing=1.0)
    set_title(fig, title)
    return fig


def describe(history: dict[str, np.ndarray], metrics: dict[str, Any], window: int) -> dict[str, Any]:
    """Title, alt text and the numbers the page quotes."""
    numbers = flow_numbers(history)
    f, s = numbers["factors"], numbers["sizes"]
    activation = metrics["settings"]["activation"]
    name = ACTIVATION_NAMES.get(activation, activation)
    slopes = f"({TIMES}{factor(f['dick_slope'])} at Dick, {TIMES}{factor(f['tom_slope'])} at Tom)"
    weights = f"({TIMES}{factor(f['harry_weights'])} at Harry's, {TIMES}{factor(f['dick_weights'])} at Dick's)"
    if max(f["dick_slope"], f["tom_slope"]) < 1:
        slope_part = f"each {name} slope shrinks the error signal {slopes}"
    else:
        slope_part = f"the {name} slopes multiply the error signal by {slopes[1:-1]}"
    if min(f["harry_weights"], f["dick_weights"]) > 1:
        weight_part = f"each weight layer enlarges it {weights}"
    elif max(f["harry_weights"], f["dick_weights"]) < 1:
        weight_part = f"each weight layer shrinks it {weights}"
    else:
        weight_part = f"the weight layers multiply it by {weights[1:-1]}"
    title = (
        f"Going back, {slope_part} and {weight_part}; on average δ Tom is {share(numbers['tom_over_harry'])} of the "
        f"size of δ Harry"
    )
    hops = "; ".join(f"{HOP_LABELS[stage].replace(chr(10), ' ')}: {s[stage]:.3f}" for stage in MESSAGE_STAGES)
    alt = (
        f"Left: bar chart of the mean size (L2 norm per image) of the backward error message at five hops, "
        f"averaged over {len(history['step']):,} SGD steps: {hops}. The factors between hops are "
        f"{TIMES}{factor(f['harry_weights'])} through Harry's weights, {TIMES}{factor(f['dick_slope'])} through "
        f"Dick's slope, {TIMES}{factor(f['dick_weights'])} through Dick's weights and {TIMES}{factor(f['tom_slope'])} "
        f"through Tom's slope. Right: line chart, log y, of δ Harry, δ Dick and δ Tom over the steps (trailing mean of "
        f"{window}). Averaged over the steps, δ Dick is {share(numbers['dick_over_harry'])} and δ Tom "
        f"{share(numbers['tom_over_harry'])} of the size of δ Harry."
    )
    return {
        "title": title,
        "alt": alt,
        "window": window,
        "activation": activation,
        "sizes": {k: round_significant(v) for k, v in s.items()},
        "factors": {k: round_significant(v) for k, v in f.items()},
        "factors_text": {k: factor(v) for k, v in f.items()},
        "dick_over_harry": round_significant(numbers["dick_over_harry"]),
        "dick_over_harry_text": share(numbers["dick_over_harry"]),
        "tom_over_harry_text": share(numbers["tom_over_harry"]),
        "tom_over_harry": round_significant(numbers["tom_over_harry"]),
    }


def main(argv: Sequence[str] | None = None) -> None:
    """Read the run and write the figure and its sidecar."""
    figure_main(
        argv,
        __doc__,
        inputs=[
            Input("history", "history.npz written by backprop/network.py", read_history),
            Input("metrics", "metrics.json written by backprop/network.py", read_metrics),
        ],
        options=[Option("window", int, "steps in the trailing mean (the workflow gives 25)")],
        check=lambda d, a: check_window(a.window),
        describe=lambda d, a: describe(d["history"], d["metrics"], effective_window(a.window, d["history"])),
        draw=lambda d, info, a: plot_flow(
            d["history"], flow_numbers(d["history"]), effective_window(a.window, d["history"]), info["title"]
        ),
    )


if __name__ == "__main__":
    sys.exit(run_cli(main))
