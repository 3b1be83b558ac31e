"""Verdict logic of scripts/pca/claims.py on hand-made numbers, and its command line on the fixture data."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import numpy as np
import pytest

from conftest import run_script, synthetic_images
from kit.cli import PipelineError
from kit.dataset import CLASS_NAMES, TEST, TRAIN, load_split, make_records, save_records
from kit.facts import checked, collect
from kit.io import write_json
from pca import classify
from pca import fit as pca
from pca.claims import NUMERIC_CLAIMS, check_claims, class_projections, numeric_verdict, shirt_shoe_verdict
from pca.pcaio import load_pca

CLAIM = {claim.id: claim for claim in NUMERIC_CLAIMS}


def ratios_with(first: float) -> list[float]:
    """A spectrum whose first ratio is ``first`` and the rest share what is left."""
    return [first, 0.18, 0.06, 0.05, 1.0 - first - 0.29]


@pytest.mark.parametrize(
    ("first", "verdict"),
    [
        (0.29, "supported"),
        (0.2951, "supported"),
        (0.305, "supported"),  # exactly 1.5 pp above: the boundary counts as supported
        (0.275, "supported"),  # exactly 1.5 pp below
        (0.3051, "not supported"),
        (0.2749, "not supported"),
        (0.40, "not supported"),
    ],
)
def test_numeric_verdict_against_tolerance(first, verdict):
    result = numeric_verdict(CLAIM["component_1"], ratios_with(first), tolerance=1.5)
    assert result["verdict"] == verdict
    assert result["measured"] == round(100 * first, 2)
    assert result["difference"] == round(100 * first - 29, 2)
    assert result["claimed"] == 29 and result["unit"] == "%" and result["tolerance"] == 1.5


def test_numeric_verdict_tolerance_is_a_setting():
    assert numeric_verdict(CLAIM["component_1"], ratios_with(0.31), tolerance=1.5)["verdict"] == "not supported"
    assert numeric_verdict(CLAIM["component_1"], ratios_with(0.31), tolerance=2.5)["verdict"] == "supported"


def test_total_claim_sums_the_first_four():
    result = numeric_verdict(CLAIM["total_4"], [0.29, 0.18, 0.06, 0.05, 0.42], tolerance=1.5)
    assert result["measured"] == 58.0 and result["verdict"] == "supported"
    result = numeric_verdict(CLAIM["total_4"], [0.29, 0.18, 0.02, 0.01, 0.50], tolerance=1.5)
    assert result["measured"] == 50.0 and result["verdict"] == "not supported"


def test_each_component_claim_reads_its_own_ratio():
    ratios = [0.29, 0.18, 0.06, 0.05, 0.42]
    measured = {c.id: numeric_verdict(c, ratios, 1.5)["measured"] for c in NUMERIC_CLAIMS}
    assert measured == {"component_1": 29.0, "component_2": 18.0, "component_3": 6.0, "component_4": 5.0,
                        "total_4": 58.0}  # fmt: skip


def test_numeric_verdict_needs_enough_components():
    with pytest.raises(PipelineError, match="needs 4 components"):
        numeric_verdict(CLAIM["total_4"], [0.6, 0.4], tolerance=1.5)


def projections(order: list[str]) -> list[dict]:
    """Hand-made class projections in the given order, largest first."""
    return [
        {"class": name, "label": CLASS_NAMES.index(name), "projection": float(len(order) - i)}
        for i, name in enumerate(order)
    ]


TOPS_FIRST = ["Coat", "Pullover", "T-shirt/top", "Shirt", "Dress", "Bag", "Trouser", "Ankle boot", "Sneaker", "Sandal"]


def test_shirt_shoe_supported_when_tops_and_footwear_are_at_opposite_ends():
    verdict, measured = shirt_shoe_verdict(projections(TOPS_FIRST))
    assert verdict == "supported"
    assert measured == ("largest projections: Coat, Pullover (tops); smallest projections: Sandal, Sneaker (footwear)")


def test_shirt_shoe_supported_with_the_sign_flipped():
    verdict, _ = shirt_shoe_verdict(projections(TOPS_FIRST[::-1]))
    assert verdict == "supported"


@pytest.mark.parametrize(
    "order",
    [
        # a bag among the largest
        ["Coat", "Bag", "T-shirt/top", "Shirt", "Dress", "Pullover", "Trouser", "Ankle boot", "Sneaker", "Sandal"],
        # a trouser among the smallest
        ["Coat", "Pullover", "T-shirt/top", "Shirt", "Dress", "Bag", "Ankle boot", "Sneaker", "Trouser", "Sandal"],
        # footwear at both ends
        ["Sandal", "Sneaker", "T-shirt/top", "Shirt", "Dress", "Bag", "Trouser", "Pullover", "Coat", "Ankle boot"],
    ],
)
def test_shirt_shoe_not_supported_otherwise(order):
    verdict, _ = shirt_shoe_verdict(projections(order))
    assert verdict == "not supported"


def test_shirt_shoe_needs_the_test_images_and_the_faint_shoe_to_agree():
    """The verdict considers every number the page shows about it: the test centres and the faint shoe too."""
    rows = projections(TOPS_FIRST)
    for row in rows:
        row["test_projection"] = row["projection"]
    shoe = {"pixels": 40, "opposite": 35, "shows": True}
    verdict, measured = shirt_shoe_verdict(rows, shoe)
    assert verdict == "supported" and "test images: largest Coat, Pullover (tops)" in measured
    assert measured.endswith("faint shoe: 35 of 40 shoe-only pixels have the sign opposite to the top")
    assert shirt_shoe_verdict(rows, {**shoe, "opposite": 10, "shows": False})[0] == "not supported"
    swapped = [dict(row) for row in rows]
    swapped[0]["test_projection"], swapped[4]["test_projection"] = rows[4]["projection"], rows[0]["projection"]
    assert shirt_shoe_verdict(swapped, shoe)[0] == "not supported"  # Dress, not Coat, leads on the test images


@pytest.mark.parametrize(
    ("weights", "pixels", "opposite", "shows"),
    [
        ([0.04, 0.04, -0.02, -0.02], 2, 2, True),  # the shoe-only pixels have the other sign
        ([0.04, 0.04, 0.01, -0.02], 2, 1, False),  # half of them: no majority
        ([-0.04, -0.04, 0.02, 0.02], 2, 2, True),  # the sign of a component is arbitrary
    ],
)
def test_faint_shoe_counts_the_opposite_sign_where_only_the_shoe_has_ink(weights, pixels, opposite, shows):
    from pca.claims import faint_shoe

    masks = {"top": np.array([True, True, False, False]), "shoe_only": np.array([False, False, True, True])}
    result = faint_shoe(np.array(weights), masks)
    assert (result["pixels"], result["opposite"], result["shows"]) == (pixels, opposite, shows)
    empty = faint_shoe(np.array(weights), {**masks, "shoe_only": np.zeros(4, dtype=bool)})
    assert empty["pixels"] == 0 and not empty["shows"] and empty["mean_weight"] is None


def test_shirt_shoe_needs_enough_classes():
    with pytest.raises(PipelineError, match="at least 4 classes"):
        shirt_shoe_verdict(projections(["Coat", "Sandal", "Bag"]))


def test_class_projections_project_class_means_on_the_component():
    # Pixel 0 carries the class: label * 10 (out of 255); the component is that pixel.
    labels = np.repeat(np.arange(10, dtype=np.uint8), 3)
    images = np.zeros((30, 28, 28), dtype=np.uint8)
    images[:, 0, 0] = labels * 10
    mean = np.zeros(784)
    mean[0] = 45 / 255  # the overall mean of pixel 0
    component = np.zeros(784)
    component[0] = 1.0
    rows = class_projections(images, labels, mean, component)
    assert [row["label"] for row in rows] == list(range(9, -1, -1))
    assert [row["class"] for row in rows] == [CLASS_NAMES[label] for label in range(9, -1, -1)]
    for row in rows:
        assert row["projection"] == pytest.approx((row["label"] * 10 - 45) / 255, abs=1e-6)


def test_check_claims_counts_supported_claims():
    metrics = {"explained_variance_ratio": [0.29, 0.10, 0.06, 0.05, 0.50]}  # component 2 and the total miss
    labels = np.arange(10, dtype=np.uint8)
    images = np.zeros((10, 28, 28), dtype=np.uint8)
    order = [CLASS_NAMES.index(name) for name in TOPS_FIRST]
    for rank, label in enumerate(order):
        images[label, 0, 0] = 200 - 20 * rank
    component = np.eye(784)[:1]
    result = check_claims(metrics, np.zeros(784), component, images, labels, tolerance=1.5)
    verdicts = {claim["id"]: claim["verdict"] for claim in result["claims"]}
    assert verdicts == {
        "component_1": "supported",
        "component_2": "not supported",
        "component_3": "supported",
        "component_4": "supported",
        "total_4": "not supported",
        "component_1_shirt_and_shoe": "supported",
    }
    assert result["summary"] == {"supported": 4, "total": 6}
    assert result["tolerance_pp"] == 1.5


@pytest.fixture
def pca_outputs(prepared_dataset, tmp_path):
    """PCA arrays and metrics fitted on the fixture's training images, as pca/fit.py writes them."""
    out, met = tmp_path / "pca" / "pca.npz", tmp_path / "pca" / "metrics.json"
    pca.main(["--input", str(prepared_dataset), "--output", str(out), "--metrics", str(met), "--thresholds", "0.9"])
    classification = tmp_path / "pca" / "classification.json"
    classify.main(
        ["--data", str(prepared_dataset), "--pca", str(out), "--metrics", str(met), "--counts", "1", "2", "8",
         "--output", str(classification)]
    )  # fmt: skip
    return {"data": prepared_dataset, "pca": out, "metrics": met, "classification": classification}


