"""Train one small convolutional network on Fashion-MNIST and record everything the explainers need.

One script for both models of the overfitting explainer; only the flags differ:

* the **CNN**: batch norm, dropout and weight decay, trained on the training images minus the validation split;
  it has to reach 92 % test accuracy. Light augmentation (random shifts of up to 2 pixels, ``--augment``) is
  available to either model but off in the config's defaults.
* the **overfit model**: the same family without any of that regularisation, on a small training subset for
  many epochs, so that the training loss falls while the validation loss climbs.

Why it is written the way it is:

* Batches are cut from tensors held in memory (the prepared uint8 array, normalised per batch), not built
  image by image through a ``DataLoader``: on a 2-core machine the per-sample Python work of the classic
  recipe costs as much as the network itself (``tools/benchmark.py train`` measures both side by side).
* Every epoch's randomness (shuffle, augmentation, dropout) is drawn from a seed derived from
  ``(seed, epoch)``, and the learning rate is a pure function of the step. So a checkpoint needs only the
  weights, the optimiser moments and the history, and a run killed at any point resumes from its last
  checkpoint to exactly the weights and history of an uninterrupted run (same thread count).
* Every file is written atomically and nothing is unpickled: weights, checkpoints and diagnostics are plain
  ``.npz`` arrays (``kit.io.save_npz``) read back with ``allow_pickle=False``.
* The per-epoch validation diagnostics come from ``models.calibration.epoch_diagnostics`` (numpy), the one place
  they are defined.

Outputs: ``--weights`` (.npz), ``--history`` (per-epoch JSON), ``--metrics`` (test accuracy, confusion matrix,
temperature scaling, and the test images' calibration error before and after the validation-fitted temperature)
and ``--diagnostics`` (.npz of validation and test logits and per-example losses, and ``val_logits_epochs``:
the validation logits after every epoch, ``(epochs, n, 10)``).

Every model setting is a required flag without a default: the workflow passes them all from the config, whose
schema (workflow/schemas/config.schema.yaml) is the one place the defaults live. The example below gives the
schema's defaults for the CNN (``models.cnn``); ``--train-size`` is left out, as the CNN trains on all images.

    PYTHONPATH=scripts python scripts/models/train.py --name cnn --data results/data/fashion-mnist.npy \\
        --split results/data/split.npz --channels 32 64 --hidden 128 --batch-norm --dropout 0.1 \\
        --weight-decay 0.0005 --no-augment --epochs 6 --batch-size 128 --learning-rate 0.005 --schedule onecycle \\
        --seed 1 --device auto --threads 4 \\
        --checkpoint results/models/cnn/seed-1/checkpoint.npz --weights results/models/cnn/seed-1/weights.npz \\
        --history results/models/cnn/seed-1/history.json --metrics results/models/cnn/seed-1/metrics.json \\
        --diagnostics results/models/cnn/seed-1/diagnostics.npz
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import math
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812 (the name every PyTorch example uses)
from torch import nn
from tqdm import tqdm

from kit.cli import ArgumentParser, PipelineError, available_cpus, input_file, run_cli
from kit.dataset import CLASS_NAMES, load_split, stratified_sample
from kit.io import load_npz, round_significant, rounded, save_npz, write_json
from models import calibration as calibration
from models.modelio import WEIGHTS_FORMAT, read_weights_file

#: Format tag stored in weights and checkpoints: a file from an incompatible version is refused, not misread.
FORMAT = WEIGHTS_FORMAT

#: Share of the steps over which the one-cycle schedule warms the learning rate up before its cosine decay.
WARMUP_FRACTION = 0.2

#: Largest shift, in pixels, of the augmentation (``--augment``; the garments are centred, so small shifts are safe).
MAX_SHIFT = 2


@dataclass(frozen=True)
class Settings:
    """Everything that decides the trained weights; two runs with equal settings give equal weights."""

    name: str
    channels: tuple[int, int]
    hidden: int
    batch_norm: bool
    dropout: float
    weight_decay: float
    augment: bool
    train_size: int | None
    epochs: int
    batch_size: int
    learning_rate: float
    schedule: str
    seed: int

    def as_dict(self) -> dict[str, Any]:
        """Settings as JSON-ready values (the channel pair as a list)."""
        values = dataclasses.asdict(self)
        values["channels"] = list(self.channels)
        return values


# --------------------------------------------------------------------------------------------------------
# The model
# --------------------------------------------------------------------------------------------------------


class Net(nn.Module):
    """Two 3x3 convolution blocks (optional batch norm, ReLU, 2x2 max-pool), then a hidden layer and 10 logits.

    The same family for both models: regularisation (batch norm, dropout) is switched by the settings, so
    the overfit model differs from the CNN only in what the puzzle is about.
    """

    def __init__(self, channels: tuple[int, int], hidden: int, batch_norm: bool, dropout: float) -> None:
        super().__init__()
        c1, c2 = channels
        self.conv1 = nn.Conv2d(1, c1, kernel_size=3, padding=1, bias=not batch_norm)
        self.norm1 = nn.BatchNorm2d(c1) if batch_norm else nn.Identity()
        self.conv2 = nn.Conv2d(c1, c2, kernel_size=3, padding=1, bias=not batch_norm)
        self.norm2 = nn.BatchNorm2d(c2) if batch_norm else nn.Identity()
        self.drop = nn.Dropout(dropout)
        self.fc1 = nn.Linear(c2 * 7 * 7, hidden)
        self.fc2 = nn.Linear(hidden, len(CLASS_NAMES))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits for a batch of normalised images of shape ``(n, 1, 28, 28)``."""
        x = F.max_pool2d(F.relu(self.norm1(self.conv1(x))), 2)
        x = F.max_pool2d(F.relu(self.norm2(self.conv2(x))), 2)
        x = self.drop(torch.flatten(x, 1))
        x = self.drop(F.relu(self.fc1(x)))
        return self.fc2(x)


