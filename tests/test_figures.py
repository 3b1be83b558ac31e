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
from pca import classify, pcaio
from pca.figures import accuracy as fig_pca_accuracy
from pca.figures import components as fig_pca_components
from pca.figures import projection as fig_pca_projection
from pca.figures import reconstructions as fig_pca_reconstructions
from pca.figures import variance_bar as fig_pca_variance_bar
from pca.figures import variance_cumulative as fig_pca_variance_cumulative
from pca.figures import variation_modes as fig_pca_variation_modes
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
    classification = classify.classify(data, folder / "pca.npz", [1, 2, 8, 784], {"0.9": 20})
    write_json(folder / "classification.json", classification)
    return {
        "pca": folder / "pca.npz",
        "metrics": folder / "metrics.json",
        "classification": folder / "classification.json",
        "data": data,
        **fit,
    }


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
# The seven figures
# --------------------------------------------------------------------------------------------------------


def fact_text(meta: dict, key: str) -> str:
    """The sentence of a fact in a sidecar, checked to be a well-formed fact."""
    from kit.facts import checked

    return checked(meta[key], key)["text"]


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
    # The notice says the first two bars stand out only when each is at least twice the third.
    stands_out = min(ratios[:2]) >= 2 * ratios[2]
    assert fact_text(meta, "notice").startswith("Notice how much taller") == stands_out


@pytest.mark.parametrize(
    ("ratios", "start"),
    [
        ([0.5, 0.2, 0.1, 0.1, 0.1], "Notice how much taller the first two bars"),
        ([0.3, 0.2, 0.15, 0.15, 0.2], "Notice the heights"),
        ([0.5, 0.3, 0.2], "Notice that the first bar"),
        ([0.4, 0.35, 0.25], "Notice that the two bars"),
        ([0.6, 0.4], "The bar's label"),
    ],
)
def test_variance_bar_notice_follows_the_bars(ratios, start):
    n = {5: 3, 3: 2, 2: 1}[len(ratios)]
    meta = fig_pca_variance_bar.describe(np.array(ratios), n)
    assert fact_text(meta, "notice").startswith(start)


