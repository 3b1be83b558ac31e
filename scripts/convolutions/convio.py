"""Readers and drawing helpers shared by the convolution figures (``convolutions/figures/*.py``); no torch here.

``convolutions/compute.py`` writes every input, kernel and output into one ``arrays.npz`` and the shapes table
into ``metrics.json``. Each figure script declares both as inputs of ``kit.figure.figure_main``: it reads the
arrays it draws with ``read_arrays`` (which checks names and dimensions, so a stale or foreign file stops with a
message instead of drawing a wrong chart), the metrics with ``read_metrics`` and the shapes with ``example``; the
helpers below draw image panels, kernels with their weights written in, and the arrows that mark the directions
in which a kernel moves.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.colors import Normalize
from matplotlib.patches import Rectangle

from kit.cli import PipelineError
from kit.io import load_npz, read_json
from kit.plotstyle import DIVERGING_CMAP, IMAGE_CMAP, PALETTE
from kit.steps import Input

#: What the figures' two input flags take (``--arrays`` and ``--metrics``), for their ``--help``.
ARRAYS_HELP = "arrays.npz written by convolutions/compute.py"
METRICS_HELP = "metrics.json written by convolutions/compute.py"

#: Colour of the arrows and windows that show where and which way a kernel moves.
MOVE_COLOR = PALETTE[1]


def read_arrays(path: str | os.PathLike[str], shapes: Mapping[str, int]) -> dict[str, np.ndarray]:
    """Load ``arrays.npz`` and return the arrays named in ``shapes`` (name -> number of dimensions), checked."""
    arrays = load_npz(path)
    missing = [name for name in shapes if name not in arrays]
    if missing:
        raise PipelineError(f"{path}: lacks {', '.join(missing)}; rerun the convolutions step")
    for name, ndim in shapes.items():
        value = arrays[name]
        if value.ndim != ndim or value.size == 0 or not np.all(np.isfinite(value)):
            raise PipelineError(
                f"{path}: '{name}' must be a finite {ndim}-D array, got shape {value.shape}; "
                "rerun the convolutions step"
            )
    return {name: np.asarray(arrays[name], dtype=np.float64) for name in shapes}


def read_metrics(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Load ``metrics.json`` and check that it holds the shapes table and the image choice."""
    metrics = read_json(path)
    if not isinstance(metrics, dict) or not isinstance(metrics.get("examples"), list) or "image" not in metrics:
        raise PipelineError(f"{path}: has no 'examples' list or 'image'; rerun the convolutions step")
    return metrics


def example(metrics: Mapping[str, Any], name: str, path: str | os.PathLike[str] = "metrics.json") -> dict[str, Any]:
    """The shapes-table row of one example, by name."""
    for row in metrics["examples"]:
        if row.get("name") == name:
            return row
    raise PipelineError(f"{path}: has no example named {name!r}; rerun the convolutions step")


def times(shape: Sequence[int]) -> str:
    """A shape as people write it: ``[26, 26]`` -> ``26 × 26``."""
    return " × ".join(str(int(v)) for v in shape)


def symmetric_norm(*arrays: np.ndarray) -> Normalize:
    """One colour scale centred on 0 for signed values (white = 0), wide enough for all ``arrays``."""
    limit = max(float(np.abs(a).max()) for a in arrays) or 1.0
    return Normalize(vmin=-limit, vmax=limit)


def bare(ax: Axes, edge: str = "#999999") -> None:
    """An image panel: no ticks, no grid, a thin frame."""
    ax.set_xticks([])
    ax.set_yticks([])
    ax.grid(False)
    for spine in ax.spines.values():
        spine.set_visible(True)
        spine.set_color(edge)
        spine.set_linewidth(0.6)


def show_image(ax: Axes, image: np.ndarray, title: str | None = None, norm: Normalize | None = None) -> Any:
    """Draw an image of pixel values in [0, 1] as ink on paper (0 white); return the artist."""
    artist = ax.imshow(image, cmap=IMAGE_CMAP, norm=norm or Normalize(0, 1))
    bare(ax)
    if title:
        ax.set_title(title, fontsize=8, pad=3)
    return artist


def show_signed(ax: Axes, values: np.ndarray, norm: Normalize, title: str | None = None) -> Any:
    """Draw signed values (kernels, convolution outputs) on the diverging scale; return the artist."""
    artist = ax.imshow(values, cmap=DIVERGING_CMAP, norm=norm)
    bare(ax)
    if title:
        ax.set_title(title, fontsize=8, pad=3)
    return artist


def write_weights(ax: Axes, kernel: np.ndarray, norm: Normalize, fmt: str = "{:g}", size: float = 7.5) -> None:
    """Write each weight into its cell, black on light cells and white on dark ones, so the kernel can be read."""
    for (row, col), value in np.ndenumerate(kernel):
        dark = abs(float(value)) > 0.6 * max(abs(norm.vmin), abs(norm.vmax))
        ax.text(col, row, fmt.format(float(value)), ha="center", va="center", fontsize=size,
                color="white" if dark else "black")  # fmt: skip


def window(ax: Axes, x: float, y: float, width: float, height: float) -> None:
    """Outline the kernel's current window on an input panel (data coordinates of its lower-left corner)."""
    ax.add_patch(Rectangle((x, y), width, height, fill=False, edgecolor=MOVE_COLOR, linewidth=1.6, zorder=5))


def arrow(ax: Axes, start: tuple[float, float], end: tuple[float, float], label: str = "", **text: Any) -> None:
    """An arrow in axes coordinates (0-1) marking a direction of movement, with an optional label at its head."""
    ax.annotate(
        "",
        xy=end,
        xytext=start,
        xycoords="axes fraction",
        arrowprops={"arrowstyle": "-|>", "color": MOVE_COLOR, "linewidth": 1.6, "mutation_scale": 11},
        annotation_clip=False,
    )
    if label:
        ax.annotate(label, xy=end, xycoords="axes fraction", color=MOVE_COLOR, fontsize=8, annotation_clip=False,
                    **{"ha": "left", "va": "center", **text})  # fmt: skip


def stem(ax: Axes, kernel: np.ndarray, label: str) -> None:
    """Draw a kernel's weights as stems, one per tap, so its width and signs show at a glance."""
    taps = np.arange(len(kernel))
    ax.axhline(0, color="#777777", linewidth=0.6)
    ax.vlines(taps, 0, kernel, color=MOVE_COLOR, linewidth=1.8)
    ax.plot(taps, kernel, "o", color=MOVE_COLOR, markersize=3.5)
    ax.set_xticks(taps)
    ax.set_xticklabels([str(i + 1) for i in taps], fontsize=7)
    limit = float(np.abs(kernel).max()) * 1.35
    ax.set_ylim(min(-0.15 * limit, float(kernel.min()) * 1.35), max(0.15 * limit, limit))
    ax.set_xlim(-0.8, len(kernel) - 0.2)
    ax.set_title(label, fontsize=8, pad=3)
    ax.tick_params(axis="y", labelsize=7)
    ax.set_xlabel("tap", fontsize=7.5, labelpad=1)


def figure_inputs(shapes: Mapping[str, int]) -> list[Input]:
    """The two inputs every convolutions figure reads: the arrays it draws (checked against ``shapes``, the
    dimensions each array must have) and the metrics it quotes."""
    return [
        Input("arrays", ARRAYS_HELP, lambda path: read_arrays(path, shapes)),
        Input("metrics", METRICS_HELP, read_metrics),
    ]