def claims_inputs(outputs: dict, metrics: object = None) -> list:
    """The claims script's input flags for ``outputs`` (another metrics file when given)."""
    return [
        "--metrics", metrics or outputs["metrics"], "--pca", outputs["pca"], "--data", outputs["data"],
        "--classification", outputs["classification"],
    ]  # fmt: skip


def test_cli_writes_claims(pca_outputs, tmp_path):
    out = tmp_path / "claims.json"
    result = run_script(
        "pca/claims.py", *claims_inputs(pca_outputs), "--tolerance-pp", "2", "--classifier-within-pp", "1",
        "--output", out,
    )  # fmt: skip
    assert "claims supported" in result.stdout
    claims = json.loads(out.read_text())
    assert claims["tolerance_pp"] == 2.0
    assert [c["id"] for c in claims["claims"]] == [c.id for c in NUMERIC_CLAIMS] + ["component_1_shirt_and_shoe"]
    for claim in claims["claims"]:
        assert claim["verdict"] in {"supported", "not supported"}
        assert claim["source_quote"] and claim["rule"] and claim["claim"]
    assert claims["summary"]["total"] == 6
    assert claims["summary"]["supported"] == sum(c["verdict"] == "supported" for c in claims["claims"])
    metrics = json.loads(pca_outputs["metrics"].read_text())
    assert claims["claims"][0]["measured"] == round(100 * metrics["explained_variance_ratio"][0], 2)
    values = [row["projection"] for row in claims["class_projections"]]
    assert values == sorted(values, reverse=True)
    assert sorted(row["label"] for row in claims["class_projections"]) == list(range(10))
    assert {"headline", "description", "claims_summary", "faint_shoe", "classifier_enough"} <= set(claims["facts"])


