# Backpropagation explainer: the puzzle story simulated, and a three-layer network's gradients by hand and by
# autograd (its claims and figures come from workflow/explainers/backprop.yaml through the generic rules of
# explainers.smk). network.py is the only script of the explainer that imports torch.


rule backprop_puzzle:
    input:
        **script("backprop/puzzle.py"),
    output:
        "results/backprop/puzzle.json",
    log:
        log_file("backprop_puzzle"),
    benchmark:
        benchmark_file("backprop_puzzle")
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=200,
        runtime=5,
    params:
        run=RUN,
        seed=config["backprop"]["puzzle_seed"],
        fraction=config["backprop"]["fix_fraction"],
        target=config["backprop"]["target_wrong"],
        rounds=config["backprop"]["max_rounds"],
    shell:
        "{params.run} {input.code:q} --seed {params.seed} --fix-fraction {params.fraction}"
        " --target {params.target} --max-rounds {params.rounds} --output {output:q} > {log:q} 2>&1"


rule backprop_network:
    input:
        **script("backprop/network.py"),
        data=DATASET,
    output:
        history="results/backprop/history.npz",
        metrics="results/backprop/metrics.json",
    log:
        log_file("backprop_network"),
    benchmark:
        benchmark_file("backprop_network")
    conda:
        ENV
    # One thread: the matrices are small, and one thread keeps the float64 sums (and so the bytes) the same.
    threads: 1
    # Measured with the defaults: 14 s and 700 MB peak (torch, and the dataset memory-mapped).
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        run=RUN,
        args=backprop_args(),
    shell:
        "{params.run} {input.code:q} --data {input.data:q} {params.args} --threads {threads}"
        " --history {output.history:q} --metrics {output.metrics:q} > {log:q} 2>&1"
