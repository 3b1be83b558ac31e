# Shared helpers of the rules: the config (typed, completed and checked by scripts/kit/config.py), the explainer
# declarations (workflow/explainers/*.yaml, read by scripts/kit/explainers.py), how a script is run, and the
# input functions. Rules compute nothing themselves; whatever chooses inputs or builds arguments lives here.

import atexit
import json
import os
import shlex
import sys
from pathlib import Path

from snakemake.exceptions import WorkflowError

#: The repository (workflow/ is one level down) and its folders, relative to the working directory, so that a
#: checkout moved together with its results/ plans no job.
ROOT = Path(os.path.relpath(Path(workflow.basedir).parent, Path.cwd()))
SCRIPTS = ROOT / "scripts"
TEMPLATES = ROOT / "templates"
sys.path.insert(0, str(SCRIPTS.resolve()))

from kit.cli import PipelineError, available_cpus  # noqa: E402 (the project's modules live in scripts/)
from kit.config import load_config  # noqa: E402
from kit.deps import load_scan_cache, project_modules, save_scan_cache, template_files  # noqa: E402
from kit.explainers import load_explainers  # noqa: E402
from kit.widgets import load_widget_steps, widget_data_file  # noqa: E402

#: What each script imports and each template refers to, remembered between runs by file modification time and
#: size (kit/deps.py), so that a run reparses only the files changed since the last: `snakemake -n` with nothing
#: to do stays quick. Deleting the file only costs one slower start.
SCAN_CACHE = (Path(".snakemake") / "explainers-scans.json").resolve()
load_scan_cache(SCAN_CACHE)
atexit.register(save_scan_cache, SCAN_CACHE)

try:
    config.update(load_config(config, ROOT / "workflow" / "schemas" / "config.schema.yaml"))
    #: Every explainer, declared once in workflow/explainers/<name>.yaml, in reading order.
    EXPLAINERS = load_explainers(ROOT / "workflow" / "explainers", config)
    #: The widgets step of each explainer whose declaration has a ``widgets`` key (most pages have none yet).
    WIDGETS = load_widget_steps(ROOT / "workflow" / "explainers", config)
except PipelineError as exc:
    raise WorkflowError(str(exc)) from None


def interpreter():
    """How a job starts Python: the project's environment with scripts/ on the module path.

    The interpreter running Snakemake runs every script (so rules use the project's .venv), named relative to the
    working directory when it lives below it; with --software-deployment-method conda, the env's own python.
    """
    if "conda" in str(getattr(workflow.deployment_settings, "deployment_method", "")).lower():
        python = "python"
    else:
        relative = os.path.relpath(sys.executable, Path.cwd())
        python = sys.executable if relative.startswith("..") else relative
    return f"PYTHONPATH={shlex.quote(str(SCRIPTS))} {shlex.quote(python)}"


# OpenMP's wait policy is left to the environment jobs inherit. On an idle machine torch's default (threads spin
# while they wait for work) trained 11 % faster than OMP_WAIT_POLICY=PASSIVE (measured side by side, issue 15);
# on a shared, overloaded machine PASSIVE was 3 to 15 times faster, so export it there. Only the waiting changes,
# not the arithmetic: the outputs are byte-identical either way.

#: The start of every job's command (each rule passes it as ``params.run``).
RUN = interpreter()
#: The software environment of the jobs when Snakemake deploys it with conda (default: the uv .venv).
ENV = "../envs/explainers.yaml"


def script(path):
    """A rule's script and every project module it imports (derived from the code), as named inputs.

    Why derived: a list of shared modules typed into each rule goes stale the day a script imports one more,
    and then editing that module silently leaves the rule's outputs out of date.
    """
    code = SCRIPTS / path
    modules = [os.path.relpath(module, Path.cwd()) for module in project_modules(code)]
    return {"code": str(code), "modules": modules}


def templates_of(name):
    """A template and every template it extends, includes or imports (derived from the templates)."""
    return [os.path.relpath(path, Path.cwd()) for path in template_files(name, TEMPLATES)]


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


def subset_args():
    """``--max-train``/``--max-test`` for prepare when the config asks for a subset of the data."""
    args = []
    for key, flag in (("max_train", "--max-train"), ("max_test", "--max-test")):
        if config["data"][key] is not None:
            args += [flag, str(config["data"][key])]
    return " ".join(args)


