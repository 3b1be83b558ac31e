"""The workflow on a real one-node SLURM cluster, started here, compared with a local run of the same config.

As root on a Debian machine this script:

1. installs Debian's ``slurm-wlm`` and ``munge`` if they are missing (services are not started by the install);
2. writes ``/etc/slurm/slurm.conf`` for this machine (its CPUs and memory from ``slurmd -C``; state, spool,
   logs, PID files and a munge key in a temporary folder; free ports) after backing up any existing file;
3. starts ``munged``, ``slurmctld`` and ``slurmd`` in the foreground as child processes and records their PIDs;
4. runs the small config (``.test/config/config.yaml``) twice into fresh folders: locally with
   ``--cores N``, then through the SLURM profile (``--workflow-profile`` pointing at a copy of
   ``workflow/profiles/slurm`` whose account and partition are this cluster's), with ``--max-threads N``, N
   being the node's CPU count, so that both runs train with the same number of threads;
5. checks that every job Snakemake did not run locally went through SLURM (the plugin's per-rule log folder
   and SLURM's job-completion log agree, every job ``COMPLETED``), that data preparation, PCA and training
   were among them, and that the light rules ran locally;
6. byte-compares every file under ``results/`` of the two runs, except the files that record run times
   (``EXCLUDED``);
7. checks that ``models.device: cuda`` makes the ``train`` job ask SLURM for a GPU on the profile's GPU
   partition (this node has no GPU, so SLURM refuses the job: the refused ``sbatch`` call is the evidence);
8. stops every daemon it started (SIGTERM by PID, then SIGKILL), restores ``slurm.conf`` and removes the
   temporary folders. The machine is left as found, except for the installed packages.

Exit status: 0 passed, 1 failed, 77 skipped (not root, no apt-get, no data, a SLURM already running ...);
the reason is printed. ``tests/test_slurm.py`` runs this script (``make test-slurm``).

Usage (as root, from the repository root)::

    .venv/bin/python tests/slurm/run_slurm_test.py --summary /tmp/slurm-summary.json
"""

from __future__ import annotations

import argparse
import contextlib
import difflib
import fnmatch
import hashlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
SNAKEFILE = ROOT / "workflow" / "Snakefile"
PROFILE = ROOT / "workflow" / "profiles" / "slurm" / "config.yaml"
SMALL_CONFIG = ROOT / ".test" / "config" / "config.yaml"
DEBIAN_DATA = Path("/usr/share/datasets/fashion-mnist")
SLURM_CONF = Path("/etc/slurm/slurm.conf")
POLICY_RC = Path("/usr/sbin/policy-rc.d")

SKIPPED = 77
PACKAGES = ("slurm-wlm", "munge")
PROGRAMS = ("munged", "mungekey", "slurmctld", "slurmd", "sbatch", "squeue", "sinfo", "scontrol", "scancel")

#: The test cluster's names; the profile copy gets them as its site settings.
CLUSTER = "snaketest"
PARTITION = "debug"
GPU_PARTITION = "gpu-test"
ACCOUNT = "root"

#: Rules whose jobs must go through SLURM (data preparation, PCA and training).
MUST_BE_CLUSTER = ("prepare", "pca_fit", "split", "train")
#: Rules whose jobs must run on the submitting machine (declared in ``localrules``).
MUST_BE_LOCAL_PREFIXES = ("download", "fig_", "report_", "provenance", "index", "booklet", "rulegraph")

#: Files under results/ left out of the byte comparison, and why: they record how long each step took (the
#: provenance JSON and the HTML/PDF appendix that quotes it), which differs between any two runs.
EXCLUDED = {
    # The pages print these numbers only with report.run_times (off by default), so pages and PDFs are compared.
    "provenance/*.json": "run time and peak memory of each step (from benchmarks/)",
}


class CannotRunError(Exception):
    """This machine cannot run the test; the message says why."""


class CheckFailedError(Exception):
    """The test ran and found a problem; the message says what."""


_START = time.monotonic()


def say(message: str) -> None:
    """Progress line with the seconds since start, so a slow step is visible in CI logs."""
    print(f"[slurm-test {time.monotonic() - _START:6.1f}s] {message}", flush=True)


# --------------------------------------------------------------------------------------------------------
# Preconditions and installation
# --------------------------------------------------------------------------------------------------------


