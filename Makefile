# The README's two commands. Both create ./.venv (Python >= 3.11) if it is missing.
PYTHON ?= python3
VENV   ?= .venv
CORES  ?= 2
BIN    := $(VENV)/bin

.PHONY: run test lint clean-results

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Set up and run the default (offline, CPU-only) workflow (TensorFlow CPU build for training).
run: $(BIN)/python
	$(BIN)/pip install --quiet -e ".[workflow,train]"
	$(BIN)/snakemake --cores $(CORES)

# Set up and run the fast test suite (add ARGS="-m slow" for the long tests).
test: $(BIN)/python
	$(BIN)/pip install --quiet -e ".[test,train]"
	$(BIN)/python -m pytest $(ARGS)

lint: $(BIN)/python
	$(BIN)/pip install --quiet -e ".[workflow]"
	$(BIN)/snakemake --lint

clean-results:
	rm -rf results logs .snakemake/incomplete
