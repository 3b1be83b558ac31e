"""Export the data of the convolutions explainer's widgets, and the checks the browser test replays on them.

Three widgets, drawn by templates/widgets/convolutions.js:

- ``conv-slide-1d``: a kernel (the page's moving average or edge kernel) that steps along the page's 1D signal;
  the reader moves it and sees the window, the output cell it fills and that cell's value. The widget computes
  each value itself (the sum of the products); its checks are torch's own outputs (``arrays.npz``) at the first
  and last position, the largest response and a few between, formatted with ``value_text``.
- ``conv-slide-2d``: the same on the page's test image with the Sobel x and Sobel y kernels (no padding, so the
  output is two cells shorter on each axis); the checks are torch's outputs at the corners, the centre and the
  strongest responses.
- ``conv-shape``, the output-shape calculator, computes ``floor((n + 2p - d(k - 1) - 1) / s) + 1`` along each
  axis in the reader's browser. Its checks are the formula
cases the pipeline ran through torch (``compute.py``'s ``formula_check``: every 1D combination of the grid, and
seeded 2D and 3D samples), regenerated here from the grid and seed that ``metrics.json`` records, with the text
the calculator must show for each. The pipeline found torch's output size equal to the formula's in every case
(or torch refusing the call where the formula gives less than 1), so these are torch's own sizes; a metrics file
that records a mismatch is refused, since the calculator would then show a wrong size.

Usage::

    PYTHONPATH=scripts python scripts/convolutions/widgets.py --metrics results/convolutions/metrics.json \\
        --arrays results/convolutions/arrays.npz \\
        --output results/widgets/convolutions.js --checks results/widgets/convolutions.checks.json
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from convolutions.compute import Grid, grid_cases, output_size
from convolutions.convio import ARRAYS_HELP, read_arrays
from kit.cli import PipelineError, run_cli
from kit.figure import Input
from kit.formats import num
from kit.io import read_json
from kit.widgets import Export, check, encode_array, widgets_main

#: The calculator's range for each setting (the pipeline's grid lies inside it).
LIMITS = {"size": (1, 512), "kernel": (1, 64), "stride": (1, 64), "padding": (0, 64), "dilation": (1, 64)}
#: The settings of one axis, in the order of a formula case's values (n, k, s, p, d).
PARAMS = ("size", "kernel", "stride", "padding", "dilation")
#: The formula cases the browser test moves with the keyboard (the others it sets directly): by position in the
#: case list, chosen to cover 1D, 2D and 3D and a kernel that does not fit.
KEYBOARD_CASES = 4
MINUS = "\u2212"
#: The arrays the sliding-kernel widgets draw and check against (name -> number of dimensions).
SLIDE_ARRAYS = {
    "signal": 1,
    "kernel_smooth": 1,
    "kernel_edge": 1,
    "signal_smooth": 1,
    "signal_edge": 1,
    "image": 2,
    "sobel_x": 2,
    "sobel_y": 2,
    "sobel_x_output": 2,
    "sobel_y_output": 2,
}
#: Decimals of an output value the sliding widgets show.
VALUE_DIGITS = 3
#: The kernels of each sliding widget: (choice value, label, kernel array, torch's output array).
KERNELS_1D = (
    ("smooth", "moving average", "kernel_smooth", "signal_smooth"),
    ("edge", "edge", "kernel_edge", "signal_edge"),
)
KERNELS_2D = (("sobel-x", "Sobel x", "sobel_x", "sobel_x_output"), ("sobel-y", "Sobel y", "sobel_y", "sobel_y_output"))


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


def read_slide_arrays(path: str | os.PathLike[str]) -> dict[str, np.ndarray]:
    """The arrays of ``arrays.npz`` the sliding-kernel widgets use, checked."""
    return read_arrays(path, SLIDE_ARRAYS)


def value_text(value: float) -> str:
    """An output value as the sliding widgets show it: three decimals, a true minus, and no "-0.000"."""
    text = f"{float(value):.{VALUE_DIGITS}f}"
    if float(text) == 0:
        text = f"{0:.{VALUE_DIGITS}f}"
    return text.replace("-", MINUS)


def correlate_1d(signal: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """The valid cross-correlation, as torch's conv1d computes it (for the consistency check)."""
    return np.correlate(signal, kernel, "valid")


def check_outputs(arrays: Mapping[str, np.ndarray], path: str | os.PathLike[str] = "arrays.npz") -> None:
    """torch's outputs in ``arrays`` are the valid cross-correlations of the inputs the widgets get (so a widget
    that computes the same sums shows torch's values); a file where they are not is refused."""
    for _, _, kernel, output in KERNELS_1D:
        expected = correlate_1d(arrays["signal"], arrays[kernel])
        if expected.shape != arrays[output].shape or not np.allclose(expected, arrays[output], rtol=0, atol=1e-9):
            raise PipelineError(f"{path}: '{output}' is not the signal convolved with '{kernel}'; rerun the step")
    image = arrays["image"]
    for _, _, kernel, output in KERNELS_2D:
        w = arrays[kernel]
        k = w.shape[0]
        rows, cols = image.shape[0] - k + 1, image.shape[1] - k + 1
        expected = np.array(
            [[float((image[r : r + k, c : c + k] * w).sum()) for c in range(cols)] for r in range(rows)]
        )
        if expected.shape != arrays[output].shape or not np.allclose(expected, arrays[output], rtol=0, atol=1e-9):
            raise PipelineError(f"{path}: '{output}' is not the image convolved with '{kernel}'; rerun the step")


