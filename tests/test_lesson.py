"""The lesson blocks of macros.html.j2 (takeaways, prerequisites, exercises and answers, glossary terms, audits,
citations), the page navigation of base.html.j2, how a handout prints them (answers and appendix on pages of
their own), how the booklet gathers them (one answers part, one appendix), and the index's cards.

Each test renders a small template of its own (``LESSON``) with the real templates folder beside it, so the
explainer templates can change without touching these tests.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest
import yaml

from conftest import ROOT
from kit.cli import PipelineError
from kit.facts import compare, state

POPPLER = all(shutil.which(tool) for tool in ("pdftoppm", "pdftotext", "pdftohtml"))
needs_poppler = pytest.mark.skipif(not POPPLER, reason="poppler-utils are not installed")

ITEMS = """[
  {"question": "How many nats is a loss of ln 2?", "answer": "ANSWER-ONE: " ~ (0.6931 | fixed(2)) ~ " nats"},
  {"question": "Which <b>class</b> is hardest?", "answer": "ANSWER-TWO"},
  {"question": "Why fold the answers?", "answer": "ANSWER-THREE"},
]"""

#: A page using every lesson block. ``{{ extra }}`` lets a test add a line to the content block.
LESSON = """{% extends "base.html.j2" %}
{% from "macros.html.j2" import takeaways, prerequisites, exercises, answers, term, glossary, audit, cite,
   references, figure %}
{% set items = ITEMS %}
{% block title %}TITLE{% endblock %}
{% block summary %}
<p class="summary">A summary of the lesson.</p>
{{ takeaways(["First takeaway.", "Second <i>takeaway</i>.", verdict | say]) }}
{{ prerequisites("the first explainer.") }}
{% endblock %}
{% block content %}
<section id="one"><h2>One</h2>
<p>Losses are in {{ term("nats", "nats") }}; the {{ term("eta", "learning rate") }} sets the step, as
{{ cite("guo2017") }} explain (see also {{ cite("mukhoti2020") }} and {{ cite("guo2017") }}).
Again: {{ term("nats") }}.</p>
{% call audit("claims", "Claims check", verdict | say) %}
<p>AUDIT-BODY: the claims table.</p>
{% endcall %}
<p>After the audit. See <a href="beta.html#one">the beta page</a>.</p>
</section>
EXTRA
{{ exercises(items) }}
{{ glossary() }}
{{ references() }}
{{ answers(items) }}
{% endblock %}
{% block appendix %}
<section id="how-made" class="appendix"><h2>How this was made</h2><p>METHOD.</p>
<div class="provenance-shared"><h3>Data</h3><p>SHARED-TABLES.</p></div></section>
{% endblock %}
""".replace("ITEMS", ITEMS)

NAV = {"previous": {"title": "The <first> one", "href": "first.html"}, "next": None, "pdf": "lesson.pdf"}


class Page(HTMLParser):
    """Tags with attributes and text, in order."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict]] = []
        self.texts: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.texts.append(data)

    def find(self, tag: str | None = None, **attrs: str) -> list[dict]:
        return [
            a
            for t, a in self.tags
            if (tag is None or t == tag) and all(a.get(k.rstrip("_")) == v for k, v in attrs.items())
        ]


def templates(tmp_path: Path, source: str = LESSON, extra: str = "") -> Path:
    """The repository's templates with the test's page beside them."""
    folder = tmp_path / "templates"
    if not folder.exists():
        shutil.copytree(ROOT / "templates", folder)
    (folder / "lesson.html.j2").write_text(source.replace("EXTRA", extra), encoding="utf-8")
    return folder


