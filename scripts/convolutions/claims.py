"""Check the convolutions thread's statements against the shapes torch computed, one verdict per claim.

The thread (seed-threads.txt, "1D, 2D and 3D convolutions"; the rest from its public copy, summarised in
SOURCES.md) says that the number of a convolution is the number of directions its kernel moves in and the number
of dimensions of its output, and gives worked shapes: a 1D convolution over a 20 x 8 input with a width-3 kernel
(kernel 3 x 8, output 1D), a 2D convolution over a 28 x 28 x 6 input with a 3 x 3 kernel (kernel 3 x 3 x 6,
output 2D), and the condition that a 3D kernel must be shallower than its input. Every verdict is computed from
``metrics.json`` (written by convolutions/compute.py from the tensors torch returned) by the rule stated with it; one
claim the page adds (the output-size formula) is checked the same way.

Besides the verdicts it writes ``facts``: every sentence of the page that states an outcome of this run (which
output frames of the 3D example respond, whether smoothing helped, where the edge kernel answers, what the CNN's
second layer really sees, how close torch came to a sum or to NumPy), each chosen by ``kit.facts`` from the
numbers with the condition that held, so a run under other settings prints the sentence that is true for it.

Usage::

    PYTHONPATH=scripts python scripts/convolutions/claims.py --metrics results/convolutions/metrics.json \\
        --output results/convolutions/claims.json
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from kit.cli import ArgumentParser, PipelineError, input_file, run_cli
from kit.facts import choose, compare, state
from kit.formats import fixed, num, pct, plural, scientific, upper_bound
from kit.io import read_json, write_json

SUPPORTED, NOT_SUPPORTED = "supported", "not supported"

#: Where a claim comes from: quoted from the seed thread, summarised from its public copy, or added by the page.
THREAD, PUBLIC_COPY, ADDED = "thread", "thread, public copy", "added"

QUOTE_NUMBER = (
    "The Number associated with the Convolution signifies two things: The number of directions the filter moves "
    "in and, The dimensions of the output"
)
QUOTE_1D = (
    "In 1D-Conv, the kernel moves along a single axis. [...] The input could be a 1D array and a small 1D kernel "
    "can be applied over it to get another 1D array as output."
)
SUMMARY_1D_OVER_2D = (
    "A 1D convolution can run over a 2D input when the kernel spans the other axis: a 20x8 input with a width-3 "
    "kernel has a 3x8 kernel; the output is still 1D."
)
SUMMARY_2D = "2D: the kernel moves along x and y, e.g. over a grayscale image."
SUMMARY_MULTICHANNEL = (
    "On a multi-channel input the kernel takes the input's depth: a 28x28x6 input with a 3x3 kernel has a 3x3x6 "
    "kernel, and the output is still 2D."
)
SUMMARY_3D = "3D: the kernel moves along x, y and z (volumes such as CT scans, or video with time as the third axis)."
SUMMARY_DEPTH = "The kernel's depth must be smaller than the input's depth for the output to stay 3D."

#: The examples each claim reads (names written by compute.py).
ONE_D = ("signal_smooth", "signal_edge", "row_smooth", "row_edge")
TWO_D = ("sobel_x", "sobel_y", "learned")


def times(shape: Sequence[int]) -> str:
    """A shape as the page writes it: ``[3, 8]`` -> ``3 × 8``."""
    return " × ".join(str(v) for v in shape)


def verdict(ok: bool) -> str:
    """The verdict string for a test that passed or failed."""
    return SUPPORTED if ok else NOT_SUPPORTED


class Examples:
    """The shapes table of metrics.json by example name, with a clear error for a missing one."""

    def __init__(self, metrics: dict[str, Any], path: str | os.PathLike[str]) -> None:
        self.path = path
        rows = metrics.get("examples") if isinstance(metrics, dict) else None
        if not isinstance(rows, list) or not rows:
            raise PipelineError(f"{path}: has no 'examples' list; rerun the convolutions step")
        self.rows = {row["name"]: row for row in rows if isinstance(row, dict) and "name" in row}

    def __getitem__(self, name: str) -> dict[str, Any]:
        if name not in self.rows:
            raise PipelineError(f"{self.path}: has no example {name!r}; rerun the convolutions step")
        return self.rows[name]


def summary(row: dict[str, Any]) -> str:
    """One example in a ``measured`` sentence: torch's input, kernel and output shapes and the directions."""
    return (
        f"{row['label']}: input {times(row['input_shape'])}, kernel {times(row['kernel_shape'])}, output "
        f"{times(row['output_shape'])}, {row['directions']} direction{'s' if row['directions'] != 1 else ''}"
    )


def moves_like_its_number(row: dict[str, Any]) -> bool:
    """The thread's rule for one example: it moves in n directions and its output has n axes (n of convnd)."""
    return row["directions"] == row["dimension"] and row["output_spatial_axes"] == row["dimension"]


def claim_number_rule(ex: Examples) -> dict:
    """The number of an nD convolution is both the directions moved and the output's dimensions."""
    fitting = [row for row in ex.rows.values() if all(k < n for k, n in zip(*shapes(row), strict=True))]
    holding = [row["name"] for row in fitting if moves_like_its_number(row)]
    failing = [row["name"] for row in fitting if not moves_like_its_number(row)]
    return {
        "id": "number_rule",
        "claim": "The number of a convolution (1D, 2D, 3D) is the number of directions its kernel moves in and the "
        "number of dimensions of its output.",
        "source": THREAD,
        "quote": QUOTE_NUMBER,
        "rule": "Over every example whose kernel is smaller than its (padded) input along every axis it slides on: "
        "supported when each one's kernel has more than one position along exactly n axes and its output has n "
        "axes besides the batch and channel axes, n being the number of conv1d/conv2d/conv3d.",
        "measured": f"{len(holding)} of {len(fitting)} such examples follow it"
        + (f"; not: {', '.join(failing)}" if failing else ""),
        "verdict": verdict(bool(fitting) and not failing),
        "values": {"examples": len(fitting), "following": len(holding), "not_following": failing},
    }


def shapes(row: dict[str, Any]) -> tuple[list[int], list[int]]:
    """An example's kernel sizes and its padded input sizes along the axes the kernel slides on."""
    spatial = [n + 2 * row["padding"] for n in row["input_shape"][2:]]
    return row["kernel_shape"][2:], spatial


def claim_1d(ex: Examples) -> dict:
    """1D: the kernel moves along one axis and a 1D array in gives a 1D array out."""
    rows = [ex[name] for name in ONE_D]
    ok = all(
        row["directions"] == 1
        and row["output_spatial_axes"] == 1
        and row["out_channels"] == 1
        and row["in_channels"] == 1
        for row in rows
    )
    return {
        "id": "one_d",
        "claim": "A 1D kernel moves along a single axis; a 1D array in gives a 1D array out.",
        "source": THREAD,
        "quote": QUOTE_1D,
        "rule": "Supported when each of the four 1D examples (signal and image row, smoothing and edge kernels) has a "
        "one-channel input, moves along 1 axis and returns one channel with 1 axis.",
        "measured": "; ".join(summary(row) for row in rows),
        "verdict": verdict(ok),
        "values": {row["name"]: row["output_shape"] for row in rows},
    }


