"""Export the data of the PCA explainer's two widgets, and the checks the browser test replays on them.

``pca-redraw``: a slider over k (1 to all components) redraws the test images of the reconstruction figure (the
first test image of each class) from their first k scores, in the reader's browser, and shows the share of the
training variance the first k components carry and the mean squared reconstruction error per pixel over the whole
test set, with its square root (the typical pixel error), formatted as Table 3 prints them.

``pca-modes``: the reader picks one of the first ``--n-components`` components and moves a slider over multiples
of the standard deviation of its scores; the widget draws ``mean + t * sd * component`` (clipped to 0 ... 1, as the
variation-modes figure draws it) and shows the component's share of the variance, the standard deviation of its
scores and the score added.

What travels (the page budget is 3 MB):

- the components as int16, each row scaled by its own largest weight (``QUANT_MAX`` steps), with the scales: the
  browser multiplies them back. The largest error this adds to a redrawn pixel of the widget's images, over every
  k, is computed here from the same int16 data the browser decodes (``quantisation_error``) and printed under the
  widget; the pictures only, never the numbers: those are computed here in full precision.
- the mean image, the images' scores (float32) and their original pixels (uint8);
- per k = 1 ... 784, the cumulative share of the variance (``metrics.json``'s ``cumulative_ratio``) and the test
  error (from the test images' scores: the squared error left after k components is the squared distance from the
  mean minus the squared scores kept). At the figure's counts the values are the reconstruction figure's own
  (its sidecar), after checking that the two computations agree, so the widget shows Table 3's numbers digit for
  digit.

Usage::

    PYTHONPATH=scripts python scripts/pca/widgets.py --pca results/pca/pca.npz \\
        --metrics results/pca/metrics.json --data results/data/fashion-mnist.npy \\
        --reconstructions results/figures/pca/reconstructions.json --n-components 4 --spread 2 \\
        --output results/widgets/pca.js --checks results/widgets/pca.checks.json
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from kit.cli import PipelineError, run_cli
from kit.dataset import CLASS_NAMES, load_split
from kit.figure import Input, Option
from kit.formats import fixed, pct, signed, upper_bound
from kit.io import read_json
from kit.widgets import Export, check, encode_array, widgets_main
from pca.pcaio import check_same_pixels, load_pca

#: int16 steps of a component's largest weight (its other weights are rounded to the nearest step).
QUANT_MAX = 32767

#: The modes slider: multiples of a component's score standard deviation (quarters: exact binary fractions).
MODE_LIMIT = 3.0
MODE_STEP = 0.25

#: The widget's numbers and the reconstruction figure's may differ by this much (relative) before one is refused.
AGREE = 1e-6

#: The thread's number of components: the redraw slider starts there.
THREAD_COMPONENTS = 4


def read_metrics(path: str | os.PathLike[str]) -> dict[str, Any]:
    """``metrics.json`` of pca/fit.py, checked for the cumulative shares and the thresholds' counts."""
    metrics = read_json(path)
    if not isinstance(metrics, dict) or not isinstance(metrics.get("cumulative_ratio"), list):
        raise PipelineError(f"{path}: has no 'cumulative_ratio' list; rerun the pca step")
    if not isinstance(metrics.get("thresholds"), dict):
        raise PipelineError(f"{path}: has no 'thresholds'; rerun the pca step")
    return metrics


