"""Readers of the PCA results (``pca/fit.py`` writes them; the claims check and the figures read them).

Each reader checks what later steps rely on and turns a malformed file into a ``PipelineError`` that names it.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np

from kit.cli import PipelineError
from kit.dataset import CLASS_NAMES
from kit.io import load_npz, read_json

#: Classes worn on the upper body, and footwear: the two groups the thread's component-1 picture names.
TOPS: frozenset[str] = frozenset({"T-shirt/top", "Pullover", "Coat", "Shirt"})
FOOTWEAR: frozenset[str] = frozenset({"Sandal", "Sneaker", "Ankle boot"})

#: Where an average image "has ink": pixels at least this bright (0 black background ... 1 full ink). Used to outline
#: the average top and the average shoe on component 1.
INK_LEVEL = 0.3

#: A reconstruction counts as close when its typical pixel error (root mean squared error, pixels 0 to 1) is at
#: most this: one twentieth of the way from black to white. Stated with the number wherever a page uses it.
CLOSE_RMSE = 0.05


def components_needed(cumulative: np.ndarray, thresholds: Sequence[float]) -> dict[str, int]:
    """Smallest number of components whose cumulative ratio reaches each threshold, keyed like ``"0.95"``.

    One rule for the metrics file and the figures, so a marked threshold and the number in the prose agree.
    A threshold of 1.0 that rounding keeps just out of reach is answered with all components, since the full
    spectrum explains all the variance by definition.
    """
    n = len(cumulative)
    return {repr(float(t)): min(int(np.searchsorted(cumulative, t, side="left")) + 1, n) for t in sorted(thresholds)}


def load_pca(path: str | os.PathLike[str]) -> dict[str, np.ndarray]:
    """Load ``pca.npz`` and check the arrays later steps use: ``mean (d,)``, ``components (m, d)``, the ratios."""
    arrays = load_npz(path)
    missing = [key for key in ("mean", "components", "explained_variance_ratio") if key not in arrays]
    if missing:
        raise PipelineError(f"{path}: missing array(s) {', '.join(missing)}; rerun the pca step")
    mean = np.asarray(arrays["mean"], dtype=np.float64)
    components = np.asarray(arrays["components"], dtype=np.float64)
    ratios = np.asarray(arrays["explained_variance_ratio"], dtype=np.float64)
    if mean.ndim != 1 or components.ndim != 2 or components.shape[1] != mean.size or ratios.ndim != 1:
        raise PipelineError(
            f"{path}: expected mean (d,) and components (m, d), got {mean.shape} and {components.shape}; "
            "rerun the pca step"
        )
    if ratios.size != components.shape[0]:
        raise PipelineError(
            f"{path}: {ratios.size} explained variance ratios for {components.shape[0]} components; rerun the pca step"
        )
    result = {"mean": mean, "components": components, "explained_variance_ratio": ratios}
    if "explained_variance" in arrays:
        variance = np.asarray(arrays["explained_variance"], dtype=np.float64)
        if variance.shape != ratios.shape:
            raise PipelineError(f"{path}: explained_variance and explained_variance_ratio differ in length; rerun pca")
        result["explained_variance"] = variance
    return result


def group_mean(images: np.ndarray, labels: np.ndarray, names: frozenset[str]) -> np.ndarray | None:
    """The mean image (flat, scaled to [0, 1]) of the classes ``names``, or None when none of them is present."""
    wanted = [CLASS_NAMES.index(name) for name in sorted(names)]
    selected = np.isin(labels, wanted)
    if not selected.any():
        return None
    flat = images.reshape(len(images), -1)
    total = np.zeros(flat.shape[1], dtype=np.float64)
    for start in range(0, len(flat), 8192):  # in blocks: no full float copy of the images
        block = flat[start : start + 8192][selected[start : start + 8192]]
        total += block.sum(axis=0, dtype=np.float64)
    return total / (255.0 * int(selected.sum()))


def outlines(images: np.ndarray, labels: np.ndarray) -> dict[str, np.ndarray]:
    """Where the average top and the average shoe have ink (``INK_LEVEL``), as flat boolean masks.

    ``shoe_only``: pixels where the average shoe has ink and the average top has none, the part of a shoe that a
    top cannot explain; the "faint shoe" of component 1 is looked for there. Raises when a group is missing.
    """
    tops, shoes = group_mean(images, labels, TOPS), group_mean(images, labels, FOOTWEAR)
    if tops is None or shoes is None:
        raise PipelineError("the training images hold no tops or no footwear; use a data subset with every class")
    top, shoe = tops >= INK_LEVEL, shoes >= INK_LEVEL
    return {"top_mean": tops, "shoe_mean": shoes, "top": top, "shoe": shoe, "shoe_only": shoe & ~top}


def smallest_within(counts: Sequence[int], correct: Sequence[int], n_test: int, within_pp: float) -> int:
    """The smallest count whose number of correct test answers is within ``within_pp`` percentage points of the best.

    Compared in whole images (``best - correct <= within_pp / 100 * n_test``), so the rule is exact whatever the
    rounding of the printed percentages.
    """
    best = max(correct)
    allowed = within_pp / 100.0 * n_test
    return min(k for k, c in zip(counts, correct, strict=True) if best - c <= allowed + 1e-9)


def enough_count(
    counts: Sequence[int], correct: Sequence[int], n_test: int, within_pp: float, available: int
) -> int | None:
    """How many components are enough for the classifier: ``smallest_within`` of the counts measured, but only when
    they include all ``available`` components; otherwise None.

    Why: "enough" means that the counts measured above it gain at most ``within_pp`` over it. Counts that stop short
    of all components (say 1 and 2) leave the larger ones unmeasured, where the accuracy may still rise, so nothing
    counts as enough then; with all components measured (the LDA on all scores is the LDA on the raw pixels) the
    measured curve runs to its end.
    """
    if max(counts) < available:
        return None
    return smallest_within(counts, correct, n_test, within_pp)


def training_rmse(explained_variance: np.ndarray, n_samples: int) -> np.ndarray:
    """Typical pixel error (root mean squared error) of redrawing the training images from k components, k = 0..d.

    Exact from the spectrum: the squared error left after k components is the variance of the dropped components
    (times (n - 1) / n, since the variances divide by n - 1), spread over the d pixels.
    """
    variance = np.asarray(explained_variance, dtype=np.float64)
    left = np.concatenate([np.cumsum(variance[::-1])[::-1], [0.0]])
    return np.sqrt(np.clip(left, 0.0, None) * (n_samples - 1) / n_samples / variance.size)


def check_same_pixels(
    data_path: str | os.PathLike[str], n_pixels: int, pca_path: str | os.PathLike[str], pca: dict
) -> None:
    """Refuse images whose pixel count differs from the one the PCA was fitted on."""
    if n_pixels != pca["mean"].size:
        raise PipelineError(
            f"{data_path}: images have {n_pixels} pixels but {pca_path} was fitted on {pca['mean'].size}; "
            "rerun the pca step on this dataset"
        )


def read_ratios(path: str | os.PathLike[str]) -> np.ndarray:
    """Return ``explained_variance_ratio`` from the PCA metrics file as a float array, checked.

    Why check here: a truncated or hand-edited metrics file would otherwise draw a plausible-looking but
    wrong chart.
    """
    metrics = read_json(path)
    values = metrics.get("explained_variance_ratio") if isinstance(metrics, dict) else None
    if not isinstance(values, list) or not values:
        raise PipelineError(f"{path}: has no 'explained_variance_ratio' list; rerun the pca step")
    ratios = np.asarray(values, dtype=np.float64)
    if ratios.ndim != 1 or not np.all(np.isfinite(ratios)) or np.any(ratios < 0) or ratios.sum() > 1 + 1e-6:
        raise PipelineError(
            f"{path}: 'explained_variance_ratio' must be finite, non-negative numbers summing to at most 1; "
            "rerun the pca step"
        )
    if np.any(np.diff(ratios) > 1e-12):
        raise PipelineError(f"{path}: 'explained_variance_ratio' is not sorted in decreasing order; rerun pca")
    return ratios


def read_classification(path: str | os.PathLike[str], available: int | None = None) -> dict:
    """Read ``classification.json`` (pca/classify.py) and check what the facts and the accuracy figure use."""
    data = read_json(path)
    keys = ("counts", "correct", "variance_kept", "n_train", "n_test", "majority_share", "n_components_available")
    if not isinstance(data, dict) or any(key not in data for key in keys):
        raise PipelineError(f"{path}: lacks one of {', '.join(keys)}; rerun the pca_classify step")
    counts, correct = data["counts"], data["correct"]
    if not counts or len({len(counts), len(correct), len(data["variance_kept"])}) != 1:
        raise PipelineError(f"{path}: counts, correct and variance_kept differ in length; rerun pca_classify")
    if counts != sorted(set(counts)) or counts[0] < 1 or (available is not None and counts[-1] > available):
        raise PipelineError(f"{path}: counts must be sorted, distinct and from 1 to {available or 'the components'}")
    n_test = data["n_test"]
    if not isinstance(n_test, int) or n_test < 1 or any(not 0 <= c <= n_test for c in correct):
        raise PipelineError(f"{path}: correct answers must lie between 0 and n_test; rerun pca_classify")
    return data
