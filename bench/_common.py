"""Shared helpers of the benchmarks: temporary instances, bulk seeding of valid ledger rows, and figures.

Bulk seeding writes rows exactly as the services would (same hashed fields, same column values), but with
SQLAlchemy core in large batches, so a 100k- or 1M-entry ledger takes seconds instead of hours. Every seeded
chain is a real chain: `casefile.custody.verify.verify_ledger` accepts it.
"""

from __future__ import annotations

import math
import os
import random
import shutil
import tempfile
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
MIB = 1024 * 1024
GIB = 1024 * MIB
PASSWORD = "correct horse battery staple"  # noqa: S105 - a throwaway account in a throwaway instance
BASE_TIME = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)


def quick_from_env() -> bool:
    return os.environ.get("CASEFILE_BENCH_QUICK", "").strip().lower() in ("1", "true", "yes", "on")


@contextmanager
def temp_dir(prefix: str, keep: bool = False) -> Iterator[Path]:
    """A private temporary directory (under $CASEFILE_BENCH_TMP if set), removed afterwards unless `keep`."""
    path = Path(tempfile.mkdtemp(prefix=prefix, dir=os.environ.get("CASEFILE_BENCH_TMP") or None))
    try:
        yield path
    finally:
        if keep:
            print(f"(kept {path})")
        else:
            shutil.rmtree(path, ignore_errors=True)


def instance_env(instance: Path) -> dict[str, str]:
    """Environment for a process serving `instance`: the caller's environment without any CASEFILE_* setting
    (a developer's own database or storage must never be touched), plus the instance path."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CASEFILE_")}
    env["CASEFILE_INSTANCE_PATH"] = str(instance)
    return env


def make_instance(instance: Path, **overrides: Any) -> Any:
    """Settings of a fresh embedded-mode instance (SQLite + local blobs under `instance`), migrated to head."""
    from casefile import migrate
    from casefile.config import load_settings

    instance.mkdir(parents=True, exist_ok=True)
    settings = load_settings({"CASEFILE_INSTANCE_PATH": str(instance)}, **overrides)
    migrate.upgrade(settings.database_url)
    return settings


@dataclass
class Owner:
    user_id: uuid.UUID
    email: str
    token: str
    case_id: uuid.UUID
    reference: str


def create_owner_and_case(app: Any, reference: str, email: str = "bench@example.org") -> Owner:
    """An investigator with an API token and a case they are a member of (through the real services)."""
    from casefile.auth.services import create_api_token, create_user
    from casefile.cases.services import create_case
    from casefile.db import session_scope

    with app.app_context(), session_scope(app) as s:
        user = create_user(s, email, "investigator", PASSWORD)
        token = create_api_token(s, user, "bench")
        case = create_case(s, user, {"reference": reference, "title": f"Benchmark case {reference}"})
        return Owner(user.id, user.email, token, case.id, reference)


def bulk_engine(url: str) -> Any:
    """The app's own engine set-up (WAL, BEGIN IMMEDIATE) plus settings that only make bulk loading faster."""
    from sqlalchemy import event

    from casefile.db import make_engine

    engine = make_engine(url)

    @event.listens_for(engine, "connect")
    def _fast(dbapi_conn: Any, _record: Any) -> None:
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA synchronous=OFF")
        cur.execute("PRAGMA cache_size=-262144")  # 256 MiB page cache while loading
        cur.close()

    return engine


def seeded_uuid(rng: random.Random) -> uuid.UUID:
    return uuid.UUID(int=rng.getrandbits(128), version=4)


KINDS = (
    ("photo", "image/jpeg", ".jpg"),
    ("document", "application/pdf", ".pdf"),
    ("video", "video/mp4", ".mp4"),
    ("audio", "audio/mpeg", ".mp3"),
    ("testimony", "text/plain", ".txt"),
)
CLASSIFICATIONS = ("public", "confidential", "confidential", "under_seal")
EXTRACTED_NONE = {"status": "none", "error": None, "exif": None, "gps": None, "warnings": []}


