"""Verdicts of scripts/overfitting/claims.py on hand-made six-epoch histories, and its command line."""

from __future__ import annotations

import json
import math
from dataclasses import asdict

import pytest

from conftest import run_script
from kit.cli import PipelineError, run_cli
from kit.config import repository_schema, schema_defaults
from kit.io import write_json
from overfitting import claims as overfitting_claims
from overfitting.claims import Thresholds, check_claims, parse_history, parse_metrics

N = 1000

#: The thresholds a default run uses: the config schema's defaults, the one place they live.
DEFAULTS = Thresholds(
    **{key: float(value) for key, value in schema_defaults(repository_schema())["overfitting"].items()}
)

#: The same thresholds as the workflow passes them to the script.
THRESHOLD_FLAGS = [
    item for key, value in asdict(DEFAULTS).items() for item in (f"--{key.replace('_', '-')}", f"{value:g}")
]

CLAIM_IDS = ["train_loss_fell", "val_loss_rose", "val_accuracy_rose", "rise_from_wrong", "temperature_removes_rise"]

#: A run that shows the puzzle. Lowest validation loss at epoch 3 (0.5), last epoch 6 (0.7):
#:   x = 100 (0.7 / 0.5 - 1) = 40 %;  y = 100 (0.82 - 0.80) = 2 points;
#:   wrong share of the rise = (0.45 - 0.30) / (0.7 - 0.5) = 0.75;  z = 100 (0.7 - 0.54) / (0.7 - 0.5) = 80 %.
PUZZLE = {
    "train_loss": [1.0, 0.6, 0.4, 0.3, 0.2, 0.1],
    "val_loss": [0.8, 0.6, 0.5, 0.55, 0.6, 0.7],
    "val_accuracy": [0.70, 0.78, 0.80, 0.81, 0.815, 0.82],
    "wrong_part": [0.5, 0.38, 0.3, 0.36, 0.4, 0.45],
    "scaled": [0.79, 0.59, 0.49, 0.50, 0.52, 0.54],
}


def make_history(**changes: list[float]) -> dict:
    """A history.json document as train.py writes it: ``PUZZLE`` with ``changes``, other lists made consistent."""
    columns = {key: list(values) for key, values in (PUZZLE | changes).items()}  # copies: tests may mutate them
    train_loss, val_loss, val_accuracy = columns["train_loss"], columns["val_loss"], columns["val_accuracy"]
    wrong_part, scaled = columns["wrong_part"], columns["scaled"]
    epochs = len(val_loss)
    n_correct = [round(a * N) for a in val_accuracy]
    ramp = [i / max(epochs - 1, 1) for i in range(epochs)]
    conf_right = [0.80 + 0.15 * r for r in ramp]
    conf_wrong = [0.50 + 0.25 * r for r in ramp]
    best = val_loss.index(min(val_loss)) + 1
    history = {
        "epoch": list(range(1, epochs + 1)),
        "train_loss": train_loss,
        "train_accuracy": [0.7 + 0.05 * i for i in range(epochs)],
        "val_loss": val_loss,
        "val_accuracy": val_accuracy,
        "val_n_correct": n_correct,
        "val_n_wrong": [N - c for c in n_correct],
        "val_loss_correct_mean": [(v - w) * N / c for v, w, c in zip(val_loss, wrong_part, n_correct, strict=True)],
        "val_loss_wrong_mean": [w * N / (N - c) for w, c in zip(wrong_part, n_correct, strict=True)],
        "val_loss_correct_part": [v - w for v, w in zip(val_loss, wrong_part, strict=True)],
        "val_loss_wrong_part": wrong_part,
        "val_loss_wrong_share": [w / v for v, w in zip(val_loss, wrong_part, strict=True)],
        "val_confidence_mean": [
            a * r + (1 - a) * w for a, r, w in zip(val_accuracy, conf_right, conf_wrong, strict=True)
        ],
        "val_confidence_correct_mean": conf_right,
        "val_confidence_wrong_mean": conf_wrong,
        "val_ece": [0.02 + 0.08 * r for r in ramp],
        "temperature": [1.0 + 0.8 * r for r in ramp],
        "val_loss_temperature_scaled": scaled,
    }
    return {"model": "overfit", "n_train": 2000, "n_validation": N, "n_classes": 10, "best_epoch": best,
            "settings": {}, "history": history}  # fmt: skip


