"""The pieces of a step that the figure frame (``kit.figure``) and the widget frame (``kit.widgets``) share: the
declaration of an input file and of a setting, and JSON-ready values.

Why a module of its own: ``kit.figure`` imports matplotlib, and the workflow imports ``kit.widgets`` at every
start (``snakemake -n`` included), which must not pay for a plotting library it never uses.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kit.cli import input_file


def plain(value: Any) -> Any:
    """Turn numpy scalars/arrays (and containers of them) into JSON-ready Python values."""
    if isinstance(value, Mapping):
        return {str(key): plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(item) for item in value]
    if hasattr(value, "tolist"):  # numpy arrays and scalars
        return plain(value.tolist())
    return value


@dataclass(frozen=True)
class Input:
    """One input file of a figure: its flag (``--name``), what it is, and the function that reads and checks it.

    ``many`` takes one or more files (one per seed, say) and reads each; the reader gets the path and returns
    what ``describe`` and ``draw`` use.
    """

    name: str
    help: str
    read: Callable[[Path], Any] = Path
    many: bool = False

    @property
    def flag(self) -> str:
        """The command-line flag, e.g. ``--history`` for ``history``."""
        return "--" + self.name.replace("_", "-")


@dataclass(frozen=True)
class Option:
    """One setting of a figure (a number, a label): required, because its value comes from the config's schema,
    the one place defaults live."""

    name: str
    type: Callable[[str], Any]
    help: str
    nargs: str | None = None
    choices: Sequence[Any] | None = None

    @property
    def flag(self) -> str:
        """The command-line flag, e.g. ``--n-components`` for ``n_components``."""
        return "--" + self.name.replace("_", "-")


#: What ``describe``, ``draw`` and ``check`` get: the inputs as read, by name, and the parsed flags.
Data = dict[str, Any]


def add_step_flags(parser: argparse.ArgumentParser, inputs: Sequence[Input], options: Sequence[Option]) -> None:
    """One required flag per input file (checked on parsing: missing, directory, empty) and per option, the same
    for a figure script and a widget data script."""
    for item in inputs:
        parser.add_argument(item.flag, type=input_file, required=True, nargs="+" if item.many else None, help=item.help)
    for option in options:
        parser.add_argument(
            option.flag, type=option.type, required=True, nargs=option.nargs, choices=option.choices, help=option.help
        )


def read_inputs(inputs: Sequence[Input], args: argparse.Namespace) -> Data:
    """Every input file read by its reader, by name (a list for a ``many`` input)."""
    data: Data = {}
    for item in inputs:
        value = getattr(args, item.name)
        data[item.name] = [item.read(path) for path in value] if item.many else item.read(value)
    return data