def model_seeds(name):
    """The seeds a model is trained with (``models.<name>.seeds``), one training job each."""
    return config["models"][name]["seeds"]


def model_file(name, output, seed=None):
    """Path of one of a model's outputs (weights.npz, history.json, ...) for one seed (the first by default)."""
    return f"results/models/{name}/seed-{model_seeds(name)[0] if seed is None else seed}/{output}"


def all_model_files(output):
    """One of the outputs of every training run: every model, every seed."""
    return [model_file(name, output, seed) for name in MODELS for seed in model_seeds(name)]


def quoted(values, flag=None):
    """Shell-quote a list of values, each preceded by ``flag`` when given (for repeatable options)."""
    parts = []
    for value in values:
        if flag:
            parts.append(flag)
        parts.append(shlex.quote(str(value)))
    return " ".join(parts)


def benchmark_file(step):
    """Where Snakemake records the run time and memory of a step (named like the rule and its wildcards)."""
    return f"benchmarks/{step}.tsv"


def log_file(step):
    """Where a step's output and errors go (named like its benchmark file)."""
    return f"logs/{step}.log"


# --------------------------------------------------------------------------------------------------------
# The generic claims and figure jobs, driven by the declarations
# --------------------------------------------------------------------------------------------------------


def declared_figure(wildcards):
    """The figure a job draws, from its explainer's declaration (an unknown pair is refused by name)."""
    try:
        return EXPLAINERS[wildcards.explainer].figure(wildcards.figure)
    except PipelineError as exc:
        raise WorkflowError(str(exc)) from None


def step_inputs(step):
    """A declared step's input files and its script with the project modules it imports."""
    return {**step.input_files(), **script(os.path.relpath(step.script, SCRIPTS.resolve()))}


def figure_inputs(wildcards):
    """Input function of the figure rule."""
    return step_inputs(declared_figure(wildcards))


def figure_args(wildcards):
    """The figure script's flags, except its outputs."""
    return " ".join(shlex.quote(word) for word in declared_figure(wildcards).command_args())


def figure_mem(wildcards):
    """Memory a figure job asks for, from its declaration."""
    return declared_figure(wildcards).mem_mb


def claims_inputs(wildcards):
    """Input function of the claims rule."""
    return step_inputs(EXPLAINERS[wildcards.explainer].claims)


def claims_args(wildcards):
    """The claims script's flags, except its output."""
    return " ".join(shlex.quote(word) for word in EXPLAINERS[wildcards.explainer].claims.command_args())


def claims_mem(wildcards):
    """Memory a claims job asks for, from its declaration."""
    return EXPLAINERS[wildcards.explainer].claims.mem_mb


def narrow_file(svg):
    """A figure's phone variant, drawn by the figure frame beside the SVG (``<figure>.narrow.svg``)."""
    return svg.removesuffix(".svg") + ".narrow.svg"


def declared_widgets(wildcards):
    """The widgets step of an explainer, from its declaration (an explainer without widgets is refused by name)."""
    if wildcards.explainer not in WIDGETS:
        raise WorkflowError(f"explainer {wildcards.explainer!r} declares no widgets (no 'widgets' key)")
    return WIDGETS[wildcards.explainer]


def widget_inputs(wildcards):
    """Input function of the widgets rule."""
    return step_inputs(declared_widgets(wildcards))


def widget_args(wildcards):
    """The widget data script's flags, except its outputs."""
    return " ".join(shlex.quote(word) for word in declared_widgets(wildcards).command_args())


def widget_mem(wildcards):
    """Memory a widgets job asks for, from its declaration."""
    return declared_widgets(wildcards).mem_mb


def figure_output(path):
    """A figure's SVG, marked for Snakemake's own report (``snakemake --report``) in its explainer's category."""
    return report(
        path,
        caption="../report/figure.rst",
        category="{explainer}",
        subcategory="figures",
        labels={"figure": "{figure}"},
    )


# --------------------------------------------------------------------------------------------------------
# Models
# --------------------------------------------------------------------------------------------------------


def checkpoint_file(wildcards):
    """Where training keeps its per-epoch checkpoint: not an output, so a failed job's cleanup never deletes it."""
    return model_file(wildcards.model, "checkpoint.npz", wildcards.seed)


