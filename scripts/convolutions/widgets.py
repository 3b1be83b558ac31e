"""Export the data of the convolutions explainer's widgets, and the checks the browser test replays on them.

The output-shape calculator (widget ``conv-shape``, drawn by templates/widgets/convolutions.js) computes
``floor((n + 2p - d(k - 1) - 1) / s) + 1`` along each axis in the reader's browser. Its checks are the formula
cases the pipeline ran through torch (``compute.py``'s ``formula_check``: every 1D combination of the grid, and
seeded 2D and 3D samples), regenerated here from the grid and seed that ``metrics.json`` records, with the text
the calculator must show for each. The pipeline found torch's output size equal to the formula's in every case
(or torch refusing the call where the formula gives less than 1), so these are torch's own sizes; a metrics file
that records a mismatch is refused, since the calculator would then show a wrong size.

Usage::

    PYTHONPATH=scripts python scripts/convolutions/widgets.py --metrics results/convolutions/metrics.json \\
        --output results/widgets/convolutions.js --checks results/widgets/convolutions.checks.json
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from typing import Any

from convolutions.compute import Grid, grid_cases, output_size
from kit.cli import PipelineError, run_cli
from kit.figure import Input
from kit.formats import num
from kit.io import read_json
from kit.widgets import Export, check, widgets_main

#: The calculator's range for each setting (the pipeline's grid lies inside it).
LIMITS = {"size": (1, 512), "kernel": (1, 64), "stride": (1, 64), "padding": (0, 64), "dilation": (1, 64)}
#: The settings of one axis, in the order of a formula case's values (n, k, s, p, d).
PARAMS = ("size", "kernel", "stride", "padding", "dilation")
#: The formula cases the browser test moves with the keyboard (the others it sets directly): by position in the
#: case list, chosen to cover 1D, 2D and 3D and a kernel that does not fit.
KEYBOARD_CASES = 4
MINUS = "\u2212"


def read_metrics(path: str | os.PathLike[str]) -> dict[str, Any]:
    """``metrics.json`` of compute.py, checked for what the calculator needs: the formula check and its seed."""
    metrics = read_json(path)
    check_ = metrics.get("formula_check") if isinstance(metrics, dict) else None
    if not isinstance(check_, dict) or not {"grid", "cases", "matched", "by_dimension", "mismatches"} <= check_.keys():
        raise PipelineError(f"{path}: has no complete 'formula_check'; rerun the convolutions step")
    if not isinstance(metrics.get("settings"), dict) or "seed" not in metrics["settings"]:
        raise PipelineError(f"{path}: has no 'settings.seed' (the formula cases' seed); rerun the convolutions step")
    if check_["mismatches"] or check_["matched"] != check_["cases"]:
        raise PipelineError(
            f"{path}: the formula disagreed with torch in {check_['cases'] - check_['matched']} of {check_['cases']} "
            "cases; the calculator would show wrong sizes, so no widget data is written"
        )
    return metrics


def shape_text(positions: Sequence[int]) -> str:
    """The output's shape as the calculator shows it ("26 × 26"), or that there is none."""
    if any(value < 1 for value in positions):
        return "none: the kernel does not fit"
    return " × ".join(num(int(value)) for value in positions)


def integer(value: int) -> str:
    """A whole number with a true minus sign."""
    return MINUS + num(-value) if value < 0 else num(value)


def axis_text(n: int, k: int, s: int, p: int, d: int) -> str:
    """One axis's formula with its numbers put in and the result, as the calculator shows it."""
    out = output_size(n, k, s, p, d)
    result = integer(out) if out >= 1 else f"{integer(out)}: the kernel does not fit"
    return f"⌊({n} + 2·{p} {MINUS} {d}·({k} {MINUS} 1) {MINUS} 1) / {s}⌋ + 1 = {result}"


def checked_text(check_: Mapping[str, Any], torch_version: str) -> str:
    """The sentence under the calculator: how many cases the pipeline checked against torch."""
    by_dim = ", ".join(f"{key.upper()}: {num(v['cases'])}" for key, v in sorted(check_["by_dimension"].items()))
    return (
        f"The formula gave torch's own output size in {num(check_['matched'])} of {num(check_['cases'])} cases the "
        f"pipeline tried ({by_dim}), torch {torch_version}."
    )