def render(tmp_path: Path, name: str = "lesson", extra: str = "", nav: dict | None = NAV) -> Path:
    """Render the test page into results/reports/<name>.html, with a verdict fact (``verdict``) as its context."""
    from publish import render_html

    folder = templates(tmp_path, extra=extra)
    verdict = tmp_path / "verdict.json"
    fact = compare(3, ">=", 2, "3 of 4 claims hold.", "Most claims fail.", what="claims holding")
    verdict.write_text(json.dumps(fact), encoding="utf-8")
    out = tmp_path / "results" / "reports" / f"{name}.html"
    args = ["--template", "lesson.html.j2", "--templates-dir", str(folder), "--output", str(out)]
    args += ["--context", f"verdict={verdict}", "--site-title", "Site", "--site-author", "Tester"]
    if nav is not None:
        args += ["--nav", json.dumps(nav)]
    render_html.main(args)
    return out


def fails(tmp_path: Path, extra: str) -> str:
    with pytest.raises(PipelineError) as excinfo:
        render(tmp_path, extra=extra)
    return str(excinfo.value)


# --------------------------------------------------------------------------------------------------------
# The web page
# --------------------------------------------------------------------------------------------------------


def test_lesson_blocks_on_the_web_page(tmp_path) -> None:
    html = render(tmp_path).read_text(encoding="utf-8")
    page = Page(html)

    # Takeaways: three items, text escaped, a fact printed with say; the prerequisites line; the handout link.
    takeaways = html[html.index('<section class="takeaways"') : html.index("</section>", html.index("takeaways"))]
    assert takeaways.count("<li>") == 3 and "Second &lt;i&gt;takeaway&lt;/i&gt;." in takeaways
    assert "3 of 4 claims hold." in takeaways
    assert '<span class="label">Before you start:</span> the first explainer.' in html
    assert page.find("a", href="lesson.pdf") and 'class="handout-link"' in html

    # Exercises: each answer folded under its question; the print-only answers page hidden on the web.
    exercises = html[html.index('<section class="exercises"') : html.index('<section class="glossary"')]
    assert exercises.count("<details") == 3 and exercises.count("<summary>Answer") == 3
    assert "ANSWER-ONE: 0.69 nats" in exercises and "Which &lt;b&gt;class&lt;/b&gt; is hardest?" in exercises
    assert "hidden" in page.find("section", id="answers")[0] and 'class="answers-pointer" hidden' in html

    # Terms: focusable, described by a tooltip with the glossary's definition, each use with its own id.
    definitions = yaml.safe_load((ROOT / "templates" / "glossary.yaml").read_text(encoding="utf-8"))
    words = page.find("span", class_="term-word")
    assert [w["aria-describedby"] for w in words] == ["term-nats-1", "term-eta-1", "term-nats-2"]
    assert all(w["tabindex"] == "0" for w in words)
    for word in words:
        assert page.find("span", id=word["aria-describedby"], role="tooltip")
    assert html.count(definitions["nats"]["definition"]) == 3, "two tooltips and the glossary entry"
    assert ">learning rate</span>" in html and f">{definitions['nats']['term']}</span>" in html

    # The glossary lists the terms used, alphabetically by the word listed.
    listed = re.findall(r"<dt>(.*?)</dt>", html)
    assert listed == sorted([definitions["eta"]["term"], definitions["nats"]["term"]], key=str.casefold)

    # The audit: a heading, then a folded <details> whose summary is the verdict; the check inside it.
    audit = html[html.index('<section class="audit"') : html.index("After the audit")]
    assert '<h2 id="claims-title">Claims check</h2>' in audit
    assert re.search(
        r'<details class="audit-details">\s*<summary><span class="audit-summary">3 of 4 claims hold\.', audit
    )
    assert audit.index("AUDIT-BODY") > audit.index("</summary>")

    # Citations link to the list, which links each work once, in order of first citation, by DOI.
    assert [a["href"] for a in page.find("a", class_="cite")] == ["#ref-guo2017", "#ref-mukhoti2020", "#ref-guo2017"]
    assert [li["id"] for li in page.find("li") if li.get("id", "").startswith("ref-")] == [
        "ref-guo2017",
        "ref-mukhoti2020",
    ]
    assert page.find("a", href="https://doi.org/10.48550/arXiv.1706.04599")
    assert page.find("a", href="https://doi.org/10.48550/arXiv.2002.09437")

    # The appendix is wrapped as the print appendix, with its print-only title; the navigation follows the article.
    assert re.search(
        r'<div class="appendix-part fit-stretch" id="appendix">\s*<h2 class="part-title" hidden>Appendix</h2>', html
    )
    nav = html[html.index('<nav class="pagenav"') :]
    assert 'href="first.html" rel="prev"' in nav and "The &lt;first&gt; one" in nav and 'rel="next"' not in nav
    assert html.index('<nav class="pagenav"') > html.index("</article>")
    assert "lesson.css" not in html and ".term-tip" in html, "lesson.css is inlined"


