"""Tests for convolutions/compute.py: the output-size formula against torch, every example's shapes, the checks
it records (what the CNN's second layer really sees, which frames of the 3D example respond, which cells stride,
padding and dilation read), determinism of its files, and clear errors for bad weights, data and flags."""

from __future__ import annotations

import contextlib
import dataclasses
import io
import itertools
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F  # noqa: N812

from conftest import run_script
from conv_inputs import (
    FILTERS_1,
    RECTANGLE,
    TINY_ARGS,
    shapes_images,
    weight_arrays,
    with_flags,
    write_dataset,
    write_shapes_dataset,
    write_weights,
)
from convolutions import compute as conv
from kit.cli import run_cli
from kit.io import load_npz, read_json


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A tiny prepared dataset and CNN weights file, shared by the module's tests."""
    folder = tmp_path_factory.mktemp("conv-inputs")
    return {"data": write_dataset(folder / "data.npy"), "weights": write_weights(folder / "weights.npz")}


def tiny_settings(inputs: dict[str, Path]) -> conv.Settings:
    """The settings the tiny flags give (parsed as the command line parses them)."""
    argv = ["--data", inputs["data"], "--weights", inputs["weights"], "--arrays", "a", "--metrics", "m", *TINY_ARGS]
    return conv.settings_from(conv.build_parser().parse_args([str(a) for a in argv]))


@pytest.fixture(scope="module")
def computed(inputs: dict[str, Path]) -> tuple[dict, dict]:
    """Arrays and metrics of one in-process run on the tiny inputs with the tiny flags."""
    return conv.compute(inputs["data"], inputs["weights"], tiny_settings(inputs))


def rows(metrics: dict) -> dict[str, dict]:
    return {row["name"]: row for row in metrics["examples"]}


# --------------------------------------------------------------------------------------------------------
# The output-size formula
# --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("n", "k", "s", "p", "d", "expected"),
    [
        (28, 3, 1, 0, 1, 26),  # the thread's 28 x 28 with a 3 x 3 kernel
        (20, 3, 1, 0, 1, 18),  # the thread's 20 x 8 with a width-3 kernel, along time
        (28, 3, 1, 1, 1, 28),  # padding 1 keeps the size
        (8, 8, 1, 0, 1, 1),  # a kernel as deep as the input: one position
        (8, 9, 1, 0, 1, 0),  # deeper: no position at all
        (10, 3, 2, 1, 2, 4),  # floor((10 + 2 - 4 - 1) / 2) + 1
        (7, 2, 3, 0, 1, 2),
    ],
)
def test_output_size_by_hand(n, k, s, p, d, expected):
    assert conv.output_size(n, k, s, p, d) == expected


def test_formula_matches_torch_over_a_grid():
    """An independent loop over a grid: torch's conv1d size equals the formula, or torch refuses a kernel that
    does not fit."""
    checked = refused = 0
    for n, k, s, p, d in itertools.product((1, 2, 5, 9), (1, 2, 3), (1, 2, 3), (0, 1, 2), (1, 2)):
        expected = conv.output_size(n, k, s, p, d)
        x, w = torch.zeros(1, 1, n, dtype=torch.float64), torch.ones(1, 1, k, dtype=torch.float64)
        if expected < 1:
            with pytest.raises(RuntimeError):
                F.conv1d(x, w, stride=s, padding=p, dilation=d)
            refused += 1
        else:
            assert F.conv1d(x, w, stride=s, padding=p, dilation=d).shape[-1] == expected, (n, k, s, p, d)
        checked += 1
    assert checked == 216 and refused > 0


def test_formula_check_counts_every_case():
    grid = conv.Grid(sizes=(1, 4), kernels=(1, 3), strides=(1, 2), paddings=(0, 1), dilations=(1, 2), samples=7)
    check = conv.formula_check(grid, seed=1)
    assert check["cases"] == 32 + 7 + 7
    assert check["by_dimension"] == {"1d": {"cases": 32, "matched": 32}, "2d": {"cases": 7, "matched": 7},
                                     "3d": {"cases": 7, "matched": 7}}  # fmt: skip
    assert check["matched"] == check["cases"] and check["mismatches"] == []
    assert 0 < check["no_output_cases"] < check["cases"]


