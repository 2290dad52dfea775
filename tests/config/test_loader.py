"""Config loading: defaults, the shipped file, field-level errors with key paths, secrets."""

from pathlib import Path

import pytest
import yaml

from monitor.config import ConfigError, load_config, parse_config

REPO = Path(__file__).resolve().parents[2]


def errors_of(data: object, env: dict[str, str] | None = None) -> dict[str, str]:
    with pytest.raises(ConfigError) as info:
        parse_config(data, env=env or {})
    return {e.path: e.message for e in info.value.errors}


def test_defaults_are_valid() -> None:
    config = parse_config({}, env={})
    assert config.rig == "rig1"
    assert config.mqtt.base_topic == "furnace"
    assert config.influx.api == "v1"  # the API every real test runs


def test_shipped_config_is_valid_and_equals_the_defaults() -> None:
    shipped = load_config(REPO / "config" / "monitor.yaml", env={})
    assert shipped == parse_config({}, env={})


def test_shipped_config_documents_every_key() -> None:
    text = (REPO / "config" / "monitor.yaml").read_text(encoding="utf-8")
    data = yaml.safe_load(text)

    def keys(model_cls, prefix=""):
        for name, field in model_cls.model_fields.items():
            if field.exclude:
                continue
            yield prefix + name
            ann = field.annotation
            if isinstance(ann, type) and hasattr(ann, "model_fields"):
                yield from keys(ann, prefix + name + ".")

    from monitor.config import MonitorConfig

    for key in keys(MonitorConfig):
        node = data
        for part in key.split("."):
            assert isinstance(node, dict) and part in node, f"{key} missing from config/monitor.yaml"
            node = node[part]


@pytest.mark.parametrize(
    ("data", "path", "message"),
    [
        ({"mqtt": {"usernme": "op"}}, "mqtt.usernme", "unknown key (did you mean 'username'?)"),
        ({"colour": 1}, "colour", "unknown key"),
        ({"mqtt": {"port": "eighty"}}, "mqtt.port", "valid integer"),
        ({"mqtt": {"port": 70000}}, "mqtt.port", "less than or equal to 65535"),
        ({"rig": "rig 1"}, "rig", "should match pattern"),
        ({"influx": {"api": "v3"}}, "influx.api", "'v2' or 'v1'"),
        ({"ingest": {"settle_s": -1}}, "ingest.settle_s", "greater than or equal to 0"),
        ({"analytics": {"confirm_frames": 0}}, "analytics.confirm_frames", "greater than or equal to 1"),
        ({"ocr": {"plausibility": {"t_min_c": 900, "t_max_c": 800}}}, "ocr.plausibility", "must be below"),
        ({"overlay": {"lines": [{"x": 0}]}}, "overlay", "must hold 3 boxes"),
        ({"alerts": {"events": ["boiling"]}}, "alerts.events.0", "crystallization_start"),
        ({"influx": {"enabled": True, "api": "v1"}}, "influx.database", "required when api is v1"),
        ({"mqtt": {"password": "hunter2"}}, "mqtt.password", "set FURNACE_MQTT_PASSWORD"),
        ({"influx": {"token": "abc"}}, "influx.token", "set FURNACE_INFLUX_TOKEN"),
        ([1, 2], "<root>", "expected a mapping"),
    ],
)
def test_field_errors_name_the_key(data: object, path: str, message: str) -> None:
    errors = errors_of(data)
    assert path in errors, errors
    assert message in errors[path]


def test_every_error_is_reported_at_once() -> None:
    errors = errors_of({"mqtt": {"port": 0, "keepalive_s": 1}, "http": {"port": -1}})
    assert set(errors) == {"mqtt.port", "mqtt.keepalive_s", "http.port"}


def test_missing_mqtt_password_is_an_error() -> None:
    errors = errors_of({"mqtt": {"username": "operator"}})
    assert errors == {
        "mqtt.password": "username 'operator' is set but no password was found: "
        "set FURNACE_MQTT_PASSWORD or mqtt.password_file"
    }


def test_missing_influx_token_is_an_error() -> None:
    errors = errors_of({"influx": {"enabled": True, "api": "v2", "org": "lab", "bucket": "furnace"}})
    assert errors == {"influx.token": "api v2 needs a token: set FURNACE_INFLUX_TOKEN or influx.token_file"}


def test_secrets_come_from_the_environment() -> None:
    config = parse_config(
        {
            "mqtt": {"username": "operator"},
            "influx": {"enabled": True, "api": "v2", "org": "lab", "bucket": "b"},
        },
        env={"FURNACE_MQTT_PASSWORD": "s3cret", "FURNACE_INFLUX_TOKEN": "tok"},
    )
    assert config.mqtt.password is not None and config.mqtt.password.get_secret_value() == "s3cret"
    assert config.influx.token is not None and config.influx.token.get_secret_value() == "tok"
    assert "s3cret" not in repr(config) and "s3cret" not in config.model_dump_json()


def test_secret_from_file_and_env_wins(tmp_path: Path) -> None:
    secret = tmp_path / "mqtt.pass"
    secret.write_text("from-file\n", encoding="utf-8")
    data = {"mqtt": {"username": "operator", "password_file": str(secret)}}
    assert parse_config(data, env={}).mqtt.password.get_secret_value() == "from-file"
    from_env = parse_config(data, env={"FURNACE_MQTT_PASSWORD": "from-env"})
    assert from_env.mqtt.password.get_secret_value() == "from-env"


def test_unreadable_secret_file_is_named(tmp_path: Path) -> None:
    missing = tmp_path / "nope"
    errors = errors_of({"mqtt": {"username": "op", "password_file": str(missing)}})
    assert f"cannot read {missing}" in errors["mqtt.password_file"]


def test_yaml_syntax_error_gives_the_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("rig: rig1\nmqtt:\n  port: [1883\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(path, env={})
    assert info.value.errors[0].path.startswith("line ")
    assert "not valid YAML" in info.value.errors[0].message


def test_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "absent.yaml", env={})
