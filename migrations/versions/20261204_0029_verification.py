"""verification of evidence: checks and the item's status

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-04 13:49:23

Casefile records the Berkeley Protocol's verification of each item (casefile/verification):

- `verification_checks`: what was checked (source; metadata, provenance, duplicates; geolocation, chronolocation,
  identification), the outcome, the method, notes, who and when. Append-only, like the consent register (revision
  0010's function refuses UPDATE and DELETE), so a check is never rewritten: a new check is a new row.
- `evidence_items.verification_status` (new, in_verification, verified, disputed, unverifiable), indexed for the
  matrix and dossiers that count verified items. A plain ADD COLUMN: the table is never copied on the way up (a copy
  would drop revision 0015's no-delete trigger); the way down copies it on SQLite and puts the trigger back, as 0022
  does.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0029"
down_revision: str | None = "0028"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLE = "verification_checks"
STATUS_INDEX = "ix_evidence_items_verification_status"


def upgrade() -> None:
    op.create_table(
        TABLE,
        sa.Column("evidence_id", sa.Uuid(), nullable=False),
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column(
            "area",
            sa.Enum(
                "source",
                "metadata",
                "provenance",
                "duplicates",
                "geolocation",
                "chronolocation",
                "identification",
                name="verification_area",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "outcome",
            sa.Enum(
                "confirmed",
                "inconclusive",
                "contradicted",
                name="verification_outcome",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("method", sa.String(length=500), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("checked_by_id", sa.Uuid(), nullable=False),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_verification_checks_case_id_cases"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["checked_by_id"],
            ["users.id"],
            name=op.f("fk_verification_checks_checked_by_id_users"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["evidence_id"],
            ["evidence_items.id"],
            name=op.f("fk_verification_checks_evidence_id_evidence_items"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_verification_checks")),
    )
    op.create_index("ix_verification_checks_evidence_checked", TABLE, ["evidence_id", "checked_at"], unique=False)
    op.add_column(
        "evidence_items", sa.Column("verification_status", sa.String(length=20), server_default="new", nullable=False)
    )
    op.create_index(STATUS_INDEX, "evidence_items", ["verification_status"], unique=False)
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
            f"BEGIN SELECT RAISE(ABORT, 'casefile: {event} on {TABLE} refused: verification checks are "
            "append-only'); END"
        )


def downgrade() -> None:
    op.drop_index(STATUS_INDEX, table_name="evidence_items")
    if op.get_bind().dialect.name == "postgresql":
        op.drop_column("evidence_items", "verification_status")
    else:
        with op.batch_alter_table("evidence_items", recreate="always") as batch_op:
            batch_op.drop_column("verification_status")
        op.execute(
            "CREATE TRIGGER evidence_items_no_delete BEFORE DELETE ON evidence_items "
            "BEGIN SELECT RAISE(ABORT, 'casefile: DELETE on evidence_items refused: rows of this table are never "
            "deleted'); END"
        )
    op.drop_table(TABLE)  # its triggers go with it
