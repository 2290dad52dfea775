"""Value checks several sections share: MQTT topic parts, and URLs or hosts that must not carry secrets."""

import re
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import AfterValidator
from pydantic_core import PydanticCustomError

# MQTT 3.1.1 / 5 (section 4.7): '+' and '#' are wildcards, forbidden in a topic name; U+0000 is forbidden;
# U+0001..U+001F and U+007F..U+009F should not appear; a leading '$' is the broker's ($SYS).
_FORBIDDEN = re.compile(r"[+#\x00-\x1f\x7f-\x9f\ud800-\udfff]")
MAX_TOPIC_BYTES = 1024  # the spec allows 65535; a prefix this long is a mistake


def _topic_prefix(value: str) -> str:
    bad = _FORBIDDEN.search(value)
    if bad:
        char = bad.group()
        what = "a wildcard" if char in "+#" else "a control character"
        raise ValueError(f"{what} ({char!r}) is not allowed in an MQTT topic")
    if value.startswith("$"):
        raise ValueError("topics starting with '$' are reserved by the broker")
    body = value.removesuffix("/")  # one trailing '/' is tolerated: the MQTT sink strips it
    if not body or body.startswith("/") or body.endswith("/") or "//" in body:
        raise ValueError("no empty topic level: no leading or double '/'")
    if value != value.strip():
        raise ValueError("no leading or trailing spaces")
    if len(value.encode("utf-8")) > MAX_TOPIC_BYTES:
        raise ValueError(f"longer than {MAX_TOPIC_BYTES} bytes")
    return value


# A topic, or the first levels of topics, the service publishes under (base topic, discovery prefix).
TopicPrefix = Annotated[str, AfterValidator(_topic_prefix)]

# Raised with this type, the loader does not quote the value back: it holds a password.
SECRET_IN_VALUE = "secret_in_value"


def _url_without_credentials(value: str) -> str:
    if "@" in urlsplit(value).netloc:
        raise PydanticCustomError(
            SECRET_IN_VALUE,
            "the URL carries credentials (user:password@): remove them; the secret goes in "
            "FURNACE_INFLUX_TOKEN or influx.token_file, a 1.x user name in influx.username",
        )
    return value


def _host_only(value: str) -> str:
    if "@" in value or "/" in value:
        raise PydanticCustomError(
            SECRET_IN_VALUE,
            "give the broker's host name or address only (no scheme, no user:password@); the password "
            "comes from FURNACE_MQTT_PASSWORD or mqtt.password_file",
        )
    return value


InfluxUrl = Annotated[str, AfterValidator(_url_without_credentials)]
BrokerHost = Annotated[str, AfterValidator(_host_only)]
