"""Properties every script of the workflow has, checked on the very commands a default run would execute.

For each job of a dry run: the script accepts the command; none of the script's flag defaults contradicts the
value the workflow passes (the defaults live in the config schema alone); and every input file given as a
directory, an empty file, a missing path or garbage gets one line of error and leaves no output behind.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import os
import shlex
from collections.abc import Iterator
from pathlib import Path

import pytest

from kit import cli
from kit.cli import is_input_flag, run_cli
from test_declarations import dry_run_jobs

#: Flags whose value depends on the machine or the rule, not on the config (a default there is no conflict).
RUNTIME_FLAGS = {"threads"}


class Captured(Exception):  # noqa: N818 (a signal, not an error)
    """Raised instead of parsing, to hand back the parser a script builds."""


def script_parser(module: object) -> cli.ArgumentParser:
    """The parser a script's ``main`` builds, caught at the moment it would parse."""
    original = cli.ArgumentParser.parse_args
    holder: list[cli.ArgumentParser] = []

    def capture(self: cli.ArgumentParser, *args: object, **kwargs: object) -> None:
        holder.append(self)
        raise Captured

    cli.ArgumentParser.parse_args = capture  # type: ignore[method-assign]
    try:
        with contextlib.suppress(Captured):
            module.main([])
    finally:
        cli.ArgumentParser.parse_args = original  # type: ignore[method-assign]
    assert holder, f"{module.__name__} does not parse with kit.cli.ArgumentParser"
    return holder[0]


def command_words(command: str) -> tuple[str, list[str]]:
    """A job's script (relative to scripts/) and its arguments, from the shell command Snakemake prints."""
    words = shlex.split(command.split(" > ")[0])
    index = next(i for i, word in enumerate(words) if word.endswith(".py"))
    return words[index].split("scripts/", 1)[1], words[index + 1 :]


def module_of(script: str) -> object:
    """Import a script by its path below scripts/ (``pca/figures/components.py`` -> ``pca.figures.components``)."""
    return importlib.import_module(script.removesuffix(".py").replace("/", "."))


@pytest.fixture(scope="module")
def commands(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[str, str, list[str]]]:
    """(rule, script, arguments) of every job of a default run, one per script and rule."""
    seen, found = set(), []
    for job in dry_run_jobs(tmp_path_factory.mktemp("plan")):
        script, args = command_words(job["command"])
        if (job["rule"], script) not in seen:
            seen.add((job["rule"], script))
            found.append((job["rule"], script, args))
    return found


def test_every_script_accepts_the_command_the_workflow_builds(commands: list) -> None:
    assert len(commands) > 35
    for rule, script, args in commands:
        parser = script_parser(module_of(script))
        actions = {action.dest: action for action in parser._actions}
        given = {action.dest for action in parser._actions for word in args if word in action.option_strings}
        for action in parser._actions:  # the files do not exist here: parse their names only
            if is_input_flag(action):
                action.type = str
        namespace, unknown = parser.parse_known_args(args)
        assert not unknown, (rule, script, unknown)
        for dest in given:
            default = actions[dest].default
            if dest in RUNTIME_FLAGS or default is None or actions[dest].required:
                continue
            assert default == getattr(namespace, dest), (
                f"{script}: --{dest} defaults to {default!r} but the workflow passes {getattr(namespace, dest)!r}; "
                "defaults belong in the config schema only"
            )


@contextlib.contextmanager
def inside(folder: Path) -> Iterator[None]:
    """Run with ``folder`` as the working directory (the commands' paths are relative)."""
    old = Path.cwd()
    os.chdir(folder)
    try:
        yield
    finally:
        os.chdir(old)


def run_main(module: object, argv: list[str]) -> tuple[int, str]:
    """Run a script's main in this process as run_cli would; return its status and what it wrote to stderr."""
    stderr = io.StringIO()
    with contextlib.redirect_stderr(stderr), contextlib.redirect_stdout(io.StringIO()):
        status = run_cli(module.main, argv)
    return status, stderr.getvalue()


BAD_INPUTS = ["directory", "empty", "missing", "garbage"]


def make_bad(path: Path, kind: str) -> None:
    """Turn ``path`` into one kind of bad input."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if kind == "directory":
        path.mkdir()
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "garbage":
        path.write_bytes(b"\x00\x01 not what any step writes \xff" * 7)


@pytest.mark.parametrize("kind", BAD_INPUTS)
def test_a_bad_input_file_gets_one_line_and_no_output(commands: list, kind: str, tmp_path: Path) -> None:
    checked = 0
    for number, (rule, script, args) in enumerate(commands):
        module = module_of(script)
        parser = script_parser(module)
        input_flags = [flag for action in parser._actions if is_input_flag(action) for flag in action.option_strings]
        positions = [i for i, word in enumerate(args) if word in input_flags]
        if not positions:
            continue
        folder = tmp_path / f"{number}-{rule}"
        folder.mkdir()
        # Every input file the command names is replaced by a file of this folder (so nothing outside it is
        # touched), present as garbage; the first one is made bad in the way under test.
        args, files = list(args), []
        for position in positions:
            for index in range(position + 1, len(args)):
                if args[index].startswith("--"):
                    break
                args[index] = f"inputs/{len(files)}-{Path(args[index]).name}"
                files.append(args[index])
        for name in files[1:]:
            make_bad(folder / name, "garbage")
        make_bad(folder / files[0], kind)
        before = {path for path in folder.rglob("*")}
        with inside(folder):
            status, message = run_main(module, args)
        after = {path for path in folder.rglob("*")}
        assert status == 1, (rule, script, kind, message)
        lines = message.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), (script, kind, message)
        if kind != "garbage":
            assert files[0] in lines[0], (script, kind, lines[0])
        assert after == before, (script, kind, sorted(str(path) for path in after - before))
        checked += 1
    assert checked > 30
