"""`flask --app app backup create|verify|restore|export-keys` (casefile/backup): what a backup holds, that keys
are in it only encrypted, that damage is named, and that a restore goes only into an empty instance."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import bagit
import pytest
from backup_support import PASSPHRASE, STORAGE_KIND, Target, new_target, passphrase_file, run
from flask import Flask
from sqlalchemy import text

from casefile.backup.keys import decrypt_keys
from casefile.custody.ledger import head
from casefile.custody.signing import load_private_key
from casefile.db import session_scope

from support import Account, Api, upload


@pytest.fixture
def storage_url(tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """As the suite's, but the bucket is versioned: the production set-up the backup records versions of."""
    if STORAGE_KIND == "local":
        return f"file://{tmp_path / 'blobs'}"
    return f"s3://{request.getfixturevalue('make_bucket')(versioned=True)}"


@dataclass
class World:
    app: Flask
    api: Api
    case_id: uuid.UUID
    blobs: dict[str, bytes]  # sha256 -> content
    secret: Path
    root: Path
    bucket_maker: Any

    def backup(self, *extra: Any, name: str = "backup") -> tuple[Path, Any]:
        dest = self.root / name
        return dest, run(self.app, "backup", "create", dest, *extra)

    def target(self, name: str = "restored", template: str | None = None) -> Any:
        settings = self.app.extensions["casefile_settings"]
        return new_target(self.root / name, settings, self.bucket_maker, template=template)


@pytest.fixture
def world(
    app: Flask,
    tmp_path: Path,
    request: pytest.FixtureRequest,
    api_for: Callable[..., tuple[Api, Account]],
    make_case: Callable[..., uuid.UUID],
) -> World:
    api, owner = api_for("investigator")
    case_id = make_case(owner, "TRH")
    blobs = {}
    for n, content in enumerate([b"Statement of W-07, Tarhuna, June 2020.\n", "شهادة: المقبرة الجماعية\n".encode()]):
        item = upload(api, case_id, content, f"exhibit-{n}.txt")
        blobs[item["sha256"]] = content
    assert run(app, "custody", "checkpoint").exit_code == 0
    maker = request.getfixturevalue("make_bucket") if STORAGE_KIND == "s3" else None
    return World(app, api, case_id, blobs, passphrase_file(tmp_path), tmp_path, maker)


def bag_files(dest: Path) -> dict[str, bytes]:
    return {p.relative_to(dest).as_posix(): p.read_bytes() for p in dest.rglob("*") if p.is_file()}


def live_head(app: Flask) -> tuple[int, str]:
    with app.app_context(), session_scope() as s:
        ledger_head = head(s)
        assert ledger_head is not None
        return ledger_head.seq, ledger_head.entry_hash


def test_a_backup_is_a_valid_bag_of_the_snapshot_and_the_blobs_it_references(world: World) -> None:
    dest, result = world.backup("--passphrase-file", world.secret)
    assert result.exit_code == 0, result.output
    bagit.Bag(str(dest)).validate()
    manifest = json.loads((dest / "data" / "backup.json").read_text())
    with world.app.app_context(), session_scope() as s:
        revision = s.execute(text("SELECT version_num FROM alembic_version")).scalar()
    seq, entry_hash = live_head(world.app)
    assert manifest["format"] == "casefile-backup" and manifest["version"] == 1
    assert manifest["casefile_revision"] == revision
    assert manifest["ledger"] == {"head_seq": seq, "head_hash": entry_hash, "checkpoints": 1}
    assert manifest["keys_included"] is True
    assert {b["sha256"] for b in manifest["blobs"]} == set(world.blobs)
    assert all(b["size"] == len(world.blobs[b["sha256"]]) for b in manifest["blobs"])
    files = bag_files(dest)
    database = "data/database.sqlite3" if manifest["database"]["kind"] == "sqlite" else "data/database.pgdump"
    assert database in files and "data/keys.enc" in files
    if STORAGE_KIND == "local":
        assert manifest["storage"] == {"kind": "local", "blobs_in_bag": True}
        for sha256, content in world.blobs.items():
            assert files[f"data/blobs/{sha256}"] == content
    else:
        assert manifest["storage"]["versioned"] is True and manifest["storage"]["blobs_in_bag"] is False
        assert all(b["version_id"] and b["in_bag"] is False for b in manifest["blobs"])
        assert not any(name.startswith("data/blobs/") for name in files)
    assert "WARNING" not in result.output


