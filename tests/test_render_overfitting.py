"""The overfitting page rendered from runs with different outcomes: every result sentence is a fact that the page
prints as chosen, and each is checked here against numbers read independently from the runs' files.

The runs come from ``overfitting_inputs`` (the puzzle with accuracy significantly up on every seed, flat accuracy,
no rise of the loss, accuracy falling, a mixture, one seed) and from the small real training runs recorded in
``tests/data/recorded``. Each page is built by the pipeline's own scripts (seed spread, claims check, the seven
figures) and rendered by publish/render_html.py, as the workflow does.
"""

from __future__ import annotations

import html
import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import binomtest, norm, ttest_rel

from conftest import ROOT
from kit.facts import checked
from kit.formats import scientific
from overfitting_inputs import FIGURES, build_outputs, in_process, write_scenario
from test_render import PROVENANCE, page_text, parse, render, write

RECORDED = ROOT / "tests" / "data" / "recorded"

#: Scenario -> the overfit model's outcome per seed ("recorded": the real runs).
SCENARIOS = {
    "puzzle": ["puzzle"] * 3,
    "flat": ["flat"] * 3,
    "no-rise": ["no_rise"] * 3,
    "down": ["down"] * 3,
    "mixed": ["no_rise", "flat", "down"],
    "one-seed": ["flat"],
    "recorded": None,
}

#: Facts printed only when a condition holds (several seeds, or epochs after the lowest loss).
SEVERAL_ONLY = {"loss_rise_seeds", "accuracy_seeds", "temperature_seeds", "test_calibration_seeds"}
NOT_PRINTED = {"accuracy_compared"}  # a branch of the template, not a sentence of it


def scenario_runs(root: Path, name: str) -> dict:
    """The runs of a scenario, laid out like results/models/."""
    outcomes = SCENARIOS[name]
    if outcomes is not None:
        return write_scenario(root, outcomes)
    runs = write_scenario(root, [])  # the CNN
    runs["overfit"] = {}
    for seed in (1, 2, 3):
        folder = root / "models" / "overfit" / f"seed-{seed}"
        shutil.copytree(RECORDED / f"seed-{seed}", folder)
        runs["overfit"][seed] = folder
    return runs


@pytest.fixture(scope="module")
def pages(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict]:
    """Every scenario's page: its HTML, its text, the claims and the folders of its runs."""
    built = {}
    for name in SCENARIOS:
        root = tmp_path_factory.mktemp(name)
        runs = scenario_runs(root, name)
        out = build_outputs(root, runs, fresh=False)
        first = out["overfit"][0]
        n_val = json.loads((first / "history.json").read_text())["n_validation"]
        contexts = {
            "claims": out["claims"],
            "seeds": out["seeds"],
            "overfit": first / "metrics.json",
            "overfit_history": first / "history.json",
            "cnn": out["cnn"][0] / "metrics.json",
            "cnn_history": out["cnn"][0] / "history.json",
            "split": write(root / "data" / "split.json",
                           {"n_validation": n_val, "n_train": 50000, "n_train_split": 60000, "seed": 20171025}),
            "dataset": write(root / "data" / "fashion-mnist.json", {"n_train": 60000, "n_test": 300}),
            "provenance": write(root / "provenance" / "overfitting.json", PROVENANCE),
        }  # fmt: skip
        output = root / "reports" / "overfitting.html"
        widget_args = []
        if name != "recorded":  # the recorded runs predate the per-epoch logits the widgets need
            data = root / "widgets" / "overfitting.js"
            in_process("overfitting/widgets.py", "--history", first / "history.json", "--diagnostics",
                       first / "diagnostics.npz", "--metrics", first / "metrics.json", "--output", data,
                       "--checks", data.with_suffix(".checks.json"))  # fmt: skip
            widget_args = ["--widgets", data]
        render("--template", "overfitting.html.j2", "--output", output,
               *[f"--context={key}={path}" for key, path in contexts.items()],
               *[f"--figure={key}={path}" for key, path in out["figures"].items()],
               *widget_args, "--site-title", "Explainers", "--site-author", "Tester")  # fmt: skip
        source = output.read_text(encoding="utf-8")
        parser = parse(source)
        body = re.sub(r"<(style|script)\b.*?</\1>", " ", source, flags=re.S)
        built[name] = {
            "html": source,
            "parser": parser,
            "text": page_text(parse(body)),
            "claims": json.loads(out["claims"].read_text()),
            "folders": out["overfit"],
            "cnn": out["cnn"][0],
            "figures": {key: json.loads(path.with_suffix(".json").read_text()) for key, path in out["figures"].items()},
        }
    return built


