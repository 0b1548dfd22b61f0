"""One typed settings object, read from ``WAMKT_*`` environment variables and an optional ``wamkt.toml``.

Secrets are wrapped in :class:`Secret` so that a repr, a log line or a notebook output never shows them.
"""

from __future__ import annotations

import dataclasses
import math
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from .currency import ExchangeRates, exchange_rates, parse_rates
from .errors import WamktError
from .graph_versions import CURRENT_VERSION
from .links.urls import check_base_url
from .redact import redact_url, redacted_repr
from .scrub import remember_secret

PACE_PRESETS: dict[str, float] = {"safe": 0.5, "standard": 80.0, "max": 1000.0}
"""Messages per second for each pacing preset: 30/min (WhatsApp marketing guide, 2024), Meta's
default 80/s, an upgraded number."""

GRAPH_BASE_URL = "https://graph.facebook.com"


class SettingsError(WamktError, ValueError):
    """A setting is missing or has a value that cannot be used."""


class Secret:
    """A string that never shows itself in repr/str; call :meth:`reveal` where it is really needed."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = str(value)
        remember_secret(self._value)  # so an error that echoes it is scrubbed before it is stored or shown

    def reveal(self) -> str:
        return self._value

    def __bool__(self) -> bool:
        return bool(self._value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __repr__(self) -> str:
        return "Secret('**********')" if self._value else "Secret('')"

    __str__ = __repr__


@dataclass(frozen=True)
class Settings:
    """Everything wamkt_nb needs to know about the account and the machine."""

    __repr__ = redacted_repr  # a base URL may carry credentials

    access_token: Secret = field(default_factory=lambda: Secret(""))
    app_secret: Secret = field(default_factory=lambda: Secret(""))
    verify_token: Secret = field(default_factory=lambda: Secret(""))
    phone_number_ids: tuple[str, ...] = ()
    waba_id: str = ""
    api_version: str = CURRENT_VERSION
    base_url: str = GRAPH_BASE_URL
    db_path: Path | None = None  # None: the workspace's wamkt.db (see wamkt_nb.workspace)
    database_url: str = ""  # postgresql://user:password@host/db: the team store instead of db_path
    sandbox: bool = True
    worker: bool = False  # a ``wamkt worker`` sends this workspace's campaigns: send() submits them
    pace: str = "safe"
    max_rate: float = 80.0
    webhook_host: str = "127.0.0.1"
    webhook_port: int = 8787
    link_base_url: str = ""  # "": tracked links point at wamkt serve (http://webhook_host:webhook_port)
    currency: str = "EUR"
    exchange_rates: tuple[tuple[str, float], ...] = ()
    rate_card: Path | None = None  # None: Meta's card shipped with wamkt_nb (see wamkt_nb.pricing)

    @property
    def rates(self) -> ExchangeRates:
        """Converter into the reporting ``currency``: the default rates with ``exchange_rates`` on top."""
        return exchange_rates(self.currency, dict(self.exchange_rates))

    @property
    def links_base(self) -> str:
        """The public base URL of tracked links (``{links_base}/l/{token}``, served by ``wamkt serve``)."""
        return self.link_base_url or f"http://{self.webhook_host}:{self.webhook_port}"

    @property
    def rate_per_second(self) -> float:
        """The pacing preset as messages per second."""
        return PACE_PRESETS[self.pace]

    @property
    def phone_number_id(self) -> str:
        """The first (default) sending phone number id."""
        if not self.phone_number_ids:
            raise SettingsError("no phone number id configured (WAMKT_PHONE_NUMBER_IDS)")
        return self.phone_number_ids[0]

    def replace(self, **changes: Any) -> Settings:
        return _build(dataclasses.asdict(self) | changes)


_SECRETS = {"access_token", "app_secret", "verify_token"}
_FIELDS = {f.name: f for f in dataclasses.fields(Settings)}


def _build(values: Mapping[str, Any]) -> Settings:
    out: dict[str, Any] = {}
    for name, raw in values.items():
        if name not in _FIELDS:
            raise SettingsError(f"unknown setting {name!r}; known: {', '.join(sorted(_FIELDS))}")
        out[name] = _coerce(name, raw)
    if out.get("pace", "safe") not in PACE_PRESETS:
        raise SettingsError(f"pace must be one of {', '.join(PACE_PRESETS)}, not {out['pace']!r}")
    return Settings(**out)


def _coerce(name: str, raw: Any) -> Any:
    if name in _SECRETS:
        return raw if isinstance(raw, Secret) else Secret("" if raw is None else str(raw))
    if name == "phone_number_ids":
        if isinstance(raw, str):
            return tuple(p.strip() for p in raw.split(",") if p.strip())
        if not isinstance(raw, (list, tuple)):
            raise SettingsError(f"{name} must be a list or comma-separated text of ids, not {raw!r}")
        return tuple(str(p) for p in raw)
    if name in {"db_path", "rate_card"}:
        if raw in (None, ""):
            return None
        if not isinstance(raw, (str, Path)):
            raise SettingsError(f"{name} must be a file path, not {raw!r}")
        return Path(raw).expanduser()
    if name == "database_url":
        return _database_url(raw)
    if name in {"sandbox", "worker"}:
        if isinstance(raw, bool):
            return raw
        text = str(raw).strip().lower()
        if text in {"1", "true", "yes", "on"}:
            return True
        if text in {"0", "false", "no", "off"}:
            return False
        raise SettingsError(f"{name} must be true or false, not {raw!r}")
    if name in {"max_rate"}:
        try:
            rate = float(raw)
        except (TypeError, ValueError):
            raise SettingsError(f"{name} must be a number, not {raw!r}") from None
        if not (math.isfinite(rate) and rate > 0):
            raise SettingsError(f"{name} must be a positive number of messages per second, not {raw!r}")
        return rate
    if name == "exchange_rates":
        try:
            pairs = parse_rates(raw) if isinstance(raw, str) else dict(raw)
            return tuple(sorted((str(k).upper(), float(v)) for k, v in pairs.items()))
        except (TypeError, ValueError) as exc:  # CurrencyError is a ValueError
            raise SettingsError(f"exchange_rates: {exc}") from None
    if name == "link_base_url":
        try:
            return check_base_url(str(raw).strip()) if str(raw).strip() else ""
        except ValueError as exc:
            raise SettingsError(str(exc)) from None
    if name == "currency":
        return str(raw).strip().upper()
    if name == "webhook_port":
        try:
            port = int(raw)
        except (TypeError, ValueError):
            raise SettingsError(f"{name} must be a whole number, not {raw!r}") from None
        if not 0 <= port <= 65535:
            raise SettingsError(f"{name} must be a port number (0-65535), not {port}")
        return port
    return str(raw)


def _database_url(raw: Any) -> str:
    """A PostgreSQL URL (or "" for the SQLite file); its password is remembered as a secret, so an
    error that echoes it is scrubbed."""
    url = "" if raw is None else str(raw).strip()
    if not url:
        return ""
    if not url.startswith(("postgresql://", "postgres://")):
        raise SettingsError(f"database_url must start with postgresql://, not {redact_url(url)!r}")
    try:
        password = urlsplit(url).password
    except ValueError:
        raise SettingsError(f"database_url is not a valid URL: {redact_url(url)!r}") from None
    if password:
        remember_secret(password)
        remember_secret(unquote(password))
    return url


def load_settings(
    config_file: str | Path | None = None,
    environ: Mapping[str, str] | None = None,
    **overrides: Any,
) -> Settings:
    """Settings from ``wamkt.toml`` (or ``WAMKT_CONFIG``), then ``WAMKT_*`` variables, then ``overrides``.

    The sandbox is on unless an access token is set and ``sandbox`` is not given explicitly.
    """
    env = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    named = config_file or env.get("WAMKT_CONFIG")  # a file asked for by name must be there
    path = Path(named or "wamkt.toml")
    if path.is_file():
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise SettingsError(f"{path}: not valid TOML: {exc}") from None
        except OSError as exc:
            raise SettingsError(f"{path}: cannot be read ({exc.strerror or exc})") from None
        table = data.get("wamkt", data)
        if not isinstance(table, dict):
            raise SettingsError(f"{path}: [wamkt] must be a table of settings, not {table!r}")
        values.update(table)
    elif named:
        raise SettingsError(f"config file {path} does not exist or is not a file")
    for name in _FIELDS:
        key = f"WAMKT_{name.upper()}"
        if key in env:
            values[name] = env[key]
    values.update(overrides)
    if "sandbox" not in values:
        values["sandbox"] = not values.get("access_token")
    return _build(values)


def reporting_rates() -> ExchangeRates:
    """The rates of the settings (``WAMKT_CURRENCY``, ``WAMKT_EXCHANGE_RATES``, ``wamkt.toml``)."""
    return load_settings().rates


def workspace_dir() -> Path:
    """The folder a session keeps its database and files in: ``WAMKT_WORKSPACE``, else ``./wamkt-workspace``."""
    return Path(os.environ.get("WAMKT_WORKSPACE", "wamkt-workspace")).expanduser()


def database_path(directory: Path | None = None) -> Path:
    """The SQLite file the settings name (``WAMKT_DB_PATH``, ``db_path`` in ``wamkt.toml``), else the
    workspace's ``wamkt.db``."""
    configured = load_settings().db_path
    return configured if configured is not None else (directory or workspace_dir()) / "wamkt.db"
