# Backpropagation explainer: the puzzle story simulated, and a three-layer network's gradients by hand and by autograd.
# backprop.py is the only script that imports torch; the claims check and the figures read its history.npz and
# metrics.json (and puzzle.json) through backprop_io.py.

BACKPROP_DIR = "results/backprop"
PUZZLE = f"{BACKPROP_DIR}/puzzle.json"
BACKPROP_HISTORY = f"{BACKPROP_DIR}/history.npz"
BACKPROP_METRICS = f"{BACKPROP_DIR}/metrics.json"
BACKPROP_CLAIMS = f"{BACKPROP_DIR}/claims.json"
#: The checked readers every backprop script after the two computing ones shares.
BACKPROP_IO = [str(SCRIPTS / "backprop_io.py")]
BACKPROP_SETTINGS = config["backprop"]
#: backprop.py's flags, one per network setting of the ``backprop`` section.
BACKPROP_ARGS = " ".join(
    [
        f"--train-size {BACKPROP_SETTINGS['train_size']}",
        f"--test-size {BACKPROP_SETTINGS['test_size']}",
        f"--hidden {quoted(BACKPROP_SETTINGS['hidden'])}",
        f"--activation {BACKPROP_SETTINGS['activation']}",
        f"--batch-size {BACKPROP_SETTINGS['batch_size']}",
        f"--steps {BACKPROP_SETTINGS['steps']}",
        f"--learning-rate {BACKPROP_SETTINGS['learning_rate']}",
        f"--seed {BACKPROP_SETTINGS['seed']}",
        f"--tolerance {BACKPROP_SETTINGS['tolerance']}",
        f"--eval-every {BACKPROP_SETTINGS['eval_every']}",
    ]
)

EXPLAINERS["backprop"] = {
    "title": "Backpropagation as a puzzle: Tom, Dick and Harry fix their pieces",
    "summary": "A thread's puzzle story simulated round by round, then made real: a three-layer network named Tom, "
    "Dick and Harry learns Fashion-MNIST, its gradients worked out by hand with the chain rule and checked against "
    "autograd at every step.",
    "template": "backprop.html.j2",
    "context": {
        "puzzle": PUZZLE,
        "metrics": BACKPROP_METRICS,
        "claims": BACKPROP_CLAIMS,
        "dataset": DATASET_META,
    },
    "figures": ["puzzle", "rounds", "agreement", "loss", "grad_norms", "flow"],
    "key_figure": "flow",
    "steps": ["prepare", "puzzle", "backprop", "backprop_claims"],
    "settings": ["data", "backprop", "report"],
}


localrules:
    fig_backprop_puzzle,
    fig_backprop_rounds,
    fig_backprop_agreement,
    fig_backprop_loss,
    fig_backprop_grad_norms,
    fig_backprop_flow,


rule puzzle:
    input:
        code=SCRIPTS / "puzzle.py",
        shared=SHARED_CODE,
    output:
        PUZZLE,
    log:
        "logs/backprop/puzzle.log",
    benchmark:
        benchmark_file("puzzle")
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=200,
        runtime=5,
    params:
        python=PYTHON,
        seed=BACKPROP_SETTINGS["puzzle_seed"],
        fraction=BACKPROP_SETTINGS["fix_fraction"],
        target=BACKPROP_SETTINGS["target_wrong"],
        rounds=BACKPROP_SETTINGS["max_rounds"],
    shell:
        "{params.python} {input.code:q} --seed {params.seed} --fix-fraction {params.fraction}"
        " --target {params.target} --max-rounds {params.rounds} --output {output:q} > {log:q} 2>&1"


rule backprop:
    input:
        data=DATASET,
        code=SCRIPTS / "backprop.py",
        shared=SHARED_CODE + BACKPROP_IO,
    output:
        history=BACKPROP_HISTORY,
        metrics=BACKPROP_METRICS,
    log:
        "logs/backprop/backprop.log",
    benchmark:
        benchmark_file("backprop")
    conda:
        ENV
    # One thread: the matrices are small, and one thread keeps the float64 sums (and so the bytes) the same.
    threads: 1
    # Measured with the defaults: 14 s and 700 MB peak (torch, and the dataset memory-mapped).
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        python=PYTHON,
        args=BACKPROP_ARGS,
    shell:
        "{params.python} {input.code:q} --data {input.data:q} {params.args} --threads {threads}"
        " --history {output.history:q} --metrics {output.metrics:q} > {log:q} 2>&1"


rule backprop_claims:
    input:
        puzzle=PUZZLE,
        history=BACKPROP_HISTORY,
        metrics=BACKPROP_METRICS,
        code=SCRIPTS / "backprop_claims.py",
        shared=SHARED_CODE + BACKPROP_IO,
    output:
        BACKPROP_CLAIMS,
    log:
        "logs/backprop/claims.log",
    benchmark:
        benchmark_file("backprop_claims")
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=300,
        runtime=5,
    params:
        python=PYTHON,
    shell:
        "{params.python} {input.code:q} --puzzle {input.puzzle:q} --history {input.history:q}"
        " --metrics {input.metrics:q} --output {output:q} > {log:q} 2>&1"


