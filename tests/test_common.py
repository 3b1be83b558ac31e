"""The shared helpers: atomic writes leave either the complete new file or nothing."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from kit.cli import PipelineError
from kit.dataset import RECORD_DTYPE, TEST, TRAIN, load_records, load_split, make_records, save_records
from kit.io import atomic_open, load_npz, read_json, save_npz, write_json
from pca.pcaio import check_same_pixels, components_needed, load_pca


def test_atomic_open_keeps_the_old_file_when_writing_fails(tmp_path: Path) -> None:
    target = tmp_path / "out.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError), atomic_open(target) as handle:
        handle.write("half")
        raise RuntimeError("interrupted")
    assert target.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.txt"], "temporary file left behind"


def test_npz_and_npy_round_trip_through_atomic_writes(tmp_path: Path) -> None:
    save_npz(tmp_path / "a.npz", x=np.arange(5.0))
    assert np.array_equal(load_npz(tmp_path / "a.npz")["x"], np.arange(5.0))
    images = np.arange(3 * 28 * 28, dtype=np.uint8).reshape(3, 28, 28)
    records = np.concatenate([make_records(images[:2], [1, 2], TRAIN), make_records(images[2:], [3], TEST)])
    save_records(tmp_path / "d.npy", records)
    assert load_records(tmp_path / "d.npy").dtype == RECORD_DTYPE
    test = load_split(tmp_path / "d.npy", "test")
    assert test.labels.tolist() == [3] and np.array_equal(test.images[0], images[2])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.npz", "d.npy"]


def test_json_is_sorted_and_errors_name_the_file(tmp_path: Path) -> None:
    write_json(tmp_path / "m.json", {"b": 1, "a": 2})
    assert (tmp_path / "m.json").read_text().index('"a"') < (tmp_path / "m.json").read_text().index('"b"')
    (tmp_path / "bad.json").write_text("{")
    with pytest.raises(PipelineError, match=r"bad\.json"):
        read_json(tmp_path / "bad.json")
    with pytest.raises(PipelineError, match=r"missing\.npz"):
        load_npz(tmp_path / "missing.npz")


def test_npz_with_pickled_objects_is_refused(tmp_path: Path) -> None:
    np.savez(tmp_path / "evil.npz", x=np.array([object()], dtype=object))
    with pytest.raises(PipelineError, match=r"evil\.npz"):
        load_npz(tmp_path / "evil.npz")


def test_pca_loader_and_pixel_check_name_the_files(tmp_path: Path) -> None:
    save_npz(tmp_path / "pca.npz", mean=np.zeros(4), components=np.eye(4), explained_variance_ratio=np.full(4, 0.25))
    pca = load_pca(tmp_path / "pca.npz")
    check_same_pixels("d.npy", 4, tmp_path / "pca.npz", pca)
    with pytest.raises(PipelineError, match=r"d\.npy: images have 784 pixels but .*pca\.npz was fitted on 4"):
        check_same_pixels("d.npy", 784, tmp_path / "pca.npz", pca)
    save_npz(tmp_path / "short.npz", mean=np.zeros(4), components=np.eye(4), explained_variance_ratio=np.ones(3))
    with pytest.raises(PipelineError, match=r"short\.npz: 3 explained variance ratios for 4 components"):
        load_pca(tmp_path / "short.npz")


def test_components_needed_uses_the_first_count_that_reaches_each_threshold() -> None:
    cumulative = np.cumsum([0.5, 0.3, 0.2 - 1e-12])  # rounding keeps the total a hair below 1
    assert components_needed(cumulative, [0.8, 0.5, 1.0]) == {"0.5": 1, "0.8": 2, "1.0": 3}
