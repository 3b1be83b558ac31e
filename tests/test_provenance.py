"""Tests for publish/provenance.py: what the "How this was made" appendix is built from."""

from __future__ import annotations

import importlib.metadata
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import SCRIPT_ENV, SCRIPTS, run_script
from kit.cli import PipelineError

HEADER = "s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time\n"


def benchmark(path: Path, *rows: str) -> Path:
    """A Snakemake benchmark TSV with the given data rows."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(HEADER + "".join(row + "\n" for row in rows), encoding="utf-8")
    return path


def data_meta(path: Path, name: str, sha: str) -> Path:
    """A download sidecar as dataset/download.py writes it."""
    meta = {"file": f"{name}.gz", "source": "/usr/share/datasets/fashion-mnist", "sha256": sha, "bytes": 60008}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({**meta, "gz_sha256": "f" * 64}), encoding="utf-8")
    return path


@pytest.fixture
def inputs(tmp_path: Path) -> dict:
    return {
        "meta": [
            data_meta(tmp_path / "raw" / "b.json", "train-labels-idx1-ubyte", "b" * 64),
            data_meta(tmp_path / "raw" / "a.json", "t10k-labels-idx1-ubyte", "a" * 64),
        ],
        "pca": benchmark(
            tmp_path / "bench" / "pca.tsv", "14.7312\t0:00:14\t1310.92\t2000\t1200\t1250\t10.1\t0.5\t98.2\t14.1"
        ),
        "prepare": benchmark(tmp_path / "bench" / "prepare.tsv", "2.5\t0:00:02\t-\t-\t-\t-\t-\t-\t-\t-"),
    }


def test_cli_writes_the_provenance(inputs, tmp_path) -> None:
    out = tmp_path / "provenance" / "pca.json"
    settings = {"pca": {"n_components": 4, "reconstruction_counts": [1, 4, 24]}, "report": {"page_size": "A4"}}
    run_script(
        "publish/provenance.py",
        "--explainer", "pca",
        "--data-meta", *inputs["meta"],
        "--settings", json.dumps(settings),
        "--benchmark", f"pca={inputs['pca']}",
        "--benchmark", f"prepare={inputs['prepare']}",
        "--output", out,
    )  # fmt: skip
    result = json.loads(out.read_text(encoding="utf-8"))
    assert result["explainer"] == "pca"
    assert result["settings"] == settings
    assert [item["file"] for item in result["data"]] == ["train-labels-idx1-ubyte.gz", "t10k-labels-idx1-ubyte.gz"]
    assert set(result["data"][0]) == {"file", "sha256", "bytes", "source"}, "gz_sha256 is not shown"
    assert result["data"][0]["sha256"] == "b" * 64
    assert result["steps"] == [
        {"step": "pca", "seconds": 14.7312, "max_rss_mb": 1310.92},
        {"step": "prepare", "seconds": 2.5, "max_rss_mb": None},
    ], "steps keep the order given; unmeasured memory is null"
    packages = result["packages"]
    for name in (
        "python",
        "numpy",
        "scikit-learn",
        "scipy",
        "matplotlib",
        "jinja2",
        "weasyprint",
        "snakemake",
        "torch",
    ):
        assert name in packages
    assert packages["numpy"] == importlib.metadata.version("numpy")
    assert packages["python"] == ".".join(map(str, sys.version_info[:3]))
    assert isinstance(result["platform"], str) and 0 < len(result["platform"]) < 80
    assert result["git_commit"] is None or len(result["git_commit"]) == 40


def test_same_inputs_give_the_same_bytes(inputs, tmp_path) -> None:
    from publish import provenance

    outputs = []
    for name in ("one.json", "two.json"):
        out = tmp_path / name
        provenance.main(
            ["--explainer", "pca", "--data-meta", *map(str, inputs["meta"]), "--settings", "{}", "--output", str(out)]
        )
        outputs.append(out.read_bytes())
    assert outputs[0] == outputs[1]


def test_versions_are_read_without_importing_torch() -> None:
    code = (
        "import sys; from publish import provenance; v = provenance.package_versions(); assert 'torch' in v; "
        "print('torch' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=SCRIPTS, check=True, env=SCRIPT_ENV
    )
    assert result.stdout.strip() == "False"


def test_benchmark_with_repeats_gives_mean_time_and_peak_memory(tmp_path) -> None:
    from publish import provenance

    path = benchmark(
        tmp_path / "b.tsv", "1.0\t0:00:01\t100\t-\t-\t-\t-\t-\t-\t-", "3.0\t0:00:03\t250.5\t-\t-\t-\t-\t-\t-\t-"
    )
    assert provenance.read_benchmark("fit", path) == {"step": "fit", "seconds": 2.0, "max_rss_mb": 250.5}


def test_memory_below_the_first_sample_is_not_reported(tmp_path: Path) -> None:
    """A job that ends before Snakemake samples it shows only its shell's few MB: not a peak to print."""
    from publish import provenance

    path = tmp_path / "quick.tsv"
    path.write_text(HEADER + "0.25\t0:00:00\t3.05\t4.26\t0.1\t0.1\t0\t0\t0\t0.1\n", encoding="utf-8")
    assert provenance.read_benchmark("quick", path)["max_rss_mb"] is None


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "no data row"),
        (HEADER, "no data row"),
        ("seconds\tmemory\n1.0\t2.0\n", "not a Snakemake benchmark file"),
        (HEADER + "fast\t0:00:01\t1\t-\t-\t-\t-\t-\t-\t-\n", "non-number"),
        (HEADER + "-\t-\t-\t-\t-\t-\t-\t-\t-\t-\n", "no measured run time"),
    ],
)
def test_bad_benchmark_files_are_named_in_the_error(tmp_path, content, message) -> None:
    from publish import provenance

    path = tmp_path / "bench" / "step.tsv"
    path.parent.mkdir()
    path.write_text(content, encoding="utf-8")
    with pytest.raises(PipelineError, match=message) as excinfo:
        provenance.read_benchmark("step", path)
    assert str(path) in str(excinfo.value)


