"""Export the data of the backpropagation explainer's widgets, and the checks the browser test replays on them.

Two widgets, drawn by templates/widgets/backprop.js:

* ``bp-puzzle``, a stepper through the puzzle's rounds: for the start and every simulated round, which pieces are
  wrong, whose they are, which were fixed in that round, and the message as it travels Harry -> Dick -> Tom.
  Its data is ``puzzle.json`` itself (the pipeline's simulation), so every count the stepper shows is the
  simulation's; one check per round lists the text it must show.
* ``bp-step``, one training step, forward then backward: the step's batch loss (the forward pass's result), then
  the size of the error signal at each of the five hops of its way back (mean per-image L2 norm: δ Harry, through
  Harry's weights, δ Dick, through Dick's weights, δ Tom), with the factor each hop multiplies it by and the
  gradient norm of the layer whose δ it is. The numbers are ``history.npz``'s rows, exported as float64 so the
  browser formats the very values the pipeline recorded; checks at the first, a middle and the last step.

The texts are built here and in the JavaScript by the same recipe (``puzzle_texts``, ``step_texts``; the node
test compares the two on every round and on sampled steps).

Usage::

    PYTHONPATH=scripts python scripts/backprop/widgets.py --puzzle results/backprop/puzzle.json \\
        --history results/backprop/history.npz --output results/widgets/backprop.js \\
        --checks results/widgets/backprop.checks.json
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from backprop.bpio import LAYERS, MESSAGE_STAGES, PEOPLE, read_history, read_puzzle
from kit.cli import run_cli
from kit.figure import Input
from kit.formats import num, scientific
from kit.widgets import Export, check, encode_array, widgets_main

#: The order the message reaches the people (the correction travels from the output back).
ORDER = ("Harry", "Dick", "Tom")

#: The six stages of one training step: the forward pass, then the five hops of the backward message.
STAGES: tuple[dict[str, str], ...] = (
    {"key": "loss", "name": "Forward: Tom, Dick and Harry compute their outputs; the batch's loss", "layer": ""},
    {"key": "harry", "name": "Backward, hop 1: Harry's error signal δ Harry (softmax minus one-hot)", "layer": "harry"},
    {"key": "harry_to_dick", "name": "Backward, hop 2: δ Harry sent back through Harry's weights", "layer": ""},
    {"key": "dick", "name": "Backward, hop 3: times Dick's activation slope, δ Dick", "layer": "dick"},
    {"key": "dick_to_tom", "name": "Backward, hop 4: δ Dick sent back through Dick's weights", "layer": ""},
    {"key": "tom", "name": "Backward, hop 5: times Tom's activation slope, δ Tom", "layer": "tom"},
)


# --------------------------------------------------------------------------------------------------------
# The puzzle stepper
# --------------------------------------------------------------------------------------------------------


def puzzle_states(puzzle: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The start and every round: wrong pieces per person (and their positions), fixes and the message."""
    people = list(puzzle["people"])
    states = [
        {
            "round": 0,
            "wrong": {p: int(puzzle["initial_wrong"][p]) for p in people},
            "wrong_positions": {p: [int(i) for i in puzzle["initial_wrong_positions"][p]] for p in people},
            "fixed_positions": [],
            "fixes": None,
            "steps": [],
        }
    ]
    for r in puzzle["rounds"]:
        states.append(
            {
                "round": int(r["round"]),
                "wrong": {p: int(r["wrong_after"][p]) for p in people},
                "wrong_positions": {p: [int(i) for i in r["wrong_positions_after"][p]] for p in people},
                "fixed_positions": sorted(int(i) for s in r["steps"] for i in s["fixed_positions"]),
                "fixes": {p: int(r["fixes"][p]) for p in people},
                "steps": [
                    {
                        "person": s["person"],
                        "received": [int(s["received"]["fixes_to_make"]), int(s["received"]["wrong_pieces"])],
                        "fixed": int(s["fixed"]),
                        "passed": (
                            [int(s["passed"]["fixes_to_make"]), int(s["passed"]["wrong_pieces"])]
                            if s["passed"]
                            else None
                        ),
                    }
                    for s in r["steps"]
                ],
            }
        )
    return states


def puzzle_texts(data: Mapping[str, Any], index: int) -> dict[str, str]:
    """What the stepper shows at state ``index`` (0: the start), as templates/widgets/backprop.js writes it."""
    state = data["states"][index]
    last = len(data["states"]) - 1
    wrong = state["wrong"]
    total = sum(wrong.values())
    people = data["people"]
    out = {
        "round": "the start, before any round" if index == 0 else f"round {num(index)} of {num(last)}",
        "wrong": ", ".join(f"{p} {num(wrong[p])}" for p in people),
        "total": f"{num(total)} of {num(data['n_pieces'])} pieces wrong",
    }
    if index == 0:
        out["fixed"] = "none yet"
        out["message"] = "The three have laid the puzzle; the instructions say how many pieces are wrong."
    else:
        out["fixed"] = ", ".join(f"{p} {num(state['fixes'][p])}" for p in ORDER)
        parts = []
        for s in state["steps"]:
            fixes, wrong = num(s["received"][0]), num(s["received"][1])
            got = f"{s['person']} receives “fix {fixes} of {wrong}” and fixes {num(s['fixed'])}"
            if s["passed"] is not None:
                got += f", then passes “fix {num(s['passed'][0])} of {num(s['passed'][1])}”"
            parts.append(got)
        out["message"] = "; ".join(parts) + "."
    return out


