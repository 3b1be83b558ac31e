"""Readers for the training step's outputs, checked once so that every overfitting figure can trust them.

``models/train.py`` writes three files per model under ``results/models/{model}/seed-{seed}/``: ``history.json``
(one value per epoch for each quantity), ``diagnostics.npz`` (validation logits at the best and the last epoch,
test logits) and ``metrics.json`` (test accuracy, confusion matrix, calibration numbers). The figure scripts read them
through the functions here, which turn a missing, truncated or inconsistent file into a ``PipelineError``
that names the file and the key and says to rerun the train step, instead of a plausible-looking wrong chart.

No torch and no matplotlib here: the claims check reads histories through the same checks without the
plotting stack, and no figure script needs the training stack. The drawing helpers the epoch charts share
live in ``kit/plotstyle.py``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from typing import Any

import numpy as np

from kit.cli import PipelineError
from kit.io import load_npz, read_json
from models.calibration import NULLABLE_KEYS

RERUN = "rerun the train step"

#: What models/train.py writes into the ``format`` of a weights file's JSON ``meta`` entry; readers refuse others.
WEIGHTS_FORMAT = "ml-explainers-cnn/1"

#: Columns every history has and every curve needs; a figure asks for more with ``read_model_history(columns=...)``.
BASE_COLUMNS: tuple[str, ...] = ("epoch", "train_loss", "train_accuracy", "val_loss", "val_accuracy")

#: Per-epoch means over a group of validation examples: ``null`` in the file when the group is empty.
NULLABLE_COLUMNS: frozenset[str] = NULLABLE_KEYS

#: Columns that hold fractions (accuracies, shares, probabilities, ECE) and so must lie in [0, 1].
FRACTION_COLUMNS: frozenset[str] = frozenset(
    {
        "train_accuracy",
        "val_accuracy",
        "val_loss_wrong_share",
        "val_confidence_mean",
        "val_confidence_correct_mean",
        "val_confidence_wrong_mean",
        "val_ece",
    }
)

#: Columns that hold counts of validation examples.
COUNT_COLUMNS: frozenset[str] = frozenset({"val_n_correct", "val_n_wrong"})

#: Arrays of ``diagnostics.npz`` and their number of dimensions.
DIAGNOSTIC_ARRAYS: dict[str, int] = {
    "val_labels": 1,
    "val_logits_best": 2,
    "val_logits_last": 2,
    "val_loss_best": 1,
    "val_loss_last": 1,
    "best_epoch": 0,
    "last_epoch": 0,
    "test_labels": 1,
    "test_logits": 2,
    "test_index": 1,
}

#: Keys of ``metrics.json`` that the figures read.
METRICS_KEYS: tuple[str, ...] = ("model", "n_test", "test_accuracy", "class_names", "confusion_matrix")

#: How far a stored best epoch's validation loss may sit above the minimum (rounding in the JSON file).
BEST_EPOCH_TOLERANCE = 1e-9


def bad(path: str | os.PathLike[str], what: str) -> PipelineError:
    """An error naming ``path`` and what is wrong with it, ending with what to do."""
    return PipelineError(f"{path}: {what}; {RERUN}")


def column_array(path: str | os.PathLike[str], name: str, values: Any, length: int | None) -> np.ndarray:
    """One history column as a float array (``null`` -> NaN where allowed), checked for length and range.

    A bad value is reported with its epoch, so a reader can find it in the file.
    """
    if not isinstance(values, list) or not values:
        raise bad(path, f"history column '{name}' is missing or not a non-empty list")
    if length is not None and len(values) != length:
        raise bad(path, f"history column '{name}' has {len(values)} values but 'epoch' has {length}")

    def first(problem: str, wrong: Iterable[bool]) -> None:
        epochs = [index + 1 for index, is_wrong in enumerate(wrong) if is_wrong]
        if epochs:
            raise bad(path, f"history column '{name}' {problem} (epoch {epochs[0]})")

    first("holds null values", (v is None and name not in NULLABLE_COLUMNS for v in values))
    first(
        "holds values that are not numbers",
        (v is not None and (not isinstance(v, (int, float)) or isinstance(v, bool)) for v in values),
    )
    array = np.array([np.nan if v is None else v for v in values], dtype=np.float64)
    present = np.array([v is not None for v in values])
    first("holds non-finite values", present & ~np.isfinite(array))
    with np.errstate(invalid="ignore"):
        if name in FRACTION_COLUMNS:
            first("must hold fractions from 0 to 1 (not percent)", present & ((array < 0) | (array > 1)))
        if name.endswith("_loss") or "_loss_" in name:
            first("holds negative losses", present & (array < 0))
        if name == "temperature":
            first("must be positive", present & (array <= 0))
        if name in COUNT_COLUMNS:
            first("must hold non-negative whole counts", present & ((array < 0) | (array != np.round(array))))
    return array


def read_model_history(path: str | os.PathLike[str], columns: Iterable[str] = ()) -> dict[str, Any]:
    """Read ``history.json`` and return it checked (``check_history``)."""
    return check_history(read_json(path), path, columns)


def check_history(data: Any, path: str | os.PathLike[str], columns: Iterable[str] = ()) -> dict[str, Any]:
    """Check a ``history.json`` document; return its header and the wanted columns as float arrays.

    Returns ``{"model", "settings", "n_train", "n_validation", "n_classes", "best_epoch", "epochs",
    "history": {column: array}}`` with ``BASE_COLUMNS`` plus ``columns``; ``epoch`` is an int array 1..E,
    ``null`` entries of group means become NaN. Why check ``best_epoch`` against ``val_loss``: the figures
    mark it and the prose quotes it, so a stale or hand-edited value must not pass silently.
    """
    if not isinstance(data, dict):
        raise bad(path, "is not a JSON object")
    history = data.get("history")
    if not isinstance(history, dict):
        raise bad(path, "has no 'history' object")
    wanted = list(dict.fromkeys([*BASE_COLUMNS, *columns]))
    missing = [name for name in wanted if name not in history]
    if missing:
        raise bad(path, f"history lacks column(s) {', '.join(repr(m) for m in missing)}")
    epochs = len(history["epoch"]) if isinstance(history["epoch"], list) else None
    arrays = {name: column_array(path, name, history[name], epochs) for name in wanted}
    epoch = arrays["epoch"]
    if not np.array_equal(epoch, np.arange(1, epoch.size + 1)):
        raise bad(path, "history column 'epoch' must count 1, 2, ... without gaps")
    arrays["epoch"] = epoch.astype(np.int64)

    best = data.get("best_epoch")
    if not isinstance(best, int) or isinstance(best, bool) or not 1 <= best <= epoch.size:
        raise bad(path, f"'best_epoch' must be an epoch from 1 to {epoch.size}, got {best!r}")
    val_loss = arrays["val_loss"]
    if val_loss[best - 1] > val_loss.min() * (1 + BEST_EPOCH_TOLERANCE):
        raise bad(
            path,
            f"'best_epoch' {best} has validation loss {val_loss[best - 1]:.6g}, but epoch "
            f"{int(np.argmin(val_loss)) + 1} has the lower {val_loss.min():.6g}",
        )
    header = {key: data.get(key) for key in ("model", "n_train", "n_validation", "n_classes")}
    for key in ("n_train", "n_validation", "n_classes"):
        if not isinstance(header[key], int) or header[key] < 1:
            raise bad(path, f"'{key}' must be a positive whole number, got {header[key]!r}")
    if not isinstance(header["model"], str) or not header["model"]:
        raise bad(path, "'model' must name the model")
    if "val_n_correct" in arrays and "val_n_wrong" in arrays:
        totals = arrays["val_n_correct"] + arrays["val_n_wrong"]
        if np.any(totals != header["n_validation"]):
            epoch_no = int(np.argmax(totals != header["n_validation"])) + 1
            raise bad(
                path,
                f"'val_n_correct' + 'val_n_wrong' is {int(totals[epoch_no - 1])} at epoch {epoch_no}, "
                f"but 'n_validation' is {header['n_validation']}",
            )
    settings = data.get("settings")
    return {
        **header,
        "settings": settings if isinstance(settings, dict) else {},
        "best_epoch": best,
        "epochs": int(epoch.size),
        "history": arrays,
    }


def read_diagnostics(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Load ``diagnostics.npz`` and check the arrays' shapes, labels and epochs against each other.

    Returns the arrays (labels and indices as int64, logits and losses as float64) with ``best_epoch`` and
    ``last_epoch`` as plain ints. Why check that the logits are finite and the labels in range here: a
    single NaN would otherwise slip through argmax and histogram code as a silently wrong count.
    """
    arrays = load_npz(path)
    missing = [name for name in DIAGNOSTIC_ARRAYS if name not in arrays]
    if missing:
        raise bad(path, f"missing array(s) {', '.join(missing)}")
    for name, ndim in DIAGNOSTIC_ARRAYS.items():
        if arrays[name].ndim != ndim:
            raise bad(path, f"array '{name}' has shape {arrays[name].shape}, expected {ndim} dimension(s)")
    out: dict[str, Any] = {}
    for name in ("val_labels", "test_labels", "test_index"):
        if not np.issubdtype(arrays[name].dtype, np.integer):
            raise bad(path, f"array '{name}' must hold integers, got {arrays[name].dtype}")
        out[name] = arrays[name].astype(np.int64)
    for name in ("val_logits_best", "val_logits_last", "val_loss_best", "val_loss_last", "test_logits"):
        out[name] = arrays[name].astype(np.float64)
        if not np.all(np.isfinite(out[name])):
            raise bad(path, f"array '{name}' holds non-finite values")
    for name in ("best_epoch", "last_epoch"):
        out[name] = int(arrays[name])

    n_val, n_test = out["val_labels"].size, out["test_labels"].size
    n_classes = out["val_logits_best"].shape[1]
    for name, rows in (
        ("val_logits_best", n_val),
        ("val_logits_last", n_val),
        ("val_loss_best", n_val),
        ("val_loss_last", n_val),
        ("test_logits", n_test),
        ("test_index", n_test),
    ):
        if out[name].shape[0] != rows or (out[name].ndim == 2 and out[name].shape[1] != n_classes):
            raise bad(path, f"array '{name}' has shape {out[name].shape}, which does not match the labels")
    if n_val == 0 or n_test == 0 or n_classes < 2:
        raise bad(path, "holds no validation or test examples")
    for name in ("val_labels", "test_labels"):
        if out[name].min() < 0 or out[name].max() >= n_classes:
            raise bad(path, f"array '{name}' holds labels outside 0..{n_classes - 1}")
    if np.any(out["val_loss_best"] < 0) or np.any(out["val_loss_last"] < 0):
        raise bad(path, "per-example losses must not be negative")
    if not 1 <= out["best_epoch"] <= out["last_epoch"]:
        raise bad(path, f"'best_epoch' {out['best_epoch']} must lie from 1 to 'last_epoch' {out['last_epoch']}")
    if np.unique(out["test_index"]).size != n_test or out["test_index"].min() < 0:
        raise bad(path, "array 'test_index' must hold distinct, non-negative positions in the test split")
    return out


