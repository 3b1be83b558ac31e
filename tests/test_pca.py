"""Properties of the covariance PCA in scripts/pca/fit.py, checked against scikit-learn on small data."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import pytest
from sklearn.decomposition import PCA

from conftest import run_script
from kit.cli import PipelineError
from kit.io import load_npz, save_npz
from pca.fit import fit_pca, fix_signs, main, metrics, parse_thresholds, train_matrix
from pca.pcaio import components_needed
from tools import benchmark as benchmark


@pytest.fixture
def data() -> np.ndarray:
    """300 samples of 12 correlated features with clearly distinct variances (a well-posed spectrum)."""
    rng = np.random.default_rng(0)
    mixing = rng.normal(size=(12, 12))
    return rng.normal(size=(300, 12)) * np.linspace(3.0, 0.2, 12) @ mixing + 5.0


def test_matches_sklearn(data):
    ours = fit_pca(data)
    ref = PCA(svd_solver="full").fit(data)
    np.testing.assert_allclose(ours.explained_variance_ratio, ref.explained_variance_ratio_, rtol=0, atol=1e-12)
    np.testing.assert_allclose(ours.explained_variance, ref.explained_variance_, rtol=1e-9)
    np.testing.assert_allclose(ours.mean, ref.mean_, rtol=0, atol=1e-12)
    # Same subspaces; the sign rule picks the same sign for both.
    np.testing.assert_allclose(ours.components, fix_signs(ref.components_), rtol=0, atol=1e-9)
    assert ours.n_samples == 300


def test_matches_sklearn_with_fewer_samples_than_features():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(15, 40)) * np.linspace(2.0, 0.5, 40)
    ours = fit_pca(x)
    ref = PCA(svd_solver="full").fit(x)
    # Rank 14 after centring: the leading 14 agree, the rest is (clipped) rounding noise.
    np.testing.assert_allclose(ours.explained_variance_ratio[:14], ref.explained_variance_ratio_[:14], atol=1e-12)
    assert np.all(ours.explained_variance >= 0)
    assert ours.explained_variance_ratio[14:].sum() < 1e-12


def test_ratios_are_a_sorted_distribution(data):
    ratios = fit_pca(data).explained_variance_ratio
    assert ratios.shape == (12,)
    assert np.all(ratios >= 0)
    assert np.all(np.diff(ratios) <= 0)
    assert ratios.sum() == pytest.approx(1.0, abs=1e-12)


def test_components_are_orthonormal(data):
    components = fit_pca(data).components
    np.testing.assert_allclose(components @ components.T, np.eye(12), rtol=0, atol=1e-12)


def test_sign_rule_holds(data):
    components = fit_pca(data).components
    for row in components:
        pivot = np.argmax(np.abs(row))
        assert row[pivot] > 0


def test_sign_rule_breaks_ties_by_lowest_index():
    rows = np.array([[0.5, -0.5, 0.1], [-0.5, 0.5, 0.1], [0.1, -0.2, -0.9]])
    fixed = fix_signs(rows)
    np.testing.assert_array_equal(fixed[0], rows[0])
    np.testing.assert_array_equal(fixed[1], -rows[1])
    np.testing.assert_array_equal(fixed[2], -rows[2])


def test_sign_rule_ignores_the_sign_the_solver_returns(data):
    components = fit_pca(data).components
    flips = np.where(np.arange(12) % 2 == 0, -1.0, 1.0)[:, None]
    np.testing.assert_array_equal(fix_signs(components * flips), components)


def test_result_is_stable_under_permuting_samples(data):
    ours = fit_pca(data)
    shuffled = fit_pca(data[np.random.default_rng(2).permutation(len(data))])
    np.testing.assert_allclose(shuffled.components, ours.components, rtol=0, atol=1e-9)
    np.testing.assert_allclose(shuffled.explained_variance_ratio, ours.explained_variance_ratio, atol=1e-14)


@pytest.mark.parametrize("n", [0, 1])
def test_too_few_samples_is_a_clear_error(n):
    with pytest.raises(PipelineError, match="at least 2"):
        fit_pca(np.ones((n, 4)))


@pytest.mark.parametrize("n", [2, 7, 1000])
def test_identical_images_are_a_clear_error(n):
    # 0.1 is not exact in binary, so the computed mean leaves a tiny rounding "variance" behind.
    with pytest.raises(PipelineError, match="zero variance"):
        fit_pca(np.full((n, 20), 0.1))


def test_a_single_differing_pixel_is_still_variance():
    x = np.full((1000, 20), 0.1)
    x[3, 5] += 1 / 255
    result = fit_pca(x)
    assert result.explained_variance_ratio[0] == pytest.approx(1.0)
    assert abs(result.components[0, 5]) == pytest.approx(1.0)


def test_thresholds_match_an_independent_cumulative_sum():
    rng = np.random.default_rng(3)
    ratios = np.sort(rng.dirichlet(np.full(50, 0.3)))[::-1]
    cumulative = np.cumsum(ratios)
    thresholds = [0.1, 0.5, 0.8, 0.9, 0.95, 0.99]
    expected = {}
    for t in thresholds:
        total = 0.0
        for k, r in enumerate(ratios, start=1):
            total += r
            if total >= t:
                expected[repr(t)] = k
                break
    assert components_needed(cumulative, thresholds) == expected


def test_threshold_reached_exactly_counts():
    cumulative = np.array([0.5, 0.75, 1.0])
    assert components_needed(cumulative, [0.5, 0.75, 0.76]) == {"0.5": 1, "0.75": 2, "0.76": 3}


def test_threshold_one_is_all_components_despite_rounding():
    cumulative = np.array([0.6, 0.9, 0.9999999999999998])
    assert components_needed(cumulative, [1.0]) == {"1.0": 3}


@pytest.mark.parametrize("bad", ["0", "-0.1", "1.5", "nan", "abc"])
def test_bad_thresholds_are_rejected(bad):
    with pytest.raises(PipelineError, match="--thresholds"):
        parse_thresholds(["0.9", bad])


def test_threshold_keys_use_the_short_decimal_form(data):
    summary = metrics(fit_pca(data), parse_thresholds(["0.80", "0.9", "0.95", "0.99"]))
    assert list(summary["thresholds"]) == ["0.8", "0.9", "0.95", "0.99"]
    assert summary["n_samples"] == 300 and summary["n_features"] == 12
    assert summary["cumulative_ratio"][-1] == pytest.approx(1.0)
    assert summary["sign_rule"] and summary["solver"]


def test_npz_is_byte_identical_and_loadable(tmp_path):
    arrays = {"b": np.arange(6.0).reshape(2, 3), "a": np.array([1, 2], dtype=np.uint8)}
    save_npz(tmp_path / "x.npz", **arrays)
    with zipfile.ZipFile(tmp_path / "x.npz") as archive:
        assert {info.date_time for info in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}
    loaded = load_npz(tmp_path / "x.npz")
    assert set(loaded) == {"a", "b"}
    for name, array in arrays.items():
        np.testing.assert_array_equal(loaded[name], array)
        assert loaded[name].dtype == array.dtype
    assert not list(tmp_path.glob(".*"))  # no temporary file left behind


def test_main_is_deterministic(prepared_dataset, tmp_path):
    outputs = []
    for run in ("a", "b"):
        main(["--input", str(prepared_dataset), "--output", str(tmp_path / run / "pca.npz"),
              "--metrics", str(tmp_path / run / "metrics.json"), "--thresholds", "0.9"])  # fmt: skip
        outputs.append(((tmp_path / run / "pca.npz").read_bytes(), (tmp_path / run / "metrics.json").read_bytes()))
    assert outputs[0] == outputs[1]


def test_cli_writes_both_files(prepared_dataset, tmp_path):
    out, met = tmp_path / "pca" / "pca.npz", tmp_path / "pca" / "metrics.json"
    result = run_script(
        "pca/fit.py", "--input", prepared_dataset, "--output", out, "--metrics", met,
        "--thresholds", "0.5", "0.9", "--threads", "1",
    )  # fmt: skip
    assert "components 1-4 explain" in result.stdout
    arrays = load_npz(out)
    assert arrays["components"].shape == (784, 784)
    assert arrays["mean"].shape == arrays["explained_variance"].shape == (784,)
    summary = json.loads(met.read_text())
    assert summary["n_samples"] == 200 and summary["n_features"] == 784
    assert set(summary["thresholds"]) == {"0.5", "0.9"}
    np.testing.assert_array_equal(summary["explained_variance_ratio"], arrays["explained_variance_ratio"])
    # The CLI fits the training part only (200 images), exactly as the importable function does.
    expected = fit_pca(train_matrix(prepared_dataset))
    np.testing.assert_allclose(arrays["explained_variance_ratio"], expected.explained_variance_ratio, atol=1e-15)


@pytest.mark.parametrize("bad", ["1.5", "zero"])
def test_cli_bad_threshold_exits_1(prepared_dataset, tmp_path: Path, bad):
    out = tmp_path / "pca.npz"
    result = run_script(
        "pca/fit.py", "--input", prepared_dataset, "--output", out, "--metrics", tmp_path / "m.json",
        "--thresholds", bad, check=False,
    )  # fmt: skip
    assert result.returncode == 1
    assert "error: --thresholds" in result.stderr and "Traceback" not in result.stderr
    assert not out.exists()


def test_thresholds_have_no_default(prepared_dataset, tmp_path: Path):
    """The thresholds come from the config (pca.thresholds); leaving the flag out is an error, not a default."""
    out = tmp_path / "pca.npz"
    args = ["--input", str(prepared_dataset), "--output", str(out), "--metrics", str(tmp_path / "m.json")]
    with pytest.raises(PipelineError, match="--thresholds"):
        main(args)
    result = run_script("pca/fit.py", *args, check=False)
    assert result.returncode == 1
    assert result.stderr.startswith("error: ") and len(result.stderr.splitlines()) == 1
    assert "--thresholds" in result.stderr
    assert not out.exists()


@pytest.mark.parametrize("kind", ["missing", "directory", "empty"])
def test_unusable_input_is_refused_before_any_work(tmp_path: Path, kind):
    path = tmp_path / "data.npy"
    if kind == "directory":
        path.mkdir()
    elif kind == "empty":
        path.write_bytes(b"")
    out = tmp_path / "pca.npz"
    result = run_script(
        "pca/fit.py", "--input", path, "--output", out, "--metrics", tmp_path / "m.json", "--thresholds", "0.9",
        check=False,
    )  # fmt: skip
    assert result.returncode == 1
    message = {"missing": "file not found", "directory": "is a directory", "empty": "is empty"}[kind]
    assert result.stderr.startswith(f"error: {path}: {message}")
    assert not out.exists()


def test_benchmark_cli_reports_and_fails_on_a_missed_target(prepared_dataset, tmp_path, capsys):
    out = tmp_path / "bench" / "pca.json"
    args = ("pca", "--data", prepared_dataset, "--repeat", "1", "--output", out)
    benchmark.main([*map(str, args), "--min-speedup", "0"])
    assert "speedup" in capsys.readouterr().out
    report = json.loads(out.read_text())
    assert report["n_samples"] == 200 and report["threads"] == 1
    assert report["max_abs_ratio_diff"] < 1e-10 and report["all_passed"]
    assert report["ours"]["best_s"] > 0 and report["reference"]["best_s"] > 0
    missed = run_script("tools/benchmark.py", *args, "--min-speedup", "1e9", check=False)
    assert missed.returncode == 1 and "missed its target(s): speed" in missed.stderr
    assert json.loads(out.read_text())["passed"] == {"speed": False, "accuracy": True}


# --------------------------------------------------------------------------------------------------------
# pca/classify.py: a linear classifier's test accuracy on the first k scores
# --------------------------------------------------------------------------------------------------------


def test_lda_matches_scikit_learn():
    """The one-covariance-for-all classifier gives scikit-learn's LDA predictions, for every k."""
    from sklearn.discriminant_analysis import LinearDiscriminantAnalysis

    from pca.classify import lda_accuracies

    rng = np.random.default_rng(4)
    centres = rng.normal(size=(4, 6)) * 2
    train_labels = np.repeat(np.arange(4), [40, 50, 60, 70])
    test_labels = np.repeat(np.arange(4), 25)
    mixing = rng.normal(size=(6, 6))
    train = (centres[train_labels] + rng.normal(size=(220, 6))) @ mixing
    test = (centres[test_labels] + rng.normal(size=(100, 6))) @ mixing
    counts = [1, 2, 4, 6]
    ours = lda_accuracies(train.copy(), train_labels, test, test_labels, counts)
    for k, correct in zip(counts, ours, strict=True):
        reference = LinearDiscriminantAnalysis(solver="lsqr").fit(train[:, :k], train_labels)
        assert correct == int(np.sum(reference.predict(test[:, :k]) == test_labels)), k


