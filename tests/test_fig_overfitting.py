"""Tests for the overfitting figures: valid, reproducible SVGs and sidecars whose numbers match the inputs.

Inputs come in two kinds: synthetic runs written by ``overfitting_inputs.write_run`` (three seeds whose outcome is
chosen: the puzzle, flat accuracy, no rise, falling accuracy) and the small real training runs recorded in
``tests/data/recorded/seed-{1,2,3}`` by ``tests/data/record_history.py``. Every expected number below is computed
from those files with plain numpy (and scipy for the McNemar test), not with the figure scripts' code. Each script
runs once by its CLI and once in-process; both must write the same bytes. Every sidecar's caption ``notice`` must be
a well-formed fact (``kit.facts``) whose chosen sentence agrees with the numbers.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import binomtest

import conftest
from conftest import ROOT, SCRIPT_ENV, SCRIPTS, run_script
from kit.cli import PipelineError, run_cli
from kit.facts import checked
from kit.io import save_npz, write_json
from models import modelio as modelio
from overfitting.figures import confidence as fig_confidence
from overfitting.figures import curves as fig_curves
from overfitting.figures import loss_histograms as fig_loss_histograms
from overfitting.figures import loss_split as fig_loss_split
from overfitting.figures import reliability as fig_reliability
from overfitting.figures import temperature as fig_temperature
from overfitting_inputs import write_run

FIGURE_SCRIPTS = (
    "overfitting/figures/curves.py",
    "overfitting/figures/loss_split.py",
    "overfitting/figures/confidence.py",
    "overfitting/figures/loss_histograms.py",
    "overfitting/figures/reliability.py",
    "overfitting/figures/temperature.py",
)

#: The paired test's thresholds at the config schema's defaults, as the declaration passes them.
PAIRED = ["--min-loss-rise-percent", "5", "--min-accuracy-rise-points", "0.2", "--significance-level", "0.05"]

#: A small real run of models/train.py on real images, recorded by tests/data/record_history.py.
RECORDED = Path(__file__).resolve().parent / "data" / "recorded"

SEEDS = (1, 2, 3)


def files_of(folders: list[Path]) -> dict[str, object]:
    """The inputs as the figures take them: lists per seed, and the first seed's files alone."""
    return {
        "histories": [f / "history.json" for f in folders],
        "diagnostics_all": [f / "diagnostics.npz" for f in folders],
        "history": folders[0] / "history.json",
        "diagnostics": folders[0] / "diagnostics.npz",
        "metrics": folders[0] / "metrics.json",
    }


@pytest.fixture(scope="module", params=["synthetic", "recorded"])
def inputs(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """Three seeds' model files (the figures only read them), once per module and kind.

    ``synthetic``: three runs that show the puzzle with flat accuracy; ``recorded``: the small real training runs in
    ``tests/data/recorded`` (copied, so no test can change them).
    """
    root = tmp_path_factory.mktemp(f"model-inputs-{request.param}")
    folders = []
    for seed in SEEDS:
        folder = root / f"seed-{seed}"
        if request.param == "recorded":
            folder.mkdir()
            for name in ("history.json", "diagnostics.npz", "metrics.json"):
                shutil.copyfile(RECORDED / f"seed-{seed}" / name, folder / name)
        else:
            write_run(folder, "flat", seed)
        folders.append(folder)
    return files_of(folders)


@pytest.fixture(scope="module")
def synthetic_inputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """The synthetic inputs alone, for the malformed-input tests whose messages quote its sizes."""
    root = tmp_path_factory.mktemp("model-inputs-malformed")
    return files_of([write_run(root / f"seed-{seed}", "flat", seed)["history.json"].parent for seed in SEEDS])


def read(path: Path) -> dict:
    """A JSON file as a dict."""
    return json.loads(Path(path).read_text(encoding="utf-8"))


def npz(path: Path) -> dict[str, np.ndarray]:
    """An .npz file's arrays."""
    with np.load(path, allow_pickle=False) as data:
        return {key: data[key] for key in data.files}


def log_softmax(logits: np.ndarray) -> np.ndarray:
    """Independent log-softmax in float64 (not calibration.py's)."""
    z = logits.astype(np.float64)
    z = z - z.max(axis=1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=1, keepdims=True))