def test_ids_are_unique_and_the_page_is_well_formed(tmp_path) -> None:
    html = render(tmp_path).read_text(encoding="utf-8")
    ids = re.findall(r'\sid="([^"]+)"', html)
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)
    for target in re.findall(r'(?:href="#|aria-describedby="|aria-labelledby=")([^"]+)"', html):
        assert target in ids, f"#{target} points nowhere"


def test_a_page_without_nav_has_no_navigation(tmp_path) -> None:
    html = render(tmp_path, nav=None).read_text(encoding="utf-8")
    assert "pagenav" not in html.split("</style>")[1] and "handout-link" not in html.split("</style>")[1]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ('{{ term("no-such-term") }}', "glossary term 'no-such-term' is not in "),
        ('{{ cite("nobody2099") }}', "reference 'nobody2099' is not in "),
        ('{{ takeaways(["Only one."]) }}', "takeaways: give 3 to 5 items, not 1"),
        ("{{ exercises(items[:2]) }}", "exercises: give 3 to 5 items, not 2"),
        ('{{ term("softmax") }}{{ glossary(["nats", "eta"]) }}', "the page uses glossary term 'softmax' but its list"),
        ('{{ glossary(["nats", "eta", "gone"]) }}', "glossary term 'gone' is not in"),
    ],
)
def test_missing_terms_citations_and_wrong_counts_fail_naming_them(tmp_path, extra, message) -> None:
    error = fails(tmp_path, extra)
    assert message in error, error
    assert "lesson.html.j2, line" in error, "the error names the template line"


def test_nav_flag_is_checked(tmp_path) -> None:
    from publish import render_html

    assert render_html.read_nav('{"pdf": "a.pdf"}') == {"pdf": "a.pdf", "previous": None, "next": None}
    for bad, message in [
        ("{", "not valid JSON"),
        ('{"previous": null}', "pdf"),
        ('{"pdf": "a.pdf", "next": {"title": "x"}}', "next must be null or an object with title and href"),
    ]:
        with pytest.raises(PipelineError, match=message):
            render_html.read_nav(bad)


def test_glossary_and_references_files() -> None:
    """The seed terms the issue names are defined; the references link the DOIs and the threads' public copies."""
    terms = yaml.safe_load((ROOT / "templates" / "glossary.yaml").read_text(encoding="utf-8"))
    seed = {"nats", "one-hot", "sgd", "eta", "ece", "logits", "mains", "principal-component", "explained-variance"}
    seed |= {"cross-entropy", "softmax", "epoch", "validation-set", "calibration", "temperature-scaling", "kernel"}
    seed |= {"stride", "padding", "dilation", "channel", "feature-map", "gradient", "chain-rule", "autograd"}
    seed |= {"activation", "mcnemar-test"}
    assert seed <= set(terms), seed - set(terms)
    assert list(terms) == sorted(terms), "keep the entries in alphabetical order of their keys"
    for key, entry in terms.items():
        assert re.fullmatch(r"[a-z][a-z0-9-]*", key), key
        assert entry["term"].strip() and entry["definition"].strip().endswith("."), key
    refs = yaml.safe_load((ROOT / "templates" / "references.yaml").read_text(encoding="utf-8"))
    assert refs["guo2017"]["url"] == "https://doi.org/10.48550/arXiv.1706.04599"
    assert refs["mukhoti2020"]["url"] == "https://doi.org/10.48550/arXiv.2002.09437"
    copies = {
        "thread-pca": "https://threadreaderapp.com/thread/1387784992596525059.html",
        "thread-backprop": "https://threadreaderapp.com/thread/1384521213746184194.html",
        "thread-convolutions": "https://threadreaderapp.com/thread/1382363953297117184.html",
        "overfitting-question": "https://stats.stackexchange.com/q/282160",
    }
    assert {key: refs[key]["url"] for key in copies} == copies


