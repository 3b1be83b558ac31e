"""Fit PCA with all 784 components on the Fashion-MNIST training images and write the full spectrum.

The source thread fits 4 components and reads off about 29, 18, 6 and 5 % of the variance; fitting the
whole spectrum once lets every later step (claims check, figures, "how many components are enough?")
read any number of components from one file.

The fit goes through the 784 x 784 covariance matrix and a symmetric eigensolver instead of an SVD of the
60,000 x 784 data matrix: the eigenvalues of the covariance are exactly the explained variances, and
building the covariance is one BLAS matrix product, several times faster than LAPACK's SVD of the data.

Usage::

    PYTHONPATH=scripts python scripts/pca/fit.py --input results/data/fashion-mnist.npy \\
        --thresholds 0.8 0.9 0.95 0.99 --threads 2 --output results/pca/pca.npz --metrics results/pca/metrics.json
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

from kit.cli import ArgumentParser, PipelineError, input_file, run_cli
from kit.dataset import load_split
from kit.io import save_npz, write_json
from pca.pcaio import components_needed

#: Rows per block when accumulating the covariance: big enough for an efficient BLAS product, small
#: enough (8192 x 784 float64 = 51 MB) that the centred data never exists as a second full copy.
CHUNK_ROWS = 8192

SIGN_RULE = (
    "Each component is multiplied by -1 where needed so that its loading with the largest absolute value "
    "is positive (on ties, the lowest pixel index decides)."
)

SOLVER = (
    "Covariance of the mean-centred training images (divided by n - 1), accumulated in float64 blocks, "
    "then numpy.linalg.eigh (LAPACK syevd); eigenvalues sorted in decreasing order, negative rounding "
    "residues clipped to 0."
)


@dataclass(frozen=True)
class PCAResult:
    """The full PCA of a data matrix; ``components`` row i is component i (unit norm)."""

    mean: np.ndarray
    components: np.ndarray
    explained_variance: np.ndarray
    explained_variance_ratio: np.ndarray
    n_samples: int


def covariance(x: np.ndarray, chunk_rows: int = CHUNK_ROWS) -> tuple[np.ndarray, np.ndarray]:
    """Return the column means and the sample covariance (divided by ``n - 1``) of ``x``.

    Why blocks: centring the whole matrix at once would double the memory (another 376 MB for
    Fashion-MNIST); centring block by block keeps one small block extra and is as fast, since each
    block's ``block.T @ block`` is still a large matrix product that BLAS runs as a symmetric rank-k update.
    """
    n, d = x.shape
    mean = x.mean(axis=0, dtype=np.float64)
    cov = np.zeros((d, d), dtype=np.float64)
    for start in range(0, n, chunk_rows):
        block = np.asarray(x[start : start + chunk_rows], dtype=np.float64) - mean
        cov += block.T @ block
    cov /= n - 1
    # The product of a matrix with its own transpose is symmetric in exact arithmetic; make it so in
    # floating point too, so the eigensolver sees exactly the matrix it assumes.
    cov += cov.T
    cov *= 0.5
    return mean, cov


def fix_signs(components: np.ndarray) -> np.ndarray:
    """Flip each row so that its largest-magnitude entry is positive (first such entry on ties).

    Why: an eigenvector is only defined up to its sign, and the solver may return either one; without a
    rule the component images and projections could flip between runs, machines or library versions.
    It is also the rule scikit-learn's PCA applies, so results compare entry by entry.
    """
    rows = np.arange(components.shape[0])
    pivots = np.argmax(np.abs(components), axis=1)
    signs = np.where(components[rows, pivots] < 0, -1.0, 1.0)
    return components * signs[:, None]


def fit_pca(x: np.ndarray) -> PCAResult:
    """Fit PCA with all components on ``x`` (n samples x d features) through its covariance matrix."""
    if x.ndim != 2:
        raise PipelineError(f"PCA needs a 2-D matrix of samples x features, got shape {x.shape}")
    n, d = x.shape
    if n < 2:
        raise PipelineError(f"PCA needs at least 2 training images to estimate a variance, got {n}")
    mean, cov = covariance(x)
    eigenvalues, eigenvectors = np.linalg.eigh(cov)
    order = np.arange(d)[::-1]  # eigh sorts ascending; PCA lists the largest variance first
    variance = np.clip(eigenvalues[order], 0.0, None)
    total = variance.sum()
    # Identical images leave only rounding noise (about 1e-24) from the mean; check exactly, but only
    # when the variance is small enough for that to be possible, so real data pays nothing extra.
    if not total > 0 or (total <= 1e-9 * (1.0 + float(mean @ mean)) and bool(np.all(x == x[0]))):
        raise PipelineError(f"the {n} training images are all identical (zero variance); PCA has nothing to find")
    components = fix_signs(np.ascontiguousarray(eigenvectors[:, order].T))
    return PCAResult(
        mean=mean,
        components=components,
        explained_variance=variance,
        explained_variance_ratio=variance / total,
        n_samples=n,
    )


def train_matrix(path: str | os.PathLike[str]) -> np.ndarray:
    """Load the training images as an ``(n, 784)`` float64 matrix scaled to [0, 1] (one full copy only)."""
    train = load_split(path, "train")
    x = train.images.reshape(len(train), -1).astype(np.float64)
    x /= 255.0
    return x


def parse_thresholds(values: Sequence[str]) -> list[float]:
    """Turn the ``--thresholds`` strings into fractions in (0, 1], rejecting anything else clearly."""
    thresholds = []
    for value in values:
        try:
            threshold = float(value)
        except ValueError:
            raise PipelineError(f"--thresholds: {value!r} is not a number; give fractions such as 0.9") from None
        if not 0.0 < threshold <= 1.0:  # also rejects nan
            raise PipelineError(
                f"--thresholds: {value!r} is outside (0, 1]; give a fraction of the variance, e.g. 0.95 for 95 %"
            )
        thresholds.append(threshold)
    if not thresholds:
        raise PipelineError("--thresholds: give at least one fraction, e.g. 0.9")
    return thresholds


def metrics(result: PCAResult, thresholds: Sequence[float]) -> dict:
    """The JSON summary later steps and the report read (keys listed in the README, "Output files and their keys")."""
    cumulative = np.cumsum(result.explained_variance_ratio)
    return {
        "n_samples": result.n_samples,
        "n_features": int(result.components.shape[1]),
        "explained_variance_ratio": [float(v) for v in result.explained_variance_ratio],
        "cumulative_ratio": [float(v) for v in cumulative],
        "thresholds": components_needed(cumulative, thresholds),
        "sign_rule": SIGN_RULE,
        "solver": SOLVER,
    }


def build_parser() -> ArgumentParser:
    """The flags: the dataset to read, the two files to write, the thresholds to report and the threads."""
    parser = ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--input", type=input_file, required=True, help="prepared dataset (.npy) written by dataset/prepare.py"
    )
    parser.add_argument("--output", type=Path, required=True, help="where to write the PCA arrays (.npz)")
    parser.add_argument("--metrics", type=Path, required=True, help="where to write the variance summary (.json)")
    parser.add_argument(
        "--thresholds",
        nargs="+",
        required=True,
        metavar="FRACTION",
        help="fractions of variance in (0, 1] to report the number of components for (config: pca.thresholds)",
    )
    parser.add_argument(
        "--threads", type=int, default=1, help="BLAS/LAPACK threads to use (the rule's threads; default 1)"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    """Parse the flags, fit PCA on the training images and write the arrays and the metrics."""
    args = build_parser().parse_args(argv)
    thresholds = parse_thresholds(args.thresholds)
    if args.threads < 1:
        raise PipelineError(f"--threads must be at least 1, got {args.threads}")

    x = train_matrix(args.input)
    with threadpool_limits(limits=args.threads, user_api="blas"):
        result = fit_pca(x)
    del x

    save_npz(
        args.output,
        mean=result.mean,
        components=result.components,
        explained_variance=result.explained_variance,
        explained_variance_ratio=result.explained_variance_ratio,
    )
    summary = metrics(result, thresholds)
    write_json(args.metrics, summary)
    first = ", ".join(f"{100 * r:.1f}" for r in result.explained_variance_ratio[:4])
    reached = ", ".join(f"{k} for {100 * float(t):g} %" for t, k in summary["thresholds"].items())
    print(f"PCA on {result.n_samples} images: components 1-4 explain {first} %; components needed: {reached}")


if __name__ == "__main__":
    sys.exit(run_cli(main))
