"""Fault injection, start-up rows of issue 16: `furnace-monitor run` on a machine that is not ready (a
folder it cannot write, a second instance on the same state folder, the HTTP port in use, a config it must
refuse). Each test says what was fed and what the user must see: exit 2, one line on stderr through
logging, no traceback, no secret. The real command runs as a subprocess where the process matters (a
permission, a second process); elsewhere main(argv) in-process, which maps errors to exit codes the same
way."""

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from monitor.cli import main
from monitor.config import StartupError, load_config
from monitor.service.lock import LOCK_NAME, StateLock, state_folders
from tests.services import wait_until

pytestmark = pytest.mark.faults

REPO = Path(__file__).resolve().parents[2]
SECRET = "hunter2-s3cret"


def write_config(folder: Path, *, http: str = "{enabled: false}", **sections: str) -> Path:
    """A config for `run` whose state lives in `folder`; no broker needed (MQTT off)."""
    (folder / "frames").mkdir(exist_ok=True)
    base = {
        "ingest": f"{{watch_dir: {folder / 'frames'}, checkpoint_dir: {folder / 'state' / 'ckpt'}}}",
        "outbox": f"{{path: {folder / 'state' / 'outbox.sqlite'}}}",
        "store": f"{{path: {folder / 'state' / 'store.sqlite'}}}",
        "mqtt": "{enabled: false}",
        "http": http,
        **sections,
    }
    path = folder / "monitor.yaml"
    path.write_text("".join(f"{k}: {v}\n" for k, v in base.items()), encoding="utf-8")
    return path


def one_error_line(err: str) -> str:
    """stderr holds exactly one line, an ERROR log record, and no traceback; its message."""
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert " ERROR furnace-monitor: " in lines[0], lines[0]
    return lines[0].split(" ERROR furnace-monitor: ", 1)[1]


def run_cli(config: Path, prefix: tuple[str, ...] = ()) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [*prefix, sys.executable, "-m", "monitor", "run", "-c", str(config)],
        capture_output=True, text=True, timeout=120, env=env, cwd=config.parent,
    )  # fmt: skip