# --------------------------------------------------------------------------------------------------------
# The handout
# --------------------------------------------------------------------------------------------------------


def print_pdf(html: Path) -> Path:
    from publish import render_pdf

    out = html.with_suffix(".pdf")
    render_pdf.main(
        [
            *("--html", str(html), "--output", str(out), "--allow", str(html.parents[1]), "--page-size", "A4"),
            *("--stylesheet", str(ROOT / "templates" / "print.css")),
        ]
    )
    return out


def pages_of(pdf: Path) -> list[str]:
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    return text.split("\f")[:-1]


def top_bookmarks(pdf: Path) -> list[tuple[str, int]]:
    xml = subprocess.run(["pdftohtml", "-xml", "-stdout", "-i", "-q", str(pdf)], capture_output=True, text=True).stdout
    import xml.etree.ElementTree as ET

    outline = ET.fromstring(xml[xml.index("<outline>") : xml.rindex("</outline>") + len("</outline>")])
    return [(item.text or "", int(item.get("page"))) for item in outline.findall("item")]


@needs_poppler
def test_the_handout_prints_the_appendix_after_the_lesson_and_the_answers_last(tmp_path) -> None:
    from tools import layout

    pdf = print_pdf(render(tmp_path))
    pages = pages_of(pdf)
    marks = dict(top_bookmarks(pdf))
    answers, appendix = marks["Answers to the exercises"], marks["Appendix"]
    assert marks["TITLE"] == 1 and 1 <= appendix < answers == len(pages), "the answers are the last part"
    before = " ".join("".join(pages[: answers - 1]).split())
    # The lesson: exercises without their answers, and a line giving the answers' page.
    assert "How many nats is a loss of ln 2?" in before and "ANSWER-ONE" not in before
    assert f"The answers are on a separate page (page {answers})" in before
    # A tooltip prints nothing: each definition once, in the glossary list.
    definition = yaml.safe_load((ROOT / "templates" / "glossary.yaml").read_text())["nats"]["definition"]
    assert " ".join("".join(pages).split()).count(definition[:40]) == 1
    # The appendix runs on after the lesson: the audit (its verdict line, then the check), then how it was made.
    appendix_text = before[before.index("Claims check") :]
    assert before.index("How many nats") < before.index("Claims check")
    assert appendix_text.index("3 of 4 claims hold.") < appendix_text.index("AUDIT-BODY")
    assert appendix_text.index("AUDIT-BODY") < appendix_text.index("How this was made")
    assert "See the check" not in appendix_text
    assert "SHARED-TABLES" in before, "a handout keeps its provenance tables"
    # The answers start a page of their own, the last.
    assert pages[answers - 1].lstrip().startswith("TITLE") and "ANSWER-ONE: 0.69 nats" in pages[answers - 1]
    # This appendix is a few lines: too short to fill the page before the answers within the fitting's limits
    # (tests/test_layout.py tests the filling); the other rules hold.
    assert layout.check(pdf, part_ends=True).problems == []


# --------------------------------------------------------------------------------------------------------
# The booklet
# --------------------------------------------------------------------------------------------------------


def provenance(name: str) -> dict:
    return {
        "explainer": name,
        "data": [{"file": "train-images-idx3-ubyte.gz", "bytes": 47040016, "sha256": "ab" * 32, "source": "x"}],
        "packages": {"numpy": "2.4.6"},
        "git_commit": None,
        "platform": "Linux",
        "settings": {},
        "steps": [{"step": "prepare", "seconds": 10.0, "max_rss_mb": 100.0}],
    }


