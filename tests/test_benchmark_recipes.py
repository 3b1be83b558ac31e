"""``tools/benchmark.py recipes``: candidate CNN recipes trained side by side, on a tiny slice of synthetic data."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("torch")

from kit.cli import PipelineError
from kit.config import repository_schema, schema_defaults
from tools import benchmark as benchmark


def test_default_recipe_is_the_schema_default() -> None:
    """The row the README calls the default trains exactly what the config's schema gives ``models.cnn``."""
    cnn = schema_defaults(repository_schema())["models"]["cnn"]
    settings = benchmark.recipe_settings(benchmark.DEFAULT_RECIPE, 1, None).as_dict()
    assert {key: cnn[key] for key in settings if key not in ("name", "seed")} == {
        key: value for key, value in settings.items() if key not in ("name", "seed")
    }
    assert cnn["epochs"] * 50_000 <= 300_000


def recipes(*args: str | Path) -> list[str]:
    """``benchmark.py recipes`` arguments as strings (in process: torch is imported once for all tests)."""
    return ["recipes", *map(str, args)]


def test_recipes_on_a_tiny_slice(
    prepared_dataset: Path, split_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Both default rows train, in order, on the same data; the JSON and the table report seen, time, accuracy."""
    out = tmp_path / "recipes.json"
    benchmark.main(
        recipes("--data", prepared_dataset, "--split", split_file, "--train-size", "60", "--threads", "1",
                "--max-images", "400", "--min-accuracy", "0", "--output", out)
    )  # fmt: skip
    printed = capsys.readouterr().out
    result = json.loads(out.read_text())
    assert result["finished"] and [row["recipe"] for row in result["rows"]] == ["reference", "e6-d0.1-lr5e-3-c16"]
    reference, default = result["rows"]
    assert (reference["epochs"], default["epochs"]) == (12, 6)
    assert reference["n_train"] == default["n_train"] == 60
    assert (reference["images_seen"], default["images_seen"]) == (720, 360)
    assert default["passed"] == {"budget": True, "accuracy": True}
    assert all(0 <= row["test_accuracy"] <= 1 and row["train_s"] > 0 for row in result["rows"])
    assert "| reference | 12 x 60 = 720 |" in printed and "| e6-d0.1-lr5e-3-c16 | 6 x 60 = 360 |" in printed


def test_recipes_fail_when_no_candidate_meets_the_targets(prepared_dataset: Path, split_file: Path) -> None:
    with pytest.raises(PipelineError, match="no candidate recipe met both targets"):
        benchmark.main(
            recipes("--data", prepared_dataset, "--split", split_file, "--train-size", "30", "--threads", "1",
                    "--recipes", "e5-d0.1", "--max-images", "100", "--min-accuracy", "0")
        )  # fmt: skip


def test_recipes_reject_an_unknown_name(prepared_dataset: Path, split_file: Path) -> None:
    with pytest.raises(PipelineError, match="invalid choice"):
        benchmark.main(recipes("--data", prepared_dataset, "--split", split_file, "--recipes", "nope"))
