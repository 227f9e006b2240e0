# Everything a fresh clone needs. `make setup` is idempotent: it reinstalls only when the
# dependency files change.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# checkov and cloudsplaining pin packages far below the project's pins: their own environment.
SCAN_VENV := .venv-scan
ENV ?= local
WHEELS := build/wheels
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION ?= 20
export CHECKPOINT_DISABLE := 1

.PHONY: setup synth validate test test-fast bench mutation deploy down drill chaos docs clean token openapi scan lint emulator url iam-report

setup: $(VENV)/.installed node_modules/.installed $(WHEELS)/.downloaded

$(VENV)/.installed: requirements.txt constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt -c constraints.txt
	touch $@

# The authorizer's wheels for every Lambda runtime and architecture, hash-checked by pip
# (ops/wheels.py), so synth needs no network afterwards.
$(WHEELS)/.downloaded: authorizer/requirements.txt $(VENV)/.installed
	$(PY) -m ops.wheels download
	touch $@

# The policy scan's tools (make scan), reinstalled only when scan/requirements.txt or
# scan/constraints.txt change.
$(SCAN_VENV)/.installed: scan/requirements.txt scan/constraints.txt
	$(PYTHON) -m venv $(SCAN_VENV)
	$(SCAN_VENV)/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(SCAN_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r scan/requirements.txt -c scan/constraints.txt
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

# Synthesize every environment (or BACKEND_ENVIRONMENTS=dev,prod) into cdktf.out/stacks/, and
# list the stacks this synth wrote (from its manifest: earlier stacks' folders stay behind).
synth: setup
	$(PY) main.py
	@$(PY) -c 'import json; print("\n".join(sorted(json.load(open("cdktf.out/manifest.json"))["stacks"])))'

# terraform init -backend=false && terraform validate on every synthesized stack.
validate: synth
	$(PY) -m pytest tests/terraform/test_validate.py -q

# checkov (skips with reasons: scan/checkov-skips.toml) and cloudsplaining on every policy
# document (exclusions: scan/iam-exclusions.toml) of every stack, synthesized into build/scan/.
scan: setup $(SCAN_VENV)/.installed
	$(PY) -m scan.policy_scan

# ruff's lint and format check, mypy, then the import boundaries between the packages
# (import-linter; all configured in pyproject.toml). The same three
# commands are the hooks of .pre-commit-config.yaml (tests/delivery/test_lint_gates.py).
lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

# More workers than the machine's 2 cores: much of make test waits (Terraform's provider on its
# fixed polls, Route53's 10-30 s waits, test servers, subprocesses), so five keep both cores
# busy: on one commit, not a clean clone, 320 s with 5 vs 362 s with 4 (and 434 s with 3 on an
# earlier one); docs/measurements.md has the clean-clone runs. make test-fast is CPU-bound:
# three (42 s vs 53 s with 2, 47-49 s with 4). Each e2e module runs whole on one worker; the
# modules that share a deployment (applied as the pipeline's roles) run as two units, each
# deploying once on its worker, and the longest units start first (tests/conftest.py).
TEST_WORKERS ?= 5
FAST_TEST_WORKERS ?= 3
# Bytecode is cached under build/pycache (never beside the sources the Lambda zips are made of)
# even where the shell sets PYTHONDONTWRITEBYTECODE: without a cache each of pytest's worker
# processes, and every process a test starts, compiles every module again and pytest rewrites
# every test module's asserts again (about 4 s of CPU per process).
BYTECODE_CACHE = PYTHONDONTWRITEBYTECODE= PYTHONPYCACHEPREFIX=$(CURDIR)/build/pycache
test: setup
	$(BYTECODE_CACHE) $(PY) -m pytest -n $(TEST_WORKERS)

# Everything except the Terraform, emulator and slow (whole-app subprocess) tests.
test-fast: setup
	$(BYTECODE_CACHE) $(PY) -m pytest -n $(FAST_TEST_WORKERS) -m "not terraform and not e2e and not slow"

bench: setup
	$(PY) benchmarks/handlers.py
	$(PY) benchmarks/synth.py
	$(PY) benchmarks/deploy.py

# Mutation testing, on demand (not in CI): mutmut mutates MUTATE, runs TESTS against each
# mutant and prints the score per file (killed or timed out / run; equivalent mutants listed
# in tests/mutation/EQUIVALENT.md are excluded). SAMPLE=N runs a random N (SEED picks which)
# while developing; JOBS=N mutants at once. Any other target works the same way, e.g. the
# config modules: make mutation MUTATE=modules/config TESTS=tests/config
# MUTATE takes files or folders; TESTS takes pytest paths. Work dirs: build/mutation/<target>/.
MUTATE ?= functions
TESTS ?= tests/functions
SAMPLE ?= 0
SEED ?= 1
JOBS ?= 2
mutation: setup
	$(PY) tests/mutation/run.py --mutate $(MUTATE) --tests $(TESTS) --sample $(SAMPLE) --seed $(SEED) --jobs $(JOBS)

# Apply ENV (default: local, on the embedded emulator) and smoke-check every region.
# Real environments use your AWS credentials; AUTO_APPROVE=1 skips the plan confirmation.
# Over a running local deployment it refuses (the data would be lost) unless REPLACE=1.
# Local: Terraform plans and applies as the pipeline's roles, every call evaluated by the
# emulator (docs/iam-evaluation.md); AS_ROLES=0 applies with the emulator's root keys instead.
deploy: setup
	$(PY) -m ops.deploy --env $(ENV) $(if $(AUTO_APPROVE),--auto-approve) $(if $(REPLACE),--replace) $(if $(filter 0,$(AS_ROLES)),--as-root)

# For each role of the running local deployment: the actions it used in the last deploy and test
# run (the emulator's decision log) next to those granted, and the granted ones never used
# (docs/iam-evaluation.md, "What each role used"). JSON=1 for machines.
iam-report:
	@$(PY) -m ops.iam_report $(if $(JSON),--json)

# A token from the local deployment's issuer, alone on stdout: make -s token SCOPE=items:write
SCOPE ?= items:read items:write
DEPLOYMENT ?= .emulator/deployment.json
token:
	@$(PY) -m local.issuer token --deployment $(DEPLOYMENT) --scope "$(SCOPE)"

# A base URL of the local deployment, alone on stdout: the global URL (it stands for the custom
# domain, whose base path mapping on / serves the stage: no stage in the path), or with REGION
# that region's api_url (its execute-api base, the stage in the path): make -s url REGION=eu-central-1
url:
	@$(PY) -c 'import sys; from local import deployment_file as f; d = f.load(sys.argv[1]); \
	print(d.regions[sys.argv[2]].api_url if sys.argv[2:] else d.needed(d.global_url, "global_url", "make url"))' \
	$(DEPLOYMENT) $(REGION)

# The failover drill (README, "Failover drill and evacuation"): break REGION's /health (default:
# the primary), watch the global name move away and come back, report failover and recovery
# against the bound. ENV=local (default) needs `make deploy` first; TIME_SCALE=0.02 make deploy
# makes the local one take seconds. Protected environments ask first (YES=1: without a terminal).
drill: setup
	$(PY) -m ops.drill --env $(ENV) $(if $(REGION),--region $(REGION)) $(if $(YES),--yes)

# A chaos experiment (docs/chaos.md; experiments/<name>.json) against ENV's deployment under a
# steady client load, ending with one verdict line; journal and PNG timeline in build/chaos/.
# ENV=local (default) needs `make deploy` first; TIME_SCALE scales the experiment's windows.
# A real ENV with [chaos] fis runs its FIS templates (EXPERIMENT=fis-..., experiments/aws/;
# CHAOS_TOKEN=<token>): docs/chaos.md, "On AWS".
EXPERIMENT ?= region-outage
chaos: setup
	$(PY) -m ops.chaos --env $(ENV) --experiment $(EXPERIMENT) $(if $(TIME_SCALE),--time-scale $(TIME_SCALE))

# The cdktf CLI route for `local`: the project's emulator server and the local issuer on
# 127.0.0.1, the hosted zone created, and the exports the CLI needs on stdout:
#   eval "$(make -s emulator)" && npx cdktf deploy backend-local
# Refused while `make deploy`'s deployment runs (the same Terraform state); `make down` stops it.
emulator: setup
	@$(PY) -m ops.deploy --env local --emulator

# Stop what `make deploy` (or `make emulator`) started on this machine and remove the local state.
down:
	@if [ -x $(PY) ]; then $(PY) -m ops.deploy --env local --down; else echo "nothing to stop (no .venv)"; fi

# Regenerate the README's environment-file table from the key declarations in modules/config/sections.py.
docs: $(VENV)/.installed
	$(PY) -m modules.config.docs --update-readme README.md

clean:
	rm -rf cdktf.out build .pytest_cache .hypothesis

# The API's OpenAPI document (ops/openapi.py), kept in step by tests/ops/test_openapi.py.
openapi: $(VENV)/.installed
	$(PY) -m ops.openapi --write openapi.json
