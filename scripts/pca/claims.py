"""Check the PCA thread's claims against the measured spectrum, and build the facts the page states.

The thread (seed-threads.txt, "PCA on Fashion-MNIST") states four variance shares, their 4-component
total, and what the first component looks like. The numbers are checked against ``metrics.json`` within a
tolerance in percentage points; the picture ("a shirt, with a faint shoe shape") is turned into a
computed test: project each class's mean image (training and test) on component 1 and see which classes end
up furthest out on either side, and look at component 1 where the average shoe has ink and the average top
has none (the faint shoe).

Every sentence of the page that states a result of this run is a fact (``kit.facts``) built here or in a
figure's sidecar, from the numbers it is about: the shape of the spectrum, the classes at the ends of
component 1, the faint shoe, how the training and test class centres compare, how many components a classifier
needs (``classification.json``, written by pca/classify.py) and how many redraw the images closely.

Usage::

    PYTHONPATH=scripts python scripts/pca/claims.py --metrics results/pca/metrics.json --pca results/pca/pca.npz \\
        --data results/data/fashion-mnist.npy --classification results/pca/classification.json \\
        --tolerance-pp 1.5 --classifier-within-pp 1 --output results/pca/claims.json
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kit.cli import ArgumentParser, PipelineError, input_file, run_cli
from kit.dataset import CLASS_NAMES, load_split
from kit.facts import choose, compare, state
from kit.formats import fixed, num, pct, plural, signed
from kit.io import read_json, write_json
from pca.pcaio import (
    CLOSE_RMSE,
    FOOTWEAR,
    INK_LEVEL,
    TOPS,
    check_same_pixels,
    enough_count,
    load_pca,
    outlines,
    read_classification,
    training_rmse,
)

#: The page's title: no outcome of a run changes the question it asks.
TITLE = "How many components does a picture need? PCA on Fashion-MNIST"

#: The number of components the thread fits and reads its total from.
THREAD_COMPONENTS = 4

#: A correlation of component 1 with the average top's or shoe's image counts as strong from this size on.
STRONG_CORRELATION = 0.5

#: How many classes at each end of the component-1 ranking the shirt-and-shoe rule looks at.
EXTREMES = 2

#: Numbers are compared as shown: measured percentages and differences rounded to this many decimals.
DECIMALS = 2

QUOTE_BARS = "In above bar chart the components show around 29, 18, 6, and 5 explained variance"
QUOTE_TOTAL = "Now we can see in total we are able to explain about 58% of the variance by just 4 components"
QUOTE_FIRST = (
    "In the first component, we can see the shirt-like feature captured which is so common in the data. "
    "And a very transparent shape for the shoe, hinting at some of the footwear variances captured."
)


@dataclass(frozen=True)
class NumericClaim:
    """One number the thread states: the share of variance of one component, or of the first few together."""

    id: str
    claim: str
    source_quote: str
    claimed: float
    components: int  # how many leading components the share covers
    cumulative: bool  # True: the first ``components`` together; False: component ``components`` alone


NUMERIC_CLAIMS: tuple[NumericClaim, ...] = (
    NumericClaim("component_1", "Component 1 explains about 29 % of the variance.", QUOTE_BARS, 29, 1, False),
    NumericClaim("component_2", "Component 2 explains about 18 % of the variance.", QUOTE_BARS, 18, 2, False),
    NumericClaim("component_3", "Component 3 explains about 6 % of the variance.", QUOTE_BARS, 6, 3, False),
    NumericClaim("component_4", "Component 4 explains about 5 % of the variance.", QUOTE_BARS, 5, 4, False),
    NumericClaim("total_4", "Components 1-4 together explain about 58 % of the variance.", QUOTE_TOTAL, 58, 4, True),
)

SHIRT_SHOE_ID = "component_1_shirt_and_shoe"
SHIRT_SHOE_CLAIM = "Component 1 looks like a shirt, with a faint shoe shape: it captures tops and footwear variance."
SHIRT_SHOE_CLAIMED = "shirt-like, with a faint shoe shape"
SHIRT_SHOE_RULE = (
    "Each class's mean image (scaled to [0, 1]) minus the PCA mean is projected on component 1, once over the "
    "training images and once over the test images, and the classes are ranked by that projection. Supported "
    f"when, on both, the {EXTREMES} classes with the largest projections are all tops ({', '.join(sorted(TOPS))}) "
    f"and the {EXTREMES} with the smallest are all footwear ({', '.join(sorted(FOOTWEAR))}), or the other way round "
    "(a component's sign is arbitrary), and the faint shoe shows: where the average training shoe has ink "
    f"(at least {INK_LEVEL:g}) and the average training top has none, most of component 1's weights have the sign "
    "opposite to its mean weight inside the average top; otherwise not supported."
)


def numeric_rule(tolerance: float) -> str:
    """The sentence that says how a numeric verdict was reached, with the tolerance in it."""
    return (
        f"The measured share (explained variance ratio x 100, rounded to {DECIMALS} decimals) is supported "
        f"when it differs from the claimed value by at most {tolerance:g} percentage points; "
        "otherwise not supported."
    )


def numeric_verdict(claim: NumericClaim, ratios: Sequence[float], tolerance: float) -> dict:
    """Compare one stated percentage with the measured explained variance ratio(s).

    Why round first: the verdict must follow from the numbers the report shows, so a reader who checks
    ``|measured - claimed| <= tolerance`` by hand gets the same answer, also exactly at the boundary.
    """
    if len(ratios) < claim.components:
        raise PipelineError(f"claim {claim.id!r} needs {claim.components} components, the metrics hold {len(ratios)}")
    share = math.fsum(ratios[: claim.components]) if claim.cumulative else ratios[claim.components - 1]
    measured = round(100.0 * float(share), DECIMALS)
    difference = round(measured - claim.claimed, DECIMALS)
    return {
        "id": claim.id,
        "claim": claim.claim,
        "source_quote": claim.source_quote,
        "claimed": claim.claimed,
        "measured": measured,
        "unit": "%",
        "tolerance": tolerance,
        "difference": difference,
        "verdict": "supported" if abs(difference) <= tolerance else "not supported",
        "rule": numeric_rule(tolerance),
    }


def class_means_on(images: np.ndarray, labels: np.ndarray, mean: np.ndarray, component: np.ndarray) -> dict[int, float]:
    """Each present class's mean image (in [0, 1], minus the PCA mean) projected on ``component``, by label.

    The projection of a class's mean image is the mean of its images' scores: the class centre on that component.
    """
    flat = images.reshape(len(images), -1)
    centres = {}
    for label in np.unique(labels):
        if label >= len(CLASS_NAMES):
            raise PipelineError(f"label {label} has no class name; the prepared dataset must hold labels 0-9")
        class_mean = flat[labels == label].mean(axis=0, dtype=np.float64) / 255.0
        centres[int(label)] = float((class_mean - mean) @ component)
    return centres


def class_projections(
    images: np.ndarray,
    labels: np.ndarray,
    mean: np.ndarray,
    component: np.ndarray,
    test_images: np.ndarray | None = None,
    test_labels: np.ndarray | None = None,
) -> list[dict]:
    """Project each class's mean training image (in [0, 1], minus the PCA mean) on ``component``, largest first.

    Why class means: they say which kinds of garment a component separates, a computed stand-in for
    "looks like a shirt" that does not depend on reading a picture. With test images, each row also holds the
    test images' class centre (``test_projection``, None for a class the test images lack): Figure 7 draws those.
    """
    train = class_means_on(images, labels, mean, component)
    test = class_means_on(test_images, test_labels, mean, component) if test_images is not None else None
    rows = []
    for label, projection in train.items():
        row = {"class": CLASS_NAMES[label], "label": label, "projection": round(projection, 6)}
        if test is not None:
            row["test_projection"] = round(test[label], 6) if label in test else None
        rows.append(row)
    return sorted(rows, key=lambda row: (-row["projection"], row["label"]))


def group(names: Sequence[str]) -> str:
    """``tops``, ``footwear`` or ``mixed``: the group a set of class names all belong to."""
    if set(names) <= TOPS:
        return "tops"
    if set(names) <= FOOTWEAR:
        return "footwear"
    return "mixed"


def ends(projections: Sequence[dict], key: str = "projection", extremes: int = EXTREMES) -> tuple[list[str], list[str]]:
    """The ``extremes`` classes with the largest ``key`` and those with the smallest (most extreme first)."""
    ranked = sorted((row for row in projections if row.get(key) is not None), key=lambda row: (-row[key], row["label"]))
    if len(ranked) < 2 * extremes:
        raise PipelineError(
            f"the shirt-and-shoe check needs at least {2 * extremes} classes in the training and test data, "
            f"found {len(ranked)}; use a data subset that holds every class"
        )
    high = [row["class"] for row in ranked[:extremes]]
    low = [row["class"] for row in ranked[-extremes:]][::-1]
    return high, low


def tops_against_footwear(high: Sequence[str], low: Sequence[str]) -> bool:
    """Whether one end is all tops and the other all footwear."""
    return {group(high), group(low)} == {"tops", "footwear"}


def faint_shoe(component: np.ndarray, masks: dict[str, np.ndarray]) -> dict:
    """Component 1 where the average shoe has ink and the average top has none, against inside the average top.

    The sign of a component is arbitrary, so "opposite" is measured against the sign of its mean weight inside
    the average top: the shoe shows as a faint shape in the other colour when most of its shoe-only weights have
    the other sign.
    """
    only, top = masks["shoe_only"], masks["top"]
    top_mean = float(component[top].mean()) if top.any() else 0.0
    sign = 1.0 if top_mean >= 0 else -1.0
    opposite = int(np.sum(component[only] * sign < 0))
    return {
        "pixels": int(only.sum()),
        "opposite": opposite,
        "mean_weight": float(component[only].mean()) if only.any() else None,
        "top_pixels": int(top.sum()),
        "top_mean_weight": top_mean,
        "shows": bool(only.any() and 2 * opposite > only.sum()),
    }


def shirt_shoe_verdict(
    projections: Sequence[dict], shoe: dict | None = None, extremes: int = EXTREMES
) -> tuple[str, str]:
    """Apply ``SHIRT_SHOE_RULE`` to projections sorted largest first; return (verdict, what was measured).

    Without ``shoe`` (the faint-shoe measurement) or test projections, only the parts given are checked.
    """
    high, low = ends(projections, "projection", extremes)
    supported = tops_against_footwear(high, low)
    measured = (
        f"largest projections: {', '.join(high)} ({group(high)}); smallest projections: {', '.join(low)} ({group(low)})"
    )
    if any(row.get("test_projection") is not None for row in projections):
        test_high, test_low = ends(projections, "test_projection", extremes)
        supported = supported and tops_against_footwear(test_high, test_low)
        measured = (
            f"training images: {measured}; test images: largest {', '.join(test_high)} ({group(test_high)}), "
            f"smallest {', '.join(test_low)} ({group(test_low)})"
        )
    if shoe is not None:
        supported = supported and shoe["shows"]
        measured += (
            f"; faint shoe: {shoe['opposite']} of {shoe['pixels']} shoe-only pixels have the sign opposite to the top"
        )
    return ("supported" if supported else "not supported"), measured


# --------------------------------------------------------------------------------------------------------
# Facts: the sentences of the page that state a result of this run, each chosen by its condition
# --------------------------------------------------------------------------------------------------------


def num_word(n: int) -> str:
    """Small counts as words in running text (``2`` -> ``"two"``), larger ones as numbers."""
    words = ("no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")
    return words[n] if 0 <= n < len(words) else num(n)


def share_label(threshold: float) -> str:
    """A variance threshold as the page writes it: ``0.95`` -> ``"95 %"``, ``0.995`` -> ``"99.5 %"``."""
    return f"{100 * threshold:g} %"


def spectrum_facts(ratios: np.ndarray, thresholds: dict[str, int]) -> dict[str, dict]:
    """The shape of the spectrum: how round the cloud is, how the first shares compare, what each threshold takes."""
    n = ratios.size
    cumulative = np.cumsum(ratios)
    half = int(np.searchsorted(cumulative, 0.5, side="left")) + 1
    tail_count = n - n // 2
    tail = float(ratios[n // 2 :].sum())
    tail_text = "less than 0.1 %" if tail < 0.001 else pct(tail)
    facts = {
        "cloud_shape": compare(
            20 * half,
            "<=",
            n,
            f"The cloud is far from round: half of the variance lies along the first {plural(half, 'direction')} "
            f"of {num(n)}, and the last {num(tail_count)} directions together hold {tail_text} of it.",
            f"The cloud is not far from round here: half of the variance takes {half} of the {num(n)} directions.",
            what="20 x the directions holding half the variance vs all directions",
            half=half,
            tail_share=tail,
        )
    }
    r1, r2 = float(ratios[0]), float(ratios[1]) if n > 1 else 0.0
    first = f"The first component alone carries {pct(r1)} of the variance"
    if r2 > 0:
        first += f", {fixed(r1 / r2, 1)} times as much as the second ({pct(r2)})"
    if n > 2 and r2 > 0:
        r3 = float(ratios[2])
        facts["first_shares"] = compare(
            r3,
            "<=",
            r2 / 2,
            f"{first}; after the second the shares drop sharply, to {pct(r3)} for the third.",
            f"{first}; the third carries {pct(r3)}.",
            what="third share vs half the second",
            first=r1,
            second=r2,
            third=r3,
        )
    else:
        facts["first_shares"] = state(first + ".", first=r1, second=r2)

    items = sorted((float(t), int(k)) for t, k in thresholds.items())
    listed = [f"{share_label(t)} of the variance takes {plural(k, 'component')}" for t, k in items[:1]]
    listed += [f"{share_label(t)} takes {num(k)}" for t, k in items[1:]]
    text = listed[0] if len(listed) == 1 else ", ".join(listed[:-1]) + " and " + listed[-1]
    facts["thresholds"] = state(text[0].upper() + text[1:] + ".", thresholds={share_label(t): k for t, k in items})
    if len(items) >= 2:
        (t_prev, k_prev), (t_last, k_last) = items[-2], items[-1]
        step = k_last - k_prev
        facts["last_step"] = choose(
            [
                (
                    step == 0,
                    f"{k_last} - {k_prev} == 0",
                    f"Going from {share_label(t_prev)} to {share_label(t_last)} takes no extra component.",
                ),
                (
                    step > k_prev,
                    f"{step} more > {k_prev} before",
                    f"Going from {share_label(t_prev)} to {share_label(t_last)} alone takes {num(step)} more "
                    f"components, more than the {num(k_prev)} before it.",
                ),
            ],
            f"Going from {share_label(t_prev)} to {share_label(t_last)} takes {num(step)} more "
            f"component{'' if step == 1 else 's'}, against {num(k_prev)} for the first {share_label(t_prev)}.",
            values={"step": step, "before": k_prev},
        )
    return facts


def class_facts(projections: Sequence[dict], shoe: dict, correlations: dict[str, float]) -> dict[str, dict]:
    """The classes at the ends of component 1, the faint shoe, and the training against the test centres."""
    facts: dict[str, dict] = {}
    first, last = projections[0]["class"], projections[-1]["class"]
    facts["class_ends"] = state(
        f"{first} lies furthest out on one side and {last} furthest out on the other.", first=first, last=last
    )
    high, low = ends(projections, "projection")
    facts["tops_and_footwear"] = compare(
        tops_against_footwear(high, low),
        "==",
        True,
        f"Here the {num_word(EXTREMES)} classes furthest out on one side are {' and '.join(high)} ({group(high)}) "
        f"and on the other {' and '.join(low)} ({group(low)}): the direction along which the images differ most "
        "is largely the one that separates tops from footwear.",
        f"Here the classes furthest out are {' and '.join(high)} on one side and {' and '.join(low)} on the other, "
        "not tops against footwear: in this run component 1 separates other groups.",
        what="one end all tops and the other all footwear",
        high=high,
        low=low,
    )
    n, opposite = shoe["pixels"], shoe["opposite"]
    where = (
        f"where the average shoe has ink and the average top has none ({plural(n, 'pixel')} at ink level "
        f"{INK_LEVEL:g}, outlined on component 1)"
    )
    facts["faint_shoe"] = choose(
        [
            (
                n == 0,
                "no shoe-only pixels",
                f"The average shoe has no ink outside the average top (ink level {INK_LEVEL:g}), so no shoe-only "
                "region can be outlined on component 1.",
            ),
            (
                shoe["shows"],
                f"{opposite} of {n} opposite > half",
                f"The faint shoe lies {where}: there {opposite} of component 1's {n} weights have the sign opposite to "
                f"its weights inside the average top (mean {signed(shoe['mean_weight'], 3)} against "
                f"{signed(shoe['top_mean_weight'], 3)}), so the shoe shows as a faint shape in the other colour.",
            ),
        ],
        f"No separate shoe shape shows {where}: only {opposite} of component 1's {n} weights there have the sign "
        f"opposite to its weights inside the average top (mean {signed(shoe['mean_weight'] or 0.0, 3)} against "
        f"{signed(shoe['top_mean_weight'], 3)}).",
        values=shoe,
    )
    r_top, r_shoe = correlations["top"], correlations["shoe"]
    measured = (
        f"Component 1 correlates at {signed(r_top, 2)} with the average top's difference from the mean image and at "
        f"{signed(r_shoe, 2)} with the average shoe's"
    )
    strong = min(abs(r_top), abs(r_shoe)) >= STRONG_CORRELATION
    facts["footwear_correlation"] = choose(
        [
            (
                strong and r_top * r_shoe < 0,
                f"opposite signs, both at least {STRONG_CORRELATION:g} in size",
                f"{measured}: tops and shoes pull it in opposite directions.",
            ),
            (
                strong and r_top * r_shoe > 0,
                f"same sign, both at least {STRONG_CORRELATION:g} in size",
                f"{measured}: both pull it the same way.",
            ),
        ],
        f"{measured}: at least one of the two is weak (below {STRONG_CORRELATION:g} in size).",
        values={"top": r_top, "shoe": r_shoe},
    )
    both = [row for row in projections if row.get("test_projection") is not None]
    if both:
        shown = [(row["class"], round(row["projection"], 2), round(row["test_projection"], 2)) for row in both]
        # Compared as the table prints them (2 decimals), so a reader can check "at most" against its rows.
        gaps = [round(abs(train_value - test_value), 2) for _, train_value, test_value in shown]
        name, train_value, test_value = shown[gaps.index(max(gaps))]
        gap = max(gaps)
        test_high, test_low = ends(projections, "test_projection", 1)
        train_high, train_low = ends(projections, "projection", 1)
        differ = (
            f"The two columns differ by at most {fixed(gap, 2)} (most for {name}: {fixed(train_value, 2)} over the "
            f"training images, {fixed(test_value, 2)} over the test images)"
        )
        facts["train_vs_test"] = compare(
            (train_high[0], train_low[0]) == (test_high[0], test_low[0]),
            "==",
            True,
            f"{differ}; both put {train_high[0]} and {train_low[0]} at the two ends.",
            f"{differ}; the training images put {train_high[0]} and {train_low[0]} at the two ends, the test images "
            f"{test_high[0]} and {test_low[0]}.",
            what="same classes at both ends over training and test images",
            largest_gap=gap,
            largest_gap_class=name,
        )
    return facts


def classifier_facts(classification: dict, within_pp: float) -> dict[str, dict]:
    """How many components a linear classifier needs: its best accuracy, the smallest count within reach of it,
    what the variance rule of thumb's counts give (measured: pca/classify.py adds them), and the first two scores."""
    counts, correct = classification["counts"], classification["correct"]
    n_test, majority = classification["n_test"], classification["majority_share"]
    accuracy = {k: c / n_test for k, c in zip(counts, correct, strict=True)}
    kept = dict(zip(counts, classification["variance_kept"], strict=True))
    best = max(correct)
    k_best = counts[correct.index(best)]
    available = classification["n_components_available"]
    k_enough = enough_count(counts, correct, n_test, within_pp, available)
    points = f"{within_pp:g} percentage point{'' if within_pp == 1 else 's'}"
    guess = f"{pct(majority)} for always guessing the most common class"
    best_text = (
        f"A linear classifier (LDA) fitted on the first k scores reaches its best measured test accuracy, "
        f"{pct(accuracy[k_best])} of the {num(n_test)} test images, with k = {k_best} (against {guess})"
    )
    facts = {
        "classifier_enough": choose(
            [
                (
                    len(counts) == 1,
                    "one count measured",
                    f"A linear classifier (LDA) on the first {plural(k_best, 'score')} labels "
                    f"{pct(accuracy[k_best])} of the {num(n_test)} test images correctly (against {guess}); no other "
                    "count was measured, so this run does not say how many components are enough.",
                ),
                (
                    k_enough is None,
                    f"largest count measured {counts[-1]} < all {available} components",
                    f"{best_text}; the counts measured stop at k = {counts[-1]}, short of all {num(available)} "
                    "components, so this run does not say how many are enough: larger counts might still do better.",
                ),
                (
                    k_enough is not None and k_enough < k_best,
                    f"k = {k_enough} within {within_pp:g} pp of the best, k = {k_best}",
                    f"{best_text}; k = {k_enough}, keeping {pct(kept.get(k_enough, 0.0))} of the variance, is the "
                    f"smallest count measured that comes within {points} of that "
                    f"({pct(accuracy.get(k_enough, 0.0))}), so {plural(k_enough or 0, 'component')} "
                    f"{'is' if k_enough == 1 else 'are'} enough for "
                    "telling garments apart, to within that margin.",
                ),
                (
                    k_best == counts[0],
                    f"best at the smallest count, k = {k_best}",
                    f"{best_text}: the smallest count measured already gives the best accuracy.",
                ),
            ],
            f"{best_text}; none of the smaller counts measured comes within {points} of that, so "
            f"{plural(k_best, 'component')} are the fewest measured that are enough.",
            values={"k_best": k_best, "k_enough": k_enough, "within_pp": within_pp, "best": accuracy[k_best]},
        )
    }
    thresholds = classification.get("threshold_counts", {})
    k90, k95 = thresholds.get("0.9"), thresholds.get("0.95")
    if k90 in accuracy and k95 in accuracy and len(counts) > 1 and k_enough is not None:
        allowed = within_pp / 100.0 * n_test + 1e-9
        within90 = best - correct[counts.index(k90)] <= allowed
        within95 = best - correct[counts.index(k95)] <= allowed
        a90, a95 = pct(accuracy[k90]), pct(accuracy[k95])
        facts["rule_of_thumb"] = choose(
            [
                (
                    k_enough < k90,
                    f"{k_enough} < {k90}",
                    f"That is fewer components than the rule of thumb's {k90} (90 % of the variance), which give "
                    f"{a90}; its {k95} (95 %) give {a95}.",
                ),
                (
                    within90,
                    f"accuracy at {k90} within {within_pp:g} pp of the best",
                    f"The rule of thumb's {k90} components (90 % of the variance) are the smallest count measured "
                    f"within {points} of the best ({a90}); its {k95} (95 %) give {a95}.",
                ),
                (
                    within95,
                    f"accuracy at {k95} within {within_pp:g} pp of the best, at {k90} not",
                    f"Of the rule of thumb's counts, {k95} components (95 % of the variance) come within {points} of "
                    f"the best ({a95}); {k90} (90 %) do not ({a90}).",
                ),
            ],
            f"Neither of the rule of thumb's counts comes within {points} of the best: {k90} components (90 % of "
            f"the variance) give {a90}, {k95} (95 %) give {a95}.",
            values={
                "k_enough": k_enough,
                "k90": k90,
                "k95": k95,
                "accuracy_k90": accuracy[k90],
                "accuracy_k95": accuracy[k95],
            },
        )
    if 2 in accuracy:
        facts["two_scores"] = compare(
            accuracy[2],
            ">",
            majority,
            f"On those two scores alone the classifier labels {pct(accuracy[2])} of the test images correctly, "
            f"against {guess}.",
            f"On those two scores alone the classifier labels {pct(accuracy[2])} of the test images correctly, no "
            f"more than the {guess}.",
            what="accuracy on two scores vs the most common class's share",
        )
    return facts


