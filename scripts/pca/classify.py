"""Measure how many principal components a classifier needs: test accuracy on the first k scores, for each k.

The thread's advice is to "try different numbers of components and see how many are enough for our case". For
telling garments apart that is measured here: every training image is described by its first k PCA scores, a
classifier is fitted on those numbers and the training labels, and it labels the test images from their first k
scores. Variance kept is not accuracy kept, so the page can set the two side by side. Besides the counts asked
for, the counts that the PCA metrics name for each variance threshold (``thresholds`` in metrics.json, e.g. 84
components for 90 %) are measured too, so the common rule of thumb "keep 90 to 95 % of the variance" is measured,
not guessed.

The classifier is linear discriminant analysis (LDA): each class is described by its mean score vector, all
classes share one covariance matrix (pooled over the classes), and an image goes to the class whose Gaussian
description makes it most likely (class shares of the training images as priors). It has no iterations, no
learning rate and no random start, so it is fast and its result depends on nothing but the data. The shared
covariance of the first k scores is the top-left k x k block of the one for all scores, so it is computed once;
a ridge of ``RIDGE`` times the mean variance on its diagonal keeps it invertible when some directions carry no
variance (a small training subset). With all 784 components the scores are the centred pixels turned by a
rotation, and LDA gives the same answer as on the raw pixels.

Usage::

    PYTHONPATH=scripts python scripts/pca/classify.py --data results/data/fashion-mnist.npy \\
        --pca results/pca/pca.npz --metrics results/pca/metrics.json \\
        --counts 1 2 4 8 16 32 64 128 256 784 --threads 2 --output results/pca/classification.json
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

from kit.cli import ArgumentParser, PipelineError, input_file, run_cli
from kit.dataset import CLASS_NAMES, load_split
from kit.io import read_json, round_significant, write_json
from pca.pcaio import check_same_pixels, load_pca

#: Added to the shared covariance's diagonal, relative to its mean diagonal entry.
RIDGE = 1e-6

#: Rows per block when projecting images on the components (bounded memory on the full data).
CHUNK_ROWS = 8192

METHOD = (
    "Linear discriminant analysis on the first k PCA scores: one mean per class, one covariance shared by all "
    f"classes (pooled within-class, with a ridge of {RIDGE:g} times its mean variance), class shares of the "
    "training images as priors; fitted on the training images' scores, scored on the test images'."
)


def check_counts(counts: Sequence[int], available: int) -> list[int]:
    """The counts sorted and without repeats, or an error naming ``--counts``."""
    bad = [k for k in counts if not 1 <= k <= available]
    if bad:
        raise PipelineError(
            f"--counts {' '.join(map(str, bad))} out of range: each count must be from 1 to {available} "
            "(the number of components in the PCA)"
        )
    if not counts:
        raise PipelineError("--counts: give at least one number of components")
    return sorted(set(counts))


def scores(images: np.ndarray, mean: np.ndarray, components: np.ndarray) -> np.ndarray:
    """The images' scores ``(n, m)`` on ``components`` (m, d), projected block by block from uint8 images."""
    flat = images.reshape(len(images), -1)
    out = np.empty((len(flat), components.shape[0]), dtype=np.float64)
    for start in range(0, len(flat), CHUNK_ROWS):
        block = np.asarray(flat[start : start + CHUNK_ROWS], dtype=np.float64) / 255.0
        out[start : start + CHUNK_ROWS] = (block - mean) @ components.T
    return out


def lda_accuracies(
    train_scores: np.ndarray,
    train_labels: np.ndarray,
    test_scores: np.ndarray,
    test_labels: np.ndarray,
    counts: Sequence[int],
) -> list[int]:
    """Correct test answers of LDA fitted on the first k training scores, for each k in ``counts``.

    ``train_scores`` is centred on the class means in place (it is large; the caller does not need it again).
    """
    classes = np.unique(train_labels)
    if classes.size < 2:
        raise PipelineError(f"the training images hold {classes.size} class; a classifier needs at least 2")
    means = np.stack([train_scores[train_labels == c].mean(axis=0) for c in classes])
    priors = np.array([np.mean(train_labels == c) for c in classes])
    dof = max(len(train_scores) - classes.size, 1)
    for index, label in enumerate(classes):  # centre each class on its mean, in place: no second full copy
        train_scores[train_labels == label] -= means[index]
    shared = train_scores.T @ train_scores / dof
    correct = []
    for k in counts:
        block = shared[:k, :k]
        ridge = RIDGE * max(float(np.trace(block)) / k, np.finfo(float).tiny)
        weights = np.linalg.solve(block + ridge * np.eye(k), means[:, :k].T)  # (k, classes)
        bias = -0.5 * np.einsum("ck,kc->c", means[:, :k], weights) + np.log(priors)
        predicted = classes[np.argmax(test_scores[:, :k] @ weights + bias, axis=1)]
        correct.append(int(np.sum(predicted == test_labels)))
    return correct


