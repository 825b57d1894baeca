"""Settings: defaults that give the embedded mode, overridden by CASEFILE_* environment variables.

Secrets that are missing on first run are generated into the instance folder (mode 0600), so a fresh
checkout works with no setup while production can inject its own through the environment. Several machines set
CASEFILE_GENERATE_KEYS=0: then every key must come from configuration and none is ever generated.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import ipaddress
import os
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal, get_args
from urllib.parse import urlsplit

from casefile.custody.signing import generate_private_key_pem

GIB = 1024**3

# Password hashing parameter sets (casefile/auth/passwords.py); "cheapest" exists only so test suites run fast.
Argon2Profile = Literal["production", "cheapest"]


@dataclass(frozen=True)
class Settings:
    instance_path: Path
    database_url: str
    storage_url: str
    secret_key: str
    signing_key_path: Path
    field_keys: tuple[bytes, ...]
    max_upload_bytes: int = 10 * GIB
    s3_endpoint_url: str | None = None
    s3_object_lock_mode: str | None = None
    s3_object_lock_days: int | None = None
    # Production serves over HTTPS: Secure cookies and HSTS. Off in the embedded mode (plain http on loopback).
    https: bool = False
    # Proxies in front that set X-Forwarded-For/-Proto (nginx, a load balancer): their count, so the client's own
    # address is the one throttled and audited. 0: none (the headers are ignored, a client cannot forge them).
    proxy_hops: int = 0
    session_idle_minutes: int = 30
    session_absolute_hours: int = 12
    login_failures_per_minute: int = 5
    login_failures_per_address_per_minute: int = 20
    # Bad API tokens from one address in a minute before every token from it is refused for the rest of the minute.
    token_failures_per_address_per_minute: int = 20
    organisation: str = "Casefile"
    # Printed on every dossier's cover and in its contact section: recipients answer the organisation, not the tool.
    organisation_address: str = ""
    organisation_contact: str = ""
    # Background jobs (casefile/jobs): None is a SQLite queue in the instance folder; redis://… is shared by every
    # web server and worker. A running job silent for job_stale_seconds lost its worker and is retried or failed.
    queue_url: str | None = None
    queue_name: str = "casefile"
    checkpoint_minutes: float = 15.0  # 0: no scheduled checkpoints
    # Where each signed tree head is copied, outside the instance: a folder or s3://bucket/prefix (custody.witness).
    checkpoint_witness: str | None = None
    # Every stored file is re-hashed once per cycle by the scheduled fixity audit, a slice each hour; 0: no audit.
    fixity_cycle_days: float = 90.0
    job_heartbeat_seconds: float = 10.0
    job_stale_seconds: float = 120.0
    # A blob writer's temporary file (or S3 multipart upload) untouched for this long belongs to a process that
    # died: swept at worker start and by fsck. Far above the longest pause of a slow field upload.
    temp_max_age_seconds: float = 3600.0
    # A resumable (tus) upload with no byte received for this long is abandoned: it expires and is swept.
    resumable_upload_hours: float = 24.0
    # Time-stamping authorities (RFC 3161) asked for a token over every signed checkpoint and every web capture's
    # manifest; empty: timestamps are off. Their tokens must chain to a root in tsa_ca_file (None: the system's).
    tsa_urls: tuple[str, ...] = ()
    tsa_ca_file: Path | None = None
    # Web capture (casefile/capture): addresses on these networks may be captured although they are not public
    # (loopback, private ranges, link-local, metadata endpoints are refused otherwise); extra roots trusted when a
    # site's certificate chain is judged (it is recorded either way); limits on one capture.
    capture_allow_networks: tuple[str, ...] = ()
    capture_ca_file: Path | None = None
    capture_browser: str = "/usr/bin/chromium"
    capture_timeout_seconds: float = 90.0
    capture_max_bytes: int = 500 * 1024**2
    # The dossier PDF's signing key and certificate chain (PEM, ECDSA or RSA; casefile/dossier/pdfsign.py); None:
    # a self-signed one made once into the instance folder.
    document_signing_path: Path | None = None
    # The owner's connection for `db upgrade` and `db grant-runtime` when the app itself runs as a lesser role
    # (PostgreSQL); None: the app's own URL.
    migration_database_url: str | None = None
    # The case map's tiles: a URL template ({z}/{x}/{y}, optionally {s}) the organisation chooses, whose origin the
    # CSP then allows for images; None: the offline basemap shipped with the app (casefile/static/map/).
    map_tiles: str | None = None
    map_attribution: str = ""
    # Notifications by e-mail: smtp://[user:password@]host[:port] (smtps:// for TLS from the start; ?starttls=1 to
    # upgrade), the sender, and the address of this instance that e-mails link to. None: in the app only.
    smtp_url: str | None = None
    smtp_from: str = "casefile@localhost"
    base_url: str = ""
    testing: bool = False
    csrf_enabled: bool = True
    # Deliberately not read from the environment: nothing outside code can weaken production's hashing.
    argon2_profile: Argon2Profile = "production"
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.argon2_profile not in get_args(Argon2Profile):
            raise ValueError(f"unknown argon2 profile {self.argon2_profile!r}")

    def with_overrides(self, **changes: Any) -> Settings:
        return replace(self, **changes)


def write_secret(path: Path, data: bytes) -> None:
    """Create a key file, mode 0600, fsynced. O_EXCL: two processes starting at once (or a restore racing a first
    start) must not overwrite each other's key."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())


