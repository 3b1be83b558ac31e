"""The backpropagation page rendered from tiny real outputs: every figure and table, numbers from the inputs, and
the plain statement when the simulation does not reproduce the thread's first round.

The inputs are built by the pipeline's own scripts (backprop/puzzle.py, network.py, claims.py and the six figure
scripts) on synthetic images, laid out like results/.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from backprop.figures import agreement, flow, grad_norms, loss, puzzle, rounds
from backprop_inputs import FIGURE_OPTIONS, build_run
from test_render import PROVENANCE, page_text, parse, render, write

FIGURES = {
    "puzzle": (puzzle, ("puzzle",)),
    "rounds": (rounds, ("puzzle",)),
    "agreement": (agreement, ("history", "metrics")),
    "loss": (loss, ("history", "metrics")),
    "grad_norms": (grad_norms, ("history",)),
    "flow": (flow, ("history", "metrics")),
}


def build_page(results: Path, puzzle_args: tuple[str, ...] = ()) -> dict:
    """All outputs under ``results``, then the page; returns the HTML, its text and the inputs."""
    paths = build_run(results, puzzle_args)
    figures = {}
    for name, (module, inputs) in FIGURES.items():
        svg = results / "figures" / "backprop" / f"{name}.svg"
        args = [item for key in inputs for item in (f"--{key}", str(paths[key]))]
        args += FIGURE_OPTIONS.get(name, ())
        module.main([*args, "--output", str(svg), "--meta", str(svg.with_suffix(".json"))])
        figures[name] = svg
    contexts = {
        "puzzle": paths["puzzle"],
        "metrics": paths["metrics"],
        "claims": paths["claims"],
        "dataset": write(results / "data" / "fashion-mnist.json", {"n_train": 200, "n_test": 60}),
        "provenance": write(results / "provenance" / "backprop.json", {**PROVENANCE, "explainer": "backprop"}),
    }
    output = results / "reports" / "backprop.html"
    args = ["--template", "backprop.html.j2", "--output", str(output)]
    args += [f"--context={key}={path}" for key, path in contexts.items()]
    args += [f"--figure={key}={path}" for key, path in figures.items()]
    render(*args, "--site-title", "Explainers", "--site-author", "Tester")
    html = output.read_text(encoding="utf-8")
    parser = parse(html)
    load = {key: json.loads(paths[key].read_text()) for key in ("puzzle", "metrics", "claims")}
    return {"html": html, "parser": parser, "text": page_text(parser), **load}


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> dict:
    return build_page(tmp_path_factory.mktemp("page") / "results")


def test_page_shows_every_figure_table_and_claim(page: dict) -> None:
    text, parser = page["text"], page["parser"]
    for number, name in enumerate(FIGURES, start=1):
        image = parser.find("img", src=f"../figures/backprop/{name}.svg")
        assert image and len(image[0]["alt"]) > 100, name
        assert f"Figure {number}." in text
    for number in range(1, 6):
        assert f"Table {number}." in text
    for claim in page["claims"]["claims"]:
        assert claim["measured"] in text and claim["claim"] in text
    assert "9 of 9 claims are supported (7 of the thread's 7)" in text
    assert len(parser.find("tr")) > 30
    assert "n/a" not in text


def test_prose_numbers_come_from_the_inputs(page: dict) -> None:
    text, metrics, puzzle = page["text"], page["metrics"], page["puzzle"]
    assert "The wrong pieces go 12 → 8 → 5 → 3 → 2 → 1 → 0: after 6 rounds 0 are wrong and the puzzle is done." in text
    assert "exactly the thread's first round" in text
    assert "a small seeded model that reproduces the thread's first round exactly." in text
    assert "his share is 4 × 4 / 12 = 1.33, so he fixes 1" in text
    assert f"learns from {metrics['n_train']} training images" in text
    assert f"loss on the training images is {metrics['final']['train_loss']:.3f}" in text
    assert f"{100 * metrics['final']['test_accuracy']:.1f} % of the test images" in text
    assert f"Over {metrics['agreement']['checked_steps']} steps the largest relative error is" in text
    assert f"seed {puzzle['settings']['seed']}" in text
    assert "It is ours, not the thread's." in text  # the filled-in ending is marked as such
    assert "Tweets 9 to 11 and its closing notes are lost" in text


def test_another_rule_says_it_is_not_the_threads_first_round(tmp_path: Path) -> None:
    other = build_page(tmp_path / "results", ("--fix-fraction", "0.5"))
    text = other["text"]
    assert "which is not the thread's first round with this setting" in text
    assert "a small seeded model. Then" in text
    assert "7 of 9 claims are supported (5 of the thread's 7)" in text
