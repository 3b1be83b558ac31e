"""Temperature scaling, like with like: the validation loss with and without each epoch's own temperature.

Left, the validation loss after every epoch as the network gives it (solid) and after dividing that epoch's logits
by the one temperature that minimises that epoch's validation loss (dotted); right, the fitted temperature. With
several seeds each line is the mean over the seeds and its band the range (lowest to highest seed). A temperature
changes no prediction, so the gap between the two loss curves is what over-confidence costs at that epoch.

The rise the title quotes compares like with like: from each seed's epoch of lowest validation loss (e*) to its
last epoch, the rise of the scaled loss (scaled at both epochs) against the rise of the unscaled loss (unscaled at
both); ``removed`` is the share of the second that the first no longer has. (Comparing the scaled last epoch with
the unscaled minimum would mix the two.) Reads one ``history.json`` per seed; writes ``--output`` and ``--meta``
with the caption's ``notice`` fact.

    PYTHONPATH=scripts python scripts/overfitting/figures/temperature.py \\
        --history results/models/overfit/seed-{1,2,3}/history.json \\
        --output results/figures/overfitting/temperature.svg --meta results/figures/overfitting/temperature.json
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from kit.cli import PipelineError, run_cli
from kit.facts import compare
from kit.figure import Input, figure_main
from kit.io import round_significant
from kit.plotstyle import PALETTE, new_figure, panel_grid, set_title
from models.modelio import read_model_history
from overfitting.epochs import BEST_EPOCH_STYLE, epoch_axis, markevery
from overfitting.paired import on_seeds, span

COLUMNS = ("temperature", "val_loss_temperature_scaled")

#: Opacity of the band between the lowest and the highest seed.
BAND_ALPHA = 0.18

#: The two loss curves: history column, legend label, colour, dash pattern, marker.
LOSSES: tuple[tuple[str, str, str, Any, str], ...] = (
    ("val_loss", "validation loss as it is", PALETTE[1], "-", "s"),
    ("val_loss_temperature_scaled", "with the epoch's own temperature", PALETTE[2], (0, (1.5, 1.5)), "^"),
)


def seed_numbers(run: Mapping[str, Any]) -> dict[str, Any]:
    """One seed's rise from e* to the last epoch, unscaled and scaled, and the share the temperature removes."""
    h = run["history"]
    best, last = run["best_epoch"], run["epochs"]

    def at(name: str, epoch: int) -> float:
        return float(h[name][epoch - 1])

    rise = at("val_loss", last) - at("val_loss", best)
    scaled = at("val_loss_temperature_scaled", last) - at("val_loss_temperature_scaled", best)
    return {
        "seed": run["settings"].get("seed"),
        "best_epoch": best,
        "last_epoch": last,
        "val_loss_best": round_significant(at("val_loss", best)),
        "val_loss_last": round_significant(at("val_loss", last)),
        "val_loss_scaled_best": round_significant(at("val_loss_temperature_scaled", best)),
        "val_loss_scaled_last": round_significant(at("val_loss_temperature_scaled", last)),
        "rise": round_significant(rise),
        "scaled_rise": round_significant(scaled),
        "removed_percent": round_significant(100 * (rise - scaled) / rise) if rise > 0 else None,
        "temperature_best": round_significant(at("temperature", best)),
        "temperature_last": round_significant(at("temperature", last)),
        "gap_best": round_significant(at("val_loss", best) - at("val_loss_temperature_scaled", best)),
        "gap_last": round_significant(at("val_loss", last) - at("val_loss_temperature_scaled", last)),
    }


