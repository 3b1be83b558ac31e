"""Print fitting: close the holes that unbreakable blocks leave at the foot of a page, the way a typesetter would.

CSS keeps a figure (or a boxed note, or a short table) whole: when it does not fit in what is left of a page it
moves to the next one, and the page it leaves is partly blank. No CSS rule that WeasyPrint knows can move a
figure down the text (there are no page floats), so after laying the document out, ``fit`` looks at each page
whose body is more than ``FIT_BLANK`` blank below its last line and fixes the block that was pushed off it,
then lays the document out again:

1. a figure whose images can shrink to fit the hole, keeping at least ``MIN_SCALE`` of their height, is shrunk
   (a ``max-height`` on each image);
2. otherwise the block moves down past the paragraphs and lists that follow it in its section, as many as it
   takes to fill the hole (the text moves up into the hole: what LaTeX does with a float);
3. otherwise a table or a boxed block may break across the pages (a table repeats its header), and a figure
   shrinks as far as ``LAST_RESORT_SCALE``.

A page that ends before a forced break (a chapter, or a handout's answers, starting on a new page) ends where its
part's text ends. When that leaves it more than ``FIT_BLANK`` blank and the part holds a stretchable block (class
``fit-stretch``: a handout's appendix), that block is set a little larger or smaller, every font size in it scaled
alike within ``STRETCH_LIMITS``, until its part ends low enough on a page: a typesetter's loose or tight setting.
Growing fills the page; shrinking pulls a few lines back onto the page before. A part with nothing to stretch (a
booklet's chapter) keeps its short last page. A last page left nearly empty (more than ``NEAR_EMPTY`` blank) by a
few lines of the last part is avoided too: that part is set a little tighter (print.css's ``fit-tight-1`` and
``fit-tight-2`` classes), if that leaves no nearly empty page at the end.

A document made of parts that each start on a page of their own (class ``fit-part``: the booklet's cover,
contents, chapters, answers and appendix, children of one element) is fitted part by part first: each part is laid
out alone, the others taken out of the tree for that while, so a pass costs a fraction of the whole booklet and a
part with many holes no longer makes every other part be laid out again with it. A part starting on a new page
lays out the same alone as in the document, so the whole document, laid out once after that, normally finds
nothing left to fix (if it does, it fixes it as above). A ``FitCache`` keeps each fitted part under a digest of
everything its layout depends on (its markup, the page's head and styles, the images it shows, this module's
code, WeasyPrint's version): a booklet rebuilt after one chapter's template changed fits that chapter alone and
takes the others as they were fitted before, the same parts in the same bytes as a run without the cache.

The fixes act on WeasyPrint's parsed copy of the page only: the HTML file a browser reads is unchanged. The same
page always gets the same fixes, so the PDF stays byte for byte the same.
"""

from __future__ import annotations

import copy
import hashlib
import math
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import weasyprint
from weasyprint.formatting_structure import boxes

from kit.io import atomic_path, delete_unused

#: A page may be at most this share blank below its last line before ``fit`` steps in (the layout check in
#: scripts/tools/layout.py allows 25 %, measured on the printed page; this leaves room for rounding).
FIT_BLANK = 0.2
#: A figure is shrunk into a hole only if its images keep at least this share of their height ...
MIN_SCALE = 0.7
#: ... or this share, when neither moving it nor anything else can fill the hole.
LAST_RESORT_SCALE = 0.55
#: A last page more blank than this is nearly empty (scripts/tools/layout.py checks the booklet's with 75 %).
NEAR_EMPTY = 0.7
#: The classes that set the last part tighter, in order (print.css).
TIGHTER = ("fit-tight-1", "fit-tight-2")
#: The class of a block whose type may be scaled to fill the page before a forced break (base.html.j2 gives it to
#: the appendix), and the least and most it is scaled: beyond these the setting would look out of place.
STRETCH_CLASS = "fit-stretch"
STRETCH_LIMITS = (0.85, 1.15)
#: The class of a part that starts on a page of its own and is fitted alone first (see the module's doc).
PART_CLASS = "fit-part"
#: How far above the foot of the page before a shrunk block aims to end (a share of the body's height).
SLACK_PAGE = 0.04
#: Scales tried per stretchable block at most (each is one layout pass).
MAX_STRETCH_TRIES = 6
#: Layout passes at most (each fixes the first hole of every part).
MAX_PASSES = 30
#: Fixes tried on one block at most (moving it further down, then shrinking it).
MAX_TRIES = 4
#: Room left when shrinking or moving (CSS px): rounding, and the block's top margin, which is dropped at the
#: top of a page but counts at the foot of the one before.
SLACK_PX = 6.0