def check_prerequisites() -> None:
    """Raise CannotRunError, naming the reason, where the test cannot run (no root, no apt-get, no data ...)."""
    if sys.platform != "linux":
        raise CannotRunError("needs Linux")
    if os.geteuid() != 0:
        raise CannotRunError(
            "needs root (it installs slurm-wlm and munge and starts daemons); try `sudo make test-slurm`"
        )
    missing = [name for name in PROGRAMS if shutil.which(name) is None]
    if missing and shutil.which("apt-get") is None:
        raise CannotRunError(f"SLURM programs missing ({', '.join(missing)}) and no apt-get to install them")
    if not (DEBIAN_DATA / "train-images-idx3-ubyte.gz").exists():
        raise CannotRunError(f"needs Debian's dataset-fashion-mnist ({DEBIAN_DATA}); `make test-slurm` installs it")
    running = running_programs(("slurmctld", "slurmd"))
    if running:
        raise CannotRunError(f"a SLURM daemon already runs here ({', '.join(running)}); the test would disturb it")


def process_ids(names: Sequence[str]) -> dict[int, str]:
    """PID -> program name of the processes now running whose program name is one of ``names`` (from /proc)."""
    found = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                comm = (entry / "comm").read_text().strip()
                if comm in names:
                    found[int(entry.name)] = comm
    return found


def running_programs(names: Sequence[str], ignore: Sequence[int] = ()) -> list[str]:
    """``"name (PID n)"`` of each running process named in ``names``, leaving out the PIDs in ``ignore``."""
    return sorted(f"{comm} (PID {pid})" for pid, comm in process_ids(names).items() if pid not in ignore)


def install_packages() -> None:
    """Install slurm-wlm and munge with apt-get unless their programs are present (idempotent).

    Why the policy-rc.d guard: the packages' install scripts would otherwise start munged and the SLURM
    services themselves, leaving daemons this test did not start; a policy-rc.d that answers 101 ("action
    not allowed") stops that, and is removed again if this script created it.
    """
    missing = [name for name in PROGRAMS if shutil.which(name) is None]
    if not missing:
        say(f"{' and '.join(PACKAGES)} already installed")
        return
    say(f"installing {' '.join(PACKAGES)} with apt-get (missing: {', '.join(missing)})")
    created_policy = not POLICY_RC.exists()
    if created_policy:
        POLICY_RC.write_text("#!/bin/sh\n# Written by tests/slurm/run_slurm_test.py for apt-get install.\nexit 101\n")
        POLICY_RC.chmod(0o755)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    try:
        for command in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", *PACKAGES]):
            result = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
            if result.returncode != 0:
                raise CannotRunError(f"`{' '.join(command)}` failed: {(result.stderr or result.stdout).strip()[-500:]}")
    finally:
        if created_policy:
            POLICY_RC.unlink(missing_ok=True)
    still_missing = [name for name in PROGRAMS if shutil.which(name) is None]
    if still_missing:
        raise CannotRunError(f"installed {' '.join(PACKAGES)} but {', '.join(still_missing)} is still missing")


# --------------------------------------------------------------------------------------------------------
# The cluster: slurm.conf, daemons
# --------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Node:
    """What slurm.conf says about this machine: its name, hardware layout and memory."""

    name: str
    cpus: int
    layout: str  # "Boards=1 SocketsPerBoard=1 CoresPerSocket=2 ThreadsPerCore=1", as slurmd -C reports it
    real_memory_mb: int


def parse_slurmd_c(text: str) -> Node:
    """Read the node line ``slurmd -C`` prints (the hardware slurmd will report when it registers).

    Why not nproc/free: slurmd drains a node whose configured CPUs or memory exceed what it detects, so the
    configuration is taken from slurmd itself. Memory is configured at 90 % of what it reports.
    """
    line = next((line for line in text.splitlines() if line.startswith("NodeName=")), None)
    if line is None:
        raise CheckFailedError(f"`slurmd -C` printed no NodeName line:\n{text}")
    fields = dict(part.split("=", 1) for part in line.split() if "=" in part)
    keys = ("Boards", "SocketsPerBoard", "CoresPerSocket", "ThreadsPerCore")
    layout = " ".join(f"{key}={fields[key]}" for key in keys if key in fields)
    return Node(
        name=fields["NodeName"],
        cpus=int(fields["CPUs"]),
        layout=layout,
        real_memory_mb=int(int(fields["RealMemory"]) * 0.9),
    )