def make_metrics(history: dict) -> dict:
    """The metrics.json of the same run (only the keys the claims check reads, plus a few more)."""
    h = history["history"]
    return {
        "model": history["model"],
        "epochs": len(h["epoch"]),
        "best_epoch": history["best_epoch"],
        "val_loss_last": h["val_loss"][-1],
        "temperature": h["temperature"][-1],
        "val_loss_last_temperature_scaled": h["val_loss_temperature_scaled"][-1],
        "test_accuracy": 0.8,
        "test_loss": 0.72,
        "test_loss_temperature_scaled": 0.56,
        "ece_last_temperature_scaled": 0.01,
        "ece_best": h["val_ece"][history["best_epoch"] - 1],
        "ece_last": h["val_ece"][-1],
    }


def claims_for(history: dict, thresholds: Thresholds | None = None) -> dict:
    """Validate ``history`` as the CLI would and check every claim."""
    run = parse_history(history, "history.json")
    metrics = parse_metrics(make_metrics(history), "metrics.json", run, "history.json")
    return check_claims(run, metrics, thresholds or DEFAULTS)


def verdicts(result: dict) -> dict[str, str]:
    return {claim["id"]: claim["verdict"] for claim in result["claims"]}


# --------------------------------------------------------------------------------------------------------
# Verdicts
# --------------------------------------------------------------------------------------------------------


def test_puzzle_present_all_supported_with_hand_numbers():
    result = claims_for(make_history())
    assert [claim["id"] for claim in result["claims"]] == CLAIM_IDS
    assert set(verdicts(result).values()) == {"supported"}
    assert result["puzzle_shown"] is True
    assert result["best_epoch"] == 3 and result["last_epoch"] == 6
    n = result["numbers"]
    assert n["val_loss_rise_percent"] == 40.0  # x, exact after rounding to 10 significant digits
    assert n["val_accuracy_rise_points"] == 2.0  # y
    assert n["wrong_share_of_rise"] == 0.75
    assert n["removed_percent"] == 80.0  # z
    assert n["val_loss_min"] == 0.5 and n["val_loss_last"] == 0.7 and n["val_loss_rise"] == 0.2
    assert n["train_loss_first"] == 1.0 and n["train_loss_last"] == 0.1
    assert n["val_accuracy_at_best"] == 0.8 and n["val_accuracy_last"] == 0.82
    assert n["val_accuracy_max_after_best"] == 0.82
    assert n["wrong_fraction_last"] == 0.18 and n["n_wrong_last"] == 180 and n["n_wrong_at_best"] == 200
    assert n["wrong_share_of_loss_last"] == pytest.approx(0.45 / 0.7, rel=1e-9)
    assert n["confidence_wrong_at_best"] == pytest.approx(0.6) and n["confidence_wrong_last"] == 0.75
    assert n["confidence_correct_at_best"] == pytest.approx(0.86) and n["confidence_correct_last"] == 0.95
    assert n["temperature_last"] == 1.8 and n["val_loss_last_temperature_scaled"] == 0.54
    assert n["ece_best"] == pytest.approx(0.052) and n["ece_last"] == 0.1
    assert result["summary"] == {"supported": 5, "total": 5}
    assert result["thresholds"] == {"min_loss_rise_percent": 5.0, "min_accuracy_rise_points": 0.2,
                                    "min_wrong_share_of_rise": 0.5, "min_removed_percent": 50.0}  # fmt: skip
    json.dumps(result, allow_nan=False)


