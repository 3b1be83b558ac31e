"""scripts/calibration.py on hand-computed cases, against brute force, and as properties over random logits."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from kit.cli import PipelineError
from models.calibration import (
    DIAGNOSTIC_KEYS,
    confidences,
    epoch_diagnostics,
    expected_calibration_error,
    fit_temperature,
    log_softmax,
    logits_ece,
    loss_split,
    per_example_loss,
    reliability_bins,
    round_significant,
    softmax,
)

LN3 = math.log(3)

#: Four examples whose probabilities are simple fractions: softmax([0, ln 3]) = (1/4, 3/4),
#: softmax([0, ln 9]) = (1/10, 9/10).
LOGITS = np.array([[0.0, LN3], [0.0, LN3], [LN3, 0.0], [0.0, math.log(9)]])
LABELS = np.array([1, 0, 0, 0])  # right, wrong (3/4 on class 1), right, wrong (9/10 on class 1)


def random_case(seed: int, n: int = 300, k: int = 10, scale: float = 3.0) -> tuple[np.ndarray, np.ndarray]:
    """Random logits and labels drawn from their own softmax: a calibrated model, so T is about 1."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(0.0, scale, size=(n, k))
    probabilities = softmax(logits)
    labels = np.array([rng.choice(k, p=row) for row in probabilities])
    return logits, labels


def mean_nll(logits: np.ndarray, labels: np.ndarray, temperatures: np.ndarray) -> np.ndarray:
    """Mean cross-entropy at each temperature, computed independently of models/calibration.py."""
    scaled = logits[None, :, :] / temperatures[:, None, None]
    top = scaled.max(axis=2, keepdims=True)
    log_z = np.log(np.exp(scaled - top).sum(axis=2)) + top[..., 0]
    return (log_z - scaled[:, np.arange(len(labels)), labels]).mean(axis=1)


# --------------------------------------------------------------------------------------------------------
# Probabilities and per-example losses
# --------------------------------------------------------------------------------------------------------


def test_per_example_loss_matches_hand_values():
    logits = np.array([[0.0, LN3], [0.0, LN3], [0.0, 0.0], [math.log(2), 0.0]])
    labels = np.array([1, 0, 1, 0])
    # -ln(3/4), -ln(1/4), -ln(1/2), -ln(2/3)
    expected = [math.log(4 / 3), math.log(4), math.log(2), math.log(3 / 2)]
    np.testing.assert_allclose(per_example_loss(logits, labels), expected, rtol=1e-14)


def test_per_example_loss_three_classes():
    logits = np.array([[0.0, 0.0, 0.0], [math.log(2), 0.0, 0.0]])
    # uniform over 3 classes: ln 3; probabilities (2/4, 1/4, 1/4): -ln(1/4) for class 2
    np.testing.assert_allclose(per_example_loss(logits, np.array([2, 2])), [LN3, math.log(4)], rtol=1e-14)


def test_softmax_is_stable_for_huge_logits():
    logits = np.array([[1000.0, 0.0], [-1000.0, 1000.0]])
    np.testing.assert_allclose(per_example_loss(logits, np.array([1, 1])), [1000.0, 0.0], atol=1e-12)
    assert np.all(np.isfinite(log_softmax(logits)))
    np.testing.assert_allclose(softmax(logits).sum(axis=1), 1.0)


def test_float32_and_float64_logits_give_float64_results():
    logits32 = LOGITS.astype(np.float32)
    losses = per_example_loss(logits32, LABELS)
    assert losses.dtype == np.float64
    np.testing.assert_allclose(losses, per_example_loss(LOGITS, LABELS), rtol=1e-6)


def test_confidences_return_top_probability_and_class():
    confidence, predicted = confidences(LOGITS)
    np.testing.assert_allclose(confidence, [0.75, 0.75, 0.75, 0.9], rtol=1e-14)
    assert predicted.tolist() == [1, 1, 0, 1]
    # ties go to the first class, like argmax
    confidence, predicted = confidences(np.array([[2.0, 2.0, 0.0]]))
    assert predicted.tolist() == [0]


# --------------------------------------------------------------------------------------------------------
# The loss split
# --------------------------------------------------------------------------------------------------------


