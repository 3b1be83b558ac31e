"""Histograms of the per-example validation loss at the best and at the last epoch, right and wrong apart.

A mean loss hides who carries it. Here every validation example's cross-entropy ``-log p(true class)`` is
counted (bins of equal width, counts on a log scale) separately for the examples the model classifies
correctly (filled) and wrongly (hatched), at the epoch with the lowest validation loss (left) and at the last
epoch (right). The sidecar also follows each example from the best to the last epoch (stayed right, stayed
wrong, fixed, broken; ``overfitting/paired.py``) and splits the change of the mean loss between those groups. The
examples wrong at both epochs are the title's subject, so their median loss is drawn in both panels (a dashed line
with its value), and the caption's ``notice`` fact compares the two medians. Reads ``diagnostics.npz``
(``--diagnostics``); writes ``--output`` and ``--meta``.

    PYTHONPATH=scripts python scripts/overfitting/figures/loss_histograms.py \\
        --diagnostics results/models/overfit/seed-1/diagnostics.npz \\
        --output results/figures/overfitting/loss_histograms.svg \\
        --meta results/figures/overfitting/loss_histograms.json
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from kit.cli import PipelineError, run_cli
from kit.facts import choose
from kit.figure import Data, Input, figure_main
from kit.io import round_significant
from kit.plotstyle import PALETTE, new_figure, panel_grid, set_title
from models.calibration import confidences, per_example_loss
from models.modelio import RERUN, read_diagnostics
from overfitting.paired import transitions

#: At least this many bins span the largest loss: enough to show the shape of the wrong group's tail.
TARGET_BINS = 60

#: Bin widths (nats) to choose from, so the edges are round numbers a reader can count along the axis.
NICE_WIDTHS = (0.05, 0.1, 0.2, 0.25, 0.5, 1.0, 2.0, 2.5, 5.0, 10.0)

#: Stored per-example losses may differ from ones recomputed from the stored (float32) logits by this much.
LOSS_TOLERANCE = {"rtol": 1e-3, "atol": 1e-4}

#: Look of the two groups: right answers a light filled area, wrong ones hatched, so grey print keeps them apart.
RIGHT_STYLE: dict[str, Any] = {"histtype": "stepfilled", "facecolor": "#b3d4e8", "edgecolor": PALETTE[0]}
WRONG_STYLE: dict[str, Any] = {
    "histtype": "step",
    "hatch": "////",
    "edgecolor": PALETTE[1],
    "linewidth": 1.4,
    "linestyle": "-",
}

#: The median loss of the examples wrong at both epochs: a dashed dark line, labelled with its value.
MEDIAN_STYLE: dict[str, Any] = {"color": "#222222", "linestyle": (0, (4, 2)), "linewidth": 1.3}


def epoch_losses(diagnostics: dict[str, Any], which: str, path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Per-example losses and right/wrong flags at the ``"best"`` or ``"last"`` epoch.

    The losses are recomputed from the logits with the same function the history uses and compared with
    the stored ones, so a diagnostics file whose arrays disagree is refused rather than drawn.
    """
    logits, labels = diagnostics[f"val_logits_{which}"], diagnostics["val_labels"]
    losses = per_example_loss(logits, labels)
    if not np.allclose(losses, diagnostics[f"val_loss_{which}"], **LOSS_TOLERANCE):
        raise PipelineError(
            f"{path}: 'val_loss_{which}' does not match the loss of 'val_logits_{which}' (largest difference "
            f"{np.max(np.abs(losses - diagnostics[f'val_loss_{which}'])):.3g}); {RERUN}"
        )
    return losses, confidences(logits)[1] == labels


def loss_bins(*groups: np.ndarray) -> np.ndarray:
    """Equal-width bin edges from 0 past the largest loss, the width a round number of nats.

    Why a linear loss axis (with log counts): the story is how far the wrong examples' losses reach, which a
    log loss axis would compress; right examples all sit in the first bin or two, which is itself the point.
    """
    high = max(float(max(g.max() for g in groups if g.size)), 1e-9)
    width = next((w for w in NICE_WIDTHS if w * TARGET_BINS >= high), NICE_WIDTHS[-1])
    return np.arange(0, (math.floor(high / width) + 2) * width - width / 2, width)


