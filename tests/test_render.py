"""Tests for publish/render_html.py (templates included) and publish/render_pdf.py: page properties, not snapshots."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

from conftest import ROOT, run_script
from kit.cli import PipelineError
from kit.facts import state

FIGURES = (
    "variance_bar", "variance_cumulative", "components", "variation_modes", "reconstructions", "accuracy",
    "projection",
)  # fmt: skip
VOID_TAGS = {"meta", "img", "br", "hr", "link", "input", "source", "wbr", "col", "area", "base", "embed", "track"}


# --------------------------------------------------------------------------------------------------------
# Hand-made inputs: what the pipeline writes, small and with recognisable numbers
# --------------------------------------------------------------------------------------------------------


def spectrum(first: float = 0.2904) -> list[float]:
    """784 explained variance ratios: four leading ones like the real data, then a geometric tail."""
    head = [first, 0.1776, 0.0602, 0.0496]
    rest = 1.0 - sum(head) - 1e-6
    tail = [0.5**i for i in range(1, 781)]
    scale = rest / sum(tail)
    return head + [t * scale for t in tail]


def metrics(first: float = 0.2904) -> dict:
    ratios = spectrum(first)
    cumulative = [sum(ratios[: i + 1]) for i in range(len(ratios))]
    return {
        "n_samples": 60000,
        "n_features": 784,
        "explained_variance_ratio": ratios,
        "cumulative_ratio": cumulative,
        "thresholds": {"0.8": 24, "0.9": 84, "0.95": 187, "0.99": 459},
        "sign_rule": "Each component's largest weight is made positive.",
        "solver": "Eigenvectors of the pixel covariance matrix.",
    }


#: The facts the PCA page prints from its claims file (besides its headline and description).
PCA_FACT_KEYS = (
    "cloud_shape", "first_shares", "thresholds", "last_step", "class_ends", "tops_and_footwear", "faint_shoe",
    "footwear_correlation", "train_vs_test", "classifier_enough", "rule_of_thumb", "two_scores", "redraw",
    "claims_summary", "key_variance", "key_component", "key_enough", "key_redraw", "answer_storage", "answer_spread",
    "answer_enough",
)  # fmt: skip

CLAIMS = {
    "claims": [
        {
            "id": "component_1",
            "claim": "Component 1 explains about 29 % of the variance.",
            "source_quote": "the components show around 29, 18, 6, and 5 explained variance",
            "claimed": 29,
            "measured": 29.04,
            "unit": "%",
            "tolerance": 1.5,
            "difference": 0.04,
            "verdict": "supported",
            "rule": "Supported within 1.5 percentage points.",
        },
        {
            "id": "total_4",
            "claim": "Components 1-4 explain about 58 % <b>together</b>.",
            "source_quote": "about 58% of the variance by just 4 components",
            "claimed": 58,
            "measured": 55.1,
            "unit": "%",
            "tolerance": 1.5,
            "difference": -2.9,
            "verdict": "not supported",
            "rule": "Supported within 1.5 percentage points.",
        },
        {
            "id": "component_1_shirt_and_shoe",
            "claim": "Component 1 looks like a shirt, with a faint shoe shape.",
            "source_quote": "a very transparent shape for the shoe",
            "claimed": "shirt-like, with a faint shoe shape",
            "measured": "largest projections: Coat, Pullover (tops); smallest: Sandal, Sneaker (footwear)",
            "unit": None,
            "tolerance": None,
            "difference": None,
            "verdict": "supported",
            "rule": "Tops at one end of component 1, footwear at the other.",
        },
    ],
    "class_projections": [
        {"class": "Coat", "label": 4, "projection": 4.15, "test_projection": 4.2468},
        {"class": "Pullover", "label": 2, "projection": 3.38, "test_projection": 3.276},
        {"class": "Sneaker", "label": 7, "projection": -5.78, "test_projection": -5.7756},
        {"class": "Sandal", "label": 5, "projection": -5.88, "test_projection": -5.8644},
    ],
    "tolerance_pp": 1.5,
    "summary": {"supported": 2, "total": 3},
    # Hand-made facts with recognisable sentences (the real ones are checked against their numbers in
    # test_pca_claims.py); every one the page prints must appear on it.
    "facts": {
        "headline": state("How many components does a picture need? PCA on Fashion-MNIST"),
        "description": state("PCA of 60,000 images: the thread's 4 components explain 57.8 % of the variance."),
        **{key: state(f"Fact {key} of this run.") for key in PCA_FACT_KEYS},
    },
}

CLASSIFICATION = {"method": "Linear discriminant analysis on the first k scores.", "n_train": 60000, "n_test": 10000}

DATASET = {
    "n_train": 60000,
    "n_test": 10000,
    "available": {"train": 60000, "test": 10000},
    "classes": ["T-shirt/top", "Trouser"],
    "class_counts": {"train": [6000, 6000], "test": [1000, 1000]},
    "files": {},
}

PROVENANCE = {
    "explainer": "pca",
    "data": [
        {"file": "train-images-idx3-ubyte.gz", "sha256": "c59f" + "0" * 60, "bytes": 47040016, "source": "/data"},
    ],
    "settings": {"pca": {"n_components": 4, "reconstruction_counts": [1, 24, 187]}},
    "packages": {"python": "3.11.7", "numpy": "2.4.6", "torch": None},
    "platform": "Linux x86_64 (CPython)",
    "git_commit": "0123456789abcdef0123456789abcdef01234567",
    "steps": [
        {"step": "pca", "seconds": 14.73, "max_rss_mb": 1310.9},
        {"step": "figures", "seconds": 83.0, "max_rss_mb": None},
    ],
}

#: The facts each figure's sidecar holds for the page (hand-made sentences, like the claims' facts).
SIDECAR_FACTS = {
    "variance_bar": ("notice",),
    "variance_cumulative": ("notice", "thread_mark"),
    "components": ("notice",),
    "variation_modes": ("notice",),
    "reconstructions": ("notice", "first_count", "last_count", "error_trend"),
    "accuracy": ("notice",),
    "projection": ("notice", "centres", "tops_overlap"),
}

SIDECAR_EXTRAS = {
    "variance_cumulative": {"thresholds": {"0.8": 24, "0.9": 84}, "linear_components": 12, "thread_components": 4},
    "components": {"outlines_drawn": {"top": True, "shoe_only": True}},
    "variation_modes": {"spread": 2.0},
    "reconstructions": {
        "counts": [1, 24, 187],
        "variance_retained": [0.2912, 0.80, 0.95],
        "mse": [0.0614, 0.0173, 0.0044],
    },
    "accuracy": {"within_pp": 1.0},
    "projection": {"centroids": {"Sandal": [-5.9, 0.5], "Coat": [4.2, 0.8], "Trouser": [0.1, -5.3], "Bag": [0.2, 3.5]}},
}

SVG = (
    '<svg xmlns="http://www.w3.org/2000/svg" width="120" height="80" viewBox="0 0 120 80">'
    '<rect width="120" height="80" fill="#ccc"/></svg>\n'
)


def write(path: Path, data: object) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


@pytest.fixture
def report_inputs(tmp_path: Path) -> dict:
    """Context files and fake figures laid out like results/, plus the flags that render the PCA page."""
    results = tmp_path / "results"
    contexts = {
        "metrics": write(results / "pca" / "metrics.json", metrics()),
        "claims": write(results / "pca" / "claims.json", CLAIMS),
        "classification": write(results / "pca" / "classification.json", CLASSIFICATION),
        "dataset": write(results / "data" / "fashion-mnist.json", DATASET),
        "provenance": write(results / "provenance" / "pca.json", PROVENANCE),
    }
    figures = {}
    for name in FIGURES:
        svg = results / "figures" / "pca" / f"{name}.svg"
        svg.parent.mkdir(parents=True, exist_ok=True)
        svg.write_text(SVG, encoding="utf-8")
        sidecar = {
            "title": f"Title of {name}",
            "alt": f"Alt text of {name} with numbers",
            **{key: state(f"Fact {name}.{key} of this run.") for key in SIDECAR_FACTS[name]},
            **SIDECAR_EXTRAS.get(name, {}),
        }
        write(svg.with_suffix(".json"), sidecar)
        figures[name] = svg
    output = results / "reports" / "pca.html"
    return {"results": results, "contexts": contexts, "figures": figures, "output": output}


def pca_args(inputs: dict, output: Path | None = None, site_title: str = "Explainers") -> list[str]:
    args = ["--template", "pca.html.j2", "--output", str(output or inputs["output"])]
    args += [f"--context={key}={path}" for key, path in inputs["contexts"].items()]
    args += [f"--figure={name}={path}" for name, path in inputs["figures"].items()]
    return [*args, "--site-title", site_title, "--site-author", "Tester"]


#: The site flags every page needs (the workflow passes them from the config's report section).
SITE = ("--site-title", "Explainers", "--site-author", "Tester")


def render(*args: str | Path) -> None:
    """Run render_html's ``main`` in-process, which is quicker than a fresh interpreter for each page."""
    from publish import render_html

    render_html.main([str(arg) for arg in args])


