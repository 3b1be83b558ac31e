"""One look for every chart, and the plumbing that makes figure files reproducible.

Every figure script parses its flags with ``figure_parser``, calls ``apply_style()`` once, builds its chart
with ``new_figure``, and ends with ``publish`` (the SVG plus its JSON sidecar). Keeping fonts, sizes, colours
and the SVG settings here means that a change of look is one edit, and that two runs of the pipeline give
byte-identical SVG files.

``read_ratios`` at the bottom is shared by the PCA figures (``common.load_pca`` reads the arrays): it checks the
metrics once and turns a malformed file into a ``PipelineError`` that names it.
"""

from __future__ import annotations

import argparse
import io
import math
import os
import re
import textwrap
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np
from cycler import cycler  # matplotlib's own dependency
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator

from common import PipelineError, atomic_path, read_json, round_significant, write_json

#: Width of a figure that fills an A4 page's text block at 100 % (16 cm).
PAGE_WIDTH_IN = 6.3

#: Okabe & Ito's palette (colour-blind safe), ordered so that neighbours also differ in lightness and so
#: stay apart when printed in grey; lines additionally cycle through dash patterns.
PALETTE: tuple[str, ...] = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000")
LINESTYLES: tuple[str, ...] = ("-", "--", "-.", ":", (0, (5, 1)), (0, (3, 1, 1, 1, 1, 1)), (0, (1, 3)))

#: One colour and one marker per Fashion-MNIST class (label order). Each class differs from every other in
#: marker shape, so classes stay apart in grey-scale print and for readers with any colour vision.
CLASS_COLORS: tuple[str, ...] = (
    "#0072B2",  # T-shirt/top  blue
    "#E69F00",  # Trouser      orange
    "#009E73",  # Pullover     bluish green
    "#CC79A7",  # Dress        reddish purple
    "#56B4E9",  # Coat         sky blue
    "#D55E00",  # Sandal       vermillion
    "#000000",  # Shirt        black
    "#999933",  # Sneaker      olive
    "#882255",  # Bag          wine
    "#777777",  # Ankle boot   grey
)
CLASS_MARKERS: tuple[str, ...] = ("o", "s", "^", "D", "v", "P", "X", "<", "h", ">")

#: Colour maps: a diverging one for signed loadings (centre = 0), grey for images (ink on paper).
DIVERGING_CMAP = "RdBu_r"
IMAGE_CMAP = "gray_r"

#: Fixed salt for the ids matplotlib writes into SVG files; without it every run gets new random ids.
SVG_HASHSALT = "ml-explainers"


def apply_style() -> None:
    """Set matplotlib's defaults for every chart of the project (fonts, sizes, colours, SVG output).

    Why rcParams and not per-chart settings: a chart that forgets one option still matches the others.
    """
    import matplotlib.style

    matplotlib.style.use("default")  # start from matplotlib's defaults, whatever ran before
    matplotlib.use("svg")  # no display is needed or wanted: figures are files
    matplotlib.rcParams.update(
        {
            # Text: one font, sizes chosen for a 16 cm wide figure read at 100 %.
            "font.family": "DejaVu Sans",
            "font.size": 9,
            "axes.titlesize": 9.5,
            "axes.titleweight": "normal",
            "axes.labelsize": 9,
            "xtick.labelsize": 8,
            "ytick.labelsize": 8,
            "legend.fontsize": 8,
            "legend.title_fontsize": 8.5,
            "figure.titlesize": 10.5,
            "figure.titleweight": "bold",
            "figure.figsize": (PAGE_WIDTH_IN, 3.2),
            "figure.dpi": 100,
            "figure.constrained_layout.use": True,
            # Axes: light grid behind the data, no box on the top and right.
            "axes.prop_cycle": cycler(color=list(PALETTE)) + cycler(linestyle=list(LINESTYLES)),
            "axes.spines.top": False,
            "axes.spines.right": False,
            "axes.grid": True,
            "axes.axisbelow": True,
            "grid.color": "#d9d9d9",
            "grid.linewidth": 0.6,
            "axes.edgecolor": "#333333",
            "axes.linewidth": 0.8,
            "lines.linewidth": 1.6,
            "legend.frameon": False,
            "image.interpolation": "nearest",  # pixels stay square blocks in every viewer (no smoothing)
            "image.cmap": IMAGE_CMAP,
            # Files: SVG with text as paths (looks the same without the font installed), fixed ids.
            "svg.fonttype": "path",
            "svg.hashsalt": SVG_HASHSALT,
            "svg.image_inline": True,
            "savefig.format": "svg",
            "savefig.dpi": 150,  # resolution of the raster parts only: dense scatter plots and image panels
            "savefig.bbox": None,
            "savefig.transparent": False,
            "savefig.facecolor": "white",
            "path.simplify": True,
        }
    )


