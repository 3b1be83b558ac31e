"""Training runs with a chosen outcome, for the overfitting explainer's tests, written as models/train.py writes them.

A real training run cannot be told to show the puzzle, hide it or overfit plainly; these runs can. Each epoch's
validation logits are built so that the examples right at that epoch are exactly the chosen ones (the target
class gets the largest logit by a margin), and the whole logit matrix is scaled by a factor that grows with the
epochs: right answers then get surer and wrong ones more confidently wrong, which makes the validation loss fall
and then rise. The history's per-epoch rows come from ``models.calibration.epoch_diagnostics`` on those logits,
as train.py computes them, so every file is consistent with the others.

Outcomes (``OUTCOMES``), between the epoch of lowest validation loss (e*) and the last epoch:

* ``puzzle``: the loss rises and accuracy rises by many images (exact McNemar p far below 0.05);
* ``flat``: the loss rises and as many images flip one way as the other (p near 1);
* ``no_rise``: the scale stays small and accuracy keeps rising, so the loss is lowest at the last epoch;
* ``down``: the loss rises and accuracy falls by many images (significant);
* ``confident``: like ``flat``, but the confidence of the wrong answers falls at the end (so "more confidently
  wrong" is false) while the loss still rises.

``write_run(folder, outcome, seed)`` writes ``history.json``, ``metrics.json`` and ``diagnostics.npz``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from kit.dataset import CLASS_NAMES
from kit.io import save_npz, write_json
from models.calibration import epoch_diagnostics, logits_ece, per_example_loss

OUTCOMES = ("puzzle", "flat", "no_rise", "down", "confident")

N_VAL, N_TEST, N_CLASSES, EPOCHS = 1000, 300, 10, 8

#: Per epoch: the share of validation images classified right and the logits' scale.
ACCURACY = {
    "puzzle": [0.55, 0.65, 0.70, 0.72, 0.74, 0.76, 0.78, 0.80],
    "flat": [0.55, 0.65, 0.70, 0.71, 0.71, 0.71, 0.71, 0.71],
    "no_rise": [0.50, 0.58, 0.64, 0.68, 0.71, 0.73, 0.74, 0.75],
    "down": [0.55, 0.65, 0.72, 0.72, 0.70, 0.68, 0.66, 0.64],
    "confident": [0.55, 0.65, 0.70, 0.71, 0.71, 0.71, 0.71, 0.71],
}
SCALE = {
    "puzzle": [0.6, 0.9, 1.3, 2.0, 2.8, 3.6, 4.4, 5.2],
    "flat": [0.6, 0.9, 1.3, 2.0, 2.8, 3.6, 4.4, 5.2],
    "no_rise": [0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.1],
    "down": [0.6, 0.9, 1.3, 2.0, 2.8, 3.6, 4.4, 5.2],
    "confident": [0.6, 0.9, 1.3, 2.0, 2.8, 3.6, 4.4, 5.2],
}

#: The regularised CNN's settings (the config's defaults) and the overfit model's, as history.json stores them.
CNN_SETTINGS = {"name": "cnn", "channels": [32, 64], "hidden": 128, "batch_norm": True, "dropout": 0.25,
                "weight_decay": 0.0005, "augment": False, "train_size": None, "epochs": EPOCHS, "batch_size": 128,
                "learning_rate": 0.003, "schedule": "onecycle"}  # fmt: skip
OVERFIT_SETTINGS = {"name": "overfit", "channels": [16, 32], "hidden": 128, "batch_norm": False, "dropout": 0.0,
                    "weight_decay": 0.0, "augment": False, "train_size": 2000, "epochs": EPOCHS, "batch_size": 64,
                    "learning_rate": 0.001, "schedule": "constant"}  # fmt: skip


def labels_of(n: int, seed: int) -> np.ndarray:
    """Class labels, every class about equally often, in a seeded order."""
    labels = np.arange(n) % N_CLASSES
    np.random.default_rng(seed).shuffle(labels)
    return labels.astype(np.int64)


def right_masks(outcome: str, n: int, seed: int) -> list[np.ndarray]:
    """Which images are right at each epoch: the easiest ``accuracy * n`` by a fixed random rank, and for
    ``flat``/``confident`` a swap at the last epoch (30 images wrong -> right, 30 right -> wrong)."""
    rank = np.random.default_rng(seed + 100).permutation(n)
    masks = [rank < round(a * n) for a in ACCURACY[outcome]]
    if outcome in ("flat", "confident"):
        k = round(ACCURACY[outcome][-1] * n)
        last = rank < k
        last[(rank >= k) & (rank < k + 30)] = True
        last[(rank >= k - 30) & (rank < k)] = False
        masks[-1] = last
    return masks


def logits_for(labels: np.ndarray, right: np.ndarray, scale: float, seed: int, damp_wrong: float = 1.0) -> np.ndarray:
    """Logits whose argmax is the true class exactly where ``right`` holds (else a fixed wrong class), scaled."""
    rng = np.random.default_rng(seed)
    n = len(labels)
    base = rng.normal(0.0, 0.7, (n, N_CLASSES))
    margin = rng.uniform(0.8, 2.5, n)
    wrong_class = (labels + 1 + rng.integers(0, N_CLASSES - 1, n)) % N_CLASSES
    target = np.where(right, labels, wrong_class)
    rows = np.arange(n)
    base[rows, target] = base.max(axis=1) + margin
    logits = scale * base
    logits[~right] *= damp_wrong
    return logits


def write_run(
    folder: Path,
    outcome: str,
    seed: int,
    model: str = "overfit",
    settings: dict[str, Any] | None = None,
    n_train: int = 2000,
) -> dict[str, Path]:
    """Write one run's ``history.json``, ``metrics.json`` and ``diagnostics.npz`` into ``folder``; return the paths."""
    folder.mkdir(parents=True, exist_ok=True)
    labels = labels_of(N_VAL, 7)  # the same validation images for every seed, as the split is shared
    masks = right_masks(outcome, N_VAL, seed)
    logits = []
    for epoch, (mask, scale) in enumerate(zip(masks, SCALE[outcome], strict=True), start=1):
        damp = 0.5 if outcome == "confident" and epoch == EPOCHS else 1.0
        logits.append(logits_for(labels, mask, scale, seed * 1000 + 17, damp).astype(np.float32))
    rows = [epoch_diagnostics(z.astype(np.float64), labels) for z in logits]
    columns = {key: [row[key] for row in rows] for key in rows[0]}
    best = int(np.argmin(columns["val_loss"])) + 1
    epochs = np.arange(1, EPOCHS + 1)
    history = {
        "model": model,
        "settings": {**(settings or OVERFIT_SETTINGS), "name": model, "epochs": EPOCHS, "seed": seed},
        "n_train": n_train,
        "n_validation": N_VAL,
        "n_classes": N_CLASSES,
        "best_epoch": best,
        "history": {
            "epoch": epochs.tolist(),
            "train_loss": [float(f"{v:.10g}") for v in 1.6 * np.exp(-0.5 * epochs)],
            "train_accuracy": [float(f"{v:.10g}") for v in 1 - 0.45 * np.exp(-0.5 * epochs)],
            **columns,
        },
    }
    write_json(folder / "history.json", history)

    test_labels = labels_of(N_TEST, 11)
    test_right = np.random.default_rng(seed + 200).random(N_TEST) < ACCURACY[outcome][-1]
    test_logits = logits_for(test_labels, test_right, SCALE[outcome][-1], seed * 1000 + 29).astype(np.float32)
    best_logits, last_logits = logits[best - 1], logits[-1]
    save_npz(
        folder / "diagnostics.npz",
        val_labels=labels,
        val_logits_best=best_logits,
        val_logits_last=last_logits,
        val_logits_epochs=np.stack(logits),
        val_loss_best=per_example_loss(best_logits, labels),
        val_loss_last=per_example_loss(last_logits, labels),
        best_epoch=np.int64(best),
        last_epoch=np.int64(EPOCHS),
        test_labels=test_labels,
        test_logits=test_logits,
        test_index=np.arange(N_TEST, dtype=np.int64),
    )
    temperature = columns["temperature"][-1]
    predicted = test_logits.argmax(axis=1)
    confusion = np.zeros((N_CLASSES, N_CLASSES), dtype=np.int64)
    np.add.at(confusion, (test_labels, predicted), 1)
    write_json(
        folder / "metrics.json",
        {
            "model": model,
            "n_train": n_train,
            "n_validation": N_VAL,
            "n_test": N_TEST,
            "parameters": 206922 if model == "overfit" else 421642,
            "epochs": EPOCHS,
            "best_epoch": best,
            "test_accuracy": float(np.trace(confusion) / N_TEST),
            "test_loss": float(per_example_loss(test_logits, test_labels).mean()),
            "class_names": list(CLASS_NAMES),
            "confusion_matrix": confusion.tolist(),
            "per_class_accuracy": (np.diag(confusion) / np.maximum(confusion.sum(axis=1), 1)).tolist(),
            "final": {key: history["history"][key][-1] for key in ("train_loss", "train_accuracy", "val_loss",
                                                                   "val_accuracy")},
            "temperature": temperature,
            "val_loss_best": columns["val_loss"][best - 1],
            "val_loss_last": columns["val_loss"][-1],
            "val_loss_last_temperature_scaled": columns["val_loss_temperature_scaled"][-1],
            "test_loss_temperature_scaled": float(per_example_loss(test_logits / temperature, test_labels).mean()),
            "ece_best": columns["val_ece"][best - 1],
            "ece_last": columns["val_ece"][-1],
            "ece_last_temperature_scaled": logits_ece(last_logits, labels, temperature),
            "test_ece_last": logits_ece(test_logits, test_labels),
            "test_ece_last_temperature_scaled": logits_ece(test_logits, test_labels, temperature),
            "normalisation": {"mean": 0.29, "std": 0.35},
            "settings": history["settings"],
        },
    )  # fmt: skip
    return {name: folder / name for name in ("history.json", "metrics.json", "diagnostics.npz")}


