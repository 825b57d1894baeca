"""case activity feed

Revision ID: 0031
Revises: 0030
Create Date: 2026-12-04 16:17:32

`case_activity` (casefile/activity): one row per created, changed or removed object of a case file (the case,
incidents, actors, relations, involvements, charges, evidence descriptions, links, witnesses' pseudonyms and risk,
members, assignments, comments, dossiers), naming who, when, and each field's value before and after. Append-only
like the custody ledger (revision 0010's function refuses UPDATE and DELETE on PostgreSQL; triggers on SQLite), so
the record of an edit cannot itself be edited. The feed starts with this revision: earlier edits kept no before and
after to rebuild it from.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0031"
down_revision: str | None = "0030"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLE = "case_activity"
SUBJECTS = (
    "case",
    "incident",
    "actor",
    "relation",
    "involvement",
    "charge",
    "evidence",
    "link",
    "witness",
    "member",
    "assignment",
    "comment",
    "dossier",
)


def upgrade() -> None:
    op.create_table(
        TABLE,
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=True),
        sa.Column(
            "subject_type",
            sa.Enum(*SUBJECTS, name="activity_subject", native_enum=False, create_constraint=True, length=32),
            nullable=False,
        ),
        sa.Column("subject_id", sa.Uuid(), nullable=False),
        sa.Column("subject_label", sa.String(length=400), nullable=False),
        sa.Column(
            "action",
            sa.Enum(
                "created",
                "changed",
                "removed",
                name="activity_action",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("changes", sa.JSON(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_case_activity_case_id_cases"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_case_activity_user_id_users"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_activity")),
    )
    op.create_index("ix_case_activity_case_at", TABLE, ["case_id", "at"], unique=False)
    op.create_index("ix_case_activity_case_subject", TABLE, ["case_id", "subject_type", "at"], unique=False)
    op.create_index("ix_case_activity_case_user", TABLE, ["case_id", "user_id", "at"], unique=False)
    op.create_index("ix_case_activity_subject", TABLE, ["subject_id", "at"], unique=False)
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
            f"BEGIN SELECT RAISE(ABORT, 'casefile: {event} on {TABLE} refused: the activity feed is append-only'); END"
        )


def downgrade() -> None:
    op.drop_table(TABLE)  # its indexes and triggers go with it