def test_lda_survives_directions_without_variance():
    """A score that is the same for every image (a small subset's empty pixels) leaves the classifier defined."""
    from pca.classify import lda_accuracies

    rng = np.random.default_rng(5)
    labels = np.repeat(np.arange(3), 20)
    train = np.column_stack([labels + rng.normal(0, 0.3, 60), np.zeros(60)])
    correct = lda_accuracies(train, labels, train.copy(), labels, [1, 2])
    assert correct[0] == correct[1] and correct[0] >= 55


def test_classify_cli_measures_the_asked_and_the_threshold_counts(prepared_dataset, tmp_path):
    from pca import classify

    out, met = tmp_path / "pca.npz", tmp_path / "metrics.json"
    main(["--input", str(prepared_dataset), "--output", str(out), "--metrics", str(met), "--thresholds", "0.9", "0.5"])
    result_path = tmp_path / "classification.json"
    run_script(
        "pca/classify.py", "--data", prepared_dataset, "--pca", out, "--metrics", met, "--counts", "8", "1", "8",
        "--threads", "1", "--output", result_path,
    )  # fmt: skip
    result = json.loads(result_path.read_text())
    thresholds = json.loads(met.read_text())["thresholds"]
    assert result["asked"] == [1, 8] and result["threshold_counts"] == thresholds
    assert result["counts"] == sorted({1, 8, *thresholds.values()})
    assert result["n_train"] == 200 and result["n_test"] > 0
    assert all(0 <= c <= result["n_test"] for c in result["correct"])
    assert result["accuracy"] == [pytest.approx(c / result["n_test"]) for c in result["correct"]]
    ratios = np.cumsum(json.loads(met.read_text())["explained_variance_ratio"])
    assert result["variance_kept"] == [pytest.approx(ratios[k - 1]) for k in result["counts"]]
    again = tmp_path / "again.json"
    classify.main(["--data", str(prepared_dataset), "--pca", str(out), "--metrics", str(met), "--counts", "1", "8",
                   "--output", str(again)])  # fmt: skip
    assert again.read_bytes() == result_path.read_bytes(), "deterministic"


