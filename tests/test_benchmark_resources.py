"""``tools/benchmark.py resources``: measured peak memory and run time per rule against the declared resources."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import run_script
from tools import benchmark as benchmark

HEADER = "s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time\n"

#: What Snakemake's dry run prints for three jobs (two of one rule), trimmed to the lines that matter.
DRY_RUN = """Building DAG of jobs...
[Tue Nov 24 17:12:27 2026]
rule train:
    input: results/data/fashion-mnist.npy
    output: results/models/cnn/seed-1/weights.npz
    jobid: 21
    benchmark: benchmarks/train/cnn/seed-1.tsv
    wildcards: model=cnn, seed=1
    threads: 4
    resources: tmpdir=/tmp, mem_mb=2000, mem=2 GB, mem_mib=1908, disk_mb=<TBD>, runtime=15, gpu=0
Shell command: PYTHONPATH=scripts python scripts/models/train.py --name cnn

rule train:
    jobid: 19
    benchmark: benchmarks/train/overfit/seed-1.tsv
    threads: 4
    resources: tmpdir=/tmp, mem_mb=2000, mem=2 GB, mem_mib=1908, runtime=15, gpu=0

localrule fig_pca_components:
    jobid: 12
    benchmark: benchmarks/fig_pca_components.tsv
    resources: tmpdir=/tmp, mem_mb=400, mem=400 MB, mem_mib=382, runtime=5

localrule index:
    jobid: 1
    resources: tmpdir=/tmp, mem_mb=300, runtime=5
"""


def write_tsv(path: Path, seconds: float, rss: float | str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(HEADER + f"{seconds}\t0:00:01\t{rss}\t1\t1\t1\t0\t0\t0\t1\n")


@pytest.fixture
def run_folder(tmp_path: Path) -> Path:
    """A run's benchmarks/: two trainings, one figure, and a file left from an older layout."""
    bench = tmp_path / "benchmarks"
    write_tsv(bench / "train" / "cnn" / "seed-1.tsv", 163.1, 1127.4)
    write_tsv(bench / "train" / "overfit" / "seed-1.tsv", 41.0, 612.0)
    write_tsv(bench / "fig_pca_components.tsv", 3.0, 85.2)
    write_tsv(bench / "train" / "cnn.tsv", 150.0, 5000.0)  # stale: not a job of the dry run
    (tmp_path / "dry-run.txt").write_text(DRY_RUN)
    return tmp_path


def test_dry_run_names_each_benchmark_file_s_rule_and_resources() -> None:
    jobs = benchmark.parse_dry_run(DRY_RUN)
    assert jobs == {
        "train/cnn/seed-1.tsv": {"rule": "train", "threads": 4, "mem_mb": 2000, "runtime": 15},
        "train/overfit/seed-1.tsv": {"rule": "train", "threads": 4, "mem_mb": 2000, "runtime": 15},
        "fig_pca_components.tsv": {
            "rule": "fig_pca_components", "threads": 1, "mem_mb": 400, "runtime": 5,
        },
    }  # fmt: skip


def test_one_row_per_rule_with_its_largest_job(run_folder: Path) -> None:
    result = benchmark.resource_rows(run_folder / "benchmarks", benchmark.parse_dry_run(DRY_RUN))
    rows = {row["rule"]: row for row in result["rules"]}
    assert set(rows) == {"train", "fig_pca_components"}
    train = rows["train"]
    assert train["jobs"] == 2 and train["peak_mb"] == 1127.4 and train["peak_step"] == "train/cnn/seed-1"
    assert train["wall_s"] == 163.1 and train["mem_mb"] == 2000 and train["runtime"] == 15 and not train["over"]
    assert result["stale"] == ["train/cnn"]  # the 5000 MB of an older layout does not count against train


