"""Shared fixtures. Every test gets a fresh database (a copy of a migrated template: a file copy on SQLite,
`CREATE DATABASE … TEMPLATE` on PostgreSQL) and a fresh blob store, so tests are isolated yet exercise real
commits, real locks and real triggers exactly as production does.

CASEFILE_TEST_DB=sqlite|postgresql and CASEFILE_TEST_STORAGE=local|s3 choose the engines (see Makefile).
"""

from __future__ import annotations

import base64
import os
import shutil
import subprocess
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, create_engine, pool, text
from werkzeug.serving import WSGIRequestHandler, make_server

from casefile import create_app, load_api_routes, migrate
from casefile.auth import services as auth_services
from casefile.auth.models import User
from casefile.config import Settings
from casefile.custody.signing import generate_private_key_pem
from casefile.db import session_scope

from local_servers import LocalTSA, TestSite
from support import PASSWORD, Account, Api, free_port, login, wait_for

# Test modules read the declared API operations at import time (e.g. to parametrise over every route).
load_api_routes()

DB_KIND = os.environ.get("CASEFILE_TEST_DB", "sqlite")
STORAGE_KIND = os.environ.get("CASEFILE_TEST_STORAGE", "local")
PG_URL = os.environ.get("CASEFILE_TEST_POSTGRES_URL", "postgresql+psycopg://root@/{db}?host=/var/run/postgresql")
WORKER = os.environ.get("PYTEST_XDIST_WORKER", "main")
FIELD_KEY = base64.b64encode(b"k" * 32).decode()

assert DB_KIND in ("sqlite", "postgresql"), DB_KIND
# The production layout (tests/deploy) is one shared PostgreSQL by definition: on SQLite it is not collected,
# rather than skipped; `make test-postgres` runs it.
collect_ignore_glob = [] if DB_KIND == "postgresql" else ["deploy/*"]
assert STORAGE_KIND in ("local", "s3"), STORAGE_KIND

# --- no test may be skipped -------------------------------------------------------------------------------------
# A skipped test is one that cannot fail: if a tool it needs is missing (pdftotext, openssl, Chromium), the run
# must say so by failing, not pass without it. `make test` installs and starts everything the suite needs.
SKIPPED: list[str] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    # Under xdist the controller sees every worker's reports here too.
    if report.skipped and not hasattr(report, "wasxfail"):
        SKIPPED.append(f"{report.nodeid}: {report.longrepr[2] if isinstance(report.longrepr, tuple) else ''}")


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if SKIPPED and not hasattr(terminalreporter.config, "workerinput"):
        terminalreporter.write_line(f"FAILED: {len(SKIPPED)} test(s) skipped, and no test may be:", red=True)
        for line in SKIPPED:
            terminalreporter.write_line(f"  {line}", red=True)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if SKIPPED and exitstatus == pytest.ExitCode.OK and not hasattr(session.config, "workerinput"):
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pg_url(db: str) -> str:
    return PG_URL.format(db=db)


