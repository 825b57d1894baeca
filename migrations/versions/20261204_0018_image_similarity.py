"""image similarity

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-04 05:43:32.646398

Near-duplicate images: each image's perceptual hashes (PDQ with its 8 rotations and mirrorings, pHash), an index of
their 16-bit chunks for lookups that read a few index entries rather than every hash of the case, and the decisions
people take on candidate pairs (the same image, or not), which are also written to the custody ledger.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "image_hash_keys",
        sa.Column("evidence_id", sa.Uuid(), nullable=False),
        sa.Column("scheme", sa.Integer(), nullable=False),
        sa.Column("key", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_image_hash_keys_case_id_cases"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["evidence_id"],
            ["evidence_items.id"],
            name=op.f("fk_image_hash_keys_evidence_id_evidence_items"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("evidence_id", "scheme", "key", name=op.f("pk_image_hash_keys")),
    )
    with op.batch_alter_table("image_hash_keys", schema=None) as batch_op:
        batch_op.create_index("ix_image_hash_keys_lookup", ["case_id", "scheme", "key"], unique=False)

    op.create_table(
        "image_hashes",
        sa.Column("evidence_id", sa.Uuid(), nullable=False),
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("pdq", sa.String(length=64), nullable=False),
        sa.Column("pdq_dihedral", sa.String(length=512), nullable=False),
        sa.Column("pdq_quality", sa.Integer(), nullable=False),
        sa.Column("phash", sa.String(length=16), nullable=False),
        sa.Column("phash_mirror", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_image_hashes_case_id_cases"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["evidence_id"],
            ["evidence_items.id"],
            name=op.f("fk_image_hashes_evidence_id_evidence_items"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("evidence_id", name=op.f("pk_image_hashes")),
    )
    op.create_table(
        "similarity_decisions",
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("first_id", sa.Uuid(), nullable=False),
        sa.Column("second_id", sa.Uuid(), nullable=False),
        sa.Column("same", sa.Boolean(), nullable=False),
        sa.Column("decided_by_id", sa.Uuid(), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_similarity_decisions_case_id_cases"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["decided_by_id"],
            ["users.id"],
            name=op.f("fk_similarity_decisions_decided_by_id_users"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["first_id"],
            ["evidence_items.id"],
            name=op.f("fk_similarity_decisions_first_id_evidence_items"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["second_id"],
            ["evidence_items.id"],
            name=op.f("fk_similarity_decisions_second_id_evidence_items"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_similarity_decisions")),
    )
    with op.batch_alter_table("similarity_decisions", schema=None) as batch_op:
        batch_op.create_index("ix_similarity_decisions_pair", ["first_id", "second_id", "decided_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("similarity_decisions", schema=None) as batch_op:
        batch_op.drop_index("ix_similarity_decisions_pair")

    op.drop_table("similarity_decisions")
    op.drop_table("image_hashes")
    with op.batch_alter_table("image_hash_keys", schema=None) as batch_op:
        batch_op.drop_index("ix_image_hash_keys_lookup")

    op.drop_table("image_hash_keys")
