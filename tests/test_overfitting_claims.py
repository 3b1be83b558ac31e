"""scripts/overfitting/claims.py and paired.py: the exact McNemar test, each run's outcome, the verdicts over every
seed, the facts that choose the page's sentences, and the command line.

The runs come from ``overfitting_inputs.write_run``, whose outcome is chosen (the puzzle with accuracy significantly
up, flat accuracy, no rise of the loss, falling accuracy, wrong answers growing less sure at the end). Every
expectation is recomputed here from the files with plain numpy and scipy, not with the code under test.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import binomtest

from conftest import run_script
from kit.cli import PipelineError, run_cli
from kit.config import repository_schema, schema_defaults
from kit.facts import checked, collect
from kit.io import read_json, write_json
from overfitting import claims as overfitting_claims
from overfitting import paired
from overfitting.claims import Thresholds, check_claims, parse_cnn, parse_history, read_seeds
from overfitting_inputs import CNN_SETTINGS, OVERFIT_SETTINGS, write_run

#: The thresholds a default run uses: the config schema's defaults, the one place they live.
DEFAULTS = Thresholds(
    **{key: float(value) for key, value in schema_defaults(repository_schema())["overfitting"].items()}
)

#: The same thresholds as the workflow passes them to the script.
THRESHOLD_FLAGS = [
    item for key, value in asdict(DEFAULTS).items() for item in (f"--{key.replace('_', '-')}", f"{value:g}")
]

CLAIM_IDS = ["train_loss_fell", "val_loss_rose", "val_accuracy_rose", "rise_from_wrong", "temperature_removes_rise"]

FILES = ("history.json", "metrics.json", "diagnostics.npz")


# --------------------------------------------------------------------------------------------------------
# The exact McNemar test and the outcome rules
# --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("b", "c"), [(0, 0), (1, 0), (5, 0), (3, 3), (30, 20), (371, 299), (343, 311), (0, 80),
                                      (1200, 1100), (20, 45)])  # fmt: skip
def test_mcnemar_exact_agrees_with_the_binomial_test(b, c):
    expected = binomtest(min(b, c), b + c, 0.5).pvalue if b + c else 1.0
    assert paired.mcnemar_exact(b, c) == pytest.approx(expected, rel=1e-9)
    assert paired.mcnemar_exact(b, c) == paired.mcnemar_exact(c, b)


def test_mcnemar_by_hand():
    assert paired.mcnemar_exact(0, 0) == 1.0  # no flips: nothing to test
    assert paired.mcnemar_exact(5, 0) == 2 / 32  # two-sided: 2 P(X <= 0), X ~ Bin(5, 1/2)
    assert paired.mcnemar_exact(1, 1) == 1.0  # 2 (1 + 2) / 4 > 1 is capped at 1
    # The numbers: 343 images flip wrong -> right and 311 right -> wrong; a paired test calls that no change.
    assert 0.2 < paired.mcnemar_exact(343, 311) < 0.25


@pytest.mark.parametrize(("b", "c"), [(-1, 3), (1.5, 2), (True, 2), ("3", 1)])
def test_mcnemar_refuses_bad_counts(b, c):
    with pytest.raises(PipelineError, match="McNemar counts"):
        paired.mcnemar_exact(b, c)


def comparison(b: int, c: int, n: int = 1000, rise: float = 20.0, best: int = 3, last: int = 8) -> dict:
    """The part of ``compare_epochs``' result the rules read."""
    return {"best_epoch": best, "last_epoch": last, "n_fixed": b, "n_broken": c,
            "mcnemar_p": paired.mcnemar_exact(b, c), "val_accuracy_change_points": 100 * (b - c) / n,
            "val_loss_rise_percent": rise}  # fmt: skip


@pytest.mark.parametrize(
    ("case", "status", "outcome"),
    [
        (comparison(100, 0), "up", "puzzle"),
        (comparison(30, 20), "flat", "puzzle_flat"),
        (comparison(0, 80), "down", "overfitting"),
        (comparison(12, 0, n=10000), "small", "puzzle_flat"),  # p = 0.0005, but +0.12 points < 0.2
        (comparison(100, 0, rise=4.9), "up", "no_rise"),  # the loss must rise by the threshold
        (comparison(0, 0, rise=0.0, best=8), "none", "no_rise"),
    ],
    ids=["up", "flat", "down", "small", "rise-below-threshold", "no-later-epochs"],
)
def test_accuracy_status_and_outcome(case, status, outcome):
    rules = DEFAULTS.rules
    assert paired.accuracy_status(case, rules) == status
    assert paired.run_outcome(case, rules) == outcome


