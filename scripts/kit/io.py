"""Reading and writing the pipeline's files: atomic outputs, key-sorted JSON, pickle-free arrays.

Kept free of heavy imports (no torch, no matplotlib) so that every script that imports it stays quick to start.
Every writer here goes through ``atomic_path``: a run that fails or is killed never leaves a half-written file
that a rerun (or Snakemake) would trust.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import os
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import numpy as np

from kit.cli import PipelineError


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


def delete_unused(folder: str | os.PathLike[str], suffix: str, used: set[str]) -> None:
    """Delete the files ``*suffix`` in ``folder`` whose stem is not in ``used``: a cache folder pruned to one
    build's entries. Files being written (``atomic_path`` names them ``.<name>.…``) are left alone."""
    for path in Path(folder).glob(f"*{suffix}"):
        if path.stem not in used and not path.name.startswith("."):
            path.unlink(missing_ok=True)


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
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise PipelineError(f"{path}: not valid JSON ({exc}); delete it and rerun the step that writes it") from None
    except IsADirectoryError:
        raise PipelineError(f"{path}: is a directory, not a JSON file") from None


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
