"""Check the backpropagation thread's statements and the explainer's own, and choose the page's sentences.

The thread (SOURCES.md, section 2) states the puzzle's arithmetic: 6 + 8 + 6 = 20 pieces, 2 + 6 + 4 = 12 wrong
(as the instructions say), a first round in which Harry fixes 1, Dick 2 and Tom 1 so that 8 remain wrong, and a
correction that always travels Harry -> Dick -> Tom and is repeated until the puzzle is right. Each is checked on
the simulated rounds (``puzzle.json``). The explainer adds two claims about the real network: the hand-made
backward pass gives autograd's gradients (checked on every step's relative error in ``history.npz`` against the
run's tolerance), and training with them lowers the loss overall.

Beside the verdicts, ``claims.json`` holds ``facts`` (``kit.facts``): every sentence of the page that states a
result of this run (the first round against the thread's, how the loss moves, which layer gets the largest
gradient, why some gradients are exactly zero, where the puzzle analogy breaks, the worked example against
autograd), each chosen from the numbers with the condition that held.

Usage::

    PYTHONPATH=scripts python scripts/backprop/claims.py --puzzle results/backprop/puzzle.json \\
        --history results/backprop/history.npz --metrics results/backprop/metrics.json \\
        --output results/backprop/claims.json
"""

from __future__ import annotations

import itertools
import math
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from backprop import puzzle as simulation
from backprop.bpio import (
    EPSILON,
    FIRST_SAMPLES,
    LAYERS,
    MESSAGE_STAGES,
    PEOPLE,
    entry_counts,
    factor,
    read_history,
    read_metrics,
    read_puzzle,
    rises,
    scientific,
)
from kit import formats
from kit.cli import ArgumentParser, input_file, run_cli
from kit.facts import choose, compare, state
from kit.formats import fixed, pct, plural, upper_bound
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

#: The public copy of the thread (SOURCES.md): tweets 3 to 8, lost from our copy, are recovered there.
THREAD_URL = "https://threadreaderapp.com/thread/1384521213746184194.html"
THREAD_TWEETS = {"total": 11, "quoted": [1, 2], "recovered": [3, 8], "lost": [9, 11]}

#: The page's title: no outcome of a run changes what the page is about.
HEADLINE = "Backpropagation as a puzzle: Tom, Dick and Harry fix their pieces"

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
    n_evals = len(history["eval_step"]) - 1
    train_rises, test_rises = rises(history["train_loss"]), rises(history["test_loss"])
    per_layer = ", ".join(f"{PEOPLE[layer]} {upper_bound(worst[layer])}" for layer in LAYERS)
    claims = [
        {
            "id": "gradients_agree",
            "claim": "Backpropagation by hand, the chain rule applied layer by layer from Harry back to Tom, gives "
            "the gradients torch.autograd computes.",
            "quote": None,
            "source": SOURCE_EXPLAINER,
            "measured": f"largest relative error at most {upper_bound(overall)} over {n_steps:,} steps, rounded up "
            f"({per_layer})",
            "verdict": verdict(overall < tolerance),
            "rule": f"Supported when every layer's relative error (max |g_numpy − g_autograd| / max |g_autograd|) "
            f"stays below {scientific(tolerance, 0)} at every training step.",
        },
        {
            "id": "loss_falls",
            "claim": "Correcting every layer with these gradients lowers the error overall: the loss after the last "
            "step is below the loss before the first.",
            "quote": None,
            "source": SOURCE_EXPLAINER,
            "measured": f"training-subset loss {train_first:.3f} → {train_last:.3f} nats (above the evaluation before "
            f"at {train_rises} of {n_evals}), test loss {test_first:.3f} → {test_last:.3f} nats ({test_rises} of "
            f"{n_evals}) after {n_steps:,} steps",
            "verdict": verdict(train_last < train_first and test_last < test_first),
            "rule": "Supported when the loss after the last step is below the loss before the first, on the "
            "training subset and on the held-out test images (rises between evaluations are counted, not judged).",
        },
    ]
    numbers = {
        "max_relative_error": overall,
        "max_relative_error_by_layer": worst,
        "tolerance": tolerance,
        "steps": n_steps,
        "evaluations": n_evals,
        "train_loss_first": train_first,
        "train_loss_last": train_last,
        "train_loss_rises": train_rises,
        "test_loss_first": test_first,
        "test_loss_last": test_last,
        "test_loss_rises": test_rises,
    }
    return claims, numbers


# --------------------------------------------------------------------------------------------------------
# The page's sentences about this run, each chosen from the numbers (kit.facts)
# --------------------------------------------------------------------------------------------------------


def listed(items: Sequence[str]) -> str:
    """``["a", "b", "c"]`` as ``a, b and c``."""
    items = list(items)
    if len(items) < 2:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def rounds_text(numbers: Sequence[int]) -> str:
    """``[2, 3, 4]`` as ``round 2, 3 and 4`` / ``rounds 2, 3 and 4``."""
    return ("round " if len(numbers) == 1 else "rounds ") + listed([str(n) for n in numbers])


def fixes_text(fixes: dict[str, int]) -> str:
    """Fixes in the order the correction reaches them: ``Harry 1, Dick 2, Tom 1``."""
    return ", ".join(f"{person} {fixes[person]}" for person in THREAD_ORDER)


def distinct(values: Sequence[float]) -> list[str]:
    """The values with 3 significant digits, or more where that is needed to tell them apart (up to 8)."""
    for digits in range(3, 9):
        texts = [f"{v:.{digits}g}" for v in values]
        if len(set(texts)) == len(set(values)):
            return texts
    return texts


def apart(a: float, b: float, digits: int = 3, percent: bool = False) -> tuple[str, str]:
    """Two numbers with ``digits`` decimals, or more when that would print two different numbers alike (so "0.610
    is above 0.609" never reads "0.61 is above 0.61"); percentages with ``percent``."""
    scale, unit = (100.0, " %") if percent else (1.0, "")
    for places in range(digits, digits + 8):
        left, right = f"{scale * a:.{places}f}", f"{scale * b:.{places}f}"
        if a == b or left != right:
            break
    return left + unit, right + unit