def render_fails(*args: str | Path) -> str:
    """Run render_html's ``main`` in-process, expect a ``PipelineError`` and return its message."""
    with pytest.raises(PipelineError) as excinfo:
        render(*args)
    return str(excinfo.value)


class PageParser(HTMLParser):
    """Collects tags, attributes and text, and checks that every non-void element is closed in order."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.tags: list[tuple[str, dict]] = []
        self.text: list[str] = []
        self.doctype: str | None = None

    def handle_decl(self, decl: str) -> None:
        self.doctype = decl

    def handle_starttag(self, tag: str, attrs: list) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag not in VOID_TAGS:
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        assert self.stack and self.stack[-1] == tag, f"</{tag}> closes <{self.stack[-1] if self.stack else None}>"
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    def find(self, tag: str, **attrs: str) -> list[dict]:
        return [a for t, a in self.tags if t == tag and all(a.get(k) == v for k, v in attrs.items())]


def parse(html: str) -> PageParser:
    parser = PageParser()
    parser.feed(html)
    parser.close()
    assert parser.stack == [], f"unclosed elements: {parser.stack}"
    return parser


def page_text(parser: PageParser) -> str:
    return " ".join(" ".join(parser.text).split())


# --------------------------------------------------------------------------------------------------------
# publish/render_html.py: the PCA page
# --------------------------------------------------------------------------------------------------------


def test_pca_page_is_well_formed_and_has_metadata(report_inputs) -> None:
    run_script("publish/render_html.py", *pca_args(report_inputs))
    html = report_inputs["output"].read_text(encoding="utf-8")
    page = parse(html)
    assert page.doctype and page.doctype.lower() == "doctype html"
    assert page.find("html", lang="en")
    assert page.find("meta", name="author")[0]["content"] == "Tester"
    description = page.find("meta", name="description")[0]["content"]
    assert "57.8 %" in description and "\n" not in description
    assert page.find("meta", name="viewport")
    assert page.find("a", href="../index.html"), "header links back to the index"
    assert "<style>" in html and ".site-header" in html, "style.css is inlined"
    assert "@bottom-center" not in html and "string-set" not in html, "the print sheet is added only for the PDF"


def test_figures_are_numbered_referenced_by_relative_path_and_captioned(report_inputs) -> None:
    render(*pca_args(report_inputs))
    html = report_inputs["output"].read_text(encoding="utf-8")
    page = parse(html)
    images = page.find("img")
    assert [img["src"] for img in images] == [f"../figures/pca/{name}.svg" for name in FIGURES]
    assert [img["alt"] for img in images] == [f"Alt text of {name} with numbers" for name in FIGURES]
    assert "<svg" not in html, "figures are referenced, not inlined"
    for number, name in enumerate(FIGURES, start=1):
        assert page.find("figure", id=f"fig-{name}")
        assert re.search(rf"Figure {number}\.</span> Title of {name}\.", html), name
        assert page.find("a", href=f"#fig-{name}"), f"no cross-reference to figure {number}"
    # Every image actually resolves from the page's folder.
    for img in images:
        assert (report_inputs["output"].parent / img["src"]).is_file()


def test_every_claim_appears_with_its_verdict_and_the_summary(report_inputs) -> None:
    render(*pca_args(report_inputs))
    page = parse(report_inputs["output"].read_text(encoding="utf-8"))
    text = page_text(page)
    for claim in CLAIMS["claims"]:
        assert page.find("tr", id=f"claim-{claim['id']}"), claim["id"]
    assert "Fact claims_summary of this run." in text  # the summary sentence is the claims check's fact
    assert text.count("✓ supported") == 2 and text.count("✗ not supported") == 1
    assert "29.04 %" in text and "55.10 %" in text
    assert "largest projections: Coat, Pullover (tops)" in text
    # Each distinct rule is listed once under the table and referred to from its rows.
    assert page.find("li", id="rule-1") and page.find("li", id="rule-2") and not page.find("li", id="rule-3")
    assert len(page.find("a", href="#rule-1")) == 2 and len(page.find("a", href="#rule-2")) == 1


def test_the_page_states_results_only_through_its_facts(report_inputs) -> None:
    """Every fact of the claims file and the sidecars is printed, and a plain string in a fact's place is refused."""
    render(*pca_args(report_inputs))
    html = report_inputs["output"].read_text(encoding="utf-8")
    page = parse(html)
    text = page_text(page)
    for key, fact in CLAIMS["facts"].items():
        if key == "description":
            assert page.find("meta", name="description")[0]["content"] == fact["text"]
        else:
            assert fact["text"] in text, key
    for name, keys in SIDECAR_FACTS.items():
        for key in keys:
            assert f"Fact {name}.{key} of this run." in text, f"{name}.{key}"
    assert page.find("h1") and "<h1>How many components does a picture need? PCA on Fashion-MNIST</h1>" in html
    broken = json.loads(json.dumps(CLAIMS))
    broken["facts"]["faint_shoe"] = "A shoe shows, typed by hand."
    write(report_inputs["contexts"]["claims"], broken)
    assert "expected a fact" in render_fails(*pca_args(report_inputs))


