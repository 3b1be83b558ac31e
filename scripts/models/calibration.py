"""Cross-entropy, confidence and calibration measures: the one place the overfitting diagnostics are defined.

Why a module of its own: the overfitting explainer asks why validation loss can rise while validation accuracy
also rises. The answer is read off a few numbers per epoch (the loss split into correctly and wrongly
classified examples, the confidence of each group, the expected calibration error and the loss after
temperature scaling). ``models/train.py`` calls ``epoch_diagnostics`` on the validation logits after every epoch, and
the claims check and the figures call the same functions on the saved logits, so every number in the prose is
computed by the same code.

Expected calibration error and temperature scaling follow Guo, Pleiss, Sun and Weinberger (2017), "On
Calibration of Modern Neural Networks", ICML: ECE uses equal-width confidence bins; temperature scaling divides
all logits by one scalar ``T`` chosen to minimise the validation negative log-likelihood. Dividing by a
positive ``T`` never changes the predicted class, so accuracy stays the same and any loss it removes was
over-confidence, not lost discrimination.

Numpy only (no torch), so the claims check and the figures start quickly. Everything accepts float32 or
float64 logits and computes in float64.

Usage::

    from models.calibration import epoch_diagnostics
    row = epoch_diagnostics(val_logits, val_labels)   # {"val_loss": ..., "temperature": ..., ...}
"""

from __future__ import annotations

import math

import numpy as np

from kit.cli import PipelineError
from kit.io import round_significant

#: Number of equal-width confidence bins for the reliability diagram and ECE (as in Guo et al. 2017).
N_BINS = 15

#: Search range for the inverse temperature ``beta = 1 / T``; the fitted ``T`` lies in [1e-3, 1e3].
BETA_RANGE = (1e-3, 1e3)

#: Relative step size of ``beta`` at which the temperature search stops (well below the 1e-6 asked for).
BETA_TOLERANCE = 1e-12

#: Upper bound on search steps; Newton steps usually converge in under 20, bisection alone needs about 60.
MAX_STEPS = 200

#: The per-epoch history keys ``epoch_diagnostics`` returns, in the order the spec lists them.
DIAGNOSTIC_KEYS: tuple[str, ...] = (
    "val_loss",
    "val_accuracy",
    "val_n_correct",
    "val_n_wrong",
    "val_loss_correct_mean",
    "val_loss_wrong_mean",
    "val_loss_correct_part",
    "val_loss_wrong_part",
    "val_loss_wrong_share",
    "val_confidence_mean",
    "val_confidence_correct_mean",
    "val_confidence_wrong_mean",
    "val_ece",
    "temperature",
    "val_loss_temperature_scaled",
)

#: Group means are null in an epoch where that group (right or wrong predictions) is empty.
NULLABLE_KEYS: frozenset[str] = frozenset(
    {"val_loss_correct_mean", "val_loss_wrong_mean", "val_confidence_correct_mean", "val_confidence_wrong_mean"}
)


# --------------------------------------------------------------------------------------------------------
# Input checks
# --------------------------------------------------------------------------------------------------------


def check_logits(logits: np.ndarray, name: str = "logits") -> np.ndarray:
    """Return ``logits`` as a float64 ``(n, k)`` array, refusing shapes and values no loss can be computed from.

    Why strict: a NaN or a flattened array would otherwise turn into a plausible-looking but wrong number in
    the history, and the explainer would quote it.
    """
    array = np.asarray(logits)
    if array.ndim != 2 or array.shape[0] < 1 or array.shape[1] < 2:
        raise PipelineError(
            f"{name}: expected a 2-D array (examples, classes) with at least 1 example and 2 classes, "
            f"got shape {array.shape}"
        )
    if not (np.issubdtype(array.dtype, np.floating) or np.issubdtype(array.dtype, np.integer)):
        raise PipelineError(f"{name}: expected numbers, got dtype {array.dtype}")
    array = array.astype(np.float64)
    if not np.all(np.isfinite(array)):
        bad = int(np.count_nonzero(~np.isfinite(array)))
        raise PipelineError(f"{name}: holds {bad} non-finite value(s) (NaN or inf); did the training diverge?")
    return array