def new_figure(height_in: float, width_in: float = PAGE_WIDTH_IN) -> Figure:
    """A page-wide figure with constrained layout, detached from pyplot so nothing global keeps it alive."""
    return Figure(figsize=(width_in, height_in), layout="constrained")


def set_title(fig: Figure, title: str) -> None:
    """Put the figure's title on top, wrapped into balanced lines if it would not fit the figure's width.

    Why: constrained layout does not shrink a too-long title, it clips it at the figure's edge. Numbers stay
    with their unit or noun ("epoch 7", "38 %", "0.93 nats"): a no-break space joins them, so a wrapped title
    never leaves "epoch" at the end of one line and its number on the next.
    """
    title = re.sub(r"(epochs?) (\d)", "\\1\u00a0\\2", title)
    title = re.sub(r"(\d) (%|nats|points)", "\\1\u00a0\\2", title)
    size = float(matplotlib.rcParams["figure.titlesize"])
    max_chars = int(fig.get_figwidth() * 72 / (0.66 * size))  # bold DejaVu Sans averages ~0.62 em a glyph
    lines = math.ceil(len(title) / max_chars)
    width = min(max_chars, math.ceil(len(title) / lines) + 6)  # slack so words need not split evenly
    fig.suptitle(textwrap.fill(title, width=width))


#: A clip path's id as matplotlib writes it: "p" and ten hex digits of a hash of the clip rectangle's floats.
CLIP_ID = re.compile(r'(?<=id=")p[0-9a-f]{10}(?=")|(?<=url\(#)p[0-9a-f]{10}(?=\))')


def stable_clip_ids(svg: str) -> str:
    """Rename matplotlib's clip-path ids to ``clip1``, ``clip2``, ... in the order they first appear.

    Why: matplotlib derives each id from the full-precision floats of the clip rectangle, and constrained
    layout can land on values that differ in the last bits from one process to the next (its solver's order
    follows object identities). The rectangles are written rounded and come out the same, but the ids would
    not, so two runs of one script could give different bytes. Numbering by first use is stable.
    """
    names: dict[str, str] = {}
    return CLIP_ID.sub(lambda match: names.setdefault(match.group(0), f"clip{len(names) + 1}"), svg)


def save_svg(fig: Figure, path: str | os.PathLike[str]) -> None:
    """Write ``fig`` as SVG atomically, with no date and stable ids, so that reruns give byte-identical files.

    The figure's artists are cleared afterwards: a script that draws several figures does not keep them all.
    """
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", metadata={"Date": None})
    with atomic_path(path, suffix=".svg") as tmp:
        tmp.write_text(stable_clip_ids(buffer.getvalue()), encoding="utf-8")
    fig.clear()


def plain(value: Any) -> Any:
    """Turn numpy scalars/arrays (and containers of them) into JSON-ready Python values."""
    if isinstance(value, Mapping):
        return {str(key): plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(item) for item in value]
    if hasattr(value, "tolist"):  # numpy arrays and scalars
        return plain(value.tolist())
    return value


def write_sidecar(path: str | os.PathLike[str], *, title: str, alt: str, **numbers: Any) -> None:
    """Write a figure's JSON sidecar: its title, alt text describing the data, and numbers prose may quote."""
    write_json(path, {"title": title, "alt": alt, **plain(numbers)})


