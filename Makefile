# fdiv: the two commands of the README are `make book` and `make test`.
# Both create .venv when it is missing and install the project into it (once:
# a stamp file records the install; editing pyproject.toml triggers a new one).

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.fdiv-install.stamp
# Offline MathJax 3 bundle for the headless-browser test of the book.
NODE_DIR := .cache/node
MATHJAX  := $(NODE_DIR)/node_modules/mathjax/es5/tex-mml-chtml.js
# The torch release installed first where it is available (a CPU wheel on the dev
# machines); anywhere else pip picks one that satisfies pyproject.toml's range.
TORCH_PIN ?= torch==2.13.0
PYTEST_ARGS ?=
# nbval over the committed notebooks, in the fast profile, in this venv's kernel, on a second
# configuration: the stored outputs come from `make notebooks` (this CPU's widest kernels, the
# default threads); nbval re-runs them with AVX2 kernels (torch, MKL, oneDNN) and one thread, as
# another CPU would, so a compared output that prints round-off or a thread-dependent figure fails.
NBVAL_ENV ?= ATEN_CPU_CAPABILITY=avx2 MKL_ENABLE_INSTRUCTIONS=AVX2 ONEDNN_MAX_CPU_ISA=AVX2 OMP_NUM_THREADS=1
NBVAL := $(NBVAL_ENV) FDIV_FAST=1 $(PY) -m pytest --nbval-lax --nbval-current-env --nbval-sanitize-with tools/nbval_sanitize.cfg

export PATH := $(abspath $(VENV))/bin:$(PATH)
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: help install book test test-lib test-notebooks test-claims lint notebooks notebooks-check student bench mathjax clean

help:
	@echo "make book        build the book into _build/html (executes every chapter; warnings are errors)"
	@echo "make test        run every test: import layers (lint-imports), library, exercises, packaging,"
	@echo "                 notebooks (nbval), browser"
	@echo "make test-claims every claim the chapters assert, on every seed it promises; records the sweep"
	@echo "make lint        check the import layers of pyproject.toml (lint-imports)"
	@echo "make notebooks   regenerate book/*.ipynb from book/src and store fast-profile outputs"
	@echo "make student     the chapter notebooks without reference solutions, in $(STUDENT_DIR)/"
	@echo "make bench       run the benchmarks (python -m bench)"
	@echo "make install     create $(VENV) and install fdiv[book,test] (done by the targets above)"

$(PY):
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(PY)
	@# torch first, and only when missing: never replace a torch that is already there.
	$(PY) -c "import torch" 2>/dev/null || $(PY) -m pip install "$(TORCH_PIN)" || \
	  echo "note: $(TORCH_PIN) not available here; pip will choose a torch that fits pyproject.toml"
	$(PY) -m pip install -e ".[book,test]"
	touch $(STAMP)

install: $(STAMP)

$(MATHJAX):
	@command -v npm >/dev/null || { echo "npm is needed for the offline MathJax bundle (browser test)"; exit 1; }
	mkdir -p $(NODE_DIR)
	npm install --prefix $(NODE_DIR) --no-audit --no-fund --loglevel=error "mathjax@3"

mathjax: $(MATHJAX)

book: $(STAMP)
	$(PY) tools/build_notebooks.py --check || echo "warning: book/*.ipynb are stale; run 'make notebooks' before committing"
	$(VENV)/bin/jupyter-book build . --all -W --keep-going

notebooks: $(STAMP)
	$(PY) tools/build_notebooks.py --execute
	$(PY) tools/colab.py

notebooks-check: $(STAMP)
	$(PY) tools/build_notebooks.py --check
	$(PY) tools/colab.py --check

# Notebooks to hand out: the exercise sections without their solution dropdowns (the
# nbgrader / otter convention); instructor/solutions.py stays in the repository.
STUDENT_DIR ?= _build/student
student: $(STAMP)
	$(PY) tools/build_notebooks.py --no-solutions --out $(STUDENT_DIR)

# Every test: the import layers of pyproject.toml (lint-imports), the library and graders
# (tests/), then nbval over the committed notebooks in the fast profile (cells tagged
# nbval-check-output must reproduce their outputs). Meanwhile the chapters' claims (pytest -m
# claims: default-profile training on each claim's CI seeds) run in a second process, one seed
# at a time, on the other core; their log follows the rest.
# The browser test (tests/test_browser.py) needs chromium; it skips without it
# unless CI is set. npm is optional outside CI for the same reason.
test: $(STAMP)
	@if command -v npm >/dev/null; then $(MAKE) --no-print-directory mathjax; \
	 elif [ -n "$${CI:-}" ]; then echo "npm is required in CI (offline MathJax for the browser test)"; exit 1; fi
	@rc=0; log=$$(mktemp); \
	 $(VENV)/bin/lint-imports || rc=$$?; \
	 FDIV_CLAIM_WORKERS=1 $(PY) -m pytest tests -m claims -p no:cacheprovider $(PYTEST_ARGS) > $$log 2>&1 & \
	 claims=$$!; \
	 $(PY) -m pytest tests -m "not claims" $(PYTEST_ARGS) || rc=$$?; \
	 $(NBVAL) book $(PYTEST_ARGS) || rc=$$?; \
	 echo "--- the chapters' claims (pytest -m claims), run beside the above on the second core ---"; \
	 wait $$claims || rc=$$?; cat $$log; rm -f $$log; \
	 if [ $$rc -ne 0 ]; then echo "make test: FAILED (exit $$rc)"; fi; exit $$rc

# The architecture: the layer and independence contracts of pyproject.toml.
lint: $(STAMP)
	$(VENV)/bin/lint-imports

# The claims the chapters assert about training (fdiv/course/claims), each on every seed it
# promises, in parallel processes; writes the sweep the chapters quote (record.json) and fails when
# a claim does not hold. `make test` runs each claim on its CI subset (tests/test_claims.py).
CLAIMS_RECORD ?= fdiv/course/claims/record.json
test-claims: $(STAMP)
	$(PY) -m fdiv.course.claims --record $(CLAIMS_RECORD)

test-lib: $(STAMP)
	$(PY) -m pytest tests $(PYTEST_ARGS)

test-notebooks: $(STAMP)
	$(NBVAL) book $(PYTEST_ARGS)

bench: $(STAMP)
	$(PY) -m bench

clean:
	rm -rf _build .pytest_cache
