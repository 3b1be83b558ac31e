"""Tiny inputs for the convolutions explainer's tests: prepared datasets, a CNN weights file, small settings, and a
helper that runs the explainer's steps (compute, claims, figures) into a folder laid out like results/.

The weights file is written with plain numpy in the layout models/train.py's ``save_weights`` uses (named arrays
for every layer of its ``Net`` and a JSON ``meta`` entry with the architecture settings), so these tests need no
training run, yet ``train.load_weights`` can rebuild the network from it. ``TINY_ARGS`` are the flags that make
convolutions/compute.py finish in well under a second once torch is imported.

``write_shapes_dataset`` holds drawn test images whose outcomes are known in advance: a solid rectangle (clear
outlines, room to move), a blank image (no ink at all) and a two-part garment whose row 14 gains most ink inside
the garment rather than where it starts.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from conftest import synthetic_images
from kit.dataset import TEST, TRAIN, make_records, save_records
from kit.io import save_npz

#: Filters of the tiny CNN's two layers (the 28 x 28 x 6 example needs at least 6 in the first).
FILTERS_1, FILTERS_2 = 8, 4

#: Units of the tiny CNN's hidden layer.
HIDDEN = 8

#: Flags for a quick run: a short signal, a 4-frame volume and a small formula grid. Every setting flag of
#: compute.py is required (the config's schema holds the defaults), so all are given; the rest are the defaults.
TINY_ARGS = [
    "--seed", "5", "--image-row", "14", "--signal-samples", "40", "--signal-rate-hz", "2000", "--mains-hz", "50",
    "--signal-noise", "0.08", "--smooth-width", "5", "--volume-frames", "4", "--volume-shift", "1",
    "--volume-motion", "move-stop", "--volume-kernel-depth", "2", "--multichannel-filter", "1",
    "--stack-filters", "3", "--learned-shown", "4",
    "--grid-sizes", "1", "3", "6", "--grid-kernels", "1", "3", "--grid-strides", "1", "2",
    "--grid-paddings", "0", "1", "--grid-dilations", "1", "2", "--grid-samples", "6",
]  # fmt: skip

#: The drawn test images of ``write_shapes_dataset``, by index.
RECTANGLE, BLANK, TWO_PART = 0, 1, 2


def with_flags(**changes: object) -> list[str]:
    """``TINY_ARGS`` with some flags changed (``volume_shift=8``) or added (``test_image=0``)."""
    args = [str(a) for a in TINY_ARGS]
    for key, value in changes.items():
        flag = "--" + key.replace("_", "-")
        if flag in args:
            args[args.index(flag) + 1] = str(value)
        else:
            args += [flag, str(value)]
    return args


def write_dataset(path: Path) -> Path:
    """A prepared dataset like dataset/prepare.py writes: 60 training images, then 20 test images."""
    train_x, train_y = synthetic_images(60, seed=11)
    test_x, test_y = synthetic_images(20, seed=12)
    save_records(path, np.concatenate([make_records(train_x, train_y, TRAIN), make_records(test_x, test_y, TEST)]))
    return path


def shapes_images() -> np.ndarray:
    """The drawn test images: ``RECTANGLE``, ``BLANK`` and ``TWO_PART`` (uint8, 28 x 28 each)."""
    images = np.zeros((3, 28, 28), dtype=np.uint8)
    images[RECTANGLE, 8:20, 9:19] = 200  # ink in columns 9 to 18, rows 8 to 19: 9 empty columns on either side
    images[TWO_PART, 6:22, 3:9] = 60  # a faint sleeve (0.24) ...
    images[TWO_PART, 6:22, 9:21] = 250  # ... joined to a dark body: row 14 gains most ink at column 9, not 3
    return images


def write_shapes_dataset(path: Path) -> Path:
    """A prepared dataset whose test images are ``shapes_images`` (the training images are synthetic)."""
    train_x, train_y = synthetic_images(30, seed=13)
    test_x = shapes_images()
    test_y = np.array([0, 1, 2], dtype=np.uint8)
    save_records(path, np.concatenate([make_records(train_x, train_y, TRAIN), make_records(test_x, test_y, TEST)]))
    return path


def weight_arrays(seed: int = 0, batch_norm: bool = True) -> dict[str, np.ndarray]:
    """The arrays of a tiny trained-CNN weights file: random weights, every layer of train.py's ``Net``."""
    rng = np.random.default_rng(seed)
    settings = {"channels": [FILTERS_1, FILTERS_2], "hidden": HIDDEN, "batch_norm": batch_norm, "dropout": 0.0}
    arrays = {
        "model.conv1.weight": rng.normal(0, 0.3, (FILTERS_1, 1, 3, 3)).astype(np.float32),
        "model.conv2.weight": rng.normal(0, 0.1, (FILTERS_2, FILTERS_1, 3, 3)).astype(np.float32),
        "model.fc1.weight": rng.normal(0, 0.1, (HIDDEN, FILTERS_2 * 7 * 7)).astype(np.float32),
        "model.fc1.bias": np.zeros(HIDDEN, np.float32),
        "model.fc2.weight": rng.normal(0, 0.1, (10, HIDDEN)).astype(np.float32),
        "model.fc2.bias": np.zeros(10, np.float32),
        "meta": np.array(json.dumps({"format": "ml-explainers-cnn/1", "mean": 0.3, "std": 0.35, "settings": settings})),
    }
    if batch_norm:
        for layer, n in (("norm1", FILTERS_1), ("norm2", FILTERS_2)):
            arrays |= {
                f"model.{layer}.running_mean": rng.normal(0, 0.1, n).astype(np.float32),
                f"model.{layer}.running_var": rng.uniform(0.5, 2, n).astype(np.float32),
                f"model.{layer}.weight": rng.uniform(0.5, 1.5, n).astype(np.float32),
                f"model.{layer}.bias": rng.normal(0, 0.1, n).astype(np.float32),
                f"model.{layer}.num_batches_tracked": np.array(100, dtype=np.int64),
            }
    else:
        arrays["model.conv1.bias"] = rng.normal(0, 0.1, FILTERS_1).astype(np.float32)
        arrays["model.conv2.bias"] = rng.normal(0, 0.1, FILTERS_2).astype(np.float32)
    return arrays