def test_missing_or_binary_benchmark_fails_through_the_cli(tmp_path) -> None:
    missing = tmp_path / "nowhere.tsv"
    out = tmp_path / "p.json"
    result = run_script(
        "publish/provenance.py", "--explainer", "pca", "--settings", "{}", "--benchmark", f"pca={missing}",
        "--output", out, check=False,
    )  # fmt: skip
    assert result.returncode == 1 and str(missing) in result.stderr and "Traceback" not in result.stderr
    assert result.stderr.startswith(f"error: --benchmark pca: {missing}: file not found")
    assert not out.exists()

    binary = tmp_path / "binary.tsv"
    binary.write_bytes(b"\xff\xfe\x00\x81garbage")
    from publish import provenance

    with pytest.raises(PipelineError, match="unreadable"):
        provenance.read_benchmark("pca", binary)


@pytest.mark.parametrize("kind", ["directory", "empty file"])
def test_benchmark_or_data_meta_that_is_a_directory_or_empty_is_refused(inputs, tmp_path, kind) -> None:
    from publish import provenance

    bad = tmp_path / "bad.tsv"
    if kind == "directory":
        bad.mkdir()
    else:
        bad.write_text("", encoding="utf-8")
    what = "a directory" if kind == "directory" else "empty"
    out = tmp_path / "p.json"
    base = ["--explainer", "pca", "--settings", "{}", "--output", str(out)]
    with pytest.raises(PipelineError, match=f"^--benchmark pca: {bad}: is {what}"):
        provenance.main([*base, "--benchmark", f"pca={bad}"])
    with pytest.raises(PipelineError, match=f"^{bad}: is {what}"):
        provenance.main([*base, "--data-meta", str(inputs["meta"][0]), str(bad)])
    assert not out.exists()


def test_settings_have_no_default(inputs, tmp_path) -> None:
    """The workflow passes the explainer's config sections; without them the record would claim no settings."""
    from publish import provenance

    with pytest.raises(PipelineError, match="required: --settings"):
        provenance.main(["--explainer", "pca", "--output", str(tmp_path / "p.json")])
    with pytest.raises(PipelineError, match=r"--settings: .*: is a directory"):
        provenance.read_settings(str(tmp_path))


def test_benchmark_flag_needs_step_and_path() -> None:
    from publish import provenance

    assert provenance.parse_step("pca=benchmarks/pca.tsv") == ("pca", "benchmarks/pca.tsv")
    assert provenance.parse_step("download/x=b/x.tsv") == ("download/x", "b/x.tsv")
    for bad in ("pca", "=x.tsv", "pca="):
        with pytest.raises(PipelineError, match="STEP=PATH"):
            provenance.parse_step(bad)


def test_settings_from_inline_json_or_file(tmp_path) -> None:
    from publish import provenance

    assert provenance.read_settings('{"pca": {"n_components": 4}}') == {"pca": {"n_components": 4}}
    path = tmp_path / "settings.json"
    path.write_text('{"report": {"page_size": "Letter"}}', encoding="utf-8")
    assert provenance.read_settings(str(path)) == {"report": {"page_size": "Letter"}}
    with pytest.raises(PipelineError, match="JSON object"):
        provenance.read_settings("[1, 2]")
    with pytest.raises(PipelineError, match="not valid JSON"):
        provenance.read_settings("{pca: 4}")
    with pytest.raises(PipelineError, match="neither"):
        provenance.read_settings(str(tmp_path / "missing.json"))


def test_data_sidecar_without_checksum_is_refused(tmp_path) -> None:
    from publish import provenance

    path = tmp_path / "meta.json"
    path.write_text(json.dumps({"file": "x.gz", "source": "/data", "bytes": 1}), encoding="utf-8")
    with pytest.raises(PipelineError, match="sha256") as excinfo:
        provenance.read_data_meta(path)
    assert str(path) in str(excinfo.value)


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_git_commit_inside_and_outside_a_repository(tmp_path, monkeypatch) -> None:
    from publish import provenance

    outside = tmp_path / "plain"
    outside.mkdir()
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))  # no repository above tmp_path counts
    assert provenance.git_commit(outside) is None
    assert provenance.git_commit(tmp_path / "missing") is None

    repo = tmp_path / "repo"
    repo.mkdir()
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "init", "-q"], check=True)
    assert provenance.git_commit(repo) is None, "a repository without commits has no commit to name"
    subprocess.run([*git, "commit", "-q", "--allow-empty", "-m", "first"], check=True)
    head = subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()
    assert provenance.git_commit(repo) == head

    monkeypatch.setenv("PATH", str(tmp_path / "no-bin"))
    assert provenance.git_commit(repo) is None, "without git the commit is simply not recorded"