def signed4(value: float) -> str:
    """Four significant digits with a true minus sign, as the worked example's table writes them."""
    return formats.scientific(value, 4).replace("-", "\u2212")


def first_round_thread_setting(puzzle: dict[str, Any]) -> dict[str, Any] | None:
    """The model's first round with a fix fraction of one third (the seed changes positions, not counts)."""
    settings = simulation.Settings(seed=int(puzzle["settings"]["seed"]), fix_fraction=1 / 3, target=11,
                                   max_rounds=1)  # fmt: skip
    rounds = simulation.simulate(settings, puzzle["pieces"], puzzle["initial_wrong"])["rounds"]
    return rounds[0] if rounds else None


def puzzle_facts(puzzle: dict[str, Any]) -> dict[str, dict]:
    """The sentences about the simulated rounds: the first round against the thread's, the end, the trend."""
    rounds, totals = puzzle["rounds"], puzzle["totals"]
    target = int(puzzle["settings"]["target"])
    fraction = float(puzzle["settings"]["fix_fraction"])
    first = rounds[0] if rounds else None
    matches = bool(first) and first["fixes"] == THREAD_ROUND_1_FIXES and first["total_after"] == THREAD_AFTER_ROUND_1
    thread_round = (
        f"{THREAD_ANNOUNCED_WRONG} → {THREAD_AFTER_ROUND_1} wrong pieces ({fixes_text(THREAD_ROUND_1_FIXES)})"
    )
    own_round = f"{first['total_before']} → {first['total_after']} ({fixes_text(first['fixes'])})" if first else ""
    third = first_round_thread_setting(puzzle)
    third_matches = bool(third) and third["fixes"] == THREAD_ROUND_1_FIXES and third["total_after"] == 8
    facts: dict[str, dict] = {}
    facts["lead"] = choose(
        [
            (matches, f"simulated round 1 is the thread's: {own_round}",
             f"This page first plays the story out, round by round, with a small seeded model of it whose first "
             f"round is the thread's: {thread_round}."),
            (bool(first), f"simulated round 1 is {own_round}, not the thread's {thread_round}",
             f"This page first plays the story out, round by round, with a small seeded model of it; with this "
             f"run's fix fraction ({fixed(fraction, 3)}) its first round is {own_round}, not the thread's "
             f"{thread_round}."),
        ],
        "This page first lays out the story's starting position; with this run's settings no round is played.",
        values={"fix_fraction": fraction, "round_1_fixes": first["fixes"] if first else None},
    )  # fmt: skip
    differ = [
        f"{person} fixes {first['fixes'][person]} where the thread's {person} fixes {THREAD_ROUND_1_FIXES[person]}"
        for person in THREAD_ORDER
        if first and first["fixes"][person] != THREAD_ROUND_1_FIXES[person]
    ]
    facts["round_1"] = choose(
        [
            (matches, "round 1 gives the thread's fixes and 8 wrong",
             f"That leaves {THREAD_AFTER_ROUND_1} wrong pieces: the thread's first round."),
            (bool(first), "round 1 differs from the thread's",
             f"That leaves {first['total_after'] if first else ''} wrong pieces, not the thread's "
             f"{THREAD_AFTER_ROUND_1}: with a fix fraction of {fixed(fraction, 3)} the model does not play the "
             f"thread's first round ({listed(differ) if differ else 'the same fixes, another total'})."),
        ],
        "No round is played.",
    )  # fmt: skip
    reached = totals[-1] <= target
    path = " → ".join(str(t) for t in totals)
    facts["end"] = choose(
        [
            (reached and totals[-1] == 0, f"0 wrong after {len(rounds)} rounds",
             f"The wrong pieces go {path}: after {plural(len(rounds), 'round')} none is wrong and the puzzle is "
             f"done."),
            (reached, f"{totals[-1]} wrong <= target {target}",
             f"The wrong pieces go {path}: after {plural(len(rounds), 'round')} {totals[-1]} "
             f"{'is' if totals[-1] == 1 else 'are'} wrong, within the target of at most {target}."),
        ],
        f"The wrong pieces go {path}: after {plural(len(rounds), 'round')} {totals[-1]} are wrong, above the "
        f"target of {target}.",
        values={"totals": totals, "target": target},
    )  # fmt: skip
    fixed_per_round = [r["total_fixed"] for r in rounds]
    never_more = all(b <= a for a, b in itertools.pairwise(fixed_per_round))
    facts["fixes"] = choose(
        [
            (len(rounds) == 1, "one round",
             f"The team fixes {plural(fixed_per_round[0] if rounds else 0, 'piece')} in its only round."),
            (never_more, f"fixes per round {fixed_per_round} never grow",
             f"The team fixes {listed([str(f) for f in fixed_per_round])} pieces in rounds 1 to {len(rounds)}: "
             f"each round aims at {fixed(fraction, 3)} of what is still wrong, rounded up, so the fixes never grow "
             f"as the wrong pieces become fewer."),
        ],
        f"The team fixes {listed([str(f) for f in fixed_per_round])} pieces in rounds 1 to {len(rounds)}.",
        values={"fixes_per_round": fixed_per_round},
    )  # fmt: skip
    drops = [a - b for a, b in itertools.pairwise(totals)]
    most = [i + 1 for i, d in enumerate(drops) if drops and d == max(drops)]
    facts["totals_trend"] = choose(
        [
            (len(drops) == 1 and drops[0] > 0, "one round",
             f"Notice that the total falls from {totals[0]} to {totals[-1]} in one round."),
            (bool(drops) and all(d > 0 for d in drops), f"every drop > 0: {drops}",
             f"Notice that the total falls in every round, by {listed([str(d) for d in drops])} "
             f"{'piece' if drops == [1] else 'pieces'}: most in {rounds_text(most)}."),
        ],
        f"The total goes {path}.",
        values={"drops": drops},
    )  # fmt: skip
    used_up: dict[str, list[int]] = {person: [] for person in THREAD_ORDER}
    rounded_away: dict[str, list[tuple[int, float]]] = {person: [] for person in THREAD_ORDER}
    for r in rounds:
        for step in r["steps"]:
            if step["own_wrong"] > 0 and step["fixed"] == 0:
                if step["received"]["fixes_to_make"] == 0:
                    used_up[step["person"]].append(r["round"])
                else:
                    rounded_away[step["person"]].append((r["round"], step["share"]))
    idle = []
    for person in THREAD_ORDER:
        if used_up[person]:
            before = listed(THREAD_ORDER[: THREAD_ORDER.index(person)])
            idle.append(f"{person} in {rounds_text(used_up[person])} has a wrong piece but receives no fix to make, "
                        f"because {before} used the message up")  # fmt: skip
        if rounded_away[person]:
            shares = listed([f"{share:.2f} in round {n}" for n, share in rounded_away[person]])
            idle.append(f"{person}'s share rounds to no fix ({shares})")
    facts["idle"] = choose(
        [(bool(idle), "someone with wrong pieces fixes nothing in some round",
          "Notice where a person fixes nothing: " + "; ".join(idle) + ".")],
        "In every round, each person with a wrong piece fixes at least one.",
        values={"used_up": used_up, "rounded_away": {k: [n for n, _ in v] for k, v in rounded_away.items()}},
    )  # fmt: skip
    facts["rule_origin"] = choose(
        [
            (matches, "this run's first round is the thread's",
             f"With this run's fix fraction ({fixed(fraction, 3)}) the model plays the thread's first round, the "
             f"round its rule was written to give, so the first-round claims check the model against the thread "
             f"rather than the thread itself; the later rounds are the model's own."),
            (third_matches, "this run's first round differs; one third gives the thread's",
             f"With this run's fix fraction ({fixed(fraction, 3)}) the model's first round is {own_round}, not "
             f"the thread's {thread_round}, so the first-round claims are not supported; the same model with a "
             f"fix fraction of one third plays the thread's round. The later rounds are the model's own."),
        ],
        f"With this run's fix fraction ({fixed(fraction, 3)}) the model's first round is {own_round}, not the "
        f"thread's {thread_round}; the later rounds are the model's own.",
    )  # fmt: skip
    facts["added"] = choose(
        [(third_matches, "one third plays the thread's round 1",
          "a model of the rounds (with a fix fraction of one third it plays the thread's first round) that plays "
          "the later rounds too")],
        "a model of the rounds that plays the later rounds too",
    )  # fmt: skip
    facts["budget"] = budget_fact(rounds, used_up["Tom"])
    return facts