def build_model(settings: Settings) -> Net:
    """A freshly initialised network; the seed alone decides its initial weights."""
    torch.manual_seed(settings.seed)
    return Net(settings.channels, settings.hidden, settings.batch_norm, settings.dropout)


# --------------------------------------------------------------------------------------------------------
# Data: in-memory tensors, batches by indexing
# --------------------------------------------------------------------------------------------------------


@dataclass
class Split:
    """Images (uint8, ``(n, 1, 28, 28)``) and labels (int64) of one part of the data."""

    images: torch.Tensor
    labels: torch.Tensor

    def __len__(self) -> int:
        return len(self.labels)


@dataclass
class Data:
    """The three parts a run uses, and the normalisation taken from its own training images."""

    train: Split
    val: Split
    test: Split
    mean: float
    std: float
    fingerprint: str


def to_split(images: np.ndarray, labels: np.ndarray) -> Split:
    """Copy a selection of the memory-mapped dataset into tensors (uint8 keeps 50,000 images at 39 MB)."""
    x = torch.from_numpy(np.ascontiguousarray(images, dtype=np.uint8)).unsqueeze(1)
    return Split(images=x, labels=torch.from_numpy(np.asarray(labels, dtype=np.int64)))


def load_data(data_path: Path, split_path: Path, train_size: int | None, seed: int) -> Data:
    """Load the training part (minus validation, optionally a stratified subset), the validation and test parts."""
    train_all = load_split(data_path, "train")
    test = load_split(data_path, "test")
    split = load_npz(split_path)
    for key in ("train", "validation"):
        if key not in split:
            raise PipelineError(f"{split_path}: has no '{key}' array; rerun the split step")
    positions, validation = split["train"].astype(np.int64), split["validation"].astype(np.int64)
    if positions.size and (positions.max() >= len(train_all) or validation.max() >= len(train_all)):
        raise PipelineError(f"{split_path}: indexes past the {len(train_all)} training images; rerun the split step")
    labels = np.asarray(train_all.labels, dtype=np.int64)
    if train_size is not None:
        if not 1 <= train_size <= len(positions):
            raise PipelineError(
                f"--train-size {train_size}: only {len(positions)} training images remain after the validation "
                "split; lower the model's train_size in the config"
            )
        positions = positions[stratified_sample(labels[positions], train_size, seed)]
    train = to_split(train_all.images[positions], labels[positions])
    pixels = train.images.double()
    digest = hashlib.sha256()
    for array in (positions, validation, np.asarray(test.labels)):
        digest.update(np.ascontiguousarray(array).tobytes())
    digest.update(train.images.numpy().tobytes())
    return Data(
        train=train,
        val=to_split(train_all.images[validation], labels[validation]),
        test=to_split(test.images, test.labels),
        mean=float(pixels.mean() / 255),
        std=float(pixels.std() / 255),
        fingerprint=digest.hexdigest(),
    )


