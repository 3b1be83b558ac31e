"""3D convolution of a volume: the test image moving over a few frames, a 3D kernel, and the output volume.

The volume is a short video (frames x height x width) in which the test image moves for some frames and stands
still for others (compute.py's ``--volume-motion``). The kernel (depth x 3 x 3: a 3 x 3 average in space times a
ramp in time, weights summing to 0) moves along x, y and time, so the output is again a volume, with kernel
depth - 1 fewer frames; an output frame answers only where its window of frames changes, so the output's time
axis shows when the image moved. Each input frame is labelled moving or still, each output frame with its
largest value. The last row shows the thread's condition: a kernel as deep as the input has one position along
time, so the output has a single frame (it moves in two directions only), and a deeper kernel is refused by
torch. Reads ``--arrays`` and ``--metrics`` from convolutions/compute.py.

    PYTHONPATH=scripts python scripts/convolutions/figures/volume_3d.py --arrays results/convolutions/arrays.npz \\
        --metrics results/convolutions/metrics.json \\
        --output results/figures/convolutions/volume_3d.svg --meta results/figures/convolutions/volume_3d.json
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import ConnectionPatch

from convolutions.convio import (
    MOVE_COLOR,
    arrow,
    example,
    figure_inputs,
    show_image,
    show_signed,
    symmetric_norm,
    times,
    window,
)
from kit.cli import PipelineError, run_cli
from kit.figure import figure_main
from kit.io import round_significant
from kit.plotstyle import new_figure, set_title

#: An output value below this is 0 (sums of equal values cancel to within rounding); compute.py's ``ZERO``.
ZERO = 1e-9

ARRAYS = {
    "volume_input": 3,
    "volume_kernel": 3,
    "volume_output": 3,
    "volume_full_depth_kernel": 3,
    "volume_full_depth_output": 3,
}

#: Where the kernel's window is drawn on the first frames (row, column of its top-left pixel).
WINDOW_AT = (12, 9)


def check(a: dict[str, np.ndarray], path: Path) -> None:
    """Each output must have the shape a 3D kernel sliding over the volume without padding gives."""
    for name in ("volume", "volume_full_depth"):
        kernel, out = a[f"{name}_kernel"], a[f"{name}_output"]
        expected = tuple(n - k + 1 for n, k in zip(a["volume_input"].shape, kernel.shape, strict=True))
        if out.shape != expected:
            raise PipelineError(f"{path}: {name}_output has shape {out.shape}, expected {expected}; rerun convolutions")


def refused(metrics: dict[str, Any]) -> dict[str, Any] | None:
    """The depth-condition case torch refused (kernel deeper than the input), if the metrics hold one."""
    for case in metrics.get("depth_condition", {}).get("cases", []):
        if case.get("error"):
            return case
    return None


def frames_text(values: Sequence[int]) -> str:
    """Frame numbers for a sentence: ``[1, 2, 3]`` -> ``1 to 3``, ``[2, 5]`` -> ``2 and 5``, ``[]`` -> ``none``."""
    values = list(values)
    if not values:
        return "none"
    if len(values) > 2 and values == list(range(values[0], values[-1] + 1)):
        return f"{values[0]} to {values[-1]}"
    return ", ".join(map(str, values[:-1])) + (f" and {values[-1]}" if len(values) > 1 else str(values[0]))


def frame_labels(moves: Sequence[bool]) -> list[str]:
    """Each input frame's label: the first is where it starts; later ones say whether it moved since the last."""
    return ["start"] + ["moved" if moved else "still" for moved in moves]