def budget_fact(rounds: list[dict], tom_starved: list[int]) -> dict:
    """Where the puzzle is a budget: what reaches each person in round 1, and the rounds Tom got nothing."""
    if not rounds:
        return state("No round is played, so no message is passed.")
    h, d, _ = rounds[0]["steps"]
    opening = (
        f"In the story the message is a budget: in round 1, {plural(h['received']['fixes_to_make'], 'fix', 'fixes')} "
        f"to make reach Harry; he uses {h['fixed']} and passes on {h['passed']['fixes_to_make']}; Dick uses "
        f"{d['fixed']} and passes on {d['passed']['fixes_to_make']}, which is all Tom gets."
    )
    return choose(
        [(bool(tom_starved), f"Tom has wrong pieces but receives 0 fixes in rounds {tom_starved}",
          f"{opening} In {rounds_text(tom_starved)} Tom has a wrong piece and receives nothing to fix: the "
          f"budget is used up before it reaches him.")],
        f"{opening} In this run the budget never runs out before it reaches a person with a wrong piece.",
        values={"tom_starved": tom_starved},
    )  # fmt: skip


def loss_facts(history: dict[str, np.ndarray], metrics: dict[str, Any]) -> dict[str, dict]:
    """How the loss moves: overall and between evaluations, how fast at first, training against test."""
    steps, every = len(history["step"]), int(metrics["settings"]["eval_every"])
    evals = history["eval_step"]
    n_evals = len(evals) - 1
    train, test = history["train_loss"], history["test_loss"]
    first, last = float(train[0]), float(train[-1])
    up, test_up = rises(train), rises(test)
    facts: dict[str, dict] = {}
    cadence = "one after every step" if every == 1 else f"one every {every} steps"
    cadence = cadence if n_evals > 1 else "after the last step"
    facts["loss_trend"] = choose(
        [
            (last < first and up == 0, f"last < first ({last} < {first}) and no rise in {n_evals} evaluations",
             f"The loss on the training images falls at every one of the {n_evals} evaluations ({cadence}), from "
             f"{first:.3f} to {last:.3f} nats."),
            (last < first, f"last < first ({last} < {first}); {up} rises in {n_evals} evaluations",
             f"The loss on the training images falls overall, from {first:.3f} to {last:.3f} nats, but not round "
             f"after round: it is above the evaluation before at {up} of the {n_evals} evaluations ({cadence})."),
        ],
        f"The loss on the training images does not fall overall: it goes from {first:.3f} to {last:.3f} nats, and "
        f"is above the evaluation before at {up} of the {n_evals} evaluations ({cadence}).",
        values={"first": first, "last": last, "rises": up, "evaluations": n_evals, "test_rises": test_up},
    )  # fmt: skip
    lowest = int(np.argmin(test))
    test_first, test_last = float(test[0]), float(test[-1])
    low_text = f"it is lowest at step {int(evals[lowest]):,} ({float(test[lowest]):.3f})"
    facts["test_trend"] = choose(
        [
            (test_up == 0 and test_last < test_first, "test loss never above the evaluation before",
             f"On the test images the loss falls at every evaluation too, from {test_first:.3f} to {test_last:.3f} "
             f"nats."),
            (test_last < test_first, f"test loss falls overall; {test_up} rises",
             f"On the test images the loss falls overall, from {test_first:.3f} to {test_last:.3f} nats, but is above "
             f"the evaluation before at {test_up} of the {n_evals} evaluations; {low_text}."),
        ],
        f"On the test images the loss goes from {test_first:.3f} to {test_last:.3f} nats, above the evaluation "
        f"before at {test_up} of the {n_evals} evaluations; {low_text}.",
        values={"rises": test_up, "lowest_step": int(evals[lowest]), "lowest": float(test[lowest])},
    )  # fmt: skip
    half = first - (first - last) / 2
    by = int(evals[int(np.argmax(train <= half))]) if last < first else None
    facts["fast_start"] = choose(
        [(last < first, f"last < first; half of the fall ({half:.4f}) by step {by}",
          f"Half of the training loss's overall fall, from {first:.3f} to {last:.3f}, is done by step {by:,} of "
          f"{steps:,}." if by is not None else "")],
        f"The training loss does not fall overall ({first:.3f} → {last:.3f} nats).",
        values={"half_step": by},
    )  # fmt: skip
    final = metrics["final"]
    gap_loss = final["test_loss"] > final["train_loss"]
    gap_accuracy = final["test_accuracy"] < final["train_accuracy"]
    test_loss, train_loss = apart(final["test_loss"], final["train_loss"])
    test_acc, train_acc = apart(final["test_accuracy"], final["train_accuracy"], 1, percent=True)
    facts["gap"] = choose(
        [
            (gap_loss and gap_accuracy, "test loss > training loss and test accuracy < training accuracy",
             f"At the end the test loss, {test_loss}, is above the training loss, {train_loss}, and test accuracy "
             f"({test_acc}) is below training accuracy ({train_acc}): the network does better on the images it is "
             f"trained on."),
            (gap_loss, "test loss > training loss",
             f"At the end the test loss, {test_loss}, is above the training loss, {train_loss}, while test accuracy "
             f"is {test_acc} against {train_acc} on the training images."),
        ],
        f"At the end the test loss, {test_loss}, is not above the training loss, {train_loss}.",
        values={"final": final},
    )  # fmt: skip
    initial = metrics["initial"]
    facts["before"] = state(
        f"Before training the loss on the training images is {initial['train_loss']:.3f} nats and the network "
        f"classifies {pct(initial['test_accuracy'])} of the test images correctly; a guess among the ten classes is "
        f"right one time in ten."
    )
    facts["after"] = state(
        f"After {steps:,} steps the loss on the training images is {final['train_loss']:.3f} nats, and the network "
        f"classifies {pct(final['train_accuracy'])} of its training images and {pct(final['test_accuracy'])} of the "
        f"test images correctly (test loss {final['test_loss']:.3f})."
    )
    return facts