def io_flags(folder: Path, name: str) -> list[str]:
    """``--output folder/name.svg --meta folder/name.json``."""
    return ["--output", str(folder / f"{name}.svg"), "--meta", str(folder / f"{name}.json")]


def run_twice(script: str, module: object, args: list, out: Path, name: str) -> tuple[str, dict]:
    """``conftest.run_twice``; no NaN may reach a sidecar, and its notice must be a well-formed fact."""
    svg, meta = conftest.run_twice(script, module, args, out, name)
    assert "nan" not in json.dumps(meta).lower()
    checked(meta["notice"], f"{name}.notice")
    assert meta["notice"]["text"].startswith("Notice ")
    return svg, meta


def svg_text(line: str) -> str:
    """How matplotlib records a drawn text line in the SVG (a comment beside the glyph paths)."""
    return f"<!-- {line} -->"


def paired(diagnostics: Path) -> tuple[int, int, float, int]:
    """Independently: images wrong at e* and right at the end (b), the reverse (c), the exact two-sided p, N."""
    d = npz(diagnostics)
    labels = d["val_labels"]
    right_best = d["val_logits_best"].argmax(axis=1) == labels
    right_last = d["val_logits_last"].argmax(axis=1) == labels
    b, c = int((~right_best & right_last).sum()), int((right_best & ~right_last).sum())
    p = binomtest(min(b, c), b + c, 0.5).pvalue if b + c else 1.0
    return b, c, p, len(labels)


# --------------------------------------------------------------------------------------------------------
# Tests: the curves over every seed
# --------------------------------------------------------------------------------------------------------


def test_curves_over_the_seeds(inputs, tmp_path):
    args = ["--history", *inputs["histories"], "--diagnostics", *inputs["diagnostics_all"], *PAIRED]
    svg, meta = run_twice("overfitting/figures/curves.py", fig_curves, args, tmp_path, "curves")
    assert meta["n_seeds"] == 3 and meta["seeds"] == list(SEEDS)
    statuses = []
    for run, history_path, diagnostics_path in zip(meta["runs"], inputs["histories"], inputs["diagnostics_all"],
                                                   strict=True):  # fmt: skip
        history = read(history_path)
        loss, accuracy = np.array(history["history"]["val_loss"]), np.array(history["history"]["val_accuracy"])
        best = int(np.argmin(loss)) + 1
        assert run["best_epoch"] == best == history["best_epoch"]
        assert run["val_loss_rise_percent"] == pytest.approx(100 * (loss[-1] / loss.min() - 1), rel=1e-8)
        b, c, p, n = paired(diagnostics_path)
        assert (run["n_fixed"], run["n_broken"]) == (b, c)
        assert run["mcnemar_p"] == pytest.approx(p, rel=1e-8)
        assert run["val_accuracy_change_points"] == pytest.approx(100 * (accuracy[-1] - accuracy[best - 1]), abs=1e-6)
        assert 100 * (b - c) / n == pytest.approx(run["val_accuracy_change_points"], abs=1e-9)
        rose = best < len(loss) and 100 * (loss[-1] / loss.min() - 1) >= 5
        status = "up" if p < 0.05 and b > c and 100 * (b - c) / n >= 0.2 else "down" if p < 0.05 and c > b else "flat"
        statuses.append((rose, status if best < len(loss) else "none"))
        assert run["loss_rose"] == rose and run["accuracy"] == statuses[-1][1]
    # The title names the accuracy change as the test judged it, never as a bare rise.
    if all(rose for rose, _ in statuses):
        assert "validation loss rises" in meta["title"] and "after its lowest epoch on all 3 seeds" in meta["title"]
    for status, words in (("up", "rises significantly"), ("flat", "shows no significant change"),
                          ("down", "falls significantly")):  # fmt: skip
        count = sum(s == status for _, s in statuses)
        if count:
            assert words + (" on all 3 seeds" if count == 3 else f" on {count} of 3 seeds") in meta["title"]
        else:
            assert words not in meta["title"]
    assert meta["title"].startswith("Unregularised CNN on ")
    assert "exact McNemar tests at the 0.05 level" in meta["title"]
    for text in ("cross-entropy loss (nats)", "accuracy (%)", "epoch", "training (mean of 3 seeds, band: range)"):
        assert svg_text(text) in svg
    bests = sorted({r["best_epoch"] for r in meta["runs"]})
    assert svg_text(f"each seed's lowest validation loss (epoch{'s' if len(bests) > 1 else ''} "
                    f"{', '.join(map(str, bests))})") in svg  # fmt: skip
    for seed in SEEDS:
        assert f"Seed {seed}: " in meta["alt"]


