"""Draw matplotlib's SVG figures into PDFs faster: memoise the pure parts of WeasyPrint's SVG drawing.

Why: our figures are matplotlib SVGs with text drawn as paths (``svg.fonttype = "path"``): each glyph is one
``<path d=...>`` in ``<defs>``, and every character on a figure is a ``<use xlink:href="#glyph"
transform=...>``. WeasyPrint 70.0 parses the glyph's ``d`` string again for each character, and every
node's transform, font size, colours and style attribute, by regular expressions and tinycss2. Of the booklet's
~21 s in ``Document.write_pdf`` (67 pages, 30 figures, 13,069 ``<use>``, 15,764 path draws, 427,913 parsed
points), ~17 s went to ``weasyprint/svg``.

While ``faster_svg_drawing()`` is active, WeasyPrint's SVG drawing uses these stand-ins (``MEMOS`` names them);
each gives exactly what the original gives, and all are dropped on exit:

``path``
    ``weasyprint.svg.TAGS["path"]``, which draws a ``<path>``. Its only effects are items appended to the
    content stream's operation list (``svg.stream.stream``, through pydyf's ``move_to``/``line_to``/
    ``curve_to``/``close``: plain ``list.append`` of immutable ``bytes``) and to ``node.vertices`` (tuples of
    floats or ``None``, read by marker drawing). What it appends depends only on the ``d`` attribute, on
    ``font_size`` if ``d`` has an ``x`` (an ``ex`` unit; ``em`` and ``rem`` cannot occur, as the path command
    ``m`` splits them) and on ``svg.inner_width``/``inner_height`` if ``d`` has a ``%``: the memo's key. The
    first draw records what it appended, a repeat appends the same items again. Streams that override one of
    pydyf's four methods are drawn by the original.
``transform``
    ``weasyprint.svg.transform``, the transform-string parser ``SVG.get_node_transform_matrix`` calls: a pure
    function of its four arguments. ``Matrix`` is a mutable list, so each call returns a new copy.
``size``
    ``weasyprint.svg.size``, which the ``SVG`` methods (``point``, ``length``) and ``draw_node`` (every
    node's ``font-size``, ``"1em"`` by default) resolve lengths with: pure, returns a number.
``color``
    ``weasyprint.svg.color`` (tinycss2's ``parse_color`` on each fill and stroke): pure, but
    ``set_graphical_state`` multiplies the returned colour's ``alpha`` in place, so each call returns a copy.
``parse_url``
    ``weasyprint.svg.parse_url`` and ``weasyprint.svg.defs.parse_url`` (``draw_node`` parses the ``filter``,
    ``clip-path`` and ``mask`` of every node, ``<use>`` its link): pure, returns an immutable named tuple.
``style``
    ``weasyprint.svg.parse_declarations``, which ``Node.cascade`` runs on every ``style`` attribute: pure;
    returns two new lists of ``(name, value)`` string pairs, as the original does.
``href``
    ``Node.get_href``, the link of every ``<use>``, resolved against the image's URL by
    ``weasyprint.html.parse_url`` (strip, join, percent-encode; no logging with ``allow_relative=True``, as
    here): pure in the two link attributes and the base URL.
``get_child``
    ``Node.get_child(id)`` first asks the element tree ``find(".//*[@id=...]")``, at each level of its
    search, which scans the whole subtree in Python (ElementPath). The stand-in answers that question from a
    set of the ids below each element, built once (the drawing changes only tags and text of the tree, never
    its elements or ids), and otherwise runs the same search over the same nodes.

Font sizes and reference lengths enter keys by ``repr``, so ``0.0`` and ``-0.0`` never share an entry. A call
that raises (a malformed path, which ``draw_node`` cuts short but keeps what was drawn) is not recorded, so it
runs, and fails, the same way each time. The stand-ins rely on WeasyPrint 70.0's code as read; under another
version the context changes nothing and warns.

Measured on a 2-core machine shared with other work (``Document.write_pdf`` alone, 3 runs each; the PDF bytes
identical with and without): the booklet (results/booklet/booklet.html, as render_booklet prints it) 23.9-30.3 s
before, 12.4-13.3 s inside ``faster_svg_drawing()``; results/reports/pca.html 3.8-5.3 s before, 1.8-2.4 s;
results/reports/convolutions.html 6.1-6.8 s before, 3.0-4.5 s. What remains of the SVG time is mostly work
with effects (stream state, node cascade and CSS matching) and the transforms of individual characters, each
distinct.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import islice
from typing import Any

import pydyf
import weasyprint
import weasyprint.svg
import weasyprint.svg.defs
from weasyprint.matrix import Matrix

#: The WeasyPrint version whose SVG code the stand-ins were checked against (pinned in uv.lock).
CHECKED_VERSION = "70.0"
#: The stand-ins, by name (see the module docstring).
MEMOS: tuple[str, ...] = ("path", "transform", "size", "color", "parse_url", "style", "href", "get_child")
#: Entries kept per memo before the oldest are dropped: caps memory on unusually large documents (the booklet
#: needs ~25,000 in the largest, ``size``); never changes an output.
MAX_ENTRIES = 200_000
#: The namespaced link attribute ``Node.get_href`` reads first (then ``href``).
XLINK_HREF = "{http://www.w3.org/1999/xlink}href"
#: The pydyf methods ``path`` draws with: the memo replays only on streams that keep pydyf's plain versions.
PATH_OPERATORS: tuple[str, ...] = ("move_to", "line_to", "curve_to", "close")


@dataclass
class MemoStats:
    """Hits and misses of each memo in one ``faster_svg_drawing()`` context (``get_child``: id sets reused, built)."""

    hits: dict[str, int] = field(default_factory=lambda: dict.fromkeys(MEMOS, 0))
    misses: dict[str, int] = field(default_factory=lambda: dict.fromkeys(MEMOS, 0))


def remember(memo: dict[Any, Any], key: Any, value: Any) -> None:
    """Store ``value`` under ``key``, first dropping the oldest entry if the memo is full."""
    if len(memo) >= MAX_ENTRIES:
        del memo[next(iter(memo))]
    memo[key] = value


def plain_pydyf_stream(stream: Any) -> bool:
    """Whether ``stream`` draws paths with pydyf's own methods, which only append to its ``stream`` list."""
    stream_type = type(stream)
    return isinstance(stream, pydyf.Stream) and all(
        getattr(stream_type, name) is getattr(pydyf.Stream, name) for name in PATH_OPERATORS
    )


