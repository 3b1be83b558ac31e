"""Facts choose the sentence whose condition held; bounds are written so they stay true."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from kit.cli import PipelineError
from kit.facts import checked, choose, collect, compare, is_fact, state
from kit.formats import lower_bound, plural, scientific, signed, upper_bound
from publish.render_html import holds, render, say


def parse_number(text: str) -> float:
    """A number written by ``scientific`` back as a float (``1.4 × 10⁻¹⁶`` -> 1.4e-16)."""
    if "×" not in text:
        return float(text)
    mantissa, power = text.split(" × 10")
    exponent = int(power.translate(str.maketrans("⁻⁰¹²³⁴⁵⁶⁷⁸⁹", "-0123456789")))
    return float(mantissa) * 10.0**exponent


@pytest.mark.parametrize("seed", range(5))
def test_bounds_never_round_the_wrong_way(seed: int) -> None:
    rng = np.random.default_rng(seed)
    values = np.concatenate([10.0 ** rng.uniform(-18, 6, 200), rng.uniform(0, 1, 50)])
    for value in values:
        for digits in (1, 2, 3):
            assert parse_number(upper_bound(value, digits)) >= value * (1 - 1e-12), (value, digits)
            assert parse_number(lower_bound(value, digits)) <= value * (1 + 1e-12), (value, digits)


def test_bounds_of_the_reviewed_cases() -> None:
    assert upper_bound(1.39e-16, 1) == "2 × 10⁻¹⁶"  # "at most 1e-16" would have been false
    assert upper_bound(1.39e-16, 2) == "1.4 × 10⁻¹⁶"
    assert upper_bound(3.5e-15) == "3.5 × 10⁻¹⁵"  # an exact value stays as it is
    assert lower_bound(0.9287, 2) == "0.92"
    assert scientific(0.25) == "0.25" and upper_bound(None) == "n/a"


def test_signed_and_plural() -> None:
    assert signed(0.32) == "+0.32" and signed(-1.4) == "\u22121.40"
    assert plural(1, "image") == "1 image" and plural(1268, "image") == "1,268 images"
    assert plural(2, "child", "children") == "2 children"


def test_compare_picks_the_sentence_of_the_outcome_and_keeps_the_test() -> None:
    fewer = compare(1268, "<", 1406, "fewer than before", "more than before", what="wrong images, last vs best")
    more = compare(1406, "<", 1268, "fewer than before", "more than before", what="wrong images, last vs best")
    assert fewer["holds"] and fewer["text"] == "fewer than before" and fewer["test"] == [1268, "<", 1406]
    assert not more["holds"] and more["text"] == "more than before"
    for fact in (fewer, more):
        assert checked(fact) is fact
        json.dumps(fact)  # plain JSON


def test_compare_stores_numpy_numbers_as_plain_ones() -> None:
    fact = compare(np.float64(0.5), ">", np.int64(0), "up", "down", what="x", spread=np.float32(0.25))
    assert type(fact["test"][0]) is float and type(fact["test"][2]) is int
    assert json.loads(json.dumps(fact))["values"]["spread"] == 0.25


def test_choose_takes_the_first_case_that_holds() -> None:
    rising = choose([(False, "p < 0.05 and up", "rises"), (True, "p >= 0.05", "is flat")], "falls")
    assert rising["text"] == "is flat" and rising["holds"]
    neither = choose([(False, "a", "rises"), (False, "b", "is flat")], "falls")
    assert neither["text"] == "falls" and not neither["holds"]
    assert checked(rising) and checked(neither)


def test_tampered_facts_are_refused() -> None:
    fact = compare(2, ">", 1, "up", "down", what="x")
    with pytest.raises(PipelineError, match="first case"):
        checked({**fact, "text": "down"})
    with pytest.raises(PipelineError, match="contradicts"):
        checked({**fact, "test": [1, ">", 2]})
    with pytest.raises(PipelineError, match="expected a fact"):
        checked("The loss rises.")


def test_state_and_collect() -> None:
    tree = {"facts": {"a": state("T = 3.17."), "b": [compare(1, "<", 2, "yes", "no", what="x")]}, "n": 3}
    found = collect(tree)
    assert set(found) == {"facts.a", "facts.b[0]"} and all(is_fact(item) for item in found.values())


def test_templates_print_only_facts(tmp_path) -> None:
    (tmp_path / "t.j2").write_text("{{ f | say }}{% if f | holds %}!{% endif %}|{% filter general %}x{% endfilter %}")
    fact = compare(math.pi, ">", 3, "Pi exceeds 3.", "Pi does not exceed 3.", what="pi vs 3")
    assert render("t.j2", {"f": fact}, tmp_path) == "Pi exceeds 3.!|x"
    with pytest.raises(PipelineError, match="say"):
        render("t.j2", {"f": "Pi exceeds 3."}, tmp_path)
    assert say(fact) == "Pi exceeds 3." and holds(fact)
