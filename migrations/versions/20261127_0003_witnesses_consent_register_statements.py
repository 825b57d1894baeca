"""witnesses, consent register, statements

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27 17:47:49.397325
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "witnesses",
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=16), nullable=False),
        sa.Column(
            "risk_level",
            sa.Enum(
                "low",
                "medium",
                "high",
                "extreme",
                name="witness_risk",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("identity_ciphertext", sa.Text(), nullable=False),
        sa.Column("created_by_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_witnesses_case_id_cases"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_witnesses_created_by_id_users"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_witnesses")),
        sa.UniqueConstraint("case_id", "code", name=op.f("uq_witnesses_case_id_code")),
        sa.UniqueConstraint("case_id", "number", name=op.f("uq_witnesses_case_id_number")),
    )
    with op.batch_alter_table("witnesses", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_witnesses_case_id"), ["case_id"], unique=False)

    op.create_table(
        "witness_consents",
        sa.Column("witness_id", sa.Uuid(), nullable=False),
        sa.Column(
            "purpose",
            sa.Enum(
                "internal_analysis",
                "share_icc",
                "share_un",
                "share_sanctions",
                "publication",
                name="consent_purpose",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("granted", sa.Boolean(), nullable=False),
        sa.Column("recorded_on", sa.Date(), nullable=False),
        sa.Column("how_recorded", sa.String(length=300), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("recorded_by_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["recorded_by_id"], ["users.id"], name=op.f("fk_witness_consents_recorded_by_id_users"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["witness_id"], ["witnesses.id"], name=op.f("fk_witness_consents_witness_id_witnesses"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_witness_consents")),
    )
    with op.batch_alter_table("witness_consents", schema=None) as batch_op:
        batch_op.create_index(
            "ix_witness_consents_witness_purpose", ["witness_id", "purpose", "created_at"], unique=False
        )

    op.create_table(
        "witness_statements",
        sa.Column("evidence_id", sa.Uuid(), nullable=False),
        sa.Column("witness_id", sa.Uuid(), nullable=False),
        sa.Column("interview_date", sa.Date(), nullable=True),
        sa.Column("interview_place", sa.String(length=300), nullable=False),
        sa.Column("interviewer", sa.String(length=200), nullable=False),
        sa.Column("language", sa.String(length=100), nullable=False),
        sa.Column("interpreter", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["evidence_id"],
            ["evidence_items.id"],
            name=op.f("fk_witness_statements_evidence_id_evidence_items"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["witness_id"],
            ["witnesses.id"],
            name=op.f("fk_witness_statements_witness_id_witnesses"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("evidence_id", name=op.f("pk_witness_statements")),
    )
    with op.batch_alter_table("witness_statements", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_witness_statements_witness_id"), ["witness_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("witness_statements", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_witness_statements_witness_id"))

    op.drop_table("witness_statements")
    with op.batch_alter_table("witness_consents", schema=None) as batch_op:
        batch_op.drop_index("ix_witness_consents_witness_purpose")

    op.drop_table("witness_consents")
    with op.batch_alter_table("witnesses", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_witnesses_case_id"))

    op.drop_table("witnesses")
