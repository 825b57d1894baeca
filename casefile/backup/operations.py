"""Create, verify and restore a backup. A backup is a BagIt bag (a directory):

    data/backup.json             format version, time, Alembic revision, database kind, the ledger head and
                                 checkpoint count and every referenced blob (size, S3 version), all read from the
                                 snapshot; the signing key's public half, to check checkpoints without secrets
    data/database.sqlite3        SQLite: the online-backup copy   | data/database.pgdump  PostgreSQL: pg_dump -Fc
    data/blobs/<sha256>          local storage (S3: only with --with-blobs; otherwise the object versions)
    data/keys.enc                only with a passphrase: the keys, encrypted (casefile/backup/keys.py)

The bag is built in a hidden sibling directory and renamed into place at the end, so a backup that exists is a
complete one."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import bagit
from sqlalchemy.exc import SQLAlchemyError

from casefile.backup import BackupError
from casefile.backup.blobs import BlobRef, copy_blob_out, put_checked
from casefile.backup.database import (
    PG_FILE,
    SQLITE_FILE,
    integrity_problems,
    kind_of,
    list_pg_dump,
    read_info,
    restore_postgresql,
    restore_sqlite,
    snapshot_postgresql,
    snapshot_sqlite,
    sqlite_session,
    target_state,
)
from casefile.backup.keys import (
    KeyBundle,
    apply_key_plan,
    decrypt_keys,
    encrypt_keys,
    instance_keys,
    plan_key_restore,
)
from casefile.config import Settings, write_secret
from casefile.custody.signing import key_id, load_private_key
from casefile.custody.verify import verify_ledger
from casefile.dossier.verify import describe_bag_problem
from casefile.storage import CHUNK_SIZE, BlobStore, StorageError
from casefile.witnesses.crypto import key_fingerprint

if TYPE_CHECKING:
    from casefile.backup.s3 import S3Objects

FORMAT, VERSION = "casefile-backup", 1
KEYS_FILE = "keys.enc"
# bagit logs each mismatch as a warning; verify reports them itself, one line each.
logging.getLogger("bagit").addHandler(logging.NullHandler())

Say = Callable[[str], None]


def _s3(settings: Settings, store: BlobStore) -> S3Objects | None:
    if not settings.storage_url.startswith("s3://"):
        return None
    # Here, not at the top: boto3 is slow to import and only S3 deployments need it (as in casefile.storage).
    from casefile.backup.s3 import s3_objects

    return s3_objects(store)


# --- create -------------------------------------------------------------------------------------------------------


@dataclass
class CreateResult:
    manifest: dict[str, Any]
    warnings: list[str] = field(default_factory=list)


def create_backup(
    settings: Settings, store: BlobStore, dest: Path, *, passphrase: str | None, with_blobs: bool, say: Say
) -> CreateResult:
    dest = dest.absolute()
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise BackupError(f"{dest} exists and is not an empty directory")
    kind = kind_of(settings.database_url)
    s3 = _s3(settings, store)
    keys = instance_keys(settings)  # an unreadable key file is a reason not to start
    warnings: list[str] = []
    dest.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{dest.name}.partial-", dir=dest.parent))
    try:
        database_file = SQLITE_FILE if kind == "sqlite" else PG_FILE
        snapshot = snapshot_sqlite if kind == "sqlite" else snapshot_postgresql
        info = snapshot(settings.database_url, staging / database_file)
        say(
            f"Database snapshot: ledger at entry {info.head_seq}, {info.checkpoints} checkpoint(s), "
            f"{len(info.blobs)} referenced blob(s)."
        )
        storage: dict[str, Any] = {"kind": "local", "blobs_in_bag": True}
        if s3 is not None:
            versioned = s3.versioned()
            storage = {
                "kind": "s3",
                "bucket": s3.bucket,
                "prefix": s3.prefix,
                "versioned": versioned,
                "blobs_in_bag": with_blobs,
            }
            if not versioned and not with_blobs:
                warnings.append(
                    f"WARNING: the bucket {s3.bucket} has NO VERSIONING: this backup only names its objects, and a "
                    "blob deleted or overwritten from now on cannot be recovered from it. Enable versioning (and "
                    "Object Lock), or back up with --with-blobs."
                )
        in_bag = s3 is None or with_blobs
        if in_bag:
            (staging / "blobs").mkdir()
        blobs = [_back_up_blob(store, s3, ref, staging / "blobs" / ref.sha256, in_bag) for ref in info.blobs]
        say(f"Blobs: {len(blobs)} {'copied' if in_bag else 'recorded with their object versions'}.")
        if passphrase is not None:
            (staging / KEYS_FILE).write_bytes(encrypt_keys(keys, passphrase))
            say("Keys: included, encrypted under the passphrase (data/keys.enc).")
        else:
            warnings.append(
                "Keys NOT included (no passphrase given): export them separately with `flask --app app backup "
                "export-keys FILE --passphrase-file P` and keep that file off-site, apart from the backup. Without "
                "them checkpoints cannot be extended and protected identities cannot be read."
            )
        manifest = {
            "format": FORMAT,
            "version": VERSION,
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "casefile_revision": info.revision,
            "database": {"kind": kind, "file": database_file},
            "ledger": {"head_seq": info.head_seq, "head_hash": info.head_hash, "checkpoints": info.checkpoints},
            "signing_key": {"key_id": keys.key_id, "public_key_pem": keys.public_key_pem.decode("ascii")},
            # Public already (each ciphertext names its key so): lets a restore without the keys check the target's.
            "field_key_fingerprints": [key_fingerprint(k) for k in keys.field_keys],
            "keys_included": passphrase is not None,
            "storage": storage,
            "blobs": blobs,
        }
        (staging / "backup.json").write_text(json.dumps(manifest, indent=1) + "\n")
        bagit.make_bag(
            str(staging),
            bag_info={
                "Source-Organization": settings.organisation,
                "External-Description": "Casefile instance backup",
                "Casefile-Backup-Version": str(VERSION),
                "Casefile-Ledger-Head": str(info.head_seq),
            },
            checksums=["sha256"],
        )
        if dest.exists():
            dest.rmdir()
        os.rename(staging, dest)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return CreateResult(manifest, warnings)


def _back_up_blob(store: BlobStore, s3: S3Objects | None, ref: BlobRef, path: Path, in_bag: bool) -> dict[str, Any]:
    if s3 is None:
        return {"sha256": ref.sha256, "size": copy_blob_out(lambda: store.open(ref.sha256), ref, path), "in_bag": True}
    size, version = s3.current_version(ref)
    if in_bag:  # exactly the version recorded, even if the object changed since
        opener = (lambda: s3.open_version(ref.sha256, version)) if version else (lambda: store.open(ref.sha256))
        size = copy_blob_out(opener, ref, path)
    return {"sha256": ref.sha256, "size": size, "version_id": version, "in_bag": in_bag}


def export_keys(settings: Settings, target: Path, passphrase: str) -> None:
    if target.exists():
        raise BackupError(f"{target} exists; choose a new file name")
    write_secret(target, encrypt_keys(instance_keys(settings), passphrase))


# --- verify -------------------------------------------------------------------------------------------------------


def load_manifest(dest: Path) -> dict[str, Any]:
    if not (dest / "bagit.txt").is_file():
        raise BackupError(f"{dest} is not a backup (no bagit.txt)")
    try:
        manifest: dict[str, Any] = json.loads((dest / "data" / "backup.json").read_bytes())
    except (OSError, ValueError) as error:
        raise BackupError(f"{dest}: data/backup.json cannot be read: {error}") from None
    if manifest.get("format") != FORMAT or not isinstance(manifest.get("version"), int):
        raise BackupError(f"{dest}: data/backup.json is not a Casefile backup description")
    if manifest["version"] > VERSION:
        raise BackupError(f"{dest}: backup format {manifest['version']} is newer than this Casefile reads")
    return manifest


def verify_backup(dest: Path, *, passphrase: str | None = None) -> list[str]:
    """Every problem found, one line each (empty: the backup is sound). BackupError if it cannot be judged."""
    manifest = load_manifest(dest)
    problems: list[str] = []
    try:
        bag = bagit.Bag(str(dest))
    except bagit.BagError as error:
        return [f"bag: {error}"]
    try:
        bag.validate()
    except bagit.BagValidationError as error:
        # bagit stops at the first failed check (a Payload-Oxum mismatch says only "sizes differ"): then every
        # payload file is checked here, so that each damaged one is named.
        named = [describe_bag_problem(d) for d in error.details]
        problems += named or [f"bag: {error.message}", *_payload_problems(dest, bag)]
    entries: dict[str, dict[str, str]] = bag.payload_entries()
    problems += _manifest_problems(dest, manifest, entries)
    database = dest / "data" / str(manifest["database"]["file"])
    if database.is_file():
        problems += _database_problems(database, manifest)
    if passphrase is not None and (dest / "data" / KEYS_FILE).is_file():
        try:
            bundle = decrypt_keys((dest / "data" / KEYS_FILE).read_bytes(), passphrase)
        except BackupError as error:
            problems.append(f"data/{KEYS_FILE}: {error}")
        else:
            if (
                bundle.key_id != manifest["signing_key"]["key_id"]
                or [key_fingerprint(k) for k in bundle.field_keys] != manifest["field_key_fingerprints"]
            ):
                problems.append(f"data/{KEYS_FILE}: the keys are not the ones backup.json names")
    return problems


def _payload_problems(dest: Path, bag: bagit.Bag) -> list[str]:
    listed: dict[str, dict[str, str]] = bag.payload_entries()
    present = {p.relative_to(dest).as_posix() for p in (dest / "data").rglob("*") if p.is_file()}
    problems = [f"{path}: present in the backup but not in its manifest" for path in sorted(present - set(listed))]
    for path, hashes in sorted(listed.items()):
        if path not in present:
            problems.append(f"{path}: listed in the manifest but missing from the backup")
            continue
        digest = hashlib.sha256()
        with (dest / path).open("rb") as handle:
            while chunk := handle.read(CHUNK_SIZE):
                digest.update(chunk)
        if digest.hexdigest() != hashes.get("sha256"):
            problems.append(f"{path}: sha256 expected {hashes.get('sha256')} found {digest.hexdigest()}")
    return problems


def _manifest_problems(dest: Path, manifest: dict[str, Any], entries: dict[str, dict[str, str]]) -> list[str]:
    problems = []
    kind, file = manifest["database"]["kind"], manifest["database"]["file"]
    if (kind, file) not in (("sqlite", SQLITE_FILE), ("postgresql", PG_FILE)):
        problems.append(f"data/backup.json: unknown database {kind} {file}")
    elif f"data/{file}" not in entries:
        problems.append(f"data/{file}: the database snapshot is missing")
    listed = set()
    for blob in manifest["blobs"]:
        sha256, path = blob["sha256"], f"data/blobs/{blob['sha256']}"
        listed.add(path)
        if not blob.get("in_bag"):
            continue
        if path not in entries:
            problems.append(f"{path}: listed in backup.json but missing from the backup")
        elif entries[path].get("sha256") != sha256:
            problems.append(f"{path}: the bag manifest gives SHA-256 {entries[path].get('sha256')}, not its name")
        elif (dest / path).is_file() and (dest / path).stat().st_size != blob["size"]:
            problems.append(f"{path}: {(dest / path).stat().st_size} bytes, backup.json says {blob['size']}")
    problems += [
        f"{p}: in the backup but not in backup.json" for p in entries if p.startswith("data/blobs/") and p not in listed
    ]
    has_keys = f"data/{KEYS_FILE}" in entries
    if has_keys != bool(manifest.get("keys_included")):
        problems.append(f"data/{KEYS_FILE}: backup.json says keys_included={manifest.get('keys_included')}")
    return problems


def _database_problems(database: Path, manifest: dict[str, Any]) -> list[str]:
    if manifest["database"]["kind"] == "postgresql":
        return list_pg_dump(database)
    with tempfile.TemporaryDirectory(prefix="casefile-verify-") as scratch:
        copy = Path(scratch) / SQLITE_FILE  # the bag itself is never opened for writing
        shutil.copyfile(database, copy)
        problems = integrity_problems(copy)
        if problems:
            return problems
        try:
            with sqlite_session(copy) as session:
                report = verify_ledger(session, None, manifest["signing_key"]["public_key_pem"].encode("ascii"))
                info = read_info(session)
        except SQLAlchemyError as error:  # a sound file that is not a Casefile database of a known shape
            return [f"{database.name}: the ledger cannot be read: {str(error).splitlines()[0]}"]
    problems = [f"ledger in {database.name}: {p.kind}: {p.message}" for p in report.problems]
    ledger = manifest["ledger"]
    if (info.head_seq, info.head_hash, info.checkpoints) != (
        ledger["head_seq"],
        ledger["head_hash"],
        ledger["checkpoints"],
    ):
        problems.append(
            f"{database.name}: the ledger ends at entry {info.head_seq} with {info.checkpoints} checkpoint(s); "
            f"backup.json says {ledger['head_seq']} and {ledger['checkpoints']}"
        )
    listed = {blob["sha256"] for blob in manifest["blobs"]}
    problems += [
        f"{database.name}: {ref.owner} {ref.role} blob {ref.sha256} is not in backup.json"
        for ref in info.blobs
        if ref.sha256 not in listed
    ]
    return problems


# --- restore ------------------------------------------------------------------------------------------------------


def read_key_bundle(dest: Path, keys_file: Path | None, passphrase: str | None) -> KeyBundle | None:
    """The keys to restore: from --keys-file, else from the bag's keys.enc; None when there is no passphrase or
    nothing to decrypt (the target's configured keys must then be the backup's, which restore checks)."""
    source = keys_file or dest / "data" / KEYS_FILE
    if passphrase is None:
        if keys_file is not None:
            raise BackupError("--keys-file needs the passphrase (--passphrase-file or CASEFILE_BACKUP_PASSPHRASE)")
        return None
    if not source.is_file():
        return None
    return decrypt_keys(source.read_bytes(), passphrase)


def restore_backup(
    settings: Settings,
    store: BlobStore,
    dest: Path,
    *,
    passphrase: str | None,
    keys_file: Path | None,
    say: Say,
) -> list[str]:
    """Restore into an empty instance. Refusals raise BackupError before anything is written; problems found
    (a damaged backup, a blob that cannot be put back) are returned, one line each."""
    manifest = load_manifest(dest)
    kind = kind_of(settings.database_url)
    if manifest["database"]["kind"] != kind:
        raise BackupError(f"this backup holds a {manifest['database']['kind']} database; the target uses {kind}")
    bundle = read_key_bundle(dest, keys_file, passphrase)
    expected_key = manifest["signing_key"]["key_id"]
    if bundle is not None and bundle.key_id != expected_key:
        raise BackupError("the keys given are not this backup's (their signing key differs from backup.json's)")
    key_plan = plan_key_restore(settings, bundle) if bundle is not None else None
    if bundle is None and _configured_key_id(settings) != expected_key:
        raise BackupError(
            "the configured signing key is not the one that signed this backup's checkpoints: give the passphrase "
            "to restore the backed-up keys (or --keys-file with an exported key file)"
        )
    configured = {key_fingerprint(k) for k in settings.field_keys}
    if bundle is None and not set(manifest["field_key_fingerprints"]) <= configured:
        raise BackupError(
            "the configured field keys do not include the backup's, so protected identities would not decrypt: give "
            "the passphrase to restore the backed-up keys (or --keys-file with an exported key file)"
        )
    known, head_revision = _revisions(settings.database_url)
    if manifest["casefile_revision"] not in known:
        raise BackupError(
            f"this backup is at database revision {manifest['casefile_revision']}, which this Casefile does not know: "
            "restore it with the Casefile version that made it (or a newer one)"
        )
    state = target_state(settings.database_url)
    if state.not_empty:
        raise BackupError(f"refusing to restore: {state.not_empty}; restore only into an empty instance")
    if state.tables and state.revision != manifest["casefile_revision"]:
        raise BackupError(
            f"the target database is at revision {state.revision}, the backup at {manifest['casefile_revision']}: "
            "restore into a database without tables"
        )
    s3 = _s3(settings, store)
    if s3 is None and next(iter(store.iter_hashes()), None) is not None:
        raise BackupError(f"refusing to restore: the blob store {store.describe()} is not empty")

    say(f"Checking the backup {dest} …")
    problems = verify_backup(dest)
    if problems:
        return problems
    # Blobs before rows, as at ingest: an interrupted restore leaves unreferenced blobs, never rows without files.
    problems = _restore_blobs(store, s3, dest, manifest, say)
    if problems:
        return problems
    database = dest / "data" / manifest["database"]["file"]
    if kind == "sqlite":
        restore_sqlite(database, settings.database_url)
    else:
        restore_postgresql(database, settings.database_url, has_tables=state.tables)
    say(f"Database: restored (ledger at entry {manifest['ledger']['head_seq']}).")
    if key_plan is not None:
        for line in [*key_plan.notes, *apply_key_plan(key_plan)]:
            say(f"Keys: {line}")
    else:
        say("Keys: not in this restore; the configured signing key and field keys are the backup's.")
    if manifest["casefile_revision"] != head_revision:
        say(f"The backup is at revision {manifest['casefile_revision']}: run `flask --app app db upgrade` next.")
    return []


def _revisions(database_url: str) -> tuple[set[str], str | None]:
    """Every migration revision this code knows, and the newest."""
    from alembic.script import ScriptDirectory

    from casefile.migrate import alembic_config

    scripts = ScriptDirectory.from_config(alembic_config(database_url))
    return {script.revision for script in scripts.walk_revisions()}, scripts.get_current_head()


def _configured_key_id(settings: Settings) -> str | None:
    try:
        return key_id(load_private_key(settings.signing_key_path.read_bytes()))
    except (OSError, ValueError):
        return None


def _restore_blobs(store: BlobStore, s3: S3Objects | None, dest: Path, manifest: dict[str, Any], say: Say) -> list[str]:
    """Put every blob back, each checked against its SHA-256. From the bag if it holds the blob; on S3, an object
    already in the target bucket is re-hashed and kept, else the recorded version is copied from the backed-up
    bucket (the same bucket after losing only the database, or the old one when moving to a new bucket)."""
    storage = manifest["storage"]
    problems: list[str] = []
    restored = kept = 0
    for blob in manifest["blobs"]:
        sha256 = blob["sha256"]
        try:
            if s3 is not None and store.exists(sha256):
                found = store.rehash(sha256)
                if found != sha256:
                    problems.append(f"blob {sha256}: the target bucket holds other bytes under it ({found})")
                kept += 1
            elif blob.get("in_bag"):
                with (dest / "data" / "blobs" / sha256).open("rb") as stream:
                    put_checked(store, stream, sha256)
                restored += 1
            elif s3 is not None and storage["kind"] == "s3" and blob.get("version_id"):
                version = s3.open_version(
                    sha256, blob["version_id"], bucket=storage["bucket"], prefix=storage["prefix"]
                )
                with version as stream:
                    put_checked(store, stream, sha256)
                restored += 1
            elif storage["kind"] == "s3" and s3 is None:
                problems.append(
                    f"blob {sha256}: only in s3://{storage['bucket']} (version {blob.get('version_id')}): restore into "
                    "S3 storage, or make the backup with --with-blobs"
                )
            else:
                problems.append(f"blob {sha256}: not in the backup, nor in the target store, nor an object version")
        except (StorageError, OSError) as error:
            problems.append(f"blob {sha256}: {error}")
    kept_note = f", {kept} already in the bucket and re-hashed" if s3 is not None else ""
    say(f"Blobs: {restored} restored{kept_note}, {len(problems)} problem(s).")
    return problems