def test_the_significance_level_decides_between_up_and_flat():
    case = comparison(60, 35)  # p = 0.0135
    assert paired.accuracy_status(case, paired.Rules(5, 0.2, 0.05)) == "up"
    assert paired.accuracy_status(case, paired.Rules(5, 0.2, 0.01)) == "flat"


@pytest.mark.parametrize(
    ("outcomes", "expected"),
    [
        (["puzzle"] * 3, "puzzle"),
        (["puzzle", "puzzle_flat", "puzzle"], "puzzle_flat"),
        (["no_rise"] * 2, "no_rise"),
        (["puzzle", "overfitting", "no_rise"], "overfitting"),
        (["no_rise", "puzzle_flat"], "mixed"),
    ],
)
def test_overall_outcome(outcomes, expected):
    assert paired.overall(outcomes) == expected


def test_rules_refuse_a_significance_level_outside_0_and_1():
    for level in (0.0, 1.0, -0.1, 2.0):
        with pytest.raises(PipelineError, match="--significance-level"):
            paired.Rules(5, 0.2, level)


# --------------------------------------------------------------------------------------------------------
# Claims over every seed, from runs written to disk
# --------------------------------------------------------------------------------------------------------


def write_runs(root: Path, outcomes: list[str], cnn_settings: dict | None = None) -> tuple[list[Path], Path]:
    """The overfit model's runs (seed i + 1 with outcome i) and the CNN's run; their folders."""
    folders = [write_run(root / f"overfit-{seed}", outcome, seed)["history.json"].parent
               for seed, outcome in enumerate(outcomes, start=1)]  # fmt: skip
    cnn = write_run(root / "cnn", "no_rise", 1, model="cnn", settings=cnn_settings or CNN_SETTINGS, n_train=50000)
    return folders, cnn["history.json"].parent


def claims_of(folders: list[Path], cnn: Path, thresholds: Thresholds = DEFAULTS) -> dict:
    """The claims document as the CLI builds it (read, checked, computed), without writing it."""
    seeds = read_seeds(*[[folder / name for folder in folders] for name in FILES])
    cnn_run = parse_cnn(read_json(cnn / "history.json"), "h", read_json(cnn / "metrics.json"), "m")
    return check_claims(seeds, cnn_run, thresholds)


def verdicts(result: dict) -> dict[str, str]:
    return {claim["id"]: claim["verdict"] for claim in result["claims"]}


def independent(folder: Path, rules: paired.Rules = DEFAULTS.rules) -> dict:
    """One run's numbers recomputed from its files with numpy and scipy."""
    history = read_json(folder / "history.json")
    h, best = history["history"], history["best_epoch"]
    last = len(h["epoch"])
    with np.load(folder / "diagnostics.npz") as d:
        labels = d["val_labels"]
        right_best = d["val_logits_best"].argmax(axis=1) == labels
        right_last = d["val_logits_last"].argmax(axis=1) == labels
    b, c = int((~right_best & right_last).sum()), int((right_best & ~right_last).sum())
    p = binomtest(min(b, c), b + c, 0.5).pvalue if b + c else 1.0
    rise = h["val_loss"][-1] - h["val_loss"][best - 1]
    rise_percent = 100 * rise / h["val_loss"][best - 1]
    scaled_rise = h["val_loss_temperature_scaled"][-1] - h["val_loss_temperature_scaled"][best - 1]
    change = 100 * (b - c) / len(labels)
    if best == last:
        status = "none"
    elif p < rules.significance_level and b > c:
        status = "up" if change >= rules.min_accuracy_rise_points else "small"
    elif p < rules.significance_level and c > b:
        status = "down"
    else:
        status = "flat"
    return {"best": best, "last": last, "b": b, "c": c, "p": p, "change": change, "rise": rise,
            "rise_percent": rise_percent, "rose": best < last and rise_percent >= rules.min_loss_rise_percent,
            "status": status, "removed": 100 * (rise - scaled_rise) / rise if rise > 0 else None,
            "wrong_conf": (h["val_confidence_wrong_mean"][best - 1], h["val_confidence_wrong_mean"][-1])}  # fmt: skip


