"""The SLURM profile, and the workflow on a real one-node SLURM cluster (``tests/slurm/run_slurm_test.py``).

The fast tests check the profile (valid Snakemake options, every entry commented, site placeholders, the GPU
block), a dry run through it (what goes to the cluster, with which resources; a GPU for ``models.device:
cuda``), and the cluster test's own pieces on synthetic input. The test marked ``slurm`` runs the real cluster
test (root, about 5 minutes): ``make test-slurm`` or ``pytest -m slurm``.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from kit.cli import available_cpus
from kit.config import repository_schema, schema_defaults

ROOT = Path(__file__).resolve().parents[1]
PROFILE = ROOT / "workflow" / "profiles" / "slurm" / "config.yaml"
SCRIPT = ROOT / "tests" / "slurm" / "run_slurm_test.py"
SMALL_CONFIG = ROOT / ".test" / "config" / "config.yaml"

_spec = importlib.util.spec_from_file_location("run_slurm_test", SCRIPT)
assert _spec is not None and _spec.loader is not None
cluster_test = importlib.util.module_from_spec(_spec)
sys.modules["run_slurm_test"] = cluster_test
_spec.loader.exec_module(cluster_test)


# --------------------------------------------------------------------------------------------------------
# The profile
# --------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def snakemake_help() -> str:
    return subprocess.run(
        [sys.executable, "-m", "snakemake", "--help"], capture_output=True, text=True, check=True
    ).stdout


def test_profile_keys_are_options_of_the_installed_snakemake(snakemake_help: str) -> None:
    profile = yaml.safe_load(PROFILE.read_text())
    for key in profile:
        assert re.search(rf"--{re.escape(key)}\b", snakemake_help), f"{key}: not an option of this Snakemake"
    assert profile["executor"] == "slurm"
    assert profile["slurm-status-command"] == "squeue"  # works without slurmdbd
    assert profile["slurm-init-seconds-before-status-checks"] == 1
    site = profile["default-resources"]
    assert site["slurm_account"] == "your-account" and site["slurm_partition"] == "your-partition"
    # Training's threads are a model setting of the config, so that a cluster run gives a local run's bytes.
    assert "set-threads" not in profile


def test_every_profile_entry_is_commented() -> None:
    """Each setting (top-level or nested) has a comment line right above it."""
    lines = PROFILE.read_text().splitlines()
    for number, line in enumerate(lines):
        if line.strip() and not line.lstrip().startswith("#"):
            above = lines[number - 1].strip() if number else ""
            nested_under_commented_key = line.startswith(" ") and above.endswith(":") and not above.startswith("#")
            assert above.startswith("#") or nested_under_commented_key, f"line {number + 1} has no comment: {line}"


def test_gpu_block_uncomments_to_a_partition_for_train() -> None:
    text = cluster_test.uncomment_gpu_partition(PROFILE.read_text())
    profile = yaml.safe_load(text)
    assert profile["set-resources"] == {"train": {"slurm_partition": "your-gpu-partition"}}
    assert "set-resources" not in yaml.safe_load(PROFILE.read_text())  # commented out by default


def dry_run(tmp_path: Path, *args: str) -> str:
    """A dry run of the small config through the SLURM profile; returns Snakemake's output.

    ``--cores 64``: a dry run otherwise assumes one core, and every job's threads are capped at the cores.
    """
    (tmp_path / "config").mkdir(parents=True, exist_ok=True)
    (tmp_path / "config" / "config.yaml").write_text(SMALL_CONFIG.read_text())
    command = [sys.executable, "-m", "snakemake", "--snakefile", str(ROOT / "workflow" / "Snakefile"),
               "--directory", str(tmp_path), "--workflow-profile", str(PROFILE.parent), "--dry-run",
               "--cores", "64", *args]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result.stdout + result.stderr


def job_blocks(output: str, rule: str) -> list[str]:
    """The dry run's description blocks of every job of ``rule``."""
    return re.findall(rf"^rule {rule}:\n(?:    .*\n)+", output, flags=re.MULTILINE)


def local_rules() -> set[str]:
    """Every rule named in a ``localrules:`` list of the workflow's rule files (as snakefmt lays them out).

    Why read the files: a dry run does not say which jobs would stay local; the real cluster test does.
    """
    names: set[str] = set()
    for path in (ROOT / "workflow" / "rules").glob("*.smk"):
        for block in re.findall(r"^localrules:\n((?:    \w+,?\n)+)", path.read_text(), flags=re.MULTILINE):
            names.update(re.findall(r"\w+", block))
    return names


