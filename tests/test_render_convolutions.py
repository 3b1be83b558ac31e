"""The convolutions page rendered from outputs the pipeline's own scripts make on tiny inputs, under settings with
different outcomes: every figure, table and claim, prose numbers that are the inputs' numbers, and every sentence
that states an outcome checked against numbers the test recomputes from the arrays (not read from the facts).

Runs (each: compute.py, claims.py, every figure, render_html.py):
- ``tiny``: synthetic test image, the tiny flags (noise, a move-stop video of 4 frames);
- ``leaves``: the drawn rectangle moving 8 pixels a frame in every frame, out of the picture; no noise;
- ``blank``: the blank test image (no ink anywhere), standing still; strong noise;
- ``two_part``: the two-part garment, still then moving, a 6-frame video with a 3-deep kernel.
"""

from __future__ import annotations

import html
import json
import math
import re

import numpy as np
import pytest
import torch
import torch.nn.functional as F  # noqa: N812

from conv_inputs import (
    BLANK,
    FILTERS_1,
    RECTANGLE,
    TINY_ARGS,
    TWO_PART,
    run_steps,
    with_flags,
    write_dataset,
    write_shapes_dataset,
    write_weights,
)
from kit.facts import checked, collect
from kit.io import load_npz
from test_fig_convolutions import FIGURES
from test_render import PROVENANCE, page_text, parse, render, write

CNN = {"test_accuracy": 0.9297, "n_train": 50000, "settings": {"channels": [8, 4]}}

#: The runs and their flags (besides the tiny ones), and which dataset each uses.
RUNS = {
    "tiny": ("synthetic", TINY_ARGS),
    "leaves": ("shapes", with_flags(test_image=RECTANGLE, volume_shift=8, volume_motion="uniform", volume_frames=5,
                                    signal_noise=0)),
    "blank": ("shapes", with_flags(test_image=BLANK, volume_shift=0, signal_noise=0.5, smooth_width=3)),
    "two_part": ("shapes", with_flags(test_image=TWO_PART, volume_shift=2, volume_motion="stop-move",
                                      volume_frames=6, volume_kernel_depth=3, seed=9)),
}  # fmt: skip


def render_page(results, paths: dict, output=None) -> str:
    """render_html.py on a run's files (and the fixed CNN, dataset and provenance files); the HTML."""
    contexts = {
        "metrics": paths["metrics"],
        "claims": paths["claims"],
        "cnn": write(results / "models" / "cnn" / "metrics.json", CNN),
        "dataset": write(results / "data" / "fashion-mnist.json", {"n_train": 60, "n_test": 20}),
        "provenance": write(results / "provenance" / "convolutions.json", {**PROVENANCE, "explainer": "convolutions"}),
    }
    output = output or results / "reports" / "convolutions.html"
    args = ["--template", "convolutions.html.j2", "--output", str(output)]
    args += [f"--context={key}={path}" for key, path in contexts.items()]
    args += [f"--figure={key}={paths[key]}" for key in FIGURES]
    render(*args, "--site-title", "Explainers", "--site-author", "Tester")
    return output.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict]:
    """Every run of ``RUNS``: its files, arrays, metrics, claims, sidecars and rendered page."""
    folder = tmp_path_factory.mktemp("conv-page")
    datasets = {
        "synthetic": write_dataset(folder / "synthetic.npy"),
        "shapes": write_shapes_dataset(folder / "shapes.npy"),
    }
    weights = write_weights(folder / "weights.npz")
    done = {}
    for name, (dataset, args) in RUNS.items():
        results = folder / name / "results"
        paths = run_steps(results, datasets[dataset], weights, [str(a) for a in args], FIGURES)
        html = render_page(results, paths)
        parser = parse(html)
        done[name] = {
            "results": results,
            "paths": paths,
            "weights": weights,
            "html": html,
            "parser": parser,
            "text": " ".join(page_text(parser).split()),
            "arrays": load_npz(paths["arrays"]),
            "metrics": json.loads(paths["metrics"].read_text()),
            "claims": json.loads(paths["claims"].read_text()),
            "sidecars": {key: json.loads(paths[key].with_suffix(".json").read_text()) for key in FIGURES},
        }
    return done


