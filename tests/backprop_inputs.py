"""Tiny inputs for the backpropagation explainer's tests, built by the pipeline's own scripts.

``build_run`` writes, under one folder laid out like ``results/``, a small synthetic prepared dataset, the puzzle
rounds (``backprop/puzzle.py``), a short checked training run (``backprop/network.py``, in-process) and, on request,
the claims (``backprop/claims.py``). The figure, claims and page tests all start from it, so they test what the pipeline
really writes.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from conftest import synthetic_images
from kit.dataset import TEST, TRAIN, make_records, save_records

#: A run small enough for the default test suite: well under a second of training. Every setting flag of
#: network.py is required (the config's schema holds the defaults), so all are given.
TINY_ARGS: tuple[str, ...] = (
    "--train-size", "100", "--test-size", "50", "--hidden", "8", "6", "--activation", "sigmoid",
    "--batch-size", "20", "--steps", "40", "--learning-rate", "1.0", "--eval-every", "5", "--seed", "3",
    "--tolerance", "1e-6",
)  # fmt: skip

#: The puzzle's flags as the workflow passes them with the config's defaults (all required); flags given after
#: these override them.
PUZZLE_ARGS: tuple[str, ...] = ("--seed", "2", "--fix-fraction", "0.3333333333", "--target", "0", "--max-rounds", "30")

#: Options of the figures that take one besides their inputs: the trailing-mean window the workflow gives.
FIGURE_OPTIONS: dict[str, tuple[str, ...]] = {"grad_norms": ("--window", "25"), "flow": ("--window", "25")}


#: Rows at the top of every synthetic image left blank (0), like the empty margins of Fashion-MNIST: their pixels
#: give Tom's weights from them a gradient of exactly 0, the case the page explains.
BLANK_ROWS = 2


def write_dataset(path: Path, n_train: int = 200, n_test: int = 60) -> Path:
    """A prepared dataset of synthetic images with class structure (train first, then test), top rows blank."""
    train_x, train_y = synthetic_images(n_train, seed=11)
    test_x, test_y = synthetic_images(n_test, seed=12)
    train_x[:, :BLANK_ROWS], test_x[:, :BLANK_ROWS] = 0, 0
    records = np.concatenate([make_records(train_x, train_y, TRAIN), make_records(test_x, test_y, TEST)])
    save_records(path, records)
    return path


def build_run(
    folder: Path, puzzle_args: tuple[str, ...] = (), claims: bool = True, network_args: tuple[str, ...] = ()
) -> dict[str, Path]:
    """Dataset, puzzle, training run (and claims) under ``folder``; returns their paths by name.

    ``puzzle_args`` and ``network_args`` are flags given after the defaults, which they override (another fix
    fraction, ReLU, a learning rate at which the loss rises...)."""
    from backprop import claims as backprop_claims
    from backprop import network, puzzle

    paths = {
        "data": write_dataset(folder / "data" / "fashion-mnist.npy"),
        "puzzle": folder / "backprop" / "puzzle.json",
        "history": folder / "backprop" / "history.npz",
        "metrics": folder / "backprop" / "metrics.json",
        "claims": folder / "backprop" / "claims.json",
    }
    puzzle.main([*PUZZLE_ARGS, *puzzle_args, "--output", str(paths["puzzle"])])
    network.main(
        [
            "--data",
            str(paths["data"]),
            *TINY_ARGS,
            *network_args,
            "--history",
            str(paths["history"]),
            "--metrics",
            str(paths["metrics"]),
        ]
    )
    if claims:
        backprop_claims.main(
            ["--puzzle", str(paths["puzzle"]), "--history", str(paths["history"]), "--metrics",
             str(paths["metrics"]), "--output", str(paths["claims"])]
        )  # fmt: skip
    return paths
