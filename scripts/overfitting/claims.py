"""Check the overfitting puzzle and its explanation on every seed of the unregularised network; write the verdicts
and the facts that choose every result sentence of the page.

The thread (seed-threads.txt, the overfitting puzzle) shows "The training loss going down, the validation loss
going up." and asks "why is that validation accuracy is going up if the validation loss is getting worse". The
explanation the explainer gives (SOURCES.md section 4; Guo et al. 2017, Mukhoti et al. 2020) says the rise comes
from examples that are already wrong getting more confidently wrong, and that a temperature, which changes no
prediction, removes most of it. All five statements are checked on each seed's run between the epoch with the
lowest validation loss (``e*``) and the last epoch (``E``):

* the loss numbers come from ``history.json``;
* the accuracy change is tested with an exact McNemar test on the same validation images (``diagnostics.npz``
  holds the logits at ``e*`` and ``E``; ``overfitting/paired.py``): "validation accuracy goes up" needs the test
  to agree, and a change the test does not call significant is reported as flat;
* temperature scaling compares like with like: the loss's rise with each epoch's own fitted temperature against
  the rise without any;
* calibration after scaling is judged on the held-out test images (``metrics.json``: the temperature fitted on the
  validation logits, applied to the test logits).

A verdict is "supported" only when it holds on every seed and no other number of the page contradicts it (a
significant fall of accuracy contradicts "the rise is over-confidence rather than lost discrimination"; a falling
confidence of the wrong answers contradicts "more confidently wrong"). A run that does not show the puzzle is
reported as such, never an error. The ``facts`` (``kit.facts``) hold every sentence of the page that states a
result, each chosen by the condition that held; the regularised CNN's metrics and history add the facts of the
comparison, which names every setting in which the two runs differ.

Usage::

    PYTHONPATH=scripts python scripts/overfitting/claims.py \\
        --history results/models/overfit/seed-{1,2,3}/history.json \\
        --metrics results/models/overfit/seed-{1,2,3}/metrics.json \\
        --diagnostics results/models/overfit/seed-{1,2,3}/diagnostics.npz \\
        --cnn-history results/models/cnn/seed-1/history.json --cnn-metrics results/models/cnn/seed-1/metrics.json \\
        --min-loss-rise-percent 5 --min-accuracy-rise-points 0.2 --significance-level 0.05 \\
        --min-wrong-share-of-rise 0.5 --min-removed-percent 50 --output results/overfitting/claims.json
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from kit.cli import ArgumentParser, PipelineError, input_file, run_cli
from kit.facts import choose, compare, state
from kit.formats import fixed, num, pct, plural, signed
from kit.io import read_json, rounded, write_json
from models.calibration import DIAGNOSTIC_KEYS
from models.modelio import check_history, read_diagnostics
from overfitting.paired import (
    DOWN,
    FLAT,
    MIXED,
    NO_RISE,
    NONE,
    OVERFITTING,
    PUZZLE,
    PUZZLE_FLAT,
    SMALL,
    UP,
    Rules,
    accuracy_clause,
    check_same_run,
    classify,
    compare_epochs,
    on_seeds,
    p_text,
    span,
)

QUOTE_LOSSES = "The training loss going down, the validation loss going up."
QUOTE_ACCURACY = (
    "The training accuracy is high, which is fine, but why is that validation accuracy is going up if the "
    "validation loss is getting worse, shouldn't it go down too?"
)

#: The per-epoch lists of ``history.json`` the check reads (spec: every list has one value per epoch).
HISTORY_LISTS: tuple[str, ...] = ("epoch", "train_loss", "train_accuracy", *DIAGNOSTIC_KEYS)

#: What each run's ``metrics.json`` must hold: the held-out numbers and what shows it belongs to the same run.
METRICS_NUMBERS: tuple[str, ...] = (
    "best_epoch",
    "epochs",
    "val_loss_last",
    "temperature",
    "test_accuracy",
    "test_loss",
    "test_loss_temperature_scaled",
    "test_ece_last",
    "test_ece_last_temperature_scaled",
    "n_test",
)

#: What the CNN's ``metrics.json`` must hold for the comparison.
CNN_METRICS_NUMBERS: tuple[str, ...] = ("test_accuracy", "test_loss", "n_train", "n_test", "epochs", "parameters")

#: The settings compared between the two networks, with how a reader names them, in table order.
SETTING_NAMES: dict[str, str] = {
    "train_size": "training images",
    "channels": "convolution channels",
    "hidden": "hidden units",
    "regularisation": "regularisation",
    "schedule": "learning-rate schedule",
    "learning_rate": "learning rate",
    "batch_size": "batch size",
    "epochs": "epochs",
}

#: A training accuracy at or above this counts as "all but memorised" in the prose.
MEMORISED = 0.99

#: Relative difference allowed between the last validation loss in the two files of one run (models/train.py copies
#: it from the history into metrics.json; the slack only forgives a file re-serialised with fewer digits).
SAME_RUN_RTOL = 1e-5

#: The claims that make up the puzzle itself; the thread's form needs all three, the weaker form (accuracy flat,
#: not falling) only the first two together with no significant fall of accuracy.
PUZZLE_CLAIMS: tuple[str, ...] = ("train_loss_fell", "val_loss_rose", "val_accuracy_rose")

SUPPORTED, NOT_SUPPORTED = "supported", "not supported"


@dataclass(frozen=True)
class Thresholds:
    """How large and how sure each effect must be to count; command-line flags, written to the output.

    No defaults here: the values come from the config (``overfitting.*``), whose schema is the one place they live.
    """

    min_loss_rise_percent: float
    min_accuracy_rise_points: float
    significance_level: float
    min_wrong_share_of_rise: float
    min_removed_percent: float

    @property
    def rules(self) -> Rules:
        """The part the paired test and the run outcomes use (``overfitting/paired.py``)."""
        return Rules(self.min_loss_rise_percent, self.min_accuracy_rise_points, self.significance_level)


# --------------------------------------------------------------------------------------------------------
# Reading and checking the inputs
# --------------------------------------------------------------------------------------------------------


def is_number(value: object) -> bool:
    """True for a finite int or float (JSON's NaN and Infinity, which Python reads, are refused)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def parse_history(document: object, path: str | os.PathLike[str]) -> dict[str, Any]:
    """Check a ``history.json`` document with the figures' checks (``modelio.check_history``).

    Why so strict: every verdict is read off these lists, so a missing key, a list one epoch short or a NaN
    must stop the step with a message that names the file and the key, not produce a wrong verdict.
    """
    return check_history(document, path, HISTORY_LISTS)


def parse_metrics(
    document: object, path: str | os.PathLike[str], history: Mapping[str, Any], history_path: str | os.PathLike[str]
) -> dict[str, Any]:
    """Validate ``metrics.json`` and check that it comes from the same run as the history."""
    if not isinstance(document, dict):
        raise PipelineError(f"{path}: expected a JSON object written by models/train.py")
    for key in METRICS_NUMBERS:
        if not is_number(document.get(key)):
            raise PipelineError(
                f"{path}: key {key!r} is {document.get(key)!r}, expected a finite number; rerun the training step"
            )
    last_loss = float(history["history"]["val_loss"][-1])
    same = (
        document["best_epoch"] == history["best_epoch"]
        and document["epochs"] == history["epochs"]
        and (document.get("model") is None or document["model"] == history["model"])
        and math.isclose(document["val_loss_last"], last_loss, rel_tol=SAME_RUN_RTOL)
    )
    if not same:
        raise PipelineError(
            f"{path} and {history_path} come from different training runs (model, epochs, best_epoch or "
            "val_loss_last differ); rerun the training step"
        )
    return document


def parse_cnn(
    history_doc: object, history_path: str | os.PathLike[str], metrics_doc: object, metrics_path: str | os.PathLike[str]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The CNN's history (checked) and metrics (the numbers the comparison quotes, and its settings)."""
    history = check_history(history_doc, history_path)
    if not isinstance(metrics_doc, dict):
        raise PipelineError(f"{metrics_path}: expected a JSON object written by models/train.py")
    for key in CNN_METRICS_NUMBERS:
        if not is_number(metrics_doc.get(key)):
            raise PipelineError(
                f"{metrics_path}: key {key!r} is {metrics_doc.get(key)!r}, expected a finite number; rerun the "
                "training step"
            )
    if not isinstance(metrics_doc.get("settings"), dict) or metrics_doc["epochs"] != history["epochs"]:
        raise PipelineError(
            f"{metrics_path} and {history_path} come from different training runs (epochs or settings differ); "
            "rerun the training step"
        )
    return history, metrics_doc


# --------------------------------------------------------------------------------------------------------
# Numbers
# --------------------------------------------------------------------------------------------------------


def value_at(history: Mapping[str, Any], key: str, epoch: int) -> float | None:
    """A history value at a 1-based epoch; None where the file holds null (an empty group)."""
    value = float(history["history"][key][epoch - 1])
    return None if math.isnan(value) else value


def ratio(numerator: float, denominator: float) -> float | None:
    """``numerator / denominator``, or None when the denominator is not positive (nothing to divide)."""
    return numerator / denominator if denominator > 0 else None


def seed_numbers(history: Mapping[str, Any], diagnostics: Mapping[str, Any], metrics: Mapping[str, Any]) -> dict:
    """Every number of one seed's run that the claims and the prose use, between ``e*`` and ``E``."""
    best, last = history["best_epoch"], history["epochs"]
    c = compare_epochs(history, diagnostics)

    def at(key: str, epoch: int) -> float | None:
        return value_at(history, key, epoch)

    n_val = history["n_validation"]
    rise = c["val_loss_rise"]
    wrong_change = at("val_loss_wrong_part", last) - at("val_loss_wrong_part", best)
    accuracy = history["history"]["val_accuracy"]
    numbers = {
        "seed": history["settings"].get("seed"),
        **c,
        "val_accuracy_max_epoch": 1 + int(max(range(last), key=lambda i: (accuracy[i], -i))),
        "train_loss_first": at("train_loss", 1),
        "train_loss_last": at("train_loss", last),
        "train_accuracy_last": at("train_accuracy", last),
        "n_wrong_at_best": int(at("val_n_wrong", best)),
        "n_wrong_last": int(at("val_n_wrong", last)),
        "wrong_fraction_at_best": at("val_n_wrong", best) / n_val,
        "wrong_fraction_last": at("val_n_wrong", last) / n_val,
        "val_loss_correct_part_at_best": at("val_loss_correct_part", best),
        "val_loss_correct_part_last": at("val_loss_correct_part", last),
        "val_loss_wrong_part_at_best": at("val_loss_wrong_part", best),
        "val_loss_wrong_part_last": at("val_loss_wrong_part", last),
        "val_loss_wrong_part_change": wrong_change,
        "val_loss_correct_part_change": at("val_loss_correct_part", last) - at("val_loss_correct_part", best),
        "val_loss_wrong_mean_at_best": at("val_loss_wrong_mean", best),
        "val_loss_wrong_mean_last": at("val_loss_wrong_mean", last),
        "wrong_share_of_rise": ratio(wrong_change, rise),
        "wrong_share_of_loss_at_best": at("val_loss_wrong_share", best),
        "wrong_share_of_loss_last": at("val_loss_wrong_share", last),
        "confidence_wrong_at_best": at("val_confidence_wrong_mean", best),
        "confidence_wrong_last": at("val_confidence_wrong_mean", last),
        "confidence_correct_at_best": at("val_confidence_correct_mean", best),
        "confidence_correct_last": at("val_confidence_correct_mean", last),
        "ece_best": at("val_ece", best),
        "ece_last": at("val_ece", last),
        "n_test": int(metrics["n_test"]),
        "test_accuracy": metrics["test_accuracy"],
        "test_loss": metrics["test_loss"],
        "test_loss_temperature_scaled": metrics["test_loss_temperature_scaled"],
        "test_ece_last": metrics["test_ece_last"],
        "test_ece_last_temperature_scaled": metrics["test_ece_last_temperature_scaled"],
    }
    return rounded(numbers)


def regularisation(settings: Mapping[str, Any]) -> str:
    """A network's regularisation in words: "batch norm, dropout 0.25, weight decay 0.0005" or "none"."""
    parts = []
    if settings.get("batch_norm"):
        parts.append("batch norm")
    if settings.get("dropout", 0) > 0:
        parts.append(f"dropout {settings['dropout']:g}")
    if settings.get("weight_decay", 0) > 0:
        parts.append(f"weight decay {settings['weight_decay']:g}")
    if settings.get("augment"):
        parts.append("2-pixel shifts")
    return ", ".join(parts) if parts else "none"


def setting_text(key: str, settings: Mapping[str, Any], n_train: int) -> str:
    """One compared setting of a network, as the comparison prints it."""
    if key == "train_size":
        return num(n_train)
    if key == "channels":
        return "/".join(str(v) for v in settings["channels"])
    if key == "regularisation":
        return regularisation(settings)
    if key == "schedule":
        return {"onecycle": "one-cycle", "constant": "constant"}.get(settings["schedule"], str(settings["schedule"]))
    return format(settings[key], "g") if isinstance(settings[key], float) else str(settings[key])


def network_names(overfit: Mapping[str, Any], cnn: Mapping[str, Any] | None) -> dict[str, str]:
    """How the page names the two networks: by their regularisation when that tells them apart, else by order.

    Why computed: "the unregularised network" would be false for a config that gives the overfit model dropout.
    """
    plain = regularisation(overfit) == "none"
    regular = cnn is not None and regularisation(cnn) != "none"
    return {
        "overfit": "the unregularised network" if plain else "the first network",
        "cnn": "the regularised CNN" if regular and plain else "the second network",
    }


def differences(overfit: Mapping[str, Any], cnn: Mapping[str, Any]) -> list[dict[str, str]]:
    """The settings in which the two runs differ: name, the unregularised network's value, the CNN's value."""
    rows = []
    for key, name in SETTING_NAMES.items():
        left = setting_text(key, overfit["settings"], overfit["n_train"])
        right = setting_text(key, cnn["settings"], cnn["n_train"])
        if left != right:
            rows.append({"key": key, "name": name, "overfit": left, "cnn": right})
    return rows


# --------------------------------------------------------------------------------------------------------
# Words
# --------------------------------------------------------------------------------------------------------


def listing(items: Sequence[str]) -> str:
    """ "a", "a and b", "a, b and c"."""
    items = list(items)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def cap(text: str) -> str:
    """``text`` with its first letter upper-case (``str.capitalize`` would lower "CNN")."""
    return text[:1].upper() + text[1:]


def seeds_words(n: int) -> str:
    """ "one seed" or "3 seeds"."""
    return "one seed" if n == 1 else f"{n} seeds"


def of_seed(n: int, seed: Any) -> str:
    """ " of seed 1" when several seeds were trained (the sentence is about the first), else ""."""
    return "" if n == 1 else f" of seed {seed}"


def in_seed(n: int, seed: Any) -> str:
    """ "In the run of seed 1, " at a sentence's start when several seeds were trained, else ""."""
    return "" if n == 1 else f"In the run of seed {seed}, "


def epochs_text(epochs: Sequence[int]) -> str:
    """ "epoch 12" when every seed has the same, else "epochs 11, 12 and 14" (each value once, in order)."""
    values = sorted(set(epochs))
    return f"epoch {values[0]}" if len(values) == 1 else f"epochs {listing([str(v) for v in values])}"


def moves(a: float | None, b: float | None, fmt: Callable[[float | None], str]) -> tuple[str, str]:
    """How a number moved from ``a`` to ``b`` in words ("rises from 0.67 to 0.85", "falls ...", "stays at ..."), and
    the condition that chose the words."""
    if a is None or b is None:
        return f"is {fmt(a)} and then {fmt(b)}", "a value is missing"
    if b > a:
        return f"rises from {fmt(a)} to {fmt(b)}", f"{b} > {a}"
    if b < a:
        return f"falls from {fmt(a)} to {fmt(b)}", f"{b} < {a}"
    return f"stays at {fmt(a)}", f"{b} == {a}"


def worded(sentence: str, conditions: Sequence[str], **values: Any) -> dict[str, Any]:
    """A fact whose wording was chosen piece by piece by ``conditions`` (each evaluated when the words were picked)."""
    return choose([(True, "; ".join(conditions), sentence)], sentence, values=values)


def percent_list(values: Sequence[float | None], digits: int = 0) -> str:
    """ "95 %, 98 % and 101 %" (a missing value reads "no rise")."""
    return listing(["no rise" if v is None else f"{v:.{digits}f} %" for v in values])


# --------------------------------------------------------------------------------------------------------
# Claims
# --------------------------------------------------------------------------------------------------------


def claim_holds(n: Mapping[str, Any], run: Mapping[str, Any], t: Thresholds) -> dict[str, bool]:
    """Whether each of the five claims holds on one seed (``run``: its loss verdict, accuracy status, outcome)."""
    sw_best, sw_last = n["transitions"]["stayed_wrong_loss_mean_best"], n["transitions"]["stayed_wrong_loss_mean_last"]
    cw_best, cw_last = n["confidence_wrong_at_best"], n["confidence_wrong_last"]
    share, removed = n["wrong_share_of_rise"], n["removed_percent"]
    return {
        "train_loss_fell": n["train_loss_last"] < n["train_loss_first"],
        "val_loss_rose": run["loss_rose"],
        "val_accuracy_rose": run["loss_rose"] and run["accuracy"] == UP,
        "rise_from_wrong": bool(
            run["loss_rose"]
            and share is not None
            and share >= t.min_wrong_share_of_rise
            and sw_best is not None
            and sw_last > sw_best
            and cw_best is not None
            and cw_last is not None
            and cw_last > cw_best
        ),
        "temperature_removes_rise": bool(
            run["loss_rose"] and removed is not None and removed >= t.min_removed_percent and run["accuracy"] != DOWN
        ),
    }


def seed_note(first: Mapping[str, Any], n_seeds: int, holds: Sequence[bool], what: str) -> str:
    """The end of a claim's ``measured`` text: which seed the numbers are from, and on how many seeds it holds."""
    if n_seeds == 1:
        return ""
    return f" (seed {first['seed']}); {what} on {sum(holds)} of {n_seeds} seeds"


def claim_entry(
    claim_id: str,
    claim: str,
    source: str,
    quote: str | None,
    rule: str,
    measured: str,
    holds: Sequence[bool],
    keys: dict,
) -> dict:
    """One row of the claims table; supported only when the claim holds on every seed."""
    return {
        "id": claim_id,
        "claim": claim,
        "source": source,
        "quote": quote,
        "rule": rule,
        "measured": measured,
        "verdict": SUPPORTED if all(holds) else NOT_SUPPORTED,
        "seeds_holding": sum(bool(h) for h in holds),
        "seeds": len(holds),
        "values": keys,
    }


def build_claims(runs: Sequence[dict], t: Thresholds) -> list[dict]:
    """The five claims, each measured on the first seed and decided over every seed."""
    first, n_seeds = runs[0], len(runs)
    best, last = first["best_epoch"], first["last_epoch"]
    holds = {key: [r["holds"][key] for r in runs] for key in runs[0]["holds"]}
    every = "on every seed, " if n_seeds > 1 else ""
    claims = []

    claims.append(
        claim_entry(
            "train_loss_fell", "The training loss going down", "thread", QUOTE_LOSSES,
            f"Supported when, {every}the training loss of the last epoch is below that of epoch 1.",
            f"training loss {fixed(first['train_loss_first'], 3)} at epoch 1 -> {fixed(first['train_loss_last'], 4)} "
            f"at epoch {last}" + seed_note(first, n_seeds, holds["train_loss_fell"], "lower at the last epoch"),
            holds["train_loss_fell"],
            {k: first[k] for k in ("train_loss_first", "train_loss_last")},
        )
    )  # fmt: skip

    if best == last:
        measured = f"the lowest validation loss ({fixed(first['val_loss_min'], 3)}) is at the last epoch, {last}"
    else:
        measured = (
            f"validation loss {fixed(first['val_loss_min'], 3)} at epoch {best} (lowest) -> "
            f"{fixed(first['val_loss_last'], 3)} at epoch {last}: {signed(first['val_loss_rise_percent'], 1)} %"
        )
        if first.get("val_loss_rise_p") is not None:
            measured += f", paired test {p_text(first['val_loss_rise_p'])}"
    claims.append(
        claim_entry(
            "val_loss_rose", "the validation loss going up", "thread", QUOTE_LOSSES,
            f"Supported when, {every}the lowest validation loss comes before the last epoch and the last epoch's "
            f"loss is at least {t.min_loss_rise_percent:g} % above it, and a one-sided paired test on the same "
            f"images' losses calls the rise significant at the {t.significance_level:g} level.",
            measured + seed_note(first, n_seeds, holds["val_loss_rose"],
                                 f"a significant rise of at least {t.min_loss_rise_percent:g} %"),
            holds["val_loss_rose"],
            {k: first[k] for k in ("val_loss_min", "val_loss_last", "val_loss_rise", "val_loss_rise_percent")},
        )
    )  # fmt: skip

    if best == last:
        measured = f"no epochs after the lowest validation loss (epoch {best}) to compare"
    else:
        measured = (
            f"validation accuracy {pct(first['val_accuracy_at_best'], 2)} at epoch {best} -> "
            f"{pct(first['val_accuracy_last'], 2)} at epoch {last}: {signed(first['val_accuracy_change_points'])} "
            f"points; {num(first['n_fixed'])} images wrong -> right, {num(first['n_broken'])} right -> wrong, "
            f"exact McNemar {p_text(first['mcnemar_p'])}"
        )
    claims.append(
        claim_entry(
            "val_accuracy_rose", "validation accuracy is going up if the validation loss is getting worse",
            "thread", QUOTE_ACCURACY,
            f"Supported when, {every}the validation loss rose (as above) and validation accuracy at the last epoch "
            f"is at least {t.min_accuracy_rise_points:g} percentage points above its value at the epoch of lowest "
            "validation loss, with an exact McNemar test on the same validation images (wrong there and right at "
            "the last epoch, against the reverse) that calls the change significant at the "
            f"{t.significance_level:g} level.",
            measured + seed_note(first, n_seeds, holds["val_accuracy_rose"], "a significant rise"),
            holds["val_accuracy_rose"],
            {k: first[k] for k in ("val_accuracy_at_best", "val_accuracy_last", "val_accuracy_change_points",
                                   "n_fixed", "n_broken", "mcnemar_p")},
        )
    )  # fmt: skip

    moves_t = first["transitions"]
    if first["wrong_share_of_rise"] is None:
        measured = f"the validation loss did not rise after its lowest point (epoch {best}): there is no rise to split"
    else:
        measured = (
            f"of the {fixed(first['val_loss_rise'], 3)} rise in validation loss from epoch {best} to {last}, wrongly "
            f"classified images add {fixed(first['val_loss_wrong_part_change'], 3)} "
            f"({pct(first['wrong_share_of_rise'])}) and correctly classified ones "
            f"{fixed(first['val_loss_correct_part_change'], 3)}; images wrong at both epochs: mean loss "
            f"{fixed(moves_t['stayed_wrong_loss_mean_best'], 2)} -> "
            f"{fixed(moves_t['stayed_wrong_loss_mean_last'], 2)}; "
            f"mean confidence of wrong predictions {pct(first['confidence_wrong_at_best'])} -> "
            f"{pct(first['confidence_wrong_last'])}"
        )
    claims.append(
        claim_entry(
            "rise_from_wrong",
            "The rise in validation loss comes from examples that are already wrong becoming more confidently wrong.",
            "explanation", None,
            "The validation loss is split into the parts from wrongly and correctly classified images (each group's "
            f"loss sum over all images; they add up to the loss). Supported when, {every}the validation loss rose "
            f"(as above), the wrong part's change from the lowest-loss epoch to the last is at least "
            f"{t.min_wrong_share_of_rise:g} of that rise, the images wrong at both epochs have a higher mean loss at "
            "the last epoch, and the mean confidence of the wrong predictions is higher at the last epoch.",
            measured + seed_note(first, n_seeds, holds["rise_from_wrong"], "holds"),
            holds["rise_from_wrong"],
            {k: first[k] for k in ("val_loss_rise", "val_loss_wrong_part_change", "val_loss_correct_part_change",
                                   "wrong_share_of_rise", "confidence_wrong_at_best", "confidence_wrong_last")},
        )
    )  # fmt: skip

    fall = "falls significantly" if first["status"] == DOWN else "does not fall significantly"
    if first["removed_percent"] is None:
        measured = f"the validation loss did not rise after its lowest point (epoch {best}): there is no rise to remove"
    else:
        measured = (
            f"validation loss as it is: {fixed(first['val_loss_min'], 3)} at epoch {best} -> "
            f"{fixed(first['val_loss_last'], 3)} at epoch {last} ({signed(first['val_loss_rise'], 3)}); with each "
            f"epoch's own temperature ({fixed(first['temperature_best'])} and {fixed(first['temperature_last'])}): "
            f"{fixed(first['val_loss_scaled_best'], 3)} -> {fixed(first['val_loss_scaled_last'], 3)} "
            f"({signed(first['val_loss_scaled_rise'], 3)}), so {fixed(first['removed_percent'], 1)} % of the rise is "
            f"removed; validation accuracy {fall}"
        )
    claims.append(
        claim_entry(
            "temperature_removes_rise",
            "The rise is over-confidence rather than lost discrimination: dividing the logits by one fitted "
            "temperature per epoch, which changes no prediction, removes most of it.",
            "explanation", None,
            "Each epoch's temperature is the one number that minimises that epoch's validation loss. Supported "
            f"when, {every}the validation loss rose (as above), the rise measured with each epoch's own temperature "
            f"is at least {t.min_removed_percent:g} % smaller than the rise measured without (scaled against "
            "scaled, unscaled against unscaled), and validation accuracy does not fall significantly (a significant "
            "fall is lost discrimination, which no temperature can undo).",
            measured + seed_note(first, n_seeds, holds["temperature_removes_rise"], "holds"),
            holds["temperature_removes_rise"],
            {k: first[k] for k in ("val_loss_rise", "val_loss_scaled_rise", "removed_percent", "temperature_best",
                                   "temperature_last")},
        )
    )  # fmt: skip
    return claims


# --------------------------------------------------------------------------------------------------------
# Facts: every result sentence of the page
# --------------------------------------------------------------------------------------------------------


def outcome_facts(result: Mapping[str, Any], t: Thresholds) -> dict[str, Any]:
    """The title, the description, the summary and the verdict paragraph: chosen by the runs' outcome."""
    runs, counts, outcome = result["runs"], result["counts"], result["outcome"]
    n = counts["runs"]
    first = runs[0]
    rises = [r["val_loss_rise_percent"] for r in runs if r["val_loss_rise_percent"] is not None]
    rise_span = span(rises, ".0f", " %") if rises else "n/a"
    all_flat = counts["accuracy_flat"] == n
    trains_fell = result["train_fell"] == n
    clause = accuracy_clause(counts, t.rules)
    thr = f"{t.min_loss_rise_percent:g} %"
    level = f"the {t.significance_level:g} level"
    test = "an exact McNemar test" if n == 1 else "exact McNemar tests"
    down = counts["accuracy_down"]
    conditions = {
        "puzzle": (outcome == PUZZLE and trains_fell, f"every seed: loss up >= {thr}, accuracy significantly up"),
        "flat": (
            outcome == PUZZLE_FLAT and trains_fell and all_flat,
            "every seed: loss up, accuracy not significantly changed",
        ),
        "weak": (outcome == PUZZLE_FLAT and trains_fell, "every seed: loss up, accuracy not significantly down"),
        "train": (outcome in (PUZZLE, PUZZLE_FLAT), "loss up on every seed, training loss not down on every seed"),
        "overfitting": (outcome == OVERFITTING, "accuracy significantly down on at least one seed with a loss rise"),
        "no_rise": (outcome == NO_RISE, f"no seed's validation loss ends significantly {thr} above its minimum"),
        "mixed": (outcome == MIXED, "the loss rises on some seeds only"),
    }

    def pick(texts: Mapping[str, str], values: Mapping[str, Any] | None = None) -> dict[str, Any]:
        cases = [(conditions[key][0], conditions[key][1], texts[key]) for key in conditions if key in texts]
        return choose(cases[:-1], cases[-1][2], values=dict(values or {}, outcome=outcome, **counts))

    facts: dict[str, Any] = {}
    facts["headline"] = pick(
        {
            "puzzle": "Validation loss up, validation accuracy up: the overfitting puzzle, measured",
            "flat": "Validation loss up, validation accuracy flat: the overfitting puzzle, measured",
            "weak": "Validation loss up, validation accuracy not down: the overfitting puzzle, measured",
            "train": f"Validation loss up, but training loss not down{on_seeds(result['train_fell'], n)}: not the "
            "thread's picture",
            "overfitting": f"Validation loss up, validation accuracy down{on_seeds(down, n)}: ordinary "
            "overfitting, not the puzzle",
            "no_rise": "No overfitting puzzle in this run: the validation loss does not end significantly, by "
            f"{thr} or more, above its minimum",
            "mixed": f"The overfitting puzzle{on_seeds(counts['loss_rose'], n)} only: on the others the validation "
            f"loss does not end significantly, by {thr} or more, above its minimum",
        }
    )
    name = result["names"]["overfit"]
    who = f"Two convolutional networks trained on Fashion-MNIST; {name} is trained with {seeds_words(n)}."
    facts["description"] = pick(
        {
            "puzzle": f"{who} After its lowest point its validation loss rises {rise_span} while its validation "
            f"accuracy rises significantly{on_seeds(n, n)} ({test}); the loss split, confidence and calibration "
            "show why.",
            "weak": f"{who} After its lowest point its validation loss rises {rise_span} while its validation "
            f"accuracy {clause} ({test}); the loss split, confidence and calibration show why the two disagree.",
            "train": f"{who} Its validation loss rises {rise_span} after its lowest point, but its training loss "
            f"is not lower at the end{on_seeds(n - result['train_fell'], n)}, so this run does not show the "
            "thread's picture.",
            "overfitting": f"{who} After the lowest validation loss both validation loss and accuracy get worse"
            f"{on_seeds(down, n)}: this run does not show the puzzle.",
            "no_rise": f"{who} Its validation loss does not end significantly, by {thr} or more, above its "
            "minimum, so this run does not show "
            "the puzzle.",
            "mixed": f"{who} Its validation loss rises significantly, by at least {thr}, after its minimum"
            f"{on_seeds(counts['loss_rose'], n)} only, so this run does not show the puzzle on every seed.",
        }
    )
    lowest = f"is lowest at {epochs_text([r['best_epoch'] for r in runs])}"
    facts["summary_result"] = pick(
        {
            "puzzle": f"{cap(name)} shows the puzzle{on_seeds(n, n)}: its "
            f"validation loss {lowest} and ends {rise_span} higher at epoch {first['last_epoch']}, while its "
            f"validation accuracy rises significantly between those epochs ({test} at {level}).",
            "flat": f"{cap(name)} shows the puzzle in its weaker form: its validation loss {lowest} "
            f"and ends {rise_span} higher at epoch {first['last_epoch']}, while its validation accuracy shows no "
            f"significant change between those epochs ({test} at {level}): flat, not rising.",
            "weak": f"{cap(name)} shows the puzzle: its validation loss {lowest} and ends "
            f"{rise_span} higher at epoch {first['last_epoch']}, while its validation accuracy {clause} between "
            f"those epochs ({test} at {level}).",
            "train": f"{cap(name)}'s validation loss {lowest} and ends {rise_span} higher, but its "
            f"training loss is not lower at the end{on_seeds(n - result['train_fell'], n)}: this run does not "
            "show the thread's picture.",
            "overfitting": f"In this run {name} does not show the puzzle: its validation "
            f"accuracy falls significantly{on_seeds(down, n)} ({test} at {level}) as its validation loss rises.",
            "no_rise": f"In this run {name} does not show the puzzle: its validation loss does not "
            f"end significantly, by {thr} or more, above its minimum{on_seeds(n, n)}.",
            "mixed": f"In this run {name} does not show the puzzle on every seed: its "
            f"validation loss rises significantly, by at least {thr}, after its minimum"
            f"{on_seeds(counts['loss_rose'], n)} only.",
        }
    )
    facts["puzzle_verdict"] = pick(
        {
            "puzzle": "By the loss, the network got worse after its lowest-loss epoch; by the accuracy, it got "
            f"better{on_seeds(n, n)}, by more than chance flips of borderline images explain. That is the "
            "thread's puzzle.",
            "flat": "By the loss, the network got worse after its lowest-loss epoch; by the accuracy, it did not: "
            "accuracy is flat, not rising. That is the puzzle in its weaker form (the loss rises while the "
            "accuracy does not fall); the thread's rising accuracy is not shown beyond chance in this run.",
            "weak": "By the loss, the network got worse after its lowest-loss epoch; by the accuracy, it did not: "
            f"accuracy {clause}. That is the puzzle, in its weaker form (accuracy not falling) where the rise "
            "is not significant.",
            "train": "The training loss is not lower at the end of every run, so this is not the thread's picture "
            "of a network that keeps fitting its training images; read the sections below with that in mind.",
            "overfitting": f"Here validation accuracy falls significantly too{on_seeds(down, n)}: both measures "
            "say the network got worse, which is ordinary overfitting, not the puzzle. The sections below still "
            "split the loss's rise, but they explain a rise, not a disagreement between loss and accuracy.",
            "no_rise": "Without a rise of the validation loss there is no disagreement between loss and accuracy "
            "to explain. The sections below still split the loss and measure confidence, but read their numbers "
            "with that in mind; more epochs or fewer training images make a rise more likely.",
            "mixed": f"The validation loss rises significantly, by at least {thr},"
            f"{on_seeds(counts['loss_rose'], n)} only, so the "
            f"puzzle does not appear on every seed; the sections below follow seed {first['seed']}, so read them "
            "with that in mind.",
        }
    )
    supported = result["summary"]["supported"]
    total = result["summary"]["total"]
    claims_of = f"{supported} of {total} claims {'is' if supported == 1 else 'are'} supported"
    facts["claims_summary"] = pick(
        {
            "puzzle": f"{claims_of}; the run shows the puzzle{on_seeds(n, n)}.",
            "weak": f"{claims_of}; the run shows the puzzle in its weaker form (validation loss up, validation "
            f"accuracy not significantly down){on_seeds(n, n)}.",
            "train": f"{claims_of}; the run does not show the puzzle (the training loss does not fall on every seed).",
            "overfitting": f"{claims_of}; the run does not show the puzzle (validation accuracy falls "
            f"significantly{on_seeds(down, n)}).",
            "no_rise": f"{claims_of}; the run does not show the puzzle (no rise of the validation loss).",
            "mixed": f"{claims_of}; the run does not show the puzzle on every seed.",
        }
    )
    return facts


def puzzle_facts(runs: Sequence[dict], t: Thresholds, n_val: int) -> dict[str, Any]:
    """The first section: training fit, the loss's rise, the accuracy change and its paired test."""
    first, n = runs[0], len(runs)
    seed = of_seed(n, first["seed"])
    best, last = first["best_epoch"], first["last_epoch"]
    facts: dict[str, Any] = {}

    fell = [r["train_loss_last"] < r["train_loss_first"] for r in runs]
    firsts, lasts = [r["train_loss_first"] for r in runs], [r["train_loss_last"] for r in runs]
    accs = [r["train_accuracy_last"] for r in runs]
    memorised = min(accs) >= MEMORISED
    start = (
        f"The training loss falls{on_seeds(n, n)}{',' if n > 1 else ''} from {span(firsts, '.3f')} after the first "
        "epoch to "
        f"{span(lasts, '.4f')} after the last"
    )
    reach = f"the training accuracy reaches {span([100 * a for a in accs], '.2f', ' %')}"
    facts["train_fit"] = choose(
        [
            (all(fell) and memorised, f"training loss lower at the end on every seed; accuracy >= {MEMORISED}",
             f"{start}, and {reach}: the network has all but memorised its training images."),
            (all(fell), "training loss lower at the end on every seed", f"{start}, and {reach}."),
        ],
        f"The training loss after the last epoch ({span(lasts, '.4f')}) is below its value after the first "
        f"({span(firsts, '.3f')}){on_seeds(sum(fell), n)}; {reach}.",
        values={"fell": sum(fell), "runs": n},
    )  # fmt: skip

    x = first["val_loss_rise_percent"]
    lp = first.get("val_loss_rise_p")
    alpha = f"{t.significance_level:g}"
    significant = lp is None or lp < t.significance_level
    lp_text = "p = n/a" if lp is None else p_text(lp)
    test_words = "" if lp is None else (f" (a one-sided paired test on the same images' losses gives {p_text(lp)})")
    facts["loss_rise"] = choose(
        [
            (best == last, f"lowest validation loss at the last epoch ({best} == {last})",
             f"The validation loss{seed} is lowest at the last epoch, {last} ({fixed(first['val_loss_min'], 3)})."),
            (x is not None and x >= t.min_loss_rise_percent and significant,
             f"rise {x} % >= {t.min_loss_rise_percent:g} % and paired p {lp} < {alpha}",
             f"The validation loss{seed} is lowest at epoch {best} ({fixed(first['val_loss_min'], 3)}) and then "
             f"climbs to {fixed(first['val_loss_last'], 3)} at epoch {last}, {fixed(x, 0)} % higher{test_words}."),
            (x is not None and x >= t.min_loss_rise_percent, f"rise {x} % but paired p {lp} >= {alpha}",
             f"The validation loss{seed} is lowest at epoch {best} ({fixed(first['val_loss_min'], 3)}) and ends at "
             f"{fixed(first['val_loss_last'], 3)} at epoch {last}, {fixed(x, 0)} % higher, but a one-sided paired "
             f"test on the same images' losses gives {lp_text}: not significant at the {alpha} level, so it "
             "does not count as a rise here."),
        ],
        f"The validation loss{seed} is lowest at epoch {best} ({fixed(first['val_loss_min'], 3)}) and ends at "
        f"{fixed(first['val_loss_last'], 3)} at epoch {last}, {fixed(x, 1)} % above it: less than the "
        f"{t.min_loss_rise_percent:g} % that counts as a rise here.",
        values={"best": best, "last": last, "rise_percent": x, "rise_p": lp},
    )  # fmt: skip
    if n > 1:
        facts["loss_rise_seeds"] = state(
            f"Over the seeds {listing([str(r['seed']) for r in runs])} the lowest validation loss comes at epochs "
            f"{listing([str(r['best_epoch']) for r in runs])}, and the last epoch's loss is "
            f"{percent_list([r['val_loss_rise_percent'] for r in runs])} above it.",
        )

    facts["accuracy_compared"] = compare(
        best, "<", last,
        f"{'Seed ' + str(first['seed']) if n > 1 else 'The run'} has epochs after its lowest validation loss, so "
        "its accuracy can be compared.",
        f"The validation loss{seed} is lowest at the last epoch, so there is no later epoch at which to compare the "
        "accuracy or to test its change.",
        what="epoch of lowest validation loss vs last epoch",
    )  # fmt: skip
    if best == last:
        facts["accuracy_change"] = facts["accuracy_compared"]
    else:
        facts["accuracy_change"] = state(
            f"Over the same epochs the validation accuracy{seed} goes from {pct(first['val_accuracy_at_best'], 2)} to "
            f"{pct(first['val_accuracy_last'], 2)} ({signed(first['val_accuracy_change_points'])} points). On the "
            f"same {num(n_val)} images, {plural(first['n_fixed'], 'image')} turn from wrong to right and "
            f"{num(first['n_broken'])} from right to wrong, and an exact McNemar test on these two counts gives "
            f"{p_text(first['mcnemar_p'])}.",
            b=first["n_fixed"], c=first["n_broken"], p=first["mcnemar_p"],
        )  # fmt: skip
    status = first["status"]
    alpha = f"{t.significance_level:g}"
    facts["accuracy_verdict"] = choose(
        [
            (status == UP, "status up", f"That is a significant rise at the {alpha} level."),
            (status == SMALL, "status small",
             f"That is significant at the {alpha} level, but smaller than the {t.min_accuracy_rise_points:g} points "
             "this page asks of a rise."),
            (status == FLAT, "status flat",
             f"That is no significant change at the {alpha} level: the flips in the two directions differ by no "
             "more than chance would make them differ, so the accuracy is flat, not rising."),
            (status == DOWN, "status down", f"That is a significant fall at the {alpha} level."),
        ],
        "With no epochs after the lowest validation loss there is nothing to test.",
        values={"status": status, "p": first["mcnemar_p"], "alpha": t.significance_level},
    )  # fmt: skip
    if n > 1:
        counts = {f"accuracy_{k}": sum(r["status"] == k for r in runs) for k in (UP, SMALL, FLAT, DOWN, NONE)}
        facts["accuracy_seeds"] = choose(
            [(counts["accuracy_none"] == n, "no seed has epochs after its lowest validation loss",
              "No seed has epochs after its lowest validation loss, so there is no accuracy change to test.")],
            f"Between each seed's lowest-loss epoch and its last, the validation accuracy "
            f"{accuracy_clause({'runs': n, **counts}, t.rules)}.",
            values=counts,
        )  # fmt: skip
    peak, top = first["val_accuracy_max_epoch_after_best"], first["val_accuracy_max_after_best"]
    gap = 100 * (top - first["val_accuracy_last"])
    facts["accuracy_peak"] = choose(
        [
            (best == last, "no epochs after the best", "There is no later epoch to compare the accuracy with."),
            (peak == last, f"highest accuracy after e* at the last epoch ({peak} == {last})",
             f"From epoch {best} on, the validation accuracy{seed} is highest at the last epoch."),
            (gap == 0, f"the last epoch ties the highest ({top})",
             f"From epoch {best} on, the validation accuracy{seed} is highest at epoch {peak} "
             f"({pct(top, 2)}) and at the last epoch again."),
        ],
        f"From epoch {best} on, the validation accuracy{seed} is highest at epoch {peak} ({pct(top, 2)}) and ends "
        f"{fixed(gap, 2)} points below that.",
        values={"peak_epoch": peak, "peak": top, "last": first["val_accuracy_last"]},
    )  # fmt: skip
    return facts


def loss_facts(first: Mapping[str, Any], n: int) -> dict[str, Any]:
    """The loss split (section "Which images carry the loss") for the first seed."""
    seed = of_seed(n, first["seed"])
    best, last = first["best_epoch"], first["last_epoch"]
    facts: dict[str, Any] = {}
    nb, nl = first["n_wrong_at_best"], first["n_wrong_last"]
    than = "fewer than" if nl < nb else "more than" if nl > nb else "as many as"
    facts["wrong_count"] = compare(
        nl, "<", nb,
        f"At epoch {best} the {num(nb)} wrongly classified images{seed} ({pct(first['wrong_fraction_at_best'])} of "
        f"the validation set) carry {pct(first['wrong_share_of_loss_at_best'])} of the loss. By epoch {last} "
        f"there are {num(nl)} of them ({pct(first['wrong_fraction_last'])}), fewer than before, and yet they carry "
        f"{pct(first['wrong_share_of_loss_last'])}.",
        f"At epoch {best} the {num(nb)} wrongly classified images{seed} ({pct(first['wrong_fraction_at_best'])} of "
        f"the validation set) carry {pct(first['wrong_share_of_loss_at_best'])} of the loss. By epoch {last} "
        f"there are {num(nl)} of them ({pct(first['wrong_fraction_last'])}), {than} before, and they carry "
        f"{pct(first['wrong_share_of_loss_last'])}.",
        what="wrong images at the last epoch vs at the lowest-loss epoch",
    )  # fmt: skip
    rise = first["val_loss_rise"]
    wrong, right = first["val_loss_wrong_part_change"], first["val_loss_correct_part_change"]
    share = first["wrong_share_of_rise"]
    split = (
        f"Of the rise of {fixed(rise, 3)} in the validation loss, the wrong part contributes {signed(wrong, 3)} "
        f"({pct(share, 0)} of the rise) and the right part {signed(right, 3)}"
    )
    facts["rise_split"] = choose(
        [
            (rise <= 0, f"loss change {rise} <= 0",
             f"From epoch {best} to epoch {last} the validation loss does not rise (it changes by {signed(rise, 3)}), "
             "so there is no rise to split."),
            (right < 0, f"right part change {right} < 0",
             f"{split}: the correctly classified images pull the loss down, and the wrong ones more than make up "
             "for it."),
        ],
        f"{split}.",
        values={"rise": rise, "wrong_change": wrong, "right_change": right},
    )  # fmt: skip
    words, why = moves(first["val_loss_wrong_mean_at_best"], first["val_loss_wrong_mean_last"], lambda v: fixed(v, 2))
    facts["wrong_mean_loss"] = worded(f"A wrong image's mean loss {words} nats.", [why])

    t = first["transitions"]
    b, c = t["n_fixed"], t["n_broken"]
    net = (
        f"a net gain of {plural(b - c, 'correct image')}"
        if b > c
        else f"a net loss of {plural(c - b, 'correct image')}"
        if c > b
        else "no net change"
    )
    facts["flips"] = worded(
        f"Between the two epochs {plural(b, 'image')} flip from wrong to right and {num(c)} from right to wrong: "
        f"{net}, which is exactly the change in validation accuracy.",
        [f"b = {b}, c = {c}"],
    )
    words, why = moves(t["stayed_wrong_loss_median_best"], t["stayed_wrong_loss_median_last"], lambda v: fixed(v, 2))
    facts["stayed_wrong"] = worded(
        f"The {plural(t['n_stayed_wrong'], 'image')} that are wrong at both epochs: their median loss {words} "
        f"nats, and together they change the validation loss by {signed(t['stayed_wrong_loss_change_part'], 3)}, "
        f"against a total change of {signed(t['loss_change'], 3)}.",
        [why],
    )
    total, part = t["loss_change"], t["stayed_wrong_loss_change_part"]
    carried = part / total if total > 0 else None
    facts["drivers"] = choose(
        [
            (total <= 0, f"total loss change {total} <= 0",
             "The validation loss does not rise between these epochs, so there is no rise for the images that stay "
             "wrong to carry."),
            (carried is not None and carried > 1, f"stayed-wrong share of the change {carried} > 1",
             f"So the two curves are driven by different images: the {num(b + c)} images that flip decide the "
             f"accuracy, while the images that stay wrong raise the loss by more than its whole rise: "
             f"{signed(part, 3)} nats against {signed(total, 3)}, so the other images' losses, taken together, "
             "fall."),
            (carried is not None and carried >= 0.5, f"stayed-wrong share of the change {carried} >= 0.5",
             f"So the two curves are driven by different images: the {num(b + c)} images that flip decide the "
             f"accuracy, while the images that stay wrong carry {pct(carried, 0)} of the change of the loss."),
        ],
        f"Here the images that stay wrong carry {pct(carried, 0)} of the change of the loss, less than half: they "
        "alone do not explain it.",
        values={"total": total, "stayed_wrong_part": part},
    )  # fmt: skip
    if best == last:
        facts.update(single_epoch_loss_facts(first, n))
    return facts


def single_epoch_loss_facts(first: Mapping[str, Any], n: int) -> dict[str, Any]:
    """The loss split when the lowest validation loss is at the last epoch: one epoch, nothing to compare."""
    last = first["last_epoch"]
    where = f"At epoch {last}, the last and the one with the lowest validation loss{of_seed(n, first['seed'])}"
    t = first["transitions"]
    none = "With the lowest validation loss at the last epoch there are no later epochs to compare with"
    return {
        "wrong_count": state(
            f"{where}, the {num(first['n_wrong_last'])} wrongly classified images ({pct(first['wrong_fraction_last'])}"
            f" of the validation set) carry {pct(first['wrong_share_of_loss_last'])} of the loss."
        ),
        "rise_split": state(f"{none}, so there is no rise to split."),
        "wrong_mean_loss": state(
            f"A wrong image's mean loss there is {fixed(first['val_loss_wrong_mean_last'], 2)} nats."
        ),
        "flips": state(f"{none}: no image changes between them."),
        "stayed_wrong": state(
            f"The {plural(t['n_stayed_wrong'], 'wrong image')} there have a median loss of "
            f"{fixed(t['stayed_wrong_loss_median_last'], 2)} nats."
        ),
        "drivers": state("So this run has no rise of the loss for any group of images to carry."),
    }


def confidence_facts(first: Mapping[str, Any], n: int) -> dict[str, Any]:
    """Confidence and calibration (section "Confidence and calibration") for the first seed."""
    best, last = first["best_epoch"], first["last_epoch"]
    facts: dict[str, Any] = {}
    wrong, why_w = moves(first["confidence_wrong_at_best"], first["confidence_wrong_last"], pct)
    right, why_r = moves(first["confidence_correct_at_best"], first["confidence_correct_last"], pct)
    facts["confidence_change"] = worded(
        f"{in_seed(n, first['seed'])}{'the' if n > 1 else 'The'} network's mean confidence in its wrong answers "
        f"{wrong} from epoch {best} to epoch {last}, and in its right answers it {right}.",
        [f"wrong: {why_w}", f"right: {why_r}"],
    )
    both_up = why_w.count(">") == 1 and why_r.count(">") == 1
    wrong_up = why_w.count(">") == 1
    status = first["status"]
    facts["surer"] = choose(
        [
            (both_up and status in (FLAT, SMALL), "confidence up in both groups; accuracy not significantly up",
             "The network does not get significantly better at picking the right class; it gets surer, of "
             "everything."),
            (both_up and status == UP, "confidence up in both groups; accuracy significantly up",
             "The network gets better at picking the right class, and surer of everything, its wrong answers "
             "included."),
            (both_up and status == DOWN, "confidence up in both groups; accuracy significantly down",
             "The network gets worse at picking the right class, and yet surer of everything."),
            (wrong_up, "confidence of wrong answers up, of right answers not",
             "Its wrong answers grow surer while its right answers do not."),
        ],
        "The confidence of its wrong answers does not rise here, so this run does not show wrong answers "
        "growing surer.",
        values={"status": status},
    )  # fmt: skip
    words, why = moves(first["ece_best"], first["ece_last"], pct)
    facts["ece_change"] = worded(
        f"{in_seed(n, first['seed'])}{'the' if n > 1 else 'The'} expected calibration error {words} between epoch "
        f"{best} and epoch {last}.",
        [why],
    )
    if best == last:
        where = (
            f"{in_seed(n, first['seed'])}{'at' if n > 1 else 'At'} epoch {last}, the last and the one with the "
            "lowest validation loss,"
        )
        facts["confidence_change"] = state(
            f"{where} the network's mean confidence is {pct(first['confidence_wrong_last'])} in its wrong answers and "
            f"{pct(first['confidence_correct_last'])} in its right answers."
        )
        facts["surer"] = state(
            "With no epochs after the lowest validation loss, this run has no growth of confidence to show."
        )
        facts["ece_change"] = state(f"At that epoch the expected calibration error is {pct(first['ece_last'])}.")
    return facts


def temperature_facts(runs: Sequence[dict], t: Thresholds, holds: Sequence[bool]) -> dict[str, Any]:
    """Temperature scaling, like with like, and calibration on the held-out test images."""
    first, n = runs[0], len(runs)
    seed = of_seed(n, first["seed"])
    best, last = first["best_epoch"], first["last_epoch"]
    facts: dict[str, Any] = {}
    facts["temperature_values"] = (
        state(
            f"At the last epoch{seed} the fitted temperature is {fixed(first['temperature_last'])}; at epoch {best} "
            f"it is {fixed(first['temperature_best'])}."
        )
        if best < last
        else state(f"At epoch {last}{seed}, the last and the lowest-loss one, the fitted temperature is "
                   f"{fixed(first['temperature_last'])}.")
    )  # fmt: skip
    rise, scaled = first["val_loss_rise"], first["val_loss_scaled_rise"]
    facts["temperature_removed"] = choose(
        [
            (best == last, f"lowest validation loss at the last epoch ({best} == {last})",
             "With the lowest validation loss at the last epoch there is no rise for a temperature to remove."),
            (rise <= 0, f"loss change {rise} <= 0",
             f"From epoch {best} to epoch {last} the validation loss does not rise (it changes by {signed(rise, 3)}), "
             "so there is no rise for a temperature to remove."),
            (scaled <= 0, f"scaled change {scaled} <= 0",
             f"From epoch {best} to epoch {last} the validation loss as it is rises by {fixed(rise, 3)}; with each "
             f"epoch's own temperature it changes by {signed(scaled, 3)}: the temperatures remove all of the rise "
             f"({fixed(first['removed_percent'], 0)} %)."),
        ],
        f"From epoch {best} to epoch {last} the validation loss as it is rises by {fixed(rise, 3)}; with each "
        f"epoch's own temperature it rises by {fixed(scaled, 3)} instead, so the temperatures remove "
        f"{fixed(first['removed_percent'], 0)} % of the rise.",
        values={"rise": rise, "scaled_rise": scaled, "removed_percent": first["removed_percent"]},
    )  # fmt: skip
    if n > 1:
        removed = [r["removed_percent"] for r in runs]
        facts["temperature_seeds"] = choose(
            [(all(v is None for v in removed), "no seed's loss rises after its minimum",
              "None of the seeds has a rise of the loss for the temperatures to remove.")],
            "Seed by seed ("
            + ", ".join(str(r["seed"]) for r in runs)
            + "), the temperatures remove "
            + listing(["nothing (no rise)" if v is None else f"{v:.0f} %" for v in removed])
            + " of the rise.",
        )  # fmt: skip
    loss, why_l = moves(first["test_loss"], first["test_loss_temperature_scaled"], lambda v: fixed(v, 3))
    ece, why_e = moves(first["test_ece_last"], first["test_ece_last_temperature_scaled"], pct)
    facts["test_calibration"] = worded(
        f"{in_seed(n, first['seed'])}{'with' if n > 1 else 'With'} the last epoch's temperature the test loss "
        f"{loss}, and the expected calibration error of the test predictions {ece}.",
        [f"loss: {why_l}", f"ECE: {why_e}"],
    )
    if n > 1:
        before = span([100 * r["test_ece_last"] for r in runs], ".1f", " %")
        after = span([100 * r["test_ece_last_temperature_scaled"] for r in runs], ".1f", " %")
        facts["test_calibration_seeds"] = state(
            f"Over the {n} seeds the test images' calibration error is {before} without the temperature and "
            f"{after} with it."
        )
    down = sum(r["status"] == DOWN and r["loss_rose"] for r in runs)
    no_rise = sum(not r["loss_rose"] for r in runs)
    small = sum(
        r["loss_rose"] and (r["removed_percent"] is None or r["removed_percent"] < t.min_removed_percent) for r in runs
    )
    facts["temperature_verdict"] = choose(
        [
            (all(holds), "claim 5 holds on every seed",
             f"So the rise{' on every seed' if n > 1 else ' in this run'} was over-confidence: each epoch's "
             f"temperature removes at least {t.min_removed_percent:g} % of it without changing a single prediction, "
             "and validation accuracy does not fall significantly."),
            (down > 0, f"accuracy significantly down on {down} seed(s) with a rise",
             f"Validation accuracy falls significantly{on_seeds(down, n)}, so part of the rise there is lost "
             "discrimination, which no temperature can undo, whatever share of the loss it removes."),
            (no_rise > 0, f"no rise on {no_rise} seed(s)",
             f"Without a rise of the validation loss{on_seeds(no_rise, n)} there is nothing for a temperature to "
             "remove there."),
        ],
        f"The temperatures remove less than {t.min_removed_percent:g} % of the rise{on_seeds(small, n)}, so part "
        "of it is not over-confidence alone.",
        values={"holds": sum(holds), "runs": n},
    )  # fmt: skip
    return facts


def cnn_facts(
    overfit: Mapping[str, Any],
    cnn: Mapping[str, Any],
    cnn_history: Mapping[str, Any],
    t: Thresholds,
    names: Mapping[str, str],
) -> dict[str, Any]:
    """The regularised CNN: its settings, every way the two runs differ, and what its curves can show."""
    facts: dict[str, Any] = {}
    s = cnn["settings"]
    schedule = (
        f"a one-cycle learning rate (it warms up, then decays; peak {s['learning_rate']:g})"
        if s["schedule"] == "onecycle"
        else f"a {s['schedule']} learning rate of {s['learning_rate']:g}"
    )
    facts["cnn_setup"] = state(
        f"The second network ({names['cnn']}) has {s['channels'][0]} and {s['channels'][1]} convolution channels and "
        f"{s['hidden']} hidden units; its regularisation: {regularisation(s)}. It learns with {schedule} "
        f"on batches of {s['batch_size']}, from {num(cnn['n_train'])} training images for "
        f"{plural(cnn['epochs'], 'epoch')}."
    )
    rows = differences(overfit, cnn)
    listed = listing([f"{r['name']} ({r['overfit']} against {r['cnn']})" for r in rows]) if rows else ""
    only_reg = [r["key"] for r in rows] == ["regularisation"]
    facts["differences"] = choose(
        [
            (not rows, "no compared setting differs",
             "The two runs use the same training images and settings, so any difference in their curves comes "
             "from their seeds alone."),
            (only_reg, "only the regularisation differs",
             f"The two runs differ only in regularisation ({rows[0]['overfit']} against {rows[0]['cnn']}) "
             "among the settings compared, so a difference in their curves can be credited to it."
             if only_reg else "-"),
        ],
        f"The two runs differ in more than regularisation: {listed}. A difference in their curves therefore "
        "cannot be credited to regularisation alone.",
        values={"differences": [r["key"] for r in rows]},
    )  # fmt: skip
    best, last = cnn_history["best_epoch"], cnn_history["epochs"]
    its = cap(names["cnn"]) + "'s"
    loss = cnn_history["history"]["val_loss"]
    lo, end = float(loss[best - 1]), float(loss[-1])
    x = 100 * (end / lo - 1) if lo > 0 else None
    facts["cnn_curve"] = choose(
        [
            (last == 1, "one epoch",
             f"{cap(names['cnn'])} trains for one epoch only, so its curves cannot show whether its validation loss "
             "would turn up."),
            (best == last, f"lowest validation loss at the last epoch ({best} == {last})",
             f"{its} validation loss is lowest at its last epoch, {last} ({fixed(lo, 3)}): within its "
             f"{last} epochs it does not turn up, which says nothing about later epochs it did not train."),
            (x is not None and x < t.min_loss_rise_percent, f"rise {x} % < {t.min_loss_rise_percent:g} %",
             f"{its} validation loss is lowest at epoch {best} of {last} ({fixed(lo, 3)}) and ends "
             f"{fixed(x, 1)} % above it, less than the {t.min_loss_rise_percent:g} % that counts as a rise here."),
        ],
        f"{its} validation loss too is lowest at epoch {best} of {last} ({fixed(lo, 3)}) and then rises, to "
        f"{fixed(end, 3)} at the last epoch, {fixed(x, 0)} % higher.",
        values={"best": best, "last": last, "rise_percent": x},
    )  # fmt: skip
    train_last = float(cnn_history["history"]["train_loss"][-1])
    noisy = [w for w, on in (("with dropout on", s.get("dropout", 0) > 0), ("on shifted images", s.get("augment")))
             if on]  # fmt: skip
    how = f" ({listing(noisy)})" if noisy else ""
    facts["cnn_gap"] = compare(
        train_last, ">", end,
        f"Its final training loss ({fixed(train_last, 3)}) is above its validation loss ({fixed(end, 3)}): the "
        f"training loss is averaged over each epoch's batches while the network trains{how}, the validation loss "
        "is measured after the epoch.",
        f"Its final validation loss ({fixed(end, 3)}) is {fixed(end - train_last, 3)} above its training loss "
        f"({fixed(train_last, 3)}).",
        what="final training loss vs final validation loss",
    )  # fmt: skip
    facts["cnn_test"] = state(
        f"{cap(names['cnn'])} classifies {pct(cnn['test_accuracy'], 2)} of the {num(cnn['n_test'])} test images "
        "correctly."
    )
    return facts


def practice_facts(first: Mapping[str, Any], n: int) -> dict[str, Any]:
    """Early stopping on loss or on accuracy, for the first seed."""
    seed = f" seed {first['seed']}" if n > 1 else " this run"
    best, top = first["best_epoch"], first["val_accuracy_max_epoch"]
    return {
        "stopping": choose(
            [
                (
                    top == best,
                    f"highest accuracy at e* ({top} == {best})",
                    f"Early stopping on the validation loss would stop{seed} at epoch {best}; stopping on the "
                    "validation accuracy would pick the same epoch.",
                ),
                (
                    top > best,
                    f"highest accuracy after e* ({top} > {best})",
                    f"Early stopping on the validation loss would stop{seed} at epoch {best}; stopping on the "
                    f"validation accuracy would pick the later epoch {top}, where it is highest.",
                ),
            ],
            f"Early stopping on the validation loss would stop{seed} at epoch {best}; stopping on the validation "
            f"accuracy would pick the earlier epoch {top}, where it is highest.",
            values={"best_epoch": best, "accuracy_epoch": top},
        )
    }


def answer_facts(first: Mapping[str, Any], n: int) -> dict[str, Any]:
    """The exercises' answers, computed from the first seed's numbers (the questions quote the same numbers)."""
    seed = of_seed(n, first["seed"])
    best, last, n_val = first["best_epoch"], first["last_epoch"], first["n_validation"]
    b, c = first["n_fixed"], first["n_broken"]
    facts: dict[str, Any] = {}
    facts["answer_flips"] = state(
        f"The accuracy changes by (b − c) / N = ({num(b)} − {num(c)}) / {num(n_val)} = "
        f"{signed(100 * (b - c) / n_val)} points, the change from epoch {best} to epoch {last}{seed}. Only the "
        f"{num(b + c)} images that flip carry information: the {num(n_val - b - c)} that do not flip are right or "
        "wrong at both epochs and add nothing to the difference.",
        b=b, c=c,
    )  # fmt: skip
    loss = first["val_loss_wrong_mean_last"]
    if loss is None:
        facts["answer_probability"] = state(f"No image is wrong at epoch {last}{seed}, so there is no mean to convert.")
    else:
        facts["answer_probability"] = state(
            f"A loss of L nats means the true class got probability e^(−L): e^(−{fixed(loss, 2)}) = "
            f"{pct(math.exp(-loss), 2)}. (A mean of losses corresponds to the geometric mean of the probabilities.) "
            f"A right image given 99 % costs −ln 0.99 = {fixed(-math.log(0.99), 4)} nats, so one such wrong "
            f"image outweighs {num(loss / -math.log(0.99))} of them.",
            loss=loss,
        )  # fmt: skip
    t_last, scaled, plain = first["temperature_last"], first["val_loss_scaled_last"], first["val_loss_last"]
    facts["answer_temperature"] = state(
        f"Dividing every logit of an image by the same T > 0 keeps their order, so the top class, and with it every "
        f"prediction and the accuracy, stays the same. At epoch {last}{seed} the fitted T = {fixed(t_last, 2)} "
        f"lowers the validation loss from {fixed(plain, 3)} to {fixed(scaled, 3)} nats.",
        temperature=t_last,
    )  # fmt: skip
    return facts


def check_claims(
    seeds: Sequence[tuple[dict, dict, dict]],
    cnn: tuple[dict, dict] | None,
    thresholds: Thresholds,
) -> dict:
    """Build the whole claims document from every seed's (history, diagnostics, metrics) and the CNN's run."""
    numbers = [seed_numbers(history, diagnostics, metrics) for history, diagnostics, metrics in seeds]
    classified = classify(numbers, thresholds.rules)
    runs = []
    for n, verdict in zip(numbers, classified["runs"], strict=True):
        run = {**n, "loss_rose": verdict["loss_rose"], "status": verdict["accuracy"], "outcome": verdict["outcome"]}
        run["holds"] = claim_holds(n, {**verdict}, thresholds)
        runs.append(run)
    claims = build_claims(runs, thresholds)
    verdicts = {claim["id"]: claim["verdict"] for claim in claims}
    train_fell = sum(r["holds"]["train_loss_fell"] for r in runs)
    outcome = classified["outcome"]
    first = runs[0]
    history0 = seeds[0][0]
    result: dict[str, Any] = {
        "model": history0["model"],
        "seeds": [r["seed"] for r in runs],
        "n_seeds": len(runs),
        "best_epoch": first["best_epoch"],
        "last_epoch": first["last_epoch"],
        "outcome": outcome,
        "puzzle_shown": outcome in (PUZZLE, PUZZLE_FLAT) and train_fell == len(runs),
        "puzzle_strong": all(verdicts[key] == SUPPORTED for key in PUZZLE_CLAIMS),
        "puzzle_claims": list(PUZZLE_CLAIMS),
        "counts": classified["counts"],
        "train_fell": train_fell,
        "runs": runs,
        "numbers": first,
        "claims": claims,
        "thresholds": asdict(thresholds),
        "summary": {"supported": sum(v == SUPPORTED for v in verdicts.values()), "total": len(claims)},
        "overfit": {"settings": history0["settings"], "n_train": history0["n_train"], "epochs": history0["epochs"],
                    "regularisation": regularisation(history0["settings"])},
    }  # fmt: skip
    result["names"] = network_names(history0["settings"], cnn[1]["settings"] if cnn is not None else None)
    facts = outcome_facts(result, thresholds)
    facts.update(puzzle_facts(runs, thresholds, history0["n_validation"]))
    facts.update(loss_facts(first, len(runs)))
    facts.update(confidence_facts(first, len(runs)))
    facts.update(temperature_facts(runs, thresholds, [r["holds"]["temperature_removes_rise"] for r in runs]))
    facts.update(practice_facts(first, len(runs)))
    facts.update(answer_facts(first, len(runs)))
    if cnn is not None:
        cnn_history, cnn_metrics = cnn
        overfit = {"settings": history0["settings"], "n_train": history0["n_train"]}
        result["cnn"] = {
            "settings": cnn_metrics["settings"],
            "n_train": cnn_metrics["n_train"],
            "regularisation": regularisation(cnn_metrics["settings"]),
            "differences": differences(overfit, cnn_metrics),
        }
        facts.update(cnn_facts(overfit, cnn_metrics, cnn_history, thresholds, result["names"]))
    result["facts"] = facts
    return rounded(result)


# --------------------------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------------------------


def parse_thresholds(args: Any) -> Thresholds:
    """Read the threshold flags, refusing values that would make a verdict meaningless."""
    thresholds = Thresholds(
        min_loss_rise_percent=args.min_loss_rise_percent,
        min_accuracy_rise_points=args.min_accuracy_rise_points,
        significance_level=args.significance_level,
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
    thresholds.rules  # noqa: B018 (checks the significance level)
    return thresholds


def read_seeds(histories: Sequence[Path], metrics: Sequence[Path], diagnostics: Sequence[Path]) -> list[tuple]:
    """Every seed's three files, checked one by one and against each other."""
    if not len(histories) == len(metrics) == len(diagnostics):
        raise PipelineError(
            f"--history, --metrics and --diagnostics name {len(histories)}, {len(metrics)} and {len(diagnostics)} "
            "files; give one of each per seed, in the same order"
        )
    seeds, seen = [], {}
    for history_path, metrics_path, diagnostics_path in zip(histories, metrics, diagnostics, strict=True):
        history = parse_history(read_json(history_path), history_path)
        metric = parse_metrics(read_json(metrics_path), metrics_path, history, history_path)
        diagnostic = read_diagnostics(diagnostics_path)
        check_same_run(history, diagnostic, history_path, diagnostics_path)
        seed = history["settings"].get("seed")
        if seed in seen:
            raise PipelineError(f"{history_path} and {seen[seed]} are both runs of seed {seed}; give each seed once")
        seen[seed] = history_path
        seeds.append((history, diagnostic, metric))
    return seeds


def build_parser() -> ArgumentParser:
    """The flags: each seed's three files, the CNN's two, the verdicts to write, and the thresholds (config)."""
    parser = ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--history",
        type=input_file,
        nargs="+",
        required=True,
        help="history.json of the unregularised network, one per seed (the first is drawn in detail)",
    )
    parser.add_argument(
        "--metrics", type=input_file, nargs="+", required=True, help="metrics.json of the same runs, in the same order"
    )
    parser.add_argument(
        "--diagnostics",
        type=input_file,
        nargs="+",
        required=True,
        help="diagnostics.npz of the same runs, in the same order",
    )
    parser.add_argument("--cnn-history", type=input_file, required=True, help="history.json of the regularised CNN")
    parser.add_argument("--cnn-metrics", type=input_file, required=True, help="metrics.json of the regularised CNN")
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
        "--significance-level",
        type=float,
        required=True,
        help="level at which the exact McNemar test calls an accuracy change significant "
        "(config: overfitting.significance_level)",
    )
    parser.add_argument(
        "--min-wrong-share-of-rise",
        type=float,
        required=True,
        help="smallest fraction of the loss rise that must come from wrong predictions "
        "(config: overfitting.min_wrong_share_of_rise)",
    )
    parser.add_argument("--min-removed-percent", type=float, required=True,
                        help="smallest share of the loss rise, in %%, that temperature scaling must remove "
                        "(config: overfitting.min_removed_percent)")  # fmt: skip
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    """Parse the flags, check every claim on every seed and write the verdicts and facts."""
    args = build_parser().parse_args(argv)
    thresholds = parse_thresholds(args)
    seeds = read_seeds(args.history, args.metrics, args.diagnostics)
    cnn = parse_cnn(read_json(args.cnn_history), args.cnn_history, read_json(args.cnn_metrics), args.cnn_metrics)
    result = check_claims(seeds, cnn, thresholds)
    write_json(args.output, result)
    for claim in result["claims"]:
        print(f"{claim['verdict']:>13}: {claim['claim']} (measured: {claim['measured']})")
    print(f"{result['summary']['supported']} of {result['summary']['total']} claims supported; {result['outcome']}")
    print(result["facts"]["headline"]["text"])


if __name__ == "__main__":
    sys.exit(run_cli(main))
