"""Configuration (DESIGN §7): embedded-mode defaults, secrets generated into the instance folder on first run
with owner-only permissions, CASEFILE_* overrides, and the SQLite connection settings every engine gets."""

from __future__ import annotations

import base64
import stat
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import IntegrityError

from casefile.config import GIB, load_settings
from casefile.custody.signing import generate_private_key_pem, load_private_key
from casefile.db import Database, make_engine
from casefile.dossier.pdfsign import document_signer
from casefile.keygen import main, make_keys

from support import read_environment_file

SECRET_FILES = ("secret_key", "signing_key.pem", "field_keys")


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def key(byte: bytes, length: int = 32) -> str:
    return base64.b64encode(byte * length).decode()


def test_first_run_generates_secrets_in_a_new_instance_folder(tmp_path: Path) -> None:
    instance = tmp_path / "deep" / "instance"
    settings = load_settings(env={"CASEFILE_INSTANCE_PATH": str(instance)})
    assert instance.is_dir()
    assert mode(instance) == 0o700
    assert settings.instance_path == instance.resolve()
    for name in SECRET_FILES:
        assert mode(instance / name) == 0o600, name

    assert len(settings.secret_key) >= 32
    assert settings.secret_key == (instance / "secret_key").read_text().strip()
    assert settings.signing_key_path == instance / "signing_key.pem"
    load_private_key(settings.signing_key_path.read_bytes())  # a valid Ed25519 PEM
    assert len(settings.field_keys) == 1 and len(settings.field_keys[0]) == 32
    assert base64.b64decode((instance / "field_keys").read_text().strip()) == settings.field_keys[0]

    # Embedded-mode defaults.
    assert settings.database_url == f"sqlite:///{instance / 'casefile.db'}"
    assert settings.storage_url == f"file://{instance / 'blobs'}"
    assert settings.max_upload_bytes == 10 * GIB
    assert settings.s3_endpoint_url is None and settings.https is False


def test_secrets_are_stable_across_loads(tmp_path: Path) -> None:
    env = {"CASEFILE_INSTANCE_PATH": str(tmp_path / "instance")}
    first = load_settings(env=env)
    files = {name: (tmp_path / "instance" / name).read_bytes() for name in SECRET_FILES}
    second = load_settings(env=env)
    assert second.secret_key == first.secret_key
    assert second.field_keys == first.field_keys
    assert second.signing_key_path == first.signing_key_path
    assert {name: (tmp_path / "instance" / name).read_bytes() for name in SECRET_FILES} == files
    # A different instance gets different secrets.
    other = load_settings(env={"CASEFILE_INSTANCE_PATH": str(tmp_path / "other")})
    assert other.secret_key != first.secret_key and other.field_keys != first.field_keys
    assert (tmp_path / "other" / "signing_key.pem").read_bytes() != files["signing_key.pem"]


def test_default_instance_path_is_relative_to_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    settings = load_settings(env={})
    assert settings.instance_path == (tmp_path / "instance").resolve()
    assert all((tmp_path / "instance" / name).is_file() for name in SECRET_FILES)


def test_environment_overrides(tmp_path: Path) -> None:
    signing = tmp_path / "signing.pem"
    signing.write_bytes(generate_private_key_pem())
    instance = tmp_path / "instance"
    settings = load_settings(
        env={
            "CASEFILE_INSTANCE_PATH": str(instance),
            "CASEFILE_DATABASE_URL": "postgresql+psycopg://casefile@db.internal/casefile",
            "CASEFILE_STORAGE": "s3://evidence-bucket",
            "CASEFILE_S3_ENDPOINT_URL": "http://127.0.0.1:9000",
            "CASEFILE_S3_OBJECT_LOCK_MODE": "COMPLIANCE",
            "CASEFILE_S3_OBJECT_LOCK_DAYS": "3650",
            "CASEFILE_MAX_UPLOAD_BYTES": "1048576",
            "CASEFILE_FIELD_KEYS": f"{key(b'a')}, {key(b'b', 16)}",
            "CASEFILE_SECRET_KEY": "injected-secret",
            "CASEFILE_SIGNING_KEY": str(signing),
        }
    )
    assert settings.database_url == "postgresql+psycopg://casefile@db.internal/casefile"
    assert settings.storage_url == "s3://evidence-bucket"
    assert settings.s3_endpoint_url == "http://127.0.0.1:9000"
    assert (settings.s3_object_lock_mode, settings.s3_object_lock_days) == ("COMPLIANCE", 3650)
    assert settings.max_upload_bytes == 1048576
    assert settings.field_keys == (b"a" * 32, b"b" * 16)  # first one encrypts
    assert settings.secret_key == "injected-secret"
    assert settings.signing_key_path == signing
    # Secrets given through the environment are not also generated on disk.
    assert not any((instance / name).exists() for name in SECRET_FILES)


def test_keyword_overrides_win(tmp_path: Path) -> None:
    settings = load_settings(env={"CASEFILE_INSTANCE_PATH": str(tmp_path)}, max_upload_bytes=5, testing=True)
    assert settings.max_upload_bytes == 5 and settings.testing is True