# --------------------------------------------------------------------------------------------------------
# One training step, forward then backward
# --------------------------------------------------------------------------------------------------------


def step_values(history: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The per-step numbers the widget shows, by name (float64, one value per step)."""
    values = {"loss": np.asarray(history["batch_loss"], dtype=np.float64)}
    for stage in MESSAGE_STAGES:
        values[stage] = np.asarray(history[f"message_{stage}"], dtype=np.float64)
    for layer in LAYERS:
        values[f"grad_{layer}"] = np.asarray(history[f"grad_norm_{layer}"], dtype=np.float64)
    return values


def step_texts(values: Mapping[str, Sequence[float]], step: int, stage: int) -> dict[str, str]:
    """What the step widget shows at training step ``step`` (1-based) and stage ``stage`` (1 to 6)."""
    i = step - 1
    spec = STAGES[stage - 1]
    out = {
        "step-loss": f"{scientific(float(values['loss'][i]), 4)} nats",
        "stage": spec["name"],
    }
    if spec["key"] == "loss":
        out["value"] = f"batch loss {scientific(float(values['loss'][i]), 4)} nats"
        out["factor"] = "the backward pass starts from here"
        out["gradient"] = "no gradient yet"
        return out
    value = float(values[spec["key"]][i])
    out["value"] = f"size {scientific(value, 4)} per image"
    if stage == 2:
        out["factor"] = "the start of the backward message"
    else:
        before = float(values[STAGES[stage - 2]["key"]][i])
        out["factor"] = f"× {scientific(value / before, 3)} on this hop" if before else "the hop before carried 0"
    layer = spec["layer"]
    if layer:
        out["gradient"] = f"{PEOPLE[layer]}'s gradient norm {scientific(float(values[f'grad_{layer}'][i]), 4)}"
    else:
        out["gradient"] = "a message between layers: no gradient of its own"
    return out


def check_steps(n_steps: int) -> list[int]:
    """The steps the browser test checks: the first, one in the middle and the last."""
    return sorted({1, (n_steps + 1) // 2, n_steps})


# --------------------------------------------------------------------------------------------------------
# The export
# --------------------------------------------------------------------------------------------------------


def build(puzzle: Mapping[str, Any], history: Mapping[str, np.ndarray]) -> Export:
    """Both widgets' data and their checks."""
    puzzle_data = {
        "people": list(puzzle["people"]),
        "n_pieces": int(puzzle["n_pieces"]),
        "positions": {p: [int(i) for i in puzzle["positions"][p]] for p in puzzle["people"]},
        "states": puzzle_states(puzzle),
    }
    checks = [
        check(
            "bp-puzzle",
            {"round": index},
            puzzle_texts(puzzle_data, index),
            keys=index in (1, len(puzzle_data["states"]) - 1),
            note=f"puzzle.json, {'the start' if index == 0 else f'round {index}'}",
        )
        for index in range(len(puzzle_data["states"]))
    ]
    values = step_values(history)
    n_steps = len(values["loss"])
    step_data = {
        "steps": n_steps,
        "stages": [dict(s) for s in STAGES],
        "values": {key: encode_array(array, "float64") for key, array in values.items()},
    }
    for step in check_steps(n_steps):
        for stage in range(1, len(STAGES) + 1):
            checks.append(
                check(
                    "bp-step",
                    {"step": step, "stage": stage},
                    step_texts(values, step, stage),
                    keys=step == 1 and stage in (1, len(STAGES)),
                    note=f"history.npz, step {step}, stage {stage}",
                )
            )
    return Export(widgets={"bp-puzzle": puzzle_data, "bp-step": step_data}, checks=checks)


def main(argv: Sequence[str] | None = None) -> None:
    """Read the puzzle and the training history, build the widgets' data and checks, write both files."""
    widgets_main(
        argv,
        __doc__,
        explainer="backprop",
        inputs=[
            Input("puzzle", "puzzle JSON written by backprop/puzzle.py", read_puzzle),
            Input("history", "history.npz written by backprop/network.py", read_history),
        ],
        build=lambda d, a: build(d["puzzle"], d["history"]),
    )


if __name__ == "__main__":
    sys.exit(run_cli(main))
