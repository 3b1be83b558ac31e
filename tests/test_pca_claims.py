"""Verdict logic of scripts/pca/claims.py on hand-made numbers, and its command line on the fixture data."""

from __future__ import annotations

import json

import numpy as np
import pytest

from conftest import run_script
from kit.cli import PipelineError
from kit.dataset import CLASS_NAMES
from kit.io import write_json
from pca import fit as pca
from pca.claims import NUMERIC_CLAIMS, check_claims, class_projections, numeric_verdict, shirt_shoe_verdict

CLAIM = {claim.id: claim for claim in NUMERIC_CLAIMS}


def ratios_with(first: float) -> list[float]:
    """A spectrum whose first ratio is ``first`` and the rest share what is left."""
    return [first, 0.18, 0.06, 0.05, 1.0 - first - 0.29]


@pytest.mark.parametrize(
    ("first", "verdict"),
    [
        (0.29, "supported"),
        (0.2951, "supported"),
        (0.305, "supported"),  # exactly 1.5 pp above: the boundary counts as supported
        (0.275, "supported"),  # exactly 1.5 pp below
        (0.3051, "not supported"),
        (0.2749, "not supported"),
        (0.40, "not supported"),
    ],
)
def test_numeric_verdict_against_tolerance(first, verdict):
    result = numeric_verdict(CLAIM["component_1"], ratios_with(first), tolerance=1.5)
    assert result["verdict"] == verdict
    assert result["measured"] == round(100 * first, 2)
    assert result["difference"] == round(100 * first - 29, 2)
    assert result["claimed"] == 29 and result["unit"] == "%" and result["tolerance"] == 1.5


def test_numeric_verdict_tolerance_is_a_setting():
    assert numeric_verdict(CLAIM["component_1"], ratios_with(0.31), tolerance=1.5)["verdict"] == "not supported"
    assert numeric_verdict(CLAIM["component_1"], ratios_with(0.31), tolerance=2.5)["verdict"] == "supported"


def test_total_claim_sums_the_first_four():
    result = numeric_verdict(CLAIM["total_4"], [0.29, 0.18, 0.06, 0.05, 0.42], tolerance=1.5)
    assert result["measured"] == 58.0 and result["verdict"] == "supported"
    result = numeric_verdict(CLAIM["total_4"], [0.29, 0.18, 0.02, 0.01, 0.50], tolerance=1.5)
    assert result["measured"] == 50.0 and result["verdict"] == "not supported"


def test_each_component_claim_reads_its_own_ratio():
    ratios = [0.29, 0.18, 0.06, 0.05, 0.42]
    measured = {c.id: numeric_verdict(c, ratios, 1.5)["measured"] for c in NUMERIC_CLAIMS}
    assert measured == {"component_1": 29.0, "component_2": 18.0, "component_3": 6.0, "component_4": 5.0,
                        "total_4": 58.0}  # fmt: skip


def test_numeric_verdict_needs_enough_components():
    with pytest.raises(PipelineError, match="needs 4 components"):
        numeric_verdict(CLAIM["total_4"], [0.6, 0.4], tolerance=1.5)


def projections(order: list[str]) -> list[dict]:
    """Hand-made class projections in the given order, largest first."""
    return [
        {"class": name, "label": CLASS_NAMES.index(name), "projection": float(len(order) - i)}
        for i, name in enumerate(order)
    ]


TOPS_FIRST = ["Coat", "Pullover", "T-shirt/top", "Shirt", "Dress", "Bag", "Trouser", "Ankle boot", "Sneaker", "Sandal"]


def test_shirt_shoe_supported_when_tops_and_footwear_are_at_opposite_ends():
    verdict, measured = shirt_shoe_verdict(projections(TOPS_FIRST))
    assert verdict == "supported"
    assert measured == ("largest projections: Coat, Pullover (tops); smallest projections: Sandal, Sneaker (footwear)")


def test_shirt_shoe_supported_with_the_sign_flipped():
    verdict, _ = shirt_shoe_verdict(projections(TOPS_FIRST[::-1]))
    assert verdict == "supported"


@pytest.mark.parametrize(
    "order",
    [
        # a bag among the largest
        ["Coat", "Bag", "T-shirt/top", "Shirt", "Dress", "Pullover", "Trouser", "Ankle boot", "Sneaker", "Sandal"],
        # a trouser among the smallest
        ["Coat", "Pullover", "T-shirt/top", "Shirt", "Dress", "Bag", "Ankle boot", "Sneaker", "Trouser", "Sandal"],
        # footwear at both ends
        ["Sandal", "Sneaker", "T-shirt/top", "Shirt", "Dress", "Bag", "Trouser", "Pullover", "Coat", "Ankle boot"],
    ],
)
def test_shirt_shoe_not_supported_otherwise(order):
    verdict, _ = shirt_shoe_verdict(projections(order))
    assert verdict == "not supported"


def test_shirt_shoe_needs_enough_classes():
    with pytest.raises(PipelineError, match="at least 4 classes"):
        shirt_shoe_verdict(projections(["Coat", "Sandal", "Bag"]))


