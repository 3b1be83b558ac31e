# Reports stage: provenance, the HTML page and PDF handout of each explainer, and the site index.


localrules:
    provenance,
    report_html,
    report_pdf,
    index,


rule provenance:
    input:
        unpack(provenance_inputs),
        code=SCRIPTS / "provenance.py",
        shared=SHARED_CODE,
    output:
        "results/provenance/{explainer}.json",
    log:
        "logs/provenance/{explainer}.log",
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
        "results/reports/{explainer}.html",
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
    shell:
        "{params.python} {input.code:q} --template {params.template} --templates-dir {params.templates:q} {params.args}"
        " --site-title {params.title} --site-author {params.author} --output {output:q} > {log:q} 2>&1"


rule report_pdf:
    input:
        html="results/reports/{explainer}.html",
        figures=pdf_figures,
        code=SCRIPTS / "render_pdf.py",
        shared=SHARED_CODE,
    output:
        "results/reports/{explainer}.pdf",
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
        " --page-size {params.page_size} --output {output:q} > {log:q} 2>&1"


rule index:
    input:
        reports=expand("results/reports/{explainer}.{ext}", explainer=EXPLAINERS, ext=["html", "pdf"]),
        templates=sorted(str(path) for path in TEMPLATES.iterdir() if path.is_file()),
        code=SCRIPTS / "render_html.py",
        shared=SHARED_CODE,
    output:
        "results/index.html",
    log:
        "logs/index.log",
    conda:
        ENV
    resources:
        mem_mb=300,
        runtime=5,
    params:
        python=PYTHON,
        templates=TEMPLATES,
        explainers=shlex.quote(index_entries()),
        title=shlex.quote(config["report"]["title"]),
        author=shlex.quote(config["report"]["author"]),
    shell:
        "{params.python} {input.code:q} --template index.html.j2 --templates-dir {params.templates:q}"
        " --explainers {params.explainers} --site-title {params.title} --site-author {params.author}"
        " --output {output:q} > {log:q} 2>&1"
