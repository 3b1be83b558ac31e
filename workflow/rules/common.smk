# Shared helpers of the rules: config validation, script paths and input functions. Rules compute nothing
# themselves; whatever chooses inputs or builds arguments lives here.

import json
import re
import shlex
import sys
from pathlib import Path

import yaml
from snakemake.exceptions import WorkflowError
from snakemake.utils import validate


def read_schema():
    """The config schema as a dict (read once per call; it is small)."""
    with open(workflow.source_path("../schemas/config.schema.yaml")) as handle:
        return yaml.safe_load(handle)


def schema_node(node, schema):
    """A schema node with its ``$ref`` (to ``#/$defs/...``) resolved."""
    ref = node.get("$ref", "")
    return schema["$defs"][ref.removeprefix("#/$defs/")] if ref.startswith("#/$defs/") else node


def typed_scalar(value, types):
    """``value`` as the schema's type when it is a string the schema does not allow (else unchanged).

    Why: Snakemake parses the values inside ``--config 'pca={"n_components": 6}'`` with YAML's base loader,
    which keeps every scalar a string, so the schema would reject the 6 that the user typed.
    """
    if not isinstance(value, str) or "string" in types:
        return value
    text = value.strip()
    if "null" in types and text in ("null", "~", ""):
        return None
    if "boolean" in types and text.lower() in ("true", "false"):
        return text.lower() == "true"
    if "integer" in types and re.fullmatch(r"[+-]?\d+", text):
        return int(text)
    if "number" in types:
        try:
            return float(text)
        except ValueError:
            pass
    return value


def coerce_to_schema(value, node, schema):
    """Turn the string scalars that ``--config`` produces into the types the schema asks for, recursively."""
    node = schema_node(node, schema)
    types = node.get("type", [])
    types = [types] if isinstance(types, str) else types
    if isinstance(value, dict):
        properties = node.get("properties", {})
        return {key: coerce_to_schema(item, properties.get(key, {}), schema) for key, item in value.items()}
    if isinstance(value, list):
        return [coerce_to_schema(item, node.get("items", {}), schema) for item in value]
    return typed_scalar(value, types)


def validate_config(config):
    """Validate the config against the schema (which also fills in defaults), naming the bad key on error."""
    config.update(coerce_to_schema(dict(config), read_schema(), read_schema()))
    try:
        validate(config, "../schemas/config.schema.yaml")
    except WorkflowError as exc:
        cause = exc.__context__  # the jsonschema ValidationError that Snakemake wrapped
        if not hasattr(cause, "absolute_path"):
            raise
        key = ".".join(str(part) for part in cause.absolute_path) or "(top level)"
        raise WorkflowError(
            f"Invalid config: key '{key}': {cause.message}. "
            "Fix it in config/config.yaml (or --config/--configfile); config/README.md lists every setting."
        ) from None


validate_config(config)

#: The interpreter running Snakemake runs every script too, so rules use the project's environment.
PYTHON = shlex.quote(sys.executable)
ROOT = Path(workflow.basedir).parent
SCRIPTS = ROOT / "scripts"
TEMPLATES = ROOT / "templates"
#: The software environment of the jobs when Snakemake deploys it with conda (default: the uv .venv).
ENV = str(ROOT / "workflow" / "envs" / "explainers.yaml")
#: Modules the scripts import: listed as inputs so that editing one reruns the rules that use it.
SHARED_CODE = [str(SCRIPTS / "common.py")]
PLOT_CODE = SHARED_CODE + [str(SCRIPTS / "plotstyle.py")]
#: The torch-free readers of the training outputs (weights, histories, diagnostics) and the maths they use.
MODEL_PLOT_CODE = [str(SCRIPTS / "modelio.py"), str(SCRIPTS / "calibration.py")]
#: WeasyPrint may read files only below these two folders (the PDF rule passes both).
RESULTS_DIR = Path("results").resolve()

#: The four official Fashion-MNIST files, by the names the download and prepare rules use.
RAW_FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}
DATASET = "results/data/fashion-mnist.npy"
DATASET_META = "results/data/fashion-mnist.json"
SPLIT = "results/data/split.npz"
SPLIT_META = "results/data/split.json"

#: The trained models: each has a section under ``models`` in the config and, per seed, outputs in
#: results/models/<name>/seed-<seed>/.
MODELS = ["cnn", "overfit"]
MODEL_OUTPUTS = ["weights.npz", "history.json", "metrics.json", "diagnostics.npz"]
#: Every model is trained once per seed; the explainers draw the first seed's runs.
SEEDS = config["models"]["seeds"]
PRIMARY_SEED = SEEDS[0]


def model_file(name, output, seed=PRIMARY_SEED):
    """Path of one of a model's outputs (``MODEL_OUTPUTS``) for one seed (by default the one the pages draw)."""
    return f"results/models/{name}/seed-{seed}/{output}"