def test_light_rules_are_local_and_heavy_rules_are_not() -> None:
    local = local_rules()
    assert {"report_html", "report_pdf", "index", "provenance", "figure", "claims"} <= local
    assert not local & set(cluster_test.MUST_BE_CLUSTER)


def test_dry_run_gives_cluster_jobs_the_profile_s_account_partition_and_resources(tmp_path: Path) -> None:
    output = dry_run(tmp_path)
    train = job_blocks(output, "train")
    assert len(train) == 3, "the small config trains the CNN once and the overfit model on two seeds"
    defaults = schema_defaults(repository_schema())["models"]
    for block in train:
        # Each model's threads setting (the thread count is part of the recipe). A dry run plans on this machine,
        # so it shows the setting capped at this machine's cores, as a local run uses it; a cluster job asks
        # for the setting itself. (The dry run prints no threads line for one thread.)
        setting = defaults[re.search(r"wildcards: model=(\w+)", block).group(1)]["threads"]
        threads = min(setting, available_cpus())
        assert (f"threads: {threads}" in block) if threads > 1 else ("threads:" not in block), block
        resources = block.split("resources:")[1]
        for expected in ("slurm_account=your-account", "slurm_partition=your-partition", "mem_mb=2000"):
            assert expected in resources, block
        assert not re.search(r"\bgpu=[1-9]", resources), block
    for rule in ("prepare", "pca_fit", "split"):
        blocks = job_blocks(output, rule)
        assert blocks and all("slurm_account=your-account" in block for block in blocks), rule


def test_cuda_training_asks_for_a_gpu(tmp_path: Path) -> None:
    output = dry_run(tmp_path, "--config", 'models={"device": "cuda"}')
    train = job_blocks(output, "train")
    assert train and all(re.search(r"\bgpu=1\b", block) for block in train), train
    # Only training needs the GPU.
    for rule in ("prepare", "pca_fit", "split"):
        blocks = job_blocks(output, rule)
        assert blocks and not any(re.search(r"\bgpu=[1-9]", block) for block in blocks), rule


# --------------------------------------------------------------------------------------------------------
# The cluster test's pieces, on synthetic input
# --------------------------------------------------------------------------------------------------------

SLURMD_C = """NodeName=node7 CPUs=8 Boards=1 SocketsPerBoard=2 CoresPerSocket=4 ThreadsPerCore=1 RealMemory=32000
UpTime=3-01:02:03
"""


def test_node_is_read_from_slurmd_and_written_into_slurm_conf(tmp_path: Path) -> None:
    node = cluster_test.parse_slurmd_c(SLURMD_C)
    assert node == cluster_test.Node("node7", 8, "Boards=1 SocketsPerBoard=2 CoresPerSocket=4 ThreadsPerCore=1", 28800)
    conf = cluster_test.render_slurm_conf(node, tmp_path, tmp_path / "munge.socket", (7001, 7002))
    settings = dict(
        line.split("=", 1) for line in conf.splitlines() if "=" in line and not line.startswith(("#", "N", "P"))
    )
    assert settings["SlurmctldHost"] == "node7" and settings["SlurmctldPort"] == "7001"
    assert settings["AccountingStorageType"] == "accounting_storage/none"
    assert settings["JobCompLoc"] == str(tmp_path / "jobcomp.txt")
    assert settings["AuthInfo"] == f"socket={tmp_path / 'munge.socket'}"
    for key in ("StateSaveLocation", "SlurmdSpoolDir", "SlurmctldPidFile", "SlurmdLogFile"):
        assert settings[key].startswith(str(tmp_path)), key  # nothing written outside the test's folder
    assert "NodeName=node7 NodeAddr=127.0.0.1 CPUs=8 Boards=1 SocketsPerBoard=2" in conf
    assert "RealMemory=28800" in conf
    assert f"PartitionName={cluster_test.PARTITION} Nodes=node7 Default=YES" in conf
    assert f"PartitionName={cluster_test.GPU_PARTITION} Nodes=node7 Default=NO" in conf


def test_slurmd_output_without_a_node_line_is_an_error() -> None:
    with pytest.raises(cluster_test.CheckFailedError, match="no NodeName line"):
        cluster_test.parse_slurmd_c("slurmd: error: something\n")