def redraw_fact(explained_variance: np.ndarray, n_samples: int, thresholds: dict[str, int]) -> dict:
    """How many components redraw the training images closely (typical pixel error at most ``CLOSE_RMSE``).

    Exact from the spectrum for every k (``pcaio.training_rmse``), so the answer is not limited to the counts the
    reconstruction figure draws; the figure measures the test images at its counts.
    """
    rmse = training_rmse(explained_variance, n_samples)
    k_close = int(np.argmax(rmse[1:] <= CLOSE_RMSE)) + 1
    kept = float(np.cumsum(explained_variance)[k_close - 1] / explained_variance.sum())
    t_last, k_last = max((float(t), int(k)) for t, k in thresholds.items())
    text = (
        f"{plural(k_close, 'component')}, which keep {pct(kept)} of the variance, redraw the training images with a "
        f"typical pixel error of at most {CLOSE_RMSE:g} (a twentieth of the way from black to white), counted "
        "exactly from the variance the dropped components carry"
    )
    return choose(
        [
            (k_last == k_close, f"{k_last} == {k_close}", text + f"; that is the count for {share_label(t_last)}."),
        ],
        text + f"; the {num(k_last)} components for {share_label(t_last)} leave a typical pixel error of "
        f"{fixed(float(rmse[k_last]), 3)}.",
        values={
            "k_close": k_close,
            "rmse_at_k_close": float(rmse[k_close]),
            "k_last": k_last,
            "rmse_at_k_last": float(rmse[k_last]),
        },
    )