def normalise(images: torch.Tensor, mean: float, std: float) -> torch.Tensor:
    """uint8 pixels to zero-mean, unit-variance floats, in the channels-last layout the CPU kernels prefer."""
    x = (images.float() - 255 * mean) * (1 / (255 * std))
    return x.contiguous(memory_format=torch.channels_last)


def shift_images(images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Shift every image of a batch by its own random offset of up to ``MAX_SHIFT`` pixels, in one gather.

    Why one gather and not a per-image transform: it keeps augmentation a single tensor operation per batch.
    The padding is background (0), like the border of every Fashion-MNIST image.
    """
    n, side = images.shape[0], images.shape[-1]
    padded = F.pad(images[:, 0], (MAX_SHIFT,) * 4)
    dy = torch.randint(0, 2 * MAX_SHIFT + 1, (n,), generator=generator)
    dx = torch.randint(0, 2 * MAX_SHIFT + 1, (n,), generator=generator)
    steps = torch.arange(side)
    rows = (dy[:, None] + steps)[:, :, None]
    cols = (dx[:, None] + steps)[:, None, :]
    return padded[torch.arange(n)[:, None, None], rows, cols].unsqueeze(1)


# --------------------------------------------------------------------------------------------------------
# Schedule, seeds, checkpoints
# --------------------------------------------------------------------------------------------------------


def learning_rate(settings: Settings, step: int, total_steps: int) -> float:
    """Learning rate at ``step``: constant, or one-cycle (linear warm-up, then cosine decay to zero).

    A pure function of the step, so a resumed run needs no scheduler state.
    """
    if settings.schedule == "constant":
        return settings.learning_rate
    warmup = max(1, int(WARMUP_FRACTION * total_steps))
    if step < warmup:
        return settings.learning_rate * (step + 1) / warmup
    progress = (step - warmup) / max(1, total_steps - warmup)
    return settings.learning_rate * 0.5 * (1 + math.cos(math.pi * progress))


def epoch_seed(seed: int, epoch: int) -> int:
    """The seed of one epoch's randomness, derived from the run's seed and the epoch number alone."""
    return int(np.random.SeedSequence([seed, epoch]).generate_state(1, dtype=np.uint64)[0] % (2**63))


def identity(settings: Settings, data: Data, threads: int, device: torch.device) -> str:
    """What a checkpoint must match to be resumed: settings, data, threads, device and library version.

    Why threads: the order of floating-point sums inside the kernels depends on the thread count, so only a
    run with the same count continues to the same bytes.
    """
    fields = {
        "format": FORMAT,
        "settings": settings.as_dict(),
        "data": data.fingerprint,
        "threads": threads,
        "device": device.type,
        "torch": torch.__version__,
    }
    return hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()


def state_arrays(model: nn.Module, optimizer: torch.optim.Optimizer | None = None) -> dict[str, np.ndarray]:
    """Model (and optimiser) state as named numpy arrays, ready for ``save_npz``."""
    arrays = {f"model.{key}": value.detach().cpu().numpy() for key, value in model.state_dict().items()}
    if optimizer is not None:
        for index, state in optimizer.state_dict()["state"].items():
            for key, value in state.items():
                arrays[f"optim.{index}.{key}"] = torch.as_tensor(value).cpu().numpy()
    return arrays


def load_state(arrays: dict[str, np.ndarray], model: nn.Module, optimizer: torch.optim.Optimizer | None) -> None:
    """Put arrays written by ``state_arrays`` back into the model (and optimiser)."""
    device = next(model.parameters()).device
    model_state = {
        key[len("model.") :]: torch.from_numpy(value) for key, value in arrays.items() if key[:6] == "model."
    }
    model.load_state_dict(model_state, strict=True)
    if optimizer is None:
        return
    state: dict[int, dict[str, torch.Tensor]] = {}
    for key, value in arrays.items():
        if key.startswith("optim."):
            _, index, name = key.split(".", 2)
            tensor = torch.from_numpy(value)
            state.setdefault(int(index), {})[name] = tensor if name == "step" else tensor.to(device)
    optimizer.load_state_dict({"state": state, "param_groups": optimizer.state_dict()["param_groups"]})


def text_array(value: Any) -> np.ndarray:
    """JSON as a numpy unicode scalar: stored in an ``.npz`` without pickling."""
    return np.array(json.dumps(value, sort_keys=True))


#: Arrays of the run state that a checkpoint stores beside the weights (the rest of the state is JSON).
RUN_ARRAYS: tuple[str, ...] = ("best_val_logits", "last_val_logits", "epoch_val_logits")


def save_checkpoint(path: Path, run_id: str, model: nn.Module, optimizer: torch.optim.Optimizer, run: dict) -> None:
    """Write the state after a finished epoch, atomically (a kill mid-write leaves the previous one)."""
    arrays = {**state_arrays(model, optimizer), **{key: run[key] for key in RUN_ARRAYS}}
    meta = {key: value for key, value in run.items() if key not in RUN_ARRAYS}
    arrays["meta"] = text_array({"format": FORMAT, "identity": run_id, **meta})
    save_npz(path, **arrays)


def load_checkpoint(path: Path, run_id: str, model: nn.Module, optimizer: torch.optim.Optimizer) -> dict | None:
    """The saved run state if ``path`` holds a checkpoint of this very run, else ``None`` (start afresh)."""
    if not path.exists():
        return None
    try:
        arrays = load_npz(path)
        meta = json.loads(str(arrays["meta"]))
    except (PipelineError, KeyError, json.JSONDecodeError) as exc:
        print(f"ignoring unreadable checkpoint {path} ({exc}); starting from epoch 1", file=sys.stderr)
        return None
    if meta.get("format") != FORMAT or meta.get("identity") != run_id:
        print(f"ignoring checkpoint {path}: made with other settings, data or threads; starting from epoch 1")
        return None
    if any(key not in arrays for key in RUN_ARRAYS):
        print(f"ignoring checkpoint {path}: it lacks the per-epoch arrays; starting from epoch 1")
        return None
    load_state(arrays, model, optimizer)
    run = {key: value for key, value in meta.items() if key not in ("format", "identity")}
    return {**run, **{key: arrays[key] for key in RUN_ARRAYS}}


# --------------------------------------------------------------------------------------------------------
# Training and evaluation
# --------------------------------------------------------------------------------------------------------


#: Images per forward pass in ``predict``. Why 250 and not more: a batch's activations must stay in the CPU's
#: cache; with 1,000 images the first layer's maps alone are 50 MB, and the validation pass after every epoch
#: took twice as long (1.64 against 0.75 s for the overfit model's 10,000 images on one thread, 3.2 against
#: 1.2 s for a 32/64-channel CNN on two, measured side by side). The logits were bitwise the same for batches
#: of 1,000, 500, 250, 128 and 64 images (tests/test_train.py checks that batching does not change them).
PREDICT_BATCH = 250


@torch.inference_mode()
def predict(
    model: nn.Module, part: Split, data: Data, device: torch.device, batch_size: int = PREDICT_BATCH
) -> np.ndarray:
    """Logits (float32, ``(n, 10)``) of ``part`` in evaluation mode, ``batch_size`` images at a time."""
    model.eval()
    outputs = [
        model(normalise(part.images[start : start + batch_size].to(device), data.mean, data.std)).float().cpu()
        for start in range(0, len(part), batch_size)
    ]
    return torch.cat(outputs).numpy()


def train_epoch(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    settings: Settings,
    data: Data,
    epoch: int,
    device: torch.device,
    progress: bool = True,
) -> tuple[float, float]:
    """One pass over the training images; returns the mean batch loss and the accuracy seen during it.

    A non-finite loss stops the run at once with the epoch and batch, before the optimiser step could
    spread it into the weights.
    """
    model.train()
    generator = torch.Generator().manual_seed(epoch_seed(settings.seed, epoch))
    torch.manual_seed(epoch_seed(settings.seed, epoch))  # dropout draws from the global generator
    n = len(data.train)
    order = torch.randperm(n, generator=generator)
    n_batches = math.ceil(n / settings.batch_size)
    total_steps = settings.epochs * n_batches
    loss_sum, correct = 0.0, 0
    bar = tqdm(
        range(n_batches),
        desc=f"epoch {epoch}/{settings.epochs}",
        unit="batch",
        leave=False,
        mininterval=1,
        disable=not progress,
    )
    for batch in bar:
        index = order[batch * settings.batch_size : (batch + 1) * settings.batch_size]
        images = data.train.images[index]
        if settings.augment:
            images = shift_images(images, generator)
        x = normalise(images.to(device), data.mean, data.std)
        y = data.train.labels[index].to(device)
        for group in optimizer.param_groups:
            group["lr"] = learning_rate(settings, (epoch - 1) * n_batches + batch, total_steps)
        optimizer.zero_grad(set_to_none=True)
        logits = model(x)
        loss = F.cross_entropy(logits, y)
        value = loss.item()
        if not math.isfinite(value):
            raise PipelineError(
                f"training loss is {value} at epoch {epoch}, batch {batch + 1} of {n_batches}: the run was "
                "stopped and no output was written; check the input data, or lower --learning-rate"
            )
        loss.backward()
        optimizer.step()
        loss_sum += value * len(index)
        correct += int((logits.argmax(1) == y).sum())
        seen = min(n, (batch + 1) * settings.batch_size)
        bar.set_postfix(loss=f"{loss_sum / seen:.4f}", acc=f"{100 * correct / seen:.1f}%", refresh=False)
    bar.close()
    return loss_sum / n, correct / n


class StoppedError(PipelineError):
    """Raised by ``--stop-after`` to end a run after an epoch, as a kill would (its checkpoint stays)."""


def fit(
    settings: Settings,
    data: Data,
    checkpoint: Path,
    threads: int,
    device: torch.device,
    stop_after: int | None = None,
) -> tuple[nn.Module, dict]:
    """Train (or resume) to the last epoch, checkpointing after every epoch; return the model and run state.

    ``stop_after`` ends the run after that epoch as if it had been killed there (for tests of resuming).
    """
    model = build_model(settings).to(device).to(memory_format=torch.channels_last)
    optimizer = torch.optim.AdamW(model.parameters(), lr=settings.learning_rate, weight_decay=settings.weight_decay)
    run_id = identity(settings, data, threads, device)
    run = load_checkpoint(checkpoint, run_id, model, optimizer)
    if run is None:
        run = {"epoch": 0, "history": {}, "best_epoch": 0, "best_val_loss": None}
        run.update({key: np.zeros(0, dtype=np.float32) for key in RUN_ARRAYS})
    else:
        print(f"resuming from {checkpoint} after epoch {run['epoch']}")
    for epoch in range(run["epoch"] + 1, settings.epochs + 1):
        start = time.perf_counter()
        train_loss, train_accuracy = train_epoch(model, optimizer, settings, data, epoch, device)
        train_seconds = time.perf_counter() - start
        logits = predict(model, data.val, data, device)
        row = {
            "epoch": epoch,
            "train_loss": round_significant(train_loss),
            "train_accuracy": round_significant(train_accuracy),
        }
        row.update(calibration.epoch_diagnostics(logits, data.val.labels.numpy()))
        for key, value in row.items():
            run["history"].setdefault(key, []).append(value)
        if run["best_val_loss"] is None or row["val_loss"] < run["best_val_loss"]:
            run.update(best_epoch=epoch, best_val_loss=row["val_loss"], best_val_logits=logits)
        run.update(epoch=epoch, last_val_logits=logits)
        # Every epoch's validation logits (the overfitting explainer's epoch slider and its per-epoch paired tests).
        run["epoch_val_logits"] = np.concatenate([run["epoch_val_logits"].reshape(-1, *logits.shape), logits[None]])
        save_checkpoint(checkpoint, run_id, model, optimizer, run)
        seconds = time.perf_counter() - start
        print(
            f"epoch {epoch}/{settings.epochs}: train loss {train_loss:.4f} acc {100 * train_accuracy:.2f} % | "
            f"val loss {row['val_loss']:.4f} acc {100 * row['val_accuracy']:.2f} % | "
            f"{seconds:.1f} s ({len(data.train) / train_seconds:,.0f} training images/s)",
            flush=True,
        )
        if stop_after is not None and epoch >= stop_after and epoch < settings.epochs:
            raise StoppedError(f"stopped after epoch {epoch} as --stop-after asked; rerun to resume")
    return model, run


def evaluate(model: nn.Module, settings: Settings, data: Data, device: torch.device, run: dict) -> dict[str, Any]:
    """Test-set results and the temperature-scaling check, from the final weights.

    ``test_ece_last`` and ``test_ece_last_temperature_scaled`` judge the last epoch's temperature (fitted on the
    validation logits) on the held-out test logits. The validation numbers (losses, ECE, the last epoch's
    temperature) are the history's own, not computed a second time, so metrics.json and history.json agree to the
    last digit.
    """
    history, best = run["history"], run["best_epoch"] - 1
    val_labels, test_labels = data.val.labels.numpy(), data.test.labels.numpy()
    best_logits, val_last = run["best_val_logits"], run["last_val_logits"]
    test_logits = predict(model, data.test, data, device)
    predicted = test_logits.argmax(1)
    confusion = np.zeros((len(CLASS_NAMES), len(CLASS_NAMES)), dtype=np.int64)
    np.add.at(confusion, (test_labels, predicted), 1)
    temperature = history["temperature"][-1]
    confidence, label = calibration.confidences(val_last / temperature)

    def mean_loss(logits: np.ndarray, labels: np.ndarray) -> float:
        return float(calibration.per_example_loss(logits, labels).mean())

    metrics = {
        "model": settings.name,
        "n_train": len(data.train),
        "n_validation": len(data.val),
        "n_test": len(data.test),
        "parameters": sum(p.numel() for p in model.parameters()),
        "epochs": settings.epochs,
        "best_epoch": run["best_epoch"],
        "test_accuracy": float((predicted == test_labels).mean()),
        "test_loss": mean_loss(test_logits, test_labels),
        "class_names": list(CLASS_NAMES),
        "confusion_matrix": confusion.tolist(),
        "per_class_accuracy": (confusion.diagonal() / np.maximum(confusion.sum(1), 1)).tolist(),
        "final": {key: history[key][-1] for key in ("train_loss", "train_accuracy", "val_loss", "val_accuracy")},
        "temperature": temperature,
        "val_loss_best": history["val_loss"][best],
        "val_loss_last": history["val_loss"][-1],
        "val_loss_last_temperature_scaled": history["val_loss_temperature_scaled"][-1],
        "test_loss_temperature_scaled": mean_loss(test_logits / temperature, test_labels),
        "ece_best": history["val_ece"][best],
        "ece_last": history["val_ece"][-1],
        "ece_last_temperature_scaled": calibration.expected_calibration_error(confidence, label == val_labels),
        # Held out: the temperature is fitted on the validation images, so its effect on calibration is judged on
        # the test images, which neither training nor the fit has seen.
        "test_ece_last": calibration.logits_ece(test_logits, test_labels),
        "test_ece_last_temperature_scaled": calibration.logits_ece(test_logits, test_labels, temperature),
        "normalisation": {"mean": data.mean, "std": data.std},
        "settings": settings.as_dict(),
    }
    diagnostics = {
        "val_labels": val_labels.astype(np.int64),
        "val_logits_best": best_logits.astype(np.float32),
        "val_logits_last": val_last.astype(np.float32),
        "val_logits_epochs": run["epoch_val_logits"].astype(np.float32),
        "val_loss_best": calibration.per_example_loss(best_logits, val_labels),
        "val_loss_last": calibration.per_example_loss(val_last, val_labels),
        "best_epoch": np.int64(run["best_epoch"]),
        "last_epoch": np.int64(settings.epochs),
        "test_labels": test_labels.astype(np.int64),
        "test_logits": test_logits.astype(np.float32),
        "test_index": np.arange(len(test_labels), dtype=np.int64),
    }
    return {"metrics": rounded(metrics), "diagnostics": diagnostics}


def save_weights(path: Path, model: nn.Module, settings: Settings, data: Data) -> None:
    """The trained weights with what is needed to use them: architecture settings and normalisation."""
    arrays = state_arrays(model)
    arrays["meta"] = text_array({"format": FORMAT, "settings": settings.as_dict(), "mean": data.mean, "std": data.std})
    save_npz(path, **arrays)


def load_weights(path: str | os.PathLike[str]) -> tuple[Net, dict]:
    """Rebuild a trained network from ``--weights`` without unpickling anything; returns it and its metadata."""
    arrays, meta = read_weights_file(path)
    s = meta["settings"]
    model = Net(tuple(s["channels"]), s["hidden"], s["batch_norm"], s["dropout"])
    load_state(arrays, model, None)
    return model.eval(), meta


def history_document(settings: Settings, data: Data, run: dict) -> dict[str, Any]:
    """The per-epoch history file: settings, sizes, best epoch and one list per quantity."""
    return {
        "model": settings.name,
        "settings": settings.as_dict(),
        "n_train": len(data.train),
        "n_validation": len(data.val),
        "n_classes": len(CLASS_NAMES),
        "best_epoch": run["best_epoch"],
        "history": run["history"],
    }


# --------------------------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------------------------


def choose_device(name: str) -> torch.device:
    """``auto`` takes a CUDA GPU when one is present; ``cuda`` insists on one."""
    if name == "cpu" or (name == "auto" and not torch.cuda.is_available()):
        return torch.device("cpu")
    if not torch.cuda.is_available():
        raise PipelineError("--device cuda: no CUDA GPU is visible; use --device auto or cpu (models.device)")
    return torch.device("cuda")


def usable_threads(requested: int) -> int:
    """The thread count to use: the request, but no more than the CPUs this process may run on.

    Why: more compute threads than cores makes OpenMP's threads wait on each other, and training slows down
    several times over. The effective count is what the checkpoint and the log record.
    """
    available = available_cpus()
    if requested > available:
        print(f"--threads {requested}: only {available} CPU(s) available, using {available}")
    return min(requested, available)


def make_deterministic(threads: int, device: torch.device) -> None:
    """Fix threads and ask torch for deterministic kernels, so equal settings give equal bytes."""
    if device.type == "cuda":
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.backends.cudnn.benchmark = False
    torch.set_num_threads(threads)
    torch.use_deterministic_algorithms(True)


def build_parser() -> ArgumentParser:
    """Every setting a named flag, as in PyTorch's MNIST example; the model settings have no defaults.

    Why required: the workflow passes each of them from the config, whose schema holds the one set of defaults;
    a default here could silently disagree with it (the augmentation once did).
    """
    p = ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--name", required=True, help="model name written into the outputs (e.g. cnn, overfit)")
    p.add_argument(
        "--data", required=True, type=input_file, help="prepared dataset (.npy) written by dataset/prepare.py"
    )
    p.add_argument("--split", required=True, type=input_file, help="split.npz written by models/split.py")
    p.add_argument("--channels", type=int, nargs=2, required=True, metavar=("C1", "C2"), help="conv channels")
    p.add_argument("--hidden", type=int, required=True, help="units of the hidden fully connected layer")
    p.add_argument("--batch-norm", action=argparse.BooleanOptionalAction, required=True, help="batch norm after convs")
    p.add_argument("--dropout", type=float, required=True, help="dropout probability before both linear layers")
    p.add_argument("--weight-decay", type=float, required=True, help="AdamW's decoupled weight decay")
    p.add_argument("--augment", action=argparse.BooleanOptionalAction, required=True, help="random 2-pixel shifts")
    p.add_argument(
        "--train-size", type=int, default=None, help="train on a stratified subset of N images (default: all)"
    )
    p.add_argument("--epochs", type=int, required=True, help="passes over the training images")
    p.add_argument("--batch-size", type=int, required=True, help="images per optimisation step")
    p.add_argument("--learning-rate", type=float, required=True, help="(peak) learning rate of AdamW")
    p.add_argument("--schedule", choices=["onecycle", "constant"], required=True, help="learning rate schedule")
    p.add_argument("--seed", type=int, required=True, help="seed of initial weights, shuffling, augmentation, dropout")
    p.add_argument("--threads", type=int, default=1, help="CPU threads for torch (the rule passes its threads)")
    p.add_argument("--device", choices=["auto", "cpu", "cuda"], required=True, help="where to train")
    p.add_argument("--checkpoint", required=True, type=Path, help="checkpoint (.npz) written after every epoch")
    p.add_argument("--weights", required=True, type=Path, help="trained weights (.npz) to write")
    p.add_argument("--history", required=True, type=Path, help="per-epoch history (.json) to write")
    p.add_argument("--metrics", required=True, type=Path, help="test metrics (.json) to write")
    p.add_argument("--diagnostics", required=True, type=Path, help="logits and per-example losses (.npz) to write")
    p.add_argument("--stop-after", type=int, default=None, help=argparse.SUPPRESS)  # tests: simulate a kill
    return p


def settings_from(args: argparse.Namespace) -> Settings:
    """Check the flags' ranges (naming the flag) and collect them."""
    checks = [
        ("--channels", min(args.channels) >= 1),
        ("--hidden", args.hidden >= 1),
        ("--dropout", 0 <= args.dropout < 1),
        ("--weight-decay", args.weight_decay >= 0),
        ("--epochs", args.epochs >= 1),
        ("--batch-size", args.batch_size >= 1),
        ("--learning-rate", args.learning_rate > 0),
        ("--threads", args.threads >= 1),
    ]
    for flag, ok in checks:
        if not ok:
            raise PipelineError(f"{flag} {getattr(args, flag[2:].replace('-', '_'))} is out of range; see --help")
    return Settings(
        name=args.name,
        channels=(args.channels[0], args.channels[1]),
        hidden=args.hidden,
        batch_norm=args.batch_norm,
        dropout=args.dropout,
        weight_decay=args.weight_decay,
        augment=args.augment,
        train_size=args.train_size,
        epochs=args.epochs,
        batch_size=args.batch_size,
        learning_rate=args.learning_rate,
        schedule=args.schedule,
        seed=args.seed,
    )