def item_rows(
    rng: random.Random, case_id: uuid.UUID, reference: str, count: int, creator_id: uuid.UUID
) -> list[dict[str, Any]]:
    """`count` evidence_items rows as ingest would write them (blobs are not needed to render pages)."""
    rows = []
    for number in range(1, count + 1):
        kind, media_type, ext = KINDS[number % len(KINDS)]
        created = BASE_TIME + timedelta(minutes=number)
        rows.append(
            {
                "id": seeded_uuid(rng),
                "case_id": case_id,
                "ern": f"{reference}-{number:05d}",
                "number": number,
                "kind": kind,
                "title": f"Item {number}: {kind} collected near the northern checkpoint, batch {number // 100}",
                "description": "Received from a field team; see the collection notes. " * 3,
                "source": f"Field team {number % 7}",
                "source_reliability": "ABCDEF"[number % 6] if number % 4 else None,
                "info_credibility": (number % 6) + 1 if number % 4 else None,
                "collected_at": created - timedelta(days=3),
                "collected_by": "Field investigator",
                "collection_place": "Northern district",
                "original_filename": f"IMG_{number:06d}{ext}",
                "media_type": media_type,
                "size": 100_000 + number * 37,
                "sha256": rng.getrandbits(256).to_bytes(32, "big").hex(),
                "extracted": EXTRACTED_NONE,
                "metadata_status": "none",
                "derived_status": "done",
                "preview_sha256": None,
                "classification": CLASSIFICATIONS[number % len(CLASSIFICATIONS)],
                "graphic": number % 11 == 0,
                "parent_id": None,
                "derivation": None,
                "created_by_id": creator_id,
                "created_at": created,
                "updated_at": created,
            }
        )
    return rows


def insert_rows(engine: Any, table: Any, rows: Sequence[dict[str, Any]], batch: int = 10_000) -> None:
    from sqlalchemy import insert

    for start in range(0, len(rows), batch):
        with engine.begin() as conn:
            conn.execute(insert(table), list(rows[start : start + batch]))


@dataclass
class LedgerWriter:
    """Appends valid, chained custody entries (exactly the fields `record_custody` hashes) in core batches.

    With `checkpoint_every`, also signs RFC 6962 tree heads at those sizes with the instance key, so a
    verification run checks signatures and Merkle roots as it would on a real instance."""

    engine: Any
    batch: int = 20_000
    checkpoint_every: int = 0
    private_key: Any = None
    keep_bodies: list[dict[str, Any]] | None = None  # the hashed body (no entry_hash) of every entry
    seq: int = 0
    prev_hash: str = ""
    at: datetime = BASE_TIME
    step: timedelta = timedelta(milliseconds=7)
    tree: Any = None  # a MerkleAccumulator of the entries before `seq` (whose subtree roots are stored already)
    _rows: list[dict[str, Any]] = field(default_factory=list)
    _nodes: list[dict[str, Any]] = field(default_factory=list)
    _checkpoints: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        from casefile.custody.chain import GENESIS_HASH
        from casefile.custody.merkle import MerkleAccumulator

        self.prev_hash = self.prev_hash or GENESIS_HASH
        # The stored subtree roots (casefile.custody.subtrees) are written with the entries, as the ledger does.
        if self.tree is None:
            self.tree = MerkleAccumulator()

    def append(
        self,
        *,
        actor: str,
        action: str,
        case_id: uuid.UUID | None,
        evidence_id: uuid.UUID | None,
        sha256: str | None,
        details: dict[str, Any],
    ) -> str:
        from casefile.custody.chain import entry_hash, format_timestamp
        from casefile.custody.subtrees import BLOCK_LEVEL

        self.seq += 1
        self.at += self.step
        at_text = format_timestamp(self.at)
        body = {
            "seq": self.seq,
            "at": at_text,
            "actor": actor,
            "action": action,
            "case_id": str(case_id) if case_id else None,
            "evidence_id": str(evidence_id) if evidence_id else None,
            "sha256": sha256,
            "details": details,
            "prev_hash": self.prev_hash,
        }
        digest = entry_hash(body)
        if self.keep_bodies is not None:
            self.keep_bodies.append(body)
        self._rows.append(
            {
                "seq": self.seq,
                "at": datetime.fromisoformat(at_text),
                "actor": actor,
                "action": action,
                "case_id": case_id,
                "evidence_id": evidence_id,
                "sha256": sha256,
                "details": details,
                "prev_hash": self.prev_hash,
                "entry_hash": digest,
            }
        )
        self.prev_hash = digest
        for level, index, root in self.tree.append_noting(bytes.fromhex(digest), BLOCK_LEVEL):
            self._nodes.append({"level": level, "idx": index, "hash": root})
        if self.checkpoint_every and self.seq % self.checkpoint_every == 0:
            self._sign_checkpoint()
        if len(self._rows) >= self.batch:
            self.flush()
        return digest

    def _sign_checkpoint(self) -> None:
        from casefile.custody.merkle import hash_to_hex
        from casefile.custody.signing import sign_tree_head

        sth = sign_tree_head(self.private_key, self.seq, hash_to_hex(self.tree.root()), self.at)
        self._checkpoints.append(
            {
                "tree_size": sth.tree_size,
                "root_hash": sth.root_hash,
                "timestamp": sth.timestamp,
                "signature": sth.signature,
                "key_id": sth.key_id,
                "reason": "bench",
                "created_at": self.at,
            }
        )

    def flush(self) -> None:
        from casefile.custody.models import CustodyEntry
        from casefile.custody.subtrees import MerkleNode

        if self._rows:
            insert_rows(self.engine, CustodyEntry.__table__, self._rows, batch=len(self._rows))
            self._rows = []
        if self._nodes:
            insert_rows(self.engine, MerkleNode.__table__, self._nodes, batch=len(self._nodes))
            self._nodes = []

    def finish(self) -> None:
        """Write the remaining rows, the signed checkpoints and the ledger head (as record_custody leaves it)."""
        from sqlalchemy import insert, update

        from casefile.custody.ledger import HEAD_ID
        from casefile.custody.models import Checkpoint, LedgerHead

        self.flush()
        with self.engine.begin() as conn:
            if self._checkpoints:
                conn.execute(insert(Checkpoint.__table__), self._checkpoints)
            # The head row exists from the migration and is never deleted (revision 0015): it advances.
            conn.execute(
                update(LedgerHead.__table__)
                .where(LedgerHead.__table__.c.id == HEAD_ID)
                .values(seq=self.seq, entry_hash=self.prev_hash)
            )
        self._checkpoints = []


