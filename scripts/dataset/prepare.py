"""Parse the four Fashion-MNIST IDX files into one memory-mappable array file plus a small summary.

The IDX format is a tiny header (magic number, then one big-endian 32-bit size per dimension) followed by
the raw uint8 payload. It is parsed strictly: the magic, the declared dimensions and the payload length must
agree, every split must have as many labels as images, and every label must name one of the ten classes. A
file that fails any check is named in the error, with what to do about it.

Output: ``fashion-mnist.npy`` holding records of ``kit.dataset.RECORD_DTYPE`` (all training records, then all test
records) and ``fashion-mnist.json`` with the counts, the class names, the per-class counts and the SHA-256 of
each decompressed input file.

Example::

    PYTHONPATH=scripts python scripts/dataset/prepare.py \\
        --train-images results/data/raw/train-images-idx3-ubyte.gz \\
        --train-labels results/data/raw/train-labels-idx1-ubyte.gz \\
        --test-images results/data/raw/t10k-images-idx3-ubyte.gz \\
        --test-labels results/data/raw/t10k-labels-idx1-ubyte.gz \\
        --output results/data/fashion-mnist.npy --meta results/data/fashion-mnist.json
"""

from __future__ import annotations

import gzip
import hashlib
import struct
import sys
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from kit.cli import ArgumentParser, PipelineError, input_file, run_cli
from kit.dataset import CLASS_NAMES, IMAGE_SIDE, TEST, TRAIN, make_records, save_records
from kit.io import write_json

#: IDX data type code for unsigned bytes, the only type Fashion-MNIST uses.
UBYTE = 0x08

#: Canonical names of the four inputs, as in the download step and the official distribution.
NAMES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}

RERUN = "delete it and rerun the download step"


@dataclass(frozen=True)
class IdxFile:
    """The parsed content of one IDX file and the SHA-256 of its decompressed bytes."""

    array: np.ndarray
    sha256: str


def read_gz(path: Path) -> bytes:
    """Decompress a whole gz file, turning every way it can be broken into a clear ``PipelineError``."""
    try:
        with gzip.open(path, "rb") as stream:
            return stream.read()
    except FileNotFoundError:
        raise PipelineError(f"{path}: file not found; run the download step first") from None
    except IsADirectoryError:
        raise PipelineError(f"{path}: is a directory, not a gz file; give the path of the file inside it") from None
    except EOFError:
        raise PipelineError(f"{path}: truncated gzip file; {RERUN}") from None
    except (gzip.BadGzipFile, zlib.error) as exc:
        raise PipelineError(f"{path}: not a valid gzip file ({exc}); {RERUN}") from None


def parse_idx(data: bytes, path: Path, kind: str) -> np.ndarray:
    """Parse IDX bytes of ``kind`` ``"images"`` (n, 28, 28) or ``"labels"`` (n,), checking every header field.

    Why strict: a truncated or mislabelled file would otherwise become silently wrong images downstream.
    """
    ndim = 3 if kind == "images" else 1
    if len(data) < 4:
        raise PipelineError(f"{path}: only {len(data)} bytes, too short for an IDX header; {RERUN}")
    zero, dtype, found_ndim = struct.unpack(">HBB", data[:4])
    magic = f"0x{int.from_bytes(data[:4], 'big'):08x}"
    if zero != 0 or dtype != UBYTE:
        raise PipelineError(f"{path}: not an IDX uint8 file (magic {magic}, expected 0x000008{ndim:02x}); {RERUN}")
    if found_ndim != ndim:
        raise PipelineError(
            f"{path}: IDX file has {found_ndim} dimensions (magic {magic}), expected {ndim} for a "
            f"{kind[:-1]} file (magic 0x000008{ndim:02x}); check that the images and labels flags are not "
            "swapped"
        )
    header = 4 + 4 * ndim
    if len(data) < header:
        raise PipelineError(f"{path}: IDX header cut short ({len(data)} bytes, need {header}); {RERUN}")
    dims = struct.unpack(f">{ndim}I", data[4:header])
    if kind == "images" and dims[1:] != (IMAGE_SIDE, IMAGE_SIDE):
        raise PipelineError(
            f"{path}: images are {dims[1]}x{dims[2]}, expected {IMAGE_SIDE}x{IMAGE_SIDE}; is this Fashion-MNIST?"
        )
    declared = int(np.prod(dims, dtype=np.int64))
    payload = len(data) - header
    if payload < declared:
        raise PipelineError(
            f"{path}: truncated: header declares {dims[0]} {kind} ({declared:,} bytes) but only {payload:,} "
            f"bytes follow; {RERUN}"
        )
    if payload > declared:
        raise PipelineError(
            f"{path}: {payload - declared:,} unexpected trailing bytes after the {dims[0]} declared {kind}; {RERUN}"
        )
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(dims)


