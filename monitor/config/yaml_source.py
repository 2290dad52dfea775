"""Read a config file defensively: bounded size, UTF-8 only, a budget on YAML aliases (the "billion laughs"),
and errors that name the line without quoting the input back."""

from pathlib import Path
from typing import Any

import yaml
from yaml.events import AliasEvent
from yaml.nodes import MappingNode, Node, SequenceNode

from monitor.config.errors import ConfigError, FieldError

MAX_BYTES = 256 * 1024  # the shipped config, every key documented, is ~15 KB
MAX_ALIASES = 100  # a hand-written config uses a few; the attack needs many
MAX_NODES = 100_000  # values after expanding every alias (the shipped config: ~200)


class _TooMuch(Exception):
    pass


class _BoundedLoader(yaml.SafeLoader):
    """SafeLoader that counts aliases while composing, before anything is constructed."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.aliases = 0

    def compose_node(self, parent: Node | None, index: object) -> Node | None:
        if self.check_event(AliasEvent):
            self.aliases += 1
            if self.aliases > MAX_ALIASES:
                raise _TooMuch(f"more than {MAX_ALIASES} YAML aliases (*name); write the values out")
        return super().compose_node(parent, index)


def _expanded_size(root: Node) -> int:
    """How many values the document has once every alias is expanded, without expanding it: each node's
    size is computed once (aliases share the node) and summed along the references."""
    sizes: dict[int, int] = {}
    open_nodes: set[int] = set()

    def size(node: Node) -> int:
        key = id(node)
        if key in sizes:
            return sizes[key]
        if key in open_nodes:
            raise _TooMuch("a YAML alias refers to its own anchor (a recursive structure)")
        open_nodes.add(key)
        total = 1
        if isinstance(node, SequenceNode):
            total += sum(size(child) for child in node.value)
        elif isinstance(node, MappingNode):
            total += sum(size(k) + size(v) for k, v in node.value)
        open_nodes.discard(key)
        sizes[key] = total
        if total > MAX_NODES:
            raise _TooMuch(f"the YAML expands to more than {MAX_NODES} values through its aliases")
        return total

    return size(root)


def read_yaml(path: Path) -> Any:
    """The parsed document, or ConfigError with a one-line reason that quotes nothing from the file."""
    source = str(path)
    try:
        with path.open("rb") as f:
            raw = f.read(MAX_BYTES + 1)
    except OSError as exc:
        raise ConfigError(source, [FieldError("<file>", f"cannot read: {exc.strerror}")]) from None
    if len(raw) > MAX_BYTES:
        raise ConfigError(source, [FieldError("<file>", f"larger than {MAX_BYTES // 1024} KB; not a config")])
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        message = f"not UTF-8 text (byte 0x{raw[exc.start]:02x} on line {line}); save the file as UTF-8"
        raise ConfigError(source, [FieldError("<file>", message)]) from None
    loader = None
    try:
        loader = _BoundedLoader(text)  # the reader checks every character here
        node = loader.get_single_node()
        if node is None:
            return None
        _expanded_size(node)
        return loader.construct_document(node)
    except _TooMuch as exc:
        raise ConfigError(source, [FieldError("<yaml>", f"refused: {exc}")]) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "<yaml>"
        # problem/context are PyYAML's own words; the snippet of the input it would add is left out
        reason = "; ".join(p for p in (exc.context, exc.problem) if p)[:200]
        raise ConfigError(source, [FieldError(where, f"not valid YAML: {reason}")]) from None
    except yaml.reader.ReaderError as exc:
        message = f"not valid YAML: character #x{exc.character:04x} at offset {exc.position} is not allowed"
        raise ConfigError(source, [FieldError("<yaml>", message)]) from None
    except (yaml.YAMLError, RecursionError) as exc:
        reason = "nested too deeply" if isinstance(exc, RecursionError) else type(exc).__name__
        raise ConfigError(source, [FieldError("<yaml>", f"not valid YAML: {reason}")]) from None
    finally:
        if loader is not None:
            loader.dispose()
