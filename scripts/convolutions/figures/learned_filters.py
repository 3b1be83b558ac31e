"""The trained CNN's first-layer filters, a few drawn large with their weights, beside the maps they make.

Each 3 x 3 filter was learned from the training images; conv2d slides it along x and y over the normalised
test image (padding 1, as the network does), giving one 28 x 28 feature map per filter. The figure draws the
filters that compute.py chose (``learned.shown``: the kinds in turn, each kind's strongest map first) large
enough to read their weights, each beside its map; filters share one diverging scale and maps another, so
strong and weak ones can be compared. A filter is labelled "edge" when its weights nearly cancel (it responds
to contrast), otherwise "ink" or "paper" by the sign of its weights' sum (it responds to the garment or to the
background); the title counts the kinds over all filters. Reads ``--arrays`` and ``--metrics``.

    PYTHONPATH=scripts python scripts/convolutions/figures/learned_filters.py \\
        --arrays results/convolutions/arrays.npz --metrics results/convolutions/metrics.json \\
        --output results/figures/convolutions/learned_filters.svg \\
        --meta results/figures/convolutions/learned_filters.json
"""

from __future__ import annotations

import math
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from convolutions.convio import (
    example,
    figure_inputs,
    show_signed,
    symmetric_norm,
    times,
    write_weights,
)
from kit.cli import PipelineError, run_cli
from kit.figure import figure_main
from kit.formats import plural
from kit.plotstyle import is_narrow, new_figure, set_title

ARRAYS = {"learned_filters": 3, "learned_maps": 3, "learned_input": 2}

#: Filter-and-map pairs per row on the page (a phone gets two).
COLUMNS = 3


def check(a: dict[str, np.ndarray], metrics: dict[str, Any], path: Path) -> None:
    """One map per filter, each the size of the input (padding keeps it), one label per filter, and the filters
    to draw among them."""
    n = len(a["learned_filters"])
    if a["learned_maps"].shape != (n, *a["learned_input"].shape):
        raise PipelineError(
            f"{path}: {n} filters but maps of shape {a['learned_maps'].shape} for an input of "
            f"{a['learned_input'].shape}; rerun the convolutions step"
        )
    learned = metrics.get("learned", {})
    if len(learned.get("edge_like", [])) != n:
        raise PipelineError(f"{path}: metrics 'learned.edge_like' must list all {n} filters; rerun convolutions")
    shown = learned.get("shown")
    if not isinstance(shown, list) or not shown or not all(isinstance(i, int) and 1 <= i <= n for i in shown):
        raise PipelineError(f"{path}: metrics 'learned.shown' must list filters 1 to {n}; rerun convolutions")


def kinds(filters: np.ndarray, edge_like: Sequence[bool]) -> list[str]:
    """Each filter's label: "edge" (weights cancel), else "ink" (sum > 0: responds to garment) or "paper"."""
    sums = filters.reshape(len(filters), -1).sum(axis=1)
    return ["edge" if edge else ("ink" if total > 0 else "paper") for edge, total in zip(edge_like, sums, strict=True)]