def test_loss_split_by_hand():
    split = loss_split(LOGITS, LABELS)
    right, wrong = math.log(4 / 3), [math.log(4), math.log(10)]
    assert split["n_correct"] == 2 and split["n_wrong"] == 2 and split["accuracy"] == 0.5
    assert split["loss_mean"] == pytest.approx((2 * right + sum(wrong)) / 4, rel=1e-14)
    assert split["loss_correct_part"] == pytest.approx(2 * right / 4, rel=1e-14)
    assert split["loss_wrong_part"] == pytest.approx(sum(wrong) / 4, rel=1e-14)
    assert split["loss_correct_part"] + split["loss_wrong_part"] == pytest.approx(split["loss_mean"], rel=1e-14)
    assert split["loss_correct_mean"] == pytest.approx(right, rel=1e-14)
    assert split["loss_wrong_mean"] == pytest.approx(math.log(40) / 2, rel=1e-14)
    assert split["loss_wrong_share"] == pytest.approx(math.log(40) / (2 * right + math.log(40)), rel=1e-14)
    assert split["confidence_mean"] == pytest.approx((3 * 0.75 + 0.9) / 4, rel=1e-14)
    assert split["confidence_correct_mean"] == pytest.approx(0.75, rel=1e-14)
    assert split["confidence_wrong_mean"] == pytest.approx((0.75 + 0.9) / 2, rel=1e-14)


def test_loss_split_empty_group_gives_none():
    split = loss_split(LOGITS[[0, 2]], LABELS[[0, 2]])  # both right
    assert split["n_wrong"] == 0 and split["loss_wrong_part"] == 0.0 and split["loss_wrong_share"] == 0.0
    assert split["loss_wrong_mean"] is None and split["confidence_wrong_mean"] is None
    split = loss_split(LOGITS[[1, 3]], LABELS[[1, 3]])  # both wrong
    assert split["n_correct"] == 0 and split["accuracy"] == 0.0 and split["loss_wrong_share"] == 1.0
    assert split["loss_correct_mean"] is None and split["confidence_correct_mean"] is None


# --------------------------------------------------------------------------------------------------------
# Reliability bins and ECE
# --------------------------------------------------------------------------------------------------------


def test_ece_by_hand():
    # Two bins, (0, 0.5] and (0.5, 1].
    # Bin 0: confidence 0.3, right            -> |1 - 0.3| = 0.7, weight 1/4 -> 0.175
    # Bin 1: 0.6 right, 0.8 wrong, 0.9 right  -> |2/3 - 2.3/3| = 0.1, weight 3/4 -> 0.075
    # ECE = 0.175 + 0.075 = 0.25
    confidence = np.array([0.6, 0.8, 0.9, 0.3])
    correct = np.array([True, False, True, True])
    assert expected_calibration_error(confidence, correct, n_bins=2) == pytest.approx(0.25, abs=1e-15)
    bins = reliability_bins(confidence, correct, n_bins=2)
    assert bins["lower"] == [0.0, 0.5] and bins["upper"] == [0.5, 1.0]
    assert bins["count"] == [1, 3]
    assert bins["mean_confidence"] == pytest.approx([0.3, 2.3 / 3], rel=1e-14)
    assert bins["accuracy"] == pytest.approx([1.0, 2 / 3], rel=1e-14)


def test_logits_ece_by_hand_with_and_without_a_temperature():
    # Predictions 1, 1, 0, 1 against labels 1, 0, 0, 1: right, wrong, right, right (accuracy 3/4).
    labels = np.array([1, 0, 0, 1])
    # T = 1: confidences 3/4, 3/4, 3/4, 9/10, all in bin (0.5, 1]: ECE = |3/4 - (3 * 3/4 + 9/10) / 4| = 0.0375.
    assert logits_ece(LOGITS, labels, n_bins=2) == pytest.approx(0.0375, abs=1e-15)
    # T = 2 halves every logit: [0, ln 3] / 2 gives sqrt(3) / (1 + sqrt(3)); [0, ln 9] / 2 gives 3/4. The predicted
    # classes stay, so the accuracy stays 3/4.
    c = math.sqrt(3) / (1 + math.sqrt(3))
    assert logits_ece(LOGITS, labels, 2.0, n_bins=2) == pytest.approx(abs(0.75 - (3 * c + 0.75) / 4), abs=1e-15)
    for bad in (0.0, -1.0, math.inf, math.nan):
        with pytest.raises(PipelineError, match="temperature"):
            logits_ece(LOGITS, labels, bad)


