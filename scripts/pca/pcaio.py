"""Readers of the PCA results (``pca/fit.py`` writes them; the claims check and the figures read them).

Each reader checks what later steps rely on and turns a malformed file into a ``PipelineError`` that names it.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np

from kit.cli import PipelineError
from kit.io import load_npz, read_json


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
    return {"mean": mean, "components": components, "explained_variance_ratio": ratios}


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