def test_curves_of_one_seed_that_does_not_overfit(inputs, tmp_path):
    """Cut the first history at its best epoch (and its diagnostics to match): no rise, and the title says so."""
    history = read(inputs["history"])
    best = history["best_epoch"]
    history["history"] = {key: values[:best] for key, values in history["history"].items()}
    history["settings"] = {**history["settings"], "batch_norm": True}
    write_json(tmp_path / "history.json", history)
    d = npz(inputs["diagnostics"])
    cut = {"val_logits_last": d["val_logits_best"], "val_loss_last": d["val_loss_best"], "last_epoch": np.int64(best)}
    save_npz(tmp_path / "diagnostics.npz", **{**d, **cut})
    fig_curves.main(["--history", str(tmp_path / "history.json"), "--diagnostics", str(tmp_path / "diagnostics.npz"),
                     *PAIRED, *io_flags(tmp_path, "c")])  # fmt: skip
    meta = read(tmp_path / "c.json")
    assert meta["outcome"] == "no_rise" and meta["n_seeds"] == 1
    assert meta["title"] == (
        f"Regularised CNN on {history['n_train']:,} training images: validation loss does not end 5 % above its minimum"
    )
    assert (
        meta["notice"]["text"]
        == "Notice that the validation loss does not end significantly, by 5 % or more, above its minimum."
    )
    assert "Seed " not in meta["alt"]


@pytest.mark.parametrize(
    ("outcomes", "words"),
    [
        (["puzzle"] * 3, "validation accuracy rises significantly on all 3 seeds"),
        (["down", "flat", "flat"], "falls significantly on 1 of 3 seeds"),
        (["no_rise"] * 3, "validation loss does not end 5 % above its minimum on all 3 seeds"),
        (["no_rise", "flat", "flat"], "after its lowest epoch on 2 of 3 seeds"),
    ],
    ids=["puzzle", "one-falls", "no-rise", "mixed"],
)
def test_curves_title_and_notice_follow_the_outcome(tmp_path, outcomes, words):
    folders = [write_run(tmp_path / f"s{seed}", outcome, seed)["history.json"].parent
               for seed, outcome in enumerate(outcomes, start=1)]  # fmt: skip
    fig_curves.main(["--history", *[str(f / "history.json") for f in folders],
                     "--diagnostics", *[str(f / "diagnostics.npz") for f in folders], *PAIRED,
                     *io_flags(tmp_path, "c")])  # fmt: skip
    meta = read(tmp_path / "c.json")
    assert words in meta["title"]
    notice = checked(meta["notice"])["text"]
    changes = [paired(f / "diagnostics.npz") for f in folders]
    if outcomes == ["puzzle"] * 3:
        assert notice.startswith("Notice that the validation accuracy ends ") and "above its value" in notice
        assert all(b > c for b, c, _, _ in changes)
    elif "down" in outcomes:
        assert notice.startswith("Notice that the validation accuracy too is lower at the end on 1 of 3 seeds")
    elif outcomes == ["no_rise"] * 3:
        assert notice == (
            "Notice that the validation loss does not end significantly, by 5 % or more, above its minimum "
            "on all 3 seeds."
        )
    else:
        assert notice == (
            "Notice that the validation loss ends significantly, by at least 5 %, above its minimum on 2 of 3 "
            "seeds only."
        )


def test_curves_refuse_runs_that_do_not_belong_together(inputs, tmp_path):
    base = ["--min-loss-rise-percent", "5", "--min-accuracy-rise-points", "0.2", "--significance-level", "0.05"]
    cases = [
        (["--history", inputs["history"], "--diagnostics", *inputs["diagnostics_all"][:2]], "give one of each"),
        (["--history", inputs["history"], "--diagnostics", inputs["diagnostics_all"][1]], "different training runs"),
        (["--history", inputs["history"], inputs["history"], "--diagnostics", inputs["diagnostics"],
          inputs["diagnostics"]], "a seed twice"),
    ]  # fmt: skip
    for args, words in cases:
        with pytest.raises(PipelineError, match=words):
            fig_curves.main([str(a) for a in args] + base + io_flags(tmp_path, "c"))
    with pytest.raises(PipelineError, match="--significance-level must lie strictly between 0 and 1"):
        fig_curves.main(["--history", str(inputs["history"]), "--diagnostics", str(inputs["diagnostics"]),
                         *base[:4], "--significance-level", "1.5", *io_flags(tmp_path, "c")])  # fmt: skip
    assert not (tmp_path / "c.svg").exists()


