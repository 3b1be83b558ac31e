"""Tests for backprop/puzzle.py: the story's first round as the thread tells it, its arithmetic, the end,
determinism, and the command line (every setting required, bad values named)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from backprop import puzzle
from backprop_inputs import PUZZLE_ARGS
from conftest import run_script
from kit.cli import PipelineError

THREAD_FIXES = {"Harry": 1, "Dick": 2, "Tom": 1}

#: The story's settings (the config's, with the exact third): tests change one at a time.
STORY = {"seed": 2, "fix_fraction": 1 / 3, "target": 0, "max_rounds": 30}


def simulate(**settings: object) -> dict:
    return puzzle.simulate(puzzle.Settings(**{**STORY, **settings}))


@pytest.mark.parametrize("seed", [0, 1, 2, 7, 123])
def test_round_one_is_the_threads(seed: int) -> None:
    result = simulate(seed=seed)
    first = result["rounds"][0]
    assert result["pieces"] == {"Tom": 6, "Dick": 8, "Harry": 6}
    assert first["wrong_before"] == {"Tom": 2, "Dick": 6, "Harry": 4}
    assert first["total_before"] == 12 == result["announced_wrong"]
    assert first["to_fix"] == 4
    assert first["fixes"] == THREAD_FIXES
    assert first["total_after"] == 8
    assert first["order"] == ["Harry", "Dick", "Tom"]
    # The message: Harry gets "4 of 12", passes "3 of the 8 before mine", Dick passes "1 of 2" to Tom.
    harry, dick, tom = first["steps"]
    assert harry["received"] == {"fixes_to_make": 4, "wrong_pieces": 12}
    assert harry["passed"] == dick["received"] == {"fixes_to_make": 3, "wrong_pieces": 8}
    assert dick["passed"] == tom["received"] == {"fixes_to_make": 1, "wrong_pieces": 2}
    assert tom["passed"] is None and tom["passes_to"] is None
    assert harry["share"] == pytest.approx(4 * 4 / 12)
    assert dick["share"] == pytest.approx(3 * 6 / 8)


def test_the_arithmetic_of_every_round_adds_up() -> None:
    result = simulate(seed=2)
    assert sum(result["pieces"].values()) == result["n_pieces"] == 20
    positions = result["positions"]
    assert sorted(p for block in positions.values() for p in block) == list(range(1, 21))
    state = dict(result["initial_wrong"])
    wrong_positions = {person: set(ps) for person, ps in result["initial_wrong_positions"].items()}
    for rnd in result["rounds"]:
        assert rnd["wrong_before"] == state
        assert rnd["total_fixed"] == sum(rnd["fixes"].values()) == rnd["to_fix"]
        assert rnd["total_after"] == rnd["total_before"] - rnd["total_fixed"]
        for step in rnd["steps"]:
            person = step["person"]
            assert 0 <= step["fixed"] <= step["own_wrong"] == state[person]
            assert set(step["fixed_positions"]) <= wrong_positions[person]  # only wrong pieces get fixed
            assert len(step["fixed_positions"]) == step["fixed"]
            wrong_positions[person] -= set(step["fixed_positions"])
        state = rnd["wrong_after"]
        assert {p: sorted(ps) for p, ps in wrong_positions.items()} == rnd["wrong_positions_after"]
    assert result["totals"] == [12, 8, 5, 3, 2, 1, 0]
    assert all(b < a for a, b in zip(result["totals"], result["totals"][1:], strict=False))


@pytest.mark.parametrize(("target", "rounds"), [(0, 6), (3, 3), (8, 1)])
def test_stops_at_the_target(target: int, rounds: int) -> None:
    result = simulate(target=target)
    assert result["final_wrong"] <= target < result["totals"][-2]
    assert result["n_rounds"] == rounds and result["reached_target"]


def test_a_larger_fraction_fixes_everything_at_once_and_the_first_round_changes() -> None:
    assert simulate(fix_fraction=1.0)["totals"] == [12, 0]
    half = simulate(fix_fraction=0.5)["rounds"][0]
    assert half["to_fix"] == 6 and half["fixes"] != THREAD_FIXES


def test_rounding_and_the_number_to_fix() -> None:
    assert [puzzle.round_half_up(v) for v in (0.49, 0.5, 1.5, 2.5, 2.25)] == [0, 1, 2, 3, 2]
    assert puzzle.pieces_to_fix(0, 1 / 3) == 0
    assert puzzle.pieces_to_fix(1, 1 / 3) == 1  # never stalls at one wrong piece
    assert puzzle.pieces_to_fix(12, 0.3333333333) == 4  # the config's rounded third still gives the thread's 4
    assert puzzle.pieces_to_fix(12, 1 / 3) == 4


def test_the_seed_moves_pieces_not_counts() -> None:
    a, b = simulate(seed=0), simulate(seed=5)
    assert a["totals"] == b["totals"]
    assert [r["fixes"] for r in a["rounds"]] == [r["fixes"] for r in b["rounds"]]
    assert a["initial_wrong_positions"] != b["initial_wrong_positions"]


def test_cli_is_deterministic(tmp_path: Path) -> None:
    first, second = tmp_path / "a.json", tmp_path / "b.json"
    result = run_script("backprop/puzzle.py", *PUZZLE_ARGS, "--seed", "4", "--output", first)
    assert "12 -> 8 -> 5 -> 3 -> 2 -> 1 -> 0" in result.stdout
    puzzle.main([*PUZZLE_ARGS, "--seed", "4", "--output", str(second)])
    assert first.read_bytes() == second.read_bytes()
    assert json.loads(first.read_text())["settings"]["seed"] == 4


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--fix-fraction", "0"], "--fix-fraction"),
        (["--fix-fraction", "1.5"], "--fix-fraction"),
        (["--target", "12"], "--target"),
        (["--max-rounds", "0"], "--max-rounds"),
        (["--max-rounds", "2"], "raise --max-rounds"),
        (["--seed", "-1"], "--seed"),
    ],
)
def test_bad_settings_name_the_flag(tmp_path: Path, args: list[str], words: str) -> None:
    output = tmp_path / "puzzle.json"
    with pytest.raises(PipelineError, match=words):
        puzzle.main([*PUZZLE_ARGS, *args, "--output", str(output)])
    assert not output.exists()


@pytest.mark.parametrize("flag", ["--seed", "--fix-fraction", "--target", "--max-rounds"])
def test_every_setting_is_required(tmp_path: Path, flag: str) -> None:
    """No setting has a default in the script (the config's schema holds them): leaving one out is an error."""
    given = list(PUZZLE_ARGS)
    at = given.index(flag)
    del given[at : at + 2]
    with pytest.raises(PipelineError, match=f"the following arguments are required: {flag}"):
        puzzle.main([*given, "--output", str(tmp_path / "puzzle.json")])
    assert not (tmp_path / "puzzle.json").exists()


def test_cli_error_is_one_clear_line(tmp_path: Path) -> None:
    result = run_script("backprop/puzzle.py", *PUZZLE_ARGS, "--fix-fraction", "2", "--output", tmp_path / "p.json",
                        check=False)  # fmt: skip
    assert result.returncode == 1
    assert result.stderr.startswith("error: --fix-fraction must be in (0, 1]")
    assert "Traceback" not in result.stderr