@pytest.fixture(scope="module")
def page(runs: dict) -> dict:
    return runs["tiny"]


def said(run: dict, fact_id: str) -> str:
    """A fact's sentence, checked well-formed, and asserted to be on the page."""
    fact = checked(run["claims"]["facts"][fact_id], fact_id)
    text = " ".join(fact["text"].split())
    assert text in run["text"] or text in run["html"], f"{fact_id} not on the page: {text}"
    return text


def bound(text: str, after: str) -> float:
    """The number written after ``after`` in ``text`` (plain or ``1.4 × 10⁻¹⁶``) as a float."""
    match = re.search(re.escape(after) + r" ([0-9]+(?:\.[0-9]+)?)(?: × 10([⁻⁰¹²³⁴⁵⁶⁷⁸⁹]+))?", text)
    assert match, (after, text)
    exponent = match.group(2) or "⁰"
    return float(match.group(1)) * 10.0 ** int(exponent.translate(str.maketrans("⁻⁰¹²³⁴⁵⁶⁷⁸⁹", "-0123456789")))


# --------------------------------------------------------------------------------------------------------
# The page as a whole
# --------------------------------------------------------------------------------------------------------


def test_every_figure_is_shown_numbered_with_alt_text(page):
    text = page_text(page["parser"])
    for number, name in enumerate(FIGURES, start=1):
        images = page["parser"].find("img", src=f"../figures/convolutions/{name}.svg")
        assert images and images[0]["alt"] == page["sidecars"][name]["alt"], name
        assert f"Figure {number}. {page['sidecars'][name]['title']}" in text, name
    for number in (1, 2, 3):
        assert f"Table {number}." in text


@pytest.mark.parametrize("name", list(RUNS))
def test_every_fact_is_printed_and_the_title_follows_the_headline(runs, name):
    run = runs[name]
    facts = run["claims"]["facts"]
    assert set(collect(facts)) == set(facts)
    for key in facts:
        if key not in ("headline", "description"):
            said(run, key)
    title = re.search(r"<title>(.*?)</title>", run["html"], re.S).group(1)
    assert html.unescape(title) == facts["headline"]["text"]
    assert html.unescape(re.search(r"<h1>(.*?)</h1>", run["html"], re.S).group(1)) == facts["headline"]["text"]
    description = re.search(r'<meta name="description" content="([^"]*)"', run["html"]).group(1)
    assert html.unescape(description) == facts["description"]["text"]
    assert "n/a" not in run["text"] and "{{" not in run["html"] and "{%" not in run["html"]
    assert not re.search(r"(?<![\d.])\d+\.0\b(?!\.)", run["text"]), "a whole number printed as a float"


def test_the_shapes_table_lists_every_example(page):
    rows = page["parser"].find("tr")
    ids = {row.get("id") for row in rows}
    for example in page["metrics"]["examples"]:
        assert f"shape-{example['name']}" in ids
        assert f"torch-{example['name']}" in ids
    html = page["html"]
    # The lesson's table in the thread's notation; torch's shapes only in the claims check's table.
    lesson = html[html.index('id="table-shapes"') : html.index("</table>", html.index('id="table-shapes"'))]
    torch_table = html[html.index('id="table-torch"') : html.index("</table>", html.index('id="table-torch"'))]
    assert "<td>20×8</td>\n      <td>3×8</td>\n      <td>18</td>" in lesson and "1×8×20" not in lesson
    assert "<td>28×28×6</td>\n      <td>3×3×6</td>\n      <td>26×26</td>" in lesson
    assert "<td>28×28</td>\n      <td>3×3</td>\n      <td>28×28×3</td>" in lesson
    assert "1×8×20" in torch_table and "1×8×3" in torch_table and "<code>conv2d</code>, padding 1" in torch_table
    assert "padding 1, padding 1" not in html


