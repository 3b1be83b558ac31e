"""``tools/benchmark.py pipeline``: two checkouts timed side by side, the overfit model's extra seeds counted apart.

The checkouts here are tiny stand-ins (a Snakefile of three rules that write a CNN metrics file and the overfit
model's benchmark files), so the test times Snakemake itself and the bookkeeping, not the real workflow; the
real comparison is `make benchmark-pipeline BASELINE=<checkout>` (README, "Benchmarks").
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kit.cli import PipelineError
from tools import benchmark as benchmark

SNAKEFILE = """
configfile: "config/config.yaml"

rule all:
    input:
        "results/models/cnn/seed-1/metrics.json",
        expand("results/overfit-{seed}.txt", seed=config["seeds"]),

rule cnn:
    output: "results/models/cnn/seed-1/metrics.json"
    benchmark: "benchmarks/train/cnn/seed-1.tsv"
    shell: "echo '{{\\"test_accuracy\\": 0.93}}' > {output}"

rule overfit:
    output: "results/overfit-{seed}.txt"
    benchmark: "benchmarks/train/overfit/seed-{seed}.tsv"
    shell: "touch {output}"
"""


def checkout(folder: Path, seeds: list[int]) -> Path:
    """A stand-in checkout whose workflow trains the overfit model once per seed."""
    (folder / "workflow").mkdir(parents=True)
    (folder / "workflow" / "Snakefile").write_text(SNAKEFILE)
    (folder / "config").mkdir()
    (folder / "config" / "config.yaml").write_text(json.dumps({"seeds": seeds}))
    return folder


def raw_dir(folder: Path) -> Path:
    """The four downloaded files and their sidecars (contents do not matter to the stand-in workflow)."""
    folder.mkdir()
    for name in benchmark.RAW_NAMES:
        for ext in (".gz", ".json"):
            (folder / f"{name}{ext}").write_text("x")
    return folder


def test_extra_seeds_are_the_seeds_after_the_first() -> None:
    steps = {"train/overfit/seed-1": 30.0, "train/overfit/seed-3": 20.0, "train/overfit/seed-2": 25.0,
             "train/cnn/seed-1": 200.0, "train/overfit/seed-10": 5.0}  # fmt: skip
    assert benchmark.extra_seed_seconds(steps) == 50.0
    assert benchmark.extra_seed_seconds({"train/overfit/seed-4": 9.0}) == 0.0


def test_same_work_ratio_leaves_the_extra_seeds_out() -> None:
    ours = {"wall_s": 100.0, "overfit_extra_seeds_s": 20.0}
    baseline = {"wall_s": 200.0, "overfit_extra_seeds_s": 0.0}
    comparison = benchmark.pipeline_comparison(ours, baseline)
    assert comparison["ratio"] == 0.5 and comparison["same_work_ratio"] == 0.4
    assert (comparison["same_work_ours_s"], comparison["same_work_baseline_s"]) == (80.0, 200.0)


def test_same_work_measured_with_its_own_config_is_used_as_measured() -> None:
    ours = {"wall_s": 100.0, "overfit_extra_seeds_s": 60.0}
    comparison = benchmark.pipeline_comparison(ours, {"wall_s": 200.0, "overfit_extra_seeds_s": 0.0}, {"wall_s": 70.0})
    assert comparison["same_work_ours_s"] == 70.0 and comparison["same_work_ratio"] == 0.35
    assert comparison["extra_work_s"] == 30.0 and "measured" in comparison["same_work_method"]


def test_two_checkouts_side_by_side(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ours, baseline = checkout(tmp_path / "ours", [1, 2, 3]), checkout(tmp_path / "baseline", [1])
    out = tmp_path / "pipeline.json"
    benchmark.main(
        ["pipeline", "--raw-dir", str(raw_dir(tmp_path / "raw")), "--checkout", str(ours),
         "--config", str(ours / "config" / "config.yaml"), "--baseline", str(baseline), "--cores", "1",
         "--max-ratio", "100", "--output", str(out)]
    )  # fmt: skip
    result = json.loads(out.read_text())
    assert result["baseline"]["checkout"] == str(baseline) and result["ours"]["checkout"] == str(ours)
    assert sorted(result["ours"]["steps_s"]) == [
        "train/cnn/seed-1", "train/overfit/seed-1", "train/overfit/seed-2", "train/overfit/seed-3"
    ]  # fmt: skip
    extra = result["ours"]["steps_s"]["train/overfit/seed-2"] + result["ours"]["steps_s"]["train/overfit/seed-3"]
    assert result["ours"]["overfit_extra_seeds_s"] == pytest.approx(extra)
    assert result["baseline"]["overfit_extra_seeds_s"] == 0
    assert result["ours"]["cnn_test_accuracy"] == 0.93
    c = result["comparison"]
    assert c["same_work_ratio"] == pytest.approx(c["same_work_ours_s"] / c["same_work_baseline_s"])
    assert result["passed"] == {"time": True, "cnn_accuracy": True, "ratio": True}
    assert "ratio ours / baseline:" in capsys.readouterr().out
    # With a same-work config this checkout runs a second time, on one seed, and the ratio uses that run.
    same = tmp_path / "same.yaml"
    same.write_text(json.dumps({"seeds": [1]}))
    benchmark.main(
        ["pipeline", "--raw-dir", str(tmp_path / "raw"), "--checkout", str(ours),
         "--config", str(ours / "config" / "config.yaml"), "--baseline", str(baseline), "--cores", "1",
         "--max-ratio", "100", "--same-work-config", str(same), "--output", str(out)]
    )  # fmt: skip
    result = json.loads(out.read_text())
    assert sorted(result["ours_same_work"]["steps_s"]) == ["train/cnn/seed-1", "train/overfit/seed-1"]
    assert result["comparison"]["same_work_ours_s"] == result["ours_same_work"]["wall_s"]
    assert "measured with --same-work-config" in capsys.readouterr().out


def test_a_baseline_without_a_workflow_is_refused(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(PipelineError, match="no workflow/Snakefile there"):
        benchmark.main(["pipeline", "--raw-dir", str(raw_dir(tmp_path / "raw")), "--baseline", str(tmp_path / "empty")])
