# PCA stage: the full spectrum of the training images, then the source thread's claims checked against it.


rule pca:
    input:
        data=DATASET,
        code=SCRIPTS / "pca.py",
        shared=SHARED_CODE,
    output:
        model="results/pca/pca.npz",
        metrics="results/pca/metrics.json",
    log:
        "logs/pca.log",
    benchmark:
        benchmark_file("pca")
    conda:
        ENV
    threads: 2
    resources:
        mem_mb=1500,
        runtime=10,
    params:
        python=PYTHON,
        thresholds=quoted(config["pca"]["thresholds"]),
    shell:
        "{params.python} {input.code:q} --input {input.data:q} --thresholds {params.thresholds} --threads {threads}"
        " --output {output.model:q} --metrics {output.metrics:q} > {log:q} 2>&1"


rule pca_claims:
    input:
        metrics="results/pca/metrics.json",
        model="results/pca/pca.npz",
        data=DATASET,
        code=SCRIPTS / "pca_claims.py",
        shared=SHARED_CODE,
    output:
        "results/pca/claims.json",
    log:
        "logs/pca_claims.log",
    benchmark:
        benchmark_file("pca_claims")
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=800,
        runtime=5,
    params:
        python=PYTHON,
        tolerance=config["pca"]["claim_tolerance_pp"],
    shell:
        "{params.python} {input.code:q} --metrics {input.metrics:q} --pca {input.model:q} --data {input.data:q}"
        " --tolerance-pp {params.tolerance} --output {output:q} > {log:q} 2>&1"