def test_class_projections_project_class_means_on_the_component():
    # Pixel 0 carries the class: label * 10 (out of 255); the component is that pixel.
    labels = np.repeat(np.arange(10, dtype=np.uint8), 3)
    images = np.zeros((30, 28, 28), dtype=np.uint8)
    images[:, 0, 0] = labels * 10
    mean = np.zeros(784)
    mean[0] = 45 / 255  # the overall mean of pixel 0
    component = np.zeros(784)
    component[0] = 1.0
    rows = class_projections(images, labels, mean, component)
    assert [row["label"] for row in rows] == list(range(9, -1, -1))
    assert [row["class"] for row in rows] == [CLASS_NAMES[label] for label in range(9, -1, -1)]
    for row in rows:
        assert row["projection"] == pytest.approx((row["label"] * 10 - 45) / 255, abs=1e-6)


def test_check_claims_counts_supported_claims():
    metrics = {"explained_variance_ratio": [0.29, 0.10, 0.06, 0.05, 0.50]}  # component 2 and the total miss
    labels = np.arange(10, dtype=np.uint8)
    images = np.zeros((10, 28, 28), dtype=np.uint8)
    order = [CLASS_NAMES.index(name) for name in TOPS_FIRST]
    for rank, label in enumerate(order):
        images[label, 0, 0] = 200 - 20 * rank
    component = np.eye(784)[:1]
    result = check_claims(metrics, np.zeros(784), component, images, labels, tolerance=1.5)
    verdicts = {claim["id"]: claim["verdict"] for claim in result["claims"]}
    assert verdicts == {
        "component_1": "supported",
        "component_2": "not supported",
        "component_3": "supported",
        "component_4": "supported",
        "total_4": "not supported",
        "component_1_shirt_and_shoe": "supported",
    }
    assert result["summary"] == {"supported": 4, "total": 6}
    assert result["tolerance_pp"] == 1.5


@pytest.fixture
def pca_outputs(prepared_dataset, tmp_path):
    """PCA arrays and metrics fitted on the fixture's training images, as pca/fit.py writes them."""
    out, met = tmp_path / "pca" / "pca.npz", tmp_path / "pca" / "metrics.json"
    pca.main(["--input", str(prepared_dataset), "--output", str(out), "--metrics", str(met), "--thresholds", "0.9"])
    return {"data": prepared_dataset, "pca": out, "metrics": met}


def test_cli_writes_claims(pca_outputs, tmp_path):
    out = tmp_path / "claims.json"
    result = run_script(
        "pca/claims.py", "--metrics", pca_outputs["metrics"], "--pca", pca_outputs["pca"],
        "--data", pca_outputs["data"], "--tolerance-pp", "2", "--output", out,
    )  # fmt: skip
    assert "claims supported" in result.stdout
    claims = json.loads(out.read_text())
    assert claims["tolerance_pp"] == 2.0
    assert [c["id"] for c in claims["claims"]] == [c.id for c in NUMERIC_CLAIMS] + ["component_1_shirt_and_shoe"]
    for claim in claims["claims"]:
        assert claim["verdict"] in {"supported", "not supported"}
        assert claim["source_quote"] and claim["rule"] and claim["claim"]
    assert claims["summary"]["total"] == 6
    assert claims["summary"]["supported"] == sum(c["verdict"] == "supported" for c in claims["claims"])
    metrics = json.loads(pca_outputs["metrics"].read_text())
    assert claims["claims"][0]["measured"] == round(100 * metrics["explained_variance_ratio"][0], 2)
    values = [row["projection"] for row in claims["class_projections"]]
    assert values == sorted(values, reverse=True)
    assert sorted(row["label"] for row in claims["class_projections"]) == list(range(10))


def test_cli_rejects_metrics_from_another_fit(pca_outputs, tmp_path):
    metrics = json.loads(pca_outputs["metrics"].read_text())
    metrics["explained_variance_ratio"][0] += 0.01
    other = tmp_path / "other.json"
    write_json(other, metrics)
    out = tmp_path / "claims.json"
    result = run_script(
        "pca/claims.py", "--metrics", other, "--pca", pca_outputs["pca"], "--data", pca_outputs["data"],
        "--tolerance-pp", "1.5", "--output", out, check=False,
    )  # fmt: skip
    assert result.returncode == 1
    assert "different PCA fits" in result.stderr
    assert not out.exists()


def test_cli_refuses_missing_inputs_and_settings(pca_outputs, tmp_path):
    """A missing input file is named before any work; the tolerance comes from the config, so it has no default."""
    out = tmp_path / "claims.json"
    inputs = ["--metrics", pca_outputs["metrics"], "--pca", pca_outputs["pca"], "--data", pca_outputs["data"]]
    missing = tmp_path / "nowhere.npz"
    result = run_script(
        "pca/claims.py", *inputs[:2], "--pca", missing, *inputs[4:], "--tolerance-pp", "1.5", "--output", out,
        check=False,
    )  # fmt: skip
    assert result.returncode == 1
    assert result.stderr.startswith(f"error: {missing}: file not found")
    result = run_script("pca/claims.py", *inputs, "--output", out, check=False)
    assert result.returncode == 1
    assert result.stderr.startswith("error: ") and "--tolerance-pp" in result.stderr
    assert len(result.stderr.splitlines()) == 1
    assert not out.exists()