def test_a_wrong_formula_is_caught(monkeypatch):
    """The check can fail: with the dilation left out, dilated cases stop matching and are listed."""
    monkeypatch.setattr(conv, "output_size", lambda n, k, s=1, p=0, d=1: (n + 2 * p - (k - 1) - 1) // s + 1)
    grid = conv.Grid(sizes=(5, 9), kernels=(3,), strides=(1,), paddings=(0,), dilations=(1, 2), samples=0)
    check = conv.formula_check(grid, seed=1)
    assert check["cases"] == 4 and check["matched"] == 2
    assert {tuple(m["d"]) for m in check["mismatches"]} == {(2,)}


# --------------------------------------------------------------------------------------------------------
# The examples
# --------------------------------------------------------------------------------------------------------


def test_every_example_has_the_expected_shapes(computed):
    arrays, metrics = computed
    ex = rows(metrics)
    expected = {
        "signal_smooth": ([1, 1, 40], [1, 1, 5], [1, 1, 36], 1),
        "signal_edge": ([1, 1, 40], [1, 1, 3], [1, 1, 38], 1),
        "row_smooth": ([1, 1, 28], [1, 1, 5], [1, 1, 24], 1),
        "row_edge": ([1, 1, 28], [1, 1, 3], [1, 1, 26], 1),
        "over_2d": ([1, 8, 20], [1, 8, 3], [1, 1, 18], 1),
        "sobel_x": ([1, 1, 28, 28], [1, 1, 3, 3], [1, 1, 26, 26], 2),
        "sobel_y": ([1, 1, 28, 28], [1, 1, 3, 3], [1, 1, 26, 26], 2),
        "stack": ([1, 1, 28, 28], [3, 1, 3, 3], [1, 3, 28, 28], 2),
        "multichannel": ([1, 6, 28, 28], [1, 6, 3, 3], [1, 1, 26, 26], 2),
        "multichannel_padded": ([1, 6, 28, 28], [1, 6, 3, 3], [1, 1, 28, 28], 2),
        "learned": ([1, 1, 28, 28], [FILTERS_1, 1, 3, 3], [1, FILTERS_1, 28, 28], 2),
        "volume": ([1, 1, 4, 28, 28], [1, 1, 2, 3, 3], [1, 1, 3, 26, 26], 3),
        "volume_full_depth": ([1, 1, 4, 28, 28], [1, 1, 4, 3, 3], [1, 1, 1, 26, 26], 2),
    }
    assert list(ex) == list(expected)
    for name, (x, w, y, directions) in expected.items():
        row = ex[name]
        assert (row["input_shape"], row["kernel_shape"], row["output_shape"]) == (x, w, y), name
        assert row["directions"] == directions, name
        assert row["formula_matches"], name
        assert row["parameters"] == int(np.prod(w)), name
    # The thread's way of writing the shapes: axes first, channels last.
    assert ex["over_2d"]["input_extent"] == [20, 8] and ex["over_2d"]["kernel_extent"] == [3, 8]
    assert ex["multichannel"]["kernel_extent"] == [3, 3, 6] and ex["multichannel"]["output_extent"] == [26, 26]
    assert ex["volume_full_depth"]["output_spatial_axes"] == 3  # three axes, but only 2 with more than one position
    # The arrays hold what the rows describe.
    assert arrays["signal_smooth"].shape == (36,) and arrays["over2d_output"].shape == (18,)
    assert arrays["learned_maps"].shape == (FILTERS_1, 28, 28) and arrays["volume_output"].shape == (3, 26, 26)
    assert arrays["stack_maps"].shape == (3, 28, 28) and ex["stack"]["output_extent"] == [28, 28, 3]


def test_outputs_are_cross_correlations(computed):
    arrays, metrics = computed
    assert metrics["cross_correlation"]["max_abs_difference_from_numpy_correlate"] == 0
    assert metrics["cross_correlation"]["max_abs_difference_from_numpy_convolve"] > 0.01
    # Sobel x by hand at one position (no flip): the 3 x 3 patch times the kernel, summed.
    image = arrays["image"]
    assert arrays["sobel_x_output"][10, 12] == pytest.approx(float((image[10:13, 12:15] * conv.SOBEL_X).sum()))
    smooth = np.convolve(arrays["signal"], np.full(5, 0.2), "valid")
    np.testing.assert_allclose(arrays["signal_smooth"], smooth, atol=1e-12)


def test_the_multichannel_output_is_the_sum_of_channel_parts(computed):
    arrays, metrics = computed
    np.testing.assert_allclose(arrays["multi_parts"].sum(axis=0), arrays["multi_output"], atol=1e-12)
    assert metrics["multichannel"]["max_abs_difference_from_channel_sum"] < 1e-12
    assert arrays["multi_input"].min() >= 0  # after ReLU, as the network passes the maps on


def test_depth_condition_cases(computed):
    _, metrics = computed
    cases = {case["name"]: case for case in metrics["depth_condition"]["cases"]}
    assert cases["volume"]["output_shape"] == [1, 1, 3, 26, 26] and cases["volume"]["directions"] == 3
    assert cases["volume_full_depth"]["output_shape"] == [1, 1, 1, 26, 26]
    assert cases["volume_full_depth"]["directions"] == 2
    assert cases["volume_too_deep"]["output_shape"] is None and cases["volume_too_deep"]["formula_depth"] == 0
    assert "Kernel size can't be greater" in cases["volume_too_deep"]["error"]


def test_learned_filters_and_stats(computed, inputs):
    arrays, metrics = computed
    weights = load_npz(inputs["weights"])["model.conv1.weight"]
    np.testing.assert_array_equal(arrays["learned_filters"], weights[:, 0].astype(np.float64))
    learned = metrics["learned"]
    assert learned["n_filters"] == FILTERS_1 and len(learned["balance"]) == FILTERS_1
    assert learned["edge_like_count"] == sum(b < learned["edge_like_below"] for b in learned["balance"])
    stats = conv.filter_stats(np.stack([conv.SOBEL_X, np.ones((3, 3))]))
    assert stats["edge_like"] == [True, False]
    assert stats["sobel_x_correlation"][0] == pytest.approx(1.0) and stats["balance"][1] == pytest.approx(1.0)


def test_sliding_volume_moves_towards_the_widest_margin():
    image = np.zeros((6, 6))
    image[1:3, 0:2] = 1.0  # ink top-left: most room below (3 rows) and to the right (4 columns)
    assert conv.slide_direction(image) == ("right", 0, 1)
    video = conv.sliding_frames(image, [0, 2, 4], (0, 1))
    np.testing.assert_array_equal(video[0], image)
    np.testing.assert_array_equal(video[2][1:3, 4:6], np.ones((2, 2)))
    assert video[2].sum() == image.sum()  # nothing has left the frame yet
    up = conv.sliding_frames(image, [0, 1], (-1, 0))
    assert up[1][0:2, 0:2].sum() == 4
    gone = conv.sliding_frames(image, [0, 5, 9], (0, 1))
    assert gone[1].sum() == 1 * 2 and gone[2].sum() == 0  # one column left in the picture, then nothing


@pytest.mark.parametrize(
    ("frames", "motion", "moves"),
    [
        (8, "move-stop", [True] * 4 + [False] * 3),
        (8, "stop-move", [False] * 3 + [True] * 4),
        (8, "uniform", [True] * 7),
        (3, "move-stop", [True, False]),
        (4, "stop-move", [False, True, True]),
    ],
)
def test_motion_steps_and_offsets(frames, motion, moves):
    assert conv.motion_steps(frames, motion) == moves
    offsets = conv.motion_offsets(moves, 3)
    assert offsets[0] == 0 and len(offsets) == frames
    assert [b - a for a, b in itertools.pairwise(offsets)] == [3 if m else 0 for m in moves]


def test_volume_response_names_the_frames_that_answer():
    """Output frame j answers when its window of frames changes; a window with a move out of the picture does not."""
    image = np.zeros((8, 8))
    image[2:4, 2:4] = 1.0
    steps = [True, True, False, False, True]  # the last move carries it out of the picture
    video = conv.sliding_frames(image, [0, 1, 2, 2, 2, 9], (0, 1))
    kernel = conv.motion_kernel(2)[None, None]
    out = conv.convolve(video[None, None], kernel, 3).numpy()[0, 0]
    info = conv.volume_response(video, out, steps, 2)
    assert info["responding_frames"] == [1, 2, 5] and info["silent_frames"] == [3, 4]
    assert info["moving_windows"] == [1, 2, 5] and info["changing_windows"] == [1, 2, 5]
    assert len(info["output_frame_max"]) == 5 and info["output_frame_max"][2] < conv.ZERO


def test_the_motion_kernel_weights_sum_to_zero():
    for depth in (2, 3, 5):
        assert abs(conv.motion_kernel(depth).sum()) < 1e-12


def test_stride_padding_dilation_reads_come_from_autograd():
    arrays, info = conv.stride_padding_dilation()
    by = {case["name"]: case for case in info["cases"]}
    assert {name: case["output_side"] for name, case in by.items()} == {
        "plain": 5, "stride": 3, "padding": 7, "dilation": 3}  # fmt: skip
    assert all(case["output_side"] == case["formula_side"] for case in info["cases"])
    assert by["stride"]["second_offset"] == 2 and by["plain"]["second_offset"] == 1
    assert by["dilation"]["first_span"] == 5 and by["padding"]["first_reads_padding"] == 5
    reads, cells = arrays["spd_reads"], arrays["spd_cells"]
    assert reads.shape == (4, 2, 9, 9) and cells.shape == (4, 9, 9)
    assert all(reads[i, j].sum() == 9 for i in range(4) for j in range(2))  # a 3 x 3 kernel reads 9 cells
    assert (cells[2] >= 1).sum() == 81 and (cells[0] == 2).sum() == 49  # padding 1: a 9 x 9 padded grid
    # dilation 2: the first output reads rows and columns 0, 2, 4 of the input (grid offset by the margin 1)
    rows, cols = np.nonzero(reads[3, 0])
    assert sorted(set(rows - 1)) == [0, 2, 4] and sorted(set(cols - 1)) == [0, 2, 4]


def test_shown_filters_take_the_kinds_in_turn():
    kinds = ["edge", "edge", "ink", "edge", "paper", "edge"]
    strength = np.array([0.1, 0.9, 0.5, 0.3, 0.2, 0.8])
    assert conv.shown_filters(kinds, strength, 4) == [2, 3, 5, 6]  # edge 2, ink 3, paper 5, then edge 6
    assert conv.shown_filters(kinds, strength, 10) == [1, 2, 3, 4, 5, 6]  # capped at the filter count
    assert conv.shown_filters(kinds, strength, 1) == [2]


def test_the_second_layer_shape_comes_from_the_network(computed):
    """The tiny CNN max-pools 28 x 28 to 14 x 14 before its second layer, which takes all 8 first-layer maps."""
    _, metrics = computed
    layer = metrics["second_layer"]
    assert layer["input_shape"] == [1, FILTERS_1, 14, 14] and layer["input_extent"] == [14, 14, FILTERS_1]
    assert layer["first_layer_output_extent"] == [28, 28, FILTERS_1] and layer["pooled"] is True
    assert layer["kernel_shape"] == [4, FILTERS_1, 3, 3] and layer["output_shape"] == [1, 4, 14, 14]
    assert layer["max_abs_difference_from_network"] < 1e-4  # float32 network against float64 maps


def test_weights_without_the_architecture_are_refused(tmp_path, inputs):
    arrays = weight_arrays()
    arrays["meta"] = np.array('{"format": "ml-explainers-cnn/1", "mean": 0.3, "std": 0.35}')
    message = fails(tmp_path, inputs, weights=write_weights(tmp_path / "old.npz", arrays))
    assert "old.npz: cannot rebuild the CNN from its weights" in message


def test_drawn_images_give_the_expected_outcomes(tmp_path):
    """On the drawn rectangle the row's edges sit at its borders, and moving 8 pixels a frame carries it out."""
    data = write_shapes_dataset(tmp_path / "shapes.npy")
    weights = write_weights(tmp_path / "w.npz")
    argv = [*with_flags(test_image=RECTANGLE, volume_shift=8, volume_motion="uniform", volume_frames=5),
            "--data", data, "--weights", weights, "--arrays", "a", "--metrics", "m"]  # fmt: skip
    settings = conv.settings_from(conv.build_parser().parse_args([str(a) for a in argv]))
    arrays, metrics = conv.compute(data, weights, settings)
    np.testing.assert_array_equal(arrays["image"], shapes_images()[RECTANGLE] / 255.0)
    row = metrics["image_row"]
    assert (row["ink_first_column"], row["ink_last_column"]) == (9, 18)
    assert abs(row["edge_max_column"] - 9) <= 1 and abs(row["edge_min_column"] - 18) <= 1
    depth = metrics["depth_condition"]
    assert depth["direction"] == "right" and depth["offsets"] == [0, 8, 16, 24, 32]
    assert depth["ink_share"][:2] == [1.0, 1.0] and depth["ink_share"][2] == pytest.approx(0.3)
    assert depth["ink_share"][3:] == [0.0, 0.0]
    assert depth["responding_frames"] == [1, 2, 3] and depth["moving_windows"] == [1, 2, 3, 4]
    outlines = metrics["outlines"]
    assert outlines["sobel_x_on_left_right"] > outlines["sobel_x_on_top_bottom"]
    assert outlines["sobel_y_on_top_bottom"] > outlines["sobel_y_on_left_right"]


def test_weights_without_batch_norm_use_the_bias(tmp_path, inputs):
    path = write_weights(tmp_path / "w.npz", weight_arrays(batch_norm=False))
    weights = conv.read_weights(path)
    assert weights["norm"] is None and weights["bias"] is not None
    grid = dataclasses.replace(tiny_settings(inputs).grid, samples=0, sizes=(3,), kernels=(1,))
    settings = dataclasses.replace(tiny_settings(inputs), grid=grid)
    _, metrics = conv.compute(inputs["data"], path, settings)
    assert rows(metrics)["learned"]["parameters"] == FILTERS_1 * 9 + FILTERS_1


# --------------------------------------------------------------------------------------------------------
# The command line: determinism and errors
# --------------------------------------------------------------------------------------------------------


def test_cli_and_in_process_runs_write_identical_bytes(tmp_path, inputs):
    base = ["--data", inputs["data"], "--weights", inputs["weights"], *TINY_ARGS]
    result = run_script("convolutions/compute.py", *base, "--arrays", tmp_path / "a" / "arrays.npz",
                        "--metrics", tmp_path / "a" / "metrics.json")  # fmt: skip
    assert "output-size formula matched torch in" in result.stdout
    conv.main([str(v) for v in [*base, "--arrays", tmp_path / "b" / "arrays.npz",
                                "--metrics", tmp_path / "b" / "metrics.json"]])  # fmt: skip
    for name in ("arrays.npz", "metrics.json"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == ["arrays.npz", "metrics.json"]
    metrics = read_json(tmp_path / "a" / "metrics.json")
    assert metrics["image"]["index"] == int(np.random.default_rng(5).integers(20))  # drawn with --seed 5
    assert metrics["settings"]["seed"] == 5 and metrics["signal"]["samples"] == 40


def fails(
    tmp_path: Path, inputs: dict, *extra: str | Path, weights: Path | None = None, args: list[str] | None = None
) -> str:
    """Run the command line in-process (as ``__main__`` does), expect exit status 1; return its error line.

    ``args`` replaces the tiny setting flags (to leave one out)."""
    settings = TINY_ARGS if args is None else args
    argv = ["--data", inputs["data"], "--weights", weights or inputs["weights"], *settings, *extra,
            "--arrays", tmp_path / "x.npz", "--metrics", tmp_path / "x.json"]  # fmt: skip
    stderr = io.StringIO()
    with contextlib.redirect_stderr(stderr):
        assert run_cli(conv.main, [str(a) for a in argv]) == 1
    assert not (tmp_path / "x.npz").exists() and not (tmp_path / "x.json").exists()
    return stderr.getvalue()


def test_missing_weights_file_is_named(tmp_path, inputs):
    assert "missing.npz: file not found" in fails(tmp_path, inputs, weights=tmp_path / "missing.npz")


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"model.conv1.weight": None}, "lacks model.conv1.weight or model.conv2.weight"),
        ({"model.conv1.weight": np.zeros((8, 3, 3, 3), np.float32)}, "expected (filters, 1, k, k)"),
        ({"model.conv2.weight": np.zeros((4, 5, 3, 3), np.float32)}, "expected (filters, 8, k, k)"),
        ({"meta": None}, "normalisation mean and std"),
        ({"model.conv1.weight": np.zeros((4, 1, 3, 3), np.float32),
          "model.conv2.weight": np.zeros((4, 4, 3, 3), np.float32)}, "needs at least 6 first-layer filters"),
    ],
    ids=["no-conv1", "colour-filters", "conv2-mismatch", "no-meta", "too-few-filters"],
)  # fmt: skip
def test_bad_weights_give_a_clear_error(tmp_path, inputs, change, words):
    arrays = weight_arrays()
    for key, value in change.items():
        if value is None:
            arrays.pop(key)
        else:
            arrays[key] = value
    if "model.conv1.weight" in change and change["model.conv1.weight"] is not None:
        # keep the batch-norm arrays consistent with the new filter count, so only the intended check fires
        for key in [k for k in arrays if k.startswith("model.norm1.") and arrays[k].ndim == 1]:
            arrays[key] = arrays[key][: change["model.conv1.weight"].shape[0]]
    message = fails(tmp_path, inputs, weights=write_weights(tmp_path / "bad.npz", arrays))
    assert words in message and "bad.npz" in message