def test_optional_facts_are_left_out_when_a_run_has_none(report_inputs) -> None:
    """Without 0.9 and 0.95 thresholds there is no rule-of-thumb fact, without k = 2 no two-score fact, and with one
    reconstruction count no first-count sentence: the page leaves them out instead of failing."""
    trimmed = json.loads(json.dumps(CLAIMS))
    for key in ("rule_of_thumb", "two_scores", "last_step"):
        del trimmed["facts"][key]
    write(report_inputs["contexts"]["claims"], trimmed)
    sidecar = report_inputs["figures"]["reconstructions"].with_suffix(".json")
    one = {**json.loads(sidecar.read_text()), "counts": [24], "variance_retained": [0.8], "mse": [0.0173]}
    write(sidecar, one)
    render(*pca_args(report_inputs))
    text = page_text(parse(report_inputs["output"].read_text(encoding="utf-8")))
    assert "Fact rule_of_thumb" not in text and "Fact two_scores" not in text
    assert "Fact reconstructions.first_count" not in text and "Fact reconstructions.last_count of this run." in text


def test_prose_numbers_come_from_the_context(report_inputs, tmp_path) -> None:
    """Change a measured number and the prose follows: nothing is typed into the template."""
    render(*pca_args(report_inputs))
    before = page_text(parse(report_inputs["output"].read_text(encoding="utf-8")))
    assert "29.0 %" in before and "24 components" in before and "459" in before
    assert "4.15" in before and "4.25" in before, "Table 1: training and test class centres side by side"
    assert "0.0614" in before and "0.0044" in before, "reconstruction errors from the sidecar"
    assert "14.7 s" not in before and "report.run_times" in before, "run times are printed only when asked for"
    assert "<code>pca</code>" in report_inputs["output"].read_text(encoding="utf-8"), "the steps are listed"
    render(*pca_args(report_inputs), "--run-times")
    timed = page_text(parse(report_inputs["output"].read_text(encoding="utf-8")))
    assert "14.7 s" in timed and "1 min 23 s" in timed, "run times from provenance"

    write(report_inputs["contexts"]["metrics"], metrics(first=0.3512))
    render(*pca_args(report_inputs))
    after = page_text(parse(report_inputs["output"].read_text(encoding="utf-8")))
    assert "35.1 %" in after and "29.0 %" not in after