def group_numbers(losses: np.ndarray, correct: np.ndarray) -> dict[str, Any]:
    """Counts, means and medians of the loss of right and wrong examples at one epoch."""
    total = float(losses.sum())
    top = np.sort(losses)[::-1][: max(1, len(losses) // 10)]

    def stat(fn: Any, mask: np.ndarray) -> float | None:
        return round_significant(fn(losses[mask])) if mask.any() else None

    return {
        "n_correct": int(correct.sum()),
        "n_wrong": int((~correct).sum()),
        "loss_mean": round_significant(losses.mean()),
        "loss_correct_mean": stat(np.mean, correct),
        "loss_correct_median": stat(np.median, correct),
        "loss_wrong_mean": stat(np.mean, ~correct),
        "loss_wrong_median": stat(np.median, ~correct),
        "loss_max": round_significant(losses.max()),
        "loss_wrong_share": round_significant(losses[~correct].sum() / total) if total > 0 else 0.0,
        "loss_top10_share": round_significant(top.sum() / total) if total > 0 else 0.0,
    }


def describe(best: int, last: int, numbers: dict[str, Any], width: float) -> dict[str, Any]:
    """Title and alt text from the per-epoch and per-group numbers."""
    t = numbers["transitions"]
    b, e = numbers["best"], numbers["last"]
    sw_best, sw_last = t["stayed_wrong_loss_median_best"], t["stayed_wrong_loss_median_last"]
    if best < last and sw_best is not None and sw_last > sw_best:
        title = (
            f"The {t['n_stayed_wrong']:,} examples wrong at both epoch {best} and epoch {last} become more "
            f"confidently wrong: median loss {sw_best:.2f} \u2192 {sw_last:.2f} nats"
        )
    elif e["loss_wrong_median"] is not None and e["loss_correct_median"] is not None:
        title = (
            f"At epoch {last} wrong predictions have a median loss of {e['loss_wrong_median']:.2f} nats, right "
            f"ones {e['loss_correct_median']:.3f}"
        )
    else:
        title = f"Per-example validation loss at epochs {best} and {last}"

    def panel(epoch: int, g: dict[str, Any]) -> str:
        right = (
            f"{g['n_correct']:,} right predictions (median loss {g['loss_correct_median']:.3g} nats)"
            if g["n_correct"]
            else "no right predictions"
        )
        wrong = (
            f"{g['n_wrong']:,} wrong ones (median {g['loss_wrong_median']:.3g} nats, "
            f"{100 * g['loss_wrong_share']:.0f} % of the total loss)"
            if g["n_wrong"]
            else "no wrong ones"
        )
        return f"at epoch {epoch}, {right} and {wrong}"

    alt = (
        f"Two histograms of the per-example validation cross-entropy loss in bins {width:g} nats wide, counts "
        "on a logarithmic axis, correctly classified examples filled, wrongly classified hatched: "
        f"{panel(best, b)} (the lowest validation loss); "
        f"{panel(last, e)}. Between the two epochs {t['n_fixed']:,} examples turn from wrong to right, "
        f"{t['n_broken']:,} from right to wrong and {t['n_stayed_wrong']:,} stay wrong"
        + (
            f"; the median loss of those that stay wrong goes from {sw_best:.2f} to {sw_last:.2f} nats."
            if sw_best is not None
            else "."
        )
        + f" The largest loss is {max(b['loss_max'], e['loss_max']):.1f} nats."
    )
    if best < last and sw_best is not None:
        notice = choose(
            [
                (sw_last > sw_best, f"median loss of the examples wrong at both epochs {sw_last} > {sw_best}",
                 f"Notice that the examples wrong at both epochs sit further right at the last epoch: the dashed "
                 f"line, their median loss, moves from {sw_best:.2f} to {sw_last:.2f} nats."),
                (sw_last < sw_best, f"median loss of the examples wrong at both epochs {sw_last} < {sw_best}",
                 f"Notice that the examples wrong at both epochs sit further left at the last epoch: the dashed "
                 f"line, their median loss, moves from {sw_best:.2f} to {sw_last:.2f} nats."),
            ],
            f"Notice that the median loss of the examples wrong at both epochs (the dashed line) stays at "
            f"{sw_best:.2f} nats.",
        )  # fmt: skip
    else:
        notice = choose(
            [],
            "Notice how far the wrongly classified examples' losses reach compared with the right ones'."
            if best == last
            else "Notice that no example is wrong at both epochs.",
        )
    dashed = choose(
        [(best < last and t["n_stayed_wrong"] > 0, f"{t['n_stayed_wrong']} examples wrong at both epochs",
          "The dashed line is the median loss of the images that are wrong at both epochs.")],
        "Both panels show one epoch, or no image is wrong at both, so no median line is drawn.",
    )  # fmt: skip
    return {"title": title, "alt": alt, "notice": notice, "dashed": dashed}


def legend_label(kind: str, losses: np.ndarray) -> str:
    """``"wrong: 134, median 3.7 nats"``: a group's size and typical loss, read where its histogram is named."""
    median = float(np.median(losses))
    return f"{kind}: {losses.size:,}, median {'< 0.001' if median < 1e-3 else f'{median:.2g}'} nats"


def draw_panel(
    ax: Any, losses: np.ndarray, correct: np.ndarray, bins: np.ndarray, stayed_wrong: np.ndarray | None = None
) -> None:
    """One epoch's two histograms, counts on a log axis; legend entries carry each group's size and median, and
    the median loss of the examples wrong at both epochs (``stayed_wrong``, a mask) is a dashed line."""
    if correct.any():
        ax.hist(losses[correct], bins=bins, label=legend_label("right", losses[correct]), **RIGHT_STYLE)
    if (~correct).any():
        ax.hist(losses[~correct], bins=bins, label=legend_label("wrong", losses[~correct]), **WRONG_STYLE)
    if stayed_wrong is not None and stayed_wrong.any():
        median = float(np.median(losses[stayed_wrong]))
        ax.axvline(median, label=f"wrong at both epochs ({int(stayed_wrong.sum()):,}): median {median:.2f} nats",
                   **MEDIAN_STYLE)  # fmt: skip
    ax.set_yscale("log")
    ax.set_xlim(bins[0], bins[-1])
    ax.legend(loc="upper left")


def plot_histograms(
    curves: dict[str, tuple[np.ndarray, np.ndarray]], epochs: dict[str, int], bins: np.ndarray, title: str
) -> Figure:
    """Best epoch left, last epoch right, same axes, so the shift of each group can be read across."""
    rows, columns = panel_grid(2)
    fig = new_figure(3.4 if rows == 1 else 6.0)
    axes = fig.subplots(rows, columns, sharex=True, sharey=True).ravel()
    stayed_wrong = ~curves["best"][1] & ~curves["last"][1] if epochs["best"] < epochs["last"] else None
    for ax, which in zip(axes, ("best", "last"), strict=True):
        losses, correct = curves[which]
        draw_panel(ax, losses, correct, bins, stayed_wrong)
        note = "lowest validation loss" if which == "best" else "last epoch"
        ax.set_title(f"epoch {epochs[which]} ({note})", fontsize=9)
        ax.set_xlabel("per-example cross-entropy loss (nats)")
    top = max(float(np.histogram(c[0], bins=bins)[0].max()) for c in curves.values())
    axes[0].set_ylim(0.7, top * 30)  # room above the highest bar for the legend
    axes[0].set_ylabel("validation examples (log scale)")
    set_title(fig, title)
    return fig


def measure(diagnostics: dict[str, Any], path: Path) -> dict[str, Any]:
    """Both epochs' per-example losses and right/wrong flags (checked against the stored ones), and the bins."""
    curves = {which: epoch_losses(diagnostics, which, path) for which in ("best", "last")}
    epochs = {"best": diagnostics["best_epoch"], "last": diagnostics["last_epoch"]}
    return {"curves": curves, "epochs": epochs, "bins": loss_bins(curves["best"][0], curves["last"][0])}


def describe_data(data: Data, args: argparse.Namespace) -> dict[str, Any]:
    """The sidecar: title and alt text, each epoch's group numbers, the transitions and the bins."""
    diagnostics = data["diagnostics"]
    m = measure(diagnostics, args.diagnostics)
    curves, epochs, bins = m["curves"], m["epochs"], m["bins"]
    numbers = {
        "best": {"epoch": epochs["best"], **group_numbers(*curves["best"])},
        "last": {"epoch": epochs["last"], **group_numbers(*curves["last"])},
        "transitions": transitions(*curves["best"], *curves["last"]),
    }
    return {
        **describe(epochs["best"], epochs["last"], numbers, float(bins[1] - bins[0])),
        **numbers,
        "n_validation": len(diagnostics["val_labels"]),
        "best_epoch": epochs["best"],
        "last_epoch": epochs["last"],
        "bin_width": round_significant(bins[1] - bins[0]),
        "bin_edges": [round_significant(v) for v in bins],
    }


def draw(data: Data, info: dict[str, Any], args: argparse.Namespace) -> Figure:
    """The two histograms, best epoch left and last epoch right."""
    m = measure(data["diagnostics"], args.diagnostics)
    return plot_histograms(m["curves"], m["epochs"], m["bins"], info["title"])


def main(argv: Sequence[str] | None = None) -> None:
    """Recompute the per-example losses and write the figure and its sidecar."""
    figure_main(
        argv,
        __doc__,
        inputs=[Input("diagnostics", "diagnostics.npz written by models/train.py", read_diagnostics)],
        describe=describe_data,
        draw=draw,
    )


if __name__ == "__main__":
    sys.exit(run_cli(main))
