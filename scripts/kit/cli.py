"""The command line every script shares: errors a user can act on, input files checked before any work.

A script's ``main(argv)`` parses its flags with ``ArgumentParser`` (whose errors are one line, like every
other error) and runs under ``run_cli``, which prints a ``PipelineError`` as one line and exits with status 1.
Input files are declared with ``type=input_file``: a missing path, a directory, an unreadable or an empty file
is refused before the script reads anything or writes any output.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NoReturn


class PipelineError(Exception):
    """An error the user can act on: its message names the file or setting and says what to do."""


class ArgumentParser(argparse.ArgumentParser):
    """argparse with one-line errors: a bad flag raises ``PipelineError`` instead of printing usage and exiting.

    Why: a script run by Snakemake or by hand should fail the same way for a bad flag as for a bad file, with one
    line that names the flag; ``--help`` still prints the full usage.
    """

    def error(self, message: str) -> NoReturn:
        """Turn argparse's complaint into a ``PipelineError`` (one line; see ``--help`` for the usage)."""
        raise PipelineError(f"{self.prog}: {message} (see --help)")


def input_file(text: str) -> Path:
    """An argparse type for input files: the path of an existing, readable, non-empty regular file.

    Why check here: a directory, an empty file left by a crash, or a mistyped path would otherwise surface as a
    traceback deep inside a reader, after outputs may have been started.
    """
    path = Path(text)
    if not path.exists():
        raise PipelineError(f"{text}: file not found; check the path or run the step that writes it first")
    if path.is_dir():
        raise PipelineError(f"{text}: is a directory, not a file; give the path of the file inside it")
    if not path.is_file():
        raise PipelineError(f"{text}: is not a regular file; give the path of a file")
    try:
        with open(path, "rb") as handle:
            first = handle.read(1)
    except OSError as exc:
        raise PipelineError(f"{text}: cannot be read ({exc.strerror}); check its permissions") from None
    if not first:
        raise PipelineError(f"{text}: is empty; delete it and rerun the step that writes it")
    return path


def cache_folder(text: str) -> Path:
    """An argparse type for a folder a script keeps files in between runs: absent (it is made when first
    written) or an existing directory. Why check here: a file in its place would fail as a traceback in the
    middle of the work, after the outputs were started. (argparse names the flag in the one-line error.)"""
    path = Path(text)
    if path.exists() and not path.is_dir():
        raise argparse.ArgumentTypeError(f"{text}: is not a folder; give a folder for the cache (made if absent)")
    return path


def is_input_flag(action: argparse.Action) -> bool:
    """Whether an argparse action takes input files (declared with ``type=input_file``); tests use this."""
    return action.type is input_file


def run_cli(main: Callable[[Sequence[str] | None], None], argv: Sequence[str] | None = None) -> int:
    """Run a script's ``main`` and turn a ``PipelineError`` into one clear line and exit status 1.

    Why: a user who hits bad input should read what to do, not a traceback; unexpected errors still
    raise with their traceback because they are bugs.
    """
    try:
        main(argv)
    except PipelineError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


def available_cpus() -> int:
    """The CPUs this process may run on (its affinity where the system reports one): the most threads a step
    can use. One definition for train.py's thread cap and the workflow's declared training threads."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