def describe(a: dict[str, np.ndarray], metrics: dict[str, Any]) -> dict[str, Any]:
    """Title, alt text and numbers: how many filters of each kind, which are drawn, shapes in the thread's notation."""
    learned, image, row = metrics["learned"], metrics["image"], example(metrics, "learned")
    filters, maps = a["learned_filters"], a["learned_maps"]
    n, k = len(filters), filters.shape[1]
    labels = kinds(filters, learned["edge_like"])
    counts = {kind: labels.count(kind) for kind in ("edge", "ink", "paper")}
    shown = list(learned["shown"])
    strength = np.abs(maps).reshape(n, -1).mean(axis=1)
    top = [int(i) + 1 for i in np.argsort(-strength, kind="stable")[:3]]
    drawn = ", ".join(f"{i} ({labels[i - 1]})" for i in shown)
    which = f"All {n} of the trained CNN's" if len(shown) == n else f"{len(shown)} of the trained CNN's {n}"
    edges = "is an edge filter" if counts["edge"] == 1 else "are edge filters"
    title = (
        f"{which} first-layer {k} × {k} filters beside their {times(maps.shape[1:])} "
        f"maps of the test {image['class'].lower()}; of all {n}, {counts['edge']} {edges}"
    )
    chosen = np.array([i - 1 for i in shown])
    alt = (
        f"{len(shown)} pairs of panels. In each, a learned {k} by {k} filter is drawn as a heat map with its nine "
        f"weights written in (red positive, blue negative; the drawn filters' weights run from "
        f"{filters[chosen].min():.2f} to {filters[chosen].max():.2f}), beside its {times(maps.shape[1:])} feature "
        f"map of test image {image['index']} ({image['class']}) on a shared red-blue scale (the drawn maps run "
        f"from {maps[chosen].min():.1f} to {maps[chosen].max():.1f}). Filters drawn: {drawn}. All {n} filters: "
        f"{plural(counts['edge'], 'edge filter')} (|sum of weights| below {learned['edge_like_below']:g} of the "
        f"sum of absolute weights), {plural(counts['ink'], 'ink filter')} (positive sum) and "
        f"{plural(counts['paper'], 'paper filter')} (negative sum). The strongest maps of all (mean absolute "
        f"value) are those of filters "
        f"{', '.join(map(str, top))}. In the thread's notation the layer takes the {times(row['input_extent'])} "
        f"image and returns {times(row['output_extent'])}: one 2D map per filter, each filter moving in "
        f"{row['directions']} directions."
    )
    return {
        "title": title,
        "alt": alt,
        "n_filters": n,
        "kernel_size": k,
        "map_shape": list(maps.shape[1:]),
        "kinds": labels,
        "counts": counts,
        "shown": shown,
        "strongest_maps": top,
        "directions": row["directions"],
    }


def plot(a: dict[str, np.ndarray], info: dict[str, Any]) -> Figure:
    """The chosen filters, each large with its weights written in, beside its feature map; ``COLUMNS`` pairs to a
    row (two on a phone), colour bars for filters and maps below.

    Why only some: all of a layer's filters side by side leave each a few millimetres wide in print, too small to
    read a weight; the counts in the title still cover every filter.
    """
    filters, maps = a["learned_filters"], a["learned_maps"]
    shown = [i - 1 for i in info["shown"]]
    columns = 2 if is_narrow() else COLUMNS
    rows = math.ceil(len(shown) / columns)
    fig = new_figure(0.8 + 1.55 * rows * (COLUMNS / columns) ** 0.5)
    # Each pair takes two grid columns, with a narrow empty one between pairs so they read as pairs.
    ratios = [1, 1, 0.22] * columns
    grid = fig.add_gridspec(rows + 1, 3 * columns - 1, width_ratios=ratios[:-1], height_ratios=[1] * rows + [0.08])
    norm_f, norm_m = symmetric_norm(filters[shown]), symmetric_norm(maps[shown])
    drawn: dict[str, list] = {"filter": [], "map": []}
    for slot, i in enumerate(shown):
        row, col = divmod(slot, columns)
        ax_f, ax_m = fig.add_subplot(grid[row, 3 * col]), fig.add_subplot(grid[row, 3 * col + 1])
        drawn["filter"].append(show_signed(ax_f, filters[i], norm_f, f"filter {i + 1} · {info['kinds'][i]}"))
        write_weights(ax_f, filters[i], norm_f, fmt="{:+.2f}", size=6.5)
        drawn["map"].append(show_signed(ax_m, maps[i], norm_m, "its map"))
        for ax in (ax_f, ax_m):
            ax.title.set_fontsize(7.5)
    last = 3 * columns - 1
    for key, label, cols in (
        ("filter", "filter weight", slice(0, last // 2)),
        ("map", "feature map value", slice(last - last // 2, last)),
    ):
        bar = fig.colorbar(drawn[key][0], cax=fig.add_subplot(grid[-1, cols]), orientation="horizontal")
        bar.set_label(label, fontsize=7.5, labelpad=1)
        bar.ax.tick_params(labelsize=7)
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
