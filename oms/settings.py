"""Configuration: environment variables (connections, secrets) and the settings file.

Nothing is read at import time. ``load_settings()`` reads the environment and the TOML file named
by ``OMS_CONFIG`` and validates the whole file with pydantic, so a mistake is reported with the
path of the bad key (``venues[0].port``) and the reason, before anything connects.

Secrets never live in the settings file: a FIX client's logon password is named by the
environment variable that holds it (``password_env``), and the admin pages' session key comes
from ``OMS_SECRET_KEY``.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import time
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)

DEFAULT_DATABASE_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/oms"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
DEFAULT_AMQP_URL = "amqp://guest:guest@127.0.0.1:5672/%2F"
DEFAULT_CONFIG_PATH = "config/oms.toml"

CompId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.\-]{1,32}$")]
Name = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.\-]{1,64}$")]
PositiveDecimal = Annotated[Decimal, Field(gt=0, allow_inf_nan=False)]
NonNegativeDecimal = Annotated[Decimal, Field(ge=0, allow_inf_nan=False)]
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class ConfigError(Exception):
    """The settings file is missing, unreadable or invalid. The message names the bad key."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class RiskLimitSettings(_Strict):
    """Per-account pre-trade limits. Any limit left out falls back to ``[risk.defaults]``."""

    max_order_qty: PositiveDecimal | None = None
    max_order_notional: PositiveDecimal | None = None
    price_collar_pct: NonNegativeDecimal | None = None
    reference_price_max_age_s: PositiveDecimal | None = None
    max_open_orders: Annotated[int, Field(gt=0)] | None = None
    max_position: PositiveDecimal | None = None
    max_gross_exposure: PositiveDecimal | None = None
    max_orders_per_s: Annotated[int, Field(gt=0)] | None = None
    max_messages_per_s: Annotated[int, Field(gt=0)] | None = None
    duplicate_window_s: NonNegativeDecimal | None = None
    breaker_max_executions: Annotated[int, Field(gt=0)] | None = None
    breaker_window_s: PositiveDecimal | None = None
    restricted_symbols: tuple[str, ...] | None = None


class RiskSettings(_Strict):
    defaults: RiskLimitSettings = RiskLimitSettings()