FLAT_TITLE = "Validation loss up, validation accuracy flat: the overfitting puzzle, measured"
SCENARIOS = {
    "puzzle": (["puzzle"] * 3, "puzzle", FLAT_TITLE.replace("flat", "up")),
    "flat": (["flat"] * 3, "puzzle_flat", FLAT_TITLE),
    "one-up": (["puzzle", "flat", "flat"], "puzzle_flat",
               "Validation loss up, validation accuracy not down: the overfitting puzzle, measured"),
    "no-rise": (["no_rise"] * 3, "no_rise",
                "No overfitting puzzle in this run: the validation loss does not end significantly, by 5 % or "
                "more, above its minimum"),
    "down": (["down"] * 3, "overfitting",
             "Validation loss up, validation accuracy down on all 3 seeds: ordinary overfitting, not the puzzle"),
    "one-down": (["flat", "down", "flat"], "overfitting",
                 "Validation loss up, validation accuracy down on 1 of 3 seeds: ordinary overfitting, not the puzzle"),
    "mixed": (["no_rise", "flat", "flat"], "mixed",
              "The overfitting puzzle on 2 of 3 seeds only: on the others the validation loss does not end "
              "significantly, by 5 % or more, above its minimum"),
    "less-sure": (["confident"] * 3, "puzzle_flat", FLAT_TITLE),
    "one-seed": (["flat"], "puzzle_flat", FLAT_TITLE),
}  # fmt: skip


@pytest.fixture(scope="module")
def scenario_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[list[Path], Path]]:
    """The runs of every scenario, written once."""
    return {name: write_runs(tmp_path_factory.mktemp(name), outcomes) for name, (outcomes, _, _) in SCENARIOS.items()}


@pytest.mark.parametrize("name", SCENARIOS)
def test_verdicts_follow_every_seed_and_the_paired_test(scenario_runs, name):
    _, expected, headline = SCENARIOS[name]
    folders, cnn = scenario_runs[name]
    result = claims_of(folders, cnn)
    runs = [independent(folder) for folder in folders]
    assert result["outcome"] == expected
    assert result["facts"]["headline"]["text"] == headline
    assert result["n_seeds"] == len(folders) and result["seeds"] == list(range(1, len(folders) + 1))
    for run, mine in zip(result["runs"], runs, strict=True):
        assert (run["n_fixed"], run["n_broken"]) == (mine["b"], mine["c"])
        assert run["mcnemar_p"] == pytest.approx(mine["p"], rel=1e-8)
        assert run["status"] == mine["status"] and run["loss_rose"] == mine["rose"]
        assert run["val_accuracy_change_points"] == pytest.approx(mine["change"], abs=1e-9)
        if mine["removed"] is None:
            assert run["removed_percent"] is None
        else:
            assert run["removed_percent"] == pytest.approx(mine["removed"], rel=1e-8)
    # A verdict is supported only when it holds on every seed, and never against the page's other numbers.
    v = verdicts(result)
    assert [c["id"] for c in result["claims"]] == CLAIM_IDS
    assert (v["val_loss_rose"] == "supported") == all(r["rose"] for r in runs)
    assert (v["val_accuracy_rose"] == "supported") == all(r["rose"] and r["status"] == "up" for r in runs)
    if any(r["status"] == "down" for r in runs):
        assert v["temperature_removes_rise"] == "not supported", "a significant fall is lost discrimination"
    if any(r["wrong_conf"][1] <= r["wrong_conf"][0] for r in runs):
        assert v["rise_from_wrong"] == "not supported", "wrong answers that grow less sure contradict the claim"
    if v["rise_from_wrong"] == "supported":
        assert all(r["rose"] and r["wrong_conf"][1] > r["wrong_conf"][0] for r in runs)
    assert result["puzzle_shown"] == (expected in ("puzzle", "puzzle_flat"))
    assert result["puzzle_strong"] == (expected == "puzzle")
    assert result["summary"]["supported"] == sum(value == "supported" for value in v.values())
    for claim in result["claims"]:
        assert claim["seeds_holding"] <= claim["seeds"] == len(folders)
        assert (claim["verdict"] == "supported") == (claim["seeds_holding"] == len(folders))
    json.dumps(result, allow_nan=False)