def claim_over_2d_kernel(ex: Examples, case: dict[str, int]) -> dict:
    """The thread's 20 x 8 input with a width-3 kernel: the kernel is 3 x 8."""
    row = ex["over_2d"]
    expected = [case["width"], case["features"]]
    return {
        "id": "over_2d_kernel",
        "claim": f"A 1D convolution over a {case['length']} × {case['features']} input with a width-{case['width']} "
        f"kernel has a {times(expected)} kernel.",
        "source": PUBLIC_COPY,
        "quote": SUMMARY_1D_OVER_2D,
        "rule": "Supported when the input is the thread's (time × features as channels) and the kernel torch used "
        "spans all features: width × input channels equals the thread's kernel.",
        "measured": f"input {times(row['input_extent'])}, kernel {times(row['kernel_extent'])} (torch weight "
        f"{times(row['kernel_shape'])}: output channels × input channels × width)",
        "verdict": verdict(
            row["input_extent"] == [case["length"], case["features"]] and row["kernel_extent"] == expected
        ),
        "values": {"input_extent": row["input_extent"], "kernel_extent": row["kernel_extent"]},
    }


def claim_over_2d_output(ex: Examples, case: dict[str, int]) -> dict:
    """The same case: the output is still 1D, of length 20 - 3 + 1 = 18."""
    row = ex["over_2d"]
    length = case["length"] - case["width"] + 1
    ok = row["output_extent"] == [length] and row["directions"] == 1
    return {
        "id": "over_2d_output",
        "claim": f"Its output is still 1D: {length} values, one per position along time.",
        "source": PUBLIC_COPY,
        "quote": SUMMARY_1D_OVER_2D,
        "rule": "Supported when the output is a single channel of one axis with "
        f"{case['length']} − {case['width']} + 1 values and the kernel moves in 1 direction.",
        "measured": summary(row),
        "verdict": verdict(ok),
        "values": {"output_shape": row["output_shape"], "directions": row["directions"]},
    }


def claim_2d(ex: Examples) -> dict:
    """2D: the kernel moves along x and y (Sobel kernels and the CNN's learned filters)."""
    rows = [ex[name] for name in TWO_D]
    return {
        "id": "two_d",
        "claim": "A 2D kernel moves along x and y over a grayscale image.",
        "source": PUBLIC_COPY,
        "quote": SUMMARY_2D,
        "rule": "Supported when the Sobel x, Sobel y and learned-filter examples on the test image each have more "
        "than one kernel position along both image axes (2 directions) and 2D outputs.",
        "measured": "; ".join(summary(row) for row in rows),
        "verdict": verdict(all(row["directions"] == 2 and row["output_spatial_axes"] == 2 for row in rows)),
        "values": {row["name"]: row["output_shape"] for row in rows},
    }


def claim_multichannel_kernel(ex: Examples, case: dict[str, int]) -> dict:
    """The 28 x 28 x 6 input with a 3 x 3 kernel: the kernel is 3 x 3 x 6."""
    row = ex["multichannel"]
    expected = [case["kernel"], case["kernel"], case["channels"]]
    ok = row["input_extent"] == [case["side"], case["side"], case["channels"]] and row["kernel_extent"] == expected
    return {
        "id": "multichannel_kernel",
        "claim": f"On a {case['side']} × {case['side']} × {case['channels']} input a {case['kernel']} × "
        f"{case['kernel']} kernel is {times(expected)}.",
        "source": PUBLIC_COPY,
        "quote": SUMMARY_MULTICHANNEL,
        "rule": "Supported when torch's weight for the thread's input has the kernel's two sides and one slice per "
        "input channel (height × width × input channels equals the thread's kernel).",
        "measured": f"input {times(row['input_extent'])}, kernel {times(row['kernel_extent'])} (torch weight "
        f"{times(row['kernel_shape'])}), {row['parameters']} weights",
        "verdict": verdict(ok),
        "values": {"kernel_extent": row["kernel_extent"], "parameters": row["parameters"]},
    }


def claim_multichannel_output(ex: Examples, case: dict[str, int]) -> dict:
    """The same case: the output is 2D, 26 x 26 without padding (28 x 28 with padding 1)."""
    row, padded = ex["multichannel"], ex["multichannel_padded"]
    side = case["side"] - case["kernel"] + 1
    ok = (
        row["output_extent"] == [side, side]
        and row["directions"] == 2
        and padded["output_extent"] == [case["side"], case["side"]]
    )
    return {
        "id": "multichannel_output",
        "claim": f"Its output is still 2D: {side} × {side} without padding ({case['side']} × {case['side']} with "
        "padding 1).",
        "source": PUBLIC_COPY,
        "quote": SUMMARY_MULTICHANNEL,
        "rule": f"Supported when, without padding, the output is one channel of {side} × {side} and the kernel moves "
        f"in 2 directions (never across the channels), and with padding 1 it is {case['side']} × {case['side']}.",
        "measured": f"{summary(row)}; with padding 1: output {times(padded['output_shape'])}",
        "verdict": verdict(ok),
        "values": {"output_shape": row["output_shape"], "padded_output_shape": padded["output_shape"]},
    }


def claim_3d(ex: Examples) -> dict:
    """3D: the kernel moves along x, y and z and the output is a volume."""
    row = ex["volume"]
    ok = row["directions"] == 3 and all(p > 1 for p in row["positions"])
    return {
        "id": "three_d",
        "claim": "A 3D kernel moves along x, y and z (here time), and the output is a volume.",
        "source": PUBLIC_COPY,
        "quote": SUMMARY_3D,
        "rule": "Supported when the 3D example's kernel has more than one position along all three axes, so the "
        "output has more than one frame, row and column.",
        "measured": summary(row),
        "verdict": verdict(ok),
        "values": {"output_shape": row["output_shape"], "directions": row["directions"]},
    }