def path_key(svg: Any, node: Any, font_size: Any) -> tuple[str, str | None, str | None]:
    """What ``path(svg, node, font_size)``'s output depends on: ``d``, and the font size and inner size if used.

    ``d`` is split at every path command letter before its numbers are read, so a number can carry a unit
    ``%``, ``ex`` or one without letters of a command (``px``, ``in``), never ``em`` or ``rem``: the font size
    matters only with an ``x`` in ``d``, the SVG's inner width and height only with a ``%``.
    """
    d = node.get("d", "")
    uses_font = "x" in d or "X" in d
    uses_inner = "%" in d
    return (
        d,
        repr(font_size) if uses_font else None,
        repr((getattr(svg, "inner_width", None), getattr(svg, "inner_height", None))) if uses_inner else None,
    )


def memoised_path(original: Callable[..., Any], stats: MemoStats) -> Callable[..., None]:
    """A stand-in for WeasyPrint's ``path(svg, node, font_size)`` that replays what it appended on a repeat."""
    memo: dict[tuple[Any, ...], tuple[tuple[Any, ...], tuple[Any, ...]]] = {}
    plain: dict[type, bool] = {}

    def path(svg: Any, node: Any, font_size: Any) -> None:
        """Draw the path node, replaying the stream operations and vertices recorded for an identical one."""
        stream = svg.stream
        if (is_plain := plain.get(type(stream))) is None:
            is_plain = plain[type(stream)] = plain_pydyf_stream(stream)
        if not is_plain or type(svg).point is not weasyprint.svg.SVG.point or not isinstance(stream.stream, list):
            stats.misses["path"] += 1
            original(svg, node, font_size)
            return
        key = path_key(svg, node, font_size)
        operations, vertices = stream.stream, node.vertices
        if (effects := memo.get(key)) is not None:
            stats.hits["path"] += 1
            operations.extend(effects[0])
            vertices.extend(effects[1])
            return
        stats.misses["path"] += 1
        first_operation, first_vertex = len(operations), len(vertices)
        original(svg, node, font_size)  # if it raises, nothing is recorded
        remember(memo, key, (tuple(operations[first_operation:]), tuple(islice(vertices, first_vertex, None))))

    return path