@pytest.mark.parametrize(
    "value",
    [
        pytest.param("not base64!", id="not-base64"),
        pytest.param("abc", id="bad-padding"),
        pytest.param(key(b"k") + ",%%%", id="second-key-broken"),
        pytest.param(base64.b64encode(b"short").decode(), id="5-bytes"),
        pytest.param(base64.b64encode(b"k" * 33).decode(), id="33-bytes"),
        pytest.param(" , ", id="no-key"),
    ],
)
def test_malformed_field_keys_are_refused_clearly(tmp_path: Path, value: str) -> None:
    env = {"CASEFILE_INSTANCE_PATH": str(tmp_path), "CASEFILE_FIELD_KEYS": value}
    with pytest.raises(ValueError, match="CASEFILE_FIELD_KEYS"):
        load_settings(env=env)


def test_malformed_field_keys_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "field_keys").write_text(base64.b64encode(b"short").decode())
    with pytest.raises(ValueError, match="16, 24 or 32 bytes"):
        load_settings(env={"CASEFILE_INSTANCE_PATH": str(tmp_path)})


def pragma(engine: Engine, name: str) -> object:
    with engine.connect() as conn:
        return conn.execute(text(f"PRAGMA {name}")).scalar()


@pytest.mark.parametrize("immediate", [True, False])
def test_sqlite_engines_enforce_foreign_keys_and_use_wal(tmp_path: Path, immediate: bool) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}", immediate=immediate)
    try:
        assert pragma(engine, "foreign_keys") == 1
        assert str(pragma(engine, "journal_mode")).lower() == "wal"
        assert pragma(engine, "busy_timeout") == 30000
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE parent (id INTEGER PRIMARY KEY)"))
            conn.execute(text("CREATE TABLE child (id INTEGER PRIMARY KEY, parent_id INTEGER REFERENCES parent(id))"))
        with pytest.raises(IntegrityError), engine.begin() as conn:
            conn.execute(text("INSERT INTO child (id, parent_id) VALUES (1, 42)"))
    finally:
        engine.dispose()


def test_both_engines_of_a_sqlite_database(tmp_path: Path) -> None:
    database = Database(f"sqlite:///{tmp_path / 'app.db'}")
    try:
        assert database.is_sqlite and database.read_engine is not database.engine
        for engine in (database.engine, database.read_engine):
            assert pragma(engine, "foreign_keys") == 1
            assert str(pragma(engine, "journal_mode")).lower() == "wal"
    finally:
        database.dispose()


def test_keygen_makes_a_set_every_machine_loads_the_same_way(tmp_path: Path) -> None:
    assert main([str(tmp_path / "keys"), "--organisation", "Libya Documentation Network"]) == 0
    env_file = tmp_path / "keys" / "keys.env"
    assert {mode(p) for p in (tmp_path / "keys").iterdir()} == {0o600} and mode(tmp_path / "keys") == 0o700
    env = read_environment_file(env_file)
    assert env["CASEFILE_GENERATE_KEYS"] == "0"
    machines = [load_settings({**env, "CASEFILE_INSTANCE_PATH": str(tmp_path / f"machine-{n}")}) for n in range(2)]
    assert machines[0].secret_key == machines[1].secret_key
    assert machines[0].field_keys == machines[1].field_keys
    assert machines[0].signing_key_path == machines[1].signing_key_path
    load_private_key(machines[0].signing_key_path.read_bytes())
    assert "Libya Documentation Network" in document_signer(machines[1]).certificate.subject.rfc4514_string()
    for machine in machines:  # nothing generated into either instance folder
        assert sorted(p.name for p in machine.instance_path.iterdir()) == []
    # Keys are never overwritten: a second run into the same folder refuses and changes nothing.
    before = env_file.read_bytes()
    assert main([str(tmp_path / "keys")]) == 1
    assert env_file.read_bytes() == before


@pytest.mark.parametrize(
    "missing", ["CASEFILE_SECRET_KEY", "CASEFILE_SIGNING_KEY", "CASEFILE_FIELD_KEYS", "CASEFILE_DOCUMENT_SIGNING"]
)
def test_without_key_generation_a_missing_key_refuses_to_start(tmp_path: Path, missing: str) -> None:
    env = read_environment_file(make_keys(tmp_path / "keys", "Casefile"))
    del env[missing]
    instance = tmp_path / "instance"
    with pytest.raises(ValueError, match=f"CASEFILE_GENERATE_KEYS=0 and {missing} not set"):
        load_settings({**env, "CASEFILE_INSTANCE_PATH": str(instance)})
    assert not any(instance.iterdir())  # and nothing was generated in its place


def test_without_key_generation_a_key_file_must_exist(tmp_path: Path) -> None:
    env = read_environment_file(make_keys(tmp_path / "keys", "Casefile"))
    Path(env["CASEFILE_SIGNING_KEY"]).unlink()
    with pytest.raises(ValueError, match="CASEFILE_SIGNING_KEY: no key file at"):
        load_settings({**env, "CASEFILE_INSTANCE_PATH": str(tmp_path / "instance")})
