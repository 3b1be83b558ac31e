"""Tests for the PCA figures: valid, reproducible SVGs and sidecars whose numbers match the data.

A small PCA of the ``prepared_dataset`` fixture is computed here with plain numpy (not with pca/fit.py), so the
figures are checked against an independent computation. Each script runs once as a user would (its CLI in a
fresh interpreter) and once in-process; both must write the same bytes.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from conftest import check_svg, run_script, run_twice, synthetic_images
from kit import figure as kitfigure
from kit import plotstyle
from kit.cli import PipelineError, run_cli
from kit.dataset import CLASS_NAMES, TEST, TRAIN, load_split, make_records, save_records
from kit.io import save_npz, write_json
from pca import pcaio
from pca.figures import components as fig_pca_components
from pca.figures import projection as fig_pca_projection
from pca.figures import reconstructions as fig_pca_reconstructions
from pca.figures import variance_bar as fig_pca_variance_bar
from pca.figures import variance_cumulative as fig_pca_variance_cumulative
from pca.pcaio import load_pca

# --------------------------------------------------------------------------------------------------------
# Inputs: an independent PCA of the tiny prepared dataset
# --------------------------------------------------------------------------------------------------------


def numpy_pca(x: np.ndarray) -> dict[str, np.ndarray]:
    """Eigen-decomposition of the covariance matrix, sorted by decreasing variance."""
    mean = x.mean(axis=0)
    centred = x - mean
    values, vectors = np.linalg.eigh(centred.T @ centred / (len(x) - 1))
    order = np.argsort(values)[::-1]
    values = np.clip(values[order], 0, None)
    return {
        "mean": mean,
        "components": vectors[:, order].T,
        "explained_variance": values,
        "explained_variance_ratio": values / values.sum(),
    }


def write_pca_inputs(data: Path, folder: Path) -> dict:
    """Fit the PCA on the dataset's train split and write ``pca.npz`` and ``metrics.json`` as pca/fit.py does."""
    fit = numpy_pca(load_split(data, "train").flat_float())
    ratios = fit["explained_variance_ratio"]
    cumulative = np.cumsum(ratios)
    save_npz(folder / "pca.npz", **fit)
    write_json(
        folder / "metrics.json",
        {
            "n_samples": 200,
            "n_features": 784,
            "explained_variance_ratio": ratios.tolist(),
            "cumulative_ratio": cumulative.tolist(),
            "thresholds": {str(t): int(np.argmax(cumulative >= t)) + 1 for t in (0.8, 0.9, 0.95)},
            "sign_rule": "test",
            "solver": "test",
        },
    )
    return {"pca": folder / "pca.npz", "metrics": folder / "metrics.json", "data": data, **fit}


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Paths of pca.npz, metrics.json and the dataset, plus the fitted arrays for independent checks.

    The dataset is the ``prepared_dataset`` fixture's (same images, same seeds), built once per module
    because the figures only read it and the 784-component fit is the slowest part of the set-up.
    """
    folder = tmp_path_factory.mktemp("figure-inputs")
    data = folder / "fashion-mnist.npy"
    (train_x, train_y), (test_x, test_y) = synthetic_images(200, seed=3), synthetic_images(50, seed=4)
    save_records(data, np.concatenate([make_records(train_x, train_y, TRAIN), make_records(test_x, test_y, TEST)]))
    return write_pca_inputs(data, folder)


def io_flags(folder: Path, name: str) -> list[str]:
    """``--output folder/name.svg --meta folder/name.json``."""
    return ["--output", str(folder / f"{name}.svg"), "--meta", str(folder / f"{name}.json")]


# --------------------------------------------------------------------------------------------------------
# The five figures
# --------------------------------------------------------------------------------------------------------


def test_variance_bar(inputs, tmp_path):
    svg, meta = run_twice(
        "pca/figures/variance_bar.py",
        fig_pca_variance_bar,
        ["--metrics", inputs["metrics"], "--n-components", "3"],
        tmp_path,
        "variance_bar",
    )
    ratios = inputs["explained_variance_ratio"][:3]
    assert meta["n_components"] == 3
    np.testing.assert_allclose(meta["explained_variance_ratio"], ratios, rtol=1e-9)
    for i, r in enumerate(ratios, start=1):
        assert f"component {i}" in meta["alt"]
        assert f"{100 * r:.1f} %" in meta["alt"]
        assert f"{100 * r:.1f} %" in svg  # the value label on the bar (matplotlib keeps text as a comment)
    assert f"{100 * ratios.sum():.1f} %" in meta["title"]
    assert meta["cumulative_percent"] == round(100 * ratios.sum(), 1)


def test_variance_cumulative(inputs, tmp_path):
    svg, meta = run_twice(
        "pca/figures/variance_cumulative.py",
        fig_pca_variance_cumulative,
        ["--metrics", inputs["metrics"], "--thresholds", "0.9", "0.8", "0.95"],
        tmp_path,
        "variance_cumulative",
    )
    ratios = inputs["explained_variance_ratio"]
    expected = {t: min(k for k in range(1, ratios.size + 1) if ratios[:k].sum() >= float(t)) for t in ("0.8", "0.9")}
    expected["0.95"] = min(k for k in range(1, ratios.size + 1) if ratios[:k].sum() >= 0.95)
    assert meta["thresholds"] == expected
    # Same keys and values as the metrics file, so prose can quote either.
    metrics = json.loads(inputs["metrics"].read_text(encoding="utf-8"))
    assert meta["thresholds"] == metrics["thresholds"]
    for t, k in expected.items():
        assert f"{100 * float(t):g} % with {k}" in meta["alt"]
        assert f"{100 * float(t):g} % at k = {k}" in svg
    assert meta["n_components"] == 784


def test_components(inputs, tmp_path):
    svg, meta = run_twice(
        "pca/figures/components.py",
        fig_pca_components,
        ["--pca", inputs["pca"], "--metrics", inputs["metrics"], "--n-components", "5"],
        tmp_path,
        "components",
    )
    shown = inputs["components"][:5]
    assert meta["loading_limit"] == pytest.approx(np.abs(shown).max(), rel=1e-9)
    assert meta["positive_fraction"] == pytest.approx((shown > 0).mean(axis=1), abs=1e-4)
    for i, r in enumerate(inputs["explained_variance_ratio"][:5], start=1):
        assert f"Component {i} · {100 * r:.1f} %" in svg
        assert f"component {i} ({100 * r:.1f} % of the variance)" in meta["alt"]
    assert "Component 6" not in svg
    assert "loading" in svg  # the one shared colour bar's label
    assert svg.count("loading (") == 1


def test_reconstructions(inputs, tmp_path):
    counts = [24, 1, 4, 4]  # unsorted with a repeat: drawn once each, in increasing order
    svg, meta = run_twice(
        "pca/figures/reconstructions.py",
        fig_pca_reconstructions,
        ["--pca", inputs["pca"], "--data", inputs["data"], "--counts", *map(str, counts)],
        tmp_path,
        "reconstructions",
    )
    assert meta["counts"] == [1, 4, 24]
    cumulative = np.cumsum(inputs["explained_variance_ratio"])
    np.testing.assert_allclose(meta["variance_retained"], cumulative[[0, 3, 23]], rtol=1e-9)

    # Independent reconstruction error: reconstruct the whole test set explicitly for each k.
    test = load_split(inputs["data"], "test")
    x = test.images.reshape(len(test), -1) / 255.0
    mean, components = inputs["mean"], inputs["components"]
    expected = []
    for k in (1, 4, 24):
        basis = components[:k]
        approx = mean + (x - mean) @ basis.T @ basis
        expected.append(np.mean((x - approx) ** 2))
    np.testing.assert_allclose(meta["mse"], expected, rtol=1e-8)
    assert meta["mse"][0] > meta["mse"][1] > meta["mse"][2]
    assert meta["mse_mean_only"] == pytest.approx(np.mean((x - mean) ** 2), rel=1e-9)
    assert meta["mse_mean_only"] > meta["mse"][0]

    labels = np.asarray(test.labels)
    assert meta["classes"] == list(CLASS_NAMES)  # all ten classes are in the fixture's test split
    assert meta["test_indices"] == [int(np.flatnonzero(labels == c)[0]) for c in range(10)]
    for k, r in zip((1, 4, 24), cumulative[[0, 3, 23]], strict=True):
        for line in fig_pca_reconstructions.row_label(k, r).splitlines():  # one SVG text per line
            assert f"<!-- {line} -->" in svg
    assert "original" in svg
    for name in CLASS_NAMES:
        for line in fig_pca_reconstructions.column_title(name).splitlines():
            assert f"<!-- {line} -->" in svg


def test_reconstructions_skip_classes_missing_from_the_test_split(tmp_path):
    train_x, train_y = synthetic_images(60, seed=5)
    test_x, test_y = synthetic_images(30, seed=6)
    keep = np.isin(test_y, [1, 3, 7])
    data = tmp_path / "small.npy"
    save_records(
        data, np.concatenate([make_records(train_x, train_y, TRAIN), make_records(test_x[keep], test_y[keep], TEST)])
    )
    paths = write_pca_inputs(data, tmp_path)
    out = tmp_path / "out"
    fig_pca_reconstructions.main(
        ["--pca", str(paths["pca"]), "--data", str(data), "--counts", "2", "5", *io_flags(out, "r")]
    )
    meta = json.loads((out / "r.json").read_text(encoding="utf-8"))
    assert meta["classes"] == [CLASS_NAMES[1], CLASS_NAMES[3], CLASS_NAMES[7]]
    svg = check_svg(out / "r.svg")
    assert CLASS_NAMES[0] not in svg and CLASS_NAMES[7] in svg


def test_projection(inputs, tmp_path):
    svg, meta = run_twice(
        "pca/figures/projection.py",
        fig_pca_projection,
        ["--pca", inputs["pca"], "--data", inputs["data"]],
        tmp_path,
        "projection",
    )
    test = load_split(inputs["data"], "test")
    x = test.images.reshape(len(test), -1) / 255.0
    scores = (x - inputs["mean"]) @ inputs["components"][:2].T
    labels = np.asarray(test.labels)
    assert set(meta["centroids"]) == set(CLASS_NAMES)
    for label, name in enumerate(CLASS_NAMES):
        np.testing.assert_allclose(meta["centroids"][name], scores[labels == label].mean(axis=0), atol=1e-4)
        assert name in svg  # legend entry
    assert meta["n_images"] == len(test)
    assert svg.count("<image") == 1  # all points rasterised into one embedded image; axes stay vector
    for r in inputs["explained_variance_ratio"][:2]:
        assert f"({100 * r:.1f} % of variance)" in svg


# --------------------------------------------------------------------------------------------------------
# Clear errors for bad settings and inputs
# --------------------------------------------------------------------------------------------------------


def test_bad_counts_exit_1_with_a_clear_error(inputs, tmp_path):
    result = run_script(
        "pca/figures/reconstructions.py",
        *["--pca", inputs["pca"], "--data", inputs["data"], "--counts", "4", "785"],
        *io_flags(tmp_path, "r"),
        check=False,
    )
    assert result.returncode == 1
    assert result.stderr == "error: --counts 785 out of range: each count must be from 1 to 784 " + (
        "(the number of components in the PCA)\n"
    )
    assert not (tmp_path / "r.svg").exists()


@pytest.mark.parametrize(("counts", "bad"), [(["0", "4"], "0"), (["1", "-3"], "-3")])
def test_counts_below_one_are_refused(inputs, tmp_path, capsys, counts, bad):
    argv = ["--pca", str(inputs["pca"]), "--data", str(inputs["data"]), "--counts", *counts, *io_flags(tmp_path, "r")]
    assert run_cli(fig_pca_reconstructions.main, argv) == 1
    assert capsys.readouterr().err.startswith(f"error: --counts {bad} out of range: each count must be from 1 to 784")
    assert not (tmp_path / "r.svg").exists()


@pytest.mark.parametrize(
    ("module", "value", "limit"),
    [(fig_pca_variance_bar, "0", 20), (fig_pca_variance_bar, "21", 20), (fig_pca_components, "13", 12)],
)
def test_bad_n_components_exit_1_with_a_clear_error(inputs, tmp_path, capsys, module, value, limit):
    argv = ["--metrics", str(inputs["metrics"]), "--n-components", value, *io_flags(tmp_path, "f")]
    if module is fig_pca_components:
        argv += ["--pca", str(inputs["pca"])]
    assert run_cli(module.main, argv) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"error: --n-components {value} is out of range: use a number from 1 to {limit}")
    assert not (tmp_path / "f.svg").exists()


@pytest.mark.parametrize("value", ["0", "1.5", "-0.2"])
def test_bad_thresholds_are_a_clear_error(inputs, tmp_path, value):
    with pytest.raises(PipelineError, match="--thresholds"):
        fig_pca_variance_cumulative.main(
            ["--metrics", str(inputs["metrics"]), "--thresholds", value, *io_flags(tmp_path, "c")]
        )


def test_threshold_of_one_means_all_components():
    ratios = np.array([0.5, 0.3, 0.2 - 1e-13])  # sums to a hair below 1, as rounding can leave it
    assert fig_pca_variance_cumulative.threshold_counts(ratios, [0.5, 0.8, 1.0]) == {"0.5": 1, "0.8": 2, "1.0": 3}
    with pytest.raises(PipelineError, match="never reached"):
        fig_pca_variance_cumulative.threshold_counts(np.array([0.5, 0.2]), [0.9])


@pytest.mark.parametrize(
    "metrics",
    [
        {},
        {"explained_variance_ratio": []},
        {"explained_variance_ratio": [0.2, 0.5]},  # not sorted
        {"explained_variance_ratio": [0.7, 0.6]},  # sums past 1
        {"explained_variance_ratio": [0.5, -0.1]},
    ],
)
def test_malformed_metrics_name_the_file(tmp_path, metrics):
    path = tmp_path / "metrics.json"
    write_json(path, metrics)
    with pytest.raises(PipelineError, match=r"metrics\.json.*rerun"):
        pcaio.read_ratios(path)


def test_mismatched_pca_files_name_both(inputs, tmp_path):
    write_json(tmp_path / "m.json", {"explained_variance_ratio": [0.6, 0.3, 0.1]})
    with pytest.raises(PipelineError, match=r"m\.json lists 3 components but .*pca\.npz holds 784"):
        argv = ["--pca", str(inputs["pca"]), "--metrics", str(tmp_path / "m.json"), "--n-components", "2"]
        fig_pca_components.main([*argv, *io_flags(tmp_path, "c")])
    save_npz(tmp_path / "bad.npz", mean=np.zeros(784), components=np.zeros((3, 10)))
    with pytest.raises(PipelineError, match=r"bad\.npz: missing array\(s\) explained_variance_ratio"):
        load_pca(tmp_path / "bad.npz")


#: Each PCA figure's flags (inputs by name, then its settings), as the workflow passes them.
FIGURE_FLAGS = {
    "variance_bar": (["metrics"], ["--n-components", "4"]),
    "variance_cumulative": (["metrics"], ["--thresholds", "0.8", "0.9"]),
    "components": (["pca", "metrics"], ["--n-components", "4"]),
    "reconstructions": (["pca", "data"], ["--counts", "1", "4"]),
    "projection": (["pca", "data"], []),
}


@pytest.mark.parametrize("name", sorted(FIGURE_FLAGS))
@pytest.mark.parametrize("kind", ["missing", "directory", "empty"])
def test_unusable_input_exits_1_naming_the_file(inputs, tmp_path, name, kind):
    """Each input flag refuses a missing path, a directory or an empty file, in one line, before any output."""
    names, settings = FIGURE_FLAGS[name]
    bad = tmp_path / "bad.file"
    if kind == "directory":
        bad.mkdir()
    elif kind == "empty":
        bad.write_bytes(b"")
    flags = [item for key in names for item in (f"--{key}", bad if key == names[-1] else inputs[key])]
    result = run_script(f"pca/figures/{name}.py", *flags, *settings, *io_flags(tmp_path, "f"), check=False)
    assert result.returncode == 1
    message = {"missing": "file not found", "directory": "is a directory", "empty": "is empty"}[kind]
    assert result.stderr.startswith(f"error: {bad}: {message}")
    assert len(result.stderr.splitlines()) == 1
    assert not (tmp_path / "f.svg").exists() and not (tmp_path / "f.json").exists()


@pytest.mark.parametrize("name", ["variance_bar", "variance_cumulative", "components", "reconstructions"])
def test_settings_have_no_default(inputs, tmp_path, capsys, name):
    """A figure's settings come from the config; leaving one out is a one-line error naming the flag."""
    names, settings = FIGURE_FLAGS[name]
    module = {
        "variance_bar": fig_pca_variance_bar,
        "variance_cumulative": fig_pca_variance_cumulative,
        "components": fig_pca_components,
        "reconstructions": fig_pca_reconstructions,
    }[name]
    argv = [item for key in names for item in (f"--{key}", str(inputs[key]))] + io_flags(tmp_path, "f")
    with pytest.raises(PipelineError, match=settings[0]):
        module.main(argv)
    assert run_cli(module.main, argv) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and settings[0] in err and len(err.splitlines()) == 1
    assert not (tmp_path / "f.svg").exists()


