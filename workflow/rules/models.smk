# Models stage: the validation split both models share, the two trainings, and the overfitting claims check.


rule split:
    input:
        data=DATASET,
        code=SCRIPTS / "split.py",
        shared=SHARED_CODE,
    output:
        split=SPLIT,
        meta=SPLIT_META,
    log:
        "logs/split.log",
    benchmark:
        benchmark_file("split")
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    params:
        python=PYTHON,
        size=config["models"]["validation_size"],
        seed=config["models"]["split_seed"],
    shell:
        "{params.python} {input.code:q} --data {input.data:q} --size {params.size} --seed {params.seed}"
        " --output {output.split:q} --meta {output.meta:q} > {log:q} 2>&1"


rule train:
    input:
        data=DATASET,
        split=SPLIT,
        code=SCRIPTS / "train.py",
        shared=SHARED_CODE + MODEL_PLOT_CODE,
    output:
        weights=model_file("{model}", "weights.npz", "{seed}"),
        history=model_file("{model}", "history.json", "{seed}"),
        metrics=model_file("{model}", "metrics.json", "{seed}"),
        diagnostics=model_file("{model}", "diagnostics.npz", "{seed}"),
    log:
        "logs/train/{model}/seed-{seed}.log",
    benchmark:
        benchmark_file("train/{model}/seed-{seed}")
    wildcard_constraints:
        model="|".join(MODELS),
        seed=r"\d+",
    conda:
        ENV
    # 4 threads: with the default --cores 4 a training job runs alone, so the two trainings never compete for
    # the CPU (train.py uses no more threads than the machine has cores).
    threads: 4
    # Measured on the full data: peak 1.1 GB (CNN), about 150 s of training on 2 cores.
    resources:
        mem_mb=2000,
        runtime=15,
        gpu=train_gpus,
    params:
        python=PYTHON,
        args=train_args,
        checkpoint=checkpoint_file,
    shell:
        "{params.python} {input.code:q} --name {wildcards.model} --data {input.data:q} --split {input.split:q}"
        " {params.args} --threads {threads} --checkpoint {params.checkpoint:q} --weights {output.weights:q}"
        " --history {output.history:q} --metrics {output.metrics:q} --diagnostics {output.diagnostics:q}"
        " > {log:q} 2>&1"


rule overfitting_claims:
    input:
        history=model_file("overfit", "history.json"),
        metrics=model_file("overfit", "metrics.json"),
        code=SCRIPTS / "overfitting_claims.py",
        shared=SHARED_CODE,
    output:
        "results/overfitting/claims.json",
    log:
        "logs/overfitting_claims.log",
    benchmark:
        benchmark_file("overfitting_claims")
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=300,
        runtime=5,
    params:
        python=PYTHON,
        loss=config["overfitting"]["min_loss_rise_percent"],
        accuracy=config["overfitting"]["min_accuracy_rise_points"],
        wrong=config["overfitting"]["min_wrong_share_of_rise"],
        removed=config["overfitting"]["min_removed_percent"],
    shell:
        "{params.python} {input.code:q} --history {input.history:q} --metrics {input.metrics:q}"
        " --min-loss-rise-percent {params.loss} --min-accuracy-rise-points {params.accuracy}"
        " --min-wrong-share-of-rise {params.wrong} --min-removed-percent {params.removed} --output {output:q}"
        " > {log:q} 2>&1"


rule seed_spread:
    input:
        histories=expand(model_file("{model}", "history.json", "{seed}"), model=MODELS, seed=SEEDS),
        metrics=expand(model_file("{model}", "metrics.json", "{seed}"), model=MODELS, seed=SEEDS),
        code=SCRIPTS / "seed_spread.py",
        shared=SHARED_CODE + MODEL_PLOT_CODE,
    output:
        "results/overfitting/seeds.json",
    log:
        "logs/seed_spread.log",
    benchmark:
        benchmark_file("seed_spread")
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=300,
        runtime=5,
    params:
        python=PYTHON,
        runs=seed_runs,
    shell:
        "{params.python} {input.code:q} {params.runs} --output {output:q} > {log:q} 2>&1"
