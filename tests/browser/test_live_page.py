"""The live page in headless Chromium while a simulated run flows through a daemon with a real Mosquitto:
it follows the frames one by one, shows the crystallization alert, the events with their snapshots, the
outputs' health and the stored run's table, with no console error. The page's lag behind each frame's MQTT
message is measured (logged, not asserted)."""

import json
import logging
import statistics
import threading
import time
import urllib.request
from pathlib import Path

import paho.mqtt.client as mqtt

from monitor.config import parse_config
from monitor.pipeline.session import ProcessorFactory
from monitor.service.app import build_daemon, live_server
from monitor.simulate import SimulatedRun
from monitor.sinks.store import stored_events
from tests.browser.conftest import console_errors, screenshot_path
from tests.service.test_daemon import drop_frames_into
from tests.services import wait_until
from tests.sinks.conftest import Mosquitto

log = logging.getLogger(__name__)
TOKEN = "live-page-test-token-0123456789"
STEPPED = 12  # frames dropped one at a time: the page must show each before the next arrives
# Records in the page when each shown time first appeared and when the alert showed (epoch ms).
OBSERVE = """
window.seen = {}; window.alertAt = null;
const time = document.getElementById("v-time"), alert = document.getElementById("alert");
new MutationObserver(() => {
  if (!(time.textContent in window.seen)) window.seen[time.textContent] = Date.now();
})
  .observe(time, {childList: true, characterData: true, subtree: true});
new MutationObserver(() => { if (!alert.hidden && window.alertAt === null) window.alertAt = Date.now(); })
  .observe(alert, {attributes: true});
"""

# The served report: its style applied (the body's width), and every plot loaded.
REPORT = """
return {width: getComputedStyle(document.body).maxWidth,
        images: [...document.images].map(i => i.naturalWidth)};
"""
IMAGES = "return [...document.images].filter(i => i.src).map(i => [i.id || i.alt, i.naturalWidth])"


class TimedSubscriber:
    """A real MQTT client noting when each frame and alert message arrived (epoch ms)."""

    def __init__(self, broker: Mosquitto) -> None:
        self.frames: dict[float, float] = {}  # time_s -> arrival
        self.alerts: list[float] = []
        self._lock = threading.Lock()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="live-page-test")
        self.client.on_message = self._on_message
        self.client.on_connect = lambda c, *_: c.subscribe("furnace/#", qos=1)
        self.client.connect(broker.host, broker.port)
        self.client.loop_start()

    def _on_message(self, _c: object, _u: object, message: mqtt.MQTTMessage) -> None:
        now = time.time() * 1000.0
        with self._lock:
            if message.topic.endswith("/frame"):
                self.frames.setdefault(json.loads(message.payload)["time_s"], now)
            elif message.topic.endswith("/alert"):
                self.alerts.append(now)

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


def _text(browser: object, element_id: str) -> str:
    return browser.find_element("id", element_id).text  # type: ignore[attr-defined]


def _script(browser: object, script: str) -> object:
    return browser.execute_script(script)  # type: ignore[attr-defined]


