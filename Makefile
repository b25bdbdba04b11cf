# The two commands: `make demo` and `make test`. Each creates .venv and installs first.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
# The CPU build of torch; a plain `torch` requirement would pull a multi-GB CUDA build.
TORCH := torch==2.13.0

.PHONY: demo test test-paper test-ray docs lint format bench clean install install-test

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/python setup.cfg pyproject.toml
	$(BIN)/pip install --quiet $(TORCH)
	$(BIN)/pip install --quiet -e ".[rl]"
	touch $@

# One resolution for the package and its test extra (it also satisfies `install`).
$(VENV)/.installed-test: $(BIN)/python setup.cfg pyproject.toml
	$(BIN)/pip install --quiet $(TORCH)
	$(BIN)/pip install --quiet -e ".[test]"
	touch $(VENV)/.installed $@

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

demo: install
	MPLBACKEND=Agg $(BIN)/python scripts/fly_pid.py --drones 4 --output-dir results/demo --video results/demo/flight.mp4

test: install-test
	$(BIN)/ruff check .
	MPLBACKEND=Agg $(BIN)/python -m pytest -q -n auto --dist worksteal

# Claims at a paper's own budget, claims' further seeds and the longest short trainings: not in
# `make test`, run by CI after it.
test-paper: install-test
	MPLBACKEND=Agg $(BIN)/python -m pytest -q -n auto --dist worksteal -m paper

# Tests that start Ray (sweeps, RLlib, the benchmark's Ray executor): one at a time (two Rays
# starting at once on 2 cores fail to start their GCS). Not in `make test`; CI runs them after
# it, beside `make test-paper` at nice 19 (.ci/run).
test-ray: install-test
	MPLBACKEND=Agg $(BIN)/python -m pytest -q -m ray

# The documentation site (MkDocs + Material) into build/site; warnings are errors.
$(VENV)/.installed-docs: $(VENV)/.installed setup.cfg
	$(BIN)/pip install --quiet -e ".[rl,docs]"
	touch $@

docs: $(VENV)/.installed-docs
	NO_MKDOCS_2_WARNING=1 $(BIN)/python docs/build_site.py

lint: install-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install-test
	$(BIN)/ruff format .

bench: install-test
	MPLBACKEND=Agg $(BIN)/python benchmarks/bench_hover.py

clean:
	rm -rf $(VENV) results build *.egg-info
