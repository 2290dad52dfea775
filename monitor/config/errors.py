"""The errors a user fixes before the service can start: exit 2 with one line, never a traceback."""

import re
from dataclasses import dataclass

_USERINFO = re.compile(r"://[^/@\s]*@")


class StartupError(Exception):
    """Something outside the code stops the service or a command from starting (a bad config, a port in use,
    a folder that cannot be written, a second instance). The CLI prints the message alone and exits 2."""


@dataclass(frozen=True, slots=True)
class FieldError:
    """One problem in a config, at a dotted key path."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


class ConfigError(StartupError):
    """A config that cannot be used; `errors` holds every problem found."""

    def __init__(self, source: str, errors: list[FieldError]) -> None:
        self.source = source
        self.errors = errors
        super().__init__(f"{source}: " + "; ".join(str(e) for e in errors))


def shown(value: object, limit: int = 60) -> str:
    """A value as an error message may quote it: repr, any URL's user:password@ masked, cut to `limit`
    characters, so a hostile input is never echoed back at length."""
    text = _USERINFO.sub("://***@", repr(value))
    return text if len(text) <= limit else text[: limit - 3] + "..."
