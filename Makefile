# chaintrail — the two set-up commands are `make demo` and `make test`; both create .venv.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
CT := $(VENV)/bin/chaintrail
STAMP := $(VENV)/.installed

.PHONY: demo test bench lint validate clean sysdeps

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

# System packages for PDF reports and their tests: CJK fonts for Typst, pdftotext for the checks.
# Installed with apt-get when missing (sudo only when not root); without them the PDF tests skip
# and say why.
SYSPKGS := fonts-noto-cjk poppler-utils

sysdeps:
	@missing=""; for p in $(SYSPKGS); do \
		dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" = 0 ]; then sudo=""; else sudo="sudo"; fi; \
		echo "installing$$missing (PDF reports: CJK fonts, pdftotext)"; \
		{ command -v apt-get >/dev/null 2>&1 && { $$sudo apt-get install -y -q$$missing || \
			{ $$sudo apt-get update -q && $$sudo apt-get install -y -q$$missing; }; }; } || \
		echo "could not install$$missing: PDF report tests will skip (install them by hand)."; \
	fi

## demo: set up, then offline: real blocks and their provenance, and a whole investigation (reports → triage → court reports, freeze letters, evidence bundle)
demo: $(STAMP) sysdeps
	$(PY) -m chaintrail.demo

## test: set up and run the test suite
test: $(STAMP) $(TOOLS_STAMP) sysdeps
	$(PY) -m pytest -n 2 -q

## bench: parse and ingest benchmarks against python-bitcoinlib, with the machine described
bench: $(STAMP)
	$(PY) bench/run.py

## validate: measured error rates (3 Bitcoin and 1 Ethereum scenarios x 5 seeds, ~6 min) -> docs/validation-results.json
validate: $(STAMP)
	$(CT) validate --scenarios baseline,mixed,scam-wave,eth-exchanges --seeds 5 --blocks 144 \
		-o docs/validation-results.json

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/ruff format --check src tests bench
	$(VENV)/bin/mypy

clean:
	rm -rf $(VENV) demo-workspace $(TOOLS)
