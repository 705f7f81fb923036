# supportbot task runner. `make` lists the targets.
VENV   ?= .venv
PY     := $(VENV)/bin/python
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 8000
STAMP  := $(VENV)/.installed

export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.DEFAULT_GOAL := help
.PHONY: help install run test test-all test-fast lint format bench bench-load bench-quality durability eval clean

help: ## Show this list
	@awk -v host='$(HOST)' -v port='$(PORT)' 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / \
		{gsub(/\$$\(HOST\)/, host, $$2); gsub(/\$$\(PORT\)/, port, $$2); printf "  make %-14s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	@# The CPU build of torch, pinned: an unpinned torch would pull a multi-GB CUDA build.
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP) ## Create .venv and install supportbot with its dev tools

run: install ## Ingest kb_docs/ and serve the demo page and the console on http://$(HOST):$(PORT)
	$(BIN)/supportbot ingest
	$(BIN)/supportbot demo --host $(HOST) --port $(PORT)
	$(BIN)/supportbot serve --host $(HOST) --port $(PORT)

test: install ## The suite before a commit: all but the `slow` scenario tests (browser/PostgreSQL/Redis skip without them)
	$(BIN)/pytest -m "not slow"

test-all: install ## Every test, the slow scenario tests too (what CI runs)
	$(BIN)/pytest

test-fast: install ## Tests without the real model and the browser
	$(BIN)/pytest -m "not real_model and not browser"

lint: install ## ruff (lint and format check) and mypy
	$(BIN)/ruff check .
	$(BIN)/ruff format --check bot ingest
	$(BIN)/mypy

format: install ## Apply ruff's formatting and safe fixes
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format bot ingest

eval: install ## Answer quality on the sample knowledge base's question set
	$(BIN)/supportbot eval --questions benchmarks/questions/sample-kb.csv

bench: install ## Ingestion speed, chat latency, sample-KB quality, topics missing a language (var/bench/)
	$(PY) -m benchmarks.ingest_speed --out var/bench/ingest.json
	$(PY) -m benchmarks.chat_latency --out var/bench/latency.json
	$(BIN)/supportbot eval --questions benchmarks/questions/sample-kb.csv --json > var/bench/sample-kb.json
	$(PY) -m benchmarks.missing_translations --out var/bench/missing-translations.json

bench-load: install ## Many visitors at once against a real server, vs the model's encode rates (var/bench/load.json)
	$(PY) -m benchmarks.load --model $(or $(MODEL),all-MiniLM-L6-v2) --out var/bench/load.json

bench-quality: install ## Public benchmarks (BANKING77, BANKING77-OOS, xSID, COVID-QA), both models side by side (MODELS=a,b to choose)
	$(PY) -m benchmarks.quality.run --out var/bench $(if $(MODELS),--models $(MODELS))

durability: install ## SIGKILL the server amid 1,040 messages (visitors and agents), SQLite and PostgreSQL: nothing lost or doubled
	$(PY) -m benchmarks.durability --out var/bench/durability.json

clean: ## Remove the index, the database and caches (keeps .venv)
	rm -rf var .pytest_cache .mypy_cache .ruff_cache test-artifacts
