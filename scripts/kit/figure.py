"""The frame every figure script shares: parse, read, check, style, describe, draw, publish.

A figure script declares its input files (``Input``: flag, help, reader), its options (``Option``), and three
functions: ``describe`` (title, alt text and the numbers the prose may quote, computed from the data), ``draw``
(the matplotlib figure) and optionally ``check``; ``figure_main`` does the rest in the same order for every
figure, writing the SVG and its JSON sidecar atomically. So the flags, the error handling and the file
conventions are written once, and a new figure is only its own data, words and drawing.

Phones: given ``--narrow PATH`` (the workflow always gives it), the frame calls ``draw`` a second time inside
``plotstyle.layout_width(NARROW_WIDTH_IN)`` and writes that drawing to PATH (``<name>.narrow.svg``); the page
serves it to screens too narrow for the desktop figure. ``new_figure(height)`` already takes the phone's width
then, so a single chart needs nothing. A draw function with panels side by side stacks them when
``plotstyle.is_narrow()`` (``fig.subplots(*panel_grid(2))``, a taller figure) and says so with ``narrow=True``.
By default (``narrow=None``) the frame keeps the phone drawing only when its panels form one column, none beside
another and none squeezed by a legend (``one_column``): side by side they would be illegible. Otherwise, and with
``narrow=False``, the narrow file is the desktop drawing, and the page lets a phone scroll the figure sideways at
its natural size instead of shrinking it. A kept phone drawing has no text under ``plotstyle.NARROW_MIN_TEXT_PT``
(7 pt, 9.3 CSS px at its natural width): the frame raises smaller text to it (``plotstyle.text_pt`` lets a draw
function choose its own phone size for numbers written in small cells).
"""

from __future__ import annotations

import argparse
import os
import shutil
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from matplotlib.figure import Figure

from kit.cli import ArgumentParser
from kit.io import atomic_path, write_json
from kit.plotstyle import NARROW_WIDTH_IN, apply_style, layout_width, raise_small_text, save_svg

# The step pieces every frame shares, without matplotlib (kit.widgets uses them too), re-exported here.
from kit.steps import Data, Input, Option, add_step_flags, plain, read_inputs


def write_sidecar(path: str | os.PathLike[str], *, title: str, alt: str, **numbers: Any) -> None:
    """Write a figure's JSON sidecar: its title, alt text describing the data, and numbers prose may quote."""
    write_json(path, {"title": title, "alt": alt, **plain(numbers)})


def figure_parser(description: str) -> argparse.ArgumentParser:
    """An argument parser that already has the ``--output``/``--meta`` flags every figure script takes."""
    parser = ArgumentParser(description=description)
    parser.add_argument("--output", type=Path, required=True, help="SVG file to write")
    parser.add_argument("--meta", type=Path, required=True, help="JSON sidecar to write (title, alt, numbers)")
    parser.add_argument(
        "--narrow",
        type=Path,
        default=None,
        help=f"also write the figure drawn {NARROW_WIDTH_IN} in wide for phones to this SVG (<name>.narrow.svg)",
    )
    return parser


#: The smallest width of a panel, as a share of the figure's, for a phone drawing to be kept: narrower, its
#: labels crowd (a legend beside the chart takes most of a phone's width).
ONE_COLUMN_SHARE = 0.35


def one_column(fig: Figure) -> bool:
    """Whether the panels of ``fig`` (visible axes with their axis lines, colour bars aside), once laid out, stand
    one above the other, none beside another, each at least ``ONE_COLUMN_SHARE`` of the figure wide."""
    fig.draw_without_rendering()
    boxes = [ax.get_position() for ax in fig.axes if ax.get_visible() and ax.axison and ax.get_label() != "<colorbar>"]
    for index, a in enumerate(boxes):
        for b in boxes[index + 1 :]:
            beside = a.x1 <= b.x0 or b.x1 <= a.x0
            level = a.y0 < b.y1 and b.y0 < a.y1
            if beside and level:
                return False
    return all(box.width >= ONE_COLUMN_SHARE for box in boxes)


def publish(fig: Figure, info: Mapping[str, Any], args: argparse.Namespace, narrow_fig: Figure | None = None) -> None:
    """Write the figure to ``args.output``, its sidecar (``info``: title, alt and numbers) to ``args.meta`` and,
    when ``--narrow`` is given, the phone drawing ``narrow_fig`` there (the desktop bytes if it is None)."""
    save_svg(fig, args.output)
    narrow_path = getattr(args, "narrow", None)
    if narrow_path is not None:
        if narrow_fig is not None:
            save_svg(narrow_fig, narrow_path)
        else:
            with atomic_path(narrow_path, suffix=".svg") as tmp:
                shutil.copyfile(args.output, tmp)
    write_sidecar(args.meta, **info)


def build_parser(doc: str, inputs: Sequence[Input], options: Sequence[Option] = ()) -> argparse.ArgumentParser:
    """The figure's parser: ``--output``/``--meta``, one flag per input file (checked on parsing), the options."""
    parser = figure_parser(doc.strip().split("\n\n")[0])
    add_step_flags(parser, inputs, options)
    return parser


def figure_main(
    argv: Sequence[str] | None,
    doc: str,
    inputs: Sequence[Input],
    describe: Callable[[Data, argparse.Namespace], dict[str, Any]],
    draw: Callable[[Data, dict[str, Any], argparse.Namespace], Figure],
    options: Sequence[Option] = (),
    check: Callable[[Data, argparse.Namespace], None] | None = None,
    narrow: bool | None = None,
) -> None:
    """Parse the flags, read every input, check, set the style, describe, draw and publish the SVG and sidecar.

    Why one function: every figure script differs only in what it reads and how it describes and draws it; the
    flags, the order of the steps and the error handling stay the same for all, and nothing is written unless
    every step before ``publish`` succeeded. With ``--narrow`` the figure is drawn twice, the second time at a
    phone's width: kept when ``narrow`` is True (the draw function lays itself out for a phone) or, when it is
    None, if its panels form one column (``one_column``); otherwise, and when ``narrow`` is False, the desktop
    drawing is written there.
    """
    args = build_parser(doc, inputs, options).parse_args(argv)
    data = read_inputs(inputs, args)
    if check is not None:
        check(data, args)
    apply_style()
    info = describe(data, args)
    fig = draw(data, info, args)
    narrow_fig = None
    if args.narrow is not None and narrow is not False:
        with layout_width(NARROW_WIDTH_IN):
            narrow_fig = draw(data, info, args)
            if narrow is None and not one_column(narrow_fig):
                narrow_fig.clear()
                narrow_fig = None
            else:
                raise_small_text(narrow_fig)  # a phone shows it at its natural width: no label under 9 CSS px
    publish(fig, info, args, narrow_fig)
