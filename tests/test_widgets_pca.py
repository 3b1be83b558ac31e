"""The PCA explainer's widgets without a browser (the site tier replays their checks in Chromium).

- scripts/pca/widgets.py: the exported data decodes to the PCA's own arrays (the int16 components within half a
  step), the per-k shares and test errors equal an explicit reconstruction and the reconstruction figure's numbers,
  the stated quantisation error is the largest one the browser's images can have, and every check's expected text
  is the pipeline's number formatted as the page prints it;
- templates/widgets/pca.js under node: the reconstruction, the mode picture and the texts the widgets show equal
  the Python values from the same exported data.
"""

from __future__ import annotations

import json
import math
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from conftest import ROOT
from kit.cli import PipelineError
from kit.dataset import load_split
from kit.formats import fixed, pct, signed
from kit.io import read_json
from kit.widgets import decode_array, read_data
from pca import widgets as pca_widgets
from pca.figures import reconstructions as fig_reconstructions
from pca.pcaio import load_pca

NODE = shutil.which("node")
needs_node = pytest.mark.skipif(NODE is None, reason="node is not installed (Debian: apt-get install nodejs)")
CORE_JS = ROOT / "templates" / "widgets" / "core.js"
PCA_JS = ROOT / "templates" / "widgets" / "pca.js"
NODE_EVAL = ROOT / "tests" / "widgets" / "node_eval.mjs"


def run_js(calls: list[tuple[str, list]]) -> list:
    """Call functions of core.js and pca.js under node (tests/widgets/node_eval.mjs); their results in order."""
    request = {"scripts": [str(CORE_JS), str(PCA_JS)], "calls": [{"fn": fn, "args": args} for fn, args in calls]}
    result = subprocess.run(
        [NODE, str(NODE_EVAL)], input=json.dumps(request), capture_output=True, text=True, check=False, timeout=300
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)["results"]


@pytest.fixture(scope="module")
def exported(tmp_path_factory, prepared_dataset_module) -> dict:
    """A PCA of the small dataset, its reconstruction figure, and the widget data and checks written from them."""
    from pca import fit

    folder = tmp_path_factory.mktemp("pca_widgets")
    data = prepared_dataset_module
    paths = {"pca": folder / "pca.npz", "metrics": folder / "metrics.json", "data": data}
    fit.main(["--input", str(data), "--output", str(paths["pca"]), "--metrics", str(paths["metrics"]),
              "--thresholds", "0.5", "0.9"])  # fmt: skip
    sidecar = folder / "reconstructions.json"
    fig_reconstructions.main(
        ["--pca", str(paths["pca"]), "--data", str(data), "--counts", "1", "3", "20",
         "--output", str(folder / "reconstructions.svg"), "--meta", str(sidecar)]
    )  # fmt: skip
    out, checks = folder / "pca.js", folder / "pca.checks.json"
    pca_widgets.main(
        ["--pca", str(paths["pca"]), "--metrics", str(paths["metrics"]), "--data", str(data),
         "--reconstructions", str(sidecar), "--n-components", "3", "--spread", "2",
         "--output", str(out), "--checks", str(checks)]
    )  # fmt: skip
    explainer, widgets = read_data(out)
    assert explainer == "pca"
    return {
        "paths": {**paths, "reconstructions": sidecar, "output": out, "checks": checks},
        "widgets": widgets,
        "checks": read_json(checks)["checks"],
        "pca": load_pca(paths["pca"]),
        "metrics": read_json(paths["metrics"]),
        "sidecar": read_json(sidecar),
        "test": load_split(data, "test"),
    }


