"""Stacked area: the validation loss split into the part from right and the part from wrong predictions.

Each epoch's mean validation loss is the sum of two parts: the losses of the correctly classified examples
and those of the wrongly classified ones, each summed and divided by all N examples (``val_loss_correct_part``
and ``val_loss_wrong_part`` in ``history.json``). Stacking them shows where a rise of the validation loss
comes from. Temperature scaling is left to its own figure (``temperature.py``), which the page shows after it
explains it. The sidecar's ``notice`` (a ``kit.facts`` fact) says which band widens, chosen from the numbers.
Reads ``--history`` and writes the SVG (``--output``) and sidecar (``--meta``).

    PYTHONPATH=scripts python scripts/overfitting/figures/loss_split.py \\
        --history results/models/overfit/seed-1/history.json \\
        --output results/figures/overfitting/loss_split.svg --meta results/figures/overfitting/loss_split.json
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from matplotlib.colors import to_rgb
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from kit.cli import run_cli
from kit.facts import choose
from kit.figure import Input, figure_main
from kit.io import round_significant
from kit.plotstyle import PALETTE, new_figure, percent, percent_value, set_title
from models.modelio import read_model_history
from overfitting.epochs import best_epoch_label, epoch_axis, mark_best_epoch, markevery

#: Strength of the two stacked areas' colours (the rest is white): light enough that the hatching and the
#: lines on top stand out.
TINT = 0.3

COLUMNS = ("val_loss_correct_part", "val_loss_wrong_part", "val_loss_wrong_share", "val_n_wrong")


def tint(color: str, strength: float = TINT) -> tuple[float, float, float]:
    """``color`` mixed with white, opaque. Why not transparency: SVG applies it to the hatching as well,
    which would then vanish into its own background."""
    return tuple(strength * c + (1 - strength) for c in to_rgb(color))


def band_words(change: float) -> str:
    """How one band's height moved: "widens (+0.381 nats)", "narrows (−0.012 nats)", "keeps its height"."""
    if change > 0:
        return f"widens (+{change:.3f} nats)"
    if change < 0:
        return f"narrows (−{-change:.3f} nats)"
    return "keeps its height"


def describe(run: dict[str, Any]) -> dict[str, Any]:
    """Title, alt text, the caption's notice and numbers: how much of the change after the best epoch each part
    carries."""
    h = run["history"]
    best, last = run["best_epoch"], run["epochs"]

    def at(name: str, epoch: int) -> float:
        return float(h[name][epoch - 1])

    loss_best, loss_last = at("val_loss", best), at("val_loss", last)
    rise = loss_last - loss_best
    rise_wrong = at("val_loss_wrong_part", last) - at("val_loss_wrong_part", best)
    rise_correct = at("val_loss_correct_part", last) - at("val_loss_correct_part", best)
    rises = last > best and rise > 0
    wrong_fraction = rise_wrong / rise if rises else None

    if rises and rise_correct <= 0:
        title = (
            f"After epoch {best} only the wrongly classified examples push the validation loss up "
            f"(+{rise_wrong:.3f} nats); the correctly classified ones change it by {rise_correct:+.3f}"
        )
    elif rises:
        title = (
            f"Wrongly classified examples carry {percent(wrong_fraction, 0)} of the validation loss's rise after "
            f"epoch {best} (+{rise_wrong:.3f} of +{rise:.3f} nats)"
        )
    else:
        title = (
            f"The validation loss is lowest at the last epoch, {last} ({loss_last:.3f} nats); wrongly classified "
            f"examples carry {percent(at('val_loss_wrong_share', last), 0)} of it"
        )
    notice = choose(
        [
            (not rises, f"no rise after the lowest-loss epoch ({best} -> {last})",
             "Notice how much of the loss the wrongly classified examples carry although they are the minority."
             if at("val_n_wrong", last) < run["n_validation"] / 2
             else "Notice how much of the loss the wrongly classified examples carry."),
        ],
        f"Notice that after the marked epoch the band of the wrongly classified examples {band_words(rise_wrong)} "
        f"and that of the correctly classified ones {band_words(rise_correct)}.",
        values={"rise": rise, "rise_wrong_part": rise_wrong, "rise_correct_part": rise_correct},
    )  # fmt: skip

    alt = (
        f"Stacked area chart over {last} epochs of the mean validation cross-entropy loss, split into the part "
        "from correctly classified examples (bottom) and from wrongly classified ones (top, hatched); the two "
        f"add up to the validation loss. At epoch {best}, the lowest validation loss, the total is "
        f"{loss_best:.3f} nats: {at('val_loss_correct_part', best):.3f} from right and "
        f"{at('val_loss_wrong_part', best):.3f} from wrong predictions ({int(at('val_n_wrong', best)):,} wrong). "
        f"At epoch {last} it is {loss_last:.3f}: {at('val_loss_correct_part', last):.3f} from right and "
        f"{at('val_loss_wrong_part', last):.3f} from wrong predictions ({int(at('val_n_wrong', last)):,} wrong)."
    )
    return {
        "title": title,
        "alt": alt,
        "notice": notice,
        "model": run["model"],
        "epochs": last,
        "best_epoch": best,
        "loss_rises": rises,
        "val_loss_best": round_significant(loss_best),
        "val_loss_last": round_significant(loss_last),
        "val_loss_correct_part_best": round_significant(at("val_loss_correct_part", best)),
        "val_loss_correct_part_last": round_significant(at("val_loss_correct_part", last)),
        "val_loss_wrong_part_best": round_significant(at("val_loss_wrong_part", best)),
        "val_loss_wrong_part_last": round_significant(at("val_loss_wrong_part", last)),
        "val_loss_wrong_share_best": round_significant(at("val_loss_wrong_share", best)),
        "val_loss_wrong_share_last": round_significant(at("val_loss_wrong_share", last)),
        "val_n_wrong_best": int(at("val_n_wrong", best)),
        "val_n_wrong_last": int(at("val_n_wrong", last)),
        "rise": round_significant(rise),
        "rise_correct_part": round_significant(rise_correct),
        "rise_wrong_part": round_significant(rise_wrong),
        "rise_wrong_fraction": round_significant(wrong_fraction),
        "rise_wrong_percent": None if wrong_fraction is None else percent_value(wrong_fraction, 0),
    }


