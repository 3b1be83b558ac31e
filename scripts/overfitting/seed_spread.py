"""Run-to-run spread: the same model trained with several seeds, summarised side by side.

One training run is one draw: its initial weights, shuffling and dropout come from a seed. Listing several
seeds in ``models.<model>.seeds`` trains that model once per seed; this script reads every run's
``history.json``, ``metrics.json`` and ``diagnostics.npz`` and writes, per model, one row per seed and the spread
of each number over the seeds (mean, sample standard deviation, minimum, maximum). A row holds the test accuracy,
the epoch of lowest validation loss (e*), how far validation loss and accuracy moved from e* to the last epoch,
the paired test of that accuracy change on the same validation images (``n_fixed`` wrong at e* and right at the
end, ``n_broken`` the reverse, the exact McNemar p-value; ``overfitting/paired.py``), the share of the loss's rise
that each epoch's own temperature removes, and the test images' calibration error before and after the
validation-fitted temperature. With one seed the file still lists that run, and the spread is empty.

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
from models.modelio import read_diagnostics, read_model_history, read_model_metrics
from overfitting.paired import COLUMNS, check_same_run, compare_epochs

#: The numbers compared across seeds, in table order; each is computed by ``run_row`` (a number some run lacks,
#: such as the share removed when the loss did not rise, gets no spread).
SPREAD_KEYS: tuple[str, ...] = (
    "test_accuracy",
    "best_epoch",
    "val_loss_best",
    "val_loss_last",
    "val_loss_rise_percent",
    "val_accuracy_change_points",
    "n_fixed",
    "n_broken",
    "mcnemar_p",
    "removed_percent",
    "test_ece_last",
    "test_ece_last_temperature_scaled",
)

#: What each run's metrics.json must hold (a file from before the held-out calibration check lacks the last two).
METRICS_NUMBERS: tuple[str, ...] = ("test_accuracy", "test_ece_last", "test_ece_last_temperature_scaled")

RUN_PATTERN = re.compile(r"^(?P<model>[A-Za-z0-9_-]+)=(?P<seed>\d+)=(?P<folder>.+)$")


def parse_run(text: str) -> tuple[str, int, Path]:
    """``MODEL=SEED=FOLDER`` -> its parts; a malformed value names the flag and the expected form."""
    match = RUN_PATTERN.match(text)
    if not match:
        raise PipelineError(f"--run {text!r}: expected MODEL=SEED=FOLDER, e.g. cnn=1=results/models/cnn/seed-1")
    return match["model"], int(match["seed"]), Path(match["folder"])


def run_row(seed: int, folder: Path) -> dict[str, Any]:
    """One run's numbers, from its history (the validation curve), diagnostics (the paired test) and metrics.

    Why the change after the best epoch: it is the overfitting puzzle's size, the number whose spread tells a
    reader whether one run's puzzle is typical or luck; the paired test says whether its accuracy change is more
    than the chance flips of borderline images.
    """
    # --run names a folder, not files, so argparse cannot check them: check each file as input_file would.
    history_path = input_file(str(folder / "history.json"))
    diagnostics_path = input_file(str(folder / "diagnostics.npz"))
    history = read_model_history(history_path, COLUMNS)
    metrics = read_model_metrics(input_file(str(folder / "metrics.json")))
    diagnostics = read_diagnostics(diagnostics_path)
    run_seed = history["settings"].get("seed")
    if run_seed is not None and run_seed != seed:
        raise PipelineError(
            f"{folder / 'history.json'}: trained with seed {run_seed}, but --run names seed {seed}; "
            "rerun the train step for this seed"
        )
    for key in METRICS_NUMBERS:
        value = metrics.get(key)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise PipelineError(
                f"{folder / 'metrics.json'}: key {key!r} is {value!r}, expected a finite number; rerun the train step"
            )
    check_same_run(history, diagnostics, history_path, diagnostics_path)
    c = compare_epochs(history, diagnostics)
    return {
        "seed": seed,
        "epochs": history["epochs"],
        "test_accuracy": float(metrics["test_accuracy"]),
        "best_epoch": c["best_epoch"],
        "val_loss_best": c["val_loss_min"],
        "val_loss_last": c["val_loss_last"],
        "val_loss_rise_percent": c["val_loss_rise_percent"],
        "val_accuracy_at_best": c["val_accuracy_at_best"],
        "val_accuracy_last": c["val_accuracy_last"],
        "val_accuracy_change_points": c["val_accuracy_change_points"],
        "n_fixed": c["n_fixed"],
        "n_broken": c["n_broken"],
        "mcnemar_p": c["mcnemar_p"],
        "removed_percent": c["removed_percent"],
        "test_ece_last": float(metrics["test_ece_last"]),
        "test_ece_last_temperature_scaled": float(metrics["test_ece_last_temperature_scaled"]),
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
        complete = [key for key in SPREAD_KEYS if all(row[key] is not None for row in rows)]
        entry["spread"] = {key: spread([row[key] for row in rows]) for key in complete} if len(rows) > 1 else {}
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
    values = [v for e in summary["models"].values() for r in e["runs"] for v in r.values() if v is not None]
    if any(not math.isfinite(v) for v in values):
        raise PipelineError("a run's numbers are not finite; rerun the train step")
    write_json(args.output, rounded(summary))


if __name__ == "__main__":
    sys.exit(run_cli(main))
