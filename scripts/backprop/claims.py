"""Check the backpropagation thread's statements and the explainer's own, and write one computed verdict per claim.

The thread (SOURCES.md, section 2) states the puzzle's arithmetic: 6 + 8 + 6 = 20 pieces, 2 + 6 + 4 = 12 wrong
(as the instructions say), a first round in which Harry fixes 1, Dick 2 and Tom 1 so that 8 remain wrong, and a
correction that always travels Harry -> Dick -> Tom and is repeated until the puzzle is right. Each is checked on
the simulated rounds (``puzzle.json``). The explainer adds two claims about the real network: the hand-made
backward pass gives autograd's gradients (checked on every step's relative error in ``history.npz`` against the
run's tolerance), and training with them lowers the loss.

Usage::

    PYTHONPATH=scripts python scripts/backprop/claims.py --puzzle results/backprop/puzzle.json \\
        --history results/backprop/history.npz --metrics results/backprop/metrics.json \\
        --output results/backprop/claims.json
"""

from __future__ import annotations

import itertools
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from backprop.bpio import LAYERS, PEOPLE, read_history, read_metrics, read_puzzle, scientific
from kit.cli import ArgumentParser, input_file, run_cli
from kit.io import rounded, write_json

SUPPORTED, NOT_SUPPORTED = "supported", "not supported"

#: The thread's words, as far as our copy of it goes (seed-threads.txt holds tweets 1 and 2 of 11).
QUOTE_TOM = "Tom has put the first 6 pieces out of 20, 2 of them are wrong, then passes the puzzle to Dick."
QUOTE_DICK_HARRY = (
    "Dick puts the next 8 pieces, 6 of them wrong, then passes the puzzle to you. "
    "And now, you put the final 6 pieces, 4 of them wrong."
)

#: What the thread says, as numbers: the starting position (tweet 2) and the first round (tweets 3-8).
THREAD_PIECES = {"Tom": 6, "Dick": 8, "Harry": 6}
THREAD_TOTAL_PIECES = 20
THREAD_WRONG = {"Tom": 2, "Dick": 6, "Harry": 4}
THREAD_ANNOUNCED_WRONG = 12
THREAD_ROUND_1_FIXES = {"Harry": 1, "Dick": 2, "Tom": 1}
THREAD_AFTER_ROUND_1 = 8
THREAD_ORDER = ["Harry", "Dick", "Tom"]

#: Where a claim comes from; the page turns these into words.
SOURCE_THREAD = "thread"  # quoted from our copy of the thread
SOURCE_SUMMARY = "thread-summary"  # tweets 3-8, known from SOURCES.md's summary of a public copy
SOURCE_EXPLAINER = "explainer"  # the standard explanation this page adds, checked on its own run


def verdict(ok: bool) -> str:
    """The verdict string of a boolean check."""
    return SUPPORTED if ok else NOT_SUPPORTED


def plus(values: Sequence[int]) -> str:
    """``[6, 8, 6]`` as ``6 + 8 + 6``: sums are shown with their terms, so a reader can redo them."""
    return " + ".join(str(v) for v in values)