def check_labels(labels: np.ndarray, n_examples: int, n_classes: int, name: str = "labels") -> np.ndarray:
    """Return ``labels`` as int64 ``(n,)``, checking that there is one per example and each names a class."""
    array = np.asarray(labels)
    if array.ndim != 1 or array.shape[0] != n_examples:
        raise PipelineError(f"{name}: expected shape ({n_examples},), one label per row of logits, got {array.shape}")
    if not np.issubdtype(array.dtype, np.integer):
        raise PipelineError(f"{name}: expected integer class labels, got dtype {array.dtype}")
    if array.min() < 0 or array.max() >= n_classes:
        raise PipelineError(
            f"{name}: labels must lie in 0..{n_classes - 1} (one per logit column), "
            f"found {int(array.min())}..{int(array.max())}"
        )
    return array.astype(np.int64)


def check_confidence(confidence: np.ndarray, correct: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return top-class probabilities in [0, 1] and matching booleans, both ``(n,)`` with ``n >= 1``."""
    conf = np.asarray(confidence)
    if conf.ndim != 1 or conf.shape[0] < 1:
        raise PipelineError(f"confidence: expected a 1-D array with at least one value, got shape {conf.shape}")
    if not (np.issubdtype(conf.dtype, np.floating) or np.issubdtype(conf.dtype, np.integer)):
        raise PipelineError(f"confidence: expected numbers, got dtype {conf.dtype}")
    conf = conf.astype(np.float64)
    if not np.all(np.isfinite(conf)) or conf.min() < 0 or conf.max() > 1:
        raise PipelineError("confidence: values must be finite probabilities in [0, 1]")
    hits = np.asarray(correct)
    if hits.shape != conf.shape:
        raise PipelineError(f"correct: expected shape {conf.shape}, one flag per confidence, got {hits.shape}")
    if hits.dtype != np.bool_:
        if not np.issubdtype(hits.dtype, np.number) or not np.all((hits == 0) | (hits == 1)):
            raise PipelineError("correct: expected booleans (or 0/1), one per confidence")
        hits = hits.astype(bool)
    return conf, hits


def check_n_bins(n_bins: int) -> int:
    """Refuse a bin count that leaves no bins (or is not a whole number)."""
    if isinstance(n_bins, bool) or not isinstance(n_bins, (int, np.integer)) or n_bins < 1:
        raise PipelineError(f"n_bins: expected a whole number >= 1, got {n_bins!r}")
    return int(n_bins)


# --------------------------------------------------------------------------------------------------------
# Probabilities and losses
# --------------------------------------------------------------------------------------------------------


def log_softmax(logits: np.ndarray) -> np.ndarray:
    """Log-probabilities of each class, computed stably by subtracting each row's largest logit first."""
    z = check_logits(logits)
    shifted = z - z.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


def softmax(logits: np.ndarray) -> np.ndarray:
    """Class probabilities; rows sum to 1."""
    return np.exp(log_softmax(logits))


def per_example_loss(logits: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Natural-log cross-entropy of each example, ``-log p(true class)``, the loss the model is trained on."""
    log_p = log_softmax(logits)
    y = check_labels(labels, *log_p.shape)
    return -log_p[np.arange(len(y)), y]


def confidences(logits: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Top-class probability and predicted class of each example (the first class wins a tie, like argmax)."""
    log_p = log_softmax(logits)
    predicted = log_p.argmax(axis=1)
    return np.exp(log_p[np.arange(len(predicted)), predicted]), predicted.astype(np.int64)


def _group_mean(values: np.ndarray, mask: np.ndarray) -> float | None:
    """Mean of ``values`` where ``mask`` holds, or None for an empty group (a mean of nothing is not 0)."""
    return math.fsum(values[mask]) / int(mask.sum()) if mask.any() else None


def loss_split(logits: np.ndarray, labels: np.ndarray) -> dict:
    """Split the mean loss into the part from correctly and from wrongly classified examples.

    Why: the puzzle's explanation is that the validation loss rises because the examples already wrong get
    more confidently wrong. ``loss_correct_part`` and ``loss_wrong_part`` are each group's loss sum divided by
    all ``N`` examples, so the two add up to the mean loss and each one's change shows where a rise comes from.
    ``loss_wrong_share`` is the wrong part over the mean loss (0 when the loss is exactly 0, leaving nothing
    to share). Group means are None when a group is empty.
    """
    z = check_logits(logits)
    y = check_labels(labels, *z.shape)
    losses = per_example_loss(z, y)
    confidence, predicted = confidences(z)
    correct = predicted == y
    n = len(y)
    loss_mean = math.fsum(losses) / n
    wrong_part = math.fsum(losses[~correct]) / n
    return {
        "n_correct": int(correct.sum()),
        "n_wrong": int(n - correct.sum()),
        "accuracy": float(correct.mean()),
        "loss_mean": loss_mean,
        "loss_correct_mean": _group_mean(losses, correct),
        "loss_wrong_mean": _group_mean(losses, ~correct),
        "loss_correct_part": math.fsum(losses[correct]) / n,
        "loss_wrong_part": wrong_part,
        "loss_wrong_share": wrong_part / loss_mean if loss_mean > 0 else 0.0,
        "confidence_mean": math.fsum(confidence) / n,
        "confidence_correct_mean": _group_mean(confidence, correct),
        "confidence_wrong_mean": _group_mean(confidence, ~correct),
    }


# --------------------------------------------------------------------------------------------------------
# Calibration
# --------------------------------------------------------------------------------------------------------


def bin_index(confidence: np.ndarray, n_bins: int) -> np.ndarray:
    """Bin of each confidence: bin ``b`` holds ``(b/n, (b+1)/n]`` and bin 0 also holds exactly 0.

    Why these edges: they are the convention of Guo et al.'s reference code, and computing each edge as
    one division ``b / n`` lets a confidence equal to a printed edge land in the bin a reader expects.
    """
    edges = np.arange(n_bins + 1) / n_bins
    return np.clip(np.searchsorted(edges, confidence, side="left") - 1, 0, n_bins - 1)


def reliability_bins(confidence: np.ndarray, correct: np.ndarray, n_bins: int = N_BINS) -> dict:
    """Per-bin counts, mean confidence and accuracy: the data of a reliability diagram.

    A calibrated model's accuracy in each bin equals its mean confidence there. Empty bins report None for
    both means, so a plot leaves them out instead of drawing a bar at 0.
    """
    conf, hits = check_confidence(confidence, correct)
    n_bins = check_n_bins(n_bins)
    index = bin_index(conf, n_bins)
    edges = np.arange(n_bins + 1) / n_bins
    result: dict[str, list] = {"lower": [], "upper": [], "count": [], "mean_confidence": [], "accuracy": []}
    for b in range(n_bins):
        members = index == b
        result["lower"].append(float(edges[b]))
        result["upper"].append(float(edges[b + 1]))
        result["count"].append(int(members.sum()))
        result["mean_confidence"].append(_group_mean(conf, members))
        result["accuracy"].append(_group_mean(hits.astype(np.float64), members))
    return result


def expected_calibration_error(confidence: np.ndarray, correct: np.ndarray, n_bins: int = N_BINS) -> float:
    """ECE = sum over bins of (n_b / N) |accuracy_b - mean confidence_b| (Guo et al. 2017), in [0, 1].

    Computed as ``sum_b |hits_b - confidence sum_b| / N``, the same quantity without dividing and
    multiplying back by each bin's count.
    """
    conf, hits = check_confidence(confidence, correct)
    index = bin_index(conf, check_n_bins(n_bins))
    gaps = [abs(math.fsum(hits[index == b]) - math.fsum(conf[index == b])) for b in np.unique(index)]
    return math.fsum(gaps) / len(conf)


def logits_ece(logits: np.ndarray, labels: np.ndarray, temperature: float = 1.0, n_bins: int = N_BINS) -> float:
    """ECE of the predictions ``softmax(logits / temperature)``: the temperature changes the confidences, never
    the predicted classes. Why a helper: the held-out check applies the temperature fitted on the validation
    images to the test images' logits, and the figures and ``models/train.py`` must compute it the same way."""
    if not (math.isfinite(temperature) and temperature > 0):
        raise PipelineError(f"temperature: expected a finite number > 0, got {temperature!r}")
    z = check_logits(logits)
    y = check_labels(labels, *z.shape)
    confidence, predicted = confidences(z / temperature)
    return expected_calibration_error(confidence, predicted == y, n_bins)


def _nll_slope_curvature(shifted: np.ndarray, rows: np.ndarray, labels: np.ndarray, beta: float) -> tuple[float, float]:
    """First and second derivative of the mean NLL of ``softmax(beta * z)`` with respect to ``beta``.

    d/dbeta = mean(E_p[z] - z_y), d2/dbeta2 = mean(Var_p[z]) >= 0: the NLL is convex in ``beta``.
    """
    scaled = beta * shifted
    p = np.exp(scaled - scaled.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    expected = (p * shifted).sum(axis=1)
    variance = (p * (shifted - expected[:, None]) ** 2).sum(axis=1)
    return float(np.mean(expected - shifted[rows, labels])), float(np.mean(variance))


def fit_temperature(logits: np.ndarray, labels: np.ndarray) -> float:
    """The single temperature ``T > 0`` that minimises the mean NLL of ``softmax(logits / T)``.

    Why this search: the NLL is convex in ``beta = 1 / T``, so its slope only rises and the minimum is where
    the slope crosses zero. Newton steps on ``beta`` find it in a few iterations; a bracket on the slope's
    sign, halved geometrically whenever a Newton step would leave it, makes the search converge from any
    start. The result is deterministic (no random starts) and lies in [1e-3, 1e3]; it is clipped to an end
    of that range when the NLL keeps falling, e.g. ``T = 1e-3`` when every example is right by a margin.
    Logits that are constant within every row leave the NLL flat, and ``T = 1`` is returned.
    """
    z = check_logits(logits)
    y = check_labels(labels, *z.shape)
    shifted = z - z.max(axis=1, keepdims=True)  # a row's constant never changes the softmax
    if not np.any(shifted):
        return 1.0
    rows = np.arange(len(y))
    low, high = BETA_RANGE
    if _nll_slope_curvature(shifted, rows, y, low)[0] >= 0:
        return 1.0 / low
    if _nll_slope_curvature(shifted, rows, y, high)[0] <= 0:
        return 1.0 / high
    beta = 1.0
    for _ in range(MAX_STEPS):
        slope, curvature = _nll_slope_curvature(shifted, rows, y, beta)
        if slope == 0:
            break
        if slope < 0:
            low = beta
        else:
            high = beta
        step = beta - slope / curvature if curvature > 0 else math.nan
        new_beta = step if low < step < high else math.sqrt(low * high)
        converged = abs(new_beta - beta) <= BETA_TOLERANCE * beta
        beta = new_beta
        if converged or high - low <= BETA_TOLERANCE * low:
            break
    return 1.0 / beta


# --------------------------------------------------------------------------------------------------------
# One epoch's row of the history
# --------------------------------------------------------------------------------------------------------


def epoch_diagnostics(logits: np.ndarray, labels: np.ndarray, n_bins: int = N_BINS) -> dict:
    """Every per-epoch validation number of ``history.json`` (``DIAGNOSTIC_KEYS``), as plain JSON-ready values.

    Floats are rounded to ``SIGNIFICANT_DIGITS`` significant digits; counts are ints; group means are None
    when the group is empty.
    """
    z = check_logits(logits)
    y = check_labels(labels, *z.shape)
    split = loss_split(z, y)
    confidence, predicted = confidences(z)
    temperature = fit_temperature(z, y)
    scaled_loss = math.fsum(per_example_loss(z / temperature, y)) / len(y)
    row = {
        "val_loss": split["loss_mean"],
        "val_accuracy": split["accuracy"],
        "val_n_correct": split["n_correct"],
        "val_n_wrong": split["n_wrong"],
        "val_loss_correct_mean": split["loss_correct_mean"],
        "val_loss_wrong_mean": split["loss_wrong_mean"],
        "val_loss_correct_part": split["loss_correct_part"],
        "val_loss_wrong_part": split["loss_wrong_part"],
        "val_loss_wrong_share": split["loss_wrong_share"],
        "val_confidence_mean": split["confidence_mean"],
        "val_confidence_correct_mean": split["confidence_correct_mean"],
        "val_confidence_wrong_mean": split["confidence_wrong_mean"],
        "val_ece": expected_calibration_error(confidence, predicted == y, n_bins),
        "temperature": temperature,
        "val_loss_temperature_scaled": scaled_loss,
    }
    return {key: row[key] if isinstance(row[key], int) else round_significant(row[key]) for key in DIAGNOSTIC_KEYS}