def gradient_facts(history: dict[str, np.ndarray], metrics: dict[str, Any]) -> dict[str, dict]:
    """Which layer's gradient is largest, how the error signal changes on its way back, and what it says."""
    medians = {layer: float(np.median(history[f"grad_norm_{layer}"])) for layer in LAYERS}
    texts = dict(zip(LAYERS, distinct([medians[layer] for layer in LAYERS]), strict=True))
    ranked = sorted(LAYERS, key=lambda layer: -medians[layer])
    all_differ = len(set(medians.values())) == len(LAYERS)
    opening = (
        f"Over the run the median gradient norm is {texts['tom']} for Tom, {texts['dick']} for Dick and "
        f"{texts['harry']} for Harry"
    )
    facts: dict[str, dict] = {}
    facts["norms"] = choose(
        [(all_differ, f"medians differ: {medians}",
          f"{opening}: {PEOPLE[ranked[0]]}'s is the largest and {PEOPLE[ranked[-1]]}'s the smallest.")],
        f"{opening}.",
        values={"medians": medians, "largest": PEOPLE[ranked[0]], "smallest": PEOPLE[ranked[-1]]},
    )  # fmt: skip
    sizes = {stage: float(np.mean(history[f"message_{stage}"])) for stage in MESSAGE_STAGES}
    delta = {"harry": sizes["harry"], "dick": sizes["dick"], "tom": sizes["tom"]}
    tom_paradox = all_differ and ranked[0] == "tom" and delta["tom"] < min(delta["dick"], delta["harry"])
    entries = {layer: metrics["layers"][layer]["inputs"] * metrics["layers"][layer]["outputs"] for layer in LAYERS}
    facts["tom_paradox"] = choose(
        [(tom_paradox, "Tom's median gradient norm is the largest and his mean delta the smallest",
          f"Tom's gradient has the largest norm of the three although his δ is the smallest: it has one entry per "
          f"pixel and unit, {metrics['layers']['tom']['inputs']:,} × {metrics['layers']['tom']['outputs']:,} = "
          f"{entries['tom']:,}, against Dick's {entries['dick']:,} and Harry's {entries['harry']:,}.")],
        f"Averaged over the steps, δ has a size of {delta['harry']:.3f} per image at Harry, {delta['dick']:.3f} at "
        f"Dick and {delta['tom']:.3f} at Tom.",
        values={"delta": delta, "entries": entries},
    )  # fmt: skip
    slopes = {
        "Dick": sizes["dick"] / sizes["harry_to_dick"] if sizes["harry_to_dick"] else math.nan,
        "Tom": sizes["tom"] / sizes["dick_to_tom"] if sizes["dick_to_tom"] else math.nan,
    }
    shrink = [p for p, f in slopes.items() if f < 1]
    keep = [p for p, f in slopes.items() if not f < 1]
    parts = [f"×{factor(f)} at {p}" for p, f in slopes.items()]
    facts["slopes"] = choose(
        [
            (len(shrink) == 2, f"both slope factors < 1: {slopes}",
             f"Notice that both activation slopes shrink the message ({listed(parts)})."),
            (len(shrink) == 1, f"one slope factor < 1: {slopes}",
             f"Notice that {shrink[0]}'s activation slope shrinks the message and {keep[0] if keep else ''}'s does "
             f"not ({listed(parts)})."),
        ],
        f"Notice that neither activation slope shrinks the message ({listed(parts)}).",
        values={"factors": slopes},
    )  # fmt: skip
    return facts


