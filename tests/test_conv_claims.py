"""Tests for convolutions/claims.py: every verdict follows from the shapes table, each claim can fail when the
shapes say otherwise, and bad metrics files give a clear error."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from conftest import run_script
from conv_inputs import TINY_ARGS, write_dataset, write_weights
from convolutions import compute as conv
from convolutions.claims import SUPPORTED, check_claims
from kit.cli import PipelineError
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
    # 11 of the 12 examples: the kernel as deep as the volume is the depth condition's case, not the rule's.
    assert claim["values"] == {"examples": 11, "following": 11, "not_following": []}


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