def test_curves_thresholds_have_no_default(inputs, tmp_path, capsys):
    """The thresholds come from the config; leaving one out is a one-line error, nothing written."""
    argv = ["--history", str(inputs["history"]), "--diagnostics", str(inputs["diagnostics"]), *PAIRED[:4],
            *io_flags(tmp_path, "c")]  # fmt: skip
    assert run_cli(fig_curves.main, argv) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "--significance-level" in err and len(err.splitlines()) == 1
    assert not (tmp_path / "c.svg").exists()


# --------------------------------------------------------------------------------------------------------
# Tests: the figures drawn from one history
# --------------------------------------------------------------------------------------------------------


def test_loss_split_parts_add_up(inputs, tmp_path):
    svg, meta = run_twice(
        "overfitting/figures/loss_split.py", fig_loss_split, ["--history", inputs["history"]], tmp_path, "split"
    )
    history = read(inputs["history"])
    h = {key: np.array(values, dtype=float) for key, values in history["history"].items()}
    best, last = history["best_epoch"], len(h["epoch"])
    np.testing.assert_allclose(h["val_loss_correct_part"] + h["val_loss_wrong_part"], h["val_loss"], rtol=1e-8)
    for which, epoch in (("best", best), ("last", last)):
        assert meta[f"val_loss_wrong_part_{which}"] == pytest.approx(h["val_loss_wrong_part"][epoch - 1], rel=1e-9)
        assert meta[f"val_loss_correct_part_{which}"] == pytest.approx(h["val_loss_correct_part"][epoch - 1])
        assert meta[f"val_n_wrong_{which}"] == h["val_n_wrong"][epoch - 1]
    rise = h["val_loss"][-1] - h["val_loss"][best - 1]
    rise_wrong = h["val_loss_wrong_part"][-1] - h["val_loss_wrong_part"][best - 1]
    rise_right = h["val_loss_correct_part"][-1] - h["val_loss_correct_part"][best - 1]
    assert meta["rise"] == pytest.approx(rise, rel=1e-8)
    assert meta["rise_wrong_part"] + meta["rise_correct_part"] == pytest.approx(rise, rel=1e-6)
    assert meta["loss_rises"] == (best < last and rise > 0)
    if meta["loss_rises"]:
        assert meta["rise_wrong_fraction"] == pytest.approx(rise_wrong / rise, rel=1e-6)
        assert f"epoch {best}" in meta["title"]
        if rise_right <= 0:
            assert "only the wrongly classified examples" in meta["title"]
        # The notice names the direction of each band from the numbers.
        wrong_word = "widens" if rise_wrong > 0 else "narrows" if rise_wrong < 0 else "keeps its height"
        right_word = "widens" if rise_right > 0 else "narrows" if rise_right < 0 else "keeps its height"
        assert f"wrongly classified examples {wrong_word}" in meta["notice"]["text"]
        assert f"correctly classified ones {right_word}" in meta["notice"]["text"]
    # Temperature scaling is not in this figure (the page explains it later, with its own figure).
    assert "temperature" not in meta["title"].lower() and "temperature" not in meta["alt"].lower()
    assert svg_text("after temperature scaling") not in svg
    for text in ("validation loss (nats)", "from wrongly classified examples"):
        assert svg_text(text) in svg