def ingest_details(row: dict[str, Any], incidents: Sequence[uuid.UUID] = ()) -> dict[str, Any]:
    """The details an `ingested` entry carries (see casefile.evidence.services.ingest)."""
    return {
        "ern": row["ern"],
        "size": row["size"],
        "media_type": row["media_type"],
        "original_filename": row["original_filename"],
        "declared_sha256": None,
        "metadata_status": "none",
        "incidents": sorted(str(i) for i in incidents),
    }


def event_details(action: str, n: int) -> dict[str, Any]:
    """Plausible details of the everyday entries (views, downloads, hand-overs)."""
    if action == "transferred":
        return {
            "from_party": "Field team",
            "to_party": "Evidence unit",
            "purpose": f"Analysis request {n}",
            "location": "Office",
            "note": "",
        }
    return {"via": "page" if n % 3 else "api"}


# --- figures ---------------------------------------------------------------------------------------------


def percentile(values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile (p95 of 100 samples is the 95th smallest)."""
    ordered = sorted(values)
    if not ordered:
        return math.nan
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A plain-text table that pastes cleanly into a note (Markdown pipe syntax)."""
    cells = [[str(h) for h in headers]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]

    def line(row: Sequence[str]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |"

    out = [line(cells[0]), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    out.extend(line(r) for r in cells[1:])
    return "\n".join(out)


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def proc_status_kib(pid: int, name: str) -> int:
    """A `VmRSS`/`VmHWM`-style field of /proc/<pid>/status, in KiB."""
    with open(f"/proc/{pid}/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith(name + ":"):
                return int(line.split()[1])
    raise KeyError(name)


def reset_peak_rss(pid: int) -> bool:
    """Reset VmHWM to the current RSS (Linux ≥ 4.0: write 5 to clear_refs). False if not permitted."""
    try:
        with open(f"/proc/{pid}/clear_refs", "w", encoding="ascii") as fh:
            fh.write("5")
    except OSError:
        return False
    return True