def write_weights(path: Path, arrays: dict[str, np.ndarray] | None = None) -> Path:
    """Write a weights file: ``arrays`` as given, or the default tiny CNN's."""
    path.parent.mkdir(parents=True, exist_ok=True)
    save_npz(path, **(weight_arrays() if arrays is None else arrays))
    return path


def run_steps(results: Path, data: Path, weights: Path, args: list[str], figures: dict) -> dict[str, Path]:
    """Run compute.py, claims.py and every figure script in-process into ``results`` (laid out like the
    pipeline's results/); return the paths: arrays, metrics, claims and one SVG per figure name."""
    from convolutions import claims as conv_claims
    from convolutions import compute as conv

    arrays, metrics = results / "convolutions" / "arrays.npz", results / "convolutions" / "metrics.json"
    conv.main([str(a) for a in ["--data", data, "--weights", weights, *args, "--arrays", arrays, "--metrics", metrics]])
    claims = results / "convolutions" / "claims.json"
    conv_claims.main(["--metrics", str(metrics), "--output", str(claims)])
    paths = {"arrays": arrays, "metrics": metrics, "claims": claims}
    for name, module in figures.items():
        svg = results / "figures" / "convolutions" / f"{name}.svg"
        module.main([str(a) for a in ["--arrays", arrays, "--metrics", metrics, "--output", svg,
                                      "--meta", svg.with_suffix(".json")]])  # fmt: skip
        paths[name] = svg
    return paths


def slide_arrays(seed: int = 0, samples: int = 30, side: int = 8) -> dict[str, np.ndarray]:
    """The arrays the sliding-kernel widgets read (convolutions/widgets.py), made up but consistent: a random
    signal and image, the page's kernels, and their valid cross-correlations as torch's outputs."""
    rng = np.random.default_rng(seed)
    signal = rng.normal(size=samples)
    image = rng.uniform(size=(side, side))
    smooth, edge = np.full(5, 0.2), np.array([-0.5, 0.0, 0.5])
    sobel_x = np.array([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]])
    sobel_y = sobel_x.T.copy()

    def correlate_2d(kernel: np.ndarray) -> np.ndarray:
        n = side - 2
        return np.array([[(image[r : r + 3, c : c + 3] * kernel).sum() for c in range(n)] for r in range(n)])

    return {
        "signal": signal,
        "kernel_smooth": smooth,
        "kernel_edge": edge,
        "signal_smooth": np.correlate(signal, smooth, "valid"),
        "signal_edge": np.correlate(signal, edge, "valid"),
        "image": image,
        "sobel_x": sobel_x,
        "sobel_y": sobel_y,
        "sobel_x_output": correlate_2d(sobel_x),
        "sobel_y_output": correlate_2d(sobel_y),
    }


def write_slide_arrays(path: Path, arrays: dict[str, np.ndarray] | None = None) -> Path:
    """Write ``slide_arrays()`` (or ``arrays``) as an arrays.npz."""
    path.parent.mkdir(parents=True, exist_ok=True)
    save_npz(path, **(slide_arrays() if arrays is None else arrays))
    return path
