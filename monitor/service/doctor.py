"""`furnace-monitor doctor`: is this machine ready to run the monitor? The checks of check-config plus the
OCR models (present and loadable, nothing downloaded), the outputs (broker, InfluxDB) reachable, torch's
device and the free disk. One line per check with what to fix; short timeouts, nothing written but the OCR
model cache."""

import os
import shutil
import threading
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

from monitor.config import MonitorConfig
from monitor.overlay.models import ModelError, resolve_model_dir, second_opinion_dir
from monitor.service.preflight import Check, environment_checks, existing_ancestor

TIMEOUT_S = 3.0
DISK_FAIL_BYTES = 200 * 1024**2  # below this the store and the outbox fill up within hours
DISK_WARN_BYTES = 2 * 1024**3


def ocr_checks(config: MonitorConfig) -> list[Check]:
    """The recognition and detection models the config selects, loaded by onnxruntime when that is the
    engine (proves the file is a model, in ~1 s); the second-opinion model is optional."""
    engine = config.ocr.engine
    checks = []
    for task in ("rec", "det"):
        name = f"OCR {task} model ({engine})"
        configured: Path | None = getattr(config.ocr, f"{task}_model_dir")
        try:
            found = resolve_model_dir(configured, engine, task)
            if engine == "onnxruntime":
                import onnxruntime

                onnxruntime.InferenceSession(
                    str(found.path / "inference.onnx"), providers=["CPUExecutionProvider"]
                )
        except ModelError as exc:
            checks.append(Check(name, False, str(exc), f"run `make setup`, or set ocr.{task}_model_dir"))
            continue
        except Exception as exc:  # onnxruntime's own error types: a damaged or foreign file
            detail = f"{found.path} does not load: {str(exc).splitlines()[0][:120]}"
            checks.append(
                Check(name, False, detail, f"reinstall the model (make setup) or fix ocr.{task}_model_dir")
            )
            continue
        checks.append(Check(name, True, f"{found.name} in {found.path}"))
    try:
        second = (
            second_opinion_dir() if engine == "onnxruntime" else resolve_model_dir(None, "onnxruntime", "rec")
        )
        checks.append(
            Check("OCR second-opinion model", True, f"{second.name} in {second.path}", essential=False)
        )
    except ModelError as exc:
        fix = "doubtful lines get only the binarised second look; `make setup` installs it"
        checks.append(Check("OCR second-opinion model", False, str(exc), fix, essential=False))
    return checks


def font_check(find_font: Callable[[], Path]) -> Check:
    try:
        return Check("overlay font (simulate only)", True, str(find_font()), essential=False)
    except FileNotFoundError as exc:
        return Check(
            "overlay font (simulate only)", False, str(exc), "apt-get install fonts-wqy-zenhei", False
        )


def broker_check(config: MonitorConfig) -> list[Check]:
    """A real MQTT connection (CONNECT/CONNACK), so credentials and TLS are checked too. Its own client id,
    so a running daemon's session is not taken over."""
    c = config.mqtt
    if not c.enabled:
        return []
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    from monitor.sinks.mqtt import authenticate

    name, where = "MQTT broker", f"{c.host}:{c.port}"
    answered = threading.Event()
    result: list[str] = []

    def on_connect(_client: object, _userdata: object, _flags: object, reason: object, *_: object) -> None:
        result.append(str(reason))
        answered.set()

    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"furnace-monitor-doctor-{os.getpid()}")
    client.on_connect = on_connect
    fix = f"start the broker or fix mqtt.host/port (try: mosquitto_sub -h {c.host} -p {c.port} -t '#')"
    try:
        authenticate(client, c)
        client.connect(c.host, c.port, keepalive=10)
        client.loop_start()
        answered.wait(TIMEOUT_S)
    except (OSError, ValueError) as exc:
        return [Check(name, False, f"{where} unreachable: {exc}", fix)]
    finally:
        client.disconnect()
        client.loop_stop()
    if not result:
        return [Check(name, False, f"{where} did not answer within {TIMEOUT_S:g} s", fix)]
    if result[0] != "Success":
        fix = "check mqtt.username and its password (FURNACE_MQTT_PASSWORD or mqtt.password_file)"
        return [Check(name, False, f"{where} refused the connection: {result[0]}", fix)]
    return [Check(name, True, f"{where} accepted a connection")]


def influx_check(config: MonitorConfig) -> list[Check]:
    """GET /ping, which 1.x, 2.x and 3.x answer without credentials."""
    c = config.influx
    if not c.enabled:
        return []
    url = c.url.rstrip("/") + "/ping"
    fix = "start InfluxDB or fix influx.url"
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_S) as response:
            status = response.status
    except urllib.error.HTTPError as exc:
        status = exc.code
    except (OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        return [Check("InfluxDB", False, f"{c.url} unreachable: {reason}", fix)]
    if status >= 400:
        return [Check("InfluxDB", False, f"{url} answered HTTP {status}", "is influx.url an InfluxDB?")]
    return [Check("InfluxDB", True, f"{c.url} answered /ping (HTTP {status})")]


def device_check(config: MonitorConfig) -> Check:
    import torch

    cuda = torch.cuda.is_available()
    detail = (
        f"CUDA: {torch.cuda.get_device_name(0)}" if cuda else f"CPU only, {torch.get_num_threads()} threads"
    )
    if config.models.device == "cuda" and not cuda:
        fix = "set models.device: auto (or cpu), or install a CUDA build of torch and the GPU driver"
        return Check("torch device", False, f"models.device is cuda but {detail}", fix)
    return Check(
        "torch device", True, f"torch {torch.__version__}, {detail}", essential=config.models.enabled
    )


def disk_checks(config: MonitorConfig) -> list[Check]:
    """Free space on each file system holding the data folders (one line per file system)."""
    folders = [config.ingest.watch_dir, config.ingest.checkpoint_dir, config.outbox.path.parent]
    if config.store.enabled:
        folders.append(config.store.path.parent)
    seen: dict[int, Path] = {}
    for folder in folders:
        base = existing_ancestor(folder)
        seen.setdefault(base.stat().st_dev, base)
    checks = []
    for base in seen.values():
        free = shutil.disk_usage(base).free
        detail = f"{free / 1024**3:.1f} GB free at {base}"
        fix = "free some space or move the data folders to a larger disk"
        if free < DISK_FAIL_BYTES:
            checks.append(Check("free disk", False, detail, fix))
        else:
            checks.append(Check("free disk", free >= DISK_WARN_BYTES, detail, fix, essential=False))
    return checks


def run_doctor(config: MonitorConfig, *, find_font: Callable[[], Path]) -> list[Check]:
    """Every check, in the order a user fixes things. `find_font` is the simulator's font lookup (passed in:
    the service does not import the simulator)."""
    return [
        *environment_checks(config),
        *ocr_checks(config),
        font_check(find_font),
        *broker_check(config),
        *influx_check(config),
        device_check(config),
        *disk_checks(config),
    ]