def claim_depth(metrics: dict[str, Any], path: str | os.PathLike[str]) -> dict:
    """The kernel must be shallower than the input for a 3D output: equal depth leaves one frame, deeper fails."""
    cases = metrics.get("depth_condition", {}).get("cases")
    if not isinstance(cases, list) or len(cases) != 3:
        raise PipelineError(f"{path}: 'depth_condition.cases' must hold three cases; rerun the convolutions step")
    smaller, equal, larger = sorted(cases, key=lambda case: case["kernel_depth"])
    ok = (
        smaller["kernel_depth"] < smaller["input_depth"]
        and smaller["directions"] == 3
        and equal["kernel_depth"] == equal["input_depth"]
        and equal["output_shape"] is not None
        and equal["output_shape"][2] == 1
        and equal["directions"] == 2
        and larger["kernel_depth"] > larger["input_depth"]
        and larger["output_shape"] is None
    )
    depth = smaller["input_depth"]
    measured = (
        f"input depth {depth}: kernel depth {smaller['kernel_depth']} gives output {times(smaller['output_shape'])} "
        f"({smaller['directions']} directions); kernel depth {equal['kernel_depth']} gives "
        f"{times(equal['output_shape'])} ({equal['directions']} directions: one position along depth); kernel "
        f'depth {larger["kernel_depth"]}: torch refuses ("{larger["error"]}")'
    )
    return {
        "id": "depth_condition",
        "claim": "The kernel's depth must be smaller than the input's depth for the output to stay 3D.",
        "source": PUBLIC_COPY,
        "quote": SUMMARY_DEPTH,
        "rule": "Supported when a kernel shallower than the input gives an output with more than one frame (3 "
        "directions), a kernel exactly as deep gives one frame (it no longer moves along depth: 2 directions), and "
        "a deeper kernel is refused by torch.",
        "measured": measured,
        "verdict": verdict(ok),
        "values": {"cases": cases},
    }


def claim_formula(metrics: dict[str, Any], path: str | os.PathLike[str]) -> dict:
    """Added: torch's output size is floor((n + 2p - d(k - 1) - 1) / s) + 1 on every case of the grid."""
    check = metrics.get("formula_check")
    if not isinstance(check, dict) or not {"cases", "matched", "mismatches"} <= check.keys():
        raise PipelineError(f"{path}: has no 'formula_check' with cases and matched; rerun the convolutions step")
    by_dim = ", ".join(
        f"{key}: {v['matched']} of {v['cases']}" for key, v in sorted(check.get("by_dimension", {}).items())
    )
    return {
        "id": "formula",
        "claim": f"Along every axis, the output size is {check.get('formula', 'the formula')}.",
        "source": ADDED,
        "quote": None,
        "rule": "Supported when the formula gives torch's output size (or, where it gives less than 1, torch refuses "
        "the call) in every case of the grid of sizes, kernels, strides, paddings and dilations.",
        "measured": f"{check['matched']} of {check['cases']} cases match ({by_dim}); "
        f"{check.get('no_output_cases', 0)} of them are kernels that do not fit, refused by torch as the formula says",
        "verdict": verdict(check["cases"] > 0 and check["matched"] == check["cases"] and not check["mismatches"]),
        "values": {key: check[key] for key in ("cases", "matched") if key in check},
    }


# --------------------------------------------------------------------------------------------------------
# Facts: the page's sentences about this run's outcomes, each chosen from the numbers
# --------------------------------------------------------------------------------------------------------

#: The page's title when the thread's rule holds on every example.
TITLE = "1D, 2D and 3D convolutions: which way the kernel moves"

#: The edge output counts as "largest near the upward zero crossing" within this many degrees of phase 0.
PEAK_PHASE_DEG = 45

#: The first-layer maps count as "the network's own" when they differ from its forward pass by less than this
#: (the network runs in float32, this check in float64).
NETWORK_TOLERANCE = 1e-4


def shape_text(values: Sequence[int]) -> str:
    """A shape in the thread's notation: ``[14, 14, 32]`` -> ``14 × 14 × 32``."""
    return times(values)


def numbers(values: Sequence[int]) -> str:
    """Frame or filter numbers for a sentence: ``[1, 2, 3, 4]`` -> ``1 to 4``, ``[2, 5, 6]`` -> ``2, 5 and 6``."""
    values = list(values)
    if not values:
        return "none"
    if len(values) > 2 and values == list(range(values[0], values[-1] + 1)):
        return f"{values[0]} to {values[-1]}"
    if len(values) == 1:
        return str(values[0])
    return ", ".join(str(v) for v in values[:-1]) + f" and {values[-1]}"


def frames_word(values: Sequence[int]) -> str:
    """``frame 3`` or ``frames 1 to 4``."""
    return ("frame " if len(values) == 1 else "frames ") + numbers(values)


def floor_pct(share: float) -> str:
    """A share as a percentage rounded down to 0.1, so "at least X %" stays true."""
    return pct(math.floor(share * 1000 + 1e-9) / 1000)


def fact_headline(claims: dict[str, Any]) -> dict:
    """The page's title: the thread's rule, or, when an example breaks it, a title that says so."""
    rule = next(claim for claim in claims["claims"] if claim["id"] == "number_rule")
    failing = rule["values"]["not_following"]
    return compare(
        len(failing), "==", 0, TITLE,
        f"1D, 2D and 3D convolutions: the thread's rule, and {plural(len(failing), 'example')} where it does not hold",
        what="examples that do not follow the thread's rule",
    )  # fmt: skip


def fact_description(metrics: dict[str, Any], ex: Examples, claims: dict[str, Any]) -> dict:
    """The page's meta description and index card: what is convolved, the directions torch measured, the verdicts."""
    image, summary = metrics["image"], claims["summary"]
    one, two, three = ex["signal_smooth"], ex["sobel_x"], ex["volume"]
    text = (
        f"Convolutions computed by torch on a mains-like signal, Fashion-MNIST test image {image['index']} "
        f"({image['class'].lower()}), a trained CNN's {metrics['learned']['n_filters']} first-layer filters and a "
        f"video of {metrics['depth_condition']['frames']} frames: the 1D kernel moves in "
        f"{plural(one['directions'], 'direction')}, the 2D kernel in {two['directions']}, the 3D kernel in "
        f"{three['directions']}; {summary['supported']} of {summary['total']} claims supported."
    )
    return state(text, supported=summary["supported"], total=summary["total"])


def fact_claims_summary(claims: dict[str, Any]) -> dict:
    """How many claims the measurements support, and which not."""
    summary = claims["summary"]
    failing = [claim["id"] for claim in claims["claims"] if claim["verdict"] != SUPPORTED]
    return compare(
        summary["supported"], "==", summary["total"],
        f"All {summary['total']} claims are supported by the measurements.",
        f"{summary['supported']} of {summary['total']} claims are supported by the measurements; not supported: "
        f"{', '.join(failing)}.",
        what="claims supported vs checked", failing=failing,
    )  # fmt: skip


def fact_thread_claims(claims: dict[str, Any]) -> dict:
    """The thread's own statements (not the page's addition) that hold under torch."""
    own = [claim for claim in claims["claims"] if claim["source"] != ADDED]
    held = sum(claim["verdict"] == SUPPORTED for claim in own)
    return compare(
        held, "==", len(own),
        f"All {len(own)} of its statements checked here hold under torch.",
        f"{held} of its {len(own)} statements checked here hold under torch.",
        what="thread statements supported vs checked",
    )  # fmt: skip


