"""Tests for scripts/dataset/prepare.py: strict IDX parsing, the records file and its summary."""

from __future__ import annotations

import gzip
import json
import struct
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from conftest import IDX_NAMES, idx_bytes, run_script, write_gz
from dataset import prepare as prepare
from kit.cli import PipelineError
from kit.dataset import CLASS_NAMES, TEST, TRAIN, load_records, load_split

FLAGS = ("--train-images", "--train-labels", "--test-images", "--test-labels")


def inputs(synthetic_idx: dict) -> dict[str, Path]:
    """The four gz paths of the synthetic data, keyed by the canonical file name."""
    return {name: synthetic_idx["dir"] / f"{name}.gz" for name in IDX_NAMES}


def decode(payload: bytes) -> np.ndarray:
    """Independent decoding of the fixture's IDX bytes (header of 4 + 4 * ndim bytes)."""
    ndim = payload[3]
    dims = struct.unpack(f">{ndim}I", payload[4 : 4 + 4 * ndim])
    return np.frombuffer(payload[4 + 4 * ndim :], dtype=np.uint8).reshape(dims)


def cli_flags(paths: dict[str, Path]) -> list[str | Path]:
    """``--train-images PATH --train-labels PATH ...`` for the command line."""
    return [item for pair in zip(FLAGS, (paths[name] for name in IDX_NAMES), strict=True) for item in pair]


def run(paths: dict[str, Path], out: Path, **kwargs: int | None) -> dict:
    """Call ``prepare.prepare`` on ``paths``, writing into ``out``."""
    return prepare.prepare(
        *(paths[name] for name in IDX_NAMES), out / "fashion-mnist.npy", out / "fashion-mnist.json", **kwargs
    )


def test_cli_standalone(synthetic_idx: dict, tmp_path: Path) -> None:
    out = tmp_path / "data"
    flags = cli_flags(inputs(synthetic_idx))
    run_script(
        "dataset/prepare.py", *flags, "--output", out / "fashion-mnist.npy", "--meta", out / "fashion-mnist.json"
    )
    records = load_records(out / "fashion-mnist.npy")
    assert isinstance(records, np.memmap)
    assert len(records) == 160
    assert json.loads((out / "fashion-mnist.json").read_text())["n_train"] == 120
    assert sorted(p.name for p in out.iterdir()) == ["fashion-mnist.json", "fashion-mnist.npy"]


def test_records_round_trip_train_first(synthetic_idx: dict, tmp_path: Path) -> None:
    run(inputs(synthetic_idx), tmp_path)
    records = load_records(tmp_path / "fashion-mnist.npy")
    payload = synthetic_idx["payload"]
    train_x, train_y = decode(payload["train-images-idx3-ubyte"]), decode(payload["train-labels-idx1-ubyte"])
    test_x, test_y = decode(payload["t10k-images-idx3-ubyte"]), decode(payload["t10k-labels-idx1-ubyte"])
    np.testing.assert_array_equal(records["split"], [TRAIN] * 120 + [TEST] * 40)
    np.testing.assert_array_equal(records["image"][:120], train_x)
    np.testing.assert_array_equal(records["label"][:120], train_y)
    np.testing.assert_array_equal(records["image"][120:], test_x)
    np.testing.assert_array_equal(records["label"][120:], test_y)
    train = load_split(tmp_path / "fashion-mnist.npy", "train")
    assert isinstance(train.images, np.memmap)  # contiguous blocks keep the memory map
    np.testing.assert_array_equal(load_split(tmp_path / "fashion-mnist.npy", "test").labels, test_y)


def test_meta(synthetic_idx: dict, tmp_path: Path) -> None:
    summary = run(inputs(synthetic_idx), tmp_path)
    meta = json.loads((tmp_path / "fashion-mnist.json").read_text())
    assert meta == summary
    train_y = decode(synthetic_idx["payload"]["train-labels-idx1-ubyte"])
    test_y = decode(synthetic_idx["payload"]["t10k-labels-idx1-ubyte"])
    assert meta["n_train"] == 120
    assert meta["n_test"] == 40
    assert meta["classes"] == list(CLASS_NAMES)
    assert meta["class_counts"] == {
        "train": [int((train_y == c).sum()) for c in range(10)],
        "test": [int((test_y == c).sum()) for c in range(10)],
    }
    assert meta["files"] == synthetic_idx["sha256"]