def plot_loss_split(run: dict[str, Any], title: str) -> Figure:
    """Two stacked areas (right below, wrong above, hatched), the total on top and the scaled loss dotted."""
    h = run["history"]
    epochs, best = run["epochs"], run["best_epoch"]
    x = h["epoch"]
    correct, wrong = h["val_loss_correct_part"], h["val_loss_wrong_part"]
    fig = new_figure(3.2)
    ax = fig.subplots()
    right_fill = {"facecolor": tint(PALETTE[0]), "edgecolor": PALETTE[0]}
    wrong_fill = {"facecolor": tint(PALETTE[1]), "edgecolor": PALETTE[1], "hatch": "//"}
    ax.fill_between(x, 0, correct, linewidth=0, **right_fill)
    ax.fill_between(x, correct, correct + wrong, linewidth=0, **wrong_fill)
    ax.plot(x, correct, color=PALETTE[0], linestyle="-", linewidth=1.2)
    total = ax.plot(
        x, h["val_loss"], color="black", linestyle="-", marker="o", markersize=3.5, markevery=markevery(epochs)
    )[0]
    marker = mark_best_epoch(ax, best)
    epoch_axis(ax, epochs)
    ax.set_ylim(0, 1.08 * float((correct + wrong).max()))
    ax.set_ylabel("validation loss (nats)")
    handles = [
        Patch(linewidth=0.8, **right_fill),
        Patch(linewidth=0.8, **wrong_fill),
        total,
        marker,
    ]
    labels = [
        "from correctly classified examples",
        "from wrongly classified examples",
        "validation loss (sum of both)",
        best_epoch_label(best),
    ]
    fig.legend(handles, labels, loc="outside right center")
    set_title(fig, title)
    return fig


def read_history(path: Path) -> dict[str, Any]:
    """``history.json`` checked, with the columns this figure draws."""
    return read_model_history(path, COLUMNS)


def main(argv: Sequence[str] | None = None) -> None:
    """Read the history and write the figure and its sidecar."""
    figure_main(
        argv,
        __doc__,
        inputs=[Input("history", "history.json written by models/train.py", read_history)],
        describe=lambda d, a: describe(d["history"]),
        draw=lambda d, info, a: plot_loss_split(d["history"], info["title"]),
    )


if __name__ == "__main__":
    sys.exit(run_cli(main))
