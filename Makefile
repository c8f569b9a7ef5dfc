# fluxlite: set-up and test entry points. `make lab` and `make test` are the two that matter.
#
#   make venv    .venv with fluxlite installed editable plus every extra but `bench`
#                (reinstalls only when pyproject.toml changes)
#   make lab     JupyterLab on lessons/
#   make test    system packages, then every suite: unit tests + doctests, the core's suites
#                again with FLUXLITE_REFERENCE=1 (no fast paths), nbval on the lessons,
#                browser tests, the course site (built, then checked in Chromium), and the
#                Binder configuration
#   make bench   every bench/*.py, one after another
#   make student the lessons' student version in build/student/ (nbgrader generate_assignment)
#   make docs    the course site in build/site/ (lessons with their stored outputs, the API
#                reference, Flux → fluxlite), built with Sphinx; warnings are errors
#
# Each suite runs only when its files exist, and says so when it is skipped. A suite whose files
# exist but from which pytest collects nothing (pytest's exit status 5) fails the build.

SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# The editable install maps the packages pyproject.toml lists (fluxlite, and the folder widgets/
# as fluxlite.widgets) to their folders, so only a change to pyproject.toml calls for a reinstall.
STAMP = $(VENV)/.installed-from-pyproject

# Binder runs Python 3.12 (binder/runtime.txt); use a working 3.12 for the Binder check when
# there is one (pyenv's shim may exist without the version being active), else $(PYTHON).
BINDER_PYTHON ?= $(firstword $(foreach p,python3.12 $(wildcard $(HOME)/.pyenv/versions/3.12*/bin/python3.12),\
	$(shell $(p) -c 'import venv' >/dev/null 2>&1 && echo $(p))) $(PYTHON))
BINDER_VENV := build/binder-venv
BINDER_STAMP = $(BINDER_VENV)/.installed-from-binder
BINDER_LESSON := lessons/01_getting_set_up.ipynb

CHROMIUM := /usr/bin/chromium
ARTIFACTS := test-artifacts