def test_site_title_and_context_text_are_escaped(report_inputs) -> None:
    render(*pca_args(report_inputs, site_title="<script>alert(1)</script>"))
    html = report_inputs["output"].read_text(encoding="utf-8")
    assert "<script>alert(1)</script>" not in html  # the page's own script elements are not the site title
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;b&gt;together&lt;/b&gt;" in html, "claim text from claims.json is escaped too"


def test_same_inputs_give_the_same_bytes(report_inputs) -> None:
    first = report_inputs["output"]
    second = first.with_name("again.html")
    render(*pca_args(report_inputs))
    render(*pca_args(report_inputs, output=second))
    assert first.read_bytes() == second.read_bytes()


def test_missing_context_key_fails_with_template_line(report_inputs) -> None:
    broken = metrics()
    del broken["thresholds"]
    write(report_inputs["contexts"]["metrics"], broken)
    result = run_script("publish/render_html.py", *pca_args(report_inputs), check=False)
    assert result.returncode == 1
    assert "thresholds" in result.stderr and "pca.html.j2, line" in result.stderr
    assert "Traceback" not in result.stderr
    assert not report_inputs["output"].exists()


def test_missing_context_file_fails_naming_it(report_inputs, tmp_path) -> None:
    report_inputs["contexts"]["claims"] = tmp_path / "nowhere" / "claims.json"
    error = render_fails(*pca_args(report_inputs))
    assert "nowhere/claims.json" in error and "not found" in error
    assert not report_inputs["output"].exists()


