"""The backpropagation page rendered from tiny real outputs under settings with different outcomes, every sentence
that states a result checked against the numbers it is about.

The inputs are built by the pipeline's own scripts (backprop/puzzle.py, network.py, claims.py and the six figure
scripts) on synthetic images, laid out like results/. Four runs, chosen for their outcomes:

* ``story``: the defaults (sigmoid, a fix fraction of one third): the thread's first round; the loss falls at every
  evaluation; the only zero gradients come from blank pixels.
* ``relu_half``: ReLU, a fix fraction of 0.5 (not the thread's first round), wider Dick: the loss ends above where
  it started; the error signal grows through Harry's weights; units that are off zero some gradients.
* ``dead``: ReLU at a high learning rate, a fix fraction of 0.3 (the thread's first round from another fraction):
  the hidden units die, so Tom's and Dick's gradients are zero at many steps.
* ``fifth``: a fix fraction of 0.2, an evaluation after every step: the loss falls overall but rises at some
  evaluations.

Each fact's numbers are recomputed here from the output files (history.npz, metrics.json, puzzle.json) with plain
numpy, not with the claims script's code, and the sentence the page prints must be the one those numbers call for.
"""

from __future__ import annotations

import html
import itertools
import json
import re
from pathlib import Path

import numpy as np
import pytest

from backprop import widgets as backprop_widgets
from backprop.figures import agreement, flow, grad_norms, loss, puzzle, rounds
from backprop_inputs import FIGURE_OPTIONS, build_run
from kit.facts import checked
from kit.io import load_npz
from test_render import PROVENANCE, page_text, parse, render, write

#: In the declaration's order (workflow/explainers/backprop.yaml): the check by autograd comes last.
FIGURES = {
    "puzzle": (puzzle, ("puzzle",)),
    "rounds": (rounds, ("puzzle",)),
    "loss": (loss, ("history", "metrics")),
    "grad_norms": (grad_norms, ("history",)),
    "flow": (flow, ("history", "metrics")),
    "agreement": (agreement, ("history", "metrics")),
}

#: name -> (puzzle flags, network flags)
SCENARIOS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "story": ((), ()),
    "relu_half": (("--fix-fraction", "0.5"), ("--activation", "relu", "--hidden", "8", "30")),
    "dead": (("--fix-fraction", "0.3", "--seed", "7"), ("--activation", "relu", "--learning-rate", "10")),
    "fifth": (("--fix-fraction", "0.2"), ("--hidden", "16", "12", "--eval-every", "1")),
}

THREAD_FIXES = {"Harry": 1, "Dick": 2, "Tom": 1}
LAYERS = ("tom", "dick", "harry")
PEOPLE = {"tom": "Tom", "dick": "Dick", "harry": "Harry"}


def build_page(results: Path, puzzle_args: tuple[str, ...] = (), network_args: tuple[str, ...] = ()) -> dict:
    """All outputs under ``results``, then the page; returns the HTML, its text, the inputs and the sidecars."""
    paths = build_run(results, puzzle_args, network_args=network_args)
    figures, sidecars = {}, {}
    for name, (module, inputs) in FIGURES.items():
        svg = results / "figures" / "backprop" / f"{name}.svg"
        args = [item for key in inputs for item in (f"--{key}", str(paths[key]))]
        args += FIGURE_OPTIONS.get(name, ())
        module.main([*args, "--output", str(svg), "--meta", str(svg.with_suffix(".json"))])
        figures[name] = svg
        sidecars[name] = json.loads(svg.with_suffix(".json").read_text())
    contexts = {
        "puzzle": paths["puzzle"],
        "metrics": paths["metrics"],
        "claims": paths["claims"],
        "dataset": write(results / "data" / "fashion-mnist.json", {"n_train": 200, "n_test": 60}),
        "provenance": write(results / "provenance" / "backprop.json", {**PROVENANCE, "explainer": "backprop"}),
    }
    widget_data = results / "widgets" / "backprop.js"
    backprop_widgets.main(
        ["--puzzle", str(paths["puzzle"]), "--history", str(paths["history"]), "--output", str(widget_data),
         "--checks", str(widget_data.with_suffix(".checks.json"))]
    )  # fmt: skip
    output = results / "reports" / "backprop.html"
    args = ["--template", "backprop.html.j2", "--output", str(output), "--widgets", str(widget_data)]
    args += [f"--context={key}={path}" for key, path in contexts.items()]
    args += [f"--figure={key}={path}" for key, path in figures.items()]
    render(*args, "--site-title", "Explainers", "--site-author", "Tester")
    page = output.read_text(encoding="utf-8")
    parser = parse(page)
    load = {key: json.loads(paths[key].read_text()) for key in ("puzzle", "metrics", "claims")}
    return {
        "html": page,
        "parser": parser,
        # The page's text without the scripts (the widgets' code holds words such as "n/a" of its own).
        "text": squash(page_text(parse(re.sub(r"<script\b.*?</script>", "", page, flags=re.S)))),
        "history": load_npz(paths["history"]),
        "figures": sidecars,
        **load,
    }


