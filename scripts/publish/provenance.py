"""Record how an explainer was made: data checksums, settings, package versions, git commit, step run times.

The explainer's appendix ("How this was made") is rendered from this file, so a reader can check that a
report came from the official data with the stated settings, and rerun it.

Usage (as the Snakemake rule calls it)::

    PYTHONPATH=scripts python scripts/publish/provenance.py --explainer pca \\
        --data-meta results/data/raw/train-images-idx3-ubyte.json ... \\
        --settings '{"pca": {"n_components": 4}}' \\
        --benchmark pca=benchmarks/pca.tsv --benchmark figures=benchmarks/figures.tsv \\
        --output results/provenance/pca.json
"""

from __future__ import annotations

import csv
import importlib.metadata
import json
import math
import platform
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from kit.cli import ArgumentParser, PipelineError, input_file, run_cli
from kit.io import read_json, write_json

#: Packages whose versions decide the numbers and the look of a report. Versions are read from the installed
#: distributions' metadata, so nothing heavy (torch above all) is imported to learn them.
PACKAGES: tuple[str, ...] = (
    "numpy",
    "scikit-learn",
    "scipy",
    "matplotlib",
    "jinja2",
    "weasyprint",
    "snakemake",
    "torch",
)

#: Keys every download sidecar must hold; the report shows all but ``gz_sha256``.
DATA_META_KEYS: tuple[str, ...] = ("file", "sha256", "bytes", "source")

#: The folder of this script: its git repository is the one whose commit the report names.
SCRIPT_DIR = Path(__file__).resolve().parent

#: Columns of a Snakemake benchmark file that the report uses (seconds of wall time, peak memory in MB).
BENCHMARK_COLUMNS: tuple[str, ...] = ("s", "max_rss")

#: Snakemake samples a job's memory periodically; a job that ends before the first full sample reports only its
#: shell's few MB (seen: 3 MB for a PCA fit that peaks at 456 MB). Every step here is a Python process above
#: this size, so smaller values are reported as not measured rather than as a false peak.
MIN_SAMPLED_RSS_MB = 10.0


def read_data_meta(path: str | Path) -> dict[str, Any]:
    """Keep the fields of one download sidecar that let a reader verify the data (name, checksum, origin)."""
    meta = read_json(path)
    if not isinstance(meta, dict):
        raise PipelineError(f"{path}: expected a JSON object written by dataset/download.py; rerun the download step")
    missing = [key for key in DATA_META_KEYS if key not in meta]
    if missing:
        raise PipelineError(
            f"{path}: download sidecar lacks {', '.join(missing)}; delete it and rerun the download step"
        )
    return {key: meta[key] for key in DATA_META_KEYS}


def read_settings(value: str) -> dict[str, Any]:
    """Read the settings as a JSON file path or an inline JSON object string (what Snakemake passes)."""
    path = Path(value)
    looks_inline = value.lstrip().startswith("{")
    if not looks_inline and path.exists():
        try:
            settings = read_json(input_file(value))  # a directory or an empty file is refused by name
        except PipelineError as exc:
            raise PipelineError(f"--settings: {exc}") from None
        origin = str(path)
    else:
        if not looks_inline:
            raise PipelineError(f"--settings {value!r}: neither a JSON file nor a JSON object string")
        try:
            settings = json.loads(value)
        except json.JSONDecodeError as exc:
            raise PipelineError(f"--settings: not valid JSON ({exc}); pass a JSON object") from None
        origin = "--settings"
    if not isinstance(settings, dict):
        raise PipelineError(f"{origin}: settings must be a JSON object, got {type(settings).__name__}")
    return settings


def _number(text: str) -> float | None:
    """Parse one benchmark cell; Snakemake writes ``-`` or ``NA`` where it could not measure."""
    text = text.strip()
    if text in {"", "-", "NA", "nan"}:
        return None
    value = float(text)
    return value if math.isfinite(value) else None


