"""Compute every convolution of the 1D/2D/3D explainer with torch and write the arrays and the shapes table.

The source thread's rule: the number in "1D/2D/3D convolution" says in how many directions the kernel moves,
and so how many dimensions the output has. Each example here is a real call of
``torch.nn.functional.conv1d/conv2d/conv3d``, and every shape in the report is read from the tensors it
returned, never typed in:

- 1D: a seeded, noisy mains-like signal and one row of a Fashion-MNIST test image, each with a smoothing and an
  edge kernel; the thread's 1D convolution over a 2D input (20 time steps x 8 sensors, width-3 kernel).
- 2D: the test image with Sobel x and y kernels; a few of the CNN's first-layer filters on the test image, their
  maps stacked into a multi-channel output; the thread's 28 x 28 x 6 input (built from the first six feature
  maps of the trained CNN's first layer, before its max-pooling) with a 3 x 3 kernel that is really 3 x 3 x 6;
  the shape the CNN's second layer really sees, read from the network's own forward pass; the CNN's learned
  first-layer filters and their feature maps.
- 3D: a short "video" of the test image moving towards its widest empty margin (moving, then still, by
  default), with a kernel that differences in time; which output frames respond; the depth condition (kernel
  depth smaller than, equal to and larger than the input's).
- Stride, padding and dilation on a 7 x 7 input: which cells the first two outputs read (found by torch's
  autograd) and the output sizes torch returns; the output-size formula
  ``floor((n + 2p - d(k - 1) - 1) / s) + 1`` checked against torch over a grid of sizes, kernels, strides,
  paddings and dilations.

Only this script imports torch; the figure scripts read ``--arrays`` (.npz) and ``--metrics`` (.json).

Usage::

    PYTHONPATH=scripts python scripts/convolutions/compute.py --data results/data/fashion-mnist.npy \\
        --weights results/models/cnn/seed-1/weights.npz --seed 3 --image-row 14 --signal-samples 200 \\
        --signal-rate-hz 2000 --mains-hz 50 --signal-noise 0.08 --smooth-width 5 --volume-frames 8 \\
        --volume-shift 1 --volume-motion move-stop --volume-kernel-depth 3 --multichannel-filter 1 \\
        --stack-filters 4 --learned-shown 6 --grid-sizes 1 2 3 4 5 7 10 28 \\
        --grid-kernels 1 2 3 5 --grid-strides 1 2 3 --grid-paddings 0 1 2 --grid-dilations 1 2 3 \\
        --grid-samples 200 --threads 1 \\
        --arrays results/convolutions/arrays.npz --metrics results/convolutions/metrics.json

Every setting flag is required (the workflow passes each from the config, whose schema holds the defaults);
``--test-image N`` picks the test image instead of drawing it with the seed.
"""

from __future__ import annotations

import argparse
import itertools
import math
import os
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812 (torch's own convention)

from kit.cli import ArgumentParser, PipelineError, input_file, run_cli
from kit.dataset import CLASS_NAMES, IMAGE_SIDE, load_split
from kit.io import rounded, save_npz, write_json
from models.modelio import read_weights_file
from models.train import load_weights

#: The thread's two worked shapes: a 1D convolution over a 20 x 8 input with a width-3 kernel, and a 2D
#: convolution over a 28 x 28 x 6 input with a 3 x 3 kernel. They are the thread's inputs, not settings.
THREAD_1D_LENGTH, THREAD_1D_FEATURES, THREAD_1D_WIDTH = 20, 8, 3
THREAD_2D_SIDE, THREAD_2D_CHANNELS, THREAD_2D_KERNEL = IMAGE_SIDE, 6, 3

#: Sobel kernels. torch's "convolution" is a cross-correlation (the kernel is not flipped), so Sobel x gives
#: positive values where the image gets brighter to the right, Sobel y where it gets brighter downwards.
SOBEL_X = np.array([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]])
SOBEL_Y = SOBEL_X.T.copy()

#: Central difference: the 1D edge kernel (change per sample, positive where the signal rises).
EDGE_1D = np.array([-0.5, 0.0, 0.5])

#: A first-layer filter counts as edge-like (a contrast detector) when its weights nearly cancel:
#: |sum of weights| / sum of |weights| below this share (0 for Sobel kernels). Near 1 the filter only weighs
#: brightness; between, it mixes both, and its map shows the garment's area as well as its outline.
EDGE_LIKE_BELOW = 0.25

#: Pixel values above this count as ink when the page says where a row or an outline has ink (a tenth of full ink).
INK = 0.1

#: An output value whose size is below this is 0 (sums of equal values cancel to within rounding).
ZERO = 1e-9

#: A frame "keeps" the garment when it holds at least this share of the first frame's ink.
KEPT = 0.995

#: How the 3D example's image moves: per transition between frames, whether it moves (see ``motion_offsets``).
MOTIONS = ("move-stop", "stop-move", "uniform")

#: The stride, padding and dilation example: a small square input, a 3 x 3 kernel, and the four cases drawn
#: (name, stride, padding, dilation): each changes one of the three from the plain case.
SPD_SIDE, SPD_KERNEL = 7, 3
SPD_CASES = (("plain", 1, 0, 1), ("stride", 2, 0, 1), ("padding", 1, 1, 1), ("dilation", 1, 0, 2))

#: The names of the CNN's arrays this script reads (written by train.py's save_weights).
CONV1, CONV1_BIAS, CONV2 = "model.conv1.weight", "model.conv1.bias", "model.conv2.weight"
NORM1 = ("model.norm1.running_mean", "model.norm1.running_var", "model.norm1.weight", "model.norm1.bias")
#: BatchNorm2d's default epsilon, which the trained network used.
BN_EPS = 1e-5


@dataclass(frozen=True)
class Grid:
    """The sizes, kernels, strides, paddings and dilations over which the output-size formula is checked.

    No defaults here: every value comes from the ``convolutions.formula_grid`` section of the config schema
    (workflow/schemas/config.schema.yaml), the one place defaults live.
    """

    sizes: tuple[int, ...]
    kernels: tuple[int, ...]
    strides: tuple[int, ...]
    paddings: tuple[int, ...]
    dilations: tuple[int, ...]
    samples: int


@dataclass(frozen=True)
class Settings:
    """Every choice that decides the arrays: the seed, which image and row, the signal, the volume, the grid.

    No defaults here either: each field is a key of the config's ``convolutions`` section. ``test_image`` is
    ``None`` when the seed chooses the image.
    """

    seed: int
    test_image: int | None
    image_row: int
    signal_samples: int
    signal_rate_hz: float
    mains_hz: float
    signal_noise: float
    smooth_width: int
    volume_frames: int
    volume_shift: int
    volume_motion: str
    volume_kernel_depth: int
    multichannel_filter: int
    stack_filters: int
    learned_shown: int
    grid: Grid


# --------------------------------------------------------------------------------------------------------
# Inputs
# --------------------------------------------------------------------------------------------------------


