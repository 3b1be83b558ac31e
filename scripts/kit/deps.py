"""What a script or a template depends on inside the project, read from the code itself.

The workflow lists these files as inputs of the rule that runs the script (or renders the template), so that
editing a shared module reruns exactly the steps that import it, and no list typed by hand can go stale:

* ``project_modules(script)``: every module of ``scripts/`` that the script imports, directly or through
  another project module, including the ``__init__.py`` of each package on the way (Python runs those too);
* ``template_files(name)``: every template a Jinja2 template extends, includes or imports, recursively.

Both read the source (the ``ast`` of a script, Jinja2's parser for a template); nothing is executed. What one file
refers to is remembered by its path, modification time (ns) and size; ``load_scan_cache``/``save_scan_cache`` keep
that memory in a file between runs (the workflow's ``.snakemake/``), so a run parses only the files changed since
the last one (parsing every script took about a second of the Snakefile's load).
"""

from __future__ import annotations

import ast
import json
import os
from functools import cache
from pathlib import Path
from typing import Any

import jinja2
import jinja2.meta

from kit.cli import PipelineError

#: The folder every script and shared module lives in (scripts/kit/ -> scripts/).
SCRIPTS = Path(__file__).resolve().parents[1]


def module_file(name: str, root: Path = SCRIPTS) -> Path | None:
    """The file of project module ``name`` (``a.b`` -> ``a/b.py`` or ``a/b/__init__.py``), or None if not ours."""
    base = root.joinpath(*name.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def package_inits(name: str, root: Path = SCRIPTS) -> list[Path]:
    """The ``__init__.py`` of every package on the way to module ``name`` (Python imports each of them)."""
    parts = name.split(".")
    inits = [root.joinpath(*parts[:depth], "__init__.py") for depth in range(1, len(parts))]
    return [path for path in inits if path.is_file()]


def imported_names(source: str, path: Path) -> set[str]:
    """Absolute module names a file imports: ``import a.b`` gives ``a.b``; ``from a import b`` gives ``a`` and,
    in case ``b`` is a submodule rather than a name, ``a.b`` (the caller keeps only the ones that exist)."""
    try:
        tree = ast.parse(source, filename=str(path))
    except SyntaxError as exc:
        raise PipelineError(f"{path}: cannot be parsed ({exc.msg}, line {exc.lineno}); fix the script") from None
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


#: What each file refers to (imported module names, or referenced template names), by kind and path, with the
#: file's ``(mtime_ns, size)`` when it was read: a file whose stat still matches is not parsed again.
_SCANS: dict[str, dict[str, tuple[int, int, list[str]]]] = {"python": {}, "jinja": {}}
#: Whether a scan was added since the cache was loaded (``save_scan_cache`` writes only then).
_CHANGED: list[bool] = [False]


def _scanned(kind: str, path: Path, scan: Any) -> list[str]:
    """``scan(text)`` of the file at ``path``, remembered until the file's modification time or size changes."""
    stat = path.stat()
    known = _SCANS[kind].get(str(path))
    if known is not None and (known[0], known[1]) == (stat.st_mtime_ns, stat.st_size):
        return known[2]
    found = sorted(scan(path.read_text(encoding="utf-8")))
    _SCANS[kind][str(path)] = (stat.st_mtime_ns, stat.st_size, found)
    _CHANGED[0] = True
    return found


def load_scan_cache(path: str | os.PathLike[str]) -> None:
    """Remember the scans a previous run saved at ``path`` (a missing or unreadable file is ignored)."""
    try:
        saved = json.loads(Path(path).read_text(encoding="utf-8"))
        for kind in _SCANS:
            _SCANS[kind].update({key: (int(a), int(b), list(c)) for key, (a, b, c) in saved.get(kind, {}).items()})
    except (OSError, ValueError, TypeError, AttributeError):
        return


def save_scan_cache(path: str | os.PathLike[str]) -> None:
    """Write the remembered scans to ``path`` atomically if any is new (skipped where the folder is not writable)."""
    if not _CHANGED[0]:
        return
    target = Path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        temporary.write_text(json.dumps(_SCANS, sort_keys=True), encoding="utf-8")
        temporary.replace(target)
        _CHANGED[0] = False
    except OSError:
        return


@cache
def _direct(path: Path, root: Path) -> tuple[Path, ...]:
    """Project files one file imports directly (modules and the package ``__init__`` files on the way)."""
    found: set[Path] = set()
    for name in _scanned("python", path, lambda text: imported_names(text, path)):
        target = module_file(name, root)
        if target is not None:
            found.add(target)
            found.update(package_inits(name, root))
    return tuple(sorted(found))


def project_modules(script: str | os.PathLike[str], root: Path = SCRIPTS) -> list[Path]:
    """Every project file ``script`` imports, directly or indirectly, sorted; the script itself is left out."""
    start = Path(script).resolve()
    root = root.resolve()
    seen: set[Path] = set()
    todo = [start]
    while todo:
        for found in _direct(todo.pop(), root):
            if found not in seen:
                seen.add(found)
                todo.append(found)
    seen.discard(start)
    return sorted(seen)


def template_files(name: str, folder: str | os.PathLike[str]) -> list[Path]:
    """``name`` and every template it extends, includes or imports (recursively), as paths in ``folder``.

    A reference computed at render time (``{% include some_variable %}``) cannot be followed; it is refused,
    so that no dependency can hide from the workflow.
    """
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(folder)), extensions=["jinja2.ext.do"])
    seen: set[str] = set()
    todo = [name]
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen.add(current)
        path = Path(folder) / current
        if not path.is_file():
            raise PipelineError(f"{path}: template not found (referenced as {current!r})")
        todo.extend(_scanned("jinja", path, lambda text, path=path: template_references(env, text, path)))
    return sorted(Path(folder) / item for item in seen)


def template_references(env: jinja2.Environment, text: str, path: Path) -> set[str]:
    """The templates one template's text extends, includes or imports; one named by a variable is refused."""
    references = set()
    for reference in jinja2.meta.find_referenced_templates(env.parse(text)):
        if reference is None:
            raise PipelineError(f"{path}: refers to a template by a variable; name it literally")
        references.add(reference)
    return references
