"""Draw the pipeline's rule graph (``snakemake --rulegraph``) as an SVG for the site index, with a JSON sidecar.

Snakemake is run on the workflow in an empty temporary folder, so the graph depends on the rules alone: it is the
same whatever data, results or lock the real working folder holds, and this can run inside a job of that very
workflow (``--nolock``: the running Snakemake holds the lock). The graph is then restyled (one look for three kinds
of rule) and laid out by Graphviz's ``dot``, whose SVG holds no date, so reruns give the same bytes.

Usage::

    PYTHONPATH=scripts python scripts/publish/rulegraph.py --snakefile workflow/Snakefile \\
        --configfile config/config.yaml --output results/figures/site/rulegraph.svg

writes ``rulegraph.svg`` and ``rulegraph.json`` (title, alt text, rule and dependency counts, the rules by kind).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from kit.cli import ArgumentParser, PipelineError, input_file, run_cli
from kit.io import atomic_open, write_json
from kit.plotstyle import PALETTE

#: Rules that publish rather than compute: everything after the figures.
PUBLISHING_RULES = frozenset({"provenance", "report_html", "report_pdf", "booklet", "index", "rulegraph", "all"})

#: How each kind of rule is drawn: border colour (Okabe & Ito) and a Graphviz style, so the kinds differ in
#: shape as well as colour (and their names say it too: figure rules start with ``fig_``).
KIND_STYLE: Mapping[str, Mapping[str, str]] = {
    "computation": {"color": PALETTE[0], "style": "solid", "shape": "box"},
    "figure": {"color": PALETTE[1], "style": "rounded", "shape": "box"},
    "publishing": {"color": PALETTE[2], "style": "bold", "shape": "box"},
}

NODE_RE = re.compile(r'^\s*(\d+)\s*\[\s*label\s*=\s*"([^"]+)"', re.MULTILINE)
EDGE_RE = re.compile(r"^\s*(\d+)\s*->\s*(\d+)", re.MULTILINE)


def find_dot(dot: str) -> str:
    """The path of Graphviz's ``dot``; a clear error when it is missing (it is a system package, not a wheel)."""
    path = shutil.which(dot)
    if path is None:
        raise PipelineError(
            f"--dot {dot}: Graphviz's 'dot' program was not found. Install Graphviz "
            "(Debian/Ubuntu: apt-get install graphviz; `make system-packages` does it as root) or pass its path."
        )
    return path


def snakemake_rulegraph(snakefile: Path, configfiles: Sequence[Path], snakemake: Sequence[str]) -> str:
    """Snakemake's rule graph of the default target, in Graphviz's dot language.

    Why an empty temporary working folder: Snakemake then sees no results, so the graph cannot depend on what
    has been built (it never does for --rulegraph, but an empty folder also avoids the running workflow's
    incomplete-output markers and lock). ``--workflow-profile none`` keeps profile settings out of it.
    """
    if not snakefile.is_file():
        raise PipelineError(f"--snakefile {snakefile}: file not found; give the workflow's Snakefile")
    for path in configfiles:
        if not path.is_file():
            raise PipelineError(f"--configfile {path}: file not found")
    with tempfile.TemporaryDirectory(prefix="rulegraph-") as workdir:
        command = [*snakemake, "--snakefile", str(snakefile.resolve()), "--directory", workdir]
        if configfiles:
            command += ["--configfile", *(str(path.resolve()) for path in configfiles)]
        command += ["--nolock", "--workflow-profile", "none", "--quiet", "all", "--rulegraph"]
        env = {**os.environ, "PYTHONHASHSEED": "0"}
        result = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    if result.returncode != 0:
        # One line, like every other error: Snakemake's last lines joined (or a hint when it printed nothing).
        lines = [line.strip() for line in (result.stderr or result.stdout).strip().splitlines()[-15:]]
        tail = " | ".join(line for line in lines if line) or "Snakemake printed no message; is it a Snakefile?"
        raise PipelineError(f"snakemake --rulegraph failed for {snakefile} (exit {result.returncode}): {tail}")
    return result.stdout


