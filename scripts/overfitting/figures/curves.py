"""Learning curves over every seed: training and validation loss (left) and accuracy (right), mean and range.

The overfitting puzzle in one picture, drawn from every seed of one model: the line is the mean over the seeds
at each epoch and the band around it the range (lowest to highest seed), so a reader sees at once how much of a
curve's shape is one run's luck. Training curves are solid, validation curves dashed, with different markers; a
dotted vertical line marks each seed's epoch of lowest validation loss (e*).

The title says what the runs show, chosen from the numbers: the validation loss's rise after e* and the change
of validation accuracy from e* to the last epoch, which is called a rise or a fall only when an exact McNemar
test on the same validation images agrees (``overfitting/paired.py``; the diagnostics of each seed hold the
logits at both epochs). The model is named from its settings (regularised or not, and its training images), so
the title stays true under any config. Reads one ``history.json`` and one ``diagnostics.npz`` per seed, in the
same order; writes the SVG (``--output``) and a JSON sidecar (``--meta``) with the caption's ``notice`` fact.

    PYTHONPATH=scripts python scripts/overfitting/figures/curves.py \\
        --history results/models/overfit/seed-{1,2,3}/history.json \\
        --diagnostics results/models/overfit/seed-{1,2,3}/diagnostics.npz \\
        --min-loss-rise-percent 5 --min-accuracy-rise-points 0.2 --significance-level 0.05 \\
        --output results/figures/overfitting/curves_overfit.svg \\
        --meta results/figures/overfitting/curves_overfit.json
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from kit.cli import PipelineError, run_cli
from kit.facts import choose
from kit.figure import Data, Input, Option, figure_main
from kit.plotstyle import PALETTE, capitalised, new_figure, panel_grid, percent, set_title
from models.modelio import read_diagnostics, read_model_history
from overfitting.epochs import BEST_EPOCH_STYLE, epoch_axis, markevery
from overfitting.paired import (
    COLUMNS,
    NO_RISE,
    OVERFITTING,
    PUZZLE,
    PUZZLE_FLAT,
    Rules,
    check_same_run,
    classify,
    compare_epochs,
    on_seeds,
    outcome_phrase,
    signed_span,
    span,
)

#: Opacity of the band between the lowest and the highest seed (light enough for the mean line to stand out).
BAND_ALPHA = 0.18

#: The two series of each panel: history prefix, legend label, colour, dash pattern, marker.
SERIES: tuple[tuple[str, str, str, str, str], ...] = (
    ("train", "training", PALETTE[0], "-", "o"),
    ("val", "validation", PALETTE[1], "--", "s"),
)


def model_label(run: Mapping[str, Any]) -> str:
    """What the model is, from its settings: "unregularised CNN on 2,000 images" or "regularised CNN on ..."."""
    s = run["settings"]
    regular = s.get("batch_norm") or s.get("dropout", 0) > 0 or s.get("weight_decay", 0) > 0 or s.get("augment")
    return f"{'regularised' if regular else 'unregularised'} CNN on {run['n_train']:,} training images"


def check_runs(runs: Sequence[Mapping[str, Any]], diagnostics: Sequence[Mapping[str, Any]], args: Any) -> None:
    """One diagnostics file per history, each from the same run; all runs of one model with the same epochs."""
    if len(runs) != len(diagnostics):
        raise PipelineError(
            f"--history names {len(runs)} files and --diagnostics {len(diagnostics)}; give one of each per seed"
        )
    for run, diag, history_path, diag_path in zip(runs, diagnostics, args.history, args.diagnostics, strict=True):
        check_same_run(run, diag, history_path, diag_path)
        if run["epochs"] != runs[0]["epochs"] or run["model"] != runs[0]["model"]:
            raise PipelineError(
                f"{history_path}: model {run['model']!r} over {run['epochs']} epochs, but {args.history[0]} is "
                f"{runs[0]['model']!r} over {runs[0]['epochs']}: give the seeds of one model with the same settings"
            )
    seeds = [run["settings"].get("seed") for run in runs]
    if len(set(seeds)) != len(seeds):
        raise PipelineError(f"--history names a seed twice ({seeds}); give each seed once")


def rules_of(args: argparse.Namespace) -> Rules:
    """The thresholds of the paired test and the loss rise (the config's ``overfitting.*``)."""
    return Rules(args.min_loss_rise_percent, args.min_accuracy_rise_points, args.significance_level)


def notice(
    outcome: str, comparisons: Sequence[Mapping[str, Any]], counts: Mapping[str, int], rules: Rules
) -> dict[str, Any]:
    """The caption's "what to notice", chosen by the runs' outcome (a fact: ``kit.facts``)."""
    n = len(comparisons)
    rises = [c["val_loss_rise_percent"] for c in comparisons if c["val_loss_rise_percent"] is not None]
    changes = [c["val_accuracy_change_points"] for c in comparisons]
    rise_text = span(rises, ".0f", " %") if rises else "n/a"
    change_text = signed_span(changes)
    thr = f"{rules.min_loss_rise_percent:g} %"
    return choose(
        [
            (outcome == PUZZLE, "every seed: loss up, accuracy significantly up",
             f"Notice that the validation accuracy ends {span(changes, '.2f', ' points')} above its value at the "
             "marked epoch while "
             f"the validation loss ends {rise_text} above its minimum."),
            (outcome == PUZZLE_FLAT, "every seed: loss up, accuracy not significantly down",
             f"Notice that the validation loss ends {rise_text} above its minimum while the validation accuracy "
             f"changes by {change_text}, with no significant fall{' on any seed' if n > 1 else ''}."),
            (outcome == OVERFITTING, "accuracy significantly down on some seed",
             f"Notice that the validation accuracy too is lower at the end{on_seeds(counts['accuracy_down'], n)}: "
             f"it changes by {change_text} from the marked epoch."),
            (outcome == NO_RISE, f"no seed's loss ends significantly {thr} above its minimum",
             f"Notice that the validation loss does not end significantly, by {thr} or more, above its minimum"
             f"{on_seeds(n, n)}."),
        ],
        f"Notice that the validation loss ends significantly, by at least {thr}, above its minimum"
        f"{on_seeds(counts['loss_rose'], n)} only.",
        values={"outcome": outcome, **counts},
    )  # fmt: skip


def describe(runs: Sequence[Mapping[str, Any]], diagnostics: Sequence[Mapping[str, Any]], rules: Rules) -> dict:
    """Title, alt text, the caption's notice and the quotable numbers, all read off the same runs."""
    comparisons = [compare_epochs(run, diag) for run, diag in zip(runs, diagnostics, strict=True)]
    classified = classify(comparisons, rules)
    first, n = runs[0], len(runs)
    label = model_label(first)
    seeds = [run["settings"].get("seed") for run in runs]
    who = f"{capitalised(label)}, {n} seeds" if n > 1 else capitalised(label)
    title = f"{who}: {outcome_phrase(classified, comparisons, rules)}"

    def seed_text(run: Mapping[str, Any], c: Mapping[str, Any]) -> str:
        h = run["history"]
        best, last = c["best_epoch"], c["last_epoch"]
        name = f"Seed {run['settings'].get('seed')}: " if n > 1 else ""
        loss = f"validation loss lowest at epoch {best} ({c['val_loss_min']:.3f} nats)" + (
            f", {c['val_loss_last']:.3f} at epoch {last}" if best < last else ""
        )
        accuracy = (
            f"validation accuracy {percent(c['val_accuracy_at_best'], 2)} at epoch {best} and "
            f"{percent(c['val_accuracy_last'], 2)} at epoch {last} ({c['n_fixed']:,} images wrong then right, "
            f"{c['n_broken']:,} right then wrong)"
            if best < last
            else f"validation accuracy {percent(c['val_accuracy_last'], 2)}"
        )
        return (
            f"{name}training loss {float(h['train_loss'][0]):.3f} to {float(h['train_loss'][-1]):.4f} nats, training "
            f"accuracy {percent(float(h['train_accuracy'][-1]))} at the end; {loss}; {accuracy}."
        )

    drawn = "the mean over the seeds as a line and their range as a band" if n > 1 else "one run"
    alt = (
        f"Two line charts over {first['epochs']} epochs for the {label}, validated on {first['n_validation']:,} "
        f"images, showing {drawn}: cross-entropy loss on the left, accuracy on the right, training solid and "
        f"validation dashed; dotted vertical lines mark each seed's epoch of lowest validation loss. "
        + " ".join(seed_text(run, c) for run, c in zip(runs, comparisons, strict=True))
    )
    per_seed = [
        {"seed": seed, **{k: v for k, v in c.items() if k != "transitions"}, **verdict}
        for seed, c, verdict in zip(seeds, comparisons, classified["runs"], strict=True)
    ]
    return {
        "title": title,
        "alt": alt,
        "notice": notice(classified["outcome"], comparisons, classified["counts"], rules),
        "model": first["model"],
        "label": label,
        "seeds": seeds,
        "n_seeds": n,
        "n_train": first["n_train"],
        "n_validation": first["n_validation"],
        "epochs": first["epochs"],
        "best_epochs": [c["best_epoch"] for c in comparisons],
        "outcome": classified["outcome"],
        "counts": classified["counts"],
        "runs": per_seed,
        "thresholds": {"min_loss_rise_percent": rules.min_loss_rise_percent,
                       "min_accuracy_rise_points": rules.min_accuracy_rise_points,
                       "significance_level": rules.significance_level},
    }  # fmt: skip


def stacked(runs: Sequence[Mapping[str, Any]], column: str) -> np.ndarray:
    """One history column of every run as a (seeds, epochs) array."""
    return np.stack([np.asarray(run["history"][column], dtype=np.float64) for run in runs])


def plot_curves(runs: Sequence[Mapping[str, Any]], title: str) -> Figure:
    """Loss panel and accuracy panel, the mean line and the seeds' range for training and validation.

    Why one shared legend below: inside either panel it would cover the curves' ends, where the story is.
    """
    epochs = runs[0]["epochs"]
    x = runs[0]["history"]["epoch"]
    fig = new_figure(3.2 if panel_grid(2)[0] == 1 else 5.6)
    ax_loss, ax_acc = fig.subplots(*panel_grid(2)).ravel()
    bests = sorted({run["best_epoch"] for run in runs})
    for ax, column, scale in ((ax_loss, "loss", 1.0), (ax_acc, "accuracy", 100.0)):
        for offset, (prefix, label, color, style, marker) in enumerate(SERIES):
            values = scale * stacked(runs, f"{prefix}_{column}")
            if len(runs) > 1:
                ax.fill_between(x, values.min(axis=0), values.max(axis=0), color=color, alpha=BAND_ALPHA, linewidth=0)
            ax.plot(x, values.mean(axis=0), color=color, linestyle=style, marker=marker, markersize=3.5,
                    markevery=markevery(epochs, offset), label=label)  # fmt: skip
        for epoch in bests:
            ax.axvline(epoch, zorder=1.5, **BEST_EPOCH_STYLE)
        epoch_axis(ax, epochs)
    ax_loss.set_ylim(bottom=0)
    ax_loss.set_ylabel("cross-entropy loss (nats)")
    ax_loss.set_title("loss", fontsize=9)
    ax_acc.set_ylabel("accuracy (%)")
    ax_acc.set_title("accuracy", fontsize=9)
    n = len(runs)
    marker_label = (
        f"lowest validation loss (epoch {bests[0]})"
        if n == 1
        else f"each seed's lowest validation loss (epoch{'s' if len(bests) > 1 else ''} "
        f"{', '.join(str(b) for b in bests)})"
    )
    handles = [
        Line2D([], [], color=PALETTE[0], linestyle="-", marker="o", markersize=3.5),
        Line2D([], [], color=PALETTE[1], linestyle="--", marker="s", markersize=3.5),
        Line2D([], [], **BEST_EPOCH_STYLE),
    ]
    labels = [
        "training" + (f" (mean of {n} seeds, band: range)" if n > 1 else ""),
        "validation" + (f" (mean of {n} seeds, band: range)" if n > 1 else ""),
        marker_label,
    ]
    fig.legend(handles, labels, loc="outside lower center", ncols=1 if panel_grid(2)[0] > 1 or n > 1 else 3)
    set_title(fig, title)
    return fig


def read_history(path: Path) -> dict[str, Any]:
    """``history.json`` checked, with the columns the paired comparison reads."""
    return read_model_history(path, COLUMNS)


#: The thresholds of the paired test and the loss rise, from the config (``overfitting.*``).
OPTIONS = (
    Option("min_loss_rise_percent", float, "smallest rise of the validation loss that counts, in %% "
           "(config: overfitting.min_loss_rise_percent)"),
    Option("min_accuracy_rise_points", float, "smallest accuracy rise that counts, in points "
           "(config: overfitting.min_accuracy_rise_points)"),
    Option("significance_level", float, "level of the exact McNemar test (config: overfitting.significance_level)"),
)  # fmt: skip


def main(argv: Sequence[str] | None = None) -> None:
    """Read every seed's history and diagnostics and write the figure and its sidecar."""

    def describe_data(data: Data, args: argparse.Namespace) -> dict[str, Any]:
        return describe(data["history"], data["diagnostics"], rules_of(args))

    figure_main(
        argv,
        __doc__,
        inputs=[
            Input("history", "history.json written by models/train.py, one per seed", read_history, many=True),
            Input("diagnostics", "diagnostics.npz of the same runs, in the same order", read_diagnostics, many=True),
        ],
        options=OPTIONS,
        check=lambda d, a: (rules_of(a), check_runs(d["history"], d["diagnostics"], a)),
        describe=describe_data,
        draw=lambda d, info, a: plot_curves(d["history"], info["title"]),
    )


if __name__ == "__main__":
    sys.exit(run_cli(main))