def test_ece_is_zero_when_accuracy_matches_confidence_in_every_bin():
    confidence = np.array([0.75, 0.75, 0.75, 0.75, 1.0])
    correct = np.array([1, 1, 1, 0, 1])  # 0/1 integers are accepted too
    assert expected_calibration_error(confidence, correct, n_bins=4) == pytest.approx(0.0, abs=1e-15)


@pytest.mark.parametrize(
    ("value", "n_bins", "expected_bin"),
    [
        (0.0, 15, 0),  # exactly 0 joins bin 0
        (1 / 15, 15, 0),  # an upper edge belongs to the lower bin: (0, 1/15]
        (np.nextafter(1 / 15, 1), 15, 1),
        (0.5, 2, 0),
        (1 / 3, 3, 0),
        (2 / 3, 3, 1),
        (7 / 15, 15, 6),
        (1.0, 15, 14),
        (1.0, 1, 0),
    ],
)
def test_reliability_bin_edges(value, n_bins, expected_bin):
    bins = reliability_bins(np.array([value]), np.array([True]), n_bins=n_bins)
    counts = [0] * n_bins
    counts[expected_bin] = 1
    assert bins["count"] == counts
    assert bins["lower"][expected_bin] < value <= bins["upper"][expected_bin] or value == 0.0


def test_reliability_bins_empty_bins_are_none():
    bins = reliability_bins(np.array([0.95, 0.97]), np.array([True, False]))
    assert len(bins["count"]) == 15 and sum(bins["count"]) == 2 and bins["count"][14] == 2
    assert bins["accuracy"][:14] == [None] * 14 and bins["mean_confidence"][0] is None
    assert bins["accuracy"][14] == 0.5
    np.testing.assert_allclose(bins["lower"], np.arange(15) / 15)
    np.testing.assert_allclose(bins["upper"], np.arange(1, 16) / 15)


# --------------------------------------------------------------------------------------------------------
# Temperature scaling
# --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_fit_temperature_matches_brute_force_grid(seed):
    logits, labels = random_case(seed, n=200, k=5, scale=1.0)
    logits = 3.0 * logits  # over-confident: the best T is near 3, found here without models/calibration.py
    coarse = np.linspace(0.1, 10.0, 9901)  # step 1e-3
    centre = coarse[np.argmin(mean_nll(logits, labels, coarse))]
    fine = np.linspace(centre - 2e-3, centre + 2e-3, 4001)  # step 1e-6
    nll = mean_nll(logits, labels, fine)
    grid_t = fine[np.argmin(nll)]
    fitted = fit_temperature(logits, labels)
    assert fitted == pytest.approx(grid_t, abs=2e-6)
    assert mean_nll(logits, labels, np.array([fitted]))[0] <= nll.min() + 1e-12


def test_fit_temperature_recovers_the_scale_of_a_calibrated_model():
    logits, labels = random_case(seed=3, n=4000, scale=1.5)
    base = fit_temperature(logits, labels)
    assert base == pytest.approx(1.0, abs=0.1)  # labels drawn from the model's own probabilities
    over = fit_temperature(2.5 * logits, labels)  # over-confident copy of a calibrated model
    under = fit_temperature(0.4 * logits, labels)  # under-confident copy
    assert over > 1 and under < 1
    # Scaling logits by c scales the best temperature by c exactly (up to the search tolerance).
    assert over == pytest.approx(2.5 * base, rel=1e-8)
    assert under == pytest.approx(0.4 * base, rel=1e-8)


def test_fit_temperature_lowers_the_loss_and_keeps_the_accuracy():
    logits, labels = random_case(seed=4)
    temperature = fit_temperature(3 * logits, labels)
    before = per_example_loss(3 * logits, labels).mean()
    after = per_example_loss(3 * logits / temperature, labels).mean()
    assert after < before
    assert np.array_equal(confidences(3 * logits)[1], confidences(3 * logits / temperature)[1])