def seed_runs(wildcards):
    """``--run MODEL=SEED=FOLDER`` for every model and seed, for the run-to-run spread."""
    runs = [
        f"{name}={seed}={Path(model_file(name, 'metrics.json', seed)).parent}"
        for name in MODELS
        for seed in model_seeds(name)
    ]
    return quoted(runs, "--run")


def train_threads(wildcards):
    """Threads of a training job: its model's ``threads`` setting (part of the recipe: see the schema), but in
    a local run no more than this machine's cores, the most train.py uses. Declaring more would hold back the
    CNN: under --cores 4 on 2 cores it waited until no other job ran (measured: a core idle for 95 s while the
    overfit model trained alone). A cluster job asks for the setting: its node's cores are not these."""
    threads = config["models"][wildcards.model]["threads"]
    if not workflow.local_exec:
        return threads
    return min(threads, available_cpus())


def train_priority(wildcards):
    """Scheduling priority of a training job: the CNN first (the longest job, which the convolutions and
    overfitting pages wait for), then the overfit model's seeds, before the short steps. Snakemake's default
    scheduler (an ILP) maximises the sum of the chosen jobs' priorities, so the CNN's must exceed all overfit
    seeds' together: at 2 against 1 each, three seeds took the cores first and the CNN waited for them."""
    return len(model_seeds("overfit")) + 1 if wildcards.model == "cnn" else 1


def train_gpus(wildcards):
    """GPUs a training job asks for: one when the config says cuda (a cluster then schedules it on a GPU node)."""
    return 1 if config["models"]["device"] == "cuda" else 0


def train_args(wildcards):
    """train.py's flags for one model, built from its settings (every setting is a named flag of the script)."""
    s = config["models"][wildcards.model]
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


# --------------------------------------------------------------------------------------------------------
# The explainers' own computing steps
# --------------------------------------------------------------------------------------------------------


def convolution_args():
    """compute.py's flags, one per key of the ``convolutions`` section (a null test image lets the seed choose)."""
    settings = config["convolutions"]
    grid = settings["formula_grid"]
    return " ".join(
        [f"--{key.replace('_', '-')} {settings[key]}" for key in settings if key not in ("formula_grid", "test_image")]
        + [f"--grid-{key} {quoted(grid[key])}" for key in ("sizes", "kernels", "strides", "paddings", "dilations")]
        + [f"--grid-samples {grid['samples']}"]
        + ([f"--test-image {settings['test_image']}"] if settings["test_image"] is not None else [])
    )


def backprop_args():
    """network.py's flags, one per network setting of the ``backprop`` section."""
    s = config["backprop"]
    keys = ["train_size", "test_size", "activation", "batch_size", "steps", "learning_rate", "seed", "tolerance"]
    return " ".join(
        [f"--{key.replace('_', '-')} {s[key]}" for key in keys]
        + [f"--hidden {quoted(s['hidden'])}", f"--eval-every {s['eval_every']}"]
    )


# --------------------------------------------------------------------------------------------------------
# Reports
# --------------------------------------------------------------------------------------------------------


def folder_of(key, up=1):
    """A params function giving the folder ``up`` levels above a rule's input ``key`` (its first file).

    Why not type the folder: a path prefix derived from the inputs stays right wherever the files are staged.
    """

    def infer(wildcards, input):
        value = input[key]
        first = value if isinstance(value, str) else value[0]
        return str(Path(first).parents[up - 1])

    return infer


def provenance_inputs(wildcards):
    """Download sidecars (checksums, sources) and benchmark files of every step the explainer depends on."""
    steps = [f"download/{name}" for name in RAW_FILES.values()] + EXPLAINERS[wildcards.explainer].all_steps()
    return {
        "data": [f"results/data/raw/{name}.json" for name in RAW_FILES.values()],
        "benchmarks": [benchmark_file(step) for step in steps],
    }


def explainer_settings(wildcards):
    """The config sections an explainer depends on, as quoted JSON for its appendix (not the whole config)."""
    sections = {key: config[key] for key in EXPLAINERS[wildcards.explainer].config_sections}
    return shlex.quote(json.dumps(sections, sort_keys=True))