def test_torch_notation_appears_once_in_the_prose(page):
    """Issue 13: the lesson writes shapes the thread's way (20 × 8) and meets examples before tensor layouts and
    cross-correlation; torch's 1 × 8 × 20 appears once, in the section that explains torch's call."""
    html = page["html"]
    lesson = html[html.index('<section id="rule">') : html.index('<section id="torch">')]
    torch_part = html[html.index('<section id="torch">') : html.index('id="claims"')]
    assert "1 × 8 × 20" not in lesson and "20 × 8" in lesson
    assert torch_part.count("1 × 8 × 20") == 1
    assert "cross-correlation" not in lesson and "cross-correlation" in torch_part
    assert lesson.index('id="one-d"') < lesson.index('id="stride"')


def test_prose_numbers_come_from_the_inputs(page):
    text = page["text"]
    m = page["metrics"]
    assert f"test image {m['image']['index']}" in text
    assert f"for {m['signal']['samples']} samples" in text
    assert "the smoothed signal has 36 values and the edge output 38" in text
    assert "The “3 × 3” kernel is really 3 × 3 × 6, with 54 weights" in text
    assert "torch returns 1 × 26 × 26, a single frame" in text
    assert "92.97 % test accuracy" in text
    counts = m["learned"]["kind_counts"]
    verb = "is an edge filter" if counts["edge"] == 1 else "are edge filters"
    assert f"Of the {FILTERS_1} filters, {counts['edge']} {verb}" in text
    assert "edge kernel (-0.5, 0, 0.5)" in text


def test_every_claim_appears_with_its_verdict(page):
    text = page["text"]
    claims = page["claims"]
    for claim in claims["claims"]:
        assert " ".join(claim["measured"].split()) in text and claim["claim"] in text
        assert page["parser"].find("tr", id=f"claim-{claim['id']}")
    assert "All 10 claims are supported by the measurements." in text
    assert "the thread (quoted)" in text and "added by this page" in text


def test_a_claim_that_fails_shows_as_not_supported(page, tmp_path):
    """Rendered again from claims with one verdict flipped (and its facts rebuilt), the page says so."""
    from convolutions.claims import fact_claims_summary

    claims = json.loads(json.dumps(page["claims"]))
    claims["claims"][-1]["verdict"] = "not supported"
    claims["summary"]["supported"] -= 1
    claims["facts"]["claims_summary"] = fact_claims_summary(claims)
    paths = {**page["paths"], "claims": write(tmp_path / "claims.json", claims)}
    parser = parse(render_page(page["results"], paths, tmp_path / "page.html"))
    text = page_text(parser)
    total = claims["summary"]["total"]
    assert f"{total - 1} of {total} claims are supported by the measurements; not supported: formula" in text
    assert "✗ not supported" in " ".join(parser.text)


# --------------------------------------------------------------------------------------------------------
# Each outcome sentence against numbers recomputed from the arrays
# --------------------------------------------------------------------------------------------------------


def clean_wave(run: dict) -> np.ndarray:
    s = run["metrics"]["settings"]
    return np.sin(2 * np.pi * s["mains_hz"] * np.arange(s["signal_samples"]) / s["signal_rate_hz"])