@pytest.mark.parametrize("name", SCENARIOS)
def test_every_fact_is_well_formed_and_true_to_its_numbers(scenario_runs, name):
    folders, cnn = scenario_runs[name]
    result = claims_of(folders, cnn)
    facts = collect(result["facts"])
    assert {"headline", "description"} <= set(facts)
    for key, fact in facts.items():
        checked(fact, key)
        assert fact["text"] and not re.search(r"\bnan\b|\bn/a\b", fact["text"], re.I), key
        assert not re.search(r"(?<!^)\bNone\b", fact["text"]), key
    f = {key: fact["text"] for key, fact in result["facts"].items()}
    first = independent(folders[0])
    n = len(folders)
    history = read_json(folders[0] / "history.json")["history"]
    best, last = first["best"], first["last"]
    # The count of wrong images: "fewer" only when it fell (the 1,268 -> 1,406 printed as "fewer").
    wrong_best, wrong_last = history["val_n_wrong"][best - 1], history["val_n_wrong"][-1]
    if best < last:
        assert ("fewer than before" in f["wrong_count"]) == (wrong_last < wrong_best)
        assert ("more than before" in f["wrong_count"]) == (wrong_last > wrong_best)
        conf_best, conf_last = first["wrong_conf"]
        assert f"in its wrong answers {'rises' if conf_last > conf_best else 'falls'} from" in f["confidence_change"]
        ece_best, ece_last = history["val_ece"][best - 1], history["val_ece"][-1]
        assert f"error {'rises' if ece_last > ece_best else 'falls'} from" in f["ece_change"]
        assert f"{first['b']:,} image" in f["flips"] and f" {first['c']:,} from right to wrong" in f["flips"]
        assert ("significant rise" in f["accuracy_verdict"]) == (first["status"] == "up")
        assert ("no significant change" in f["accuracy_verdict"]) == (first["status"] == "flat")
        assert ("significant fall" in f["accuracy_verdict"]) == (first["status"] == "down")
    # Temperature, like with like: the sentence's share is the scaled rise against the unscaled rise.
    if first["removed"] is not None and first["removed"] < 100:
        assert f"remove {first['removed']:.0f} % of the rise" in f["temperature_removed"]
    # The held-out check quotes the test images' numbers from metrics.json.
    metrics = read_json(folders[0] / "metrics.json")
    assert f"{100 * metrics['test_ece_last']:.1f} %" in f["test_calibration"]
    assert f"{100 * metrics['test_ece_last_temperature_scaled']:.1f} %" in f["test_calibration"]
    # One seed: no sentence names seeds; several: the first seed's numbers are marked as such.
    if n == 1:
        assert not any("seed" in text for key, text in f.items() if key not in ("description",)), f
    else:
        assert "seed 1" in f["loss_rise"] and "seed 1" in f["wrong_count"]
    # The images that stay wrong: "more than its whole rise" exactly when their part exceeds a positive total
    # (then the others' losses fall: a share over 100 % would read oddly).
    values = result["facts"]["drivers"].get("values", {})
    if "stayed_wrong_part" in values:
        total, part = values["total"], values["stayed_wrong_part"]
        assert ("more than its whole rise" in f["drivers"]) == (total > 0 and part > total), f["drivers"]
    assert not re.search(r"carry 1\d\d %|carry [2-9]\d\d %", f["drivers"])
    # "Over-confidence" is concluded only where the temperature claim holds on every seed.
    v = verdicts(result)
    assert f["temperature_verdict"].startswith("So the rise") == (v["temperature_removes_rise"] == "supported")