def test_fit_temperature_is_deterministic_and_dtype_stable():
    logits, labels = random_case(seed=5)
    first = fit_temperature(logits, labels)
    assert fit_temperature(logits, labels) == first
    assert fit_temperature(logits.astype(np.float32), labels) == pytest.approx(first, rel=1e-6)
    assert fit_temperature(logits + 7.0, labels) == pytest.approx(first, rel=1e-9)  # a row constant changes nothing


def test_fit_temperature_edge_cases():
    # Constant rows: the loss does not depend on T, answer 1.
    assert fit_temperature(np.full((3, 4), 2.5), np.array([0, 1, 2])) == 1.0
    # Every example right: sharper is always better, T goes to the low end of its range.
    assert fit_temperature(np.array([[3.0, 0.0], [0.0, 3.0]]), np.array([0, 1])) == pytest.approx(1e-3)
    # Every example wrong: flatter is always better, T goes to the high end.
    assert fit_temperature(np.array([[3.0, 0.0], [0.0, 3.0]]), np.array([1, 0])) == pytest.approx(1e3)


# --------------------------------------------------------------------------------------------------------
# One epoch's diagnostics
# --------------------------------------------------------------------------------------------------------

SPEC_KEYS = {
    "val_loss", "val_accuracy", "val_n_correct", "val_n_wrong", "val_loss_correct_mean", "val_loss_wrong_mean",
    "val_loss_correct_part", "val_loss_wrong_part", "val_loss_wrong_share", "val_confidence_mean",
    "val_confidence_correct_mean", "val_confidence_wrong_mean", "val_ece", "temperature",
    "val_loss_temperature_scaled",
}  # fmt: skip


def test_epoch_diagnostics_has_the_spec_keys_and_is_json_ready():
    logits, labels = random_case(seed=6)
    row = epoch_diagnostics(logits.astype(np.float32), labels)
    assert set(row) == SPEC_KEYS == set(DIAGNOSTIC_KEYS)
    json.dumps(row, allow_nan=False)
    assert type(row["val_n_correct"]) is int and type(row["val_n_wrong"]) is int
    assert all(type(value) is float for key, value in row.items() if key not in {"val_n_correct", "val_n_wrong"})


def test_epoch_diagnostics_agrees_with_the_separate_functions():
    logits, labels = random_case(seed=7)
    logits = 2 * logits
    row = epoch_diagnostics(logits, labels)
    split = loss_split(logits, labels)
    confidence, predicted = confidences(logits)
    temperature = fit_temperature(logits, labels)
    expected = {
        "val_loss": split["loss_mean"],
        "val_accuracy": split["accuracy"],
        "val_loss_correct_mean": split["loss_correct_mean"],
        "val_loss_wrong_mean": split["loss_wrong_mean"],
        "val_loss_correct_part": split["loss_correct_part"],
        "val_loss_wrong_part": split["loss_wrong_part"],
        "val_loss_wrong_share": split["loss_wrong_share"],
        "val_confidence_mean": split["confidence_mean"],
        "val_confidence_correct_mean": split["confidence_correct_mean"],
        "val_confidence_wrong_mean": split["confidence_wrong_mean"],
        "val_ece": expected_calibration_error(confidence, predicted == labels),
        "temperature": temperature,
        "val_loss_temperature_scaled": per_example_loss(logits / temperature, labels).mean(),
    }
    for key, value in expected.items():
        assert row[key] == pytest.approx(value, rel=1e-9), key
        assert row[key] == round_significant(row[key])  # already rounded to 10 significant digits
    assert row["val_n_correct"] == split["n_correct"] and row["val_n_wrong"] == split["n_wrong"]
    assert row["val_loss_temperature_scaled"] <= row["val_loss"]


def test_epoch_diagnostics_with_no_wrong_examples():
    row = epoch_diagnostics(np.array([[4.0, 0.0], [0.0, 4.0]]), np.array([0, 1]))
    assert row["val_n_wrong"] == 0 and row["val_accuracy"] == 1.0
    assert row["val_loss_wrong_mean"] is None and row["val_confidence_wrong_mean"] is None
    json.dumps(row, allow_nan=False)


def test_round_significant():
    assert round_significant(1 / 3) == 0.3333333333
    assert round_significant(123456.789012345) == 123456.789
    assert round_significant(2.5e-12 / 3) == 8.333333333e-13
    assert round_significant(None) is None
    assert round_significant(0.0) == 0.0


