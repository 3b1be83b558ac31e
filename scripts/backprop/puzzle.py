"""Simulate the backpropagation thread's puzzle story: Tom, Dick and Harry fix a 20-piece puzzle round by round.

The thread (SOURCES.md, section 2) gives the starting position: Tom lays the first 6 of 20 pieces (2 wrong),
Dick the next 8 (6 wrong), Harry the last 6 (4 wrong). The instructions say 12 are wrong. Harry fixes 1 of his
pieces and tells Dick, Dick fixes 2 and tells Tom, Tom fixes 1: now 8 are wrong; they repeat until the puzzle is
right, the correction always travelling Harry -> Dick -> Tom. The thread gives only that first round. This script
is a small model of the story that reproduces it and carries on:

* Each round the team aims to fix ``ceil(fix_fraction x wrong)`` pieces, where ``wrong`` is the count the
  instructions announce (at least one piece while any is wrong, so the story always ends).
* The message starts at Harry as "F fixes to make among the E wrong pieces". Each person, in the order
  Harry, Dick, Tom, fixes his proportional share ``round_half_up(F x own_wrong / E)`` of it (never more than
  his own wrong pieces), then passes on what is left: "F - fixed fixes to make among the E - own_wrong wrong
  pieces before mine". Tom, last, receives only his own wrong pieces and so fixes whatever is left.
* Which pieces start wrong, and which of a person's wrong pieces he fixes, is drawn with ``--seed``: the story
  does not say, and the drawing needs positions.

With ``fix_fraction`` one third (the config's default), round 1 gives exactly the thread's numbers (4 fixes of 12:
Harry 1, Dick 2, Tom 1 -> 8). The rounds continue until at most ``--target`` pieces are wrong.

Usage::

    PYTHONPATH=scripts python scripts/backprop/puzzle.py --seed 2 --fix-fraction 0.3333333333 --target 0 \\
        --max-rounds 30 --output results/backprop/puzzle.json
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kit.cli import ArgumentParser, PipelineError, run_cli
from kit.io import rounded, write_json

#: The three people in the order they lay their pieces (input side first), as the thread introduces them.
PEOPLE: tuple[str, ...] = ("Tom", "Dick", "Harry")

#: The thread's starting position (tweet 2/11): pieces laid and pieces wrong per person.
STORY_PIECES: dict[str, int] = {"Tom": 6, "Dick": 8, "Harry": 6}
STORY_WRONG: dict[str, int] = {"Tom": 2, "Dick": 6, "Harry": 4}

#: What the instructions tell the team at the start (tweet 3): how many pieces are wrong.
STORY_ANNOUNCED_WRONG = 12

#: The model's description, written into the output so the page can quote it rather than retype it.
MODEL_RULE = (
    "Each round the team aims to fix ceil(fix_fraction x wrong) pieces (at least one while any is wrong). "
    "Harry gets the message 'F fixes among E wrong pieces', fixes round_half_up(F x his wrong / E) of his own "
    "(at most all of them), and passes 'F - fixed fixes among the E - his wrong pieces before mine' to Dick, "
    "who does the same and passes what is left to Tom. Which pieces are wrong and which are fixed is seeded."
)


@dataclass(frozen=True)
class Settings:
    """The simulation's knobs (command-line flags), written into the output beside the rounds.

    No defaults here: each is a key of the config's ``backprop`` section, whose schema holds the defaults.
    """

    seed: int
    fix_fraction: float
    target: int
    max_rounds: int


def round_half_up(value: float) -> int:
    """Round to the nearest whole piece, halves up. Why not ``round``: Python rounds halves to even, so
    2.5 -> 2 but 3.5 -> 4, which would make the story's arithmetic depend on parity."""
    return math.floor(value + 0.5)


def block_positions(pieces: dict[str, int]) -> dict[str, list[int]]:
    """Piece positions 1..20 of each person: Tom's block first, then Dick's, then Harry's (the order laid)."""
    positions, start = {}, 1
    for person in PEOPLE:
        positions[person] = list(range(start, start + pieces[person]))
        start += pieces[person]
    return positions


def initial_wrong(rng: np.random.Generator, positions: dict[str, list[int]], wrong: dict[str, int]) -> dict:
    """Which of each person's pieces start wrong: a seeded choice of the thread's count (sorted positions)."""
    chosen = {}
    for person in PEOPLE:
        if not 0 <= wrong[person] <= len(positions[person]):
            raise PipelineError(f"{person} cannot have {wrong[person]} wrong of {len(positions[person])} pieces")
        picks = rng.choice(positions[person], size=wrong[person], replace=False)
        chosen[person] = sorted(int(p) for p in picks)
    return chosen


def pieces_to_fix(total_wrong: int, fix_fraction: float) -> int:
    """How many pieces the team aims to fix this round: ``ceil(fraction x wrong)``, at least one if any is wrong.

    Why ceil: with a fraction of one third it turns 12 wrong into the thread's 4 fixes, and it never stalls
    at one wrong piece (where a plain rounding would give zero fixes for ever).
    """
    if total_wrong <= 0:
        return 0
    # The tiny slack keeps 12 x 0.3333333333 (= 3.9999999996) at 4 rather than letting float noise add one.
    return max(1, min(total_wrong, math.ceil(fix_fraction * total_wrong - 1e-9)))


