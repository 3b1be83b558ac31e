# PCA explainer: the full spectrum of the training images (its claims and figures come from
# workflow/explainers/pca.yaml through the generic rules of explainers.smk).


rule pca_fit:
    input:
        **script("pca/fit.py"),
        data=DATASET,
    output:
        model="results/pca/pca.npz",
        metrics="results/pca/metrics.json",
    log:
        log_file("pca_fit"),
    benchmark:
        benchmark_file("pca_fit")
    conda:
        ENV
    threads: 2
    resources:
        mem_mb=1500,
        runtime=10,
    params:
        run=RUN,
        thresholds=quoted(config["pca"]["thresholds"]),
    shell:
        "{params.run} {input.code:q} --input {input.data:q} --thresholds {params.thresholds} --threads {threads}"
        " --output {output.model:q} --metrics {output.metrics:q} > {log:q} 2>&1"