def lesson_facts(
    metrics: dict,
    ratios: np.ndarray,
    explained_variance: np.ndarray,
    projections: Sequence[dict],
    classification: dict,
    within_pp: float,
    facts: dict[str, dict],
) -> dict[str, dict]:
    """The key takeaways (``key_*``) and the exercises' numeric answers (``answer_*``), from the numbers above."""
    n = ratios.size
    cumulative = np.cumsum(ratios)
    thread = min(THREAD_COMPONENTS, n)
    t_last, k_last = max((float(t), int(k)) for t, k in metrics["thresholds"].items())
    lesson: dict[str, dict] = {}
    lesson["key_variance"] = state(
        f"The thread's {plural(thread, 'component')} carry {pct(float(cumulative[thread - 1]))} of the pixel variance "
        f"of the {num(metrics['n_samples'])} training images; {share_label(t_last)} takes {num(k_last)} of all "
        f"{num(n)} components.",
        components=thread,
        cumulative=float(cumulative[thread - 1]),
        k_last=k_last,
    )
    high, low = ends(projections, "projection")
    lesson["key_component"] = compare(
        tops_against_footwear(high, low),
        "==",
        True,
        f"Component 1, the direction along which the images vary most, puts {' and '.join(high)} ({group(high)}) at "
        f"one end and {' and '.join(low)} ({group(low)}) at the other, although PCA never sees a label.",
        f"Component 1, the direction along which the images vary most, puts {' and '.join(high)} at one end and "
        f"{' and '.join(low)} at the other: in this run it does not separate tops from footwear.",
        what="one end of component 1 all tops and the other all footwear",
    )
    enough = facts["classifier_enough"]["values"]
    counts, correct, n_test = classification["counts"], classification["correct"], classification["n_test"]
    accuracy = {k: c / n_test for k, c in zip(counts, correct, strict=True)}
    kept = dict(zip(counts, classification["variance_kept"], strict=True))
    k_enough, k_best = enough["k_enough"], enough["k_best"]
    points = f"{within_pp:g} percentage point{'' if within_pp == 1 else 's'}"
    if k_enough is None:
        enough_text = (
            f"This run does not measure how many components a classifier needs: the counts tried stop at "
            f"k = {counts[-1]}, short of all {num(n)}."
        )
        answer_text = (
            f"This run cannot tell: the counts measured stop at k = {counts[-1]}, short of all {num(n)} components, "
            f"so larger counts might still do better. The best measured accuracy is {pct(accuracy[k_best])}, at "
            f"k = {k_best}."
        )
    else:
        enough_text = (
            f"For telling garments apart, {plural(k_enough, 'component')} ({pct(kept[k_enough])} of the variance) "
            f"bring a linear classifier within {points} of its best measured test accuracy, {pct(accuracy[k_best])}."
        )
        answer_text = (
            f"{plural(k_enough, 'component')}: they give {pct(accuracy[k_enough])} of the test images correct, "
            f"against the best measured {pct(accuracy[k_best])} at k = {k_best}, and keep {pct(kept[k_enough])} of "
            "the variance."
        )
    lesson["key_enough"] = state(enough_text, k_enough=k_enough, k_best=k_best)
    redraw = facts["redraw"]["values"]
    lesson["key_redraw"] = state(
        f"Redrawing the training images to a typical pixel error of at most {CLOSE_RMSE:g} takes "
        f"{plural(redraw['k_close'], 'component')}.",
        k_close=redraw["k_close"],
    )
    lesson["answer_enough"] = state(answer_text, k_enough=k_enough, k_best=k_best)
    lesson["answer_storage"] = state(
        f"{num(k_last)} numbers per image, the scores on the first {plural(k_last, 'component')}, instead of "
        f"{num(n)} pixel values: {fixed(n / k_last, 1)} times shorter. The mean image and the {num(k_last)} "
        "components are stored once for all images.",
        k_last=k_last,
        share=t_last,
    )
    variance = np.asarray(explained_variance, dtype=np.float64)
    sd = math.sqrt(max(float(variance[0]), 0.0))
    lesson["answer_spread"] = state(
        f"{fixed(sd, 2)}, the square root of the variance of the scores on component 1, "
        f"{fixed(float(variance[0]), 2)} (in squared pixel values, pixels running from 0 to 1); that variance is "
        f"{pct(float(ratios[0]))} of the images' total variance, {fixed(float(variance.sum()), 2)}.",
        sd=sd,
        variance=float(variance[0]),
    )
    return lesson


