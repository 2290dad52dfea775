"""The composition root of `furnace-monitor run`: build the parts from the config, start them in order,
stop them in the mirror order on SIGTERM; SIGHUP reloads what can change safely (the log level)."""

import logging
import signal
import sqlite3
import threading
from pathlib import Path

from monitor.config import MonitorConfig, StartupError, load_config
from monitor.config.service import is_loopback
from monitor.ingest.checkpoint import Checkpoint
from monitor.logs import setup_logging
from monitor.pipeline.process import processor_factory
from monitor.pipeline.session import ProcessorFactory
from monitor.service.daemon import Daemon
from monitor.service.http import HealthServer
from monitor.service.lock import StateLock, state_folders
from monitor.service.metrics import Metrics
from monitor.service.preflight import folder_checks, model_checks, port_check, require
from monitor.service.run_reports import reports_dir
from monitor.service.systemd import notify, watchdog_interval_s
from monitor.service.web import LivePage
from monitor.sinks.base import Sink
from monitor.sinks.delivery import Delivery
from monitor.sinks.outbox import Outbox
from monitor.sinks.registry import build_sinks

log = logging.getLogger(__name__)


def build_daemon(
    config: MonitorConfig, *, sinks: list[Sink] | None = None, processors: ProcessorFactory | None = None
) -> Daemon:
    sinks = build_sinks(config) if sinks is None else sinks
    return Daemon(
        config,
        processors=processor_factory(config) if processors is None else processors,
        delivery=Delivery(sinks, Outbox(config.outbox.path, max_items=config.outbox.max_items)),
        checkpoint=Checkpoint(config.ingest.checkpoint_dir),
        metrics=Metrics(),
        reports=reports_dir(config) if config.store.enabled else None,
    )


def live_server(config: MonitorConfig, daemon: Daemon) -> HealthServer:
    """/healthz, /metrics and the live page on http.host:port (bound now, served once started)."""
    c = config.http
    page = LivePage(
        daemon.live, health=daemon.health, writers=daemon.delivery.writers,
        store=config.store.path if config.store.enabled else None, detailed=is_loopback(c.host),
        reports=daemon.reports.root if daemon.reports else None,
    )  # fmt: skip
    return HealthServer(
        c.host, c.port, health=daemon.health, metrics=daemon.metrics.render, routes=page,
        token=c.token.get_secret_value() if c.token else None, max_connections=c.max_connections,
        timeout_s=c.timeout_s,
    )  # fmt: skip


def run_service(config_path: Path | None) -> int:
    """Run until SIGTERM / SIGINT; exit 0 after draining and flushing. What stops it from starting (bad
    config, unwritable folder, second instance, port in use) raises StartupError: exit 2, one line."""
    config = load_config(config_path)
    setup_logging(config.logging.level, config.logging.format)
    require([*folder_checks(config), *model_checks(config)])
    lock = StateLock(state_folders(config)).acquire()  # before the port: a second instance says so
    try:
        return _serve(config, config_path)
    finally:
        lock.release()


def _serve(config: MonitorConfig, config_path: Path | None) -> int:
    require(port_check(config))
    try:
        daemon = build_daemon(config)
    except (OSError, sqlite3.Error) as exc:
        raise StartupError(f"cannot open the daemon's state: {exc}") from None
    http = None
    if config.http.enabled:
        try:
            http = live_server(config, daemon)
        except OSError as exc:
            where = f"{config.http.host}:{config.http.port}"
            raise StartupError(f"http: cannot listen on {where}: {exc.strerror or exc}") from None

    def on_term(signum: int, _frame: object) -> None:
        log.info("signal %d: stopping", signum)
        daemon.stop_event.set()

    def on_hup(_signum: int, _frame: object) -> None:
        try:
            fresh = load_config(config_path)
        except Exception as exc:
            log.error("reload refused, keeping the running config: %s", exc)
            return
        logging.getLogger().setLevel(fresh.logging.level)
        log.info("reloaded: log level %s (other changes need a restart)", fresh.logging.level)

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)
    signal.signal(signal.SIGHUP, on_hup)
    if http is not None:
        http.start()
    daemon.start()
    notify("READY=1")
    interval = watchdog_interval_s()
    while not daemon.stop_event.wait(interval or 1.0):
        if interval and daemon.health().alive:
            notify("WATCHDOG=1")
    notify("STOPPING=1")
    stopper = threading.Thread(target=daemon.stop, name="stop")
    stopper.start()
    stopper.join()
    if http is not None:
        http.stop()
    return 0