def pg_admin(statement: str) -> None:
    engine = create_engine(pg_url("postgres"), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(text(statement))
    finally:
        engine.dispose()


def new_pg_database(template: str | None = None) -> str:
    name = f"cf_{WORKER}_{uuid.uuid4().hex[:10]}"
    pg_admin(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
    return name


def drop_pg_database(name: str) -> None:
    pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def template_database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A database migrated to head once per test process; each test gets a copy."""
    if DB_KIND == "sqlite":
        path = tmp_path_factory.mktemp("template") / "template.db"
        migrate.upgrade(f"sqlite:///{path}")
        yield str(path)
        return
    try:
        name = new_pg_database()
    except Exception as error:
        pytest.fail(f"PostgreSQL is required for CASEFILE_TEST_DB=postgresql and is not reachable: {error}")
    migrate.upgrade(pg_url(name))
    yield name
    drop_pg_database(name)


@pytest.fixture
def database_url(template_database: str, tmp_path: Path) -> Iterator[str]:
    if DB_KIND == "sqlite":
        target = tmp_path / "casefile.db"
        shutil.copyfile(template_database, target)
        yield f"sqlite:///{target}"
        return
    name = new_pg_database(template_database)
    yield pg_url(name)
    drop_pg_database(name)


@pytest.fixture
def empty_pg_database() -> Iterator[str]:
    """The URL of a new, empty PostgreSQL database (nothing migrated), dropped afterwards."""
    name = new_pg_database()
    yield pg_url(name)
    drop_pg_database(name)


@pytest.fixture
def raw_engine(database_url: str) -> Iterator[Engine]:
    """A fresh engine that knows nothing of the app: what an operator with a SQL prompt would use."""
    engine = create_engine(database_url, poolclass=pool.NullPool)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def moto_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """URL of a moto S3 server for this session; AWS env points boto3 at dummy credentials."""
    aws_dir = tmp_path_factory.mktemp("aws")
    with pytest.MonkeyPatch.context() as mp:
        # Never let the tests pick up a developer's real AWS profile or credentials.
        for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_ENDPOINT_URL"):
            mp.delenv(name, raising=False)
        mp.setenv("AWS_ACCESS_KEY_ID", "testing")
        mp.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        mp.setenv("AWS_DEFAULT_REGION", "us-east-1")
        mp.setenv("AWS_REGION", "us-east-1")
        mp.setenv("AWS_CONFIG_FILE", str(aws_dir / "config"))
        mp.setenv("AWS_SHARED_CREDENTIALS_FILE", str(aws_dir / "credentials"))
        mp.setenv("AWS_EC2_METADATA_DISABLED", "true")
        from moto_support import start_moto_server, stop_moto_server

        server = start_moto_server(aws_dir / "moto_server.log")
        try:
            yield server.endpoint
        finally:
            stop_moto_server(server)


@pytest.fixture(scope="session")
def s3_client(moto_endpoint: str) -> Iterator[Any]:
    import boto3

    client = boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1")
    yield client
    client.close()


@pytest.fixture
def make_bucket(s3_client: Any) -> Callable[..., str]:
    """Create a fresh, uniquely named bucket (so tests never see each other's blobs)."""

    def make(*, object_lock: bool = False, versioned: bool = False) -> str:
        name = f"casefile-test-{uuid.uuid4().hex[:8]}"
        if object_lock:
            s3_client.create_bucket(Bucket=name, ObjectLockEnabledForBucket=True)
        else:
            s3_client.create_bucket(Bucket=name)
        if versioned:
            s3_client.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
        return name

    return make


@pytest.fixture
def storage_url(tmp_path: Path, request: pytest.FixtureRequest) -> str:
    if STORAGE_KIND == "local":
        return f"file://{tmp_path / 'blobs'}"
    return f"s3://{request.getfixturevalue('make_bucket')()}"


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real Redis server for this session (no persistence), stopped at the end."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.fail("The job tests need Debian's redis-server (apt-get install redis-server; .ci/services does).")
    import redis

    folder = tmp_path_factory.mktemp("redis")
    port = free_port()
    log = (folder / "redis.log").open("wb")
    command = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    command += ["--dir", str(folder), "--daemonize", "no"]
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    client = redis.Redis(host="127.0.0.1", port=port)
    try:

        def answers() -> bool:
            if process.poll() is not None:
                raise AssertionError("redis-server exited:\n" + (folder / "redis.log").read_text(errors="replace"))
            try:
                return bool(client.ping())
            except redis.ConnectionError:
                return False

        wait_for(answers, 30, "redis-server to answer")
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        client.close()
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


@pytest.fixture(scope="session")
def signing_key_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("keys") / "signing_key.pem"
    path.write_bytes(generate_private_key_pem())
    path.chmod(0o600)
    return path


@pytest.fixture
def settings(
    tmp_path: Path,
    database_url: str,
    storage_url: str,
    signing_key_file: Path,
    request: pytest.FixtureRequest,
) -> Settings:
    instance = tmp_path / "instance"
    instance.mkdir()
    endpoint = request.getfixturevalue("moto_endpoint") if storage_url.startswith("s3://") else None
    return Settings(
        instance_path=instance,
        database_url=database_url,
        storage_url=storage_url,
        secret_key="test-secret-key",
        signing_key_path=signing_key_file,
        field_keys=(base64.b64decode(FIELD_KEY),),
        s3_endpoint_url=endpoint,
        testing=True,
        csrf_enabled=False,
        argon2_profile="cheapest",
    )


@pytest.fixture
def app(settings: Settings) -> Iterator[Flask]:
    application = create_app(settings)
    # An instance requires a second factor of whoever may see protected identities (on by default, tested in
    # tests/auth/test_second_factor_policy.py); the other tests give that permission to users without one.
    from casefile.auth import totp

    with application.app_context(), session_scope() as s:
        totp.set_identity_viewers_required(s, False)
    yield application
    application.extensions["casefile_db"].dispose()


@pytest.fixture
def another_machine(settings: Settings, tmp_path: Path) -> Iterator[Callable[..., Flask]]:
    """Another server of the same installation: the same database, blob store and keys, an instance folder of its
    own (and any other settings given)."""
    made: list[Flask] = []

    def make(**overrides: Any) -> Flask:
        folder = tmp_path / f"machine-{len(made) + 2}"
        folder.mkdir()
        made.append(create_app(settings.with_overrides(instance_path=folder, **overrides)))
        return made[-1]

    yield make
    for application in made:
        application.extensions["casefile_db"].dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def make_user(app: Flask) -> Callable[..., Account]:
    counter = iter(range(1, 10_000))

    def factory(
        role: str = "investigator",
        email: str | None = None,
        password: str = PASSWORD,
        second_factor: bool | None = None,
    ) -> Account:
        """A user; administrators get a second factor (their role requires one), others only when asked."""
        from casefile.auth import totp

        from support import totp_codes

        email = email or f"{role}{next(counter)}@example.org"
        with app.app_context(), session_scope() as s:
            user = auth_services.create_user(s, email, role, password)
            secret = None
            if second_factor if second_factor is not None else role == "admin":
                secret = totp.new_secret()
                assert totp.enable(s, app.extensions["casefile_cipher"], user, secret, totp_codes(secret)[0])
                user.totp_last_step = None  # the enrolment code does not use up the tests' first login
            return Account(user.id, user.email, role, password, secret)

    return factory


@pytest.fixture
def logged_in(client: FlaskClient, make_user: Callable[..., Account]) -> Callable[..., Account]:
    """Create a user of the given role and log the test client in as them."""

    def factory(role: str = "investigator") -> Account:
        account = make_user(role)
        login(client, account)
        return account

    return factory


@pytest.fixture
def api_for(app: Flask, make_user: Callable[..., Account]) -> Callable[..., tuple[Api, Account]]:
    def factory(role: str = "investigator", account: Account | None = None) -> tuple[Api, Account]:
        account = account or make_user(role)
        with app.app_context(), session_scope() as s:
            user = s.get(User, account.id)
            assert user is not None
            token = auth_services.create_api_token(s, user)
        return Api(app.test_client(), token), account

    return factory


@pytest.fixture
def add_member(app: Flask) -> Callable[..., None]:
    def factory(case_id: Any, account: Account, role: str = "investigator", identities: bool = False) -> None:
        from casefile.cases.models import Case

        with app.app_context(), session_scope() as s:
            case = s.get(Case, uuid.UUID(str(case_id)))
            user = s.get(User, account.id)
            assert case is not None and user is not None
            auth_services.add_member(s, case, user, role, identities)

    return factory


@pytest.fixture
def make_case(app: Flask) -> Callable[..., uuid.UUID]:
    counter = iter(range(1, 10_000))

    def factory(owner: Account, reference: str | None = None, title: str = "A case") -> uuid.UUID:
        from casefile.cases.services import create_case

        with app.app_context(), session_scope() as s:
            user = s.get(User, owner.id)
            assert user is not None
            case = create_case(s, user, {"reference": reference or f"C{next(counter)}", "title": title})
            return case.id

    return factory


class _QuietHandler(WSGIRequestHandler):
    """No access log per request (the browser makes many); errors are still logged."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


@pytest.fixture
def live_server(app: Flask) -> Iterator[str]:
    """Serve ``app`` on 127.0.0.1 (free port) in a background thread; yields the base URL without trailing slash."""
    # The test settings turn CSRF off for the Flask test client; a browser must meet the real protection.
    app.config["WTF_CSRF_ENABLED"] = True
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=_QuietHandler)
    thread = threading.Thread(target=server.serve_forever, name="e2e-live-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()  # stops serve_forever
        thread.join(timeout=10)
        # Closes the listening socket and joins the request threads (browser contexts are closed by now, so
        # their keep-alive connections have ended): no ResourceWarning, no thread outliving the test's database.
        server.server_close()
        assert not thread.is_alive(), "the live server thread did not stop"


# --- real peers on loopback: a website over HTTPS with its own CA, and OpenSSL's time-stamping authority -------


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestSite]:
    served = TestSite(tmp_path_factory.mktemp("site"))
    yield served
    served.close()


@pytest.fixture(scope="session")
def tsa(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalTSA]:
    authority = LocalTSA(tmp_path_factory.mktemp("tsa"))
    yield authority
    authority.close()


@pytest.fixture
def capture_settings(settings: Settings, site: TestSite, tsa: LocalTSA) -> Settings:
    """Captures may reach the test site on loopback (and judge its chain against its own CA); one local TSA."""
    return settings.with_overrides(
        capture_allow_networks=("127.0.0.0/8", "::1/128"),
        capture_ca_file=site.ca_file,
        capture_timeout_seconds=30.0,
        tsa_urls=(tsa.url,),
        tsa_ca_file=tsa.root_file,
    )
