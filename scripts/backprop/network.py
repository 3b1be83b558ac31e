"""Backpropagation by hand and by autograd: a three-layer network named Tom, Dick and Harry on Fashion-MNIST.

The network is the puzzle story made real. Tom is the first layer (784 pixels -> ``h1`` units), Dick the second
(``h1`` -> ``h2``), Harry the output layer (``h2`` -> 10 class scores); the hidden layers use a sigmoid (or ReLU)
and the loss is the mean softmax cross-entropy. Everything is float64.

Every training step computes the gradients twice on the same mini-batch:

* by hand with NumPy: the forward pass caches each layer's pre-activations ``z`` and activations ``a``; the
  backward pass starts from Harry's error signal ``delta_Harry = softmax(z_Harry) - onehot(y)``, turns it into
  Harry's gradient, sends it back through Harry's weights and Dick's activation slope to get ``delta_Dick``, and
  from there through Dick's weights and Tom's slope to get ``delta_Tom`` (the chain rule, layer by layer);
* by ``torch.autograd`` from the same weights.

Per layer the relative error is ``max |g_numpy - g_autograd| / max |g_autograd|`` over all of that layer's
weight and bias entries. It must stay below ``--tolerance`` at every step, or the run stops with an error and
writes nothing. Training is plain SGD with the NumPy gradients. Recorded per step: the batch loss, the loss and
accuracy on the whole training subset and on held-out test images, each layer's gradient norm, each layer's
relative error, and the size of the backward message (mean per-image L2 norm of the error signal) at each hop:
at Harry's output, after Harry's weights, after Dick's slope (``delta_Dick``), after Dick's weights, and after
Tom's slope (``delta_Tom``).

Two more things are computed for the page, in the same run. At step 1, on the first image of the batch and the
initial weights, a worked example: one path pixel -> Tom unit -> Dick unit -> Harry's output for the image's class,
its forward values, its six local derivatives and their product, and the sum over every path from that weight to
the loss, compared with the hand-made backward pass and with autograd on that image. At the first and the last
step, the weights whose gradient is exactly zero, counted by cause (an input that is zero on every image of the
batch, a unit that passes back no error, both, or the two never nonzero on the same image).

Usage::

    PYTHONPATH=scripts python scripts/backprop/network.py --data results/data/fashion-mnist.npy \\
        --train-size 2000 --test-size 1000 --hidden 64 32 --activation sigmoid --batch-size 100 --steps 1000 \\
        --learning-rate 0.5 --seed 1 --tolerance 1e-6 --eval-every 10 --threads 1 \\
        --history results/backprop/history.npz --metrics results/backprop/metrics.json
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

from backprop.bpio import LAYERS, MESSAGE_STAGES, PEOPLE
from kit.cli import ArgumentParser, PipelineError, input_file, run_cli
from kit.dataset import CLASS_NAMES, load_split, stratified_sample
from kit.io import rounded, save_npz, write_json

ACTIVATIONS: tuple[str, ...] = ("sigmoid", "relu")

#: How many weight-gradient entries per layer the agreement figure plots (a seeded sample of each layer).
SAMPLE_ENTRIES = 300

ZERO_GRADIENT_DEFINITION = (
    "Weights whose gradient on the step's mini-batch is exactly 0, by cause: blank_input (the input is 0 on every "
    "image of the batch), silent_unit (the unit passes back an error of 0 on every image), both, never_together "
    "(input and error are never nonzero on the same image) and cancelled (nonzero products summing to exactly 0)."
)

RELATIVE_ERROR_DEFINITION = (
    "For each layer, all entries of its weight and bias gradients: max |g_numpy - g_autograd| divided by "
    "max |g_autograd| (the largest absolute difference, relative to the largest gradient entry)."
)


@dataclass(frozen=True)
class Settings:
    """Everything that decides the run (the command-line flags), written into metrics.json.

    No defaults here: each is a key of the config's ``backprop`` section, whose schema holds the defaults.
    """

    train_size: int
    test_size: int
    hidden: tuple[int, int]
    activation: str
    batch_size: int
    steps: int
    learning_rate: float
    seed: int
    tolerance: float
    eval_every: int


# --------------------------------------------------------------------------------------------------------
# The network, by hand
# --------------------------------------------------------------------------------------------------------


def layer_sizes(n_inputs: int, hidden: Sequence[int], n_classes: int) -> dict[str, tuple[int, int]]:
    """(inputs, outputs) of Tom, Dick and Harry."""
    h1, h2 = hidden
    return {"tom": (n_inputs, h1), "dick": (h1, h2), "harry": (h2, n_classes)}


def init_params(sizes: dict[str, tuple[int, int]], seed: int, activation: str) -> dict[str, np.ndarray]:
    """Seeded initial weights ``W_<layer>`` (inputs x outputs) and zero biases ``b_<layer>``.

    Why Glorot for sigmoid and He for ReLU: each keeps the size of the signal roughly constant from layer to
    layer at the start, so that neither the forward nor the backward message starts out vanishing.
    """
    rng = np.random.default_rng(seed)
    params = {}
    for layer in LAYERS:
        fan_in, fan_out = sizes[layer]
        if activation == "relu" and layer != "harry":
            weights = rng.normal(0.0, math.sqrt(2.0 / fan_in), size=(fan_in, fan_out))
        else:
            limit = math.sqrt(6.0 / (fan_in + fan_out))
            weights = rng.uniform(-limit, limit, size=(fan_in, fan_out))
        params[f"W_{layer}"] = weights.astype(np.float64)
        params[f"b_{layer}"] = np.zeros(fan_out, dtype=np.float64)
    return params


def activate(z: np.ndarray, activation: str) -> np.ndarray:
    """The hidden layers' activation function."""
    if activation == "sigmoid":
        return 0.5 * (1.0 + np.tanh(0.5 * z))  # the logistic function, without overflow for large |z|
    return np.maximum(z, 0.0)


