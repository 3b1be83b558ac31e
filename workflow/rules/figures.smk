# Figures stage: one rule and one script per chart. Each writes an SVG and a JSON sidecar (title, alt text
# describing the data, and the computed numbers the prose quotes). Plotting never imports torch.


localrules:
    fig_pca_variance_bar,
    fig_pca_variance_cumulative,
    fig_pca_components,
    fig_pca_reconstructions,
    fig_pca_projection,


rule fig_pca_variance_bar:
    input:
        metrics="results/pca/metrics.json",
        code=SCRIPTS / "fig_pca_variance_bar.py",
        shared=PLOT_CODE,
    output:
        svg="results/figures/pca/variance_bar.svg",
        meta="results/figures/pca/variance_bar.json",
    log:
        "logs/figures/pca/variance_bar.log",
    benchmark:
        benchmark_file("fig_pca_variance_bar")
    conda:
        ENV
    resources:
        mem_mb=300,
        runtime=5,
    params:
        python=PYTHON,
        n=config["pca"]["n_components"],
    shell:
        "{params.python} {input.code:q} --metrics {input.metrics:q} --n-components {params.n}"
        " --output {output.svg:q} --meta {output.meta:q} > {log:q} 2>&1"


rule fig_pca_variance_cumulative:
    input:
        metrics="results/pca/metrics.json",
        code=SCRIPTS / "fig_pca_variance_cumulative.py",
        shared=PLOT_CODE,
    output:
        svg="results/figures/pca/variance_cumulative.svg",
        meta="results/figures/pca/variance_cumulative.json",
    log:
        "logs/figures/pca/variance_cumulative.log",
    benchmark:
        benchmark_file("fig_pca_variance_cumulative")
    conda:
        ENV
    resources:
        mem_mb=300,
        runtime=5,
    params:
        python=PYTHON,
        thresholds=quoted(config["pca"]["plot_thresholds"]),
    shell:
        "{params.python} {input.code:q} --metrics {input.metrics:q} --thresholds {params.thresholds}"
        " --output {output.svg:q} --meta {output.meta:q} > {log:q} 2>&1"


rule fig_pca_components:
    input:
        model="results/pca/pca.npz",
        metrics="results/pca/metrics.json",
        code=SCRIPTS / "fig_pca_components.py",
        shared=PLOT_CODE,
    output:
        svg="results/figures/pca/components.svg",
        meta="results/figures/pca/components.json",
    log:
        "logs/figures/pca/components.log",
    benchmark:
        benchmark_file("fig_pca_components")
    conda:
        ENV
    resources:
        mem_mb=300,
        runtime=5,
    params:
        python=PYTHON,
        n=config["pca"]["n_components"],
    shell:
        "{params.python} {input.code:q} --pca {input.model:q} --metrics {input.metrics:q} --n-components {params.n}"
        " --output {output.svg:q} --meta {output.meta:q} > {log:q} 2>&1"


rule fig_pca_reconstructions:
    input:
        model="results/pca/pca.npz",
        data=DATASET,
        code=SCRIPTS / "fig_pca_reconstructions.py",
        shared=PLOT_CODE,
    output:
        svg="results/figures/pca/reconstructions.svg",
        meta="results/figures/pca/reconstructions.json",
    log:
        "logs/figures/pca/reconstructions.log",
    benchmark:
        benchmark_file("fig_pca_reconstructions")
    conda:
        ENV
    resources:
        mem_mb=600,
        runtime=5,
    params:
        python=PYTHON,
        counts=quoted(config["pca"]["reconstruction_counts"]),
    shell:
        "{params.python} {input.code:q} --pca {input.model:q} --data {input.data:q} --counts {params.counts}"
        " --output {output.svg:q} --meta {output.meta:q} > {log:q} 2>&1"


rule fig_pca_projection:
    input:
        model="results/pca/pca.npz",
        data=DATASET,
        code=SCRIPTS / "fig_pca_projection.py",
        shared=PLOT_CODE,
    output:
        svg="results/figures/pca/projection.svg",
        meta="results/figures/pca/projection.json",
    log:
        "logs/figures/pca/projection.log",
    benchmark:
        benchmark_file("fig_pca_projection")
    conda:
        ENV
    resources:
        mem_mb=600,
        runtime=5,
    params:
        python=PYTHON,
    shell:
        "{params.python} {input.code:q} --pca {input.model:q} --data {input.data:q}"
        " --output {output.svg:q} --meta {output.meta:q} > {log:q} 2>&1"