@pytest.mark.parametrize("name", list(RUNS))
def test_the_one_d_sentences_match_the_arrays(runs, name):
    run = runs[name]
    a, s = run["arrays"], run["metrics"]["settings"]
    clean = clean_wave(run)
    w = s["smooth_width"]
    centre = np.convolve(clean, np.full(w, 1 / w), "valid")  # not the truth: only to pick the right window centres
    offset = (w - 1) // 2
    target = clean[offset : offset + len(a["signal_smooth"])]
    if w % 2 == 0:
        target = 0.5 * (target + clean[offset + 1 : offset + 1 + len(a["signal_smooth"])])
    assert len(centre) == len(target)
    before = math.sqrt(np.mean((a["signal"] - clean) ** 2))
    after = math.sqrt(np.mean((a["signal_smooth"] - target) ** 2))
    smoothing = said(run, "smoothing")
    assert smoothing.startswith("Smoothing brings the signal closer") == (after < before), smoothing
    assert f"goes from {before:.3f} (input) to {after:.3f} (smoothed)" in smoothing
    noise = said(run, "edge_noise")
    if s["signal_noise"] == 0:
        assert "slope alone" in noise
    else:
        clean_edge = np.correlate(clean, [-0.5, 0, 0.5], "valid")
        share_in = math.sqrt(np.mean((a["signal"] - clean) ** 2) / np.mean(clean**2))
        share_out = math.sqrt(np.mean((a["signal_edge"] - clean_edge) ** 2) / np.mean(clean_edge**2))
        assert ("amplifies it" in noise) == (share_out > share_in)
        assert f"{100 * share_in:.0f} % in the input to {100 * share_out:.0f} %" in noise
    peak = int(np.argmax(a["signal_edge"])) + 1
    phase = (360 * s["mains_hz"] * peak / s["signal_rate_hz"]) % 360
    phase = phase - 360 if phase >= 180 else phase
    assert ("near an upward zero crossing" in said(run, "edge_peak")) == (abs(phase) <= 45)
    correlation = said(run, "cross_correlation")
    same = np.abs(a["signal_edge"] - np.correlate(a["signal"], a["kernel_edge"], "valid")).max()
    flipped = np.abs(a["signal_edge"] - np.convolve(a["signal"], a["kernel_edge"], "valid")).max()
    if same == 0:
        assert "correlate exactly" in correlation
    else:
        assert bound(correlation, "correlate by at most") >= same
    assert bound(correlation, "by up to") >= flipped


@pytest.mark.parametrize("name", list(RUNS))
def test_the_row_sentence_matches_the_arrays(runs, name):
    run = runs[name]
    row, edge = run["arrays"]["row"], run["arrays"]["row_edge"]
    text = said(run, "row_edges")
    inked = np.flatnonzero(row > 0.1)
    if not inked.size:
        assert "holds no ink" in text
        return
    top, low = int(np.argmax(edge)) + 1, int(np.argmin(edge)) + 1
    assert f"largest value is at column {top}," in text and f"most negative at column {low}," in text
    enters = abs(top - inked[0]) <= 1
    assert f"(its ink starts at column {inked[0]})" in text and f"(its ink ends at column {inked[-1]})" in text
    assert (f"column {top}, where the row enters the garment" in text) == enters
    assert (f"column {top}, away from where the row enters" in text) == (not enters)
    leaves = abs(low - inked[-1]) <= 1
    assert (f"column {low}, where the row leaves it" in text) == leaves


@pytest.mark.parametrize("name", list(RUNS))
def test_the_outline_sentence_matches_the_arrays(runs, name):
    run = runs[name]
    a = run["arrays"]
    ink = a["image"] > 0.1
    inner = ink[1:-1, 1:-1]
    side = inner & (~ink[1:-1, :-2] | ~ink[1:-1, 2:])
    vertical = inner & (~ink[:-2, 1:-1] | ~ink[2:, 1:-1])
    lr, tb = side & ~vertical, vertical & ~side
    text = said(run, "outlines")
    if not lr.any() or not tb.any():
        assert "no outline of both kinds" in text
        return
    sx, sy = np.abs(a["sobel_x_output"]), np.abs(a["sobel_y_output"])
    split = sx[lr].mean() > sx[tb].mean() and sy[tb].mean() > sy[lr].mean()
    assert text.startswith("Sobel x answers mostly on the garment's left and right outlines") == split
    assert f"{sx[lr].mean():.2f} on the garment's left and right outlines against {sx[tb].mean():.2f}" in text


