# A newcomer needs two commands: `make reports` (set up, then build every report) and `make test`
# (set up, then run the tests). Everything else here is optional.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
VENV := .venv
BIN := $(VENV)/bin
# Scripts import the project's modules from scripts/, as the workflow runs them.
PY := PYTHONPATH=scripts $(BIN)/python
UV_VERSION := 0.13.9
UV := python3 -m uv
DATA_DIR := /usr/share/datasets/fashion-mnist

.PHONY: reports test test-slow test-slurm lint lock benchmark benchmark-recipes benchmark-pipeline benchmark-loop resources setup system-packages site-tools test-site check-layout clean

## reports: set up, then build every explainer (HTML + PDF) and results/index.html
reports: setup system-packages
	$(BIN)/snakemake --cores 4

## test: set up, then run the default test suite (under 10 minutes), one worker per CPU (pytest-xdist; the test
## files spread over the workers, each file on one), the 25 slowest tests listed at the end
test: setup system-packages
	$(BIN)/pytest -n auto --dist loadfile --durations=25

## test-slow: the slow tier: whole small runs of the workflow under changed settings, each page read against the
## run's own outputs, and a second clean run compared byte for byte (tests/test_scenarios.py; about 6 minutes)
test-slow: setup system-packages
	$(BIN)/pytest -m slow

## test-slurm: the workflow on a real one-node SLURM cluster (as root: installs slurm-wlm and munge, starts and
## stops their daemons, runs the small config locally and through workflow/profiles/slurm, compares; ~5 minutes)
test-slurm: setup system-packages
	$(BIN)/pytest -m slurm -s tests/test_slurm.py

## test-site: the site tier: builds the site if out of date, installs its tools (Debian chromium, Java, node; npm
## vnu-jar, playwright-core, axe-core into .tools/ from tests/site/package-lock.json), then checks every HTML page:
## vnu reports no error, axe-core in headless Chromium no WCAG 2.1 A/AA or best-practice violation at 390 and
## 1280 px, light and dark, replays every widget's checks, reports each page's weight, and saves screenshots in
## results/screenshots/ (a few minutes once installed). SITE_DIR=<folder> checks the site built in another working
## directory (e.g. a copy of .test/: make test-site SITE_DIR=/tmp/run), its results/ and screenshots there; a copy
## is brought up to date by file times only (its rules' command lines name the scripts by another relative path).
SITE_DIR ?= .
test-site: setup system-packages site-tools
	$(BIN)/snakemake --cores 4 --directory $(SITE_DIR) $(if $(filter-out .,$(SITE_DIR)),--rerun-triggers mtime) \
		results/index.html
	SITE_RESULTS="$(abspath $(SITE_DIR))/results" $(BIN)/pytest -m site tests/test_site.py

## check-layout: the print layout of the built PDFs (scripts/tools/layout.py renders each page with pdftoppm):
## no page of a handout but its last more than 25 % blank below its last line (in the booklet the last page of
## each part aside), no heading alone at the foot of a page, and the booklet's last page not nearly empty
check-layout: setup system-packages
	@pdfs="$$(ls results/reports/*.pdf 2>/dev/null | grep -v '/booklet\.pdf$$' || true)"; \
	if [ -z "$$pdfs" ]; then echo "error: no PDF in results/reports; run make reports first" >&2; exit 1; fi; \
	$(PY) scripts/tools/layout.py $$pdfs
	@if [ -f results/reports/booklet.pdf ]; then \
		$(PY) scripts/tools/layout.py --part-ends --max-blank-last 0.75 results/reports/booklet.pdf; fi

## site-tools: what the site tier runs (as root, missing Debian packages are installed; npm ci into .tools/)
site-tools:
	@missing=""; \
	command -v chromium >/dev/null || missing="$$missing chromium"; \
	command -v java >/dev/null || missing="$$missing default-jre-headless"; \
	command -v npm >/dev/null || missing="$$missing nodejs npm"; \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
			echo "installing Debian packages:$$missing"; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
		else echo "error: missing$$missing; install them (Debian: apt-get install$$missing)" >&2; exit 1; fi; \
	fi
	@mkdir -p .tools
	@if ! cmp -s tests/site/package-lock.json .tools/package-lock.json || [ ! -d .tools/node_modules ]; then \
		cp tests/site/package.json tests/site/package-lock.json .tools/ && \
		cd .tools && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error; \
	fi

## lint: ruff and snakemake's linter
lint: setup
	$(BIN)/ruff check scripts tests
	$(BIN)/ruff format --check scripts tests
	$(BIN)/snakefmt --check workflow
	$(BIN)/snakemake --lint