def test_cli_rejects_metrics_from_another_fit(pca_outputs, tmp_path):
    metrics = json.loads(pca_outputs["metrics"].read_text())
    metrics["explained_variance_ratio"][0] += 0.01
    other = tmp_path / "other.json"
    write_json(other, metrics)
    out = tmp_path / "claims.json"
    result = run_script(
        "pca/claims.py", *claims_inputs(pca_outputs, other), "--tolerance-pp", "1.5", "--classifier-within-pp", "1",
        "--output", out, check=False,
    )  # fmt: skip
    assert result.returncode == 1
    assert "different PCA fits" in result.stderr
    assert not out.exists()


def test_cli_refuses_missing_inputs_and_settings(pca_outputs, tmp_path):
    """A missing input file is named before any work; the tolerance comes from the config, so it has no default."""
    out = tmp_path / "claims.json"
    inputs = claims_inputs(pca_outputs)
    missing = tmp_path / "nowhere.npz"
    settings = ["--tolerance-pp", "1.5", "--classifier-within-pp", "1"]
    result = run_script(
        "pca/claims.py", *inputs[:2], "--pca", missing, *inputs[4:], *settings, "--output", out, check=False
    )  # fmt: skip
    assert result.returncode == 1
    assert result.stderr.startswith(f"error: {missing}: file not found")
    for left_out in ("--tolerance-pp", "--classifier-within-pp"):
        index = settings.index(left_out)
        given = settings[:index] + settings[index + 2 :]
        result = run_script("pca/claims.py", *inputs, *given, "--output", out, check=False)
        assert result.returncode == 1
        assert result.stderr.startswith("error: ") and left_out in result.stderr
        assert len(result.stderr.splitlines()) == 1
    result = run_script(
        "pca/claims.py", *inputs, "--tolerance-pp", "1.5", "--classifier-within-pp", "0", "--output", out, check=False
    )  # fmt: skip
    assert result.returncode == 1 and "--classifier-within-pp must be a finite number > 0" in result.stderr
    assert not out.exists()