FORCED_BREAKS = frozenset({"page", "left", "right", "recto", "verso"})
AVOID = frozenset({"avoid", "avoid-page"})
HEADINGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})
#: Blocks a pushed block may move past: running text, tables, boxed notes (never another figure, which would
#: swap the figure numbers, nor a heading except those opening the next section).
FLOWING = frozenset({"p", "ul", "ol", "dl", "blockquote", "pre", "div", "table", "aside"})


@dataclass
class PageView:
    """What ``fit`` needs of one laid-out page."""

    top: float  # the body's top (CSS px from the page's top)
    bottom: float  # the body's bottom
    last: float  # the bottom of the last line or image on the page
    elements: set[int]  # ids of the elements with a box on this page
    root: Any  # the page's root box (<html>)

    @property
    def blank(self) -> float:
        """The share of the body's height left blank below the last line."""
        return (self.bottom - self.last) / (self.bottom - self.top)


def walk(box: Any) -> Iterator[Any]:
    """``box`` and every box below it, in document order."""
    yield box
    for child in getattr(box, "children", ()):
        yield from walk(child)


def detach(parent: Any, element: Any) -> Any:
    """Take ``element`` out of ``parent`` (an ElementTree element), keeping the text that followed it (its
    ``tail``) where it was; return the element, tail cleared, ready to insert elsewhere."""
    siblings = list(parent)
    position = siblings.index(element)
    if position:
        siblings[position - 1].tail = (siblings[position - 1].tail or "") + (element.tail or "")
    else:
        parent.text = (parent.text or "") + (element.tail or "")
    parent.remove(element)
    element.tail = None
    return element


def box_bottom(box: Any) -> float:
    """The bottom of a line (its line box) or of anything else that prints (its border box)."""
    if isinstance(box, boxes.LineBox):
        return box.position_y + box.height
    return box.border_box_y() + box.border_height()


def inked(box: Any) -> bool:
    """Whether a box prints something of its own: a line, an image, or a block with a background or a border
    (a boxed note, a table's rules). The page's root and body are left out: their background is the paper."""
    if isinstance(box, boxes.LineBox | boxes.ReplacedBox):
        return True
    if box.element_tag in ("html", "body") or not isinstance(box, boxes.BlockLevelBox | boxes.TableCellBox):
        return False
    if getattr(box, "children", None) and not isinstance(box, boxes.TableCellBox) and box.border_bottom_width == 0:
        # A box that holds blocks and draws no rule at its foot (a boxed note continued on the next page draws its
        # side borders down to the page's foot): what it holds is its ink, not its sides.
        return False
    borders = (box.border_top_width, box.border_bottom_width, box.border_left_width, box.border_right_width)
    return getattr(box, "background", None) is not None or any(width > 0 for width in borders)


def view(page: Any) -> PageView:
    """Measure one page of a WeasyPrint document."""
    page_box = page._page_box
    top = page_box.content_box_y()
    root = page_box.children[0]
    every = list(walk(root))
    ink = [box_bottom(box) for box in every if inked(box)]
    elements = {id(box.element) for box in every if box.element is not None}
    return PageView(top, top + page_box.height, max(ink, default=top), elements, root)


def part_opener(page: PageView, before: PageView) -> Any:
    """The element that starts ``page`` with a forced break (a block first on the page, not continued from the
    page ``before``, asking for a page break before itself: ``break-before: page``), or ``None``."""
    box = page.root
    while True:
        if (
            box.element is not None
            and id(box.element) not in before.elements
            and box.style["break_before"] in FORCED_BREAKS
        ):
            return box.element
        children = [child for child in getattr(box, "children", ()) if not isinstance(child, boxes.LineBox)]
        if not children:
            return None
        box = children[0]