def read_benchmark(step: str, path: str | Path) -> dict[str, Any]:
    """Summarise a Snakemake benchmark TSV as one row: mean wall seconds and peak resident memory (MB).

    Why the mean and the maximum: with ``repeat(...)`` Snakemake writes one row per run; the typical time and
    the worst memory are what a reader planning a rerun needs.
    """
    try:
        with open(path, encoding="utf-8", newline="") as handle:
            rows = list(csv.DictReader(handle, delimiter="\t"))
    except FileNotFoundError:
        raise PipelineError(f"{path}: benchmark file of step {step!r} not found; run that step") from None
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise PipelineError(f"{path}: benchmark file for step {step!r} is unreadable ({exc})") from None
    if not rows:
        raise PipelineError(f"{path}: benchmark file for step {step!r} has no data row; rerun that step")
    header = rows[0].keys()
    missing = [column for column in BENCHMARK_COLUMNS if column not in header]
    if missing:
        raise PipelineError(
            f"{path}: not a Snakemake benchmark file (no column {', '.join(missing)}); "
            "expected a tab-separated header starting with 's\th:m:s\tmax_rss'"
        )
    try:
        seconds = [_number(row["s"] or "") for row in rows]
        rss = [_number(row["max_rss"] or "") for row in rows]
    except ValueError as exc:
        raise PipelineError(f"{path}: benchmark file for step {step!r} holds a non-number ({exc})") from None
    measured_seconds = [value for value in seconds if value is not None]
    measured_rss = [value for value in rss if value is not None and value >= MIN_SAMPLED_RSS_MB]
    if not measured_seconds:
        raise PipelineError(f"{path}: benchmark file for step {step!r} has no measured run time")
    return {
        "step": step,
        "seconds": round(sum(measured_seconds) / len(measured_seconds), 4),
        "max_rss_mb": round(max(measured_rss), 2) if measured_rss else None,
    }


def parse_step(value: str) -> tuple[str, str]:
    """Split a ``STEP=PATH`` flag value."""
    step, sep, path = value.partition("=")
    if not sep or not step or not path:
        raise PipelineError(f"--benchmark {value!r}: expected STEP=PATH, e.g. pca=benchmarks/pca.tsv")
    return step, path


def benchmark_pair(value: str) -> tuple[str, Path]:
    """A ``--benchmark STEP=PATH`` value with its file checked like every input file (``kit.cli.input_file``).

    Why not in argparse: the value is a pair, so the type cannot check it; a missing, empty or directory path
    is refused here, naming the step and the path, before anything is read.
    """
    step, path = parse_step(value)
    try:
        return step, input_file(path)
    except PipelineError as exc:
        raise PipelineError(f"--benchmark {step}: {exc}") from None


def package_versions(names: Sequence[str] = PACKAGES) -> dict[str, str | None]:
    """Installed versions of the packages that shape a report (``None`` where one is not installed)."""
    versions: dict[str, str | None] = {"python": platform.python_version()}
    for name in names:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def platform_summary() -> str:
    """A short description of the machine, e.g. ``Linux x86_64 (CPython)``; enough to explain float noise."""
    return f"{platform.system()} {platform.machine()} ({platform.python_implementation()})"


def git_commit(folder: str | Path = SCRIPT_DIR) -> str | None:
    """The commit checked out in the repository of ``folder``; ``None`` outside git or before a commit."""
    try:
        result = subprocess.run(
            ["git", "-C", str(folder), "rev-parse", "--verify", "--quiet", "HEAD"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    commit = result.stdout.strip()
    return commit if result.returncode == 0 and commit else None


def build_provenance(
    explainer: str,
    data_meta: Sequence[str | Path],
    settings: dict[str, Any],
    benchmarks: Sequence[tuple[str, str | Path]],
) -> dict[str, Any]:
    """Gather everything the appendix shows into one JSON-ready dictionary (steps in the order given)."""
    return {
        "explainer": explainer,
        "data": [read_data_meta(path) for path in data_meta],
        "settings": settings,
        "packages": package_versions(),
        "platform": platform_summary(),
        "git_commit": git_commit(),
        "steps": [read_benchmark(step, path) for step, path in benchmarks],
    }


def build_parser() -> ArgumentParser:
    """The command line: the explainer, its data sidecars, its settings (from the config), its benchmark files."""
    parser = ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--explainer", required=True, help="name of the explainer, e.g. pca")
    parser.add_argument(
        "--data-meta",
        nargs="+",
        type=input_file,
        default=None,
        metavar="JSON",
        help="download sidecar JSON files, one per file",
    )
    parser.add_argument(
        "--settings",
        required=True,
        help="the config values used (the explainer's config sections): a JSON object string or a JSON file path",
    )
    parser.add_argument(
        "--benchmark",
        action="append",
        default=None,
        metavar="STEP=PATH",
        help="a Snakemake benchmark TSV for one step (repeatable; kept in the order given)",
    )
    parser.add_argument("--output", required=True, type=Path, help="provenance JSON to write")
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    """Parse the flags, gather the provenance and write it as JSON."""
    args = build_parser().parse_args(argv)
    benchmarks = [benchmark_pair(value) for value in args.benchmark or []]
    provenance = build_provenance(
        explainer=args.explainer,
        data_meta=args.data_meta or [],
        settings=read_settings(args.settings),
        benchmarks=benchmarks,
    )
    write_json(args.output, provenance)


if __name__ == "__main__":
    sys.exit(run_cli(main))