def analogy_facts(history: dict[str, np.ndarray]) -> dict[str, dict]:
    """Where the puzzle breaks, in numbers: the error signal at step 1 is multiplied, never used up."""
    first = {stage: float(history[f"message_{stage}"][0]) for stage in MESSAGE_STAGES}
    norms = {layer: float(history[f"grad_norm_{layer}"][0]) for layer in LAYERS}
    n_steps = len(history["step"])
    ratio = first["harry_to_dick"] / first["harry"] if first["harry"] else math.nan
    through = (
        f"At step 1 Harry's error signal has a size of {first['harry']:.3f} per image; sent back through his "
        f"weights it measures {first['harry_to_dick']:.3f} (×{ratio:.2f})"
    )
    rest = (
        f"It reaches Dick as δ Dick, {first['dick']:.3f}, and Tom as δ Tom, {first['tom']:.3f}: Harry's signal "
        f"multiplied by weights and slopes, not what is left after Harry and Dick took their share."
    )
    facts: dict[str, dict] = {}
    facts["signal"] = choose(
        [
            (first["harry_to_dick"] > first["harry"], "message through Harry's weights > delta Harry at step 1",
             f"{through}, more than Harry received, which a budget could never do. {rest}"),
        ],
        f"{through}: the whole signal times Harry's weights, not {first['harry']:.3f} minus a share Harry kept. "
        f"{rest}",
        values={"first": first, "ratio": ratio},
    )  # fmt: skip
    zero_steps = {layer: int(np.sum(history[f"grad_norm_{layer}"] == 0)) for layer in LAYERS}
    all_first = all(v > 0 for v in norms.values())
    # Where a layer's gradient is zero, did an activation slope stop a signal that was not zero? Dick's delta is 0
    # while the message through Harry's weights is not; Tom's delta is 0 while the message through Dick's weights is
    # not, or Dick's delta was already stopped that way.
    m = {stage: history[f"message_{stage}"] for stage in MESSAGE_STAGES}
    stopped_at = {
        "harry": np.zeros(n_steps, dtype=bool),
        "dick": (m["dick"] == 0) & (m["harry_to_dick"] > 0),
    }
    stopped_at["tom"] = (m["tom"] == 0) & ((m["dick_to_tom"] > 0) | stopped_at["dick"])
    stopped = all(bool(np.all(stopped_at[layer][history[f"grad_norm_{layer}"] == 0])) for layer in LAYERS)
    at_first = (
        f"at step 1 the gradient norms are {norms['tom']:.3f} for Tom, {norms['dick']:.3f} for Dick and "
        f"{norms['harry']:.3f} for Harry"
    )
    zero_list = listed([f"{PEOPLE[la]}'s at {zero_steps[la]:,}" for la in LAYERS if zero_steps[la]])
    facts["nonzero"] = choose(
        [
            (all_first and not any(zero_steps.values()), "every layer's gradient norm > 0 at every step",
             f"Every layer gets a correction: {at_first}, and no layer's gradient is zero at any of the "
             f"{n_steps:,} steps."),
            (all_first and stopped, f"all > 0 at step 1; zero at steps {zero_steps}, stopped by a slope of 0",
             f"Every layer gets a correction at first: {at_first}. Later a layer's gradient is exactly zero at some "
             f"steps ({zero_list} of the {n_steps:,} steps): there a nonzero error signal meets activation slopes of 0 "
             f"on its way back and arrives as zero; nothing was used up by the layers after it."),
            (all_first, f"all > 0 at step 1; zero at steps {zero_steps}",
             f"Every layer gets a correction at first: {at_first}. Later a layer's gradient is exactly zero at some "
             f"steps ({zero_list} of the {n_steps:,} steps)."),
        ],
        f"Not every layer gets a correction at step 1: {at_first}.",
        values={"first_norms": norms, "zero_steps": zero_steps},
    )  # fmt: skip
    return facts


def agreement_facts(history: dict[str, np.ndarray], metrics: dict[str, Any]) -> dict[str, dict]:
    """The hand-made gradients against autograd: how far below the tolerance, the sampled entries, and why some
    gradients are exactly zero."""
    tolerance = float(metrics["agreement"]["tolerance"])
    overall = max(float(np.max(history[f"relative_error_{layer}"])) for layer in LAYERS)
    loss_difference = float(np.max(np.abs(history["batch_loss"] - history["batch_loss_autograd"])))
    n_steps = len(history["step"])
    facts: dict[str, dict] = {}
    below = math.floor(math.log10(tolerance / overall)) if overall > 0 else None
    facts["lead"] = compare(
        overall, "<", tolerance,
        f"The network's gradients are worked out by hand with the chain rule and checked against PyTorch's autograd "
        f"at every one of {n_steps:,} training steps; the largest relative difference is at most "
        f"{upper_bound(overall)}.",
        f"The network's gradients are worked out by hand with the chain rule and checked against PyTorch's autograd "
        f"at every one of {n_steps:,} training steps; the largest relative difference, {scientific(overall)}, is "
        f"not below the tolerance of {scientific(tolerance, 0)}.",
        what="largest relative error vs tolerance",
    )  # fmt: skip
    facts["margin"] = choose(
        [
            (overall == 0, "every relative error is 0", "Notice that every error is exactly 0."),
            (overall < tolerance and below is not None and below >= 1, f"tolerance / largest >= 10^{below}",
             f"Notice that the largest error, at most {upper_bound(overall)}, is more than {10**below:,} times "
             f"below the tolerance."),
        ],
        f"Notice that the largest error, {scientific(overall)}, is close to or above the tolerance.",
        values={"largest": overall, "tolerance": tolerance},
    )  # fmt: skip
    units = math.ceil(overall / EPSILON - 1e-9) if overall > 0 else 0
    facts["size"] = compare(
        overall, "<", tolerance,
        f"Over {n_steps:,} steps the largest relative error is at most {upper_bound(overall)}, no more than "
        f"{units:,} times the spacing of 64-bit floats near 1 ({scientific(EPSILON)}), and the batch losses of the "
        f"two computations differ by at most {upper_bound(loss_difference)} nats.",
        f"Over {n_steps:,} steps the largest relative error is {scientific(overall)}, not below the tolerance.",
        what="largest relative error vs tolerance", units=units, loss_difference=loss_difference,
    )  # fmt: skip
    counts = entry_counts(history)
    facts["entries"] = state(
        f"Of the {counts['total']:,} sampled weight-gradient entries of step 1, {counts['within_rounding']:,} differ "
        f"by at most four times the rounding of a 64-bit float of their own size, {counts['identical']:,} of them "
        f"not at all; {counts['zero']:,} {'is' if counts['zero'] == 1 else 'are'} exactly 0 by both methods.",
        **counts,
    )  # fmt: skip
    zero = metrics["zero_gradients"]
    facts["zero_first"] = zero_fact(zero["first"], "At step 1")
    facts["zero_last"] = zero_fact(zero["last"], f"At the last step ({zero['last']['step']:,})")
    return facts