def test_missing_context_argument_fails_clearly(report_inputs) -> None:
    del report_inputs["contexts"]["dataset"]
    error = render_fails(*pca_args(report_inputs))
    assert "dataset" in error and "pca.html.j2, line" in error


@pytest.mark.parametrize("kind", ["directory", "empty file"])
@pytest.mark.parametrize("flag", ["--context", "--figure"])
def test_context_or_figure_path_that_is_a_directory_or_empty_fails_naming_it(
    report_inputs, tmp_path, flag, kind
) -> None:
    bad = tmp_path / "bad.json"
    if kind == "directory":
        bad.mkdir()
    else:
        bad.write_text("", encoding="utf-8")
    if flag == "--context":
        report_inputs["contexts"]["claims"] = bad
        key = "claims"
    else:
        report_inputs["figures"]["components"] = bad
        key = "components"
    error = render_fails(*pca_args(report_inputs))
    assert error.startswith(f"{flag} {key}: {bad}: is {'a directory' if kind == 'directory' else 'empty'}"), error
    assert not report_inputs["output"].exists()


def test_missing_figure_fails_in_one_line_naming_it(report_inputs, tmp_path) -> None:
    report_inputs["figures"]["components"] = tmp_path / "gone.svg"
    result = run_script("publish/render_html.py", *pca_args(report_inputs), check=False)
    assert result.returncode == 1 and result.stderr.count("\n") == 1
    assert result.stderr.startswith(f"error: --figure components: {tmp_path / 'gone.svg'}: file not found")
    assert not report_inputs["output"].exists()


