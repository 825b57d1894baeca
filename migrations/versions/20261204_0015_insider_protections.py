"""insider protections: rows never deleted, the ledger head only advances

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-04 03:00:00.000000

An operator with the database could delete an evidence row and `custody verify` stayed INTACT, then `fsck --collect`
deleted the file as an orphan. Now:

- Evidence items, their links, witnesses and their statements are never deleted: the database refuses DELETE (and
  TRUNCATE on PostgreSQL), whoever asks. Removing a link is a state change (`removed_at`, `removed_by_id`) with an
  `unlinked` ledger entry; the application hides removed links (casefile.links.models). The consent register
  (revision 0010) and the ledger and its checkpoints (0002) already refuse UPDATE and DELETE.
- The ledger head (`custody_head`) gets the ledger's protection: it cannot be deleted, a second head cannot be
  inserted, and an update may only move it forward to an entry that exists with exactly that hash. Rewinding the
  head to hide a truncated tail now needs the triggers out of the way, which the runtime role cannot do
  (`flask --app app db grant-runtime`), and which the published checkpoints reveal anyway.

Triggers only stop whoever lacks the owner's rights; tamper evidence comes from the chain, the checkpoints and their
copies outside the instance (CASEFILE_CHECKPOINT_WITNESS).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NEVER_DELETED = ("evidence_items", "evidence_links", "witnesses", "witness_statements")
HEAD = "custody_head"


def upgrade() -> None:
    # Plain ADD COLUMN on both engines (no batch copy: a copied table would lose its triggers).
    op.add_column("evidence_links", sa.Column("removed_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("evidence_links", sa.Column("removed_by_id", sa.Uuid(), nullable=True))
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            """
            CREATE FUNCTION casefile_refuse_delete() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION 'casefile: % on % refused: rows of this table are never deleted', TG_OP, TG_TABLE_NAME;
            END $$
            """
        )
        for table in NEVER_DELETED:
            op.execute(
                f"CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION casefile_refuse_delete()"
            )
            op.execute(
                f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION casefile_refuse_delete()"
            )
        op.execute(
            """
            CREATE FUNCTION casefile_head_advances() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF TG_OP = 'INSERT' THEN
                    IF EXISTS (SELECT 1 FROM custody_head) THEN
                        RAISE EXCEPTION 'casefile: the ledger has one head';
                    END IF;
                    RETURN NEW;
                END IF;
                IF TG_OP <> 'UPDATE' THEN
                    RAISE EXCEPTION 'casefile: % on custody_head refused', TG_OP;
                END IF;
                IF NEW.id <> OLD.id OR NEW.seq < OLD.seq OR (
                    (NEW.seq, NEW.entry_hash) IS DISTINCT FROM (OLD.seq, OLD.entry_hash)
                    AND NEW.entry_hash IS DISTINCT FROM (SELECT entry_hash FROM custody_entries WHERE seq = NEW.seq)
                ) THEN
                    RAISE EXCEPTION 'casefile: the ledger head may only advance to an existing entry';
                END IF;
                RETURN NEW;
            END $$
            """
        )
        op.execute(
            f"CREATE TRIGGER {HEAD}_advances BEFORE INSERT OR UPDATE OR DELETE ON {HEAD} "
            "FOR EACH ROW EXECUTE FUNCTION casefile_head_advances()"
        )
        op.execute(
            f"CREATE TRIGGER {HEAD}_no_truncate BEFORE TRUNCATE ON {HEAD} "
            "FOR EACH STATEMENT EXECUTE FUNCTION casefile_refuse_delete()"
        )
        return
    for table in NEVER_DELETED:
        op.execute(
            f"CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table} "
            f"BEGIN SELECT RAISE(ABORT, 'casefile: DELETE on {table} refused: rows of this table are never deleted'); "
            "END"
        )
    op.execute(
        f"CREATE TRIGGER {HEAD}_no_delete BEFORE DELETE ON {HEAD} "
        "BEGIN SELECT RAISE(ABORT, 'casefile: DELETE on custody_head refused'); END"
    )
    # The table names are this module's constants, not input.
    op.execute(
        f"CREATE TRIGGER {HEAD}_no_insert BEFORE INSERT ON {HEAD} WHEN EXISTS (SELECT 1 FROM {HEAD}) "  # noqa: S608
        "BEGIN SELECT RAISE(ABORT, 'casefile: the ledger has one head'); END"
    )
    op.execute(
        f"CREATE TRIGGER {HEAD}_no_update BEFORE UPDATE ON {HEAD} "  # noqa: S608
        "WHEN NEW.id IS NOT OLD.id OR NEW.seq < OLD.seq OR ("
        "(NEW.seq IS NOT OLD.seq OR NEW.entry_hash IS NOT OLD.entry_hash) "
        "AND NEW.entry_hash IS NOT (SELECT entry_hash FROM custody_entries WHERE seq = NEW.seq)) "
        "BEGIN SELECT RAISE(ABORT, 'casefile: the ledger head may only advance to an existing entry'); END"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP TRIGGER IF EXISTS {HEAD}_advances ON {HEAD}")
        op.execute(f"DROP TRIGGER IF EXISTS {HEAD}_no_truncate ON {HEAD}")
        op.execute("DROP FUNCTION IF EXISTS casefile_head_advances()")
        for table in NEVER_DELETED:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_delete ON {table}")
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")
        op.execute("DROP FUNCTION IF EXISTS casefile_refuse_delete()")
    else:
        for name in (*(f"{t}_no_delete" for t in NEVER_DELETED), f"{HEAD}_no_delete", f"{HEAD}_no_insert"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute(f"DROP TRIGGER IF EXISTS {HEAD}_no_update")
    # Removed links go when the column that says so goes: before this revision a removal was a DELETE.
    op.execute("DELETE FROM evidence_links WHERE removed_at IS NOT NULL")
    op.drop_column("evidence_links", "removed_by_id")
    op.drop_column("evidence_links", "removed_at")