def starts_part(page: PageView, before: PageView) -> bool:
    """Whether ``page`` begins with a forced break (see ``part_opener``)."""
    return part_opener(page, before) is not None


def pushed_block(page: PageView) -> tuple[list[Any], Any] | None:
    """The unbreakable block that opens ``page`` (with the headings kept before it), or ``None`` when the page
    opens with running text.

    Found by walking down the first blocks of the page: headings are carried along (``break-after: avoid``
    keeps them with what follows); the first block that avoids breaking inside, or an image, is the one.
    """
    box, carried = page.root, []
    while True:
        children = list(getattr(box, "children", ()))
        if not children or isinstance(children[0], boxes.LineBox):
            return None
        index = 0
        while index < len(children) and children[index].element_tag in HEADINGS:
            carried.append(children[index])
            index += 1
        if index == len(children):
            return None
        box = children[index]
        if box.style["break_inside"] in AVOID or isinstance(box, boxes.ReplacedBox):
            if isinstance(box, boxes.TableRowBox | boxes.TableRowGroupBox | boxes.TableCellBox):
                return None  # a table's own rows: the table already breaks
            return carried, box


class Fixer:
    """Applies fixes to the parsed page (an ElementTree) and remembers how often each block was fixed."""

    def __init__(self, root: Any) -> None:
        self.root = root
        self.tries: dict[int, int] = {}

    def parent(self, element: Any) -> Any:
        """The parent of ``element`` (ElementTree keeps no parent links)."""
        for candidate in self.root.iter():
            for child in candidate:
                if child is element:
                    return candidate
        return None

    @staticmethod
    def add_style(element: Any, declaration: str) -> None:
        """Append a declaration to the element's ``style`` attribute (inline style wins over the sheets)."""
        style = (element.get("style") or "").strip().rstrip(";")
        element.set("style", f"{style}; {declaration}" if style else declaration)

    @staticmethod
    def images(block: Any) -> list[Any]:
        """The image boxes inside a block."""
        return [box for box in walk(block) if isinstance(box, boxes.ReplacedBox) and box.element_tag == "img"]

    def shrink(self, block: Any, room: float, need: float, least: float) -> bool:
        """Shrink the block's images so that it fits ``room``, if they keep at least ``least`` of their height."""
        images = self.images(block)
        if not images:
            return False
        span = max(box.position_y + box.margin_height() for box in images) - min(box.position_y for box in images)
        if span <= 0:
            return False
        scale = (room - (need - span)) / span
        if scale < least:
            return False
        for box in images:
            self.add_style(box.element, f"max-height: {box.height * min(scale, 1.0) - 0.5:.1f}px")
        return True

    @staticmethod
    def passable(element: Any) -> bool:
        """Whether a pushed block may move past ``element``: text, a table or a note, with no figure inside."""
        return element.tag in FLOWING and next(element.iter("figure"), None) is None

    def following(self, element: Any, page: PageView) -> Iterator[tuple[Any, Any]]:
        """The blocks after ``element`` it may move past, as (their parent, block): the running text after it in
        its parent and, if that is all, the start of the next section (its headings, then its running text),
        provided that section continues on ``page`` without a forced break."""
        parent = self.parent(element)
        if parent is None:
            return
        siblings = [child for child in parent if isinstance(child.tag, str)]
        rest = siblings[siblings.index(element) + 1 :]
        for sibling in rest:
            if not self.passable(sibling):
                return
            yield parent, sibling
        grandparent = self.parent(parent)
        if grandparent is None:
            return
        uncles = [child for child in grandparent if isinstance(child.tag, str)]
        after = uncles[uncles.index(parent) + 1 :]
        if not after or after[0].tag not in ("section", "div"):
            return
        section = after[0]
        opening = [box for box in walk(page.root) if box.element is section]
        if not opening or opening[0].style["break_before"] in FORCED_BREAKS:
            return
        children = [child for child in section if isinstance(child.tag, str)]
        index = 0
        while index < len(children) and children[index].tag in HEADINGS:
            yield section, children[index]
            index += 1
        for child in children[index:]:
            if not self.passable(child):
                return
            yield section, child

    def move_down(self, block: Any, room: float, page: PageView) -> bool:
        """Move the block after the running text that follows it, enough to fill ``room`` (see ``following``)."""
        element = block.element
        heights = {id(box.element): box.margin_height() for box in walk(page.root) if box.element is not None}
        target, filled = None, 0.0
        for container, sibling in self.following(element, page):
            target = (container, sibling)
            filled += heights.get(id(sibling), room)  # not on this page: it is further down, so enough
            if filled >= room and sibling.tag not in HEADINGS:
                break
        if target is None or target[1].tag in HEADINGS:
            return False
        detach(self.parent(element), element)
        container, sibling = target
        element.tail, sibling.tail = sibling.tail, "\n"
        container.insert(list(container).index(sibling) + 1, element)
        return True

    def fix(self, page: PageView, next_page: PageView) -> bool:
        """Fix the hole at the foot of ``page``; False when nothing can be done."""
        found = pushed_block(next_page)
        if found is None:
            return False
        carried, block = found
        tries = self.tries.get(id(block.element), 0)
        if tries >= MAX_TRIES:
            return False
        self.tries[id(block.element)] = tries + 1
        room = page.bottom - page.last - SLACK_PX
        need = block.margin_height() + sum(box.margin_height() for box in carried) + SLACK_PX
        if need <= room:
            return False  # it would fit: something else keeps it off the page
        if self.shrink(block, room, need, MIN_SCALE) or self.move_down(block, page.bottom - page.last, next_page):
            return True
        if block.element_tag != "figure" and block.element_tag != "img":
            self.add_style(block.element, "break-inside: auto")
            return True
        return self.shrink(block, room, need, LAST_RESORT_SCALE)