def instance_secret(path: Path, make: Callable[[], bytes]) -> bytes:
    if not path.exists():
        with contextlib.suppress(FileExistsError):
            write_secret(path, make())
    return path.read_bytes()


def parse_field_keys(value: str) -> tuple[bytes, ...]:
    keys = []
    for number, part in enumerate(value.split(","), start=1):
        part = part.strip()
        if not part:
            continue
        try:
            key = base64.b64decode(part, validate=True)
        except binascii.Error:
            raise ValueError(
                f"CASEFILE_FIELD_KEYS: key {number} is not valid base64 (each key must be base64 of 16, 24 or 32 bytes)"
            ) from None
        if len(key) not in (16, 24, 32):
            raise ValueError("CASEFILE_FIELD_KEYS: each key must be base64 of 16, 24 or 32 bytes")
        keys.append(key)
    if not keys:
        raise ValueError("CASEFILE_FIELD_KEYS is set but holds no key")
    return tuple(keys)


def _number(env: dict[str, str], name: str, default: float, *, minimum: float) -> float:
    raw = env.get(name)
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{name} must be a number, not {raw[:40]!r}") from None
    if not value >= minimum:  # also refuses NaN
        raise ValueError(f"{name} must be at least {minimum:g}")
    return value


def _words(value: str | None) -> tuple[str, ...]:
    """A list setting: separated by commas or whitespace."""
    return tuple(part for part in (value or "").replace(",", " ").split() if part)


def _networks(env: dict[str, str], name: str) -> tuple[str, ...]:
    networks = _words(env.get(name))
    for network in networks:
        try:
            ipaddress.ip_network(network, strict=False)
        except ValueError:
            raise ValueError(f"{name}: {network[:60]!r} is not a network such as 10.0.0.0/8") from None
    return networks


def _path(env: dict[str, str], name: str) -> Path | None:
    return Path(env[name]) if env.get(name) else None


def _map_tiles(env: dict[str, str]) -> str | None:
    template = (env.get("CASEFILE_MAP_TILES") or "").strip()
    if not template:
        return None
    tile_source(template)  # refuses what no CSP source could name
    return template


def tile_source(template: str) -> str:
    """The CSP source a tile URL template's images come from: its scheme and host (and port), `{s}` subdomains as
    `*.`. ValueError for a template that is not an http(s) URL with {z}, {x} and {y} on a plain host."""
    problem = (
        "CASEFILE_MAP_TILES must be a tile URL template such as https://tile.example.org/{z}/{x}/{y}.png "
        "(http or https, a host name, {z}, {x} and {y}; {s} only as the first label of the host)"
    )
    parts = urlsplit(template)
    host = parts.netloc
    if host.startswith("{s}."):
        host = "*." + host[4:]
    if (
        parts.scheme not in ("http", "https")
        or not re.fullmatch(r"(\*\.)?[A-Za-z0-9.-]+(:[0-9]{1,5})?", host)
        or not all(f"{{{name}}}" in template for name in "zxy")
    ):
        raise ValueError(problem)
    return f"{parts.scheme}://{host}"


# The keys every web server and worker of one installation must share. A machine that generated its own on first
# start would sign sessions, encrypt identities and seal dossiers that no other machine can read or check.
CONFIGURED_KEYS = ("CASEFILE_SECRET_KEY", "CASEFILE_SIGNING_KEY", "CASEFILE_FIELD_KEYS", "CASEFILE_DOCUMENT_SIGNING")
KEY_FILES = ("CASEFILE_SIGNING_KEY", "CASEFILE_DOCUMENT_SIGNING")


def require_configured_keys(env: dict[str, str]) -> None:
    """CASEFILE_GENERATE_KEYS=0 (many machines): every key comes from configuration; nothing is generated into the
    instance folder, and a machine missing one refuses to start, saying which (`python -m casefile.keygen` makes
    a set)."""
    missing = [name for name in CONFIGURED_KEYS if not (env.get(name) or "").strip()]
    if missing:
        raise ValueError(
            f"CASEFILE_GENERATE_KEYS=0 and {', '.join(missing)} not set: every machine must read the same keys "
            "from configuration (python -m casefile.keygen DIR makes them)"
        )
    for name in KEY_FILES:
        if not Path(env[name]).is_file():
            raise ValueError(f"{name}: no key file at {env[name][:200]} (CASEFILE_GENERATE_KEYS=0 generates none)")