def test_site_title_and_author_have_no_default(report_inputs) -> None:
    """They come from the config (report.title, report.author); the schema holds the one default."""
    args = pca_args(report_inputs)
    assert "--site-author" in render_fails(*args[:-2])
    assert "--site-title" in render_fails(*args[:-4], *args[-2:])


def test_missing_figure_sidecar_fails_naming_it(report_inputs) -> None:
    sidecar = report_inputs["figures"]["components"].with_suffix(".json")
    sidecar.unlink()
    assert str(sidecar) in render_fails(*pca_args(report_inputs))


def test_missing_template_and_syntax_error_are_reported(tmp_path) -> None:
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "bad.html.j2").write_text("<p>one</p>\n<p>{% if %}</p>\n", encoding="utf-8")
    out = tmp_path / "out.html"
    assert "bad.html.j2, line 2" in render_fails(
        "--template", "bad.html.j2", "--templates-dir", templates, "--output", out, *SITE
    )
    assert "gone.html.j2" in render_fails(
        "--template", "gone.html.j2", "--templates-dir", templates, "--output", out, *SITE
    )
    assert not out.exists()


# --------------------------------------------------------------------------------------------------------
# publish/render_html.py: the index, and the filters
# --------------------------------------------------------------------------------------------------------


def test_index_lists_explainers_with_links(tmp_path) -> None:
    explainers = [
        {
            "name": "pca",
            "title": "PCA page",
            "summary": "What PCA does.",
            "html": "reports/pca.html",
            "pdf": "reports/pca.pdf",
        },
        {
            "name": "cnn",
            "title": "Conv page",
            "summary": "Convolutions.",
            "html": "reports/cnn.html",
            "pdf": "reports/cnn.pdf",
        },
    ]
    out = tmp_path / "index.html"
    render("--template", "index.html.j2", "--output", out, "--explainers", json.dumps(explainers), *SITE)
    page = parse(out.read_text(encoding="utf-8"))
    hrefs = [a["href"] for a in page.find("a")]
    for item in explainers:
        assert item["html"] in hrefs and item["pdf"] in hrefs
        assert item["title"] in page_text(page)
    assert "lacks" in render_fails(
        "--template", "index.html.j2", "--output", out, "--explainers", '[{"name": "x"}]', *SITE
    )


def test_filters_format_numbers_for_people() -> None:
    from publish import render_html

    assert render_html.pct(0.29039) == "29.0 %"
    assert render_html.pct(0.95, 0) == "95 %"
    assert render_html.num(60000) == "60,000"
    assert render_html.num(1310.9, 0) == "1,311"
    assert render_html.fixed(0.061432, 4) == "0.0614"
    assert render_html.measure(29, "%") == "29 %"
    assert render_html.measure(28.967, "%", 2) == "28.97 %"
    assert render_html.measure("shirt-like", None) == "shirt-like"
    assert render_html.measure(None) == "n/a"
    assert render_html.duration(14.73) == "14.7 s"
    assert render_html.duration(83) == "1 min 23 s"
    assert render_html.duration(4000) == "1 h 6 min"
    assert render_html.by_threshold({"0.4": 3, ".5": 9}) == [(0.4, 3), (0.5, 9)], "sorted as numbers, not text"
    assert render_html.flatten({"pca": {"n": 4, "t": [0.8]}, "x": None}) == [
        ("pca.n", "4"),
        ("pca.t", "[0.8]"),
        ("x", "null"),
    ]
    with pytest.raises(PipelineError):
        render_html.parse_pairs(["metrics"], "--context")