def number(text: str) -> float:
    """``0.21`` or ``2.1 × 10⁻⁷`` as a float."""
    mantissa, _, power = text.partition(" × 10")
    exponent = int(power.translate(str.maketrans("⁻⁰¹²³⁴⁵⁶⁷⁸⁹", "-0123456789"))) if power else 0
    return float(mantissa) * 10.0**exponent


def squash(text: str) -> str:
    """Whitespace collapsed, so sentences split over template lines compare as one line."""
    return " ".join(html.unescape(text).split())


@pytest.fixture(scope="module")
def pages(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict]:
    root = tmp_path_factory.mktemp("pages")
    return {name: build_page(root / name / "results", *flags) for name, flags in SCENARIOS.items()}


@pytest.fixture(scope="module")
def page(pages: dict[str, dict]) -> dict:
    return pages["story"]


def fact(page: dict, name: str) -> str:
    """The sentence a fact chose, checked to be well formed (its sentence is the first case that held)."""
    return checked(page["claims"]["facts"][name], name)["text"]


# --------------------------------------------------------------------------------------------------------
# What every scenario must satisfy
# --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", SCENARIOS)
def test_every_fact_is_well_formed_and_on_the_page(pages: dict, name: str) -> None:
    page = pages[name]
    facts = page["claims"]["facts"]
    assert {"headline", "description"} <= facts.keys()
    for key, value in facts.items():
        text = squash(checked(value, key)["text"])
        if key == "description":
            meta = re.search(r'<meta name="description" content="([^"]*)">', page["html"])
            assert meta and squash(meta.group(1)) == text, key
        else:
            assert text in page["text"], f"{name}: fact {key} not on the page: {text}"
    title = re.search(r"<title>(.*?)</title>", page["html"], flags=re.S)
    assert title and facts["headline"]["text"] in squash(title.group(1))


@pytest.mark.parametrize("name", SCENARIOS)
def test_every_figure_table_and_claim_is_on_the_page(pages: dict, name: str) -> None:
    page = pages[name]
    text, parser = page["text"], page["parser"]
    for number, figure in enumerate(FIGURES, start=1):
        image = parser.find("img", src=f"../figures/backprop/{figure}.svg")
        assert image and len(image[0]["alt"]) > 100, figure
        assert f"Figure {number}." in text
    for number in range(1, 9):
        assert f"Table {number}." in text
    for claim in page["claims"]["claims"]:
        assert squash(claim["measured"]) in text and squash(claim["claim"]) in text
    assert "n/a" not in text and "nan" not in text.split()


@pytest.mark.parametrize("name", SCENARIOS)
def test_the_public_copy_is_linked_where_lost_tweets_are_summarised(pages: dict, name: str) -> None:
    page = pages[name]
    url = "https://threadreaderapp.com/thread/1384521213746184194.html"
    assert page["claims"]["thread"]["url"] == url
    links = page["html"].count(f'href="{url}"')
    summarised = sum(claim["source"] == "thread-summary" for claim in page["claims"]["claims"])
    assert links >= 5 + summarised  # story (3), sources (2) and each paraphrased claim's source cell
    assert "Tweets 3 to 8 are recovered from the public copy of the thread" in page["text"]
    assert "Tweets 9 to 11 and its closing notes were not recovered" in page["text"]


