"""Check the convolutions thread's statements against the shapes torch computed, one verdict per claim.

The thread (seed-threads.txt, "1D, 2D and 3D convolutions"; the rest from its public copy, summarised in
SOURCES.md) says that the number of a convolution is the number of directions its kernel moves in and the number
of dimensions of its output, and gives worked shapes: a 1D convolution over a 20 x 8 input with a width-3 kernel
(kernel 3 x 8, output 1D), a 2D convolution over a 28 x 28 x 6 input with a 3 x 3 kernel (kernel 3 x 3 x 6,
output 2D), and the condition that a 3D kernel must be shallower than its input. Every verdict is computed from
``metrics.json`` (written by convolutions/compute.py from the tensors torch returned) by the rule stated with it; one
claim the page adds (the output-size formula) is checked the same way.

Usage::

    PYTHONPATH=scripts python scripts/convolutions/claims.py --metrics results/convolutions/metrics.json \\
        --output results/convolutions/claims.json
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from kit.cli import ArgumentParser, PipelineError, input_file, run_cli
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


def check_claims(metrics: dict[str, Any], path: str | os.PathLike[str] = "metrics.json") -> dict:
    """Every claim with its verdict, and the count of supported ones."""
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
    return {"claims": claims, "summary": {"supported": supported, "total": len(claims)}}


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