rule fig_backprop_puzzle:
    input:
        puzzle=PUZZLE,
        code=SCRIPTS / "fig_backprop_puzzle.py",
        shared=PLOT_CODE + BACKPROP_IO,
    output:
        svg=figure_output("backprop", "puzzle"),
        meta="results/figures/backprop/puzzle.json",
    log:
        "logs/figures/backprop/puzzle.log",
    benchmark:
        benchmark_file("fig_backprop_puzzle")
    conda:
        ENV
    resources:
        mem_mb=300,
        runtime=5,
    params:
        python=PYTHON,
    shell:
        "{params.python} {input.code:q} --puzzle {input.puzzle:q}"
        " --output {output.svg:q} --meta {output.meta:q} > {log:q} 2>&1"


rule fig_backprop_rounds:
    input:
        puzzle=PUZZLE,
        code=SCRIPTS / "fig_backprop_rounds.py",
        shared=PLOT_CODE + BACKPROP_IO,
    output:
        svg=figure_output("backprop", "rounds"),
        meta="results/figures/backprop/rounds.json",
    log:
        "logs/figures/backprop/rounds.log",
    benchmark:
        benchmark_file("fig_backprop_rounds")
    conda:
        ENV
    resources:
        mem_mb=300,
        runtime=5,
    params:
        python=PYTHON,
    shell:
        "{params.python} {input.code:q} --puzzle {input.puzzle:q}"
        " --output {output.svg:q} --meta {output.meta:q} > {log:q} 2>&1"


rule fig_backprop_agreement:
    input:
        history=BACKPROP_HISTORY,
        metrics=BACKPROP_METRICS,
        code=SCRIPTS / "fig_backprop_agreement.py",
        shared=PLOT_CODE + BACKPROP_IO,
    output:
        svg=figure_output("backprop", "agreement"),
        meta="results/figures/backprop/agreement.json",
    log:
        "logs/figures/backprop/agreement.log",
    benchmark:
        benchmark_file("fig_backprop_agreement")
    conda:
        ENV
    resources:
        mem_mb=300,
        runtime=5,
    params:
        python=PYTHON,
    shell:
        "{params.python} {input.code:q} --history {input.history:q} --metrics {input.metrics:q}"
        " --output {output.svg:q} --meta {output.meta:q} > {log:q} 2>&1"


rule fig_backprop_loss:
    input:
        history=BACKPROP_HISTORY,
        metrics=BACKPROP_METRICS,
        code=SCRIPTS / "fig_backprop_loss.py",
        shared=PLOT_CODE + BACKPROP_IO,
    output:
        svg=figure_output("backprop", "loss"),
        meta="results/figures/backprop/loss.json",
    log:
        "logs/figures/backprop/loss.log",
    benchmark:
        benchmark_file("fig_backprop_loss")
    conda:
        ENV
    resources:
        mem_mb=300,
        runtime=5,
    params:
        python=PYTHON,
    shell:
        "{params.python} {input.code:q} --history {input.history:q} --metrics {input.metrics:q}"
        " --output {output.svg:q} --meta {output.meta:q} > {log:q} 2>&1"


rule fig_backprop_grad_norms:
    input:
        history=BACKPROP_HISTORY,
        code=SCRIPTS / "fig_backprop_grad_norms.py",
        shared=PLOT_CODE + BACKPROP_IO,
    output:
        svg=figure_output("backprop", "grad_norms"),
        meta="results/figures/backprop/grad_norms.json",
    log:
        "logs/figures/backprop/grad_norms.log",
    benchmark:
        benchmark_file("fig_backprop_grad_norms")
    conda:
        ENV
    resources:
        mem_mb=300,
        runtime=5,
    params:
        python=PYTHON,
    shell:
        "{params.python} {input.code:q} --history {input.history:q}"
        " --output {output.svg:q} --meta {output.meta:q} > {log:q} 2>&1"


rule fig_backprop_flow:
    input:
        history=BACKPROP_HISTORY,
        metrics=BACKPROP_METRICS,
        code=SCRIPTS / "fig_backprop_flow.py",
        shared=PLOT_CODE + BACKPROP_IO,
    output:
        svg=figure_output("backprop", "flow"),
        meta="results/figures/backprop/flow.json",
    log:
        "logs/figures/backprop/flow.log",
    benchmark:
        benchmark_file("fig_backprop_flow")
    conda:
        ENV
    resources:
        mem_mb=300,
        runtime=5,
    params:
        python=PYTHON,
    shell:
        "{params.python} {input.code:q} --history {input.history:q} --metrics {input.metrics:q}"
        " --output {output.svg:q} --meta {output.meta:q} > {log:q} 2>&1"