# --------------------------------------------------------------------------------------------------------
# The puzzle's sentences against puzzle.json
# --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", SCENARIOS)
def test_the_first_round_is_called_the_threads_only_when_it_is(pages: dict, name: str) -> None:
    page = pages[name]
    first = page["puzzle"]["rounds"][0]
    is_threads = first["fixes"] == THREAD_FIXES and first["total_after"] == 8
    round_1, lead, origin = fact(page, "puzzle_round_1"), fact(page, "puzzle_lead"), fact(page, "puzzle_rule_origin")
    verdicts = {claim["id"]: claim["verdict"] for claim in page["claims"]["claims"]}
    if is_threads:
        assert round_1 == "That leaves 8 wrong pieces: the thread's first round."
        assert "whose first round is the thread's" in lead and "not the thread's" not in lead
        assert "plays the thread's first round" in origin
        assert verdicts["round_1_fixes"] == verdicts["round_1_total"] == "supported"
    else:
        after = first["total_after"]
        assert round_1.startswith(f"That leaves {after} wrong pieces, not the thread's 8")
        assert "not the thread's 12 → 8" in lead and f"12 → {after}" in lead
        assert "not the thread's" in origin and "first-round claims are not supported" in origin
        assert "not supported" in (verdicts["round_1_fixes"], verdicts["round_1_total"])
        for person, n in first["fixes"].items():
            if n != THREAD_FIXES[person]:
                assert f"{person} fixes {n} where the thread's {person} fixes {THREAD_FIXES[person]}" in round_1
    fraction = page["puzzle"]["settings"]["fix_fraction"]
    assert f"fix fraction ({fraction:.3f})" in origin


@pytest.mark.parametrize("name", SCENARIOS)
def test_the_rounds_trend_and_idle_people_follow_the_rounds(pages: dict, name: str) -> None:
    page = pages[name]
    totals = page["puzzle"]["totals"]
    drops = [a - b for a, b in itertools.pairwise(totals)]
    trend = fact(page, "puzzle_totals_trend")
    if len(drops) > 1:
        most = [str(i + 1) for i, d in enumerate(drops) if d == max(drops)]
        named = most[0] if len(most) == 1 else ", ".join(most[:-1]) + " and " + most[-1]
        assert "falls in every round" in trend and trend.endswith(f"most in round{'s' * (len(most) > 1)} {named}.")
    end = fact(page, "puzzle_end")
    assert " → ".join(map(str, totals)) in end
    assert ("none is wrong and the puzzle is done" in end) == (totals[-1] == 0)
    idle = fact(page, "puzzle_idle")
    starved = {
        (r["round"], step["person"])
        for r in page["puzzle"]["rounds"]
        for step in r["steps"]
        if step["own_wrong"] and not step["fixed"] and not step["received"]["fixes_to_make"]
    }
    for person in ("Dick", "Tom"):
        rounds_of = sorted(n for n, p in starved if p == person)
        if rounds_of:
            assert f"{person} in round" in idle and "used the message up" in idle
    if not starved and all(
        step["fixed"] or not step["own_wrong"] for r in page["puzzle"]["rounds"] for step in r["steps"]
    ):
        assert idle == "In every round, each person with a wrong piece fixes at least one."
    budget = fact(page, "puzzle_budget")
    tom_starved = sorted(n for n, p in starved if p == "Tom")
    assert ("Tom has a wrong piece and receives nothing to fix" in budget) == bool(tom_starved)


# --------------------------------------------------------------------------------------------------------
# The network's sentences against history.npz and metrics.json
# --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", SCENARIOS)
def test_the_loss_is_described_as_it_moved(pages: dict, name: str) -> None:
    page = pages[name]
    train = page["history"]["train_loss"]
    up = int(np.sum(np.diff(train) > 0))
    n = len(train) - 1
    trend = fact(page, "loss_trend")
    if train[-1] < train[0] and up == 0:
        assert trend.startswith(f"The loss on the training images falls at every one of the {n} evaluations")
    elif train[-1] < train[0]:
        assert "falls overall" in trend and "but not round after round" in trend
        assert f"above the evaluation before at {up} of the {n} evaluations" in trend
    else:
        assert trend.startswith("The loss on the training images does not fall overall")
        assert f"at {up} of the {n} evaluations" in trend
    assert f"from {train[0]:.3f} to {train[-1]:.3f} nats" in trend
    title = page["figures"]["loss"]["title"]
    assert ("does not fall overall" in title) == (not train[-1] < train[0])
    if up and train[-1] < train[0]:
        assert f"above the evaluation before at {up} of {n} evaluations" in title
    verdict = {c["id"]: c["verdict"] for c in page["claims"]["claims"]}["loss_falls"]
    test = page["history"]["test_loss"]
    assert (verdict == "supported") == bool(train[-1] < train[0] and test[-1] < test[0])
    assert "round after round like the wrong pieces" not in page["text"]  # the old sentence, false when it rises
    gap = fact(page, "gap")
    final = page["metrics"]["final"]
    assert ("is above the training loss" in gap) == (final["test_loss"] > final["train_loss"])