def test_claims_quote_the_thread_and_name_their_source():
    claims = {claim["id"]: claim for claim in claims_for(make_history())["claims"]}
    thread = "The training loss going down, the validation loss going up."
    question = "why is that validation accuracy is going up if the validation loss is getting worse"
    for key in ("train_loss_fell", "val_loss_rose"):
        assert claims[key]["source"] == "thread" and claims[key]["claim"] in thread
    assert claims["val_accuracy_rose"]["claim"] in question and question in claims["val_accuracy_rose"]["quote"]
    for key in ("rise_from_wrong", "temperature_removes_rise"):
        assert claims[key]["source"] == "explanation"
    assert "40.00 %" in claims["val_loss_rose"]["measured"]
    assert "+2.00 points" in claims["val_accuracy_rose"]["measured"]
    assert "75.0 %" in claims["rise_from_wrong"]["measured"]
    assert "80.0 %" in claims["temperature_removes_rise"]["measured"]
    assert claims["temperature_removes_rise"]["values"]["removed_percent"] == 80.0


def test_no_puzzle_when_the_validation_loss_falls_throughout():
    history = make_history(val_loss=[0.8, 0.7, 0.6, 0.55, 0.5, 0.45], scaled=[0.79, 0.69, 0.59, 0.54, 0.49, 0.44])
    result = claims_for(history)
    assert result["best_epoch"] == result["last_epoch"] == 6
    assert verdicts(result) == {
        "train_loss_fell": "supported",
        "val_loss_rose": "not supported",
        "val_accuracy_rose": "not supported",
        "rise_from_wrong": "not supported",
        "temperature_removes_rise": "not supported",
    }
    assert result["puzzle_shown"] is False
    n = result["numbers"]
    assert n["val_loss_rise"] == 0.0 and n["val_loss_rise_percent"] == 0.0
    assert n["wrong_share_of_rise"] is None and n["removed_percent"] is None
    assert n["val_accuracy_max_after_best"] is None
    claims = {claim["id"]: claim for claim in result["claims"]}
    assert "never rose" in claims["val_loss_rose"]["measured"]
    assert "no rise to split" in claims["rise_from_wrong"]["measured"]
    assert "no rise to remove" in claims["temperature_removes_rise"]["measured"]
    json.dumps(result, allow_nan=False)


def test_accuracy_that_falls_after_the_best_epoch_is_not_the_puzzle():
    result = claims_for(make_history(val_accuracy=[0.70, 0.78, 0.80, 0.79, 0.785, 0.77]))
    assert result["numbers"]["val_accuracy_rise_points"] == -3.0  # 100 (0.77 - 0.80)
    assert result["numbers"]["val_accuracy_max_after_best"] == 0.79
    assert verdicts(result)["val_loss_rose"] == "supported"
    assert verdicts(result)["val_accuracy_rose"] == "not supported"
    assert result["puzzle_shown"] is False


def test_rise_from_correct_examples_is_not_from_wrong():
    # The wrong part stays at 0.3 after epoch 3; the whole 0.2 rise comes from the correct part (0.2 -> 0.4).
    result = claims_for(make_history(wrong_part=[0.5, 0.38, 0.3, 0.3, 0.3, 0.3]))
    n = result["numbers"]
    assert n["wrong_share_of_rise"] == 0.0
    assert n["val_loss_correct_part_at_best"] == 0.2 and n["val_loss_correct_part_last"] == pytest.approx(0.4)
    assert verdicts(result)["rise_from_wrong"] == "not supported"
    assert result["puzzle_shown"] is True  # the puzzle itself is still there


def test_temperature_that_removes_little_of_the_rise():
    # z = 100 (0.7 - 0.68) / (0.7 - 0.5) = 10 %
    result = claims_for(make_history(scaled=[0.79, 0.59, 0.49, 0.50, 0.52, 0.68]))
    assert result["numbers"]["removed_percent"] == 10.0
    assert verdicts(result)["temperature_removes_rise"] == "not supported"


def test_training_loss_that_rises():
    result = claims_for(make_history(train_loss=[1.0, 0.6, 0.4, 0.5, 0.8, 1.1]))
    assert verdicts(result)["train_loss_fell"] == "not supported"
    assert result["puzzle_shown"] is False


