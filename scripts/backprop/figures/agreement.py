"""Hand-made gradients against autograd: the relative error at every step, and the entries side by side.

Left: each layer's relative error ``max |g_numpy - g_autograd| / max |g_autograd|`` at every SGD step (log y),
with the tolerance the run enforces. Right: a seeded sample of weight-gradient entries of each layer at the first
step: the absolute difference between the NumPy and the autograd value against the entry's size (log-log), with
the line where a difference is just float64 rounding of the value; identical entries sit on a dotted floor.
Reads ``history.npz`` and ``metrics.json`` (backprop/network.py).

    PYTHONPATH=scripts python scripts/backprop/figures/agreement.py --history results/backprop/history.npz \\
        --metrics results/backprop/metrics.json \\
        --output results/figures/backprop/agreement.svg --meta results/figures/backprop/agreement.json
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from backprop.bpio import (
    EPSILON,
    FIRST_SAMPLES,
    LAYERS,
    PEOPLE,
    PERSON_INDEX,
    entry_counts,
    read_history,
    read_metrics,
    scientific,
)
from kit.cli import run_cli
from kit.figure import Input, figure_main
from kit.formats import upper_bound
from kit.io import round_significant
from kit.plotstyle import LINESTYLES, PALETTE, new_figure, set_title

SAMPLES: tuple[str, ...] = FIRST_SAMPLES
MARKERS: dict[str, str] = {"tom": "o", "dick": "s", "harry": "^"}


def entry_differences(history: dict[str, np.ndarray], layer: str) -> tuple[np.ndarray, np.ndarray]:
    """Sampled weight-gradient entries of ``layer`` at step 1: |autograd value| and |NumPy - autograd|."""
    manual = history[f"sample_first_manual_{layer}"]
    reference = history[f"sample_first_autograd_{layer}"]
    return np.abs(reference), np.abs(manual - reference)


def entry_floor(history: dict[str, np.ndarray]) -> float:
    """Where identical entries are drawn (a log axis has no 0): a decade below the smallest nonzero difference,
    or far below float64 rounding of the smallest entry when every difference is 0."""
    differences = np.concatenate([entry_differences(history, layer)[1] for layer in LAYERS])
    sizes = np.concatenate([entry_differences(history, layer)[0] for layer in LAYERS])
    nonzero = differences[differences > 0]
    if nonzero.size:
        return float(nonzero.min()) / 10
    positive = sizes[sizes > 0]
    return float(positive.min() if positive.size else 1.0) * EPSILON / 10


def plot_agreement(history: dict[str, np.ndarray], tolerance: float, title: str) -> Figure:
    """Relative error per step (left, log y) and sampled entries manual vs autograd (right)."""
    fig = new_figure(3.2)
    left, right = fig.subplots(1, 2, width_ratios=[1.35, 1])
    steps = history["step"]
    lowest = tolerance
    for layer in LAYERS:
        i = PERSON_INDEX[PEOPLE[layer]]
        errors = history[f"relative_error_{layer}"].copy()
        errors[errors <= 0] = np.nan  # an exact match has no place on a log axis; counted in the sidecar
        if np.any(np.isfinite(errors)):
            lowest = min(lowest, float(np.nanmin(errors)))
        left.plot(steps, errors, color=PALETTE[i], linestyle=LINESTYLES[i], linewidth=0.8, label=PEOPLE[layer])
    left.axhline(tolerance, color="black", linestyle=(0, (4, 2)), linewidth=1.2)
    left.text(steps[-1], tolerance * 1.8, f"tolerance {scientific(tolerance, 0)}", ha="right", va="bottom",
              fontsize=8)  # fmt: skip
    left.set_yscale("log")
    left.set_ylim(lowest / 10, tolerance * 100)
    left.set_xlim(0, int(steps[-1]))
    left.set_xlabel("SGD step")
    left.set_ylabel("relative error (log scale)")
    left.set_title("NumPy vs autograd, every step")
    left.legend(loc="center right", ncols=3)

    floor = entry_floor(history)
    for layer in LAYERS:
        i = PERSON_INDEX[PEOPLE[layer]]
        size, difference = entry_differences(history, layer)
        keep = size > 0
        shown = np.where(difference[keep] > 0, difference[keep], floor)
        right.scatter(size[keep], shown, s=9, marker=MARKERS[layer], facecolor="none", edgecolor=PALETTE[i],
                      linewidth=0.7, label=PEOPLE[layer])  # fmt: skip
    right.set_xscale("log")
    right.set_yscale("log")
    x_low, x_high = right.get_xlim()
    xs = np.array([x_low, x_high])
    right.plot(xs, EPSILON * xs, color="#555555", linestyle="-", linewidth=0.8, zorder=0)
    right.text(x_high, EPSILON * x_high * 1.3, "float64 rounding", ha="right", va="bottom", fontsize=7.5,
               color="#555555", rotation=0)  # fmt: skip
    right.axhline(floor, color="#999999", linestyle=":", linewidth=0.8, zorder=0)
    right.text(x_low * 1.3, floor / 2.5, "identical (difference 0)", ha="left", va="top", fontsize=7.5,
               color="#555555")  # fmt: skip
    right.set_xlim(x_low, x_high)
    right.set_ylim(floor / 60, max(EPSILON * x_high * 100, floor * 1e4))
    right.set_xlabel("size of the autograd entry")
    right.set_ylabel("|NumPy − autograd|")
    right.set_title("Sampled ∂L/∂W entries, step 1")
    set_title(fig, title)
    return fig


def describe(history: dict[str, np.ndarray], metrics: dict[str, Any]) -> dict[str, Any]:
    """Title, alt text and the numbers: each layer's largest relative error (written as a bound, rounded up), and
    the sampled entries of step 1."""
    tolerance = float(metrics["agreement"]["tolerance"])
    worst = {layer: float(np.max(history[f"relative_error_{layer}"])) for layer in LAYERS}
    overall = max(worst.values())
    exact = {layer: int(np.sum(history[f"relative_error_{layer}"] == 0)) for layer in LAYERS}
    n_steps = len(history["step"])
    counts = entry_counts(history)
    n_samples = counts["samples"]
    below = overall < tolerance
    if below:
        title = (
            f"By hand and by autograd, the gradients agree to a relative error of at most {upper_bound(overall)} "
            f"over {n_steps:,} steps (tolerance {scientific(tolerance, 0)})"
        )
    else:
        title = f"Hand-made and autograd gradients differ by up to {scientific(overall)}, not below the tolerance"
    per_layer = "; ".join(f"{PEOPLE[layer]} at most {upper_bound(worst[layer])}" for layer in LAYERS)
    line = "all below" if below else "not all below"
    alt = (
        f"Left: line chart, logarithmic y axis, of the relative error between the NumPy and the autograd "
        f"gradients of each layer at each of {n_steps:,} SGD steps ({per_layer}), {line} a dashed line at the "
        f"tolerance {scientific(tolerance, 0)}. Right: log-log scatter of {counts['total']:,} sampled "
        f"weight-gradient entries at step 1 ({', '.join(f'{n_samples[la]} of {PEOPLE[la]}' for la in LAYERS)}): "
        f"the absolute difference between the NumPy and the autograd value against the size of the entry. "
        f"{counts['identical']:,} entries are identical, {counts['within_rounding']:,} differ by at most four times "
        f"float64 rounding of their size, and {counts['zero']:,} are exactly zero in both (entries whose autograd "
        f"value is zero are not drawn)."
    )
    return {
        "title": title,
        "alt": alt,
        "steps": n_steps,
        "tolerance": tolerance,
        "max_relative_error": round_significant(overall),
        "max_relative_error_text": upper_bound(overall),
        "layers": {layer: round_significant(worst[layer]) for layer in LAYERS},
        "exact_steps": exact,
        "samples": n_samples,
        "identical_entries": counts["identical"],
        "zero_entries": counts["zero"],
        "entries_within_rounding": counts["within_rounding"],
    }


def main(argv: Sequence[str] | None = None) -> None:
    """Read the run and write the figure and its sidecar."""
    figure_main(
        argv,
        __doc__,
        inputs=[
            Input("history", "history.npz written by backprop/network.py", lambda path: read_history(path, SAMPLES)),
            Input("metrics", "metrics.json written by backprop/network.py", read_metrics),
        ],
        describe=lambda d, a: describe(d["history"], d["metrics"]),
        draw=lambda d, info, a: plot_agreement(d["history"], info["tolerance"], info["title"]),
    )


if __name__ == "__main__":
    sys.exit(run_cli(main))