def fit(
    root: Any,
    lay_out: Callable[[], Any],
    max_blank: float = FIT_BLANK,
    cache: FitCache | None = None,
    lay_out_part: Callable[[], Any] | None = None,
) -> Any:
    """Lay the document out with ``lay_out``, fix holes until none is left that can be fixed, and avoid a nearly
    empty last page (see the module's doc).

    ``root`` is the parsed page (``weasyprint.HTML(...).etree_element``) that ``lay_out`` renders; fixes change
    it in place. Parts (``PART_CLASS``) are fitted alone first with ``lay_out_part`` (default ``lay_out``; a
    part alone links to pages of parts that are out of the tree, which the caller may want to hear nothing
    of), or taken from ``cache`` when it holds them.
    """
    fitted_alone = fit_parts(root, lay_out_part or lay_out, max_blank, cache)
    fixer = Fixer(root)
    document = fill_part_ends(fixer, lay_out, fix_holes(fixer, lay_out, max_blank), max_blank)
    pages = [view(page) for page in document.pages]
    if fitted_alone or not nearly_empty_end(pages):
        return document  # (parts fitted alone: the last one's last page was seen to then)
    opener = next(
        (
            part_opener(pages[i], pages[i - 1])
            for i in range(len(pages) - 1, 0, -1)
            if starts_part(pages[i], pages[i - 1])
        ),
        None,
    )
    if opener is None:
        return document
    # Nothing helped: keep the first layout (a laid-out document no longer depends on the parsed page).
    return tighten_end(fixer, lay_out, document, opener, max_blank) or document


def nearly_empty_end(pages: list[PageView]) -> bool:
    """Whether the last page is nearly empty (``NEAR_EMPTY``) and does not start a part of its own."""
    return len(pages) >= 2 and pages[-1].blank > NEAR_EMPTY and not starts_part(pages[-1], pages[-2])


