"""Project conventions that CI enforces: ruff, snakefmt, Snakemake's linter, and the lock file in step."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def run(*command: str) -> subprocess.CompletedProcess[str]:
    """Run a tool from the project's environment in the repository root."""
    return subprocess.run([str(BIN / command[0]), *command[1:]], capture_output=True, text=True, cwd=ROOT)


def test_ruff_lint_is_clean() -> None:
    result = run("ruff", "check", "scripts", "tests")
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_format_is_clean() -> None:
    result = run("ruff", "format", "--check", "scripts", "tests")
    assert result.returncode == 0, result.stdout + result.stderr


def test_snakefmt_is_clean() -> None:
    result = run("snakefmt", "--check", "workflow")
    assert result.returncode == 0, result.stdout + result.stderr


def test_snakemake_lint_is_clean() -> None:
    result = run("snakemake", "--lint")
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "Lints for" not in output, output


def test_conda_requirements_match_the_lock_file(tmp_path: Path) -> None:
    """workflow/envs/requirements.txt is exported from uv.lock; a stale copy would install other versions."""
    exported = tmp_path / "requirements.txt"
    result = run(
        "uv", "export", "--frozen", "--no-dev", "--no-emit-project", "--format", "requirements-txt",
        "--quiet", "-o", str(exported),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    committed = (ROOT / "workflow" / "envs" / "requirements.txt").read_text().splitlines()
    # The header names the output path; compare the pinned requirements only.
    strip = [line for line in exported.read_text().splitlines() if not line.startswith("#")]
    assert [line for line in committed if not line.startswith("#")] == strip, "run `make lock`"