# --------------------------------------------------------------------------------------------------------
# The page under runs with different outcomes: every fact's sentence against the numbers it is about
# --------------------------------------------------------------------------------------------------------
#
# Three small datasets give different outcomes: cartoon garments (tops and a low, wide shoe band: the thread's
# picture holds), the conftest's class blobs (no shirt-and-shoe picture), and pure noise (a round cloud, nothing to
# classify). Each runs the explainer's own scripts under its own settings, the page is rendered from the outputs,
# and every fact is checked against numbers recomputed here from the data and the output files, independently of
# the fact's own stored values.


def garment_images(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Cartoon garments: tops fill the upper body, shoes a low wide band whose toe and heel reach past a top."""
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % 10
    rng.shuffle(labels)
    images = np.zeros((n, 28, 28))
    for i, label in enumerate(labels):
        img = np.zeros((28, 28))
        if label in (0, 2, 4, 6):  # tops: a torso, with sleeves whose length depends on the kind
            img[3:25, 8:20] = 1
            sleeve = {0: 8, 2: 18, 4: 20, 6: 16}[label]
            img[4 : 4 + sleeve, 4:8] = img[4 : 4 + sleeve, 20:24] = 1
        elif label == 1:  # trousers
            img[2:27, 8:13] = img[2:27, 15:20] = 1
        elif label == 3:  # a dress widening downwards
            for row in range(3, 27):
                half = 3 + (row - 3) // 3
                img[row, 14 - half : 14 + half] = 1
        elif label == 8:  # a bag with a handle
            img[10:25, 5:23] = 1
            img[5:10, 10:12] = img[5:10, 16:18] = 1
        else:  # footwear: a low, wide band; the ankle boot adds a shaft
            img[16:22, 1:27] = 1
            if label == 9:
                img[8:16, 18:26] = 1
        img = np.roll(img, tuple(rng.integers(-1, 2, size=2)), axis=(0, 1))
        images[i] = img * rng.uniform(150, 250) + rng.normal(0, 12, (28, 28))
    return np.clip(images, 0, 255).astype(np.uint8), labels.astype(np.uint8)


def noise_images(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Independent uniform pixels and labels that have nothing to do with them."""
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8), (np.arange(n) % 10).astype(np.uint8)


#: Each scenario: its images and the PCA settings it runs under (as the config would give them).
SCENARIOS = {
    "garments": {
        "images": garment_images,
        "n_components": 4,
        "thresholds": ["0.8", "0.9", "0.95"],
        "plot_thresholds": ["0.8", "0.9"],
        "reconstruction_counts": ["1", "4", "40"],
        "classifier_counts": ["1", "2", "4", "8", "784"],
        "within_pp": "1",
    },
    "blobs": {
        "images": synthetic_images,
        "n_components": 1,
        "thresholds": ["0.5", "0.9", "0.95"],
        "plot_thresholds": ["0.5"],
        "reconstruction_counts": ["3"],
        "classifier_counts": ["3"],
        "within_pp": "50",
    },
    "noise": {
        "images": noise_images,
        "n_components": 2,
        "thresholds": ["0.5", "0.7"],
        "plot_thresholds": ["0.7"],
        "reconstruction_counts": ["2", "784"],
        "classifier_counts": ["1", "2", "784"],
        "within_pp": "0.5",
    },
}

#: The figures in page order and their flags beyond the inputs (the declaration's, for a scenario's settings).
PAGE_FIGURES = (
    "variance_bar", "variance_cumulative", "components", "variation_modes", "reconstructions", "accuracy",
    "projection",
)  # fmt: skip


def figure_args(name: str, paths: dict, settings: dict) -> list[str]:
    """A figure's input flags and settings, as workflow/explainers/pca.yaml passes them."""
    inputs = {
        "variance_bar": ["--metrics", paths["metrics"], "--n-components", str(settings["n_components"])],
        "variance_cumulative": [
            "--metrics", paths["metrics"], "--thresholds", *settings["plot_thresholds"], "--thread-components", "4",
        ],
        "components": [
            "--pca", paths["pca"], "--metrics", paths["metrics"], "--data", paths["data"],
            "--n-components", str(settings["n_components"]),
        ],
        "variation_modes": ["--pca", paths["pca"], "--n-components", str(settings["n_components"]), "--spread", "2"],
        "reconstructions": [
            "--pca", paths["pca"], "--data", paths["data"], "--counts", *settings["reconstruction_counts"],
        ],
        "accuracy": ["--classification", paths["classification"], "--within-pp", settings["within_pp"]],
        "projection": ["--pca", paths["pca"], "--data", paths["data"]],
    }  # fmt: skip
    return [str(word) for word in inputs[name]]