@pytest.fixture
def booklet(tmp_path) -> dict:
    """Two lesson pages (alpha, beta) and the booklet bound from them."""
    from publish import render_booklet

    args = []
    for name in ("alpha", "beta"):
        html = render(tmp_path, name=name)
        html.write_text(html.read_text().replace("TITLE", f"{name.title()} chapter"), encoding="utf-8")
        record = tmp_path / "results" / "provenance" / f"{name}.json"
        record.parent.mkdir(parents=True, exist_ok=True)
        record.write_text(json.dumps(provenance(name)), encoding="utf-8")
        args += ["--page", f"{name}={html}", "--provenance", f"{name}={record}"]
    figure = tmp_path / "results" / "figures" / "alpha" / "key.svg"
    figure.parent.mkdir(parents=True)
    figure.write_text(
        '<svg xmlns="http://www.w3.org/2000/svg" width="300" height="150"><rect width="300" height="150"/></svg>'
    )
    figure.with_suffix(".json").write_text(json.dumps({"title": "The key figure", "alt": "A black <rect>"}))
    reports = tmp_path / "results" / "reports"
    source = tmp_path / "results" / "booklet" / "booklet.html"  # beside reports/, as the workflow writes it
    args += ["--site-title", "Booklet <site>", "--site-author", "Tester", "--page-size", "A4"]
    args += ["--allow", str(tmp_path / "results"), "--stylesheet", str(ROOT / "templates" / "print.css")]
    args += ["--templates-dir", str(tmp_path / "templates"), "--cover-figure", str(figure)]
    args += ["--html-output", str(source), "--output", str(reports / "booklet.pdf")]
    render_booklet.main(args)
    return {"html": source, "pdf": reports / "booklet.pdf", "args": args}


def booklet_part(html: str, name: str, until: str | None = None) -> str:
    """The booklet's ``<section class="<name> fit-part">`` up to the opening of the ``until`` part (or the end)."""
    start = html.index(f'<section class="{name} fit-part"')
    return html[start : html.index(f'<section class="{until} fit-part"') if until else None]


def test_the_booklet_gathers_answers_and_audits_into_one_part_each(booklet) -> None:
    html = booklet["html"].read_text(encoding="utf-8")
    chapters = booklet_part(html, "booklet-explainer", "booklet-answers")
    answers = booklet_part(html, "booklet-answers", "booklet-appendix")
    appendix = booklet_part(html, "booklet-appendix")
    assert html.count('class="booklet-appendix fit-part"') == 1 and html.count('class="booklet-answers fit-part"') == 1
    # The chapters keep their lessons, without audits, answers, appendix or the handout link.
    assert "AUDIT-BODY" not in chapters and 'class="answer-list"' not in chapters and "METHOD." not in chapters
    assert "handout-link" not in chapters and 'class="part-title"' not in html
    assert chapters.count('class="exercise-list"') == 2, "the exercises stay, their answers folded"
    # One answers part, a subsection per chapter, and the pointers in the chapters lead there.
    for name in ("alpha", "beta"):
        assert f'<section class="booklet-gathered" id="{name}-answers">' in answers
        assert f'href="#{name}-answers"' in chapters
        assert f'<section class="booklet-gathered" id="{name}-appendix">' in appendix
    assert answers.count("ANSWER-ONE: 0.69 nats") == 2
    assert chapters.count('href="#beta-one"') == 2, "a link to another chapter's page stays in the booklet"
    # One appendix: each chapter's audit (headings one level down) and method; the shared tables once, at the end.
    assert '<h3 id="alpha-claims-title">Claims check</h3>' in appendix and "<h3>How this was made</h3>" in appendix
    assert appendix.count("AUDIT-BODY") == 2 and appendix.count("METHOD.") == 2 and "SHARED-TABLES" not in html
    assert appendix.index("beta-appendix") < appendix.index('id="booklet-made"')
    # The cover: title (escaped), key figure, chapters; the contents leave out the takeaways.
    cover = booklet_part(html, "booklet-cover", "booklet-contents")
    assert "Booklet &lt;site&gt;" in cover and 'alt="A black &lt;rect&gt;"' in cover
    assert 'src="../figures/alpha/key.svg"' in cover and cover.count('<a href="#') == 2
    contents = booklet_part(html, "booklet-contents", "booklet-explainer")
    assert "Key takeaways" not in contents and 'href="#alpha-one"' in contents and 'href="#booklet-answers"' in contents