def tighten_end(fixer: Fixer, lay_out: Callable[[], Any], document: Any, opener: Any, max_blank: float) -> Any:
    """The layout with the last part (opened by ``opener``) set tighter, one ``TIGHTER`` class after the other,
    as soon as that leaves no nearly empty last page; ``None`` when none does (the tree then holds the last
    try: a caller that keeps the tree restores it)."""
    pages = len(document.pages)
    original = opener.get("class")
    for name in TIGHTER:
        opener.set("class", f"{original} {name}" if original else name)
        tighter = fix_holes(fixer, lay_out, max_blank)
        if len(tighter.pages) < pages or view(tighter.pages[-1]).blank <= NEAR_EMPTY:
            return tighter
    return None


def fix_holes(fixer: Fixer, lay_out: Callable[[], Any], max_blank: float) -> Any:
    """Lay the document out and fix holes until none is left that can be fixed.

    Each pass fixes the first hole of every part (the pages between two forced breaks): a fix moves everything
    after it within its part, so later holes are measured again on the next pass.
    """
    document = lay_out()
    for _ in range(MAX_PASSES):
        pages = [view(page) for page in document.pages]
        fixed = False
        waiting = True  # no hole fixed yet in the current part
        for index in range(len(pages) - 1):
            page, after = pages[index], pages[index + 1]
            if starts_part(after, page):
                waiting = True
                continue
            if waiting and page.blank > max_blank and fixer.fix(page, after):
                fixed, waiting = True, False
        if not fixed:
            break
        document = lay_out()
    return document


# --------------------------------------------------------------------------------------------------------
# Filling the page before a forced break: a stretchable block set looser or tighter
# --------------------------------------------------------------------------------------------------------


def holes(pages: list[PageView], max_blank: float) -> int:
    """How many pages but the last are more than ``max_blank`` blank (part ends included)."""
    return sum(page.blank > max_blank for page in pages[:-1])


def short_part_end(pages: list[PageView], max_blank: float, root: Any, done: set[int]) -> Any:
    """The stretchable block (not yet tried: ``done``) on the first page that ends a part more than
    ``max_blank`` blank; ``None`` when there is none."""
    stretchable = [element for element in root.iter() if STRETCH_CLASS in (element.get("class") or "").split()]
    for index in range(len(pages) - 1):
        page = pages[index]
        if page.blank <= max_blank or not starts_part(pages[index + 1], page):
            continue
        for element in stretchable:
            if id(element) in page.elements and id(element) not in done:
                return element
    return None


def end_position(element: Any, pages: list[PageView]) -> float:
    """Where ``element`` ends, in pages: the index of its last page plus how far down that page's body it fills."""
    index = max(number for number, page in enumerate(pages) if id(element) in page.elements)
    return index + 1 - pages[index].blank


def span_in_pages(element: Any, pages: list[PageView]) -> float:
    """How many pages' worth of body ``element`` fills, from its first line to the foot of its last one."""
    total = 0.0
    last = max(number for number, page in enumerate(pages) if id(element) in page.elements)
    for number, page in enumerate(pages[: last + 1]):
        tops = [box.position_y for box in walk(page.root) if box.element is element]
        if tops:
            bottom = page.last if number == last else page.bottom
            total += max(0.0, bottom - min(tops)) / (page.bottom - page.top)
    return total


def next_scale(tried: list[tuple[float, float]], target: float, span: float) -> float | None:
    """The next scale to try for a block that should end at ``target`` (in pages, see ``end_position``), from
    the (scale, end) pairs ``tried``: between the two nearest tries on either side of the target when there
    are such, else along the slope of the last two (at first: the block grows with its scale), held within
    ``STRETCH_LIMITS`` (lines that wrap anew and blocks that move whole make the block grow faster than its
    scale, so the limit itself is worth a try). ``None`` when that repeats a try."""
    below = [pair for pair in tried if pair[1] < target]
    above = [pair for pair in tried if pair[1] > target]
    if below and above:
        (s0, e0), (s1, e1) = max(below, key=lambda pair: pair[1]), min(above, key=lambda pair: pair[1])
    elif len(tried) >= 2 and tried[-1][1] != tried[-2][1]:
        (s0, e0), (s1, e1) = tried[-2], tried[-1]
    else:
        (s0, e0), (s1, e1) = tried[-1], (tried[-1][0] + 1.0, tried[-1][1] + span)
    low, high = STRETCH_LIMITS
    scale = min(max(s0 + (target - e0) * (s1 - s0) / (e1 - e0), low), high)
    if any(abs(scale - done) < 1e-3 for done, _ in tried):
        return None
    return scale