SNAKEMAKE_LOG = """
rule puzzle:
    jobid: 5
localrule fig_pca_components:
    jobid: 9
rule train:
    jobid: 3
rule train:
    jobid: 4
rule prepare:
rule pca_fit:
rule split:
localrule all:
"""


def write_slurm_side(folder: Path, ids: dict[str, list[str]], states: dict[str, str]) -> tuple[Path, Path]:
    """The plugin's per-rule log folder and SLURM's job-completion log, as a real run leaves them."""
    logs = folder / "slurm_logs"
    for rule, job_ids in ids.items():
        for number, job_id in enumerate(job_ids):
            path = logs / f"rule_{rule}" / (f"w{number}" if len(job_ids) > 1 else "") / f"{job_id}.log"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text("log\n")
    jobcomp = folder / "jobcomp.txt"
    jobcomp.write_text(
        "".join(
            f"JobId={job_id} UserId=root(0) Name=abc JobState={state} Partition=debug \n"
            for job_id, state in states.items()
        )
    )
    return logs, jobcomp


IDS = {"puzzle": ["1"], "train": ["2", "3"], "prepare": ["4"], "pca_fit": ["5"], "split": ["6"]}


def test_cluster_jobs_pass_when_every_submitted_job_completed_in_slurm(tmp_path: Path) -> None:
    logs, jobcomp = write_slurm_side(tmp_path, IDS, {str(n): "COMPLETED" for n in range(1, 7)})
    summary = cluster_test.check_cluster_jobs(SNAKEMAKE_LOG, logs, jobcomp)
    assert summary["cluster_jobs"] == {"pca_fit": 1, "prepare": 1, "puzzle": 1, "split": 1, "train": 2}
    assert summary["local_jobs"] == {"all": 1, "fig_pca_components": 1}
    assert summary["slurm_job_ids"]["train"] == ["2", "3"]
    assert summary["slurm_completed"] == 6


@pytest.mark.parametrize(
    ("ids", "states", "message"),
    [
        (IDS, {**{str(n): "COMPLETED" for n in range(1, 7)}, "3": "FAILED"}, "SLURM job 3 is FAILED"),
        (IDS, {str(n): "COMPLETED" for n in range(1, 6)}, "job 6 is missing from the job-completion log"),
        (
            {**IDS, "train": ["2"]},
            {str(n): "COMPLETED" for n in range(1, 7)},
            "submitted 2 job(s), the plugin logged 1",
        ),
        (
            {**IDS, "fig_x": ["9"]},
            {str(n): "COMPLETED" for n in (*range(1, 7), 9)},
            "rules Snakemake did not submit: fig_x",
        ),
    ],
    ids=["failed-job", "not-in-jobcomp", "job-not-in-slurm", "unexpected-slurm-job"],
)
def test_cluster_jobs_fail_on_a_job_that_did_not_run_in_slurm(tmp_path: Path, ids, states, message) -> None:
    logs, jobcomp = write_slurm_side(tmp_path, ids, states)
    with pytest.raises(cluster_test.CheckFailedError, match=re.escape(message)):
        cluster_test.check_cluster_jobs(SNAKEMAKE_LOG, logs, jobcomp)


def test_a_heavy_rule_run_locally_or_a_light_rule_on_the_cluster_fails(tmp_path: Path) -> None:
    log = SNAKEMAKE_LOG.replace("rule pca_fit:", "localrule pca_fit:") + "rule report_pdf:\n"
    logs, jobcomp = write_slurm_side(tmp_path, {**IDS, "report_pdf": ["7"]}, {str(n): "COMPLETED" for n in range(1, 8)})
    with pytest.raises(cluster_test.CheckFailedError) as error:
        cluster_test.check_cluster_jobs(log, logs, jobcomp)
    assert "rule pca_fit did not go through SLURM" in str(error.value)
    assert "rule report_pdf went through SLURM" in str(error.value)