def test_claims_quote_the_thread_and_name_their_source(scenario_runs):
    result = claims_of(*scenario_runs["flat"])
    claims = {claim["id"]: claim for claim in result["claims"]}
    thread = "The training loss going down, the validation loss going up."
    question = "why is that validation accuracy is going up if the validation loss is getting worse"
    for key in ("train_loss_fell", "val_loss_rose"):
        assert claims[key]["source"] == "thread" and claims[key]["claim"] in thread
    assert claims["val_accuracy_rose"]["claim"] in question and question in claims["val_accuracy_rose"]["quote"]
    for key in ("rise_from_wrong", "temperature_removes_rise"):
        assert claims[key]["source"] == "explanation"
    first = independent(scenario_runs["flat"][0][0])
    measured = claims["val_accuracy_rose"]["measured"]
    assert f"{first['b']} images wrong -> right, {first['c']} right -> wrong" in measured
    assert "exact McNemar p = " in measured and measured.endswith("a significant rise on 0 of 3 seeds")
    assert "McNemar" in claims["val_accuracy_rose"]["rule"] and "0.05 level" in claims["val_accuracy_rose"]["rule"]
    assert "scaled against scaled, unscaled against unscaled" in claims["temperature_removes_rise"]["rule"]


def test_wrong_answers_growing_less_sure_make_claim_4_unsupported(tmp_path):
    folders, cnn = write_runs(tmp_path, ["flat"] * 3)
    history = read_json(folders[1] / "history.json")
    best = history["best_epoch"]
    history["history"]["val_confidence_wrong_mean"][-1] = (
        history["history"]["val_confidence_wrong_mean"][best - 1] - 0.05
    )
    write_json(folders[1] / "history.json", history)
    result = claims_of(folders, cnn)
    claim = next(c for c in result["claims"] if c["id"] == "rise_from_wrong")
    assert claim["verdict"] == "not supported" and claim["seeds_holding"] == 2
    assert result["runs"][1]["holds"]["rise_from_wrong"] is False


def test_stricter_thresholds_turn_verdicts(scenario_runs):
    folders, cnn = scenario_runs["puzzle"]
    assert set(verdicts(claims_of(folders, cnn)).values()) == {"supported"}
    runs = [independent(folder) for folder in folders]
    strict = Thresholds(min_loss_rise_percent=max(r["rise_percent"] for r in runs) + 1, min_accuracy_rise_points=0.2,
                        significance_level=0.05, min_wrong_share_of_rise=0.5, min_removed_percent=50)  # fmt: skip
    result = claims_of(folders, cnn, strict)
    assert result["outcome"] == "no_rise"
    assert verdicts(result) == {key: "supported" if key == "train_loss_fell" else "not supported" for key in CLAIM_IDS}
    tiny = Thresholds(5, 20.0, 0.05, 0.5, 50)  # asks for a 20-point rise: significant, but too small
    result = claims_of(folders, cnn, tiny)
    assert {run["status"] for run in result["runs"]} == {"small"} and result["outcome"] == "puzzle_flat"
    assert "by less than 20 points" in result["facts"]["accuracy_seeds"]["text"]


def test_the_comparison_names_every_setting_that_differs(tmp_path):
    folders, cnn = write_runs(tmp_path / "defaults", ["flat"])
    result = claims_of(folders, cnn)
    names = [row["name"] for row in result["cnn"]["differences"]]
    assert names == ["training images", "convolution channels", "regularisation", "learning-rate schedule",
                     "learning rate", "batch size"]  # fmt: skip
    text = result["facts"]["differences"]["text"]
    assert text.startswith("The two runs differ in more than regularisation: training images (2,000 against 50,000)")
    assert "cannot be credited to regularisation alone" in text
    # Only the regularisation differs: then, and only then, the page may credit it.
    only = {**OVERFIT_SETTINGS, "batch_norm": True, "dropout": 0.25}
    folders, cnn = write_runs(tmp_path / "only", ["flat"], cnn_settings=only)
    metrics = read_json(cnn / "metrics.json")
    write_json(cnn / "metrics.json", {**metrics, "n_train": 2000})
    history = read_json(cnn / "history.json")
    write_json(cnn / "history.json", {**history, "n_train": 2000})
    result = claims_of(folders, cnn)
    assert result["facts"]["differences"]["text"].startswith("The two runs differ only in regularisation (none against")