def test_classify_refuses_bad_counts_and_needs_its_settings(prepared_dataset, tmp_path):
    from pca import classify

    out, met = tmp_path / "pca.npz", tmp_path / "metrics.json"
    main(["--input", str(prepared_dataset), "--output", str(out), "--metrics", str(met), "--thresholds", "0.9"])
    args = ["--data", str(prepared_dataset), "--pca", str(out), "--metrics", str(met), "--output", str(tmp_path / "c")]
    with pytest.raises(PipelineError, match="--counts 785 out of range"):
        classify.main([*args, "--counts", "4", "785"])
    with pytest.raises(PipelineError, match="--counts"):
        classify.main(args)
    result = run_script("pca/classify.py", *args, check=False)
    assert result.returncode == 1 and result.stderr.startswith("error: ") and "--counts" in result.stderr
    assert not (tmp_path / "c").exists()


def test_smallest_within_counts_whole_images_at_the_boundary():
    from pca.pcaio import smallest_within

    counts, correct = [1, 2, 4, 8], [500, 790, 800, 805]
    assert smallest_within(counts, correct, 1000, 1.5) == 2  # 805 - 790 = 15 images = 1.5 points exactly
    assert smallest_within(counts, correct, 1000, 1.4) == 4
    assert smallest_within(counts, correct, 1000, 0.1) == 8


def test_training_rmse_is_the_error_of_redrawing_the_training_images(data):
    from pca.pcaio import training_rmse

    fit = fit_pca(data)
    rmse = training_rmse(fit.explained_variance, fit.n_samples)
    assert rmse.shape == (13,) and rmse[-1] == 0
    for k in (0, 3, 7):
        basis = fit.components[:k]
        residual = (data - fit.mean) - (data - fit.mean) @ basis.T @ basis
        assert rmse[k] == pytest.approx(np.sqrt(np.mean(residual**2)), rel=1e-9)


def test_enough_count_needs_all_components_measured():
    """Counts that stop short of all components leave the larger ones unmeasured: nothing counts as enough."""
    from pca.pcaio import enough_count

    counts, correct = [1, 2, 4, 784], [500, 790, 805, 800]
    assert enough_count(counts, correct, 1000, 1.5, 784) == 2
    assert enough_count(counts[:3], correct[:3], 1000, 1.5, 784) is None  # [1, 2, 4]: the best is not settled
    assert enough_count([1, 2], [500, 790], 1000, 50, 784) is None
    assert enough_count([784], [800], 1000, 1, 784) == 784