def activation_slope(z: np.ndarray, a: np.ndarray, activation: str) -> np.ndarray:
    """da/dz at the cached point: ``a (1 - a)`` for the sigmoid, 1 where ``z > 0`` for ReLU (0 elsewhere)."""
    if activation == "sigmoid":
        return a * (1.0 - a)
    return (z > 0).astype(np.float64)


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax, shifted by the row maximum so that ``exp`` never overflows."""
    shifted = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(shifted)
    return e / e.sum(axis=1, keepdims=True)


def cross_entropy(logits: np.ndarray, labels: np.ndarray) -> float:
    """Mean natural-log cross-entropy of the softmax of ``logits`` against integer ``labels``."""
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_norm = np.log(np.exp(shifted).sum(axis=1))
    return float(np.mean(log_norm - shifted[np.arange(len(labels)), labels]))


def forward(params: dict[str, np.ndarray], x: np.ndarray, activation: str) -> dict[str, np.ndarray]:
    """The forward pass Tom -> Dick -> Harry, caching what the backward pass needs (every ``z`` and ``a``)."""
    cache = {"a_input": x}
    a = x
    for layer in LAYERS:
        z = a @ params[f"W_{layer}"] + params[f"b_{layer}"]
        cache[f"z_{layer}"] = z
        if layer != "harry":
            a = activate(z, activation)
            cache[f"a_{layer}"] = a
    return cache


def backward(
    params: dict[str, np.ndarray],
    cache: dict[str, np.ndarray],
    labels: np.ndarray,
    activation: str,
    deltas: dict[str, np.ndarray] | None = None,
) -> tuple[dict[str, np.ndarray], dict[str, float]]:
    """The backward pass Harry -> Dick -> Tom by the chain rule; returns the gradients and the message sizes.

    With ``L`` the mean loss over the batch of ``B`` images, each image's own error signal at Harry's output is
    ``dl/dz_Harry = softmax(z_Harry) - onehot(y)``. For each layer, from Harry backwards::

        dL/dW = a_before^T delta / B        dL/db = sum of delta over the batch / B
        message to the layer before = delta W^T          (chain rule through this layer's weights)
        delta of the layer before   = message * sigma'(z) (chain rule through its activation)

    The message sizes are the mean over the batch of each image's L2 norm at every hop (``MESSAGE_STAGES``).
    Given a dict as ``deltas``, each layer's error signal (one row per image) is stored in it by layer name.
    """
    n = len(labels)
    delta = softmax(cache["z_harry"])
    delta[np.arange(n), labels] -= 1.0
    grads: dict[str, np.ndarray] = {}
    messages = {"harry": float(np.linalg.norm(delta, axis=1).mean())}
    before = {"harry": "dick", "dick": "tom", "tom": "input"}
    for layer in reversed(LAYERS):
        if deltas is not None:
            deltas[layer] = delta
        a_before = cache[f"a_{before[layer]}"]
        grads[f"W_{layer}"] = a_before.T @ delta / n
        grads[f"b_{layer}"] = delta.sum(axis=0) / n
        if layer == "tom":
            break
        message = delta @ params[f"W_{layer}"].T
        messages[f"{layer}_to_{before[layer]}"] = float(np.linalg.norm(message, axis=1).mean())
        previous = before[layer]
        delta = message * activation_slope(cache[f"z_{previous}"], cache[f"a_{previous}"], activation)
        messages[previous] = float(np.linalg.norm(delta, axis=1).mean())
    return grads, messages


def manual_gradients(
    params: dict[str, np.ndarray], x: np.ndarray, labels: np.ndarray, activation: str
) -> tuple[float, dict[str, np.ndarray], dict[str, float]]:
    """Loss, gradients and message sizes of one batch, all by hand."""
    cache = forward(params, x, activation)
    grads, messages = backward(params, cache, labels, activation)
    return cross_entropy(cache["z_harry"], labels), grads, messages


# --------------------------------------------------------------------------------------------------------
# The same gradients by autograd, and the check
# --------------------------------------------------------------------------------------------------------


def autograd_gradients(
    params: dict[str, np.ndarray], x: np.ndarray, labels: np.ndarray, activation: str
) -> tuple[float, dict[str, np.ndarray]]:
    """Loss and gradients of the same network by ``torch.autograd`` (float64), from the same weights.

    Why an independent forward pass written with torch's own functions: a slip in the NumPy forward pass
    would otherwise be copied into the reference and go unnoticed.
    """
    import torch  # here, not at the top: bad flags and data fail before the 2-3 s import

    tensors = {key: torch.tensor(value, dtype=torch.float64, requires_grad=True) for key, value in params.items()}
    hidden = torch.sigmoid if activation == "sigmoid" else torch.relu
    a = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float64))
    for layer in LAYERS:
        z = a @ tensors[f"W_{layer}"] + tensors[f"b_{layer}"]
        a = hidden(z) if layer != "harry" else z
    loss = torch.nn.functional.cross_entropy(a, torch.from_numpy(labels.astype(np.int64)))
    loss.backward()
    return float(loss.detach()), {key: tensor.grad.numpy().copy() for key, tensor in tensors.items()}


def relative_error(manual: Sequence[np.ndarray], reference: Sequence[np.ndarray]) -> float:
    """``max |manual - reference| / max |reference|`` over all entries of the given arrays (see
    ``RELATIVE_ERROR_DEFINITION``). A zero reference compares the absolute difference with 0."""
    difference = max(float(np.max(np.abs(m - r))) for m, r in zip(manual, reference, strict=True))
    scale = max(float(np.max(np.abs(r))) for r in reference)
    if scale == 0.0:
        return 0.0 if difference == 0.0 else math.inf
    return difference / scale


def layer_errors(manual: dict[str, np.ndarray], reference: dict[str, np.ndarray]) -> dict[str, float]:
    """The relative error of each layer (its weights and biases together)."""
    return {
        layer: relative_error(
            [manual[f"W_{layer}"], manual[f"b_{layer}"]], [reference[f"W_{layer}"], reference[f"b_{layer}"]]
        )
        for layer in LAYERS
    }


def check_agreement(errors: dict[str, float], tolerance: float, step: int) -> None:
    """Stop the run when any layer's hand-made gradient differs from autograd's by ``tolerance`` or more."""
    bad = {layer: err for layer, err in errors.items() if not err < tolerance}
    if bad:
        listed = ", ".join(f"{PEOPLE[layer]} {err:.3g}" for layer, err in bad.items())
        raise PipelineError(
            f"step {step}: the NumPy gradients disagree with autograd (relative error {listed}; --tolerance "
            f"{tolerance:g}); the backward pass in backprop/network.py is wrong, nothing was written"
        )


# --------------------------------------------------------------------------------------------------------
# What the page explains with real numbers: one path worked out by hand, and why some gradients are zero
# --------------------------------------------------------------------------------------------------------


def step_details(
    params: dict[str, np.ndarray], x: np.ndarray, labels: np.ndarray, activation: str
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], dict[str, np.ndarray]]:
    """The forward cache, every layer's error signal and the gradients of one batch (the hand-made pass)."""
    cache = forward(params, x, activation)
    deltas: dict[str, np.ndarray] = {}
    grads, _ = backward(params, cache, labels, activation, deltas)
    return cache, deltas, grads


#: What feeds each layer's weights: the image's pixels for Tom, the activations of the layer before for the rest.
INPUT_OF: dict[str, str] = {"tom": "input", "dick": "tom", "harry": "dick"}


def zero_gradient_causes(
    cache: dict[str, np.ndarray], deltas: dict[str, np.ndarray], grads: dict[str, np.ndarray]
) -> dict[str, dict[str, int]]:
    """Count each layer's weights whose batch gradient is exactly zero, by the reason it is zero.

    A weight from input ``i`` to unit ``j`` has the gradient ``sum over images of a_i * delta_j / B``. It is zero
    when the input is zero on every image of the batch (``blank_input``: a blank pixel for Tom, a unit of the
    layer before that is off for every image for Dick and Harry), when the unit passes back no error on any image
    (``silent_unit``: a ReLU unit that is off for every image), when both hold (``both``), when the two are never
    nonzero on the same image (``never_together``), or when nonzero products cancel exactly (``cancelled``).
    """
    out = {}
    for layer in LAYERS:
        inputs = cache[f"a_{INPUT_OF[layer]}"] != 0
        signal = deltas[layer] != 0
        blank = ~inputs.any(axis=0)[:, None]
        silent = ~signal.any(axis=0)[None, :]
        together = (inputs.T.astype(np.float64) @ signal.astype(np.float64)) > 0
        zero = grads[f"W_{layer}"] == 0
        out[layer] = {
            "weights": int(zero.size),
            "zero": int(zero.sum()),
            "blank_input": int((zero & blank & ~silent).sum()),
            "silent_unit": int((zero & silent & ~blank).sum()),
            "both": int((zero & blank & silent).sum()),
            "never_together": int((zero & ~blank & ~silent & ~together).sum()),
            "cancelled": int((zero & together).sum()),
            "inputs": int(inputs.shape[1]),
            "blank_inputs": int(blank.sum()),
            "units": int(signal.shape[1]),
            "silent_units": int(silent.sum()),
        }
    return out


def worked_example(params: dict[str, np.ndarray], image: np.ndarray, label: int, activation: str) -> dict:
    """One path through the network, pixel -> Tom unit -> Dick unit -> Harry's output, forward and backward.

    The path ends at the output of the image's own class; it starts at the brightest pixel (the first in reading
    order on a tie); its Tom and Dick units are the pair whose links (weights and slopes) give the path's product
    the largest size. The chain rule makes the path's contribution to the gradient of its first weight the
    product of six local derivatives. That weight's whole gradient on this image is the sum over every path from
    it to the loss (each Dick unit, each output); the sum is compared with the hand-made backward pass and with
    autograd, on this one image.
    """
    x = np.asarray(image, dtype=np.float64)[None, :]
    labels = np.asarray([label], dtype=np.int64)
    cache, deltas, grads = step_details(params, x, labels, activation)
    p = softmax(cache["z_harry"])[0]
    error = p.copy()
    error[label] -= 1.0
    slope_tom = activation_slope(cache["z_tom"], cache["a_tom"], activation)[0]
    slope_dick = activation_slope(cache["z_dick"], cache["a_dick"], activation)[0]
    w_tom, w_dick, w_harry = params["W_tom"], params["W_dick"], params["W_harry"]
    c = int(label)
    i = int(np.argmax(x[0]))
    links = np.abs(slope_tom[:, None] * w_dick * slope_dick[None, :] * w_harry[:, c][None, :])
    j, k = (int(v) for v in np.unravel_index(int(np.argmax(links)), links.shape))
    factors = {
        "harry_error": float(error[c]),  # dL/dz_Harry,c = p_c - 1
        "harry_weight": float(w_harry[k, c]),  # dz_Harry,c / da_Dick,k
        "dick_slope": float(slope_dick[k]),  # da_Dick,k / dz_Dick,k
        "dick_weight": float(w_dick[j, k]),  # dz_Dick,k / da_Tom,j
        "tom_slope": float(slope_tom[j]),  # da_Tom,j / dz_Tom,j
        "pixel": float(x[0, i]),  # dz_Tom,j / dW_Tom,ij
    }
    product = float(np.prod(list(factors.values())))
    # Every path from W_Tom[i, j] to the loss: through each Dick unit and each of Harry's outputs.
    paths = x[0, i] * slope_tom[j] * (w_dick[j, :] * slope_dick)[:, None] * w_harry * error[None, :]
    _, reference = autograd_gradients(params, x, labels, activation)
    width = round(math.sqrt(x.shape[1]))
    return {
        "label": c,
        "class": CLASS_NAMES[c] if c < len(CLASS_NAMES) else str(c),
        "pixel": i,
        "pixel_row_column": list(divmod(i, width)) if width * width == x.shape[1] else None,
        "tom_unit": j,
        "dick_unit": k,
        "harry_output": c,
        "forward": {
            "pixel": float(x[0, i]),
            "w_tom": float(w_tom[i, j]),
            "pixel_times_weight": float(x[0, i] * w_tom[i, j]),
            "b_tom": float(params["b_tom"][j]),
            "z_tom": float(cache["z_tom"][0, j]),
            "a_tom": float(cache["a_tom"][0, j]),
            "w_dick": float(w_dick[j, k]),
            "z_dick": float(cache["z_dick"][0, k]),
            "a_dick": float(cache["a_dick"][0, k]),
            "w_harry": float(w_harry[k, c]),
            "z_harry": float(cache["z_harry"][0, c]),
            "p": float(p[c]),
            "loss": cross_entropy(cache["z_harry"], labels),
        },
        "factors": factors,
        "path_product": product,
        "brightest_pixels": int(np.sum(x[0] == x[0, i])),
        "n_paths": int(paths.size),
        "nonzero_paths": int(np.count_nonzero(paths)),
        "opposite_sign_paths": int(np.sum(np.sign(paths) == -np.sign(product))) if product else 0,
        "paths_sum": float(paths.sum()),
        "hand": float(grads["W_tom"][i, j]),
        "autograd": float(reference["W_tom"][i, j]),
        # The differences, kept before metrics.json rounds the values to 10 digits (which would hide them).
        "paths_minus_autograd": float(paths.sum() - reference["W_tom"][i, j]),
        "hand_minus_autograd": float(grads["W_tom"][i, j] - reference["W_tom"][i, j]),
        "delta_tom": float(deltas["tom"][0, j]),
        "delta_harry_norm": float(np.linalg.norm(deltas["harry"][0])),
    }


# --------------------------------------------------------------------------------------------------------
# Data and training
# --------------------------------------------------------------------------------------------------------


def load_subsets(path: str | os.PathLike[str], settings: Settings) -> dict[str, np.ndarray]:
    """A seeded, class-balanced subset of the training images and of the test images, scaled to [0, 1]."""
    out = {}
    for split, size, seed in (
        ("train", settings.train_size, settings.seed),
        ("test", settings.test_size, settings.seed + 1),
    ):
        data = load_split(path, split)
        if size > len(data):
            flag = "--train-size" if split == "train" else "--test-size"
            raise PipelineError(f"{flag} {size}: {path} holds only {len(data):,} {split} images; use a smaller size")
        index = stratified_sample(data.labels, size, seed)
        out[f"x_{split}"] = data.images[index].reshape(size, -1).astype(np.float64) / 255.0
        out[f"y_{split}"] = data.labels[index].astype(np.int64)
        out[f"index_{split}"] = index
    return out


def evaluate(params: dict[str, np.ndarray], x: np.ndarray, labels: np.ndarray, activation: str) -> tuple[float, float]:
    """Mean loss and accuracy of the network on a whole set of images."""
    logits = forward(params, x, activation)["z_harry"]
    return cross_entropy(logits, labels), float(np.mean(logits.argmax(axis=1) == labels))


def batch_order(n: int, steps: int, batch_size: int, seed: int) -> list[np.ndarray]:
    """The image indexes of every step's batch: a fresh seeded shuffle per pass over the subset."""
    rng = np.random.default_rng(seed)
    per_epoch = n // batch_size
    batches: list[np.ndarray] = []
    while len(batches) < steps:
        order = rng.permutation(n)
        batches.extend(order[i * batch_size : (i + 1) * batch_size] for i in range(per_epoch))
    return batches[:steps]


def sample_entries(shape: tuple[int, ...], count: int, seed: int) -> np.ndarray:
    """Seeded flat indexes of at most ``count`` entries of an array of ``shape`` (for the agreement figure)."""
    size = int(np.prod(shape))
    return np.sort(np.random.default_rng(seed).choice(size, size=min(count, size), replace=False))


def train(
    data: dict[str, np.ndarray], settings: Settings
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], dict[str, Any]]:
    """Plain SGD with the hand-made gradients, checked against autograd at every step.

    Returns the per-step history (arrays), the final parameters and the details of the first and last steps
    (the worked example on the first image of the first batch, and the causes of exactly-zero gradients).
    Gradient rows are indexed by step 1..steps; the evaluation on the whole subsets (the costly part) runs
    before the first update (step 0), every ``eval_every`` steps and after the last step, at the steps listed in
    ``eval_step``.
    """
    x, y = data["x_train"], data["y_train"]
    sizes = layer_sizes(x.shape[1], settings.hidden, len(CLASS_NAMES))
    params = init_params(sizes, settings.seed, settings.activation)
    batches = batch_order(len(y), settings.steps, settings.batch_size, settings.seed)
    picks = {layer: sample_entries(sizes[layer], SAMPLE_ENTRIES, settings.seed + i) for i, layer in enumerate(LAYERS)}

    rows: dict[str, list] = {key: [] for key in ("train_loss", "train_accuracy", "test_loss", "test_accuracy")}
    grad_rows: dict[str, list] = {"batch_loss": [], "batch_loss_autograd": []}
    for layer in LAYERS:
        grad_rows[f"grad_norm_{layer}"] = []
        grad_rows[f"relative_error_{layer}"] = []
    for stage in MESSAGE_STAGES:
        grad_rows[f"message_{stage}"] = []
    samples: dict[str, np.ndarray] = {}
    details: dict[str, Any] = {}

    def record_evaluation() -> None:
        for split in ("train", "test"):
            loss, accuracy = evaluate(params, data[f"x_{split}"], data[f"y_{split}"], settings.activation)
            rows[f"{split}_loss"].append(loss)
            rows[f"{split}_accuracy"].append(accuracy)

    record_evaluation()
    eval_steps = [0]
    for step, batch in enumerate(batches, start=1):
        loss, grads, messages = manual_gradients(params, x[batch], y[batch], settings.activation)
        loss_ref, grads_ref = autograd_gradients(params, x[batch], y[batch], settings.activation)
        errors = layer_errors(grads, grads_ref)
        check_agreement(errors, settings.tolerance, step)
        if step in (1, settings.steps):
            which = "first" if step == 1 else "last"
            for layer in LAYERS:
                samples[f"sample_{which}_manual_{layer}"] = grads[f"W_{layer}"].ravel()[picks[layer]]
                samples[f"sample_{which}_autograd_{layer}"] = grads_ref[f"W_{layer}"].ravel()[picks[layer]]
            cache, deltas, _ = step_details(params, x[batch], y[batch], settings.activation)
            details[f"zero_{which}"] = zero_gradient_causes(cache, deltas, grads)
            del cache, deltas
        if step == 1:
            first = int(batch[0])
            details["worked_example"] = {
                "image": {"split": "train", "index": int(data["index_train"][first]), "batch_position": 0},
                **worked_example(params, x[first], int(y[first]), settings.activation),
            }
        grad_rows["batch_loss"].append(loss)
        grad_rows["batch_loss_autograd"].append(loss_ref)
        for layer in LAYERS:
            norm = math.hypot(float(np.linalg.norm(grads[f"W_{layer}"])), float(np.linalg.norm(grads[f"b_{layer}"])))
            grad_rows[f"grad_norm_{layer}"].append(norm)
            grad_rows[f"relative_error_{layer}"].append(errors[layer])
        for stage in MESSAGE_STAGES:
            grad_rows[f"message_{stage}"].append(messages[stage])
        for key, grad in grads.items():
            params[key] -= settings.learning_rate * grad
        if step % settings.eval_every == 0 or step == settings.steps:
            record_evaluation()
            eval_steps.append(step)

    history = {key: np.asarray(values, dtype=np.float64) for key, values in {**rows, **grad_rows}.items()}
    history["eval_step"] = np.asarray(eval_steps, dtype=np.int64)
    history["step"] = np.arange(1, settings.steps + 1, dtype=np.int64)
    history.update(samples)
    return history, params, details


