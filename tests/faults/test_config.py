"""Fault injection, config rows of issue 16: hostile or broken config files. Each test says what was fed and
what the user must see: exit 2, a short reason naming the key or the line, no traceback, nothing of a secret
and nothing of the input echoed at length."""

import socket
import subprocess
import sys
from pathlib import Path

import pytest

from monitor.cli import main
from monitor.config import ConfigError, load_config
from monitor.config.yaml_source import MAX_ALIASES, MAX_BYTES, MAX_NODES
from tests.services import free_port

pytestmark = pytest.mark.faults

SECRET = "hunter2-s3cret"


def laughs(levels: int) -> str:
    """The "billion laughs": each level a list of 9 aliases of the level above (9**levels strings)."""
    lines = ['l0: &l0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for n in range(1, levels):
        lines.append(f"l{n}: &l{n} [" + ",".join([f"*l{n - 1}"] * 9) + "]")
    return "\n".join(lines) + "\n"


def check_config(path: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, str, str]:
    code = main(["check-config", "-c", str(path), *extra])
    out, err = capsys.readouterr()
    return code, out, err


def refused(path: Path, capsys: pytest.CaptureFixture[str]) -> str:
    """check-config on `path`: exit 2, the error count then one line per error, no traceback; the reasons."""
    code, out, err = check_config(path, capsys)
    assert code == 2, out + err
    assert out == ""
    assert "Traceback" not in err
    head, *reasons = err.splitlines()
    assert head == f"{path}: {len(reasons)} error(s)"
    return "\n".join(reasons)


def test_billion_laughs_is_refused_in_a_moment_without_echo(tmp_path: Path) -> None:
    """Fed: a 9-level billion-laughs file (~600 bytes; 9**9 strings once expanded), the one that took > 60 s
    and 2.8 GB. The user sees, from the real command: exit 2, one line naming the expansion, a short
    stderr, no traceback."""
    bomb = tmp_path / "laughs.yaml"
    bomb.write_text(laughs(9), encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "monitor", "check-config", "-c", str(bomb)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 2
    assert done.stdout == ""
    assert "Traceback" not in done.stderr
    assert done.stderr.splitlines() == [
        f"{bomb}: 1 error(s)",
        f"  <yaml>: refused: the YAML expands to more than {MAX_NODES} values through its aliases",
    ]


def test_seven_level_laughs_under_the_alias_budget_are_refused_by_size(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Fed: the 7-level file (54 aliases, under the alias budget) that gave 34 MB of error text. Seen: one
    short reason; the error text is under 200 bytes."""
    bomb = tmp_path / "laughs7.yaml"
    bomb.write_text(laughs(7), encoding="utf-8")
    reasons = refused(bomb, capsys)
    assert "expands to more than" in reasons
    assert len(reasons) < 200


def test_many_aliases_are_refused_while_composing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Fed: a flat list of more aliases than the budget (no deep expansion). Seen: the alias count."""
    many = tmp_path / "aliases.yaml"
    many.write_text("x: &x 1\ny: [" + ",".join(["*x"] * (MAX_ALIASES + 1)) + "]\n", encoding="utf-8")
    assert f"more than {MAX_ALIASES} YAML aliases" in refused(many, capsys)


def test_a_few_aliases_are_still_fine(tmp_path: Path) -> None:
    """A hand-written config may use an anchor or two: the same values twice."""
    fine = tmp_path / "fine.yaml"
    fine.write_text(
        "overlay:\n  box: &b {x: 1, y: 2, width: 90, height: 50}\nanalytics:\n  sample_roi: *b\n", "utf-8"
    )
    config = load_config(fine, env={})
    assert config.analytics.sample_roi == config.overlay.box


def test_a_recursive_alias_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Fed: `a: &a [*a]`, a list that holds itself. Seen: one line, not a RecursionError."""
    loop = tmp_path / "loop.yaml"
    loop.write_text("a: &a [*a]\n", encoding="utf-8")
    assert "refers to its own anchor" in refused(loop, capsys)


def test_deep_nesting_is_refused_not_a_recursion_traceback(tmp_path: Path, capsys) -> None:
    """Fed: 20 000 nested flow lists (40 KB). Seen: 'nested too deeply', no RecursionError traceback."""
    deep = tmp_path / "deep.yaml"
    deep.write_text("a: " + "[" * 3000 + "]" * 3000 + "\n", encoding="utf-8")
    assert "not valid YAML: nested too deeply" in refused(deep, capsys)


def test_a_file_over_the_size_limit_is_refused_unread(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Fed: a valid-looking YAML file one byte over the limit (a log file given by mistake). Seen: the
    limit, nothing of the content."""
    big = tmp_path / "big.yaml"
    big.write_text("# " + "x" * (MAX_BYTES - 8) + "\n" + "rig: r", encoding="utf-8")
    assert big.stat().st_size == MAX_BYTES + 1
    assert refused(big, capsys) == f"  <file>: larger than {MAX_BYTES // 1024} KB; not a config"


def test_non_utf8_text_is_refused_with_the_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Fed: a config saved as Latin-1 (an 'é' on line 2). Seen: not UTF-8, the byte and the line; before,
    a UnicodeDecodeError traceback and exit 1."""
    latin = tmp_path / "latin1.yaml"
    latin.write_bytes("rig: rig1\n# réglage du four\n".encode("latin-1"))
    assert refused(latin, capsys) == "  <file>: not UTF-8 text (byte 0xe9 on line 2); save the file as UTF-8"


def test_a_control_character_is_refused_by_position(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Fed: a NUL byte in the file (valid UTF-8, not valid YAML). Seen: its code and offset."""
    nul = tmp_path / "nul.yaml"
    nul.write_bytes(b"rig: ri\x00g1\n")
    assert "character #x0000 at offset 7 is not allowed" in refused(nul, capsys)


def test_a_yaml_error_names_the_line_without_quoting_the_input(tmp_path: Path, capsys) -> None:
    """Fed: an unclosed list on a line holding 5000 characters. Seen: line and column, PyYAML's reason, and
    none of the line (PyYAML's message would show it)."""
    broken = tmp_path / "broken.yaml"
    broken.write_text("rig: rig1\nmqtt: {host: " + "h" * 5000 + "\n  port: [1\n", encoding="utf-8")
    reasons = refused(broken, capsys)
    assert reasons.startswith("  line ")
    assert "hhhhhhhhhh" not in reasons
    assert len(reasons) < 300


def test_a_long_value_is_quoted_cut_short(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Fed: rig: 100 000 characters. Seen: the pattern error with the value cut to 60 characters."""
    long = tmp_path / "long.yaml"
    long.write_text("rig: " + "r" * 100_000 + "\n", encoding="utf-8")
    reasons = refused(long, capsys)
    assert "rig: String should match pattern" in reasons
    assert len(reasons) < 200


@pytest.mark.parametrize(
    "url",
    [
        f"http://admin:{SECRET}@db.example:8086",
        f"https://{SECRET}@db.example",
        f"ftp://u:{SECRET}@db.example",
    ],
)
def test_a_url_carrying_credentials_is_refused_without_showing_them(
    url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Fed: influx.url with user:password@ (which got round the no-inline-secrets rule and showed the
    password in the logs and on /healthz). Seen: refused, pointing at the env variable or the token file;
    the password appears nowhere."""
    config = tmp_path / "cred.yaml"
    config.write_text(f"influx:\n  url: {url}\n", encoding="utf-8")
    reasons = refused(config, capsys)
    assert SECRET not in reasons
    assert reasons.startswith("  influx.url:")
    if url.startswith("http"):
        assert "FURNACE_INFLUX_TOKEN or influx.token_file" in reasons


def test_a_broker_host_with_credentials_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Fed: mqtt.host as a URL with a password. Seen: host name only, the password from the environment."""
    config = tmp_path / "host.yaml"
    config.write_text(f"mqtt:\n  host: mqtt://op:{SECRET}@broker\n", encoding="utf-8")
    reasons = refused(config, capsys)
    assert SECRET not in reasons
    assert "FURNACE_MQTT_PASSWORD" in reasons


@pytest.mark.parametrize(
    ("key", "value", "reason"),
    [
        ("mqtt.homeassistant.prefix", "home+assistant/#", "a wildcard ('+')"),
        ("mqtt.homeassistant.prefix", "homeassistant/#", "a wildcard ('#')"),
        ("mqtt.base_topic", "plant/+", "a wildcard ('+')"),
        ("mqtt.base_topic", "$SYS/furnace", "reserved by the broker"),
        ("mqtt.base_topic", "plant//furnace", "no empty topic level"),
        ("mqtt.base_topic", "/plant", "no empty topic level"),
        ("mqtt.homeassistant.prefix", "/", "no empty topic level"),
        ("mqtt.base_topic", "plant\\x00", "a control character"),
        ("mqtt.homeassistant.prefix", "home\\tassistant", "a control character"),
        ("rig", "rig/1", "should match pattern"),
        ("rig", "rig#", "should match pattern"),
    ],
)
def test_topic_fields_refuse_what_mqtt_forbids(
    key: str, value: str, reason: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Fed: a topic-like field with a wildcard, NUL, '$' or an empty level (before, the HA prefix was
    accepted, on_connect raised and health blamed "broker down"). Seen: the key and why."""
    *parents, leaf = key.split(".")
    text = (
        "".join(f"{'  ' * i}{p}:\n" for i, p in enumerate(parents))
        + f'{"  " * len(parents)}{leaf}: "{value}"\n'
    )
    config = tmp_path / "topic.yaml"
    config.write_text(text, encoding="utf-8")
    reasons = refused(config, capsys)
    assert reasons.startswith(f"  {key}: ")
    assert reason in reasons


def test_good_topics_still_pass(tmp_path: Path) -> None:
    config = tmp_path / "ok.yaml"
    config.write_text('mqtt:\n  base_topic: "plant 2/furnaces"\n  homeassistant: {prefix: ha/}\n', "utf-8")
    loaded = load_config(config, env={})
    assert loaded.mqtt.base_topic == "plant 2/furnaces"
    assert loaded.mqtt.homeassistant.prefix == "ha/"  # one trailing '/': the sink strips it


def test_every_refusal_is_one_config_error_a_caller_can_catch(tmp_path: Path) -> None:
    """The library raises ConfigError (a StartupError) for every row above: the CLI's single exit-2 path."""
    for name, data in {
        "laughs": laughs(9).encode(),
        "latin": b"rig: r\xe9\n",
        "big": b"#" * (MAX_BYTES + 1),
    }.items():
        path = tmp_path / f"{name}.yaml"
        path.write_bytes(data)
        with pytest.raises(ConfigError):
            load_config(path, env={})


# ---- check-config checks the machine ------------------------------------------------------------------


def machine_config(tmp_path: Path, **sections: str) -> Path:
    """A config whose folders are usable in tmp_path; `sections` replaces whole sections (YAML flow text)."""
    (tmp_path / "frames").mkdir(exist_ok=True)
    base = {
        "ingest": f"{{watch_dir: {tmp_path / 'frames'}, checkpoint_dir: {tmp_path / 'ckpt'}}}",
        "outbox": f"{{path: {tmp_path / 'outbox.sqlite'}}}",
        "store": f"{{path: {tmp_path / 'store.sqlite'}}}",
        "http": f"{{port: {free_port()}}}",
        **sections,
    }
    path = tmp_path / "monitor.yaml"
    path.write_text("".join(f"{k}: {v}\n" for k, v in base.items()), encoding="utf-8")
    return path


def failed_lines(code: int, out: str, err: str) -> list[str]:
    assert code == 2, out + err
    assert "Traceback" not in out + err
    return [line for line in out.splitlines() if line.startswith("FAIL")]


def test_check_config_fails_an_unwritable_store(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Fed: store.path inside something that is a file, not a folder (before: check-config said OK and
    `run` ended in a traceback). Seen: FAIL store.path with what to fix, exit 2; the other checks still OK."""
    (tmp_path / "not-a-folder").write_text("", encoding="utf-8")
    config = machine_config(tmp_path, store=f"{{path: {tmp_path / 'not-a-folder' / 'store.sqlite'}}}")
    code, out, err = check_config(config, capsys)
    assert failed_lines(code, out, err) == [
        f"FAIL store.path: {tmp_path / 'not-a-folder'} is not a folder -> make {tmp_path / 'not-a-folder'} "
        "writable by this user, or set store.path elsewhere"
    ]
    assert sum(line.startswith("OK   ") for line in out.splitlines()) == 5


def test_check_config_fails_a_missing_frames_folder_and_a_busy_port(tmp_path: Path, capsys) -> None:
    """Fed: a watch_dir that does not exist and an http.port another program listens on. Seen: a FAIL line
    for each, with the fix."""
    with socket.create_server(("127.0.0.1", 0)) as busy:
        port = busy.getsockname()[1]
        config = machine_config(
            tmp_path, ingest=f"{{watch_dir: {tmp_path / 'nope'}}}", http=f"{{host: 127.0.0.1, port: {port}}}"
        )
        code, out, err = check_config(config, capsys)
    failed = failed_lines(code, out, err)
    assert failed[0].startswith(f"FAIL ingest.watch_dir: {tmp_path / 'nope'} does not exist -> create it")
    assert failed[1].startswith(f"FAIL http port: 127.0.0.1:{port} in use by another program -> stop what")
    assert len(failed) == 2


def test_check_config_fails_missing_models(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Fed: models.enabled with a models folder that holds nothing. Seen: one FAIL per missing model."""
    config = machine_config(tmp_path, models=f"{{enabled: true, dir: {tmp_path / 'models'}}}")
    code, out, err = check_config(config, capsys)
    failed = failed_lines(code, out, err)
    assert [line.split(":")[0] for line in failed] == [
        "FAIL models.temperature_progress",
        "FAIL models.forecast",
    ]
    assert "train it (furnace-monitor train" in failed[0]


def test_model_folder_names_match_the_runtime() -> None:
    """preflight names the model folders without importing torch; they must be the runtime's."""
    from monitor.nets.runtime import FORECAST_DIR, REGRESSOR_DIR
    from monitor.service.preflight import MODEL_FOLDERS

    assert MODEL_FOLDERS == (REGRESSOR_DIR, FORECAST_DIR)