def test_confidence_of_right_and_wrong(inputs, tmp_path):
    svg, meta = run_twice(
        "overfitting/figures/confidence.py", fig_confidence, ["--history", inputs["history"]], tmp_path, "conf"
    )
    history = read(inputs["history"])
    h, best = history["history"], history["best_epoch"]
    for name in ("val_confidence_wrong_mean", "val_confidence_correct_mean", "val_confidence_mean", "val_accuracy"):
        assert meta[f"{name}_best"] == pytest.approx(h[name][best - 1], rel=1e-9)
        assert meta[f"{name}_last"] == pytest.approx(h[name][-1], rel=1e-9)
        assert meta[f"{name}_last_percent"] == round(100 * h[name][-1], 1)
    wrong_best, wrong_last = h["val_confidence_wrong_mean"][best - 1], h["val_confidence_wrong_mean"][-1]
    change = 100 * (wrong_last - wrong_best)
    assert meta["wrong_confidence_change_points"] == round(change, 1)
    assert meta["overconfidence_last_points"] == round(100 * (h["val_confidence_mean"][-1] - h["val_accuracy"][-1]), 1)
    if change > 0.5:
        assert meta["title"].startswith(f"After epoch {best} wrong predictions grow more confident")
    notice = meta["notice"]["text"]
    assert ("is higher at the last epoch" in notice) == (wrong_last > wrong_best)
    assert ("is lower at the last epoch" in notice) == (wrong_last < wrong_best)
    assert f"{100 * wrong_last:.1f} %" in meta["title"]
    assert svg_text("mean confidence, accuracy (%)") in svg


def test_confidence_notice_when_wrong_answers_grow_less_sure(tmp_path):
    """The issue's case: the wrong answers' confidence falls; no caption may say it keeps rising."""
    folder = write_run(tmp_path / "run", "flat", 1)["history.json"].parent
    history = read(folder / "history.json")
    best = history["best_epoch"]
    wrong = history["history"]["val_confidence_wrong_mean"]
    wrong[-1] = wrong[best - 1] - 0.1
    write_json(folder / "history.json", history)
    fig_confidence.main(["--history", str(folder / "history.json"), *io_flags(tmp_path, "c")])
    meta = read(tmp_path / "c.json")
    assert "lower at the last epoch" in meta["notice"]["text"] and "grow less confident" in meta["title"]


def test_group_means_may_be_null(inputs, tmp_path):
    """An epoch where every example is right has no wrong-group means (null in the file): still a figure."""
    history = read(inputs["history"])
    h = history["history"]
    h["val_loss_wrong_mean"][0] = h["val_confidence_wrong_mean"][0] = None
    write_json(tmp_path / "history.json", history)
    run = modelio.read_model_history(tmp_path / "history.json", ["val_confidence_wrong_mean", "val_loss_wrong_mean"])
    assert np.isnan(run["history"]["val_confidence_wrong_mean"][0])
    assert run["history"]["epoch"].dtype == np.int64
    fig_confidence.main(["--history", str(tmp_path / "history.json"), *io_flags(tmp_path, "c")])
    assert read(tmp_path / "c.json")["title"]


def test_temperature_compares_like_with_like(inputs, tmp_path):
    svg, meta = run_twice(
        "overfitting/figures/temperature.py", fig_temperature, ["--history", *inputs["histories"]], tmp_path, "temp"
    )
    removed = []
    for run, path in zip(meta["runs"], inputs["histories"], strict=True):
        history = read(path)
        h, best = history["history"], history["best_epoch"]
        rise = h["val_loss"][-1] - h["val_loss"][best - 1]
        scaled = h["val_loss_temperature_scaled"][-1] - h["val_loss_temperature_scaled"][best - 1]
        assert run["rise"] == pytest.approx(rise, rel=1e-8) and run["scaled_rise"] == pytest.approx(scaled, abs=1e-9)
        if rise > 0:
            # Scaled against scaled, unscaled against unscaled: not the scaled last epoch against the unscaled minimum.
            assert run["removed_percent"] == pytest.approx(100 * (rise - scaled) / rise, rel=1e-8)
            mixed = 100 * (h["val_loss"][-1] - h["val_loss_temperature_scaled"][-1]) / rise
            assert run["removed_percent"] != pytest.approx(mixed, rel=1e-6)
            removed.append(run["removed_percent"])
        else:
            assert run["removed_percent"] is None
    if len(removed) == 3:
        low, high = f"{min(removed):.0f}", f"{max(removed):.0f}"
        shown = low if low == high else f"{low}\u2013{high}"
        assert f"removes {shown} %" in meta["title"]
    gap_best = np.mean([r["gap_best"] for r in meta["runs"]])
    gap_last = np.mean([r["gap_last"] for r in meta["runs"]])
    assert ("is wider at the last epoch" in meta["notice"]["text"]) == (gap_last > gap_best)
    for text in ("validation loss as it is (mean of 3 seeds, band: range)", "with the epoch's own temperature",
                 "fitted temperature T"):  # fmt: skip
        assert svg_text(text) in svg