def figure_parser(description: str) -> argparse.ArgumentParser:
    """An argument parser that already has the ``--output``/``--meta`` flags every figure script takes."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--output", type=Path, required=True, help="SVG file to write")
    parser.add_argument("--meta", type=Path, required=True, help="JSON sidecar to write (title, alt, numbers)")
    return parser


def publish(fig: Figure, info: Mapping[str, Any], args: argparse.Namespace) -> None:
    """Write the figure to ``args.output`` and its sidecar (``info``: title, alt and numbers) to ``args.meta``."""
    save_svg(fig, args.output)
    write_sidecar(args.meta, **info)


def percent(ratio: float, digits: int = 1) -> str:
    """Format a ratio as a percentage the way every figure and alt text writes it, e.g. ``29.0 %``."""
    return f"{100 * ratio:.{digits}f} %"


# --------------------------------------------------------------------------------------------------------
# Inputs shared by the PCA figures
# --------------------------------------------------------------------------------------------------------


def read_ratios(path: str | os.PathLike[str]) -> np.ndarray:
    """Return ``explained_variance_ratio`` from the PCA metrics file as a float array, checked.

    Why check here: a truncated or hand-edited metrics file would otherwise draw a plausible-looking but
    wrong chart.
    """
    metrics = read_json(path)
    values = metrics.get("explained_variance_ratio") if isinstance(metrics, dict) else None
    if not isinstance(values, list) or not values:
        raise PipelineError(f"{path}: has no 'explained_variance_ratio' list; rerun the pca step")
    ratios = np.asarray(values, dtype=np.float64)
    if ratios.ndim != 1 or not np.all(np.isfinite(ratios)) or np.any(ratios < 0) or ratios.sum() > 1 + 1e-6:
        raise PipelineError(
            f"{path}: 'explained_variance_ratio' must be finite, non-negative numbers summing to at most 1; "
            "rerun the pca step"
        )
    if np.any(np.diff(ratios) > 1e-12):
        raise PipelineError(f"{path}: 'explained_variance_ratio' is not sorted in decreasing order; rerun pca")
    return ratios


def check_count(value: int, upper: int, flag: str, why: str = "") -> int:
    """Return ``value`` if ``1 <= value <= upper``; otherwise raise an error that names the ``flag``."""
    if not 1 <= value <= upper:
        reason = f" ({why})" if why else ""
        raise PipelineError(f"{flag} {value} is out of range: use a number from 1 to {upper}{reason}")
    return value


def as_list(values: Sequence[float]) -> list[float]:
    """Plain floats, rounded to 10 significant digits so tiny BLAS differences do not change sidecars."""
    return [round_significant(v) for v in values]


# --------------------------------------------------------------------------------------------------------
# Numbers for sidecars, and the look the epoch charts of the overfitting explainer share
# --------------------------------------------------------------------------------------------------------

#: A validation loss that ends at least this much (relative) above its minimum counts as "rising" in titles;
#: below it the curves are described as falling together, since a rise of a percent or two is noise.
RISE_THRESHOLD = 0.05

#: Look of the vertical line at the best epoch, the same in every chart (grey: it is a reference, not data).
BEST_EPOCH_STYLE: dict[str, Any] = {"color": "#555555", "linestyle": (0, (1, 1.5)), "linewidth": 1.2}

#: At most this many markers per line: enough to tell lines apart in grey print, few enough not to clutter.
MAX_MARKERS = 12


def capitalised(text: str) -> str:
    """``text`` with its first letter upper-case and the rest untouched (``str.capitalize`` would turn "ECE"
    into "ece" and "CNN" into "cnn")."""
    return text[:1].upper() + text[1:]


def percent_value(ratio: float, digits: int = 1) -> float:
    """A fraction as a percentage rounded the way titles print it, e.g. ``0.8765 -> 87.7``."""
    return round(100 * float(ratio), digits)


def best_epoch_label(epoch: int) -> str:
    """Legend text of the best-epoch marker, one wording in every chart."""
    return f"lowest validation loss (epoch {epoch})"


def mark_best_epoch(ax: Axes, epoch: int) -> Line2D:
    """Draw the vertical best-epoch line on ``ax`` and return it (for a legend entry)."""
    return ax.axvline(epoch, label=best_epoch_label(epoch), zorder=1.5, **BEST_EPOCH_STYLE)


def epoch_axis(ax: Axes, epochs: int) -> None:
    """Whole-number epoch ticks from 1 to ``epochs`` with a little room at both ends."""
    ax.xaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=2))
    ax.set_xlim(1 - 0.02 * max(epochs - 1, 1), epochs + 0.02 * max(epochs - 1, 1))
    ax.set_xlabel("epoch")


def markevery(epochs: int, offset: int = 0) -> tuple[int, int]:
    """``markevery`` for a line over ``epochs`` points: at most ``MAX_MARKERS`` markers, shifted by ``offset``.

    Why shifted: two lines that meet (train and validation at epoch 1) would otherwise hide each other's
    markers.
    """
    step = max(1, -(-epochs // MAX_MARKERS))
    return (offset % step, step)