def test_a_file_that_is_not_npz_is_refused(tmp_path, inputs):
    bad = tmp_path / "bad.npz"
    bad.write_text("not an archive")
    assert "not a readable .npz" in fails(tmp_path, inputs, weights=bad)


@pytest.mark.parametrize(
    ("flags", "words"),
    [
        (["--volume-kernel-depth", "4"], "--volume-kernel-depth must be at least 2 and smaller than --volume-frames"),
        (["--volume-shift", "9"], "--volume-shift must be from 0 to 8"),
        (["--volume-motion", "jump"], "--volume-motion: invalid choice"),
        (["--stack-filters", "0"], "--stack-filters must be at least 1"),
        (["--test-image", "20"], "--test-image 20: the dataset holds test images 0 to 19"),
        (["--image-row", "28"], "--image-row must be from 0 to 27"),
        (["--mains-hz", "1500"], "--mains-hz must be below half of --signal-rate-hz"),
        (["--grid-kernels", "0"], "--grid-kernels: give one or more whole numbers from 1 to 64"),
        (["--multichannel-filter", "9"], "weights.npz has 4 filters"),
        (["--threads", "0"], "--threads must be at least 1"),
    ],
)
def test_bad_flags_give_a_clear_error(tmp_path, inputs, flags, words):
    assert words in fails(tmp_path, inputs, *flags)