def page_facts(
    metrics: dict,
    ratios: np.ndarray,
    explained_variance: np.ndarray,
    projections: Sequence[dict],
    shoe: dict,
    correlations: dict[str, float],
    classification: dict,
    within_pp: float,
    summary: dict,
) -> dict[str, dict]:
    """Every fact the page prints from the claims file, by id (``headline`` and ``description`` included)."""
    thresholds = metrics["thresholds"]
    facts = {"headline": state(TITLE)}
    facts.update(spectrum_facts(ratios, thresholds))
    facts.update(class_facts(projections, shoe, correlations))
    facts.update(classifier_facts(classification, within_pp))
    facts["redraw"] = redraw_fact(explained_variance, metrics["n_samples"], thresholds)
    facts.update(lesson_facts(metrics, ratios, explained_variance, projections, classification, within_pp, facts))
    supported, total = summary["supported"], summary["total"]
    facts["claims_summary"] = choose(
        [
            (supported == total, f"{supported} == {total}", f"All {total} claims are supported."),
            (supported == 0, "0 supported", f"None of the {total} claims is supported."),
        ],
        f"{supported} of {total} claims {'is' if supported == 1 else 'are'} supported.",
        values=summary,
    )
    t_last, k_last = max((float(t), int(k)) for t, k in thresholds.items())
    k_enough = facts["classifier_enough"]["values"]["k_enough"]
    points = f"{within_pp:g} percentage point{'' if within_pp == 1 else 's'}"
    classifier = (
        f"a linear classifier on the first {plural(k_enough, 'score')} comes within {points} of its best measured "
        "test accuracy"
        if k_enough is not None
        else "a linear classifier's test accuracy is measured on the first k scores for k = "
        + ", ".join(str(k) for k in classification["counts"])
    )
    facts["description"] = state(
        f"Principal component analysis of {num(metrics['n_samples'])} Fashion-MNIST training images: the thread's "
        f"{THREAD_COMPONENTS} components explain {pct(float(np.sum(ratios[:THREAD_COMPONENTS])))} of the pixel "
        f"variance, {num(k_last)} explain {share_label(t_last)}, and {classifier}."
    )
    return facts


