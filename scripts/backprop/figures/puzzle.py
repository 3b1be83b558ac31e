"""The puzzle story drawn: 20 pieces in Tom's, Dick's and Harry's groups, wrong pieces marked, round by round.

One row per state of the puzzle: the start (as the thread describes it) and the position after every simulated
round. Each square is a piece in its layer's colour: solid with a white cross when wrong, pale when right, pale
with a check mark and a thick outline when it was fixed in that round. An arrow over the groups shows the
correction travelling Harry -> Dick -> Tom. Reads ``puzzle.json`` (backprop/puzzle.py).

    PYTHONPATH=scripts python scripts/backprop/figures/puzzle.py --puzzle results/backprop/puzzle.json \\
        --output results/figures/backprop/puzzle.svg --meta results/figures/backprop/puzzle.json
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

from matplotlib.colors import to_rgb
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch, Rectangle

from backprop.bpio import PERSON_INDEX, read_puzzle
from kit.cli import run_cli
from kit.figure import Input, figure_main
from kit.plotstyle import PALETTE, new_figure, set_title

#: Colour of each person's pieces, the same in every backprop figure (Okabe & Ito).
PERSON_COLORS: dict[str, str] = {person: PALETTE[index] for person, index in PERSON_INDEX.items()}

#: Horizontal gap between two people's groups of pieces, in piece widths.
GROUP_GAP = 0.6
#: Side of a piece (the rest of the unit cell is the space between pieces).
PIECE = 0.82


def pale(color: str, strength: float = 0.22) -> tuple[float, float, float]:
    """``color`` mixed with white: the fill of a piece that is right."""
    return tuple(strength * c + (1 - strength) for c in to_rgb(color))


def piece_x(puzzle: dict[str, Any]) -> dict[int, float]:
    """Left edge of every piece position, with a gap between the three groups."""
    xs, offset = {}, 0.0
    for group, person in enumerate(puzzle["people"]):
        for position in puzzle["positions"][person]:
            xs[position] = position - 1 + group * GROUP_GAP + offset
    return xs


def states(puzzle: dict[str, Any]) -> list[dict[str, Any]]:
    """Every row of the drawing: label, wrong positions, positions fixed in that round, and the fixes."""
    rows = [
        {
            "label": "start",
            "wrong": puzzle["initial_wrong_positions"],
            "fixed": {},
            "total": puzzle["totals"][0],
            "fixes": None,
        }
    ]
    for rnd in puzzle["rounds"]:
        rows.append(
            {
                "label": f"after round {rnd['round']}",
                "wrong": rnd["wrong_positions_after"],
                "fixed": {step["person"]: step["fixed_positions"] for step in rnd["steps"]},
                "total": rnd["total_after"],
                "fixes": [(step["person"], step["fixed"]) for step in rnd["steps"]],
            }
        )
    return rows


def draw_piece(ax: Any, x: float, y: float, color: str, state: str) -> None:
    """One square piece: ``wrong`` (solid, white cross), ``fixed`` (pale, check mark, thick edge) or ``right``."""
    if state == "wrong":
        ax.add_patch(Rectangle((x, y), PIECE, PIECE, facecolor=color, edgecolor=color, linewidth=0.8))
        m = 0.22 * PIECE
        for x0, x1 in ((x + m, x + PIECE - m), (x + PIECE - m, x + m)):
            ax.plot([x0, x1], [y + m, y + PIECE - m], color="white", linestyle="-", linewidth=1.6)
    elif state == "fixed":
        ax.add_patch(Rectangle((x, y), PIECE, PIECE, facecolor=pale(color), edgecolor="black", linewidth=1.6))
        ax.plot(
            [x + 0.2 * PIECE, x + 0.42 * PIECE, x + 0.8 * PIECE],
            [y + 0.5 * PIECE, y + 0.25 * PIECE, y + 0.78 * PIECE],
            color="black",
            linestyle="-",
            linewidth=1.4,
        )
    else:
        ax.add_patch(Rectangle((x, y), PIECE, PIECE, facecolor=pale(color), edgecolor=color, linewidth=0.6))


def legend_row(ax: Any, y: float, x0: float) -> None:
    """A drawn key under the rows: what a wrong, a fixed and a right piece look like."""
    x = x0
    for state, text in (("wrong", "wrong piece"), ("fixed", "fixed in this round"), ("right", "right piece")):
        draw_piece(ax, x, y, "#555555", state)
        ax.text(x + PIECE + 0.3, y + PIECE / 2, text, va="center", ha="left", fontsize=8)
        x += 7.4


def plot_puzzle(puzzle: dict[str, Any], title: str) -> Figure:
    """The rows of pieces, the group names, the correction arrow and the per-round fixes."""
    rows = states(puzzle)
    xs = piece_x(puzzle)
    right_edge = max(xs.values()) + PIECE
    # About 0.23 inch per row: the pieces come out close to square at the page width.
    fig = new_figure(1.5 + 0.23 * len(rows))
    ax = fig.subplots()
    ax.set_axis_off()
    owner = {p: person for person in puzzle["people"] for p in puzzle["positions"][person]}
    for r, row in enumerate(rows):
        y = -r
        for position, x in xs.items():
            person = owner[position]
            if position in row["wrong"][person]:
                state = "wrong"
            elif position in row["fixed"].get(person, []):
                state = "fixed"
            else:
                state = "right"
            draw_piece(ax, x, y, PERSON_COLORS[person], state)
        ax.text(-0.5, y + PIECE / 2, row["label"], ha="right", va="center", fontsize=8)
        ax.text(right_edge + 0.5, y + PIECE / 2, f"{row['total']} wrong", ha="left", va="center", fontsize=8)
    # Group names above the first row, and the correction's direction above them.
    top = 1.0
    for person in puzzle["people"]:
        first, last = puzzle["positions"][person][0], puzzle["positions"][person][-1]
        centre = (xs[first] + xs[last] + PIECE) / 2
        ax.text(
            centre,
            top + 0.1,
            f"{person}\npieces {first}\u2013{last}",
            ha="center",
            va="bottom",
            fontsize=8.5,
            color=PERSON_COLORS[person],
            fontweight="bold",
        )
    arrow_y = top + 2.0
    ax.add_patch(
        FancyArrowPatch(
            (right_edge - 0.3, arrow_y),
            (0.3, arrow_y),
            arrowstyle="-|>,head_length=0.6,head_width=0.3",
            mutation_scale=12,
            linewidth=1.6,
            color="#333333",
        )
    )
    ax.text(
        right_edge / 2,
        arrow_y + 0.3,
        "in every round the correction travels Harry → Dick → Tom",
        ha="center",
        va="bottom",
        fontsize=8,
        color="#333333",
    )
    legend_y = -len(rows) - 0.35
    legend_row(ax, legend_y, 0.0)
    ax.set_xlim(-5.0, right_edge + 4.2)
    ax.set_ylim(legend_y - 0.1, arrow_y + 1.2)
    set_title(fig, title)
    return fig


def describe(puzzle: dict[str, Any]) -> dict[str, Any]:
    """Title, alt text and numbers from the simulated rounds."""
    totals = puzzle["totals"]
    first = puzzle["rounds"][0] if puzzle["rounds"] else None
    pieces = puzzle["pieces"]
    start = puzzle["initial_wrong"]
    if first:
        fixes = ", ".join(f"{step['person']} fixes {step['fixed']}" for step in first["steps"])
        later = f" and {totals[-1]} after round {len(totals) - 1}" if len(totals) > 2 else ""
        title = (
            f"The correction travels Harry → Dick → Tom: {totals[0]} wrong pieces become {totals[1]} after "
            f"round 1{later}"
        )
    else:
        fixes = "no round is needed"
        title = f"The puzzle starts with {totals[0]} wrong pieces"
    groups = "; ".join(f"{p} laid {pieces[p]} pieces, {start[p]} wrong" for p in puzzle["people"])
    rows = "; ".join(f"after round {i}: {t}" for i, t in enumerate(totals[1:], start=1))
    alt = (
        f"Rows of {puzzle['n_pieces']} squares, one row per state of the puzzle, split into three coloured groups: "
        f"{groups}; {totals[0]} wrong at the start. Wrong pieces are solid with a white cross, right ones pale, "
        f"pieces fixed in a round carry a check mark. An arrow from Harry's group to Tom's shows the order of the "
        f"correction. In round 1 {fixes}. Wrong pieces {rows}."
    )
    return {
        "title": title,
        "alt": alt,
        "totals": totals,
        "n_rounds": len(puzzle["rounds"]),
        "round_1_fixes": first["fixes"] if first else None,
    }


def main(argv: Sequence[str] | None = None) -> None:
    """Read the rounds and write the figure and its sidecar."""
    figure_main(
        argv,
        __doc__,
        inputs=[Input("puzzle", "puzzle.json written by backprop/puzzle.py", read_puzzle)],
        describe=lambda d, a: describe(d["puzzle"]),
        draw=lambda d, info, a: plot_puzzle(d["puzzle"], info["title"]),
    )


if __name__ == "__main__":
    sys.exit(run_cli(main))
