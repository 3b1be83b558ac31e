"""What a script or a template depends on inside the project, read from the code itself.

The workflow lists these files as inputs of the rule that runs the script (or renders the template), so that
editing a shared module reruns exactly the steps that import it, and no list typed by hand can go stale:

* ``project_modules(script)``: every module of ``scripts/`` that the script imports, directly or through
  another project module, including the ``__init__.py`` of each package on the way (Python runs those too);
* ``template_files(name)``: every template a Jinja2 template extends, includes or imports, recursively.

Both read the source (the ``ast`` of a script, Jinja2's parser for a template); nothing is executed.
"""

from __future__ import annotations

import ast
import os
from functools import cache
from pathlib import Path

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


@cache
def _direct(path: Path, root: Path) -> tuple[Path, ...]:
    """Project files one file imports directly (modules and the package ``__init__`` files on the way)."""
    found: set[Path] = set()
    for name in imported_names(path.read_text(encoding="utf-8"), path):
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
        tree = env.parse(path.read_text(encoding="utf-8"))
        for reference in jinja2.meta.find_referenced_templates(tree):
            if reference is None:
                raise PipelineError(f"{path}: refers to a template by a variable; name it literally")
            todo.append(reference)
    return sorted(Path(folder) / item for item in seen)