@needs_poppler
def test_the_booklet_prints_without_holes_and_is_reproducible(booklet) -> None:
    from publish import render_booklet
    from tools import layout

    report = layout.check(booklet["pdf"], part_ends=True)
    assert report.problems == []
    marks = [title for title, _ in top_bookmarks(booklet["pdf"])]
    assert marks == ["Contents", "Alpha chapter", "Beta chapter", "Answers to the exercises", "Appendix"]
    first = booklet["pdf"].read_bytes()
    render_booklet.main(booklet["args"])
    assert booklet["pdf"].read_bytes() == first


# --------------------------------------------------------------------------------------------------------
# The index
# --------------------------------------------------------------------------------------------------------


def test_index_cards_follow_the_reading_order_with_headline_facts(tmp_path) -> None:
    from publish import render_html

    results = tmp_path / "results"
    claims = results / "first" / "claims.json"
    claims.parent.mkdir(parents=True)
    facts = {"headline": state("Four components keep 58 % of the <variance>."), "description": state("Described.")}
    claims.write_text(json.dumps({"facts": facts}), encoding="utf-8")
    plain = results / "second" / "claims.json"
    plain.parent.mkdir(parents=True)
    plain.write_text(json.dumps({"claims": []}), encoding="utf-8")
    entries = [
        {"name": "first", "title": "First title", "summary": "First summary.", "claims": str(claims)},
        {"name": "second", "title": "Second title", "summary": "Second summary.", "claims": str(plain)},
        {"name": "third", "title": "Third title", "summary": "Third summary."},
    ]
    for entry in entries:
        entry |= {"html": f"reports/{entry['name']}.html", "pdf": f"reports/{entry['name']}.pdf"}
    graph = results / "figures" / "site" / "rulegraph.svg"
    graph.parent.mkdir(parents=True)
    graph.write_text('<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>', encoding="utf-8")
    graph.with_suffix(".json").write_text(json.dumps({"title": "The rules", "alt": "A graph"}), encoding="utf-8")
    out = results / "index.html"
    render_html.main(
        [
            *("--template", "index.html.j2", "--output", str(out), "--explainers", json.dumps(entries)),
            *("--figure", f"rulegraph={graph}", "--site-title", "Site", "--site-author", "Tester"),
        ]
    )
    html = out.read_text(encoding="utf-8")
    headings = re.findall(r"<h3><a [^>]*>(.*?)</a></h3>", html)
    assert headings == [
        "Four components keep 58 % of the &lt;variance&gt;.",
        "Second title",
        "Third title",
    ]
    assert '<p class="card-kicker">Explainer 1 · First title</p>' in html and "<p>Described.</p>" in html
    assert '<p class="card-kicker">Explainer 2</p>' in html
    assert "<p>Second summary.</p>" in html
    assert html.index('id="explainers"') < html.index('id="how-made"') < html.index('id="fig-rulegraph"')
    footer = html[html.index('<footer class="site-footer">') :]
    assert "run time" not in footer.lower()
    entries[0]["claims"] = str(results / "gone.json")
    with pytest.raises(PipelineError, match=r"entry 0 \(first\): .*gone\.json: file not found"):
        render_html.main(
            [
                *("--template", "index.html.j2", "--output", str(out), "--explainers", json.dumps(entries)),
                *("--site-title", "Site", "--site-author", "Tester"),
            ]
        )
