"""stored Merkle subtree roots of the custody ledger

Revision ID: 0033
Revises: 0032
Create Date: 2026-12-04 17:30:00

`merkle_nodes` (casefile/custody/subtrees.py): the root of every complete, aligned subtree of 256 ledger entries or
more, stored when its last entry is appended, so that roots and RFC 6962 proofs need O(log n) reads instead of a
tree of the whole ledger built in memory (~64 bytes per entry). Append-only like the ledger (revision 0002's
function on PostgreSQL, triggers on SQLite). The upgrade fills it for the existing ledger in one streamed pass
(constant memory; about a second per million entries of hashing); the hashing is written out here rather than
imported, so this revision means the same thing whatever the application code becomes.
"""

import hashlib
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0033"
down_revision: str | None = "0032"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLE = "merkle_nodes"
BLOCK_LEVEL = 8
BLOCK = 1 << BLOCK_LEVEL
BATCH = 50_000


def _leaf(entry_hash: str) -> bytes:
    try:
        raw = bytes.fromhex(entry_hash)
    except (TypeError, ValueError):
        raw = b""
    return hashlib.sha256(b"\x00" + (raw if len(raw) == 32 else b"")).digest()


def _node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _perfect_root(level: list[bytes]) -> bytes:
    while len(level) > 1:
        level = [_node(level[i], level[i + 1]) for i in range(0, len(level), 2)]
    return level[0]


def _backfill() -> None:
    connection = op.get_bind()
    nodes = sa.table(
        TABLE, sa.column("level", sa.Integer), sa.column("idx", sa.BigInteger), sa.column("hash", sa.LargeBinary)
    )
    entries = sa.table("custody_entries", sa.column("seq", sa.BigInteger), sa.column("entry_hash", sa.String))
    stack: list[tuple[int, bytes]] = []  # (level, root) of the completed subtrees, largest first
    block: list[bytes] = []
    last = 0
    while True:
        hashes = connection.execute(
            sa.select(entries.c.seq, entries.c.entry_hash)
            .where(entries.c.seq > last)
            .order_by(entries.c.seq)
            .limit(BATCH)
        ).all()
        if not hashes:
            return
        rows = []
        for seq, entry_hash in hashes:
            block.append(_leaf(entry_hash))
            last = seq
            if len(block) < BLOCK:
                continue
            level, idx, root = BLOCK_LEVEL, seq // BLOCK - 1, _perfect_root(block)
            block = []
            rows.append({"level": level, "idx": idx, "hash": root})
            while stack and stack[-1][0] == level:
                root = _node(stack.pop()[1], root)
                level, idx = level + 1, idx >> 1
                rows.append({"level": level, "idx": idx, "hash": root})
            stack.append((level, root))
        if rows:
            connection.execute(sa.insert(nodes), rows)


def upgrade() -> None:
    op.create_table(
        TABLE,
        sa.Column("level", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("idx", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("hash", sa.LargeBinary(length=32), nullable=False),
        sa.PrimaryKeyConstraint("level", "idx", name=op.f("pk_merkle_nodes")),
    )
    _backfill()
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            f"CREATE TRIGGER {TABLE}_append_only BEFORE UPDATE OR DELETE ON {TABLE} "
            "FOR EACH ROW EXECUTE FUNCTION casefile_refuse_change()"
        )
        op.execute(
            f"CREATE TRIGGER {TABLE}_no_truncate BEFORE TRUNCATE ON {TABLE} "
            "FOR EACH STATEMENT EXECUTE FUNCTION casefile_refuse_change()"
        )
        return
    for event in ("UPDATE", "DELETE"):
        op.execute(
            f"CREATE TRIGGER {TABLE}_no_{event.lower()} BEFORE {event} ON {TABLE} "
            f"BEGIN SELECT RAISE(ABORT, 'casefile: {event} on {TABLE} refused: stored Merkle subtrees are "
            "append-only'); END"
        )


def downgrade() -> None:
    op.drop_table(TABLE)  # its triggers go with it
