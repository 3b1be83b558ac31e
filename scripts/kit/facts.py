"""Facts: every sentence that states a result is chosen by the code that measured it, with its condition.

A page is read sentence by sentence under settings nobody has seen. So a sentence that states a result, a trend
or a comparison ("the validation loss rises", "fewer images are wrong", "accuracy goes up") is never typed into a
template. The script that computes the numbers builds a *fact*: the numbers, the condition that was tested, and
the sentence for each outcome; the outcome that held picks the sentence. Templates print a fact with the ``say``
filter and branch on it with ``holds``; ``tests/test_templates.py`` refuses result words in a template's own text.

A fact is a plain JSON object (it travels in claims files and figure sidecars)::

    {"fact": true, "holds": true, "text": "The validation loss rises 88 % after epoch 12.",
     "cases": [{"when": "last > lowest (0.832 > 0.444)", "holds": true}, {"when": "otherwise", "holds": true}],
     "test": [0.832, ">", 0.444], "values": {...}}

``compare`` builds the common two-way fact from one comparison, ``choose`` a fact with several outcomes (the first
case that holds wins; the last is the fallback).
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from kit.cli import PipelineError

#: The comparisons a two-way fact may test, by the symbol stored with it.
OPERATORS: dict[str, Callable[[Any, Any], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "==": operator.eq,
    "!=": operator.ne,
}

#: A case of ``choose``: whether it holds, the condition in words, and the sentence it picks.
Case = tuple[bool, str, str]


def _plain(value: Any) -> Any:
    """Numbers as plain Python values (numpy scalars would not serialise)."""
    if hasattr(value, "item"):
        return value.item()
    return value


def choose(cases: Sequence[Case], otherwise: str, *, values: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """A fact with several outcomes: the sentence of the first case that holds, or ``otherwise``.

    Why keep every case with its outcome: a reader (and the tests) can see what else was tested, and that the
    chosen sentence is the first whose condition held.
    """
    if not otherwise:
        raise PipelineError("a fact needs a sentence for the case where no condition holds")
    chosen = next((text for holds, _, text in cases if holds), otherwise)
    return {
        "fact": True,
        "holds": any(holds for holds, _, _ in cases),
        "text": chosen,
        "cases": [{"when": when, "holds": bool(holds), "text": text} for holds, when, text in cases]
        + [{"when": "otherwise", "holds": True, "text": otherwise}],
        "values": {key: _plain(value) for key, value in (values or {}).items()},
    }


def compare(left: float, op: str, right: float, yes: str, no: str, *, what: str, **values: Any) -> dict[str, Any]:
    """A two-way fact from one comparison: ``yes`` if ``left op right`` holds, else ``no``.

    ``what`` names the compared quantities ("wrong images at the last epoch vs at the best"); the stored
    ``test`` lets anyone recheck the outcome from the two numbers.
    """
    if op not in OPERATORS:
        raise PipelineError(f"unknown comparison {op!r}; use one of {', '.join(OPERATORS)}")
    left, right = _plain(left), _plain(right)
    holds = bool(OPERATORS[op](left, right))
    fact = choose([(holds, f"{what}: {left} {op} {right}", yes)], no, values=values)
    fact["test"] = [left, op, right]
    return fact


def state(text: str, **values: Any) -> dict[str, Any]:
    """A fact that holds by construction (a measured value stated plainly, no comparison): for sentences that
    report a number the run produced ("the fitted temperature is 3.17") where no outcome needs choosing."""
    return choose([(True, "measured", text)], text, values=values)


def is_fact(value: Any) -> bool:
    """Whether ``value`` is a fact object as built here."""
    return isinstance(value, Mapping) and value.get("fact") is True and isinstance(value.get("text"), str)


def checked(value: Any, where: str = "fact") -> Mapping[str, Any]:
    """``value`` if it is a well-formed fact whose sentence is the first case that held; else an error.

    Templates call this (through ``say`` and ``holds``) so a page can print only a sentence whose condition was
    tested; the tests call it on every fact of every scenario.
    """
    if not is_fact(value):
        raise PipelineError(f"{where}: expected a fact (built by kit.facts), got {type(value).__name__}")
    cases = value.get("cases") or []
    first = next((case for case in cases if case.get("holds")), None)
    if first is None or first.get("text") != value["text"]:
        raise PipelineError(f"{where}: its sentence is not the first case that holds; rebuild it with kit.facts")
    if "test" in value:
        left, op, right = value["test"]
        if bool(OPERATORS[op](left, right)) != bool(cases[0]["holds"]):
            raise PipelineError(f"{where}: its stored comparison {left} {op} {right} contradicts its outcome")
    return value


def collect(tree: Any, prefix: str = "") -> dict[str, Mapping[str, Any]]:
    """Every fact inside a JSON structure, by its dotted path (``facts.rise``, ``figures.loss_split.tail``)."""
    found: dict[str, Mapping[str, Any]] = {}
    if is_fact(tree):
        found[prefix or "fact"] = tree
    elif isinstance(tree, Mapping):
        for key, item in tree.items():
            found.update(collect(item, f"{prefix}.{key}" if prefix else str(key)))
    elif isinstance(tree, list):
        for index, item in enumerate(tree):
            found.update(collect(item, f"{prefix}[{index}]"))
    return found
