"""The trained CNN's first-layer filters and the feature maps they make of one test image.

Each 3 x 3 filter was learned from the training images; conv2d slides it along x and y over the normalised
test image (padding 1, as the network does), giving one 28 x 28 feature map per filter. Filters are drawn on
one diverging scale and maps on another, so that strong and weak filters can be compared; each filter is
labelled "edge" when its weights nearly cancel (it responds to contrast), otherwise "ink" or "paper" by the sign
of its weights' sum (it responds to the garment or to the background). Reads ``--arrays`` and ``--metrics``.

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
    ARRAYS_HELP,
    METRICS_HELP,
    example,
    read_arrays,
    read_metrics,
    show_signed,
    symmetric_norm,
    times,
)
from kit.cli import PipelineError, run_cli
from kit.figure import Input, figure_main
from kit.plotstyle import new_figure, set_title

ARRAYS = {"learned_filters": 3, "learned_maps": 3, "learned_input": 2}

#: Filter-and-map pairs per row.
COLUMNS = 8


def check(a: dict[str, np.ndarray], metrics: dict[str, Any], path: Path) -> None:
    """One map per filter, each the size of the input (padding keeps it), and one label per filter."""
    n = len(a["learned_filters"])
    if a["learned_maps"].shape != (n, *a["learned_input"].shape):
        raise PipelineError(
            f"{path}: {n} filters but maps of shape {a['learned_maps'].shape} for an input of "
            f"{a['learned_input'].shape}; rerun the convolutions step"
        )
    if len(metrics.get("learned", {}).get("edge_like", [])) != n:
        raise PipelineError(f"{path}: metrics 'learned.edge_like' must list all {n} filters; rerun convolutions")


def kinds(filters: np.ndarray, edge_like: Sequence[bool]) -> list[str]:
    """Each filter's label: "edge" (weights cancel), else "ink" (sum > 0: responds to garment) or "paper"."""
    sums = filters.reshape(len(filters), -1).sum(axis=1)
    return ["edge" if edge else ("ink" if total > 0 else "paper") for edge, total in zip(edge_like, sums, strict=True)]


def describe(a: dict[str, np.ndarray], metrics: dict[str, Any]) -> dict[str, Any]:
    """Title, alt text and numbers: how many filters of each kind, shapes, and which maps respond most."""
    learned, image, row = metrics["learned"], metrics["image"], example(metrics, "learned")
    filters, maps = a["learned_filters"], a["learned_maps"]
    n, k = len(filters), filters.shape[1]
    labels = kinds(filters, learned["edge_like"])
    counts = {kind: labels.count(kind) for kind in ("edge", "ink", "paper")}
    strength = np.abs(maps).reshape(n, -1).mean(axis=1)
    top = [int(i) + 1 for i in np.argsort(-strength, kind="stable")[:3]]
    title = (
        f"The trained CNN's {n} first-layer {k} × {k} filters and their {times(maps.shape[1:])} maps of the test "
        f"{image['class'].lower()}: {counts['edge']} of {n} are edge detectors"
    )
    alt = (
        f"{n} small heat maps of the learned {k} by {k} filters (weights from {filters.min():.2f} to "
        f"{filters.max():.2f}, red positive, blue negative), each above its {times(maps.shape[1:])} feature map of "
        f"test image {image['index']} ({image['class']}) on a shared red-blue scale from {maps.min():.1f} to "
        f"{maps.max():.1f}. {counts['edge']} filters are labelled edge (|sum of weights| below "
        f"{learned['edge_like_below']:g} of the sum of absolute weights), {counts['ink']} ink (positive sum: they "
        f"respond to the garment) and {counts['paper']} paper (negative sum: they respond to the background). The "
        f"strongest maps (mean absolute value) are those of filters {', '.join(map(str, top))}. torch shapes: input "
        f"{times(row['input_shape'])}, weights {times(row['kernel_shape'])}, output {times(row['output_shape'])}; "
        f"each filter moves in {row['directions']} directions."
    )
    return {
        "title": title,
        "alt": alt,
        "n_filters": n,
        "kernel_size": k,
        "map_shape": list(maps.shape[1:]),
        "kinds": labels,
        "counts": counts,
        "strongest_maps": top,
        "directions": row["directions"],
    }


def plot(a: dict[str, np.ndarray], info: dict[str, Any]) -> Figure:
    """One small panel pair per filter, the filter beside its feature map, ``COLUMNS`` pairs to a row.

    Why side by side: stacked pairs make the figure taller than a printed page allows, and the handout would
    shrink every map.
    """
    filters, maps = a["learned_filters"], a["learned_maps"]
    n = len(filters)
    rows = math.ceil(n / COLUMNS)
    fig = new_figure(0.95 + 0.8 * rows)
    # Each pair: a narrow column for the 3 x 3 filter, a wide one for the map; the last, thin row holds the
    # two colour bars side by side.
    grid = fig.add_gridspec(rows + 1, 2 * COLUMNS, width_ratios=[0.42, 1] * COLUMNS, height_ratios=[1] * rows + [0.1])
    norm_f, norm_m = symmetric_norm(filters), symmetric_norm(maps)
    drawn: dict[str, list] = {"filter": [], "map": []}
    for i in range(n):
        row, col = divmod(i, COLUMNS)
        ax_f, ax_m = fig.add_subplot(grid[row, 2 * col]), fig.add_subplot(grid[row, 2 * col + 1])
        drawn["filter"].append(show_signed(ax_f, filters[i], norm_f))
        drawn["map"].append(show_signed(ax_m, maps[i], norm_m, f"{i + 1} · {info['kinds'][i]}"))
        ax_m.title.set_fontsize(7)
        ax_m.title.set_horizontalalignment("right")
        ax_m.title.set_x(1.0)
    half = COLUMNS  # grid columns per colour bar: half of the 2 * COLUMNS
    for key, label, cols in (
        ("filter", "filter weight (small squares)", slice(1, half - 1)),
        ("map", "feature map value (large squares)", slice(half + 1, 2 * COLUMNS - 1)),
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
        inputs=[
            Input("arrays", ARRAYS_HELP, lambda path: read_arrays(path, ARRAYS)),
            Input("metrics", METRICS_HELP, read_metrics),
        ],
        check=lambda d, a: check(d["arrays"], d["metrics"], a.arrays),
        describe=lambda d, a: describe(d["arrays"], d["metrics"]),
        draw=lambda d, info, a: plot(d["arrays"], info),
    )


if __name__ == "__main__":
    sys.exit(run_cli(main))