def test_thresholds_are_inclusive_and_apply_to_the_rounded_numbers():
    # x = 100 (0.525 / 0.5 - 1) = 5 (5.000000000000004 in floats); y = 100 (0.802 - 0.80) = 0.2 (0.2000000000000018)
    history = make_history(
        val_loss=[0.8, 0.6, 0.5, 0.51, 0.52, 0.525],
        val_accuracy=[0.70, 0.78, 0.80, 0.80, 0.801, 0.802],
        wrong_part=[0.5, 0.38, 0.3, 0.31, 0.31, 0.3125],  # share (0.3125 - 0.3) / 0.025 = 0.5
        scaled=[0.79, 0.59, 0.49, 0.50, 0.51, 0.5125],  # z = 100 (0.525 - 0.5125) / 0.025 = 50
    )
    result = claims_for(history)
    n = result["numbers"]
    assert (n["val_loss_rise_percent"], n["val_accuracy_rise_points"]) == (5.0, 0.2)
    assert (n["wrong_share_of_rise"], n["removed_percent"]) == (0.5, 50.0)
    assert set(verdicts(result).values()) == {"supported"}
    stricter = Thresholds(min_loss_rise_percent=5.01, min_accuracy_rise_points=0.21,
                          min_wrong_share_of_rise=0.51, min_removed_percent=50.1)  # fmt: skip
    result = claims_for(history, stricter)
    assert verdicts(result)["train_loss_fell"] == "supported"
    assert [v for k, v in verdicts(result).items() if k != "train_loss_fell"] == ["not supported"] * 4
    assert result["thresholds"]["min_removed_percent"] == 50.1


def test_best_epoch_tie_uses_the_first_lowest_loss():
    history = make_history(val_loss=[0.8, 0.5, 0.6, 0.5, 0.6, 0.7], wrong_part=[0.5, 0.3, 0.36, 0.3, 0.4, 0.45])
    assert history["best_epoch"] == 2
    result = claims_for(history)
    assert result["best_epoch"] == 2 and result["numbers"]["val_accuracy_at_best"] == 0.78


# --------------------------------------------------------------------------------------------------------
# Bad input
# --------------------------------------------------------------------------------------------------------


def broken(change) -> dict:
    """A puzzle history with one change applied to it."""
    history = make_history()
    change(history)
    return history


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda h: h["history"].pop("val_loss_wrong_part"), "lacks column.*'val_loss_wrong_part'"),
        (lambda h: h["history"]["val_accuracy"].pop(), r"'val_accuracy' has 5 values but 'epoch' has 6"),
        (
            lambda h: h["history"]["val_loss"].__setitem__(4, math.nan),
            r"'val_loss' holds non-finite values \(epoch 5\)",
        ),
        (lambda h: h["history"]["temperature"].__setitem__(0, None), r"'temperature' holds null values \(epoch 1\)"),
        (
            lambda h: h["history"]["train_loss"].__setitem__(1, "0.5"),
            r"'train_loss' holds values that are not numbers \(epoch 2\)",
        ),
        (
            lambda h: h["history"]["val_accuracy"].__setitem__(5, 82.0),
            r"'val_accuracy' must hold fractions.*\(epoch 6\)",
        ),
        (lambda h: h["history"]["val_loss"].__setitem__(0, -1.0), r"'val_loss' holds negative losses \(epoch 1\)"),
        (lambda h: h["history"].__setitem__("epoch", [0, 1, 2, 3, 4, 5]), r"'epoch' must count 1, 2"),
        (lambda h: h["history"].__setitem__("val_ece", []), r"'val_ece' is missing or not a non-empty list"),
        (
            lambda h: h.__setitem__("best_epoch", 2),
            "'best_epoch' 2 has validation loss 0.6, but epoch 3 has the lower 0.5",
        ),
        (lambda h: h.__setitem__("best_epoch", 7), "'best_epoch' must be an epoch from 1 to 6, got 7"),
        (
            lambda h: h.__setitem__("n_validation", 999),
            r"'val_n_correct' \+ 'val_n_wrong' is 1000 at epoch 1, but 'n_validation' is 999",
        ),
        (lambda h: h.pop("history"), "no 'history' object"),
    ],
)
def test_malformed_history_raises_naming_file_and_key(change, message):
    with pytest.raises(PipelineError, match=f"^history.json: .*{message}"):
        parse_history(broken(change), "history.json")


