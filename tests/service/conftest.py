"""The service tests use the same real broker and database as the sink tests."""

from tests.sinks.conftest import mosquitto, mosquitto_factory  # noqa: F401