def font_sizes(element: Any, pages: list[PageView]) -> dict[int, tuple[Any, float]]:
    """Each element inside ``element`` (itself included) with the font size it was laid out at (CSS px)."""
    inside = {id(node): node for node in element.iter() if isinstance(node.tag, str)}
    sizes: dict[int, tuple[Any, float]] = {}
    for page in pages:
        for box in walk(page.root):
            key = id(box.element) if box.element is not None else None
            if key in inside and key not in sizes:
                sizes[key] = (inside[key], float(box.style["font_size"]))
    return sizes


def fill_part_ends(fixer: Fixer, lay_out: Callable[[], Any], document: Any, max_blank: float) -> Any:
    """Fill each page that ends a part short (see the module's doc) by scaling the stretchable block on it.

    A scale is kept when it leaves fewer holes than before (the short page filled or gone, no new hole made);
    otherwise the block keeps its size.
    """
    done: set[int] = set()
    while True:
        pages = [view(page) for page in document.pages]
        element = short_part_end(pages, max_blank, fixer.root, done)
        if element is None:
            return document
        done.add(id(element))
        sizes = font_sizes(element, pages)
        styles = {key: node.get("style") for key, (node, _) in sizes.items()}
        before = holes(pages, max_blank)
        end = end_position(element, pages)
        # Grow until the last page is filled to the middle of the allowed band, or (when that is too far) shrink
        # until the lines on it move back to the foot of the page before.
        targets = [math.floor(end) + 1 - max_blank / 2, math.floor(end) - SLACK_PAGE]
        span = span_in_pages(element, pages)
        target = min(targets, key=lambda wanted: abs(wanted - end))
        if not STRETCH_LIMITS[0] <= 1 + (target - end) / span <= STRETCH_LIMITS[1]:
            target = max(targets, key=lambda wanted: abs(wanted - end))
        tried, kept = [(1.0, end)], False
        for _ in range(MAX_STRETCH_TRIES):
            scale = next_scale(tried, target, span)
            if scale is None:
                break
            for key, (node, size) in sizes.items():
                node.set("style", styles[key] or "")
                Fixer.add_style(node, f"font-size: {size * scale:.2f}px")
            trial = lay_out()
            trial_pages = [view(page) for page in trial.pages]
            if holes(trial_pages, max_blank) < before:
                document, kept = trial, True
                break
            tried.append((scale, end_position(element, trial_pages)))
        if not kept:
            # Nothing helped: the block keeps its size (the laid-out document is the one from before the tries).
            for key, (node, _) in sizes.items():
                if styles[key] is None:
                    node.attrib.pop("style", None)
                else:
                    node.set("style", styles[key])


# --------------------------------------------------------------------------------------------------------
# Parts fitted alone, and kept in a cache
# --------------------------------------------------------------------------------------------------------


def markup(element: Any) -> str:
    """An element and what it holds as XML text, its tail left out (the tail belongs to the parent)."""
    tail, element.tail = element.tail, None
    try:
        return ET.tostring(element, encoding="unicode")
    finally:
        element.tail = tail


