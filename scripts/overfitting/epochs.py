"""The look every epoch chart of the overfitting explainer shares: the best-epoch marker, the epoch axis, markers.

One place for these so that the loss curves, the loss split, the confidence and the temperature charts mark the
same epoch the same way. (Whether a loss "rises" is decided with the config's threshold in ``paired.py``.)
"""

from __future__ import annotations

from typing import Any

from matplotlib.axes import Axes
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator

#: Look of the vertical line at the best epoch, the same in every chart (grey: it is a reference, not data).
BEST_EPOCH_STYLE: dict[str, Any] = {"color": "#555555", "linestyle": (0, (1, 1.5)), "linewidth": 1.2}

#: At most this many markers per line: enough to tell lines apart in grey print, few enough not to clutter.
MAX_MARKERS = 12


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