def fact_formula(check: dict[str, Any]) -> dict:
    """The output-size formula against torch over the grid."""
    return compare(
        check["matched"], "==", check["cases"],
        f"The formula gives torch's size in all {num(check['cases'])} cases checked.",
        f"The formula gives torch's size in {num(check['matched'])} of {num(check['cases'])} cases checked; the "
        "others are listed in metrics.json under formula_check.mismatches.",
        what="cases matched vs checked",
    )  # fmt: skip


def fact_cross_correlation(check: dict[str, Any]) -> dict:
    """torch's conv1d against NumPy's correlate (no flip) and convolve (flip) on the signal."""
    same, flipped = check["max_abs_difference_from_numpy_correlate"], check["max_abs_difference_from_numpy_convolve"]
    first = (
        "On the signal, torch's edge output equals NumPy's correlate exactly"
        if same == 0
        else f"On the signal, torch's edge output differs from NumPy's correlate by at most {upper_bound(same)}"
    )
    return choose(
        [(flipped > same, f"largest difference from convolve {flipped} > from correlate {same}",
          f"{first}, while NumPy's convolve, which flips the kernel, differs from it by up to "
          f"{upper_bound(flipped)}.")],
        f"{first}; NumPy's convolve, which flips the kernel, gives no larger difference here (at most "
        f"{upper_bound(flipped)}).",
        values={"correlate": same, "convolve": flipped},
    )  # fmt: skip


def fact_smoothing(sig: dict[str, Any]) -> dict:
    """Whether the moving average brought the signal closer to the noise-free sine."""
    before, after = sig["rms_from_clean_input"], sig["rms_from_clean_smoothed"]
    numbers_text = (
        f"its root-mean-square distance from the noise-free sine goes from {fixed(before, 3)} (input) to "
        f"{fixed(after, 3)} (smoothed)"
    )
    return choose(
        [
            (after < before, f"distance after {after} < before {before}",
             f"Smoothing brings the signal closer to the sine: {numbers_text}."),
            (sig["noise_std"] == 0, "no noise",
             f"With no noise to remove, smoothing cannot bring the signal closer to the sine: {numbers_text}, since "
             "the average also flattens the sine's peaks."),
        ],
        f"Smoothing does not bring the signal closer to the noise-free sine here: {numbers_text}.",
        values={"before": before, "after": after, "noise_std": sig["noise_std"]},
    )  # fmt: skip


def fact_edge_noise(sig: dict[str, Any]) -> dict:
    """Whether the edge kernel amplified the noise relative to the sine."""
    before, after = sig["noise_share_input"], sig["noise_share_edge"]
    return choose(
        [
            (sig["noise_std"] == 0, "no noise",
             "With no noise in the input, the edge output is the sine's slope alone."),
            (after > before, f"noise share after {after} > before {before}",
             "The edge kernel does the opposite to noise: a difference of neighbouring samples amplifies it, so the "
             f"noise's size relative to the signal grows from {pct(before, 0)} in the input to {pct(after, 0)} in the "
             "edge output, " + ("where the noise outweighs the sine's slope itself." if after > 1
                                else "the sine's slope with jitter on top.")),
        ],
        f"The noise's size relative to the signal goes from {pct(before, 0)} in the input to {pct(after, 0)} in the "
        "edge output.",
        values={"before": before, "after": after, "noise_std": sig["noise_std"]},
    )  # fmt: skip


def fact_edge_peak(sig: dict[str, Any]) -> dict:
    """Whether the edge output is largest near an upward zero crossing, where the sine rises fastest."""
    phase = sig["edge_peak_phase_deg"]
    where = f"phase {fixed(phase, 0)}° of the sine at the centre of its window"
    return compare(
        abs(phase), "<=", PEAK_PHASE_DEG,
        f"Its largest value lies near an upward zero crossing of the sine, where the sine rises fastest ({where}).",
        f"Its largest value lies away from the sine's upward zero crossings, where the noise-free sine rises fastest "
        f"({where}).",
        what="distance in degrees of the edge output's peak from an upward zero crossing",
    )  # fmt: skip


def fact_row_edges(metrics: dict[str, Any]) -> dict:
    """Where the edge kernel answers on the image row, against where the row's ink starts and ends."""
    row, r = metrics["image_row"], metrics["image"]["row"]
    top, low = row["edge_max_column"], row["edge_min_column"]
    first, last = row["ink_first_column"], row["ink_last_column"]
    if first is None:
        values = (
            "every value it gives is 0"
            if row["edge_min"] == row["edge_max"] == 0
            else f"its values stay between {scientific(row['edge_min'])} and {scientific(row['edge_max'])}"
        )
        return choose(
            [(False, "the row holds ink", "")],
            f"Row {r} of this image holds no ink (no pixel above {row['ink_threshold']:g}), so the edge kernel has no "
            f"garment to find: {values}.",
            values=row,
        )
    enters, leaves = abs(top - first) <= 1, abs(low - last) <= 1
    part_top = (
        f"where the row enters the garment (its ink starts at column {first})"
        if enters
        else f"away from where the row enters the garment (its ink starts at column {first})"
    )
    part_low = (
        f"where the row leaves it (its ink ends at column {last})"
        if leaves
        else f"away from where the row leaves it (its ink ends at column {last})"
    )
    text = (
        f"The edge kernel's largest value is at column {top}, {part_top}, and its most negative at column {low}, "
        f"{part_low}."
    )
    return choose([(enters and leaves, f"|{top} - {first}| <= 1 and |{low} - {last}| <= 1", text)], text, values=row)


def fact_outlines(out: dict[str, Any]) -> dict:
    """Whether Sobel x answers on the left/right outlines and Sobel y on the top/bottom ones."""
    xs, xt = out["sobel_x_on_left_right"], out["sobel_x_on_top_bottom"]
    ys, yt = out["sobel_y_on_left_right"], out["sobel_y_on_top_bottom"]
    if None in (xs, xt, ys, yt):
        return choose(
            [(False, "the image has left/right and top/bottom outlines", "")],
            f"This image has no outline of both kinds (ink above {out['ink_threshold']:g} beside background and "
            "above or below it), so the maps cannot be compared on outlines.",
            values=out,
        )
    detail = (
        f"mean absolute response {fixed(xs, 2)} on the garment's left and right outlines against {fixed(xt, 2)} on "
        f"its top and bottom for Sobel x, {fixed(ys, 2)} against {fixed(yt, 2)} for Sobel y"
    )
    return choose(
        [(xs > xt and yt > ys, f"{xs} > {xt} and {yt} > {ys}",
          f"Sobel x answers mostly on the garment's left and right outlines and Sobel y on its top and bottom "
          f"({detail}).")],
        f"On this image the two kernels do not split the outline into left/right and top/bottom ({detail}).",
        values=out,
    )  # fmt: skip


