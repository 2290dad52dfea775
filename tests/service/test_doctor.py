"""`furnace-monitor doctor` against real services: a Mosquitto broker and an InfluxDB 1.x on loopback, and
closed ports where nothing listens. One line per check, exit 0 when the essential ones pass, else 2."""

from collections.abc import Callable
from pathlib import Path

import pytest
import torch

from monitor.cli import main
from monitor.service.doctor import font_check
from tests.services import free_port
from tests.sinks.conftest import Mosquitto
from tests.sinks.influx_server import InfluxServer


def write_config(folder: Path, **sections: str) -> Path:
    (folder / "frames").mkdir(exist_ok=True)
    base = {
        "ingest": f"{{watch_dir: {folder / 'frames'}, checkpoint_dir: {folder / 'ckpt'}}}",
        "outbox": f"{{path: {folder / 'outbox.sqlite'}}}",
        "store": f"{{path: {folder / 'store.sqlite'}}}",
        "http": f"{{port: {free_port()}}}",
        **sections,
    }
    path = folder / "monitor.yaml"
    path.write_text("".join(f"{k}: {v}\n" for k, v in base.items()), encoding="utf-8")
    return path


def doctor(config: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, dict[str, str]]:
    """Exit code and {check name: its line}."""
    code = main(["doctor", "-c", str(config)])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    lines = [line for line in out.splitlines() if line[:4] in ("OK  ", "FAIL", "WARN")]
    return code, {line[5:].split(":")[0]: line for line in lines}


def test_doctor_passes_with_a_live_broker_and_influxdb(
    tmp_path: Path, mosquitto: Mosquitto, capsys: pytest.CaptureFixture[str]
) -> None:
    with InfluxServer(tmp_path / "influx") as influx:
        config = write_config(
            tmp_path,
            mqtt=f"{{host: 127.0.0.1, port: {mosquitto.port}}}",
            influx=f"{{enabled: true, api: v1, url: '{influx.url}', database: furnace}}",
        )
        code, checks = doctor(config, capsys)
    assert code == 0, checks
    assert checks["MQTT broker"] == f"OK   MQTT broker: 127.0.0.1:{mosquitto.port} accepted a connection"
    assert checks["InfluxDB"] == f"OK   InfluxDB: {influx.url} answered /ping (HTTP 204)"
    assert checks["OCR rec model (onnxruntime)"].startswith(
        "OK   OCR rec model (onnxruntime): PP-OCRv6_tiny_rec in "
    )
    assert checks["torch device"].startswith(f"OK   torch device: torch {torch.__version__}, ")
    assert checks["free disk"].startswith(("OK   free disk: ", "WARN free disk: "))
    for name in ("ingest.watch_dir", "ingest.checkpoint_dir", "outbox.path", "store.path", "http port"):
        assert checks[name].startswith("OK   "), checks[name]


def test_doctor_names_what_to_fix_on_closed_ports_and_missing_models(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Nothing listens on the broker's or InfluxDB's port, the configured OCR model folder is empty:
    FAIL lines with the fix, exit 2."""
    mqtt_port, influx_port = free_port(), free_port()
    config = write_config(
        tmp_path,
        mqtt=f"{{host: 127.0.0.1, port: {mqtt_port}}}",
        influx=f"{{enabled: true, api: v1, url: 'http://127.0.0.1:{influx_port}', database: furnace}}",
        ocr=f"{{rec_model_dir: {tmp_path}}}",
    )
    code, checks = doctor(config, capsys)
    assert code == 2
    broker = checks["MQTT broker"]
    assert broker.startswith(f"FAIL MQTT broker: 127.0.0.1:{mqtt_port} unreachable: ")
    assert broker.endswith(
        f"-> start the broker or fix mqtt.host/port (try: mosquitto_sub -h 127.0.0.1 -p {mqtt_port} -t '#')"
    )
    assert checks["InfluxDB"].startswith(f"FAIL InfluxDB: http://127.0.0.1:{influx_port} unreachable: ")
    assert checks["InfluxDB"].endswith("-> start InfluxDB or fix influx.url")
    rec = checks["OCR rec model (onnxruntime)"]
    assert rec.startswith(
        f"FAIL OCR rec model (onnxruntime): OCR model folder {tmp_path} lacks inference.onnx"
    )
    assert rec.endswith("-> run `make setup`, or set ocr.rec_model_dir")
    assert checks["OCR det model (onnxruntime)"].startswith("OK   ")


def test_doctor_reports_a_refused_password_without_showing_it(
    tmp_path: Path,
    mosquitto_factory: Callable[..., Mosquitto],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    broker = mosquitto_factory(users={"op": "right-password"})
    monkeypatch.setenv("FURNACE_MQTT_PASSWORD", "wrong-password")
    config = write_config(tmp_path, mqtt=f"{{host: 127.0.0.1, port: {broker.port}, username: op}}")
    code = main(["doctor", "-c", str(config)])
    out, err = capsys.readouterr()
    assert code == 2
    line = next(x for x in out.splitlines() if x.startswith("FAIL MQTT broker"))
    assert line.startswith(
        f"FAIL MQTT broker: 127.0.0.1:{broker.port} refused the connection: Not authorized"
    )
    assert "FURNACE_MQTT_PASSWORD" in line
    assert "wrong-password" not in out + err


@pytest.mark.skipif(torch.cuda.is_available(), reason="the check only fails without a GPU")
def test_doctor_fails_models_on_cuda_without_a_gpu(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path, mqtt="{enabled: false}", models="{device: cuda}")
    code, checks = doctor(config, capsys)
    assert code == 2
    assert checks["torch device"].startswith("FAIL torch device: models.device is cuda but CPU only")


def test_a_missing_font_is_a_warning_only_simulate_needs_it() -> None:
    def no_font() -> Path:
        raise FileNotFoundError("no CJK font found")

    check = font_check(no_font)
    assert (check.ok, check.essential) == (False, False)
    assert (
        check.line()
        == "WARN overlay font (simulate only): no CJK font found -> apt-get install fonts-wqy-zenhei"
    )