def summarise(
    history: dict[str, np.ndarray], data: dict[str, np.ndarray], settings: Settings, details: dict[str, Any]
) -> dict:
    """metrics.json: the settings, the agreement, the first and last numbers of the run, the worked example and
    the causes of exactly-zero gradients at the first and the last step."""
    sizes = layer_sizes(data["x_train"].shape[1], settings.hidden, len(CLASS_NAMES))
    agreement = {}
    for layer in LAYERS:
        errors = history[f"relative_error_{layer}"]
        worst = int(np.argmax(errors))
        agreement[layer] = {"max_relative_error": float(errors[worst]), "worst_step": worst + 1}
    overall = max(agreement[layer]["max_relative_error"] for layer in LAYERS)
    loss_difference = float(np.max(np.abs(history["batch_loss"] - history["batch_loss_autograd"])))
    first, last = 0, -1

    def mean_ratio(numerator: str, denominator: str) -> float:
        """How much a stretch of the backward path multiplies the message: the ratio of its mean sizes."""
        return float(np.mean(history[f"message_{numerator}"]) / np.mean(history[f"message_{denominator}"]))

    return rounded(
        {
            "settings": {**asdict(settings), "hidden": list(settings.hidden)},
            "layers": {
                layer: {
                    "name": PEOPLE[layer],
                    "inputs": sizes[layer][0],
                    "outputs": sizes[layer][1],
                    "parameters": sizes[layer][0] * sizes[layer][1] + sizes[layer][1],
                }
                for layer in LAYERS
            },
            "parameters": sum((i + 1) * o for i, o in sizes.values()),
            "n_train": len(data["y_train"]),
            "n_test": len(data["y_test"]),
            "class_counts": {
                split: np.bincount(data[f"y_{split}"], minlength=len(CLASS_NAMES)).tolist()
                for split in ("train", "test")
            },
            "epochs": settings.steps * settings.batch_size / len(data["y_train"]),
            "agreement": {
                "definition": RELATIVE_ERROR_DEFINITION,
                "tolerance": settings.tolerance,
                "checked_steps": settings.steps,
                "layers": agreement,
                "max_relative_error": overall,
                "passed": overall < settings.tolerance,
                "max_loss_difference": loss_difference,
            },
            "initial": {
                "train_loss": float(history["train_loss"][first]),
                "train_accuracy": float(history["train_accuracy"][first]),
                "test_loss": float(history["test_loss"][first]),
                "test_accuracy": float(history["test_accuracy"][first]),
            },
            "final": {
                "train_loss": float(history["train_loss"][last]),
                "train_accuracy": float(history["train_accuracy"][last]),
                "test_loss": float(history["test_loss"][last]),
                "test_accuracy": float(history["test_accuracy"][last]),
            },
            "grad_norm": {
                layer: {
                    "first": float(history[f"grad_norm_{layer}"][0]),
                    "last": float(history[f"grad_norm_{layer}"][-1]),
                    "median": float(np.median(history[f"grad_norm_{layer}"])),
                }
                for layer in LAYERS
            },
            "message": {
                stage: {
                    "first": float(history[f"message_{stage}"][0]),
                    "last": float(history[f"message_{stage}"][-1]),
                    "mean": float(np.mean(history[f"message_{stage}"])),
                }
                for stage in MESSAGE_STAGES
            },
            "message_factor": {
                "harry_weights": mean_ratio("harry_to_dick", "harry"),
                "dick_slope": mean_ratio("dick", "harry_to_dick"),
                "dick_weights": mean_ratio("dick_to_tom", "dick"),
                "tom_slope": mean_ratio("tom", "dick_to_tom"),
                "dick_over_harry": mean_ratio("dick", "harry"),
                "tom_over_harry": mean_ratio("tom", "harry"),
            },
            "worked_example": details["worked_example"],
            "zero_gradients": {
                "definition": ZERO_GRADIENT_DEFINITION,
                "batch_size": settings.batch_size,
                "first": {"step": 1, "layers": details["zero_first"]},
                "last": {"step": settings.steps, "layers": details["zero_last"]},
            },
        }
    )