def read_model_metrics(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a model's ``metrics.json`` and check the confusion matrix against the class names and accuracy.

    Returns the file's dict with ``confusion_matrix`` replaced by an int64 array. Why cross-check: the
    confusion figure's title quotes ``test_accuracy`` while its cells show counts; both must tell one story.
    """
    data = read_json(path)
    if not isinstance(data, dict):
        raise bad(path, "is not a JSON object")
    missing = [key for key in METRICS_KEYS if key not in data]
    if missing:
        raise bad(path, f"lacks key(s) {', '.join(repr(m) for m in missing)}")
    names = data["class_names"]
    if not isinstance(names, list) or len(names) < 2 or not all(isinstance(n, str) and n for n in names):
        raise bad(path, "'class_names' must be a list of class names")
    matrix = data["confusion_matrix"]
    k = len(names)
    if (
        not isinstance(matrix, list)
        or len(matrix) != k
        or not all(isinstance(row, list) and len(row) == k for row in matrix)
        or not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for row in matrix for v in row)
    ):
        raise bad(path, f"'confusion_matrix' must be {k} rows of {k} non-negative whole counts")
    confusion = np.array(matrix, dtype=np.int64)
    n_test, accuracy = data["n_test"], data["test_accuracy"]
    if not isinstance(n_test, int) or confusion.sum() != n_test:
        raise bad(path, f"'confusion_matrix' counts {confusion.sum()} test images but 'n_test' is {n_test!r}")
    if not isinstance(accuracy, (int, float)) or abs(np.trace(confusion) / n_test - accuracy) > 1e-6:
        raise bad(
            path,
            f"'test_accuracy' {accuracy!r} differs from the confusion matrix's {np.trace(confusion) / n_test:.6f}",
        )
    return {**data, "confusion_matrix": confusion}


def read_weights_file(path: str | os.PathLike[str]) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """A trained network's named arrays and its JSON ``meta`` entry, checked, without torch or unpickling.

    Why here: ``models.train.load_weights`` (which rebuilds the network) and ``convolutions/compute.py`` (which
    needs only the first layers' arrays and the normalisation) read the same file; one reader gives both the same
    format check and the same errors. ``meta`` holds ``format``, ``settings`` and the normalisation ``mean``/``std``.
    """
    arrays = load_npz(path)
    try:
        meta = json.loads(str(arrays["meta"]))
        mean, std = float(meta["mean"]), float(meta["std"])
    except (KeyError, TypeError, ValueError):  # json.JSONDecodeError is a ValueError
        raise bad(path, "has no readable 'meta' entry with the format and the normalisation mean and std") from None
    if meta.get("format") != WEIGHTS_FORMAT:
        raise bad(path, f"format {meta.get('format')!r}, expected {WEIGHTS_FORMAT!r}")
    if not std > 0:
        raise bad(path, f"normalisation std {std} must be positive")
    return arrays, {**meta, "mean": mean, "std": std}
