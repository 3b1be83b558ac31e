"""Tests for backprop/network.py: hand-made gradients against autograd and finite differences, the check that catches a
broken backward pass, the training run on tiny data through the CLI, determinism and bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from backprop import network
from backprop.bpio import LAYERS, MESSAGE_STAGES, read_history
from backprop_inputs import TINY_ARGS, write_dataset
from conftest import run_script
from kit.cli import PipelineError
from kit.dataset import load_split
from kit.io import load_npz


def random_network(seed: int, n_in: int, hidden: tuple[int, int], n_out: int, activation: str) -> dict:
    """Random weights with nonzero biases, a random batch and labels: a network far from any special case."""
    rng = np.random.default_rng(seed)
    sizes = {"tom": (n_in, hidden[0]), "dick": hidden, "harry": (hidden[1], n_out)}
    params = network.init_params(sizes, seed, activation)
    for layer in LAYERS:
        params[f"b_{layer}"] = rng.normal(0, 0.5, size=params[f"b_{layer}"].shape)
    x = rng.uniform(0, 1, size=(7, n_in))
    labels = rng.integers(0, n_out, size=7)
    return {"params": params, "x": x, "labels": labels}


@pytest.mark.parametrize("activation", ["sigmoid", "relu"])
@pytest.mark.parametrize(
    ("seed", "n_in", "hidden", "n_out"),
    [(0, 5, (4, 3), 3), (1, 12, (7, 5), 10), (2, 30, (3, 9), 4), (3, 784, (16, 8), 10)],
)
def test_manual_gradients_equal_autograd(seed: int, n_in: int, hidden: tuple, n_out: int, activation: str) -> None:
    net = random_network(seed, n_in, hidden, n_out, activation)
    loss, grads, messages = network.manual_gradients(net["params"], net["x"], net["labels"], activation)
    loss_ref, grads_ref = network.autograd_gradients(net["params"], net["x"], net["labels"], activation)
    assert loss == pytest.approx(loss_ref, rel=1e-12)
    errors = network.layer_errors(grads, grads_ref)
    assert set(errors) == set(LAYERS)
    assert max(errors.values()) < 1e-12  # far inside the 1e-6 the pipeline enforces
    for key, grad in grads.items():
        assert grad.shape == net["params"][key].shape
        assert np.any(grad != 0)
    assert set(messages) == set(MESSAGE_STAGES) and all(v > 0 for v in messages.values())


def test_manual_gradients_equal_finite_differences() -> None:
    """An independent check that needs neither the chain rule nor torch: central differences of the loss."""
    net = random_network(5, 6, (4, 3), 3, "sigmoid")
    params, x, labels = net["params"], net["x"], net["labels"]
    _, grads, _ = network.manual_gradients(params, x, labels, "sigmoid")

    def loss_at(key: str, index: tuple, delta: float) -> float:
        moved = {k: v.copy() for k, v in params.items()}
        moved[key][index] += delta
        return network.cross_entropy(network.forward(moved, x, "sigmoid")["z_harry"], labels)

    h = 1e-6
    for key in ("W_tom", "b_tom", "W_dick", "W_harry", "b_harry"):
        for index in np.ndindex(params[key].shape):
            numeric = (loss_at(key, index, h) - loss_at(key, index, -h)) / (2 * h)
            assert grads[key][index] == pytest.approx(numeric, abs=1e-8)


def test_relative_error_is_the_largest_difference_over_the_largest_entry() -> None:
    reference = [np.array([[1.0, -4.0]]), np.array([2.0])]
    manual = [np.array([[1.5, -4.0]]), np.array([1.0])]
    assert network.relative_error(manual, reference) == pytest.approx(1.0 / 4.0)
    assert network.relative_error([np.zeros(2)], [np.zeros(2)]) == 0.0
    assert network.relative_error([np.ones(2)], [np.zeros(2)]) == np.inf


def test_a_broken_backward_pass_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    """A slope off by 1 % (a plausible slip) must fail the check, naming the step and the layers."""
    net = random_network(4, 10, (6, 5), 4, "sigmoid")
    good = network.activation_slope

    def off_by_one_percent(z: np.ndarray, a: np.ndarray, activation: str) -> np.ndarray:
        return 1.01 * good(z, a, activation)

    monkeypatch.setattr(network, "activation_slope", off_by_one_percent)
    _, grads, _ = network.manual_gradients(net["params"], net["x"], net["labels"], "sigmoid")
    _, grads_ref = network.autograd_gradients(net["params"], net["x"], net["labels"], "sigmoid")
    errors = network.layer_errors(grads, grads_ref)
    assert errors["harry"] < 1e-12  # Harry's gradient does not use a slope
    assert errors["dick"] > 1e-3 and errors["tom"] > 1e-3
    with pytest.raises(PipelineError, match=r"step 17: .*Tom .*Dick .*--tolerance 1e-06"):
        network.check_agreement(errors, 1e-6, 17)


def test_training_stops_on_a_broken_gradient_and_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = write_dataset(tmp_path / "data.npy")
    good = network.backward

    def forgets_the_mean(*args: object) -> tuple:
        grads, messages = good(*args)
        grads["b_tom"] = grads["b_tom"] * 100  # the bias gradient summed instead of averaged
        return grads, messages

    monkeypatch.setattr(network, "backward", forgets_the_mean)
    history, metrics = tmp_path / "h.npz", tmp_path / "m.json"
    with pytest.raises(PipelineError, match=r"step 1: the NumPy gradients disagree with autograd \(relative error Tom"):
        network.main(["--data", str(data), *TINY_ARGS, "--history", str(history), "--metrics", str(metrics)])
    assert not history.exists() and not metrics.exists()


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """One run through the CLI and one in-process, on the same tiny dataset."""
    folder = tmp_path_factory.mktemp("backprop")
    data = write_dataset(folder / "data.npy")
    out = {}
    for name in ("cli", "inproc"):
        out[name] = {"history": folder / name / "history.npz", "metrics": folder / name / "metrics.json"}
    cli = out["cli"]
    result = run_script(
        "backprop/network.py", "--data", data, *TINY_ARGS, "--history", cli["history"], "--metrics", cli["metrics"]
    )
    network.main(["--data", str(data), *TINY_ARGS, "--history", str(out["inproc"]["history"]),
                   "--metrics", str(out["inproc"]["metrics"])])  # fmt: skip
    return {**out, "stdout": result.stdout, "data": data}


def test_cli_run_on_tiny_data(tiny_run: dict) -> None:
    history = read_history(tiny_run["cli"]["history"])
    metrics = json.loads(tiny_run["cli"]["metrics"].read_text())
    assert "40 steps" in tiny_run["stdout"]
    assert list(history["step"]) == list(range(1, 41))
    assert list(history["eval_step"]) == [0, 5, 10, 15, 20, 25, 30, 35, 40]
    for layer in LAYERS:
        assert np.all(history[f"relative_error_{layer}"] < 1e-12)
        assert np.all(history[f"grad_norm_{layer}"] > 0)
    assert metrics["agreement"]["passed"] is True
    assert metrics["agreement"]["checked_steps"] == 40
    assert metrics["agreement"]["max_relative_error"] == pytest.approx(
        max(float(history[f"relative_error_{layer}"].max()) for layer in LAYERS), rel=1e-9
    )
    assert metrics["n_train"] == 100 and metrics["n_test"] == 50
    assert metrics["class_counts"]["train"] == [10] * 10  # class-balanced
    assert metrics["parameters"] == 784 * 8 + 8 + 8 * 6 + 6 + 6 * 10 + 10
    assert metrics["layers"]["tom"] == {"name": "Tom", "inputs": 784, "outputs": 8, "parameters": 784 * 8 + 8}
    assert metrics["initial"]["train_loss"] == pytest.approx(float(history["train_loss"][0]), rel=1e-9)
    assert metrics["final"]["train_loss"] < metrics["initial"]["train_loss"]  # it learns
    assert metrics["final"]["train_accuracy"] > 0.3  # chance is 0.1
    assert np.allclose(history["batch_loss"], history["batch_loss_autograd"], rtol=1e-12)
    sizes = metrics["message"]
    factors = metrics["message_factor"]
    assert factors["tom_over_harry"] == pytest.approx(sizes["tom"]["mean"] / sizes["harry"]["mean"], rel=1e-6)
    assert factors["dick_slope"] < 0.25 + 1e-9  # a sigmoid's slope is at most 1/4, so this hop always shrinks


def test_cli_and_in_process_runs_give_the_same_bytes(tiny_run: dict) -> None:
    for key in ("history", "metrics"):
        assert tiny_run["cli"][key].read_bytes() == tiny_run["inproc"][key].read_bytes()
    arrays = load_npz(tiny_run["cli"]["history"])
    assert arrays["sample_first_manual_tom"].shape == (network.SAMPLE_ENTRIES,)


def test_message_sizes_follow_the_chain_rule() -> None:
    """Each hop of the recorded message is the previous one through a weight matrix or a slope."""
    net = random_network(8, 9, (5, 4), 3, "sigmoid")
    params, x = net["params"], net["x"]
    cache = network.forward(params, x, "sigmoid")
    _, messages = network.backward(params, cache, net["labels"], "sigmoid")
    delta = network.softmax(cache["z_harry"])
    delta[np.arange(len(x)), net["labels"]] -= 1
    back = delta @ params["W_harry"].T
    delta_dick = back * cache["a_dick"] * (1 - cache["a_dick"])
    assert messages["harry"] == pytest.approx(np.linalg.norm(delta, axis=1).mean())
    assert messages["harry_to_dick"] == pytest.approx(np.linalg.norm(back, axis=1).mean())
    assert messages["dick"] == pytest.approx(np.linalg.norm(delta_dick, axis=1).mean())


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (["--batch-size", "500"], "--batch-size 500 is larger than --train-size"),
        (["--train-size", "5000"], "--train-size 5000: .* holds only 200 train images"),
        (["--steps", "0"], "--steps must be at least 1"),
        (["--learning-rate", "-1"], "--learning-rate must be a positive number"),
        (["--tolerance", "nan"], "--tolerance must be a positive number"),
    ],
)
def test_bad_settings_name_the_flag(tmp_path: Path, change: list[str], words: str) -> None:
    data = write_dataset(tmp_path / "data.npy")
    with pytest.raises(PipelineError, match=words):
        network.main(["--data", str(data), *TINY_ARGS, *change, "--history", str(tmp_path / "h.npz"),
                       "--metrics", str(tmp_path / "m.json")])  # fmt: skip


def test_missing_dataset_is_a_clear_cli_error(tmp_path: Path) -> None:
    result = run_script("backprop/network.py", "--data", tmp_path / "nope.npy", *TINY_ARGS,
                        "--history", tmp_path / "h.npz", "--metrics", tmp_path / "m.json", check=False)  # fmt: skip
    assert result.returncode == 1
    assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1
    assert "nope.npy: file not found" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "h.npz").exists() and not (tmp_path / "m.json").exists()


@pytest.mark.parametrize("flag", ["--train-size", "--hidden", "--activation", "--tolerance", "--eval-every"])
def test_every_setting_flag_is_required(tmp_path: Path, flag: str) -> None:
    """No setting has a default in the script (the config's schema holds them): leaving one out is an error."""
    given = list(TINY_ARGS)
    start = given.index(flag)
    end = next((i for i in range(start + 1, len(given)) if given[i].startswith("--")), len(given))
    data = write_dataset(tmp_path / "data.npy")
    with pytest.raises(PipelineError, match=f"the following arguments are required: {flag}"):
        network.main(["--data", str(data), *given[:start], *given[end:], "--history", str(tmp_path / "h.npz"),
                       "--metrics", str(tmp_path / "m.json")])  # fmt: skip


# --------------------------------------------------------------------------------------------------------
# The worked example and the causes of zero gradients, recomputed without the chain rule
# --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("activation", ["sigmoid", "relu"])
def test_worked_example_is_one_path_of_the_chain_rule(activation: str) -> None:
    """The path's factors are the forward values' local derivatives, the chosen Dick and Tom units give the largest
    product (brute force over all pairs), and the sum of all paths is the weight's gradient (finite differences)."""
    net = random_network(11, 30, (6, 5), 4, activation)
    params, image, label = net["params"], net["x"][0], int(net["labels"][0])
    worked = network.worked_example(params, image, label, activation)
    i, j, k, c = worked["pixel"], worked["tom_unit"], worked["dick_unit"], worked["harry_output"]
    assert c == label and i == int(np.argmax(image))
    z_tom = image @ params["W_tom"] + params["b_tom"]
    a_tom = network.activate(z_tom, activation)
    z_dick = a_tom @ params["W_dick"] + params["b_dick"]
    a_dick = network.activate(z_dick, activation)
    z_harry = a_dick @ params["W_harry"] + params["b_harry"]
    p = np.exp(z_harry - z_harry.max()) / np.exp(z_harry - z_harry.max()).sum()

    def slope(z: np.ndarray, a: np.ndarray) -> np.ndarray:
        return a * (1 - a) if activation == "sigmoid" else (z > 0).astype(float)

    def path(jj: int, kk: int) -> float:
        return ((p[c] - 1) * params["W_harry"][kk, c] * slope(z_dick, a_dick)[kk] * params["W_dick"][jj, kk]
                * slope(z_tom, a_tom)[jj] * image[i])  # fmt: skip

    factors = worked["factors"]
    assert factors["harry_error"] == pytest.approx(p[c] - 1)
    assert factors["dick_slope"] == pytest.approx(slope(z_dick, a_dick)[k])
    assert factors["tom_slope"] == pytest.approx(slope(z_tom, a_tom)[j])
    assert worked["path_product"] == pytest.approx(path(j, k), rel=1e-12)
    best = max(abs(path(jj, kk)) for jj in range(6) for kk in range(5))
    assert abs(worked["path_product"]) == pytest.approx(best, rel=1e-12)
    assert worked["forward"]["loss"] == pytest.approx(-np.log(p[c]))
    assert worked["n_paths"] == 5 * 4

    def loss_at(delta: float) -> float:
        moved = {key: value.copy() for key, value in params.items()}
        moved["W_tom"][i, j] += delta
        logits = network.forward(moved, image[None, :], activation)["z_harry"]
        return network.cross_entropy(logits, np.array([label]))

    numeric = (loss_at(1e-6) - loss_at(-1e-6)) / 2e-6
    assert worked["paths_sum"] == pytest.approx(numeric, abs=1e-8)
    assert worked["hand"] == pytest.approx(worked["autograd"], rel=1e-12, abs=1e-18)
    assert worked["paths_sum"] == pytest.approx(worked["autograd"], rel=1e-12, abs=1e-18)
    assert worked["paths_minus_autograd"] == worked["paths_sum"] - worked["autograd"]


def test_zero_gradient_causes_match_a_count_by_hand() -> None:
    """A ReLU batch with a blank input and a unit that is off for every image: each zero weight gradient is
    classified by looking at every image's input and error, one weight at a time."""
    net = random_network(12, 9, (5, 4), 3, "relu")
    params, x, labels = net["params"], net["x"].copy(), net["labels"]
    x[:, 2] = 0.0  # a blank pixel
    params["W_tom"][:, 1] = -1.0  # Tom's unit 2 is off for every image (inputs are >= 0)
    params["b_tom"][1] = -1.0
    cache, deltas, grads = network.step_details(params, x, labels, "relu")
    causes = network.zero_gradient_causes(cache, deltas, grads)
    inputs = {"tom": x, "dick": cache["a_tom"], "harry": cache["a_dick"]}
    for layer in LAYERS:
        expected = dict.fromkeys(("blank_input", "silent_unit", "both", "never_together", "cancelled"), 0)
        a, delta = inputs[layer], deltas[layer]
        for i in range(a.shape[1]):
            for j in range(delta.shape[1]):
                if grads[f"W_{layer}"][i, j] != 0:
                    continue
                blank, silent = not np.any(a[:, i]), not np.any(delta[:, j])
                if blank and silent:
                    expected["both"] += 1
                elif blank:
                    expected["blank_input"] += 1
                elif silent:
                    expected["silent_unit"] += 1
                elif not np.any(a[:, i] * delta[:, j]):
                    expected["never_together"] += 1
                else:
                    expected["cancelled"] += 1
        got = causes[layer]
        assert {key: got[key] for key in expected} == expected, layer
        assert got["zero"] == int(np.sum(grads[f"W_{layer}"] == 0)) == sum(expected.values())
    assert causes["tom"]["blank_input"] >= 4 and causes["tom"]["silent_unit"] >= 8
    # The dead Tom unit feeds each of Dick's 4 units nothing (some of those units are off as well: "both").
    assert causes["dick"]["blank_input"] + causes["dick"]["both"] == 4


def test_the_run_records_the_worked_example_and_the_zero_gradients(tiny_run: dict) -> None:
    metrics = json.loads(tiny_run["cli"]["metrics"].read_text())
    worked = metrics["worked_example"]
    train = load_split(tiny_run["data"], "train")
    assert worked["label"] == int(train.labels[worked["image"]["index"]])
    pixel = train.images[worked["image"]["index"]].reshape(-1)[worked["pixel"]] / 255.0
    assert worked["forward"]["pixel"] == pytest.approx(pixel)
    assert worked["pixel_row_column"] == list(divmod(worked["pixel"], 28))
    for which, step in (("first", 1), ("last", 40)):
        zero = metrics["zero_gradients"][which]
        assert zero["step"] == step
        tom = zero["layers"]["tom"]
        assert tom["weights"] == 784 * 8 and tom["blank_inputs"] >= 2 * 28  # the blank top rows
        assert tom["blank_input"] == tom["blank_inputs"] * 8  # sigmoid: every unit passes an error back