def build_parser() -> ArgumentParser:
    """The command line: the dataset, one required flag per setting (the config's schema holds the defaults),
    the threads and the two files to write."""
    parser = ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=input_file, required=True, help="prepared dataset (.npy) from prepare.py")
    parser.add_argument("--train-size", type=int, required=True, help="training images (class-balanced)")
    parser.add_argument("--test-size", type=int, required=True, help="held-out test images (class-balanced)")
    parser.add_argument("--hidden", type=int, nargs=2, required=True, metavar=("H1", "H2"),
                        help="units of Tom's and Dick's layers")  # fmt: skip
    parser.add_argument("--activation", choices=ACTIVATIONS, required=True, help="hidden activation")
    parser.add_argument("--batch-size", type=int, required=True, help="images per SGD step")
    parser.add_argument("--steps", type=int, required=True, help="SGD steps")
    parser.add_argument("--learning-rate", type=float, required=True, help="SGD step size")
    parser.add_argument("--seed", type=int, required=True, help="seed of the subsets, weights and batches")
    parser.add_argument("--tolerance", type=float, required=True, help="largest relative error allowed")
    parser.add_argument("--eval-every", type=int, required=True,
                        help="evaluate on the whole training subset and the test images every N steps")  # fmt: skip
    parser.add_argument("--threads", type=int, default=1, help="CPU threads for NumPy and torch (default 1)")
    parser.add_argument("--history", type=Path, required=True, help="history.npz to write (per-step arrays)")
    parser.add_argument("--metrics", type=Path, required=True, help="metrics.json to write")
    return parser


