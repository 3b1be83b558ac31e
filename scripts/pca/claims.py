"""Check the PCA thread's claims against the measured spectrum and write one verdict per claim.

The thread (seed-threads.txt, "PCA on Fashion-MNIST") states four variance shares, their 4-component
total, and what the first component looks like. The numbers are checked against ``metrics.json`` within a
tolerance in percentage points; the picture ("a shirt, with a faint shoe shape") is turned into a
computed test: project each class's mean training image on component 1 and see which classes end up
furthest out on either side.

Usage::

    PYTHONPATH=scripts python scripts/pca/claims.py --metrics results/pca/metrics.json --pca results/pca/pca.npz \\
        --data results/data/fashion-mnist.npy --tolerance-pp 1.5 --output results/pca/claims.json
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kit.cli import ArgumentParser, PipelineError, input_file, run_cli
from kit.dataset import CLASS_NAMES, load_split
from kit.io import read_json, write_json
from pca.pcaio import check_same_pixels, load_pca

#: Classes worn on the upper body, and footwear: the two groups the thread's component-1 picture names.
TOPS: frozenset[str] = frozenset({"T-shirt/top", "Pullover", "Coat", "Shirt"})
FOOTWEAR: frozenset[str] = frozenset({"Sandal", "Sneaker", "Ankle boot"})

#: How many classes at each end of the component-1 ranking the shirt-and-shoe rule looks at.
EXTREMES = 2

#: Numbers are compared as shown: measured percentages and differences rounded to this many decimals.
DECIMALS = 2

QUOTE_BARS = "In above bar chart the components show around 29, 18, 6, and 5 explained variance"
QUOTE_TOTAL = "Now we can see in total we are able to explain about 58% of the variance by just 4 components"
QUOTE_FIRST = (
    "In the first component, we can see the shirt-like feature captured which is so common in the data. "
    "And a very transparent shape for the shoe, hinting at some of the footwear variances captured."
)


@dataclass(frozen=True)
class NumericClaim:
    """One number the thread states: the share of variance of one component, or of the first few together."""

    id: str
    claim: str
    source_quote: str
    claimed: float
    components: int  # how many leading components the share covers
    cumulative: bool  # True: the first ``components`` together; False: component ``components`` alone


NUMERIC_CLAIMS: tuple[NumericClaim, ...] = (
    NumericClaim("component_1", "Component 1 explains about 29 % of the variance.", QUOTE_BARS, 29, 1, False),
    NumericClaim("component_2", "Component 2 explains about 18 % of the variance.", QUOTE_BARS, 18, 2, False),
    NumericClaim("component_3", "Component 3 explains about 6 % of the variance.", QUOTE_BARS, 6, 3, False),
    NumericClaim("component_4", "Component 4 explains about 5 % of the variance.", QUOTE_BARS, 5, 4, False),
    NumericClaim("total_4", "Components 1-4 together explain about 58 % of the variance.", QUOTE_TOTAL, 58, 4, True),
)

SHIRT_SHOE_ID = "component_1_shirt_and_shoe"
SHIRT_SHOE_CLAIM = "Component 1 looks like a shirt, with a faint shoe shape: it captures tops and footwear variance."
SHIRT_SHOE_CLAIMED = "shirt-like, with a faint shoe shape"
SHIRT_SHOE_RULE = (
    "Each class's mean training image (scaled to [0, 1]) minus the PCA mean is projected on component 1 and "
    f"the classes are ranked by that projection. Supported when the {EXTREMES} classes with the largest "
    f"projections are all tops ({', '.join(sorted(TOPS))}) and the {EXTREMES} with the smallest are all "
    f"footwear ({', '.join(sorted(FOOTWEAR))}), or the other way round (a component's sign is arbitrary); "
    "otherwise not supported."
)


def numeric_rule(tolerance: float) -> str:
    """The sentence that says how a numeric verdict was reached, with the tolerance in it."""
    return (
        f"The measured share (explained variance ratio x 100, rounded to {DECIMALS} decimals) is supported "
        f"when it differs from the claimed value by at most {tolerance:g} percentage points; "
        "otherwise not supported."
    )


def numeric_verdict(claim: NumericClaim, ratios: Sequence[float], tolerance: float) -> dict:
    """Compare one stated percentage with the measured explained variance ratio(s).

    Why round first: the verdict must follow from the numbers the report shows, so a reader who checks
    ``|measured - claimed| <= tolerance`` by hand gets the same answer, also exactly at the boundary.
    """
    if len(ratios) < claim.components:
        raise PipelineError(f"claim {claim.id!r} needs {claim.components} components, the metrics hold {len(ratios)}")
    share = math.fsum(ratios[: claim.components]) if claim.cumulative else ratios[claim.components - 1]
    measured = round(100.0 * float(share), DECIMALS)
    difference = round(measured - claim.claimed, DECIMALS)
    return {
        "id": claim.id,
        "claim": claim.claim,
        "source_quote": claim.source_quote,
        "claimed": claim.claimed,
        "measured": measured,
        "unit": "%",
        "tolerance": tolerance,
        "difference": difference,
        "verdict": "supported" if abs(difference) <= tolerance else "not supported",
        "rule": numeric_rule(tolerance),
    }


def class_projections(images: np.ndarray, labels: np.ndarray, mean: np.ndarray, component: np.ndarray) -> list[dict]:
    """Project each class's mean image (in [0, 1], minus the PCA mean) on ``component``, largest first.

    Why class means: they say which kinds of garment a component separates, a computed stand-in for
    "looks like a shirt" that does not depend on reading a picture.
    """
    flat = images.reshape(len(images), -1)
    rows = []
    for label in np.unique(labels):
        if label >= len(CLASS_NAMES):
            raise PipelineError(f"label {label} has no class name; the prepared dataset must hold labels 0-9")
        class_mean = flat[labels == label].mean(axis=0, dtype=np.float64) / 255.0
        projection = float((class_mean - mean) @ component)
        rows.append({"class": CLASS_NAMES[label], "label": int(label), "projection": round(projection, 6)})
    return sorted(rows, key=lambda row: (-row["projection"], row["label"]))


def shirt_shoe_verdict(projections: Sequence[dict], extremes: int = EXTREMES) -> tuple[str, str]:
    """Apply ``SHIRT_SHOE_RULE`` to projections sorted largest first; return (verdict, what was measured)."""
    if len(projections) < 2 * extremes:
        raise PipelineError(
            f"the shirt-and-shoe check needs at least {2 * extremes} classes in the training data, "
            f"found {len(projections)}; use a data subset that holds every class"
        )
    high = [row["class"] for row in projections[:extremes]]
    low = [row["class"] for row in projections[-extremes:]][::-1]  # most extreme first

    def group(names: list[str]) -> str:
        if set(names) <= TOPS:
            return "tops"
        if set(names) <= FOOTWEAR:
            return "footwear"
        return "mixed"

    high_group, low_group = group(high), group(low)
    supported = {high_group, low_group} == {"tops", "footwear"}
    measured = (
        f"largest projections: {', '.join(high)} ({high_group}); smallest projections: {', '.join(low)} ({low_group})"
    )
    return ("supported" if supported else "not supported"), measured


def check_claims(
    metrics: dict,
    mean: np.ndarray,
    components: np.ndarray,
    images: np.ndarray,
    labels: np.ndarray,
    tolerance: float,
) -> dict:
    """Build the whole claims document (see the module docstring) from the PCA outputs and the data."""
    ratios = [float(r) for r in metrics["explained_variance_ratio"]]
    claims = [numeric_verdict(claim, ratios, tolerance) for claim in NUMERIC_CLAIMS]
    projections = class_projections(images, labels, mean, components[0])
    verdict, measured = shirt_shoe_verdict(projections)
    claims.append(
        {
            "id": SHIRT_SHOE_ID,
            "claim": SHIRT_SHOE_CLAIM,
            "source_quote": QUOTE_FIRST,
            "claimed": SHIRT_SHOE_CLAIMED,
            "measured": measured,
            "unit": None,
            "tolerance": None,
            "difference": None,
            "verdict": verdict,
            "rule": SHIRT_SHOE_RULE,
        }
    )
    return {
        "claims": claims,
        "class_projections": projections,
        "tolerance_pp": tolerance,
        "summary": {"supported": sum(c["verdict"] == "supported" for c in claims), "total": len(claims)},
    }


def load_fit(metrics_path: str | os.PathLike[str], pca_path: str | os.PathLike[str]) -> tuple[dict, dict]:
    """Read the metrics and arrays written by pca/fit.py and check that they belong to the same fit."""
    metrics = read_json(metrics_path)
    arrays = load_pca(pca_path)
    if not isinstance(metrics, dict) or not isinstance(metrics.get("explained_variance_ratio"), list):
        raise PipelineError(f"{metrics_path}: has no explained_variance_ratio list; rerun the pca step")
    ratios = np.asarray(metrics["explained_variance_ratio"], dtype=np.float64)
    stored = arrays["explained_variance_ratio"]
    if ratios.shape != stored.shape or not np.allclose(ratios, stored, rtol=0, atol=1e-12):
        raise PipelineError(f"{metrics_path} and {pca_path} come from different PCA fits; rerun the pca step")
    return metrics, arrays


def build_parser() -> ArgumentParser:
    """The flags: the PCA outputs and the dataset to read, the tolerance, and the verdicts to write."""
    parser = ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--metrics", type=input_file, required=True, help="metrics.json written by pca/fit.py")
    parser.add_argument(
        "--pca", type=input_file, required=True, help="pca.npz written by pca/fit.py (mean and components)"
    )
    parser.add_argument("--data", type=input_file, required=True, help="prepared dataset (.npy) the PCA was fitted on")
    parser.add_argument(
        "--tolerance-pp",
        type=float,
        required=True,
        help="largest difference, in percentage points, that still supports a stated share (config: "
        "pca.claim_tolerance_pp)",
    )
    parser.add_argument("--output", type=Path, required=True, help="where to write the verdicts (claims.json)")
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    """Parse the flags, check every claim and write the verdicts."""
    args = build_parser().parse_args(argv)
    if not (math.isfinite(args.tolerance_pp) and args.tolerance_pp >= 0):
        raise PipelineError(f"--tolerance-pp must be a finite number >= 0, got {args.tolerance_pp}")

    metrics, arrays = load_fit(args.metrics, args.pca)
    train = load_split(args.data, "train")
    check_same_pixels(args.data, train.images[0].size, args.pca, arrays)
    result = check_claims(metrics, arrays["mean"], arrays["components"], train.images, train.labels, args.tolerance_pp)
    write_json(args.output, result)
    for claim in result["claims"]:
        print(f"{claim['verdict']:>13}: {claim['claim']} (measured: {claim['measured']})")
    print(f"{result['summary']['supported']} of {result['summary']['total']} claims supported")


if __name__ == "__main__":
    sys.exit(run_cli(main))