def check_settings(s: Settings) -> None:
    """Refuse settings that would make an example meaningless, naming the flag and what to do."""
    checks = [
        (s.signal_samples >= THREAD_1D_LENGTH, f"--signal-samples must be at least {THREAD_1D_LENGTH}"),
        (s.signal_rate_hz > 0 and s.mains_hz > 0, "--signal-rate-hz and --mains-hz must be positive"),
        (s.mains_hz < s.signal_rate_hz / 2, "--mains-hz must be below half of --signal-rate-hz (Nyquist)"),
        (math.isfinite(s.signal_noise) and s.signal_noise >= 0, "--signal-noise must be a finite number >= 0"),
        (2 <= s.smooth_width <= min(s.signal_samples, IMAGE_SIDE), "--smooth-width must be from 2 to 28"),
        (0 <= s.image_row < IMAGE_SIDE, f"--image-row must be from 0 to {IMAGE_SIDE - 1}"),
        (s.volume_frames >= 3, "--volume-frames must be at least 3"),
        (0 <= s.volume_shift <= 8, "--volume-shift must be from 0 to 8 pixels per frame"),
        (s.volume_motion in MOTIONS, f"--volume-motion must be one of {', '.join(MOTIONS)}"),
        (
            2 <= s.volume_kernel_depth < s.volume_frames,
            "--volume-kernel-depth must be at least 2 and smaller than --volume-frames (the thread's condition)",
        ),
        (s.multichannel_filter >= 1, "--multichannel-filter must be at least 1"),
        (s.stack_filters >= 1, "--stack-filters must be at least 1"),
        (s.learned_shown >= 1, "--learned-shown must be at least 1"),
        (s.grid.samples >= 0, "--grid-samples must be >= 0"),
    ]
    for ok, message in checks:
        if not ok:
            raise PipelineError(message)
    grid = s.grid
    for name, values, low in (
        ("sizes", grid.sizes, 1),
        ("kernels", grid.kernels, 1),
        ("strides", grid.strides, 1),
        ("paddings", grid.paddings, 0),
        ("dilations", grid.dilations, 1),
    ):
        if not values or min(values) < low or max(values) > 64:
            raise PipelineError(f"--grid-{name}: give one or more whole numbers from {low} to 64")


def pick_test_image(n_test: int, s: Settings) -> int:
    """The test image every example uses: ``--test-image`` if given, else one drawn with ``--seed``."""
    if s.test_image is None:
        return int(np.random.default_rng(s.seed).integers(n_test))
    if not 0 <= s.test_image < n_test:
        raise PipelineError(f"--test-image {s.test_image}: the dataset holds test images 0 to {n_test - 1}")
    return s.test_image


def mains_wave(s: Settings, phase: float = 0.0, samples: int | None = None) -> np.ndarray:
    """The noise-free mains-like waveform: a sine of amplitude 1 at ``mains_hz``, sampled at ``signal_rate_hz``."""
    n = s.signal_samples if samples is None else samples
    return np.sin(2 * np.pi * s.mains_hz * np.arange(n) / s.signal_rate_hz + phase)


def mains_signal(s: Settings, rng: np.random.Generator, phase: float = 0.0, samples: int | None = None) -> np.ndarray:
    """The waveform plus seeded Gaussian noise of standard deviation ``signal_noise``.

    Why a generated signal: the thread's example is "an electric signal"; a seeded formula gives one whose
    frequency and noise the page can state exactly, and whose noise-free version is known.
    """
    clean = mains_wave(s, phase, samples)
    return clean + s.signal_noise * rng.standard_normal(len(clean))