def free_port() -> int:
    """A TCP port nothing listens on now (the kernel picks it), so a SLURM elsewhere on the host is untouched."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def render_slurm_conf(node: Node, state: Path, munge_socket: Path, ports: tuple[int, int]) -> str:
    """A one-node slurm.conf: no cgroups, no accounting database, a job-completion log the test can read.

    Why each choice: ``proctrack/linuxproc`` and ``task/none`` need no cgroup set-up (containers, VMs);
    without slurmdbd ``sacct`` has nothing to read, so ``jobcomp/filetxt`` records every finished job with
    its state; ``MinJobAge`` keeps finished jobs in ``squeue`` (the plugin's status command here) for 10
    minutes; every path lives in ``state`` so nothing outside it is written but this file; a GPU partition
    on the same node exists so that a GPU request reaches the scheduler, which refuses it (no GPU here).
    """
    return "\n".join(
        [
            "# One-node test cluster of tests/slurm/run_slurm_test.py; removed (or the old file put back) at its end.",
            f"ClusterName={CLUSTER}",
            f"SlurmctldHost={node.name}",
            f"SlurmctldPort={ports[0]}",
            f"SlurmdPort={ports[1]}",
            "SlurmUser=root",
            "SlurmdUser=root",
            "AuthType=auth/munge",
            "CredType=cred/munge",
            f"AuthInfo=socket={munge_socket}",
            f"StateSaveLocation={state / 'slurmctld'}",
            f"SlurmdSpoolDir={state / 'slurmd'}",
            f"SlurmctldPidFile={state / 'slurmctld.pid'}",
            f"SlurmdPidFile={state / 'slurmd.pid'}",
            f"SlurmctldLogFile={state / 'slurmctld.log'}",
            f"SlurmdLogFile={state / 'slurmd.log'}",
            "ProctrackType=proctrack/linuxproc",
            "TaskPlugin=task/none",
            "JobAcctGatherType=jobacct_gather/none",
            "AccountingStorageType=accounting_storage/none",
            "JobCompType=jobcomp/filetxt",
            f"JobCompLoc={state / 'jobcomp.txt'}",
            "SchedulerType=sched/builtin",
            "SelectType=select/cons_tres",
            "SelectTypeParameters=CR_Core_Memory",
            "MpiDefault=none",
            "SwitchType=switch/none",
            "ReturnToService=2",
            "MinJobAge=600",
            "KillWait=5",
            "InactiveLimit=0",
            f"NodeName={node.name} NodeAddr=127.0.0.1 CPUs={node.cpus} {node.layout} "
            f"RealMemory={node.real_memory_mb} State=UNKNOWN",
            f"PartitionName={PARTITION} Nodes={node.name} Default=YES MaxTime=INFINITE State=UP",
            f"PartitionName={GPU_PARTITION} Nodes={node.name} Default=NO MaxTime=INFINITE State=UP",
            "",
        ]
    )


@dataclass
class Cluster:
    """The daemons this test started (PIDs), the slurm.conf it replaced, and the folder holding their state."""

    state: Path
    node: Node
    daemons: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    old_conf: bytes | None = None
    conf_written: bool = False
    logs: list[IO[bytes]] = field(default_factory=list)
    #: slurmstepd processes that were running before this test started any daemon (not ours to end).
    foreign_steps: frozenset[int] = field(default_factory=lambda: frozenset(process_ids(["slurmstepd"])))

    @property
    def jobcomp(self) -> Path:
        """SLURM's job-completion log (one line per finished job)."""
        return self.state / "jobcomp.txt"


def start_daemon(cluster: Cluster, name: str, command: list[str], **popen: Any) -> None:
    """Start one daemon in the foreground as a child process, its output in ``state/<name>.out``."""
    log = (cluster.state / f"{name}.out").open("wb")
    cluster.logs.append(log)
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, **popen)
    cluster.daemons[name] = process
    say(f"started {name} (PID {process.pid})")
    time.sleep(0.5)
    if process.poll() is not None:
        details = daemon_output(cluster, name)
        raise CheckFailedError(f"{name} exited at once with status {process.returncode}:\n{details}")


def daemon_output(cluster: Cluster, name: str, tail: int = 3000) -> str:
    """The end of a daemon's output and log file, for error messages."""
    texts = []
    for path in (cluster.state / f"{name}.out", cluster.state / f"{name}.log"):
        if path.exists():
            texts.append(f"--- {path.name}\n{path.read_text(errors='replace')[-tail:]}")
    return "\n".join(texts)


