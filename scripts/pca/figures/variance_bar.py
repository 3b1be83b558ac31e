"""Bar chart: how much of the pixel variance each of the first principal components explains.

Reads ``explained_variance_ratio`` from the PCA metrics (``--metrics``) and draws the first
``--n-components`` values as percentage bars, each labelled with its value, as the source thread's bar chart
("around 29, 18, 6 and 5"). Writes the SVG (``--output``) and a JSON sidecar (``--meta``) with the title,
alt text and the numbers shown.

    PYTHONPATH=scripts python scripts/pca/figures/variance_bar.py --metrics results/pca/metrics.json --n-components 4 \\
        --output results/figures/pca/variance_bar.svg --meta results/figures/pca/variance_bar.json
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from kit.cli import run_cli
from kit.facts import compare, state
from kit.figure import Input, Option, figure_main
from kit.io import round_significant
from kit.plotstyle import PALETTE, as_list, check_count, new_figure, percent, set_title
from pca.pcaio import read_ratios

#: More bars than this and the value labels collide; the cumulative figure covers all components.
MAX_BARS = 20


def describe(ratios: np.ndarray, n_components: int) -> dict[str, Any]:
    """Title, alt text and the numbers a reader (or the prose) needs, all from the same ratios."""
    shown = ratios[:n_components]
    total = float(shown.sum())
    if n_components == 1:
        title = f"The first component explains {percent(total)} of the pixel variance"
    else:
        title = f"The first {n_components} components explain {percent(total)} of the pixel variance"
    parts = [
        f"component {i} explains {percent(r)}" if i == 1 else f"component {i} {percent(r)}"
        for i, r in enumerate(shown, start=1)
    ]
    listed = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
    alt = (
        f"Bar chart of the explained variance of the first {n_components} principal component"
        f"{'s' if n_components > 1 else ''} of the training images: {listed} of the total pixel variance"
        + (f"; together {percent(total)}." if n_components > 1 else ".")
    )
    return {
        "title": title,
        "alt": alt,
        "notice": notice(shown),
        "n_components": n_components,
        "explained_variance_ratio": as_list(shown),
        "explained_variance_percent": [round(100 * r, 1) for r in shown.tolist()],
        "cumulative_ratio": round_significant(total),
        "cumulative_percent": round(100 * total, 1),
    }


def notice(shown: np.ndarray) -> dict[str, Any]:
    """The caption's "what to notice", chosen by how the bars shown compare (a fact, see ``kit.facts``).

    Two bars stand out when each of the first two is at least twice every later bar shown.
    """
    n = shown.size
    if n == 1:
        return state("The bar's label gives the share of the first component.", shown=as_list(shown))
    first, second = float(shown[0]), float(shown[1])
    if n == 2:
        return compare(
            first,
            ">=",
            1.5 * second,
            f"Notice that the first bar ({percent(first)}) is at least one and a half times as tall as the second "
            f"({percent(second)}).",
            f"Notice that the two bars ({percent(first)} and {percent(second)}) are within a factor of one and a half "
            "of each other.",
            what="first bar vs 1.5 x the second",
        )
    rest = float(shown[2:].max())
    return compare(
        min(first, second),
        ">=",
        2 * rest,
        f"Notice how much taller the first two bars are than the rest: each is at least twice as tall as any later "
        f"bar ({percent(first)} and {percent(second)}, against {percent(rest)} for the tallest later one).",
        f"Notice the heights: the first two bars are {percent(first)} and {percent(second)}, the tallest later one "
        f"{percent(rest)}.",
        what="smaller of the first two bars vs 2 x the tallest later bar",
    )


def plot_variance_bar(ratios: np.ndarray, n_components: int, title: str) -> Figure:
    """One bar per component, height = explained variance in %, the value written on top of each bar."""
    values = 100 * ratios[:n_components]
    fig = new_figure(2.9)
    ax = fig.subplots()
    positions = np.arange(1, n_components + 1)
    bars = ax.bar(positions, values, width=0.6, color=PALETTE[0])
    ax.bar_label(bars, labels=[f"{v:.1f} %" for v in values], padding=2, fontsize=8)
    ax.set_xticks(positions, [str(p) for p in positions])
    ax.set_xlim(0.4, n_components + 0.6)
    ax.set_ylim(0, values.max() * 1.15)
    ax.grid(axis="x", visible=False)
    ax.set_xlabel("principal component (sorted by variance)")
    ax.set_ylabel("explained variance (% of total)")
    set_title(fig, title)
    return fig


def main(argv: Sequence[str] | None = None) -> None:
    """Read the metrics, check the count against them, and write the figure and its sidecar."""
    figure_main(
        argv,
        __doc__,
        inputs=[Input("metrics", "PCA metrics JSON written by pca/fit.py", read_ratios)],
        options=[Option("n_components", int, f"number of leading components to show (1-{MAX_BARS})")],
        check=lambda d, a: check_count(
            a.n_components, min(MAX_BARS, d["metrics"].size), "--n-components", "bars must stay readable"
        ),
        describe=lambda d, a: describe(d["metrics"], a.n_components),
        draw=lambda d, info, a: plot_variance_bar(d["metrics"], a.n_components, info["title"]),
    )


if __name__ == "__main__":
    sys.exit(run_cli(main))