@pytest.fixture(scope="module", params=sorted(SCENARIOS))
def scenario(request, tmp_path_factory) -> dict:
    """One small run of the whole explainer (fit, classifier, claims, seven figures, page) under a scenario."""
    import importlib

    from publish import render_html

    name, settings = request.param, SCENARIOS[request.param]
    folder = tmp_path_factory.mktemp(name)
    (train_x, train_y), (test_x, test_y) = settings["images"](300, seed=11), settings["images"](100, seed=12)
    data = folder / "fashion-mnist.npy"
    save_records(data, np.concatenate([make_records(train_x, train_y, TRAIN), make_records(test_x, test_y, TEST)]))
    paths = {
        "data": data, "pca": folder / "pca.npz", "metrics": folder / "metrics.json",
        "classification": folder / "classification.json", "claims": folder / "claims.json",
    }  # fmt: skip
    pca.main(["--input", str(data), "--output", str(paths["pca"]), "--metrics", str(paths["metrics"]),
              "--thresholds", *settings["thresholds"]])  # fmt: skip
    classify.main(["--data", str(data), "--pca", str(paths["pca"]), "--metrics", str(paths["metrics"]),
                   "--counts", *settings["classifier_counts"], "--output", str(paths["classification"])])  # fmt: skip
    from pca import claims as claims_script

    claims_script.main(
        [*map(str, claims_inputs(paths)), "--tolerance-pp", "1.5", "--classifier-within-pp", settings["within_pp"],
         "--output", str(paths["claims"])]
    )  # fmt: skip
    figures = {}
    for figure in PAGE_FIGURES:
        module = importlib.import_module(f"pca.figures.{figure}")
        svg = folder / "figures" / f"{figure}.svg"
        module.main(
            [*figure_args(figure, paths, settings), "--output", str(svg), "--meta", str(svg.with_suffix(".json"))]
        )
        figures[figure] = svg
    dataset = folder / "dataset.json"
    write_json(dataset, {"n_train": 300, "n_test": 100, "available": {"train": 300, "test": 100}})
    provenance = folder / "provenance.json"
    write_json(
        provenance,
        {
            "explainer": "pca", "data": [], "packages": {}, "platform": "test", "git_commit": None, "steps": [],
            "settings": {"pca": {"n_components": settings["n_components"]}},
        },
    )  # fmt: skip
    page = folder / "reports" / "pca.html"
    contexts = {"metrics": paths["metrics"], "claims": paths["claims"], "dataset": dataset,
                "classification": paths["classification"], "provenance": provenance}  # fmt: skip
    render_html.main(
        ["--template", "pca.html.j2", "--output", str(page), "--site-title", "Explainers", "--site-author", "Tester",
         *[f"--context={key}={path}" for key, path in contexts.items()],
         *[f"--figure={key}={path}" for key, path in figures.items()]]
    )  # fmt: skip
    read = lambda path: json.loads(Path(path).read_text(encoding="utf-8"))  # noqa: E731
    return {
        "name": name,
        "settings": settings,
        "paths": paths,
        "claims": read(paths["claims"]),
        "metrics": read(paths["metrics"]),
        "classification": read(paths["classification"]),
        "sidecars": {figure: read(svg.with_suffix(".json")) for figure, svg in figures.items()},
        "page": page.read_text(encoding="utf-8"),
        "train": load_split(data, "train"),
        "test": load_split(data, "test"),
        "arrays": load_pca(paths["pca"]),
    }


def page_text(html_text: str) -> str:
    """The page's visible text, whitespace collapsed."""
    text = re.sub(r"<(script|style)\b.*?</\1>", " ", html_text, flags=re.S)
    text = re.sub(r"<[^>]+>", " ", text)
    return " ".join(html.unescape(text).split())


def said(fact: dict) -> str:
    """A fact's sentence, after checking that it is well formed (the first case that held)."""
    return checked(fact, "fact")["text"]


def test_every_fact_is_well_formed_and_the_page_prints_it(scenario):
    text = page_text(scenario["page"])
    facts = scenario["claims"]["facts"]
    for key, fact in facts.items():
        sentence = " ".join(said(fact).split())
        if key == "description":
            meta = re.search(r'<meta name="description" content="([^"]*)"', scenario["page"])
            assert meta and html.unescape(meta.group(1)) == sentence
        else:
            assert sentence in text, f"claims fact {key!r} is not on the page"
    counts = scenario["sidecars"]["reconstructions"]["counts"]
    for figure, sidecar in scenario["sidecars"].items():
        for key, value in collect(sidecar).items():
            if key == "first_count" and len(counts) == 1:
                continue  # one count: the page states only the last count's fact
            assert " ".join(said(value).split()) in text, f"{figure}.{key} is not on the page"
    assert "almost exactly" not in text
    assert text.count(said(facts["headline"])) >= 2  # the title and the page's heading


