"""The site: the index's cards, thumbnails and rule graph, escaping, and (tier ``site``) vnu + axe-core checks.

The default run covers what needs no browser: publish/rulegraph.py on a tiny workflow and on hand-made graphs, the index
template with thumbnails, and Jinja2's autoescaping of a hostile site title (tests/test_widgets.py covers the widgets,
the phone figures and the site check's own measures). ``make test-site`` (marker ``site``) checks the real built pages
in headless Chromium, light and dark, at a phone's and a desktop's width, and replays the widgets' checks: see
tests/site/check_site.py (``SITE_RESULTS=<folder>/results``: the site of another working directory).
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

import pytest

from conftest import ROOT, run_script
from kit.cli import PipelineError

sys.path.insert(0, str(ROOT / "tests" / "site"))

import check_site

from publish import render_html as render_html
from publish import rulegraph as rulegraph

HOSTILE = "<script>alert(1)</script>"
HAS_DOT = shutil.which("dot") is not None

#: Snakemake's --rulegraph output for a five-rule workflow (the format it prints: numbered nodes, then edges).
SAMPLE_DOT = """digraph snakemake_dag {
    graph[bgcolor=white, margin=0];
	0[label = "all", color = "0.00 0.6 0.85", style="rounded"];
	1[label = "report_html", color = "0.59 0.6 0.85", style="rounded"];
	2[label = "fig_a_one", color = "0.45 0.6 0.85", style="rounded"];
	3[label = "fig_a_two", color = "0.47 0.6 0.85", style="rounded"];
	4[label = "prepare", color = "0.54 0.6 0.85", style="rounded"];
	1 -> 0
	2 -> 1
	3 -> 1
	4 -> 2
	4 -> 3
	4 -> 1
	4 -> 0
}
"""

TINY_SNAKEFILE = """
rule all:
    input: "c.txt"

rule a:
    output: "a.txt"
    shell: "echo a > {output}"

rule fig_x:
    input: "a.txt"
    output: "b.txt"
    shell: "cp {input} {output}"

rule index:
    input: "a.txt", "b.txt"
    output: "c.txt"
    shell: "cat {input} > {output}"