def play_round(number: int, wrong: dict[str, list[int]], settings: Settings, rng: np.random.Generator) -> dict:
    """One round: the message travels Harry -> Dick -> Tom and each fixes his share of what reaches him.

    ``wrong`` (positions of wrong pieces per person) is updated in place. Returns the round's record.
    """
    before = {person: len(wrong[person]) for person in PEOPLE}
    total_before = sum(before.values())
    owed = pieces_to_fix(total_before, settings.fix_fraction)
    unaccounted = total_before
    steps = []
    for index, person in enumerate(reversed(PEOPLE)):  # Harry first: the correction starts at the output
        own = before[person]
        share = owed * own / unaccounted if unaccounted else 0.0
        fixed = min(own, round_half_up(share))
        picks = sorted(int(p) for p in rng.choice(wrong[person], size=fixed, replace=False)) if fixed else []
        wrong[person] = [p for p in wrong[person] if p not in picks]
        passes_to = PEOPLE[len(PEOPLE) - 2 - index] if index < len(PEOPLE) - 1 else None
        steps.append(
            {
                "person": person,
                "received": {"fixes_to_make": owed, "wrong_pieces": unaccounted},
                "own_wrong": own,
                "share": share,
                "fixed": fixed,
                "fixed_positions": picks,
                "passes_to": passes_to,
                "passed": None
                if passes_to is None
                else {"fixes_to_make": owed - fixed, "wrong_pieces": unaccounted - own},
            }
        )
        owed, unaccounted = owed - fixed, unaccounted - own
    after = {person: len(wrong[person]) for person in PEOPLE}
    return {
        "round": number,
        "wrong_before": before,
        "total_before": total_before,
        "to_fix": steps[0]["received"]["fixes_to_make"],
        "steps": steps,
        "order": [step["person"] for step in steps],
        "fixes": {step["person"]: step["fixed"] for step in steps},
        "total_fixed": sum(step["fixed"] for step in steps),
        "wrong_after": after,
        "total_after": sum(after.values()),
        "wrong_positions_after": {person: list(wrong[person]) for person in PEOPLE},
    }


def simulate(
    settings: Settings,
    pieces: dict[str, int] | None = None,
    wrong_counts: dict[str, int] | None = None,
) -> dict:
    """Play rounds from the thread's starting position until at most ``settings.target`` pieces are wrong.

    Raises ``PipelineError`` when ``max_rounds`` rounds are not enough, so a bad setting never yields a
    story that silently stops half way.
    """
    pieces = dict(STORY_PIECES if pieces is None else pieces)
    wrong_counts = dict(STORY_WRONG if wrong_counts is None else wrong_counts)
    rng = np.random.default_rng(settings.seed)
    positions = block_positions(pieces)
    wrong = initial_wrong(rng, positions, wrong_counts)
    start = {person: list(wrong[person]) for person in PEOPLE}
    rounds = []
    while sum(len(w) for w in wrong.values()) > settings.target:
        if len(rounds) == settings.max_rounds:
            raise PipelineError(
                f"--max-rounds {settings.max_rounds}: the puzzle still has {sum(len(w) for w in wrong.values())} "
                f"wrong pieces (target {settings.target}); raise --max-rounds or --fix-fraction"
            )
        rounds.append(play_round(len(rounds) + 1, wrong, settings, rng))
    totals = [sum(wrong_counts.values())] + [r["total_after"] for r in rounds]
    return rounded(
        {
            "people": list(PEOPLE),
            "pieces": pieces,
            "positions": positions,
            "n_pieces": sum(pieces.values()),
            "initial_wrong": wrong_counts,
            "initial_wrong_positions": start,
            "announced_wrong": STORY_ANNOUNCED_WRONG,
            "rounds": rounds,
            "totals": totals,
            "n_rounds": len(rounds),
            "final_wrong": totals[-1],
            "reached_target": totals[-1] <= settings.target,
            "model_rule": MODEL_RULE,
            "settings": {
                "seed": settings.seed,
                "fix_fraction": settings.fix_fraction,
                "target": settings.target,
                "max_rounds": settings.max_rounds,
            },
        }
    )


def build_parser() -> ArgumentParser:
    """The command line: the four settings of the story (all required; the config's schema holds their
    defaults) and the file to write."""
    parser = ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, required=True, help="seed of which pieces are wrong/fixed")
    parser.add_argument(
        "--fix-fraction",
        type=float,
        required=True,
        help="share of the wrong pieces the team aims to fix each round (1/3 gives the thread's 4 of 12)",
    )
    parser.add_argument("--target", type=int, required=True, help="stop once at most this many pieces are wrong")
    parser.add_argument("--max-rounds", type=int, required=True, help="give up (with an error) after this many rounds")
    parser.add_argument("--output", type=Path, required=True, help="puzzle.json to write")
    return parser


def settings_from(args: argparse.Namespace) -> Settings:
    """Check the parsed flags and build the settings; a bad value raises ``PipelineError`` naming the flag."""
    if not (math.isfinite(args.fix_fraction) and 0 < args.fix_fraction <= 1):
        raise PipelineError(f"--fix-fraction must be in (0, 1], got {args.fix_fraction}")
    if not 0 <= args.target < sum(STORY_WRONG.values()):
        raise PipelineError(f"--target must be from 0 to {sum(STORY_WRONG.values()) - 1}, got {args.target}")
    if args.max_rounds < 1:
        raise PipelineError(f"--max-rounds must be at least 1, got {args.max_rounds}")
    if args.seed < 0:
        raise PipelineError(f"--seed must be >= 0, got {args.seed}")
    return Settings(args.seed, args.fix_fraction, args.target, args.max_rounds)


def main(argv: Sequence[str] | None = None) -> None:
    """Parse the flags, play the rounds and write them."""
    args = build_parser().parse_args(argv)
    result = simulate(settings_from(args))
    write_json(args.output, result)
    print(f"wrong pieces per round: {' -> '.join(str(t) for t in result['totals'])} ({result['n_rounds']} rounds)")


if __name__ == "__main__":
    sys.exit(run_cli(main))