# --------------------------------------------------------------------------------------------------------
# Tests: the figures drawn from diagnostics.npz
# --------------------------------------------------------------------------------------------------------


def test_loss_histograms(inputs, tmp_path):
    svg, meta = run_twice(
        "overfitting/figures/loss_histograms.py",
        fig_loss_histograms,
        ["--diagnostics", inputs["diagnostics"]],
        tmp_path,
        "hist",
    )
    d = npz(inputs["diagnostics"])
    labels = d["val_labels"]
    rows = np.arange(len(labels))
    groups = {}
    for which in ("best", "last"):
        log_p = log_softmax(d[f"val_logits_{which}"])
        losses, right = -log_p[rows, labels], log_p.argmax(axis=1) == labels
        groups[which] = (losses, right)
        m = meta[which]
        assert m["epoch"] == int(d[f"{which}_epoch"].reshape(()))
        assert (m["n_correct"], m["n_wrong"]) == (int(right.sum()), int((~right).sum()))
        assert m["loss_mean"] == pytest.approx(losses.mean(), rel=1e-9)
        assert m["loss_wrong_median"] == pytest.approx(np.median(losses[~right]), rel=1e-9)
        assert m["loss_correct_median"] == pytest.approx(np.median(losses[right]), rel=1e-9)
        assert m["loss_wrong_share"] == pytest.approx(losses[~right].sum() / losses.sum(), rel=1e-9)
    (loss_b, right_b), (loss_l, right_l) = groups["best"], groups["last"]
    t = meta["transitions"]
    assert t["n_fixed"] == int((~right_b & right_l).sum())
    assert t["n_broken"] == int((right_b & ~right_l).sum())
    assert t["n_stayed_wrong"] == int((~right_b & ~right_l).sum())
    assert t["n_stayed_right"] + t["n_stayed_wrong"] + t["n_fixed"] + t["n_broken"] == len(labels)
    parts = sum(t[f"{g}_loss_change_part"] for g in ("stayed_right", "stayed_wrong", "fixed", "broken"))
    assert parts == pytest.approx(loss_l.mean() - loss_b.mean(), rel=1e-6)
    stayed = ~right_b & ~right_l
    median_b, median_l = np.median(loss_b[stayed]), np.median(loss_l[stayed])
    if median_l > median_b:
        assert f"{median_l:.2f} nats" in meta["title"]
        assert meta["notice"]["text"].startswith("Notice that the examples wrong at both epochs sit further right")
    # The title's numbers are drawn in the plot: the median loss of the images wrong at both epochs, per panel.
    for median in (median_b, median_l):
        assert svg_text(f"wrong at both epochs ({int(stayed.sum()):,}): median {median:.2f} nats") in svg
    width = meta["bin_width"]
    assert meta["bin_edges"][0] == 0 and meta["bin_edges"][-1] >= max(loss_b.max(), loss_l.max())
    assert np.allclose(np.diff(meta["bin_edges"]), width)
    assert svg_text("per-example cross-entropy loss (nats)") in svg


