"""The convolutions page rendered from outputs the pipeline's own scripts make on tiny inputs: every figure, table
and claim, and prose numbers that are the inputs' numbers."""

from __future__ import annotations

import json
import re

import pytest

from conv_inputs import TINY_ARGS, write_dataset, write_weights
from convolutions import claims as conv_claims
from convolutions import compute as conv
from test_fig_convolutions import FIGURES
from test_render import PROVENANCE, page_text, parse, render, write

CNN = {"test_accuracy": 0.9297, "n_train": 50000, "settings": {"channels": [8, 4]}}


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Compute, claims and figures laid out like results/, then the rendered page and its inputs."""
    results = tmp_path_factory.mktemp("conv-page") / "results"
    data = write_dataset(results / "data" / "fashion-mnist.npy")
    weights = write_weights(results / "models" / "cnn" / "weights.npz")
    arrays, metrics = results / "convolutions" / "arrays.npz", results / "convolutions" / "metrics.json"
    conv.main([str(a) for a in ["--data", data, "--weights", weights, *TINY_ARGS,
                                "--arrays", arrays, "--metrics", metrics]])  # fmt: skip
    claims = results / "convolutions" / "claims.json"
    conv_claims.main(["--metrics", str(metrics), "--output", str(claims)])
    figures = {}
    for name, module in FIGURES.items():
        svg = results / "figures" / "convolutions" / f"{name}.svg"
        module.main([str(a) for a in ["--arrays", arrays, "--metrics", metrics, "--output", svg,
                                      "--meta", svg.with_suffix(".json")]])  # fmt: skip
        figures[name] = svg
    contexts = {
        "metrics": metrics,
        "claims": claims,
        "cnn": write(results / "models" / "cnn" / "metrics.json", CNN),
        "dataset": write(results / "data" / "fashion-mnist.json", {"n_train": 60, "n_test": 20}),
        "provenance": write(results / "provenance" / "convolutions.json", {**PROVENANCE, "explainer": "convolutions"}),
    }
    output = results / "reports" / "convolutions.html"
    args = ["--template", "convolutions.html.j2", "--output", str(output)]
    args += [f"--context={key}={path}" for key, path in contexts.items()]
    args += [f"--figure={key}={path}" for key, path in figures.items()]
    render(*args, "--site-title", "Explainers", "--site-author", "Tester")
    html = output.read_text(encoding="utf-8")
    return {
        "contexts": contexts,
        "figures": figures,
        "html": html,
        "parser": parse(html),
        "metrics": json.loads(metrics.read_text()),
        "claims": json.loads(claims.read_text()),
        "sidecars": {name: json.loads(svg.with_suffix(".json").read_text()) for name, svg in figures.items()},
    }


def test_every_figure_is_shown_numbered_with_alt_text(page):
    text = page_text(page["parser"])
    for number, name in enumerate(FIGURES, start=1):
        images = page["parser"].find("img", src=f"../figures/convolutions/{name}.svg")
        assert images and images[0]["alt"] == page["sidecars"][name]["alt"], name
        assert f"Figure {number}. {page['sidecars'][name]['title']}" in text, name
    for number in (1, 2, 3):
        assert f"Table {number}." in text


def test_the_shapes_table_lists_every_example(page):
    rows = page["parser"].find("tr")
    ids = {row.get("id") for row in rows}
    for example in page["metrics"]["examples"]:
        assert f"shape-{example['name']}" in ids
    html = page["html"]
    assert "1×8×20" in html and "1×8×3" in html and "20×8 → 18<br>kernel 3×8" in html
    assert "28×28×6 → 26×26<br>kernel 3×3×6" in html
    assert "<code>conv2d</code>, padding 1" in html


def test_prose_numbers_come_from_the_inputs(page):
    text = page_text(page["parser"])
    m = page["metrics"]
    fc = m["formula_check"]
    assert f"{fc['matched']:,} of {fc['cases']:,} cases match" in text
    assert f"test image {m['image']['index']}" in text
    assert f"for {m['signal']['samples']} samples" in text
    assert "the smoothed signal has 36 values and the edge output 38" in text
    assert "the “3 × 3” kernel is really 3 × 3 × 6, with 54 weights" in text
    assert "torch returns 1 × 1 × 1 × 26 × 26, a single frame" in text
    assert "92.97 % test accuracy" in text
    edge = page["sidecars"]["learned_filters"]["counts"]["edge"]
    assert f"{edge} of the 8 filters are edge detectors" in text
    assert "n/a" not in text and "{{" not in page["html"] and "{%" not in page["html"]
    assert not re.search(r"(?<![\d.])\d+\.0\b(?!\.)", text), "a whole number printed as a float"
    assert "edge kernel (-0.5, 0, 0.5)" in text


def test_every_claim_appears_with_its_verdict(page):
    text = page_text(page["parser"])
    claims = page["claims"]
    for claim in claims["claims"]:
        assert claim["measured"] in text and claim["claim"] in text
        assert page["parser"].find("tr", id=f"claim-{claim['id']}")
    assert f"{claims['summary']['supported']} of {claims['summary']['total']} claims are supported" in text
    assert "the thread (quoted)" in text and "added by this page" in text


def test_a_claim_that_fails_shows_as_not_supported(page, tmp_path):
    """Rendered again from claims with one verdict flipped, the page says so: no verdict is fixed text."""
    claims = json.loads(json.dumps(page["claims"]))
    claims["claims"][-1]["verdict"] = "not supported"
    claims["summary"]["supported"] -= 1
    contexts = {**page["contexts"], "claims": write(tmp_path / "claims.json", claims)}
    output = tmp_path / "page.html"
    args = ["--template", "convolutions.html.j2", "--output", str(output)]
    args += [f"--context={key}={path}" for key, path in contexts.items()]
    args += [f"--figure={key}={path}" for key, path in page["figures"].items()]
    render(*args, "--site-title", "Explainers", "--site-author", "Tester")
    parser = parse(output.read_text(encoding="utf-8"))
    text = page_text(parser)
    total = claims["summary"]["total"]
    assert f"{total - 1} of {total} claims are supported" in text
    row = " ".join(parser.text)  # the flipped claim's cell
    assert "✗ not supported" in row
