# Reports stage: provenance, the HTML page and PDF handout of each explainer, the booklet of all explainers,
# and the site index.


# An explainer is one of the registered names, so that results/reports/booklet.pdf is never read as one.
wildcard_constraints:
    explainer="|".join(EXPLAINERS),


localrules:
    provenance,
    report_html,
    report_pdf,
    booklet,
    index,
    rulegraph,


rule provenance:
    input:
        unpack(provenance_inputs),
        code=SCRIPTS / "provenance.py",
        shared=SHARED_CODE,
    output:
        "results/provenance/{explainer}.json",
    log:
        "logs/provenance/{explainer}.log",
    benchmark:
        benchmark_file("provenance/{explainer}")
    conda:
        ENV
    resources:
        mem_mb=200,
        runtime=5,
    params:
        python=PYTHON,
        settings=explainer_settings,
        benchmarks=provenance_args,
    shell:
        "{params.python} {input.code:q} --explainer {wildcards.explainer} --data-meta {input.data:q}"
        " --settings {params.settings} {params.benchmarks} --output {output:q} > {log:q} 2>&1"


rule report_html:
    input:
        unpack(report_inputs),
    output:
        report(
            "results/reports/{explainer}.html",
            caption="../report/page.rst",
            category="{explainer}",
            subcategory="page and handout",
            labels={"file": "HTML page"},
        ),
    log:
        "logs/reports/{explainer}.html.log",
    benchmark:
        benchmark_file("report_html/{explainer}")
    conda:
        ENV
    resources:
        mem_mb=300,
        runtime=5,
    params:
        python=PYTHON,
        templates=TEMPLATES,
        template=report_template,
        args=report_args,
        title=shlex.quote(config["report"]["title"]),
        author=shlex.quote(config["report"]["author"]),
        run_times="--run-times" if config["report"]["run_times"] else "",
    shell:
        "{params.python} {input.code:q} --template {params.template} --templates-dir {params.templates:q} {params.args}"
        " --site-title {params.title} --site-author {params.author} {params.run_times} --output {output:q}"
        " > {log:q} 2>&1"


rule report_pdf:
    input:
        html="results/reports/{explainer}.html",
        figures=pdf_figures,
        code=SCRIPTS / "render_pdf.py",
        shared=SHARED_CODE,
    output:
        report(
            "results/reports/{explainer}.pdf",
            caption="../report/page.rst",
            category="{explainer}",
            subcategory="page and handout",
            labels={"file": "PDF handout"},
        ),
    log:
        "logs/reports/{explainer}.pdf.log",
    benchmark:
        benchmark_file("report_pdf/{explainer}")
    conda:
        ENV
    resources:
        mem_mb=800,
        runtime=10,
    params:
        python=PYTHON,
        templates=TEMPLATES,
        page_size=config["report"]["page_size"],
        results=RESULTS_DIR,
    shell:
        "{params.python} {input.code:q} --html {input.html:q} --allow {params.results:q} --allow {params.templates:q}"
        " --page-size {params.page_size} --stylesheet {params.templates:q}/print.css --output {output:q}"
        " > {log:q} 2>&1"


rule booklet:
    input:
        pages=expand("results/reports/{explainer}.html", explainer=EXPLAINERS),
        provenance=expand("results/provenance/{explainer}.json", explainer=EXPLAINERS),
        figures=[path for explainer in EXPLAINERS for path in explainer_figures(explainer)],
        templates=sorted(str(path) for path in TEMPLATES.iterdir() if path.is_file()),
        code=SCRIPTS / "render_booklet.py",
        renderers=[str(SCRIPTS / "render_html.py"), str(SCRIPTS / "render_pdf.py")],
        shared=SHARED_CODE,
    output:
        html="results/reports/booklet.html",
        pdf=report(
            "results/reports/booklet.pdf",
            caption="../report/site.rst",
            category="site",
            labels={"file": "booklet (PDF)"},
        ),
    log:
        "logs/reports/booklet.log",
    benchmark:
        benchmark_file("booklet")
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        python=PYTHON,
        templates=TEMPLATES,
        page_size=config["report"]["page_size"],
        results=RESULTS_DIR,
        pages=quoted([f"{name}=results/reports/{name}.html" for name in EXPLAINERS], "--page"),
        records=quoted([f"{name}=results/provenance/{name}.json" for name in EXPLAINERS], "--provenance"),
        title=shlex.quote(config["report"]["title"]),
        author=shlex.quote(config["report"]["author"]),
        run_times="--run-times" if config["report"]["run_times"] else "",
    shell:
        "{params.python} {input.code:q} {params.pages} {params.records} --templates-dir {params.templates:q}"
        " --site-title {params.title} --site-author {params.author} {params.run_times}"
        " --allow {params.results:q} --allow {params.templates:q} --page-size {params.page_size}"
        " --stylesheet {params.templates:q}/print.css"
        " --html-output {output.html:q} --output {output.pdf:q} > {log:q} 2>&1"


rule index:
    input:
        reports=expand("results/reports/{explainer}.{ext}", explainer=EXPLAINERS, ext=["html", "pdf"]),
        booklet="results/reports/booklet.pdf",
        figures=list(index_figures().values()),
        sidecars=[path.removesuffix(".svg") + ".json" for path in index_figures().values()],
        templates=sorted(str(path) for path in TEMPLATES.iterdir() if path.is_file()),
        code=SCRIPTS / "render_html.py",
        shared=SHARED_CODE,
    output:
        report("results/index.html", caption="../report/site.rst", category="site", labels={"file": "index"}),
    log:
        "logs/index.log",
    benchmark:
        benchmark_file("index")
    conda:
        ENV
    resources:
        mem_mb=300,
        runtime=5,
    params:
        python=PYTHON,
        templates=TEMPLATES,
        explainers=shlex.quote(index_entries()),
        figures=index_figure_args(),
        title=shlex.quote(config["report"]["title"]),
        author=shlex.quote(config["report"]["author"]),
    shell:
        "{params.python} {input.code:q} --template index.html.j2 --templates-dir {params.templates:q}"
        " --explainers {params.explainers} {params.figures} --site-title {params.title}"
        " --site-author {params.author} --output {output:q} > {log:q} 2>&1"


# The rule graph on the index. Its inputs are the workflow's own files only, so new data or results never
# redraw it; rulegraph.py runs Snakemake in an empty folder without the lock this run holds.
rule rulegraph:
    input:
        workflow=[str(ROOT / "workflow" / "Snakefile")]
        + sorted(str(path) for path in (ROOT / "workflow" / "rules").glob("*.smk")),
        code=SCRIPTS / "rulegraph.py",
        shared=PLOT_CODE,
    output:
        svg=RULEGRAPH,
        sidecar=RULEGRAPH.removesuffix(".svg") + ".json",
    log:
        "logs/rulegraph.log",
    benchmark:
        benchmark_file("rulegraph")
    conda:
        ENV
    resources:
        mem_mb=600,
        runtime=5,
    params:
        python=PYTHON,
        # The config files this run reads (config/config.yaml of the working folder unless --configfile says
        # otherwise), made absolute because rulegraph.py runs Snakemake in another folder.
        configfiles=quoted([Path(path).resolve() for path in workflow.configfiles], "--configfile"),
    shell:
        "{params.python} {input.code:q} --snakefile {input.workflow[0]:q} {params.configfiles}"
        " --rankdir TB --output {output.svg:q} --sidecar {output.sidecar:q} > {log:q} 2>&1"