def test_reliability(inputs, tmp_path):
    svg, meta = run_twice(
        "overfitting/figures/reliability.py", fig_reliability, ["--diagnostics", inputs["diagnostics"]], tmp_path, "rel"
    )
    d = npz(inputs["diagnostics"])
    labels = d["val_labels"]
    for which in ("best", "last"):
        p = np.exp(log_softmax(d[f"val_logits_{which}"]))
        confidence, right = p.max(axis=1), p.argmax(axis=1) == labels
        counts, ece = np.zeros(15, dtype=int), 0.0
        for b in range(15):  # bin b holds (b/15, (b+1)/15]
            members = (confidence > b / 15) & (confidence <= (b + 1) / 15)
            counts[b] = members.sum()
            if members.any():
                ece += members.sum() / len(labels) * abs(right[members].mean() - confidence[members].mean())
        assert meta[which]["bins"]["count"] == counts.tolist()
        assert meta[f"ece_{which}"] == pytest.approx(ece, abs=1e-9)
        assert meta[which]["accuracy"] == pytest.approx(right.mean())
        assert f"ECE {100 * ece:.1f} %" in svg  # each panel's title
        if which == "last":
            gap = 100 * (confidence.mean() - right.mean())
            notice = meta["notice"]["text"]
            assert ("mean confidence exceeds its accuracy" in notice) == (round(gap, 1) >= 0.5)
            assert ("accuracy exceeds its mean confidence" in notice) == (round(gap, 1) <= -0.5)
    history = read(inputs["history"])  # the history's ECE came from the same epochs' logits
    assert meta["ece_best"] == pytest.approx(history["history"]["val_ece"][history["best_epoch"] - 1], abs=1e-6)
    assert meta["ece_last"] == pytest.approx(history["history"]["val_ece"][-1], abs=1e-6)
    assert meta["n_bins"] == 15


def test_reliability_bins(inputs):
    """Any bin count partitions the examples; the figure itself uses the history's N_BINS, so its ECE matches."""
    d = npz(inputs["diagnostics"])
    r = fig_reliability.epoch_reliability(d["val_logits_best"], d["val_labels"], 10, 1)
    assert len(r["bins"]["count"]) == 10 and sum(r["bins"]["count"]) == len(d["val_labels"])
    assert r["bins"]["lower"][0] == 0 and r["bins"]["upper"][-1] == 1


# --------------------------------------------------------------------------------------------------------
# Tests: clear errors for missing and malformed inputs
# --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("script", "flag"),
    [
        ("overfitting/figures/curves.py", "--history"),
        ("overfitting/figures/loss_split.py", "--history"),
        ("overfitting/figures/confidence.py", "--history"),
        ("overfitting/figures/temperature.py", "--history"),
        ("overfitting/figures/loss_histograms.py", "--diagnostics"),
        ("overfitting/figures/reliability.py", "--diagnostics"),
    ],
)
def test_missing_input_exits_1_naming_the_file(inputs, tmp_path, script, flag):
    missing = tmp_path / "nowhere" / "input.file"
    extra = {"overfitting/figures/curves.py": ["--diagnostics", str(inputs["diagnostics"]), *PAIRED]}.get(script, [])
    result = run_script(script, flag, missing, *extra, *io_flags(tmp_path, "f"), check=False)
    assert result.returncode == 1
    assert result.stderr.startswith(f"error: {missing}: file not found")
    assert len(result.stderr.splitlines()) == 1
    assert not (tmp_path / "f.svg").exists() and not (tmp_path / "f.json").exists()


def edit_history(source: Path, target: Path, change: object) -> Path:
    """Copy history.json to ``target`` with ``change(data)`` applied."""
    data = read(source)
    change(data)
    write_json(target, data)
    return target


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d["history"].pop("val_loss_wrong_part"), "history lacks column(s) 'val_loss_wrong_part'"),
        (lambda d: d["history"]["val_loss"].pop(), "'val_loss' has 7 values but 'epoch' has 8"),
        (lambda d: d.update(best_epoch=1), "'best_epoch' 1 has validation loss"),
        (lambda d: d.update(best_epoch=99), "'best_epoch' must be an epoch from 1 to 8"),
        (lambda d: d["history"]["val_accuracy"].__setitem__(0, 71.0), "must hold fractions from 0 to 1"),
        (lambda d: d["history"]["val_loss"].__setitem__(2, None), "'val_loss' holds null values"),
        (lambda d: d["history"]["epoch"].__setitem__(3, 7), "'epoch' must count 1, 2, ..."),
        (lambda d: d.pop("history"), "has no 'history' object"),
    ],
)
def test_malformed_history_names_file_and_key(synthetic_inputs, tmp_path, capsys, change, message):
    path = edit_history(synthetic_inputs["history"], tmp_path / "history.json", change)
    assert run_cli(fig_loss_split.main, ["--history", str(path), *io_flags(tmp_path, "f")]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"error: {path}: ")
    assert message in err
    assert err.rstrip().endswith("rerun the train step")
    assert not (tmp_path / "f.svg").exists()