def positions_1d(values: np.ndarray) -> list[int]:
    """The output cells a 1D check visits (0-based): first, last, the largest response, quarter points."""
    n = len(values)
    chosen = [0, n - 1, int(np.argmax(values)), int(np.argmin(values)), n // 4, n // 2]
    return list(dict.fromkeys(chosen))


def positions_2d(values: np.ndarray) -> list[tuple[int, int]]:
    """The output cells a 2D check visits (0-based): corners, centre, the strongest positive and negative."""
    rows, cols = values.shape
    top = np.unravel_index(int(np.argmax(values)), values.shape)
    bottom = np.unravel_index(int(np.argmin(values)), values.shape)
    chosen = [(0, 0), (rows - 1, cols - 1), (rows // 2, cols // 2), (int(top[0]), int(top[1]))]
    chosen.append((int(bottom[0]), int(bottom[1])))
    return list(dict.fromkeys(chosen))


def window_text_1d(position: int, width: int) -> str:
    """Which samples the window covers for output cell ``position`` (1-based), as the widget shows it."""
    return f"samples {num(position)} to {num(position + width - 1)} → output cell {num(position)}"


def window_text_2d(row: int, col: int, size: int) -> str:
    """Which pixels the window covers for output cell (row, col) (1-based), as the widget shows it."""
    return (
        f"rows {num(row)} to {num(row + size - 1)}, columns {num(col)} to {num(col + size - 1)} → "
        f"output cell at row {num(row)}, column {num(col)}"
    )


def build_slides(arrays: Mapping[str, np.ndarray]) -> Export:
    """The data and checks of the two sliding-kernel widgets."""
    signal = arrays["signal"]
    one = {
        "signal": encode_array(signal, "float64"),
        "kernels": [
            {"value": value, "label": label, "weights": encode_array(arrays[kernel], "float64")}
            for value, label, kernel, _ in KERNELS_1D
        ],
        # Where Figure 1 outlines the window (a fifth of the way along), so the widget starts on the figure.
        "start": {"kernel": KERNELS_1D[0][0], "position": len(signal) // 5 + 1},
    }
    image = arrays["image"]
    first = arrays[KERNELS_2D[0][3]]
    top = np.unravel_index(int(np.argmax(np.abs(first))), first.shape)
    two = {
        "image": encode_array(image, "float64"),
        "kernels": [
            {"value": value, "label": label, "weights": encode_array(arrays[kernel], "float64")}
            for value, label, kernel, _ in KERNELS_2D
        ],
        # On the strongest response of the first kernel, so the widget opens on an outline, not on background.
        "start": {"kernel": KERNELS_2D[0][0], "row": int(top[0]) + 1, "column": int(top[1]) + 1},
    }
    checks = []
    for index, (value, label, kernel, output) in enumerate(KERNELS_1D):
        out = arrays[output]
        width = len(arrays[kernel])
        for j, position in enumerate(positions_1d(out)):
            checks.append(
                check(
                    "conv-slide-1d",
                    {"kernel": value, "position": position + 1},
                    {"value": value_text(out[position]), "window": window_text_1d(position + 1, width)},
                    keys=index == 0 and j == 2,
                    note=f"torch's {output}[{position}] ({label})",
                )
            )
    for index, (value, label, kernel, output) in enumerate(KERNELS_2D):
        out = arrays[output]
        size = arrays[kernel].shape[0]
        for j, (row, col) in enumerate(positions_2d(out)):
            checks.append(
                check(
                    "conv-slide-2d",
                    {"kernel": value, "row": row + 1, "column": col + 1},
                    {"value": value_text(out[row, col]), "window": window_text_2d(row + 1, col + 1, size)},
                    keys=index == 1 and j == 3,
                    note=f"torch's {output}[{row}, {col}] ({label})",
                )
            )
    return Export(widgets={"conv-slide-1d": one, "conv-slide-2d": two}, checks=checks)


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


def build(metrics: Mapping[str, Any], arrays: Mapping[str, np.ndarray] | None = None) -> Export:
    """All three widgets: the sliding kernels (when ``arrays`` is given) and the output-shape calculator."""
    calculator = build_calculator(metrics)
    if arrays is None:
        return calculator
    slides = build_slides(arrays)
    return Export(widgets={**slides.widgets, **calculator.widgets}, checks=slides.checks + calculator.checks)


def build_calculator(metrics: Mapping[str, Any]) -> Export:
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
    """Read metrics.json and arrays.npz, build the widgets' data and checks, write both files."""
    widgets_main(
        argv,
        __doc__,
        explainer="convolutions",
        inputs=[
            Input("metrics", "metrics JSON written by convolutions/compute.py", read_metrics),
            Input("arrays", ARRAYS_HELP, read_slide_arrays),
        ],
        check=lambda d, a: check_outputs(d["arrays"], a.arrays),
        build=lambda d, a: build(d["metrics"], d["arrays"]),
    )


if __name__ == "__main__":
    sys.exit(run_cli(main))