def start_munge(cluster: Cluster) -> Path:
    """A munge daemon with its own key and socket in the state folder, running as the munge user."""
    folder = cluster.state / "munge"
    folder.mkdir()
    folder.chmod(0o755)  # munged requires others to be able to reach its socket
    key = folder / "munge.key"
    subprocess.run(["mungekey", "--create", f"--keyfile={key}"], check=True, capture_output=True)
    shutil.chown(folder, "munge", "munge")
    shutil.chown(key, "munge", "munge")
    key.chmod(0o600)
    sock = folder / "munge.socket"
    command = [
        "munged", "--foreground", f"--socket={sock}", f"--key-file={key}", f"--pid-file={folder / 'munged.pid'}",
        f"--log-file={folder / 'munged.log'}", f"--seed-file={folder / 'munged.seed'}",
    ]  # fmt: skip
    start_daemon(cluster, "munged", command, user="munge", group="munge", extra_groups=[])
    wait_for(lambda: sock.exists(), 20, "the munge socket", cluster, "munged")
    return sock


def write_slurm_conf(cluster: Cluster, text: str) -> None:
    """Install ``text`` as /etc/slurm/slurm.conf, keeping the old file's bytes to put back later.

    Why /etc/slurm: the plugin's job step (``srun`` inside the job) drops ``SLURM_CONF`` from its
    environment, so only the default location works.
    """
    if SLURM_CONF.exists():
        cluster.old_conf = SLURM_CONF.read_bytes()
        say(f"backed up the existing {SLURM_CONF}")
    SLURM_CONF.parent.mkdir(parents=True, exist_ok=True)
    cluster.conf_written = True
    SLURM_CONF.write_text(text)


def restore_slurm_conf(cluster: Cluster) -> None:
    """Put back the slurm.conf found at the start, or remove ours if there was none."""
    if not cluster.conf_written:
        return
    if cluster.old_conf is not None:
        SLURM_CONF.write_bytes(cluster.old_conf)
        say(f"restored the original {SLURM_CONF}")
    else:
        SLURM_CONF.unlink(missing_ok=True)
        say(f"removed {SLURM_CONF} (there was none)")
    cluster.conf_written = False


def wait_for(check: Any, seconds: float, what: str, cluster: Cluster, daemon: str | None = None) -> None:
    """Poll ``check()`` until it is true; fail after ``seconds`` with the daemon's log."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return
        if daemon and cluster.daemons[daemon].poll() is not None:
            raise CheckFailedError(f"{daemon} exited while waiting for {what}:\n{daemon_output(cluster, daemon)}")
        time.sleep(0.5)
    details = daemon_output(cluster, daemon) if daemon else ""
    raise CheckFailedError(f"timed out after {seconds:.0f} s waiting for {what}\n{details}")


def node_state() -> str:
    """The node's state as ``sinfo`` reports it ("idle", "mix", "down*" ...), or "" if slurmctld is not up."""
    command = ["sinfo", "--noheader", "--Node", "--format=%t"]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    return result.stdout.strip().splitlines()[0] if result.returncode == 0 and result.stdout.strip() else ""


def start_cluster(cluster: Cluster) -> None:
    """munged, slurm.conf, slurmctld, slurmd; then wait until the node is idle."""
    munge_socket = start_munge(cluster)
    for sub in ("slurmctld", "slurmd"):
        (cluster.state / sub).mkdir()
    conf = render_slurm_conf(cluster.node, cluster.state, munge_socket, (free_port(), free_port()))
    write_slurm_conf(cluster, conf)
    start_daemon(cluster, "slurmctld", ["slurmctld", "-D", "-c", "-i"])
    wait_for(lambda: node_state() != "", 30, "slurmctld to answer sinfo", cluster, "slurmctld")
    start_daemon(cluster, "slurmd", ["slurmd", "-D"])
    wait_for(lambda: node_state() == "idle", 60, "the node to become idle", cluster, "slurmd")
    say(f"cluster up: node {cluster.node.name} ({cluster.node.cpus} CPUs, {cluster.node.real_memory_mb} MB) idle")


def stop_cluster(cluster: Cluster) -> None:
    """Cancel leftover jobs, stop every daemon this test started (by PID), restore slurm.conf.

    Order: jobs first (their processes are children of slurmstepd, not of our daemons), then slurmd, slurmctld
    and munged. SIGTERM, up to 15 s, then SIGKILL.
    """
    if "slurmctld" in cluster.daemons and cluster.daemons["slurmctld"].poll() is None:
        kill_leftover_jobs(cluster)
    for name in ("slurmd", "slurmctld", "munged"):
        process = cluster.daemons.get(name)
        if process is None or process.poll() is not None:
            continue
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
            say(f"stopped {name} (PID {process.pid})")
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            say(f"killed {name} (PID {process.pid}): it ignored SIGTERM for 15 s")
    for log in cluster.logs:
        log.close()
    restore_slurm_conf(cluster)