def test_keys_are_in_the_backup_only_encrypted(world: World) -> None:
    dest, result = world.backup("--passphrase-file", world.secret)
    assert result.exit_code == 0, result.output
    settings = world.app.extensions["casefile_settings"]
    pem = settings.signing_key_path.read_bytes()
    raw_private = load_private_key(pem).private_bytes_raw()
    secrets = [raw_private, base64.b64encode(raw_private), settings.secret_key.encode()]
    secrets += [line for line in pem.splitlines() if line and not line.startswith(b"-----")]
    for key in settings.field_keys:
        secrets += [key, base64.b64encode(key)]
    for name, data in bag_files(dest).items():
        for secret in secrets:
            assert secret not in data, f"key material in clear in {name}"
    bundle = decrypt_keys((dest / "data" / "keys.enc").read_bytes(), PASSPHRASE)
    assert bundle.signing_key_pem == pem
    assert bundle.field_keys == settings.field_keys
    assert bundle.secret_key == settings.secret_key


def test_without_a_passphrase_the_keys_are_left_out_and_can_be_exported_encrypted(world: World) -> None:
    dest, result = world.backup()
    assert result.exit_code == 0, result.output
    assert "Keys NOT included" in result.output and "export-keys" in result.output
    assert "data/keys.enc" not in bag_files(dest)
    assert json.loads((dest / "data" / "backup.json").read_text())["keys_included"] is False

    exported = world.root / "keys.enc"
    refused = run(world.app, "backup", "export-keys", exported)
    assert refused.exit_code == 2 and "passphrase is required" in refused.output
    short = world.root / "short.txt"
    short.write_text("tarhuna\n")
    refused = run(world.app, "backup", "export-keys", exported, "--passphrase-file", short)
    assert refused.exit_code == 2 and "at least 12 characters" in refused.output
    done = run(world.app, "backup", "export-keys", exported, "--passphrase-file", world.secret)
    assert done.exit_code == 0, done.output
    assert exported.stat().st_mode & 0o777 == 0o600
    assert decrypt_keys(exported.read_bytes(), PASSPHRASE).secret_key == "test-secret-key"
    again = run(world.app, "backup", "export-keys", exported, "--passphrase-file", world.secret)
    assert again.exit_code == 2 and "exists" in again.output


def test_a_wrong_passphrase_is_a_clear_error(world: World) -> None:
    dest, result = world.backup("--passphrase-file", world.secret)
    assert result.exit_code == 0, result.output
    wrong = world.root / "wrong.txt"
    wrong.write_text("not the passphrase at all\n")
    assert run(world.app, "backup", "verify", dest, "--passphrase-file", world.secret).exit_code == 0
    verified = run(world.app, "backup", "verify", dest, "--passphrase-file", wrong)
    assert verified.exit_code == 1
    assert "PROBLEM data/keys.enc: the keys do not decrypt: wrong passphrase" in verified.output
    with world.target() as target, target.app() as fresh:
        restored = run(fresh, "backup", "restore", dest, "--passphrase-file", wrong)
        assert restored.exit_code == 2, restored.output
        assert "wrong passphrase" in restored.output