@pytest.mark.parametrize("name", list(RUNS))
def test_the_second_layer_sentence_matches_the_network(runs, name):
    """Issue 12: the CNN's second layer sees the pooled maps. Recomputed here from the weights file by hand."""
    run = runs[name]
    w = load_npz(run["weights"])
    x = torch.from_numpy(((run["arrays"]["image"] - 0.3) / 0.35).astype(np.float32))[None, None]
    y = F.conv2d(x, torch.from_numpy(w["model.conv1.weight"]), padding=1)
    y = F.batch_norm(y, *(torch.from_numpy(w[f"model.norm1.{k}"]) for k in ("running_mean", "running_var", "weight",
                                                                             "bias")), training=False)  # fmt: skip
    pooled = F.max_pool2d(F.relu(y), 2)
    seen = f"{pooled.shape[2]} × {pooled.shape[3]} × {pooled.shape[1]}"
    text = said(run, "second_layer")
    assert seen == "14 × 14 × 8" and f"that layer receives {seen}" in text
    assert "not what the trained CNN's second layer sees" in text
    network = said(run, "network_maps")
    first_maps = F.relu(y).double().numpy()[0]  # float32, as the network runs
    assert np.abs(first_maps[:6] - run["arrays"]["multi_input"]).max() < 1e-4
    assert network.startswith("The first-layer maps used here are the network's own")
    assert 0 < bound(network, "by at most") < 1e-4


@pytest.mark.parametrize("name", list(RUNS))
def test_the_channel_sum_bound_is_never_rounded_down(runs, name):
    run = runs[name]
    a = run["arrays"]
    measured = np.abs(a["multi_output"] - a["multi_parts"].sum(axis=0)).max()
    text = said(run, "channel_sum")
    if measured == 0:
        assert "exactly" in text
    else:
        assert bound(text, "by at most") >= measured


@pytest.mark.parametrize("name", list(RUNS))
def test_the_volume_sentences_match_the_arrays(runs, name):
    """Issue 12: "stays in the picture" only when every frame keeps the garment's ink; issue 13: the output
    frames that respond are those whose window of frames changes."""
    run = runs[name]
    a, depth = run["arrays"], run["metrics"]["depth_condition"]
    video, out = a["volume_input"], a["volume_output"]
    ink = a["image"].sum()
    ink_text = said(run, "volume_ink")
    if ink == 0:
        assert "no garment" in ink_text
    else:
        shares = video.reshape(len(video), -1).sum(axis=1) / ink
        if shares.min() >= 0.995:
            assert ink_text.startswith("The garment stays in the picture")
        else:
            assert ink_text.startswith("The garment does not stay in the picture")
            first = int(np.argmax(shares < 0.995)) + 1
            assert f"from frame {first} on" in ink_text
            assert ("the last frame is empty" in ink_text) == (shares[-1] == 0)
    peaks = np.abs(out).reshape(len(out), -1).max(axis=1)
    responding = [j + 1 for j in range(len(out)) if peaks[j] > 1e-9]
    silent = [j + 1 for j in range(len(out)) if peaks[j] <= 1e-9]
    text = said(run, "volume_response")
    if not responding:
        assert "every output frame is 0" in text or text.startswith("No output frame responds")
    elif not silent:
        assert text.startswith(f"Every output frame responds (all {len(out)})")
    else:

        def listed(frames):
            if len(frames) > 2 and frames == list(range(frames[0], frames[-1] + 1)):
                return f"{frames[0]} to {frames[-1]}"
            return ", ".join(map(str, frames[:-1])) + (f" and {frames[-1]}" if len(frames) > 1 else str(frames[0]))

        word = "frame " if len(responding) == 1 else "frames "
        assert text.startswith(f"Output {word}{listed(responding)} respond"), text
        assert listed(silent) in text
    # the figure labels the same frames
    assert run["sidecars"]["volume_3d"]["responding_frames"] == responding
    moved_into = [t + 2 for t, moved in enumerate(depth["moves"]) if moved]
    motion = said(run, "volume_motion")
    if ink == 0:
        assert "blank" in motion
    elif depth["shift_px"] == 0:
        assert "standing still in every frame" in motion
    else:
        assert "into each of frame" in motion and str(moved_into[-1]) in motion