def test_variance_cumulative(inputs, tmp_path):
    svg, meta = run_twice(
        "pca/figures/variance_cumulative.py",
        fig_pca_variance_cumulative,
        ["--metrics", inputs["metrics"], "--thresholds", "0.9", "0.8", "0.95", "--thread-components", "4"],
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
    # The thread's 4 components are marked on the linear panel and on the cumulative curve.
    four = ratios[:4].sum()
    assert meta["thread_cumulative"] == pytest.approx(four, rel=1e-9)
    assert f"the thread's 4: {100 * four:.1f} %" in svg and "thread: 4" in svg
    assert f"{100 * four:.1f} %" in fact_text(meta, "thread_mark")
    assert meta["linear_components"] == 12 and "the first 12 components (linear axes)" in svg
    tenth = ratios[:78].sum()
    notice = fact_text(meta, "notice")
    assert f"hold {100 * tenth:.1f} %" in notice
    assert ("climbs fast at first" in notice) == (tenth >= 0.5)


def test_components(inputs, tmp_path):
    svg, meta = run_twice(
        "pca/figures/components.py",
        fig_pca_components,
        ["--pca", inputs["pca"], "--metrics", inputs["metrics"], "--data", inputs["data"], "--n-components", "5"],
        tmp_path,
        "components",
    )
    shown = inputs["components"][:5]
    # The outlines on component 1, recomputed from the class means of the training images.
    train = load_split(inputs["data"], "train")
    x, y = train.images.reshape(len(train), -1) / 255.0, np.asarray(train.labels)
    top = x[np.isin(y, [0, 2, 4, 6])].mean(axis=0) >= 0.3
    shoe_only = (x[np.isin(y, [5, 7, 9])].mean(axis=0) >= 0.3) & ~top
    assert meta["outlined_pixels"] == {"top": int(top.sum()), "shoe_only": int(shoe_only.sum())}
    sign = 1 if shown[0][top].mean() >= 0 else -1
    opposite = int(np.sum(shown[0][shoe_only] * sign < 0))
    assert f"({int(shoe_only.sum())} pixels, {opposite} of them with the sign opposite" in meta["alt"]
    both = all(0 < (row > 0).mean() < 1 for row in shown)
    assert fact_text(meta, "notice").startswith("Notice that each of the 5 components has pixels of both signs") == both
    assert meta["loading_limit"] == pytest.approx(np.abs(shown).max(), rel=1e-9)
    assert meta["positive_fraction"] == pytest.approx((shown > 0).mean(axis=1), abs=1e-4)
    for i, r in enumerate(inputs["explained_variance_ratio"][:5], start=1):
        assert f"Component {i} · {100 * r:.1f} %" in svg
        assert f"component {i} ({100 * r:.1f} % of the variance)" in meta["alt"]
    assert "Component 6" not in svg
    assert "loading" in svg  # the one shared colour bar's label
    assert svg.count("loading (") == 1


def test_variation_modes(inputs, tmp_path):
    svg, meta = run_twice(
        "pca/figures/variation_modes.py",
        fig_pca_variation_modes,
        ["--pca", inputs["pca"], "--n-components", "3", "--spread", "2"],
        tmp_path,
        "variation_modes",
    )
    mean, components, variance = inputs["mean"], inputs["components"], inputs["explained_variance"]
    sd = np.sqrt(variance[:3])
    # The scores' standard deviation is the square root of the explained variance: check it on the training images.
    train = load_split(inputs["data"], "train").flat_float()
    np.testing.assert_allclose(((train - mean) @ components[:3].T).std(axis=0, ddof=1), sd, rtol=1e-9)
    low = np.clip(mean - 2 * sd[:, None] * components[:3], 0, 1).sum(axis=1)
    high = np.clip(mean + 2 * sd[:, None] * components[:3], 0, 1).sum(axis=1)
    np.testing.assert_allclose(meta["low_ink"], low, rtol=1e-9)
    np.testing.assert_allclose(meta["high_ink"], high, rtol=1e-9)
    assert meta["mean_ink"] == pytest.approx(mean.sum(), rel=1e-9)
    change = np.abs(high - low) / mean.sum()
    notice = fact_text(meta, "notice")
    assert f"goes from {low[0]:.0f} to {high[0]:.0f}" in notice
    assert ("component 1 changes the amount of ink the most" in notice) == (
        int(np.argmax(change)) == 0 and change[0] >= 0.5
    )
    assert svg.count("−2 SD") == 3 and svg.count("+2 SD") == 3 and "comp. 3" in svg


@pytest.mark.parametrize("spread", ["0", "-1", "nan"])
def test_variation_modes_refuse_a_spread_that_is_not_positive(inputs, tmp_path, spread):
    argv = ["--pca", str(inputs["pca"]), "--n-components", "2", "--spread", spread, *io_flags(tmp_path, "m")]
    with pytest.raises(PipelineError, match="--spread"):
        fig_pca_variation_modes.main(argv)


def test_accuracy(inputs, tmp_path):
    svg, meta = run_twice(
        "pca/figures/accuracy.py",
        fig_pca_accuracy,
        ["--classification", inputs["classification"], "--within-pp", "2"],
        tmp_path,
        "accuracy",
    )
    data = json.loads(inputs["classification"].read_text(encoding="utf-8"))
    accuracy = np.array(data["correct"]) / data["n_test"]
    assert meta["counts"] == data["counts"] == [1, 2, 8, 20, 784]
    best = accuracy.max()
    enough = next(k for k, a in zip(data["counts"], accuracy, strict=True) if best - a <= 0.02 + 1e-12)
    assert meta["k_enough"] == enough and meta["k_best"] == data["counts"][int(np.argmax(accuracy))]
    assert f"at k = {enough}," in fact_text(meta, "notice")
    assert f"k = {enough}: {100 * accuracy[data['counts'].index(enough)]:.1f} %" in svg
    assert f"{100 * data['majority_share']:.1f} %" in meta["alt"]


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
    [(fig_pca_variance_bar, "0", 20), (fig_pca_variance_bar, "21", 20), (fig_pca_components, "17", 16)],
)
def test_bad_n_components_exit_1_with_a_clear_error(inputs, tmp_path, capsys, module, value, limit):
    argv = ["--metrics", str(inputs["metrics"]), "--n-components", value, *io_flags(tmp_path, "f")]
    if module is fig_pca_components:
        argv += ["--pca", str(inputs["pca"]), "--data", str(inputs["data"])]
    assert run_cli(module.main, argv) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"error: --n-components {value} is out of range: use a number from 1 to {limit}")
    assert not (tmp_path / "f.svg").exists()