def describe(a: dict[str, np.ndarray], metrics: dict[str, Any]) -> dict[str, Any]:
    """Title, alt text and numbers: the shapes, how the image moves, which output frames answer, the depth
    condition. Every statement about the output is read from the arrays."""
    row, full = example(metrics, "volume"), example(metrics, "volume_full_depth")
    video, kernel, out = a["volume_input"], a["volume_kernel"], a["volume_output"]
    frames, depth = video.shape[0], kernel.shape[0]
    too_deep = refused(metrics)
    info = metrics.get("depth_condition", {})
    shift, direction = info.get("shift_px", 0), info.get("direction", "")
    moves = list(info.get("moves", [True] * (frames - 1)))
    peaks = np.abs(out).reshape(out.shape[0], -1).max(axis=1)
    responding = [j + 1 for j in range(out.shape[0]) if peaks[j] > ZERO]
    silent = [j + 1 for j in range(out.shape[0]) if peaks[j] <= ZERO]
    moving_frames = [t + 2 for t, moved in enumerate(moves) if moved]
    title = (
        f"3D convolution: a {times(kernel.shape)} kernel moves along x, y and time, so {frames} frames give "
        f"{out.shape[0]} output frames; a kernel {frames} deep gives 1"
    )
    refusal = (
        f' A kernel {too_deep["kernel_depth"]} deep is refused by torch ("{too_deep["error"]}").' if too_deep else ""
    )
    if shift and moving_frames:
        motion = (
            f"the test image moving {shift} pixel{'s' if shift != 1 else ''} {direction} into frame"
            f"{'s' if len(moving_frames) != 1 else ''} {frames_text(moving_frames)} and standing still otherwise"
        )
    else:
        motion = "the test image standing still in every frame"
    blurred = shift > 0 and any(moves)
    answer = (
        f"output frame{'s' if len(responding) != 1 else ''} {frames_text(responding)} "
        f"answer{'s' if len(responding) == 1 else ''} (largest values from {peaks[peaks > ZERO].min():.2f} to "
        f"{peaks.max():.2f}) and frame{'s' if len(silent) != 1 else ''} {frames_text(silent)} "
        f"{'is' if len(silent) == 1 else 'are'} 0"
        if responding and silent
        else (f"every output frame answers (largest values from {peaks.min():.2f} to {peaks.max():.2f})"
              if responding else "every output frame is 0")
    )  # fmt: skip
    alt = (
        f"Top row: the input volume, {frames} frames of {times(video.shape[1:])} pixels: {motion}, each frame "
        f"labelled moved or still, with the kernel's 3 by 3 window outlined on the first {depth} frames and arrows "
        f"along x, y and time. Second row: the kernel's {depth} slices of 3 by 3 weights, from {kernel.min():.3f} "
        f"(earliest frame) to {kernel.max():.3f} (latest), summing to 0, so it measures how much ink a "
        f"neighbourhood gained over {depth} frames. Third row: the output volume, {out.shape[0]} frames of "
        f"{times(out.shape[1:])}, red where ink was gained and blue where it was lost: {answer}. Bottom row: a "
        f"kernel as deep as the input ({frames} frames, every weight {1 / (9 * frames):.4f}) has one position along "
        f"time and gives a single {times(a['volume_full_depth_output'].shape[1:])} frame, "
        f"{'the garment blurred along its path' if blurred else 'the garment averaged over identical frames'}: "
        f"output {times(full['output_extent'])}, {full['directions']} directions moved, against {row['directions']} "
        f"for the {depth}-deep kernel (output {times(row['output_extent'])})." + refusal
    )
    return {
        "title": title,
        "alt": alt,
        "frames": frames,
        "kernel_shape": list(kernel.shape),
        "output_shape": list(out.shape),
        "directions": row["directions"],
        "full_depth_output_shape": list(a["volume_full_depth_output"].shape),
        "full_depth_directions": full["directions"],
        "too_deep_error": too_deep["error"] if too_deep else None,
        "output_min": round_significant(float(out.min())),
        "output_max": round_significant(float(out.max())),
        "frame_labels": frame_labels(moves),
        "output_frame_max": [round_significant(float(v)) for v in peaks],
        "responding_frames": responding,
        "silent_frames": silent,
    }


def signed(value: float, digits: int = 2) -> str:
    """A weight with its sign (``+0.111``, ``-1``), and a plain ``0`` for zero."""
    value = round(float(value), digits)
    return "0" if value == 0 else f"{value:+g}"


def text_cell(fig: Figure, cell: Any, text: str, **kwargs: Any) -> None:
    """A text-only panel (row labels and the depth condition's explanation)."""
    ax = fig.add_subplot(cell)
    ax.set_axis_off()
    # Out of the layout: a long line must not shrink the image panels; the cell spans the columns it may fill.
    ax.text(0.0, 0.5, text, transform=ax.transAxes, ha="left", va="center", fontsize=7.5, in_layout=False, **kwargs)