def settings_from(args: argparse.Namespace) -> Settings:
    """Check the parsed flags and build the settings; a bad value raises ``PipelineError`` naming the flag."""
    checks = [
        ("--train-size", args.train_size, 10),
        ("--test-size", args.test_size, 10),
        ("--hidden", min(args.hidden), 1),
        ("--batch-size", args.batch_size, 1),
        ("--steps", args.steps, 1),
        ("--eval-every", args.eval_every, 1),
        ("--seed", args.seed, 0),
        ("--threads", args.threads, 1),
    ]
    for flag, value, lowest in checks:
        if value < lowest:
            raise PipelineError(f"{flag} must be at least {lowest}, got {value}")
    if args.batch_size > args.train_size:
        raise PipelineError(f"--batch-size {args.batch_size} is larger than --train-size {args.train_size}")
    for flag, value in (("--learning-rate", args.learning_rate), ("--tolerance", args.tolerance)):
        if not (math.isfinite(value) and value > 0):
            raise PipelineError(f"{flag} must be a positive number, got {value}")
    return Settings(
        train_size=args.train_size,
        test_size=args.test_size,
        hidden=(args.hidden[0], args.hidden[1]),
        activation=args.activation,
        batch_size=args.batch_size,
        steps=args.steps,
        learning_rate=args.learning_rate,
        seed=args.seed,
        tolerance=args.tolerance,
        eval_every=args.eval_every,
    )