def puzzle_claims(puzzle: dict[str, Any]) -> list[dict[str, Any]]:
    """The thread's arithmetic and the rounds' behaviour, checked on the simulation."""
    people = ["Tom", "Dick", "Harry"]
    pieces = [puzzle["pieces"][p] for p in people]
    wrong = [puzzle["initial_wrong"][p] for p in people]
    rounds = puzzle["rounds"]
    first = rounds[0] if rounds else None
    totals = puzzle["totals"]
    target = puzzle["settings"]["target"]
    claims = [
        {
            "id": "pieces_add_up",
            "claim": "Tom's 6, Dick's 8 and Harry's 6 pieces make up the 20-piece puzzle.",
            "quote": QUOTE_TOM,
            "source": SOURCE_THREAD,
            "measured": f"{plus(pieces)} = {sum(pieces)} pieces",
            "verdict": verdict(pieces == [THREAD_PIECES[p] for p in people] and sum(pieces) == THREAD_TOTAL_PIECES),
            "rule": "Supported when the pieces each person lays in the simulation equal the thread's and add up to "
            "the thread's total of 20.",
        },
        {
            "id": "wrong_add_up",
            "claim": "2 + 6 + 4 = 12 pieces are wrong, the number the instructions announce.",
            "quote": QUOTE_DICK_HARRY,
            "source": SOURCE_THREAD,
            "measured": f"{plus(wrong)} = {sum(wrong)} wrong; the instructions say {puzzle['announced_wrong']}",
            "verdict": verdict(
                wrong == [THREAD_WRONG[p] for p in people]
                and sum(wrong) == puzzle["announced_wrong"] == THREAD_ANNOUNCED_WRONG
            ),
            "rule": "Supported when the simulation starts with the thread's wrong pieces per person and their sum "
            "equals the announced count of 12.",
        },
    ]
    fixes = [first["fixes"][p] for p in THREAD_ORDER] if first else []
    claims.append(
        {
            "id": "round_1_fixes",
            "claim": "In the first round Harry fixes 1 of his pieces, Dick 2 and Tom 1.",
            "quote": None,
            "source": SOURCE_SUMMARY,
            "measured": ", ".join(f"{p} {n}" for p, n in zip(THREAD_ORDER, fixes, strict=True)) or "no round played",
            "verdict": verdict(bool(first) and first["fixes"] == THREAD_ROUND_1_FIXES),
            "rule": "Supported when the simulated first round gives each person the thread's number of fixes.",
        }
    )
    after = first["total_after"] if first else totals[0]
    claims.append(
        {
            "id": "round_1_total",
            "claim": "After the first round 8 pieces are wrong.",
            "quote": None,
            "source": SOURCE_SUMMARY,
            "measured": f"{totals[0]} − ({plus(fixes) if fixes else 0}) = {after}",
            "verdict": verdict(bool(first) and after == totals[0] - sum(fixes) == THREAD_AFTER_ROUND_1),
            "rule": "Supported when the wrong count after the simulated first round is the starting count minus "
            "that round's fixes and equals the thread's 8.",
        }
    )
    orders = [r["order"] for r in rounds]
    claims.append(
        {
            "id": "correction_order",
            "claim": "In every round the correction travels from Harry to Dick to Tom.",
            "quote": None,
            "source": SOURCE_SUMMARY,
            "measured": f"Harry → Dick → Tom in {sum(o == THREAD_ORDER for o in orders)} of {len(orders)} rounds",
            "verdict": verdict(bool(orders) and all(o == THREAD_ORDER for o in orders)),
            "rule": "Supported when every simulated round passes the message in the order Harry, Dick, Tom.",
        }
    )
    falls = all(b < a for a, b in itertools.pairwise(totals))
    claims.append(
        {
            "id": "falls_each_round",
            "claim": "Repeating the rounds, fewer pieces are wrong after every round.",
            "quote": None,
            "source": SOURCE_SUMMARY,
            "measured": " → ".join(str(t) for t in totals),
            "verdict": verdict(len(totals) > 1 and falls),
            "rule": "Supported when the wrong count after each simulated round is below the count before it.",
        }
    )
    claims.append(
        {
            "id": "reaches_target",
            "claim": "They repeat the rounds until the puzzle is (sufficiently) right.",
            "quote": None,
            "source": SOURCE_SUMMARY,
            "measured": f"{totals[-1]} wrong after {len(rounds)} rounds (target: at most {target})",
            "verdict": verdict(totals[-1] <= target),
            "rule": "Supported when the last simulated round leaves at most the configured target of wrong pieces.",
        }
    )
    return claims