def test_the_runs_cover_the_outcomes(runs):
    """The runs were chosen to reach different sentences; if a change makes them alike, this test says so."""
    facts = {name: run["claims"]["facts"] for name, run in runs.items()}
    assert facts["leaves"]["volume_ink"]["text"].startswith("The garment does not stay in the picture")
    assert "left the picture" in facts["leaves"]["volume_response"]["text"]
    assert "With no noise" in facts["leaves"]["smoothing"]["text"]
    assert "holds no ink" in facts["blank"]["row_edges"]["text"]
    assert "no outline of both kinds" in facts["blank"]["outlines"]["text"]
    assert "Every frame is empty" in facts["blank"]["volume_response"]["text"]
    assert "away from where the row enters the garment" in facts["two_part"]["row_edges"]["text"]
    # still into frames 2 and 3, then moving into 4 to 6: the 3-frame window of output 1 holds no move
    assert facts["two_part"]["volume_response"]["text"] == (
        "Output frames 2 to 4 respond: each of their windows of 3 frames holds a move. Output frame 1 is 0: in its "
        "window the garment stands still."
    )
    assert facts["two_part"]["volume_ink"]["text"].startswith("The garment stays in the picture")
    assert facts["leaves"]["row_edges"]["holds"] and facts["leaves"]["outlines"]["holds"]


@pytest.mark.parametrize("name", list(RUNS))
def test_the_stride_padding_dilation_sentence_matches_torch(runs, name):
    run = runs[name]
    text = said(run, "stride_padding_dilation")
    x = torch.zeros(1, 1, 7, 7, dtype=torch.float64)
    k = torch.ones(1, 1, 3, 3, dtype=torch.float64)
    sizes = [F.conv2d(x, k, stride=s, padding=p, dilation=d).shape[-1] for s, p, d in
             ((1, 0, 1), (2, 0, 1), (1, 1, 1), (1, 0, 2))]  # fmt: skip
    assert sizes == [5, 3, 7, 3]
    assert f"torch returns {sizes[0]} × {sizes[0]} for the plain case, {sizes[1]} × {sizes[1]} with stride 2" in text
    assert f"{sizes[2]} × {sizes[2]} with padding 1" in text and f"{sizes[3]} × {sizes[3]} with dilation 2" in text
    reads = run["arrays"]["spd_reads"]
    cols = [np.nonzero(reads[1, j])[1].min() for j in (0, 1)]
    assert f"reads cells {cols[1] - cols[0]} columns to the right" in text


@pytest.mark.parametrize("name", list(RUNS))
def test_the_counts_match_the_arrays(runs, name):
    run = runs[name]
    a = run["arrays"]
    flat = a["learned_filters"].reshape(len(a["learned_filters"]), -1)
    balance = np.abs(flat.sum(axis=1)) / np.abs(flat).sum(axis=1)
    edge = int((balance < 0.25).sum())
    verb = "is an edge filter" if edge == 1 else "are edge filters"
    assert f"Of the {len(flat)} filters, {edge} {verb}" in said(run, "learned")
    k = len(a["stack_maps"])
    assert f"28 × 28 × {k} output" in said(run, "stack")
    formula = said(run, "formula")
    check = run["metrics"]["formula_check"]
    assert (f"in all {check['cases']:,} cases" in formula) == (check["matched"] == check["cases"])


# --------------------------------------------------------------------------------------------------------
# The lesson (issue 13) and the widgets' hooks (issue 14)
# --------------------------------------------------------------------------------------------------------


def between(html: str, start: str, end: str) -> str:
    begin = html.index(start)
    return html[begin : html.index(end, begin)]