def independent(folder: Path, alpha: float = 0.05, min_points: float = 0.2, min_rise: float = 5.0) -> dict:
    """One run's outcome recomputed from its files with numpy and scipy (not with the pipeline's code)."""
    history = json.loads((folder / "history.json").read_text())
    h, best = history["history"], history["best_epoch"]
    last = len(h["epoch"])
    with np.load(folder / "diagnostics.npz") as d:
        labels = d["val_labels"]
        right_best = d["val_logits_best"].argmax(axis=1) == labels
        right_last = d["val_logits_last"].argmax(axis=1) == labels
        loss_best, loss_last = d["val_loss_best"], d["val_loss_last"]
    # The loss's rise on the same images: a paired t statistic, read against the normal distribution (N is large).
    loss_p = norm.sf(ttest_rel(loss_last, loss_best).statistic) if best < last else 1.0
    b, c = int((~right_best & right_last).sum()), int((right_best & ~right_last).sum())
    p = binomtest(min(b, c), b + c, 0.5).pvalue if b + c else 1.0
    rise = h["val_loss"][-1] - h["val_loss"][best - 1]
    rise_percent = 100 * rise / h["val_loss"][best - 1]
    scaled_rise = h["val_loss_temperature_scaled"][-1] - h["val_loss_temperature_scaled"][best - 1]
    change = 100 * (b - c) / len(labels)
    up = p < alpha and b > c and change >= min_points
    down = p < alpha and c > b
    rose = best < last and rise_percent >= min_rise and loss_p < alpha
    return {"best": best, "last": last, "b": b, "c": c, "p": p, "rose": rose,
            "up": best < last and up, "down": best < last and down, "flat": best < last and not (up or down),
            "removed": 100 * (rise - scaled_rise) / rise if rise > 0 else None,
            "wrong": (h["val_n_wrong"][best - 1], h["val_n_wrong"][-1]),
            "wrong_conf": (h["val_confidence_wrong_mean"][best - 1], h["val_confidence_wrong_mean"][-1])}  # fmt: skip


def sentence_in(text: str, sentence: str) -> bool:
    """Whether ``sentence`` (a fact's text) is printed in the page's text, whitespace normalised."""
    return " ".join(html.unescape(sentence).split()) in text


@pytest.mark.parametrize("name", SCENARIOS)
def test_every_fact_is_printed_as_chosen(pages, name):
    page = pages[name]
    text, facts = page["text"], page["claims"]["facts"]
    several = page["claims"]["n_seeds"] > 1
    compared = checked(facts["accuracy_compared"])["holds"]
    for key, fact in facts.items():
        checked(fact, key)
        if key in NOT_PRINTED or (key in SEVERAL_ONLY and not several):
            continue
        if key in ("accuracy_verdict", "accuracy_peak") and not compared:
            assert not sentence_in(text, fact["text"]), key
            continue
        if key in ("headline", "description"):
            continue
        assert sentence_in(text, fact["text"]), f"{name}: fact {key!r} not on the page: {fact['text']}"
    # The title, the heading and the meta description follow the facts.
    assert page["parser"].find("meta", name="description")[0]["content"] == facts["description"]["text"]
    assert re.search(r"<title>(.*?)</title>", page["html"]).group(1) == html.escape(facts["headline"]["text"], False)
    assert f"<h1>{html.escape(facts['headline']['text'], False)}</h1>" in page["html"]
    # Every figure's title and notice are on the page; every notice is a fact.
    for key, meta in page["figures"].items():
        assert sentence_in(text, meta["title"]), key
        assert sentence_in(text, checked(meta["notice"], key)["text"]), key
    assert sentence_in(text, checked(page["figures"]["loss_histograms"]["dashed"])["text"])


@pytest.mark.parametrize("name", SCENARIOS)
def test_the_page_says_what_the_runs_show(pages, name):
    """The issue's false sentences, each checked against numbers read from the runs' files."""
    page = pages[name]
    text, title = page["text"], page["claims"]["facts"]["headline"]["text"]
    runs = [independent(folder) for folder in page["folders"]]
    n = len(runs)
    # The title announces the puzzle only when every seed shows it; "accuracy up" only when every test agrees.
    every_rise = all(r["rose"] for r in runs)
    if every_rise and all(r["up"] for r in runs):
        assert title == "Validation loss up, validation accuracy up: the overfitting puzzle, measured"
    elif every_rise and all(r["flat"] for r in runs):
        assert title == "Validation loss up, validation accuracy flat: the overfitting puzzle, measured"
    elif every_rise and not any(r["down"] for r in runs):
        assert title == "Validation loss up, validation accuracy not down: the overfitting puzzle, measured"
    else:
        assert "measured" not in title and ("not the puzzle" in title or "No overfitting puzzle" in title
                                             or "only" in title)  # fmt: skip
    assert "validation accuracy up" not in title or all(r["up"] for r in runs)
    for words in ("The puzzle, reproduced", "keeps rising", "what regularisation changes", "fewer than before, and"):
        if words == "fewer than before, and":
            first = runs[0]
            assert (words in text) == (first["wrong"][1] < first["wrong"][0] and first["best"] < first["last"])
        else:
            assert words not in text
    # "So the rise was over-confidence" only with no significant fall of accuracy and the rise mostly removed.
    concluded = "was over-confidence" in text
    assert concluded == all(r["rose"] and not r["down"] and r["removed"] >= 50 for r in runs)
    # The paired test per seed, as computed here.
    for seed, run in enumerate(runs, start=1):
        row = f"{seed} {run['best']} of {run['last']}"
        assert row in text, row
        assert f" {run['b']:,} {run['c']:,} {scientific(run['p'], 2)} " in text
    # The regularised CNN: what differs, not regularisation alone.
    assert "training images (" in text and "cannot be credited to regularisation alone" in text
    # Calibration after scaling is quoted on the test images, from metrics.json.
    metrics = json.loads((page["folders"][0] / "metrics.json").read_text())
    assert f"{100 * metrics['test_ece_last_temperature_scaled']:.1f} %" in text
    # The spread row of the appendix's table needs two or more seeds.
    assert ("First network: mean ± sd" in text) == (n > 1)