def describe(runs: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Title, alt text, the caption's notice and every seed's numbers."""
    seeds = [seed_numbers(run) for run in runs]
    n = len(seeds)
    removed = [s["removed_percent"] for s in seeds if s["removed_percent"] is not None]
    where = f" ({n} seeds)" if n > 1 else ""
    if len(removed) == n:
        title = (
            f"Each epoch's own temperature removes {span(removed, '.0f', ' %')} of the validation loss's rise after "
            f"its lowest epoch{where}"
        )
    else:
        title = (
            f"Validation loss with and without each epoch's own temperature{where}; the loss does not rise after "
            f"its lowest epoch{on_seeds(n - len(removed), n)}"
        )
    gap_best = float(np.mean([s["gap_best"] for s in seeds]))
    gap_last = float(np.mean([s["gap_last"] for s in seeds]))
    mean = " on average" if n > 1 else ""
    notice = compare(
        gap_last, ">", gap_best,
        f"Notice that the gap between the two loss curves is wider at the last epoch ({gap_last:.3f} nats{mean}) "
        f"than at the lowest-loss epoch ({gap_best:.3f}); the temperature closes that gap without changing a "
        "single prediction.",
        f"Notice that the gap between the two loss curves is no wider at the last epoch ({gap_last:.3f} nats"
        f"{mean}) than at the lowest-loss epoch ({gap_best:.3f}).",
        what="mean gap between unscaled and scaled loss, last epoch vs lowest-loss epoch",
    )  # fmt: skip

    def seed_text(s: Mapping[str, Any]) -> str:
        name = f"Seed {s['seed']}: " if n > 1 else ""
        return (
            f"{name}from epoch {s['best_epoch']} to {s['last_epoch']} the loss as it is goes from "
            f"{s['val_loss_best']:.3f} to {s['val_loss_last']:.3f} nats and with each epoch's temperature from "
            f"{s['val_loss_scaled_best']:.3f} to {s['val_loss_scaled_last']:.3f}; the temperature goes from "
            f"{s['temperature_best']:.2f} to {s['temperature_last']:.2f}."
        )

    drawn = "the mean over the seeds as lines and their range as bands" if n > 1 else "one run"
    alt = (
        f"Two line charts over {runs[0]['epochs']} epochs showing {drawn}. Left, the validation loss as the network "
        "gives it (solid) and after dividing each epoch's logits by the temperature fitted to that epoch (dotted); "
        "right, that temperature. Dotted vertical lines mark each seed's epoch of lowest validation loss. "
        + " ".join(seed_text(s) for s in seeds)
    )
    return {
        "title": title,
        "alt": alt,
        "notice": notice,
        "n_seeds": n,
        "epochs": runs[0]["epochs"],
        "runs": seeds,
        "gap_best_mean": round_significant(gap_best),
        "gap_last_mean": round_significant(gap_last),
    }


def band(ax: Any, x: np.ndarray, values: np.ndarray, color: str, style: Any, marker: str, offset: int) -> None:
    """The mean over the seeds as a line and, with two or more seeds, their range as a band."""
    if values.shape[0] > 1:
        ax.fill_between(x, values.min(axis=0), values.max(axis=0), color=color, alpha=BAND_ALPHA, linewidth=0)
    ax.plot(x, values.mean(axis=0), color=color, linestyle=style, marker=marker, markersize=3.5,
            markevery=markevery(len(x), offset))  # fmt: skip


def plot_temperature(runs: Sequence[Mapping[str, Any]], title: str) -> Figure:
    """Losses left, temperature right (stacked on a phone), one legend underneath."""
    x = runs[0]["history"]["epoch"]
    epochs = runs[0]["epochs"]
    rows, columns = panel_grid(2)
    fig = new_figure(3.2 if rows == 1 else 5.6)
    ax_loss, ax_t = fig.subplots(rows, columns).ravel()
    for offset, (column, _, color, style, marker) in enumerate(LOSSES):
        values = np.stack([np.asarray(run["history"][column], dtype=np.float64) for run in runs])
        band(ax_loss, x, values, color, style, marker, offset)
    temperatures = np.stack([np.asarray(run["history"]["temperature"], dtype=np.float64) for run in runs])
    band(ax_t, x, temperatures, PALETTE[0], "-", "o", 0)
    bests = sorted({run["best_epoch"] for run in runs})
    for ax in (ax_loss, ax_t):
        for epoch in bests:
            ax.axvline(epoch, zorder=1.5, **BEST_EPOCH_STYLE)
        epoch_axis(ax, epochs)
    ax_loss.set_ylim(bottom=0)
    ax_loss.set_ylabel("validation loss (nats)")
    ax_loss.set_title("validation loss", fontsize=9)
    ax_t.set_ylabel("fitted temperature T")
    ax_t.set_title("temperature", fontsize=9)
    n = len(runs)
    handles = [Line2D([], [], color=c, linestyle=st, marker=m, markersize=3.5) for _, _, c, st, m in LOSSES]
    handles += [Line2D([], [], color=PALETTE[0], linestyle="-", marker="o", markersize=3.5),
                Line2D([], [], **BEST_EPOCH_STYLE)]  # fmt: skip
    labels = [label for _, label, _, _, _ in LOSSES] + [
        "fitted temperature",
        "lowest validation loss" + (" of each seed" if n > 1 else f" (epoch {bests[0]})"),
    ]
    if n > 1:
        labels[0] += f" (mean of {n} seeds, band: range)"
    fig.legend(handles, labels, loc="outside lower center", ncols=2)
    set_title(fig, title)
    return fig


def read_history(path: Path) -> dict[str, Any]:
    """``history.json`` checked, with the temperature columns."""
    return read_model_history(path, COLUMNS)


def check_runs(runs: Sequence[Mapping[str, Any]], paths: Sequence[Path]) -> None:
    """All runs of one model with the same number of epochs (so their curves can be averaged)."""
    for run, path in zip(runs, paths, strict=True):
        if run["epochs"] != runs[0]["epochs"] or run["model"] != runs[0]["model"]:
            raise PipelineError(
                f"{path}: model {run['model']!r} over {run['epochs']} epochs, but {paths[0]} is {runs[0]['model']!r} "
                f"over {runs[0]['epochs']}: give the seeds of one model with the same settings"
            )


def main(argv: Sequence[str] | None = None) -> None:
    """Read every seed's history and write the figure and its sidecar."""
    figure_main(
        argv,
        __doc__,
        inputs=[Input("history", "history.json written by models/train.py, one per seed", read_history, many=True)],
        check=lambda d, a: check_runs(d["history"], a.history),
        describe=lambda d, a: describe(d["history"]),
        draw=lambda d, info, a: plot_temperature(d["history"], info["title"]),
    )


if __name__ == "__main__":
    sys.exit(run_cli(main))