def parse_rulegraph(text: str) -> tuple[list[str], list[tuple[str, str]]]:
    """Rule names and (upstream, downstream) edges from Snakemake's dot output, both sorted so that the
    drawing does not depend on the order Snakemake happened to number the rules in."""
    labels = dict(NODE_RE.findall(text))
    if not labels:
        raise PipelineError("snakemake --rulegraph printed no rules; is the Snakefile's default target empty?")
    edges = set()
    for source, target in EDGE_RE.findall(text):
        if source not in labels or target not in labels:
            raise PipelineError(f"rule graph: edge {source} -> {target} names an unknown node")
        edges.add((labels[source], labels[target]))
    return sorted(set(labels.values())), sorted(edges)


def rule_kind(rule: str) -> str:
    """Which of the three kinds a rule is: ``figure`` (draws one chart), ``publishing`` or ``computation``."""
    if rule.startswith("fig_"):
        return "figure"
    if rule in PUBLISHING_RULES:
        return "publishing"
    return "computation"


def longest_chain(rules: Iterable[str], edges: Sequence[tuple[str, str]]) -> list[str]:
    """The longest path through the graph (rules in order): how many steps stand between raw data and the site.
    Ties are broken by name, so the answer is stable."""
    downstream: dict[str, list[str]] = {rule: [] for rule in rules}
    for source, target in edges:
        downstream[source].append(target)
    best: dict[str, list[str]] = {}

    def chain_from(rule: str, seen: frozenset[str]) -> list[str]:
        if rule in seen:
            raise PipelineError(f"rule graph has a cycle through {rule!r}")
        if rule not in best:
            tails = [chain_from(nxt, seen | {rule}) for nxt in sorted(downstream[rule])]
            best[rule] = [rule, *max(tails, key=len, default=[])]
        return best[rule]

    return max((chain_from(rule, frozenset()) for rule in sorted(downstream)), key=len)


def reachable(start: str, downstream: Mapping[str, Sequence[str]], skip: tuple[str, str]) -> set[str]:
    """Rules reachable from ``start`` without using the edge ``skip``."""
    seen: set[str] = set()
    stack = [target for target in downstream[start] if (start, target) != skip]
    while stack:
        rule = stack.pop()
        if rule not in seen:
            seen.add(rule)
            stack.extend(downstream[rule])
    return seen


