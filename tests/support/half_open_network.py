"""A network path to the real PostgreSQL that a test can break without closing anything.

A half-open connection is one whose peer is gone while this end still holds an open socket:
the server's host died, or a firewall, NAT or link between the two lost the connection. No FIN
and no RST arrive; what this end sends is never acknowledged and nothing comes back. On
loopback that cannot happen: the kernel acknowledges every segment and answers keepalive
probes, so a userspace proxy that merely stops forwarding models a *hung server* (the TCP
peer is there, PostgreSQL does not answer), not a *gone peer*, and the client's TCP timeouts
never fire.

A gone peer needs a link that drops packets. ``HalfOpenPath`` makes one:

    client (this process, root namespace)
      --> near address (veth, root side) ===== far address (veth, in a namespace of its own)
      --> the relay's listening socket, in that namespace
      --> 127.0.0.1:5432, the real PostgreSQL (root namespace, where it listens)

The relay's listening socket is made inside the far namespace (``setns`` on a throwaway
thread), so the sockets it accepts are the server's end of each connection as the client's
kernel sees it; its upstream connections are made in the root namespace. Like PostgreSQL,
the relay turns TCP keepalives on for each connection it accepts, with the server's settings,
or the ones the client asked for in its startup packet (``options=-c tcp_keepalives_idle=...``):
when the path is cut, the server's end of the connection then fails as PostgreSQL's would, and
the relay closes the upstream connection, which ends the backend (and its locks) as a real
server's kernel would.

Faults:

- ``cut()``: the far side of the link goes down. Every packet either way is dropped; no
  socket is closed or reset. The neighbour entries are static, so nothing answers "host
  unreachable" either: the packets just vanish, as beyond a router.
- ``cut_replies()``: only the far side's packets are dropped (a blackhole route there). What
  the client sends reaches PostgreSQL and runs; neither its answer nor an acknowledgement
  comes back (a COMMIT the client cannot know the outcome of).
  ``cut_replies_once_sent(marker)`` does it as the client sends a given statement.
- ``hang()``: the server stops answering but its host is alive: the relay keeps reading
  (the kernel acknowledges) and forwards nothing either way until ``restore()``.
- ``restore()`` mends the path; what ``hang()`` held goes on.

Needs root and iproute2 (``HalfOpenPath.available()``). Names carry the process id, so
parallel test runs do not meet.
"""

from __future__ import annotations

import ctypes
import itertools
import os
import random
import shutil
import socket
import subprocess
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import psycopg
from sqlalchemy.engine import make_url

CLONE_NEWNET = 0x40000000
NAMESPACE_PREFIX = "oms-halfopen-"
_libc = ctypes.CDLL(None, use_errno=True)
_counter = itertools.count()

SERVER_SOCKET_SETTINGS = {
    "tcp_keepalives_idle": socket.TCP_KEEPIDLE,  # s
    "tcp_keepalives_interval": socket.TCP_KEEPINTVL,  # s
    "tcp_keepalives_count": socket.TCP_KEEPCNT,
    "tcp_user_timeout": socket.TCP_USER_TIMEOUT,  # ms
}
"""The PostgreSQL settings it applies to each TCP connection's socket, in the socket option's
own unit (``0`` = the kernel's default)."""
_SSL_REQUEST, _GSSENC_REQUEST, _PROTOCOL_3 = 80877103, 80877104, 196608


def _ip(*args: str) -> str:
    done = subprocess.run(["ip", *args], check=True, capture_output=True, text=True, timeout=30)
    return done.stdout


def _remove_namespaces_of_dead_processes() -> None:
    """Those a killed test run left (its veth pair goes with its namespace)."""
    for name in (line.split()[0] for line in _ip("netns", "list").splitlines() if line):
        pid = name.removeprefix(NAMESPACE_PREFIX).split("-")[0]
        left = name.startswith(NAMESPACE_PREFIX) and pid.isdigit()
        if left and not Path(f"/proc/{pid}").exists():
            with suppress(subprocess.CalledProcessError):
                _ip("netns", "del", name)


def _in_namespace(namespace: str, make: Callable[[], socket.socket]) -> socket.socket:
    """``make()`` run on a thread of its own moved into the network namespace: the socket it
    makes belongs to that namespace for its whole life (the thread then ends)."""
    made: list[socket.socket] = []
    failed: list[BaseException] = []

    def enter_and_make() -> None:
        try:
            with open(f"/run/netns/{namespace}") as target:
                if _libc.setns(target.fileno(), CLONE_NEWNET) != 0:
                    raise OSError(ctypes.get_errno(), f"setns into {namespace}")
            made.append(make())
        except BaseException as exc:
            failed.append(exc)

    thread = threading.Thread(target=enter_and_make, name="half-open-setns")
    thread.start()
    thread.join()
    if failed:
        raise failed[0]
    return made[0]


