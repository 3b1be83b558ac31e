"""The overfitting puzzle's statistics: one run's lowest-loss epoch against its last epoch, on the same images.

The puzzle says: after the epoch with the lowest validation loss (``e*``) the loss rises, yet validation accuracy
goes up. Both are measured on the same validation images at ``e*`` and at the last epoch ``E``, so the accuracy
change is a *paired* comparison: each image is right or wrong at both epochs, and only the images that flip carry
information. ``b`` images are wrong at ``e*`` and right at ``E``, ``c`` the reverse; the accuracy change is
``(b - c) / N`` exactly. The exact McNemar test asks whether ``b`` and ``c`` differ by more than chance: under
"no change" each of the ``n = b + c`` flips goes either way with probability 1/2, so the two-sided p-value is
``min(1, 2 P(X <= min(b, c)))`` with ``X ~ Binomial(n, 1/2)`` (McNemar 1947; the exact form as in Fagerland, Lydersen
and Laake 2013). Computed with whole numbers, so it is exact for any ``n``.

A run's outcome combines the loss and the test: the loss *rose* when the last epoch's loss is at least
``min_loss_rise_percent`` above the minimum and a one-sided paired test on the same images' losses
(``paired_rise_p``) calls the rise significant at ``significance_level``; accuracy went *up* when the McNemar
test is significant at ``significance_level``, ``b > c`` and the change is at least ``min_accuracy_rise_points``;
*down* when it is significant with ``c > b``; otherwise accuracy is *flat* (no significant change) or went up
*by less than the threshold* (significant, but small). The claims check, the seed spread and the learning-curve
figure all call these functions, so the page, its figures and its claims table classify every run the same way.

Numpy only (no torch, no matplotlib).
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np

from kit.cli import PipelineError
from kit.io import round_significant
from models.calibration import confidences, per_example_loss
from models.modelio import RERUN

#: Accuracy between e* and E: significantly up (by at least the threshold), significantly up but by less,
#: no significant change, significantly down; "none" when there are no epochs after e*.
UP, SMALL, FLAT, DOWN, NONE = "up", "small", "flat", "down", "none"

#: A run's outcome: the puzzle (loss up, accuracy significantly up), its weak form (loss up, accuracy not
#: significantly down), ordinary overfitting (loss up, accuracy significantly down), no rise of the loss.
PUZZLE, PUZZLE_FLAT, OVERFITTING, NO_RISE = "puzzle", "puzzle_flat", "overfitting", "no_rise"

#: Several runs (seeds) together: every run shows the puzzle, every run shows at least its weak form, every run
#: has no rise, at least one run is ordinary overfitting, or a mixture of rises and no rises.
MIXED = "mixed"

#: Relative difference allowed between a history's validation loss and the one recomputed from the saved logits
#: (train.py saves them as float32; the history is computed from the same logits before that rounding).
LOSS_RTOL = 1e-4

#: History columns the comparison reads.
COLUMNS: tuple[str, ...] = ("val_loss_temperature_scaled", "temperature", "val_n_wrong")


@dataclass(frozen=True)
class Rules:
    """How large and how sure an effect must be to count; the config's ``overfitting.*`` values."""

    min_loss_rise_percent: float
    min_accuracy_rise_points: float
    significance_level: float

    def __post_init__(self) -> None:
        for name in ("min_loss_rise_percent", "min_accuracy_rise_points"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0):
                raise PipelineError(f"--{name.replace('_', '-')} must be a finite number >= 0, got {value}")
        if not 0 < self.significance_level < 1:
            raise PipelineError(
                f"--significance-level must lie strictly between 0 and 1, got {self.significance_level}"
            )


# --------------------------------------------------------------------------------------------------------
# The exact McNemar test
# --------------------------------------------------------------------------------------------------------


def mcnemar_exact(b: int, c: int) -> float:
    """Two-sided exact McNemar p-value for ``b`` flips one way and ``c`` the other: ``min(1, 2 P(X <= min))``.

    Why whole numbers: the tail is a sum of binomial coefficients over ``2 ** n``; summing them as integers and
    dividing once keeps the value exact for thousands of flips, where floating-point terms would underflow.
    """
    if isinstance(b, bool) or isinstance(c, bool) or int(b) != b or int(c) != c or b < 0 or c < 0:
        raise PipelineError(f"McNemar counts must be whole numbers >= 0, got b={b!r}, c={c!r}")
    b, c = int(b), int(c)
    n = b + c
    if n == 0:
        return 1.0
    tail = sum(math.comb(n, k) for k in range(min(b, c) + 1))
    return float(min(Fraction(1), Fraction(2 * tail, 2**n)))


