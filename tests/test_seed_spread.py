"""overfitting/seed_spread.py: one row per training run, the spread over seeds, clear errors for bad inputs."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from conftest import ROOT, run_script

RECORDED = ROOT / "tests" / "data" / "recorded"


def make_run(folder: Path, seed: int, loss_scale: float = 1.0) -> Path:
    """A copy of the recorded run trained (as its history says) with ``seed``; its validation loss scaled."""
    folder.mkdir(parents=True)
    shutil.copyfile(RECORDED / "metrics.json", folder / "metrics.json")
    history = json.loads((RECORDED / "history.json").read_text())
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
    two = make_run(tmp_path / "s2", 2, loss_scale=1.25)
    summary = spread_of(tmp_path, f"m=2={two}", f"m=1={one}", f"other=1={one}")
    assert summary["n_seeds"] == 2
    entry = summary["models"]["m"]
    assert entry["seeds"] == [1, 2], "rows are in seed order"
    history = json.loads((RECORDED / "history.json").read_text())
    loss = np.array(history["history"]["val_loss"])
    accuracy = np.array(history["history"]["val_accuracy"])
    best = history["best_epoch"]
    first, second = entry["runs"]
    assert first["best_epoch"] == second["best_epoch"] == best
    assert first["val_loss_last"] == pytest.approx(loss[-1])
    assert second["val_loss_last"] == pytest.approx(1.25 * loss[-1])
    rise = 100 * (loss[-1] / loss[best - 1] - 1)
    assert first["val_loss_rise_percent"] == pytest.approx(rise) == pytest.approx(second["val_loss_rise_percent"])
    assert first["val_accuracy_rise_points"] == pytest.approx(100 * (accuracy[-1] - accuracy[best - 1]))
    lasts = [loss[-1], 1.25 * loss[-1]]
    assert entry["spread"]["val_loss_last"]["mean"] == pytest.approx(np.mean(lasts))
    assert entry["spread"]["val_loss_last"]["std"] == pytest.approx(np.std(lasts, ddof=1))
    assert entry["spread"]["val_loss_last"]["min"] == pytest.approx(min(lasts))
    assert entry["spread"]["test_accuracy"]["std"] == 0
    assert summary["models"]["other"]["spread"] == {}, "one seed has no spread"


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
    ],
    ids=["seed-mismatch", "duplicate", "malformed", "missing-file", "empty-file", "directory"],
)
def test_bad_runs_are_named(tmp_path: Path, runs: list[str], words: str) -> None:
    folder = make_run(tmp_path / "s1", 1)
    empty = make_run(tmp_path / "empty", 1)
    (empty / "metrics.json").write_bytes(b"")
    folders = tmp_path / "folders"
    (folders / "history.json").mkdir(parents=True)
    output = tmp_path / "seeds.json"
    args = [f"--run={run.format(s1=folder, empty=empty, folders=folders)}" for run in runs]
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