def read_weights(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The trained CNN's first-layer filters (and what the network applies after them), checked.

    Returns ``conv1`` (C, 1, k, k), optional ``bias``, optional batch-norm arrays ``norm``, ``conv2``
    (C2, C, k, k), and the normalisation ``mean``/``std`` the network was trained with.
    """
    arrays, meta = read_weights_file(path)
    if CONV1 not in arrays or CONV2 not in arrays:
        raise PipelineError(f"{path}: lacks {CONV1} or {CONV2}; it is not a weights file of train.py")
    conv1, conv2 = np.asarray(arrays[CONV1], np.float64), np.asarray(arrays[CONV2], np.float64)
    if conv1.ndim != 4 or conv1.shape[1] != 1 or conv1.shape[2] != conv1.shape[3]:
        raise PipelineError(f"{path}: {CONV1} has shape {conv1.shape}, expected (filters, 1, k, k) for grey images")
    if conv2.ndim != 4 or conv2.shape[1] != conv1.shape[0]:
        raise PipelineError(f"{path}: {CONV2} has shape {conv2.shape}, expected (filters, {conv1.shape[0]}, k, k)")
    norm = {key.rsplit(".", 1)[1]: np.asarray(arrays[key], np.float64) for key in NORM1 if key in arrays}
    return {
        "conv1": conv1,
        "bias": np.asarray(arrays[CONV1_BIAS], np.float64) if CONV1_BIAS in arrays else None,
        "norm": norm if len(norm) == len(NORM1) else None,
        "conv2": conv2,
        "mean": meta["mean"],
        "std": meta["std"],
    }


def check_cnn(weights: dict[str, Any], path: str | os.PathLike[str], s: Settings) -> None:
    """The CNN must have the layers the 28 x 28 x 6 example takes its input and kernel from."""
    c, k = THREAD_2D_CHANNELS, THREAD_2D_KERNEL
    if weights["conv1"].shape[0] < c or weights["conv2"].shape[2:] != (k, k):
        raise PipelineError(
            f"{path}: the 28 x 28 x 6 example needs at least {c} first-layer filters and {k} x {k} second-layer "
            f"kernels; the layers have shapes {weights['conv1'].shape} and {weights['conv2'].shape}"
        )
    if s.multichannel_filter > weights["conv2"].shape[0]:
        raise PipelineError(
            f"--multichannel-filter {s.multichannel_filter}: the CNN's second layer in {path} has "
            f"{weights['conv2'].shape[0]} filters"
        )


# --------------------------------------------------------------------------------------------------------
# One convolution, and the row of the shapes table it gives
# --------------------------------------------------------------------------------------------------------

CONV = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}


def output_size(n: int, k: int, stride: int = 1, padding: int = 0, dilation: int = 1) -> int:
    """The output length along one axis: ``floor((n + 2p - d(k - 1) - 1) / s) + 1`` (PyTorch's documentation).

    A value below 1 means the kernel does not fit anywhere: torch refuses such a call.
    """
    return (n + 2 * padding - dilation * (k - 1) - 1) // stride + 1


def convolve(x: np.ndarray, w: np.ndarray, dims: int, stride: int = 1, padding: int = 0, dilation: int = 1) -> Any:
    """Run ``conv{dims}d`` on float64 copies of ``x`` (N, C, *spatial) and ``w`` (out, C, *kernel)."""
    return CONV[dims](
        torch.from_numpy(np.ascontiguousarray(x, dtype=np.float64)),
        torch.from_numpy(np.ascontiguousarray(w, dtype=np.float64)),
        stride=stride,
        padding=padding,
        dilation=dilation,
    )


def extent(spatial: Sequence[int], channels: int) -> list[int]:
    """A shape the way the thread writes it: the spatial sizes, then the channels (depth) if more than one."""
    return [*spatial, channels] if channels > 1 else list(spatial)


def shape_row(name: str, label: str, dims: int, x: Any, w: Any, y: Any, padding: int = 0, bias: int = 0) -> dict:
    """The shapes-table row of one convolution, read from the tensors torch took and returned.

    ``directions`` counts the spatial axes along which the kernel had more than one position: a kernel as deep
    as its input has one position along that axis, so it does not move along it.
    """
    spatial_in, kernel, positions = list(x.shape[2:]), list(w.shape[2:]), list(y.shape[2:])
    formula = [output_size(n, k, 1, padding) for n, k in zip(spatial_in, kernel, strict=True)]
    return {
        "name": name,
        "label": label,
        "function": f"conv{dims}d",
        "dimension": dims,
        "input_shape": list(x.shape),
        "kernel_shape": list(w.shape),
        "output_shape": list(y.shape),
        "input_extent": extent(spatial_in, int(x.shape[1])),
        "kernel_extent": extent(kernel, int(w.shape[1])),
        "output_extent": extent(positions, int(y.shape[1])),
        "in_channels": int(x.shape[1]),
        "out_channels": int(y.shape[1]),
        "padding": padding,
        "stride": 1,
        "positions": positions,
        "directions": sum(1 for p in positions if p > 1),
        "output_spatial_axes": len(positions),
        "parameters": int(np.prod(w.shape)) + bias,
        "kernel_fits": all(k <= n + 2 * padding for n, k in zip(spatial_in, kernel, strict=True)),
        "formula_positions": formula,
        "formula_matches": formula == positions,
    }


# --------------------------------------------------------------------------------------------------------
# The examples
# --------------------------------------------------------------------------------------------------------


def smoothing_kernel(width: int) -> np.ndarray:
    """A moving average: every weight 1/width, so a constant signal passes unchanged."""
    return np.full(width, 1.0 / width)


def one_d(s: Settings, image: np.ndarray, rng: np.random.Generator) -> tuple[dict, list[dict], dict]:
    """The signal and the image row, each with the smoothing and the edge kernel (conv1d)."""
    signal = mains_signal(s, rng)
    row = image[s.image_row]
    smooth = smoothing_kernel(s.smooth_width)
    arrays: dict[str, np.ndarray] = {
        "signal_time_s": np.arange(s.signal_samples) / s.signal_rate_hz,
        "signal": signal,
        "kernel_smooth": smooth,
        "kernel_edge": EDGE_1D,
        "row": row,
    }
    rows = []
    for source, values, what in (("signal", signal, "signal"), ("row", row, f"image row {s.image_row}")):
        for kind, kernel, word in (("smooth", smooth, "smoothing"), ("edge", EDGE_1D, "edge")):
            x, w = values[None, None, :], kernel[None, None, :]
            y = convolve(x, w, 1)
            arrays[f"{source}_{kind}"] = y.numpy()[0, 0]
            rows.append(shape_row(f"{source}_{kind}", f"{what}, {word}", 1, x, w, y))
    # torch's conv1d is a cross-correlation: it equals numpy.correlate, not numpy.convolve (which flips).
    edge = arrays["signal_edge"]
    check = {
        "max_abs_difference_from_numpy_correlate": float(np.abs(edge - np.correlate(signal, EDGE_1D, "valid")).max()),
        "max_abs_difference_from_numpy_convolve": float(np.abs(edge - np.convolve(signal, EDGE_1D, "valid")).max()),
    }
    check.update(smoothing_effect(s, signal, arrays["signal_smooth"]))
    check.update(edge_effect(s, signal, edge))
    return arrays, rows, check


def rms(values: np.ndarray) -> float:
    """Root mean square."""
    return float(np.sqrt(np.mean(np.square(values))))


def edge_effect(s: Settings, noisy: np.ndarray, edge: np.ndarray) -> dict:
    """What the edge kernel does to the sine and to the noise, and where its output is largest.

    The noise's share is its root mean square over the sine's (or, in the output, over the output of the
    noise-free sine): a difference of neighbouring samples passes fast changes and damps slow ones, so the share
    grows. ``edge_peak_phase_deg`` is the sine's phase at the centre of the window with the largest output
    (0 = an upward zero crossing, where the sine rises fastest).
    """
    clean = mains_wave(s)
    clean_edge = np.correlate(clean, EDGE_1D, "valid")
    peak = int(np.argmax(edge)) + (len(EDGE_1D) - 1) // 2  # the window's centre, in samples
    phase = (360.0 * s.mains_hz * peak / s.signal_rate_hz) % 360.0
    return {
        "noise_share_input": rms(noisy - clean) / rms(clean),
        "noise_share_edge": rms(edge - clean_edge) / rms(clean_edge),
        "edge_peak_sample": peak,
        "edge_peak_phase_deg": phase - 360.0 if phase >= 180.0 else phase,
    }


def row_edges(row: np.ndarray, edge: np.ndarray) -> dict:
    """Where the image row has ink and where the edge kernel answers most (pixel columns, 0 = left).

    ``edge_max_column`` is the centre of the window where ink grows most to the right, ``edge_min_column`` where
    it shrinks most; the ink span is the first and last column above ``INK``.
    """
    inked = np.flatnonzero(row > INK)
    offset = (len(EDGE_1D) - 1) // 2
    return {
        "ink_threshold": INK,
        "ink_max": float(row.max()),
        "ink_first_column": int(inked[0]) if inked.size else None,
        "ink_last_column": int(inked[-1]) if inked.size else None,
        "edge_max": float(edge.max()),
        "edge_min": float(edge.min()),
        "edge_max_column": int(np.argmax(edge)) + offset,
        "edge_min_column": int(np.argmin(edge)) + offset,
    }


def smoothing_effect(s: Settings, noisy: np.ndarray, smoothed: np.ndarray) -> dict:
    """How far the input and the smoothed output lie from the noise-free waveform (root mean square).

    Each output value is compared with the waveform at the centre of its window; the waveform itself passes
    the moving average slightly damped, so what remains is that damping plus the noise left over.
    """
    clean = mains_wave(s)
    offset = (s.smooth_width - 1) // 2
    centre = clean[offset : offset + len(smoothed)]
    if s.smooth_width % 2 == 0:  # an even window's centre lies between two samples
        centre = 0.5 * (centre + clean[offset + 1 : offset + 1 + len(smoothed)])
    return {
        "rms_from_clean_input": float(np.sqrt(np.mean((noisy - clean) ** 2))),
        "rms_from_clean_smoothed": float(np.sqrt(np.mean((smoothed - centre) ** 2))),
    }


def one_d_over_2d(s: Settings, rng: np.random.Generator) -> tuple[dict, dict]:
    """The thread's case: 20 time steps of 8 sensors, one width-3 kernel that spans all 8 (so 3 x 8).

    The sensors read the same mains waveform at eight phases; the kernel's weights are drawn like a fresh
    Conv1d layer's (uniform in +-1/sqrt(fan-in)), since the point is the shapes, not what it detects.
    """
    phases = 2 * np.pi * np.arange(THREAD_1D_FEATURES) / THREAD_1D_FEATURES
    sensors = np.stack([mains_signal(s, rng, phase, THREAD_1D_LENGTH) for phase in phases])  # (8, 20)
    bound = 1 / math.sqrt(THREAD_1D_FEATURES * THREAD_1D_WIDTH)
    kernel = rng.uniform(-bound, bound, (THREAD_1D_FEATURES, THREAD_1D_WIDTH))
    x, w = sensors[None], kernel[None]
    y = convolve(x, w, 1)
    row = shape_row("over_2d", "20 × 8 sensors, width 3", 1, x, w, y)
    return {"over2d_input": sensors, "over2d_kernel": kernel, "over2d_output": y.numpy()[0, 0]}, row


def two_d_edges(image: np.ndarray) -> tuple[dict, list[dict]]:
    """Sobel x and y over the test image (conv2d, no padding: 28 x 28 -> 26 x 26)."""
    arrays: dict[str, np.ndarray] = {"sobel_x": SOBEL_X, "sobel_y": SOBEL_Y}
    rows = []
    for name, kernel in (("sobel_x", SOBEL_X), ("sobel_y", SOBEL_Y)):
        x, w = image[None, None], kernel[None, None]
        y = convolve(x, w, 2)
        arrays[f"{name}_output"] = y.numpy()[0, 0]
        rows.append(shape_row(name, f"image, {name.replace('_', ' ').capitalize()}", 2, x, w, y))
    return arrays, rows


def outline_response(image: np.ndarray, sobel_x: np.ndarray, sobel_y: np.ndarray) -> dict:
    """How strongly each Sobel map answers on the garment's left/right outlines and on its top/bottom ones.

    An outline pixel is an ink pixel (above ``INK``) with a background neighbour: left/right when that neighbour
    is beside it (and none above or below), top/bottom when it is above or below (and none beside). The means
    are of the absolute Sobel response at those pixels (output (i, j) is centred on image pixel (i + 1, j + 1));
    None where the image has no such pixel.
    """
    ink = image > INK
    inner = ink[1:-1, 1:-1]
    side = inner & (~ink[1:-1, :-2] | ~ink[1:-1, 2:])
    vertical = inner & (~ink[:-2, 1:-1] | ~ink[2:, 1:-1])
    left_right, top_bottom = side & ~vertical, vertical & ~side

    def mean(values: np.ndarray, mask: np.ndarray) -> float | None:
        return float(np.abs(values[mask]).mean()) if mask.any() else None

    return {
        "ink_threshold": INK,
        "left_right_pixels": int(left_right.sum()),
        "top_bottom_pixels": int(top_bottom.sum()),
        "sobel_x_on_left_right": mean(sobel_x, left_right),
        "sobel_x_on_top_bottom": mean(sobel_x, top_bottom),
        "sobel_y_on_left_right": mean(sobel_y, left_right),
        "sobel_y_on_top_bottom": mean(sobel_y, top_bottom),
    }


def feature_maps(normalised: np.ndarray, weights: dict) -> np.ndarray:
    """The first layer's outputs as the network passes them on: conv1 (padding 1), batch norm, ReLU."""
    y = convolve(normalised[None, None], weights["conv1"], 2, padding=1)
    if weights["bias"] is not None:
        y = y + torch.from_numpy(weights["bias"])[None, :, None, None]
    if weights["norm"] is not None:
        n = weights["norm"]
        y = F.batch_norm(
            y,
            torch.from_numpy(n["running_mean"]),
            torch.from_numpy(n["running_var"]),
            torch.from_numpy(n["weight"]),
            torch.from_numpy(n["bias"]),
            training=False,
            eps=BN_EPS,
        )
    return F.relu(y).numpy()[0]


def multichannel(normalised: np.ndarray, weights: dict, s: Settings) -> tuple[dict, list[dict], dict]:
    """The thread's 28 x 28 x 6 input with a 3 x 3 kernel, made real.

    The input is built from the trained CNN: the first six feature maps its first layer makes of the test image
    (after batch norm and ReLU, before the max-pooling that halves them; ``second_layer`` records what the
    second layer really receives). The kernel is the trained second layer's filter ``--multichannel-filter``
    restricted to those six channels, so it is a 3 x 3 x 6 array. The output is checked to equal the sum of six
    separate 2D convolutions, one per channel: the kernel's depth is used up in one position, it does not move
    along it.
    """
    c = THREAD_2D_CHANNELS
    x = feature_maps(normalised, weights)[:c][None]  # (1, 6, 28, 28)
    w = weights["conv2"][s.multichannel_filter - 1 : s.multichannel_filter, :c]  # (1, 6, 3, 3)
    y = convolve(x, w, 2)
    y_pad = convolve(x, w, 2, padding=1)
    parts = np.stack([convolve(x[:, i : i + 1], w[:, i : i + 1], 2).numpy()[0, 0] for i in range(c)])
    out = y.numpy()[0, 0]
    arrays = {
        "multi_input": x[0],
        "multi_kernel": w[0],
        "multi_output": out,
        "multi_parts": parts,
        "multi_output_padded": y_pad.numpy()[0, 0],
    }
    rows = [
        shape_row("multichannel", "28 × 28 × 6 maps, 3 × 3", 2, x, w, y),
        shape_row("multichannel_padded", "the same, padding 1", 2, x, w, y_pad, padding=1),
    ]
    check = {
        "filter": s.multichannel_filter,
        "channels": c,
        "max_abs_difference_from_channel_sum": float(np.abs(out - parts.sum(axis=0)).max()),
        "output_abs_max": float(np.abs(out).max()),
    }
    return arrays, rows, check


def second_layer(weights_path: str | os.PathLike[str], normalised: np.ndarray, maps: np.ndarray) -> dict:
    """The shape the trained CNN's second layer really receives for the test image, from the network itself.

    The network is rebuilt from its weights file (``models.train.load_weights``) and run on the test image with
    hooks on its layers: what ``conv2`` receives, what ``conv1`` returns, and the first layer's maps as the
    network passes them on (batch norm and ReLU) compared with the float64 maps this script computes.
    """
    try:
        model, _ = load_weights(weights_path)
    except (KeyError, TypeError, ValueError, RuntimeError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise PipelineError(f"{weights_path}: cannot rebuild the CNN from its weights ({first})") from None
    seen: dict[str, torch.Tensor] = {}
    hooks = [
        model.conv1.register_forward_hook(lambda _m, _i, out: seen.update(conv1_out=out)),
        model.norm1.register_forward_hook(lambda _m, _i, out: seen.update(norm1_out=out)),
        model.conv2.register_forward_pre_hook(lambda _m, inputs: seen.update(conv2_in=inputs[0])),
        model.conv2.register_forward_hook(lambda _m, _i, out: seen.update(conv2_out=out)),
    ]
    with torch.no_grad():
        model(torch.from_numpy(np.ascontiguousarray(normalised, dtype=np.float32))[None, None])
    for hook in hooks:
        hook.remove()
    conv1_out, conv2_in = list(seen["conv1_out"].shape), list(seen["conv2_in"].shape)
    network_maps = F.relu(seen["norm1_out"]).double().numpy()[0]
    return {
        "input_shape": conv2_in,
        "input_extent": extent(conv2_in[2:], conv2_in[1]),
        "kernel_shape": list(model.conv2.weight.shape),
        "output_shape": list(seen["conv2_out"].shape),
        "first_layer_output_shape": conv1_out,
        "first_layer_output_extent": extent(conv1_out[2:], conv1_out[1]),
        "pooled": conv2_in[2:] != conv1_out[2:],
        "max_abs_difference_from_network": float(np.abs(network_maps - maps).max()),
    }


def filter_stats(filters: np.ndarray) -> dict:
    """How each learned filter weighs its 3 x 3 patch: brightness (weights of one sign) or contrast (cancelling).

    ``balance`` is |sum of weights| / sum of |weights|: 0 for a pure contrast (edge) detector, 1 for a filter
    whose weights share one sign. The Sobel correlations say which way an edge-like filter points.
    """
    flat = filters.reshape(len(filters), -1)
    balance = np.abs(flat.sum(axis=1)) / np.maximum(np.abs(flat).sum(axis=1), 1e-12)

    def corr(kernel: np.ndarray) -> np.ndarray:
        a = flat - flat.mean(axis=1, keepdims=True)
        b = kernel.ravel() - kernel.mean()
        return (a @ b) / np.maximum(np.linalg.norm(a, axis=1) * np.linalg.norm(b), 1e-12)

    cx, cy = corr(SOBEL_X), corr(SOBEL_Y)
    edge_like = balance < EDGE_LIKE_BELOW
    return {
        "balance": balance.tolist(),
        "sobel_x_correlation": cx.tolist(),
        "sobel_y_correlation": cy.tolist(),
        "edge_like": edge_like.tolist(),
        "edge_like_count": int(edge_like.sum()),
        "edge_like_below": EDGE_LIKE_BELOW,
    }


def filter_kinds(filters: np.ndarray, edge_like: Sequence[bool]) -> list[str]:
    """Each filter's kind: "edge" (its weights nearly cancel), else "ink" (positive sum: it answers to the
    garment) or "paper" (negative sum: to the background)."""
    sums = filters.reshape(len(filters), -1).sum(axis=1)
    return ["edge" if edge else ("ink" if total > 0 else "paper") for edge, total in zip(edge_like, sums, strict=True)]


def shown_filters(kinds: Sequence[str], strength: np.ndarray, count: int) -> list[int]:
    """Which filters the figure draws large (1-based, in filter order): the kinds take turns (edge, ink, paper),
    each giving its filter with the strongest map (mean absolute value) not yet chosen, until ``count`` are
    chosen or none is left.

    Why by kind: the strongest maps are mostly ink and paper filters; taking turns shows every kind the page
    names.
    """
    queues = {
        kind: sorted((i for i, k in enumerate(kinds) if k == kind), key=lambda i: (-strength[i], i))
        for kind in ("edge", "ink", "paper")
    }
    chosen: list[int] = []
    while len(chosen) < min(count, len(kinds)):
        for kind in ("edge", "ink", "paper"):
            if queues[kind] and len(chosen) < count:
                chosen.append(queues[kind].pop(0))
    return sorted(i + 1 for i in chosen)


def learned(normalised: np.ndarray, weights: dict, s: Settings) -> tuple[dict, dict, dict]:
    """The CNN's first-layer filters and their raw feature maps (conv2d as the network runs it: padding 1)."""
    w = weights["conv1"]
    x = normalised[None, None]
    y = convolve(x, w, 2, padding=1)
    maps = y.numpy()[0]
    bias = 0 if weights["bias"] is None else len(weights["bias"])
    row = shape_row("learned", "image, CNN's first layer", 2, x, w, y, padding=1, bias=bias)
    stats = filter_stats(w[:, 0])
    stats.update(
        {
            "n_filters": int(w.shape[0]),
            "kernel_size": int(w.shape[2]),
            "has_bias": weights["bias"] is not None,
            "batch_norm": weights["norm"] is not None,
            "map_abs_mean": np.abs(maps).reshape(len(maps), -1).mean(axis=1).tolist(),
            "weight_abs_max": float(np.abs(w).max()),
        }
    )
    kinds = filter_kinds(w[:, 0], stats["edge_like"])
    strength = np.abs(maps).reshape(len(maps), -1).mean(axis=1)
    stats["kinds"] = kinds
    stats["kind_counts"] = {kind: kinds.count(kind) for kind in ("edge", "ink", "paper")}
    stats["shown"] = shown_filters(kinds, strength, s.learned_shown)
    return {"learned_input": normalised, "learned_filters": w[:, 0], "learned_maps": maps}, row, stats


def stack(normalised: np.ndarray, weights: dict, s: Settings, learned_stats: dict) -> tuple[dict, dict, dict]:
    """Several filters on one input: their maps stack into one output with a channel per filter.

    The filters are ``--stack-filters`` of the CNN's first layer, chosen as the large drawing of the learned
    filters chooses (the kinds in turn, each kind's strongest map first), in filter order; one conv2d call
    with all of them at once (weight filters x 1 x 3 x 3, padding 1 as in the network) returns an output with
    one channel per filter.
    """
    strength = np.asarray(learned_stats["map_abs_mean"])
    picked = [i - 1 for i in shown_filters(learned_stats["kinds"], strength, s.stack_filters)]
    count = len(picked)
    w = weights["conv1"][picked]
    x = normalised[None, None]
    y = convolve(x, w, 2, padding=1)
    noun = "filter" if count == 1 else "filters"
    row = shape_row("stack", f"image, {count} of the CNN's {noun}", 2, x, w, y, padding=1)
    info = {"filters": [i + 1 for i in picked], "count": count, "requested": s.stack_filters}
    return {"stack_filters": w[:, 0], "stack_maps": y.numpy()[0]}, row, info


#: The four directions an image can slide in: (name, rows per step, columns per step).
DIRECTIONS: tuple[tuple[str, int, int], ...] = (("down", 1, 0), ("up", -1, 0), ("right", 0, 1), ("left", 0, -1))


def empty_margins(image: np.ndarray, ink: float = 0.05) -> dict[str, int]:
    """How many all-background rows or columns the image has on each side (below, above, right, left)."""
    rows, cols = np.flatnonzero((image > ink).any(axis=1)), np.flatnonzero((image > ink).any(axis=0))
    if rows.size == 0:
        return {"down": image.shape[0], "up": image.shape[0], "right": image.shape[1], "left": image.shape[1]}
    return {
        "down": int(image.shape[0] - 1 - rows[-1]),
        "up": int(rows[0]),
        "right": int(image.shape[1] - 1 - cols[-1]),
        "left": int(cols[0]),
    }


def slide_direction(image: np.ndarray) -> tuple[str, int, int]:
    """The direction towards the image's widest empty margin, so the moving garment has the most room and both
    its leading and trailing outlines show (ties: the order of ``DIRECTIONS``)."""
    margins = empty_margins(image)
    return max(DIRECTIONS, key=lambda d: (margins[d[0]], -DIRECTIONS.index(d)))


def motion_steps(frames: int, motion: str) -> list[bool]:
    """Whether the image moves between each frame and the next (``frames - 1`` transitions).

    ``move-stop``: it moves for the first half of the transitions (rounded up), then stands still;
    ``stop-move``: still for the first half (rounded down), then moving; ``uniform``: it moves at every one.
    """
    transitions = frames - 1
    moving = (transitions + 1) // 2
    if motion == "move-stop":
        return [t < moving for t in range(transitions)]
    if motion == "stop-move":
        return [t >= transitions - moving for t in range(transitions)]
    if motion == "uniform":
        return [True] * transitions
    raise PipelineError(f"--volume-motion {motion!r}: choose one of {', '.join(MOTIONS)}")


def motion_offsets(steps: Sequence[bool], shift: int) -> list[int]:
    """The image's offset in pixels in each frame: ``shift`` more after every transition in which it moves."""
    return [shift * sum(steps[:t]) for t in range(len(steps) + 1)]


def sliding_frames(image: np.ndarray, offsets: Sequence[int], step: tuple[int, int]) -> np.ndarray:
    """A short video: the image moved ``offsets[t]`` pixels along ``step`` (rows, columns) in frame t,
    background filling in behind it and whatever leaves the frame cut off."""
    video = np.zeros((len(offsets), *image.shape))
    side_r, side_c = image.shape
    for t, offset in enumerate(offsets):
        dr, dc = offset * step[0], offset * step[1]
        if abs(dr) >= side_r or abs(dc) >= side_c:
            continue  # moved out of the picture entirely
        src_r, dst_r = slice(max(0, -dr), side_r - max(0, dr)), slice(max(0, dr), side_r - max(0, -dr))
        src_c, dst_c = slice(max(0, -dc), side_c - max(0, dc)), slice(max(0, dc), side_c - max(0, -dc))
        video[t, dst_r, dst_c] = image[src_r, src_c]
    return video


def motion_kernel(depth: int) -> np.ndarray:
    """A depth x 3 x 3 kernel: a 3 x 3 average in space times a ramp in time from -1 to +1 (later minus earlier).

    Its weights sum to 0, so it answers "how much ink did this neighbourhood gain over ``depth`` frames": 0
    wherever the neighbourhood is the same in every frame of its window, non-zero where something moves.
    """
    ramp = np.linspace(-1.0, 1.0, depth)
    return ramp[:, None, None] * np.full((3, 3), 1 / 9)[None]


def frame_list(frames: Sequence[int]) -> list[int]:
    """Frame numbers as people count them (1-based), from 0-based indexes."""
    return [int(f) + 1 for f in frames]


def volume_response(video: np.ndarray, output: np.ndarray, steps: Sequence[bool], depth: int) -> dict:
    """Which output frames answer, and why: whether their window of ``depth`` input frames holds a move and
    whether those frames differ at all (a move out of the picture leaves blank frames equal).

    Output frame j (0-based) reads input frames j to j + depth - 1, which span the transitions j to
    j + depth - 2. Frame numbers are 1-based, as on the page.
    """
    n_out = output.shape[0]
    peak = np.abs(output).reshape(n_out, -1).max(axis=1)
    moving = [j for j in range(n_out) if any(steps[j : j + depth - 1])]
    changing = [j for j in range(n_out) if np.abs(np.diff(video[j : j + depth], axis=0)).max() > ZERO]
    responding = [j for j in range(n_out) if peak[j] > ZERO]
    return {
        "output_frame_max": peak.tolist(),
        "responding_frames": frame_list(responding),
        "silent_frames": frame_list(j for j in range(n_out) if j not in responding),
        "moving_windows": frame_list(moving),
        "changing_windows": frame_list(changing),
    }


def three_d(image: np.ndarray, s: Settings) -> tuple[dict, list[dict], dict]:
    """The volume and its 3D convolutions: kernel depth below, equal to, and above the input's depth."""
    direction, dr, dc = slide_direction(image)
    # A shift of 0 pixels is no move at all, whatever the schedule says.
    steps = [moves and s.volume_shift > 0 for moves in motion_steps(s.volume_frames, s.volume_motion)]
    offsets = motion_offsets(steps, s.volume_shift)
    video = sliding_frames(image, offsets, (dr, dc))
    x = video[None, None]
    arrays: dict[str, np.ndarray] = {"volume_input": video}
    rows, cases = [], []
    depths = (s.volume_kernel_depth, s.volume_frames, s.volume_frames + 1)
    for name, depth in zip(("volume", "volume_full_depth", "volume_too_deep"), depths, strict=True):
        kernel = motion_kernel(depth) if depth < s.volume_frames else np.full((depth, 3, 3), 1 / (9 * depth))
        w = kernel[None, None]
        case = {"name": name, "kernel_depth": depth, "input_depth": s.volume_frames}
        try:
            y = convolve(x, w, 3)
        except RuntimeError as exc:
            case.update({"output_shape": None, "directions": None, "error": str(exc).splitlines()[0]})
            case["formula_depth"] = output_size(s.volume_frames, depth)
            cases.append(case)
            continue
        label = f"{s.volume_frames}-frame video, depth {depth}"
        row = shape_row(name, label, 3, x, w, y)
        rows.append(row)
        arrays[f"{name}_kernel"] = kernel
        arrays[f"{name}_output"] = y.numpy()[0, 0]
        case.update({"output_shape": row["output_shape"], "directions": row["directions"], "error": None})
        case["formula_depth"] = row["formula_positions"][0]
        cases.append(case)
    ink = float(image.sum())
    info = {
        "cases": cases,
        "frames": s.volume_frames,
        "shift_px": s.volume_shift,
        "direction": direction,
        "motion": s.volume_motion,
        "moves": steps,
        "offsets": offsets,
        "ink_total": ink,
        "ink_share": [float(frame.sum()) / ink if ink > 0 else 1.0 for frame in video],
        "kept_share": KEPT,
        **volume_response(video, arrays["volume_output"], steps, s.volume_kernel_depth),
    }
    return arrays, rows, {**info, "margins": empty_margins(image)}


# --------------------------------------------------------------------------------------------------------
# Stride, padding and dilation, drawn
# --------------------------------------------------------------------------------------------------------


def reads(side: int, kernel: int, stride: int, padding: int, dilation: int, position: tuple[int, int]) -> np.ndarray:
    """Which cells of the padded input one output reads, found by torch: the gradient of that output with
    respect to the padded input is 1 exactly at the cells under the kernel's taps (every weight 1)."""
    padded = torch.zeros((1, 1, side + 2 * padding, side + 2 * padding), dtype=torch.float64, requires_grad=True)
    weight = torch.ones((1, 1, kernel, kernel), dtype=torch.float64)
    out = F.conv2d(padded, weight, stride=stride, dilation=dilation)
    out[0, 0, position[0], position[1]].backward()
    return padded.grad.numpy()[0, 0] != 0


def stride_padding_dilation() -> tuple[dict, dict]:
    """The four cases of ``SPD_CASES`` on a ``SPD_SIDE`` x ``SPD_SIDE`` input with a ``SPD_KERNEL`` x
    ``SPD_KERNEL`` kernel: torch's output size, and the cells that the first output and its neighbour along x read.

    Arrays (each case on one grid with room for the widest padding): ``spd_cells`` marks what a cell is (0 not
    part of this case's input, 1 padding, 2 input), ``spd_reads`` which cells output (1, 1) and output (1, 2)
    read (case, output, row, column).
    """
    margin = max(p for _, _, p, _ in SPD_CASES)
    grid = SPD_SIDE + 2 * margin
    cells = np.zeros((len(SPD_CASES), grid, grid))
    read = np.zeros((len(SPD_CASES), 2, grid, grid))
    cases = []
    for i, (name, s, p, d) in enumerate(SPD_CASES):
        x = np.zeros((1, 1, SPD_SIDE, SPD_SIDE))
        y = convolve(x, np.ones((1, 1, SPD_KERNEL, SPD_KERNEL)), 2, stride=s, padding=p, dilation=d)
        lo = margin - p
        cells[i, lo : lo + SPD_SIDE + 2 * p, lo : lo + SPD_SIDE + 2 * p] = 1
        cells[i, margin : margin + SPD_SIDE, margin : margin + SPD_SIDE] = 2
        first, second = (reads(SPD_SIDE, SPD_KERNEL, s, p, d, (0, j)) for j in (0, 1))
        read[i, 0, lo : lo + SPD_SIDE + 2 * p, lo : lo + SPD_SIDE + 2 * p] = first
        read[i, 1, lo : lo + SPD_SIDE + 2 * p, lo : lo + SPD_SIDE + 2 * p] = second
        rows, cols = np.nonzero(first)
        cases.append(
            {
                "name": name,
                "stride": s,
                "padding": p,
                "dilation": d,
                "output_shape": list(y.shape),
                "output_side": int(y.shape[-1]),
                "formula_side": output_size(SPD_SIDE, SPD_KERNEL, s, p, d),
                "first_reads_padding": int(sum(cells[i, r + lo, c + lo] == 1 for r, c in zip(rows, cols, strict=True))),
                "first_span": int(cols.max() - cols.min() + 1),
                "second_offset": int(np.nonzero(second)[1].min() - cols.min()),
            }
        )
    info = {"input_side": SPD_SIDE, "kernel": SPD_KERNEL, "margin": margin, "cases": cases}
    return {"spd_cells": cells, "spd_reads": read}, info


# --------------------------------------------------------------------------------------------------------
# The output-size formula against torch
# --------------------------------------------------------------------------------------------------------


def torch_positions(dims: int, sizes: Sequence[int], kernels: Sequence[int], stride: Sequence[int],
                    padding: Sequence[int], dilation: Sequence[int]) -> list[int] | None:  # fmt: skip
    """The output's spatial sizes torch gives for one case, or None when torch refuses it (kernel too large)."""
    x = np.zeros((1, 1, *sizes))
    w = np.ones((1, 1, *kernels))
    try:
        y = CONV[dims](
            torch.from_numpy(x), torch.from_numpy(w), stride=tuple(stride), padding=tuple(padding),
            dilation=tuple(dilation),
        )  # fmt: skip
    except RuntimeError:
        return None
    return list(y.shape[2:])


def grid_cases(grid: Grid, seed: int) -> list[tuple[int, list[tuple[int, int, int, int, int]]]]:
    """Every 1D combination of the grid, plus ``samples`` seeded 2D and 3D cases with per-axis values drawn
    from the same lists (so the axes of one case differ, as they may in real layers)."""
    lists = (grid.sizes, grid.kernels, grid.strides, grid.paddings, grid.dilations)
    cases = [(1, [combo]) for combo in itertools.product(*lists)]
    rng = np.random.default_rng([seed, 2])
    for dims in (2, 3):
        for _ in range(grid.samples):
            axes = [tuple(int(values[rng.integers(len(values))]) for values in lists) for _ in range(dims)]
            cases.append((dims, axes))
    return cases


def formula_check(grid: Grid, seed: int) -> dict:
    """Count the cases in which the formula and torch agree: same sizes, or both say the kernel does not fit."""
    matched, mismatches, no_output = 0, [], 0
    by_dim: dict[str, dict[str, int]] = {}
    for dims, axes in grid_cases(grid, seed):
        n, k, s, p, d = (list(v) for v in zip(*axes, strict=True))
        expected = [output_size(*a) for a in zip(n, k, s, p, d, strict=True)]
        got = torch_positions(dims, n, k, s, p, d)
        fits = all(e >= 1 for e in expected)
        ok = (got is None and not fits) or got == expected
        tally = by_dim.setdefault(f"{dims}d", {"cases": 0, "matched": 0})
        tally["cases"] += 1
        tally["matched"] += ok
        matched += ok
        no_output += got is None and not fits
        if not ok:
            mismatches.append({"dims": dims, "n": n, "k": k, "s": s, "p": p, "d": d, "formula": expected, "torch": got})
    return {
        "formula": "floor((n + 2p - d(k - 1) - 1) / s) + 1",
        "grid": asdict(grid),
        "cases": sum(t["cases"] for t in by_dim.values()),
        "matched": matched,
        "no_output_cases": no_output,
        "by_dimension": by_dim,
        "mismatches": mismatches,
    }


# --------------------------------------------------------------------------------------------------------
# Everything together
# --------------------------------------------------------------------------------------------------------


def compute(data_path: str | os.PathLike[str], weights_path: str | os.PathLike[str], s: Settings) -> tuple[dict, dict]:
    """Run every example; return the arrays (for the figures) and the metrics (shapes table, checks, choices)."""
    check_settings(s)
    test = load_split(data_path, "test")
    index = pick_test_image(len(test), s)
    image = np.asarray(test.images[index], dtype=np.float64) / 255.0
    label = int(test.labels[index])
    weights = read_weights(weights_path)
    check_cnn(weights, weights_path, s)
    normalised = (image - weights["mean"]) / weights["std"]
    rng = np.random.default_rng([s.seed, 1])

    arrays: dict[str, np.ndarray] = {"image": image}
    a1, rows_1d, checks_1d = one_d(s, image, rng)
    a2, row_over = one_d_over_2d(s, rng)
    a3, rows_edges = two_d_edges(image)
    a5, row_learned, filters = learned(normalised, weights, s)
    a7, row_stack, stacked = stack(normalised, weights, s, filters)
    a4, rows_multi, multi = multichannel(normalised, weights, s)
    a6, rows_3d, depth = three_d(image, s)
    a8, spd = stride_padding_dilation()
    for part in (a1, a2, a3, a7, a4, a5, a6, a8):
        arrays.update(part)
    examples = [*rows_1d, row_over, *rows_edges, row_stack, *rows_multi, row_learned, *rows_3d]
    metrics = {
        "image": {"split": "test", "index": index, "label": label, "class": CLASS_NAMES[label], "row": s.image_row},
        "image_row": row_edges(arrays["row"], arrays["row_edge"]),
        "outlines": outline_response(image, arrays["sobel_x_output"], arrays["sobel_y_output"]),
        "settings": {**asdict(s), "grid": asdict(s.grid)},
        "signal": {
            "samples": s.signal_samples,
            "rate_hz": s.signal_rate_hz,
            "mains_hz": s.mains_hz,
            "noise_std": s.signal_noise,
            "duration_s": s.signal_samples / s.signal_rate_hz,
            "smooth_width": s.smooth_width,
            "edge_kernel": EDGE_1D.tolist(),
            **{key: value for key, value in checks_1d.items() if not key.startswith("max_abs_")},
        },
        "thread_cases": {
            "one_d_over_2d": {"length": THREAD_1D_LENGTH, "features": THREAD_1D_FEATURES, "width": THREAD_1D_WIDTH},
            "multichannel": {"side": THREAD_2D_SIDE, "channels": THREAD_2D_CHANNELS, "kernel": THREAD_2D_KERNEL},
        },
        "examples": examples,
        "cross_correlation": {key: value for key, value in checks_1d.items() if key.startswith("max_abs_")},
        "multichannel": multi,
        "second_layer": second_layer(weights_path, normalised, feature_maps(normalised, weights)),
        "stack": stacked,
        "learned": {**filters, "normalisation": {"mean": weights["mean"], "std": weights["std"]}},
        "depth_condition": depth,
        "stride_padding_dilation": spd,
        "formula_check": formula_check(s.grid, s.seed),
        "torch_version": torch.__version__,
    }
    return arrays, rounded(metrics)


def settings_from(args: argparse.Namespace) -> Settings:
    """Build the settings from the parsed flags."""
    grid = Grid(
        sizes=tuple(args.grid_sizes),
        kernels=tuple(args.grid_kernels),
        strides=tuple(args.grid_strides),
        paddings=tuple(args.grid_paddings),
        dilations=tuple(args.grid_dilations),
        samples=args.grid_samples,
    )
    return Settings(
        seed=args.seed,
        test_image=args.test_image,
        image_row=args.image_row,
        signal_samples=args.signal_samples,
        signal_rate_hz=args.signal_rate_hz,
        mains_hz=args.mains_hz,
        signal_noise=args.signal_noise,
        smooth_width=args.smooth_width,
        volume_frames=args.volume_frames,
        volume_shift=args.volume_shift,
        volume_motion=args.volume_motion,
        volume_kernel_depth=args.volume_kernel_depth,
        multichannel_filter=args.multichannel_filter,
        stack_filters=args.stack_filters,
        learned_shown=args.learned_shown,
        grid=grid,
    )


def build_parser() -> ArgumentParser:
    """The command line: inputs, outputs and one required flag per setting (their defaults live in the config
    schema; only ``--test-image`` may be left out, and then the seed draws the image)."""
    p = ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", type=input_file, required=True, help="prepared dataset (.npy) written by prepare.py")
    p.add_argument(
        "--weights", type=input_file, required=True, help="the trained CNN's weights.npz written by models/train.py"
    )
    p.add_argument("--arrays", type=Path, required=True, help="where to write inputs, kernels and outputs (.npz)")
    p.add_argument("--metrics", type=Path, required=True, help="where to write the shapes table and checks (.json)")
    p.add_argument("--seed", type=int, required=True, help="seed of the signal, the kernels drawn and the image")
    p.add_argument("--test-image", type=int, default=None, help="index of the test image (left out: drawn by seed)")
    p.add_argument("--image-row", type=int, required=True, help="row of the image for the 1D example")
    p.add_argument("--signal-samples", type=int, required=True, help="length of the signal")
    p.add_argument("--signal-rate-hz", type=float, required=True, help="samples per second")
    p.add_argument("--mains-hz", type=float, required=True, help="frequency of the mains-like waveform")
    p.add_argument("--signal-noise", type=float, required=True, help="standard deviation of the noise")
    p.add_argument("--smooth-width", type=int, required=True, help="width of the moving-average kernel")
    p.add_argument("--volume-frames", type=int, required=True, help="frames (depth) of the 3D volume")
    p.add_argument("--volume-shift", type=int, required=True, help="pixels the image moves per frame it moves")
    p.add_argument(
        "--volume-motion", choices=MOTIONS, required=True, help="when the image moves: " + ", ".join(MOTIONS)
    )
    p.add_argument("--volume-kernel-depth", type=int, required=True, help="depth of the 3D kernel")
    p.add_argument(
        "--multichannel-filter", type=int, required=True,
        help="which second-layer filter (1-based) of the CNN is the 3 x 3 x 6 kernel",
    )  # fmt: skip
    p.add_argument("--stack-filters", type=int, required=True, help="first-layer filters whose maps are stacked")
    p.add_argument("--learned-shown", type=int, required=True, help="first-layer filters drawn large")
    for name in ("sizes", "kernels", "strides", "paddings", "dilations"):
        p.add_argument(f"--grid-{name}", type=int, nargs="+", required=True, help=f"formula check: {name}")
    p.add_argument("--grid-samples", type=int, required=True, help="formula check: 2D and 3D cases each")
    p.add_argument("--threads", type=int, default=1, help="torch threads (default 1; the examples are tiny)")
    return p


def main(argv: Sequence[str] | None = None) -> None:
    """Parse the flags, compute every example deterministically and write the arrays and the metrics."""
    args = build_parser().parse_args(argv)
    if args.threads < 1:
        raise PipelineError(f"--threads must be at least 1, got {args.threads}")
    torch.set_num_threads(args.threads)
    torch.use_deterministic_algorithms(True)
    torch.manual_seed(0)  # nothing here draws from torch's generator; pinned all the same
    arrays, metrics = compute(args.data, args.weights, settings_from(args))
    save_npz(args.arrays, **arrays)
    write_json(args.metrics, metrics)
    check = metrics["formula_check"]
    image = metrics["image"]
    print(f"test image {image['index']} ({image['class']}); {len(metrics['examples'])} convolutions")
    for row in metrics["examples"]:
        print(f"  {row['name']:>20}: {row['input_shape']} * {row['kernel_shape']} -> {row['output_shape']}"
              f" ({row['directions']} directions)")  # fmt: skip
    print(f"output-size formula matched torch in {check['matched']} of {check['cases']} cases")


if __name__ == "__main__":
    sys.exit(run_cli(main))
