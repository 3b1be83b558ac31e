"""Tests for the six backpropagation figures: valid, reproducible SVGs whose sidecars hold the inputs' numbers.

The inputs are a tiny but real run (``backprop_inputs.build_run``: backprop/puzzle.py and backprop/network.py on
synthetic images).
Each script runs once by its CLI and once in-process; both must write the same bytes. The expected numbers are
computed here from the input files with plain numpy, not with the figure scripts' code.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from backprop.bpio import LAYERS, read_history
from backprop.figures import agreement, flow, grad_norms, loss, puzzle, rounds
from backprop_inputs import FIGURE_OPTIONS, build_run
from conftest import ROOT, SCRIPT_ENV, run_script, run_twice
from kit.cli import PipelineError
from kit.formats import upper_bound
from kit.io import load_npz, save_npz

SCRIPTS_BY_NAME = {
    "puzzle": ("backprop/figures/puzzle.py", puzzle, ("puzzle",)),
    "rounds": ("backprop/figures/rounds.py", rounds, ("puzzle",)),
    "agreement": ("backprop/figures/agreement.py", agreement, ("history", "metrics")),
    "loss": ("backprop/figures/loss.py", loss, ("history", "metrics")),
    "grad_norms": ("backprop/figures/grad_norms.py", grad_norms, ("history",)),
    "flow": ("backprop/figures/flow.py", flow, ("history", "metrics")),
}


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return build_run(tmp_path_factory.mktemp("run"), claims=False)


@pytest.fixture(scope="module")
def figures(run: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[str, dict]]:
    """Every figure drawn twice (CLI and in-process, same bytes asserted): name -> (SVG text, sidecar)."""
    out = tmp_path_factory.mktemp("figures")
    drawn = {}
    for name, (script, module, inputs) in SCRIPTS_BY_NAME.items():
        args = [item for key in inputs for item in (f"--{key}", run[key])]
        args += FIGURE_OPTIONS.get(name, ())
        drawn[name] = run_twice(script, module, args, out / name, name)
    return drawn


def test_every_figure_is_a_reproducible_svg_with_title_and_alt(figures: dict) -> None:
    for name, (svg, meta) in figures.items():
        assert svg.count("<path") > 20, name
        assert len(meta["alt"]) > 150, name  # alt text describes the data, with numbers
        assert any(ch.isdigit() for ch in meta["title"]), name  # titles state a computed finding


def test_puzzle_and_rounds_sidecars_match_the_rounds(run: dict, figures: dict) -> None:
    puzzle = json.loads(run["puzzle"].read_text())
    _, drawn = figures["puzzle"]
    _, rounds = figures["rounds"]
    assert drawn["totals"] == rounds["totals"] == puzzle["totals"] == [12, 8, 5, 3, 2, 1, 0]
    assert drawn["round_1_fixes"] == {"Harry": 1, "Dick": 2, "Tom": 1}
    assert "12 wrong pieces become 8 after round 1 and 0 after round 6" in drawn["title"]
    assert rounds["title"] == "Wrong pieces per round: 12 → 8 → 5 → 3 → 2 → 1 → 0"
    for person in ("Tom", "Dick", "Harry"):
        assert rounds["wrong"][person][0] == puzzle["initial_wrong"][person]
        assert rounds["fixes"][person] == [r["fixes"][person] for r in puzzle["rounds"]]
    assert "Tom laid 6 pieces, 2 wrong" in drawn["alt"]


def test_loss_sidecar_holds_the_first_and_last_evaluation(run: dict, figures: dict) -> None:
    history = load_npz(run["history"])
    _, meta = figures["loss"]
    assert meta["steps"] == 40
    assert meta["first"]["train_loss"] == pytest.approx(history["train_loss"][0], rel=1e-9)
    assert meta["last"]["test_accuracy"] == pytest.approx(history["test_accuracy"][-1], rel=1e-9)
    assert meta["loss_falls"] is bool(history["train_loss"][-1] < history["train_loss"][0]) is True
    assert f"from {history['train_loss'][0]:.3f} to {history['train_loss'][-1]:.3f} nats" in meta["title"]
    rises = int(np.sum(np.diff(history["train_loss"]) > 0))
    assert meta["train_loss_rises"] == rises and meta["evaluations"] == len(history["eval_step"]) - 1
    # The tiny run's loss falls at every evaluation; a title never says "falls" for a loss that rose.
    assert ("falls at every evaluation" in meta["title"]) == (rises == 0)


def test_grad_norm_sidecar_ranks_the_layers_by_median(run: dict, figures: dict) -> None:
    history = load_npz(run["history"])
    _, meta = figures["grad_norms"]
    medians = {layer: float(np.median(history[f"grad_norm_{layer}"])) for layer in LAYERS}
    assert meta["largest"].lower() == max(medians, key=medians.get)
    assert meta["smallest"].lower() == min(medians, key=medians.get)
    for layer in LAYERS:
        assert meta["layers"][layer]["median"] == pytest.approx(medians[layer], rel=1e-9)


def test_flow_factors_multiply_to_the_ratio_of_the_deltas(run: dict, figures: dict) -> None:
    history = load_npz(run["history"])
    _, meta = figures["flow"]
    mean = {stage: float(history[f"message_{stage}"].mean()) for stage in meta["sizes"]}
    f = meta["factors"]
    assert f["dick_slope"] == pytest.approx(mean["dick"] / mean["harry_to_dick"], rel=1e-9)
    product = f["harry_weights"] * f["dick_slope"] * f["dick_weights"] * f["tom_slope"]
    assert product == pytest.approx(meta["tom_over_harry"], rel=1e-8)
    assert meta["tom_over_harry"] == pytest.approx(mean["tom"] / mean["harry"], rel=1e-9)
    assert f["dick_slope"] <= 0.25 and f["tom_slope"] <= 0.25  # sigmoid slopes never exceed 1/4
    assert meta["activation"] == "sigmoid" and "sigmoid slope shrinks" in meta["title"]


def test_agreement_sidecar_holds_the_largest_error(run: dict, figures: dict) -> None:
    history = load_npz(run["history"])
    _, meta = figures["agreement"]
    worst = max(float(history[f"relative_error_{layer}"].max()) for layer in LAYERS)
    assert meta["max_relative_error"] == pytest.approx(worst, rel=1e-9)
    assert meta["tolerance"] == 1e-6 and "agree" in meta["title"]
    assert sum(meta["samples"].values()) == sum(len(history[f"sample_first_manual_{la}"]) for la in LAYERS)
    assert meta["identical_entries"] + meta["zero_entries"] <= sum(meta["samples"].values())
    assert meta["entries_within_rounding"] >= meta["identical_entries"]


def test_plotting_never_imports_torch() -> None:
    """Imported as the workflow runs them (PYTHONPATH=scripts), the figures and their readers leave torch out."""
    modules = ", ".join(module.__name__ for _, module, _ in SCRIPTS_BY_NAME.values())
    code = f"import sys, backprop.bpio, {modules}; print('torch' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, env=SCRIPT_ENV, check=True
    )
    assert result.stdout.strip() == "False"


def test_a_history_missing_an_array_is_named(run: dict, tmp_path: Path) -> None:
    arrays = load_npz(run["history"])
    del arrays["grad_norm_dick"]
    broken = tmp_path / "history.npz"
    save_npz(broken, **arrays)
    result = run_script("backprop/figures/grad_norms.py", "--history", broken, "--window", "25",
                        "--output", tmp_path / "g.svg", "--meta", tmp_path / "g.json", check=False)  # fmt: skip
    assert result.returncode == 1 and result.stderr.startswith("error: ")
    assert "history.npz: missing array(s) grad_norm_dick; rerun the backprop step" in result.stderr
    assert not (tmp_path / "g.svg").exists()


def test_a_history_of_the_wrong_length_is_refused(run: dict, tmp_path: Path) -> None:
    arrays = load_npz(run["history"])
    arrays["message_tom"] = arrays["message_tom"][:-1]
    broken = tmp_path / "history.npz"
    save_npz(broken, **arrays)
    with pytest.raises(PipelineError, match="'message_tom' has shape"):
        read_history(broken)


def test_a_puzzle_whose_rounds_do_not_add_up_is_refused(run: dict, tmp_path: Path) -> None:
    puzzle = json.loads(run["puzzle"].read_text())
    puzzle["rounds"][1]["fixes"]["Dick"] += 1
    broken = tmp_path / "puzzle.json"
    broken.write_text(json.dumps(puzzle))
    with pytest.raises(PipelineError, match="round 2: wrong counts and fixes do not add up"):
        rounds.main(["--puzzle", str(broken), "--output", str(tmp_path / "r.svg"),
                                  "--meta", str(tmp_path / "r.json")])  # fmt: skip


def test_bad_window_names_the_flag(run: dict, tmp_path: Path) -> None:
    with pytest.raises(PipelineError, match="--window must be at least 1"):
        flow.main(["--history", str(run["history"]), "--metrics", str(run["metrics"]), "--window", "0",
                                "--output", str(tmp_path / "f.svg"), "--meta", str(tmp_path / "f.json")])  # fmt: skip


def test_the_window_has_no_default(run: dict, tmp_path: Path) -> None:
    """The workflow gives --window; left out, the figure stops with one line naming it and writes nothing."""
    result = run_script("backprop/figures/grad_norms.py", "--history", run["history"], "--output", tmp_path / "g.svg",
                        "--meta", tmp_path / "g.json", check=False)  # fmt: skip
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1
    assert "the following arguments are required: --window" in result.stderr
    assert not (tmp_path / "g.svg").exists()


def test_an_empty_input_file_is_refused_before_reading(run: dict, tmp_path: Path) -> None:
    empty = tmp_path / "puzzle.json"
    empty.write_bytes(b"")
    with pytest.raises(PipelineError, match=r"puzzle\.json: is empty"):
        puzzle.main(["--puzzle", str(empty), "--output", str(tmp_path / "p.svg"), "--meta", str(tmp_path / "p.json")])
    assert not (tmp_path / "p.svg").exists()


def test_loss_title_follows_a_rising_loss(run: dict, tmp_path: Path) -> None:
    """A history whose loss ends above its start, and one that rises between evaluations: the titles say so."""
    arrays = load_npz(run["history"])
    metrics = json.loads(run["metrics"].read_text())
    rising = {**arrays, "train_loss": arrays["train_loss"][::-1].copy()}
    meta = loss.describe(rising, metrics)
    assert "does not fall overall" in meta["title"] and meta["loss_falls"] is False
    bumpy = arrays["train_loss"].copy()
    bumpy[3] = bumpy[2] + 0.01  # one rise, the end still below the start
    meta = loss.describe({**arrays, "train_loss": bumpy}, metrics)
    n = len(bumpy) - 1
    assert f"falls overall, from {bumpy[0]:.3f} to {bumpy[-1]:.3f} nats" in meta["title"]
    assert f"above the evaluation before at 1 of {n} evaluations" in meta["title"]


def test_agreement_title_and_alt_write_bounds_rounded_up(run: dict, figures: dict) -> None:
    history = load_npz(run["history"])
    _, meta = figures["agreement"]
    worst = {layer: float(history[f"relative_error_{layer}"].max()) for layer in LAYERS}
    for value in worst.values():
        text = upper_bound(value)
        mantissa, exponent = text.split(" × 10")
        exponent = int(exponent.translate(str.maketrans("⁻⁰¹²³⁴⁵⁶⁷⁸⁹", "-0123456789")))
        assert float(mantissa) * 10.0**exponent >= value
        assert f"at most {text}" in meta["alt"]
    assert f"at most {upper_bound(max(worst.values()))}" in meta["title"]


def test_flow_title_follows_the_factors(run: dict) -> None:
    """Slopes that do not shrink the signal, and weights that shrink it, are described as such."""
    arrays = load_npz(run["history"])
    metrics = json.loads(run["metrics"].read_text())
    changed = {**arrays}
    changed["message_dick"] = arrays["message_harry_to_dick"] * 1.5  # Dick's "slope" enlarges the signal
    changed["message_dick_to_tom"] = changed["message_dick"] * 0.5  # Dick's weights shrink it
    title = flow.describe(changed, metrics, 25)["title"]
    assert "slope shrinks" not in title and "the sigmoid slopes multiply the error signal by ×1.50 at Dick" in title
    assert "enlarges" not in title


@pytest.mark.parametrize("name", ["grad_norms", "flow"])
def test_a_window_longer_than_the_run_is_drawn_and_stated_as_the_run(run: dict, tmp_path: Path, name: str) -> None:
    """A 40-step run asked for a trailing mean of 100 steps averages over its 40 steps, and says 40, not 100."""
    _, module, inputs = SCRIPTS_BY_NAME[name]
    steps = len(read_history(run["history"])["step"])
    args = [str(item) for key in inputs for item in (f"--{key}", run[key])]
    out = tmp_path / f"{name}.svg"
    module.main([*args, "--window", str(steps + 60), "--output", str(out), "--meta", str(tmp_path / "meta.json")])
    meta = json.loads((tmp_path / "meta.json").read_text(encoding="utf-8"))
    assert meta["window"] == steps
    assert f"mean of {steps + 60}" not in meta["alt"] and f"mean of {steps}" in meta["alt"]