def fact_stack(metrics: dict[str, Any], ex: Examples) -> dict:
    """Several filters at once: k maps stacked into a k-channel output (shapes from torch)."""
    st, row = metrics["stack"], ex["stack"]
    k = st["count"]
    capped = (
        f" ({st['requested']} were asked for; the layer has {metrics['learned']['n_filters']})"
        if st["requested"] > k
        else ""
    )
    if k == 1:
        text = (
            f"Applied alone, the first layer's filter {numbers(st['filters'])}{capped} gives one map of "
            f"{shape_text(row['output_extent'][:2])}, which torch returns as an output of one channel: one channel "
            "per filter."
        )
    else:
        text = (
            f"Applied in one call, the first layer's {k} filters ({numbers(st['filters'])}){capped} give "
            f"{plural(k, 'map')} of {shape_text(row['output_extent'][:2])}, which torch returns stacked as one "
            f"{shape_text(row['output_extent'])} output: one channel per filter."
        )
    return state(text, filters=st["filters"], output_extent=row["output_extent"])


def fact_second_layer(metrics: dict[str, Any], case: dict[str, int]) -> dict:
    """What the trained CNN's second layer really sees, against the thread's 28 x 28 x 6 example."""
    layer = metrics["second_layer"]
    thread = [case["side"], case["side"], case["channels"]]
    seen, first = layer["input_extent"], layer["first_layer_output_extent"]
    reasons = []
    if layer["pooled"]:
        reasons.append(
            f"the network max-pools its first layer's {shape_text(first[:2])} maps to {shape_text(seen[:2])}"
        )
    if seen[2] != case["channels"]:
        reasons.append(
            f"passes on all {seen[2]} of them, not {case['channels']}"
            if layer["pooled"]
            else f"it passes on all {seen[2]} first-layer maps, not {case['channels']}"
        )
    because = (", because " + " and ".join(reasons)) if reasons else ""
    return compare(
        seen, "==", thread,
        f"Run on the test image, this CNN's second layer sees exactly the thread's {shape_text(thread)}.",
        f"This input is the thread's example, not what the trained CNN's second layer sees: run on the test image, "
        f"that layer receives {shape_text(seen)}{because}.",
        what="second layer's input (thread's notation) vs the thread's example",
    )  # fmt: skip


def fact_network_maps(metrics: dict[str, Any]) -> dict:
    """Whether this script's first-layer maps are the network's own (its forward pass, float32)."""
    diff = metrics["second_layer"]["max_abs_difference_from_network"]
    return compare(
        diff, "<", NETWORK_TOLERANCE,
        "The first-layer maps used here are the network's own: computed again in float64, they differ from its "
        f"forward pass (in float32) by at most {upper_bound(diff)}.",
        "The first-layer maps used here, computed again in float64, differ from the network's own forward pass by up "
        f"to {upper_bound(diff)}: more than float32 rounding explains.",
        what=f"largest difference from the network's maps vs {NETWORK_TOLERANCE:g}",
    )  # fmt: skip


def fact_channel_sum(metrics: dict[str, Any]) -> dict:
    """torch's multi-channel output against the sum of the per-channel convolutions."""
    diff = metrics["multichannel"]["max_abs_difference_from_channel_sum"]
    return compare(
        diff, "==", 0,
        "torch's result equals that sum exactly.",
        f"torch's result differs from that sum by at most {upper_bound(diff)} (rounding in the last digits).",
        what="largest difference between torch's output and the sum of the channel parts",
    )  # fmt: skip


def fact_learned(metrics: dict[str, Any]) -> dict:
    """How many first-layer filters of each kind, and how many the figure draws."""
    learned = metrics["learned"]
    counts, n, shown = learned["kind_counts"], learned["n_filters"], learned["shown"]
    text = (
        f"Of the {n} filters, {counts['edge']} {'is an edge filter' if counts['edge'] == 1 else 'are edge filters'}, "
        f"{plural(counts['ink'], 'ink filter')} and {plural(counts['paper'], 'paper filter')}; the figure draws "
        f"{len(shown)} of them large ({'filter' if len(shown) == 1 else 'filters'} {numbers(shown)})."
    )
    return state(text, counts=counts, shown=shown)


def fact_volume_motion(metrics: dict[str, Any]) -> dict:
    """How the test image moves through the video's frames (from the offsets compute.py used)."""
    depth, image = metrics["depth_condition"], metrics["image"]
    moved = [t + 2 for t, moves in enumerate(depth["moves"]) if moves]
    shift, frames = depth["shift_px"], depth["frames"]
    start = f"The volume is a short video: test image {image['index']} in {frames} frames"
    if depth["ink_total"] == 0:
        text = f"{start}; this image is blank (no ink at all), so every frame is empty, whatever the motion."
    elif shift == 0 or not moved:
        text = f"{start}, standing still in every frame (a shift of 0 pixels)."
    else:
        still = [t for t in range(2, frames + 1) if t not in moved]
        move = (
            f"moves {plural(shift, 'pixel')} {depth['direction']} (towards its widest empty margin, where it has the "
            f"most room) into each of {frames_word(moved)}"
        )
        if not still:
            text = f"{start}. It {move}."
        elif moved[0] < still[0]:
            text = f"{start}. It {move}, then stands still in {frames_word(still)}."
        else:
            text = f"{start}. It stands still in {frames_word(still)}, then {move}."
    return state(text, moved_into=moved, shift=shift, direction=depth["direction"])


def fact_depth_cases(metrics: dict[str, Any]) -> dict:
    """The depth condition at and past its boundary: a kernel as deep as the video, and one frame deeper."""
    cases = sorted(metrics["depth_condition"]["cases"], key=lambda case: case["kernel_depth"])
    _, equal, deeper = cases
    one_frame = equal["output_shape"] is not None and equal["output_shape"][2] == 1
    refused = deeper["output_shape"] is None
    frames = equal["input_depth"]
    first = (
        f"With the same input, a kernel {equal['kernel_depth']} frames deep (as deep as the video) fits once along "
        f"time: torch returns {times(equal['output_shape'][2:])}, a single frame, and the kernel moves in "
        f"{plural(equal['directions'], 'direction')}, like a 2D convolution over {frames} channels."
        if one_frame
        else f"With the same input, a kernel {equal['kernel_depth']} frames deep (as deep as the video) gives "
        f"{times(equal['output_shape'] or ['no output'])}."
    )
    second = (
        f" A kernel {deeper['kernel_depth']} frames deep does not fit at all, and torch refuses it: "
        f"“{deeper['error']}”."
        if refused
        else f" A kernel {deeper['kernel_depth']} frames deep gives {times(deeper['output_shape'])}."
    )
    return choose(
        [(one_frame and refused, "equal depth gives one frame and a deeper kernel is refused", first + second)],
        first + second,
        values={"equal": equal["output_shape"], "deeper": deeper["output_shape"]},
    )