"""


# --------------------------------------------------------------------------------------------------------
# publish/rulegraph.py
# --------------------------------------------------------------------------------------------------------


def test_parse_reduce_group_and_describe_a_rulegraph() -> None:
    rules, edges = rulegraph.parse_rulegraph(SAMPLE_DOT)
    assert rules == ["all", "fig_a_one", "fig_a_two", "prepare", "report_html"]
    assert len(edges) == 7 and ("prepare", "all") in edges
    reduced = rulegraph.transitive_reduction(rules, edges)
    # prepare -> report_html and prepare -> all are implied by longer paths; the rest stay.
    assert sorted(reduced) == [
        ("fig_a_one", "report_html"),
        ("fig_a_two", "report_html"),
        ("prepare", "fig_a_one"),
        ("prepare", "fig_a_two"),
        ("report_html", "all"),
    ]
    # The two figure rules share their upstream and downstream rules, so they share one box.
    assert rulegraph.group_alike(rules, reduced)["fig_a_one"] == ["fig_a_one", "fig_a_two"]
    assert rulegraph.longest_chain(rules, edges) == ["prepare", "fig_a_one", "report_html", "all"]
    info = rulegraph.describe(rules, edges)
    assert (info["n_rules"], info["n_edges"]) == (5, 7)
    assert info["rules"] == {
        "computation": ["prepare"],
        "figure": ["fig_a_one", "fig_a_two"],
        "publishing": ["all", "report_html"],
    }
    assert "5 Snakemake rules" in info["alt"] and "prepare → fig_a_one → report_html → all" in info["alt"]
    dot = rulegraph.styled_dot(rules, edges, "TB")
    assert '"fig_a_one" [label="fig_a_one\\lfig_a_two\\l"' in dot and '"fig_a_two" [' not in dot
    assert dot.count("->") == 3  # prepare -> figures -> report_html -> all


def test_rulegraph_rejects_bad_graphs_and_missing_dot() -> None:
    with pytest.raises(PipelineError, match="no rules"):
        rulegraph.parse_rulegraph("digraph {}")
    with pytest.raises(PipelineError, match="unknown node"):
        rulegraph.parse_rulegraph('digraph {\n 0[label = "a"];\n 0 -> 7\n}')
    with pytest.raises(PipelineError, match="cycle"):
        rulegraph.longest_chain(["a", "b"], [("a", "b"), ("b", "a")])
    with pytest.raises(PipelineError, match=r"--dot no-such-dot-here.*apt-get install graphviz"):
        rulegraph.find_dot("no-such-dot-here")


def test_rulegraph_cli_errors_name_the_flag_or_the_file(tmp_path) -> None:
    result = run_script(
        "publish/rulegraph.py", "--snakefile", tmp_path / "none", "--output", tmp_path / "g.svg", check=False
    )
    assert result.returncode == 1 and result.stderr.startswith(f"error: {tmp_path / 'none'}: file not found")
    snakefile = ("--snakefile", ROOT / "workflow" / "Snakefile")
    result = run_script("publish/rulegraph.py", *snakefile, "--configfile", tmp_path, "--output", tmp_path / "g.svg",
                        check=False)  # fmt: skip
    assert result.returncode == 1 and result.stderr.startswith(f"error: {tmp_path}: is a directory")
    result = run_script("publish/rulegraph.py", "--output", tmp_path / "g.svg", check=False)
    assert result.returncode == 1 and "required: --snakefile" in result.stderr, "no default: the rule passes it"
    result = run_script("publish/rulegraph.py", *snakefile, "--output", tmp_path / "g.png", check=False)
    assert result.returncode == 1 and "must end in .svg" in result.stderr
    result = run_script("publish/rulegraph.py", *snakefile, "--dot", "no-such-dot", "--output", tmp_path / "g.svg",
                        check=False)  # fmt: skip
    assert result.returncode == 1 and "Graphviz" in result.stderr
    assert not (tmp_path / "g.svg").exists()


def test_rulegraph_of_a_broken_snakefile_fails_in_one_line(tmp_path) -> None:
    snakefile = tmp_path / "Snakefile"
    snakefile.write_text("rule a:\n    output: 'a.txt'\n    shell: 'true'\n    bogus_keyword: 1\n", encoding="utf-8")
    result = run_script("publish/rulegraph.py", "--snakefile", snakefile, "--output", tmp_path / "g.svg", check=False)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.startswith(f"error: snakemake --rulegraph failed for {snakefile}")
    assert result.stderr.count("\n") == 1, result.stderr
    assert not (tmp_path / "g.svg").exists()


@pytest.mark.skipif(not HAS_DOT, reason="Graphviz's dot is not installed (make system-packages)")
def test_rulegraph_of_a_tiny_workflow_is_deterministic_and_ignores_results(tmp_path) -> None:
    snakefile = tmp_path / "Snakefile"
    snakefile.write_text(TINY_SNAKEFILE, encoding="utf-8")
    first, second = tmp_path / "a" / "graph.svg", tmp_path / "b" / "graph.svg"
    run_script("publish/rulegraph.py", "--snakefile", snakefile, "--output", first)
    (tmp_path / "a.txt").write_text("built\n")  # a result beside the Snakefile must not change the graph
    rulegraph.main(["--snakefile", str(snakefile), "--output", str(second), "--sidecar", str(second) + ".json"])
    assert first.read_bytes() == second.read_bytes()
    assert first.with_suffix(".json").read_bytes() == Path(str(second) + ".json").read_bytes()
    svg = first.read_text(encoding="utf-8")
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg
    for rule in ("all", "a", "fig_x", "index"):
        assert f">{rule}</text>" in svg
    info = json.loads(first.with_suffix(".json").read_text(encoding="utf-8"))
    assert (info["n_rules"], info["n_edges"]) == (4, 4)
    assert info["longest_chain"] == ["a", "fig_x", "index", "all"]
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == ["graph.json", "graph.svg"]  # no temp files left


# --------------------------------------------------------------------------------------------------------
# The index and escaping
# --------------------------------------------------------------------------------------------------------


def write_figure(folder: Path, name: str, title: str, alt: str) -> Path:
    """A tiny SVG with its sidecar, as a figure script would leave them."""
    folder.mkdir(parents=True, exist_ok=True)
    svg = folder / f"{name}.svg"
    svg.write_text('<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>', encoding="utf-8")
    (folder / f"{name}.json").write_text(json.dumps({"title": title, "alt": alt}), encoding="utf-8")
    return svg


def test_index_shows_thumbnails_rulegraph_and_escapes_a_hostile_title(tmp_path) -> None:
    results = tmp_path / "results"
    thumb = write_figure(results / "figures" / "pca", "variance", "80 % needs 24", "Bars of 784 variances <b>")
    graph = write_figure(results / "figures" / "site", "rulegraph", "The pipeline's 3 rules", "Graph of 3 rules")
    explainers = [
        {"name": "pca", "title": f"PCA {HOSTILE}", "summary": "What PCA does.", "html": "reports/pca.html"}
        | {"pdf": "reports/pca.pdf"},
        {"name": "bare", "title": "No thumbnail", "summary": "S.", "html": "reports/b.html", "pdf": "reports/b.pdf"},
    ]
    out = results / "index.html"
    render_html.main(
        [
            *("--template", "index.html.j2", "--output", str(out), "--explainers", json.dumps(explainers)),
            *("--figure", f"pca={thumb}", "--figure", f"rulegraph={graph}", "--site-title", HOSTILE),
            *("--site-author", "Tester"),
        ]
    )
    html = out.read_text(encoding="utf-8")
    assert HOSTILE not in html, "the hostile title is escaped (the page's own scripts are the only <script>s)"
    assert html.count("&lt;script&gt;alert(1)&lt;/script&gt;") >= 4  # <title>, header, h1, a card title
    assert 'src="figures/pca/variance.svg" alt="Bars of 784 variances &lt;b&gt;"' in html
    assert html.count('class="thumb"') == 1  # the explainer without a key figure gets no broken image
    assert 'id="fig-rulegraph"' in html and 'src="figures/site/rulegraph.svg" alt="Graph of 3 rules"' in html
    assert "The pipeline&#39;s 3 rules" in html
    assert '<a href="#how-made">' in html and 'href="index.html" aria-current="page"' in html


def test_a_page_escapes_a_hostile_title_and_links_home(tmp_path) -> None:
    templates = tmp_path / "templates"
    shutil.copytree(ROOT / "templates", templates)
    (templates / "tiny.html.j2").write_text(
        '{% extends "base.html.j2" %}{% block title %}A page{% endblock %}'
        '{% block content %}{% from "macros.html.j2" import table %}'
        '{{ table("Caption <i>", ["a"], [["1"]], number=1) }}{% endblock %}',
        encoding="utf-8",
    )
    out = tmp_path / "results" / "reports" / "tiny.html"
    run_script(
        "publish/render_html.py", "--template", "tiny.html.j2", "--templates-dir", templates, "--output", out,
        "--site-title", HOSTILE, "--site-author", "Tester",
    )  # fmt: skip
    html = out.read_text(encoding="utf-8")
    assert HOSTILE not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert '<a href="../index.html">&lt;script&gt;' in html
    # The table's scrolling wrapper takes the focus and is named by its caption (markup stripped, escaped).
    assert 'role="group" tabindex="0"' in html and 'aria-label="Table 1: Caption &lt;i&gt;"' in html


# --------------------------------------------------------------------------------------------------------
# Tier "site": the real pages in headless Chromium (make test-site)
# --------------------------------------------------------------------------------------------------------


@pytest.mark.site
def test_every_page_is_valid_accessible_and_screenshotted() -> None:
    # SITE_RESULTS: the results folder of another working directory (make test-site SITE_DIR=...).
    results = Path(os.environ.get("SITE_RESULTS") or ROOT / "results").resolve()
    screenshots = results / "screenshots"
    try:
        report = check_site.check_site(results, ROOT / ".tools", screenshots)
    except check_site.SiteCheckError as exc:
        pytest.fail(str(exc))
    assert report["problems"] == [], "\n".join(report["problems"])
    assert len(report["pages"]) >= 5  # the index and at least the four explainers
    for page in report["pages"]:
        for width in check_site.WIDTHS:
            for scheme in ("", "-dark"):  # light and dark mode
                shot = screenshots / f"{Path(page).stem}-{width}{scheme}.png"
                assert shot.is_file() and shot.stat().st_size > 10_000, shot
    replayed = [entry["widgets"]["replayed"] for entry in report["browser"] if entry.get("widgets")]
    assert len(replayed) == len(report["widget_checks"]) * len(check_site.WIDTHS) * len(check_site.SCHEMES)
    print(json.dumps(report["seconds"]))
    for weight in report["weights"]:  # each page's script and widget data, within 150 KB (gzip) and 3 MB
        print(json.dumps(weight))