def network_claims(history: dict[str, np.ndarray], metrics: dict[str, Any]) -> tuple[list[dict], dict]:
    """The explainer's claims about the real network, with the numbers they rest on."""
    tolerance = float(metrics["agreement"]["tolerance"])
    worst = {layer: float(np.max(history[f"relative_error_{layer}"])) for layer in LAYERS}
    overall = max(worst.values())
    n_steps = len(history["step"])
    train_first, train_last = float(history["train_loss"][0]), float(history["train_loss"][-1])
    test_first, test_last = float(history["test_loss"][0]), float(history["test_loss"][-1])
    per_layer = ", ".join(f"{PEOPLE[layer]} {scientific(worst[layer])}" for layer in LAYERS)
    claims = [
        {
            "id": "gradients_agree",
            "claim": "Backpropagation by hand, the chain rule applied layer by layer from Harry back to Tom, gives "
            "the gradients torch.autograd computes.",
            "quote": None,
            "source": SOURCE_EXPLAINER,
            "measured": f"largest relative error {scientific(overall)} over {n_steps:,} steps ({per_layer})",
            "verdict": verdict(overall < tolerance),
            "rule": f"Supported when every layer's relative error (max |g_numpy − g_autograd| / max |g_autograd|) "
            f"stays below {scientific(tolerance, 0)} at every training step.",
        },
        {
            "id": "loss_falls",
            "claim": "Correcting every layer with these gradients, round after round, lowers the error.",
            "quote": None,
            "source": SOURCE_EXPLAINER,
            "measured": f"training-subset loss {train_first:.3f} → {train_last:.3f} nats, test loss "
            f"{test_first:.3f} → {test_last:.3f} nats after {n_steps:,} steps",
            "verdict": verdict(train_last < train_first and test_last < test_first),
            "rule": "Supported when the loss after the last step is below the loss before the first, on the "
            "training subset and on the held-out test images.",
        },
    ]
    numbers = {
        "max_relative_error": overall,
        "max_relative_error_by_layer": worst,
        "tolerance": tolerance,
        "steps": n_steps,
        "train_loss_first": train_first,
        "train_loss_last": train_last,
        "test_loss_first": test_first,
        "test_loss_last": test_last,
    }
    return claims, numbers


def check_claims(puzzle: dict[str, Any], history: dict[str, np.ndarray], metrics: dict[str, Any]) -> dict[str, Any]:
    """The whole claims document: every claim with its verdict, the numbers behind them, a summary."""
    claims = puzzle_claims(puzzle)
    more, numbers = network_claims(history, metrics)
    claims += more
    supported = sum(c["verdict"] == SUPPORTED for c in claims)
    return rounded(
        {
            "claims": claims,
            "numbers": numbers,
            "thread": {
                "pieces": THREAD_PIECES,
                "total_pieces": THREAD_TOTAL_PIECES,
                "wrong": THREAD_WRONG,
                "announced_wrong": THREAD_ANNOUNCED_WRONG,
                "round_1_fixes": THREAD_ROUND_1_FIXES,
                "after_round_1": THREAD_AFTER_ROUND_1,
            },
            "summary": {
                "supported": supported,
                "total": len(claims),
                "thread_supported": sum(c["verdict"] == SUPPORTED for c in claims if c["source"] != SOURCE_EXPLAINER),
                "thread_total": sum(c["source"] != SOURCE_EXPLAINER for c in claims),
            },
        }
    )


def build_parser() -> ArgumentParser:
    """The command line: the three files the claims are checked on and the verdicts to write."""
    parser = ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--puzzle", type=input_file, required=True, help="puzzle.json written by puzzle.py")
    parser.add_argument("--history", type=input_file, required=True, help="history.npz written by network.py")
    parser.add_argument("--metrics", type=input_file, required=True, help="metrics.json written by network.py")
    parser.add_argument("--output", type=Path, required=True, help="claims.json to write")
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    """Parse the flags, check every claim and write the verdicts."""
    args = build_parser().parse_args(argv)
    result = check_claims(read_puzzle(args.puzzle), read_history(args.history), read_metrics(args.metrics))
    write_json(args.output, result)
    for claim in result["claims"]:
        print(f"{claim['verdict']:>13}: {claim['claim']} (measured: {claim['measured']})")
    print(f"{result['summary']['supported']} of {result['summary']['total']} claims supported")


if __name__ == "__main__":
    sys.exit(run_cli(main))
