"""The frame every figure script shares: parse, read, check, style, describe, draw, publish.

A figure script declares its input files (``Input``: flag, help, reader), its options (``Option``), and three
functions: ``describe`` (title, alt text and the numbers the prose may quote, computed from the data), ``draw``
(the matplotlib figure) and optionally ``check``; ``figure_main`` does the rest in the same order for every
figure, writing the SVG and its JSON sidecar atomically. So the flags, the error handling and the file
conventions are written once, and a new figure is only its own data, words and drawing.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from matplotlib.figure import Figure

from kit.cli import ArgumentParser, input_file
from kit.io import write_json
from kit.plotstyle import apply_style, save_svg


def plain(value: Any) -> Any:
    """Turn numpy scalars/arrays (and containers of them) into JSON-ready Python values."""
    if isinstance(value, Mapping):
        return {str(key): plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(item) for item in value]
    if hasattr(value, "tolist"):  # numpy arrays and scalars
        return plain(value.tolist())
    return value


def write_sidecar(path: str | os.PathLike[str], *, title: str, alt: str, **numbers: Any) -> None:
    """Write a figure's JSON sidecar: its title, alt text describing the data, and numbers prose may quote."""
    write_json(path, {"title": title, "alt": alt, **plain(numbers)})


def figure_parser(description: str) -> argparse.ArgumentParser:
    """An argument parser that already has the ``--output``/``--meta`` flags every figure script takes."""
    parser = ArgumentParser(description=description)
    parser.add_argument("--output", type=Path, required=True, help="SVG file to write")
    parser.add_argument("--meta", type=Path, required=True, help="JSON sidecar to write (title, alt, numbers)")
    return parser


def publish(fig: Figure, info: Mapping[str, Any], args: argparse.Namespace) -> None:
    """Write the figure to ``args.output`` and its sidecar (``info``: title, alt and numbers) to ``args.meta``."""
    save_svg(fig, args.output)
    write_sidecar(args.meta, **info)


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


def build_parser(doc: str, inputs: Sequence[Input], options: Sequence[Option] = ()) -> argparse.ArgumentParser:
    """The figure's parser: ``--output``/``--meta``, one flag per input file (checked on parsing), the options."""
    parser = figure_parser(doc.strip().split("\n\n")[0])
    for item in inputs:
        parser.add_argument(item.flag, type=input_file, required=True, nargs="+" if item.many else None, help=item.help)
    for option in options:
        parser.add_argument(
            option.flag, type=option.type, required=True, nargs=option.nargs, choices=option.choices, help=option.help
        )
    return parser


def figure_main(
    argv: Sequence[str] | None,
    doc: str,
    inputs: Sequence[Input],
    describe: Callable[[Data, argparse.Namespace], dict[str, Any]],
    draw: Callable[[Data, dict[str, Any], argparse.Namespace], Figure],
    options: Sequence[Option] = (),
    check: Callable[[Data, argparse.Namespace], None] | None = None,
) -> None:
    """Parse the flags, read every input, check, set the style, describe, draw and publish the SVG and sidecar.

    Why one function: every figure script differs only in what it reads and how it describes and draws it; the
    flags, the order of the steps and the error handling stay the same for all, and nothing is written unless
    every step before ``publish`` succeeded.
    """
    args = build_parser(doc, inputs, options).parse_args(argv)
    data: Data = {}
    for item in inputs:
        value = getattr(args, item.name)
        data[item.name] = [item.read(path) for path in value] if item.many else item.read(value)
    if check is not None:
        check(data, args)
    apply_style()
    info = describe(data, args)
    publish(draw(data, info, args), info, args)
