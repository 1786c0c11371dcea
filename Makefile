# scatterloop: two commands on a fresh machine.
#   make demo   create .venv, install, build a demo workspace, serve http://127.0.0.1:8050
#   make test   install what the tests need (Debian chromium + chromium-driver, redis-server included) and run the suite
#   make cluster  Redis, PostgreSQL, two workers and the app under gunicorn on this machine (no Docker)
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
WORKSPACE ?= demo-workspace
PORT ?= 8050
TORCH ?= cpu
SUDO := $(shell [ "$$(id -u)" -eq 0 ] || command -v sudo >/dev/null && [ "$$(id -u)" -ne 0 ] && echo sudo)

.PHONY: install install-test install-cluster browser redis demo serve cluster test lint format bench montage docker clean

$(VENV)/.installed-app: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[server]'
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed-app
	$(BIN)/pip install -q -e '.[server,test]'
	touch $@

$(VENV)/.installed-cluster: $(VENV)/.installed-app
	$(BIN)/pip install -q -e '.[server,celery,postgres]'
	touch $@

install: $(VENV)/.installed-app
install-test: $(VENV)/.installed-test

browser:
	@if command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; then \
	  echo "chromium: $$(chromium --version 2>/dev/null | head -1)"; \
	else \
	  $(SUDO) apt-get update -qq && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver; \
	fi

redis:
	@if command -v redis-server >/dev/null 2>&1; then \
	  echo "redis: $$(redis-server --version | awk '{print $$3}')"; \
	else \
	  $(SUDO) apt-get update -qq && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server; \
	fi

demo: install
	$(BIN)/scatterloop demo --workspace $(WORKSPACE) --port $(PORT)

serve: install
	$(BIN)/scatterloop serve --workspace $(WORKSPACE) --port $(PORT)

cluster: $(VENV)/.installed-cluster redis
	@command -v initdb >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || \
	  { $(SUDO) apt-get update -qq && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql; }
	PATH="$(abspath $(BIN)):$$PATH" scripts/cluster.sh $(WORKSPACE) $(PORT)

test: install-test browser redis
	$(BIN)/ruff check scatterloop core dashboard callbacks assets tests scripts
	$(BIN)/ruff format --check scatterloop core dashboard callbacks assets tests scripts
	@scripts/with-postgres.sh scripts/with-redis.sh $(BIN)/python -m pytest -q -p no:cacheprovider -rs; rc=$$?; \
	  if [ $$rc -eq 5 ]; then echo "pytest collected no tests: failing" >&2; exit 1; fi; exit $$rc

lint: install-test
	$(BIN)/ruff check scatterloop core dashboard callbacks assets tests scripts

format: install-test
	$(BIN)/ruff format scatterloop core dashboard callbacks assets tests scripts
	$(BIN)/ruff check --fix scatterloop core dashboard callbacks assets tests scripts

bench: install
	$(BIN)/scatterloop bench simulate --json
	$(BIN)/scatterloop bench import --json
	$(BIN)/scatterloop bench polar --json
	$(BIN)/scatterloop bench embed --n 10000 --json
	$(BIN)/scatterloop bench explore --n 100000 --json
	$(BIN)/scatterloop bench fid --json
	$(BIN)/scatterloop bench train --json
	$(BIN)/scatterloop bench speckle --json
	$(BIN)/scatterloop bench startup --json
	$(BIN)/scatterloop bench loop --json
	scripts/with-redis.sh $(BIN)/scatterloop bench jobs --json

montage: install
	$(BIN)/python scripts/montage.py --out docs/montage.png

docker:
	docker build --build-arg TORCH=$(TORCH) -t scatterloop:$(TORCH) .

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache
