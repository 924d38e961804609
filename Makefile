# Fresh machine: Python 3.11+ and PyPI are all that is needed. `.venv` is made on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

# Settings for JupyterLab run from this venv (`make lab`, or .venv/bin/jupyter lab by hand): the
# paired .py sources are hidden from the file browser, so each notebook is listed once.
JUPYTER_CONFIG := $(VENV)/etc/jupyter/jupyter_server_config.json

.PHONY: run test quick notebooks lab bench clean

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

# The quick loop while developing: everything but the tests marked slow (10 MB page, Chromium).
quick: $(STAMP)
	$(BIN)/python -m pytest tests -m "not slow" -q

# Re-executes each notebooks/NN-*.py into its .ipynb; refuses (and says which command keeps the
# edit) when an .ipynb is newer than its .py and holds cells the .py lacks.
notebooks: $(STAMP)
	$(BIN)/python scripts/execute_notebooks.py

$(JUPYTER_CONFIG): notebooks/.jupyter/jupyter_server_config.json $(STAMP)
	mkdir -p $(dir $@)
	cp notebooks/.jupyter/jupyter_server_config.json $@

# JupyterLab on the project's kernel (python3 = this venv, installed by ipykernel above; the
# venv's kernels come first), opened at notebooks/. Saving a notebook writes its .py too (jupytext).
# More options through LAB_ARGS, e.g. `make lab LAB_ARGS="--no-browser --port 8899"`.
lab: $(STAMP) $(JUPYTER_CONFIG)
	JUPYTER_PREFER_ENV_PATH=1 $(BIN)/jupyter lab --ServerApp.root_dir="$(CURDIR)" \
		--LabApp.default_url=/lab/tree/notebooks $(LAB_ARGS)

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_pool_many.py

clean:
	rm -rf $(VENV) build
