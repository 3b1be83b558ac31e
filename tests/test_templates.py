"""No template states a result in its own words: result sentences come from facts (``kit.facts``).

A template's own text (everything outside ``{{ ... }}`` and ``{% ... %}``) is read sentence by sentence. A
sentence with a word that states a trend, a comparison or an outcome ("rises", "fewer", "almost exactly",
"reproduced", "supported") is refused unless the template marks it as general explanation, true of any run,
with ``{% filter general %} ... {% endfilter %}``. Whatever depends on the run is printed with ``| say`` from a
fact whose condition was tested when the numbers were computed.
"""

from __future__ import annotations

import html
import re
from pathlib import Path

import jinja2
import pytest
from jinja2 import nodes

ROOT = Path(__file__).resolve().parents[1]
TEMPLATES = ROOT / "templates"

#: Words that state an outcome of a run. Explanations that need them are wrapped in the ``general`` filter.
RESULT_WORDS = re.compile(
    r"\b(ris(e|es|ing|en)|rose|climb\w*|fall(s|ing|en)?|fell|drop(s|ped|ping)?|grow(s|ing|n)?|grew|"
    r"increas\w*|decreas\w*|higher|lower|more|fewer|less|better|worse|improv\w*|peak\w*|exceed\w*|"
    r"keeps?|kept|stay(s|ed)?|still|reach(es|ed)?|almost|nearly|exactly|reproduc\w*|supported|"
    r"than|outperform\w*|beat(s)?|most|least|largest|smallest|widen\w*|narrow\w*|flat|steady|same|"
    r"differ\w*|match(es|ed)?|agree(s|d)?|shows?|showed|confirm\w*|holds?|held|succeed\w*|fail\w*|"
    r"up|down|never|always|only)\b",
    re.IGNORECASE,
)


def own_text(node: nodes.Node, exempt: bool = False) -> list[str]:
    """The template's literal text below ``node``, leaving out what a ``general`` filter block marks."""
    if isinstance(node, nodes.FilterBlock) and isinstance(node.filter, nodes.Filter) and node.filter.name == "general":
        exempt = True
    found = [node.data] if isinstance(node, nodes.TemplateData) and not exempt else []
    for child in node.iter_child_nodes():
        found += own_text(child, exempt)
    return found


def sentences(texts: list[str]) -> list[str]:
    """The visible words of literal template text, split into sentences (tags, comments and entities removed)."""
    text = " ".join(texts)
    text = re.sub(r"<(script|style)\b.*?</\1>", " ", text, flags=re.S)
    text = re.sub(r"<[^>]+>", " ", text)
    text = html.unescape(" ".join(text.split()))
    return [part.strip() for part in re.split(r"(?<=[.!?])\s+", text) if part.strip()]


def violations(source: str) -> list[str]:
    """Sentences of a template's own text that state a result."""
    env = jinja2.Environment(extensions=["jinja2.ext.do"])
    tree = env.parse(source)
    return [sentence for sentence in sentences(own_text(tree)) if RESULT_WORDS.search(sentence)]


PAGES = sorted(path.name for path in TEMPLATES.glob("*.j2"))


@pytest.mark.parametrize("name", PAGES)
def test_templates_state_results_only_through_facts(name: str) -> None:
    found = violations((TEMPLATES / name).read_text(encoding="utf-8"))
    assert not found, f"{name}: sentences stating results outside a fact or a general block:\n  " + "\n  ".join(found)


def test_the_check_finds_a_typed_result_and_allows_marked_explanation() -> None:
    assert violations("<p>The validation loss rises {{ n | pct }} after epoch {{ e }}.</p>")
    assert violations("<h2>The puzzle, reproduced</h2>")
    assert violations("<figcaption>Notice that the wrong predictions keep rising.</figcaption>")
    assert not violations("<p>{{ facts.rise | say }} Accuracy counts right answers.</p>")
    assert not violations(
        "{% filter general %}<p>Cross-entropy grows without bound as p falls to 0.</p>{% endfilter %}"
    )
    assert not violations("<p>The network trains on {{ n | num }} images for {{ e }} epochs.</p>")
