"""The frame every widget data script shares: parse, read, check, build, export (the widgets' ``figure_main``).

An explainer's interactive widgets compute in the reader's browser from numbers the pipeline exports. Its
declaration (``workflow/explainers/<name>.yaml``) names them under ``widgets:`` (script, inputs, settings, like a
figure), and the generic ``widgets`` rule runs ``scripts/<name>/widgets.py``, which calls ``widgets_main``:

    widgets_main(
        argv,
        __doc__,
        explainer="convolutions",
        inputs=[Input("metrics", "metrics JSON written by convolutions/compute.py", read_metrics)],
        build=lambda d, a: build(d["metrics"]),   # -> Export(widgets={name: data}, checks=[check(...), ...])
    )

It writes two files, atomically and with the same bytes on every run:

- ``results/widgets/<name>.js``: the data the page loads with ``<script src>`` (so it works from ``file://``, where a
  browser refuses ``fetch``): ``(window.WIDGET_DATA = window.WIDGET_DATA || {})["<name>"] = {...};``, one JSON
  object per widget, keyed by the widget's name (its ``data-widget`` hook). Arrays travel compactly as
  ``encode_array`` values (little-endian bytes in base64, float32 by default, or quantised to uint8/uint16), which
  ``Widgets.array`` in ``templates/widgets/core.js`` turns into typed arrays. At most ``MAX_DATA_BYTES``.
- ``results/widgets/<name>.checks.json``: what the browser test replays (``tests/site/``): each check sets a
  widget's controls to values the pipeline computed with, and lists the text the widget's outputs must show then,
  formatted with ``kit.formats`` (which ``Widgets.format`` reproduces digit for digit). A few checks are marked
  ``keys``: the test moves those controls with the keyboard. The page never loads this file.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from kit.cli import ArgumentParser, PipelineError
from kit.config import lookup
from kit.explainers import SCRIPTS, Step, expand, read_declaration
from kit.io import atomic_open, write_json
from kit.steps import Data, Input, Option, add_step_flags, plain, read_inputs

#: The page's data budget for one explainer's widgets (the issue's 3 MB); a larger export is refused.
MAX_DATA_BYTES = 3_000_000

#: The global the data files extend: ``window.WIDGET_DATA[<explainer>]``.
GLOBAL = "WIDGET_DATA"

#: Array element types a widget can decode (``Widgets.array``), each stored little-endian.
DTYPES = ("float64", "float32", "int32", "uint32", "int16", "uint16", "int8", "uint8")

#: A widget's name: its key in the data, its hook's ``data-widget`` and the checks' ``widget``.
WIDGET_NAME = re.compile(r"^[a-z][a-z0-9-]*$")

#: One data file: the comment line, then the assignment of the JSON object (what ``data_js`` writes).
DATA_FILE = re.compile(
    r'\A/\*[^\n]*\*/\n\(window\.WIDGET_DATA = window\.WIDGET_DATA \|\| \{\}\)\["([a-z0-9_]+)"\] = (\{.*\});\n\Z',
    re.DOTALL,
)


# --------------------------------------------------------------------------------------------------------
# Arrays
# --------------------------------------------------------------------------------------------------------


def encode_array(values: Any, dtype: str = "float32") -> dict[str, Any]:
    """An array as ``{"$array": dtype, "shape": [...], "b64": ...}``: its values converted to ``dtype``, little-endian,
    in C order, base64-encoded (a third more than the raw bytes, and about a fifth of the same numbers as JSON text).

    Integer types must hold the values exactly (a value out of range is refused, not wrapped).
    """
    if dtype not in DTYPES:
        raise PipelineError(f"encode_array: dtype {dtype!r} is not one of {', '.join(DTYPES)}")
    array = np.asarray(values)
    if array.dtype.kind not in "biuf":
        raise PipelineError(f"encode_array: expected numbers, got an array of {array.dtype}")
    target = np.dtype(dtype).newbyteorder("<")
    if target.kind in "iu":
        info = np.iinfo(target)
        if array.size and (not np.all(np.isfinite(array)) or array.min() < info.min or array.max() > info.max):
            raise PipelineError(f"encode_array: values outside {dtype}'s range {info.min} to {info.max}")
        if array.dtype.kind == "f" and not np.array_equal(array, np.round(array)):
            raise PipelineError(f"encode_array: {dtype} holds whole numbers only; round the values first")
    converted = np.ascontiguousarray(array, dtype=target)
    return {
        "$array": dtype,
        "shape": list(converted.shape),
        "b64": base64.b64encode(converted.tobytes()).decode("ascii"),
    }


def quantize(values: Any, bits: int = 8, lo: float | None = None, hi: float | None = None) -> dict[str, Any]:
    """An array of floats in ``bits`` (8 or 16) bits per value: ``round((v - lo) / (hi - lo) * (2**bits - 1))``,
    with ``range: [lo, hi]`` (default: the values' own), which ``Widgets.array`` turns back into floats. For
    pictures and curves that are drawn, not printed as numbers: the error is at most half a step of the range."""
    if bits not in (8, 16):
        raise PipelineError(f"quantize: bits must be 8 or 16, not {bits}")
    array = np.asarray(values, dtype=np.float64)
    if not np.all(np.isfinite(array)):
        raise PipelineError("quantize: the values must be finite")
    lo = float(array.min()) if lo is None else float(lo)
    hi = float(array.max()) if hi is None else float(hi)
    if not hi > lo:
        hi = lo + 1.0
    top = 2**bits - 1
    steps = np.round((np.clip(array, lo, hi) - lo) / (hi - lo) * top)
    encoded = encode_array(steps, "uint8" if bits == 8 else "uint16")
    return {**encoded, "range": [lo, hi]}


def decode_array(encoded: Mapping[str, Any]) -> np.ndarray:
    """The array an ``encode_array`` (or ``quantize``) value holds, as the browser decodes it."""
    dtype = encoded.get("$array")
    if dtype not in DTYPES:
        raise PipelineError(f"not an encoded array: {str(dict(encoded))[:80]}")
    raw = np.frombuffer(base64.b64decode(encoded["b64"]), dtype=np.dtype(dtype).newbyteorder("<"))
    array = raw.reshape(encoded["shape"])
    if "range" in encoded:
        lo, hi = encoded["range"]
        top = 255 if dtype == "uint8" else 65535
        # In float64, then rounded to float32, the way the browser computes it (Widgets.array).
        return (lo + (array.astype(np.float64) / top) * (hi - lo)).astype(np.float32)
    return array


# --------------------------------------------------------------------------------------------------------
# Checks and the two files
# --------------------------------------------------------------------------------------------------------


def check(
    widget: str, values: Mapping[str, Any], expect: Mapping[str, str], keys: bool = False, note: str = ""
) -> dict:
    """One check the browser test replays: set ``values`` (control name -> value, in this order: a control that
    shows or hides others comes first) on ``widget``, then each output named in ``expect`` must show exactly that
    text. ``keys``: move the controls with the keyboard, as a reader would (slower; mark a few per widget);
    ``note`` says which pipeline value the check is (for messages)."""
    if not values or not expect:
        raise PipelineError(f"check of {widget!r}: give at least one control value and one expected output")
    if not all(isinstance(text, str) for text in expect.values()):
        raise PipelineError(f"check of {widget!r}: expected outputs are the text shown, so strings")
    entry = {"widget": widget, "set": plain(dict(values)), "order": list(values), "expect": dict(expect)}
    if keys:
        entry["keys"] = True
    if note:
        entry["note"] = note
    return entry


@dataclass
class Export:
    """What a widget data script returns: each widget's data by name, and the checks of them."""

    widgets: dict[str, Any]
    checks: list[dict] = field(default_factory=list)


def _json(value: Any) -> str:
    """Compact, key-sorted, ASCII JSON that is also safe inside an HTML ``<script>`` (no ``</``)."""
    try:
        text = json.dumps(plain(value), sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False)
    except ValueError as exc:
        raise PipelineError(
            f"widget data holds a number JSON cannot carry ({exc}); use None for a missing one"
        ) from None
    return text.replace("</", "<\\/")


def data_js(explainer: str, widgets: Mapping[str, Any], source: str = "") -> str:
    """The data file's text: one comment line, then the assignment of the widgets' data to the global."""
    if not re.fullmatch(r"[a-z0-9_]+", explainer):
        raise PipelineError(f"explainer name {explainer!r}: lower-case letters, digits and _ only")
    made_by = f", written by {source}" if source else ""
    return (
        f"/* Widget data of the {explainer} explainer{made_by}; do not edit. */\n"
        f'(window.{GLOBAL} = window.{GLOBAL} || {{}})["{explainer}"] = {_json(widgets)};\n'
    )


def read_data(path: str | os.PathLike[str]) -> tuple[str, dict[str, Any]]:
    """The explainer and the widgets' data of a data file (as ``write_export`` wrote it), for tests and tools."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PipelineError(f"{path}: cannot be read ({exc})") from None
    match = DATA_FILE.match(text)
    if match is None:
        raise PipelineError(f"{path}: not a widget data file written by kit.widgets; rerun its widgets step")
    return match.group(1), json.loads(match.group(2))


def validate(export: Export) -> None:
    """Names are well-formed and every check names a widget that has data."""
    if not isinstance(export.widgets, Mapping) or not export.widgets:
        raise PipelineError("the widget data script exported no widget")
    for name in export.widgets:
        if not WIDGET_NAME.fullmatch(name):
            raise PipelineError(f"widget name {name!r}: lower-case letters, digits and '-', starting with a letter")
    for index, entry in enumerate(export.checks):
        if entry.get("widget") not in export.widgets:
            raise PipelineError(f"check {index} names widget {entry.get('widget')!r}, which has no data")


def write_export(
    output: str | os.PathLike[str], checks_path: str | os.PathLike[str], explainer: str, export: Export,
    source: str = "",
) -> int:  # fmt: skip
    """Write the data file and the checks file (both atomically); return the data file's size in bytes.

    The data is refused when it is larger than ``MAX_DATA_BYTES``, so no page exceeds its budget unnoticed.
    """
    validate(export)
    text = data_js(explainer, export.widgets, source)
    size = len(text.encode("utf-8"))
    if size > MAX_DATA_BYTES:
        raise PipelineError(
            f"the widget data of {explainer} is {size:,} bytes, over the page budget of {MAX_DATA_BYTES:,}; "
            "export fewer or smaller arrays (quantize, float32)"
        )
    payload = {"explainer": explainer, "data": Path(output).name, "checks": export.checks}
    write_json(checks_path, payload)
    with atomic_open(output, "w", encoding="utf-8", newline="\n") as handle:
        handle.write(text)
    return size


def widgets_parser(doc: str, inputs: Sequence[Input], options: Sequence[Option] = ()) -> argparse.ArgumentParser:
    """The parser of a widget data script: ``--output`` (the data .js), ``--checks`` (the checks JSON), one flag per
    input file (checked on parsing, as for a figure) and one per option."""
    parser = ArgumentParser(description=doc.strip().split("\n\n")[0])
    parser.add_argument("--output", type=Path, required=True, help="widget data file to write (.js)")
    parser.add_argument("--checks", type=Path, required=True, help="checks JSON to write (the browser test replays it)")
    add_step_flags(parser, inputs, options)
    return parser


def widgets_main(
    argv: Sequence[str] | None,
    doc: str,
    explainer: str,
    inputs: Sequence[Input],
    build: Callable[[Data, argparse.Namespace], Export],
    options: Sequence[Option] = (),
    check: Callable[[Data, argparse.Namespace], None] | None = None,
    source: str = "",
) -> None:
    """Parse the flags, read every input, check, build the export and write the data and checks files.

    Nothing is written unless every step succeeded; the same inputs give the same bytes.
    """
    args = widgets_parser(doc, inputs, options).parse_args(argv)
    if args.output.suffix != ".js":
        raise PipelineError(f"--output {args.output}: the widget data file must end in .js")
    data = read_inputs(inputs, args)
    if check is not None:
        check(data, args)
    export = build(data, args)
    size = write_export(args.output, args.checks, explainer, export, source or f"scripts/{explainer}/widgets.py")
    print(f"{explainer}: {len(export.widgets)} widget(s), {size:,} bytes of data, {len(export.checks)} checks")


# --------------------------------------------------------------------------------------------------------
# The declarations' ``widgets`` key
# --------------------------------------------------------------------------------------------------------


def widget_step(name: str, spec: Mapping[str, Any], config: Mapping[str, Any]) -> Step:
    """The widgets entry of explainer ``name``'s declaration, resolved for ``config`` like a figure step."""
    script = SCRIPTS / name / f"{spec.get('script', 'widgets')}.py"
    if not script.is_file():
        raise PipelineError(f"explainer {name!r} declares widgets, but their script {script} does not exist")
    inputs = {flag: expand(pattern, config) for flag, pattern in spec.get("inputs", {}).items()}
    return Step(
        explainer=name,
        name="widgets",
        script=script,
        inputs=inputs,
        settings={flag: lookup(config, key) for flag, key in spec.get("settings", {}).items()},
        args=dict(spec.get("args", {})),
        mem_mb=int(spec.get("mem_mb", 300)),
        config_keys=dict(spec.get("settings", {})),
        many=frozenset(flag for flag, pattern in spec.get("inputs", {}).items() if "_seeds}" in pattern),
    )


def load_widget_steps(folder: str | os.PathLike[str], config: Mapping[str, Any]) -> dict[str, Step]:
    """The widgets step of every explainer whose declaration in ``folder`` has a ``widgets`` key, by explainer."""
    steps: dict[str, Step] = {}
    for path in sorted(Path(folder).glob("*.yaml")):
        spec = read_declaration(path)
        if "widgets" in spec:
            name = path.name.removesuffix(".yaml")
            steps[name] = widget_step(name, spec["widgets"], config)
    return steps


def widget_data_file(explainer: str) -> str:
    """Where the widgets rule writes an explainer's data file (the page loads it)."""
    return f"results/widgets/{explainer}.js"


def widget_checks_file(explainer: str) -> str:
    """Where the widgets rule writes the checks of an explainer's widgets (the browser test replays them)."""
    return f"results/widgets/{explainer}.checks.json"