def kill_leftover_jobs(cluster: Cluster) -> None:
    """scancel every job still queued or running; wait for the job steps to end; SIGKILL any that do not.

    Why: a job's processes belong to a slurmstepd that our slurmd started, not to the daemons themselves, so
    they would outlive them. After scancel, slurmstepd ends the job's processes (SIGTERM, then SIGKILL after
    ``KillWait``) and then exits; only then are the daemons stopped. A passing run leaves no job, but its last
    job steps may still be finishing.
    """

    def active() -> list[str]:
        queue = subprocess.run(["squeue", "--noheader", "--format=%i"], capture_output=True, text=True, check=False)
        return queue.stdout.split()

    jobs = active()
    if jobs:
        say(f"cancelling leftover SLURM jobs {', '.join(jobs)}")
        subprocess.run(["scancel", *jobs], check=False)
    deadline = time.monotonic() + 30
    while (active() or running_programs(["slurmstepd"], cluster.foreign_steps)) and time.monotonic() < deadline:
        time.sleep(0.5)
    for pid in set(process_ids(["slurmstepd"])) - cluster.foreign_steps:
        say(f"killing slurmstepd (PID {pid}): its job did not end within 30 s of scancel")
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


# --------------------------------------------------------------------------------------------------------
# Snakemake runs
# --------------------------------------------------------------------------------------------------------


def prepare_run(workdir: Path) -> None:
    """A fresh working folder holding the small config as config/config.yaml (as test_workflow.py does)."""
    (workdir / "config").mkdir(parents=True)
    shutil.copyfile(SMALL_CONFIG, workdir / "config" / "config.yaml")


def uncomment_gpu_partition(text: str) -> str:
    """The profile's text with its commented GPU-partition block (``# set-resources:`` ...) uncommented.

    Why: a user with a GPU partition uncomments those lines; the test does the same, so that the commented
    block is known to be valid YAML that sends ``train`` to the partition named there.
    """
    lines, inside = [], False
    for line in text.splitlines():
        if line.startswith("# set-resources:"):
            inside = True
        elif inside and not line.startswith("#   "):
            inside = False
        lines.append(line[2:] if inside else line)
    return "\n".join(lines) + "\n"


def site_profile(folder: Path, gpu: bool = False) -> Path:
    """A copy of the SLURM profile with this cluster's site settings, edited as a user edits it.

    The account and partition placeholders become this cluster's; with ``gpu`` the commented GPU-partition
    block is uncommented and names this cluster's GPU partition. Every other entry is the repository's. SLURM
    logs of successful jobs are kept, so that the test can count them per rule.
    """
    text = PROFILE.read_text()
    profile = yaml.safe_load(uncomment_gpu_partition(text) if gpu else text)
    resources = profile["default-resources"]
    resources["slurm_account"] = ACCOUNT
    resources["slurm_partition"] = PARTITION
    if gpu:
        train = profile["set-resources"]["train"]
        if train.get("slurm_partition") != "your-gpu-partition":
            raise CheckFailedError(f"the profile's commented GPU block does not set train's partition: {train}")
        train["slurm_partition"] = GPU_PARTITION
    profile["slurm-keep-successful-logs"] = True
    folder.mkdir(parents=True)
    (folder / "config.yaml").write_text(yaml.safe_dump(profile, sort_keys=False))
    return folder


