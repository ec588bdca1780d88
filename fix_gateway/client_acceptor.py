"""The FIX client side of the gateway, assembled from the settings file: the quickfix acceptor
(``ClientApplication``), the sender of owed reports (``ClientSender``) and the core's view of the
sessions (``ClientSessions``). The composition root (``oms.gateway``) starts and stops it.

quickfix's ThreadedSocketAcceptor (a thread per connection) is used rather than the
single-threaded SocketAcceptor: it checks ``AllowedRemoteAddresses`` before processing the Logon
(the plain acceptor of quickfix 1.16 answers the Logon first and drops the connection after),
and a connection for an unknown CompID is dropped cleanly.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import quickfix as fix

from fix_gateway.client_application import ClientApplication, ClientSessionSpec
from fix_gateway.client_sender import ClientSender
from fix_gateway.inbound_log import CheckingLogFactory, inbound_checks
from fix_gateway.session_settings import (
    client_acceptor_settings,
    client_session_key,
)
from fix_gateway.translate_codes import FixVersion
from oms.engine.client_sessions import ClientProfile, ClientSessions
from oms.engine.ports import ClientReportFormat
from oms.settings import FixClientSettings, Settings

log = logging.getLogger(__name__)


def client_profile(client: FixClientSettings) -> ClientProfile:
    return ClientProfile(
        name=client.session_name,
        version=FixVersion(client.begin_string),
        accounts=frozenset(client.accounts),
        drop_copy=client.kind == "drop_copy",
        cancel_on_disconnect=client.cancel_on_disconnect,
        grace=timedelta(seconds=float(client.cancel_on_disconnect_grace_s)),
        cancel_on_logout=client.cancel_on_logout,
    )


class FixClientGateway:
    """``reports``: how the core words what each client is sent (``FixClientReports``)."""

    def __init__(self, settings: Settings, reports: ClientReportFormat) -> None:
        self._settings = settings
        self._clients = list(settings.file.fix_clients)
        self.keys = {c.session_name: client_session_key(c) for c in self._clients}
        self.sender = ClientSender(self.keys)
        self.sessions = ClientSessions([client_profile(c) for c in self._clients], self.sender,
                                       reports)
        self._accounts = {
            c.session_name: frozenset(c.accounts)
            for c in self._clients if c.kind == "order_entry"
        }
        self._acceptor: Any = None
        self._quickfix: tuple[Any, ...] = ()

    def user_accounts(
        self, amqp_user_accounts: Callable[[str], frozenset[str]]
    ) -> Callable[[str], frozenset[str]]:
        """Accounts per user for the core's entitlement check: a FIX request's user is its
        session (``fix:<SenderCompID>``), anything else an AMQP user."""

        def accounts(user: str) -> frozenset[str]:
            if user.startswith("fix:"):
                return self._accounts.get(user.removeprefix("fix:"), frozenset())
            return amqp_user_accounts(user)

        return accounts

    def start(self, sink: Callable[[object], None], watermarks: Mapping[str, int]) -> None:
        """Start accepting; call once the core has loaded (owed reports are then known)."""
        if not self._clients:
            return
        specs = {}
        for client in self._clients:
            password = self._settings.fix_client_password(client)
            if client.password_env is not None and password is None:
                log.error("FIX client %s: %s is not set: every logon will be refused",
                          client.session_name, client.password_env)
            specs[client_session_key(client)] = ClientSessionSpec.of(client, password)
        checks = inbound_checks((client_session_key(c), c) for c in self._clients)
        app = ClientApplication(specs, sink, {s: n + 1 for s, n in watermarks.items()},
                                inbound=checks)
        data_dir = Path(self._settings.file.engine.data_dir)
        session_settings = client_acceptor_settings(self._clients, data_dir,
                                                    datetime.now(UTC).date())
        store = fix.FileStoreFactory(session_settings)
        logs = CheckingLogFactory(session_settings, checks)
        acceptor = fix.ThreadedSocketAcceptor(app, store, session_settings, logs)
        self._quickfix = (app, store, logs, session_settings)
        self.sender.start()
        acceptor.start()
        self._acceptor = acceptor
        log.info("accepting FIX clients: %s", ", ".join(
            f"{c.session_name} (FIX {c.fix_version} {c.sender_comp_id}->{c.target_comp_id}, "
            f"port {c.port}, {c.kind}, {c.validation}"
            f"{', reset on logon' if c.reset_on_logon else ''})"
            for c in self._clients))

    def stop_accepting(self) -> None:
        """Log every client out and stop listening (no new client input after this)."""
        if self._acceptor is not None:
            self._acceptor.stop()
            self._acceptor = None
            self._quickfix = ()  # release quickfix's session registry for a later start

    def stop(self) -> None:
        self.stop_accepting()
        self.sender.stop()

    def status(self) -> dict[str, tuple[bool, int, int]]:
        """Per session: (logged on, next outbound MsgSeqNum, next expected inbound)."""
        out = {}
        for name in self.keys:
            sender_seq, target_seq = self.sender.sequence_numbers(name)
            out[name] = (self.sender.is_logged_on(name), sender_seq, target_seq)
        return out