NOTEBOOKS = $(sort $(wildcard lessons/*.ipynb))
BROWSER_TESTS = $(filter-out $(DOCS_TESTS),$(wildcard tests/browser/test_*.py tests/browser/*_test.py))
# The course site's browser tests run in test-docs, after the site is built.
DOCS_TESTS = $(wildcard tests/browser/test_docs_*.py)
BENCHES = $(sort $(wildcard bench/*.py))
SANITIZE = $(wildcard tests/nbval_sanitize.cfg)

# pip, quietly; on these machines pip.conf names local indexes that pip warns about once per
# package ("Location 'file:///opt/...' is ignored"), so those lines alone are filtered out.
PIP_FILTER := 2>&1 | { grep -v "^WARNING: Location 'file:" || true; }

# $(call pytest_suite,NAME,ARGS): run pytest and name the suite in any failure. Exit status 5
# ("no tests collected") is a failure too: suites are only started when their files exist.
define pytest_suite
	@echo "==> $(1): pytest $(2)"
	@$(BIN)/python -m pytest $(2); rc=$$?; \
	if [ $$rc -eq 5 ]; then \
		echo "make: $(1): the files exist but pytest collected no tests from them (exit 5)"; exit 1; \
	elif [ $$rc -ne 0 ]; then \
		echo "make: $(1) failed (pytest exit $$rc)"; exit $$rc; \
	fi
endef

.PHONY: help venv lab test test-unit test-reference test-lessons test-browser test-docs test-binder \
	system-deps bench student docs clean

help:
	@sed -n '2,17s/^# \{0,1\}//p' Makefile

venv: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	set -o pipefail; $(BIN)/python -m pip install --quiet --upgrade pip $(PIP_FILTER)
	set -o pipefail; $(BIN)/python -m pip install --quiet -e '.[dev]' $(PIP_FILTER)
	@rm -f $(VENV)/.installed-from-pyproject*
	@touch $@

# Jupyter refuses to run as root unless told; containers and CI machines often are root.
lab: venv
	$(BIN)/jupyter lab lessons/ $(if $(filter 0,$(shell id -u)),--allow-root)

test: venv system-deps test-unit test-reference test-lessons test-browser test-docs test-binder
	@echo "make test: every suite that exists passed"

# Debian's Chromium for the Playwright browser tests (never `playwright install`).
system-deps:
	@if [ -x $(CHROMIUM) ]; then \
		echo "==> system packages: $(CHROMIUM) is present"; \
	elif [ "$$(id -u)" -ne 0 ]; then \
		echo "==> system packages: NOT root, so Debian's chromium cannot be installed here;"; \
		echo "    run 'sudo apt-get install chromium' yourself. Browser tests will be skipped."; \
	else \
		echo "==> system packages: installing Debian's chromium with apt-get"; \
		export DEBIAN_FRONTEND=noninteractive; \
		apt-get update -qq && \
		apt-get install -y -qq --no-install-recommends chromium fonts-liberation >/dev/null && \
		test -x $(CHROMIUM) && echo "    $$($(CHROMIUM) --version)"; \
	fi

# Unit tests (tests/) and the >>> examples in fluxlite/ and widgets/ (see pyproject.toml; the
# root conftest.py imports the modules of widgets/ as fluxlite.widgets.*).
test-unit: venv
	$(call pytest_suite,unit tests and doctests,--ignore=tests/browser)

# The same core suites once more on the reference path: FLUXLITE_REFERENCE=1 leaves out every
# fast path (fluxlite/autodiff/fast.py, the grouped optimiser state, the conv tricks), so the
# code a student reads is tested as it is. tests/test_reference_mode.py, in test-unit,
# compares the numbers of the two modes directly.
REFERENCE_SUITES = $(wildcard $(addprefix tests/,test_primitives.py test_gradient_api.py \
	test_errors.py test_lost_gradients.py test_threads.py test_interrupts.py test_layers_basic.py \
	test_layers_normalise.py test_conv.py test_recurrent.py test_losses.py test_optimisers.py \
	test_train.py test_memory.py test_products.py test_linalg_rules.py test_shape_rules.py \
	test_statistics_rules.py test_lists_and_casts.py))

test-reference: venv
	$(call pytest_suite,core suites in reference mode (FLUXLITE_REFERENCE=1),$(REFERENCE_SUITES) fluxlite)
test-reference: export FLUXLITE_REFERENCE = 1

# The lessons' stored outputs were made with OpenBLAS's Haswell kernels. Under another kernel
# (SkylakeX's AVX-512 ones, say) a matrix product sums in another order, and a float32 training
# run of many epochs ends a few units apart in the 4th digit, so nbval would fail on outputs that
# are right. On x86-64 CPUs with AVX2 and FMA the nbval run pins the Haswell kernel, so the
# comparison is exact wherever it runs. `make lab` leaves OpenBLAS to choose.
NBVAL_BLAS := $(shell grep -qw avx2 /proc/cpuinfo 2>/dev/null && grep -qw fma /proc/cpuinfo && echo Haswell)
ifneq ($(NBVAL_BLAS),)
test-lessons: export OPENBLAS_CORETYPE = $(NBVAL_BLAS)
endif

test-lessons: venv
ifeq ($(strip $(NOTEBOOKS)),)
	@echo "==> lessons: no lessons/*.ipynb yet, so nbval has nothing to run"
else
	$(if $(NBVAL_BLAS),@echo "==> lessons: OPENBLAS_CORETYPE=$(NBVAL_BLAS) (the kernel the stored outputs were made with)")
	$(call pytest_suite,lessons (nbval),--nbval --nbval-current-env \
		$(if $(SANITIZE),--nbval-sanitize-with $(SANITIZE)) $(NOTEBOOKS))
endif

test-browser: venv system-deps
ifeq ($(strip $(BROWSER_TESTS)),)
	@echo "==> browser tests: none under tests/browser yet"
else
	@mkdir -p $(ARTIFACTS)
	@if [ ! -x $(CHROMIUM) ]; then \
		echo "==> browser tests: SKIPPED, $(CHROMIUM) is missing (see system packages above)"; \
	else \
		$(MAKE) --no-print-directory _browser; \
	fi
endif

.PHONY: _browser
_browser:
	$(call pytest_suite,browser tests,$(BROWSER_TESTS))

# The course site. Sphinx reads a copy of the pages laid out as in the repository (so the links
# between lessons, docs/ and README.md work as they do on GitHub): docs/site/ (conf.py, the start
# page) at the top, every lessons/*.ipynb with its stored outputs (never executed),
# docs/*.md, README.md and CONTRIBUTING.md; docs/site/_ext/fluxlite_site.py writes the API
# pages (api/) from the docstrings. -E reads every page afresh each time (about 20 s): Sphinx
# cannot tell when a docstring changed, and a page it does not read again would not repeat its
# warnings. -W --keep-going: every warning is reported, and any fails the build.
SITE := build/site
SITE_SRC := build/site-src
docs: venv
	@test -x $(BIN)/sphinx-build || { echo "make docs: no sphinx-build in $(VENV); the docs extra" \
		"needs Python 3.11 or later (Sphinx 9), and $(VENV) has $$($(BIN)/python --version)"; exit 1; }
	rm -rf $(SITE_SRC) && mkdir -p $(SITE_SRC)/lessons $(SITE_SRC)/docs
	cp -R docs/site/. $(SITE_SRC)/
	cp $(NOTEBOOKS) $(SITE_SRC)/lessons/
	cp docs/*.md $(SITE_SRC)/docs/
	cp README.md CONTRIBUTING.md $(SITE_SRC)/
	$(BIN)/sphinx-build -E -W --keep-going -q -b html -d build/site-doctrees $(SITE_SRC) $(SITE)
	@echo "make docs: the site is in $(SITE)/ (open $(SITE)/index.html)"

# The built site in headless Chromium: a lesson shows its plots, the Dense page its example,
# the search finds Dense (tests/browser/test_docs_*.py).
test-docs: venv system-deps
	@if [ ! -x $(BIN)/sphinx-build ]; then \
		echo "==> course site: SKIPPED, the docs extra needs Python 3.11 or later"; \
	else \
		$(MAKE) --no-print-directory docs _docs_check; \
	fi

.PHONY: _docs_check _docs_browser
_docs_check:
ifeq ($(strip $(DOCS_TESTS)),)
	@echo "==> course site: built; no tests/browser/test_docs_*.py yet"
else
	@mkdir -p $(ARTIFACTS)
	@if [ ! -x $(CHROMIUM) ]; then \
		echo "==> course site: browser checks SKIPPED, $(CHROMIUM) is missing"; \
	else \
		$(MAKE) --no-print-directory _docs_browser; \
	fi
endif

_docs_browser:
	$(call pytest_suite,course site in the browser,$(DOCS_TESTS))

# Binder: repo2docker reads binder/ and prints the Dockerfile it would build (no container
# engine needed); then binder/requirements.txt and binder/postBuild go into a fresh venv
# (on Python 3.12 when the machine has it), and the first lesson runs there.
test-binder: venv $(BINDER_STAMP)
	@echo "==> binder: jupyter-repo2docker --no-build --debug ."
	@$(BIN)/jupyter-repo2docker --no-build --debug . > $(BINDER_VENV)/repo2docker.log 2>&1 || \
		{ cat $(BINDER_VENV)/repo2docker.log; echo "make: binder: repo2docker rejected binder/"; exit 1; }
	@for want in 'python=3.12' 'binder/requirements.txt' 'binder/postBuild'; do \
		grep -qF "$$want" $(BINDER_VENV)/repo2docker.log || \
		{ cat $(BINDER_VENV)/repo2docker.log; echo "make: binder: repo2docker's plan lacks '$$want'"; exit 1; }; \
	done
	@echo "    repo2docker accepted binder/ (log: $(BINDER_VENV)/repo2docker.log)"
	@if [ -f $(BINDER_LESSON) ]; then \
		echo "==> binder: running $(BINDER_LESSON) in the Binder environment"; \
		PATH="$(CURDIR)/$(BINDER_VENV)/bin:$$PATH" jupyter nbconvert --to notebook --execute \
			--output-dir "$(CURDIR)/$(BINDER_VENV)/executed" $(BINDER_LESSON) || \
			{ echo "make: binder: $(BINDER_LESSON) failed in the Binder environment"; exit 1; }; \
	else \
		echo "==> binder: no $(BINDER_LESSON) yet, so no lesson to run in the Binder environment"; \
	fi

$(BINDER_STAMP): binder/requirements.txt binder/postBuild pyproject.toml
	rm -rf $(BINDER_VENV) && mkdir -p $(dir $(BINDER_VENV))
	$(BINDER_PYTHON) -m venv $(BINDER_VENV)
	@$(BINDER_VENV)/bin/python --version
	set -o pipefail; $(BINDER_VENV)/bin/python -m pip install --quiet --upgrade pip $(PIP_FILTER)
	set -o pipefail; $(BINDER_VENV)/bin/python -m pip install --quiet -r binder/requirements.txt $(PIP_FILTER)
	PATH="$(CURDIR)/$(BINDER_VENV)/bin:$$PATH" bash binder/postBuild > $(BINDER_VENV)/postBuild.log 2>&1 || \
		{ cat $(BINDER_VENV)/postBuild.log; echo "make: binder: binder/postBuild failed"; exit 1; }
	@touch $@

# The student version of the lessons, made by nbgrader itself. lessons/ is nbgrader's source
# version (solution cells, check cells, hidden tests; see nbgrader_config.py). nbgrader wants a
# course folder holding source/<assignment>/, so the lessons are copied into one under build/ as
# the assignment "lessons"; generate_assignment writes release/lessons/ there (solutions replaced
# by `raise NotImplementedError()`, hidden tests and all outputs removed, check cells locked),
# which is copied to build/student/. nbgrader runs its environment's `alembic` by name, hence PATH.
STUDENT_COURSE := build/nbgrader-course
student: venv
	rm -rf $(STUDENT_COURSE) build/student
	mkdir -p $(STUDENT_COURSE)/source
	cp -R lessons $(STUDENT_COURSE)/source/lessons
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/nbgrader generate_assignment lessons --CourseDirectory.root=$(CURDIR)/$(STUDENT_COURSE) --log-level=WARN
	cp -R $(STUDENT_COURSE)/release/lessons build/student
	@echo "make student: the student version is in build/student/"

bench: venv
ifeq ($(strip $(BENCHES)),)
	@echo "==> bench: no bench/*.py yet"
else
	@set -e; for script in $(BENCHES); do echo "==> $$script"; $(BIN)/python $$script; done
endif

clean:
	rm -rf $(VENV) $(BINDER_VENV) $(ARTIFACTS) .pytest_cache .hypothesis build *.egg-info
