# Everything a fresh clone needs. `make setup` is idempotent: it reinstalls only when the
# dependency files change.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
ENV ?= local
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION ?= 20
export CHECKPOINT_DISABLE := 1

.PHONY: setup synth validate test test-fast bench deploy down docs clean

setup: $(VENV)/.installed node_modules/.installed

$(VENV)/.installed: requirements.txt constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt -c constraints.txt
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

# Synthesize every environment (or BACKEND_ENVIRONMENTS=dev,prod) into cdktf.out/stacks/.
synth: setup
	$(PY) main.py
	@ls -1 cdktf.out/stacks

# terraform init -backend=false && terraform validate on every synthesized stack.
validate: synth
	$(PY) -m pytest tests/terraform/test_validate.py -q

test: setup
	$(PY) -m pytest

# Everything except the Terraform and emulator tests.
test-fast: setup
	$(PY) -m pytest -m "not terraform and not e2e"

bench: setup
	$(PY) benchmarks/handlers.py
	$(PY) benchmarks/synth.py
	$(PY) benchmarks/deploy.py

# Apply ENV (default: local, on the embedded emulator) and smoke-check every region.
# Real environments use your AWS credentials; AUTO_APPROVE=1 skips the plan confirmation.
deploy: setup
	$(PY) -m tools.deploy --env $(ENV) $(if $(AUTO_APPROVE),--auto-approve)

# Stop what `make deploy` started on this machine and remove the local state.
down:
	@if [ -x $(PY) ]; then $(PY) -m tools.deploy --env local --down; else echo "nothing to stop (no .venv)"; fi

# Regenerate the README's environment-file table from the key declarations in modules/config.py.
docs: $(VENV)/.installed
	$(PY) -m modules.config --update-readme README.md

clean:
	rm -rf cdktf.out build .pytest_cache .hypothesis