@pytest.mark.parametrize("name", SCENARIOS)
def test_the_gradient_ranking_and_the_slopes_follow_the_history(pages: dict, name: str) -> None:
    page = pages[name]
    history = page["history"]
    medians = {layer: float(np.median(history[f"grad_norm_{layer}"])) for layer in LAYERS}
    norms = fact(page, "norms")
    if len(set(medians.values())) == 3:
        largest, smallest = max(medians, key=medians.get), min(medians, key=medians.get)
        assert norms.endswith(f"{PEOPLE[largest]}'s is the largest and {PEOPLE[smallest]}'s the smallest.")
        title = page["figures"]["grad_norms"]["title"]
        assert title.startswith(f"{PEOPLE[largest]}'s layer gets the largest gradient")
    mean = {
        stage: float(history[f"message_{stage}"].mean()) for stage in ("harry_to_dick", "dick", "dick_to_tom", "tom")
    }
    dick, tom = mean["dick"] / mean["harry_to_dick"], mean["tom"] / mean["dick_to_tom"]
    slopes = fact(page, "slopes")
    if dick < 1 and tom < 1:
        assert slopes.startswith("Notice that both activation slopes shrink the message")
        assert "slope shrinks the error signal" in page["figures"]["flow"]["title"]
    else:
        assert "both" not in slopes
    for person, value in (("Dick", dick), ("Tom", tom)):
        match = re.search(rf"×([0-9.]+(?: × 10[⁻⁰¹²³⁴⁵⁶⁷⁸⁹]+)?) at {person}", slopes)
        assert match, (person, slopes)
        assert number(match.group(1)) == pytest.approx(value, rel=0.06, abs=0.005 if value >= 0.01 else 0)
    if page["metrics"]["settings"]["activation"] == "relu":
        assert "The sigmoid's slope" not in page["text"]


@pytest.mark.parametrize("name", SCENARIOS)
def test_zero_gradients_are_explained_by_their_computed_cause(pages: dict, name: str) -> None:
    page = pages[name]
    zero = page["metrics"]["zero_gradients"]
    for key, when in (("agreement_zero_first", "At step 1"), ("agreement_zero_last", "At the last step")):
        text = fact(page, key)
        layers = zero["first" if key.endswith("first") else "last"]["layers"]
        assert text.startswith(when)
        for layer in LAYERS:
            c = layers[layer]
            assert c["zero"] == c["blank_input"] + c["silent_unit"] + c["both"] + c["never_together"] + c["cancelled"]
            if c["zero"]:
                assert f"{c['zero']:,} of {PEOPLE[layer]}'s {c['weights']:,} weights" in text
            passes_back = f"the {PEOPLE[layer]} unit they feed passes back an error of 0"
            assert (passes_back in text) == bool(c["silent_unit"]), (name, layer)
        # The old sentence blamed blank inputs whatever the cause.
        assert "such as a blank corner pixel" not in page["text"]
    first = zero["first"]["layers"]
    if page["metrics"]["settings"]["activation"] == "sigmoid":
        # A sigmoid unit is never exactly off at the start: every zero of step 1 is a blank pixel.
        assert first["tom"]["zero"] == first["tom"]["blank_input"] > 0
        assert "their pixel is 0 in every image of the batch" in fact(page, "agreement_zero_first")


@pytest.mark.parametrize("name", SCENARIOS)
def test_the_analogy_numbers_come_from_step_1(pages: dict, name: str) -> None:
    page = pages[name]
    history = page["history"]
    harry, through = float(history["message_harry"][0]), float(history["message_harry_to_dick"][0])
    signal = fact(page, "analogy_signal")
    assert f"has a size of {harry:.3f} per image" in signal and f"it measures {through:.3f}" in signal
    assert ("more than Harry received" in signal) == (through > harry)
    zero_steps = {layer: int(np.sum(history[f"grad_norm_{layer}"] == 0)) for layer in LAYERS}
    nonzero = fact(page, "analogy_nonzero")
    if not any(zero_steps.values()):
        assert "no layer's gradient is zero at any of the" in nonzero
    else:
        for layer, n in zero_steps.items():
            if n:
                assert f"{PEOPLE[layer]}'s at {n:,}" in nonzero
    for layer in LAYERS:
        assert f"{float(history[f'grad_norm_{layer}'][0]):.3f} for {PEOPLE[layer]}" in nonzero


