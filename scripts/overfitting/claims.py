"""Check the overfitting puzzle and its explanation against one training run, and write one verdict per claim.

The thread (seed-threads.txt, the overfitting puzzle) shows "The training loss going down, the validation loss
going up." and asks "why is that validation accuracy is going up if the validation loss is getting worse". The
explanation the explainer gives (SOURCES.md section 4; Guo et al. 2017, Mukhoti et al. 2020) says the rise comes
from examples that are already wrong getting more confidently wrong, and that one temperature, which changes no
prediction, removes most of it. All five statements are checked on the run's ``history.json`` between the epoch
with the lowest validation loss (``e*``) and the last epoch (``E``); ``metrics.json`` adds the held-out test
numbers. A run that does not show the puzzle is reported as such (``puzzle_shown`` false), never an error.

Usage::

    PYTHONPATH=scripts python scripts/overfitting/claims.py --history results/models/overfit/seed-1/history.json \\
        --metrics results/models/overfit/seed-1/metrics.json --min-loss-rise-percent 5 \\
        --min-accuracy-rise-points 0.2 --min-wrong-share-of-rise 0.5 --min-removed-percent 50 \\
        --output results/overfitting/claims.json
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from kit.cli import ArgumentParser, PipelineError, input_file, run_cli
from kit.io import read_json, rounded, write_json
from models.calibration import DIAGNOSTIC_KEYS
from models.modelio import COUNT_COLUMNS, check_history

QUOTE_LOSSES = "The training loss going down, the validation loss going up."
QUOTE_ACCURACY = (
    "The training accuracy is high, which is fine, but why is that validation accuracy is going up if the "
    "validation loss is getting worse, shouldn't it go down too?"
)

#: The per-epoch lists of ``history.json`` (spec: every list has one value per epoch).
HISTORY_LISTS: tuple[str, ...] = ("epoch", "train_loss", "train_accuracy", *DIAGNOSTIC_KEYS)

#: What ``metrics.json`` must hold for the held-out check and to show it belongs to the same run.
METRICS_NUMBERS: tuple[str, ...] = (
    "best_epoch",
    "epochs",
    "val_loss_last",
    "temperature",
    "val_loss_last_temperature_scaled",
    "test_accuracy",
    "test_loss",
    "test_loss_temperature_scaled",
    "ece_last_temperature_scaled",
)

#: Relative difference allowed between the last validation loss in the two files of one run (models/train.py copies
#: it from the history into metrics.json; the slack only forgives a file re-serialised with fewer digits).
SAME_RUN_RTOL = 1e-5

#: The claims that make up the puzzle itself; it is shown when all three are supported.
PUZZLE_CLAIMS: tuple[str, ...] = ("train_loss_fell", "val_loss_rose", "val_accuracy_rose")

SUPPORTED, NOT_SUPPORTED = "supported", "not supported"


@dataclass(frozen=True)
class Thresholds:
    """How large each effect must be to count; command-line flags, written to the output with the verdicts.

    No defaults here: the values come from the config (``overfitting.*``), whose schema is the one place they live.
    """

    min_loss_rise_percent: float
    min_accuracy_rise_points: float
    min_wrong_share_of_rise: float
    min_removed_percent: float


@dataclass(frozen=True)
class Run:
    """A validated ``history.json``: per-epoch lists by key, and the epochs the claims compare."""

    model: str | None
    n_validation: int
    best_epoch: int
    last_epoch: int
    series: dict[str, list]

    def at(self, key: str, epoch: int) -> float | None:
        """Value of ``key`` at a 1-based epoch."""
        return self.series[key][epoch - 1]


# --------------------------------------------------------------------------------------------------------
# Reading and checking the inputs
# --------------------------------------------------------------------------------------------------------


def is_number(value: object) -> bool:
    """True for a finite int or float (JSON's NaN and Infinity, which Python reads, are refused)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def parse_history(document: object, path: str | os.PathLike[str]) -> Run:
    """Check a ``history.json`` document with the figures' checks (``modelio.check_history``) as a ``Run``.

    Why so strict: every verdict is read off these lists, so a missing key, a list one epoch short or a NaN
    must stop the step with a message that names the file and the key, not produce a wrong verdict.
    """
    checked = check_history(document, path, HISTORY_LISTS)
    series = {
        key: [None if math.isnan(v) else (int(v) if key in COUNT_COLUMNS else float(v)) for v in values.tolist()]
        for key, values in checked["history"].items()
    }
    return Run(checked["model"], checked["n_validation"], checked["best_epoch"], checked["epochs"], series)


def parse_metrics(
    document: object, path: str | os.PathLike[str], run: Run, history_path: str | os.PathLike[str]
) -> dict:
    """Validate ``metrics.json`` and check that it comes from the same run as the history."""
    if not isinstance(document, dict):
        raise PipelineError(f"{path}: expected a JSON object written by models/train.py")
    for key in METRICS_NUMBERS:
        if not is_number(document.get(key)):
            raise PipelineError(
                f"{path}: key {key!r} is {document.get(key)!r}, expected a finite number; rerun the training step"
            )
    same = (
        document["best_epoch"] == run.best_epoch
        and document["epochs"] == run.last_epoch
        and (document.get("model") is None or run.model is None or document["model"] == run.model)
        and math.isclose(document["val_loss_last"], run.at("val_loss", run.last_epoch), rel_tol=SAME_RUN_RTOL)
    )
    if not same:
        raise PipelineError(
            f"{path} and {history_path} come from different training runs (model, epochs, best_epoch or "
            "val_loss_last differ); rerun the training step"
        )
    return document


# --------------------------------------------------------------------------------------------------------
# Numbers
# --------------------------------------------------------------------------------------------------------


def ratio(numerator: float, denominator: float, scale: float = 1.0) -> float | None:
    """``scale * numerator / denominator``, or None when the denominator is not positive (nothing to divide)."""
    return scale * numerator / denominator if denominator > 0 else None


def compute_numbers(run: Run, metrics: dict) -> dict:
    """Every number the claims and the prose use, computed between the best epoch ``e*`` and the last ``E``.

    ``val_loss_rise_percent`` x = 100 (last / min - 1); ``val_accuracy_rise_points`` y = 100 (acc[E] - acc[e*]);
    ``wrong_share_of_rise`` = change of the wrong part / change of the loss from e* to E;
    ``removed_percent`` z = 100 (loss[E] - scaled loss[E]) / (loss[E] - loss[e*]). Ratios without a rise are None.
    """
    best, last = run.best_epoch, run.last_epoch
    loss_min, loss_last = run.at("val_loss", best), run.at("val_loss", last)
    rise = loss_last - loss_min
    after = run.series["val_accuracy"][best:]
    scaled_last = run.at("val_loss_temperature_scaled", last)
    numbers = {
        "train_loss_first": run.at("train_loss", 1),
        "train_loss_last": run.at("train_loss", last),
        "train_accuracy_first": run.at("train_accuracy", 1),
        "train_accuracy_last": run.at("train_accuracy", last),
        "val_loss_first": run.at("val_loss", 1),
        "val_loss_min": loss_min,
        "val_loss_last": loss_last,
        "val_loss_rise": rise,
        "val_loss_rise_percent": ratio(rise, loss_min, scale=100.0),
        "val_accuracy_at_best": run.at("val_accuracy", best),
        "val_accuracy_last": run.at("val_accuracy", last),
        "val_accuracy_max_after_best": max(after) if after else None,
        "val_accuracy_rise_points": 100.0 * (run.at("val_accuracy", last) - run.at("val_accuracy", best)),
        "n_validation": run.n_validation,
        "n_wrong_at_best": run.at("val_n_wrong", best),
        "n_wrong_last": run.at("val_n_wrong", last),
        "wrong_fraction_at_best": run.at("val_n_wrong", best) / run.n_validation,
        "wrong_fraction_last": run.at("val_n_wrong", last) / run.n_validation,
        "val_loss_correct_part_at_best": run.at("val_loss_correct_part", best),
        "val_loss_correct_part_last": run.at("val_loss_correct_part", last),
        "val_loss_wrong_part_at_best": run.at("val_loss_wrong_part", best),
        "val_loss_wrong_part_last": run.at("val_loss_wrong_part", last),
        "val_loss_wrong_mean_at_best": run.at("val_loss_wrong_mean", best),
        "val_loss_wrong_mean_last": run.at("val_loss_wrong_mean", last),
        "wrong_share_of_rise": ratio(run.at("val_loss_wrong_part", last) - run.at("val_loss_wrong_part", best), rise),
        "wrong_share_of_loss_at_best": run.at("val_loss_wrong_share", best),
        "wrong_share_of_loss_last": run.at("val_loss_wrong_share", last),
        "confidence_wrong_at_best": run.at("val_confidence_wrong_mean", best),
        "confidence_wrong_last": run.at("val_confidence_wrong_mean", last),
        "confidence_correct_at_best": run.at("val_confidence_correct_mean", best),
        "confidence_correct_last": run.at("val_confidence_correct_mean", last),
        "temperature_best": run.at("temperature", best),
        "temperature_last": run.at("temperature", last),
        "val_loss_last_temperature_scaled": scaled_last,
        "removed_percent": ratio(loss_last - scaled_last, rise, scale=100.0),
        "ece_best": run.at("val_ece", best),
        "ece_last": run.at("val_ece", last),
        "ece_last_temperature_scaled": metrics["ece_last_temperature_scaled"],
        "test_accuracy": metrics["test_accuracy"],
        "test_loss": metrics["test_loss"],
        "test_loss_temperature_scaled": metrics["test_loss_temperature_scaled"],
    }
    return rounded(numbers)


# --------------------------------------------------------------------------------------------------------
# Verdicts
# --------------------------------------------------------------------------------------------------------


def show(value: float | None, spec: str = ".4g") -> str:
    """Format a number for a ``measured`` sentence; a missing value reads "n/a"."""
    return "n/a" if value is None else format(value, spec)


def verdict(ok: bool) -> str:
    """The verdict string for a test that passed or failed."""
    return SUPPORTED if ok else NOT_SUPPORTED


def claim_train_loss_fell(n: dict, e: int) -> dict:
    """Thread: the training loss goes down (last epoch below the first)."""
    return {
        "id": "train_loss_fell",
        "claim": "The training loss going down",
        "source": "thread",
        "quote": QUOTE_LOSSES,
        "rule": "Supported when the training loss of the last epoch is below that of epoch 1.",
        "measured": (
            f"training loss {show(n['train_loss_first'])} at epoch 1 -> {show(n['train_loss_last'])} at epoch {e}"
        ),
        "verdict": verdict(n["train_loss_last"] < n["train_loss_first"]),
        "values": {key: n[key] for key in ("train_loss_first", "train_loss_last")},
    }


def claim_val_loss_rose(n: dict, best: int, last: int, t: Thresholds) -> dict:
    """Thread: the validation loss goes up (after its lowest point, by at least the threshold)."""
    x = n["val_loss_rise_percent"]
    if best == last:
        measured = f"the lowest validation loss ({show(n['val_loss_min'])}) is at the last epoch, {last}: it never rose"
    elif x is None:
        measured = f"the lowest validation loss is 0 (epoch {best}), so a rise in percent is undefined"
    else:
        measured = (
            f"validation loss {show(n['val_loss_min'])} at epoch {best} (lowest) -> {show(n['val_loss_last'])} "
            f"at epoch {last}: {x:+.2f} %"
        )
    return {
        "id": "val_loss_rose",
        "claim": "the validation loss going up",
        "source": "thread",
        "quote": QUOTE_LOSSES,
        "rule": (
            "Supported when the lowest validation loss comes before the last epoch and the last epoch's loss is at "
            f"least {t.min_loss_rise_percent:g} % above it."
        ),
        "measured": measured,
        "verdict": verdict(best < last and x is not None and x >= t.min_loss_rise_percent),
        "values": {key: n[key] for key in ("val_loss_min", "val_loss_last", "val_loss_rise", "val_loss_rise_percent")},
    }


def claim_val_accuracy_rose(n: dict, best: int, last: int, t: Thresholds) -> dict:
    """Thread: validation accuracy goes up while the validation loss gets worse (from e* to E)."""
    y = n["val_accuracy_rise_points"]
    if best == last:
        measured = (
            f"no epochs after the lowest validation loss (epoch {best}), so no period in which the loss got worse"
        )
    else:
        measured = (
            f"validation accuracy {100 * n['val_accuracy_at_best']:.2f} % at epoch {best} -> "
            f"{100 * n['val_accuracy_last']:.2f} % at epoch {last}: {y:+.2f} points "
            f"(highest after epoch {best}: {100 * n['val_accuracy_max_after_best']:.2f} %)"
        )
    return {
        "id": "val_accuracy_rose",
        "claim": "validation accuracy is going up if the validation loss is getting worse",
        "source": "thread",
        "quote": QUOTE_ACCURACY,
        "rule": (
            "Supported when there are epochs after the lowest validation loss and validation accuracy at the last "
            f"epoch is at least {t.min_accuracy_rise_points:g} percentage points above its value at that epoch."
        ),
        "measured": measured,
        "verdict": verdict(best < last and y >= t.min_accuracy_rise_points),
        "values": {
            key: n[key]
            for key in (
                "val_accuracy_at_best",
                "val_accuracy_last",
                "val_accuracy_max_after_best",
                "val_accuracy_rise_points",
            )
        },
    }


def claim_rise_from_wrong(n: dict, best: int, last: int, t: Thresholds) -> dict:
    """Explanation: the rise comes from the wrongly classified examples (their part of the loss grows)."""
    share = n["wrong_share_of_rise"]
    if share is None:
        measured = f"the validation loss did not rise after its lowest point (epoch {best}): there is no rise to split"
    else:
        wrong = n["val_loss_wrong_part_last"] - n["val_loss_wrong_part_at_best"]
        right = n["val_loss_correct_part_last"] - n["val_loss_correct_part_at_best"]
        measured = (
            f"of the {show(n['val_loss_rise'])} rise in validation loss from epoch {best} to {last}, wrongly "
            f"classified examples add {show(wrong)} ({100 * share:.1f} %) and correctly classified ones "
            f"{show(right)}; mean confidence of wrong predictions {show(n['confidence_wrong_at_best'], '.3f')} -> "
            f"{show(n['confidence_wrong_last'], '.3f')}"
        )
    keys = (
        "val_loss_rise",
        "val_loss_wrong_part_at_best",
        "val_loss_wrong_part_last",
        "val_loss_correct_part_at_best",
        "val_loss_correct_part_last",
        "wrong_share_of_rise",
        "confidence_wrong_at_best",
        "confidence_wrong_last",
        "n_wrong_at_best",
        "n_wrong_last",
    )
    return {
        "id": "rise_from_wrong",
        "claim": (
            "The rise in validation loss comes from examples that are already wrong becoming more confidently wrong."
        ),
        "source": "explanation",
        "quote": None,
        "rule": (
            "The validation loss is split into the parts from wrongly and correctly classified examples (each "
            "group's loss sum over all examples; they add up to the loss). Supported when the wrong part's change "
            f"from the lowest-loss epoch to the last is at least {t.min_wrong_share_of_rise:g} of the loss's rise; "
            "not supported when the loss did not rise."
        ),
        "measured": measured,
        "verdict": verdict(share is not None and share >= t.min_wrong_share_of_rise),
        "values": {key: n[key] for key in keys},
    }


def claim_temperature_removes_rise(n: dict, best: int, last: int, t: Thresholds) -> dict:
    """Explanation: the rise is over-confidence, so one temperature (same predictions) removes most of it."""
    z = n["removed_percent"]
    if z is None:
        measured = f"the validation loss did not rise after its lowest point (epoch {best}): there is no rise to remove"
    else:
        measured = (
            f"temperature T = {show(n['temperature_last'])} lowers the last epoch's validation loss from "
            f"{show(n['val_loss_last'])} to {show(n['val_loss_last_temperature_scaled'])}, removing {z:.1f} % of its "
            f"{show(n['val_loss_rise'])} rise above the lowest loss (held-out test loss {show(n['test_loss'])} -> "
            f"{show(n['test_loss_temperature_scaled'])} with the same T)"
        )
    keys = (
        "val_loss_min",
        "val_loss_last",
        "val_loss_last_temperature_scaled",
        "temperature_last",
        "removed_percent",
        "ece_last",
        "ece_last_temperature_scaled",
        "test_loss",
        "test_loss_temperature_scaled",
    )
    return {
        "id": "temperature_removes_rise",
        "claim": (
            "The rise is over-confidence rather than lost discrimination: dividing the last epoch's logits by one "
            "fitted temperature, which changes no prediction, removes most of it."
        ),
        "source": "explanation",
        "quote": None,
        "rule": (
            "Supported when the temperature-scaled validation loss of the last epoch removes at least "
            f"{t.min_removed_percent:g} % of the rise from the lowest validation loss to the last epoch's loss; "
            "not supported when the loss did not rise."
        ),
        "measured": measured,
        "verdict": verdict(z is not None and z >= t.min_removed_percent),
        "values": {key: n[key] for key in keys},
    }


def check_claims(run: Run, metrics: dict, thresholds: Thresholds) -> dict:
    """Build the whole claims document: the numbers, one verdict per claim, and whether the puzzle is shown."""
    numbers = compute_numbers(run, metrics)
    best, last = run.best_epoch, run.last_epoch
    claims = [
        claim_train_loss_fell(numbers, last),
        claim_val_loss_rose(numbers, best, last, thresholds),
        claim_val_accuracy_rose(numbers, best, last, thresholds),
        claim_rise_from_wrong(numbers, best, last, thresholds),
        claim_temperature_removes_rise(numbers, best, last, thresholds),
    ]
    verdicts = {claim["id"]: claim["verdict"] for claim in claims}
    return {
        "model": run.model,
        "best_epoch": best,
        "last_epoch": last,
        "puzzle_shown": all(verdicts[key] == SUPPORTED for key in PUZZLE_CLAIMS),
        "puzzle_claims": list(PUZZLE_CLAIMS),
        "numbers": numbers,
        "claims": claims,
        "thresholds": asdict(thresholds),
        "summary": {"supported": sum(v == SUPPORTED for v in verdicts.values()), "total": len(claims)},
    }


# --------------------------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------------------------


def parse_thresholds(args: argparse.Namespace) -> Thresholds:
    """Read the threshold flags, refusing values that would make a verdict meaningless."""
    thresholds = Thresholds(
        min_loss_rise_percent=args.min_loss_rise_percent,
        min_accuracy_rise_points=args.min_accuracy_rise_points,
        min_wrong_share_of_rise=args.min_wrong_share_of_rise,
        min_removed_percent=args.min_removed_percent,
    )
    for name, value in asdict(thresholds).items():
        if not (math.isfinite(value) and value >= 0):
            raise PipelineError(f"--{name.replace('_', '-')} must be a finite number >= 0, got {value}")
    if thresholds.min_wrong_share_of_rise > 1:
        raise PipelineError(
            f"--min-wrong-share-of-rise is a fraction of the rise in [0, 1], got {thresholds.min_wrong_share_of_rise}"
        )
    return thresholds


def build_parser() -> ArgumentParser:
    """The flags: the run's two files, the verdicts to write, and the four thresholds (from the config)."""
    parser = ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--history", type=input_file, required=True, help="history.json written by models/train.py")
    parser.add_argument(
        "--metrics", type=input_file, required=True, help="metrics.json written by models/train.py for the same run"
    )
    parser.add_argument("--output", type=Path, required=True, help="where to write the verdicts (claims.json)")
    parser.add_argument(
        "--min-loss-rise-percent",
        type=float,
        required=True,
        help="smallest rise of the last validation loss above its lowest value, in %% "
        "(config: overfitting.min_loss_rise_percent)",
    )
    parser.add_argument(
        "--min-accuracy-rise-points",
        type=float,
        required=True,
        help="smallest rise of validation accuracy after the lowest loss, in percentage points "
        "(config: overfitting.min_accuracy_rise_points)",
    )
    parser.add_argument(
        "--min-wrong-share-of-rise",
        type=float,
        required=True,
        help="smallest fraction of the loss rise that must come from wrong predictions "
        "(config: overfitting.min_wrong_share_of_rise)",
    )
    parser.add_argument(
        "--min-removed-percent",
        type=float,
        required=True,
        help="smallest share of the loss rise, in %%, that temperature scaling must remove "
        "(config: overfitting.min_removed_percent)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    """Parse the flags, check every claim and write the verdicts."""
    args = build_parser().parse_args(argv)
    thresholds = parse_thresholds(args)

    run = parse_history(read_json(args.history), args.history)
    metrics = parse_metrics(read_json(args.metrics), args.metrics, run, args.history)
    result = check_claims(run, metrics, thresholds)
    write_json(args.output, result)
    for claim in result["claims"]:
        print(f"{claim['verdict']:>13}: {claim['claim']} (measured: {claim['measured']})")
    shown = "shows" if result["puzzle_shown"] else "does not show"
    print(
        f"{result['summary']['supported']} of {result['summary']['total']} claims supported; the run {shown} the puzzle"
    )


if __name__ == "__main__":
    sys.exit(run_cli(main))
