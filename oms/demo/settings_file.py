"""The demo's own settings file: the base file (``OMS_CONFIG``, else ``config/oms.toml``) with
the demo's data directory and the ports it runs on, everything else (venues, instruments,
accounts, limits) unchanged, comments kept.

Ports: each process keeps its default port when that port is free; a busy one is replaced by
a free port and the change is reported, so the demo runs beside a developer's gateway.
"""

from __future__ import annotations

import errno
import re
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from oms.settings import SettingsFile, parse_settings_file

KeyPath = tuple[str | int, ...]
"""A key in the file: ``("engine", "health_port")``, ``("venues", 0, "port")``."""

_HEADER = re.compile(r"^\s*(\[\[?)\s*([A-Za-z0-9_.\-]+)\s*\]\]?\s*(#.*)?$")
_KEY = re.compile(r"^\s*([A-Za-z0-9_\-]+)\s*=")


@dataclass(frozen=True, slots=True)
class PortChoice:
    role: str
    """What listens there: ``venue simulator``, ``FIX client acceptor``, ``admin pages``..."""
    default: int
    chosen: int

    @property
    def moved(self) -> bool:
        return self.chosen != self.default


def port_is_free(port: int, host: str = "0.0.0.0") -> bool:  # noqa: S104 - a probe, closed at once
    """Whether a server could listen on ``port`` now (on any address: a listener on one
    address of the port also blocks the wildcard)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno in (errno.EADDRINUSE, errno.EACCES):
                return False
            raise
    return True


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def choose_ports(defaults: Mapping[str, int], *, any_free: bool = False) -> dict[str, PortChoice]:
    """For each role, its default port if free (and ``any_free`` is off), else a free port."""
    taken: set[int] = set()
    choices: dict[str, PortChoice] = {}
    for role, default in defaults.items():
        port = default
        if any_free or default in taken or not port_is_free(default):
            port = free_port()
            while port in taken:
                port = free_port()
        taken.add(port)
        choices[role] = PortChoice(role, default, port)
    return choices


def default_ports(settings: SettingsFile, venue: str) -> dict[str, int]:
    """The ports the demo's processes listen on, by role, as the base file has them."""
    ports = {
        "venue simulator": settings.venue(venue).port,
        "gateway metrics": settings.engine.metrics_port,
        "gateway health": settings.engine.health_port,
        "admin pages": int(settings.admin.bind.rsplit(":", 1)[1]),
    }
    for client in settings.fix_clients:
        ports[f"FIX client acceptor {client.sender_comp_id}"] = client.port
    return ports


def demo_settings_text(
    base_text: str, settings: SettingsFile, venue: str, ports: Mapping[str, PortChoice],
    data_dir: Path,
) -> str:
    """The base file's text with the demo's ports and data directory."""
    venue_index = next(i for i, v in enumerate(settings.venues) if v.name == venue)
    admin_host = settings.admin.bind.rsplit(":", 1)[0]
    values: dict[KeyPath, str] = {
        ("engine", "data_dir"): _toml_string(str(data_dir)),
        ("engine", "metrics_port"): str(ports["gateway metrics"].chosen),
        ("engine", "health_port"): str(ports["gateway health"].chosen),
        ("admin", "bind"): _toml_string(f"{admin_host}:{ports['admin pages'].chosen}"),
        ("venues", venue_index, "port"): str(ports["venue simulator"].chosen),
    }
    for i, client in enumerate(settings.fix_clients):
        values[("fix_clients", i, "port")] = str(
            ports[f"FIX client acceptor {client.sender_comp_id}"].chosen
        )
    return set_values(base_text, values)


def set_values(text: str, values: Mapping[KeyPath, str]) -> str:
    """Replace the value of each key (a TOML literal, given as text) where it stands; a key
    missing from its table is added at the table's start, and a missing ``[table]`` at the end
    of the file. Only keys directly under ``[table]`` and ``[[array]]`` headers are addressed."""
    lines = text.splitlines()
    pending = dict(values)
    for table, start, end in reversed(_tables(lines)):
        for path in [p for p in pending if p[:-1] == table]:
            line = f"{path[-1]} = {pending.pop(path)}"
            for i in range(start + 1, end):
                key = _KEY.match(lines[i])
                if key and key.group(1) == path[-1]:
                    lines[i] = line
                    break
            else:
                lines.insert(start + 1, line)
    for table in sorted({p[:-1] for p in pending}, key=str):
        if any(isinstance(part, int) for part in table):
            raise ValueError(f"the file has no {table} table to set {pending} in")
        lines += ["", f"[{'.'.join(map(str, table))}]"]
        lines += [f"{p[-1]} = {pending.pop(p)}" for p in list(pending) if p[:-1] == table]
    return "\n".join(lines) + "\n"


def _tables(lines: list[str]) -> list[tuple[KeyPath, int, int]]:
    """Each table header of the file: its key path, its line and the line its table ends."""
    headers: list[tuple[KeyPath, int]] = []
    counters: dict[str, int] = {}
    for i, line in enumerate(lines):
        header = _HEADER.match(line)
        if header is None:
            continue
        name = header.group(2)
        if header.group(1) == "[[":
            counters[name] = counters.get(name, -1) + 1
            headers.append(((name, counters[name]), i))
        else:
            headers.append((tuple(name.split(".")), i))
    ends = [i for _, i in headers[1:]] + [len(lines)]
    return [(path, start, end) for (path, start), end in zip(headers, ends, strict=True)]


def _toml_string(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def write_demo_settings(
    base_path: Path, target: Path, venue: str, *, any_free_port: bool = False,
) -> tuple[SettingsFile, dict[str, PortChoice]]:
    """Write the demo's settings file to ``target`` and return it parsed, with the ports."""
    base_text = base_path.read_text(encoding="utf-8")
    base = parse_settings_file(base_text, base_path)
    ports = choose_ports(default_ports(base, venue), any_free=any_free_port)
    data_dir = target.parent / "data"
    text = demo_settings_text(base_text, base, venue, ports, data_dir)
    demo = parse_settings_file(text, target)
    if demo.engine.health_port != ports["gateway health"].chosen or Path(
        demo.engine.data_dir
    ) != data_dir:
        raise ValueError(f"could not rewrite {base_path} for the demo")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")
    return demo, ports