def startup_settings(data: bytes) -> dict[str, str] | None:
    """The settings a PostgreSQL StartupMessage asks for (``-c name=value`` in ``options``),
    None if ``data`` holds no StartupMessage (an SSL or GSS encryption request, say)."""
    while len(data) >= 8:
        length = int.from_bytes(data[:4], "big")
        code = int.from_bytes(data[4:8], "big")
        if code in (_SSL_REQUEST, _GSSENC_REQUEST):
            data = data[length:]
            continue
        if code != _PROTOCOL_3:
            return None
        fields = data[8:length].split(b"\0")
        parameters = dict(zip(fields[0::2], fields[1::2], strict=False))
        words = parameters.get(b"options", b"").decode().split()
        settings: dict[str, str] = {}
        for at, word in enumerate(words):
            if word == "-c" and at + 1 < len(words):
                assignment = words[at + 1]
            elif word.startswith(("--", "-c")) and len(word) > 2:
                assignment = word[2:]
            else:
                continue
            name, _, value = assignment.partition("=")
            settings[name.replace("-", "_")] = value
        return settings
    return None


class HalfOpenPath:
    """A veth pair into a network namespace of its own, and a relay there to PostgreSQL."""

    def __init__(self, upstream: tuple[str, int] = ("127.0.0.1", 5432)) -> None:
        self._upstream = upstream
        number = next(_counter)
        tag = f"{os.getpid()}{number}"[-9:]
        self.namespace = f"{NAMESPACE_PREFIX}{os.getpid()}-{number}"
        self._near_link, self._far_link = f"hon{tag}", f"hof{tag}"
        self._near_ip, self.host = self._free_subnet()
        self.port = 5432
        self._listener: socket.socket | None = None
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._flowing = threading.Event()
        self._flowing.set()
        self._server_settings: dict[str, str] = {}
        self._cut_replies_on: bytes | None = None
        self._held: list[bytes] = []
        """What ``hang()`` keeps from going on, read by ``holds``."""

    @staticmethod
    def available() -> bool:
        return os.geteuid() == 0 and shutil.which("ip") is not None

    @staticmethod
    def _free_subnet() -> tuple[str, str]:
        taken = _ip("-4", "-o", "addr", "show")
        for _ in range(200):
            third, fourth = random.randrange(256), 4 * random.randrange(64)
            if f"10.213.{third}.{fourth + 1}/" not in taken:
                return f"10.213.{third}.{fourth + 1}", f"10.213.{third}.{fourth + 2}"
        raise RuntimeError("no free /30 in 10.213.0.0/16")

    # -- lifecycle ---------------------------------------------------------------------------

    def open(self) -> None:
        _remove_namespaces_of_dead_processes()
        self._server_settings = self._read_server_settings()
        ns = self.namespace
        _ip("netns", "add", ns)
        _ip("link", "add", self._near_link, "type", "veth", "peer", "name", self._far_link,
            "netns", ns)
        _ip("addr", "add", f"{self._near_ip}/30", "dev", self._near_link)
        _ip("-n", ns, "addr", "add", f"{self.host}/30", "dev", self._far_link)
        for prefix, link in ((), self._near_link), (("-n", ns), self._far_link):
            _ip(*prefix, "link", "set", link, "up")
        _ip("-n", ns, "link", "set", "lo", "up")
        near_mac = self._mac(self._near_link)
        far_mac = self._mac(self._far_link, ("-n", ns))
        _ip("neigh", "replace", self.host, "lladdr", far_mac, "dev", self._near_link,
            "nud", "permanent")
        _ip("-n", ns, "neigh", "replace", self._near_ip, "lladdr", near_mac, "dev",
            self._far_link, "nud", "permanent")

        def listening() -> socket.socket:
            listener = socket.socket()
            listener.bind((self.host, self.port))
            listener.listen(64)
            return listener

        self._listener = _in_namespace(ns, listening)
        threading.Thread(target=self._accept, args=(self._listener,), name="half-open-relay",
                         daemon=True).start()

    def close(self) -> None:
        self._flowing.set()
        if self._listener is not None:
            with suppress(OSError):
                self._listener.shutdown(socket.SHUT_RDWR)
            self._listener.close()
            self._listener = None
        with self._lock:
            for end in self._sockets:
                with suppress(OSError):
                    end.shutdown(socket.SHUT_RDWR)
                end.close()
            self._sockets.clear()
        with suppress(subprocess.CalledProcessError):
            _ip("link", "del", self._near_link)  # its peer goes with it
        with suppress(subprocess.CalledProcessError):
            _ip("netns", "del", self.namespace)

    def url(self, database_url: str, **query: int | str) -> str:
        """``database_url`` reached through this path (with ``query`` added to the URL)."""
        url = make_url(database_url).set(host=self.host, port=self.port)
        if query:
            url = url.update_query_dict({k: str(v) for k, v in query.items()})
        return url.render_as_string(hide_password=False)

    # -- faults ------------------------------------------------------------------------------

    def cut(self) -> None:
        """The peer is gone: every packet either way is dropped, nothing is closed or reset."""
        _ip("-n", self.namespace, "link", "set", self._far_link, "down")

    def cut_replies(self) -> None:
        """What the client sends arrives and runs; nothing comes back, not even an ACK."""
        _ip("-n", self.namespace, "route", "add", "blackhole", f"{self._near_ip}/32")

    def cut_replies_once_sent(self, marker: bytes) -> None:
        """``cut_replies()`` as soon as the client sends bytes holding ``marker``, before
        they are passed on: they run on the server, and their answer is lost (found within
        one read of the relay: a marker near the start of a statement)."""
        self._cut_replies_on = marker

    def hang(self) -> None:
        """The server is there but answers nothing: bytes are taken and held, both ways."""
        self._flowing.clear()

    def holds(self, marker: bytes) -> bool:
        """Whether bytes holding ``marker`` wait in the hung relay (one read's worth each)."""
        with self._lock:
            return any(marker in data for data in self._held)

    def restore(self) -> None:
        with suppress(subprocess.CalledProcessError):
            _ip("-n", self.namespace, "route", "del", "blackhole", f"{self._near_ip}/32")
        _ip("-n", self.namespace, "link", "set", self._far_link, "up")
        self._flowing.set()

    # -- the relay ---------------------------------------------------------------------------

    def _read_server_settings(self) -> dict[str, str]:
        host, port = self._upstream
        with psycopg.connect(host=host, port=port, user="postgres", dbname="postgres",
                             connect_timeout=5) as conn:
            rows = conn.execute("SELECT name, setting FROM pg_settings WHERE name = ANY(%s)",
                                [list(SERVER_SOCKET_SETTINGS)]).fetchall()
        return {str(name): str(setting) for name, setting in rows}

    @staticmethod
    def _mac(link: str, prefix: tuple[str, ...] = ()) -> str:
        words = _ip(*prefix, "-o", "link", "show", link).split()
        return words[words.index("link/ether") + 1]

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self._upstream, timeout=10)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            client.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
            self._apply_server_settings(client, self._server_settings)
            with self._lock:
                self._sockets.extend((client, upstream))
            threading.Thread(target=self._pump, args=(client, upstream, True),
                             name="half-open-pump", daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, False),
                             name="half-open-pump", daemon=True).start()

    @staticmethod
    def _apply_server_settings(client: socket.socket, settings: dict[str, str]) -> None:
        """As PostgreSQL does with its ``tcp_*`` settings on the connection's socket."""
        for name, option in SERVER_SOCKET_SETTINGS.items():
            with suppress(ValueError):
                value = int(settings.get(name, "0"))
                if value > 0:
                    client.setsockopt(socket.IPPROTO_TCP, option, value)

    def _pump(self, source: socket.socket, sink: socket.socket, from_client: bool) -> None:
        """Bytes from ``source`` to ``sink`` (held while hung) until either end closes or
        fails; then both are shut, as a server's end of a dead connection is."""
        startup_seen = not from_client
        with suppress(OSError):
            while data := source.recv(65536):
                if not startup_seen:
                    asked = startup_settings(data)
                    if asked is not None:
                        startup_seen = True
                        self._apply_server_settings(source, {**self._server_settings, **asked})
                marker = self._cut_replies_on
                if from_client and marker is not None and marker in data:
                    self._cut_replies_on = None
                    self.cut_replies()
                if not self._flowing.is_set():
                    with self._lock:
                        self._held.append(data)
                    self._flowing.wait()
                    with self._lock:
                        self._held.remove(data)
                sink.sendall(data)
        for end in (source, sink):
            with suppress(OSError):
                end.shutdown(socket.SHUT_RDWR)


@contextmanager
def half_open_path() -> Iterator[HalfOpenPath]:
    path = HalfOpenPath()
    try:
        path.open()
        yield path
    finally:
        path.close()