def fact_volume_ink(depth: dict[str, Any]) -> dict:
    """Whether the moving garment stays in the picture: the share of its ink each frame keeps."""
    shares = depth["ink_share"]
    if depth["ink_total"] == 0:
        return choose([(False, "the image has ink", "")], "There is no garment to keep in the picture.",
                      values={"ink_share": shares})  # fmt: skip
    low = min(shares)
    kept = depth["kept_share"]
    first_lost = next((t + 1 for t, share in enumerate(shares) if share < kept), None)
    last = "the last frame is empty" if shares[-1] == 0 else f"the last frame keeps {pct(shares[-1])} of its ink"
    if low >= 1:
        stays = "The garment stays in the picture: every frame holds all of its ink."
    else:
        stays = (
            f"Most of the garment stays in the picture: every frame keeps at least {floor_pct(low)} of its ink, "
            f"and {last}."
        )
    return choose(
        [(low >= kept, f"least ink kept {low} >= {kept}", stays)],
        f"The garment does not stay in the picture: from frame {first_lost} on, part of it has left the frame, and "
        f"{last}.",
        values={"ink_share": shares, "kept_share": kept},
    )  # fmt: skip


def fact_volume_response(depth: dict[str, Any], ex: Examples) -> dict:
    """Which output frames of the 3D kernel respond, against the windows in which the garment moves."""
    d = next(case for case in depth["cases"] if case["name"] == "volume")["kernel_depth"]
    responding, silent = depth["responding_frames"], depth["silent_frames"]
    moving, changing = depth["moving_windows"], depth["changing_windows"]
    n_out = ex["volume"]["positions"][0]
    window = f"window of {d} frames"
    values = {"responding": responding, "silent": silent, "moving_windows": moving, "changing_windows": changing}
    cases = [
        (depth["ink_total"] == 0, "the image is blank", "Every frame is empty, so every output frame is 0."),
        (
            not moving,
            "the garment never moves",
            "The garment does not move, so every output frame is 0: the kernel's weights sum to 0.",
        ),
        (
            not responding,
            "no output frame responds",
            f"No output frame responds: the frames of every {window} are equal.",
        ),
        (
            responding == moving and not silent,
            "every output frame's window holds a move and responds",
            f"Every output frame responds (all {n_out}): each {window} holds a move.",
        ),
        (
            responding == moving,
            "the responding frames are those whose window holds a move",
            f"Output {frames_word(responding)} respond: each of their windows of {d} frames holds a move. Output "
            f"{frames_word(silent)} {'is' if len(silent) == 1 else 'are'} 0: in "
            f"{'its window' if len(silent) == 1 else 'their windows'} the garment stands still.",
        ),
        (
            responding == changing,
            "the responding frames are those whose input frames differ",
            f"Output {frames_word(responding)} respond and {frames_word(silent)} "
            f"{'is' if len(silent) == 1 else 'are'} 0: the garment moves in the windows of output "
            f"{frames_word(moving)}, but where it has left the picture its frames are equal and the kernel gives 0.",
        ),
    ]
    return choose(
        cases,
        f"Output {frames_word(responding)} respond; the garment moves in the windows of output {frames_word(moving)}.",
        values=values,
    )  # fmt: skip


def fact_spd(metrics: dict[str, Any]) -> dict:
    """What the stride, padding and dilation drawing shows, from the cells torch's autograd found."""
    spd = metrics["stride_padding_dilation"]
    by = {case["name"]: case for case in spd["cases"]}
    plain, stride, pad, dil = by["plain"], by["stride"], by["padding"], by["dilation"]
    side = spd["input_side"]
    agree = all(case["output_side"] == case["formula_side"] for case in spd["cases"])
    text = (
        f"On the {side} × {side} input, torch returns {plain['output_side']} × {plain['output_side']} for the plain "
        f"case, {stride['output_side']} × {stride['output_side']} with stride {stride['stride']} (the second output "
        f"reads cells {stride['second_offset']} columns to the right of the first), {pad['output_side']} × "
        f"{pad['output_side']} with padding {pad['padding']} (the first output reads {pad['first_reads_padding']} "
        f"padding cells) and {dil['output_side']} × {dil['output_side']} with dilation {dil['dilation']} (one output "
        f"spans {dil['first_span']} columns with {spd['kernel']} taps)"
    )
    return choose(
        [(agree, "formula sizes equal torch's in all four cases", f"{text}; the formula gives the same four sizes.")],
        f"{text}; the formula disagrees in at least one case.",
        values={case["name"]: [case["output_side"], case["formula_side"]] for case in spd["cases"]},
    )  # fmt: skip


def fact_depth_boundary(metrics: dict[str, Any]) -> dict:
    """The boundary of the depth condition: a kernel as deep as the input (one frame out, or not)."""
    equal = next(case for case in metrics["depth_condition"]["cases"] if case["kernel_depth"] == case["input_depth"])
    ok = equal["output_shape"] is not None and equal["output_shape"][2] == 1
    return choose(
        [(ok, "a kernel as deep as the input gives one frame",
          f"what happens at the boundary of the depth condition: a kernel exactly as deep as the input is allowed and "
          f"gives one frame ({times((equal['output_shape'] or [])[2:])}), so the output stops being 3D there; only a "
          "deeper "
          "kernel is an error;")],
        "what happens at the boundary of the depth condition: here a kernel exactly as deep as the input did not give "
        "one frame (see the claims table);",
        values={"output_shape": equal["output_shape"]},
    )  # fmt: skip


# --------------------------------------------------------------------------------------------------------
# Key takeaways and the answers to the exercises (the page's questions are general; their answers are this run's)
# --------------------------------------------------------------------------------------------------------


def claim_by_id(claims: dict[str, Any], claim_id: str) -> dict[str, Any]:
    """One claim of the verdict list, by id."""
    return next(claim for claim in claims["claims"] if claim["id"] == claim_id)


def takeaway_rule(claims: dict[str, Any]) -> dict:
    """The thread's rule, as the page's first takeaway, only where every example followed it."""
    values = claim_by_id(claims, "number_rule")["values"]
    failing = values["not_following"]
    return compare(
        len(failing), "==", 0,
        "The number in 1D, 2D and 3D counts the directions in which the kernel moves, and so the axes of its output: "
        f"all {values['examples']} examples on this page follow that rule.",
        f"The number in 1D, 2D and 3D is meant to count the directions in which the kernel moves, but "
        f"{len(failing)} of the {values['examples']} examples here do not follow that rule ({', '.join(failing)}).",
        what="examples that do not follow the thread's rule",
    )  # fmt: skip