def provenance_args(wildcards, input):
    """``--benchmark STEP=PATH`` pairs, named by the step each file measures."""
    pairs = [f"{Path(path).with_suffix('').relative_to('benchmarks')}={path}" for path in input.benchmarks]
    return quoted(pairs, "--benchmark")


def report_inputs(wildcards):
    """Everything an explainer's HTML page is built from: context files, figures, sidecars, its templates."""
    explainer = EXPLAINERS[wildcards.explainer]
    figures = explainer.figure_files()
    widgets = {"widgets": widget_data_file(wildcards.explainer)} if wildcards.explainer in WIDGETS else {}
    return {
        **explainer.context,
        "provenance": f"results/provenance/{wildcards.explainer}.json",
        "figures": figures,
        "sidecars": [path.removesuffix(".svg") + ".json" for path in figures],
        "narrow": [narrow_file(path) for path in figures],
        "templates": templates_of(explainer.template),
        "lesson_data": lesson_data(),
        **widgets,
        **script("publish/render_html.py"),
    }


def lesson_data():
    """The glossary and the references, which render_html.py reads from the templates folder into every page."""
    return [str(TEMPLATES / "glossary.yaml"), str(TEMPLATES / "references.yaml")]


def report_nav(wildcards):
    """``--nav`` for render_html.py: the explainer's neighbours in reading order (EXPLAINERS is ordered) and its PDF,
    as quoted JSON; links are relative to the page (all pages share results/reports/)."""
    names = list(EXPLAINERS)
    index = names.index(wildcards.explainer)

    def link(position):
        if not 0 <= position < len(names):
            return None
        name = names[position]
        return {"title": EXPLAINERS[name].title, "href": f"{name}.html"}

    nav = {"previous": link(index - 1), "next": link(index + 1), "pdf": f"{wildcards.explainer}.pdf"}
    return shlex.quote(json.dumps(nav, sort_keys=True))


def report_template(wildcards):
    """The Jinja2 template of an explainer's page."""
    return EXPLAINERS[wildcards.explainer].template


def pdf_figures(wildcards):
    """The figures a PDF handout embeds, so that a redrawn figure re-renders the PDF."""
    return EXPLAINERS[wildcards.explainer].figure_files()


def report_args(wildcards, input):
    """``--context KEY=PATH``, ``--figure NAME=PATH`` and (for a page with widgets) ``--widgets PATH`` flags for
    render_html.py."""
    explainer = EXPLAINERS[wildcards.explainer]
    contexts = [f"{key}={input[key]}" for key in [*explainer.context, "provenance"]]
    figures = [f"{step.name}={path}" for step, path in zip(explainer.figures, input.figures)]
    widgets = quoted([input.widgets], "--widgets") if wildcards.explainer in WIDGETS else ""
    return " ".join(filter(None, [quoted(contexts, "--context"), quoted(figures, "--figure"), widgets]))


def claims_file(name):
    """An explainer's claims file: its ``facts.headline`` and ``facts.description`` head the index card."""
    return f"results/{name}/claims.json"


def cover_figure():
    """The booklet cover's key figure: the key figure of the first explainer in reading order."""
    name, explainer = next(iter(EXPLAINERS.items()))
    return f"results/figures/{name}/{explainer.key_figure}.svg"


def index_entries():
    """The index page's cards, as JSON for render_html.py."""
    entries = [
        {
            "name": name,
            "title": explainer.title,
            "summary": explainer.summary,
            "html": f"reports/{name}.html",
            "pdf": f"reports/{name}.pdf",
            "claims": claims_file(name),
        }
        for name, explainer in EXPLAINERS.items()
    ]
    return json.dumps(entries, sort_keys=True)


#: The pipeline's graph of rules, drawn for the index, and beside it a JSON sidecar with title and alt text.
RULEGRAPH = "results/figures/site/rulegraph.svg"


def index_figures():
    """The index's pictures, by name: each explainer's key figure (its card's thumbnail) and the rule graph."""
    figures = {name: f"results/figures/{name}/{item.key_figure}.svg" for name, item in EXPLAINERS.items()}
    return {**figures, "rulegraph": RULEGRAPH}


def index_figure_args():
    """``--figure NAME=PATH`` flags for the index's thumbnails and rule graph."""
    return quoted([f"{name}={path}" for name, path in index_figures().items()], "--figure")