def write_scenario(root: Path, outcomes: list[str], cnn_outcome: str = "no_rise") -> dict[str, Any]:
    """Runs laid out like results/models/: the overfit model once per seed with ``outcomes[i]`` for seed i + 1, and
    the CNN (its own settings, more training images) once. Returns the folders by model and seed."""
    runs: dict[str, Any] = {"overfit": {}, "cnn": {}}
    for seed, outcome in enumerate(outcomes, start=1):
        folder = root / "models" / "overfit" / f"seed-{seed}"
        write_run(folder, outcome, seed)
        runs["overfit"][seed] = folder
    folder = root / "models" / "cnn" / "seed-1"
    write_run(folder, cnn_outcome, 1, model="cnn", settings=CNN_SETTINGS, n_train=50000)
    runs["cnn"][1] = folder
    return runs


#: The claims check's and the figures' thresholds at the config schema's defaults (overfitting.*).
THRESHOLDS = {
    "min-loss-rise-percent": "5",
    "min-accuracy-rise-points": "0.2",
    "significance-level": "0.05",
    "min-wrong-share-of-rise": "0.5",
    "min-removed-percent": "50",
}

#: The figures of the page in declaration order: script, its inputs (model, file, per seed?) and whether it takes
#: the paired test's thresholds.
FIGURES = {
    "curves_overfit": ("curves", [("overfit", "history", True), ("overfit", "diagnostics", True)], True),
    "loss_split": ("loss_split", [("overfit", "history", False)], False),
    "loss_histograms": ("loss_histograms", [("overfit", "diagnostics", False)], False),
    "confidence": ("confidence", [("overfit", "history", False)], False),
    "reliability": ("reliability", [("overfit", "diagnostics", False)], False),
    "temperature": ("temperature", [("overfit", "history", True)], False),
    "curves_cnn": ("curves", [("cnn", "history", True), ("cnn", "diagnostics", True)], True),
}

