"""The backpropagation explainer's widgets without a browser (the site tier drives them in Chromium).

- the export (scripts/backprop/widgets.py) from real tiny outputs: the puzzle stepper's states are the
  simulation's rounds, the step widget's numbers are history.npz's rows to the last bit, and every check's
  expected text is built from those numbers;
- templates/widgets/backprop.js under node: puzzleTexts and stepTexts give, for every round and for sampled steps
  and stages, exactly the text the checks list (which the Python recipe built from the pipeline's numbers).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from backprop import widgets as bp_widgets
from backprop.bpio import LAYERS, MESSAGE_STAGES, read_history, read_puzzle
from backprop_inputs import build_run
from conftest import ROOT
from kit import widgets
from test_widgets import CORE_JS, needs_node, run_js

BP_JS = ROOT / "templates" / "widgets" / "backprop.js"


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict]:
    """Two tiny runs with different rounds and steps: the defaults, and a fix fraction of 0.2 with ReLU."""
    out = {}
    for name, puzzle_args, network_args in (
        ("story", (), ()),
        ("fifth", ("--fix-fraction", "0.2"), ("--activation", "relu", "--steps", "17")),
    ):
        folder = tmp_path_factory.mktemp(name)
        paths = build_run(folder, puzzle_args, claims=False, network_args=network_args)
        data, checks = folder / "widgets" / "backprop.js", folder / "widgets" / "backprop.checks.json"
        bp_widgets.main(
            ["--puzzle", str(paths["puzzle"]), "--history", str(paths["history"]), "--output", str(data),
             "--checks", str(checks)]
        )  # fmt: skip
        explainer, exported = widgets.read_data(data)
        assert explainer == "backprop"
        out[name] = {
            "paths": paths,
            "data": exported,
            "checks": json.loads(checks.read_text(encoding="utf-8"))["checks"],
            "bytes": data.stat().st_size,
        }
    return out


@pytest.mark.parametrize("name", ["story", "fifth"])
def test_puzzle_states_are_the_simulation(runs: dict, name: str) -> None:
    run = runs[name]
    puzzle = read_puzzle(run["paths"]["puzzle"])
    states = run["data"]["bp-puzzle"]["states"]
    assert len(states) == len(puzzle["rounds"]) + 1
    assert [sum(s["wrong"].values()) for s in states] == puzzle["totals"]
    assert states[0]["wrong"] == puzzle["initial_wrong"]
    for state, r in zip(states[1:], puzzle["rounds"], strict=True):
        assert state["fixes"] == r["fixes"]
        assert state["wrong"] == r["wrong_after"]
        for person in puzzle["people"]:
            assert len(state["wrong_positions"][person]) == r["wrong_after"][person]
        assert len(state["fixed_positions"]) == r["total_fixed"]
    puzzle_checks = [c for c in run["checks"] if c["widget"] == "bp-puzzle"]
    assert [c["set"]["round"] for c in puzzle_checks] == list(range(len(states)))
    for c in puzzle_checks:
        index = c["set"]["round"]
        assert c["expect"]["total"] == f"{puzzle['totals'][index]} of {puzzle['n_pieces']} pieces wrong"
        if index:
            fixes = puzzle["rounds"][index - 1]["fixes"]
            assert c["expect"]["fixed"] == f"Harry {fixes['Harry']}, Dick {fixes['Dick']}, Tom {fixes['Tom']}"
    assert any(c.get("keys") for c in puzzle_checks)


@pytest.mark.parametrize("name", ["story", "fifth"])
def test_step_values_are_the_history_to_the_last_bit(runs: dict, name: str) -> None:
    run = runs[name]
    history = read_history(run["paths"]["history"])
    data = run["data"]["bp-step"]
    values = {key: widgets.decode_array(encoded) for key, encoded in data["values"].items()}
    assert data["steps"] == len(history["step"])
    assert np.array_equal(values["loss"], history["batch_loss"])
    for stage in MESSAGE_STAGES:
        assert np.array_equal(values[stage], history[f"message_{stage}"])
    for layer in LAYERS:
        assert np.array_equal(values[f"grad_{layer}"], history[f"grad_norm_{layer}"])
    step_checks = [c for c in run["checks"] if c["widget"] == "bp-step"]
    steps = sorted({c["set"]["step"] for c in step_checks})
    assert steps == sorted({1, (data["steps"] + 1) // 2, data["steps"]})
    assert len(step_checks) == len(steps) * len(bp_widgets.STAGES)
    # An independent reading of one check: the last stage of the last step shows δ Tom's size and Tom's norm.
    last = next(c for c in step_checks if c["set"] == {"step": data["steps"], "stage": 6})
    assert float(last["expect"]["value"].split()[1]) == pytest.approx(history["message_tom"][-1], rel=1e-3)
    assert float(last["expect"]["gradient"].split()[-1]) == pytest.approx(history["grad_norm_tom"][-1], rel=1e-3)
    factor = float(last["expect"]["factor"].split()[1])
    assert factor == pytest.approx(history["message_tom"][-1] / history["message_dick_to_tom"][-1], rel=1e-2)
    assert run["bytes"] < widgets.MAX_DATA_BYTES


@needs_node
@pytest.mark.parametrize("name", ["story", "fifth"])
def test_javascript_shows_the_checked_text(runs: dict, name: str) -> None:
    run = runs[name]
    puzzle_data = run["data"]["bp-puzzle"]
    step_data = run["data"]["bp-step"]
    values = {key: widgets.decode_array(encoded).tolist() for key, encoded in step_data["values"].items()}
    calls, expected = [], []
    for c in run["checks"]:
        if c["widget"] == "bp-puzzle":
            calls.append(("backprop.puzzleTexts", [puzzle_data, c["set"]["round"]]))
        else:
            calls.append(("backprop.stepTexts", [step_data["stages"], values, c["set"]["step"], c["set"]["stage"]]))
        expected.append(c["expect"])
    # Every step and stage, not only the checked ones, against the Python recipe.
    for step in range(1, step_data["steps"] + 1):
        for stage in range(1, len(bp_widgets.STAGES) + 1):
            calls.append(("backprop.stepTexts", [step_data["stages"], values, step, stage]))
            expected.append(bp_widgets.step_texts(values, step, stage))
    got = run_js(calls, scripts=(CORE_JS, BP_JS))
    wrong = [(call, js, py) for call, js, py in zip(calls, got, expected, strict=True) if js != py]
    assert not wrong, wrong[:3]


def test_javascript_has_no_template_delimiters() -> None:
    text = BP_JS.read_text(encoding="utf-8")
    for delimiter in ("{{", "}}", "{%", "%}", "{#", "#}"):
        assert delimiter not in text


def test_bad_inputs_are_refused(tmp_path: Path) -> None:
    from kit.cli import PipelineError

    empty = tmp_path / "empty.json"
    empty.write_text("", encoding="utf-8")
    with pytest.raises(PipelineError):
        bp_widgets.main(["--puzzle", str(empty), "--history", str(empty), "--output", str(tmp_path / "w.js"),
                         "--checks", str(tmp_path / "c.json")])  # fmt: skip