def test_the_live_page_follows_a_run(
    fast_run: SimulatedRun,
    processors: ProcessorFactory,
    mosquitto: Mosquitto,
    browser: object,
    tmp_path: Path,
) -> None:
    data = {
        "ingest": {"watch_dir": str(tmp_path / "frames"), "checkpoint_dir": str(tmp_path / "ckpt"),
                   "settle_s": 0.05, "stall_timeout_s": 600},
        "mqtt": {"host": mosquitto.host, "port": mosquitto.port},
        "store": {"path": str(tmp_path / "store.sqlite")},
        "outbox": {"path": str(tmp_path / "outbox.sqlite")},
        "http": {"port": 0},
    }  # fmt: skip
    config = parse_config(data, env={"FURNACE_HTTP_TOKEN": TOKEN})
    (tmp_path / "frames").mkdir()
    subscriber = TimedSubscriber(mosquitto)
    daemon = build_daemon(config, processors=processors)
    http = live_server(config, daemon)
    http.start()
    daemon.start()
    base = f"http://127.0.0.1:{http.port}"
    folder = tmp_path / "frames" / "run1"
    frames = sorted(fast_run.out.glob("*.jpg"))
    times = [float(f.time_s) for f in fast_run.frames]
    stopped = False
    try:
        browser.get(f"{base}/?token={TOKEN}")  # type: ignore[attr-defined]
        assert browser.current_url == f"{base}/"  # type: ignore[attr-defined]  # the token left the address
        _script(browser, OBSERVE)
        shown_t1 = set()
        for frame, time_s in zip(frames[:STEPPED], times, strict=False):
            drop_frames_into([frame], folder)
            wait_until(
                lambda t=time_s: _text(browser, "v-time") == f"{t:g}", f"the page to show {time_s:g} s"
            )
            shown_t1.add(_text(browser, "v-t1"))
        assert len(shown_t1) > 1, shown_t1  # 1# rises while heating: the values move, not just the time

        drop_frames_into(frames[STEPPED:], folder)
        wait_until(lambda: _text(browser, "v-time") == f"{times[-1]:g}", "the last frame", timeout=60)
        wait_until(lambda: browser.find_element("id", "alert").is_displayed(), "the alert")  # type: ignore[attr-defined]
        assert "crystallization start" in _text(browser, "alert")
        assert _text(browser, "v-stage") == _text(browser, "stage") == "crystallizing"

        run_id = json.loads(_fetch(f"{base}/api/runs"))["runs"][0]["id"]
        stored = [e["type"] for e in stored_events(config.store.path, run_id)]
        rows = browser.find_elements("css selector", "#events tr")  # type: ignore[attr-defined]
        assert [r.find_element("css selector", "td").text for r in rows] == stored
        assert "crystallization_start" in stored
        images = _script(
            browser,
            "return [...document.images].filter(i => i.src).map(i => [i.id || i.alt, i.naturalWidth])",
        )
        assert all(width > 0 for _, width in images), images  # the frame and every event's snapshot
        assert ["frame", 320] in images
        assert _script(browser, "return document.querySelectorAll('#boxes rect').length") == 2
        assert _script(browser, "return document.querySelectorAll('#chart-t polyline').length") >= 2
        sinks = [r.text for r in browser.find_elements("css selector", "#sinks tr")]  # type: ignore[attr-defined]
        assert [s.split()[0] for s in sinks] == ["mqtt", "store"]
        assert _text(browser, "ready") == "ready"
        seen = _script(browser, "return [window.seen, window.alertAt]")
        _log_latency(subscriber, seen, times)

        browser.refresh()  # type: ignore[attr-defined]  # the cookie holds the token from here on
        wait_until(lambda: run_id.split("@")[0] in _text(browser, "runs"), "the stored run in the list")
        table = _fetch(f"{base}/runs/{run_id}/table.csv").decode().splitlines()
        assert len(table) == len(frames) + 1
        wait_until(lambda: _text(browser, "v-time") == f"{times[-1]:g}", "the page after the reload")
        browser.save_screenshot(str(screenshot_path(tmp_path, "live.png")))  # type: ignore[attr-defined]
        assert console_errors(browser) == []

        daemon.stop()  # a clean stop reports the run still open; the page goes on serving the store
        stopped = True
        browser.refresh()  # type: ignore[attr-defined]
        links = lambda: browser.find_elements("link text", "report")  # type: ignore[attr-defined]  # noqa: E731
        wait_until(lambda: len(links()) == 1, "the stored run's report in the list")
        links()[0].click()
        wait_until(lambda: browser.current_url.endswith("/report.html"), "the run's report")  # type: ignore[attr-defined]
        body = browser.find_element("tag name", "body").text  # type: ignore[attr-defined]
        assert body.startswith("Furnace run report: run1") and "crystallization_start" in body
        report = _script(browser, REPORT)
        assert report["width"] == "960px", report  # its own style applies under the report's CSP
        assert len(report["images"]) >= 5 and all(w > 0 for w in report["images"]), report
        assert console_errors(browser) == []
    finally:
        if not stopped:
            daemon.stop()
        http.stop()
        subscriber.close()


def _fetch(url: str) -> bytes:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {TOKEN}"})
    with urllib.request.urlopen(request, timeout=10) as answer:
        return bytes(answer.read())


def _log_latency(subscriber: TimedSubscriber, seen: object, times: list[float]) -> None:
    """How long after a frame's MQTT message the page showed it (the stepped frames, one at a time)."""
    shown, alert_at = seen  # type: ignore[misc]
    lags = [shown[f"{t:g}"] - subscriber.frames[t] for t in times[:STEPPED] if f"{t:g}" in shown]
    alert_lag = alert_at - subscriber.alerts[0] if alert_at and subscriber.alerts else None
    message = (
        f"live page after the frame's MQTT message: median {statistics.median(lags):.0f} ms, "
        f"max {max(lags):.0f} ms over {len(lags)} frames; the alert {alert_lag:.0f} ms after its message"
    )
    log.warning(message)
    print(message)
