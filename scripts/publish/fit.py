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

A page that ends before a forced break (a chapter, the answers or the appendix starting on a new page) is left
as it is, as is the last page. But a last page left nearly empty (more than ``NEAR_EMPTY`` blank) by a few lines
of the last part (the appendix) is avoided: that part is set a little tighter (print.css's ``fit-tight-1`` and
``fit-tight-2`` classes), if that leaves no nearly empty page at the end.

The fixes act on WeasyPrint's parsed copy of the page only: the HTML file a browser reads is unchanged. The same
page always gets the same fixes, so the PDF stays byte for byte the same.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from weasyprint.formatting_structure import boxes

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
        parent = self.parent(element)
        siblings = list(parent)
        position = siblings.index(element)
        if position:
            siblings[position - 1].tail = (siblings[position - 1].tail or "") + (element.tail or "")
        else:
            parent.text = (parent.text or "") + (element.tail or "")
        parent.remove(element)
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


def fit(root: Any, lay_out: Callable[[], Any], max_blank: float = FIT_BLANK) -> Any:
    """Lay the document out with ``lay_out``, fix holes until none is left that can be fixed, and avoid a nearly
    empty last page (see the module's doc).

    ``root`` is the parsed page (``weasyprint.HTML(...).etree_element``) that ``lay_out`` renders; fixes change
    it in place.
    """
    fixer = Fixer(root)
    document = fix_holes(fixer, lay_out, max_blank)
    pages = [view(page) for page in document.pages]
    if len(pages) < 2 or pages[-1].blank <= NEAR_EMPTY or starts_part(pages[-1], pages[-2]):
        return document
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
    original = opener.get("class")
    for name in TIGHTER:
        opener.set("class", f"{original} {name}" if original else name)
        tighter = fix_holes(fixer, lay_out, max_blank)
        if len(tighter.pages) < len(pages) or view(tighter.pages[-1]).blank <= NEAR_EMPTY:
            return tighter
    # Nothing helped: keep the first layout (a laid-out document no longer depends on the parsed page).
    return document


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
