"""Run-to-run spread: the same model trained with several seeds, summarised side by side.

One training run is one draw: its initial weights, shuffling and dropout come from a seed. Listing several
seeds in ``models.seeds`` trains each model once per seed; this script reads every run's ``history.json`` and
``metrics.json`` and writes, per model, one row per seed (test accuracy, the epoch of lowest validation loss,
how far validation loss and accuracy moved after it) and the spread of each number over the seeds (mean,
sample standard deviation, minimum, maximum). With one seed the file still lists that run, and the spread is
empty, so the page can say how to get one.

    PYTHONPATH=scripts python scripts/overfitting/seed_spread.py \\
        --run cnn=1=results/models/cnn/seed-1 --run overfit=1=results/models/overfit/seed-1 \\
        --output results/overfitting/seeds.json
"""

from __future__ import annotations

import argparse
import math
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from kit.cli import ArgumentParser, PipelineError, input_file, run_cli
from kit.io import rounded, write_json
from models.modelio import read_model_history, read_model_metrics

#: The numbers compared across seeds, in table order; each is computed by ``run_row``.
SPREAD_KEYS: tuple[str, ...] = (
    "test_accuracy",
    "best_epoch",
    "val_loss_best",
    "val_loss_last",
    "val_loss_rise_percent",
    "val_accuracy_rise_points",
)

RUN_PATTERN = re.compile(r"^(?P<model>[A-Za-z0-9_-]+)=(?P<seed>\d+)=(?P<folder>.+)$")


def parse_run(text: str) -> tuple[str, int, Path]:
    """``MODEL=SEED=FOLDER`` -> its parts; a malformed value names the flag and the expected form."""
    match = RUN_PATTERN.match(text)
    if not match:
        raise PipelineError(f"--run {text!r}: expected MODEL=SEED=FOLDER, e.g. cnn=1=results/models/cnn/seed-1")
    return match["model"], int(match["seed"]), Path(match["folder"])


def run_row(seed: int, folder: Path) -> dict[str, Any]:
    """One run's numbers, from its history (the validation curve) and metrics (the test set).

    Why the rise after the best epoch: it is the overfitting puzzle's size, the number whose spread tells a
    reader whether one run's puzzle is typical or luck.
    """
    # --run names a folder, not files, so argparse cannot check them: check each file as input_file would.
    history = read_model_history(input_file(str(folder / "history.json")))
    metrics = read_model_metrics(input_file(str(folder / "metrics.json")))
    run_seed = history["settings"].get("seed")
    if run_seed is not None and run_seed != seed:
        raise PipelineError(
            f"{folder / 'history.json'}: trained with seed {run_seed}, but --run names seed {seed}; "
            "rerun the train step for this seed"
        )
    columns = history["history"]
    best = history["best_epoch"]
    loss, accuracy = columns["val_loss"], columns["val_accuracy"]
    return {
        "seed": seed,
        "epochs": history["epochs"],
        "test_accuracy": float(metrics["test_accuracy"]),
        "best_epoch": best,
        "val_loss_best": float(loss[best - 1]),
        "val_loss_last": float(loss[-1]),
        "val_loss_rise_percent": float(100 * (loss[-1] / loss[best - 1] - 1)),
        "val_accuracy_rise_points": float(100 * (accuracy[-1] - accuracy[best - 1])),
    }


def spread(values: Sequence[float]) -> dict[str, float | None]:
    """Mean, sample standard deviation (None for one value), minimum and maximum of one number over seeds."""
    array = np.asarray(values, dtype=np.float64)
    return {
        "mean": float(array.mean()),
        "std": float(array.std(ddof=1)) if array.size > 1 else None,
        "min": float(array.min()),
        "max": float(array.max()),
    }


def summarise(runs: Sequence[tuple[str, int, Path]]) -> dict[str, Any]:
    """Rows per model in seed order, and the spread of each number when a model has two or more seeds."""
    models: dict[str, dict[str, Any]] = {}
    for model, seed, folder in runs:
        entry = models.setdefault(model, {"runs": []})
        if any(row["seed"] == seed for row in entry["runs"]):
            raise PipelineError(f"--run names model {model!r} with seed {seed} twice; give each seed once")
        entry["runs"].append(run_row(seed, folder))
    for entry in models.values():
        entry["runs"].sort(key=lambda row: row["seed"])
        rows = entry["runs"]
        entry["seeds"] = [row["seed"] for row in rows]
        entry["spread"] = {key: spread([row[key] for row in rows]) for key in SPREAD_KEYS} if len(rows) > 1 else {}
    n_seeds = max(len(entry["runs"]) for entry in models.values())
    return {"models": models, "n_seeds": n_seeds, "keys": list(SPREAD_KEYS)}


def build_parser() -> ArgumentParser:
    """The flags: one ``--run`` per training run, and the summary to write."""
    parser = ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", action="append", required=True, metavar="MODEL=SEED=FOLDER",
                        help="a training run's output folder (repeat for every model and seed)")  # fmt: skip
    parser.add_argument("--output", type=Path, required=True, help="the JSON summary to write")
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    """Parse the flags, read every run and write the per-model rows and spreads."""
    args = build_parser().parse_args(argv)
    summary = summarise([parse_run(text) for text in args.run])
    for name, entry in summary["models"].items():
        accuracies = ", ".join(f"seed {r['seed']}: {100 * r['test_accuracy']:.2f} %" for r in entry["runs"])
        print(f"{name}: {accuracies}")
    if any(not math.isfinite(v) for e in summary["models"].values() for r in e["runs"] for v in r.values()):
        raise PipelineError("a run's numbers are not finite; rerun the train step")
    write_json(args.output, rounded(summary))


if __name__ == "__main__":
    sys.exit(run_cli(main))