def threshold_counts(path: Path) -> dict[str, int]:
    """The metrics' ``thresholds`` (variance share -> components needed), checked."""
    metrics = read_json(path)
    thresholds = metrics.get("thresholds") if isinstance(metrics, dict) else None
    if not isinstance(thresholds, dict) or not thresholds or not all(isinstance(k, int) for k in thresholds.values()):
        raise PipelineError(f"{path}: has no 'thresholds' of whole component counts; rerun the pca step")
    return thresholds


def classify(data_path: Path, pca_path: Path, counts: Sequence[int], thresholds: dict[str, int]) -> dict:
    """The whole measurement, as the JSON document the claims check and the accuracy figure read."""
    pca = load_pca(pca_path)
    train, test = load_split(data_path, "train"), load_split(data_path, "test")
    if len(test) == 0:
        raise PipelineError(f"{data_path}: holds no test images to score a classifier on")
    check_same_pixels(data_path, train.images[0].size, pca_path, pca)
    asked = check_counts(counts, pca["components"].shape[0])
    counts = check_counts([*asked, *thresholds.values()], pca["components"].shape[0])
    top = pca["components"][: counts[-1]]
    train_labels, test_labels = np.asarray(train.labels), np.asarray(test.labels)
    correct = lda_accuracies(
        scores(train.images, pca["mean"], top),
        train_labels,
        scores(test.images, pca["mean"], top),
        test_labels,
        counts,
    )
    n_test = len(test_labels)
    majority = int(np.bincount(test_labels, minlength=len(CLASS_NAMES)).max())
    ratios = np.cumsum(pca["explained_variance_ratio"])
    return {
        "method": METHOD,
        "counts": counts,
        "asked": asked,
        "threshold_counts": thresholds,
        "correct": correct,
        "accuracy": [round_significant(c / n_test) for c in correct],
        "variance_kept": [round_significant(float(ratios[k - 1])) for k in counts],
        "n_train": len(train_labels),
        "n_test": n_test,
        "n_classes": int(np.unique(train_labels).size),
        "n_components_available": int(pca["components"].shape[0]),
        "majority_share": round_significant(majority / n_test),
    }


def build_parser() -> ArgumentParser:
    """The flags: the dataset and the PCA to read, the counts to try, the threads, and the file to write."""
    parser = ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=input_file, required=True, help="prepared dataset (.npy) the PCA was fitted on")
    parser.add_argument("--pca", type=input_file, required=True, help="pca.npz written by pca/fit.py")
    parser.add_argument(
        "--metrics",
        type=input_file,
        required=True,
        help="metrics.json written by pca/fit.py (its thresholds' counts are measured too)",
    )
    parser.add_argument(
        "--counts",
        type=int,
        nargs="+",
        required=True,
        help="numbers of leading components k to classify with (config: pca.classifier_counts)",
    )
    parser.add_argument(
        "--threads", type=int, default=1, help="BLAS/LAPACK threads to use (the rule's threads; default 1)"
    )
    parser.add_argument("--output", type=Path, required=True, help="where to write the accuracies (.json)")
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    """Parse the flags, classify the test images from their first k scores for every k and write the accuracies."""
    args = build_parser().parse_args(argv)
    if args.threads < 1:
        raise PipelineError(f"--threads must be at least 1, got {args.threads}")
    with threadpool_limits(limits=args.threads, user_api="blas"):
        result = classify(args.data, args.pca, args.counts, threshold_counts(args.metrics))
    write_json(args.output, result)
    for k, c in zip(result["counts"], result["correct"], strict=True):
        print(f"k = {k:>3}: {c} of {result['n_test']} test images correct ({100 * c / result['n_test']:.2f} %)")


if __name__ == "__main__":
    sys.exit(run_cli(main))