def case_check(index: int, dims: int, axes: Sequence[Sequence[int]], keys: bool) -> dict:
    """The check of one formula case: its settings, and the shape and per-axis formulas the calculator shows."""
    values: dict[str, int] = {"dims": dims}
    expect: dict[str, str] = {}
    for axis, settings in enumerate(axes, start=1):
        values.update({f"{param}-{axis}": int(value) for param, value in zip(PARAMS, settings, strict=True)})
        expect[f"axis-{axis}"] = axis_text(*(int(v) for v in settings))
    expect["shape"] = shape_text([output_size(*(int(v) for v in settings)) for settings in axes])
    return check("conv-shape", values, expect, keys=keys, note=f"formula case {index + 1} ({dims}D)")


def keyboard_cases(cases: Sequence[tuple[int, Sequence[Sequence[int]]]]) -> set[int]:
    """Which cases the test sets with the keyboard: the first of each dimension, and the first that does not fit."""
    chosen: dict[str, int] = {}
    for index, (dims, axes) in enumerate(cases):
        chosen.setdefault(f"{dims}d", index)
        if any(output_size(*settings) < 1 for settings in axes):
            chosen.setdefault("no-fit", index)
    return set(list(chosen.values())[:KEYBOARD_CASES])


def build(metrics: Mapping[str, Any]) -> Export:
    """The calculator's data (limits, starting values, what was checked) and one check per formula case."""
    check_ = metrics["formula_check"]
    grid = Grid(**{key: tuple(value) if isinstance(value, list) else value for key, value in check_["grid"].items()})
    cases = grid_cases(grid, int(metrics["settings"]["seed"]))
    by_dim: dict[str, int] = {}
    for dims, _ in cases:
        by_dim[f"{dims}d"] = by_dim.get(f"{dims}d", 0) + 1
    if len(cases) != check_["cases"] or by_dim != {key: v["cases"] for key, v in check_["by_dimension"].items()}:
        raise PipelineError(
            f"the grid and seed in metrics.json give {len(cases)} formula cases, the file counts {check_['cases']}; "
            "rerun the convolutions step"
        )
    for name, values in zip(
        PARAMS, (grid.sizes, grid.kernels, grid.strides, grid.paddings, grid.dilations), strict=True
    ):
        low, high = LIMITS[name]
        if min(values) < low or max(values) > high:
            raise PipelineError(f"the formula grid's {name}s {values} leave the calculator's range {low} to {high}")
    thread = metrics.get("thread_cases", {}).get("multichannel", {})
    side, kernel = int(thread.get("side", 28)), int(thread.get("kernel", 3))
    start = {"dims": 2, "size": [side] * 3, "kernel": [kernel] * 3, "stride": [1] * 3, "padding": [0] * 3}
    start["dilation"] = [1] * 3
    torch_version = str(metrics.get("torch_version", "(version not recorded)"))
    widget = {
        "formula": check_.get("formula", "floor((n + 2p - d(k - 1) - 1) / s) + 1"),
        "limits": {name: list(bounds) for name, bounds in LIMITS.items()},
        "start": start,
        "checked": {
            "cases": check_["cases"],
            "matched": check_["matched"],
            "by_dimension": ", ".join(
                f"{key.upper()}: {num(v['cases'])}" for key, v in sorted(check_["by_dimension"].items())
            ),
            "torch": torch_version,
        },
    }
    first = {"dims": 2, **{f"{param}-{axis}": start[param][axis - 1] for param in PARAMS for axis in (1, 2, 3)}}
    checks = [
        check(
            "conv-shape",
            first,
            {
                "shape": shape_text([output_size(side, kernel)] * 2),
                "checked": checked_text(check_, torch_version),
            },
            note="the starting values: the thread's 28 x 28 image and 3 x 3 kernel",
        )
    ]
    keyed = keyboard_cases(cases)
    checks += [case_check(index, dims, axes, index in keyed) for index, (dims, axes) in enumerate(cases)]
    return Export(widgets={"conv-shape": widget}, checks=checks)


def main(argv: Sequence[str] | None = None) -> None:
    """Read metrics.json, build the calculator's data and checks, write both files."""
    widgets_main(
        argv,
        __doc__,
        explainer="convolutions",
        inputs=[Input("metrics", "metrics JSON written by convolutions/compute.py", read_metrics)],
        build=lambda d, a: build(d["metrics"]),
    )


if __name__ == "__main__":
    sys.exit(run_cli(main))
