# o2o: two commands. `make run` sets up and starts the demo; `make test` sets up and tests.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
HOST   ?= 127.0.0.1
PORT   ?= 5000
# two workers (pytest-xdist): the machines have 2 cores; each worker has its own database
PYTEST_ARGS ?= -n 2

.PHONY: run test install translations bench clean browser-deps

$(STAMP): setup.cfg pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade "pip>=24"
	$(BIN)/pip install --quiet -e ".[test]"
	touch $(STAMP)

install: $(STAMP) translations

# Compiled catalogues (.mo) are build output; the .po files are the source.
# Catalogue sources: `python -m core.i18n_tools refresh` extracts every package's strings
# into its .po files and lists what still needs a Chinese translation.
translations: $(STAMP)
	$(BIN)/python -m core.i18n_tools compile

run: install
	$(BIN)/o2o setup --demo
	@echo ""
	@echo "  o2o is running at http://$(HOST):$(PORT)/admin/"
	@echo "  demo login: admin / o2o-demo (demo data only; change it before real use)"
	@echo ""
	$(BIN)/o2o serve --host $(HOST) --port $(PORT)

# SQLite by default; set O2O_TEST_DATABASE_URL=postgresql://user@host:5432/postgres to run
# on a PostgreSQL server (a fresh database is created on it for the run and dropped after).
test: install browser-deps
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# Debian's Chromium for the till's browser test (no browser download) and poppler-utils
# (pdftoppm, pdftotext) to render the PDFs' Chinese text; skipped where apt is not available
# or we are not root, and the tests then say why they skip.
browser-deps:
	@{ command -v chromium >/dev/null 2>&1 && command -v pdftoppm >/dev/null 2>&1; } || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && \
	  { apt-get update -qq >/dev/null 2>&1 || true; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver poppler-utils >/dev/null 2>&1 || echo "warning: could not install chromium and poppler-utils"; }; } || true

bench: install
	$(BIN)/python -m bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) instance .pytest_cache
