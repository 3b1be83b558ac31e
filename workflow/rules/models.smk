# Models stage: the validation split both models share and the trainings (one job per model and seed). The
# overfitting and the convolutions explainers read these outputs.


rule split:
    input:
        **script("models/split.py"),
        data=DATASET,
    output:
        split=SPLIT,
        meta=SPLIT_META,
    log:
        log_file("split"),
    benchmark:
        benchmark_file("split")
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    params:
        run=RUN,
        size=config["models"]["validation_size"],
        seed=config["models"]["split_seed"],
    shell:
        "{params.run} {input.code:q} --data {input.data:q} --size {params.size} --seed {params.seed}"
        " --output {output.split:q} --meta {output.meta:q} > {log:q} 2>&1"


rule train:
    input:
        **script("models/train.py"),
        data=DATASET,
        split=SPLIT,
    output:
        weights=model_file("{model}", "weights.npz", "{seed}"),
        history=model_file("{model}", "history.json", "{seed}"),
        metrics=model_file("{model}", "metrics.json", "{seed}"),
        diagnostics=model_file("{model}", "diagnostics.npz", "{seed}"),
    log:
        log_file("train/{model}/seed-{seed}"),
    benchmark:
        benchmark_file("train/{model}/seed-{seed}")
    wildcard_constraints:
        model="|".join(MODELS),
        seed=r"\d+",
    priority: train_priority
    conda:
        ENV
    # The model's threads setting, at most the machine's cores (train.py uses no more): the CNN's take the
    # whole of a 2-core machine and start first; the overfit model's 1 lets its seeds run beside the rest.
    threads: train_threads
    # Measured on the full data: peak 1.0 GB (CNN, 16/64 channels). Its 6 epochs are half the images of the earlier
    # 12-epoch recipe (133 s of training alone on 2 cores, 172 to 224 s beside the other steps); on the shared
    # machine under heavy load the 32/64-channel CNN took 1,757 s.
    resources:
        mem_mb=2000,
        runtime=15,
        gpu=train_gpus,
    params:
        run=RUN,
        args=train_args,
        checkpoint=checkpoint_file,
    shell:
        # OpenMP threads that wait sleep instead of spinning: training shares the cores with other steps (byte-
        # identical results; see the README's OpenMP note).
        "OMP_WAIT_POLICY=PASSIVE {params.run} {input.code:q} --name {wildcards.model} --data {input.data:q}"
        " --split {input.split:q}"
        " {params.args} --threads {threads} --checkpoint {params.checkpoint:q} --weights {output.weights:q}"
        " --history {output.history:q} --metrics {output.metrics:q} --diagnostics {output.diagnostics:q}"
        " > {log:q} 2>&1"