def test_a_cnn_trained_for_one_epoch_cannot_show_a_rise(tmp_path):
    folders, cnn = write_runs(tmp_path, ["flat"])
    history = read_json(cnn / "history.json")
    history["history"] = {key: values[:1] for key, values in history["history"].items()}
    history["best_epoch"] = 1
    write_json(cnn / "history.json", history)
    metrics = read_json(cnn / "metrics.json")
    write_json(cnn / "metrics.json", {**metrics, "epochs": 1})
    result = claims_of(folders, cnn)
    assert "trains for one epoch only" in result["facts"]["cnn_curve"]["text"]


# --------------------------------------------------------------------------------------------------------
# Bad input
# --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda h: h["history"].pop("val_loss_wrong_part"), "lacks column.*'val_loss_wrong_part'"),
        (lambda h: h["history"]["val_accuracy"].pop(), r"'val_accuracy' has 7 values but 'epoch' has 8"),
        (lambda h: h["history"]["val_loss"].__setitem__(4, math.nan),
         r"'val_loss' holds non-finite values \(epoch 5\)"),
        (lambda h: h["history"]["temperature"].__setitem__(0, None), r"'temperature' holds null values \(epoch 1\)"),
        (lambda h: h["history"]["val_accuracy"].__setitem__(5, 82.0),
         r"'val_accuracy' must hold fractions.*\(epoch 6\)"),
        (lambda h: h.__setitem__("best_epoch", 9), "'best_epoch' must be an epoch from 1 to 8, got 9"),
        (lambda h: h.pop("history"), "no 'history' object"),
    ],
)  # fmt: skip
def test_malformed_history_raises_naming_file_and_key(tmp_path, change, message):
    history = read_json(write_run(tmp_path, "flat", 1)["history.json"])
    change(history)
    with pytest.raises(PipelineError, match=f"^history.json: .*{message}"):
        parse_history(history, "history.json")


@pytest.fixture
def run_files(tmp_path):
    """Three seeds' files of a flat run and the CNN's, as models/train.py writes them."""
    folders, cnn = write_runs(tmp_path / "runs", ["flat"] * 3)
    return {
        **{name.split(".")[0]: [folder / name for folder in folders] for name in FILES},
        "cnn-history": cnn / "history.json",
        "cnn-metrics": cnn / "metrics.json",
    }


def argv_of(files: dict, output: Path, *extra: str) -> list[str]:
    """The script's flags for ``files`` (lists per seed), the thresholds and ``extra``."""
    words = []
    for key in ("history", "metrics", "diagnostics", "cnn-history", "cnn-metrics"):
        value = files[key]
        words += [f"--{key}", *[str(v) for v in (value if isinstance(value, list) else [value])]]
    return [*words, *THRESHOLD_FLAGS, *extra, "--output", str(output)]


def test_cli_writes_claims(run_files, tmp_path):
    out = tmp_path / "overfitting" / "claims.json"
    result = run_script("overfitting/claims.py", *argv_of(run_files, out))
    assert "4 of 5 claims supported; puzzle_flat" in result.stdout
    assert "Validation loss up, validation accuracy flat" in result.stdout
    claims = json.loads(out.read_text())
    assert claims["puzzle_shown"] is True and claims["outcome"] == "puzzle_flat"
    assert [claim["id"] for claim in claims["claims"]] == CLAIM_IDS
    assert claims["thresholds"] == asdict(DEFAULTS)
    # The per-seed paired test is in the output.
    assert [(run["n_fixed"], run["n_broken"]) for run in claims["runs"]] == [(30, 20)] * 3
    # Run in-process with the same inputs: the same bytes (deterministic, sorted keys).
    again = tmp_path / "again.json"
    assert run_cli(overfitting_claims.main, argv_of(run_files, again)) == 0
    assert again.read_bytes() == out.read_bytes()


def test_cli_thresholds_are_flags(run_files, tmp_path):
    out = tmp_path / "claims.json"
    assert run_cli(overfitting_claims.main, argv_of(run_files, out, "--min-loss-rise-percent", "5000")) == 0
    claims = json.loads(out.read_text())
    assert claims["thresholds"]["min_loss_rise_percent"] == 5000.0
    assert verdicts(claims)["val_loss_rose"] == "not supported" and claims["puzzle_shown"] is False
    assert claims["facts"]["headline"]["text"].startswith("No overfitting puzzle in this run")