def check_claims(
    metrics: dict,
    mean: np.ndarray,
    components: np.ndarray,
    images: np.ndarray,
    labels: np.ndarray,
    tolerance: float,
    test_images: np.ndarray | None = None,
    test_labels: np.ndarray | None = None,
    classification: dict | None = None,
    explained_variance: np.ndarray | None = None,
    within_pp: float = 1.0,
) -> dict:
    """Build the whole claims document (see the module docstring) from the PCA outputs and the data.

    Without test images, the classification and the variances (hand-made tests of the verdicts), the claims are
    checked on the training images alone and no facts are built.
    """
    ratios = [float(r) for r in metrics["explained_variance_ratio"]]
    claims = [numeric_verdict(claim, ratios, tolerance) for claim in NUMERIC_CLAIMS]
    projections = class_projections(images, labels, mean, components[0], test_images, test_labels)
    complete = test_images is not None and classification is not None and explained_variance is not None
    shoe = correlations = None
    if complete:
        masks = outlines(images, labels)
        shoe = faint_shoe(components[0], masks)
        correlations = {
            name: float(np.corrcoef(components[0], masks[f"{name}_mean"] - mean)[0, 1]) for name in ("top", "shoe")
        }
    verdict, measured = shirt_shoe_verdict(projections, shoe)
    claims.append(
        {
            "id": SHIRT_SHOE_ID,
            "claim": SHIRT_SHOE_CLAIM,
            "source_quote": QUOTE_FIRST,
            "claimed": SHIRT_SHOE_CLAIMED,
            "measured": measured,
            "unit": None,
            "tolerance": None,
            "difference": None,
            "verdict": verdict,
            "rule": SHIRT_SHOE_RULE,
        }
    )
    summary = {"supported": sum(c["verdict"] == "supported" for c in claims), "total": len(claims)}
    result = {
        "claims": claims,
        "class_projections": projections,
        "tolerance_pp": tolerance,
        "summary": summary,
    }
    if complete:
        result["faint_shoe"] = shoe
        result["correlations"] = correlations
        result["facts"] = page_facts(
            metrics,
            np.asarray(ratios),
            np.asarray(explained_variance, dtype=np.float64),
            projections,
            shoe,
            correlations,
            classification,
            within_pp,
            summary,
        )
    return result