def takeaway_positions(ex: Examples) -> dict:
    """Without padding a kernel of size k fits at n - k + 1 positions: the Sobel example."""
    row = ex["sobel_x"]
    n, k = row["input_extent"][0], row["kernel_extent"][0]
    expected = [n - k + 1, n - k + 1]
    return compare(
        row["output_extent"], "==", expected,
        f"Without padding, a kernel of size k fits at n − k + 1 positions along an axis of n cells, so the output is "
        f"smaller than the input: a {k} × {k} kernel on the {n} × {n} image gives {shape_text(row['output_extent'])}.",
        f"Here a {k} × {k} kernel on the {n} × {n} image gave {shape_text(row['output_extent'])}, not the "
        f"{shape_text(expected)} that n − k + 1 positions along each axis would give.",
        what="Sobel output (thread's notation) vs n - k + 1 along each axis",
    )  # fmt: skip


def takeaway_channels(ex: Examples, claims: dict[str, Any], stack_count: int) -> dict:
    """A kernel spans all the channels of its input; several filters stack into channels."""
    row = ex["multichannel"]
    ok = all(claim_by_id(claims, cid)["verdict"] == SUPPORTED for cid in ("multichannel_kernel", "multichannel_output"))
    filters = stack_count
    return compare(
        ok, "==", True,
        f"A kernel reaches through every channel of its input and never moves across them: the thread's "
        f"“{row['kernel_extent'][0]} × {row['kernel_extent'][1]}” kernel on a {shape_text(row['input_extent'])} input "
        f"is really {shape_text(row['kernel_extent'])} and gives one {shape_text(row['output_extent'])} map; "
        + ("one filter gives one channel." if filters == 1 else f"{filters} filters applied together give {filters} "
           "channels."),
        f"On the thread's {shape_text(row['input_extent'])} input torch's kernel was "
        f"{shape_text(row['kernel_extent'])} and its output {shape_text(row['output_extent'])}, which is not what the "
        "thread says (see the claims check).",
        what="the thread's multichannel kernel and output claims supported",
    )  # fmt: skip


def takeaway_formula(check: dict[str, Any]) -> dict:
    """Stride, padding and dilation: the formula, checked against torch."""
    return compare(
        check["matched"], "==", check["cases"],
        "Stride, padding and dilation change the count of positions along each axis to "
        f"⌊(n + 2p − d(k − 1) − 1) / s⌋ + 1, which gave torch's own size in all {num(check['cases'])} cases "
        "checked.",
        "Stride, padding and dilation change the count of positions along each axis; the usual formula "
        f"⌊(n + 2p − d(k − 1) − 1) / s⌋ + 1 gave torch's size in only {num(check['matched'])} of "
        f"{num(check['cases'])} cases checked.",
        what="cases matched vs checked",
    )  # fmt: skip


def takeaway_depth(metrics: dict[str, Any]) -> dict:
    """The depth condition: as deep as the video gives one frame."""
    cases = sorted(metrics["depth_condition"]["cases"], key=lambda case: case["kernel_depth"])
    shallow, equal, _ = cases
    one_frame = equal["output_shape"] is not None and equal["output_shape"][2] == 1
    return compare(
        one_frame, "==", True,
        f"A 3D kernel must be shallower than its input for the output to stay 3D: on the "
        f"{equal['input_depth']}-frame video a kernel {shallow['kernel_depth']} frames deep gives "
        f"{plural(shallow['output_shape'][2], 'output frame')}, one as deep as the video a single frame.",
        f"On the {equal['input_depth']}-frame video a kernel as deep as the video gave "
        + (times(equal["output_shape"][2:]) if equal["output_shape"] else "no output")
        + ", not a single frame.",
        what="a kernel as deep as the video gives one frame",
    )  # fmt: skip


def answer_smoothing(metrics: dict[str, Any], ex: Examples) -> dict:
    """Exercise: how many values the smoothed signal has."""
    sig, row = metrics["signal"], ex["signal_smooth"]
    n, k, out = sig["samples"], sig["smooth_width"], row["output_extent"][-1]
    return compare(
        out, "==", n - k + 1,
        f"{num(out)} values: a window of {k} samples fits at {num(n)} − {k} + 1 = {num(n - k + 1)} positions, one "
        "value each, and that is how many torch returned.",
        f"Torch returned {num(out)} values, not the {num(n - k + 1)} that {num(n)} − {k} + 1 gives.",
        what="smoothed length vs n - k + 1",
    )  # fmt: skip


def answer_multichannel(ex: Examples) -> dict:
    """Exercise: the weights and the output of the thread's 28 x 28 x 6 example."""
    row, padded = ex["multichannel"], ex["multichannel_padded"]
    text = (
        f"The kernel is {shape_text(row['kernel_extent'])}, so it has {num(row['parameters'])} weights "
        f"({' · '.join(str(v) for v in row['kernel_extent'])}). It moves along x and y only, so the output is one "
        f"map: {shape_text(row['output_extent'])} without padding and {shape_text(padded['output_extent'])} with "
        "padding 1 (torch's shapes)."
    )
    return state(text, kernel=row["kernel_extent"], output=row["output_extent"], padded=padded["output_extent"])


def answer_second_layer(metrics: dict[str, Any]) -> dict:
    """Exercise: what the trained CNN's second layer receives, and so how deep its kernels are."""
    layer = metrics["second_layer"]
    seen = layer["input_extent"]
    pooled = (
        f"the first layer returns {shape_text(layer['first_layer_output_extent'])}, and max-pooling shrinks the two "
        f"sides to {shape_text(seen[:2])}"
        if layer["pooled"]
        else f"the first layer returns {shape_text(seen)} and nothing shrinks it before the second layer"
    )
    out_channels, in_channels, *sides = layer["kernel_shape"]
    return compare(
        in_channels, "==", seen[2],
        f"{shape_text(seen)}: {pooled}. So each of the layer's {out_channels} kernels is "
        f"{shape_text([*sides, in_channels])}, one slice per channel (torch's hook on the layer recorded the input, "
        "and the weights have this shape).",
        f"{shape_text(seen)}: {pooled}. The layer's weights hold {in_channels} slices per kernel, not {seen[2]}.",
        what="second layer's kernel depth vs its input's channels",
    )  # fmt: skip