#: What feeds each layer's weights, in words, and the unit they feed.
INPUT_WORDS = {
    "tom": "their pixel is 0 in every image of the batch",
    "dick": "the Tom unit feeding them outputs 0 for every image of the batch",
    "harry": "the Dick unit feeding them outputs 0 for every image of the batch",
}
UNIT_WORDS = {
    "tom": "the Tom unit they feed passes back an error of 0 for every image (its δ is 0)",
    "dick": "the Dick unit they feed passes back an error of 0 for every image (its δ is 0)",
    "harry": "Harry's output they feed has an error of 0 for every image",
}


def zero_fact(step: dict[str, Any], when: str) -> dict:
    """One sentence: how many of each layer's weights get exactly zero gradient at the step, and why."""
    parts, clean = [], []
    for layer in LAYERS:
        c = step["layers"][layer]
        if not c["zero"]:
            clean.append(PEOPLE[layer])
            continue
        causes = [
            (c["blank_input"], f"because {INPUT_WORDS[layer]}"),
            (c["silent_unit"], f"because {UNIT_WORDS[layer]}"),
            (c["both"], "for both reasons"),
            (c["never_together"], "because input and δ are never nonzero on the same image"),
            (c["cancelled"], "because nonzero terms cancel exactly"),
        ]
        shown = [(n, why) for n, why in causes if n]
        if len(shown) == 1:
            reasons = ("all " if shown[0][0] > 1 else "") + shown[0][1]
        else:
            reasons = listed([f"{n:,} {why}" for n, why in shown])
        parts.append(f"{c['zero']:,} of {PEOPLE[layer]}'s {c['weights']:,} weights get a gradient of exactly 0, "
                     f"{reasons}")  # fmt: skip
    totals = {layer: step["layers"][layer]["zero"] for layer in LAYERS}
    if parts:
        text = f"{when}, " + "; ".join(parts) + "."
        if clean:
            text += f" Every weight of {listed(clean)} has a nonzero gradient."
    else:
        text = f"{when}, every weight of every layer has a nonzero gradient."
    return choose([(bool(parts), f"zero gradients: {totals}", text)], text, values={"layers": step["layers"]})


def worked_facts(metrics: dict[str, Any]) -> dict[str, dict]:
    """The worked example's sentences: which path, its product, the sum of all paths, and autograd."""
    w = metrics["worked_example"]
    tolerance = float(metrics["agreement"]["tolerance"])
    f = w["forward"]
    row, column = (w["pixel_row_column"] or [None, None])[:2]
    where = f" (row {row + 1}, column {column + 1}, counting from 1 at the top left)" if row is not None else ""
    ties = (
        f"; {w['brightest_pixels']:,} pixels share that value and this is the first in reading order"
        if w["brightest_pixels"] > 1
        else ""
    )
    facts: dict[str, dict] = {}
    facts["choice"] = state(
        f"The image is training image {w['image']['index']:,}, a {w['class']}, the first of step 1's batch, and the "
        f"network is the one before its first update. The path starts at pixel {w['pixel'] + 1:,}{where}, the "
        f"brightest, with value {f['pixel']:.3f}{ties}. It ends at Harry's output for {w['class']}, the right "
        f"answer, and goes through Tom's unit {w['tom_unit'] + 1} and Dick's unit {w['dick_unit'] + 1}: of all "
        f"pairs, the one whose weights and slopes give the path's product the largest size."
    )
    product, total = float(w["path_product"]), float(w["paths_sum"])
    facts["product"] = choose(
        [(product != 0, "path product != 0",
          f"Multiplied, the six factors give {signed4(product)}: the part of the gradient of Tom's weight from this "
          f"pixel to this unit that travels along this one path.")],
        "Multiplied, the six factors give 0: a slope of 0 on the path stops the signal.",
        values={"product": product},
    )  # fmt: skip
    paths = (
        f"This weight reaches the loss along {w['n_paths']:,} paths, through each of Dick's "
        f"{metrics['layers']['dick']['outputs']:,} units and each of Harry's {metrics['layers']['harry']['outputs']} "
        f"outputs. Added up, their products give {signed4(total)}, the weight's gradient on this image."
    )
    facts["paths"] = choose(
        [
            (abs(product) > abs(total), f"|path| {abs(product)} > |sum| {abs(total)}",
             f"{paths} The one path above is larger in size than the whole: {w['opposite_sign_paths']:,} of the "
             f"paths pull the other way."),
            (total != 0, f"|path| <= |sum| ({abs(product)} <= {abs(total)})",
             f"{paths} The path above carries {pct(product / total)} of it."),
        ],
        f"{paths}",
        values={"product": product, "sum": total},
    )  # fmt: skip
    reference = float(w["autograd"])
    difference = abs(float(w["paths_minus_autograd"]))
    relative = difference / abs(reference) if reference else (0.0 if difference == 0 else math.inf)
    check = (
        f"Autograd, given the same image and the same weights, computes {signed4(reference)} for this weight; the "
        f"hand-made backward pass of the next section gives {signed4(float(w['hand']))}"
    )
    facts["check"] = choose(
        [
            (difference == 0, "sum of paths == autograd",
             f"{check}, and the sum of the paths is autograd's number to the last bit."),
            (relative < tolerance, f"|sum - autograd| / |autograd| = {relative} < tolerance {tolerance}",
             f"{check}, and the sum of the paths differs from autograd's by at most {upper_bound(difference)}, "
             f"{upper_bound(relative)} of its size."),
        ],
        f"{check}, and the sum of the paths differs from autograd's by {scientific(difference)}, more than the "
        f"run's tolerance allows.",
        values={"difference": difference, "relative": relative, "tolerance": tolerance},
    )  # fmt: skip
    return facts