def load_fit(metrics_path: str | os.PathLike[str], pca_path: str | os.PathLike[str]) -> tuple[dict, dict]:
    """Read the metrics and arrays written by pca/fit.py and check that they belong to the same fit."""
    metrics = read_json(metrics_path)
    arrays = load_pca(pca_path)
    if not isinstance(metrics, dict) or not isinstance(metrics.get("explained_variance_ratio"), list):
        raise PipelineError(f"{metrics_path}: has no explained_variance_ratio list; rerun the pca step")
    ratios = np.asarray(metrics["explained_variance_ratio"], dtype=np.float64)
    stored = arrays["explained_variance_ratio"]
    if ratios.shape != stored.shape or not np.allclose(ratios, stored, rtol=0, atol=1e-12):
        raise PipelineError(f"{metrics_path} and {pca_path} come from different PCA fits; rerun the pca step")
    if "explained_variance" not in arrays:
        raise PipelineError(f"{pca_path}: has no explained_variance array; rerun the pca step")
    return metrics, arrays


def build_parser() -> ArgumentParser:
    """The flags: the PCA outputs, the dataset and the classifier's accuracies to read, the tolerances, the output."""
    parser = ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--metrics", type=input_file, required=True, help="metrics.json written by pca/fit.py")
    parser.add_argument(
        "--pca", type=input_file, required=True, help="pca.npz written by pca/fit.py (mean and components)"
    )
    parser.add_argument("--data", type=input_file, required=True, help="prepared dataset (.npy) the PCA was fitted on")
    parser.add_argument(
        "--classification", type=input_file, required=True, help="classification.json written by pca/classify.py"
    )
    parser.add_argument(
        "--tolerance-pp",
        type=float,
        required=True,
        help="largest difference, in percentage points, that still supports a stated share (config: "
        "pca.claim_tolerance_pp)",
    )
    parser.add_argument(
        "--classifier-within-pp",
        type=float,
        required=True,
        help="how close to the best test accuracy, in percentage points, counts as enough components (config: "
        "pca.classifier_within_pp)",
    )
    parser.add_argument("--output", type=Path, required=True, help="where to write the verdicts (claims.json)")
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    """Parse the flags, check every claim, build the page's facts and write them."""
    args = build_parser().parse_args(argv)
    if not (math.isfinite(args.tolerance_pp) and args.tolerance_pp >= 0):
        raise PipelineError(f"--tolerance-pp must be a finite number >= 0, got {args.tolerance_pp}")
    if not (math.isfinite(args.classifier_within_pp) and args.classifier_within_pp > 0):
        raise PipelineError(f"--classifier-within-pp must be a finite number > 0, got {args.classifier_within_pp}")

    metrics, arrays = load_fit(args.metrics, args.pca)
    classification = read_classification(args.classification, arrays["components"].shape[0])
    train, test = load_split(args.data, "train"), load_split(args.data, "test")
    check_same_pixels(args.data, train.images[0].size, args.pca, arrays)
    result = check_claims(
        metrics,
        arrays["mean"],
        arrays["components"],
        train.images,
        np.asarray(train.labels),
        args.tolerance_pp,
        test_images=test.images,
        test_labels=np.asarray(test.labels),
        classification=classification,
        explained_variance=arrays["explained_variance"],
        within_pp=args.classifier_within_pp,
    )
    write_json(args.output, result)
    for claim in result["claims"]:
        print(f"{claim['verdict']:>13}: {claim['claim']} (measured: {claim['measured']})")
    print(f"{result['summary']['supported']} of {result['summary']['total']} claims supported")


if __name__ == "__main__":
    sys.exit(run_cli(main))
