"""Names and checked readers shared by the backpropagation explainer's scripts (no torch, no matplotlib).

``backprop/puzzle.py`` writes ``puzzle.json`` (the story's rounds) and ``backprop/network.py`` writes
``history.npz`` (one row per training step) and ``metrics.json``. The claims check (``backprop/claims.py``) and
the six figures (``backprop/figures/*.py``) read them through the functions here, which turn a missing, truncated
or inconsistent file into a ``PipelineError`` naming the file and the key, instead of a plausible-looking wrong
chart. ``network.py`` imports only the names.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any

import numpy as np

from kit.cli import PipelineError
from kit.io import load_npz, read_json

#: The network's layers from the input side to the output, named after the story's three people.
LAYERS: tuple[str, ...] = ("tom", "dick", "harry")
PEOPLE: dict[str, str] = {"tom": "Tom", "dick": "Dick", "harry": "Harry"}

#: Each person's (and layer's) index into kit.plotstyle's ``PALETTE`` and ``LINESTYLES``: Tom, Dick and Harry keep
#: one colour and one dash pattern in every figure, the puzzle's and the network's alike.
PERSON_INDEX: dict[str, int] = {"Tom": 0, "Dick": 1, "Harry": 2}

#: The hops of the backward message, in the order it travels (Harry first).
MESSAGE_STAGES: tuple[str, ...] = ("harry", "harry_to_dick", "dick", "dick_to_tom", "tom")

#: Arrays every history holds: per-step rows (step 1..N) and evaluation rows (at the steps in ``eval_step``).
STEP_KEYS: tuple[str, ...] = (
    "step",
    "batch_loss",
    "batch_loss_autograd",
    *(f"grad_norm_{layer}" for layer in LAYERS),
    *(f"relative_error_{layer}" for layer in LAYERS),
    *(f"message_{stage}" for stage in MESSAGE_STAGES),
)
EVAL_KEYS: tuple[str, ...] = ("eval_step", "train_loss", "train_accuracy", "test_loss", "test_accuracy")

#: The seeded sample of weight-gradient entries at step 1, by hand and by autograd (read with ``extra``).
FIRST_SAMPLES: tuple[str, ...] = tuple(
    f"sample_first_{method}_{layer}" for method in ("manual", "autograd") for layer in LAYERS
)

#: Spacing of float64 numbers near 1: a difference of about this much times a value is rounding, nothing more.
EPSILON = float(np.finfo(np.float64).eps)

RERUN_BACKPROP = "rerun the backprop step"
RERUN_PUZZLE = "rerun the puzzle step"


def read_history(path: str | os.PathLike[str], extra: Iterable[str] = ()) -> dict[str, np.ndarray]:
    """Load ``history.npz`` and check that every per-step array has one finite value per step.

    ``extra`` names further arrays a caller needs (such as the sampled gradient entries).
    """
    arrays = load_npz(path)
    missing = [key for key in (*STEP_KEYS, *EVAL_KEYS, *extra) if key not in arrays]
    if missing:
        raise PipelineError(f"{path}: missing array(s) {', '.join(missing)}; {RERUN_BACKPROP}")
    steps = len(arrays["step"])
    if steps == 0 or not np.array_equal(arrays["step"], np.arange(1, steps + 1)):
        raise PipelineError(f"{path}: 'step' must count 1, 2, ... with at least one step; {RERUN_BACKPROP}")
    n_eval = len(arrays["eval_step"])
    for keys, length, what in ((STEP_KEYS, steps, "step"), (EVAL_KEYS, n_eval, "evaluation")):
        for key in keys:
            values = np.asarray(arrays[key], dtype=np.float64)
            if values.shape != (length,):
                raise PipelineError(
                    f"{path}: '{key}' has shape {values.shape}, expected one value per {what} ({length}); "
                    f"{RERUN_BACKPROP}"
                )
            if not np.all(np.isfinite(values)):
                raise PipelineError(f"{path}: '{key}' holds NaN or infinite values; {RERUN_BACKPROP}")
    eval_steps = arrays["eval_step"]
    if eval_steps[0] != 0 or eval_steps[-1] != steps or np.any(np.diff(eval_steps) <= 0):
        raise PipelineError(f"{path}: 'eval_step' must rise from 0 to the last step ({steps}); {RERUN_BACKPROP}")
    return arrays


def read_metrics(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Load ``metrics.json`` from network.py and check the parts the figures and claims use."""
    metrics = read_json(path)
    if not isinstance(metrics, dict):
        raise PipelineError(f"{path}: expected a JSON object written by backprop/network.py; {RERUN_BACKPROP}")
    for key in ("settings", "agreement", "initial", "final", "n_train", "n_test", "message_factor", "layers",
                "worked_example", "zero_gradients"):  # fmt: skip
        if key not in metrics:
            raise PipelineError(f"{path}: missing key {key!r}; {RERUN_BACKPROP}")
    for key in ("tolerance", "max_relative_error", "layers", "checked_steps"):
        if key not in metrics["agreement"]:
            raise PipelineError(f"{path}: 'agreement' lacks {key!r}; {RERUN_BACKPROP}")
    return metrics