def lesson_facts(
    puzzle: dict[str, Any], history: dict[str, np.ndarray], metrics: dict[str, Any], facts: dict[str, dict]
) -> dict[str, dict]:
    """The lesson's sentences: the key takeaways at the top (``key_*``), the answers to the exercises
    (``answer_*``) and the one-line verdict of the folded check by autograd (``agreement_verdict``)."""
    out: dict[str, dict] = {}
    rounds, totals = puzzle["rounds"], puzzle["totals"]
    path = " → ".join(str(t) for t in totals)
    out["key_puzzle"] = choose(
        [(bool(rounds) and totals[-1] < totals[0], f"wrong pieces fall {totals[0]} -> {totals[-1]}",
          f"In the story the correction travels Harry → Dick → Tom, each round fixing a share of the wrong pieces: "
          f"in this page's model of it the wrong pieces go {path} in {plural(len(rounds), 'round')}.")],
        f"In the story the correction travels Harry → Dick → Tom; in this page's model of it the wrong pieces go "
        f"{path}.",
        values={"totals": totals},
    )  # fmt: skip
    w = metrics["worked_example"]
    tolerance = float(metrics["agreement"]["tolerance"])
    reference, total = float(w["autograd"]), float(w["paths_sum"])
    gap = abs(total - reference)
    relative = gap / abs(reference) if reference else (0.0 if gap == 0 else math.inf)
    out["key_chain"] = choose(
        [(relative < tolerance, f"sum of the {w['n_paths']} path products matches autograd (relative {relative})",
          f"The chain rule, on one path through the real network, multiplies six local rates of change; added up "
          f"over all {w['n_paths']:,} paths from one of Tom's weights to the loss, the products give that weight's "
          f"gradient, {signed4(total)}, which autograd also computes.")],
        f"The chain rule, on one path through the real network, multiplies six local rates of change; added up "
        f"over all {w['n_paths']:,} paths from one of Tom's weights, the products give {signed4(total)}, which "
        f"differs from autograd's {signed4(reference)} by more than the run's tolerance.",
        values={"relative": relative, "tolerance": tolerance},
    )  # fmt: skip
    first = {stage: float(history[f"message_{stage}"][0]) for stage in MESSAGE_STAGES}
    out["key_signal"] = choose(
        [(first["harry_to_dick"] > first["harry"], "the message through Harry's weights is larger than delta Harry",
          f"The puzzle's message is a budget that gets used up; the network's error signal is not: at step 1 it "
          f"measures {first['harry']:.3f} per image at Harry and {first['harry_to_dick']:.3f} after Harry's weights, "
          f"more than Harry received, and every layer gets its signal through the chain rule.")],
        f"The puzzle's message is a budget that gets used up; the network's error signal is not: at step 1 it "
        f"measures {first['harry']:.3f} per image at Harry and reaches Tom as {first['tom']:.3f}, multiplied by "
        f"weights and slopes on the way, not reduced by what Harry and Dick kept.",
        values={"first": first},
    )  # fmt: skip
    train = history["train_loss"]
    start, end = float(train[0]), float(train[-1])
    up, n_evals = rises(train), len(history["eval_step"]) - 1
    final = metrics["final"]
    steps = len(history["step"])
    accuracy = float(final["test_accuracy"])
    n_classes = len(metrics["class_counts"]["test"]) if metrics.get("class_counts") else 10
    guess = 1 / n_classes
    classified = (
        f"{pct(accuracy)} of the test images end up classified correctly"
        if accuracy >= 2 * guess
        else f"only {pct(accuracy)} of the test images end up classified correctly, where a random guess among the "
        f"{n_classes} classes is right {pct(guess)} of the time"
    )
    out["key_training"] = choose(
        [
            (end < start and up == 0, f"loss falls {start} -> {end} with no rise",
             f"Training applies the correction {steps:,} times: the loss on the training images falls from "
             f"{start:.3f} to {end:.3f} nats, and {classified}."),
            (end < start, f"loss falls {start} -> {end}; rises at {up} of {n_evals}",
             f"Training applies the correction {steps:,} times: the loss on the training images falls from "
             f"{start:.3f} to {end:.3f} nats, though not at every evaluation (it rises at {up} of {n_evals}), and "
             f"{classified}."),
        ],
        f"Training applies the correction {steps:,} times, yet the loss on the training images does not fall: it "
        f"goes from {start:.3f} to {end:.3f} nats, and {classified}.",
        values={"first": start, "last": end, "rises": up, "test_accuracy": accuracy, "guess": guess},
    )  # fmt: skip
    # Answers to the exercises.
    if rounds:
        h = rounds[0]["steps"][0]
        share = h["received"]["fixes_to_make"] * h["own_wrong"] / h["received"]["wrong_pieces"]
        out["answer_share"] = state(
            f"{h['received']['fixes_to_make']} × {h['own_wrong']} / {h['received']['wrong_pieces']} = {share:.2f}, "
            f"which rounds to {h['fixed']} (never more than his {h['own_wrong']} wrong pieces); he passes on "
            f"{h['received']['fixes_to_make']} − {h['fixed']} = {h['passed']['fixes_to_make']} fixes to make among "
            f"the {h['received']['wrong_pieces']} − {h['own_wrong']} = {h['passed']['wrong_pieces']} wrong pieces "
            f"before his.",
            share=share,
        )  # fmt: skip
    else:
        out["answer_share"] = state("No round is played in this run, so no message reaches Harry.")
    order = ("harry_error", "harry_weight", "dick_slope", "dick_weight", "tom_slope", "pixel")
    f8 = {key: float(w["factors"][key]) for key in order}  # the order of the path's table, Harry back to the pixel
    product = float(np.prod(list(f8.values())))
    negative = sum(v < 0 for v in f8.values())
    factors = " × ".join(f"({signed4(v)})" for v in f8.values())
    written = f"{factors} = {signed4(product)}, the path's product in the table."
    counted = f"{negative} of the six factors {'is' if negative == 1 else 'are'} negative"
    out["answer_product"] = choose(
        [
            (product > 0, "product > 0", f"{written} It is positive: {counted}, an even number."),
            (product < 0, "product < 0", f"{written} It is negative: {counted}, an odd number."),
        ],
        f"{written} It is zero: a factor of 0 (the slope of a unit that is off) stops the path.",
        values={"product": product, "negative": negative},
    )  # fmt: skip
    p_right = float(w["forward"]["p"])
    out["answer_error"] = state(
        f"p − 1 = {signed4(p_right)} − 1 = {signed4(p_right - 1)}, and the loss is −log p = "
        f"{signed4(-math.log(p_right))} nats. The error is negative, so a step against the gradient raises the "
        f"right class's score; it would be 0 only at p = 1.",
        p=p_right,
    )  # fmt: skip
    ratio = first["harry_to_dick"] / first["harry"] if first["harry"] else math.nan
    out["answer_factor"] = choose(
        [(ratio > 1, "ratio > 1",
          f"{first['harry_to_dick']:.3f} / {first['harry']:.3f} = {ratio:.2f}: larger than 1, so the message grew on "
          f"this hop, which a budget that can only be used up never does.")],
        f"{first['harry_to_dick']:.3f} / {first['harry']:.3f} = {ratio:.2f}: smaller than 1 here, but not because "
        f"Harry kept a share; it is Harry's weights multiplying the whole signal, and other weights could make it "
        f"grow.",
        values={"ratio": ratio},
    )  # fmt: skip
    overall = max(float(np.max(history[f"relative_error_{layer}"])) for layer in LAYERS)
    out["agreement_verdict"] = compare(
        overall, "<", tolerance,
        f"At all {steps:,} steps the hand-made gradients match autograd's: largest relative error at most "
        f"{upper_bound(overall)}, below the tolerance of {scientific(tolerance, 0)}.",
        f"The hand-made gradients do not match autograd's: largest relative error {scientific(overall)}, not below "
        f"the tolerance of {scientific(tolerance, 0)}.",
        what="largest relative error vs tolerance",
    )  # fmt: skip
    return out


