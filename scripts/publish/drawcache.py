"""Replay what WeasyPrint drew for an SVG figure when the same figure is drawn at the same place again.

Why: after a writer edits one chapter's template, the booklet is laid out and drawn again, and drawing its 30
matplotlib figures is the largest part of that (~8 of ~23 s, even inside ``svgdraw.faster_svg_drawing()``).
The figures have not changed, and those of the other chapters sit where they sat: what WeasyPrint draws for
them is the same as last time. A ``DrawCache`` keeps, for each draw of an SVG image, everything the draw did to
the page's content stream, and a later build that meets the same draw applies it instead of drawing again.

What a draw of an SVG image (``weasyprint.images.SVGImage.draw``) does, and what is kept of it:

- it appends operations (``bytes``) to the stream's list: kept as they are;
- it sets opacities, each an ``ExtGState`` entry ``a<alpha>`` (fill) or ``A<alpha>`` (stroke) that the stream
  adds to the document's resources the first time it is used: the entries its operations name are kept, and
  on replay each missing one is added, in the order the operations first name it, as the draw would;
- it places raster images (matplotlib's ``imshow`` embeds them as ``data:`` URLs): the URL and the arguments of
  ``Stream.add_image`` are kept, and on replay the image is loaded through the document's own image loader
  and added the same way (same name, same entry in the document's list of images);
- it leaves the stream's graphics state (current colour, opacity, font) as its last ``pop_state`` set it:
  kept, and set again on replay.

The key is a digest of what the draw reads: the SVG's bytes, the size it is drawn at, the stream's
transformation matrix and current colour and opacity before the draw (the clip paths and the skipped
repeated colours depend on them), ``salt`` (the caller's PDF options), WeasyPrint's and pydyf's versions and
this module's code. An SVG that refers to another file (an image, a style sheet) is drawn every time: that
file's bytes are not in the key. A draw is kept only if, checked afterwards, it did nothing else: every
operation is ``bytes`` without a line break, the only resources its operations name are its opacities and its
images, it added no font, pattern, shading or group, logged no message, left the operations before it and the
matrix stack as they were and changed no other attribute of the stream. A draw that fails a check (text set
in a font, a hatch pattern or a gradient, a group with an opacity such as a translucent legend frame, a drawing
error) is drawn every time, as without the cache. So a PDF made with the cache is byte for byte the PDF made
without it (a test compares them). Under a WeasyPrint other than the one these checks were written against
(``svgdraw.CHECKED_VERSION``) nothing is kept.

Entries are files ``<key>.draw`` (a JSON line, then the operations, one per line), written atomically; a
damaged one counts as a miss. ``prune`` deletes the entries a build did not use.

Measured on the 2-core machine (the default booklet, its fit cache warm, one process each, 2026-11-29): 23
of the booklet's 31 figure draws are kept (the other 8 show hatching or a translucent group); the build took
22.7 and 25.6 s without the draw cache and 15.8 and 16.3 s with it, the PDF the same bytes.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pydyf
import weasyprint
import weasyprint.images
from weasyprint.pdf.stream import Stream

from kit.io import atomic_path, delete_unused
from publish.svgdraw import CHECKED_VERSION

#: The graphics state the draw's key includes: set operations are skipped when they repeat it.
KEYED_STATE: tuple[str, ...] = ("_current_color", "_current_color_stroke", "_current_alpha", "_current_alpha_stroke")
#: The graphics state a draw leaves (``Stream.pop_state`` resets all of these): set again on replay.
LEFT_STATE: tuple[str, ...] = (*KEYED_STATE, "_current_font")
#: The only operations naming a resource a kept draw may hold: an opacity, or one of its images.
ALPHA_OPERATION = re.compile(rb"/([aA][0-9.e+-]+) gs")
IMAGE_OPERATION = re.compile(rb"/(i[0-9a-f]+[01]) Do")
#: A reference to another file inside an SVG: a link or ``url()`` that is not a ``#fragment`` or a ``data:`` URL,
#: or a style sheet import.
EXTERNAL_REFERENCE = re.compile(rb"""href\s*=\s*["'](?!#|data:)|url\(\s*["']?(?!#|data:)|@import""")
#: Resource kinds a kept draw must not add to (it may add opacities and its images).
UNTOUCHED_RESOURCES: tuple[str, ...] = ("Pattern", "Shading")
SUFFIX = ".draw"


@dataclass
class DrawStats:
    """How the cache served one build: draws replayed, drawn and kept, drawn and not keepable."""

    replayed: int = 0
    kept: int = 0
    not_kept: int = 0


@dataclass
class DrawCache:
    """Kept draws of SVG images, as files in ``folder`` (see the module's doc).

    ``resource(url)`` gives the bytes of the SVG at ``url``, or ``None`` for one that must not be read (then
    its draws are not kept). ``salt`` holds what the caller alone knows (the PDF options).
    """

    folder: Path
    salt: str
    resource: Callable[[str], bytes | None]
    used: set[str] = field(default_factory=set)
    stats: DrawStats = field(default_factory=DrawStats)
    code: str = field(default_factory=lambda: Path(__file__).read_text(encoding="utf-8"))  # in every key

    def key(self, image: Any, stream: Any, width: float, height: float) -> str | None:
        """The digest of what drawing ``image`` on ``stream`` at ``width`` x ``height`` reads; ``None`` when its
        source cannot be read or refers to another file (whose bytes the key would miss).

        The SVG's own URL is not in it: with every reference inside the SVG a ``#fragment`` or a ``data:`` URL,
        the drawing does not depend on where the file lies, so a project moved or run elsewhere (a cluster's
        working folder) keeps the same keys and the same entries."""
        url = str(image._base_url)
        source = url.encode() if url.startswith("data:") else self.resource(url)
        if source is None or EXTERNAL_REFERENCE.search(source):
            return None
        digest = hashlib.sha256()
        for chunk in (
            self.salt,
            weasyprint.__version__,
            pydyf.__version__,
            self.code,
            repr((width, height)),
            repr(stream.ctm),
            repr(tuple(getattr(stream, name) for name in KEYED_STATE)),
        ):
            digest.update(chunk.encode() + b"\0")
        digest.update(hashlib.sha256(source).digest())
        return digest.hexdigest()

    def path(self, key: str) -> Path:
        """Where the draw kept under ``key`` lives."""
        return self.folder / f"{key}{SUFFIX}"

    def get(self, key: str) -> dict[str, Any] | None:
        """The draw kept under ``key``, or ``None`` (absent or damaged)."""
        try:
            head, _, body = self.path(key).read_bytes().partition(b"\n")
            record = json.loads(head)
        except (OSError, ValueError):
            return None
        if not isinstance(record, dict) or not {"alphas", "images", "state", "count"} <= record.keys():
            return None
        operations = body.split(b"\n") if body else []
        if len(operations) != record["count"]:
            return None  # cut short
        record["operations"] = operations
        self.used.add(key)
        return record

    def put(self, key: str, record: dict[str, Any]) -> None:
        """Keep a draw under ``key``."""
        operations = record["operations"]
        head = {name: value for name, value in record.items() if name != "operations"} | {"count": len(operations)}
        with atomic_path(self.path(key)) as tmp:
            tmp.write_bytes(json.dumps(head).encode() + b"\n" + b"\n".join(operations))
        self.used.add(key)

    def prune(self) -> None:
        """Delete the draws this build did not use: the folder stays the size of one build."""
        delete_unused(self.folder, SUFFIX, self.used)


class MessageCounter(logging.Filter):
    """Counts the warnings and errors WeasyPrint logs (a draw that logs one is not kept); lets all through."""

    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def filter(self, record: logging.LogRecord) -> bool:
        """Count ``record`` if it is a warning or worse."""
        if record.levelno >= logging.WARNING:
            self.count += 1
        return True


def simple(value: Any) -> bool:
    """Whether ``value`` survives a JSON round trip as itself (tuples come back as lists, then tuples)."""
    if value is None or isinstance(value, str | bool | int | float):
        return True
    return isinstance(value, tuple) and all(simple(item) for item in value)


def restored(value: Any) -> Any:
    """A value read back from JSON as it was kept (lists were tuples)."""
    return tuple(restored(item) for item in value) if isinstance(value, list) else value


def record_draw(draw: Callable[[], None], image: Any, stream: Any, counter: MessageCounter) -> dict[str, Any] | None:
    """Run ``draw`` (the original draw of ``image`` on ``stream``) and return what it did, or ``None`` if it did
    anything a replay would not repeat exactly (see the module's doc)."""
    context = image._context
    before = dict(vars(stream))
    ctm_stack = list(stream._ctm_stack)
    first = len(stream.stream)
    last_before = stream.stream[-1] if first else None
    resources = {name: list(stream._resources[name]) for name in stream._resources if name != "ColorSpace"}
    images_before = set(stream._images)
    fonts_before = len(stream._fonts)
    urls: dict[int, str] = {}
    placed: list[tuple[str | None, bool, float, str]] = []
    load = context.get_image_from_uri if context is not None else None
    add_image = stream.add_image

    def loading(*args: Any, **kwargs: Any) -> Any:
        loaded = load(*args, **kwargs)
        urls[id(loaded)] = kwargs.get("url", args[0] if args else None)
        return loaded

    def adding(raster: Any, interpolate: bool, ratio: float) -> str:
        name = add_image(raster, interpolate, ratio)
        url = urls.get(id(raster)) if type(raster) is weasyprint.images.RasterImage else None
        placed.append((url, interpolate, ratio, name))
        return name

    messages = counter.count
    if context is not None:
        context.get_image_from_uri = loading
    stream.add_image = adding
    try:
        draw()
    finally:
        del stream.add_image
        if context is not None:
            context.get_image_from_uri = load
    operations = stream.stream[first:]
    after = vars(stream)
    if (
        counter.count != messages
        or len(stream.stream) < first
        or (first and stream.stream[first - 1] is not last_before)
        or stream._ctm_stack != ctm_stack
        or len(stream._fonts) != fonts_before
        or after.keys() != before.keys()
        or any(after[name] is not before[name] for name in after if name not in (*LEFT_STATE, "_ctm_stack"))
        or not all(simple(getattr(stream, name)) for name in LEFT_STATE)
        or stream._current_font is not None
        or any(not isinstance(operation, bytes) or b"\n" in operation for operation in operations)
        or any(url is None or not simple((url, interpolate, ratio)) for url, interpolate, ratio, _ in placed)
    ):
        return None
    names = {name for *_, name in placed}
    alphas: dict[str, list[Any]] = {}
    for operation in operations:
        if b"/" not in operation:
            continue
        if match := ALPHA_OPERATION.fullmatch(operation):
            key = match[1].decode()
            state = stream._resources["ExtGState"].get(key)
            if not isinstance(state, pydyf.Dictionary) or len(state) != 1:
                return None
            ((entry, value),) = state.items()
            if entry not in ("ca", "CA") or not isinstance(value, int | float) or isinstance(value, bool):
                return None
            alphas.setdefault(key, [key, entry, value])
        elif not ((match := IMAGE_OPERATION.fullmatch(operation)) and match[1].decode() in names):
            return None
    added = {name: set(stream._resources[name]).difference(keys) for name, keys in resources.items()}
    if (
        stream._resources.keys() - {"ColorSpace"} != resources.keys()
        or any(added.get(name) for name in UNTOUCHED_RESOURCES)
        or not added.get("ExtGState", set()) <= alphas.keys()
        or not added.get("XObject", set()) <= names
        or not set(stream._images) - images_before <= names
    ):
        return None
    return {
        "operations": operations,
        "alphas": list(alphas.values()),
        "images": [[url, interpolate, ratio, name] for url, interpolate, ratio, name in placed],
        "state": {name: getattr(stream, name) for name in LEFT_STATE},
    }


def replay(record: dict[str, Any], image: Any, stream: Any) -> bool:
    """Do to ``stream`` what the kept draw did; False (and nothing done) if one of its images does not load as
    it did then."""
    context = image._context
    rasters = []
    for url, interpolate, ratio, name in record["images"]:
        raster = context.get_image_from_uri(url=url, forced_mime_type="image/*") if context is not None else None
        if type(raster) is not weasyprint.images.RasterImage or f"i{raster.id}{int(interpolate)}" != name:
            return False
        rasters.append((raster, interpolate, ratio))
    states = stream._resources["ExtGState"]
    for key, entry, value in record["alphas"]:
        if key not in states:
            states[key] = pydyf.Dictionary({entry: value})
    for raster, interpolate, ratio in rasters:
        stream.add_image(raster, interpolate, ratio)
    stream.stream.extend(record["operations"])
    for name, value in record["state"].items():
        setattr(stream, name, restored(value))
    return True


@contextmanager
def cached_svg_drawing(cache: DrawCache | None) -> Iterator[DrawStats | None]:
    """Draw SVG images through ``cache`` while active (nothing changes when it is ``None``).

    Yields the cache's counts. Not for threads: the stand-in is installed on WeasyPrint's ``SVGImage`` class for
    every caller while the context lasts; on exit, also after an exception, the original is back.
    """
    if cache is None or weasyprint.__version__ != CHECKED_VERSION:
        yield None if cache is None else cache.stats
        return
    original = weasyprint.images.SVGImage.draw
    counter = MessageCounter()
    logger = logging.getLogger("weasyprint")
    depth = 0

    def draw(self: Any, stream: Any, concrete_width: float, concrete_height: float, style: Any) -> None:
        """Replay the kept draw of this image at this place, or draw it and keep what it did."""
        nonlocal depth

        def drawing() -> None:
            original(self, stream, concrete_width, concrete_height, style)

        key = None if depth or type(stream) is not Stream else cache.key(self, stream, concrete_width, concrete_height)
        if key is None:
            drawing()
            if not depth:
                cache.stats.not_kept += 1
            return
        record = cache.get(key)
        if record is not None and replay(record, self, stream):
            cache.stats.replayed += 1
            return
        depth += 1
        try:
            record = record_draw(drawing, self, stream, counter)
        finally:
            depth -= 1
        if record is None:
            cache.stats.not_kept += 1
        else:
            cache.put(key, record)
            cache.stats.kept += 1

    logger.addFilter(counter)
    weasyprint.images.SVGImage.draw = draw
    try:
        yield cache.stats
    finally:
        weasyprint.images.SVGImage.draw = original
        logger.removeFilter(counter)