def read_puzzle(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Load ``puzzle.json`` and check that its rounds add up: each round starts where the last one ended,
    and each person's wrong count falls by exactly the pieces he fixed."""
    puzzle = read_json(path)
    if not isinstance(puzzle, dict):
        raise PipelineError(f"{path}: expected a JSON object written by backprop/puzzle.py; {RERUN_PUZZLE}")
    for key in ("people", "pieces", "positions", "n_pieces", "initial_wrong", "initial_wrong_positions",
                "announced_wrong", "rounds", "totals", "settings"):  # fmt: skip
        if key not in puzzle:
            raise PipelineError(f"{path}: missing key {key!r}; {RERUN_PUZZLE}")
    people = puzzle["people"]
    if sorted(people) != sorted(PEOPLE.values()):
        raise PipelineError(f"{path}: 'people' must be Tom, Dick and Harry, got {people!r}; {RERUN_PUZZLE}")
    state = dict(puzzle["initial_wrong"])
    for number, rnd in enumerate(puzzle["rounds"], start=1):
        if rnd.get("round") != number or rnd.get("wrong_before") != state:
            raise PipelineError(f"{path}: round {number} does not start where the previous one ended; {RERUN_PUZZLE}")
        expected = {person: state[person] - rnd["fixes"][person] for person in people}
        if rnd.get("wrong_after") != expected or any(value < 0 for value in expected.values()):
            raise PipelineError(f"{path}: round {number}: wrong counts and fixes do not add up; {RERUN_PUZZLE}")
        state = expected
    totals = [sum(puzzle["initial_wrong"].values())] + [r["total_after"] for r in puzzle["rounds"]]
    if puzzle["totals"] != totals:
        raise PipelineError(f"{path}: 'totals' does not match the rounds; {RERUN_PUZZLE}")
    return puzzle


# --------------------------------------------------------------------------------------------------------
# Small helpers the figures share
# --------------------------------------------------------------------------------------------------------

_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")

#: The multiplication sign (written as an escape: ruff flags the literal as look-alike of "x").
TIMES = "\u00d7"


def scientific(value: float, digits: int = 1) -> str:
    """``3.49e-15`` as ``3.5 x 10⁻¹⁵`` (with a real multiplication sign): how titles and alt texts write very
    small numbers."""
    if value == 0:
        return "0"
    mantissa, exponent = f"{value:.{digits}e}".split("e")
    return f"{mantissa} {TIMES} 10{str(int(exponent)).translate(_SUPERSCRIPT)}"


def factor(value: float) -> str:
    """A hop's factor: two decimals, or two significant digits below 0.01 (so a tiny factor is not "0.00"),
    written with a power of ten below 0.001."""
    if abs(value) >= 0.01 or value == 0:
        return f"{value:.2f}"
    return f"{value:.2g}" if abs(value) >= 0.001 else scientific(value, 1)


def share(value: float) -> str:
    """A ratio as a percentage: whole percents, or two significant digits below 1 % (so it is not "0 %")."""
    if abs(value) >= 0.01 or value == 0:
        return f"{100 * value:.0f} %"
    return f"{100 * value:.2g} %" if abs(value) >= 1e-5 else f"{scientific(100 * value, 1)} %"


def check_window(window: int) -> None:
    """The trailing mean needs at least one step per window; refuse anything less, naming the flag."""
    if window < 1:
        raise PipelineError(f"--window must be at least 1, got {window}")


def effective_window(window: int, history: dict[str, np.ndarray]) -> int:
    """The trailing mean's window as drawn: no longer than the run (a 20-step run averaged "over 25 steps" would
    state a window the run never had)."""
    return max(1, min(window, len(history["step"])))


def moving_average(values: np.ndarray, window: int) -> np.ndarray:
    """Trailing mean over the last ``window`` steps (fewer at the start), to show the trend of noisy per-batch
    numbers without hiding where they start."""
    values = np.asarray(values, dtype=np.float64)
    sums = np.cumsum(np.concatenate([[0.0], values]))
    ends = np.arange(1, len(values) + 1)
    starts = np.maximum(ends - window, 0)
    return (sums[ends] - sums[starts]) / (ends - starts)


def rises(values: np.ndarray) -> int:
    """How many values are higher than the one before (a loss "rising at N of M evaluations")."""
    return int(np.sum(np.diff(np.asarray(values, dtype=np.float64)) > 0))


def entry_counts(history: dict[str, np.ndarray]) -> dict[str, Any]:
    """The sampled step-1 entries (``FIRST_SAMPLES``): how many per layer, how many are identical by hand and by
    autograd, how many differ by at most four times float64 rounding of their own size, how many are 0 in both."""
    samples, identical, within, zero = {}, 0, 0, 0
    for layer in LAYERS:
        manual = np.asarray(history[f"sample_first_manual_{layer}"], dtype=np.float64)
        reference = np.asarray(history[f"sample_first_autograd_{layer}"], dtype=np.float64)
        difference, size = np.abs(manual - reference), np.abs(reference)
        samples[layer] = int(manual.size)
        identical += int(np.sum(difference == 0))
        within += int(np.sum(difference <= 4 * EPSILON * size))
        zero += int(np.sum((size == 0) & (manual == 0)))
    return {
        "samples": samples,
        "total": sum(samples.values()),
        "identical": identical,
        "within_rounding": within,
        "zero": zero,
    }
