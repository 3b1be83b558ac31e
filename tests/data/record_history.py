"""Record the small real training run that the figure tests replay (``tests/data/recorded/``).

The figure scripts are tested twice: on a synthetic history built in the test, and on this recording of a real
run of ``scripts/models/train.py`` on real Fashion-MNIST images (the first 3,000 training and 200 test images of the
prepared dataset; 1,000 of the training images for validation, 300 for training, the unregularised model for 30
epochs, once per seed 1, 2 and 3; the split's seed is the config's default, 20171025).
Only what the figures read is kept: ``seed-<seed>/history.json``, ``metrics.json`` and ``diagnostics.npz``, and a
dataset file with the 200 test images (plus 10 training images, since a prepared dataset holds both splits).

Rerun after a change to the history, metrics or diagnostics format:

    .venv/bin/python tests/data/record_history.py --data results/data/fashion-mnist.npy

It runs the scripts as the rules do, with ``PYTHONPATH=scripts``, so it needs no environment of its own.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))

from kit.dataset import TEST, TRAIN, load_split, make_records, save_records  # noqa: E402

OUT = Path(__file__).resolve().parent / "recorded"

#: The seeds recorded (the overfit model's default seeds).
SEEDS = (1, 2, 3)
#: The environment the rules run scripts in: the project's packages in scripts/ importable.
SCRIPT_ENV = {**os.environ, "PYTHONPATH": str(ROOT / "scripts")}


def run(script: str, *args: str) -> None:
    """Run one pipeline script (``scripts/<package>/<name>.py``) as the rules do, with ``PYTHONPATH=scripts``."""
    subprocess.run([sys.executable, str(ROOT / "scripts" / script), *args], check=True, cwd=ROOT, env=SCRIPT_ENV)


def subset(data: Path, n_train: int, n_test: int) -> np.ndarray:
    """The first images of each split as prepared records."""
    train, test = load_split(data, "train"), load_split(data, "test")
    return np.concatenate(
        [
            make_records(train.images[:n_train], train.labels[:n_train], TRAIN),
            make_records(test.images[:n_test], test.labels[:n_test], TEST),
        ]
    )


def main() -> None:
    """Train the small run in a temporary folder and copy what the figure tests need."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, required=True, help="the full prepared dataset")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        save_records(tmp / "data.npy", subset(args.data, 3000, 200))
        run("models/split.py", "--data", str(tmp / "data.npy"), "--size", "1000", "--seed", "20171025",
            "--output", str(tmp / "split.npz"), "--meta", str(tmp / "split.json"))  # fmt: skip
        for seed in SEEDS:
            run("models/train.py", "--name", "overfit", "--data", str(tmp / "data.npy"),
                "--split", str(tmp / "split.npz"),
                "--channels", "8", "16", "--hidden", "64", "--no-batch-norm", "--dropout", "0", "--weight-decay", "0",
                "--no-augment", "--train-size", "300", "--epochs", "30", "--batch-size", "32",
                "--learning-rate", "0.002", "--schedule", "constant", "--seed", str(seed), "--threads", "1",
                "--device", "cpu", "--checkpoint", str(tmp / "checkpoint.npz"), "--weights", str(tmp / "weights.npz"),
                "--history", str(tmp / "history.json"), "--metrics", str(tmp / "metrics.json"),
                "--diagnostics", str(tmp / "diagnostics.npz"))  # fmt: skip
            folder = OUT / f"seed-{seed}"
            folder.mkdir(parents=True, exist_ok=True)
            for name in ("history.json", "metrics.json", "diagnostics.npz"):
                shutil.copyfile(tmp / name, folder / name)
        save_records(OUT / "fashion-mnist.npy", subset(tmp / "data.npy", 10, 200))
    print(f"recorded into {OUT}")


if __name__ == "__main__":
    main()
