"""Signed tree heads published outside the instance, and proof that today's ledger extends every one of them.

Checkpoints live in the database next to the ledger and are signed with a key in the same instance folder, so an
insider with the database and the disk can rewrite the chain, re-hash it and re-sign every checkpoint. What they
cannot rewrite is a tree head that already left: each checkpoint is copied to the witness the operator configures
(CASEFILE_CHECKPOINT_WITNESS: a folder on another disk or machine, or ``s3://bucket/prefix`` with Object Lock), and
verification proves by an RFC 6962 consistency proof that the ledger as it stands extends every published head.

A published head is a small JSON document (:func:`published_document`): the signed tree head and the public key
that verifies it. `custody verify --against` reads the same documents (or a bare tree head, as dossiers carry) from
a file, a folder, an http(s) address or an S3 prefix.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from casefile import components
from casefile.config import Settings
from casefile.custody.ledger import head
from casefile.custody.merkle import hash_from_hex, hash_to_hex, proof_to_hex, verify_consistency
from casefile.custody.models import Checkpoint
from casefile.custody.signing import SignedTreeHead, key_id, verify_tree_head
from casefile.custody.subtrees import StoredTree
from casefile.custody.verify import Problem, VerifyReport, tree_head_of
from casefile.db import get_database, utcnow
from casefile.errors import ValidationFailed

DOCUMENT_TYPE = "casefile-published-tree-head-v1"
# A published head is a few hundred bytes: anything much larger is not one.
MAX_DOCUMENT_BYTES = 64 * 1024
FETCH_TIMEOUT_SECONDS = 30


@dataclass(frozen=True)
class PublishedHead:
    source: str  # where it was read, for the report
    head: SignedTreeHead


def published_document(checkpoint: Checkpoint, public_pem: bytes) -> dict[str, Any]:
    return {
        "type": DOCUMENT_TYPE,
        "checkpoint_id": checkpoint.id,
        "reason": checkpoint.reason,
        "tree_head": tree_head_of(checkpoint).to_dict(),
        "public_key": public_pem.decode("ascii"),
    }


def document_name(checkpoint: Checkpoint) -> str:
    # Zero-padded so a listing sorts by size; the id makes two heads of one size (a checkpoint per export) distinct.
    return f"tree-head-{checkpoint.tree_size:012d}-{checkpoint.id:08d}.json"


def parse_document(raw: bytes, source: str) -> PublishedHead:
    """A published document or a bare signed tree head; ValueError naming the source otherwise."""
    if len(raw) > MAX_DOCUMENT_BYTES:
        raise ValueError(f"{source}: not a tree head (larger than {MAX_DOCUMENT_BYTES} bytes)")
    try:
        data = json.loads(raw)
        if isinstance(data, dict) and "tree_head" in data:
            data = data["tree_head"]
        return PublishedHead(source, SignedTreeHead.from_dict(data))
    except (ValueError, TypeError, RecursionError) as error:
        raise ValueError(f"{source}: not a signed tree head ({error})") from None


def read_document(path: Path) -> PublishedHead:
    """A tree head from a file, read no further than a tree head can be long (a folder may hold anything)."""
    with open(path, "rb") as fh:
        return parse_document(fh.read(MAX_DOCUMENT_BYTES + 1), str(path))


class Witness(Protocol):
    def names(self) -> set[str]: ...

    def publish(self, name: str, body: bytes) -> None: ...

    def heads(self) -> list[PublishedHead]: ...

    def describe(self) -> str: ...


class FolderWitness:
    def __init__(self, path: Path) -> None:
        self.path = path

    def names(self) -> set[str]:
        return {p.name for p in self.path.glob("tree-head-*.json")} if self.path.is_dir() else set()

    def publish(self, name: str, body: bytes) -> None:
        self.path.mkdir(parents=True, exist_ok=True)
        # "x": a published head is never overwritten, not even by a second publisher racing this one.
        try:
            with open(self.path / name, "xb") as fh:
                fh.write(body)
        except FileExistsError:
            return

    def heads(self) -> list[PublishedHead]:
        return [read_document(p) for p in sorted(self.path.glob("tree-head-*.json"))]

    def describe(self) -> str:
        return f"folder {self.path}"


class S3Witness:
    def __init__(self, bucket: str, prefix: str, client: Any, lock_mode: str | None, lock_days: int | None) -> None:
        self.bucket, self.prefix, self.client = bucket, prefix.strip("/"), client
        self.lock_mode, self.lock_days = lock_mode, lock_days

    def _key(self, name: str) -> str:
        return f"{self.prefix}/{name}" if self.prefix else name

    def _keys(self) -> Iterator[str]:
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=self._key("tree-head-")
        )
        for page in pages:
            for obj in page.get("Contents", []):
                yield obj["Key"]

    def names(self) -> set[str]:
        return {key.rsplit("/", 1)[-1] for key in self._keys()}

    def publish(self, name: str, body: bytes) -> None:
        extra: dict[str, Any] = {}
        if self.lock_mode and self.lock_days:
            extra = {
                "ObjectLockMode": self.lock_mode.upper(),
                "ObjectLockRetainUntilDate": utcnow() + timedelta(days=self.lock_days),
            }
        self.client.put_object(
            Bucket=self.bucket, Key=self._key(name), Body=body, ContentType="application/json", **extra
        )

    def heads(self) -> list[PublishedHead]:
        found = []
        for key in sorted(self._keys()):
            body = self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read(MAX_DOCUMENT_BYTES + 1)
            found.append(parse_document(body, f"s3://{self.bucket}/{key}"))
        return found

    def describe(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"


def open_witness(
    url: str, *, endpoint_url: str | None = None, lock_mode: str | None = None, lock_days: int | None = None
) -> Witness:
    """A folder (a path or file:// address) or ``s3://bucket[/prefix]``."""
    parts = urlsplit(url)
    if parts.scheme == "s3":
        import boto3

        if not parts.netloc:
            raise ValueError("a witness address in S3 looks like s3://bucket/prefix")
        client = boto3.client("s3", endpoint_url=endpoint_url)
        return S3Witness(parts.netloc, parts.path, client, lock_mode, lock_days)
    if parts.scheme == "file":
        return FolderWitness(Path(parts.path))
    if parts.scheme:
        raise ValueError(f"unsupported witness address {parts.scheme}://… (a folder or s3://bucket/prefix)")
    return FolderWitness(Path(url))


def configured_witness(settings: Settings) -> Witness | None:
    if not settings.checkpoint_witness:
        return None
    return open_witness(
        settings.checkpoint_witness,
        endpoint_url=settings.s3_endpoint_url,
        lock_mode=settings.s3_object_lock_mode,
        lock_days=settings.s3_object_lock_days,
    )


def witness_heads(settings: Settings) -> list[PublishedHead]:
    """Every head the configured witness holds ([] without one); an unreadable witness raises (verification
    could not run), it is never taken as "nothing published"."""
    witness = configured_witness(settings)
    return witness.heads() if witness else []


def publish_checkpoints(session: Session, witness: Witness, public_pem: bytes) -> list[str]:
    """Copy every checkpoint the witness does not hold yet (all of them on first use, and any whose earlier
    publication failed); only committed checkpoints exist to be read, so nothing unsigned-for leaves."""
    present = witness.names()
    published = []
    for checkpoint in session.scalars(select(Checkpoint).order_by(Checkpoint.id)):
        name = document_name(checkpoint)
        if name in present:
            continue
        body = json.dumps(published_document(checkpoint, public_pem), indent=2, sort_keys=True).encode() + b"\n"
        witness.publish(name, body)
        published.append(name)
    return published


def publish_to_witness(app: Flask | None = None) -> list[str]:
    """Publish what the configured witness lacks, in a read transaction of its own (after the checkpoint's commit)."""
    witness = configured_witness(components.settings(app))
    if witness is None:
        return []
    with get_database(app).read_sessionmaker() as session:
        return publish_checkpoints(session, witness, components.instance_key(app).public_pem)


def load_tree_heads(source: str, *, endpoint_url: str | None = None) -> list[PublishedHead]:
    """The heads at `source`: a file, a folder (every tree-head-*.json and *.json in it), an http(s) address or an
    S3 prefix."""
    scheme = urlsplit(source).scheme
    if scheme in ("http", "https"):
        try:
            # Only http(s) reaches here (the scheme is checked above), never file: or a custom scheme.
            with urllib.request.urlopen(source, timeout=FETCH_TIMEOUT_SECONDS) as response:  # noqa: S310  # nosec B310
                return [parse_document(response.read(MAX_DOCUMENT_BYTES + 1), source)]
        except urllib.error.HTTPError as error:
            error.close()  # it holds the response's socket
            raise OSError(f"{source}: HTTP {error.code} {error.reason}") from None
    if scheme == "s3":
        return open_witness(source, endpoint_url=endpoint_url).heads()
    path = Path(source[len("file://") :] if scheme == "file" else source)
    if path.is_dir():
        return [read_document(p) for p in sorted(path.glob("*.json"))]
    return [read_document(path)]


def check_published_heads(
    session: Session, public_pem: bytes, heads: Iterable[PublishedHead], report: VerifyReport
) -> None:
    """Each head must be signed by the instance key and be a prefix of today's ledger: its size no larger than the
    ledger, and an RFC 6962 consistency proof from its root to today's root must verify."""
    heads = list(heads)
    if not heads:
        return
    ledger = head(session)
    tree = StoredTree(session, ledger.seq if ledger else 0)
    ours = key_id(public_pem)
    for published in heads:
        report.published_checked += 1
        sth = published.head
        where = f"the tree head published at {published.source} ({sth.tree_size} entries, {sth.timestamp})"
        if sth.key_id != ours or not verify_tree_head(public_pem, sth):
            report.problems.append(
                Problem(
                    "published_head_signature",
                    f"{where}: its signature does not verify with the instance key",
                    sth.tree_size,
                    None,
                    ours,
                    sth.key_id,
                )
            )
            continue
        if sth.tree_size > tree.size:
            report.problems.append(
                Problem(
                    "published_head_beyond_ledger",
                    f"{where}: the ledger now holds only {tree.size} entries: entries were removed",
                    sth.tree_size,
                    None,
                    str(sth.tree_size),
                    str(tree.size),
                )
            )
            continue
        proof = tree.consistency_proof(sth.tree_size)
        if not verify_consistency(sth.tree_size, tree.size, hash_from_hex(sth.root_hash), tree.root(), proof):
            report.problems.append(
                Problem(
                    "published_head_inconsistent",
                    f"{where}: today's ledger does not extend it (no consistency proof from its root "
                    f"{sth.root_hash} to today's root {hash_to_hex(tree.root())}): entries up to {sth.tree_size} "
                    "were changed, removed or reordered",
                    sth.tree_size,
                    None,
                    sth.root_hash,
                    hash_to_hex(tree.root(sth.tree_size)),
                )
            )


def latest_tree_head(session: Session, public_pem: bytes) -> dict[str, Any] | None:
    """The newest checkpoint as a publishable document (what a recipient keeps to check the ledger later)."""
    checkpoint = session.scalar(select(Checkpoint).order_by(Checkpoint.tree_size.desc(), Checkpoint.id.desc()))
    return published_document(checkpoint, public_pem) if checkpoint else None


def consistency(session: Session, public_pem: bytes, first: int, second: int | None = None) -> dict[str, Any]:
    """An RFC 6962 consistency proof from the ledger's first `first` entries to a signed checkpoint (`second`
    entries, the newest checkpoint by default), with that checkpoint's signed head: whoever holds a tree head of
    size `first` checks that its root, this proof and the signed root agree."""
    stmt = select(Checkpoint).order_by(Checkpoint.tree_size.desc(), Checkpoint.id.desc())
    if second is not None:
        stmt = stmt.where(Checkpoint.tree_size == second)
    checkpoint = session.scalar(stmt)
    if checkpoint is None:
        raise ValidationFailed(
            "second must be the size of a signed checkpoint." if second is not None else "No checkpoint yet.",
            field="second",
        )
    if not 0 <= first <= checkpoint.tree_size:
        raise ValidationFailed(f"first must be between 0 and {checkpoint.tree_size}.", field="first")
    tree = StoredTree(session, checkpoint.tree_size)
    return {
        "first": first,
        "second": checkpoint.tree_size,
        "first_root": hash_to_hex(tree.root(first)),
        "second_root": hash_to_hex(tree.root()),
        "proof": proof_to_hex(tree.consistency_proof(first)),
        "tree_head": published_document(checkpoint, public_pem),
    }
