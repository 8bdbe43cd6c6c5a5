# Two commands do everything on a fresh machine with Python 3.11+:
#   make report   demo exports -> DuckDB -> every monthly report -> reports/index.html
#   make test     the whole test suite
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: install report test lint lab bench clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]'
	@rm -f $(VENV)/.installed-*
	@touch $@

install: $(STAMP)

report: $(STAMP)
	$(BIN)/sla demo --if-empty
	$(BIN)/sla ingest
	$(BIN)/sla render monthly --all
	$(BIN)/sla render quarterly --all
	$(BIN)/sla render year --all
	@echo "Open: $(CURDIR)/reports/index.html"

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check .

lab: $(STAMP)
	$(BIN)/python -m pip install -q -e '.[test,lab]'
	$(BIN)/jupyter lab --notebook-dir=notebooks

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_ingest.py

clean:
	rm -rf reports data/processed/*.duckdb data/processed/*.wal