def answer_volume(metrics: dict[str, Any], ex: Examples) -> dict:
    """Exercise: the 3D output's frames for the page's kernel, and for kernels as deep as the video and deeper."""
    row = ex["volume"]
    cases = sorted(metrics["depth_condition"]["cases"], key=lambda case: case["kernel_depth"])
    shallow, equal, deeper = cases
    frames = shallow["input_depth"]
    equal_out = equal["output_shape"]
    deeper_out = deeper["output_shape"]
    text = (
        f"{frames} − {shallow['kernel_depth']} + 1 = {frames - shallow['kernel_depth'] + 1} output frames "
        f"(torch: {shape_text(row['output_extent'])}). A kernel {equal['kernel_depth']} frames deep gives "
        + (f"{shape_text(equal_out[2:])}, a single frame" if equal_out else "no output")
        + f"; one {deeper['kernel_depth']} frames deep "
        + ("does not fit, and torch refuses it." if deeper_out is None else f"gives {shape_text(deeper_out[2:])}.")
    )
    return choose(
        [(row["output_extent"][0] == frames - shallow["kernel_depth"] + 1, "output frames = F - D + 1", text)],
        text + f" (Note: torch's {row['output_extent'][0]} output frames differ from F − D + 1.)",
        values={"output": row["output_extent"], "equal": equal_out, "deeper": deeper_out},
    )


def answer_stride(metrics: dict[str, Any]) -> dict:
    """Exercise: the stride case of the stride/padding/dilation figure, by the formula."""
    spd = metrics["stride_padding_dilation"]
    case = next(c for c in spd["cases"] if c["name"] == "stride")
    n, k, st = spd["input_side"], spd["kernel"], case["stride"]
    inner = n - k
    text = (
        f"⌊({n} + 2·0 − 1·({k} − 1) − 1) / {st}⌋ + 1 = ⌊{inner} / {st}⌋ + 1 = {inner // st + 1} along each axis, so "
        f"{inner // st + 1} × {inner // st + 1}; torch returned {case['output_side']} × {case['output_side']}."
    )
    return compare(
        case["output_side"], "==", inner // st + 1, text,
        text + " The formula and torch disagree here.",
        what="torch's stride output vs the formula",
    )  # fmt: skip


def fact_provenance(metrics: dict[str, Any]) -> dict:
    """The method audit's one-line verdict: how it was computed, and whether the CNN's maps are the network's."""
    diff = metrics["second_layer"]["max_abs_difference_from_network"]
    start = f"Every example was computed by torch {metrics['torch_version']} in float64"
    return compare(
        diff, "<", NETWORK_TOLERANCE,
        f"{start}; the trained CNN's maps recomputed here match its own forward pass to within {upper_bound(diff)}.",
        f"{start}; the trained CNN's maps recomputed here differ from its own forward pass by up to "
        f"{upper_bound(diff)}.",
        what=f"largest difference from the network's maps vs {NETWORK_TOLERANCE:g}",
    )  # fmt: skip


def facts(metrics: dict[str, Any], claims: dict[str, Any], path: str | os.PathLike[str]) -> dict[str, dict]:
    """Every fact the page prints, by id (``headline`` and ``description`` name the page)."""
    ex = Examples(metrics, path)
    try:
        return {
            "headline": fact_headline(claims),
            "description": fact_description(metrics, ex, claims),
            "claims_summary": fact_claims_summary(claims),
            "thread_claims": fact_thread_claims(claims),
            "formula": fact_formula(metrics["formula_check"]),
            "cross_correlation": fact_cross_correlation(metrics["cross_correlation"]),
            "smoothing": fact_smoothing(metrics["signal"]),
            "edge_noise": fact_edge_noise(metrics["signal"]),
            "edge_peak": fact_edge_peak(metrics["signal"]),
            "row_edges": fact_row_edges(metrics),
            "outlines": fact_outlines(metrics["outlines"]),
            "stack": fact_stack(metrics, ex),
            "second_layer": fact_second_layer(metrics, metrics["thread_cases"]["multichannel"]),
            "network_maps": fact_network_maps(metrics),
            "channel_sum": fact_channel_sum(metrics),
            "learned": fact_learned(metrics),
            "volume_motion": fact_volume_motion(metrics),
            "volume_ink": fact_volume_ink(metrics["depth_condition"]),
            "depth_cases": fact_depth_cases(metrics),
            "volume_response": fact_volume_response(metrics["depth_condition"], ex),
            "stride_padding_dilation": fact_spd(metrics),
            "depth_boundary": fact_depth_boundary(metrics),
            "provenance": fact_provenance(metrics),
            "takeaway_rule": takeaway_rule(claims),
            "takeaway_positions": takeaway_positions(ex),
            "takeaway_channels": takeaway_channels(ex, claims, int(metrics["stack"]["count"])),
            "takeaway_formula": takeaway_formula(metrics["formula_check"]),
            "takeaway_depth": takeaway_depth(metrics),
            "answer_smoothing": answer_smoothing(metrics, ex),
            "answer_multichannel": answer_multichannel(ex),
            "answer_second_layer": answer_second_layer(metrics),
            "answer_stride": answer_stride(metrics),
            "answer_volume": answer_volume(metrics, ex),
        }
    except KeyError as exc:
        raise PipelineError(f"{path}: lacks {exc}; rerun the convolutions step") from None


def check_claims(metrics: dict[str, Any], path: str | os.PathLike[str] = "metrics.json") -> dict:
    """Every claim with its verdict, the count of supported ones, and the page's facts."""
    ex = Examples(metrics, path)
    cases = metrics.get("thread_cases", {})
    if "one_d_over_2d" not in cases or "multichannel" not in cases:
        raise PipelineError(f"{path}: has no 'thread_cases' (the thread's worked shapes); rerun the convolutions step")
    claims = [
        claim_number_rule(ex),
        claim_1d(ex),
        claim_over_2d_kernel(ex, cases["one_d_over_2d"]),
        claim_over_2d_output(ex, cases["one_d_over_2d"]),
        claim_2d(ex),
        claim_multichannel_kernel(ex, cases["multichannel"]),
        claim_multichannel_output(ex, cases["multichannel"]),
        claim_3d(ex),
        claim_depth(metrics, path),
        claim_formula(metrics, path),
    ]
    supported = sum(claim["verdict"] == SUPPORTED for claim in claims)
    result = {"claims": claims, "summary": {"supported": supported, "total": len(claims)}}
    result["facts"] = facts(metrics, result, path)
    return result


def build_parser() -> ArgumentParser:
    """The command line: the shapes table to check and where to write the verdicts."""
    parser = ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--metrics", type=input_file, required=True, help="metrics.json written by compute.py")
    parser.add_argument("--output", type=Path, required=True, help="where to write the verdicts (claims.json)")
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    """Parse the flags, check every claim and write the verdicts."""
    args = build_parser().parse_args(argv)
    try:
        result = check_claims(read_json(args.metrics), args.metrics)
    except (KeyError, TypeError, IndexError) as exc:
        raise PipelineError(f"{args.metrics}: malformed shapes table ({exc!r}); rerun the convolutions step") from None
    write_json(args.output, result)
    for claim in result["claims"]:
        print(f"{claim['verdict']:>13}: {claim['claim']}")
    print(f"{result['summary']['supported']} of {result['summary']['total']} claims supported")


if __name__ == "__main__":
    sys.exit(run_cli(main))