def test_malformed_diagnostics_name_file_and_array(synthetic_inputs, tmp_path):
    d = npz(synthetic_inputs["diagnostics"])
    broken = {key: value for key, value in d.items() if key != "val_logits_last"}
    save_npz(tmp_path / "a.npz", **broken)
    with pytest.raises(PipelineError, match=r"a\.npz: missing array\(s\) val_logits_last; rerun the train step"):
        modelio.read_diagnostics(tmp_path / "a.npz")
    logits = d["val_logits_best"].copy()
    logits[0, 0] = np.nan
    save_npz(tmp_path / "b.npz", **{**d, "val_logits_best": logits})
    with pytest.raises(PipelineError, match=r"b\.npz: array 'val_logits_best' holds non-finite values"):
        modelio.read_diagnostics(tmp_path / "b.npz")
    save_npz(tmp_path / "c.npz", **{**d, "val_loss_best": d["val_loss_best"] + 0.5})
    with pytest.raises(PipelineError, match=r"c\.npz: 'val_loss_best' does not match the loss of 'val_logits_best'"):
        fig_loss_histograms.main(["--diagnostics", str(tmp_path / "c.npz"), *io_flags(tmp_path, "h")])
    save_npz(tmp_path / "d.npz", **{**d, "val_labels": d["val_labels"][:-1]})
    with pytest.raises(PipelineError, match=r"d\.npz: array 'val_logits_best' has shape"):
        modelio.read_diagnostics(tmp_path / "d.npz")
    save_npz(tmp_path / "e.npz", **{**d, "best_epoch": np.int64(20)})
    with pytest.raises(PipelineError, match=r"e\.npz: 'best_epoch' 20 must lie from 1 to 'last_epoch' 8"):
        modelio.read_diagnostics(tmp_path / "e.npz")


def test_not_json_is_a_clear_error(synthetic_inputs, tmp_path, capsys):
    (tmp_path / "history.json").write_text("{ not json", encoding="utf-8")
    argv = ["--history", str(tmp_path / "history.json"), "--diagnostics", str(synthetic_inputs["diagnostics"]),
            *PAIRED, *io_flags(tmp_path, "c")]  # fmt: skip
    assert run_cli(fig_curves.main, argv) == 1
    assert capsys.readouterr().err.startswith(f"error: {tmp_path / 'history.json'}: not valid JSON")


# --------------------------------------------------------------------------------------------------------
# Tests: no torch
# --------------------------------------------------------------------------------------------------------


def test_figures_never_import_torch(inputs, tmp_path):
    """Every figure script runs with torch made unimportable, and torch is not loaded afterwards.

    The scripts are imported as the workflow runs them: the packages in scripts/ on PYTHONPATH (``SCRIPT_ENV``).
    """
    calls = {
        "overfitting.figures.curves": ["--history", *inputs["histories"], "--diagnostics",
                                       *inputs["diagnostics_all"], *PAIRED],
        "overfitting.figures.loss_split": ["--history", inputs["history"]],
        "overfitting.figures.confidence": ["--history", inputs["history"]],
        "overfitting.figures.loss_histograms": ["--diagnostics", inputs["diagnostics"]],
        "overfitting.figures.reliability": ["--diagnostics", inputs["diagnostics"]],
        "overfitting.figures.temperature": ["--history", *inputs["histories"]],
    }  # fmt: skip
    assert {name.replace(".", "/") + ".py" for name in calls} == set(FIGURE_SCRIPTS)
    program = "\n".join(
        [
            "import importlib, sys",
            "sys.modules['torch'] = None  # any 'import torch' now raises ImportError",
            "import models.modelio",
            *(
                f"importlib.import_module({name!r}).main({[str(a) for a in args] + io_flags(tmp_path, name)!r})"
                for name, args in calls.items()
            ),
            "assert sys.modules['torch'] is None, 'torch was imported'",
            "print('ok')",
        ]
    )
    result = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, cwd=ROOT, env=SCRIPT_ENV)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"
    assert len(list(tmp_path.glob("*.svg"))) == len(calls)
    modules = (*FIGURE_SCRIPTS, "overfitting/epochs.py", "overfitting/paired.py", "models/modelio.py",
               "models/calibration.py")  # fmt: skip
    for script in modules:
        source = (SCRIPTS / script).read_text(encoding="utf-8")
        assert "import torch" not in source and "from torch" not in source, script