def in_process_run(config: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(["run", "-c", str(config)])
    out, err = capsys.readouterr()
    assert out == ""
    return code, err


# ---- unwritable folders --------------------------------------------------------------------------------


@pytest.fixture
def shared_tmp() -> Iterator[Path]:
    """A folder a process without root's file powers can reach (pytest's tmp_path is private to root)."""
    folder = Path(tempfile.mkdtemp(prefix="faults-startup-"))
    folder.chmod(0o755)
    yield folder
    for path in folder.rglob("*"):
        if path.is_dir():
            path.chmod(0o755)
    shutil.rmtree(folder)


def test_run_with_a_store_folder_it_cannot_write_exits_2(shared_tmp: Path) -> None:
    """Fed: store.path in a read-only folder (mode 0555; as root, run without CAP_DAC_OVERRIDE, so the mode
    applies as it does to the service user). Before: a traceback, exit 1. Seen: exit 2 and one line naming
    store.path, the folder and the fix."""
    prefix: tuple[str, ...] = ()
    if os.geteuid() == 0:
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            pytest.skip("setpriv (util-linux) is needed to drop root's file powers")
        prefix = (setpriv, "--bounding-set=-dac_override,-dac_read_search", "--")
    locked = shared_tmp / "locked"
    locked.mkdir(mode=0o555)
    locked.chmod(0o555)
    config = write_config(shared_tmp, store=f"{{path: {locked / 'store.sqlite'}}}")
    done = run_cli(config, prefix)
    assert done.returncode == 2, done.stderr
    assert one_error_line(done.stderr) == (
        f"store.path: cannot write in {locked}: Permission denied "
        f"(make {locked} writable by this user, or set store.path elsewhere)"
    )
    assert not (shared_tmp / "state").exists(), "nothing is created before the checks pass"


def test_run_with_an_unusable_checkpoint_folder_exits_2(tmp_path: Path, capsys) -> None:
    """Fed: ingest.checkpoint_dir where a file stands (before: the daemon started, every frame failed with a
    traceback and /healthz said ready). Seen: exit 2, one line naming ingest.checkpoint_dir."""
    (tmp_path / "file").write_text("", encoding="utf-8")
    config = write_config(
        tmp_path, ingest=f"{{watch_dir: {tmp_path}, checkpoint_dir: {tmp_path / 'file' / 'ck'}}}"
    )
    code, err = in_process_run(config, capsys)
    assert code == 2
    assert one_error_line(err).startswith(f"ingest.checkpoint_dir: {tmp_path / 'file'} is not a folder")


def test_run_without_the_frames_folder_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Fed: an ingest.watch_dir that does not exist. Seen: exit 2, one line saying so and what to do."""
    config = write_config(tmp_path, ingest=f"{{watch_dir: {tmp_path / 'camera'}}}")
    code, err = in_process_run(config, capsys)
    assert code == 2
    assert one_error_line(err).startswith(
        f"ingest.watch_dir: {tmp_path / 'camera'} does not exist (create it"
    )


# ---- a second instance ---------------------------------------------------------------------------------


def test_a_second_instance_on_the_same_state_folder_exits_2_naming_the_first(tmp_path: Path) -> None:
    """Fed: `run` started twice on one config (before: tracebacks from SQLite and the port, exit 1). Seen:
    the second exits 2 with one line giving the first one's pid and what to do; the first keeps running.
    After the first is killed (SIGKILL: no clean-up), the state folder can be taken again at once."""
    config = write_config(tmp_path)
    lock_file = tmp_path / "state" / "ckpt" / LOCK_NAME
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    first = subprocess.Popen(
        [sys.executable, "-m", "monitor", "run", "-c", str(config)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, cwd=tmp_path,
    )  # fmt: skip
    try:
        wait_until(
            lambda: lock_file.is_file() and lock_file.read_text().strip() == str(first.pid),
            "the first's lock",
            120,
        )
        second = run_cli(config)
        assert second.returncode == 2
        message = one_error_line(second.stderr)
        assert message.startswith(
            f"another furnace-monitor (pid {first.pid}) is running on the state folder "
        )
        assert "stop it first" in message
        assert first.poll() is None, "the first instance must not be disturbed"
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=30)
    lock = StateLock(state_folders(load_config(config, env={}))).acquire()
    try:
        assert lock_file.read_text().strip() == str(os.getpid())
    finally:
        lock.release()


def test_the_lock_names_its_holder_within_one_process_too(tmp_path: Path) -> None:
    """flock is per open file: a second StateLock on the same folders fails even in the same process, and
    says which pid holds it; released, it can be taken again."""
    config = load_config(write_config(tmp_path), env={})
    first = StateLock(state_folders(config)).acquire()
    with pytest.raises(StartupError, match=rf"another furnace-monitor \(pid {os.getpid()}\)"):
        StateLock(state_folders(config)).acquire()
    first.release()
    StateLock(state_folders(config)).acquire().release()


# ---- the HTTP port -------------------------------------------------------------------------------------


def test_run_with_the_http_port_in_use_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Fed: http.port taken by another program (before: a traceback, exit 1). Seen: exit 2, one line with
    the address and how to find the other program; the state lock is released for the next try."""
    with socket.create_server(("127.0.0.1", 0)) as busy:
        port = busy.getsockname()[1]
        config = write_config(tmp_path, http=f"{{host: 127.0.0.1, port: {port}}}")
        code, err = in_process_run(config, capsys)
    assert code == 2
    assert one_error_line(err) == (
        f"http port: 127.0.0.1:{port} in use by another program "
        f"(stop what listens there (ss -ltnp 'sport = :{port}') or change http.port)"
    )
    StateLock(state_folders(load_config(config, env={}))).acquire().release()


# ---- configs `run` must refuse -------------------------------------------------------------------------


def test_run_refuses_a_url_with_a_password_without_logging_it(tmp_path: Path, capsys) -> None:
    """Fed: influx.url with user:password@ (before: accepted; the password reached the logs and /healthz).
    Seen: exit 2, one line pointing at FURNACE_INFLUX_TOKEN, and the password nowhere."""
    config = write_config(tmp_path, influx=f"{{url: 'http://admin:{SECRET}@db:8086'}}")
    code, err = in_process_run(config, capsys)
    assert code == 2
    message = one_error_line(err)
    assert SECRET not in err
    assert message.startswith(f"{config}: influx.url: the URL carries credentials")


def test_run_refuses_a_wildcard_discovery_prefix(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Fed: mqtt.homeassistant.prefix "home+assistant/#" (before: accepted, on_connect raised, health blamed
    the broker). Seen: exit 2, one line naming the key and the wildcard."""
    config = write_config(tmp_path, mqtt='{homeassistant: {enabled: true, prefix: "home+assistant/#"}}')
    code, err = in_process_run(config, capsys)
    assert code == 2
    assert "mqtt.homeassistant.prefix: a wildcard ('+') is not allowed in an MQTT topic" in one_error_line(
        err
    )


def test_a_missing_or_hostile_config_is_exit_2_for_every_command(tmp_path: Path, capsys) -> None:
    """Fed: a config path that does not exist to `run`, and a non-UTF-8 one to `digitize`. Seen: exit 2 and
    one line each (the single StartupError path of the CLI)."""
    missing = tmp_path / "nope.yaml"
    assert main(["run", "-c", str(missing)]) == 2
    assert (
        one_error_line(capsys.readouterr().err)
        == f"{missing}: <file>: cannot read: No such file or directory"
    )
    latin = tmp_path / "latin.yaml"
    latin.write_bytes(b"rig: r\xe9\n")
    assert main(["digitize", str(tmp_path), "-o", str(tmp_path / "t.csv"), "-c", str(latin), "-q"]) == 2
    assert "not UTF-8 text" in one_error_line(capsys.readouterr().err)


def test_check_config_beside_the_running_service_names_it_as_the_port_holder(tmp_path: Path, capsys) -> None:
    """Fed: check-config on the config of a service that runs (it holds the state lock and the port).
    Seen: the port check is OK and names the running pid, not "in use by another program"."""
    with socket.create_server(("127.0.0.1", 0)) as busy:
        port = busy.getsockname()[1]
        config = write_config(tmp_path, http=f"{{host: 127.0.0.1, port: {port}}}")
        hold = (
            "import sys, time; from pathlib import Path; from monitor.service.lock import StateLock;"
            "StateLock([Path(sys.argv[1])]).acquire(); print('held', flush=True); time.sleep(120)"
        )
        holder = subprocess.Popen(
            [sys.executable, "-c", hold, str(tmp_path / "state" / "ckpt")],
            stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(REPO)},
        )  # fmt: skip
        try:
            assert holder.stdout is not None and holder.stdout.readline() == "held\n"
            assert main(["check-config", "-c", str(config)]) == 0
        finally:
            holder.kill()
            holder.wait(timeout=30)
    lines = capsys.readouterr().out.splitlines()
    assert (
        f"OK   http port: 127.0.0.1:{port} in use by the running furnace-monitor (pid {holder.pid})" in lines
    )