def main(argv: Sequence[str] | None = None) -> None:
    """Train, evaluate and write the four outputs; remove the checkpoint once they are all written."""
    args = build_parser().parse_args(argv)
    settings = settings_from(args)
    device = choose_device(args.device)
    args.threads = usable_threads(args.threads)
    make_deterministic(args.threads, device)
    data = load_data(args.data, args.split, settings.train_size, settings.seed)
    print(
        f"{settings.name}: {len(data.train)} training, {len(data.val)} validation, {len(data.test)} test images; "
        f"device {device.type}, {args.threads} thread(s)",
        flush=True,
    )
    start = time.perf_counter()
    model, run = fit(settings, data, args.checkpoint, args.threads, device, args.stop_after)
    results = evaluate(model, settings, data, device, run)
    save_weights(args.weights, model.cpu(), settings, data)
    save_npz(args.diagnostics, **results["diagnostics"])
    write_json(args.history, history_document(settings, data, run))
    write_json(args.metrics, results["metrics"])
    args.checkpoint.unlink(missing_ok=True)
    metrics = results["metrics"]
    print(
        f"test accuracy {100 * metrics['test_accuracy']:.2f} %, best validation loss at epoch {run['best_epoch']}, "
        f"{time.perf_counter() - start:.0f} s",
        flush=True,
    )


if __name__ == "__main__":
    sys.exit(run_cli(main))
