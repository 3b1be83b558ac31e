# Overfitting explainer: the run-to-run spread over the seeds and each run's paired accuracy test (the trainings
# are in models.smk; its claims and figures come from workflow/explainers/overfitting.yaml through the generic
# rules of explainers.smk).


rule overfitting_seed_spread:
    input:
        **script("overfitting/seed_spread.py"),
        histories=all_model_files("history.json"),
        metrics=all_model_files("metrics.json"),
        diagnostics=all_model_files("diagnostics.npz"),
    output:
        "results/overfitting/seeds.json",
    log:
        log_file("overfitting_seed_spread"),
    benchmark:
        benchmark_file("overfitting_seed_spread")
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=300,
        runtime=5,
    params:
        run=RUN,
        runs=seed_runs,
    shell:
        "{params.run} {input.code:q} {params.runs} --output {output:q} > {log:q} 2>&1"