# --------------------------------------------------------------------------------------------------------
# Properties over random logits
# --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(8))
def test_properties_over_random_logits(seed):
    rng = np.random.default_rng(100 + seed)
    n, k = int(rng.integers(1, 60)), int(rng.integers(2, 12))
    logits = rng.normal(0.0, rng.uniform(0.1, 8.0), size=(n, k))
    labels = rng.integers(0, k, size=n)
    np.testing.assert_allclose(softmax(logits).sum(axis=1), 1.0, rtol=1e-12)
    losses = per_example_loss(logits, labels)
    assert np.all(losses >= 0)
    split = loss_split(logits, labels)
    assert split["loss_correct_part"] + split["loss_wrong_part"] == pytest.approx(split["loss_mean"], rel=1e-12)
    assert 0.0 <= split["loss_wrong_share"] <= 1.0
    assert split["n_correct"] + split["n_wrong"] == n
    confidence, predicted = confidences(logits)
    assert np.all((confidence >= 1 / k - 1e-12) & (confidence <= 1))
    correct = predicted == labels
    ece = expected_calibration_error(confidence, correct)
    assert 0.0 <= ece <= 1.0
    bins = reliability_bins(confidence, correct)
    assert sum(bins["count"]) == n
    by_bins = sum(
        count / n * abs(acc - conf)
        for count, acc, conf in zip(bins["count"], bins["accuracy"], bins["mean_confidence"], strict=True)
        if count
    )
    assert ece == pytest.approx(by_bins, abs=1e-12)
    temperature = fit_temperature(logits, labels)
    assert 1e-3 <= temperature <= 1e3
    assert per_example_loss(logits / temperature, labels).mean() <= losses.mean() + 1e-12


# --------------------------------------------------------------------------------------------------------
# Bad input
# --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("logits", "labels", "name"),
    [
        (np.zeros(4), np.zeros(4, dtype=int), "logits"),  # 1-D
        (np.zeros((0, 3)), np.zeros(0, dtype=int), "logits"),  # no examples
        (np.zeros((2, 1)), np.zeros(2, dtype=int), "logits"),  # one class
        (np.array([[0.0, np.nan]]), np.array([0]), "logits"),
        (np.array([[0.0, np.inf]]), np.array([0]), "logits"),
        (np.array([["a", "b"]]), np.array([0]), "logits"),
        (np.zeros((2, 3)), np.zeros(3, dtype=int), "labels"),  # wrong length
        (np.zeros((2, 3)), np.zeros((2, 1), dtype=int), "labels"),  # wrong shape
        (np.zeros((2, 3)), np.array([0, 3]), "labels"),  # out of range
        (np.zeros((2, 3)), np.array([-1, 0]), "labels"),
        (np.zeros((2, 3)), np.array([0.0, 1.0]), "labels"),  # not integers
    ],
)
@pytest.mark.parametrize("function", [per_example_loss, loss_split, fit_temperature, epoch_diagnostics])
def test_bad_logits_or_labels_raise_naming_the_argument(function, logits, labels, name):
    with pytest.raises(PipelineError, match=f"^{name}:"):
        function(logits, labels)


@pytest.mark.parametrize(
    ("confidence", "correct", "n_bins", "name"),
    [
        (np.array([0.5, 1.2]), np.array([True, False]), 15, "confidence"),
        (np.array([0.5, np.nan]), np.array([True, False]), 15, "confidence"),
        (np.array([[0.5]]), np.array([[True]]), 15, "confidence"),
        (np.array([]), np.array([], dtype=bool), 15, "confidence"),
        (np.array([0.5, 0.7]), np.array([True]), 15, "correct"),
        (np.array([0.5, 0.7]), np.array([2, 0]), 15, "correct"),
        (np.array([0.5, 0.7]), np.array([True, False]), 0, "n_bins"),
        (np.array([0.5, 0.7]), np.array([True, False]), 2.5, "n_bins"),
    ],
)
@pytest.mark.parametrize("function", [reliability_bins, expected_calibration_error])
def test_bad_confidence_input_raises_naming_the_argument(function, confidence, correct, n_bins, name):
    with pytest.raises(PipelineError, match=f"^{name}:"):
        function(confidence, correct, n_bins=n_bins)