def train_step(name, seed=PRIMARY_SEED):
    """The name under which a training run's benchmark file is kept (and its run time listed in an appendix)."""
    return f"train/{name}/seed-{seed}"


#: The training run whose weights the convolutions explainer reads.
CNN_TRAIN_STEP = train_step("cnn")


#: How the figures name each model.
MODEL_LABELS = {"cnn": "regularised CNN", "overfit": "unregularised CNN on a small subset"}


#: Every explainer the site publishes: what its page is built from. Later explainers add an entry here.
EXPLAINERS = {
    "pca": {
        "title": "How many components does a picture need? PCA on Fashion-MNIST",
        "summary": "Principal component analysis of the Fashion-MNIST clothing images: variance as "
        "information, what the components look like, and how many you need.",
        "template": "pca.html.j2",
        "context": {
            "metrics": "results/pca/metrics.json",
            "claims": "results/pca/claims.json",
            "dataset": DATASET_META,
        },
        "figures": ["variance_bar", "variance_cumulative", "components", "reconstructions", "projection"],
        "key_figure": "variance_cumulative",
        "steps": ["prepare", "pca", "pca_claims"],
        "settings": ["data", "pca", "report"],
    },
    "overfitting": {
        "title": "Validation loss up, validation accuracy up: the overfitting puzzle, measured",
        "summary": "Two CNNs trained on Fashion-MNIST: why validation loss can climb while validation accuracy "
        "still improves, shown with the loss split, confidence, calibration and temperature scaling.",
        "template": "overfitting.html.j2",
        "context": {
            "claims": "results/overfitting/claims.json",
            "overfit": model_file("overfit", "metrics.json"),
            "overfit_history": model_file("overfit", "history.json"),
            "cnn": model_file("cnn", "metrics.json"),
            "cnn_history": model_file("cnn", "history.json"),
            "seeds": "results/overfitting/seeds.json",
            "split": SPLIT_META,
            "dataset": DATASET_META,
        },
        "figures": [
            "curves_overfit",
            "loss_split",
            "loss_histograms",
            "confidence",
            "reliability",
            "curves_cnn",
            "confusion",
            "test_grid",
        ],
        "key_figure": "curves_overfit",
        "steps": ["prepare", "split"]
        + [train_step(name, seed) for name in ("overfit", "cnn") for seed in SEEDS]
        + ["overfitting_claims", "seed_spread"],
        "settings": ["data", "models", "overfitting", "report"],
    },
}


def quoted(values, flag=None):
    """Shell-quote a list of values, each preceded by ``flag`` when given (for repeatable options)."""
    parts = []
    for value in values:
        if flag:
            parts.append(flag)
        parts.append(shlex.quote(str(value)))
    return " ".join(parts)


def subset_args():
    """``--max-train``/``--max-test`` for prepare when the config asks for a subset of the data."""
    args = []
    for key, flag in (("max_train", "--max-train"), ("max_test", "--max-test")):
        if config["data"][key] is not None:
            args += [flag, str(config["data"][key])]
    return " ".join(args)


def schema_model_defaults():
    """Each model's default settings, as the schema gives them (read once)."""
    models = read_schema()["properties"]["models"]["properties"]
    return {name: models[name]["default"] for name in MODELS}


MODEL_DEFAULTS = schema_model_defaults()


def model_settings(name):
    """A model's settings: the schema's defaults for that model, overridden by the keys the config sets."""
    return {**MODEL_DEFAULTS[name], **config["models"][name]}


def model_label(wildcards):
    """The name a figure gives the model it draws."""
    return MODEL_LABELS[wildcards.model]


def checkpoint_file(wildcards):
    """Where training keeps its per-epoch checkpoint: not an output, so a failed job's cleanup never deletes it."""
    return model_file(wildcards.model, "checkpoint.npz", wildcards.seed)


def seed_runs(wildcards):
    """``--run MODEL=SEED=FOLDER`` for every model and seed, for the run-to-run spread."""
    runs = [f"{name}={seed}={Path(model_file(name, 'metrics.json', seed)).parent}" for name in MODELS for seed in SEEDS]
    return quoted(runs, "--run")


def train_gpus(wildcards):
    """GPUs a training job asks for: one when the config says cuda (a cluster then schedules it on a GPU node)."""
    return 1 if config["models"]["device"] == "cuda" else 0


def train_args(wildcards):
    """train.py's flags for one model, built from its settings (every setting is a named flag of the script)."""
    s = model_settings(wildcards.model)
    flags = [
        f"--channels {s['channels'][0]} {s['channels'][1]}",
        f"--hidden {s['hidden']}",
        "--batch-norm" if s["batch_norm"] else "--no-batch-norm",
        f"--dropout {s['dropout']}",
        f"--weight-decay {s['weight_decay']}",
        "--augment" if s["augment"] else "--no-augment",
        f"--epochs {s['epochs']}",
        f"--batch-size {s['batch_size']}",
        f"--learning-rate {s['learning_rate']}",
        f"--schedule {s['schedule']}",
        f"--seed {wildcards.seed}",
        f"--device {config['models']['device']}",
    ]
    if s["train_size"] is not None:
        flags.append(f"--train-size {s['train_size']}")
    return " ".join(flags)