# --------------------------------------------------------------------------------------------------------
# The style module
# --------------------------------------------------------------------------------------------------------


def test_class_styles_are_distinct():
    assert len(set(plotstyle.CLASS_COLORS)) == len(CLASS_NAMES)
    assert len(set(plotstyle.CLASS_MARKERS)) == len(CLASS_NAMES)  # shape alone tells classes apart in grey


def test_sidecar_holds_plain_json_and_title_wraps(tmp_path):
    kitfigure.write_sidecar(tmp_path / "s.json", title="t", alt="a", values=np.arange(3), peak=np.float64(0.5))
    assert json.loads((tmp_path / "s.json").read_text(encoding="utf-8")) == {
        "title": "t",
        "alt": "a",
        "values": [0, 1, 2],
        "peak": 0.5,
    }
    plotstyle.apply_style()
    fig = plotstyle.new_figure(2.0)
    plotstyle.set_title(fig, "word " * 40)
    lines = fig.get_suptitle().split("\n")
    assert len(lines) > 1 and max(map(len, lines)) <= 65
    plotstyle.save_svg(fig, tmp_path / "f.svg")
    check_svg(tmp_path / "f.svg")


def test_clip_ids_do_not_depend_on_the_layout_floats() -> None:
    """Two SVGs that differ only in matplotlib's hashed clip ids become the same bytes; distinct clips stay apart."""
    from kit import plotstyle

    def svg(first: str, second: str) -> str:
        return (
            f'<g clip-path="url(#{first})"/><g clip-path="url(#{second})"/><g clip-path="url(#{first})"/>'
            f'<defs><clipPath id="{first}"><rect x="1"/></clipPath><clipPath id="{second}"><rect x="2"/></clipPath>'
            "</defs><text>p0123456789 stays</text>"
        )

    one = plotstyle.stable_clip_ids(svg("p0123456789", "pabcdefabcd"))
    other = plotstyle.stable_clip_ids(svg("p9999999999", "p1111111111"))
    assert one == other
    assert one.count("url(#clip1)") == 2 and one.count("url(#clip2)") == 1
    assert 'id="clip1"><rect x="1"/>' in one and 'id="clip2"><rect x="2"/>' in one
    assert "p0123456789 stays" in one, "only ids are renamed"
