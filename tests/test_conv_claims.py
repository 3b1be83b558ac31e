"""Tests for convolutions/claims.py: every verdict follows from the shapes table, each claim can fail when the
shapes say otherwise, every fact picks the sentence its numbers support (and another when they change), and bad
metrics files give a clear error."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from conftest import run_script
from conv_inputs import TINY_ARGS, write_dataset, write_weights
from convolutions import compute as conv
from convolutions.claims import SUPPORTED, TITLE, check_claims
from kit.cli import PipelineError
from kit.facts import checked
from kit.io import write_json

CLAIM_IDS = [
    "number_rule",
    "one_d",
    "over_2d_kernel",
    "over_2d_output",
    "two_d",
    "multichannel_kernel",
    "multichannel_output",
    "three_d",
    "depth_condition",
    "formula",
]


@pytest.fixture(scope="module")
def metrics_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """metrics.json of convolutions/compute.py on the tiny inputs."""
    folder = tmp_path_factory.mktemp("conv-claims")
    data, weights = write_dataset(folder / "data.npy"), write_weights(folder / "weights.npz")
    conv.main([str(a) for a in ["--data", data, "--weights", weights, *TINY_ARGS,
                                "--arrays", folder / "arrays.npz", "--metrics", folder / "metrics.json"]])  # fmt: skip
    return folder / "metrics.json"


@pytest.fixture
def metrics(metrics_file: Path) -> dict:
    return json.loads(metrics_file.read_text())


def verdicts(metrics: dict) -> dict[str, str]:
    return {claim["id"]: claim["verdict"] for claim in check_claims(metrics)["claims"]}


def example(metrics: dict, name: str) -> dict:
    return next(row for row in metrics["examples"] if row["name"] == name)


def test_torch_supports_every_claim(metrics):
    result = check_claims(metrics)
    assert [claim["id"] for claim in result["claims"]] == CLAIM_IDS
    assert all(claim["verdict"] == SUPPORTED for claim in result["claims"])
    assert result["summary"] == {"supported": 10, "total": 10}
    for claim in result["claims"]:
        assert claim["rule"] and claim["measured"] and claim["source"] in ("thread", "thread, public copy", "added")
        assert (claim["quote"] is None) == (claim["source"] == "added")
    measured = {claim["id"]: claim["measured"] for claim in result["claims"]}
    assert "kernel 3 × 8" in measured["over_2d_kernel"] and "1 × 8 × 3" in measured["over_2d_kernel"]
    assert "kernel 3 × 3 × 6" in measured["multichannel_kernel"] and "54 weights" in measured["multichannel_kernel"]
    assert "output 1 × 1 × 26 × 26, 2 directions" in measured["multichannel_output"]
    assert "with padding 1: output 1 × 1 × 28 × 28" in measured["multichannel_output"]
    assert "kernel depth 4 gives 1 × 1 × 1 × 26 × 26 (2 directions" in measured["depth_condition"]
    check = metrics["formula_check"]
    assert measured["formula"].startswith(f"{check['cases']} of {check['cases']} cases match")


def test_number_rule_counts_only_kernels_smaller_than_their_input(metrics):
    claim = check_claims(metrics)["claims"][0]
    # 12 of the 13 examples: the kernel as deep as the volume is the depth condition's case, not the rule's.
    assert claim["values"] == {"examples": 12, "following": 12, "not_following": []}


@pytest.mark.parametrize(
    ("change", "claim_id"),
    [
        (lambda m: example(m, "over_2d").update(kernel_extent=[3, 1]), "over_2d_kernel"),
        (lambda m: example(m, "over_2d").update(output_extent=[18, 8], directions=2), "over_2d_output"),
        (lambda m: example(m, "signal_edge").update(directions=2), "one_d"),
        (lambda m: example(m, "sobel_y").update(directions=1), "two_d"),
        (lambda m: example(m, "multichannel").update(kernel_extent=[3, 3]), "multichannel_kernel"),
        (lambda m: example(m, "multichannel_padded").update(output_extent=[26, 26]), "multichannel_output"),
        (lambda m: example(m, "volume").update(positions=[1, 26, 26], directions=2), "three_d"),
        (lambda m: m["depth_condition"]["cases"][1].update(output_shape=[1, 1, 2, 26, 26], directions=3),
         "depth_condition"),
        (lambda m: m["depth_condition"]["cases"][2].update(output_shape=[1, 1, 1, 26, 26], error=None),
         "depth_condition"),
        (lambda m: m["formula_check"].update(matched=m["formula_check"]["cases"] - 1), "formula"),
        (lambda m: example(m, "learned").update(output_spatial_axes=3), "number_rule"),
    ],
    ids=["kernel-1d", "output-1d", "one-d", "two-d", "kernel-6", "padding", "three-d", "equal-depth", "too-deep",
         "formula", "number-rule"],
)  # fmt: skip
def test_each_claim_can_fail(metrics, change, claim_id):
    changed = copy.deepcopy(metrics)
    change(changed)
    result = verdicts(changed)
    assert result[claim_id] == "not supported"
    assert sum(v == SUPPORTED for v in result.values()) >= len(CLAIM_IDS) - 2  # the change hits its own claim


def test_missing_parts_are_named(metrics):
    broken = copy.deepcopy(metrics)
    broken["examples"] = [row for row in broken["examples"] if row["name"] != "over_2d"]
    with pytest.raises(PipelineError, match="has no example 'over_2d'"):
        check_claims(broken, "m.json")
    with pytest.raises(PipelineError, match="has no 'thread_cases'"):
        check_claims({k: v for k, v in metrics.items() if k != "thread_cases"}, "m.json")
    with pytest.raises(PipelineError, match="three cases"):
        check_claims({**metrics, "depth_condition": {"cases": []}}, "m.json")


def test_cli_writes_the_verdicts_and_refuses_bad_files(tmp_path, metrics_file):
    out = tmp_path / "claims.json"
    result = run_script("convolutions/claims.py", "--metrics", metrics_file, "--output", out)
    assert "10 of 10 claims supported" in result.stdout
    written = json.loads(out.read_text())
    assert written["summary"] == {"supported": 10, "total": 10}
    bad = tmp_path / "bad.json"
    write_json(bad, {"examples": [{"name": "over_2d"}], "thread_cases": {}})
    failed = run_script("convolutions/claims.py", "--metrics", bad, "--output", tmp_path / "x.json", check=False)
    assert failed.returncode == 1 and "bad.json" in failed.stderr and "Traceback" not in failed.stderr
    assert not (tmp_path / "x.json").exists()
    missing = run_script("convolutions/claims.py", "--metrics", tmp_path / "none.json", "--output", out, check=False)
    assert missing.returncode == 1 and "none.json: file not found" in missing.stderr
    assert missing.stderr.startswith("error: ") and missing.stderr.count("\n") == 1
    unknown = run_script("convolutions/claims.py", "--metrics", metrics_file, "--output", out, "--bogus", check=False)
    assert unknown.returncode == 1 and unknown.stderr.startswith("error: ") and "--bogus" in unknown.stderr


# --------------------------------------------------------------------------------------------------------
# Facts: each sentence follows its numbers
# --------------------------------------------------------------------------------------------------------

FACT_IDS = {
    "headline", "description", "claims_summary", "thread_claims", "formula", "cross_correlation", "smoothing",
    "edge_noise", "edge_peak", "row_edges", "outlines", "stack", "second_layer", "network_maps", "channel_sum",
    "learned", "volume_motion", "volume_ink", "depth_cases", "volume_response", "stride_padding_dilation",
    "depth_boundary", "provenance", "takeaway_rule", "takeaway_positions", "takeaway_channels", "takeaway_formula",
    "takeaway_depth", "answer_smoothing", "answer_multichannel", "answer_second_layer", "answer_stride",
    "answer_volume",
}  # fmt: skip


def facts_of(metrics: dict) -> dict:
    return check_claims(metrics)["facts"]


def test_every_fact_is_well_formed(metrics):
    facts = facts_of(metrics)
    assert set(facts) == FACT_IDS
    for key, fact in facts.items():
        checked(fact, key)
        json.dumps(fact)
    assert facts["headline"]["text"] == TITLE
    assert facts["claims_summary"]["text"] == "All 10 claims are supported by the measurements."


def test_the_second_layer_fact_states_the_pooled_shape(metrics):
    """The tiny CNN's second layer sees 14 x 14 x 8, not the thread's 28 x 28 x 6 (issue: it max-pools first)."""
    fact = facts_of(metrics)["second_layer"]
    assert not fact["holds"]
    assert "that layer receives 14 × 14 × 8" in fact["text"] and "max-pools" in fact["text"]
    assert "passes on all 8 of them, not 6" in fact["text"]
    same = copy.deepcopy(metrics)
    same["second_layer"].update(input_extent=[28, 28, 6], pooled=False, first_layer_output_extent=[28, 28, 6])
    assert facts_of(same)["second_layer"]["text"].startswith("Run on the test image, this CNN's second layer sees")


@pytest.mark.parametrize(
    ("value", "words"),
    [(0.0, "equals that sum exactly"), (1.39e-16, "at most 1.4 × 10⁻¹⁶"), (8.01e-16, "at most 8.1 × 10⁻¹⁶")],
)
def test_bounds_are_rounded_up(metrics, value, words):
    changed = copy.deepcopy(metrics)
    changed["multichannel"]["max_abs_difference_from_channel_sum"] = value
    changed["cross_correlation"]["max_abs_difference_from_numpy_correlate"] = value
    facts = facts_of(changed)
    assert words in facts["channel_sum"]["text"]
    assert ("correlate exactly" if value == 0 else words) in facts["cross_correlation"]["text"]


def change_and_read(metrics: dict, change, fact_id: str) -> dict:
    changed = copy.deepcopy(metrics)
    change(changed)
    return facts_of(changed)[fact_id]


@pytest.mark.parametrize(
    ("change", "fact_id", "words"),
    [
        (lambda m: m["signal"].update(rms_from_clean_smoothed=0.2, rms_from_clean_input=0.1), "smoothing",
         "does not bring the signal closer"),
        (lambda m: m["signal"].update(rms_from_clean_smoothed=0.01, rms_from_clean_input=0.0, noise_std=0.0),
         "smoothing", "With no noise to remove"),
        (lambda m: m["signal"].update(noise_std=0.0), "edge_noise", "the sine's slope alone"),
        (lambda m: m["signal"].update(noise_share_edge=0.05, noise_share_input=0.1), "edge_noise",
         "goes from 10 % in the input to 5 %"),
        (lambda m: m["signal"].update(edge_peak_phase_deg=120.0), "edge_peak", "away from the sine's upward zero"),
        (lambda m: m["image_row"].update(ink_first_column=None, ink_last_column=None), "row_edges", "holds no ink"),
        (lambda m: m["image_row"].update(ink_first_column=3, edge_max_column=9, ink_last_column=20,
                                         edge_min_column=20), "row_edges", "away from where the row enters"),
        (lambda m: m["outlines"].update(sobel_x_on_left_right=0.1, sobel_x_on_top_bottom=2.0), "outlines",
         "do not split the outline"),
        (lambda m: m["outlines"].update(sobel_y_on_top_bottom=None), "outlines", "no outline of both kinds"),
        (lambda m: m["second_layer"].update(max_abs_difference_from_network=0.5), "network_maps",
         "more than float32 rounding explains"),
        (lambda m: m["depth_condition"].update(ink_share=[1.0, 1.0, 0.6, 0.0]), "volume_ink",
         "from frame 3 on, part of it has left the frame, and the last frame is empty"),
        (lambda m: m["depth_condition"].update(ink_share=[1.0, 0.999, 0.998, 0.997]), "volume_ink",
         "keeps at least 99.7 % of its ink"),
        (lambda m: m["depth_condition"].update(ink_total=0.0), "volume_ink", "no garment"),
        (lambda m: m["depth_condition"].update(ink_total=0.0), "volume_response", "Every frame is empty"),
        (lambda m: m["depth_condition"].update(moving_windows=[], responding_frames=[], silent_frames=[1, 2, 3],
                                               changing_windows=[]), "volume_response", "does not move"),
        (lambda m: m["depth_condition"].update(moving_windows=[1, 2, 3], responding_frames=[1, 2, 3],
                                               silent_frames=[]), "volume_response", "Every output frame responds"),
        (lambda m: m["depth_condition"].update(moving_windows=[1, 2, 3], responding_frames=[1, 2], silent_frames=[3],
                                               changing_windows=[1, 2]), "volume_response", "left the picture"),
        (lambda m: m["formula_check"].update(matched=m["formula_check"]["cases"] - 1), "formula", "listed in"),
        (lambda m: m["formula_check"].update(matched=m["formula_check"]["cases"] - 1), "claims_summary",
         "9 of 10 claims are supported by the measurements; not supported: formula"),
        (lambda m: example(m, "learned").update(output_spatial_axes=3), "headline",
         "the thread's rule, and 1 example where it does not hold"),
        (lambda m: m["depth_condition"]["cases"][2].update(output_shape=[1, 1, 1, 26, 26], error=None),
         "depth_cases", "A kernel 5 frames deep gives 1 × 1 × 1 × 26 × 26"),
        (lambda m: example(m, "learned").update(output_spatial_axes=3), "takeaway_rule",
         "but 1 of the 12 examples here do not follow that rule (learned)"),
        (lambda m: example(m, "sobel_x").update(output_extent=[27, 27]), "takeaway_positions",
         "gave 27 × 27, not the 26 × 26"),
        (lambda m: example(m, "multichannel").update(kernel_extent=[3, 3, 1]), "takeaway_channels",
         "which is not what the thread says"),
        (lambda m: m["formula_check"].update(matched=m["formula_check"]["cases"] - 1), "takeaway_formula",
         "in only"),
        (lambda m: m["depth_condition"]["cases"][1].update(output_shape=[1, 1, 2, 26, 26]), "takeaway_depth",
         "gave 2 × 26 × 26, not a single frame"),
        (lambda m: example(m, "signal_smooth").update(output_extent=[99]), "answer_smoothing",
         "Torch returned 99 values"),
        (lambda m: m["stride_padding_dilation"]["cases"][1].update(output_side=4), "answer_stride",
         "The formula and torch disagree here"),
        (lambda m: m["second_layer"].update(kernel_shape=[4, 6, 3, 3]), "answer_second_layer",
         "hold 6 slices per kernel, not 8"),
        (lambda m: m["second_layer"].update(max_abs_difference_from_network=0.5), "provenance",
         "differ from its own forward pass"),
    ],
    ids=["smoothing-worse", "smoothing-no-noise", "edge-no-noise", "edge-less-noise", "peak-away", "row-blank",
         "row-inside", "outlines-swapped", "outlines-none", "network-far", "ink-lost", "ink-kept", "ink-blank",
         "response-blank", "response-still", "response-all", "response-left", "formula-miss", "summary-miss",
         "headline-rule", "depth-deeper", "takeaway-rule", "takeaway-positions", "takeaway-channels",
         "takeaway-formula", "takeaway-depth", "answer-smoothing", "answer-stride", "answer-second-layer",
         "provenance-far"],
)  # fmt: skip
def test_each_fact_follows_its_numbers(metrics, change, fact_id, words):
    fact = change_and_read(metrics, change, fact_id)
    checked(fact, fact_id)
    assert words in fact["text"], fact["text"]


def test_the_tiny_run_facts_state_its_numbers(metrics):
    facts = facts_of(metrics)
    depth = metrics["depth_condition"]
    # move-stop over 4 frames with a 2-deep kernel: it moves into frames 2 and 3, then stands still
    assert depth["moves"] == [True, True, False]
    assert "into each of frames 2 and 3, then stands still in frame 4" in facts["volume_motion"]["text"]
    responding, silent = depth["responding_frames"], depth["silent_frames"]
    assert responding == [1, 2] and silent == [3]
    assert (
        facts["volume_response"]["text"].startswith("Output frames 1 and 2 respond")
        and "frame 3 is 0" in (facts["volume_response"]["text"])
    )
    assert "the first layer's 3 filters" in facts["stack"]["text"] and "28 × 28 × 3" in facts["stack"]["text"]