@pytest.mark.parametrize("name", list(RUNS))
def test_the_lesson_opens_with_takeaways_and_ends_with_exercises(runs, name):
    run = runs[name]
    html = run["html"]
    takeaways = between(html, '<section class="takeaways"', "</section>")
    assert takeaways.count("<li>") == 5
    for key in ("takeaway_rule", "takeaway_positions", "takeaway_channels", "takeaway_formula", "takeaway_depth"):
        assert said(run, key) in plain(takeaways), key
    assert '<span class="label">Before you start:</span>' in html
    # Examples come before the exercises, the glossary, the references and the answers, in that order.
    order = [html.index(mark) for mark in ('id="one-d"', 'id="exercises"', 'id="glossary"', 'id="references"',
                                            'id="answers"')]  # fmt: skip
    assert order == sorted(order)
    exercises = between(html, '<section class="exercises"', "</section>")
    assert exercises.count("<details") == 5
    # The thread's public copy and the formula's reference are linked; every term used is defined.
    references = between(html, '<section class="references"', "</section>")
    assert "https://threadreaderapp.com/thread/1382363953297117184.html" in references
    assert "10.48550/arXiv.1603.07285" in references
    glossary = between(html, '<section class="glossary"', "</section>")
    for word in ("kernel", "channel", "stride", "padding", "dilation", "cross-correlation", "feature map"):
        assert f"<dt>{word}</dt>" in glossary, word
    # The claims check, the formula check and the provenance are audits, each with its one-line verdict.
    for audit_id, fact_id in (("claims", "claims_summary"), ("formula-check", "formula"), ("provenance", "provenance")):
        block = between(html, f'<section class="audit" id="{audit_id}"', '<div class="audit-body">')
        assert said(run, fact_id) in plain(block), audit_id
    # The widgets' hooks sit beside the figures they animate, hidden until their script mounts them.
    for hook, after in (("conv-slide-1d", "fig-signal_1d"), ("conv-slide-2d", "fig-edges_2d"),
                        ("conv-shape", "fig-stride_padding_dilation")):  # fmt: skip
        assert html.index(f'id="{after}"') < html.index(f'data-widget="{hook}"')
        assert f'data-widget="{hook}" role="group" aria-labelledby="widget-{hook}-title" hidden>' in html


def plain(fragment: str) -> str:
    """The text of an HTML fragment, entities decoded and white space squashed."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", fragment)).split()).replace(" .", ".")


@pytest.mark.parametrize("name", list(RUNS))
def test_the_answers_match_the_arrays(runs, name):
    """The exercises' answers, against numbers read from the arrays and from torch here."""
    run = runs[name]
    a, m = run["arrays"], run["metrics"]
    n, k = len(a["signal"]), len(a["kernel_smooth"])
    assert len(a["signal_smooth"]) == n - k + 1
    assert said(run, "answer_smoothing").startswith(f"{n - k + 1} values: a window of {k} samples fits at {n} − {k}")
    weights = a["multi_kernel"]
    answer = said(run, "answer_multichannel")
    assert f"it has {weights.size} weights" in answer
    side = a["multi_output"].shape[0]
    assert f"{side} × {side} without padding and {a['multi_output_padded'].shape[0]} × " in answer
    frames, depth = a["volume_input"].shape[0], a["volume_kernel"].shape[0]
    assert a["volume_output"].shape[0] == frames - depth + 1
    assert said(run, "answer_volume").startswith(f"{frames} − {depth} + 1 = {frames - depth + 1} output frames")
    stride = F.conv2d(torch.zeros(1, 1, 7, 7), torch.ones(1, 1, 3, 3), stride=2).shape[-1]
    assert said(run, "answer_stride").endswith(f"torch returned {stride} × {stride}.")
    layer = m["second_layer"]
    assert said(run, "answer_second_layer").startswith(" × ".join(str(v) for v in layer["input_extent"]))