def read_sidecar(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The reconstruction figure's sidecar, checked for the counts, shares, errors and images it used."""
    sidecar = read_json(path)
    keys = ("counts", "variance_retained", "mse", "test_indices", "mse_mean_only")
    if not isinstance(sidecar, dict) or any(key not in sidecar for key in keys):
        raise PipelineError(f"{path}: lacks one of {', '.join(keys)}; rerun the reconstructions figure")
    return sidecar


def read_test(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The test images (uint8, flat) and labels, and the path (for messages)."""
    test = load_split(path, "test")
    if len(test) == 0:
        raise PipelineError(f"{path}: holds no test images")
    return {"images": test.images.reshape(len(test), -1), "labels": np.asarray(test.labels), "path": path}


def quantise(components: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each row as int16 steps of its own largest absolute weight / ``QUANT_MAX``; returns (steps, scales)."""
    peak = np.max(np.abs(components), axis=1)
    scales = np.where(peak > 0, peak / QUANT_MAX, 1.0)
    steps = np.clip(np.round(components / scales[:, None]), -QUANT_MAX, QUANT_MAX).astype(np.int16)
    return steps, scales


def dequantise(steps: np.ndarray, scales: np.ndarray) -> np.ndarray:
    """The components as the browser rebuilds them: int16 steps times the row's scale (doubles)."""
    return steps.astype(np.float64) * scales[:, None]


def test_errors(images: np.ndarray, mean: np.ndarray, components: np.ndarray) -> tuple[np.ndarray, float]:
    """Mean squared error per pixel over ``images`` (uint8) of the k-component reconstructions, for k = 1 ... m,
    and of the mean image alone. Exact algebra: the components are orthonormal, so the squared error left is the
    squared distance from the mean minus the squared scores kept."""
    flat = np.asarray(images, dtype=np.float64) / 255.0
    total = 0.0
    kept = np.zeros(components.shape[0])
    for start in range(0, len(flat), 2048):
        centred = flat[start : start + 2048] - mean
        scores = centred @ components.T
        total += float(np.einsum("ij,ij->", centred, centred))
        kept += np.einsum("ij,ij->j", scores, scores)
    left = np.clip(total - np.cumsum(kept), 0.0, None)
    return left / flat.size, total / flat.size


def quantisation_error(scores: np.ndarray, exact: np.ndarray, stored: np.ndarray) -> float:
    """The largest difference, over every k and pixel of the widget's images, between a reconstruction from the
    stored (int16) components and one from the exact components."""
    difference = np.zeros((scores.shape[0], exact.shape[1]))
    worst = 0.0
    for j in range(exact.shape[0]):
        difference += np.outer(scores[:, j], stored[j] - exact[j])
        worst = max(worst, float(np.max(np.abs(difference))))
    return worst


def agree(name: str, ours: float, theirs: float) -> None:
    """Refuse a figure number the widget data cannot reproduce (the two files come from different runs)."""
    if not math.isclose(ours, theirs, rel_tol=AGREE, abs_tol=1e-12):
        raise PipelineError(
            f"the reconstruction figure's {name} ({theirs!r}) differs from the one computed from pca.npz ({ours!r}); "
            "rerun the reconstructions figure"
        )


def redraw_text(variance: float, mse: float) -> dict[str, str]:
    """The three outputs of ``pca-redraw`` for one k, as Table 3 prints them."""
    return {"variance": pct(variance), "mse": fixed(mse, 4), "rmse": fixed(math.sqrt(mse), 3)}


def mode_text(share: float, sd: float, multiple: float) -> dict[str, str]:
    """The three outputs of ``pca-modes`` for one component and multiple."""
    return {"share": pct(share), "sd": fixed(sd, 2), "score": signed(multiple * sd, 2)}


def build(data: Mapping[str, Any], n_components: int, spread: float) -> Export:
    """Both widgets' data and their checks (see the module docstring)."""
    pca, metrics, test, sidecar = data["pca"], data["metrics"], data["data"], data["reconstructions"]
    check_same_pixels(test["path"], test["images"].shape[1], "pca.npz", pca)
    mean, components = pca["mean"], pca["components"]
    m, d = components.shape
    side = math.isqrt(d)
    if "explained_variance" not in pca:
        raise PipelineError("the PCA file has no explained_variance array; rerun the pca step")
    if not 1 <= n_components <= m:
        raise PipelineError(f"--n-components {n_components}: give 1 to {m}")
    if not 0 < spread <= MODE_LIMIT or spread / MODE_STEP != round(spread / MODE_STEP):
        raise PipelineError(f"--spread {spread:g}: give a multiple of {MODE_STEP:g} up to {MODE_LIMIT:g}")
    cumulative = np.asarray(metrics["cumulative_ratio"], dtype=np.float64)
    if cumulative.size != m or not np.allclose(cumulative, np.cumsum(pca["explained_variance_ratio"]), atol=1e-9):
        raise PipelineError("metrics.json and pca.npz come from different PCA fits; rerun the pca step")

    mse, mse_mean = test_errors(test["images"], mean, components)
    variance = cumulative.copy()
    agree("error of the mean image alone", mse_mean, float(sidecar["mse_mean_only"]))
    for k, share, error in zip(sidecar["counts"], sidecar["variance_retained"], sidecar["mse"], strict=True):
        if not 1 <= k <= m:
            raise PipelineError(f"the reconstruction figure used k = {k}, which pca.npz does not have")
        agree(f"error at k = {k}", float(mse[k - 1]), float(error))
        agree(f"variance share at k = {k}", float(cumulative[k - 1]), float(share))
        mse[k - 1], variance[k - 1] = float(error), float(share)  # Table 3's own numbers, digit for digit

    indices = [int(i) for i in sidecar["test_indices"]]
    if not indices or max(indices) >= len(test["images"]):
        raise PipelineError("the reconstruction figure's test images are not in this dataset; rerun it")
    pixels = np.asarray(test["images"][indices], dtype=np.float64) / 255.0
    scores = (pixels - mean) @ components.T
    steps, scales = quantise(components)
    stored = dequantise(steps, scales)
    worst = quantisation_error(scores, components, stored)

    sd = np.sqrt(np.clip(pca["explained_variance"], 0.0, None))
    ratios = np.asarray(pca["explained_variance_ratio"], dtype=np.float64)
    names = [CLASS_NAMES[int(test["labels"][i])] for i in indices]
    note = (
        f"The components travel to this page in 16 bits; that moves a redrawn pixel by at most "
        f"{upper_bound(worst, 2)} (pixel values run from 0 to 1). The shares and errors shown were computed by the "
        "pipeline in full precision."
    )
    redraw = {
        "side": side,
        "n_components": m,
        "start": min(THREAD_COMPONENTS, m),
        "mean": encode_array(mean, "float64"),
        "steps": encode_array(steps, "int16"),
        "scales": encode_array(scales, "float64"),
        "scores": encode_array(scores, "float32"),
        "originals": encode_array(np.asarray(test["images"][indices]), "uint8"),
        "classes": names,
        "variance": encode_array(variance, "float64"),
        "mse": encode_array(mse, "float64"),
        "n_test": len(test["images"]),
        "quantisation_error": worst,
        "note": note,
    }
    modes = {
        "side": side,
        "n_components": n_components,
        "spread": spread,
        "limit": MODE_LIMIT,
        "step": MODE_STEP,
        "ratios": encode_array(ratios[:n_components], "float64"),
        "sd": encode_array(sd[:n_components], "float64"),
    }
    checks = redraw_checks(sidecar["counts"], metrics["thresholds"], variance, mse, m)
    for j in range(n_components):
        for multiple in (spread, -spread):
            checks.append(
                check(
                    "pca-modes",
                    {"component": j + 1, "multiple": multiple},
                    mode_text(float(ratios[j]), float(sd[j]), multiple),
                    keys=j == 0 and multiple > 0,
                    note=f"component {j + 1} at {multiple:+g} standard deviations (Figure of the variation modes)",
                )
            )
    return Export(widgets={"pca-redraw": redraw, "pca-modes": modes}, checks=checks)


def redraw_checks(
    counts: Sequence[int], thresholds: Mapping[str, int], variance: np.ndarray, mse: np.ndarray, m: int
) -> list[dict]:
    """One check per k the pipeline printed: the reconstruction counts (Table 3), each threshold's count (Table 2),
    the thread's 4 and all components; the first two move the slider with the keyboard."""
    chosen: dict[int, str] = {}
    for k in counts:
        chosen.setdefault(int(k), f"k = {k}, a reconstruction count (Table 3)")
    for share, k in sorted(thresholds.items(), key=lambda item: float(item[0])):
        chosen.setdefault(int(k), f"k = {k}, the count for {100 * float(share):g} % of the variance (Table 2)")
    chosen.setdefault(min(THREAD_COMPONENTS, m), f"k = {THREAD_COMPONENTS}, the thread's count")
    chosen.setdefault(m, f"k = {m}, all components")
    return [
        check("pca-redraw", {"k": k}, redraw_text(float(variance[k - 1]), float(mse[k - 1])), keys=i < 2, note=note)
        for i, (k, note) in enumerate(chosen.items())
    ]


def main(argv: Sequence[str] | None = None) -> None:
    """Read the PCA, the metrics, the test images and the reconstruction figure's numbers; write the widget data."""
    widgets_main(
        argv,
        __doc__,
        explainer="pca",
        inputs=[
            Input("pca", "pca.npz written by pca/fit.py (mean, components, variances)", load_pca),
            Input("metrics", "metrics.json written by pca/fit.py (cumulative shares, thresholds)", read_metrics),
            Input("data", "prepared dataset (.npy) the PCA was fitted on (its test images)", read_test),
            Input("reconstructions", "sidecar of the reconstruction figure (counts, errors)", read_sidecar),
        ],
        options=[
            Option("n_components", int, "how many leading components the modes widget offers (pca.n_components)"),
            Option("spread", float, "the multiple of a score's standard deviation the variation-modes figure draws"),
        ],
        build=lambda d, a: build(d, a.n_components, a.spread),
    )


if __name__ == "__main__":
    sys.exit(run_cli(main))