def make_deterministic(threads: int) -> None:
    """Fix torch's threads and ask for deterministic kernels, so equal settings give equal bytes."""
    import torch

    torch.manual_seed(0)  # nothing here draws from torch's generator; set anyway so nothing can differ
    torch.set_num_threads(threads)
    torch.use_deterministic_algorithms(True)


def main(argv: Sequence[str] | None = None) -> None:
    """Parse the flags, train with checked gradients, and write the history and metrics."""
    args = build_parser().parse_args(argv)
    settings = settings_from(args)
    with threadpool_limits(limits=args.threads, user_api="blas"):
        data = load_subsets(args.data, settings)
        make_deterministic(args.threads)
        start = time.perf_counter()
        history, _, details = train(data, settings)
        seconds = time.perf_counter() - start
    # The run time varies from run to run; it goes to the log, not into the (byte-stable) metrics.
    metrics = summarise(history, data, settings, details)
    save_npz(args.history, **history)
    write_json(args.metrics, metrics)
    print(
        f"{settings.steps} steps in {seconds:.1f} s: training-subset loss {metrics['initial']['train_loss']:.3f} -> "
        f"{metrics['final']['train_loss']:.3f}, test accuracy {metrics['final']['test_accuracy']:.3f}; "
        f"max relative error manual vs autograd {metrics['agreement']['max_relative_error']:.2e}"
    )


if __name__ == "__main__":
    sys.exit(run_cli(main))