class TradingHours(_Strict):
    """When a venue trades, in the venue's own time zone."""

    timezone: str = "UTC"
    open: time = time(0, 0)
    close: time = time(23, 59, 59)
    days: tuple[Weekday, ...] = WEEKDAYS
    holidays: tuple[str, ...] = ()

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @field_validator("holidays")
    @classmethod
    def _iso_dates(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        from datetime import date

        for day in value:
            try:
                date.fromisoformat(day)
            except ValueError as exc:
                raise ValueError(f"holiday {day!r} is not an ISO date (YYYY-MM-DD)") from exc
        return value

    @model_validator(mode="after")
    def _open_before_close(self) -> TradingHours:
        if self.open >= self.close:
            raise ValueError(f"open {self.open} must be before close {self.close}")
        return self

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


class FixSessionSettings(_Strict):
    """What every FIX session has, venue or client: a session is (fix_version, sender_comp_id,
    target_comp_id), and these settings say how it treats sequence numbers and bad messages.

    - ``reset_on_logon`` / ``reset_on_logout`` / ``reset_on_disconnect``: sequence numbers go
      back to 1 at each logon / after a logout / after a lost connection (quickfix's
      ``ResetOnLogon``, ``ResetOnLogout``, ``ResetOnDisconnect``), as most counterparties that
      start every day afresh configure their sessions.
    - ``validation = "strict"``: a message that breaks the FIX data dictionary (an undefined
      tag, a tag not defined for the message type, a required tag missing, a tag without a
      value, a value out of range, a wrong NumInGroup, group fields out of order, a repeated
      tag) is answered with a session Reject (35=3) and never reaches the order path.
      ``"lenient"`` (the behaviour before this setting) accepts undefined and user-defined tags
      and tags not defined for the message type, and leaves NumInGroup counts and group field
      order unchecked; required tags, values and formats are still checked.
    """

    fix_version: Literal["4.2", "4.4"] = "4.4"
    sender_comp_id: CompId
    target_comp_id: CompId
    reset_on_logon: bool = False
    reset_on_logout: bool = False
    reset_on_disconnect: bool = False
    validation: Literal["strict", "lenient"] = "strict"

    @property
    def begin_string(self) -> str:
        return f"FIX.{self.fix_version}"

    @property
    def session_triple(self) -> tuple[str, str, str]:
        """What identifies the session on the wire: (fix_version, sender, target)."""
        return (self.fix_version, self.sender_comp_id, self.target_comp_id)


class VenueSettings(FixSessionSettings):
    name: Name
    host: str = "127.0.0.1"
    port: Annotated[int, Field(gt=0, lt=65536)]
    sender_comp_id: CompId = "OMS"
    target_comp_id: CompId
    heartbeat_s: Annotated[int, Field(gt=0, le=300)] = 30
    reconnect_s: Annotated[int, Field(gt=0, le=300)] = 2
    hours: TradingHours = TradingHours()
    max_messages_per_s: Annotated[int, Field(gt=0)] = 2000
    rate_limit_hold_ms: Annotated[int, Field(ge=0, le=10_000)] = 100
    symbols: tuple[str, ...] = ()
    request_timeout_s: Annotated[Decimal, Field(gt=0, le=3600, allow_inf_nan=False)] = Decimal(10)
    """A new, cancel or replace unanswered this long is followed by an OrderStatusRequest; if
    that is not answered within as long again, the order is raised to operators as in doubt."""
    shard_sender_comp_ids: dict[Name, CompId] = Field(default_factory=dict)
    """With ``[[shards]]``: each shard's own SenderCompID towards this venue (a venue session
    belongs to exactly one shard). Every shard must have one; without shards, leave it out."""


class InstrumentSettings(_Strict):
    symbol: Annotated[str, StringConstraints(min_length=1, max_length=32)]
    venue: Name
    currency: Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")] = "USD"
    tick_size: PositiveDecimal = Decimal("0.01")
    lot_size: PositiveDecimal = Decimal("1")
    multiplier: PositiveDecimal = Decimal("1")
    reference_price: PositiveDecimal | None = None
    simulated_liquidity: bool = False
    security_type: str = "CS"


class AccountSettings(_Strict):
    name: Name
    limits: RiskLimitSettings = RiskLimitSettings()


class AmqpUserSettings(_Strict):
    name: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    accounts: tuple[Name, ...]


class FixClientSettings(FixSessionSettings):
    """A counterparty's session with us. ``kind = "drop_copy"`` receives copies only.

    One counterparty (SenderCompID) may have several sessions, e.g. FIX 4.2 and FIX 4.4, on one
    port or on several; each is its own session with its own ``name`` (by default the
    SenderCompID), sequence numbers, ClOrdID scope and entitlements."""

    name: Name | None = None
    sender_comp_id: CompId
    target_comp_id: CompId = "OMS"
    port: Annotated[int, Field(gt=0, lt=65536)]
    kind: Literal["order_entry", "drop_copy"] = "order_entry"
    accounts: tuple[Name, ...]
    password_env: Annotated[str, StringConstraints(pattern=r"^[A-Z_][A-Z0-9_]*$")] | None = None
    allowed_ips: tuple[str, ...] = ()
    cancel_on_disconnect: bool = False
    cancel_on_disconnect_grace_s: NonNegativeDecimal = Decimal("0")
    cancel_on_logout: bool = True
    """With ``cancel_on_disconnect``: also cancel after a clean Logout (false: only on a drop)."""
    hours: TradingHours = TradingHours()
    max_messages_per_s: Annotated[int, Field(gt=0)] = 500
    cl_ord_id_scope: Literal["day", "forever"] = "day"
    """``day``: a ClOrdID may be used again on a later trading day of the session (the day
    boundary is midnight in ``hours.timezone``); ``forever``: never again (within the
    retention of ``client_requests``, see ``engine.client_requests_retention_days``)."""

    @property
    def session_name(self) -> str:
        """The session's name in the OMS: order origins ``fix:<name>``, watermarks, pages."""
        return self.name or self.sender_comp_id


class EngineSettings(_Strict):
    inbox_capacity: Annotated[int, Field(gt=0)] = 20_000
    batch_max: Annotated[int, Field(gt=0, le=10_000)] = 500
    amqp_prefetch: Annotated[int, Field(gt=0, le=65_535)] = 1000
    max_delivery_attempts: Annotated[int, Field(gt=0, le=100)] = 5
    default_amqp_user: str | None = None
    data_dir: str = "var"
    metrics_port: Annotated[int, Field(ge=0, lt=65536)] = 9108
    health_port: Annotated[int, Field(ge=0, lt=65536)] = 9109
    listen_address: str = "127.0.0.1"
    """Address of the metrics and health endpoints (0.0.0.0 in a container)."""
    client_requests_retention_days: Annotated[int, Field(ge=1, le=36_500)] = 30
    """Requests (origin, ClOrdID) older than this many days are purged once a day by the
    gateway (``oms db purge`` does it by hand); those of open orders are kept."""


DEFAULT_SHARD = "main"
"""The name of the one implicit shard of a file without ``[[shards]]``."""


class ShardSettings(_Strict):
    """One gateway process and the accounts it owns (``oms gateway --shard NAME``)."""

    name: Name
    accounts: tuple[Name, ...]
    metrics_port: Annotated[int, Field(ge=0, lt=65536)] | None = None
    health_port: Annotated[int, Field(ge=0, lt=65536)] | None = None


class AdminSettings(_Strict):
    bind: str = "127.0.0.1:8000"
    workers: Annotated[int, Field(gt=0, le=64)] = 2
    login_attempts_per_minute: Annotated[int, Field(gt=0)] = 10


class SettingsFile(_Strict):
    """The whole settings file. Cross-references are checked here, after each section."""

    engine: EngineSettings = EngineSettings()
    admin: AdminSettings = AdminSettings()
    risk: RiskSettings = RiskSettings()
    venues: tuple[VenueSettings, ...]
    instruments: tuple[InstrumentSettings, ...] = ()
    accounts: tuple[AccountSettings, ...] = ()
    amqp_users: tuple[AmqpUserSettings, ...] = ()
    fix_clients: tuple[FixClientSettings, ...] = ()
    shards: tuple[ShardSettings, ...] = ()

    @model_validator(mode="after")
    def _cross_references(self) -> SettingsFile:
        venue_names = _unique("venues", "name", [v.name for v in self.venues])
        _unique("instruments", "symbol", [i.symbol for i in self.instruments])
        accounts = _unique("accounts", "name", [a.name for a in self.accounts])
        _unique("amqp_users", "name", [u.name for u in self.amqp_users])
        _unique_sessions("venues", [v.session_triple for v in self.venues])
        _unique_sessions("fix_clients", [c.session_triple for c in self.fix_clients])
        _unique_client_names(self.fix_clients)
        for i, inst in enumerate(self.instruments):
            if inst.venue not in venue_names:
                raise ValueError(f"instruments[{i}].venue: unknown venue {inst.venue!r}")
        for i, user in enumerate(self.amqp_users):
            for acct in user.accounts:
                if acct not in accounts:
                    raise ValueError(f"amqp_users[{i}].accounts: unknown account {acct!r}")
        for i, client in enumerate(self.fix_clients):
            for acct in client.accounts:
                if acct not in accounts:
                    raise ValueError(f"fix_clients[{i}].accounts: unknown account {acct!r}")
        if self.engine.default_amqp_user is not None and self.engine.default_amqp_user not in {
            u.name for u in self.amqp_users
        }:
            raise ValueError(
                f"engine.default_amqp_user: {self.engine.default_amqp_user!r} "
                "is not one of amqp_users"
            )
        check_shards(self)
        return self

    # -- shards ---------------------------------------------------------------------------

    @property
    def shard_names(self) -> tuple[str, ...]:
        """Every shard's name; a file without ``[[shards]]`` is the one shard ``main``."""
        return tuple(s.name for s in self.shards) or (DEFAULT_SHARD,)

    def shard_of_account(self, account: str) -> str | None:
        """The shard that owns ``account`` (None: no shard does, or no such account)."""
        if not self.shards:
            return DEFAULT_SHARD if account in {a.name for a in self.accounts} else None
        for shard in self.shards:
            if account in shard.accounts:
                return shard.name
        return None

    def shard_of_fix_client(self, session_name: str) -> str | None:
        client = self.fix_client(session_name)
        return self.shard_of_account(client.accounts[0]) if client.accounts else (
            self.shard_names[0])

    def shard_view(self, name: str) -> SettingsFile:
        """What shard ``name``'s gateway runs with: its accounts, the FIX clients and AMQP
        entitlements on them, its own SenderCompID on every venue, its own ports."""
        if not self.shards:
            if name != DEFAULT_SHARD:
                raise ConfigError(f"no [[shards]] in the settings file: there is no shard {name!r}")
            return self
        shard = next((s for s in self.shards if s.name == name), None)
        if shard is None:
            raise ConfigError(
                f"no shard {name!r} in the settings file (shards: "
                f"{', '.join(self.shard_names)})")
        owned = frozenset(shard.accounts)
        engine = self.engine.model_copy(update={
            "metrics_port": shard.metrics_port if shard.metrics_port is not None
            else self.engine.metrics_port,
            "health_port": shard.health_port if shard.health_port is not None
            else self.engine.health_port,
        })
        return self.model_copy(update={
            "engine": engine,
            "venues": tuple(
                v.model_copy(update={"sender_comp_id": v.shard_sender_comp_ids[name]})
                for v in self.venues),
            "accounts": tuple(a for a in self.accounts if a.name in owned),
            "amqp_users": tuple(
                u.model_copy(update={"accounts": tuple(a for a in u.accounts if a in owned)})
                for u in self.amqp_users),
            "fix_clients": tuple(c for c in self.fix_clients if set(c.accounts) <= owned),
        })

    def fix_client(self, session_name: str) -> FixClientSettings:
        for client in self.fix_clients:
            if client.session_name == session_name:
                return client
        raise KeyError(session_name)

    def venue(self, name: str) -> VenueSettings:
        for venue in self.venues:
            if venue.name == name:
                return venue
        raise KeyError(name)

    def instrument(self, symbol: str) -> InstrumentSettings | None:
        for inst in self.instruments:
            if inst.symbol == symbol:
                return inst
        return None

    def account_limits(self, account: str) -> RiskLimitSettings | None:
        for acct in self.accounts:
            if acct.name == account:
                return acct.limits
        return None

    def accounts_of_amqp_user(self, user: str) -> frozenset[str]:
        for u in self.amqp_users:
            if u.name == user:
                return frozenset(u.accounts)
        return frozenset()


def check_shards(file: SettingsFile) -> None:
    """Every account in exactly one shard; a FIX client's accounts on one shard; each venue with
    one SenderCompID per shard; no two shards on one port (they may share a host)."""
    if not file.shards:
        for i, venue in enumerate(file.venues):
            if venue.shard_sender_comp_ids:
                raise ValueError(f"venues[{i}].shard_sender_comp_ids: there are no [[shards]]")
        return
    names = _unique("shards", "name", [s.name for s in file.shards])
    known = {a.name for a in file.accounts}
    owner: dict[str, str] = {}
    for i, shard in enumerate(file.shards):
        for account in shard.accounts:
            if account not in known:
                raise ValueError(f"shards[{i}].accounts: unknown account {account!r}")
            if account in owner:
                raise ValueError(f"shards[{i}].accounts: {account!r} is in shard "
                                 f"{owner[account]!r} already (an account has one shard)")
            owner[account] = shard.name
    left_out = sorted(known - owner.keys())
    if left_out:
        raise ValueError(f"shards: no shard owns {', '.join(map(repr, left_out))} "
                         "(every account belongs to exactly one shard)")
    client_ports: dict[int, str] = {}
    for i, client in enumerate(file.fix_clients):
        shards_of = sorted({owner[a] for a in client.accounts})
        if len(shards_of) > 1:
            raise ValueError(f"fix_clients[{i}].accounts: on shards {', '.join(shards_of)}; "
                             "one client session has all its accounts on one shard")
        home = shards_of[0] if shards_of else file.shards[0].name
        if client_ports.setdefault(client.port, home) != home:
            raise ValueError(f"fix_clients[{i}].port: {client.port} is a port of shard "
                             f"{client_ports[client.port]!r}; shards listen on ports of their own")
    for i, venue in enumerate(file.venues):
        given = set(venue.shard_sender_comp_ids)
        if given != names:
            missing, extra = sorted(names - given), sorted(given - names)
            raise ValueError(
                f"venues[{i}].shard_sender_comp_ids: one SenderCompID per shard is needed"
                + (f"; missing {', '.join(missing)}" if missing else "")
                + (f"; unknown shard {', '.join(extra)}" if extra else ""))
        _unique(f"venues[{i}].shard_sender_comp_ids", "value",
                list(venue.shard_sender_comp_ids.values()))
    for port_kind in ("metrics_port", "health_port"):
        taken: dict[int, str] = {}
        for i, declared in enumerate(file.shards):
            port = getattr(declared, port_kind)
            port = getattr(file.engine, port_kind) if port is None else port
            if port and taken.setdefault(port, declared.name) != declared.name:
                raise ValueError(f"shards[{i}].{port_kind}: {port} is shard "
                                 f"{taken[port]!r}'s already (set a port per shard)")


def _unique_sessions(section: str, triples: list[tuple[str, str, str]]) -> None:
    seen: set[tuple[str, str, str]] = set()
    for i, triple in enumerate(triples):
        if triple in seen:
            version, sender, target = triple
            raise ValueError(
                f"{section}[{i}]: duplicate session FIX {version} {sender}->{target} "
                "(a session is fix_version, sender_comp_id and target_comp_id)")
        seen.add(triple)


def _unique_client_names(clients: tuple[FixClientSettings, ...]) -> None:
    seen: set[str] = set()
    for i, client in enumerate(clients):
        name = client.session_name
        if name in seen:
            hint = "" if client.name else (
                f": sessions of one counterparty need a name each, e.g. name = "
                f"\"{client.sender_comp_id}-{client.fix_version.replace('.', '')}\"")
            raise ValueError(f"fix_clients[{i}].name: duplicate session name {name!r}{hint}")
        seen.add(name)


def _unique(section: str, key: str, values: list[str]) -> set[str]:
    seen: set[str] = set()
    for i, value in enumerate(values):
        if value in seen:
            raise ValueError(f"{section}[{i}].{key}: duplicate {value!r}")
        seen.add(value)
    return seen


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything the processes need: connection URLs and secrets from the environment, plus the
    validated settings file."""

    database_url: str
    redis_url: str
    amqp_url: str
    config_path: Path
    file: SettingsFile
    secret_key: str | None
    redis_prefix: str = "oms:"
    """Key prefix in Redis (``OMS_REDIS_PREFIX``): isolates tests and side-by-side stacks."""
    shard: str = DEFAULT_SHARD
    """The shard this process runs (``for_shard``); ``main`` when the file has no shards."""

    def for_shard(self, name: str | None) -> Settings:
        """These settings as shard ``name`` runs them (``SettingsFile.shard_view``). ``None``:
        the implicit shard, refused if the file declares shards."""
        if name is None:
            if self.file.shards:
                raise ConfigError(
                    f"{self.config_path} declares shards ({', '.join(self.file.shard_names)}): "
                    "run one with --shard NAME")
            return self
        return dataclasses.replace(self, file=self.file.shard_view(name), shard=name)

    def fix_client_password(self, client: FixClientSettings) -> str | None:
        if client.password_env is None:
            return None
        return os.environ.get(client.password_env)


def format_validation_error(path: Path, error: ValidationError) -> str:
    lines = [f"{path}: invalid settings ({error.error_count()} problem(s))"]
    for item in error.errors():
        loc = ""
        for part in item["loc"]:
            loc += f"[{part}]" if isinstance(part, int) else (f".{part}" if loc else str(part))
        message = item["msg"].removeprefix("Value error, ")
        if item["type"] == "extra_forbidden":
            message = "unknown key (check the spelling)"
        lines.append(f"  {loc or '<file>'}: {message}")
    return "\n".join(lines)


def parse_settings_file(text: str, path: Path) -> SettingsFile:
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc
    try:
        return SettingsFile.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(path, exc)) from None


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    environ = os.environ if env is None else env
    path = Path(environ.get("OMS_CONFIG", DEFAULT_CONFIG_PATH))
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read settings file ({exc.strerror})") from exc
    return Settings(
        database_url=environ.get("OMS_DATABASE_URL", DEFAULT_DATABASE_URL),
        redis_url=environ.get("OMS_REDIS_URL", DEFAULT_REDIS_URL),
        amqp_url=environ.get("OMS_AMQP_URL", DEFAULT_AMQP_URL),
        config_path=path,
        file=parse_settings_file(text, path),
        secret_key=environ.get("OMS_SECRET_KEY"),
        redis_prefix=environ.get("OMS_REDIS_PREFIX", "oms:"),
    )