# --------------------------------------------------------------------------------------------------------
# publish/render_pdf.py
# --------------------------------------------------------------------------------------------------------

PDFINFO = shutil.which("pdfinfo")
needs_pdfinfo = pytest.mark.skipif(PDFINFO is None, reason="pdfinfo (poppler-utils) is not installed")


def pdfinfo(path: Path) -> dict[str, str]:
    output = subprocess.run([PDFINFO, str(path)], capture_output=True, text=True, check=True).stdout
    return {key.strip(): value.strip() for key, _, value in (line.partition(":") for line in output.splitlines())}


def small_page(folder: Path, body: str = '<p>Hello</p><img src="fig.svg" alt="a figure">') -> Path:
    """A tiny page with a title, an author and (by default) one figure beside it."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "fig.svg").write_text(SVG, encoding="utf-8")
    page = folder / "page.html"
    page.write_text(
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Handout title</title>'
        f'<meta name="author" content="Handout author"></head><body>{body}</body></html>',
        encoding="utf-8",
    )
    return page


#: The paper size the workflow passes from the config (report.page_size); the script has no default.
A4 = ("--page-size", "A4")


def test_pdf_cli_writes_a_deterministic_pdf(tmp_path) -> None:
    page = small_page(tmp_path / "site")
    first, second = tmp_path / "a.pdf", tmp_path / "b.pdf"
    run_script("publish/render_pdf.py", "--html", page, "--output", first, "--allow", tmp_path / "site", *A4)
    from publish import render_pdf

    render_pdf.main(["--html", str(page), "--output", str(second), "--allow", str(tmp_path / "site"), *A4])
    assert first.read_bytes().startswith(b"%PDF-")
    assert first.read_bytes() == second.read_bytes(), "two renders must give the same bytes"
    assert b"CreationDate" not in first.read_bytes()


@needs_pdfinfo
def test_pdf_metadata_and_page_size(tmp_path) -> None:
    from publish import render_pdf

    page = small_page(tmp_path / "site")
    sizes = {}
    for size in ("A4", "Letter"):
        out = tmp_path / f"{size}.pdf"
        out.write_bytes(render_pdf.render_pdf(page, [tmp_path / "site"], size))
        info = pdfinfo(out)
        assert info["Title"] == "Handout title" and info["Author"] == "Handout author"
        sizes[size] = info["Page size"]
    assert "(A4)" in sizes["A4"] and "(letter)" in sizes["Letter"]


def refused(tmp_path: Path, body: str, allowed: list[Path] | None = None) -> str:
    """Render a page (in-process, through ``main``), expect a refusal, and return the error message."""
    from publish import render_pdf

    page = small_page(tmp_path / "site", body)
    out = tmp_path / "out.pdf"
    args = ["--html", str(page), "--output", str(out), *A4]
    for folder in allowed if allowed is not None else [tmp_path / "site"]:
        args += ["--allow", str(folder)]
    with pytest.raises(PipelineError) as excinfo:
        render_pdf.main(args)
    assert not out.exists(), "no PDF may be written after a refusal"
    assert not list(tmp_path.glob(".out.pdf.*")), "no temporary file may be left behind"
    return str(excinfo.value)


def test_pdf_refuses_files_outside_the_allowed_folders(tmp_path) -> None:
    error = refused(tmp_path, '<img src="file:///etc/passwd" alt="x">')
    assert "file:///etc/passwd" in error and str(tmp_path / "site") in error and "allowed" in error


def test_pdf_cli_refusal_exits_1_without_output(tmp_path) -> None:
    page = small_page(tmp_path / "site", '<img src="file:///etc/passwd" alt="x">')
    out = tmp_path / "out.pdf"
    result = run_script(
        "publish/render_pdf.py", "--html", page, "--output", out, "--allow", tmp_path / "site", *A4, check=False
    )
    assert result.returncode == 1 and "refused to read file:///etc/passwd" in result.stderr
    assert "Traceback" not in result.stderr and not out.exists()


def test_pdf_refuses_the_network(tmp_path) -> None:
    error = refused(tmp_path, '<img src="http://127.0.0.1:9/x.png" alt="x">')
    assert "http://127.0.0.1:9/x.png" in error


def test_pdf_refuses_relative_and_symlink_escapes(tmp_path) -> None:
    outside = tmp_path / "secret.svg"
    outside.write_text(SVG, encoding="utf-8")
    error = refused(tmp_path, '<img src="../secret.svg" alt="x">')
    assert "secret.svg" in error
    (tmp_path / "site").mkdir(exist_ok=True)
    (tmp_path / "site" / "link.svg").symlink_to(outside)
    error = refused(tmp_path, '<img src="link.svg" alt="x">')
    assert "link.svg" in error


def test_pdf_refusal_inside_an_svg_still_fails(tmp_path) -> None:
    """WeasyPrint swallows errors while drawing an SVG; the recorded refusal must still fail the render."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "nested.svg").write_text(
        '<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="50" height="50">'
        '<image xlink:href="file:///etc/passwd" width="50" height="50"/></svg>',
        encoding="utf-8",
    )
    error = refused(tmp_path, '<img src="nested.svg" alt="x">')
    assert "refused to read file:///etc/passwd" in error