@pytest.mark.parametrize("name", SCENARIOS)
def test_the_worked_example_is_checked_against_autograd(pages: dict, name: str) -> None:
    page = pages[name]
    worked = page["metrics"]["worked_example"]
    factors = worked["factors"]
    product = float(np.prod([factors[k] for k in ("harry_error", "harry_weight", "dick_slope", "dick_weight",
                                                   "tom_slope", "pixel")]))  # fmt: skip
    assert worked["path_product"] == pytest.approx(product, rel=1e-8)
    assert factors["harry_error"] == pytest.approx(worked["forward"]["p"] - 1, abs=1e-9)
    assert worked["paths_sum"] == pytest.approx(worked["autograd"], rel=1e-8, abs=1e-15)
    check = fact(page, "worked_check")
    tolerance = page["metrics"]["agreement"]["tolerance"]
    difference = abs(worked["paths_minus_autograd"])
    if difference == 0:
        assert "to the last bit" in check
    else:
        assert difference / abs(worked["autograd"]) < tolerance and "differs from autograd's by at most" in check
    paths = fact(page, "worked_paths")
    assert ("larger in size than the whole" in paths) == (abs(worked["path_product"]) > abs(worked["paths_sum"]))
    assert f"{worked['n_paths']:,} paths" in paths
    assert f"training image {worked['image']['index']:,}" in fact(page, "worked_choice")


@pytest.mark.parametrize("name", SCENARIOS)
def test_bounds_are_rounded_up(pages: dict, name: str) -> None:
    page = pages[name]
    history = page["history"]
    worst = max(float(history[f"relative_error_{layer}"].max()) for layer in LAYERS)
    for key in ("agreement_lead", "agreement_size", "agreement_margin"):
        text = fact(page, key)
        match = re.search(r"at most (\d\.\d × 10[⁻⁰¹²³⁴⁵⁶⁷⁸⁹]+)", text)
        assert match, (key, text)
        assert number(match.group(1)) >= worst, (key, text)
    assert "at most" in page["figures"]["agreement"]["title"]


def test_the_default_story_reads_as_before(page: dict) -> None:
    text, metrics, puzzle = page["text"], page["metrics"], page["puzzle"]
    assert (
        "The wrong pieces go 12 → 8 → 5 → 3 → 2 → 1 → 0: after 6 rounds none is wrong and the puzzle is done." in text
    )
    assert "his share is 4 × 4 / 12 = 1.33, so he fixes 1" in text
    assert f"trained on {metrics['n_train']} training images" in text
    assert f"the loss on the training images is {metrics['final']['train_loss']:.3f}" in text
    assert f"{100 * metrics['final']['test_accuracy']:.1f} % of the test images" in text
    assert f"seed {puzzle['settings']['seed']}" in text
    assert "It is ours, not the thread's." in text  # the filled-in ending is marked as such
    assert "9 of 9 claims are supported (7 of the thread's 7)" in text
    assert "One path, with real numbers" in text and "Where the puzzle analogy fits and where it breaks" in text


def test_another_rule_says_it_is_not_the_threads_first_round(pages: dict) -> None:
    text = pages["relu_half"]["text"]
    assert "That leaves 6 wrong pieces, not the thread's 8" in text
    assert "whose first round is the thread's" not in text
    assert "the same model with a fix fraction of one third plays the thread's round" in text
    summary = pages["relu_half"]["claims"]["summary"]
    assert f"{summary['supported']} of 9 claims are supported" in text and summary["supported"] < 9


def test_another_fraction_can_still_play_the_threads_first_round(pages: dict) -> None:
    page = pages["dead"]
    assert page["puzzle"]["settings"]["fix_fraction"] == 0.3
    assert fact(page, "puzzle_round_1") == "That leaves 8 wrong pieces: the thread's first round."