FILE = {"history": "history.json", "metrics": "metrics.json", "diagnostics": "diagnostics.npz"}


def in_process(script: str, *args: Any) -> None:
    """Run ``scripts/<script>``'s ``main`` in this process (quicker than a fresh interpreter per step)."""
    import importlib

    importlib.import_module(script.removesuffix(".py").replace("/", ".")).main([str(arg) for arg in args])


def build_outputs(
    root: Path, runs: dict[str, Any], thresholds: dict[str, str] | None = None, fresh: bool = True
) -> dict[str, Any]:
    """Run the explainer's steps on ``runs`` (``write_scenario``'s folders) as the workflow would: the seed spread,
    the claims check and every figure, each in a fresh interpreter (``fresh``) or in this process. Returns the paths
    of what the page reads."""
    from conftest import run_script  # the tests' runner: a fresh interpreter with scripts/ importable

    run = run_script if fresh else in_process

    t = {**THRESHOLDS, **(thresholds or {})}
    overfit = [runs["overfit"][seed] for seed in sorted(runs["overfit"])]
    cnn = [runs["cnn"][seed] for seed in sorted(runs["cnn"])]
    spread = root / "overfitting" / "seeds.json"
    run(
        "overfitting/seed_spread.py",
        *[f"--run=overfit={seed}={runs['overfit'][seed]}" for seed in sorted(runs["overfit"])],
        *[f"--run=cnn={seed}={runs['cnn'][seed]}" for seed in sorted(runs["cnn"])],
        "--output",
        spread,
    )
    claims = root / "overfitting" / "claims.json"
    run("overfitting/claims.py",
               "--history", *[f / FILE["history"] for f in overfit],
               "--metrics", *[f / FILE["metrics"] for f in overfit],
               "--diagnostics", *[f / FILE["diagnostics"] for f in overfit],
               "--cnn-history", cnn[0] / FILE["history"], "--cnn-metrics", cnn[0] / FILE["metrics"],
               *[word for key, value in t.items() for word in (f"--{key}", value)], "--output", claims)  # fmt: skip
    figures = {}
    for name, (script, inputs, paired) in FIGURES.items():
        args: list[Any] = []
        for model, kind, many in inputs:
            folders = overfit if model == "overfit" else cnn
            args += [f"--{kind}", *[f / FILE[kind] for f in (folders if many else folders[:1])]]
        if paired:
            args += [word for key in ("min-loss-rise-percent", "min-accuracy-rise-points", "significance-level")
                     for word in (f"--{key}", t[key])]  # fmt: skip
        svg = root / "figures" / "overfitting" / f"{name}.svg"
        run(f"overfitting/figures/{script}.py", *args, "--output", svg, "--meta", svg.with_suffix(".json"))
        figures[name] = svg
    return {"claims": claims, "seeds": spread, "figures": figures, "overfit": overfit, "cnn": cnn}