def transitive_reduction(rules: Sequence[str], edges: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    """The edges that no longer path implies (as Graphviz's ``tred`` does).

    Why: every figure feeds the provenance, the page, the PDF and the index, so the full graph has ~150
    arrows that hide its shape; dropping ``a -> c`` where ``a -> b -> c`` exists keeps every dependency
    visible as a path.
    """
    downstream: dict[str, list[str]] = {rule: [] for rule in rules}
    for source, target in edges:
        downstream[source].append(target)
    return [
        (source, target) for source, target in edges if target not in reachable(source, downstream, (source, target))
    ]


def group_alike(rules: Sequence[str], edges: Sequence[tuple[str, str]]) -> dict[str, list[str]]:
    """Rules of one kind with exactly the same upstream and downstream rules, grouped to be drawn as one box
    (the figure rules of an explainer, mostly): box name -> its rules, in name order."""
    upstream: dict[str, set[str]] = {rule: set() for rule in rules}
    downstream: dict[str, set[str]] = {rule: set() for rule in rules}
    for source, target in edges:
        upstream[target].add(source)
        downstream[source].add(target)
    groups: dict[tuple, list[str]] = {}
    for rule in rules:
        key = (rule_kind(rule), tuple(sorted(upstream[rule])), tuple(sorted(downstream[rule])))
        groups.setdefault(key, []).append(rule)
    return {members[0]: members for members in sorted(groups.values())}


def styled_dot(rules: Sequence[str], edges: Sequence[tuple[str, str]], rankdir: str) -> str:
    """The graph in dot with the site's look: sans-serif labels in black on white (full contrast), each kind
    of rule with its own border colour and style, implied arrows left out and alike rules in one box."""
    edges = transitive_reduction(rules, edges)
    groups = group_alike(rules, edges)
    box_of = {rule: box for box, members in groups.items() for rule in members}
    lines = [
        "digraph rulegraph {",
        f'  graph [rankdir={rankdir}, bgcolor="white", margin=0, nodesep=0.12, ranksep=0.3];',
        '  node [fontname="DejaVu Sans", fontsize=12, fontcolor="black", penwidth=2, height=0.3, margin="0.1,0.04"];',
        '  edge [color="#555555", penwidth=1.2, arrowsize=0.7];',
    ]
    for box, members in groups.items():
        style = KIND_STYLE[rule_kind(box)]
        label = "\\l".join(members) + "\\l" if len(members) > 1 else box
        lines.append(
            f'  "{box}" [label="{label}", shape={style["shape"]}, style="{style["style"]}", color="{style["color"]}"];'
        )
    box_edges = sorted({(box_of[source], box_of[target]) for source, target in edges})
    lines += [f'  "{source}" -> "{target}";' for source, target in box_edges]
    lines.append("}")
    return "\n".join(lines) + "\n"


def render_svg(dot: str, source: str) -> bytes:
    """Lay the graph out with ``dot -Tsvg``; the Graphviz version comment is the only header it writes."""
    result = subprocess.run([dot, "-Tsvg"], input=source.encode(), capture_output=True, check=False)
    if result.returncode != 0:
        raise PipelineError(f"dot -Tsvg failed (exit {result.returncode}): {result.stderr.decode().strip()}")
    return result.stdout


def describe(rules: Sequence[str], edges: Sequence[tuple[str, str]]) -> dict:
    """The sidecar: a title that states what the graph shows, an alt text with its numbers, and the counts."""
    kinds = {kind: [rule for rule in rules if rule_kind(rule) == kind] for kind in KIND_STYLE}
    chain = longest_chain(rules, edges)
    title = (
        f"The pipeline's {len(rules)} rules and their {len(edges)} dependencies, "
        f"from the raw data to the site in {len(chain)} steps"
    )
    alt = (
        f"Directed graph of the workflow's {len(rules)} Snakemake rules; each of the {len(edges)} arrows points from "
        "a rule to a rule that reads its output. "
        f"{len(kinds['computation'])} computing rules (blue, square boxes): {', '.join(kinds['computation'])}. "
        f"{len(kinds['figure'])} figure rules (orange, rounded boxes), one per chart. "
        f"{len(kinds['publishing'])} publishing rules (green, bold boxes): {', '.join(kinds['publishing'])}. "
        f"The longest chain has {len(chain)} steps: {' → '.join(chain)}."
    )
    return {
        "title": title,
        "alt": alt,
        "n_rules": len(rules),
        "n_edges": len(edges),
        "longest_chain": chain,
        "rules": kinds,
    }


def build_parser() -> ArgumentParser:
    """The command line: the workflow and its config files, the drawing tools, the two outputs."""
    parser = ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--snakefile", type=input_file, required=True, help="the workflow's Snakefile")
    parser.add_argument(
        "--configfile", type=input_file, action="append", default=None, help="config file(s) the workflow is run with"
    )
    parser.add_argument("--dot", default="dot", help="Graphviz's dot program (name on PATH or path)")
    parser.add_argument(
        "--rankdir", choices=["TB", "LR"], default="TB", help="direction of the arrows (default TB, as on the index)"
    )
    parser.add_argument(
        "--snakemake",
        nargs="+",
        default=[sys.executable, "-m", "snakemake"],
        help="command that runs Snakemake (default: this Python's snakemake module)",
    )
    parser.add_argument("--output", type=Path, required=True, help="SVG file to write")
    parser.add_argument("--sidecar", type=Path, help="JSON sidecar to write (default: the output with .json)")
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    """Run Snakemake for the rule graph, restyle it, lay it out and write the SVG and its sidecar."""
    args = build_parser().parse_args(argv)
    if args.output.suffix != ".svg":
        raise PipelineError(f"--output {args.output}: must end in .svg")

    dot = find_dot(args.dot)
    rules, edges = parse_rulegraph(snakemake_rulegraph(args.snakefile, args.configfile or [], args.snakemake))
    svg = render_svg(dot, styled_dot(rules, edges, args.rankdir))
    with atomic_open(args.output, "wb") as handle:
        handle.write(svg)
    write_json(args.sidecar or args.output.with_suffix(".json"), describe(rules, edges))


if __name__ == "__main__":
    sys.exit(run_cli(main))
