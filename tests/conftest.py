"""Shared fixtures: tiny synthetic Fashion-MNIST look-alikes built in memory, so no test needs the network."""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import struct
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

from kit.dataset import TEST, TRAIN, make_records, save_records

#: The suite runs two workers on two cores (pytest-xdist), each starting scripts that use torch's OpenMP threads:
#: waiting threads that spin would steal the cores the working ones need (training ran 3 to 15 times slower on an
#: oversubscribed machine, issue 15), so they sleep. Only the waiting changes, never a result.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = ROOT / "scripts"
#: The environment scripts run in: the project's modules in scripts/ importable, as the workflow runs them.
SCRIPT_ENV = {**os.environ, "PYTHONPATH": str(SCRIPTS)}

#: File names of the four official Fashion-MNIST files, without ``.gz``.
IDX_NAMES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")


def idx_bytes(array: np.ndarray) -> bytes:
    """Encode a uint8 array in the IDX format (magic 0x00000803 for images, 0x00000801 for labels)."""
    array = np.asarray(array, dtype=np.uint8)
    header = struct.pack(">BBBB", 0, 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.tobytes()


def synthetic_images(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Images with class structure (a class-specific blob plus noise), so PCA and plots have something real."""
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % 10
    rng.shuffle(labels)
    yy, xx = np.mgrid[0:28, 0:28]
    images = np.empty((n, 28, 28), dtype=np.uint8)
    for i, label in enumerate(labels):
        cy, cx = 8 + label % 3 * 6, 6 + label // 3 * 5
        blob = 200 * np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * (3 + label % 4) ** 2))
        images[i] = np.clip(blob + rng.normal(0, 20, (28, 28)), 0, 255).astype(np.uint8)
    return images, labels.astype(np.uint8)


def write_gz(path: Path, payload: bytes, level: int = 9, mtime: int = 0) -> Path:
    """Write ``payload`` gzip-compressed; different ``level``s give different gz bytes, same content."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(payload, compresslevel=level, mtime=mtime))
    return path


@pytest.fixture
def synthetic_idx(tmp_path: Path) -> dict:
    """A folder holding the four IDX gz files of a tiny dataset (120 train, 40 test images).

    Returns ``{"dir": Path, "sha256": {name: sha256 of the decompressed bytes}, "payload": {name: bytes}}``.
    """
    train_x, train_y = synthetic_images(120, seed=1)
    test_x, test_y = synthetic_images(40, seed=2)
    arrays = dict(zip(IDX_NAMES, (train_x, train_y, test_x, test_y), strict=True))
    folder = tmp_path / "idx"
    payloads = {name: idx_bytes(arr) for name, arr in arrays.items()}
    for name, payload in payloads.items():
        write_gz(folder / f"{name}.gz", payload)
    return {
        "dir": folder,
        "payload": payloads,
        "sha256": {name: hashlib.sha256(p).hexdigest() for name, p in payloads.items()},
    }


@pytest.fixture
def prepared_dataset(tmp_path: Path) -> Path:
    """A prepared ``.npy`` dataset as ``prepare.py`` writes it: 200 train images, then 50 test images."""
    train_x, train_y = synthetic_images(200, seed=3)
    test_x, test_y = synthetic_images(50, seed=4)
    records = np.concatenate([make_records(train_x, train_y, TRAIN), make_records(test_x, test_y, TEST)])
    path = tmp_path / "data" / "fashion-mnist.npy"
    save_records(path, records)
    return path


@pytest.fixture
def split_file(prepared_dataset: Path, tmp_path: Path) -> Path:
    """A 50-image validation split of the 200 synthetic training images (models/split.py on ``prepared_dataset``)."""
    from models import split

    out = tmp_path / "split.npz"
    split.main(
        ["--data", str(prepared_dataset), "--size", "50", "--seed", "3", "--output", str(out), "--meta", f"{out}.json"]
    )
    return out


def run_script(name: str, *args: str | Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run ``scripts/<name>`` as a user would, in a fresh interpreter, and return its result."""
    result = subprocess.run(
        [sys.executable, str(SCRIPTS / name), *map(str, args)], capture_output=True, text=True, cwd=ROOT, env=SCRIPT_ENV
    )
    if check and result.returncode != 0:
        raise AssertionError(f"{name} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result


def check_svg(path: Path) -> str:
    """Assert ``path`` is an SVG document with no date and text drawn as paths; return its text."""
    text = path.read_text(encoding="utf-8")
    root = ET.fromstring(text)
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert "dc:date" not in text
    assert "<text" not in text  # svg.fonttype "path": looks the same without the fonts installed
    return text


def run_twice(script: str, module: object, args: list, out: Path, name: str) -> tuple[str, dict]:
    """Run a figure script by its CLI and in-process; assert byte-identical outputs; return SVG text, sidecar."""
    first = [*args, "--output", out / "a" / f"{name}.svg", "--meta", out / "a" / f"{name}.json"]
    second = [*args, "--output", out / "b" / f"{name}.svg", "--meta", out / "b" / f"{name}.json"]
    run_script(script, *first)
    module.main([str(a) for a in second])
    for suffix in (".svg", ".json"):
        assert (out / "a" / f"{name}{suffix}").read_bytes() == (out / "b" / f"{name}{suffix}").read_bytes()
    assert sorted(p.name for p in (out / "a").iterdir()) == [f"{name}.json", f"{name}.svg"]  # no temp files left
    meta = json.loads((out / "a" / f"{name}.json").read_text(encoding="utf-8"))
    assert meta["title"] and meta["alt"]
    return check_svg(out / "a" / f"{name}.svg"), meta


#: Test files that run longest (the end-to-end pipeline run): collected first, so that under pytest-xdist
#: (``make test`` runs ``-n auto --dist loadfile``) a worker starts them at once while the others share the rest.
LONGEST_FIRST = ("test_workflow.py",)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Move the longest test files to the front (the order within each file is kept)."""
    items.sort(key=lambda item: item.path.name not in LONGEST_FIRST)