def test_the_recorded_runs_are_checked_like_the_others(pages):
    """The real runs are not chosen to show anything: whatever they show, the headline follows their tests."""
    page = pages["recorded"]
    runs = [independent(folder) for folder in page["folders"]]
    claims = page["claims"]
    up = sum(r["up"] for r in runs)
    assert claims["counts"]["accuracy_up"] == up
    assert claims["counts"]["accuracy_down"] == sum(r["down"] for r in runs)
    verdict = next(c for c in claims["claims"] if c["id"] == "val_accuracy_rose")["verdict"]
    assert (verdict == "supported") == (up == 3 and all(r["rose"] for r in runs))


def test_figures_are_numbered_and_described(pages):
    page = pages["flat"]
    text = page["text"]
    for number, name in enumerate(FIGURES, start=1):
        image = page["parser"].find("img", src=f"../figures/overfitting/{name}.svg")
        assert image and image[0]["alt"] == page["figures"][name]["alt"], name
        assert f"Figure {number}." in text
    for number in range(1, 7):
        assert f"Table {number}." in text
    for claim in page["claims"]["claims"]:
        assert claim["measured"] in text and claim["verdict"] in text
    assert not re.search(r"\.[A-Z]", re.sub(r"\d\.\d|[A-Z]\.[A-Z]|e\.g|i\.e|fig\.|\.svg|\.py|\.json|\.npz", "", text))


@pytest.mark.parametrize("name", ["flat", "puzzle", "recorded"])
def test_lesson_blocks_takeaways_exercises_glossary_references_audits(pages, name):
    """Issue 13's lesson blocks: takeaways are facts of the run, exercise answers are computed, terms are defined,
    the papers are linked by DOI, and the claims check and the provenance sit in folded audit blocks."""
    page = pages[name]
    text, facts, parser = page["text"], page["claims"]["facts"], page["parser"]
    source = page["html"]
    takeaways = re.search(r'<section class="takeaways".*?</section>', source, re.S).group(0)
    for key in ("summary_result", "drivers", "temperature_verdict", "test_calibration"):
        assert " ".join(facts[key]["text"].split()) in " ".join(
            html.unescape(re.sub("<[^>]+>", " ", takeaways)).split()
        )
    assert "Before you start:" in text
    # Five exercises, each answered twice (folded on the web, on the answers page in print), with computed numbers.
    assert len(parser.find("li", id="exercises-5")) == 1 and not parser.find("li", id="exercises-6")
    first = json.loads((page["folders"][0] / "history.json").read_text())
    run = independent(page["folders"][0])
    change = 100 * (run["b"] - run["c"]) / first["n_validation"]
    answer = " ".join(html.unescape(facts["answer_flips"]["text"]).split())
    assert f"({run['b']:,} − {run['c']:,}) / {first['n_validation']:,}" in answer
    assert f"{change:+.2f}".replace("-", "−") in answer
    temperature = first["history"]["temperature"][-1]
    assert f"T = {temperature:.2f}" in facts["answer_temperature"]["text"]
    assert text.count(answer) == 2
    # Terms defined on first use and listed in the glossary.
    for key in ("nats", "logits", "ece", "calibration", "temperature-scaling", "mcnemar-test", "cross-entropy"):
        assert parser.find("div", id=f"glossary-{key}"), key
    # References with DOIs, and the audit blocks with their one-line verdicts.
    assert 'href="https://doi.org/10.48550/arXiv.1706.04599"' in source
    assert 'href="https://doi.org/10.48550/arXiv.2002.09437"' in source
    claims_audit = re.search(
        r'<section class="audit" id="claims".*?<span class="audit-summary">(.*?)</span>', source, re.S
    )
    assert claims_audit and html.unescape(claims_audit.group(1)) == facts["claims_summary"]["text"]
    assert parser.find("section", id="provenance")
    # The widgets' hooks are on the page, and the page loads their data where it was exported.
    assert parser.find("div", **{"data-widget": "overfit-epochs"}) and parser.find(
        "div", **{"data-widget": "overfit-temperature"}
    )
    assert ('widgets/overfitting.js"' in source) == (name != "recorded")
