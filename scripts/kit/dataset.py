"""The prepared Fashion-MNIST dataset: its record layout, its splits and class-stratified samples.

``dataset/prepare.py`` writes one structured ``.npy`` file of records (image, label, split); every later step
memory-maps it through ``load_split``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from kit.cli import PipelineError
from kit.io import atomic_path

#: The ten Fashion-MNIST classes, in label order (label 0 is "T-shirt/top").
CLASS_NAMES: tuple[str, ...] = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)

IMAGE_SIDE = 28

#: Split codes stored in the prepared dataset's ``split`` field.
TRAIN, TEST = 0, 1

#: One record of the prepared dataset: a whole image, its label and the split it came from. A single
#: structured ``.npy`` file keeps the three together and can be memory-mapped by every later step.
RECORD_DTYPE = np.dtype([("image", np.uint8, (IMAGE_SIDE, IMAGE_SIDE)), ("label", np.uint8), ("split", np.uint8)])


@dataclass(frozen=True)
class Dataset:
    """Memory-mapped view of the prepared dataset; ``images`` are uint8 ``(n, 28, 28)``."""

    images: np.ndarray
    labels: np.ndarray

    def __len__(self) -> int:
        return len(self.labels)

    def flat_float(self, dtype: type = np.float64) -> np.ndarray:
        """Images as ``(n, 784)`` floats scaled to [0, 1], the scale the source thread's numbers use."""
        return self.images.reshape(len(self), -1).astype(dtype) / 255.0


def make_records(images: np.ndarray, labels: np.ndarray, split: np.ndarray | int) -> np.ndarray:
    """Pack images, labels and split codes into records of ``RECORD_DTYPE``."""
    images = np.asarray(images, dtype=np.uint8)
    if images.ndim != 3 or images.shape[1:] != (IMAGE_SIDE, IMAGE_SIDE):
        raise PipelineError(f"expected images of shape (n, 28, 28), got {images.shape}")
    if len(labels) != len(images):
        raise PipelineError(f"{len(images)} images but {len(labels)} labels")
    records = np.empty(len(images), dtype=RECORD_DTYPE)
    records["image"] = images
    records["label"] = labels
    records["split"] = split
    return records


def save_records(path: str | os.PathLike[str], records: np.ndarray) -> None:
    """Write the prepared dataset as one ``.npy`` file, atomically."""
    if records.dtype != RECORD_DTYPE:
        raise PipelineError(f"records have dtype {records.dtype}, expected {RECORD_DTYPE}")
    with atomic_path(path, suffix=".npy") as tmp:
        np.save(tmp, records, allow_pickle=False)


def load_records(path: str | os.PathLike[str]) -> np.ndarray:
    """Memory-map the prepared dataset, checking that it is what ``prepare.py`` writes."""
    try:
        records = np.load(path, mmap_mode="r", allow_pickle=False)
    except FileNotFoundError:
        raise PipelineError(f"{path}: prepared dataset not found; run the prepare step first") from None
    except ValueError as exc:
        raise PipelineError(f"{path}: not a prepared dataset ({exc}); delete it and rerun the prepare step") from None
    if records.dtype != RECORD_DTYPE:
        raise PipelineError(f"{path}: has dtype {records.dtype}, expected {RECORD_DTYPE}; rerun the prepare step")
    return records


def load_split(path: str | os.PathLike[str], split: str) -> Dataset:
    """Return the ``"train"`` or ``"test"`` part of the prepared dataset (images stay memory-mapped views)."""
    codes = {"train": TRAIN, "test": TEST}
    if split not in codes:
        raise PipelineError(f"unknown split {split!r}; use 'train' or 'test'")
    records = load_records(path)
    index = np.flatnonzero(records["split"] == codes[split])
    if index.size == 0:
        raise PipelineError(f"{path}: holds no {split} images; check the data settings and rerun prepare")
    # The prepare step writes each split as one contiguous block, so a slice keeps the memory map.
    part = records[index[0] : index[-1] + 1] if index[-1] - index[0] + 1 == index.size else records[index]
    return Dataset(images=part["image"], labels=part["label"])


def class_quotas(counts: np.ndarray, size: int) -> np.ndarray:
    """How many images each class gives to a sample of ``size``: proportional to its count, summing to ``size``.

    Why largest remainders: plain rounding can miss the requested total by one or two images. Ties in the
    remainders go to the lower class label, so the quotas depend on nothing but the counts.
    """
    exact = counts * (size / counts.sum())
    quotas = np.floor(exact).astype(np.int64)
    short = size - int(quotas.sum())
    order = np.lexsort((np.arange(len(counts)), -(exact - quotas)))
    quotas[order[:short]] += 1
    return np.minimum(quotas, counts)


def stratified_sample(labels: np.ndarray, size: int, seed: int) -> np.ndarray:
    """Sorted positions of a seeded sample of ``size`` items in which every class keeps its share.

    Why stratified: a validation set or a small training subset with a chance surplus of easy or hard
    classes would skew every accuracy measured on it.
    """
    labels = np.asarray(labels, dtype=np.int64)
    rng = np.random.default_rng(seed)
    counts = np.bincount(labels, minlength=len(CLASS_NAMES))
    chosen = [
        rng.choice(np.flatnonzero(labels == label), size=int(quota), replace=False)
        for label, quota in enumerate(class_quotas(counts, size))
    ]
    return np.sort(np.concatenate(chosen)).astype(np.int64)
