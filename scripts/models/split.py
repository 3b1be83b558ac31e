"""Choose, once and by a seeded rule, which training images are held out for validation.

Both models are validated on the same held-out images, so their curves can be compared, and the choice is
a file of its own: changing a model's settings never changes the validation set, and changing the seed or
the size reruns every step that depends on it. The rule is stratified: every class gets the same share of
the validation set (as near as integer counts allow), drawn with ``numpy.random.default_rng(seed)``
(``kit.dataset.stratified_sample``), so the validation accuracy is not skewed by a chance surplus of easy or hard
classes.

Output: ``split.npz`` with ``validation`` (sorted positions within the training split) and ``train``
(every other position, sorted), and ``split.json`` with the sizes, the seed and the per-class counts.

    PYTHONPATH=scripts python scripts/models/split.py --data results/data/fashion-mnist.npy \\
        --size 10000 --seed 20171025 --output results/data/split.npz --meta results/data/split.json
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from kit.cli import ArgumentParser, PipelineError, input_file, run_cli
from kit.dataset import CLASS_NAMES, load_split, stratified_sample
from kit.io import save_npz, write_json


def choose_validation(labels: np.ndarray, size: int, seed: int) -> np.ndarray:
    """Sorted positions of the validation images: a seeded, class-stratified sample of ``labels``."""
    if not 1 <= size < len(labels):
        raise PipelineError(
            f"--size {size}: the validation split must hold at least 1 image and leave some of the "
            f"{len(labels)} training images for training; lower models.validation_size in the config"
        )
    return stratified_sample(labels, size, seed)


def make_split(data: Path, size: int, seed: int) -> tuple[dict[str, np.ndarray], dict]:
    """The split arrays and the summary written beside them."""
    labels = np.asarray(load_split(data, "train").labels, dtype=np.int64)
    validation = choose_validation(labels, size, seed)
    train = np.setdiff1d(np.arange(len(labels), dtype=np.int64), validation)
    per_class = np.bincount(labels[validation], minlength=len(CLASS_NAMES))
    summary = {
        "seed": seed,
        "n_train_split": len(labels),
        "n_validation": len(validation),
        "n_train": len(train),
        "validation_per_class": {name: int(n) for name, n in zip(CLASS_NAMES, per_class, strict=True)},
        "rule": "class-stratified sample, numpy.random.default_rng(seed), largest-remainder quotas",
    }
    return {"validation": validation, "train": train}, summary


def build_parser() -> ArgumentParser:
    """The command line: the dataset, the split's size and seed (from the config), the two outputs."""
    parser = ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--data", required=True, type=input_file, help="prepared dataset (.npy) written by dataset/prepare.py"
    )
    parser.add_argument("--size", type=int, required=True, help="validation images (config models.validation_size)")
    parser.add_argument("--seed", type=int, required=True, help="seed of the choice (config models.split_seed)")
    parser.add_argument("--output", required=True, type=Path, help="split.npz to write")
    parser.add_argument("--meta", required=True, type=Path, help="split.json summary to write")
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    """Parse the flags, choose the split, write both files."""
    args = build_parser().parse_args(argv)
    arrays, summary = make_split(args.data, args.size, args.seed)
    save_npz(args.output, **arrays)
    write_json(args.meta, summary)
    print(f"validation: {summary['n_validation']} images, training: {summary['n_train']} (seed {args.seed})")


if __name__ == "__main__":
    sys.exit(run_cli(main))
