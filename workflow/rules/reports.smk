# Reports stage: provenance, the HTML page and PDF handout of each explainer, the booklet of all explainers,
# and the site index.


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
        **script("publish/provenance.py"),
    output:
        "results/provenance/{explainer}.json",
    log:
        log_file("provenance/{explainer}"),
    benchmark:
        benchmark_file("provenance/{explainer}")
    conda:
        ENV
    resources:
        mem_mb=200,
        runtime=5,
    params:
        run=RUN,
        settings=explainer_settings,
        benchmarks=provenance_args,
    shell:
        "{params.run} {input.code:q} --explainer {wildcards.explainer} --data-meta {input.data:q}"
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
        log_file("report_html/{explainer}"),
    benchmark:
        benchmark_file("report_html/{explainer}")
    conda:
        ENV
    resources:
        mem_mb=300,
        runtime=5,
    params:
        run=RUN,
        templates=folder_of("templates"),
        template=report_template,
        args=report_args,
        nav=report_nav,
        title=shlex.quote(config["report"]["title"]),
        author=shlex.quote(config["report"]["author"]),
        run_times="--run-times" if config["report"]["run_times"] else "",
    shell:
        "{params.run} {input.code:q} --template {params.template} --templates-dir {params.templates:q} {params.args}"
        " --nav {params.nav} --site-title {params.title} --site-author {params.author} {params.run_times}"
        " --output {output:q}"
        " > {log:q} 2>&1"


rule report_pdf:
    input:
        **script("publish/render_pdf.py"),
        html="results/reports/{explainer}.html",
        figures=pdf_figures,
        stylesheet=TEMPLATES / "print.css",
    output:
        report(
            "results/reports/{explainer}.pdf",
            caption="../report/page.rst",
            category="{explainer}",
            subcategory="page and handout",
            labels={"file": "PDF handout"},
        ),
    log:
        log_file("report_pdf/{explainer}"),
    benchmark:
        benchmark_file("report_pdf/{explainer}")
    conda:
        ENV
    resources:
        mem_mb=800,
        runtime=10,
    params:
        run=RUN,
        templates=folder_of("stylesheet"),
        page_size=config["report"]["page_size"],
        results=folder_of("html", up=2),
    shell:
        "{params.run} {input.code:q} --html {input.html:q} --allow {params.results:q} --allow {params.templates:q}"
        " --page-size {params.page_size} --stylesheet {input.stylesheet:q} --output {output:q}"
        " > {log:q} 2>&1"


rule booklet:
    input:
        **script("publish/render_booklet.py"),
        pages=expand("results/reports/{explainer}.html", explainer=EXPLAINERS),
        provenance=expand("results/provenance/{explainer}.json", explainer=EXPLAINERS),
        figures=[path for item in EXPLAINERS.values() for path in item.figure_files()],
        cover=cover_figure(),
        cover_sidecar=cover_figure().removesuffix(".svg") + ".json",
        templates=templates_of("booklet.html.j2"),
        stylesheet=TEMPLATES / "print.css",
    output:
        # The booklet's source, beside results/reports/ (not a page of the site: the site links the PDF).
        html="results/booklet/booklet.html",
        pdf=report(
            "results/reports/booklet.pdf",
            caption="../report/site.rst",
            category="site",
            labels={"file": "booklet (PDF)"},
        ),
    log:
        log_file("booklet"),
    benchmark:
        benchmark_file("booklet")
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        run=RUN,
        templates=folder_of("stylesheet"),
        page_size=config["report"]["page_size"],
        results=folder_of("pages", up=2),
        pages=quoted([f"{name}=results/reports/{name}.html" for name in EXPLAINERS], "--page"),
        records=quoted([f"{name}=results/provenance/{name}.json" for name in EXPLAINERS], "--provenance"),
        title=shlex.quote(config["report"]["title"]),
        author=shlex.quote(config["report"]["author"]),
        run_times="--run-times" if config["report"]["run_times"] else "",
        # Fitted parts kept for the next build (publish/fit.py): after one chapter's edit only that chapter is
        # fitted again. Not an output: the PDF is the same without it, and a clean results/ starts it afresh.
        fit_cache="results/booklet/fit-cache",
        # What was drawn for each figure, replayed where a figure sits where it sat (publish/drawcache.py); like
        # the fit cache, not an output.
        draw_cache="results/booklet/draw-cache",
    shell:
        "{params.run} {input.code:q} {params.pages} {params.records} --templates-dir {params.templates:q}"
        " --site-title {params.title} --site-author {params.author} {params.run_times}"
        " --allow {params.results:q} --allow {params.templates:q} --page-size {params.page_size}"
        " --stylesheet {input.stylesheet:q} --cover-figure {input.cover:q}"
        " --html-output {output.html:q} --output {output.pdf:q} --fit-cache {params.fit_cache:q}"
        " --draw-cache {params.draw_cache:q} > {log:q} 2>&1"


# The index shows each explainer's facts, key figure and links; it reads none of the pages. So its inputs are what it
# shows, not the pages' HTML or PDF: editing one page's template reruns that page and the booklet, not the index.
# The pages it links to exist because `all` asks for them.
rule index:
    input:
        **script("publish/render_html.py"),
        claims=[claims_file(name) for name in EXPLAINERS],
        figures=list(index_figures().values()),
        sidecars=[path.removesuffix(".svg") + ".json" for path in index_figures().values()],
        templates=templates_of("index.html.j2"),
    output:
        report("results/index.html", caption="../report/site.rst", category="site", labels={"file": "index"}),
    log:
        log_file("index"),
    benchmark:
        benchmark_file("index")
    conda:
        ENV
    resources:
        mem_mb=300,
        runtime=5,
    params:
        run=RUN,
        templates=folder_of("templates"),
        explainers=shlex.quote(index_entries()),
        figures=index_figure_args(),
        title=shlex.quote(config["report"]["title"]),
        author=shlex.quote(config["report"]["author"]),
    shell:
        "{params.run} {input.code:q} --template index.html.j2 --templates-dir {params.templates:q}"
        " --explainers {params.explainers} {params.figures} --site-title {params.title}"
        " --site-author {params.author} --output {output:q} > {log:q} 2>&1"


# The rule graph on the index. Its inputs are the workflow's own files only, so new data or results never
# redraw it; rulegraph.py runs Snakemake in an empty folder without the lock this run holds.
rule rulegraph:
    input:
        **script("publish/rulegraph.py"),
        workflow=[str(ROOT / "workflow" / "Snakefile")]
        + sorted(str(path) for path in (ROOT / "workflow" / "rules").glob("*.smk")),
    output:
        svg=RULEGRAPH,
        sidecar=RULEGRAPH.removesuffix(".svg") + ".json",
    log:
        log_file("rulegraph"),
    benchmark:
        benchmark_file("rulegraph")
    conda:
        ENV
    resources:
        mem_mb=600,
        runtime=5,
    params:
        run=RUN,
        # The config files this run reads (config/config.yaml of the working folder unless --configfile says
        # otherwise), relative to the working folder; rulegraph.py makes them absolute before it runs Snakemake
        # in another folder.
        configfiles=quoted([os.path.relpath(path) for path in workflow.configfiles], "--configfile"),
    shell:
        "{params.run} {input.code:q} --snakefile {input.workflow[0]:q} {params.configfiles}"
        " --rankdir TB --output {output.svg:q} --sidecar {output.sidecar:q} > {log:q} 2>&1"
