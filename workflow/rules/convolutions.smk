# Convolutions explainer: 1D, 2D and 3D convolutions computed by torch, their figures and claims.
# convolutions.py is the only script that imports torch; the figure scripts read its arrays.npz and metrics.json.

CONV_DIR = "results/convolutions"
CONV_ARRAYS = f"{CONV_DIR}/arrays.npz"
CONV_METRICS = f"{CONV_DIR}/metrics.json"
CONV_CLAIMS = f"{CONV_DIR}/claims.json"
#: The convolution figures share a reader and drawing helpers (no torch) besides the plotting style.
CONV_PLOT_CODE = PLOT_CODE + [str(SCRIPTS / "convio.py")]
#: The figures in the order the page numbers them.
CONV_FIGURES = ["signal_1d", "image_row_1d", "over_2d", "edges_2d", "multichannel_2d", "learned_filters", "volume_3d"]
#: Memory of the compute job and of one figure job, from the benchmark files with room to spare: the compute job
#: peaked at 0.7-0.8 GB (almost all of it importing torch) in 6 s, each figure at under 100 MB in 1-4 s.
MEM_COMPUTE = 1500
MEM_FIGURE = 400

EXPLAINERS["convolutions"] = {
    "title": "1D, 2D and 3D convolutions: which way the kernel moves",
    "summary": "Real convolutions by torch on a mains-like signal, Fashion-MNIST images, a trained CNN's filters and a "
    "short video: the number in 1D, 2D and 3D is how many directions the kernel moves, and the output's dimensions.",
    "template": "convolutions.html.j2",
    "context": {
        "metrics": CONV_METRICS,
        "claims": CONV_CLAIMS,
        "cnn": model_file("cnn", "metrics.json"),
        "dataset": DATASET_META,
    },
    "figures": CONV_FIGURES,
    "key_figure": "edges_2d",
    "steps": ["prepare", "split", CNN_TRAIN_STEP, "convolutions", "conv_claims"],
    "settings": ["data", "convolutions", "report"],
}


#: convolutions.py's flags, one per key of the ``convolutions`` section (a null test image lets the seed choose).
CONV_SETTINGS = config["convolutions"]
CONV_GRID = CONV_SETTINGS["formula_grid"]
CONV_ARGS = " ".join(
    [
        f"--{key.replace('_', '-')} {CONV_SETTINGS[key]}"
        for key in CONV_SETTINGS
        if key not in ("formula_grid", "test_image")
    ]
    + [f"--grid-{key} {quoted(CONV_GRID[key])}" for key in ("sizes", "kernels", "strides", "paddings", "dilations")]
    + [f"--grid-samples {CONV_GRID['samples']}"]
    + ([f"--test-image {CONV_SETTINGS['test_image']}"] if CONV_SETTINGS["test_image"] is not None else [])
)


localrules:
    fig_convolutions_signal_1d,
    fig_convolutions_image_row_1d,
    fig_convolutions_over_2d,
    fig_convolutions_edges_2d,
    fig_convolutions_multichannel_2d,
    fig_convolutions_learned_filters,
    fig_convolutions_volume_3d,


rule convolutions:
    input:
        data=DATASET,
        weights=model_file("cnn", "weights.npz"),
        code=SCRIPTS / "convolutions.py",
        shared=SHARED_CODE + MODEL_PLOT_CODE,
    output:
        arrays=CONV_ARRAYS,
        metrics=CONV_METRICS,
    log:
        "logs/convolutions/convolutions.log",
    benchmark:
        benchmark_file("convolutions")
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=MEM_COMPUTE,
        runtime=5,
    params:
        python=PYTHON,
        args=CONV_ARGS,
    shell:
        "{params.python} {input.code:q} --data {input.data:q} --weights {input.weights:q} {params.args}"
        " --threads {threads} --arrays {output.arrays:q} --metrics {output.metrics:q} > {log:q} 2>&1"


rule conv_claims:
    input:
        metrics=CONV_METRICS,
        code=SCRIPTS / "conv_claims.py",
        shared=SHARED_CODE,
    output:
        CONV_CLAIMS,
    log:
        "logs/convolutions/claims.log",
    benchmark:
        benchmark_file("conv_claims")
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=200,
        runtime=5,
    params:
        python=PYTHON,
    shell:
        "{params.python} {input.code:q} --metrics {input.metrics:q} --output {output:q} > {log:q} 2>&1"


rule fig_convolutions_signal_1d:
    input:
        arrays=CONV_ARRAYS,
        metrics=CONV_METRICS,
        code=SCRIPTS / "fig_conv_1d_signal.py",
        shared=CONV_PLOT_CODE,
    output:
        svg=figure_output("convolutions", "signal_1d"),
        meta="results/figures/convolutions/signal_1d.json",
    log:
        "logs/figures/convolutions/signal_1d.log",
    benchmark:
        benchmark_file("fig_convolutions_signal_1d")
    conda:
        ENV
    resources:
        mem_mb=MEM_FIGURE,
        runtime=5,
    params:
        python=PYTHON,
    shell:
        "{params.python} {input.code:q} --arrays {input.arrays:q} --metrics {input.metrics:q}"
        " --output {output.svg:q} --meta {output.meta:q} > {log:q} 2>&1"