def copy_matrix(matrix: Matrix) -> Matrix:
    """A new ``Matrix`` with the same rows (each a new list)."""
    return Matrix(matrix=[list(row) for row in matrix])


def copy_declarations(parsed: tuple[list[Any], list[Any]]) -> tuple[list[Any], list[Any]]:
    """New lists of the normal and the important declarations (``Node.cascade`` may extend them)."""
    return list(parsed[0]), list(parsed[1])


def copy_color(color: Any) -> Any:
    """A new instance with the same attributes (tinycss2's ``Color`` keeps plain attributes, no slots)."""
    if isinstance(color, str):  # "currentcolor"
        return color
    new = object.__new__(type(color))
    new.__dict__.update(color.__dict__)
    return new


def pure_memo(
    name: str, key: Callable[..., Any], copy: Callable[[Any], Any] | None = None
) -> Callable[[Callable[..., Any], MemoStats], Callable[..., Any]]:
    """What makes the stand-in of a pure WeasyPrint function: it computes each distinct call once.

    ``key`` takes the function's arguments and returns what its result depends on. ``copy``, for a result that
    callers change in place, gives a new copy of it: the memo keeps a copy and hands out copies, never its own.
    """

    def make(original: Callable[..., Any], stats: MemoStats) -> Callable[..., Any]:
        memo: dict[Any, Any] = {}

        def stand_in(*args: Any, **kwargs: Any) -> Any:
            """The original's result for these arguments, computed once."""
            found = key(*args, **kwargs)
            if found in memo:
                stats.hits[name] += 1
                return copy(memo[found]) if copy else memo[found]
            stats.misses[name] += 1
            value = original(*args, **kwargs)
            remember(memo, found, copy(value) if copy else value)
            return value

        return stand_in

    return make


def indexed_get_child(original: Callable[..., Any], stats: MemoStats) -> Callable[..., Any]:
    """A stand-in for ``Node.get_child`` that knows which ids lie below each element without searching.

    The search itself is WeasyPrint 70.0's: the children in order, each checked then searched in turn. Only its
    first step, ``self._etree_node.find(f'.//*[@id="{id_}"]') is None`` (is there a descendant, not the element
    itself, whose ``id`` attribute equals ``id_``?), is answered from the memo. Ids holding a ``"``, which
    ElementPath would read differently, go to the original.
    """
    ids_below: dict[Any, frozenset[Any]] = {}

    def get_child(self: Any, id_: Any) -> Any:
        """Get a child with given id in the whole child tree."""
        if not isinstance(id_, str) or '"' in id_:
            return original(self, id_)
        element = self._etree_node
        if (ids := ids_below.get(element)) is None:
            stats.misses["get_child"] += 1
            ids = frozenset(below.get("id") for below in element.iter() if below is not element)
            remember(ids_below, element, ids)
        else:
            stats.hits["get_child"] += 1
        if id_ not in ids:
            return None
        for child in self:
            if child.get("id") == id_:
                return child
            grandchild = child.get_child(id_)
            if grandchild:
                return grandchild
        return None

    return get_child