@pytest.mark.parametrize("value", ["0", "1.5", "-0.2"])
def test_bad_thresholds_are_a_clear_error(inputs, tmp_path, value):
    with pytest.raises(PipelineError, match="--thresholds"):
        fig_pca_variance_cumulative.main(
            ["--metrics", str(inputs["metrics"]), "--thresholds", value, "--thread-components", "4",
             *io_flags(tmp_path, "c")]
        )  # fmt: skip


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
        argv = ["--pca", str(inputs["pca"]), "--metrics", str(tmp_path / "m.json"), "--data", str(inputs["data"])]
        argv += ["--n-components", "2"]
        fig_pca_components.main([*argv, *io_flags(tmp_path, "c")])
    save_npz(tmp_path / "bad.npz", mean=np.zeros(784), components=np.zeros((3, 10)))
    with pytest.raises(PipelineError, match=r"bad\.npz: missing array\(s\) explained_variance_ratio"):
        load_pca(tmp_path / "bad.npz")


#: Each PCA figure's flags (inputs by name, then its settings), as the workflow passes them.
FIGURE_FLAGS = {
    "variance_bar": (["metrics"], ["--n-components", "4"]),
    "variance_cumulative": (["metrics"], ["--thresholds", "0.8", "0.9", "--thread-components", "4"]),
    "components": (["pca", "metrics", "data"], ["--n-components", "4"]),
    "variation_modes": (["pca"], ["--n-components", "4", "--spread", "2"]),
    "reconstructions": (["pca", "data"], ["--counts", "1", "4"]),
    "accuracy": (["classification"], ["--within-pp", "1"]),
    "projection": (["pca", "data"], []),
}

#: The figure modules by name.
MODULES = {
    "variance_bar": fig_pca_variance_bar,
    "variance_cumulative": fig_pca_variance_cumulative,
    "components": fig_pca_components,
    "variation_modes": fig_pca_variation_modes,
    "reconstructions": fig_pca_reconstructions,
    "accuracy": fig_pca_accuracy,
    "projection": fig_pca_projection,
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


@pytest.mark.parametrize("name", sorted(name for name, (_, settings) in FIGURE_FLAGS.items() if settings))
def test_settings_have_no_default(inputs, tmp_path, capsys, name):
    """A figure's settings come from the config (or the declaration); leaving one out is a one-line error naming
    the flag."""
    names, settings = FIGURE_FLAGS[name]
    module = MODULES[name]
    argv = [item for key in names for item in (f"--{key}", str(inputs[key]))] + io_flags(tmp_path, "f")
    flags = [word for word in settings if word.startswith("--")]
    for flag in flags:
        start = settings.index(flag)
        end = next((i for i in range(start + 1, len(settings)) if settings[i].startswith("--")), len(settings))
        given = settings[:start] + settings[end:]
        with pytest.raises(PipelineError, match=flag):
            module.main(argv + given)
        assert run_cli(module.main, argv + given) == 1
        err = capsys.readouterr().err
        assert err.startswith("error: ") and flag in err and len(err.splitlines()) == 1
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