def test_cli_prints_and_writes_the_table(run_folder: Path) -> None:
    out = run_folder / "out" / "resources.md"
    args = ["resources", "--workdir", run_folder, "--dry-run-log", run_folder / "dry-run.txt", "--output", out]
    result = run_script("tools/benchmark.py", *args)
    table = out.read_text()
    assert result.stdout == table
    lines = table.splitlines()
    assert lines[0].startswith("| rule | jobs | threads | peak memory (MB) | declared mem_mb |")
    assert "| train | 2 | 4 | 1127 | 2000 | 163.1 | 15 | yes |" in lines
    assert "| fig_pca_components | 1 | 1 | 85 | 400 | 3.0 | 5 | yes |" in lines
    assert "left from older runs): train/cnn." in table
    again = run_folder / "again.md"
    benchmark.main([str(a) for a in [*args[:-1], again]])
    assert again.read_bytes() == out.read_bytes()


def test_measured_values_only_without_a_dry_run(run_folder: Path) -> None:
    result = run_script("tools/benchmark.py", "resources", "--workdir", run_folder, "--no-declared")
    assert "| train | 3 | — | 5000 | — | 163.1 | — | — |" in result.stdout


def test_a_job_over_its_declared_memory_or_time_fails(run_folder: Path) -> None:
    write_tsv(run_folder / "benchmarks" / "train" / "cnn" / "seed-1.tsv", 1000.0, 2500.0)
    result = run_script("tools/benchmark.py", "resources", "--workdir", run_folder, "--dry-run-log",
                        run_folder / "dry-run.txt", check=False)  # fmt: skip
    assert result.returncode == 1
    assert "no: memory 2500 MB > mem_mb=2000; time 1000 s > runtime=15 min" in result.stdout
    assert "error: jobs used more than their rules declare" in result.stderr and "train:" in result.stderr


@pytest.mark.parametrize(
    ("setup", "flags", "message"),
    [
        ("empty", ["--no-declared"], "no benchmark files (*.tsv); run the workflow first"),
        ("bad-tsv", ["--no-declared"], "not a Snakemake benchmark file"),
        ("not-dry-run", ["--dry-run-log", "{folder}/notes.txt"], "listed no job with a benchmark file"),
        ("missing-log", ["--dry-run-log", "{folder}/nope.txt"], "nope.txt: file not found"),
        ("folder-log", ["--dry-run-log", "{folder}/benchmarks"], "benchmarks: is a directory"),
    ],
    ids=["no-benchmarks", "not-a-benchmark-file", "not-a-dry-run", "missing-dry-run-log", "dry-run-log-is-a-folder"],
)
def test_bad_input_gives_a_clear_error(tmp_path: Path, setup: str, flags: list[str], message: str) -> None:
    (tmp_path / "benchmarks").mkdir()
    if setup != "empty":
        write_tsv(tmp_path / "benchmarks" / "pca.tsv", 1.0, 500.0)
    if setup == "bad-tsv":
        (tmp_path / "benchmarks" / "pca.tsv").write_text("just text\n1\n")
    (tmp_path / "notes.txt").write_text("not snakemake output\n")
    flags = [flag.format(folder=tmp_path) for flag in flags]
    result = run_script("tools/benchmark.py", "resources", "--workdir", tmp_path, *flags, check=False)
    assert result.returncode != 0
    assert message in result.stderr, result.stderr
    assert "Traceback" not in result.stderr


def test_pipeline_run_is_compared_byte_for_byte_with_an_earlier_one(tmp_path: Path) -> None:
    """The pipeline benchmark reports which outputs of its fresh run match an earlier run, run records left out."""
    for side, page in (("fresh", "<p>same</p>"), ("earlier", "<p>same</p>")):
        (tmp_path / side / "reports").mkdir(parents=True)
        (tmp_path / side / "reports" / "pca.html").write_text(page)
        (tmp_path / side / "provenance").mkdir()
        (tmp_path / side / "provenance" / "pca.json").write_text(side)  # run times: not compared
    (tmp_path / "fresh" / "figures").mkdir()
    (tmp_path / "fresh" / "figures" / "a.svg").write_text("<svg/>")
    same = benchmark.compare_outputs(tmp_path / "fresh", tmp_path / "earlier")
    assert same["files"] == 1 and same["identical"] == 1 and same["differing"] == []
    assert same["only_fresh"] == ["figures/a.svg"]
    (tmp_path / "earlier" / "reports" / "pca.html").write_text("<p>other</p>")
    assert benchmark.compare_outputs(tmp_path / "fresh", tmp_path / "earlier")["differing"] == ["reports/pca.html"]
