# PCA explainer: the full spectrum of the training images, and a classifier's test accuracy on the first k scores
# (its claims and figures come from workflow/explainers/pca.yaml through the generic rules of explainers.smk).


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


# How many components are enough for telling garments apart: a linear classifier's test accuracy on the first k
# scores, for each k in pca.classifier_counts and each count the metrics name for a variance threshold (seconds on
# the full data).
rule pca_classify:
    input:
        **script("pca/classify.py"),
        data=DATASET,
        pca="results/pca/pca.npz",
        metrics="results/pca/metrics.json",
    output:
        "results/pca/classification.json",
    log:
        log_file("pca_classify"),
    benchmark:
        benchmark_file("pca_classify")
    conda:
        ENV
    threads: 2
    resources:
        mem_mb=1500,
        runtime=10,
    params:
        run=RUN,
        counts=quoted(config["pca"]["classifier_counts"]),
    shell:
        "{params.run} {input.code:q} --data {input.data:q} --pca {input.pca:q} --metrics {input.metrics:q}"
        " --counts {params.counts} --threads {threads} --output {output:q} > {log:q} 2>&1"
