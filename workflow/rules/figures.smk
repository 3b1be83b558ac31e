# Figures stage: one rule and one script per chart. Each writes an SVG and a JSON sidecar (title, alt text
# describing the data, and the computed numbers the prose quotes). Plotting never imports torch.


localrules:
    fig_pca_variance_bar,
    fig_pca_variance_cumulative,
    fig_pca_components,
    fig_pca_reconstructions,
    fig_pca_projection,
    fig_overfitting_curves,
    fig_overfitting_loss_split,
    fig_overfitting_confidence,
    fig_overfitting_loss_histograms,
    fig_overfitting_reliability,
    fig_overfitting_confusion,
    fig_overfitting_test_grid,


rule fig_pca_variance_bar:
    input:
        metrics="results/pca/metrics.json",
        code=SCRIPTS / "fig_pca_variance_bar.py",
        shared=PLOT_CODE,
    output:
        svg=figure_output("pca", "variance_bar"),
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
        svg=figure_output("pca", "variance_cumulative"),
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
        svg=figure_output("pca", "components"),
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
        svg=figure_output("pca", "reconstructions"),
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
        svg=figure_output("pca", "projection"),
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


rule fig_overfitting_curves:
    input:
        history=model_file("{model}", "history.json"),
        code=SCRIPTS / "fig_curves.py",
        shared=PLOT_CODE + MODEL_PLOT_CODE,
    output:
        svg=figure_output("overfitting", "curves_{model}"),
        meta="results/figures/overfitting/curves_{model}.json",
    log:
        "logs/figures/overfitting/curves_{model}.log",
    benchmark:
        benchmark_file("fig_overfitting_curves_{model}")
    wildcard_constraints:
        model="|".join(MODELS),
    conda:
        ENV
    resources:
        mem_mb=300,
        runtime=5,
    params:
        python=PYTHON,
        label=model_label,
    shell:
        "{params.python} {input.code:q} --history {input.history:q} --label {params.label:q}"
        " --output {output.svg:q} --meta {output.meta:q} > {log:q} 2>&1"


rule fig_overfitting_loss_split:
    input:
        history=model_file("overfit", "history.json"),
        code=SCRIPTS / "fig_loss_split.py",
        shared=PLOT_CODE + MODEL_PLOT_CODE,
    output:
        svg=figure_output("overfitting", "loss_split"),
        meta="results/figures/overfitting/loss_split.json",
    log:
        "logs/figures/overfitting/loss_split.log",
    benchmark:
        benchmark_file("fig_overfitting_loss_split")
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


rule fig_overfitting_confidence:
    input:
        history=model_file("overfit", "history.json"),
        code=SCRIPTS / "fig_confidence.py",
        shared=PLOT_CODE + MODEL_PLOT_CODE,
    output:
        svg=figure_output("overfitting", "confidence"),
        meta="results/figures/overfitting/confidence.json",
    log:
        "logs/figures/overfitting/confidence.log",
    benchmark:
        benchmark_file("fig_overfitting_confidence")
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


rule fig_overfitting_loss_histograms:
    input:
        diagnostics=model_file("overfit", "diagnostics.npz"),
        code=SCRIPTS / "fig_loss_histograms.py",
        shared=PLOT_CODE + MODEL_PLOT_CODE,
    output:
        svg=figure_output("overfitting", "loss_histograms"),
        meta="results/figures/overfitting/loss_histograms.json",
    log:
        "logs/figures/overfitting/loss_histograms.log",
    benchmark:
        benchmark_file("fig_overfitting_loss_histograms")
    conda:
        ENV
    resources:
        mem_mb=500,
        runtime=5,
    params:
        python=PYTHON,
    shell:
        "{params.python} {input.code:q} --diagnostics {input.diagnostics:q}"
        " --output {output.svg:q} --meta {output.meta:q} > {log:q} 2>&1"


rule fig_overfitting_reliability:
    input:
        diagnostics=model_file("overfit", "diagnostics.npz"),
        code=SCRIPTS / "fig_reliability.py",
        shared=PLOT_CODE + MODEL_PLOT_CODE,
    output:
        svg=figure_output("overfitting", "reliability"),
        meta="results/figures/overfitting/reliability.json",
    log:
        "logs/figures/overfitting/reliability.log",
    benchmark:
        benchmark_file("fig_overfitting_reliability")
    conda:
        ENV
    resources:
        mem_mb=500,
        runtime=5,
    params:
        python=PYTHON,
    shell:
        "{params.python} {input.code:q} --diagnostics {input.diagnostics:q}"
        " --output {output.svg:q} --meta {output.meta:q} > {log:q} 2>&1"


rule fig_overfitting_confusion:
    input:
        metrics=model_file("cnn", "metrics.json"),
        code=SCRIPTS / "fig_confusion.py",
        shared=PLOT_CODE + MODEL_PLOT_CODE,
    output:
        svg=figure_output("overfitting", "confusion"),
        meta="results/figures/overfitting/confusion.json",
    log:
        "logs/figures/overfitting/confusion.log",
    benchmark:
        benchmark_file("fig_overfitting_confusion")
    conda:
        ENV
    resources:
        mem_mb=300,
        runtime=5,
    params:
        python=PYTHON,
    shell:
        "{params.python} {input.code:q} --metrics {input.metrics:q}"
        " --output {output.svg:q} --meta {output.meta:q} > {log:q} 2>&1"


rule fig_overfitting_test_grid:
    input:
        diagnostics=model_file("cnn", "diagnostics.npz"),
        data=DATASET,
        code=SCRIPTS / "fig_test_grid.py",
        shared=PLOT_CODE + MODEL_PLOT_CODE,
    output:
        svg=figure_output("overfitting", "test_grid"),
        meta="results/figures/overfitting/test_grid.json",
    log:
        "logs/figures/overfitting/test_grid.log",
    benchmark:
        benchmark_file("fig_overfitting_test_grid")
    conda:
        ENV
    resources:
        mem_mb=600,
        runtime=5,
    params:
        python=PYTHON,
    shell:
        "{params.python} {input.code:q} --diagnostics {input.diagnostics:q} --data {input.data:q}"
        " --output {output.svg:q} --meta {output.meta:q} > {log:q} 2>&1"
