# chaintrail — the two set-up commands are `make demo` and `make test`; both create .venv.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
CT := $(VENV)/bin/chaintrail
STAMP := $(VENV)/.installed

.PHONY: demo test bench lint validate clean

# Test-only tools from npm, pinned, in a project-local folder: the Anvil node (its binary ships in
# the platform package @foundry-rs/anvil-<os>-<arch>, bin/anvil) and solc-js. `make demo` does not
# need them; without npm the Anvil tests skip with the reason.
TOOLS := .tools
ANVIL_VERSION := 1.7.1
SOLC_VERSION := 0.8.37
TOOLS_STAMP := $(TOOLS)/.installed-anvil-$(ANVIL_VERSION)-solc-$(SOLC_VERSION)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test,bench,lint]'
	touch $(STAMP)

$(TOOLS_STAMP):
	@if command -v npm >/dev/null 2>&1; then \
		mkdir -p $(TOOLS) && \
		npm install --prefix $(TOOLS) --no-save --no-audit --no-fund --ignore-scripts \
			--loglevel=error @foundry-rs/anvil@$(ANVIL_VERSION) solc@$(SOLC_VERSION) && \
		touch $@ || \
		echo "npm install failed (offline?): the Anvil tests will skip; 'make test' tries again."; \
	else \
		echo "npm not found: Anvil and solc-js are not installed, the Anvil tests will skip" \
			"(install Node.js 20 with npm to run them)."; \
	fi

## demo: set up, build a workspace from real blocks (offline) and show what is in it
demo: $(STAMP)
	$(PY) -m chaintrail.demo

## test: set up and run the test suite
test: $(STAMP) $(TOOLS_STAMP)
	$(PY) -m pytest -n 2 -q

## bench: parse and ingest benchmarks against python-bitcoinlib, with the machine described
bench: $(STAMP)
	$(PY) bench/run.py

## validate: measured error rates (3 scenarios x 5 seeds, ~4 min) -> docs/validation-results.json
validate: $(STAMP)
	$(CT) validate --scenarios baseline,mixed,scam-wave --seeds 5 --blocks 144 \
		-o docs/validation-results.json

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/ruff format --check src tests bench
	$(VENV)/bin/mypy

clean:
	rm -rf $(VENV) demo-workspace $(TOOLS)
