"""overfitting/seed_spread.py: one row per training run with its paired accuracy test, the spread over seeds, clear
errors for bad inputs."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import binomtest

from conftest import ROOT, run_script

RECORDED = ROOT / "tests" / "data" / "recorded"


def make_run(folder: Path, seed: int, loss_scale: float = 1.0, source: int = 1) -> Path:
    """A copy of recorded run ``source`` trained (as its history says) with ``seed``; its validation loss scaled
    (which only the history sees: the diagnostics stay those of the recorded run)."""
    folder.mkdir(parents=True)
    for name in ("metrics.json", "diagnostics.npz"):
        shutil.copyfile(RECORDED / f"seed-{source}" / name, folder / name)
    history = json.loads((RECORDED / f"seed-{source}" / "history.json").read_text())
    history["settings"]["seed"] = seed
    history["history"]["val_loss"] = [v * loss_scale for v in history["history"]["val_loss"]]
    (folder / "history.json").write_text(json.dumps(history))
    return folder


def spread_of(tmp_path: Path, *runs: str) -> dict:
    """Run the script on ``--run`` values and return its JSON output."""
    output = tmp_path / "seeds.json"
    run_script("overfitting/seed_spread.py", *[f"--run={run}" for run in runs], "--output", output)
    return json.loads(output.read_text())


def test_rows_and_spread_come_from_each_run(tmp_path: Path) -> None:
    one = make_run(tmp_path / "s1", 1)
    two = make_run(tmp_path / "s2", 2, loss_scale=1.00005)
    summary = spread_of(tmp_path, f"m=2={two}", f"m=1={one}", f"other=1={one}")
    assert summary["n_seeds"] == 2
    entry = summary["models"]["m"]
    assert entry["seeds"] == [1, 2], "rows are in seed order"
    history = json.loads((RECORDED / "seed-1" / "history.json").read_text())
    loss = np.array(history["history"]["val_loss"])
    accuracy = np.array(history["history"]["val_accuracy"])
    best = history["best_epoch"]
    first, second = entry["runs"]
    assert first["best_epoch"] == second["best_epoch"] == best
    assert first["val_loss_last"] == pytest.approx(loss[-1])
    assert second["val_loss_last"] == pytest.approx(1.00005 * loss[-1])
    rise = 100 * (loss[-1] / loss[best - 1] - 1)
    assert first["val_loss_rise_percent"] == pytest.approx(rise) == pytest.approx(second["val_loss_rise_percent"])
    assert first["val_accuracy_change_points"] == pytest.approx(100 * (accuracy[-1] - accuracy[best - 1]))
    lasts = [loss[-1], 1.00005 * loss[-1]]
    assert entry["spread"]["val_loss_last"]["mean"] == pytest.approx(np.mean(lasts))
    assert entry["spread"]["val_loss_last"]["std"] == pytest.approx(np.std(lasts, ddof=1))
    assert entry["spread"]["val_loss_last"]["min"] == pytest.approx(min(lasts))
    assert entry["spread"]["test_accuracy"]["std"] == 0
    assert summary["models"]["other"]["spread"] == {}, "one seed has no spread"


def test_each_row_holds_the_paired_test_and_the_held_out_calibration(tmp_path: Path) -> None:
    folders = [make_run(tmp_path / f"s{seed}", seed, source=seed) for seed in (1, 2, 3)]
    summary = spread_of(
        tmp_path, *[f"overfit={seed}={folder}" for seed, folder in zip((1, 2, 3), folders, strict=True)]
    )
    entry = summary["models"]["overfit"]
    for row, folder in zip(entry["runs"], folders, strict=True):
        with np.load(folder / "diagnostics.npz") as d:
            labels = d["val_labels"]
            right_best = d["val_logits_best"].argmax(axis=1) == labels
            right_last = d["val_logits_last"].argmax(axis=1) == labels
        b, c = int((~right_best & right_last).sum()), int((right_best & ~right_last).sum())
        assert (row["n_fixed"], row["n_broken"]) == (b, c)
        assert row["mcnemar_p"] == pytest.approx(binomtest(min(b, c), b + c, 0.5).pvalue if b + c else 1.0)
        assert row["val_accuracy_change_points"] == pytest.approx(100 * (b - c) / len(labels), abs=1e-9)
        history = json.loads((folder / "history.json").read_text())
        h, best = history["history"], history["best_epoch"]
        rise = h["val_loss"][-1] - h["val_loss"][best - 1]
        scaled = h["val_loss_temperature_scaled"][-1] - h["val_loss_temperature_scaled"][best - 1]
        assert row["removed_percent"] == pytest.approx(100 * (rise - scaled) / rise, rel=1e-8)
        metrics = json.loads((folder / "metrics.json").read_text())
        assert row["test_ece_last"] == metrics["test_ece_last"]
        assert row["test_ece_last_temperature_scaled"] == metrics["test_ece_last_temperature_scaled"]
    for key in ("mcnemar_p", "n_fixed", "removed_percent", "test_ece_last"):
        values = [row[key] for row in entry["runs"]]
        assert entry["spread"][key]["mean"] == pytest.approx(np.mean(values))
        assert entry["spread"][key]["std"] == pytest.approx(np.std(values, ddof=1))


def test_one_seed_lists_the_run_without_spread(tmp_path: Path) -> None:
    summary = spread_of(tmp_path, f"m=1={make_run(tmp_path / 's1', 1)}")
    assert summary["n_seeds"] == 1
    assert [row["seed"] for row in summary["models"]["m"]["runs"]] == [1]
    assert summary["models"]["m"]["spread"] == {}


@pytest.mark.parametrize(
    ("runs", "words"),
    [
        (["m=2={s1}"], "trained with seed 1, but --run names seed 2"),
        (["m=1={s1}", "m=1={s1}"], "seed 1 twice"),
        (["m-1-{s1}"], "expected MODEL=SEED=FOLDER"),
        (["m=1={s1}/missing"], "missing/history.json: file not found"),
        (["m=1={empty}"], "metrics.json: is empty"),
        (["m=1={folders}"], "history.json: is a directory"),
        (["m=1={nodiag}"], "diagnostics.npz: file not found"),
        (["m=1={other}"], "come from different training runs"),
        (["m=1={old}"], "'test_ece_last' is None, expected a finite number; rerun the train step"),
    ],
    ids=[
        "seed-mismatch",
        "duplicate",
        "malformed",
        "missing-file",
        "empty-file",
        "directory",
        "no-diagnostics",
        "diagnostics-of-another-run",
        "metrics-of-the-old-code",
    ],
)
def test_bad_runs_are_named(tmp_path: Path, runs: list[str], words: str) -> None:
    folder = make_run(tmp_path / "s1", 1)
    empty = make_run(tmp_path / "empty", 1)
    (empty / "metrics.json").write_bytes(b"")
    folders = tmp_path / "folders"
    (folders / "history.json").mkdir(parents=True)
    nodiag = make_run(tmp_path / "nodiag", 1)
    (nodiag / "diagnostics.npz").unlink()
    other = make_run(tmp_path / "other", 1)
    shutil.copyfile(RECORDED / "seed-2" / "diagnostics.npz", other / "diagnostics.npz")
    old = make_run(tmp_path / "old", 1)
    metrics = json.loads((old / "metrics.json").read_text())
    del metrics["test_ece_last"]
    (old / "metrics.json").write_text(json.dumps(metrics))
    output = tmp_path / "seeds.json"
    places = {"s1": folder, "empty": empty, "folders": folders, "nodiag": nodiag, "other": other, "old": old}
    args = [f"--run={run.format(**places)}" for run in runs]
    result = run_script("overfitting/seed_spread.py", *args, "--output", output, check=False)
    assert result.returncode == 1
    assert result.stderr.startswith("error: ") and len(result.stderr.splitlines()) == 1
    assert words in result.stderr
    assert not output.exists(), "nothing is written on error"


def test_bad_flag_is_one_line_and_exit_1(tmp_path: Path) -> None:
    result = run_script("overfitting/seed_spread.py", "--output", tmp_path / "seeds.json", check=False)
    assert result.returncode == 1
    assert result.stderr.startswith("error: ") and "--run" in result.stderr
    assert len(result.stderr.splitlines()) == 1
