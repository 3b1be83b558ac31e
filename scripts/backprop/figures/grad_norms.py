"""Each layer's gradient norm over the SGD steps: how big a correction Tom, Dick and Harry each receive.

The norm is the Euclidean norm of all of a layer's weight and bias gradient entries on the step's mini-batch
(the hand-made gradient, which backprop/network.py checks against autograd). Thin lines are the raw per-step
values, thick lines their trailing mean over ``--window`` steps; the y axis is logarithmic. Reads ``history.npz``.

    PYTHONPATH=scripts python scripts/backprop/figures/grad_norms.py --history results/backprop/history.npz \\
        --window 25 --output results/figures/backprop/grad_norms.svg --meta results/figures/backprop/grad_norms.json
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from backprop.bpio import (
    LAYERS,
    PEOPLE,
    PERSON_INDEX,
    check_window,
    effective_window,
    moving_average,
    read_history,
)
from kit.cli import run_cli
from kit.figure import Input, Option, figure_main
from kit.io import round_significant
from kit.plotstyle import LINESTYLES, PALETTE, new_figure, set_title


def distinct(values: list[float]) -> list[str]:
    """The values with 2 significant digits, or more where that is needed to tell different values apart."""
    for digits in range(2, 9):
        texts = [f"{v:.{digits}g}" for v in values]
        if len(set(texts)) == len(set(values)):
            return texts
    return texts


def plot_grad_norms(history: dict[str, np.ndarray], window: int, title: str) -> Figure:
    """One raw (thin) and one smoothed (thick) line per layer, log y."""
    steps = history["step"]
    fig = new_figure(3.0)
    ax = fig.subplots()
    for layer in LAYERS:
        i = PERSON_INDEX[PEOPLE[layer]]
        values = history[f"grad_norm_{layer}"]
        ax.plot(steps, values, color=PALETTE[i], linestyle="-", linewidth=0.5, alpha=0.35)
        ax.plot(steps, moving_average(values, window), color=PALETTE[i], linestyle=LINESTYLES[i], linewidth=1.8,
                label=f"{PEOPLE[layer]}'s layer")  # fmt: skip
    ax.set_yscale("log")
    ax.set_xlim(0, int(steps[-1]))
    ax.set_xlabel("SGD step")
    ax.set_ylabel("gradient norm ‖∂L/∂θ‖ (log scale)")
    fig.legend(loc="outside right center", title=f"mean of {window} steps")
    set_title(fig, title)
    return fig


def describe(history: dict[str, np.ndarray], window: int) -> dict[str, Any]:
    """Title, alt text and each layer's first, last and median gradient norm."""
    numbers = {
        layer: {
            "first": float(history[f"grad_norm_{layer}"][0]),
            "last": float(history[f"grad_norm_{layer}"][-1]),
            "median": float(np.median(history[f"grad_norm_{layer}"])),
        }
        for layer in LAYERS
    }
    ranked = sorted(LAYERS, key=lambda layer: -numbers[layer]["median"])
    largest, smallest = ranked[0], ranked[-1]
    medians = [numbers[layer]["median"] for layer in LAYERS]
    texts = dict(zip(LAYERS, distinct(medians), strict=True))
    if len(set(medians)) == len(LAYERS):
        title = (
            f"{PEOPLE[largest]}'s layer gets the largest gradient (median norm {texts[largest]}), "
            f"{PEOPLE[smallest]}'s the smallest ({texts[smallest]})"
        )
    else:
        title = "Median gradient norms: " + ", ".join(f"{PEOPLE[layer]} {texts[layer]}" for layer in LAYERS)
    per_layer = "; ".join(
        f"{PEOPLE[layer]}: {numbers[layer]['first']:.3f} at step 1, median {numbers[layer]['median']:.3f}, "
        f"{numbers[layer]['last']:.3f} at the last step"
        for layer in LAYERS
    )
    alt = (
        f"Line chart, logarithmic y axis, of the gradient norm of each layer's weights and biases at each of "
        f"{len(history['step']):,} SGD steps, raw and as a trailing mean of {window} steps. {per_layer}."
    )
    return {
        "title": title,
        "alt": alt,
        "window": window,
        "largest": PEOPLE[largest],
        "smallest": PEOPLE[smallest],
        "layers": {layer: {k: round_significant(v) for k, v in numbers[layer].items()} for layer in LAYERS},
    }


def main(argv: Sequence[str] | None = None) -> None:
    """Read the history and write the figure and its sidecar."""
    figure_main(
        argv,
        __doc__,
        inputs=[Input("history", "history.npz written by backprop/network.py", read_history)],
        options=[Option("window", int, "steps in the trailing mean (the workflow gives 25)")],
        check=lambda d, a: check_window(a.window),
        describe=lambda d, a: describe(d["history"], effective_window(a.window, d["history"])),
        draw=lambda d, info, a: plot_grad_norms(d["history"], effective_window(a.window, d["history"]), info["title"]),
    )


if __name__ == "__main__":
    sys.exit(run_cli(main))