def paired_rise_p(before: np.ndarray, after: np.ndarray) -> float | None:
    """One-sided p-value that the mean of ``after - before`` (the same images' losses at two epochs) is above 0:
    a paired t-test in its normal approximation, ``P(Z >= mean / (sd / sqrt(n)))``.

    Why this test: the mean loss is what rises, and with thousands of images the mean of the differences is close
    to normal even though single images' changes are heavy-tailed. None when it cannot be computed (fewer than
    two images, or every difference equal).
    """
    d = np.asarray(after, dtype=np.float64) - np.asarray(before, dtype=np.float64)
    if d.size < 2:
        return None
    sd = float(d.std(ddof=1))
    if not sd > 0:
        return None
    z = float(d.mean()) / (sd / math.sqrt(d.size))
    return 0.5 * math.erfc(z / math.sqrt(2))


# --------------------------------------------------------------------------------------------------------
# One run: the history's numbers and the paired comparison from the diagnostics
# --------------------------------------------------------------------------------------------------------


def transitions(
    loss_best: np.ndarray, right_best: np.ndarray, loss_last: np.ndarray, right_last: np.ndarray
) -> dict[str, Any]:
    """Follow each example from the best to the last epoch and split the change of the mean loss by group.

    Why: the puzzle's explanation is that borderline examples flip to right (accuracy up) while examples
    already wrong get more confidently wrong (loss up); these four groups measure exactly that. ``n_fixed`` and
    ``n_broken`` are the McNemar counts ``b`` and ``c``.
    """
    n = len(loss_best)
    groups = {
        "stayed_right": right_best & right_last,
        "stayed_wrong": ~right_best & ~right_last,
        "fixed": ~right_best & right_last,
        "broken": right_best & ~right_last,
    }
    out: dict[str, Any] = {}
    for name, mask in groups.items():
        out[f"n_{name}"] = int(mask.sum())
        out[f"{name}_loss_change_part"] = round_significant((loss_last[mask] - loss_best[mask]).sum() / n)
        for which, losses in (("best", loss_best), ("last", loss_last)):
            out[f"{name}_loss_mean_{which}"] = round_significant(losses[mask].mean()) if mask.any() else None
            out[f"{name}_loss_median_{which}"] = round_significant(np.median(losses[mask])) if mask.any() else None
    out["loss_change"] = round_significant(loss_last.mean() - loss_best.mean())
    return out


def check_same_run(
    history: Mapping[str, Any],
    diagnostics: Mapping[str, Any],
    history_path: str | os.PathLike[str],
    diagnostics_path: str | os.PathLike[str],
) -> None:
    """Refuse a history and a diagnostics file that do not come from one training run.

    Why: the paired test reads the diagnostics, the loss numbers the history; a pair from two runs would give a
    p-value about other images than the curves show. Checked: the best and last epoch, the number of validation
    images, and the accuracy and the mean loss at both epochs (recomputed from the logits).
    """
    n_val = len(diagnostics["val_labels"])
    same = (
        diagnostics["best_epoch"] == history["best_epoch"]
        and diagnostics["last_epoch"] == history["epochs"]
        and n_val == history["n_validation"]
    )
    if same:
        accuracy = history["history"]["val_accuracy"]
        loss = history["history"]["val_loss"]
        for which, epoch in (("best", history["best_epoch"]), ("last", history["epochs"])):
            logits, labels = diagnostics[f"val_logits_{which}"], diagnostics["val_labels"]
            right = confidences(logits)[1] == labels
            same = same and abs(float(right.mean()) - float(accuracy[epoch - 1])) <= 0.5 / n_val
            mean_loss = float(per_example_loss(logits, labels).mean())
            same = same and math.isclose(mean_loss, float(loss[epoch - 1]), rel_tol=LOSS_RTOL, abs_tol=1e-6)
    if not same:
        raise PipelineError(
            f"{diagnostics_path} and {history_path} come from different training runs (best or last epoch, "
            f"number of validation images or accuracy differ); {RERUN}"
        )