def read_idx(path: Path, kind: str) -> IdxFile:
    """Read and parse one gz IDX file, keeping the checksum of exactly the bytes that were parsed."""
    data = read_gz(path)
    return IdxFile(array=parse_idx(data, path, kind), sha256=hashlib.sha256(data).hexdigest())


def check_labels(labels: np.ndarray, path: Path) -> None:
    """Refuse labels outside 0..9: they would index past the class names in every later step."""
    bad = np.flatnonzero(labels >= len(CLASS_NAMES))
    if bad.size:
        raise PipelineError(
            f"{path}: {bad.size} labels outside 0..{len(CLASS_NAMES) - 1} (first at index {bad[0]}: "
            f"{labels[bad[0]]}); {RERUN}"
        )


def read_split(
    images_path: Path, labels_path: Path, limit: int | None, flag: str
) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """Read one split's images and labels, check they belong together, and keep the first ``limit``.

    Returns the kept images and labels, and the split's source facts: the SHA-256 of each decompressed file and
    how many images the files hold.
    """
    images = read_idx(images_path, "images")
    labels = read_idx(labels_path, "labels")
    n = len(images.array)
    if len(labels.array) != n:
        raise PipelineError(
            f"{images_path} holds {n} images but {labels_path} holds {len(labels.array)} labels; the two "
            f"files do not belong together; {RERUN} for both"
        )
    check_labels(labels.array, labels_path)
    if limit is not None:
        if limit > n:
            raise PipelineError(f"{flag} {limit}: only {n} images are available in {images_path}")
        n = limit
    # The split's full size goes with the hashes, so a report on a subset can say "N of M images".
    source = {"images": images.sha256, "labels": labels.sha256, "available": len(images.array)}
    return images.array[:n], labels.array[:n], source


def prepare(
    train_images: Path,
    train_labels: Path,
    test_images: Path,
    test_labels: Path,
    output: Path,
    meta: Path,
    max_train: int | None = None,
    max_test: int | None = None,
) -> dict:
    """Build the records file and its summary, and return the summary.

    Nothing is written unless every check passes, so a bad input never leaves a half-trusted output.
    """
    for flag, limit in (("--max-train", max_train), ("--max-test", max_test)):
        if limit is not None and limit < 1:
            raise PipelineError(f"{flag} {limit}: must be at least 1")
    train_x, train_y, train_hash = read_split(train_images, train_labels, max_train, "--max-train")
    test_x, test_y, test_hash = read_split(test_images, test_labels, max_test, "--max-test")
    records = np.concatenate([make_records(train_x, train_y, TRAIN), make_records(test_x, test_y, TEST)])
    summary = {
        "n_train": len(train_y),
        "n_test": len(test_y),
        "available": {"train": train_hash["available"], "test": test_hash["available"]},
        "classes": list(CLASS_NAMES),
        "class_counts": {
            "train": np.bincount(train_y, minlength=len(CLASS_NAMES)).tolist(),
            "test": np.bincount(test_y, minlength=len(CLASS_NAMES)).tolist(),
        },
        "files": {
            NAMES["train_images"]: train_hash["images"],
            NAMES["train_labels"]: train_hash["labels"],
            NAMES["test_images"]: test_hash["images"],
            NAMES["test_labels"]: test_hash["labels"],
        },
    }
    save_records(output, records)
    try:
        write_json(meta, summary)
    except BaseException:
        output.unlink(missing_ok=True)
        raise
    return summary


def build_parser() -> ArgumentParser:
    """The command line: the four gz files, the outputs, and the optional subset sizes."""
    parser = ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--train-images", required=True, type=input_file, help="train-images-idx3-ubyte.gz")
    parser.add_argument("--train-labels", required=True, type=input_file, help="train-labels-idx1-ubyte.gz")
    parser.add_argument("--test-images", required=True, type=input_file, help="t10k-images-idx3-ubyte.gz")
    parser.add_argument("--test-labels", required=True, type=input_file, help="t10k-labels-idx1-ubyte.gz")
    parser.add_argument("--output", required=True, type=Path, help="prepared records (.npy, memory-mappable)")
    parser.add_argument("--meta", required=True, type=Path, help="summary JSON: counts, classes, checksums")
    parser.add_argument("--max-train", type=int, default=None, metavar="N", help="keep only the first N train images")
    parser.add_argument("--max-test", type=int, default=None, metavar="M", help="keep only the first M test images")
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    """Parse the command line and prepare the dataset."""
    args = build_parser().parse_args(argv)
    summary = prepare(
        args.train_images,
        args.train_labels,
        args.test_images,
        args.test_labels,
        args.output,
        args.meta,
        max_train=args.max_train,
        max_test=args.max_test,
    )
    print(f"{args.output}: {summary['n_train']} train + {summary['n_test']} test images", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(run_cli(main))