def test_errors_reach_the_shell_as_one_line(tmp_path, inputs):
    """By its real command line too: exit status 1, the file named, no traceback, nothing written."""
    result = run_script("convolutions/compute.py", "--data", tmp_path / "none.npy", "--weights", inputs["weights"],
                        "--arrays", tmp_path / "x.npz", "--metrics", tmp_path / "x.json", check=False)  # fmt: skip
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1
    assert "none.npy: file not found" in result.stderr
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "flag",
    ["--seed", "--signal-samples", "--grid-kernels", "--multichannel-filter", "--volume-motion", "--learned-shown"],
)
def test_every_setting_flag_is_required(tmp_path, inputs, flag):
    """No setting has a default in the script (the config's schema holds them): leaving one out is an error."""
    tiny = [str(a) for a in TINY_ARGS]
    start = tiny.index(flag)
    end = next((i for i in range(start + 1, len(tiny)) if tiny[i].startswith("--")), len(tiny))
    message = fails(tmp_path, inputs, args=[*tiny[:start], *tiny[end:]])
    assert "the following arguments are required: " + flag in message


def test_the_test_image_may_be_left_out_or_given(tmp_path, inputs):
    """--test-image is the one optional setting: left out, the seed draws the image; given, it is used."""
    settings = tiny_settings(inputs)
    assert settings.test_image is None
    argv = ["--data", inputs["data"], "--weights", inputs["weights"], *TINY_ARGS, "--test-image", "3",
            "--arrays", "a", "--metrics", "m"]  # fmt: skip
    assert conv.settings_from(conv.build_parser().parse_args([str(a) for a in argv])).test_image == 3
