# GuardDuty Responder. The two commands a newcomer needs:
#   make demo   the whole pipeline, locally, against the moto AWS emulator
#   make test   every test (unit, adapter, end-to-end, infra checks)
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
VENV ?= $(CURDIR)/.venv
PYTHON ?= python3
CARGO ?= cargo
export CARGO_TERM_COLOR ?= never
TARGET_DIR ?= $(or $(CARGO_TARGET_DIR),target)

.PHONY: demo test setup setup-browser build build-release lint unit e2e infra-check conformance bench bench-faults bench-pipeline bench-pipeline-burst package clean-venv

## setup: a local venv with the pinned moto server (idempotent; fast when present)
setup: $(VENV)/.moto-installed

$(VENV)/.moto-installed: local/moto-requirements.txt
	@test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r local/moto-requirements.txt
	@touch $@

## demo: build, start moto, seed an estate, run the fixtures through the pipeline, report.
## The debug build is the one the tests use too, so a newcomer builds once for both commands.
## KEEP_SERVING=1 leaves the stack and its console (http://127.0.0.1:PORT/console) up after the
## report, until Ctrl-C; ARGS passes other options (e.g. ARGS='--faults bad-day').
demo: setup build
	MOTO_SERVER=$(VENV)/bin/moto_server $(TARGET_DIR)/debug/responder demo $(if $(KEEP_SERVING),--keep-serving) $(ARGS)

build:
	$(CARGO) build --workspace --bins

build-release:
	$(CARGO) build --release --workspace --bins

## setup-browser: Debian's Chromium for the browser tests of the console and the approval page.
## Installed with apt-get when run as root; elsewhere the browser tests skip, saying so.
setup-browser:
	@if [ -n "$${CHROMIUM:-}" ] || command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1; then \
	  :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "installing Debian's chromium for the browser tests"; \
	  export DEBIAN_FRONTEND=noninteractive; \
	  apt-get install -y -qq --no-install-recommends chromium >/dev/null 2>&1 \
	    || { apt-get update -qq && apt-get install -y -qq --no-install-recommends chromium >/dev/null; } \
	    || echo "chromium could not be installed: the browser tests will be skipped"; \
	else \
	  echo "no chromium here and no root apt-get to install it: the browser tests will be skipped (install Debian's chromium, or set CHROMIUM)"; \
	fi

## test: formatting, lints, infra checks, then every Rust test (the end-to-end tests start moto
## themselves; the browser tests use the Chromium of setup-browser)
test: setup setup-browser lint infra-check unit

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

infra-check:
	infra/check.sh

unit: build
	MOTO_SERVER=$(VENV)/bin/moto_server $(CARGO) test --workspace

## conformance: replay the ASL executions recorded on AWS (needs ../shared/asl-conformance)
conformance:
	$(CARGO) run --release -p asl --example conformance -- ../shared/asl-conformance/cases.jsonl --min-passed $$(cat local/asl/conformance-threshold.txt)

## bench: interpreter throughput figures
bench:
	$(CARGO) run --release -p asl --example bench

## bench-faults: the pipeline under the calm and bad-day fault scenarios (time to contain,
## calls and retries per containment); FINDINGS=N findings per scenario (default 20)
bench-faults: setup build
	MOTO_SERVER=$(VENV)/bin/moto_server $(CARGO) run -p responder --example bench_faults -- --findings $(or $(FINDINGS),20)

## bench-pipeline: time to contain from outside (cold and warm, calm and with LATENCY_MS per
## call, default 50), calls per containment and before the move, and a burst of BURST findings
## (default 100) across ACCOUNTS member accounts (default 5); release binaries.
## FINDINGS=N findings per phase (default 20).
bench-pipeline: setup build-release
	MOTO_SERVER=$(VENV)/bin/moto_server RESPONDER_BIN_DIR=$(TARGET_DIR)/release \
	  $(CARGO) run --release -p responder --example bench_pipeline -- \
	  --findings $(or $(FINDINGS),20) --latency-ms $(or $(LATENCY_MS),50) \
	  --burst $(or $(BURST),100) --accounts $(or $(ACCOUNTS),5) --concurrency $(or $(CONCURRENCY),16)

## bench-pipeline-burst: FINDINGS findings (default 1000) across ACCOUNTS member accounts
## (default 20), CONCURRENCY executions in flight (default 16), LATENCY_MS per call (default 0).
bench-pipeline-burst: setup build-release
	MOTO_SERVER=$(VENV)/bin/moto_server RESPONDER_BIN_DIR=$(TARGET_DIR)/release \
	  $(CARGO) run --release -p responder --example bench_pipeline -- --only burst \
	  --burst $(or $(FINDINGS),1000) --accounts $(or $(ACCOUNTS),20) \
	  --concurrency $(or $(CONCURRENCY),16) --latency-ms $(or $(LATENCY_MS),0)

## package: Lambda-compatible zips of every task in dist/
package:
	infra/package.sh

clean-venv:
	rm -rf $(VENV)
