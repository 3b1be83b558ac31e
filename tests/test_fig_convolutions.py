"""Tests for the convolution figures (convolutions/figures/*.py): each runs by its CLI and in-process on tiny arrays
made by convolutions/compute.py from synthetic images, writes byte-identical SVGs and sidecars, states numbers that
match the arrays, refuses malformed inputs with a clear message, and never imports torch."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import ROOT, SCRIPT_ENV, run_script, run_twice
from conv_inputs import FILTERS_1, TINY_ARGS, write_dataset, write_weights
from convolutions import compute as conv
from convolutions.figures import (
    edges_2d,
    filter_stack,
    image_row_1d,
    learned_filters,
    multichannel_2d,
    over_2d,
    signal_1d,
    stride_padding_dilation,
    volume_3d,
)
from kit.cli import PipelineError
from kit.io import load_npz, save_npz, write_json

#: Every figure, in the order of workflow/explainers/convolutions.yaml (so in the page's numbering).
FIGURES = {
    "signal_1d": signal_1d,
    "image_row_1d": image_row_1d,
    "over_2d": over_2d,
    "edges_2d": edges_2d,
    "learned_filters": learned_filters,
    "filter_stack": filter_stack,
    "multichannel_2d": multichannel_2d,
    "volume_3d": volume_3d,
    "stride_padding_dilation": stride_padding_dilation,
}


@pytest.fixture(scope="module")
def outputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """arrays.npz and metrics.json of convolutions/compute.py on the tiny inputs."""
    folder = tmp_path_factory.mktemp("conv-figures")
    data, weights = write_dataset(folder / "data.npy"), write_weights(folder / "weights.npz")
    paths = {"arrays": folder / "arrays.npz", "metrics": folder / "metrics.json"}
    conv.main([str(a) for a in ["--data", data, "--weights", weights, *TINY_ARGS,
                                "--arrays", paths["arrays"], "--metrics", paths["metrics"]]])  # fmt: skip
    return paths


@pytest.fixture(scope="module")
def drawn(outputs: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[str, dict]]:
    """Every figure drawn twice (CLI and in-process, byte-identical): name -> (SVG text, sidecar)."""
    out = tmp_path_factory.mktemp("conv-figures-out")
    args = ["--arrays", outputs["arrays"], "--metrics", outputs["metrics"]]
    return {
        name: run_twice(f"convolutions/figures/{name}.py", module, args, out / name, name)
        for name, module in FIGURES.items()
    }


def arrays_of(outputs: dict[str, Path]) -> dict[str, np.ndarray]:
    return load_npz(outputs["arrays"])


def test_every_figure_is_a_valid_reproducible_svg(drawn):
    for name, (svg, meta) in drawn.items():
        assert "<image" in svg or "<path" in svg, name
        assert len(meta["alt"]) > 200, name  # the alt text describes the data with numbers
        assert any(ch.isdigit() for ch in meta["title"]), name  # titles state computed numbers


def test_signal_figure_numbers(drawn, outputs):
    a, meta = arrays_of(outputs), drawn["signal_1d"][1]
    assert meta["samples"] == len(a["signal"]) == 40
    assert meta["smooth_length"] == 40 - len(a["kernel_smooth"]) + 1 == 36
    assert meta["edge_length"] == 38 and meta["directions"] == [1]
    assert meta["edge_max"] == pytest.approx(a["signal_edge"].max())
    assert "gives 36 smoothed and 38 edge values" in meta["title"]


def test_image_row_figure_numbers(drawn, outputs):
    a, meta = arrays_of(outputs), drawn["image_row_1d"][1]
    assert meta["edge_max_column"] == int(np.argmax(a["row_edge"])) + 1  # centre of a width-3 window
    assert meta["edge_min_column"] == int(np.argmin(a["row_edge"])) + 1
    assert meta["smooth_length"] == 24 and meta["edge_length"] == 26 and meta["pixels"] == 28


def test_over_2d_figure_numbers(drawn):
    meta = drawn["over_2d"][1]
    assert meta["input_extent"] == [20, 8] and meta["kernel_extent"] == [3, 8]
    assert meta["output_length"] == 18 and meta["directions"] == 1
    assert "kernel is 3 × 8" in meta["title"]


def test_edges_figure_numbers(drawn, outputs):
    a, meta = arrays_of(outputs), drawn["edges_2d"][1]
    assert meta["output_shape"] == [26, 26]
    assert meta["sobel_x_max"] == pytest.approx(a["sobel_x_output"].max())
    row, col = np.unravel_index(np.argmax(np.abs(a["sobel_y_output"])), (26, 26))
    assert meta["sobel_y_strongest"] == [int(row) + 1, int(col) + 1]


def test_multichannel_figure_numbers(drawn):
    meta = drawn["multichannel_2d"][1]
    assert meta["channels"] == 6 and meta["kernel_extent"] == [3, 3, 6]
    assert meta["output_shape"] == [1, 1, 26, 26] and meta["padded_output_shape"] == [1, 1, 28, 28]
    assert meta["max_abs_difference_from_channel_sum"] < 1e-12


def test_learned_filters_figure_numbers(drawn, outputs):
    a, meta = arrays_of(outputs), drawn["learned_filters"][1]
    metrics = json.loads(outputs["metrics"].read_text())
    assert meta["n_filters"] == FILTERS_1 and len(meta["kinds"]) == FILTERS_1
    assert meta["counts"]["edge"] == metrics["learned"]["edge_like_count"]
    sums = a["learned_filters"].reshape(FILTERS_1, -1).sum(axis=1)
    for kind, edge, total in zip(meta["kinds"], metrics["learned"]["edge_like"], sums, strict=True):
        assert kind == ("edge" if edge else "ink" if total > 0 else "paper")
    assert meta["kinds"] == metrics["learned"]["kinds"]
    assert meta["shown"] == metrics["learned"]["shown"] and len(meta["shown"]) == 4  # --learned-shown 4
    assert meta["title"].startswith(f"4 of the trained CNN's {FILTERS_1} first-layer 3 × 3 filters")
    verb = "is an edge filter" if meta["counts"]["edge"] == 1 else "are edge filters"
    assert f"of all {FILTERS_1}, {meta['counts']['edge']} {verb}" in meta["title"]


def test_learned_filters_counts_read_right_for_one_of_a_kind(outputs):
    """A count of one takes the singular ("1 ink filter"), under any network width: with the 16-filter CNN a
    single ink filter once read "1 ink filters" in the alt text."""
    a, metrics = arrays_of(outputs), json.loads(outputs["metrics"].read_text())
    filters = a["learned_filters"].copy()
    n = len(filters)
    filters[-2], filters[-1] = np.abs(filters[-2]), -np.abs(filters[-1])  # one ink (positive sum), one paper
    metrics["learned"]["edge_like"] = [True] * (n - 2) + [False, False]
    info = learned_filters.describe({**a, "learned_filters": filters}, metrics)
    assert info["counts"] == {"edge": n - 2, "ink": 1, "paper": 1}
    assert "1 ink filter (positive sum) and 1 paper filter (negative sum)" in info["alt"]
    assert f"{n - 2} edge filters (" in info["alt"]


def test_learned_filters_are_drawn_large_with_their_weights(drawn):
    """Issue: the filters printed about 3 mm wide. Now each drawn filter's panel is a sixth of the figure's width."""
    svg = drawn["learned_filters"][0]
    assert svg.count("<image") >= 2 * 4  # a filter and a map per drawn filter


def test_filter_stack_figure_numbers(drawn, outputs):
    a, meta = arrays_of(outputs), drawn["filter_stack"][1]
    metrics = json.loads(outputs["metrics"].read_text())
    assert meta["count"] == 3 == len(a["stack_maps"]) and meta["filters"] == metrics["stack"]["filters"]
    assert meta["output_extent"] == [28, 28, 3] and meta["kernel_extent"] == [3, 3]
    assert "stacks them into one 28 × 28 × 3 output" in meta["title"]
    for i, number in enumerate(meta["filters"]):  # the stacked filters are the CNN's own, by number
        np.testing.assert_array_equal(a["stack_filters"][i], a["learned_filters"][number - 1])
        np.testing.assert_allclose(a["stack_maps"][i], a["learned_maps"][number - 1], atol=1e-12)


def test_stride_padding_dilation_figure_numbers(drawn, outputs):
    a, meta = arrays_of(outputs), drawn["stride_padding_dilation"][1]
    assert meta["output_sides"] == {"plain": 5, "stride": 3, "padding": 7, "dilation": 3}
    assert meta["second_offsets"]["stride"] == 2 and meta["first_spans"]["dilation"] == 5
    assert "torch returns 5 × 5, 3 × 3, 7 × 7, 3 × 3" in meta["title"]
    assert a["spd_reads"].shape == (4, 2, 9, 9)


def test_volume_figure_numbers(drawn, outputs):
    a, meta = arrays_of(outputs), drawn["volume_3d"][1]
    assert meta["frames"] == 4 and meta["kernel_shape"] == [2, 3, 3] and meta["output_shape"] == [3, 26, 26]
    assert meta["directions"] == 3 and meta["full_depth_directions"] == 2
    assert meta["full_depth_output_shape"] == [1, 26, 26]
    assert "can't be greater than actual input size" in meta["too_deep_error"]
    # move-stop: it moves into frames 2 and 3, then stands still; output 3's window (frames 3 and 4) is still
    assert meta["frame_labels"] == ["start", "moved", "moved", "still"]
    peaks = np.abs(a["volume_output"]).reshape(3, -1).max(axis=1)
    assert meta["responding_frames"] == [j + 1 for j in range(3) if peaks[j] > 1e-9] == [1, 2]
    assert meta["silent_frames"] == [3]
    assert "output frames 1 and 2 answer" in meta["alt"] and "frame 3 is 0" in meta["alt"]


def test_plotting_never_imports_torch():
    """Imported as the workflow runs them (PYTHONPATH=scripts), the figures and their readers leave torch out."""
    code = (
        "import sys, convolutions.convio, "
        + ", ".join(module.__name__ for module in FIGURES.values())
        + "; assert 'torch' not in sys.modules, 'torch imported'"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, env=SCRIPT_ENV)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("name", list(FIGURES))
def test_a_missing_array_is_named(tmp_path, outputs, name):
    module = FIGURES[name]
    arrays = arrays_of(outputs)
    dropped = next(iter(module.ARRAYS))
    arrays.pop(dropped)
    save_npz(tmp_path / "arrays.npz", **arrays)
    with pytest.raises(PipelineError, match=f"lacks {dropped}"):
        module.main([
            "--arrays", str(tmp_path / "arrays.npz"), "--metrics", str(outputs["metrics"]),
            "--output", str(tmp_path / "x.svg"), "--meta", str(tmp_path / "x.json"),
        ])  # fmt: skip
    assert not (tmp_path / "x.svg").exists()


def test_malformed_inputs_are_refused(tmp_path, outputs):
    arrays = arrays_of(outputs)
    flags = ["--output", str(tmp_path / "x.svg"), "--meta", str(tmp_path / "x.json")]
    wrong_dims = {**arrays, "image": arrays["image"][0]}
    save_npz(tmp_path / "dims.npz", **wrong_dims)
    with pytest.raises(PipelineError, match="'image' must be a finite 2-D array"):
        edges_2d.main(["--arrays", str(tmp_path / "dims.npz"), "--metrics", str(outputs["metrics"]), *flags])
    short = {**arrays, "signal_smooth": arrays["signal_smooth"][:-1]}
    save_npz(tmp_path / "short.npz", **short)
    with pytest.raises(PipelineError, match="signal_smooth does not fit"):
        signal_1d.main(["--arrays", str(tmp_path / "short.npz"), "--metrics", str(outputs["metrics"]), *flags])
    write_json(tmp_path / "metrics.json", {"examples": []})
    with pytest.raises(PipelineError, match="has no 'examples' list or 'image'"):
        over_2d.main(["--arrays", str(outputs["arrays"]), "--metrics", str(tmp_path / "metrics.json"),
                                  *flags])  # fmt: skip
    assert not (tmp_path / "x.svg").exists()


@pytest.mark.parametrize("flag", ["--arrays", "--metrics"])
def test_a_missing_input_file_is_one_error_line(tmp_path, outputs, flag):
    """By the real command line: exit status 1, one line naming the file, no traceback, nothing written."""
    paths = {"--arrays": outputs["arrays"], "--metrics": outputs["metrics"], flag: tmp_path / "none"}
    args = [item for pair in paths.items() for item in pair]
    result = run_script("convolutions/figures/edges_2d.py", *args, "--output", tmp_path / "x.svg",
                        "--meta", tmp_path / "x.json", check=False)  # fmt: skip
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1
    assert f"{tmp_path / 'none'}: file not found" in result.stderr
    assert not (tmp_path / "x.svg").exists() and not (tmp_path / "x.json").exists()