@pytest.mark.parametrize("damage", ["blob", "database", "missing blob", "extra file", "backup.json"])
def test_a_damaged_backup_fails_verification_naming_the_file(world: World, damage: str) -> None:
    # On S3 the objects are copied into the bag only with --with-blobs.
    dest, result = world.backup("--with-blobs", "--passphrase-file", world.secret)
    assert result.exit_code == 0, result.output
    assert run(world.app, "backup", "verify", dest).exit_code == 0
    sha256 = sorted(world.blobs)[0]
    blob = dest / "data" / "blobs" / sha256
    manifest = json.loads((dest / "data" / "backup.json").read_text())
    database = dest / "data" / manifest["database"]["file"]
    if damage == "blob":
        blob.write_bytes(b"X" + blob.read_bytes()[1:])
        named = f"data/blobs/{sha256}"
    elif damage == "database":
        data = bytearray(database.read_bytes())
        data[len(data) // 2] ^= 0x01
        database.write_bytes(bytes(data))
        named = f"data/{database.name}"
    elif damage == "missing blob":
        blob.unlink()
        named = f"data/blobs/{sha256}"
    elif damage == "extra file":
        (dest / "data" / "blobs" / ("0" * 64)).write_bytes(b"planted")
        named = f"data/blobs/{'0' * 64}"
    else:
        (dest / "data" / "backup.json").write_text(json.dumps({**manifest, "blobs": manifest["blobs"][1:]}))
        named = "data/backup.json"
    verified = run(world.app, "backup", "verify", dest)
    assert verified.exit_code == 1, verified.output
    problems = [line for line in verified.output.splitlines() if line.startswith("PROBLEM ")]
    assert problems and any(named in line for line in problems), verified.output
    with world.target() as target, target.app() as fresh:
        restored = run(fresh, "backup", "restore", dest, "--passphrase-file", world.secret)
        assert restored.exit_code == 1, restored.output
        assert "NOT RESTORED" in restored.output


def test_verify_and_create_refuse_what_they_cannot_work_on(world: World) -> None:
    not_a_backup = world.root / "elsewhere"
    not_a_backup.mkdir()
    (not_a_backup / "file.txt").write_text("hello")
    verified = run(world.app, "backup", "verify", not_a_backup)
    assert verified.exit_code == 2 and "is not a backup" in verified.output
    created = run(world.app, "backup", "create", not_a_backup)
    assert created.exit_code == 2 and "not an empty directory" in created.output
    assert (not_a_backup / "file.txt").read_text() == "hello"
    assert [p.name for p in world.root.iterdir() if ".partial-" in p.name] == []


def test_a_restore_into_an_instance_with_evidence_is_refused_and_changes_nothing(world: World) -> None:
    dest, result = world.backup("--passphrase-file", world.secret)
    assert result.exit_code == 0, result.output
    before = live_head(world.app)
    restored = run(world.app, "backup", "restore", dest, "--passphrase-file", world.secret)
    assert restored.exit_code == 2, restored.output
    assert "refusing to restore: the target database holds" in restored.output
    assert live_head(world.app) == before
    assert run(world.app, "custody", "verify").exit_code == 0


def test_a_blob_store_that_is_not_empty(world: World) -> None:
    """Local: refused. S3: the backed-up bucket may be the target (the database was lost, the bucket was not), so
    an object already there is re-hashed and kept rather than refused."""
    dest, result = world.backup("--passphrase-file", world.secret)
    assert result.exit_code == 0, result.output
    content = world.blobs[sorted(world.blobs)[0]]
    with world.target() as target, target.app() as fresh:
        from io import BytesIO

        fresh.extensions["casefile_blobs"].put(BytesIO(content))
        restored = run(fresh, "backup", "restore", dest, "--passphrase-file", world.secret)
        if STORAGE_KIND == "local":
            assert restored.exit_code == 2, restored.output
            assert "the blob store" in restored.output and "is not empty" in restored.output
        else:
            assert restored.exit_code == 0, restored.output
            assert "1 restored, 1 already in the bucket and re-hashed" in restored.output
            with target.app() as restarted:
                assert run(restarted, "custody", "verify").exit_code == 0


def assert_restored(target: Target, world: World) -> None:
    with target.app() as restarted:
        verified = run(restarted, "custody", "verify")
        assert verified.exit_code == 0, verified.output
        assert "1 checkpoints, 2 files checked" in verified.output, verified.output
        fsck = run(restarted, "fsck")
        assert fsck.exit_code == 0 and "0 missing, 0 unreferenced" in fsck.output, fsck.output


def test_a_restore_into_a_migrated_but_empty_database(world: World, template_database: str) -> None:
    dest, result = world.backup("--passphrase-file", world.secret)
    assert result.exit_code == 0, result.output
    with world.target(template=template_database) as target:
        with target.app() as fresh:
            restored = run(fresh, "backup", "restore", dest, "--passphrase-file", world.secret)
        assert restored.exit_code == 0, restored.output
        assert_restored(target, world)


def test_a_backup_without_keys_restores_with_the_exported_key_file(world: World) -> None:
    dest, result = world.backup()
    assert result.exit_code == 0, result.output
    exported = world.root / "keys.enc"
    assert run(world.app, "backup", "export-keys", exported, "--passphrase-file", world.secret).exit_code == 0
    with world.target() as target:
        with target.app() as fresh:
            # The fresh instance generated its own signing key: the backup's checkpoints would not verify.
            refused = run(fresh, "backup", "restore", dest)
            assert refused.exit_code == 2 and "signing key" in refused.output, refused.output
        # With the backup's signing key configured, its own generated field keys still refuse the restore.
        target.env["CASEFILE_SIGNING_KEY"] = str(world.app.extensions["casefile_settings"].signing_key_path)
        with target.app() as fresh:
            refused = run(fresh, "backup", "restore", dest)
            assert refused.exit_code == 2 and "field keys do not include" in refused.output, refused.output
            restored = run(fresh, "backup", "restore", dest, "--keys-file", exported, "--passphrase-file", world.secret)
        assert restored.exit_code == 0, restored.output
        assert "moved to" in restored.output  # the unused generated keys are kept aside, not deleted
        assert_restored(target, world)


@pytest.fixture
def operator_key(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "operator" / "signing.pem"
    path.parent.mkdir()
    from casefile.custody.signing import generate_private_key_pem

    path.write_bytes(generate_private_key_pem())
    yield path


def test_a_restore_never_overwrites_a_different_key_the_operator_configured(world: World, operator_key: Path) -> None:
    dest, result = world.backup("--passphrase-file", world.secret)
    assert result.exit_code == 0, result.output
    original = operator_key.read_bytes()
    with world.target() as target:
        target.env["CASEFILE_SIGNING_KEY"] = str(operator_key)
        with target.app() as fresh:
            restored = run(fresh, "backup", "restore", dest, "--passphrase-file", world.secret)
        assert restored.exit_code == 2, restored.output
        assert "CASEFILE_SIGNING_KEY" in restored.output and "not overwritten" in restored.output
        assert operator_key.read_bytes() == original


def test_an_unversioned_bucket_is_warned_about_loudly(world: World, request: pytest.FixtureRequest) -> None:
    if STORAGE_KIND == "s3":
        store = world.app.extensions["casefile_blobs"]
        request.getfixturevalue("s3_client").put_bucket_versioning(
            Bucket=store.bucket, VersioningConfiguration={"Status": "Suspended"}
        )
    result = world.backup("--passphrase-file", world.secret)[1]
    assert result.exit_code == 0, result.output
    assert ("has NO VERSIONING" in result.output) == (STORAGE_KIND == "s3"), result.output
    with_blobs = world.backup("--with-blobs", name="with-blobs")[1]
    assert with_blobs.exit_code == 0 and "NO VERSIONING" not in with_blobs.output, with_blobs.output
