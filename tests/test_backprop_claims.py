"""Tests for backprop/claims.py: every verdict follows from the inputs, in both directions."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from backprop import claims as backprop_claims
from backprop import puzzle
from backprop.bpio import read_history
from backprop_inputs import PUZZLE_ARGS, build_run
from conftest import run_script
from kit.facts import checked
from kit.io import load_npz, save_npz

PUZZLE_IDS = [
    "pieces_add_up",
    "wrong_add_up",
    "round_1_fixes",
    "round_1_total",
    "correction_order",
    "falls_each_round",
    "reaches_target",
]


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return build_run(tmp_path_factory.mktemp("run"))


def verdicts(document: dict) -> dict[str, str]:
    return {claim["id"]: claim["verdict"] for claim in document["claims"]}


def check(puzzle_path: Path, history: Path, metrics: Path, out: Path) -> dict:
    backprop_claims.main(["--puzzle", str(puzzle_path), "--history", str(history), "--metrics", str(metrics),
                          "--output", str(out)])  # fmt: skip
    return json.loads(out.read_text())


def test_the_default_run_supports_every_claim(run: dict) -> None:
    document = json.loads(run["claims"].read_text())
    assert list(verdicts(document)) == [*PUZZLE_IDS, "gradients_agree", "loss_falls"]
    assert set(verdicts(document).values()) == {"supported"}
    assert document["summary"] == {"supported": 9, "total": 9, "thread_supported": 7, "thread_total": 7}
    for claim in document["claims"]:
        assert claim["claim"] and claim["measured"] and claim["rule"]
        assert claim["source"] in {"thread", "thread-summary", "explainer"}
    measured = {claim["id"]: claim["measured"] for claim in document["claims"]}
    assert measured["pieces_add_up"] == "6 + 8 + 6 = 20 pieces"
    assert measured["wrong_add_up"] == "2 + 6 + 4 = 12 wrong; the instructions say 12"
    assert measured["round_1_fixes"] == "Harry 1, Dick 2, Tom 1"
    assert measured["round_1_total"] == "12 − (1 + 2 + 1) = 8"
    assert measured["falls_each_round"] == "12 → 8 → 5 → 3 → 2 → 1 → 0"
    assert [claim["id"] for claim in document["claims"] if claim["quote"]] == ["pieces_add_up", "wrong_add_up"]


def test_quotes_are_the_threads_words() -> None:
    """The quoted sentences appear verbatim in the copy of the thread the project started from (when present)."""
    seed_file = Path(__file__).resolve().parents[2] / "shared" / "seed-threads.txt"
    if not seed_file.is_file():
        pytest.skip(f"{seed_file} is not in this checkout")
    seed = seed_file.read_text(encoding="utf-8").replace("\n", " ")
    for quote in (backprop_claims.QUOTE_TOM, backprop_claims.QUOTE_DICK_HARRY):
        for sentence in quote.split(". "):
            assert sentence.rstrip(".") in seed


def test_another_fix_fraction_breaks_the_first_round_claims(run: dict, tmp_path: Path) -> None:
    half = tmp_path / "puzzle.json"
    puzzle.main([*PUZZLE_ARGS, "--fix-fraction", "0.5", "--output", str(half)])
    result = verdicts(check(half, run["history"], run["metrics"], tmp_path / "claims.json"))
    assert result["round_1_fixes"] == result["round_1_total"] == "not supported"
    assert result["pieces_add_up"] == result["wrong_add_up"] == result["correction_order"] == "supported"


def test_a_target_not_reached_and_a_rise_are_not_supported(run: dict, tmp_path: Path) -> None:
    document = json.loads(run["puzzle"].read_text())
    document["settings"]["target"] = 0
    document["rounds"] = document["rounds"][:2]  # stopped early: 5 wrong left
    document["totals"] = document["totals"][:3]
    document["totals"][-1] = document["rounds"][-1]["total_after"]
    short = tmp_path / "short.json"
    short.write_text(json.dumps(document))
    result = check(short, run["history"], run["metrics"], tmp_path / "claims.json")
    assert verdicts(result)["reaches_target"] == "not supported"
    assert verdicts(result)["falls_each_round"] == "supported"


def test_gradient_disagreement_and_a_rising_loss_are_not_supported(run: dict, tmp_path: Path) -> None:
    arrays = load_npz(run["history"])
    arrays["relative_error_dick"] = arrays["relative_error_dick"].copy()
    arrays["relative_error_dick"][7] = 2e-6
    arrays["test_loss"] = arrays["test_loss"].copy()
    arrays["test_loss"][-1] = arrays["test_loss"][0] + 0.1
    broken = tmp_path / "history.npz"
    save_npz(broken, **arrays)
    result = check(run["puzzle"], broken, run["metrics"], tmp_path / "claims.json")
    assert verdicts(result)["gradients_agree"] == "not supported"
    assert verdicts(result)["loss_falls"] == "not supported"
    assert result["numbers"]["max_relative_error"] == 2e-6
    assert result["summary"]["supported"] == 7


def test_cli_is_deterministic_and_prints_the_verdicts(run: dict, tmp_path: Path) -> None:
    out = tmp_path / "claims.json"
    result = run_script("backprop/claims.py", "--puzzle", run["puzzle"], "--history", run["history"],
                        "--metrics", run["metrics"], "--output", out)  # fmt: skip
    assert "9 of 9 claims supported" in result.stdout
    assert out.read_bytes() == run["claims"].read_bytes()


def test_missing_input_is_a_clear_error(run: dict, tmp_path: Path) -> None:
    result = run_script("backprop/claims.py", "--puzzle", tmp_path / "none.json", "--history", run["history"],
                        "--metrics", run["metrics"], "--output", tmp_path / "c.json", check=False)  # fmt: skip
    assert result.returncode == 1 and result.stderr.startswith("error: ")
    assert "none.json: file not found" in result.stderr
    assert not (tmp_path / "c.json").exists()


# --------------------------------------------------------------------------------------------------------
# The page's facts: each sentence follows the numbers it is about
# --------------------------------------------------------------------------------------------------------


def test_every_fact_is_well_formed_and_the_document_names_the_public_copy(run: dict) -> None:
    document = json.loads(run["claims"].read_text())
    facts = document["facts"]
    assert {"headline", "description", "loss_trend", "puzzle_round_1", "puzzle_rule_origin", "agreement_zero_first",
            "analogy_signal", "analogy_nonzero", "worked_check"} <= facts.keys()  # fmt: skip
    for key, value in facts.items():
        checked(value, key)
    assert document["thread"]["url"] == "https://threadreaderapp.com/thread/1384521213746184194.html"
    assert document["thread"]["tweets"] == {"total": 11, "quoted": [1, 2], "recovered": [3, 8], "lost": [9, 11]}


def loss_history(train: list[float], test: list[float] | None = None) -> dict:
    """A minimal history for ``loss_facts``: evaluations every 10 steps."""
    n = len(train)
    test = test if test is not None else train
    return {
        "step": np.arange(1, 10 * (n - 1) + 1),
        "eval_step": np.arange(0, 10 * n, 10),
        "train_loss": np.asarray(train, dtype=float),
        "test_loss": np.asarray(test, dtype=float),
    }


LOSS_METRICS = {
    "settings": {"eval_every": 10},
    "initial": {"train_loss": 2.3, "test_accuracy": 0.1},
    "final": {"train_loss": 0.5, "test_loss": 0.7, "train_accuracy": 0.9, "test_accuracy": 0.8},
}


@pytest.mark.parametrize(
    ("train", "words"),
    [
        ([2.3, 1.5, 1.0, 0.5], "falls at every one of the 3 evaluations (one every 10 steps), from 2.300 to 0.500"),
        ([2.3, 1.5, 1.7, 0.5], "falls overall, from 2.300 to 0.500 nats, but not round after round: it is above "
                               "the evaluation before at 1 of the 3 evaluations"),
        ([2.3, 1.5, 2.7, 2.9], "does not fall overall: it goes from 2.300 to 2.900 nats, and is above the evaluation "
                               "before at 2 of the 3 evaluations"),
    ],
)  # fmt: skip
def test_the_loss_sentence_counts_the_rises(train: list[float], words: str) -> None:
    facts = backprop_claims.loss_facts(loss_history(train), LOSS_METRICS)
    assert words in checked(facts["loss_trend"])["text"]
    fast = checked(facts["fast_start"])["text"]
    assert ("does not fall overall" in fast) == (train[-1] >= train[0])


def test_two_numbers_that_differ_never_print_alike() -> None:
    metrics = {**LOSS_METRICS, "final": {"train_loss": 20.7791, "test_loss": 20.7793, "train_accuracy": 0.1,
                                         "test_accuracy": 0.1}}  # fmt: skip
    gap = checked(backprop_claims.loss_facts(loss_history([2.3, 20.0]), metrics)["gap"])["text"]
    assert "the test loss, 20.7793, is above the training loss, 20.7791" in gap


def test_zero_gradients_are_named_by_their_cause() -> None:
    layers = {
        "tom": {"weights": 100, "zero": 30, "blank_input": 10, "silent_unit": 12, "both": 2, "never_together": 6,
                "cancelled": 0},
        "dick": {"weights": 20, "zero": 4, "blank_input": 4, "silent_unit": 0, "both": 0, "never_together": 0,
                 "cancelled": 0},
        "harry": {"weights": 10, "zero": 0, "blank_input": 0, "silent_unit": 0, "both": 0, "never_together": 0,
                  "cancelled": 0},
    }  # fmt: skip
    text = checked(backprop_claims.zero_fact({"step": 1, "layers": layers}, "At step 1"))["text"]
    assert text.startswith("At step 1, 30 of Tom's 100 weights get a gradient of exactly 0, 10 because their pixel")
    assert "12 because the Tom unit they feed passes back an error of 0" in text
    assert "2 for both reasons and 6 because input and δ are never nonzero on the same image" in text
    assert "4 of Dick's 20 weights get a gradient of exactly 0, all because the Tom unit feeding them outputs 0" in text
    assert text.endswith("Every weight of Harry has a nonzero gradient.")
    none = {layer: {**counts, **dict.fromkeys(("zero", "blank_input", "silent_unit", "both", "never_together"), 0)}
            for layer, counts in layers.items()}  # fmt: skip
    assert checked(backprop_claims.zero_fact({"step": 5, "layers": none}, "At step 5"))["holds"] is False


def test_a_fraction_that_is_not_a_third_says_which_fixes_differ(run: dict, tmp_path: Path) -> None:
    fifth = tmp_path / "puzzle.json"
    puzzle.main([*PUZZLE_ARGS, "--fix-fraction", "0.2", "--output", str(fifth)])
    rounds = json.loads(fifth.read_text())
    facts = backprop_claims.puzzle_facts(rounds)
    first = rounds["rounds"][0]
    assert first["fixes"] == {"Harry": 1, "Dick": 2, "Tom": 0}
    assert checked(facts["round_1"])["text"].startswith("That leaves 9 wrong pieces, not the thread's 8")
    assert "Tom fixes 0 where the thread's Tom fixes 1" in facts["round_1"]["text"]
    assert "the same model with a fix fraction of one third plays the thread's round" in facts["rule_origin"]["text"]
    starved = [r["round"] for r in rounds["rounds"]
               if r["wrong_before"]["Tom"] and not r["steps"][2]["received"]["fixes_to_make"]]  # fmt: skip
    assert (
        f"In rounds {', '.join(map(str, starved[:-1]))} and {starved[-1]} Tom has a wrong piece"
        in (facts["budget"]["text"])
    )
    one = tmp_path / "one.json"
    puzzle.main([*PUZZLE_ARGS, "--fix-fraction", "1", "--output", str(one)])
    facts = backprop_claims.puzzle_facts(json.loads(one.read_text()))
    assert facts["fixes"]["text"] == "The team fixes 12 pieces in its only round."
    assert facts["idle"]["text"] == "In every round, each person with a wrong piece fixes at least one."
    assert "never runs out" in facts["budget"]["text"]


def test_the_analogy_follows_the_signal_at_step_1(run: dict) -> None:
    history = read_history(run["history"])
    facts = backprop_claims.analogy_facts(history)
    grows = history["message_harry_to_dick"][0] > history["message_harry"][0]
    assert ("more than Harry received" in checked(facts["signal"])["text"]) == bool(grows)
    swapped = {**history, "message_harry_to_dick": history["message_harry"] * (0.5 if grows else 2.0)}
    assert ("more than Harry received" in backprop_claims.analogy_facts(swapped)["signal"]["text"]) != bool(grows)
    dead = {**history, "grad_norm_tom": history["grad_norm_tom"].copy(), "message_tom": history["message_tom"].copy()}
    dead["grad_norm_tom"][5:9] = 0.0
    dead["message_tom"][5:9] = 0.0
    text = checked(backprop_claims.analogy_facts(dead)["nonzero"])["text"]
    assert "Tom's at 4 of the 40 steps" in text and "meets activation slopes of 0" in text
