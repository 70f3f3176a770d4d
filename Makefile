# GroupMap: `make run` starts the desktop demo, `make test` runs the whole suite headless.
SHELL := /bin/bash
VENV := .venv
VPY := $(VENV)/bin/python

# A Python 3.12 or newer: pyenv's interpreters first (its shims answer only with
# PYENV_VERSION set), then whatever is on PATH.
ifndef PYTHON
PYTHON := $(shell \
  for c in $$( (root=$$(pyenv root 2>/dev/null || echo $${PYENV_ROOT:-$$HOME/.pyenv}) && ls -d $$root/versions/3.1[2-9]*/bin/python3 2>/dev/null | sort -rV) ) \
           python3.14 python3.13 python3.12 python3; do \
    if command -v $$c >/dev/null 2>&1 && $$c -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; then \
      command -v $$c; break; fi; done)
endif

.PHONY: run test soak bench lint package package-check clean python

python:
	@if [ -z "$(PYTHON)" ]; then \
	  echo "GroupMap needs Python 3.12 or newer, and none was found."; \
	  echo "Install it (Debian/Ubuntu: sudo apt-get install python3.12 python3.12-venv), or run: make PYTHON=/path/to/python3.12 ..."; \
	  exit 2; fi

$(VENV)/.installed: pyproject.toml | python
	@test -x $(VPY) || $(PYTHON) -m venv $(VENV)
	$(VPY) -m pip install -q --upgrade pip
	$(VPY) -m pip install -q -e '.[test]'
	@touch $@

run: $(VENV)/.installed
	$(VENV)/bin/groupmap demo

# In parallel on every core (pytest-xdist): each worker has its own QApplication, settings
# folder, journal folder and SCIM servers on ephemeral ports, so tests share nothing.
test: $(VENV)/.installed
	QT_QPA_PLATFORM=offscreen $(VPY) -m pytest -q -n auto --dist worksteal

# The stateful trust test for many thousands of steps (tests/test_trust_stateful.py).
soak: $(VENV)/.installed
	GROUPMAP_SOAK=1 QT_QPA_PLATFORM=offscreen $(VPY) -m pytest -q -p no:xdist --timeout 0 \
	  tests/test_trust_stateful.py

# Style, the layers (import contracts in pyproject.toml) and strict types where they are enforced.
lint: $(VENV)/.installed
	$(VENV)/bin/ruff check app tests
	$(VENV)/bin/lint-imports
	$(VENV)/bin/mypy

bench: $(VENV)/.installed
	$(VPY) -m tests.bench

# PyInstaller runs with a clean environment so no QT_QPA_PLATFORM/PYTHONPATH leaks into the build.
package: $(VENV)/.installed
	$(VPY) -m pip install -q -e '.[package]'
	env -i PATH="$$PATH" HOME="$$HOME" LANG=C.UTF-8 \
	  $(VENV)/bin/pyinstaller --noconfirm --log-level WARN --distpath dist --workpath build/pyinstaller packaging/groupmap.spec

package-check: package
	bash packaging/check.sh

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache
