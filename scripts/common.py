"""Pieces every pipeline script shares: atomic writes, the prepared dataset, clear errors.

Kept free of heavy imports (no torch, no matplotlib) so that every script that imports it stays quick to
start; plotting helpers live in ``plotstyle.py``.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import os
import sys
import tempfile
import zipfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np

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


class PipelineError(Exception):
    """An error the user can act on: its message names the file or setting and says what to do."""


# --------------------------------------------------------------------------------------------------------
# Atomic output
# --------------------------------------------------------------------------------------------------------


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str], suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` only if the block succeeds.

    Why: an interrupted or failed run must never leave a half-written file that a rerun (or Snakemake)
    would trust. The temporary file lives in the same folder so that the final ``os.replace`` is atomic.
    ``suffix`` keeps the extension for writers that infer the format from it (``np.save``, ``savefig``).
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    # The extension stays last (".tmp.npy"): np.save and savefig append or infer it from the name.
    extension = suffix if suffix is not None else target.suffix
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=f".tmp{extension}", dir=target.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike[str], mode: str = "w", **kwargs: Any) -> Iterator[IO[Any]]:
    """Open a temporary file for writing and move it onto ``path`` when the block ends without error."""
    with atomic_path(path) as tmp, open(tmp, mode, **kwargs) as handle:
        yield handle


def write_json(path: str | os.PathLike[str], data: Any) -> None:
    """Write ``data`` as pretty, key-sorted JSON, atomically, so that reruns give the same bytes."""
    with atomic_open(path, "w", encoding="utf-8") as handle:
        json.dump(data, handle, indent=2, sort_keys=True, ensure_ascii=False, allow_nan=False)
        handle.write("\n")


def round_significant(value: float | None, digits: int = 10) -> float | None:
    """``value`` as a plain float rounded to ``digits`` significant digits; None and NaN become None.

    Why: every JSON file and sidecar stores its numbers this way, so the last bits of a BLAS sum cannot
    change a file's bytes, and a missing value is a JSON null, never a NaN.
    """
    if value is None or not math.isfinite(value):
        return None
    return float(f"{float(value):.{digits}g}")


def rounded(value: Any) -> Any:
    """Every float of a JSON-ready structure (dicts, lists) through ``round_significant``."""
    if isinstance(value, dict):
        return {key: rounded(item) for key, item in value.items()}
    if isinstance(value, list):
        return [rounded(item) for item in value]
    if isinstance(value, float):
        return round_significant(value)
    return value


def read_json(path: str | os.PathLike[str]) -> Any:
    """Read a JSON file, turning a missing or malformed file into a ``PipelineError`` that names it."""
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except FileNotFoundError:
        raise PipelineError(f"{path}: file not found; run the step that produces it first") from None
    except json.JSONDecodeError as exc:
        raise PipelineError(f"{path}: not valid JSON ({exc}); delete it and rerun the step that writes it") from None


def save_npz(path: str | os.PathLike[str], **arrays: np.ndarray) -> None:
    """Save plain numeric arrays as an uncompressed ``.npz``, atomically and byte-identical on every run.

    Why not ``np.savez``: it stamps each zip member with the current time, so two runs with the same input
    would give different bytes; here every member gets the fixed zip epoch 1980-01-01. Arrays are written
    with ``allow_pickle=False`` and loaded the same way by ``load_npz``.
    """
    with atomic_open(path, "wb") as handle, zipfile.ZipFile(handle, "w", zipfile.ZIP_STORED) as archive:
        for name in sorted(arrays):
            buffer = io.BytesIO()
            array = np.asarray(arrays[name])  # not ascontiguousarray: it would turn a 0-d scalar into shape (1,)
            np.lib.format.write_array(buffer, array if array.flags.c_contiguous else array.copy(), allow_pickle=False)
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            archive.writestr(info, buffer.getvalue())


def load_npz(path: str | os.PathLike[str]) -> dict[str, np.ndarray]:
    """Load an ``.npz`` without unpickling anything, so a tampered file cannot run code."""
    try:
        with np.load(path, allow_pickle=False) as data:
            return {key: data[key] for key in data.files}
    except FileNotFoundError:
        raise PipelineError(f"{path}: file not found; run the step that produces it first") from None
    except (ValueError, OSError) as exc:
        raise PipelineError(f"{path}: not a readable .npz array file ({exc}); delete it and rerun") from None


# --------------------------------------------------------------------------------------------------------
# The prepared dataset
# --------------------------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------------------------
# PCA results (written by pca.py, read by the claims check and the figures)
# --------------------------------------------------------------------------------------------------------


def components_needed(cumulative: np.ndarray, thresholds: Sequence[float]) -> dict[str, int]:
    """Smallest number of components whose cumulative ratio reaches each threshold, keyed like ``"0.95"``.

    One rule for the metrics file and the figures, so a marked threshold and the number in the prose agree.
    A threshold of 1.0 that rounding keeps just out of reach is answered with all components, since the full
    spectrum explains all the variance by definition.
    """
    n = len(cumulative)
    return {repr(float(t)): min(int(np.searchsorted(cumulative, t, side="left")) + 1, n) for t in sorted(thresholds)}


def load_pca(path: str | os.PathLike[str]) -> dict[str, np.ndarray]:
    """Load ``pca.npz`` and check the arrays later steps use: ``mean (d,)``, ``components (m, d)``, the ratios."""
    arrays = load_npz(path)
    missing = [key for key in ("mean", "components", "explained_variance_ratio") if key not in arrays]
    if missing:
        raise PipelineError(f"{path}: missing array(s) {', '.join(missing)}; rerun the pca step")
    mean = np.asarray(arrays["mean"], dtype=np.float64)
    components = np.asarray(arrays["components"], dtype=np.float64)
    ratios = np.asarray(arrays["explained_variance_ratio"], dtype=np.float64)
    if mean.ndim != 1 or components.ndim != 2 or components.shape[1] != mean.size or ratios.ndim != 1:
        raise PipelineError(
            f"{path}: expected mean (d,) and components (m, d), got {mean.shape} and {components.shape}; "
            "rerun the pca step"
        )
    if ratios.size != components.shape[0]:
        raise PipelineError(
            f"{path}: {ratios.size} explained variance ratios for {components.shape[0]} components; rerun the pca step"
        )
    return {"mean": mean, "components": components, "explained_variance_ratio": ratios}


def check_same_pixels(
    data_path: str | os.PathLike[str], n_pixels: int, pca_path: str | os.PathLike[str], pca: dict
) -> None:
    """Refuse images whose pixel count differs from the one the PCA was fitted on."""
    if n_pixels != pca["mean"].size:
        raise PipelineError(
            f"{data_path}: images have {n_pixels} pixels but {pca_path} was fitted on {pca['mean'].size}; "
            "rerun the pca step on this dataset"
        )


# --------------------------------------------------------------------------------------------------------
# Command-line entry points
# --------------------------------------------------------------------------------------------------------


def run_cli(main: Callable[[Sequence[str] | None], None], argv: Sequence[str] | None = None) -> int:
    """Run a script's ``main`` and turn a ``PipelineError`` into one clear line and exit status 1.

    Why: a user who hits bad input should read what to do, not a traceback; unexpected errors still
    raise with their traceback because they are bugs.
    """
    try:
        main(argv)
    except PipelineError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0