def interrupt(process: subprocess.Popen[str]) -> None:
    """Stop Snakemake as a user would: SIGINT (it ignores SIGTERM while jobs run; on SIGINT the plugin scancels
    its jobs), then SIGKILL if it has not exited within 60 s."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def run_snakemake(
    workdir: Path, args: Sequence[str], timeout: float, label: str, echo: str | None = None, check: bool = True
) -> str:
    """Run Snakemake on the repository's workflow in ``workdir``; return its output (also in ``<label>.log``).

    Lines matching ``echo`` are printed as they come (progress). With ``check`` a non-zero exit fails the test.
    On timeout, or if this script is interrupted, Snakemake is interrupted too (``interrupt``).
    """
    command = [
        sys.executable, "-m", "snakemake", "--snakefile", str(SNAKEFILE), "--directory", str(workdir), *args,
    ]  # fmt: skip
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    say(f"{label}: {' '.join(command[2:])}")
    log_path = workdir.parent / f"{label}.log"
    lines: list[str] = []
    process = subprocess.Popen(
        command, cwd=workdir, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )

    def pump() -> None:
        assert process.stdout is not None
        with log_path.open("w") as log:
            for line in process.stdout:
                lines.append(line)
                log.write(line)
                if echo and re.search(echo, line):
                    say(f"  {line.strip()}")

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        say(f"{label}: timed out after {timeout:.0f} s; sending SIGINT")
        interrupt(process)
        reader.join(timeout=10)
        tail = "".join(lines[-40:])
        raise CheckFailedError(f"{label} timed out after {timeout:.0f} s; last output:\n{tail}") from None
    except KeyboardInterrupt:  # Ctrl-C reached Snakemake too: let it cancel its jobs before the cluster goes
        say(f"{label}: interrupted; waiting for Snakemake to cancel its jobs")
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=60)
        interrupt(process)
        raise
    except SystemExit:  # SIGTERM of this script: stop Snakemake before the cluster goes down
        say(f"{label}: terminated; stopping Snakemake")
        interrupt(process)
        raise
    reader.join(timeout=10)
    if check and process.returncode != 0:
        tail = "".join(lines[-60:])
        raise CheckFailedError(f"{label} failed (exit {process.returncode}); last output:\n{tail}")
    return "".join(lines)


# --------------------------------------------------------------------------------------------------------
# Checks
# --------------------------------------------------------------------------------------------------------


def snakemake_jobs(output: str) -> dict[str, Counter[str]]:
    """Jobs per rule from Snakemake's log of a run: ``{"local": Counter, "cluster": Counter}``.

    Snakemake announces a job it runs itself as ``localrule NAME:`` and a job it submits as ``rule NAME:``.
    The final ``all`` target is a local rule with no command.
    """
    jobs: dict[str, Counter[str]] = {"local": Counter(), "cluster": Counter()}
    for match in re.finditer(r"^(localrule|rule) (\w+):$", output, re.MULTILINE):
        jobs["local" if match.group(1) == "localrule" else "cluster"][match.group(2)] += 1
    return jobs


def parse_jobcomp(text: str) -> list[dict[str, str]]:
    """Records of SLURM's ``jobcomp/filetxt`` log: one ``KEY=VALUE ...`` line per finished job."""
    records = []
    for line in text.splitlines():
        if line.strip():
            records.append(dict(re.findall(r"(\w+)=(\S*)", line)))
    return records


def slurm_log_jobs(slurm_logs: Path) -> dict[str, list[str]]:
    """SLURM job IDs per rule, from the plugin's logs ``.snakemake/slurm_logs/rule_<rule>/[<wildcards>/]<id>.log``."""
    jobs: dict[str, list[str]] = {}
    for log in sorted(slurm_logs.glob("rule_*/**/*.log")):
        rule = log.relative_to(slurm_logs).parts[0].removeprefix("rule_")
        jobs.setdefault(rule, []).append(log.stem)
    return jobs


def check_cluster_jobs(output: str, slurm_logs: Path, jobcomp: Path) -> dict[str, Any]:
    """Every job Snakemake submitted ran as a SLURM job that completed; the right rules were local or remote."""
    jobs = snakemake_jobs(output)
    by_rule = slurm_log_jobs(slurm_logs)
    records = {record["JobId"]: record for record in parse_jobcomp(jobcomp.read_text() if jobcomp.exists() else "")}
    problems = []
    for rule, count in sorted(jobs["cluster"].items()):
        ids = by_rule.get(rule, [])
        if len(ids) != count:
            problems.append(f"rule {rule}: Snakemake submitted {count} job(s), the plugin logged {len(ids)}")
        for job_id in ids:
            state = records.get(job_id, {}).get("JobState")
            if state != "COMPLETED":
                problems.append(f"rule {rule}: SLURM job {job_id} is {state or 'missing from the job-completion log'}")
    for rule in MUST_BE_CLUSTER:
        if jobs["cluster"][rule] == 0:
            problems.append(f"rule {rule} did not go through SLURM (local: {jobs['local'][rule]} job(s))")
    for rule in jobs["cluster"]:
        if rule.startswith(MUST_BE_LOCAL_PREFIXES):
            problems.append(f"rule {rule} went through SLURM but is a light job that should run locally")
    extra = sorted(set(by_rule) - set(jobs["cluster"]))
    if extra:
        problems.append(f"SLURM logs of rules Snakemake did not submit: {', '.join(extra)}")
    if problems:
        raise CheckFailedError("jobs did not go through SLURM as expected:\n  " + "\n  ".join(problems))
    completed = [record for record in records.values() if record.get("JobState") == "COMPLETED"]
    return {
        "cluster_jobs": dict(sorted(jobs["cluster"].items())),
        "local_jobs": dict(sorted(jobs["local"].items())),
        "slurm_job_ids": dict(sorted(by_rule.items())),
        "slurm_completed": len(completed),
    }


