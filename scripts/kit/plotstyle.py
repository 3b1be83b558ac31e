"""One look for every chart, and the plumbing that makes figure files reproducible.

Every figure script runs in the frame of ``kit.figure`` (which calls ``apply_style()`` once and ends with
``save_svg``) and builds its chart with ``new_figure``. Keeping fonts, sizes, colours and the SVG settings here
means that a change of look is one edit, and that two runs of the pipeline give byte-identical SVG files.
"""

from __future__ import annotations

import contextlib
import io
import math
import os
import re
import textwrap
from collections.abc import Iterator, Sequence

import matplotlib
from cycler import cycler  # matplotlib's own dependency
from matplotlib.figure import Figure

from kit.cli import PipelineError
from kit.io import atomic_path, round_significant

#: Width of a figure that fills an A4 page's text block at 100 % (16 cm).
PAGE_WIDTH_IN = 6.3

#: Width of a figure's phone variant (``<name>.narrow.svg``): 360 CSS px, the text column of a 390 px wide phone
#: (and 92 % of that of a 360 px one), so a phone shows it at (nearly) its natural size and its 8 pt tick labels
#: at 10 CSS px or more, instead of the desktop figure shrunk to 60 % with labels at 6 px.
NARROW_WIDTH_IN = 3.75

#: The smallest text of a phone variant, in points: at the variant's natural width (360 CSS px for 3.75 in) a point
#: is 4/3 CSS px, so 7 pt is 9.3 CSS px, over the 9 CSS px a phone's reader needs (the site tier measures it).
#: ``kit.figure`` raises any smaller text of a phone drawing to it (``raise_small_text``).
NARROW_MIN_TEXT_PT = 7.0

#: The width ``new_figure`` uses when it is not given one: the page's, or the phone's while the frame draws a
#: figure's narrow variant (``layout_width``). A list, so ``layout_width`` can nest.
_LAYOUT_WIDTHS: list[float] = [PAGE_WIDTH_IN]

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


def figure_width() -> float:
    """The width (inches) a figure is being drawn at: ``PAGE_WIDTH_IN``, or ``NARROW_WIDTH_IN`` while the frame draws
    the phone variant. A draw function that lays panels side by side reads it (or ``is_narrow()``) to stack them."""
    return _LAYOUT_WIDTHS[-1]


def is_narrow() -> bool:
    """Whether the figure is being drawn for a phone (narrower than the page): stack panels, shorten labels."""
    return figure_width() < PAGE_WIDTH_IN


@contextlib.contextmanager
def layout_width(width_in: float) -> Iterator[float]:
    """Draw at ``width_in`` inside the block: ``new_figure`` without a width, ``figure_width`` and ``is_narrow``
    follow it. ``kit.figure.figure_main`` uses it to draw a figure's narrow variant with the same draw function."""
    if not 1.0 <= width_in <= 20.0:
        raise PipelineError(f"layout width {width_in} in is not a figure width (1 to 20 inches)")
    _LAYOUT_WIDTHS.append(float(width_in))
    try:
        yield float(width_in)
    finally:
        _LAYOUT_WIDTHS.pop()


def text_pt(size: float) -> float:
    """A text size for ``ax.text(..., fontsize=text_pt(6))``: ``size`` on the page, at least ``NARROW_MIN_TEXT_PT``
    in a phone drawing (so a number written in a small cell stays legible on a phone)."""
    return max(float(size), NARROW_MIN_TEXT_PT) if is_narrow() else float(size)


def raise_small_text(fig: Figure, min_pt: float = NARROW_MIN_TEXT_PT) -> int:
    """Raise every visible text of ``fig`` smaller than ``min_pt`` (tick labels included) to ``min_pt``; return
    how many were raised. Constrained layout makes room when the figure is saved."""
    from matplotlib.text import Text

    fig.draw_without_rendering()  # creates the tick labels, so their sizes can be read
    raised = 0
    for ax in fig.axes:
        for name, axis in (("x", ax.xaxis), ("y", ax.yaxis)):
            labels = [label for label in axis.get_ticklabels(which="both") if label.get_text()]
            if any(label.get_fontsize() < min_pt for label in labels):
                ax.tick_params(axis=name, which="both", labelsize=min_pt)  # ticks made later get it too
    for text in fig.findobj(Text):
        if text.get_visible() and text.get_text().strip() and text.get_fontsize() < min_pt:
            text.set_fontsize(min_pt)
            raised += 1
    return raised


def panel_grid(panels: int, columns: int | None = None) -> tuple[int, int]:
    """Rows and columns for ``panels`` panels: one row of them on the page (or ``columns`` per row), one panel per
    row on a phone, so each keeps a readable width. ``fig.subplots(*panel_grid(2))`` gives (1, 2) or (2, 1)."""
    if panels < 1:
        raise PipelineError(f"panel_grid: {panels} panels; give at least 1")
    if is_narrow():
        return panels, 1
    per_row = panels if columns is None else max(1, min(columns, panels))
    return math.ceil(panels / per_row), per_row


def new_figure(height_in: float, width_in: float | None = None) -> Figure:
    """A figure with constrained layout, detached from pyplot so nothing global keeps it alive.

    Without ``width_in`` it is as wide as the layout being drawn (``figure_width()``): the page's text block, or a
    phone's screen for the narrow variant.
    """
    return Figure(figsize=(figure_width() if width_in is None else width_in, height_in), layout="constrained")


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


def percent(ratio: float, digits: int = 1) -> str:
    """Format a ratio as a percentage the way every figure and alt text writes it, e.g. ``29.0 %``."""
    return f"{100 * ratio:.{digits}f} %"


def check_count(value: int, upper: int, flag: str, why: str = "") -> int:
    """Return ``value`` if ``1 <= value <= upper``; otherwise raise an error that names the ``flag``."""
    if not 1 <= value <= upper:
        reason = f" ({why})" if why else ""
        raise PipelineError(f"{flag} {value} is out of range: use a number from 1 to {upper}{reason}")
    return value


def as_list(values: Sequence[float]) -> list[float]:
    """Plain floats, rounded to 10 significant digits so tiny BLAS differences do not change sidecars."""
    return [round_significant(v) for v in values]


def capitalised(text: str) -> str:
    """``text`` with its first letter upper-case and the rest untouched (``str.capitalize`` would turn "ECE"
    into "ece" and "CNN" into "cnn")."""
    return text[:1].upper() + text[1:]


def percent_value(ratio: float, digits: int = 1) -> float:
    """A fraction as a percentage rounded the way titles print it, e.g. ``0.8765 -> 87.7``."""
    return round(100 * float(ratio), digits)