def benchmark_file(step):
    """Where Snakemake records the run time and memory of a step (one file per rule or wildcard value)."""
    return f"benchmarks/{step}.tsv"


def figure_output(explainer, name):
    """A figure's SVG, marked for Snakemake's own report (``snakemake --report``) in its explainer's category."""
    return report(
        f"results/figures/{explainer}/{name}.svg",
        caption="../report/figure.rst",
        category=explainer,
        subcategory="figures",
        labels={"figure": name},
    )


def explainer_figures(explainer):
    """The figure SVGs of an explainer, in the order they are numbered on its page."""
    return [f"results/figures/{explainer}/{name}.svg" for name in EXPLAINERS[explainer]["figures"]]


def figure_sidecars(explainer):
    """The JSON sidecars (title, alt text, computed numbers) written beside each figure."""
    return [path.removesuffix(".svg") + ".json" for path in explainer_figures(explainer)]


def provenance_inputs(wildcards):
    """Download sidecars (checksums, sources) and benchmark files of every step the explainer depends on."""
    explainer = EXPLAINERS[wildcards.explainer]
    steps = [f"download/{name}" for name in RAW_FILES.values()] + explainer["steps"]
    steps += [f"fig_{wildcards.explainer}_{name}" for name in explainer["figures"]]
    return {
        "data": [f"results/data/raw/{name}.json" for name in RAW_FILES.values()],
        "benchmarks": [benchmark_file(step) for step in steps],
    }


def explainer_settings(wildcards):
    """The config sections an explainer depends on, as quoted JSON for its appendix (not the whole config)."""
    sections = {key: config[key] for key in EXPLAINERS[wildcards.explainer]["settings"]}
    if "models" in sections:  # each model's effective settings: its defaults with the config's overrides
        sections["models"] = {**config["models"], **{name: model_settings(name) for name in MODELS}}
    return shlex.quote(json.dumps(sections, sort_keys=True))


def provenance_args(wildcards, input):
    """``--benchmark STEP=PATH`` pairs, named by the step each file measures."""
    pairs = [f"{Path(path).with_suffix('').relative_to('benchmarks')}={path}" for path in input.benchmarks]
    return quoted(pairs, "--benchmark")


def report_inputs(wildcards):
    """Everything an explainer's HTML page is built from: context files, figures, sidecars, templates."""
    explainer = EXPLAINERS[wildcards.explainer]
    return {
        **explainer["context"],
        "provenance": f"results/provenance/{wildcards.explainer}.json",
        "figures": explainer_figures(wildcards.explainer),
        "sidecars": figure_sidecars(wildcards.explainer),
        "templates": sorted(str(path) for path in TEMPLATES.iterdir() if path.is_file()),
        "code": str(SCRIPTS / "render_html.py"),
        "shared": SHARED_CODE,
    }


def report_template(wildcards):
    """The Jinja2 template of an explainer's page."""
    return EXPLAINERS[wildcards.explainer]["template"]


def pdf_figures(wildcards):
    """The figures a PDF handout embeds, so that a redrawn figure re-renders the PDF."""
    return explainer_figures(wildcards.explainer)


def report_args(wildcards, input):
    """``--context KEY=PATH`` and ``--figure NAME=PATH`` flags for render_html.py."""
    explainer = EXPLAINERS[wildcards.explainer]
    contexts = [f"{key}={input[key]}" for key in [*explainer["context"], "provenance"]]
    figures = [f"{name}={path}" for name, path in zip(explainer["figures"], input.figures)]
    return " ".join([quoted(contexts, "--context"), quoted(figures, "--figure")])


def index_entries():
    """The index page's cards, as JSON for render_html.py."""
    entries = [
        {
            "name": name,
            "title": spec["title"],
            "summary": spec["summary"],
            "html": f"reports/{name}.html",
            "pdf": f"reports/{name}.pdf",
        }
        for name, spec in EXPLAINERS.items()
    ]
    return json.dumps(entries, sort_keys=True)


#: The pipeline's graph of rules, drawn for the index, and beside it a JSON sidecar with title and alt text.
RULEGRAPH = "results/figures/site/rulegraph.svg"


def index_figures():
    """The index's pictures, by name: each explainer's key figure (its card's thumbnail) and the rule graph."""
    figures = {name: f"results/figures/{name}/{spec['key_figure']}.svg" for name, spec in EXPLAINERS.items()}
    return {**figures, "rulegraph": RULEGRAPH}


def index_figure_args():
    """``--figure NAME=PATH`` flags for the index's thumbnails and rule graph."""
    return quoted([f"{name}={path}" for name, path in index_figures().items()], "--figure")