class FitCache:
    """Fitted parts kept as files (``<digest>.xml``) in ``folder``, by a digest of what their layout depends on.

    Why a cache: fitting takes several layout passes, and a writer who edits one chapter's template should
    wait for that chapter only. Why it does not change a result: the digest covers everything the part's layout
    reads from the page and its files (see ``key``), so a part found in the cache is the part a fresh fit would
    make, and a change to any of it is a miss. The fonts installed on the machine are not in it: a clean
    ``results/`` starts the cache afresh. ``salt`` adds what the caller alone knows (the page size, the PDF
    options). Files are written atomically, and an unreadable one counts as a miss.
    """

    def __init__(self, folder: str | Path, salt: str, resource: Callable[[str], bytes]) -> None:
        self.folder = Path(folder)
        self.salt = salt
        self.resource = resource  # the bytes of an image the part shows, by its src
        self.used: set[str] = set()  # the keys this build read or wrote

    def key(self, root: Any, part: Any, parents: dict[Any, Any], place: str) -> str:
        """The digest of the part's markup and of everything around it that its layout reads: the page's head
        (its style sheets), the elements that hold it (their classes and styles), the images it shows, this
        module's code, WeasyPrint's version, and ``place`` (whether it is the last part, which is fitted more)."""
        digest = hashlib.sha256()
        for chunk in (self.salt, place, weasyprint.__version__, Path(__file__).read_text(encoding="utf-8")):
            digest.update(chunk.encode() + b"\0")
        head = root.find("head")
        digest.update((markup(head) if head is not None else "").encode() + b"\0")
        holder = parents.get(part)
        while holder is not None:
            digest.update(repr((holder.tag, sorted(holder.attrib.items()))).encode() + b"\0")
            holder = parents.get(holder)
        digest.update(markup(part).encode() + b"\0")
        for image in part.iter("img"):
            source = image.get("src") or ""
            if not source.startswith("data:"):
                digest.update(hashlib.sha256(self.resource(source)).digest())
        return digest.hexdigest()

    def get(self, key: str) -> Any:
        """The fitted part stored under ``key``, or ``None``."""
        path = self.folder / f"{key}.xml"
        if not path.is_file():
            return None
        try:
            fitted = ET.fromstring(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ET.ParseError):
            return None  # damaged (cut short, edited): fitted again and written anew
        self.used.add(key)
        return fitted

    def put(self, key: str, part: Any) -> None:
        """Keep a fitted part under ``key``."""
        with atomic_path(self.folder / f"{key}.xml") as tmp:
            tmp.write_text(markup(part), encoding="utf-8")
        self.used.add(key)

    def prune(self) -> None:
        """Delete the parts this build did not use (older versions of its parts): the folder stays the size of
        one build."""
        delete_unused(self.folder, ".xml", self.used)


@contextmanager
def alone(holder: Any, part: Any) -> Iterator[None]:
    """Leave ``part`` the only child of ``holder`` for the block's duration (its siblings, with their tails,
    come back in place afterwards)."""
    children = list(holder)
    holder[:] = [part]
    try:
        yield
    finally:
        holder[:] = children


def fit_parts(root: Any, lay_out: Callable[[], Any], max_blank: float, cache: FitCache | None) -> bool:
    """Fit every part (``PART_CLASS``) alone, or take its fitted copy from ``cache``; False when there is none.

    The parts must be the children of one element: each is laid out alone while the others are out of the tree.
    Holes are fixed (``fix_holes``), and the last part, whose last page is the document's, is set tighter when
    that page would be nearly empty (``tighten_end``), as ``fit`` does for a whole document.
    """
    parents = {child: parent for parent in root.iter() for child in parent}
    parts = [element for element in root.iter() if PART_CLASS in (element.get("class") or "").split()]
    if len({id(parents[part]) for part in parts}) > 1:
        raise ValueError(f"the {PART_CLASS} blocks must be the children of one element")
    for number, part in enumerate(parts, start=1):
        holder, last = parents[part], number == len(parts)
        key = cache.key(root, part, parents, f"last part: {last}") if cache is not None else ""
        fitted = cache.get(key) if cache is not None else None
        if fitted is None:
            fitted = fit_alone(root, holder, part, lay_out, max_blank, last)
            if cache is not None:
                cache.put(key, fitted)
        fitted.tail = part.tail
        holder[list(holder).index(part)] = fitted
    return bool(parts)


def fit_alone(root: Any, holder: Any, part: Any, lay_out: Callable[[], Any], max_blank: float, last: bool) -> Any:
    """The part fitted alone (``part`` itself, changed in place, or a copy of it as it was when setting the last
    part tighter did not help)."""
    with alone(holder, part):
        fixer = Fixer(root)
        document = fix_holes(fixer, lay_out, max_blank)
        if not last or not nearly_empty_end([view(page) for page in document.pages]):
            return part
        before = copy.deepcopy(part)
        if tighten_end(fixer, lay_out, document, part, max_blank) is not None:
            return part
    return before
