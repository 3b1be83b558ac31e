# Convolutions explainer: 1D, 2D and 3D convolutions computed by torch (its claims and figures come from
# workflow/explainers/convolutions.yaml through the generic rules of explainers.smk). compute.py is the only
# script of the explainer that imports torch; the figure scripts read its arrays.npz and metrics.json.


rule convolutions_compute:
    input:
        **script("convolutions/compute.py"),
        data=DATASET,
        weights=model_file("cnn", "weights.npz"),
    output:
        arrays="results/convolutions/arrays.npz",
        metrics="results/convolutions/metrics.json",
    log:
        log_file("convolutions_compute"),
    benchmark:
        benchmark_file("convolutions_compute")
    conda:
        ENV
    threads: 1
    # Measured: peak 0.7-0.8 GB (almost all of it importing torch) in 6 s.
    resources:
        mem_mb=1500,
        runtime=5,
    params:
        run=RUN,
        args=convolution_args(),
    shell:
        "{params.run} {input.code:q} --data {input.data:q} --weights {input.weights:q} {params.args}"
        " --threads {threads} --arrays {output.arrays:q} --metrics {output.metrics:q} > {log:q} 2>&1"