def load_settings(env: dict[str, str] | None = None, **overrides: Any) -> Settings:
    env = dict(os.environ if env is None else env)
    instance = Path(env.get("CASEFILE_INSTANCE_PATH", "instance")).resolve()
    instance.mkdir(parents=True, exist_ok=True, mode=0o700)

    if env.get("CASEFILE_GENERATE_KEYS", "1").strip().lower() in ("0", "false", "no"):
        require_configured_keys(env)
    secret_key = (
        env.get("CASEFILE_SECRET_KEY")
        or instance_secret(instance / "secret_key", lambda: secrets.token_hex(32).encode()).decode().strip()
    )

    signing_key_path = Path(env["CASEFILE_SIGNING_KEY"]) if env.get("CASEFILE_SIGNING_KEY") else None
    if signing_key_path is None:
        signing_key_path = instance / "signing_key.pem"
        instance_secret(signing_key_path, generate_private_key_pem)

    if env.get("CASEFILE_FIELD_KEYS"):
        field_keys = parse_field_keys(env["CASEFILE_FIELD_KEYS"])
    else:
        raw = instance_secret(instance / "field_keys", lambda: base64.b64encode(secrets.token_bytes(32)) + b"\n")
        field_keys = parse_field_keys(raw.decode())

    lock_days = env.get("CASEFILE_S3_OBJECT_LOCK_DAYS")
    settings = Settings(
        instance_path=instance,
        database_url=env.get("CASEFILE_DATABASE_URL") or f"sqlite:///{instance / 'casefile.db'}",
        migration_database_url=env.get("CASEFILE_MIGRATION_DATABASE_URL") or None,
        storage_url=env.get("CASEFILE_STORAGE") or f"file://{instance / 'blobs'}",
        secret_key=secret_key,
        signing_key_path=signing_key_path,
        field_keys=field_keys,
        max_upload_bytes=int(env.get("CASEFILE_MAX_UPLOAD_BYTES", 10 * GIB)),
        s3_endpoint_url=env.get("CASEFILE_S3_ENDPOINT_URL") or None,
        s3_object_lock_mode=env.get("CASEFILE_S3_OBJECT_LOCK_MODE") or None,
        s3_object_lock_days=int(lock_days) if lock_days else None,
        https=env.get("CASEFILE_HTTPS", "").lower() in ("1", "true", "yes"),
        proxy_hops=int(_number(env, "CASEFILE_PROXY_HOPS", 0, minimum=0)),
        organisation=env.get("CASEFILE_ORGANISATION", "Casefile"),
        organisation_address=env.get("CASEFILE_ORGANISATION_ADDRESS", ""),
        organisation_contact=env.get("CASEFILE_ORGANISATION_CONTACT", ""),
        queue_url=env.get("CASEFILE_QUEUE_URL") or None,  # checked by casefile.jobs.queue when the app is made
        queue_name=env.get("CASEFILE_QUEUE_NAME") or "casefile",
        checkpoint_witness=env.get("CASEFILE_CHECKPOINT_WITNESS") or None,
        token_failures_per_address_per_minute=int(_number(env, "CASEFILE_TOKEN_FAILURES_PER_MINUTE", 20, minimum=1)),
        checkpoint_minutes=_number(env, "CASEFILE_CHECKPOINT_MINUTES", 15.0, minimum=0.0),
        fixity_cycle_days=_number(env, "CASEFILE_FIXITY_CYCLE_DAYS", 90.0, minimum=0.0),
        job_heartbeat_seconds=_number(env, "CASEFILE_JOB_HEARTBEAT_SECONDS", 10.0, minimum=0.1),
        job_stale_seconds=_number(env, "CASEFILE_JOB_STALE_SECONDS", 120.0, minimum=1.0),
        temp_max_age_seconds=_number(env, "CASEFILE_TEMP_MAX_AGE_SECONDS", 3600.0, minimum=0.0),
        resumable_upload_hours=_number(env, "CASEFILE_RESUMABLE_UPLOAD_HOURS", 24.0, minimum=0.01),
        tsa_urls=_words(env.get("CASEFILE_TSA_URLS")),
        tsa_ca_file=_path(env, "CASEFILE_TSA_CA_FILE"),
        capture_allow_networks=_networks(env, "CASEFILE_CAPTURE_ALLOW_NETWORKS"),
        capture_ca_file=_path(env, "CASEFILE_CAPTURE_CA_FILE"),
        capture_browser=env.get("CASEFILE_CAPTURE_BROWSER") or "/usr/bin/chromium",
        document_signing_path=_path(env, "CASEFILE_DOCUMENT_SIGNING"),
        capture_timeout_seconds=_number(env, "CASEFILE_CAPTURE_TIMEOUT_SECONDS", 90.0, minimum=5.0),
        capture_max_bytes=int(_number(env, "CASEFILE_CAPTURE_MAX_BYTES", 500 * 1024**2, minimum=1024**2)),
        map_tiles=_map_tiles(env),
        map_attribution=(env.get("CASEFILE_MAP_ATTRIBUTION") or "").strip(),
        smtp_url=env.get("CASEFILE_SMTP_URL") or None,
        smtp_from=env.get("CASEFILE_SMTP_FROM") or "casefile@localhost",
        base_url=(env.get("CASEFILE_BASE_URL") or "").rstrip("/"),
    )
    return settings.with_overrides(**overrides) if overrides else settings
