# The generic rules every explainer's claims check, figures and widget data run through. What each job reads,
# which script it runs and with which flags comes from the explainer's declaration
# (workflow/explainers/<name>.yaml), so adding a figure is one script and one entry there. Rule, script, log,
# benchmark and output share the figure's name: results/figures/<explainer>/<figure>.svg (and its phone variant
# <figure>.narrow.svg) is drawn by scripts/<explainer>/figures/<figure>.py.


# An explainer and a figure are names the declarations give, so no other path is ever read as one.
wildcard_constraints:
    explainer="|".join(EXPLAINERS),
    figure="|".join(sorted({step.name for item in EXPLAINERS.values() for step in item.figures})),


# Seconds each: a cluster job would wait longer in the queue than it runs.
localrules:
    claims,
    figure,
    widgets,


rule claims:
    input:
        unpack(claims_inputs),
    output:
        "results/{explainer}/claims.json",
    log:
        log_file("claims/{explainer}"),
    benchmark:
        benchmark_file("claims/{explainer}")
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=claims_mem,
        runtime=5,
    params:
        run=RUN,
        args=claims_args,
    shell:
        "{params.run} {input.code:q} {params.args} --output {output:q} > {log:q} 2>&1"


rule figure:
    input:
        unpack(figure_inputs),
    output:
        svg=figure_output("results/figures/{explainer}/{figure}.svg"),
        meta="results/figures/{explainer}/{figure}.json",
        narrow="results/figures/{explainer}/{figure}.narrow.svg",
    log:
        log_file("figure/{explainer}/{figure}"),
    benchmark:
        benchmark_file("figure/{explainer}/{figure}")
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=figure_mem,
        runtime=5,
    params:
        run=RUN,
        args=figure_args,
    shell:
        "{params.run} {input.code:q} {params.args} --output {output.svg:q} --meta {output.meta:q}"
        " --narrow {output.narrow:q} > {log:q} 2>&1"


# An explainer's interactive widgets (declared under "widgets:"): scripts/<explainer>/widgets.py exports the data
# its page loads (results/widgets/<explainer>.js) and the checks the browser test replays on the widgets.
rule widgets:
    input:
        unpack(widget_inputs),
    output:
        data="results/widgets/{explainer}.js",
        checks="results/widgets/{explainer}.checks.json",
    log:
        log_file("widgets/{explainer}"),
    benchmark:
        benchmark_file("widgets/{explainer}")
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=widget_mem,
        runtime=5,
    params:
        run=RUN,
        args=widget_args,
    shell:
        "{params.run} {input.code:q} {params.args} --output {output.data:q} --checks {output.checks:q}"
        " > {log:q} 2>&1"