rule fig_convolutions_image_row_1d:
    input:
        arrays=CONV_ARRAYS,
        metrics=CONV_METRICS,
        code=SCRIPTS / "fig_conv_1d_image_row.py",
        shared=CONV_PLOT_CODE,
    output:
        svg=figure_output("convolutions", "image_row_1d"),
        meta="results/figures/convolutions/image_row_1d.json",
    log:
        "logs/figures/convolutions/image_row_1d.log",
    benchmark:
        benchmark_file("fig_convolutions_image_row_1d")
    conda:
        ENV
    resources:
        mem_mb=MEM_FIGURE,
        runtime=5,
    params:
        python=PYTHON,
    shell:
        "{params.python} {input.code:q} --arrays {input.arrays:q} --metrics {input.metrics:q}"
        " --output {output.svg:q} --meta {output.meta:q} > {log:q} 2>&1"


rule fig_convolutions_over_2d:
    input:
        arrays=CONV_ARRAYS,
        metrics=CONV_METRICS,
        code=SCRIPTS / "fig_conv_1d_over_2d.py",
        shared=CONV_PLOT_CODE,
    output:
        svg=figure_output("convolutions", "over_2d"),
        meta="results/figures/convolutions/over_2d.json",
    log:
        "logs/figures/convolutions/over_2d.log",
    benchmark:
        benchmark_file("fig_convolutions_over_2d")
    conda:
        ENV
    resources:
        mem_mb=MEM_FIGURE,
        runtime=5,
    params:
        python=PYTHON,
    shell:
        "{params.python} {input.code:q} --arrays {input.arrays:q} --metrics {input.metrics:q}"
        " --output {output.svg:q} --meta {output.meta:q} > {log:q} 2>&1"


rule fig_convolutions_edges_2d:
    input:
        arrays=CONV_ARRAYS,
        metrics=CONV_METRICS,
        code=SCRIPTS / "fig_conv_2d_edges.py",
        shared=CONV_PLOT_CODE,
    output:
        svg=figure_output("convolutions", "edges_2d"),
        meta="results/figures/convolutions/edges_2d.json",
    log:
        "logs/figures/convolutions/edges_2d.log",
    benchmark:
        benchmark_file("fig_convolutions_edges_2d")
    conda:
        ENV
    resources:
        mem_mb=MEM_FIGURE,
        runtime=5,
    params:
        python=PYTHON,
    shell:
        "{params.python} {input.code:q} --arrays {input.arrays:q} --metrics {input.metrics:q}"
        " --output {output.svg:q} --meta {output.meta:q} > {log:q} 2>&1"


rule fig_convolutions_multichannel_2d:
    input:
        arrays=CONV_ARRAYS,
        metrics=CONV_METRICS,
        code=SCRIPTS / "fig_conv_2d_multichannel.py",
        shared=CONV_PLOT_CODE,
    output:
        svg=figure_output("convolutions", "multichannel_2d"),
        meta="results/figures/convolutions/multichannel_2d.json",
    log:
        "logs/figures/convolutions/multichannel_2d.log",
    benchmark:
        benchmark_file("fig_convolutions_multichannel_2d")
    conda:
        ENV
    resources:
        mem_mb=MEM_FIGURE,
        runtime=5,
    params:
        python=PYTHON,
    shell:
        "{params.python} {input.code:q} --arrays {input.arrays:q} --metrics {input.metrics:q}"
        " --output {output.svg:q} --meta {output.meta:q} > {log:q} 2>&1"


rule fig_convolutions_learned_filters:
    input:
        arrays=CONV_ARRAYS,
        metrics=CONV_METRICS,
        code=SCRIPTS / "fig_conv_learned_filters.py",
        shared=CONV_PLOT_CODE,
    output:
        svg=figure_output("convolutions", "learned_filters"),
        meta="results/figures/convolutions/learned_filters.json",
    log:
        "logs/figures/convolutions/learned_filters.log",
    benchmark:
        benchmark_file("fig_convolutions_learned_filters")
    conda:
        ENV
    resources:
        mem_mb=MEM_FIGURE,
        runtime=5,
    params:
        python=PYTHON,
    shell:
        "{params.python} {input.code:q} --arrays {input.arrays:q} --metrics {input.metrics:q}"
        " --output {output.svg:q} --meta {output.meta:q} > {log:q} 2>&1"


rule fig_convolutions_volume_3d:
    input:
        arrays=CONV_ARRAYS,
        metrics=CONV_METRICS,
        code=SCRIPTS / "fig_conv_3d_volume.py",
        shared=CONV_PLOT_CODE,
    output:
        svg=figure_output("convolutions", "volume_3d"),
        meta="results/figures/convolutions/volume_3d.json",
    log:
        "logs/figures/convolutions/volume_3d.log",
    benchmark:
        benchmark_file("fig_convolutions_volume_3d")
    conda:
        ENV
    resources:
        mem_mb=MEM_FIGURE,
        runtime=5,
    params:
        python=PYTHON,
    shell:
        "{params.python} {input.code:q} --arrays {input.arrays:q} --metrics {input.metrics:q}"
        " --output {output.svg:q} --meta {output.meta:q} > {log:q} 2>&1"
