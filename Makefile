# Fresh machine: Python 3.11+ and PyPI are all that is needed. `.venv` is made on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test notebooks bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 >/dev/null
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/evidencekit validate evidence
	$(BIN)/evidencekit build --evidence evidence --out build

test: $(STAMP)
	$(BIN)/python -m pytest tests
	$(BIN)/python -m pytest --nbval notebooks --nbval-sanitize-with notebooks/sanitize.cfg

notebooks: $(STAMP)
	$(BIN)/python scripts/execute_notebooks.py

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_pool_many.py

clean:
	rm -rf $(VENV) build