def plot(a: dict[str, np.ndarray], info: dict[str, Any]) -> Figure:
    """Four rows: input frames, kernel slices, output frames, and the full-depth kernel's single frame."""
    video, kernel, out = a["volume_input"], a["volume_kernel"], a["volume_output"]
    frames, depth = video.shape[0], kernel.shape[0]
    columns = frames
    fig = new_figure(5.0)
    grid = fig.add_gridspec(4, columns)
    norm_out = symmetric_norm(out)
    axes_row = []
    for t in range(frames):
        ax = fig.add_subplot(grid[0, t])
        axes_row.append(ax)
        show_image(ax, video[t], f"\n\nframe {t + 1}\n{info['frame_labels'][t]}")  # room for the time arrow
        ax.title.set_fontsize(7.5)
        if t < depth:
            window(ax, WINDOW_AT[1] - 0.5, WINDOW_AT[0] - 0.5, 3, 3)
        if t == 0:
            arrow(ax, (0.05, -0.06), (0.6, -0.06), " x", va="top")
            arrow(ax, (-0.06, 0.95), (-0.06, 0.4), "y", va="top", ha="center")
    first, last = axes_row[0], axes_row[-1]
    time_arrow = ConnectionPatch(
        xyA=(0.0, 1.4), coordsA=first.transAxes, xyB=(1.0, 1.4), coordsB=last.transAxes,
        arrowstyle="-|>", color=MOVE_COLOR, linewidth=1.6, mutation_scale=11,
    )  # fmt: skip
    fig.add_artist(time_arrow)
    # The label sits at the arrow's middle: the left edge of the middle frame (even count) or its centre (odd).
    middle = axes_row[frames // 2]
    middle.text(0.0 if frames % 2 == 0 else 0.5, 1.45, "the kernel moves along time (frames)", ha="center",
                va="bottom", transform=middle.transAxes, fontsize=7.5, color=MOVE_COLOR, in_layout=False)  # fmt: skip
    norm_k = symmetric_norm(kernel)
    for z in range(depth):
        ax = fig.add_subplot(grid[1, z])
        show_signed(ax, kernel[z], norm_k, f"slice {z + 1}")
        ax.title.set_fontsize(7.5)
        value = float(kernel[z, 0, 0])
        dark = abs(value) > 0.6 * norm_k.vmax
        ax.text(
            1, 1, f"{signed(value, 3)}\neach", ha="center", va="center", fontsize=7, color="white" if dark else "black"
        )
    if depth < columns:
        weights = ", ".join(signed(9 * v) for v in kernel[:, 0, 0])
        text_cell(fig, grid[1, depth:], f"kernel {times(kernel.shape)} (time × y × x): a 3 × 3 average times\n"
                  f"{weights} from its first slice to its last; it moves along x, y and time,\n"
                  f"so the output has {frames} − {depth} + 1 = {out.shape[0]} frames")  # fmt: skip
    for t in range(out.shape[0]):
        ax = fig.add_subplot(grid[2, t])
        peak = info["output_frame_max"][t]
        show_signed(ax, out[t], norm_out, f"output {t + 1}\n" + (f"max abs {peak:.2f}" if peak > ZERO else "all 0"))
        ax.title.set_fontsize(7.5)
    if out.shape[0] < columns:
        text_cell(fig, grid[2, out.shape[0] :], f"output\n{times(out.shape)}")
    full = a["volume_full_depth_output"][0]
    ax = fig.add_subplot(grid[3, 0])
    show_image(ax, full, "output: 1 frame", norm=None)
    ax.title.set_fontsize(7.5)
    lines = (
        f"A kernel as deep as the input ({frames} × 3 × 3) fits only once along time: the output\n"
        f"{times(info['full_depth_output_shape'])} has one frame (an average of all {frames}), and the kernel\n"
        f"moves in {info['full_depth_directions']} directions instead of {info['directions']}."
    )
    if info["too_deep_error"]:
        lines += f"\nA deeper kernel is refused: \u201c{info['too_deep_error'].split('. ')[-1]}\u201d."
    text_cell(fig, grid[3, 1:], lines)
    set_title(fig, info["title"])
    return fig


def main(argv: Sequence[str] | None = None) -> None:
    """Read the arrays and the metrics, check that they fit together, and write the figure and its sidecar."""
    figure_main(
        argv,
        __doc__,
        inputs=figure_inputs(ARRAYS),
        check=lambda d, a: check(d["arrays"], a.arrays),
        describe=lambda d, a: describe(d["arrays"], d["metrics"]),
        draw=lambda d, info, a: plot(d["arrays"], info),
    )


if __name__ == "__main__":
    sys.exit(run_cli(main))