## benchmark: PCA against scikit-learn, and our training loop against the DataLoader recipe (full data)
benchmark: setup
	$(BIN)/snakemake --cores 4 results/data/fashion-mnist.npy results/data/split.npz
	$(PY) scripts/tools/benchmark.py pca --data results/data/fashion-mnist.npy --threads 2 \
		--output results/benchmarks/pca.json
	$(PY) scripts/tools/benchmark.py train --data results/data/fashion-mnist.npy --split results/data/split.npz \
		--raw-dir results/data/raw --threads 2 --output results/benchmarks/train.json

## benchmark-recipes: candidate CNN recipes side by side on the full data (the 12-epoch reference, then the default):
## images seen, training time, test accuracy (about 9 minutes on 2 idle cores: 379 s and 133 s on 2026-11-29)
benchmark-recipes: setup
	$(BIN)/snakemake --cores 4 results/data/fashion-mnist.npy results/data/split.npz
	OMP_WAIT_POLICY=PASSIVE $(PY) scripts/tools/benchmark.py recipes --data results/data/fashion-mnist.npy \
		--split results/data/split.npz --threads 2 --output results/benchmarks/recipes.json

## benchmark-pipeline: the whole workflow from a clean results/ (data present) in a temporary folder, timed;
## BASELINE=<checkout> times that checkout first, side by side, then this one as configured and again doing only
## the baseline's work (SAME_WORK_CONFIG: the overfit model on one seed), and reports the ratio for the same work.
## CONFIG=<file> runs this checkout with another config, BASELINE_CONFIG=<file> the baseline.
BASELINE ?=
CONFIG ?= config/config.yaml
BASELINE_CONFIG ?=
SAME_WORK_CONFIG ?= config/benchmark-same-work.yaml
benchmark-pipeline: setup
	$(BIN)/snakemake --cores 4 results/data/fashion-mnist.npy
	$(PY) scripts/tools/benchmark.py pipeline --raw-dir results/data/raw --config $(CONFIG) \
		$(if $(BASELINE),--baseline $(BASELINE) --same-work-config $(SAME_WORK_CONFIG)) \
		$(if $(BASELINE_CONFIG),--baseline-config $(BASELINE_CONFIG)) --output results/benchmarks/pipeline.json

## benchmark-loop: the writer's loop on an up-to-date results/ (make reports first): EDITS edits of TEMPLATE
## (FIND swapped for REPLACE, then back), each followed by snakemake --cores 2, timed; and the no-op dry run.
## Targets: each rerun under 30 s, the dry run under 3 s. The template is left as it was. About 2 minutes here.
TEMPLATE ?= templates/pca.html.j2
FIND ?= Think of an image
REPLACE ?= Think of each image
EDITS ?= 4
benchmark-loop: setup
	$(PY) scripts/tools/benchmark.py loop --template $(TEMPLATE) --find "$(FIND)" --replace "$(REPLACE)" \
		--edits $(EDITS) --output results/benchmarks/loop.json

## resources: each rule's measured peak memory and run time (benchmarks/) against its declared resources
resources: setup
	$(PY) scripts/tools/benchmark.py resources --workdir . --output results/benchmarks/resources.md

## setup: the locked Python environment in .venv (uv from PyPI, versions from uv.lock)
setup: $(VENV)/.synced

# --compile-bytecode: every step of the workflow is a new Python process, and where Python may not write its
# bytecode cache (PYTHONDONTWRITEBYTECODE, a read-only environment) each one would compile torch, matplotlib and
# WeasyPrint from source again: 5 to 8 s a step, measured here (see the README's benchmarks).
$(VENV)/.synced: pyproject.toml uv.lock
	@python3 -m uv --version >/dev/null 2>&1 || python3 -m pip install --quiet "uv==$(UV_VERSION)"
	$(UV) sync --frozen --compile-bytecode
	@touch $@

## system-packages: Debian's Fashion-MNIST files, poppler and qpdf (PDF checks in tests), graphviz (the index's
## rule graph), where apt is usable
system-packages:
	@missing=""; \
	[ -f $(DATA_DIR)/train-images-idx3-ubyte.gz ] || missing="$$missing dataset-fashion-mnist"; \
	command -v pdfinfo >/dev/null || missing="$$missing poppler-utils"; \
	command -v qpdf >/dev/null || missing="$$missing qpdf"; \
	command -v dot >/dev/null || missing="$$missing graphviz"; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "installing Debian packages:$$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	else \
		echo "note: not root or no apt-get; missing Debian packages:$$missing." ; \
		echo "      The download step will fall back to the official mirrors (config/config.yaml: data.sources)."; \
	fi

## lock: after editing pyproject.toml, update uv.lock and the conda export of it
lock:
	$(UV) lock
	$(UV) export --frozen --no-dev --no-emit-project --format requirements-txt --quiet \
		-o workflow/envs/requirements.txt

clean:
	rm -rf results logs benchmarks .snakemake