def spectrum(scenario) -> np.ndarray:
    """The explained variance ratios, recomputed from the training images with scikit-learn's PCA."""
    from sklearn.decomposition import PCA

    return PCA(svd_solver="full").fit(scenario["train"].flat_float()).explained_variance_ratio_


def test_spectrum_facts_match_an_independent_pca(scenario):
    ratios = spectrum(scenario)
    n = len(scenario["metrics"]["explained_variance_ratio"])
    facts = scenario["claims"]["facts"]
    half = int(np.argmax(np.cumsum(ratios) >= 0.5)) + 1
    cloud = said(facts["cloud_shape"])
    if 20 * half <= n:
        assert cloud.startswith("The cloud is far from round") and f"first {half} direction" in cloud
    else:
        assert cloud.startswith("The cloud is not far from round") and f"takes {half} of" in cloud
    shares = said(facts["first_shares"])
    assert f"carries {100 * ratios[0]:.1f} %" in shares and f"{ratios[0] / ratios[1]:.1f} times" in shares
    assert ("drop sharply" in shares) == (ratios[2] <= ratios[1] / 2)
    cumulative = np.cumsum(ratios)
    needed = {float(t): int(np.argmax(cumulative >= float(t) - 1e-12)) + 1 for t in scenario["settings"]["thresholds"]}
    for t, k in needed.items():
        assert f"{100 * t:g} % " in said(facts["thresholds"]) and f" {k}" in said(facts["thresholds"])
    (_, k_prev), (_, k_last) = sorted(needed.items())[-2:]
    step = said(facts["last_step"])
    assert f"{k_last - k_prev} more" in step
    assert ("more than the" in step) == (k_last - k_prev > k_prev)


def class_means(split, mean: np.ndarray, component: np.ndarray) -> dict[str, float]:
    """Each class's mean score on ``component``, recomputed from the images."""
    x, y = split.flat_float(), np.asarray(split.labels)
    return {CLASS_NAMES[c]: float(((x[y == c] - mean) @ component).mean()) for c in np.unique(y)}


def test_class_facts_match_the_images(scenario):
    arrays, facts = scenario["arrays"], scenario["claims"]["facts"]
    first = arrays["components"][0]
    train = class_means(scenario["train"], arrays["mean"], first)
    test = class_means(scenario["test"], arrays["mean"], first)
    order = sorted(train, key=lambda name: -train[name])
    assert (
        said(facts["class_ends"])
        == f"{order[0]} lies furthest out on one side and {order[-1]} furthest out on the other."
    )
    tops, shoes = {"T-shirt/top", "Pullover", "Coat", "Shirt"}, {"Sandal", "Sneaker", "Ankle boot"}
    ends = {frozenset(order[:2]), frozenset(order[-2:])}
    separated = any(end <= tops for end in ends) and any(end <= shoes for end in ends)
    assert said(facts["tops_and_footwear"]).endswith("separates tops from footwear.") == separated
    # Table 1 and Figure 7 measure the same centres on test images; the fact's "at most" covers the table's rows.
    centroids = scenario["sidecars"]["projection"]["centroids"]
    gaps = []
    for name in train:
        assert centroids[name][0] == pytest.approx(test[name], abs=1e-4)
        gaps.append(abs(round(train[name], 2) - round(test[name], 2)))
    assert f"at most {max(gaps):.2f}" in said(facts["train_vs_test"])
    test_order = sorted(test, key=lambda name: -test[name])
    same = (order[0], order[-1]) == (test_order[0], test_order[-1])
    assert ("both put" in said(facts["train_vs_test"])) == same
    # The faint shoe: recomputed from the class mean images.
    x, y = scenario["train"].flat_float(), np.asarray(scenario["train"].labels)
    top_mean, shoe_mean = x[np.isin(y, [0, 2, 4, 6])].mean(0), x[np.isin(y, [5, 7, 9])].mean(0)
    top, only = top_mean >= 0.3, (shoe_mean >= 0.3) & (top_mean < 0.3)
    sign = 1 if first[top].mean() >= 0 else -1
    opposite = int(np.sum(first[only] * sign < 0))
    shoe = said(facts["faint_shoe"])
    if not only.any():
        assert "no shoe-only region" in shoe
    elif 2 * opposite > only.sum():
        assert shoe.startswith("The faint shoe lies") and f"there {opposite} of component 1's {only.sum()}" in shoe
    else:
        assert shoe.startswith("No separate shoe shape") and f"only {opposite} of component 1's {only.sum()}" in shoe
    r_top = np.corrcoef(first, top_mean - arrays["mean"])[0, 1]
    r_shoe = np.corrcoef(first, shoe_mean - arrays["mean"])[0, 1]
    correlation = said(facts["footwear_correlation"])
    assert f"{abs(r_top):.2f}" in correlation and f"{abs(r_shoe):.2f}" in correlation
    strong = min(abs(r_top), abs(r_shoe)) >= 0.5
    assert ("opposite directions" in correlation) == (strong and r_top * r_shoe < 0)
    # The claims table agrees with the page: the shirt-and-shoe verdict needs all of these.
    verdict = next(c for c in scenario["claims"]["claims"] if c["id"] == "component_1_shirt_and_shoe")["verdict"]
    test_ends = {frozenset(test_order[:2]), frozenset(test_order[-2:])}
    test_separated = any(end <= tops for end in test_ends) and any(end <= shoes for end in test_ends)
    shows = bool(only.any() and 2 * opposite > only.sum())
    assert (verdict == "supported") == (separated and test_separated and shows)
    supported = sum(c["verdict"] == "supported" for c in scenario["claims"]["claims"])
    assert f"{supported} of" in said(facts["claims_summary"]) or said(facts["claims_summary"]).startswith(
        "All" if supported == 6 else "None"
    )


