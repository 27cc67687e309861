# Public targets: demo, test, bench (see README.md).
VENV ?= .venv
PY := $(VENV)/bin/python
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
# cryptography 46+ warns on import that DSA is deprecated (ansible-core imports it): noise in every run
export PYTHONWARNINGS := ignore:DSA is deprecated

.PHONY: bootstrap bootstrap-demo test unit oracle demo bench lint

## Everything the tests need (requirements-test.txt, Java, shellcheck, shells); see tools/bootstrap.sh.
bootstrap:
	@VENV=$(VENV) sh tools/bootstrap.sh test

## Only what a user needs to run the playbooks: requirements.txt and ansible-core.
bootstrap-demo:
	@VENV=$(VENV) sh tools/bootstrap.sh demo

## The whole test suite: unit, real-Flink oracle, integration (real ansible-playbook).
test: bootstrap
	$(PY) -m pytest tests -q -p no:cacheprovider

unit: bootstrap
	$(PY) -m pytest tests/unit -q -p no:cacheprovider

## Audit the bundled demo fleet (examples/demo-fleet/) and print where the HTML report is.
demo: bootstrap-demo
	@VENV=$(VENV) sh tools/demo.sh

## Benchmarks, each side by side with its baseline in the same run (docs/benchmarks.md).
bench: bootstrap
	$(PY) benchmarks/bench_memory_model.py
	$(PY) benchmarks/bench_analysis.py
	$(PY) benchmarks/bench_gather.py
	$(PY) benchmarks/bench_enforce.py
	$(PY) benchmarks/bench_fleet.py
	$(PY) benchmarks/bench_sliced.py
	$(PY) benchmarks/bench_yaml_edit.py

lint: bootstrap
	$(VENV)/bin/ruff check plugins tests benchmarks