def page_facts(
    puzzle: dict[str, Any], history: dict[str, np.ndarray], metrics: dict[str, Any], document: dict[str, Any]
) -> dict[str, dict]:
    """Every fact the page prints, by id (see the template for where each goes)."""
    facts = {"headline": state(HEADLINE)}
    overall = max(float(np.max(history[f"relative_error_{layer}"])) for layer in LAYERS)
    path = " → ".join(str(t) for t in puzzle["totals"])
    facts["description"] = state(
        f"A thread's puzzle story of backpropagation, simulated round by round ({path} wrong pieces), then made real: "
        f"a three-layer network named Tom, Dick and Harry, trained on {metrics['n_train']:,} Fashion-MNIST images, "
        f"whose hand-made gradients are within {upper_bound(overall)} (relative error) of autograd's."
    )
    facts.update({f"puzzle_{key}": value for key, value in puzzle_facts(puzzle).items()})
    facts.update(loss_facts(history, metrics))
    facts.update(gradient_facts(history, metrics))
    facts.update({f"analogy_{key}": value for key, value in analogy_facts(history).items()})
    facts.update({f"agreement_{key}": value for key, value in agreement_facts(history, metrics).items()})
    facts.update({f"worked_{key}": value for key, value in worked_facts(metrics).items()})
    facts.update(lesson_facts(puzzle, history, metrics, facts))
    summary = document["summary"]
    facts["claims_summary"] = state(
        f"{summary['supported']} of {summary['total']} claims are supported ({summary['thread_supported']} of the "
        f"thread's {summary['thread_total']}).",
        **summary,
    )
    return facts


def check_claims(puzzle: dict[str, Any], history: dict[str, np.ndarray], metrics: dict[str, Any]) -> dict[str, Any]:
    """The whole claims document: every claim with its verdict, the numbers behind them, a summary, and the
    page's facts."""
    claims = puzzle_claims(puzzle)
    more, numbers = network_claims(history, metrics)
    claims += more
    supported = sum(c["verdict"] == SUPPORTED for c in claims)
    document = rounded(
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
                "url": THREAD_URL,
                "tweets": THREAD_TWEETS,
            },
            "summary": {
                "supported": supported,
                "total": len(claims),
                "thread_supported": sum(c["verdict"] == SUPPORTED for c in claims if c["source"] != SOURCE_EXPLAINER),
                "thread_total": sum(c["source"] != SOURCE_EXPLAINER for c in claims),
            },
        }
    )
    # Facts are not rounded: each keeps the exact numbers its condition was tested on.
    document["facts"] = page_facts(puzzle, history, metrics, document)
    return document


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
    history = read_history(args.history, FIRST_SAMPLES)
    result = check_claims(read_puzzle(args.puzzle), history, read_metrics(args.metrics))
    write_json(args.output, result)
    for claim in result["claims"]:
        print(f"{claim['verdict']:>13}: {claim['claim']} (measured: {claim['measured']})")
    print(f"{result['summary']['supported']} of {result['summary']['total']} claims supported")


if __name__ == "__main__":
    sys.exit(run_cli(main))