@pytest.mark.parametrize(
    ("flag", "value"),
    [("--min-loss-rise-percent", "-1"), ("--min-accuracy-rise-points", "nan"), ("--min-wrong-share-of-rise", "1.5"),
     ("--significance-level", "0"), ("--significance-level", "1")],
)  # fmt: skip
def test_cli_rejects_bad_thresholds(run_files, tmp_path, capsys, flag, value):
    out = tmp_path / "claims.json"
    assert run_cli(overfitting_claims.main, argv_of(run_files, out, flag, value)) == 1
    assert flag in capsys.readouterr().err
    assert not out.exists()


@pytest.mark.parametrize(
    ("edit", "words"),
    [
        (lambda f: f.update(metrics=f["metrics"][:2]), "name 3, 2 and 3 files"),
        (lambda f: f.update(diagnostics=[f["diagnostics"][1], f["diagnostics"][0], f["diagnostics"][2]]),
         "come from different training runs"),
        (lambda f: f.update(history=[f["history"][0]] * 3, metrics=[f["metrics"][0]] * 3,
                            diagnostics=[f["diagnostics"][0]] * 3), "are both runs of seed 1"),
        (lambda f: f.update(metrics=[f["metrics"][1], f["metrics"][0], f["metrics"][2]]),
         "come from different training runs"),
    ],
    ids=["counts", "diagnostics-of-another-seed", "duplicate-seed", "metrics-of-another-seed"],
)  # fmt: skip
def test_cli_refuses_files_that_do_not_belong_together(run_files, tmp_path, capsys, edit, words):
    edit(run_files)
    out = tmp_path / "claims.json"
    assert run_cli(overfitting_claims.main, argv_of(run_files, out)) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and words in err and len(err.splitlines()) == 1
    assert not out.exists()


def test_cli_refuses_metrics_without_the_held_out_calibration(run_files, tmp_path, capsys):
    """A metrics.json from before the test-ECE keys (the old code) names the key and says to rerun training."""
    metrics = read_json(run_files["metrics"][0])
    del metrics["test_ece_last_temperature_scaled"]
    write_json(run_files["metrics"][0], metrics)
    out = tmp_path / "claims.json"
    assert run_cli(overfitting_claims.main, argv_of(run_files, out)) == 1
    err = capsys.readouterr().err
    assert "'test_ece_last_temperature_scaled' is None" in err and "rerun the training step" in err
    assert not out.exists()


def test_cli_missing_or_unusable_files(run_files, tmp_path, capsys):
    missing = tmp_path / "nowhere.json"
    run_files["history"][1] = missing
    assert run_cli(overfitting_claims.main, argv_of(run_files, tmp_path / "c.json")) == 1
    assert capsys.readouterr().err.startswith(f"error: {missing}: file not found")
    empty = tmp_path / "empty.npz"
    empty.write_bytes(b"")
    run_files["history"][1] = run_files["history"][0].parent.parent / "overfit-2" / "history.json"
    run_files["diagnostics"][2] = empty
    result = run_script("overfitting/claims.py", *argv_of(run_files, tmp_path / "c.json"), check=False)
    assert result.returncode == 1 and result.stderr.startswith(f"error: {empty}: is empty")
    assert not (tmp_path / "c.json").exists()


@pytest.mark.parametrize("flag", THRESHOLD_FLAGS[::2])
def test_cli_thresholds_have_no_default(run_files, tmp_path, flag):
    """Each threshold comes from the config; leaving one out is a one-line error naming it, with nothing written."""
    out = tmp_path / "claims.json"
    argv = argv_of(run_files, out)
    at = argv.index(flag)
    argv = argv[:at] + argv[at + 2 :]
    with pytest.raises(PipelineError, match=flag):
        overfitting_claims.main(argv)
    result = run_script("overfitting/claims.py", *argv, check=False)
    assert result.returncode == 1
    assert result.stderr.startswith("error: ") and flag in result.stderr and len(result.stderr.splitlines()) == 1
    assert not out.exists()
