"""Tests for backprop/claims.py: every verdict follows from the inputs, in both directions."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from backprop import claims as backprop_claims
from backprop import puzzle
from backprop_inputs import PUZZLE_ARGS, build_run
from conftest import run_script
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
