"""Tests for the validation split and the training script, on the tiny synthetic dataset.

Training runs for one to three epochs on 200 images, so each test takes a few seconds. The properties checked
are the ones the explainer relies on: the same seed gives the same bytes, a run killed after an epoch resumes to
exactly the uninterrupted result, a non-finite loss stops with the epoch and batch named and nothing written,
and the weights load back without unpickling.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from conftest import ROOT, SCRIPT_ENV, run_script  # noqa: E402
from kit.cli import PipelineError, run_cli  # noqa: E402
from kit.dataset import CLASS_NAMES, load_split, stratified_sample  # noqa: E402
from kit.io import load_npz  # noqa: E402
from models import calibration as calibration  # noqa: E402
from models import split as split  # noqa: E402
from models import train as train  # noqa: E402

OUTPUTS = ("weights.npz", "history.json", "metrics.json", "diagnostics.npz")


# --------------------------------------------------------------------------------------------------------
# The split
# --------------------------------------------------------------------------------------------------------


def test_stratified_sample_keeps_class_shares_and_is_seeded() -> None:
    labels = np.repeat(np.arange(10), [30, 20, 10, 10, 10, 10, 10, 10, 10, 10])
    chosen = stratified_sample(labels, 40, seed=5)
    counts = np.bincount(labels[chosen], minlength=10)
    assert counts.sum() == 40 and len(set(chosen.tolist())) == 40
    # Exact shares of 40: 9.23, 6.15 and 3.08 for the rest; floors sum to 39, the largest remainder (class 0) gets 1.
    assert counts.tolist() == [10, 6, 3, 3, 3, 3, 3, 3, 3, 3]
    assert np.array_equal(chosen, stratified_sample(labels, 40, seed=5))
    assert not np.array_equal(chosen, stratified_sample(labels, 40, seed=6))


def test_class_quotas_sum_exactly() -> None:
    for size in (1, 7, 33, 99):
        counts = np.array([13, 7, 29, 1, 0, 5, 8, 21, 3, 13])
        quotas = split_quotas(counts, size)
        assert quotas.sum() == size and np.all(quotas <= counts)


def split_quotas(counts: np.ndarray, size: int) -> np.ndarray:
    """The quotas the split uses (via kit.dataset, where the rule lives)."""
    from kit.dataset import class_quotas

    return class_quotas(counts, size)


def test_split_cli_writes_disjoint_sorted_parts(prepared_dataset: Path, tmp_path: Path) -> None:
    out, meta = tmp_path / "split.npz", tmp_path / "split.json"
    run_script(
        "models/split.py", "--data", prepared_dataset, "--size", "50", "--seed", "3", "--output", out, "--meta", meta
    )
    arrays = load_npz(out)
    validation, rest = arrays["validation"], arrays["train"]
    assert len(validation) == 50 and len(rest) == 150
    assert np.all(np.diff(validation) > 0) and np.all(np.diff(rest) > 0)
    assert not set(validation.tolist()) & set(rest.tolist())
    summary = json.loads(meta.read_text())
    labels = load_split(prepared_dataset, "train").labels
    assert summary["validation_per_class"] == {
        name: int(n) for name, n in zip(CLASS_NAMES, np.bincount(labels[validation], minlength=10), strict=True)
    }
    first = out.read_bytes()
    run_script(
        "models/split.py", "--data", prepared_dataset, "--size", "50", "--seed", "3", "--output", out, "--meta", meta
    )
    assert out.read_bytes() == first


def test_split_refuses_a_validation_set_as_big_as_the_data(
    prepared_dataset: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["--data", str(prepared_dataset), "--size", "200", "--seed", "3", "--output", str(tmp_path / "s.npz")]
    assert run_cli(split.main, [*args, "--meta", str(tmp_path / "s.json")]) == 1
    assert "--size 200: the validation split must hold at least 1 image" in capsys.readouterr().err
    assert not (tmp_path / "s.npz").exists()


@pytest.mark.parametrize("flag", ["--size", "--seed"])
def test_split_size_and_seed_have_no_default(prepared_dataset: Path, tmp_path: Path, flag: str) -> None:
    """Both come from the config (models.validation_size, models.split_seed); the schema holds the defaults."""
    args = {"--data": str(prepared_dataset), "--size": "50", "--seed": "3", "--output": str(tmp_path / "s.npz")}
    del args[flag]
    with pytest.raises(PipelineError, match=f"required: {flag}"):
        split.main([*(item for pair in args.items() for item in pair), "--meta", str(tmp_path / "s.json")])
    assert not (tmp_path / "s.npz").exists()


def test_split_refuses_a_missing_dataset_in_one_line(tmp_path: Path) -> None:
    result = run_script(
        "models/split.py", "--data", tmp_path / "none.npy", "--size", "5", "--seed", "1",
        "--output", tmp_path / "s.npz", "--meta", tmp_path / "s.json", check=False,
    )  # fmt: skip
    assert result.returncode == 1 and result.stderr.count("\n") == 1
    assert result.stderr.startswith(f"error: {tmp_path / 'none.npy'}: file not found")
    assert not (tmp_path / "s.npz").exists()


# --------------------------------------------------------------------------------------------------------
# Training
# --------------------------------------------------------------------------------------------------------


def train_argv(data: Path, split_path: Path, folder: Path, *extra: str, epochs: int = 2) -> list[str]:
    """Flags of a small, fast run writing into ``folder`` (the CNN's regularisation, smaller; ``extra`` overrides)."""
    argv = [
        "--name", "tiny", "--data", str(data), "--split", str(split_path),
        "--channels", "4", "8", "--hidden", "16", "--batch-norm", "--dropout", "0.25", "--weight-decay", "0.0005",
        "--no-augment", "--epochs", str(epochs), "--batch-size", "32", "--learning-rate", "0.003",
        "--schedule", "onecycle", "--seed", "7", "--threads", "1", "--device", "cpu",
        "--checkpoint", str(folder / "checkpoint.npz"),
    ]  # fmt: skip
    outputs = [arg for name in OUTPUTS for arg in (f"--{name.split('.')[0]}", str(folder / name))]
    return argv + outputs + list(extra)


def run_training(data: Path, split_path: Path, folder: Path, *extra: str, epochs: int = 2) -> int:
    """Train in-process (as the CLI would) and return the exit status."""
    return run_cli(train.main, train_argv(data, split_path, folder, *extra, epochs=epochs))


def output_bytes(folder: Path) -> dict[str, bytes]:
    return {name: (folder / name).read_bytes() for name in OUTPUTS}


def test_training_writes_consistent_outputs(prepared_dataset: Path, split_file: Path, tmp_path: Path) -> None:
    folder = tmp_path / "run"
    assert run_training(prepared_dataset, split_file, folder, "--augment", epochs=2) == 0
    history = json.loads((folder / "history.json").read_text())
    metrics = json.loads((folder / "metrics.json").read_text())
    diagnostics = load_npz(folder / "diagnostics.npz")
    columns = history["history"]
    assert columns["epoch"] == [1, 2]
    assert set(calibration.DIAGNOSTIC_KEYS) <= set(columns)
    assert all(len(values) == 2 for values in columns.values())
    assert history["n_train"] == 150 and history["n_validation"] == 50
    assert history["best_epoch"] == 1 + int(np.argmin(columns["val_loss"]))
    # The diagnostics agree with the history: the last epoch's logits give the last epoch's validation loss.
    labels = diagnostics["val_labels"]
    last_loss = calibration.per_example_loss(diagnostics["val_logits_last"], labels).mean()
    assert last_loss == pytest.approx(columns["val_loss"][-1], rel=1e-5)
    best_loss = calibration.per_example_loss(diagnostics["val_logits_best"], labels).mean()
    assert best_loss == pytest.approx(min(columns["val_loss"]), rel=1e-5)
    # Test metrics match the saved test logits.
    predicted = diagnostics["test_logits"].argmax(1)
    assert metrics["test_accuracy"] == pytest.approx(float((predicted == diagnostics["test_labels"]).mean()))
    confusion = np.array(metrics["confusion_matrix"])
    assert confusion.sum() == 50 and np.trace(confusion) == round(50 * metrics["test_accuracy"])
    assert metrics["temperature"] > 0
    # Calibration on the held-out test images, before and after the temperature fitted on the validation images.
    test_labels, test_logits = diagnostics["test_labels"], diagnostics["test_logits"]
    for key, temperature in (("test_ece_last", 1.0), ("test_ece_last_temperature_scaled", metrics["temperature"])):
        confidence, predicted = calibration.confidences(test_logits / temperature)
        expected = calibration.expected_calibration_error(confidence, predicted == test_labels)
        assert metrics[key] == pytest.approx(expected, rel=1e-6), key
    assert not (folder / "checkpoint.npz").exists()  # removed once every output is written


def test_same_seed_same_bytes(prepared_dataset: Path, split_file: Path, tmp_path: Path) -> None:
    assert run_training(prepared_dataset, split_file, tmp_path / "a", "--augment") == 0
    assert run_training(prepared_dataset, split_file, tmp_path / "b", "--augment") == 0
    assert output_bytes(tmp_path / "a") == output_bytes(tmp_path / "b")


def test_other_seed_other_weights(prepared_dataset: Path, split_file: Path, tmp_path: Path) -> None:
    assert run_training(prepared_dataset, split_file, tmp_path / "a", epochs=1) == 0
    assert run_training(prepared_dataset, split_file, tmp_path / "b", "--seed", "8", epochs=1) == 0
    assert (tmp_path / "a" / "weights.npz").read_bytes() != (tmp_path / "b" / "weights.npz").read_bytes()


def test_resume_equals_uninterrupted(
    prepared_dataset: Path, split_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    extra = ("--augment", "--dropout", "0.3")
    assert run_training(prepared_dataset, split_file, tmp_path / "whole", *extra, epochs=3) == 0
    stopped = tmp_path / "stopped"
    assert run_training(prepared_dataset, split_file, stopped, *extra, "--stop-after", "1", epochs=3) == 1
    assert (stopped / "checkpoint.npz").exists()
    assert not any((stopped / name).exists() for name in OUTPUTS)
    capsys.readouterr()
    assert run_training(prepared_dataset, split_file, stopped, *extra, epochs=3) == 0
    assert "after epoch 1" in capsys.readouterr().out  # it resumed, not restarted
    assert output_bytes(stopped) == output_bytes(tmp_path / "whole")


def test_checkpoint_of_other_settings_is_ignored(
    prepared_dataset: Path, split_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "run"
    assert run_training(prepared_dataset, split_file, folder, "--stop-after", "1", epochs=2) == 1
    capsys.readouterr()
    assert run_training(prepared_dataset, split_file, folder, "--hidden", "12", epochs=2) == 0
    assert "made with other settings" in capsys.readouterr().out
    assert run_training(prepared_dataset, split_file, tmp_path / "fresh", "--hidden", "12", epochs=2) == 0
    assert output_bytes(folder) == output_bytes(tmp_path / "fresh")


def test_killed_process_resumes_to_the_same_result(prepared_dataset: Path, split_file: Path, tmp_path: Path) -> None:
    """A real SIGKILL during training (after the first checkpoint), then a rerun of the same command."""
    whole = tmp_path / "whole"
    assert run_training(prepared_dataset, split_file, whole, epochs=4) == 0
    killed = tmp_path / "killed"
    command = [
        sys.executable,
        str(ROOT / "scripts" / "models/train.py"),
        *train_argv(prepared_dataset, split_file, killed, epochs=4),
    ]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT, env=SCRIPT_ENV)
    deadline = time.monotonic() + 120
    while not (killed / "checkpoint.npz").exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    if process.returncode == 0:
        pytest.skip("the run finished before it could be killed")
    assert not (killed / "weights.npz").exists()
    result = run_script("models/train.py", *train_argv(prepared_dataset, split_file, killed, epochs=4))
    assert "resuming from" in result.stdout
    assert output_bytes(killed) == output_bytes(whole)


def test_non_finite_loss_names_epoch_and_batch(
    prepared_dataset: Path, split_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A NaN pixel in the training data stops the run in the batch that holds it; no output is written."""
    data = train.load_data(prepared_dataset, split_file, None, seed=7)
    settings = train.Settings(
        name="tiny", channels=(4, 8), hidden=16, batch_norm=False, dropout=0.0, weight_decay=0.0, augment=False,
        train_size=None, epochs=2, batch_size=32, learning_rate=0.003, schedule="constant", seed=7,
    )  # fmt: skip
    images = data.train.images.float()
    order = torch.randperm(len(data.train), generator=torch.Generator().manual_seed(train.epoch_seed(7, 1)))
    poisoned = int(order[70])  # the 71st image of epoch 1 lies in batch 3 (batches of 32)
    images[poisoned, 0, 14, 14] = float("nan")
    data.train.images = images
    run_dir = tmp_path / "run"
    with pytest.raises(PipelineError, match=r"training loss is nan at epoch 1, batch 3 of 5"):
        train.fit(settings, data, run_dir / "checkpoint.npz", threads=1, device=torch.device("cpu"))
    assert not run_dir.exists() or list(run_dir.iterdir()) == []  # not even a checkpoint: epoch 1 never finished


def test_exploding_learning_rate_stops_with_clear_error(
    prepared_dataset: Path, split_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "run"
    status = run_training(prepared_dataset, split_file, folder, "--learning-rate", "1e30", epochs=2)
    assert status == 1
    err = capsys.readouterr().err
    assert "training loss is" in err and "at epoch" in err and "lower --learning-rate" in err
    assert not any((folder / name).exists() for name in OUTPUTS)


def test_weights_load_without_pickle_and_reproduce_the_test_logits(
    prepared_dataset: Path, split_file: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "run"
    assert run_training(prepared_dataset, split_file, folder, epochs=1) == 0
    with np.load(folder / "weights.npz", allow_pickle=False) as raw:  # would raise if anything were pickled
        assert "model.conv1.weight" in raw.files and raw["model.conv1.weight"].shape == (4, 1, 3, 3)
    model, meta = train.load_weights(folder / "weights.npz")
    test = load_split(prepared_dataset, "test")
    x = train.normalise(torch.from_numpy(np.array(test.images)).unsqueeze(1), meta["mean"], meta["std"])
    with torch.inference_mode():
        logits = model(x).numpy()
    np.testing.assert_allclose(logits, load_npz(folder / "diagnostics.npz")["test_logits"], rtol=1e-5, atol=1e-5)


def test_predict_logits_do_not_depend_on_the_batch_size(prepared_dataset: Path, split_file: Path) -> None:
    """``predict`` cuts the images into batches that fit the CPU's cache (``PREDICT_BATCH``); the batching must
    not change a logit, or the per-epoch validation history would depend on a speed setting. One batch of all
    50 images, batches that do not divide 50, and one image at a time give the same logits."""
    data = train.load_data(prepared_dataset, split_file, None, 1)
    settings = train.Settings(name="cnn", channels=(4, 8), hidden=16, batch_norm=True, dropout=0.5,
                              weight_decay=0.0, augment=False, train_size=None, epochs=1, batch_size=32,
                              learning_rate=1e-3, schedule="constant", seed=1)  # fmt: skip
    model = train.build_model(settings).to(memory_format=torch.channels_last)
    model(train.normalise(data.train.images[:32], data.mean, data.std)).sum().backward()  # batch norm statistics move
    device = torch.device("cpu")
    whole = train.predict(model, data.test, data, device, batch_size=len(data.test))
    assert whole.shape == (len(data.test), len(CLASS_NAMES)) and np.isfinite(whole).all()
    for batch_size in (train.PREDICT_BATCH, 7, 1):
        np.testing.assert_allclose(train.predict(model, data.test, data, device, batch_size), whole, rtol=0, atol=1e-6)
    assert not model.training  # evaluation mode: dropout off, running statistics used


def test_bad_settings_are_named(prepared_dataset: Path, split_file: Path, tmp_path: Path, capsys) -> None:
    assert run_training(prepared_dataset, split_file, tmp_path / "a", "--dropout", "1.5") == 1
    assert "--dropout 1.5 is out of range" in capsys.readouterr().err
    assert run_training(prepared_dataset, split_file, tmp_path / "b", "--train-size", "151") == 1
    assert "--train-size 151" in capsys.readouterr().err


#: Every model setting the workflow passes from the config, as (flag words to drop, what the error names).
SETTING_FLAGS = [
    (["--channels", "4", "8"], "--channels"),
    (["--hidden", "16"], "--hidden"),
    (["--batch-norm"], "--batch-norm/--no-batch-norm"),
    (["--dropout", "0.25"], "--dropout"),
    (["--weight-decay", "0.0005"], "--weight-decay"),
    (["--no-augment"], "--augment/--no-augment"),
    (["--epochs", "1"], "--epochs"),
    (["--batch-size", "32"], "--batch-size"),
    (["--learning-rate", "0.003"], "--learning-rate"),
    (["--schedule", "onecycle"], "--schedule"),
    (["--seed", "7"], "--seed"),
    (["--device", "cpu"], "--device"),
]


def without(argv: list[str], words: list[str]) -> list[str]:
    """``argv`` with the consecutive ``words`` (one flag and its values) taken out."""
    for start in range(len(argv) - len(words) + 1):
        if argv[start : start + len(words)] == words:
            return argv[:start] + argv[start + len(words) :]
    raise AssertionError(f"{words} not in {argv}")


@pytest.mark.parametrize(("words", "named"), SETTING_FLAGS, ids=[named for _, named in SETTING_FLAGS])
def test_every_model_setting_is_required(
    prepared_dataset: Path, split_file: Path, tmp_path: Path, words: list[str], named: str
) -> None:
    """No model setting has a default: the config schema is the one place they live (augment once disagreed)."""
    argv = without(train_argv(prepared_dataset, split_file, tmp_path / "run", epochs=1), words)
    with pytest.raises(PipelineError, match=f"required: {named}$|required: {named} "):
        train.main(argv)
    assert not (tmp_path / "run").exists()


def test_train_size_is_optional_and_threads_default_to_one() -> None:
    """--train-size may be left out (null in the schema: all images); --threads defaults to 1."""
    actions = {action.dest: action for action in train.build_parser()._actions}
    assert actions["train_size"].default is None and not actions["train_size"].required
    assert actions["threads"].default == 1
    required = {dest for dest, action in actions.items() if action.required}
    assert {"channels", "hidden", "batch_norm", "augment", "schedule", "device", "seed"} <= required
    assert not any(action.default not in (None, argparse.SUPPRESS) for action in actions.values() if action.required)


def test_missing_input_is_refused_in_one_line(prepared_dataset: Path, tmp_path: Path) -> None:
    argv = train_argv(prepared_dataset, tmp_path / "none.npz", tmp_path / "run", epochs=1)
    result = run_script("models/train.py", *argv, check=False)
    assert result.returncode == 1 and result.stderr.count("\n") == 1
    assert result.stderr.startswith(f"error: {tmp_path / 'none.npz'}: file not found")
    assert not (tmp_path / "run").exists()


def test_train_subset_is_stratified(prepared_dataset: Path, split_file: Path) -> None:
    data = train.load_data(prepared_dataset, split_file, 60, seed=7)
    assert len(data.train) == 60
    counts = np.bincount(data.train.labels.numpy(), minlength=10)
    assert counts.max() - counts.min() <= 2


def test_shift_keeps_shape_and_moves_content() -> None:
    images = torch.zeros((64, 1, 28, 28), dtype=torch.uint8)
    images[:, 0, 10:18, 10:18] = 200
    shifted = train.shift_images(images, torch.Generator().manual_seed(1))
    assert shifted.shape == images.shape and shifted.dtype == torch.uint8
    assert torch.all(shifted.flatten(1).sum(1) == images.flatten(1).sum(1))  # the blob never leaves the frame
    assert (shifted != images).any()


def test_learning_rate_schedules() -> None:
    base = dict(
        name="x", channels=(1, 1), hidden=1, batch_norm=False, dropout=0.0, weight_decay=0.0, augment=False,
        train_size=None, epochs=1, batch_size=1, learning_rate=0.01, seed=0,
    )  # fmt: skip
    constant = train.Settings(**base, schedule="constant")
    assert {train.learning_rate(constant, step, 100) for step in range(100)} == {0.01}
    cycle = train.Settings(**base, schedule="onecycle")
    rates = [train.learning_rate(cycle, step, 100) for step in range(100)]
    assert max(rates) == pytest.approx(0.01) and rates[0] < 0.001 and rates[-1] < 1e-4
    assert int(np.argmax(rates)) == 19  # end of the 20 % warm-up


def test_cli_runs_standalone(prepared_dataset: Path, split_file: Path, tmp_path: Path) -> None:
    result = run_script("models/train.py", *train_argv(prepared_dataset, split_file, tmp_path / "cli", epochs=1))
    assert "test accuracy" in result.stdout
    assert all((tmp_path / "cli" / name).exists() for name in OUTPUTS)


# --------------------------------------------------------------------------------------------------------
# The training benchmark
# --------------------------------------------------------------------------------------------------------


def test_train_benchmark_times_both_loops_and_fails_on_a_missed_target(
    synthetic_idx: dict, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Both loops run on the same tiny data (the reference through torchvision's FashionMNIST reader)."""
    from tools import benchmark

    raw, data = synthetic_idx["dir"], tmp_path / "data.npy"
    run_script(
        "dataset/prepare.py", "--train-images", raw / "train-images-idx3-ubyte.gz", "--train-labels",
        raw / "train-labels-idx1-ubyte.gz", "--test-images", raw / "t10k-images-idx3-ubyte.gz", "--test-labels",
        raw / "t10k-labels-idx1-ubyte.gz", "--output", data, "--meta", tmp_path / "data.json",
    )  # fmt: skip
    split.main(
        ["--data", str(data), "--size", "20", "--seed", "3", "--output", str(tmp_path / "s.npz"), "--meta",
         str(tmp_path / "s.json")]
    )  # fmt: skip
    args = ["train", "--data", str(data), "--split", str(tmp_path / "s.npz"), "--raw-dir", str(raw)]
    args += ["--images", "64", "--batch-size", "32", "--repeat", "1", "--threads", "1"]
    out = tmp_path / "train.json"
    assert run_cli(benchmark.main, [*args, "--min-speedup", "0", "--output", str(out)]) == 0
    result = json.loads(out.read_text())
    assert result["images"] == 64 and result["batch_size"] == 32
    assert result["ours"]["images_per_s"] > 0 and result["reference"]["images_per_s"] > 0
    assert result["speedup"] == pytest.approx(result["reference"]["best_s"] / result["ours"]["best_s"])
    assert "DataLoader + ToTensor + Normalize" in capsys.readouterr().out
    assert run_cli(benchmark.main, [*args, "--min-speedup", "1000"]) == 1
    assert "missed its target(s): speed" in capsys.readouterr().err


def test_cnn_run_check_reads_accuracy_and_training_time(tmp_path: Path) -> None:
    from tools import benchmark

    (tmp_path / "m.json").write_text(json.dumps({"test_accuracy": 0.9312}))
    (tmp_path / "b.tsv").write_text("s\th:m:s\tmax_rss\n201.5\t0:03:21\t900\n")
    run = benchmark.check_cnn_run(tmp_path / "m.json", tmp_path / "b.tsv", 0.92, 240.0)
    assert run["passed"] == {"accuracy": True, "time": True} and run["train_seconds"] == 201.5
    (tmp_path / "b.tsv").write_text("s\th:m:s\tmax_rss\n250\t0:04:10\t900\n")
    assert benchmark.check_cnn_run(tmp_path / "m.json", tmp_path / "b.tsv", 0.92, 240.0)["passed"]["time"] is False
    with pytest.raises(PipelineError, match=r"b2\.tsv"):
        benchmark.check_cnn_run(tmp_path / "m.json", tmp_path / "b2.tsv", 0.92, 240.0)