def test_same_inputs_same_bytes(synthetic_idx: dict, tmp_path: Path) -> None:
    run(inputs(synthetic_idx), tmp_path / "a")
    run(inputs(synthetic_idx), tmp_path / "b")
    for name in ("fashion-mnist.npy", "fashion-mnist.json"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


def test_subset_keeps_the_first_images(synthetic_idx: dict, tmp_path: Path) -> None:
    summary = run(inputs(synthetic_idx), tmp_path, max_train=50, max_test=7)
    records = load_records(tmp_path / "fashion-mnist.npy")
    train_x = decode(synthetic_idx["payload"]["train-images-idx3-ubyte"])
    test_y = decode(synthetic_idx["payload"]["t10k-labels-idx1-ubyte"])
    assert len(records) == 57
    np.testing.assert_array_equal(records["image"][:50], train_x[:50])
    np.testing.assert_array_equal(records["label"][50:], test_y[:7])
    assert (summary["n_train"], summary["n_test"]) == (50, 7)
    assert summary["available"] == {"train": 120, "test": 40}, "the full split sizes, for 'N of M' in reports"
    assert sum(summary["class_counts"]["train"]) == 50
    assert summary["class_counts"]["test"] == [int((test_y[:7] == c).sum()) for c in range(10)]
    assert summary["files"] == synthetic_idx["sha256"]  # checksums are of the whole files as read


def test_subset_via_cli(synthetic_idx: dict, tmp_path: Path) -> None:
    flags = cli_flags(inputs(synthetic_idx))
    out = tmp_path / "data"
    run_script(
        "dataset/prepare.py", *flags, "--output", out / "d.npy", "--meta", out / "d.json", "--max-train", "10",
        "--max-test", "40",
    )  # fmt: skip
    meta = json.loads((out / "d.json").read_text())
    assert (meta["n_train"], meta["n_test"]) == (10, 40)


@pytest.mark.parametrize(
    ("limits", "message"),
    [
        ({"max_train": 0}, "--max-train 0: must be at least 1"),
        ({"max_test": -3}, "--max-test -3: must be at least 1"),
        ({"max_train": 121}, "--max-train 121: only 120 images are available"),
        ({"max_test": 41}, "--max-test 41: only 40 images are available"),
    ],
)
def test_subset_out_of_range(synthetic_idx: dict, tmp_path: Path, limits: dict, message: str) -> None:
    with pytest.raises(PipelineError, match=message):
        run(inputs(synthetic_idx), tmp_path / "out", **limits)
    assert not (tmp_path / "out").exists()


def labels_with(values: list[int]) -> bytes:
    """A labels IDX file holding ``values`` (each taken modulo 256)."""
    return idx_bytes(np.array(values, dtype=np.int64).astype(np.uint8))


def broken(kind: str, synthetic_idx: dict) -> tuple[str, bytes]:
    """Which file to replace, and the decompressed bytes that are wrong in one specific way."""
    payload = synthetic_idx["payload"]
    images = payload["train-images-idx3-ubyte"]
    if kind == "labels as images":
        return "train-images-idx3-ubyte", payload["train-labels-idx1-ubyte"]
    if kind == "wrong data type":
        return "train-images-idx3-ubyte", b"\0\0\x0d\x03" + images[4:]
    if kind == "wrong image size":
        return "t10k-images-idx3-ubyte", idx_bytes(np.zeros((40, 28, 27), dtype=np.uint8))
    if kind == "truncated payload":
        return "train-images-idx3-ubyte", images[:-10]
    if kind == "truncated header":
        return "train-images-idx3-ubyte", images[:9]
    if kind == "trailing bytes":
        return "t10k-labels-idx1-ubyte", payload["t10k-labels-idx1-ubyte"] + b"\0\0\0"
    if kind == "count mismatch":
        return "t10k-labels-idx1-ubyte", labels_with([1] * 39)
    if kind == "label out of range":
        return "train-labels-idx1-ubyte", labels_with([3] * 117 + [10, 2, 255])
    raise AssertionError(kind)


BROKEN = {
    "labels as images": "IDX file has 1 dimensions (magic 0x00000801), expected 3",
    "wrong data type": "not an IDX uint8 file (magic 0x00000d03",
    "wrong image size": "images are 28x27, expected 28x28",
    "truncated payload": "truncated: header declares 120 images (94,080 bytes) but only 94,070 bytes follow",
    "truncated header": "IDX header cut short",
    "trailing bytes": "3 unexpected trailing bytes after the 40 declared labels",
    "count mismatch": "holds 40 images but",
    "label out of range": "2 labels outside 0..9 (first at index 117: 10)",
}


@pytest.mark.parametrize("kind", BROKEN)
def test_broken_idx_is_refused_without_output(kind: str, synthetic_idx: dict, tmp_path: Path) -> None:
    name, data = broken(kind, synthetic_idx)
    paths = inputs(synthetic_idx)
    paths[name] = write_gz(tmp_path / "broken" / f"{name}.gz", data)
    out = tmp_path / "out"
    with pytest.raises(PipelineError) as info:
        run(paths, out)
    message = str(info.value)
    assert BROKEN[kind] in message
    assert str(paths[name]) in message
    assert not out.exists()


@pytest.mark.parametrize(
    ("mangle", "message"),
    [
        (lambda gz: gz[: len(gz) // 2], "truncated gzip file"),
        (lambda gz: b"plain text", "not a valid gzip file"),
    ],
)
def test_broken_gz_is_refused(
    synthetic_idx: dict, tmp_path: Path, mangle: Callable[[bytes], bytes], message: str
) -> None:
    paths = inputs(synthetic_idx)
    gz = gzip.compress(synthetic_idx["payload"]["t10k-images-idx3-ubyte"])
    paths["t10k-images-idx3-ubyte"] = tmp_path / "bad.gz"
    paths["t10k-images-idx3-ubyte"].write_bytes(mangle(gz))
    with pytest.raises(PipelineError, match=message) as info:
        run(paths, tmp_path / "out")
    assert "bad.gz" in str(info.value)
    assert "rerun the download step" in str(info.value)
    assert not (tmp_path / "out").exists()


def test_cli_error_is_one_clear_line(synthetic_idx: dict, tmp_path: Path) -> None:
    paths = inputs(synthetic_idx)
    paths["train-labels-idx1-ubyte"] = tmp_path / "missing.gz"
    flags = cli_flags(paths)
    out = tmp_path / "out"
    result = run_script("dataset/prepare.py", *flags, "--output", out / "d.npy", "--meta", out / "d.json", check=False)
    assert result.returncode == 1
    assert result.stderr.startswith("error: ")
    assert result.stderr.count("\n") == 1, "one line"
    assert "missing.gz: file not found" in result.stderr
    assert "Traceback" not in result.stderr
    assert not out.exists()


@pytest.mark.parametrize("kind", ["directory", "empty file"])
def test_cli_refuses_a_directory_or_empty_file_as_gz_in_one_line(
    synthetic_idx: dict, tmp_path: Path, kind: str
) -> None:
    paths = inputs(synthetic_idx)
    bad = tmp_path / "raw"
    if kind == "directory":
        bad.mkdir()
    else:
        bad.write_bytes(b"")
    paths["t10k-images-idx3-ubyte"] = bad
    out = tmp_path / "out"
    result = run_script(
        "dataset/prepare.py", *cli_flags(paths), "--output", out / "d.npy", "--meta", out / "d.json", check=False
    )
    assert result.returncode == 1
    assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1, result.stderr
    assert f"{bad}: is {'a directory' if kind == 'directory' else 'empty'}" in result.stderr
    assert "Traceback" not in result.stderr
    assert not out.exists()


def test_prepare_refuses_a_directory_given_as_gz(synthetic_idx: dict, tmp_path: Path) -> None:
    """Called as a function (no command-line check in front), a directory is still a clear error."""
    paths = inputs(synthetic_idx)
    paths["train-labels-idx1-ubyte"] = tmp_path
    with pytest.raises(PipelineError, match="is a directory, not a gz file"):
        run(paths, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_missing_flag_is_one_line_error(synthetic_idx: dict, tmp_path: Path) -> None:
    flags = cli_flags(inputs(synthetic_idx))[:-2]  # no --test-labels
    with pytest.raises(PipelineError, match="required: --test-labels"):
        prepare.main([*map(str, flags), "--output", str(tmp_path / "d.npy"), "--meta", str(tmp_path / "d.json")])