def compare_epochs(history: Mapping[str, Any], diagnostics: Mapping[str, Any]) -> dict[str, Any]:
    """Every number of one run between ``e*`` and ``E``: loss rise, the paired accuracy test, temperature scaling.

    ``history`` is ``modelio.check_history``'s result (with ``COLUMNS``), ``diagnostics`` ``read_diagnostics``'s.
    The temperature numbers compare like with like: the rise of the loss as it is (``loss[E] - loss[e*]``) and
    the rise with each epoch's own fitted temperature (``scaled[E] - scaled[e*]``); ``removed_percent`` is the
    share of the first that the second no longer has.
    """
    h = history["history"]
    best, last = history["best_epoch"], history["epochs"]

    def at(name: str, epoch: int) -> float:
        return float(h[name][epoch - 1])

    loss_min, loss_last = at("val_loss", best), at("val_loss", last)
    rise = loss_last - loss_min
    scaled_best, scaled_last = at("val_loss_temperature_scaled", best), at("val_loss_temperature_scaled", last)
    scaled_rise = scaled_last - scaled_best
    labels = diagnostics["val_labels"]
    right_best = confidences(diagnostics["val_logits_best"])[1] == labels
    right_last = confidences(diagnostics["val_logits_last"])[1] == labels
    loss_best_each = per_example_loss(diagnostics["val_logits_best"], labels)
    loss_last_each = per_example_loss(diagnostics["val_logits_last"], labels)
    moves = transitions(loss_best_each, right_best, loss_last_each, right_last)
    loss_p = paired_rise_p(loss_best_each, loss_last_each)
    b, c = moves["n_fixed"], moves["n_broken"]
    n = len(labels)
    accuracy = h["val_accuracy"]
    after = accuracy[best - 1 :]
    peak = best + int(np.argmax(after))
    return {
        "best_epoch": best,
        "last_epoch": last,
        "n_validation": n,
        "val_loss_min": round_significant(loss_min),
        "val_loss_last": round_significant(loss_last),
        "val_loss_rise": round_significant(rise),
        "val_loss_rise_percent": round_significant(100 * rise / loss_min) if loss_min > 0 else None,
        "val_loss_rise_p": None if loss_p is None else round_significant(loss_p),
        "val_accuracy_at_best": round_significant(at("val_accuracy", best)),
        "val_accuracy_last": round_significant(at("val_accuracy", last)),
        "val_accuracy_change_points": round_significant(100 * (b - c) / n),
        "val_accuracy_max_after_best": round_significant(float(accuracy[peak - 1])),
        "val_accuracy_max_epoch_after_best": peak,
        "n_fixed": b,
        "n_broken": c,
        "mcnemar_p": round_significant(mcnemar_exact(b, c)),
        "temperature_best": round_significant(at("temperature", best)),
        "temperature_last": round_significant(at("temperature", last)),
        "val_loss_scaled_best": round_significant(scaled_best),
        "val_loss_scaled_last": round_significant(scaled_last),
        "val_loss_scaled_rise": round_significant(scaled_rise),
        "removed_percent": round_significant(100 * (rise - scaled_rise) / rise) if rise > 0 else None,
        "transitions": moves,
    }


# --------------------------------------------------------------------------------------------------------
# Classification
# --------------------------------------------------------------------------------------------------------


def loss_rose(comparison: Mapping[str, Any], rules: Rules) -> bool:
    """Whether the validation loss ends at least ``min_loss_rise_percent`` above its minimum, after it, and the
    paired test on the per-image losses (``val_loss_rise_p``, where the comparison has it) calls the rise
    significant at ``significance_level``."""
    x = comparison["val_loss_rise_percent"]
    p = comparison.get("val_loss_rise_p")
    large = comparison["best_epoch"] < comparison["last_epoch"] and x is not None and x >= rules.min_loss_rise_percent
    return large and (p is None or p < rules.significance_level)


def accuracy_status(comparison: Mapping[str, Any], rules: Rules) -> str:
    """``UP``, ``SMALL``, ``FLAT``, ``DOWN`` or ``NONE``: what validation accuracy did from e* to E, by the test."""
    if comparison["best_epoch"] == comparison["last_epoch"]:
        return NONE
    b, c, p = comparison["n_fixed"], comparison["n_broken"], comparison["mcnemar_p"]
    if p < rules.significance_level and b > c:
        return UP if comparison["val_accuracy_change_points"] >= rules.min_accuracy_rise_points else SMALL
    if p < rules.significance_level and c > b:
        return DOWN
    return FLAT


def run_outcome(comparison: Mapping[str, Any], rules: Rules) -> str:
    """One run's outcome: ``PUZZLE``, ``PUZZLE_FLAT``, ``OVERFITTING`` or ``NO_RISE``."""
    if not loss_rose(comparison, rules):
        return NO_RISE
    status = accuracy_status(comparison, rules)
    return PUZZLE if status == UP else OVERFITTING if status == DOWN else PUZZLE_FLAT


def overall(outcomes: Sequence[str]) -> str:
    """Several runs' outcomes as one: the weakest that every run shares, ``OVERFITTING`` if any run is, or
    ``MIXED``."""
    if not outcomes:
        raise PipelineError("no runs to summarise")
    kinds = set(outcomes)
    if kinds == {PUZZLE}:
        return PUZZLE
    if kinds <= {PUZZLE, PUZZLE_FLAT}:
        return PUZZLE_FLAT
    if kinds == {NO_RISE}:
        return NO_RISE
    if OVERFITTING in kinds:
        return OVERFITTING
    return MIXED


