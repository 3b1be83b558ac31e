# Data stage: fetch the four Fashion-MNIST files (verified), then parse them into one memory-mappable array.


# Downloads run where Snakemake runs: on a cluster, compute nodes often cannot reach the internet.
localrules:
    download,


rule download:
    input:
        **script("dataset/download.py"),
    output:
        gz="results/data/raw/{name}.gz",
        meta="results/data/raw/{name}.json",
    log:
        log_file("download/{name}"),
    benchmark:
        benchmark_file("download/{name}")
    wildcard_constraints:
        name="|".join(RAW_FILES.values()),
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=200,
        runtime=15,
    params:
        run=RUN,
        sources=quoted(config["data"]["sources"], "--source"),
        timeout=config["data"]["download_timeout"],
    shell:
        "{params.run} {input.code:q} --name {wildcards.name} {params.sources} --timeout {params.timeout}"
        " --output {output.gz:q} --meta {output.meta:q} > {log:q} 2>&1"


rule prepare:
    input:
        **{key: f"results/data/raw/{name}.gz" for key, name in RAW_FILES.items()},
        **script("dataset/prepare.py"),
    output:
        data=DATASET,
        meta=DATASET_META,
    log:
        log_file("prepare"),
    benchmark:
        benchmark_file("prepare")
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=600,
        runtime=5,
    params:
        run=RUN,
        subset=subset_args(),
    shell:
        "{params.run} {input.code:q} --train-images {input.train_images:q} --train-labels {input.train_labels:q}"
        " --test-images {input.test_images:q} --test-labels {input.test_labels:q} {params.subset}"
        " --output {output.data:q} --meta {output.meta:q} > {log:q} 2>&1"