def file_digest(path: Path) -> str:
    """SHA-256 of a file's bytes."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def compare_results(local: Path, cluster: Path, excluded: Sequence[str] = tuple(EXCLUDED)) -> dict[str, Any]:
    """Byte-compare two results/ folders; return the compared, excluded and differing relative paths."""
    local_files = {p.relative_to(local).as_posix() for p in local.rglob("*") if p.is_file()}
    cluster_files = {p.relative_to(cluster).as_posix() for p in cluster.rglob("*") if p.is_file()}
    report: dict[str, Any] = {
        "only_local": sorted(local_files - cluster_files),
        "only_cluster": sorted(cluster_files - local_files),
        "excluded": [],
        "compared": [],
        "differing": [],
    }
    for name in sorted(local_files & cluster_files):
        if any(fnmatch.fnmatch(name, pattern) for pattern in excluded):
            report["excluded"].append(name)
            continue
        report["compared"].append(name)
        if file_digest(local / name) != file_digest(cluster / name):
            report["differing"].append(name)
    return report


def difference_excerpts(local: Path, cluster: Path, names: Sequence[str], files: int = 3, lines: int = 12) -> str:
    """The first lines of a unified diff of the first few differing text files, to show what differs."""
    parts = []
    for name in names[:files]:
        try:
            before = (local / name).read_text().splitlines()
            after = (cluster / name).read_text().splitlines()
        except UnicodeDecodeError:
            parts.append(f"{name}: binary files differ")
            continue
        diff = list(difflib.unified_diff(before, after, f"local/{name}", f"slurm/{name}", n=0, lineterm=""))
        parts.append("\n".join(line[:200] for line in diff[: lines + 2]))
    return "\n".join(parts)


def check_gpu_request(workdir: Path, profile: Path, timeout: float) -> dict[str, Any]:
    """``models.device: cuda`` makes the train jobs ask SLURM for a GPU on the GPU partition.

    ``profile`` has the GPU-partition block uncommented, as a user with a GPU partition sets it. This node has
    no GPU, so ``sbatch`` refuses the job and Snakemake stops, printing the refused call: nothing runs.
    """
    args = ["--workflow-profile", str(profile), "--config", 'models={"device": "cuda"}', "--until", "train"]
    output = run_snakemake(workdir, args, timeout, "gpu-request", check=False)
    calls = [line.strip() for line in output.splitlines() if line.strip().startswith("sbatch ") and "--gpus" in line]
    train_calls = [call for call in calls if "rule_train" in call]
    if not train_calls:
        raise CheckFailedError(
            "with models.device: cuda the train job's sbatch call asked for no GPU (no --gpus); "
            f"Snakemake's output:\n{output[-3000:]}"
        )
    call = train_calls[0]
    if f"-p {GPU_PARTITION}" not in call:
        raise CheckFailedError(f"the GPU job was not sent to the GPU partition {GPU_PARTITION}: {call}")
    gpus = re.search(r"--gpus=(\S+)", call)
    refusal = re.search(r"SLURM sbatch failed\. The error message was '([^']*)'", output)
    return {
        "sbatch_call": call,
        "gpus": gpus.group(1) if gpus else None,
        "partition": GPU_PARTITION,
        "slurm_answer": refusal.group(1) if refusal else None,
    }


# --------------------------------------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------------------------------------


def stop_on_sigterm(signum: int, frame: Any) -> None:
    """Turn SIGTERM into SystemExit, so that the ``finally`` blocks stop the daemons and restore slurm.conf."""
    raise SystemExit(128 + signum)


def left_running(cluster: Cluster) -> list[str]:
    """Processes of this test still running: a daemon it started, or a job step its slurmd started."""
    alive = [f"{name} (PID {process.pid})" for name, process in cluster.daemons.items() if process.poll() is None]
    return alive + running_programs(["slurmstepd"], cluster.foreign_steps)


@contextlib.contextmanager
def cluster_running(state: Path) -> Iterator[Cluster]:
    """Start the one-node cluster; whatever happens, stop its daemons and restore slurm.conf afterwards."""
    slurmd_c = subprocess.run(["slurmd", "-C"], capture_output=True, text=True, check=False)
    state.mkdir()
    cluster = Cluster(state=state, node=parse_slurmd_c(slurmd_c.stdout))
    previous = signal.signal(signal.SIGTERM, stop_on_sigterm)  # SIGTERM too cleans up (Ctrl-C already does)
    try:
        start_cluster(cluster)
        yield cluster
    finally:
        stop_cluster(cluster)
        signal.signal(signal.SIGTERM, previous)


def run(args: argparse.Namespace) -> dict[str, Any]:
    """The whole test; returns the summary written with ``--summary``."""
    check_prerequisites()
    install_packages()
    base = Path(tempfile.mkdtemp(prefix="slurm-test-"))
    base.chmod(0o755)  # munged runs as the munge user and must reach its folder inside
    summary: dict[str, Any] = {"workdir": str(base)}
    try:
        with cluster_running(base / "state") as cluster:
            cpus = cluster.node.cpus
            summary["node"] = {"name": cluster.node.name, "cpus": cpus, "real_memory_mb": cluster.node.real_memory_mb}
            local, remote = base / "local", base / "slurm"
            for workdir in (local, remote):
                prepare_run(workdir)
            started = time.monotonic()
            run_snakemake(local, ["--cores", str(cpus)], args.timeout, "local-run", echo=r"^\d+ of \d+ steps")
            summary["local_seconds"] = round(time.monotonic() - started, 1)
            profile = site_profile(base / "profile")
            started = time.monotonic()
            output = run_snakemake(
                remote, ["--workflow-profile", str(profile), "--max-threads", str(cpus)], args.timeout, "slurm-run",
                echo=r"submitted with SLURM jobid|^\d+ of \d+ steps|Error|error:",
            )  # fmt: skip
            summary["slurm_seconds"] = round(time.monotonic() - started, 1)
            summary["jobs"] = check_cluster_jobs(output, remote / ".snakemake" / "slurm_logs", cluster.jobcomp)
            say(f"every submitted job ran through SLURM: {summary['jobs']['cluster_jobs']}")
            comparison = compare_results(local / "results", remote / "results")
            summary["comparison"] = {**comparison, "excluded_why": EXCLUDED}
            if comparison["differing"] or comparison["only_local"] or comparison["only_cluster"]:
                raise CheckFailedError(
                    "the SLURM run's outputs differ from the local run's: "
                    f"differing {comparison['differing']}, only local {comparison['only_local']}, "
                    f"only SLURM {comparison['only_cluster']}\n"
                    + difference_excerpts(local / "results", remote / "results", comparison["differing"])
                )
            say(f"{len(comparison['compared'])} files byte-identical; excluded (run times): {comparison['excluded']}")
            if not args.skip_gpu_check:
                gpu_profile = site_profile(base / "profile-gpu", gpu=True)
                summary["gpu"] = check_gpu_request(remote, gpu_profile, args.timeout)
                say(f"with models.device: cuda the train job asked SLURM for --gpus={summary['gpu']['gpus']}")
    finally:
        if args.keep:
            say(f"kept {base}")
        else:
            shutil.rmtree(base, ignore_errors=True)
    summary["left_running"] = left_running(cluster)
    if summary["left_running"]:
        raise CheckFailedError(f"processes left running after the test: {', '.join(summary['left_running'])}")
    return summary


def main(argv: Sequence[str] | None = None) -> int:
    """Parse flags, run the test, print the verdict; exit status 0 passed, 1 failed, 77 skipped."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--timeout", type=float, default=600, help="seconds allowed for each Snakemake run")
    parser.add_argument("--summary", type=Path, help="write the checks' results as JSON to this file")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folders (runs, logs, slurm state)")
    parser.add_argument("--skip-gpu-check", action="store_true", help="leave out the GPU request check")
    args = parser.parse_args(argv)
    # Ctrl-C must reach this script and Snakemake even when started from a shell that ignores SIGINT (a
    # background job): an ignored signal stays ignored in every child, a handled one is reset to the default.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        summary = run(args)
    except CannotRunError as reason:
        print(f"SKIPPED: {reason}", flush=True)
        return SKIPPED
    except CheckFailedError as problem:
        print(f"FAILED: {problem}", flush=True)
        return 1
    except Exception:  # an unexpected error is a failure too, with its traceback
        traceback.print_exc()
        print("FAILED: unexpected error (traceback above)", flush=True)
        return 1
    summary["seconds"] = round(time.monotonic() - _START, 1)
    if args.summary:
        args.summary.write_text(json.dumps(summary, indent=2, sort_keys=True) + "\n")
    say(f"PASSED in {summary['seconds']:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
