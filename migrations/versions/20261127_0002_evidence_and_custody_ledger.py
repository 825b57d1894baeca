"""evidence and custody ledger

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27 17:40:04.539257
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "custody_checkpoints",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tree_size", sa.Integer(), nullable=False),
        sa.Column("root_hash", sa.String(length=64), nullable=False),
        sa.Column("timestamp", sa.String(length=40), nullable=False),
        sa.Column("signature", sa.String(length=200), nullable=False),
        sa.Column("key_id", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_custody_checkpoints")),
    )
    op.create_table(
        "custody_entries",
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("case_id", sa.Uuid(), nullable=True),
        sa.Column("evidence_id", sa.Uuid(), nullable=True),
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("entry_hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_custody_entries")),
        sa.UniqueConstraint("entry_hash", name=op.f("uq_custody_entries_entry_hash")),
    )
    with op.batch_alter_table("custody_entries", schema=None) as batch_op:
        batch_op.create_index("ix_custody_entries_case_seq", ["case_id", "seq"], unique=False)
        batch_op.create_index("ix_custody_entries_evidence_seq", ["evidence_id", "seq"], unique=False)

    op.create_table(
        "custody_head",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("entry_hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_custody_head")),
    )
    op.create_table(
        "evidence_items",
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("ern", sa.String(length=32), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "testimony",
                "photo",
                "video",
                "audio",
                "document",
                "report",
                "open_source_capture",
                "forensic_report",
                "physical_item_record",
                "other",
                name="evidence_kind",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("source", sa.String(length=500), nullable=False),
        sa.Column("source_reliability", sa.String(length=1), nullable=True),
        sa.Column("info_credibility", sa.Integer(), nullable=True),
        sa.Column("collected_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("collected_by", sa.String(length=200), nullable=False),
        sa.Column("collection_place", sa.String(length=300), nullable=False),
        sa.Column("original_filename", sa.String(length=600), nullable=False),
        sa.Column("media_type", sa.String(length=100), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("extracted", sa.JSON(), nullable=False),
        sa.Column("metadata_status", sa.String(length=20), nullable=False),
        sa.Column("preview_sha256", sa.String(length=64), nullable=True),
        sa.Column(
            "classification",
            sa.Enum(
                "public",
                "confidential",
                "under_seal",
                "secret",
                name="evidence_classification",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("graphic", sa.Boolean(), nullable=False),
        sa.Column("parent_id", sa.Uuid(), nullable=True),
        sa.Column(
            "derivation",
            sa.Enum(
                "transcript",
                "translation",
                "redacted_copy",
                "working_copy",
                name="evidence_derivation",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=True,
        ),
        sa.Column("created_by_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.CheckConstraint(
            "source_reliability IS NULL OR source_reliability IN ('A','B','C','D','E','F')",
            name=op.f("ck_evidence_items_source_reliability_grade"),
        ),
        sa.CheckConstraint(
            "info_credibility IS NULL OR (info_credibility BETWEEN 1 AND 6)",
            name=op.f("ck_evidence_items_info_credibility_grade"),
        ),
        sa.CheckConstraint("size >= 0", name=op.f("ck_evidence_items_size_positive")),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_evidence_items_case_id_cases"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_evidence_items_created_by_id_users"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["parent_id"],
            ["evidence_items.id"],
            name=op.f("fk_evidence_items_parent_id_evidence_items"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_evidence_items")),
        sa.UniqueConstraint("case_id", "number", name=op.f("uq_evidence_items_case_id_number")),
        sa.UniqueConstraint("ern", name=op.f("uq_evidence_items_ern")),
    )
    with op.batch_alter_table("evidence_items", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_evidence_items_sha256"), ["sha256"], unique=False)

    op.create_table(
        "evidence_links",
        sa.Column("evidence_id", sa.Uuid(), nullable=False),
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("incident_id", sa.Uuid(), nullable=True),
        sa.Column(
            "stance",
            sa.Enum(
                "supports",
                "contradicts",
                "context",
                name="evidence_stance",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_by_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.CheckConstraint("incident_id IS NOT NULL", name=op.f("ck_evidence_links_one_target")),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_evidence_links_case_id_cases"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_evidence_links_created_by_id_users"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["evidence_id"],
            ["evidence_items.id"],
            name=op.f("fk_evidence_links_evidence_id_evidence_items"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["incident_id"], ["incidents.id"], name=op.f("fk_evidence_links_incident_id_incidents"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_evidence_links")),
        sa.UniqueConstraint("evidence_id", "incident_id", name=op.f("uq_evidence_links_evidence_id_incident_id")),
    )
    with op.batch_alter_table("evidence_links", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_evidence_links_case_id"), ["case_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_evidence_links_evidence_id"), ["evidence_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_evidence_links_incident_id"), ["incident_id"], unique=False)

    create_append_only_triggers()
    # The ledger head exists from the start: concurrent first appends then queue on its row lock
    # instead of racing to insert it.
    op.execute("INSERT INTO custody_head (id, seq, entry_hash) VALUES (1, 0, '" + "0" * 64 + "')")


# The custody ledger and its signed checkpoints are append-only: the database itself refuses to change
# or remove a row, whoever asks. (Tamper-evidence still comes from the hash chain; this stops accidents
# and casual edits.)
APPEND_ONLY = ("custody_entries", "custody_checkpoints")


def create_append_only_triggers() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            """
            CREATE FUNCTION casefile_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION 'casefile: % on % refused: the table is append-only', TG_OP, TG_TABLE_NAME;
            END $$
            """
        )
        for table in APPEND_ONLY:
            op.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION casefile_refuse_change()"
            )
            op.execute(
                f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION casefile_refuse_change()"
            )
        return
    for table in APPEND_ONLY:
        for event in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {table}_no_{event.lower()} BEFORE {event} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, 'casefile: {event} on {table} refused: the custody ledger is "
                "append-only'); END"
            )


def drop_append_only_triggers() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in APPEND_ONLY:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")
        op.execute("DROP FUNCTION IF EXISTS casefile_refuse_change()")
        return
    for table in APPEND_ONLY:
        for event in ("update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_{event}")


def downgrade() -> None:
    drop_append_only_triggers()
    with op.batch_alter_table("evidence_links", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_evidence_links_incident_id"))
        batch_op.drop_index(batch_op.f("ix_evidence_links_evidence_id"))
        batch_op.drop_index(batch_op.f("ix_evidence_links_case_id"))

    op.drop_table("evidence_links")
    with op.batch_alter_table("evidence_items", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_evidence_items_sha256"))

    op.drop_table("evidence_items")
    op.drop_table("custody_head")
    with op.batch_alter_table("custody_entries", schema=None) as batch_op:
        batch_op.drop_index("ix_custody_entries_evidence_seq")
        batch_op.drop_index("ix_custody_entries_case_seq")

    op.drop_table("custody_entries")
    op.drop_table("custody_checkpoints")
