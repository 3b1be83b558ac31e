"""The puzzle's rounds as counts: wrong pieces per person after each round, and who fixed how many.

Left: one stacked bar per state of the puzzle (the start, then after every round), split into Tom's, Dick's and
Harry's wrong pieces, with the total on top. Right: the pieces each person fixed in each round, in the order the
correction reaches them (Harry, Dick, Tom). Reads ``puzzle.json`` (backprop/puzzle.py).

    PYTHONPATH=scripts python scripts/backprop/figures/rounds.py --puzzle results/backprop/puzzle.json \\
        --output results/figures/backprop/rounds.svg --meta results/figures/backprop/rounds.json
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from backprop.bpio import PERSON_INDEX, read_puzzle
from kit.cli import run_cli
from kit.figure import Input, figure_main
from kit.plotstyle import PALETTE, new_figure, set_title

#: Hatching per person, so the three groups stay apart in grey-scale print.
HATCHES: dict[str, str] = {"Tom": "", "Dick": "///", "Harry": "..."}


def counts(puzzle: dict[str, Any]) -> dict[str, Any]:
    """Wrong pieces per person at every state (start + each round) and fixes per person in each round."""
    people = puzzle["people"]
    wrong = {p: [puzzle["initial_wrong"][p]] + [r["wrong_after"][p] for r in puzzle["rounds"]] for p in people}
    fixes = {p: [r["fixes"][p] for r in puzzle["rounds"]] for p in people}
    return {"wrong": wrong, "fixes": fixes, "totals": puzzle["totals"]}


def plot_rounds(puzzle: dict[str, Any], title: str) -> Figure:
    """Stacked wrong counts (left) and grouped fixes (right)."""
    c = counts(puzzle)
    people = puzzle["people"]
    fig = new_figure(3.0)
    left, right = fig.subplots(1, 2, width_ratios=[1.15, 1])
    states = np.arange(len(c["totals"]))
    bottom = np.zeros(len(states))
    for person in people:
        values = np.asarray(c["wrong"][person], dtype=float)
        colour = PALETTE[PERSON_INDEX[person]]
        left.bar(states, values, bottom=bottom, width=0.7, color=colour, edgecolor="white", linewidth=0.6,
                 hatch=HATCHES[person], label=person)  # fmt: skip
        bottom += values
    for x, total in zip(states, c["totals"], strict=True):
        left.text(x, total + 0.25, str(total), ha="center", va="bottom", fontsize=8)
    left.set_xticks(states, ["start"] + [str(i) for i in states[1:]])
    left.set_xlabel("after round")
    left.set_ylabel("wrong pieces")
    left.set_ylim(0, max(c["totals"]) * 1.15 + 0.5)
    left.yaxis.set_major_locator(MaxNLocator(integer=True))
    left.set_title("Wrong pieces, by person")
    left.grid(axis="x", visible=False)

    rounds = np.arange(1, len(puzzle["rounds"]) + 1)
    order = ["Harry", "Dick", "Tom"]  # the order the correction reaches them
    width = 0.8 / len(order)
    for i, person in enumerate(order):
        right.bar(rounds + (i - 1) * width, c["fixes"][person], width=width, color=PALETTE[PERSON_INDEX[person]],
                  edgecolor="white", linewidth=0.6, hatch=HATCHES[person], label=person)  # fmt: skip
    right.set_xticks(rounds)
    right.set_xlabel("round")
    right.set_ylabel("pieces fixed")
    right.yaxis.set_major_locator(MaxNLocator(integer=True))
    right.set_ylim(0, max(max(v) for v in c["fixes"].values()) + 0.6 if rounds.size else 1)
    right.set_title("Pieces fixed per round")
    right.grid(axis="x", visible=False)
    handles, labels = left.get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=3)
    set_title(fig, title)
    return fig


def describe(puzzle: dict[str, Any]) -> dict[str, Any]:
    """Title, alt text and the numbers prose may quote."""
    c = counts(puzzle)
    totals = c["totals"]
    sequence = " → ".join(str(t) for t in totals)
    title = f"Wrong pieces per round: {sequence}"
    per_round = "; ".join(
        f"round {r['round']}: Harry {r['fixes']['Harry']}, Dick {r['fixes']['Dick']}, Tom {r['fixes']['Tom']}"
        for r in puzzle["rounds"]
    )
    wrong = "; ".join(f"{p}: {' → '.join(str(v) for v in c['wrong'][p])}" for p in puzzle["people"])
    alt = (
        f"Left: stacked bars of the wrong pieces at the start and after each of {len(puzzle['rounds'])} rounds, "
        f"split by person, totals {sequence}. Per person: {wrong}. Right: grouped bars of the pieces each person "
        f"fixed per round ({per_round})."
    )
    return {"title": title, "alt": alt, "totals": totals, "wrong": c["wrong"], "fixes": c["fixes"]}


def main(argv: Sequence[str] | None = None) -> None:
    """Read the rounds and write the figure and its sidecar."""
    figure_main(
        argv,
        __doc__,
        inputs=[Input("puzzle", "puzzle.json written by backprop/puzzle.py", read_puzzle)],
        describe=lambda d, a: describe(d["puzzle"]),
        draw=lambda d, info, a: plot_rounds(d["puzzle"], info["title"]),
    )


if __name__ == "__main__":
    sys.exit(run_cli(main))
