# chaintrail — the two set-up commands are `make demo` and `make test`; both create .venv.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
CT := $(VENV)/bin/chaintrail
STAMP := $(VENV)/.installed

.PHONY: demo test bench lint validate clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test,bench,lint]'
	touch $(STAMP)

## demo: set up, build a workspace from real blocks (offline) and show what is in it
demo: $(STAMP)
	$(PY) -m chaintrail.demo

## test: set up and run the test suite
test: $(STAMP)
	$(PY) -m pytest -n 2 -q

## bench: parse and ingest benchmarks against python-bitcoinlib, with the machine described
bench: $(STAMP)
	$(PY) bench/run.py

## validate: measured error rates (3 scenarios x 5 seeds, ~2 min) -> docs/validation-results.json
validate: $(STAMP)
	$(CT) validate --scenarios baseline,mixed,scam-wave --seeds 5 --blocks 144 \
		-o docs/validation-results.json

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/ruff format --check src tests bench
	$(VENV)/bin/mypy

clean:
	rm -rf $(VENV) demo-workspace