def test_null_group_means_are_allowed():
    history = make_history()
    history["history"]["val_loss_wrong_mean"][0] = None
    history["history"]["val_confidence_wrong_mean"][0] = None
    assert claims_for(history)["puzzle_shown"] is True


def test_metrics_from_another_run_are_refused():
    history = make_history()
    run = parse_history(history, "history.json")
    for key, value in [("best_epoch", 4), ("epochs", 7), ("val_loss_last", 0.71), ("model", "cnn")]:
        metrics = make_metrics(history) | {key: value}
        with pytest.raises(PipelineError, match=r"metrics\.json and history\.json come from different training runs"):
            parse_metrics(metrics, "metrics.json", run, "history.json")
    metrics = make_metrics(history)
    del metrics["test_loss"]
    with pytest.raises(PipelineError, match=r"^metrics\.json: key 'test_loss' is None"):
        parse_metrics(metrics, "metrics.json", run, "history.json")


# --------------------------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------------------------


@pytest.fixture
def run_files(tmp_path):
    """history.json and metrics.json of a puzzle run, as models/train.py writes them."""
    history = make_history()
    paths = {"history": tmp_path / "history.json", "metrics": tmp_path / "metrics.json"}
    write_json(paths["history"], history)
    write_json(paths["metrics"], make_metrics(history))
    return paths


def test_cli_writes_claims(run_files, tmp_path):
    out = tmp_path / "overfitting" / "claims.json"
    result = run_script(
        "overfitting/claims.py", "--history", run_files["history"], "--metrics", run_files["metrics"],
        *THRESHOLD_FLAGS, "--output", out,
    )  # fmt: skip
    assert "5 of 5 claims supported; the run shows the puzzle" in result.stdout
    claims = json.loads(out.read_text())
    assert claims["puzzle_shown"] is True
    assert [claim["id"] for claim in claims["claims"]] == CLAIM_IDS
    assert claims["numbers"]["removed_percent"] == 80.0
    # Run in-process with the same inputs: the same bytes (deterministic, sorted keys).
    again = tmp_path / "again.json"
    argv = ["--history", str(run_files["history"]), "--metrics", str(run_files["metrics"]), "--output", str(again)]
    assert run_cli(overfitting_claims.main, [*argv, *THRESHOLD_FLAGS]) == 0
    assert again.read_bytes() == out.read_bytes()
    assert claims["thresholds"] == asdict(DEFAULTS)


def test_cli_thresholds_are_flags(run_files, tmp_path, capsys):
    out = tmp_path / "claims.json"
    argv = ["--history", str(run_files["history"]), "--metrics", str(run_files["metrics"]), "--output", str(out),
            *THRESHOLD_FLAGS, "--min-loss-rise-percent", "50", "--min-removed-percent", "90"]  # fmt: skip
    assert run_cli(overfitting_claims.main, argv) == 0
    claims = json.loads(out.read_text())
    assert claims["thresholds"]["min_loss_rise_percent"] == 50.0
    assert claims["thresholds"]["min_removed_percent"] == 90.0
    assert verdicts(claims)["val_loss_rose"] == "not supported"
    assert verdicts(claims)["temperature_removes_rise"] == "not supported"
    assert claims["puzzle_shown"] is False
    assert "does not show the puzzle" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("flag", "value"),
    [("--min-loss-rise-percent", "-1"), ("--min-accuracy-rise-points", "nan"), ("--min-wrong-share-of-rise", "1.5")],
)
def test_cli_rejects_bad_thresholds(run_files, tmp_path, capsys, flag, value):
    out = tmp_path / "claims.json"
    argv = ["--history", str(run_files["history"]), "--metrics", str(run_files["metrics"]), "--output", str(out),
            *THRESHOLD_FLAGS, flag, value]  # fmt: skip
    assert run_cli(overfitting_claims.main, argv) == 1
    assert flag in capsys.readouterr().err
    assert not out.exists()