def test_pdf_refuses_everything_when_no_folder_is_allowed(tmp_path) -> None:
    error = refused(tmp_path, '<img src="fig.svg" alt="x">', allowed=[])
    assert "fig.svg" in error


def test_pdf_missing_html_fails_clearly(tmp_path) -> None:
    from publish import render_pdf

    with pytest.raises(PipelineError, match=r"none\.html: HTML page not found"):
        render_pdf.render_pdf(tmp_path / "none.html", [tmp_path])
    binary = tmp_path / "binary.html"
    binary.write_bytes(b"\x00\xff\xfe not a page")
    with pytest.raises(PipelineError, match=r"binary\.html: not a UTF-8 HTML page"):
        render_pdf.main(["--html", str(binary), "--output", str(tmp_path / "x.pdf"), "--allow", str(tmp_path), *A4])
    with pytest.raises(PipelineError, match=r"argument --page-size: invalid choice"):
        render_pdf.main(["--html", str(binary), "--output", str(tmp_path / "x.pdf"), "--page-size", "A5"])
    assert not (tmp_path / "x.pdf").exists()


def test_fetcher_rules() -> None:
    from publish import render_pdf

    fetcher = render_pdf.SafeFetcher([ROOT / "templates"])
    inside = (ROOT / "templates" / "style.css").as_uri()
    assert fetcher.allowed_path(inside) == (ROOT / "templates" / "style.css").resolve()
    assert fetcher.allowed_path((ROOT / "templates" / ".." / "pyproject.toml").as_uri()) is None
    assert fetcher.allowed_path("file:///etc/passwd") is None
    assert fetcher.allowed_path("file://example.com/" + str(ROOT / "templates" / "style.css")) is None
    assert fetcher.allowed_path("https://example.com/x.png") is None
    assert fetcher.fetch("data:text/plain,hi").read() == b"hi"


def test_pca_page_prints_with_its_figures(report_inputs) -> None:
    """The real template and style sheet go through WeasyPrint without a refused or broken resource."""
    render(*pca_args(report_inputs))
    out = report_inputs["results"] / "reports" / "pca.pdf"
    from publish import render_pdf

    render_pdf.main(
        ["--html", str(report_inputs["output"]), "--output", str(out), "--allow", str(report_inputs["results"]), *A4]
    )
    data = out.read_bytes()
    assert data.startswith(b"%PDF-")
    if PDFINFO:
        info = pdfinfo(out)
        assert info["Title"].startswith("How many components") and info["Author"] == "Tester"
        assert int(info["Pages"]) >= 3
