"""How numbers are written for readers: the one place, shared by the page templates (as Jinja2 filters) and by the
facts that choose the sentences (``kit.facts``), so a number reads the same in a sentence, a table and a caption.

Bounds get their own formatters: a measured maximum printed as "at most 1e-16" when it is 1.39e-16 would be
false, so ``upper_bound`` rounds up and ``lower_bound`` rounds down.
"""

from __future__ import annotations

import math
from typing import Any

MISSING = "n/a"


def is_missing(value: Any) -> bool:
    """Whether a measured value is absent (``None`` or not a finite number)."""
    return value is None or (isinstance(value, float) and not math.isfinite(value))


def pct(ratio: float | None, digits: int = 1) -> str:
    """A ratio as a percentage with a space before the sign: ``0.29`` -> ``"29.0 %"``."""
    if is_missing(ratio):
        return MISSING
    return f"{100 * float(ratio):.{digits}f} %"


def num(value: float | None, digits: int = 0) -> str:
    """A number with thousands separators: ``60000`` -> ``"60,000"``; ``digits`` decimals for floats."""
    if is_missing(value):
        return MISSING
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return f"{float(value):,.{digits}f}"


def fixed(value: float | None, digits: int = 2) -> str:
    """A number with exactly ``digits`` decimals and no separators: ``0.01234`` -> ``"0.0123"`` (digits=4)."""
    if is_missing(value):
        return MISSING
    return f"{float(value):.{digits}f}"


def signed(value: float | None, digits: int = 2) -> str:
    """A change with its sign: ``0.32`` -> ``"+0.32"``, ``-1.4`` -> ``"−1.40"`` (a true minus sign)."""
    if is_missing(value):
        return MISSING
    text = f"{float(value):+.{digits}f}"
    return text.replace("-", "\u2212")


def measure(value: float | str | None, unit: str | None = "", digits: int = 1) -> str:
    """A claimed or measured quantity with its unit: whole numbers without decimals (``84 components``),
    others with ``digits`` decimals (``28.97`` -> ``"29.0 %"``); text (a described shape) passes unchanged."""
    if isinstance(value, str):
        return value
    if is_missing(value):
        return MISSING
    number = float(value)
    text = f"{int(number):,}" if number.is_integer() else f"{number:,.{digits}f}"
    return f"{text} {unit}" if unit else text


def duration(seconds: float | None) -> str:
    """Run time for people: ``0.42`` -> ``"0.4 s"``, ``83`` -> ``"1 min 23 s"``, ``4000`` -> ``"1 h 6 min"``."""
    if is_missing(seconds):
        return MISSING
    seconds = float(seconds)
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {secs} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min"


def _rounded_bound(value: float, digits: int, up: bool) -> float:
    """``value`` rounded to ``digits`` significant digits, away from the true value in the safe direction."""
    if value == 0:
        return 0.0
    exponent = math.floor(math.log10(abs(value))) - digits + 1
    scale = 10.0**exponent
    steps = value / scale
    # A tiny relative slack keeps exact values (0.25 at 2 digits) from being pushed one step by float noise.
    steps = math.ceil(steps - 1e-9) if up else math.floor(steps + 1e-9)
    return steps * scale


def scientific(value: float, digits: int = 2) -> str:
    """A number in scientific notation for people: ``1.4e-16`` -> ``"1.4 × 10⁻¹⁶"``; plain for 0.001-9999."""
    if is_missing(value):
        return MISSING
    number = float(value)
    if number == 0 or 1e-3 <= abs(number) < 1e4:
        return f"{number:.{digits}g}"
    mantissa, exponent = f"{number:.{digits - 1}e}".split("e")
    superscript = str(int(exponent)).translate(str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹"))
    return f"{mantissa} × 10{superscript}"


def upper_bound(value: float | None, digits: int = 2) -> str:
    """A measured maximum written so that "at most X" stays true: rounded up, never down (1.39e-16 -> 1.4e-16)."""
    if is_missing(value):
        return MISSING
    return scientific(_rounded_bound(float(value), digits, up=True), digits)


def lower_bound(value: float | None, digits: int = 2) -> str:
    """A measured minimum written so that "at least X" stays true: rounded down, never up."""
    if is_missing(value):
        return MISSING
    return scientific(_rounded_bound(float(value), digits, up=False), digits)


def plural(count: int | float, singular: str, many: str | None = None) -> str:
    """``count`` with its noun: ``1 image``, ``2 images``, ``1,268 images``."""
    word = singular if count == 1 else (many or singular + "s")
    return f"{num(count)} {word}"
