# The two commands a new user needs:
#   make run    create .venv, install, start embedded Redis, load the catalog if empty, serve
#   make test   the test suite against a real Redis with real models (and Chromium if installed)
# Configuration comes from environment variables (see README), e.g. make run CATALOG=/path PORT=8000

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
TORCH_PIN := $(shell grep -E '^torch==' requirements.txt)

# Settings given on the make command line reach the app as environment variables.
export CATALOG HOST PORT REDIS_URL INDEX_ALGORITHM DISTANCE_METRIC

.PHONY: run test lint fuzz install install-dev bench bench-full clean

run: $(VENV)/.installed
	$(BIN)/flask --app app serve

test: $(VENV)/.installed-dev
	$(BIN)/python -m pytest

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .

# The property tests with fresh random examples and ten times the CI budget.
fuzz: $(VENV)/.installed-dev
	HYPOTHESIS_PROFILE=explore $(BIN)/python -m pytest tests/test_fuzz.py

# Benchmarks (docs/benchmarks.md); tables and plots go to bench/results/. The fashion sample is
# loaded once into /tmp/bench-data and reused (python -m bench --help for the options).
bench: $(VENV)/.installed-dev
	$(BIN)/python -m bench quick

bench-full: $(VENV)/.installed-dev
	$(BIN)/python -m bench full

install: $(VENV)/.installed

install-dev: $(VENV)/.installed-dev

# torch goes first and pinned: left to a dependency's loose requirement, pip would pick a
# multi-GB CUDA build.
$(VENV)/.installed: requirements.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else "Python 3.11 is required (found " + sys.version.split()[0] + "); set PYTHON=python3.11")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check "$(TORCH_PIN)"
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed requirements-dev.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

clean:
	rm -rf $(VENV) data/redis data/models test-artifacts .pytest_cache