def test_classifier_facts_match_scikit_learn(scenario):
    """The accuracies are LDA's, recomputed here (with scikit-learn where the training images pin the covariance
    down, and from the definition for every count), and the "enough" sentences follow from them."""
    from sklearn.discriminant_analysis import LinearDiscriminantAnalysis

    arrays, data = scenario["arrays"], scenario["classification"]
    train, test = scenario["train"], scenario["test"]
    y_train, y_test = np.asarray(train.labels), np.asarray(test.labels)
    train_scores = (train.flat_float() - arrays["mean"]) @ arrays["components"].T
    test_scores = (test.flat_float() - arrays["mean"]) @ arrays["components"].T
    measured = dict(zip(data["counts"], np.array(data["correct"]) / data["n_test"], strict=True))
    classes = np.unique(y_train)
    for k in data["counts"]:
        a, b = train_scores[:, :k], test_scores[:, :k]
        means = np.array([a[y_train == c].mean(axis=0) for c in classes])
        pooled = sum(np.cov(a[y_train == c].T, bias=True).reshape(k, k) * np.sum(y_train == c) for c in classes)
        pooled = pooled / (len(a) - len(classes))
        pooled += 1e-6 * np.trace(pooled) / k * np.eye(k)
        inverse = np.linalg.inv(pooled)
        priors = np.array([np.mean(y_train == c) for c in classes])
        scores = b @ inverse @ means.T - 0.5 * np.sum(means @ inverse * means, axis=1) + np.log(priors)
        assert measured[k] == pytest.approx(np.mean(classes[np.argmax(scores, axis=1)] == y_test), abs=0.011), k
        if k <= len(a) // 3:  # well determined: scikit-learn's LDA, up to an image or two near a boundary
            reference = LinearDiscriminantAnalysis(solver="lsqr").fit(a, y_train)
            assert measured[k] == pytest.approx(np.mean(reference.predict(b) == y_test), abs=0.021), k
    within = float(scenario["settings"]["within_pp"]) / 100
    best = max(measured.values())
    k_best = min(k for k, a in measured.items() if a == best)
    # "Enough" only when all components were measured: counts that stop short say nothing about larger ones.
    settled = max(data["counts"]) == data["n_components_available"]
    k_enough = min(k for k, a in measured.items() if best - a <= within + 1e-9) if settled else None
    enough = said(scenario["claims"]["facts"]["classifier_enough"])
    assert f"{100 * best:.1f} %" in enough
    if len(data["counts"]) > 1:
        assert f"with k = {k_best}" in enough
    if k_enough is None:
        assert "does not say how many" in enough and "comes within" not in enough
        assert "This run does not measure" in said(scenario["claims"]["facts"]["key_enough"])
        assert "cannot tell" in said(scenario["claims"]["facts"]["answer_enough"])
    elif k_enough < k_best:
        assert f"k = {k_enough}, keeping" in enough and "enough for telling garments apart" in enough
    if k_enough is not None:
        key = said(scenario["claims"]["facts"]["key_enough"])
        assert f"{k_enough} component" in key and f"{100 * best:.1f} %" in key
    assert scenario["sidecars"]["accuracy"]["k_enough"] == k_enough
    if 2 in measured:
        two = said(scenario["claims"]["facts"]["two_scores"])
        assert f"{100 * measured[2]:.1f} %" in two
        assert ("no more than" in two) == (measured[2] <= data["majority_share"])