def classify(comparisons: Sequence[Mapping[str, Any]], rules: Rules) -> dict[str, Any]:
    """Each run's loss verdict, accuracy status and outcome, their counts, and the runs' outcome together."""
    runs = [
        {"loss_rose": loss_rose(c, rules), "accuracy": accuracy_status(c, rules), "outcome": run_outcome(c, rules)}
        for c in comparisons
    ]
    counts = {"runs": len(runs), "loss_rose": sum(r["loss_rose"] for r in runs)}
    counts.update(
        {f"accuracy_{kind}": sum(r["accuracy"] == kind for r in runs) for kind in (UP, SMALL, FLAT, DOWN, NONE)}
    )
    counts.update(
        {f"outcome_{k}": sum(r["outcome"] == k for r in runs) for k in (PUZZLE, PUZZLE_FLAT, OVERFITTING, NO_RISE)}
    )
    return {"runs": runs, "counts": counts, "outcome": overall([r["outcome"] for r in runs])}


# --------------------------------------------------------------------------------------------------------
# Words shared by the claims' facts and the figures' titles
# --------------------------------------------------------------------------------------------------------


def on_seeds(k: int, n: int) -> str:
    """Where something holds, for ``k`` of ``n`` seeds: "" for one seed, else " on all 3 seeds", " on 2 of 3
    seeds", " on none of the seeds"."""
    if n == 1:
        return ""
    if k == n:
        return f" on all {n} seeds"
    if k == 0:
        return " on none of the seeds"
    return f" on {k} of {n} seeds"


def span(values: Sequence[float], fmt: str, unit: str = "") -> str:
    """One value, or the range over seeds: "62 %" or "62\u201388 %" (the lowest and highest value, formatted)."""
    low, high = format(min(values), fmt), format(max(values), fmt)
    text = low if low == high else f"{low}\u2013{high}"
    return f"{text}{unit}"


def signed_span(values: Sequence[float], digits: int = 2, unit: str = " points") -> str:
    """A signed change, or the range of it over seeds: "+0.32 points", "between \u22128.00 and +10.00 points"."""

    def one(value: float) -> str:
        return f"{value:+.{digits}f}".replace("-", "\u2212")

    low, high = one(min(values)), one(max(values))
    return f"{low}{unit}" if low == high else f"between {low} and {high}{unit}"


def p_text(p: float) -> str:
    """A p-value for readers, two significant digits as the tables print it: ``p = 0.22``, ``p = 0.0031``,
    ``p < 0.0001``."""
    if p < 1e-4:
        return "p < 0.0001"
    return f"p = {p:.2g}"


def accuracy_clause(counts: Mapping[str, int], rules: Rules) -> str:
    """What validation accuracy did from e* to E over the runs, by the test: "shows no significant change on all
    3 seeds", "rises significantly on 1 of 3 seeds and shows no significant change on 2 of 3 seeds"."""
    n = counts["runs"]
    words = {
        UP: "rises significantly",
        SMALL: f"rises significantly but by less than {rules.min_accuracy_rise_points:g} points",
        FLAT: "shows no significant change",
        DOWN: "falls significantly",
        NONE: "has no epochs after the lowest loss to compare",
    }
    parts = [f"{words[kind]}{on_seeds(counts[f'accuracy_{kind}'], n)}" for kind in words if counts[f"accuracy_{kind}"]]
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def outcome_phrase(classified: Mapping[str, Any], comparisons: Sequence[Mapping[str, Any]], rules: Rules) -> str:
    """What the runs show, in one clause, true for the outcome that held (the figures' titles use it)."""
    counts, n = classified["counts"], classified["counts"]["runs"]
    rises = [c["val_loss_rise_percent"] for c in comparisons if c["val_loss_rise_percent"] is not None]
    test = "exact McNemar test" if n == 1 else "exact McNemar tests"
    level = f"{test} at the {rules.significance_level:g} level"
    outcome = classified["outcome"]
    if outcome in (PUZZLE, PUZZLE_FLAT):
        return (
            f"validation loss rises {span(rises, '.0f', ' %')} after its lowest epoch{on_seeds(n, n)}; validation "
            f"accuracy {accuracy_clause(counts, rules)} ({level})"
        )
    if outcome == NO_RISE:
        return f"validation loss does not end {rules.min_loss_rise_percent:g} % above its minimum{on_seeds(n, n)}"
    return (
        f"validation loss rises at least {rules.min_loss_rise_percent:g} % after its lowest epoch"
        f"{on_seeds(counts['loss_rose'], n)}; validation accuracy {accuracy_clause(counts, rules)} ({level})"
    )