#: For each memo: where WeasyPrint keeps the function (object or dict, and name; all replaced) and its stand-in.
TARGETS: dict[str, tuple[tuple[tuple[Any, str], ...], Callable[[Any, MemoStats], Any]]] = {
    "path": (((weasyprint.svg.TAGS, "path"),), memoised_path),
    "transform": (
        ((weasyprint.svg, "transform"),),
        pure_memo(
            "transform",
            lambda string, origin, font_size, diagonal: (string, origin, repr(font_size), repr(diagonal)),
            copy_matrix,
        ),
    ),
    "size": (
        ((weasyprint.svg, "size"),),
        pure_memo(
            "size",
            lambda string, font_size=None, percentage_reference=None: (
                type(string),
                string,
                repr(font_size),
                repr(percentage_reference),
            ),
        ),
    ),
    "color": (((weasyprint.svg, "color"),), pure_memo("color", lambda string: string, copy_color)),
    "parse_url": (
        ((weasyprint.svg, "parse_url"), (weasyprint.svg.defs, "parse_url")),
        pure_memo("parse_url", lambda url: url),
    ),
    "style": (
        ((weasyprint.svg, "parse_declarations"),),
        pure_memo("style", lambda style: style, copy_declarations),
    ),
    "href": (
        ((weasyprint.svg.Node, "get_href"),),
        pure_memo("href", lambda node, base_url: (node.get(XLINK_HREF), node.get("href"), base_url)),
    ),
    "get_child": (((weasyprint.svg.Node, "get_child"),), indexed_get_child),
}


def _get(holder: Any, name: str) -> Any:
    """The function ``holder`` keeps under ``name`` (a dict item, a class's own attribute or a module's)."""
    if isinstance(holder, dict):
        return holder[name]
    if isinstance(holder, type):
        return holder.__dict__[name]
    return getattr(holder, name)


def _set(holder: Any, name: str, value: Any) -> None:
    """Put ``value`` into ``holder`` under ``name``."""
    if isinstance(holder, dict):
        holder[name] = value
    else:
        setattr(holder, name, value)


@contextmanager
def faster_svg_drawing(memos: Collection[str] = MEMOS) -> Iterator[MemoStats]:
    """Draw SVG images with memoised stand-ins for the pure parts of WeasyPrint's SVG code while active.

    ``memos`` picks the stand-ins by name (all of ``MEMOS`` by default). Yields their hit and miss counts. On
    exit, also after an exception, WeasyPrint's own functions are back in place and the memos are dropped.
    Contexts nest; each puts back what it found. Under a WeasyPrint other than ``CHECKED_VERSION`` nothing is
    replaced (a warning says so), since the stand-ins copy that version's behaviour. Not for threads: the
    stand-ins are installed in WeasyPrint's modules, for every caller while the context lasts.
    """
    if unknown := set(memos) - set(MEMOS):
        raise ValueError(f"unknown memos {sorted(unknown)}; choose from {', '.join(MEMOS)}")
    stats = MemoStats()
    if weasyprint.__version__ != CHECKED_VERSION:
        warnings.warn(
            f"faster_svg_drawing was checked against WeasyPrint {CHECKED_VERSION}, not {weasyprint.__version__}: "
            "drawing SVG images without memos",
            RuntimeWarning,
            stacklevel=3,
        )
        yield stats
        return
    saved: list[tuple[Any, str, Any]] = []
    try:
        for name in MEMOS:
            if name not in memos:
                continue
            places, make = TARGETS[name]
            originals = [_get(holder, attribute) for holder, attribute in places]
            stand_in = make(originals[0], stats)
            for (holder, attribute), original in zip(places, originals, strict=True):
                if original is not originals[0]:
                    raise RuntimeError(f"{attribute} differs between the places WeasyPrint keeps it; not replaced")
                saved.append((holder, attribute, original))
                _set(holder, attribute, stand_in)
        yield stats
    finally:
        for holder, attribute, original in reversed(saved):
            _set(holder, attribute, original)
