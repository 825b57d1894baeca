"""web captures and trusted timestamps

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-04 08:30:05.574804

- `web_captures`: one capture of one web address (casefile/capture): what was asked, what the browser received
  (final address, status, headers, TLS chain), the manifest whose SHA-256 the `captured` ledger entry records, and
  the WACZ evidence item; the session cookies a user gave for it, encrypted, erased when it ends.
- `timestamp_tokens`: RFC 3161 tokens over signed checkpoints and capture manifests. Append-only like the ledger and
  its checkpoints: the database refuses UPDATE and DELETE (TRUNCATE too on PostgreSQL).
- `evidence_items.derivation` admits a capture's artefacts: screenshot, page_print, page_media. On SQLite a CHECK
  constraint changes only by copying the table, which drops its trigger: revision 0015's `evidence_items_no_delete`
  is created again right after the copy.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DERIVATIONS = ("transcript", "translation", "redacted_copy", "working_copy")
CAPTURE_DERIVATIONS = ("screenshot", "page_print", "page_media")
CHECK = "ck_evidence_items_evidence_derivation"
TOKENS = "timestamp_tokens"


def _derivations(values: Sequence[str]) -> None:
    condition = "derivation IN (" + ", ".join(f"'{v}'" for v in values) + ")"
    if op.get_bind().dialect.name == "postgresql":
        op.drop_constraint(op.f(CHECK), "evidence_items", type_="check")
        op.create_check_constraint(op.f(CHECK), "evidence_items", condition)
        return
    with op.batch_alter_table("evidence_items", recreate="always") as batch_op:
        batch_op.drop_constraint(op.f(CHECK), type_="check")
        batch_op.create_check_constraint(op.f(CHECK), condition)
    op.execute(
        "CREATE TRIGGER evidence_items_no_delete BEFORE DELETE ON evidence_items "
        "BEGIN SELECT RAISE(ABORT, 'casefile: DELETE on evidence_items refused: rows of this table are never deleted'); "
        "END"
    )


def upgrade() -> None:
    op.create_table(
        "timestamp_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subject", sa.String(length=20), nullable=False),
        sa.Column("subject_id", sa.String(length=64), nullable=False),
        sa.Column("message_sha256", sa.String(length=64), nullable=False),
        sa.Column("tsa_url", sa.String(length=500), nullable=False),
        sa.Column("reply", sa.LargeBinary(), nullable=False),
        sa.Column("gen_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("serial", sa.String(length=64), nullable=False),
        sa.Column("tsa_name", sa.String(length=300), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_timestamp_tokens")),
        sa.UniqueConstraint(
            "subject", "subject_id", "tsa_url", name=op.f("uq_timestamp_tokens_subject_subject_id_tsa_url")
        ),
    )
    op.create_table(
        "web_captures",
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("url", sa.String(length=2000), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("incident_ids", sa.JSON(), nullable=False),
        sa.Column(
            "state",
            sa.Enum(
                "queued",
                "capturing",
                "done",
                "failed",
                name="capture_state",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("final_url", sa.String(length=2000), nullable=True),
        sa.Column("http_status", sa.Integer(), nullable=True),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("manifest", sa.Text(), nullable=True),
        sa.Column("manifest_sha256", sa.String(length=64), nullable=True),
        sa.Column("session_cookies", sa.Text(), nullable=True),
        sa.Column("wacz_item_id", sa.Uuid(), nullable=True),
        sa.Column("job_id", sa.Uuid(), nullable=True),
        sa.Column("created_by_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("captured_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_web_captures_case_id_cases"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_web_captures_created_by_id_users"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(["job_id"], ["jobs.id"], name=op.f("fk_web_captures_job_id_jobs"), ondelete="SET NULL"),
        sa.ForeignKeyConstraint(
            ["wacz_item_id"],
            ["evidence_items.id"],
            name=op.f("fk_web_captures_wacz_item_id_evidence_items"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_web_captures")),
    )
    op.create_index("ix_web_captures_case_created", "web_captures", ["case_id", "created_at"], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            f"CREATE TRIGGER {TOKENS}_append_only BEFORE UPDATE OR DELETE ON {TOKENS} "
            "FOR EACH ROW EXECUTE FUNCTION casefile_refuse_delete()"
        )
        op.execute(
            f"CREATE TRIGGER {TOKENS}_no_truncate BEFORE TRUNCATE ON {TOKENS} "
            "FOR EACH STATEMENT EXECUTE FUNCTION casefile_refuse_delete()"
        )
    else:
        for operation in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {TOKENS}_no_{operation.lower()} BEFORE {operation} ON {TOKENS} "
                f"BEGIN SELECT RAISE(ABORT, 'casefile: {operation} on {TOKENS} refused: tokens are never changed'); END"
            )
    _derivations(DERIVATIONS + CAPTURE_DERIVATIONS)


def downgrade() -> None:
    # A capture's artefacts stay evidence: they become working copies of their web archive, which the older
    # schema can hold (nothing is deleted by a downgrade).
    op.execute(
        "UPDATE evidence_items SET derivation = 'working_copy' "
        "WHERE derivation IN ('screenshot', 'page_print', 'page_media')"
    )
    _derivations(DERIVATIONS)
    op.drop_index("ix_web_captures_case_created", table_name="web_captures")
    op.drop_table("web_captures")
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP TRIGGER IF EXISTS {TOKENS}_append_only ON {TOKENS}")
        op.execute(f"DROP TRIGGER IF EXISTS {TOKENS}_no_truncate ON {TOKENS}")
    op.drop_table(TOKENS)