def test_results_compare_byte_for_byte_except_run_time_files(tmp_path: Path) -> None:
    for side, stamp in (("a", "1.0 s"), ("b", "2.5 s")):
        for name, text in {"pca/metrics.json": "{}", "reports/pca.html": stamp, "provenance/pca.json": stamp}.items():
            (tmp_path / side / name).parent.mkdir(parents=True, exist_ok=True)
            (tmp_path / side / name).write_text(text)
    (tmp_path / "b" / "reports" / "pca.html").write_text("1.0 s")  # pages carry no run times: compared
    same = cluster_test.compare_results(tmp_path / "a", tmp_path / "b")
    assert same["compared"] == ["pca/metrics.json", "reports/pca.html"] and not same["differing"]
    assert same["excluded"] == ["provenance/pca.json"]

    (tmp_path / "b" / "pca" / "metrics.json").write_text('{"x": 1}')
    (tmp_path / "b" / "pca" / "extra.npz").write_bytes(b"")
    different = cluster_test.compare_results(tmp_path / "a", tmp_path / "b")
    assert different["differing"] == ["pca/metrics.json"]
    assert different["only_cluster"] == ["pca/extra.npz"] and different["only_local"] == []


def test_a_difference_is_shown_as_a_diff_excerpt(tmp_path: Path) -> None:
    for side, text in (("a", "<h1>Explainers</h1>\n<p>same</p>\n"), ("b", "<h1>Explainers!</h1>\n<p>same</p>\n")):
        (tmp_path / side).mkdir()
        (tmp_path / side / "index.html").write_text(text)
        (tmp_path / side / "x.npz").write_bytes(b"\x80\x81" if side == "a" else b"\x80\x82")
    excerpt = cluster_test.difference_excerpts(tmp_path / "a", tmp_path / "b", ["index.html", "x.npz"])
    assert "-<h1>Explainers</h1>\n+<h1>Explainers!</h1>" in excerpt
    assert "x.npz: binary files differ" in excerpt and "same" not in excerpt


def test_site_profile_fills_in_the_test_cluster(tmp_path: Path) -> None:
    cpu = yaml.safe_load((cluster_test.site_profile(tmp_path / "cpu") / "config.yaml").read_text())
    assert cpu["default-resources"]["slurm_account"] == cluster_test.ACCOUNT
    assert cpu["default-resources"]["slurm_partition"] == cluster_test.PARTITION
    assert "set-resources" not in cpu and cpu["executor"] == "slurm"
    gpu = yaml.safe_load((cluster_test.site_profile(tmp_path / "gpu", gpu=True) / "config.yaml").read_text())
    assert gpu["set-resources"]["train"]["slurm_partition"] == cluster_test.GPU_PARTITION


def test_without_root_the_cluster_test_skips_with_the_reason(monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    assert cluster_test.main(["--summary", "/nonexistent/summary.json"]) == cluster_test.SKIPPED
    assert "SKIPPED: needs root" in capsys.readouterr().out


# --------------------------------------------------------------------------------------------------------
# The real cluster (root; about 5 minutes)
# --------------------------------------------------------------------------------------------------------


@pytest.mark.slurm
def test_workflow_on_a_one_node_slurm_cluster(tmp_path: Path) -> None:
    """Install and start SLURM, run the small config locally and through the profile, compare, stop SLURM."""
    summary_path = tmp_path / "summary.json"
    process = subprocess.Popen(
        [sys.executable, str(SCRIPT), "--summary", str(summary_path)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=ROOT,
    )  # fmt: skip
    lines = []
    assert process.stdout is not None
    for line in process.stdout:  # shown live with `pytest -s`, and in the report if the test fails
        print(line, end="")
        lines.append(line)
    process.wait()
    if process.returncode == cluster_test.SKIPPED:
        pytest.skip(lines[-1].strip() if lines else "skipped")
    assert process.returncode == 0, "".join(lines[-80:])

    summary = json.loads(summary_path.read_text())
    jobs = summary["jobs"]
    for rule in cluster_test.MUST_BE_CLUSTER:
        assert jobs["cluster_jobs"].get(rule, 0) >= 1, rule
    assert jobs["slurm_completed"] == sum(jobs["cluster_jobs"].values())
    assert jobs["local_jobs"].get("report_pdf", 0) >= 2 and jobs["local_jobs"].get("index") == 1
    comparison = summary["comparison"]
    assert not comparison["differing"] and not comparison["only_local"] and not comparison["only_cluster"]
    assert len(comparison["compared"]) >= 40
    assert any(name.startswith("models/") for name in comparison["compared"])  # trained weights byte-identical
    assert summary["gpu"]["gpus"] == "1" and summary["gpu"]["partition"] == cluster_test.GPU_PARTITION
    assert summary["left_running"] == []  # every daemon and job step it started has ended
