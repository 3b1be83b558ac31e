"""Tiny inputs for the convolutions explainer's tests: a prepared dataset, a CNN weights file, small settings.

The weights file is written with plain numpy in the layout models/train.py's ``save_weights`` uses (named arrays
and a JSON ``meta`` entry), so these tests need neither a training run nor train.py. ``TINY_ARGS`` are the flags
that make convolutions/compute.py finish in well under a second once torch is imported.
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

#: Flags for a quick run: a short signal, a 4-frame volume and a small formula grid. Every setting flag of
#: compute.py is required (the config's schema holds the defaults), so all are given; the rest are the defaults.
TINY_ARGS = [
    "--seed", "5", "--image-row", "14", "--signal-samples", "40", "--signal-rate-hz", "2000", "--mains-hz", "50",
    "--signal-noise", "0.08", "--smooth-width", "5", "--volume-frames", "4", "--volume-shift", "1",
    "--volume-kernel-depth", "2", "--multichannel-filter", "1",
    "--grid-sizes", "1", "3", "6", "--grid-kernels", "1", "3", "--grid-strides", "1", "2",
    "--grid-paddings", "0", "1", "--grid-dilations", "1", "2", "--grid-samples", "6",
]  # fmt: skip


def write_dataset(path: Path) -> Path:
    """A prepared dataset like dataset/prepare.py writes: 60 training images, then 20 test images."""
    train_x, train_y = synthetic_images(60, seed=11)
    test_x, test_y = synthetic_images(20, seed=12)
    save_records(path, np.concatenate([make_records(train_x, train_y, TRAIN), make_records(test_x, test_y, TEST)]))
    return path


def weight_arrays(seed: int = 0, batch_norm: bool = True) -> dict[str, np.ndarray]:
    """The arrays of a tiny trained-CNN weights file (random weights, the real names and shapes)."""
    rng = np.random.default_rng(seed)
    arrays = {
        "model.conv1.weight": rng.normal(0, 0.3, (FILTERS_1, 1, 3, 3)).astype(np.float32),
        "model.conv2.weight": rng.normal(0, 0.1, (FILTERS_2, FILTERS_1, 3, 3)).astype(np.float32),
        "meta": np.array(json.dumps({"format": "ml-explainers-cnn/1", "mean": 0.3, "std": 0.35})),
    }
    if batch_norm:
        arrays |= {
            "model.norm1.running_mean": rng.normal(0, 0.1, FILTERS_1).astype(np.float32),
            "model.norm1.running_var": rng.uniform(0.5, 2, FILTERS_1).astype(np.float32),
            "model.norm1.weight": rng.uniform(0.5, 1.5, FILTERS_1).astype(np.float32),
            "model.norm1.bias": rng.normal(0, 0.1, FILTERS_1).astype(np.float32),
        }
    else:
        arrays["model.conv1.bias"] = rng.normal(0, 0.1, FILTERS_1).astype(np.float32)
    return arrays


def write_weights(path: Path, arrays: dict[str, np.ndarray] | None = None) -> Path:
    """Write a weights file: ``arrays`` as given, or the default tiny CNN's."""
    path.parent.mkdir(parents=True, exist_ok=True)
    save_npz(path, **(weight_arrays() if arrays is None else arrays))
    return path