@pytest.fixture(scope="module")
def prepared_dataset_module(tmp_path_factory) -> Path:
    """A small prepared dataset of real-looking records (every class in both splits), made once for the module."""
    from kit.dataset import TEST, TRAIN, make_records, save_records

    rng = np.random.default_rng(3)

    def images(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
        generator = np.random.default_rng(seed)
        labels = np.arange(n) % 10
        pictures = np.zeros((n, 28, 28))
        for i, label in enumerate(labels):
            top, height = 2 + label, 8 + 2 * (label % 5)
            pictures[i, top : top + height, 4 + label : 18 + label // 2] = 180 + 7 * label
        pictures += generator.normal(0, 25, pictures.shape)
        return np.clip(pictures, 0, 255).astype(np.uint8), labels

    del rng
    (train_x, train_y), (test_x, test_y) = images(240, 1), images(60, 2)
    path = tmp_path_factory.mktemp("pca_widgets_data") / "fashion-mnist.npy"
    save_records(path, np.concatenate([make_records(train_x, train_y, TRAIN), make_records(test_x, test_y, TEST)]))
    return path


def test_arrays_decode_to_the_pca(exported) -> None:
    redraw, modes, arrays = exported["widgets"]["pca-redraw"], exported["widgets"]["pca-modes"], exported["pca"]
    np.testing.assert_array_equal(decode_array(redraw["mean"]), arrays["mean"])
    steps, scales = decode_array(redraw["steps"]), decode_array(redraw["scales"])
    stored = steps.astype(np.float64) * scales[:, None]
    assert np.all(np.abs(stored - arrays["components"]) <= scales[:, None] / 2 + 1e-15), "within half an int16 step"
    assert np.array_equal(np.abs(steps).max(axis=1), np.full(len(steps), pca_widgets.QUANT_MAX))
    np.testing.assert_array_equal(decode_array(modes["ratios"]), arrays["explained_variance_ratio"][:3])
    np.testing.assert_allclose(decode_array(modes["sd"]), np.sqrt(arrays["explained_variance"][:3]))
    indices = exported["sidecar"]["test_indices"]
    np.testing.assert_array_equal(decode_array(redraw["originals"]), exported["test"].images.reshape(-1, 784)[indices])
    assert redraw["classes"] == exported["sidecar"]["classes"]
    assert exported["paths"]["output"].stat().st_size < 3_000_000


def test_per_k_numbers_equal_an_explicit_reconstruction_and_the_figure(exported) -> None:
    """The share and the test error at every k: recomputed by redrawing all test images; at the figure's counts
    they are the figure's own numbers."""
    redraw, arrays, sidecar = exported["widgets"]["pca-redraw"], exported["pca"], exported["sidecar"]
    variance, mse = decode_array(redraw["variance"]), decode_array(redraw["mse"])
    images = exported["test"].flat_float()
    centred = images - arrays["mean"]
    for k in (1, 2, 5, 20, 100, 783, 784):
        residual = centred - (centred @ arrays["components"][:k].T) @ arrays["components"][:k]
        assert mse[k - 1] == pytest.approx(float(np.mean(residual**2)), rel=1e-6, abs=1e-12), k
        assert variance[k - 1] == pytest.approx(exported["metrics"]["cumulative_ratio"][k - 1], abs=1e-9)
    for k, share, error in zip(sidecar["counts"], sidecar["variance_retained"], sidecar["mse"], strict=True):
        assert (variance[k - 1], mse[k - 1]) == (share, error)


def test_stated_quantisation_error_is_the_largest_the_images_can_have(exported) -> None:
    redraw, arrays = exported["widgets"]["pca-redraw"], exported["pca"]
    steps, scales = decode_array(redraw["steps"]), decode_array(redraw["scales"])
    stored = steps.astype(np.float64) * scales[:, None]
    scores = decode_array(redraw["scores"]).astype(np.float64)
    worst = 0.0
    for k in range(1, 785):
        exact = scores[:, :k] @ arrays["components"][:k]
        quantised = scores[:, :k] @ stored[:k]
        worst = max(worst, float(np.max(np.abs(exact - quantised))))
    assert redraw["quantisation_error"] == pytest.approx(worst, rel=1e-6)
    assert 0 < worst < 1e-3, "16 bits move a pixel by far less than one grey level (1/255)"
    assert "at most" in redraw["note"]


def test_checks_expect_the_pipelines_numbers(exported) -> None:
    """One check per reconstruction count, threshold count, the thread's 4 and all components, and per component
    at +/- the spread, each expecting the page's formatting of the pipeline's number."""
    checks, metrics, sidecar, arrays = exported["checks"], exported["metrics"], exported["sidecar"], exported["pca"]
    redraw = {c["set"]["k"]: c["expect"] for c in checks if c["widget"] == "pca-redraw"}
    wanted = {*sidecar["counts"], *metrics["thresholds"].values(), 4, 784}
    assert set(redraw) == wanted
    for k, share, error in zip(sidecar["counts"], sidecar["variance_retained"], sidecar["mse"], strict=True):
        assert redraw[k] == {"variance": pct(share), "mse": fixed(error, 4), "rmse": fixed(math.sqrt(error), 3)}
    for k in metrics["thresholds"].values():
        assert redraw[k]["variance"] == pct(metrics["cumulative_ratio"][k - 1])
    modes = [c for c in checks if c["widget"] == "pca-modes"]
    assert len(modes) == 6 and sum(bool(c.get("keys")) for c in modes) == 1
    for c in modes:
        j, t = c["set"]["component"] - 1, c["set"]["multiple"]
        sd = math.sqrt(arrays["explained_variance"][j])
        assert c["order"] == ["component", "multiple"] and abs(t) == 2
        assert c["expect"] == {
            "share": pct(arrays["explained_variance_ratio"][j]),
            "sd": fixed(sd, 2),
            "score": signed(t * sd, 2),
        }
    assert sum(bool(c.get("keys")) for c in checks if c["widget"] == "pca-redraw") == 2


def test_a_figure_from_another_run_is_refused(exported, tmp_path) -> None:
    sidecar = dict(exported["sidecar"])
    sidecar["mse"] = [e * 1.01 for e in sidecar["mse"]]
    broken = tmp_path / "reconstructions.json"
    broken.write_text(json.dumps(sidecar), encoding="utf-8")
    p = exported["paths"]
    with pytest.raises(PipelineError, match="differs from the one computed"):
        pca_widgets.main(
            ["--pca", str(p["pca"]), "--metrics", str(p["metrics"]), "--data", str(p["data"]),
             "--reconstructions", str(broken), "--n-components", "3", "--spread", "2",
             "--output", str(tmp_path / "x.js"), "--checks", str(tmp_path / "x.json")]
        )  # fmt: skip
    with pytest.raises(PipelineError, match="--spread"):
        pca_widgets.main(
            ["--pca", str(p["pca"]), "--metrics", str(p["metrics"]), "--data", str(p["data"]),
             "--reconstructions", str(p["reconstructions"]), "--n-components", "3", "--spread", "2.1",
             "--output", str(tmp_path / "x.js"), "--checks", str(tmp_path / "x.json")]
        )  # fmt: skip
    assert not (tmp_path / "x.js").exists()


@needs_node
def test_javascript_redraws_and_texts_equal_python(exported) -> None:
    """pca.js's reconstruction and mode picture from the exported arrays, and the texts it shows at every checked
    setting, against numpy and kit.formats on the same data."""
    redraw, modes = exported["widgets"]["pca-redraw"], exported["widgets"]["pca-modes"]
    mean = decode_array(redraw["mean"]).astype(np.float64)
    steps, scales = decode_array(redraw["steps"]), decode_array(redraw["scales"])
    stored = steps.astype(np.float64) * scales[:, None]
    scores = decode_array(redraw["scores"]).astype(np.float64)
    variance, mse = decode_array(redraw["variance"]), decode_array(redraw["mse"])
    ratios, sd = decode_array(modes["ratios"]), decode_array(modes["sd"])
    flat = lambda values: [float(v) for v in np.asarray(values).ravel()]  # noqa: E731
    ks = (1, 3, 20, 200, 784)
    calls = [("pca.reconstruct", [flat(mean), flat(steps), flat(scales), flat(scores[1]), k, 784]) for k in ks]
    calls += [
        ("pca.mode", [flat(mean), flat(steps), flat(scales), j, float(sd[j]), t, 784])
        for j in (0, 2)
        for t in (-2.0, 1.25)
    ]
    checks = exported["checks"]
    calls += [
        ("pca.redrawText", [flat(variance), flat(mse), c["set"]["k"]]) for c in checks if c["widget"] == "pca-redraw"
    ]
    calls += [
        ("pca.modeText", [flat(ratios), flat(sd), c["set"]["component"] - 1, c["set"]["multiple"]])
        for c in checks
        if c["widget"] == "pca-modes"
    ]
    typed = lambda v: isinstance(v, dict) and "0" in v  # noqa: E731  (a typed array reaches JSON as {"0": ...})
    got = [[v[str(i)] for i in range(len(v))] if typed(v) else v for v in run_js(calls)]
    for k, values in zip(ks, got[: len(ks)], strict=True):
        expected = mean + scores[1, :k] @ stored[:k]
        np.testing.assert_allclose(values, expected, rtol=0, atol=1e-12)
    offset = len(ks)
    for index, (j, t) in enumerate((j, t) for j in (0, 2) for t in (-2.0, 1.25)):
        expected = np.clip(mean + t * float(sd[j]) * stored[j], 0, 1)
        np.testing.assert_allclose(got[offset + index], expected, rtol=0, atol=1e-12)
    texts = got[offset + 4 :]
    assert texts == [c["expect"] for c in checks if c["widget"] == "pca-redraw"] + [
        c["expect"] for c in checks if c["widget"] == "pca-modes"
    ]


def test_the_page_places_both_widgets_and_loads_their_code() -> None:
    """The template puts a hook for each exported widget next to its static figure and includes pca.js, which
    registers both; the declaration feeds the script the figure's spread and the config's component count."""
    import yaml

    template = (ROOT / "templates" / "pca.html.j2").read_text(encoding="utf-8")
    code = PCA_JS.read_text(encoding="utf-8")
    for name in ("pca-redraw", "pca-modes"):
        assert f'widget("{name}"' in template and f'W.register("{name}", "pca"' in code
    assert '{% include "widgets/pca.js" %}' in template
    assert not any(mark in code for mark in ("{{", "{%", "{#")), "pca.js is included through Jinja2"
    declaration = yaml.safe_load((ROOT / "workflow" / "explainers" / "pca.yaml").read_text(encoding="utf-8"))
    figure = next(f for f in declaration["figures"] if f["name"] == "variation_modes")
    assert declaration["widgets"]["args"]["spread"] == figure["args"]["spread"]
    assert declaration["widgets"]["settings"] == {"n-components": "pca.n_components"}