def test_cli_malformed_history_exits_1_naming_the_file(run_files, tmp_path):
    history = json.loads(run_files["history"].read_text())
    history["history"]["val_loss"] = history["history"]["val_loss"][:-1]
    bad = tmp_path / "bad-history.json"
    write_json(bad, history)
    out = tmp_path / "claims.json"
    result = run_script(
        "overfitting/claims.py", "--history", bad, "--metrics", run_files["metrics"], *THRESHOLD_FLAGS,
        "--output", out, check=False,
    )  # fmt: skip
    assert result.returncode == 1
    assert str(bad) in result.stderr and "'val_loss' has 5 values but 'epoch' has 6" in result.stderr
    assert "Traceback" not in result.stderr
    assert not out.exists()


def test_cli_nan_in_history_exits_1(run_files, tmp_path, capsys):
    history = json.loads(run_files["history"].read_text())
    history["history"]["val_loss_temperature_scaled"][2] = math.nan
    bad = tmp_path / "nan-history.json"
    bad.write_text(json.dumps(history))  # Python writes NaN, which json.load reads back
    out = tmp_path / "claims.json"
    argv = ["--history", str(bad), "--metrics", str(run_files["metrics"]), "--output", str(out), *THRESHOLD_FLAGS]
    assert run_cli(overfitting_claims.main, argv) == 1
    err = capsys.readouterr().err
    assert str(bad) in err and "'val_loss_temperature_scaled' holds non-finite values (epoch 3)" in err
    assert not out.exists()


def test_cli_missing_history_file(run_files, tmp_path, capsys):
    missing = tmp_path / "nowhere.json"
    argv = ["--history", str(missing), "--metrics", str(run_files["metrics"]), "--output", str(tmp_path / "c.json")]
    assert run_cli(overfitting_claims.main, [*argv, *THRESHOLD_FLAGS]) == 1
    assert capsys.readouterr().err.startswith(f"error: {missing}: file not found")


@pytest.mark.parametrize("kind", ["directory", "empty"])
def test_cli_unusable_metrics_file(run_files, tmp_path, kind):
    bad = tmp_path / "bad.json"
    if kind == "directory":
        bad.mkdir()
    else:
        bad.write_bytes(b"")
    out = tmp_path / "claims.json"
    result = run_script(
        "overfitting/claims.py", "--history", run_files["history"], "--metrics", bad, *THRESHOLD_FLAGS,
        "--output", out, check=False,
    )  # fmt: skip
    assert result.returncode == 1
    assert result.stderr.startswith(f"error: {bad}: {'is a directory' if kind == 'directory' else 'is empty'}")
    assert not out.exists()


@pytest.mark.parametrize("flag", THRESHOLD_FLAGS[::2])
def test_cli_thresholds_have_no_default(run_files, tmp_path, flag):
    """Each threshold comes from the config; leaving one out is a one-line error naming it, with nothing written."""
    at = THRESHOLD_FLAGS.index(flag)
    others = THRESHOLD_FLAGS[:at] + THRESHOLD_FLAGS[at + 2 :]
    out = tmp_path / "claims.json"
    argv = ["--history", str(run_files["history"]), "--metrics", str(run_files["metrics"]), "--output", str(out)]
    with pytest.raises(PipelineError, match=flag):
        overfitting_claims.main([*argv, *others])
    result = run_script("overfitting/claims.py", *argv, *others, check=False)
    assert result.returncode == 1
    assert result.stderr.startswith("error: ") and flag in result.stderr and len(result.stderr.splitlines()) == 1
    assert not out.exists()