# --------------------------------------------------------------------------------------------------------
# The lesson: takeaways, exercises with computed answers, glossary, references, the audit set aside
# --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", SCENARIOS)
def test_the_lesson_blocks_are_there_and_the_checks_are_folded(pages: dict, name: str) -> None:
    page = pages[name]
    html_text, parser = page["html"], page["parser"]
    for block in ("takeaways", "exercises", "glossary", "references", "answers"):
        assert f'id="{block}"' in html_text, block
    assert "Before you start:" in page["text"]
    start = html_text.index('id="takeaways"')
    takeaways = html_text[start : html_text.index("</section>", start)]
    assert takeaways.count("<li>") == 4
    for audit_id in ("agreement", "claims", "provenance"):
        section = parser.find("section", id=audit_id)
        assert section and section[0].get("class") == "audit", audit_id
    # The verification is no longer in the lesson's middle: it follows the training and the sources.
    assert html_text.index('id="agreement"') > html_text.index('id="sources"') > html_text.index('id="training"')
    url = "https://threadreaderapp.com/thread/1384521213746184194.html"
    assert 'id="ref-thread-backprop"' in html_text and f'<a href="{url}">{url}</a>' in html_text
    for key in ("chain-rule", "backpropagation", "error-signal", "softmax", "cross-entropy", "sgd"):
        assert f'id="glossary-{key}"' in html_text, key


@pytest.mark.parametrize("name", SCENARIOS)
def test_takeaways_and_answers_follow_the_run(pages: dict, name: str) -> None:
    page = pages[name]
    history, puzzle, worked = page["history"], page["puzzle"], page["metrics"]["worked_example"]
    train = history["train_loss"]
    up = int(np.sum(np.diff(train) > 0))
    training = fact(page, "key_training")
    if train[-1] < train[0]:
        assert f"falls from {train[0]:.3f} to {train[-1]:.3f} nats" in training
        assert ("though not at every evaluation" in training) == (up > 0)
    else:
        assert "does not fall" in training
    accuracy = page["metrics"]["final"]["test_accuracy"]
    assert (f"only {100 * accuracy:.1f} % of the test images" in training) == (accuracy < 0.2)
    harry, through = float(history["message_harry"][0]), float(history["message_harry_to_dick"][0])
    assert ("more than Harry received" in fact(page, "key_signal")) == (through > harry)
    assert ("larger than 1" in fact(page, "answer_factor")) == (through > harry)
    h = puzzle["rounds"][0]["steps"][0]
    share = fact(page, "answer_share")
    assert share.startswith(f"{h['received']['fixes_to_make']} × {h['own_wrong']} / {h['received']['wrong_pieces']} = ")
    assert f"which rounds to {h['fixed']} " in share
    assert f"= {h['passed']['fixes_to_make']} fixes to make" in share
    product = float(np.prod([worked["factors"][k] for k in ("harry_error", "harry_weight", "dick_slope",
                                                             "dick_weight", "tom_slope", "pixel")]))  # fmt: skip
    assert ("It is positive" in fact(page, "answer_product")) == (product > 0)
    error = fact(page, "answer_error")
    p = worked["forward"]["p"]
    match = re.search(r"loss is −log p = ([0-9.]+) nats", error)
    assert match and float(match.group(1)) == pytest.approx(-np.log(p), rel=1e-3)
    totals = puzzle["totals"]
    assert " → ".join(map(str, totals)) in fact(page, "key_puzzle")
    worst = max(float(history[f"relative_error_{layer}"].max()) for layer in LAYERS)
    verdict = fact(page, "agreement_verdict")
    match = re.search(r"at most (\d\.\d × 10[⁻⁰¹²³⁴⁵⁶⁷⁸⁹]+)", verdict)
    assert match and number(match.group(1)) >= worst


@pytest.mark.parametrize("name", SCENARIOS)
def test_the_widgets_are_placed_and_loaded(pages: dict, name: str) -> None:
    page = pages[name]
    html_text, parser = page["html"], page["parser"]
    for widget in ("bp-puzzle", "bp-step"):
        hook = parser.find("div", id=f"widget-{widget}")
        assert hook and hook[0].get("data-widget") == widget
        assert f'W.register("{widget}", "backprop"' in html_text
    assert '<script src="../widgets/backprop.js"></script>' in html_text
    # The puzzle's stepper sits in the puzzle's section, the step's beside the analogy's table.
    assert html_text.index('id="widget-bp-puzzle"') < html_text.index('id="mapping"')
    step = html_text.index('id="widget-bp-step"')
    assert html_text.index('id="table-analogy"') < step < html_text.index('id="training"')