def test_redraw_fact_matches_an_explicit_reconstruction(scenario):
    """The count that redraws the training images within 0.05 per pixel, checked by redrawing them."""
    x = scenario["train"].flat_float()
    arrays = scenario["arrays"]
    k = scenario["claims"]["facts"]["redraw"]["values"]["k_close"]

    def rmse(count: int) -> float:
        basis = arrays["components"][:count]
        residual = (x - arrays["mean"]) - (x - arrays["mean"]) @ basis.T @ basis
        return float(np.sqrt(np.mean(residual**2)))

    assert rmse(k) <= 0.05 + 1e-9
    if k > 1:
        assert rmse(k - 1) > 0.05
    assert said(scenario["claims"]["facts"]["redraw"]).startswith(f"{k} component")


def test_figure_facts_match_the_images(scenario):
    arrays, sidecars = scenario["arrays"], scenario["sidecars"]
    x, y = scenario["test"].flat_float(), np.asarray(scenario["test"].labels)
    centred = x - arrays["mean"]
    # Reconstructions: the errors, the nearer-to-the-mean test and the closeness test, redone explicitly.
    rec = sidecars["reconstructions"]
    mse_mean = float(np.mean(centred**2))
    errors = []
    for k in rec["counts"]:
        basis = arrays["components"][:k]
        errors.append(float(np.mean((centred - centred @ basis.T @ basis) ** 2)))
    assert ("closer to the mean image than to their originals" in said(rec["first_count"])) == (
        errors[0] > mse_mean - errors[0]
    )
    assert ("at most 0.05" in said(rec["last_count"])) == (np.sqrt(errors[-1]) <= 0.05)
    assert rec["title"].startswith("Redrawn from more components") == (len(errors) > 1 and errors[-1] < errors[0])
    assert f"{np.sqrt(errors[-1]):.3f}" in said(rec["last_count"])
    # Projection: the share of each group nearest a centre of its own group, from the test scores.
    scores = centred @ arrays["components"][:2].T
    labels = sorted(set(y.tolist()))
    centres = np.array([scores[y == c].mean(axis=0) for c in labels])
    nearest = np.array(labels)[np.argmin(((scores[:, None] - centres[None]) ** 2).sum(-1), axis=1)]
    groups = {"footwear": [5, 7, 9], "trousers": [1], "tops": [0, 2, 4, 6]}
    share = {g: float(np.isin(nearest[np.isin(y, c)], c).mean()) for g, c in groups.items()}
    tops = np.isin(y, groups["tops"])
    own_kind = float(np.mean(nearest[tops] == y[tops]))
    notice = said(sidecars["projection"]["notice"])
    for g in groups:
        assert f"{100 * share[g]:.0f} % of the {g}" in notice
    separate = min(share.values()) >= 2 / 3
    assert ("fall in different regions" in notice) == separate
    assert ("overlap heavily" in said(sidecars["projection"]["tops_overlap"])) == (own_kind < 0.5)
    # The cumulative figure's mark: the thread's 4 components.
    ratios = np.asarray(scenario["metrics"]["explained_variance_ratio"])
    assert f"{100 * ratios[:4].sum():.1f} %" in said(sidecars["variance_cumulative"]["thread_mark"])


#: Which way the outcome-dependent facts went in each scenario: the scenarios really differ.
EXPECTED = {
    "garments": {"cloud_shape": True, "tops_and_footwear": True, "faint_shoe": "The faint shoe lies"},
    "blobs": {"cloud_shape": True, "tops_and_footwear": False, "faint_shoe": "No separate shoe shape"},
    "noise": {"cloud_shape": False, "tops_and_footwear": False, "faint_shoe": "The average shoe has no ink"},
}


def test_the_scenarios_have_different_outcomes(scenario):
    facts, expected = scenario["claims"]["facts"], EXPECTED[scenario["name"]]
    assert facts["cloud_shape"]["holds"] == expected["cloud_shape"]
    assert facts["tops_and_footwear"]["holds"] == expected["tops_and_footwear"]
    assert said(facts["faint_shoe"]).startswith(expected["faint_shoe"])
