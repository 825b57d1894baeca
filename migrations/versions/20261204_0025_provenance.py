"""provenance: C2PA Content Credentials and ProofMode bundles

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-04 14:00:00

- `provenance_records`: one check of one evidence item's provenance (casefile/provenance): a C2PA manifest store
  read at ingest, or a ProofMode bundle's OpenPGP signatures, proof hash and OpenTimestamps proof checked at import.
  What was signed, by whom (certificate subject or OpenPGP key fingerprint), when, the outcome and a JSON summary of
  every check. A check made again later ("does it still verify?") adds a row; rows are not updated.
- `evidence_items.derivation` admits `proof_file`: a ProofMode bundle's other files (proof JSON/CSV, signatures,
  public key, OpenTimestamps proof) kept beside the media as derivatives with their own hashes. On SQLite a CHECK
  constraint changes only by copying the table, which drops its trigger: revision 0015's `evidence_items_no_delete`
  is created again right after the copy (as revision 0022 does).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0025"
down_revision: str | None = "0024"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DERIVATIONS = (
    "transcript",
    "translation",
    "redacted_copy",
    "working_copy",
    "screenshot",
    "page_print",
    "page_media",
)
CHECK = "ck_evidence_items_evidence_derivation"


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
        "provenance_records",
        sa.Column("evidence_id", sa.Uuid(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum("c2pa", "proofmode", name="provenance_kind", native_enum=False, create_constraint=True, length=32),
            nullable=False,
        ),
        sa.Column(
            "status",
            sa.Enum(
                "verified",
                "untrusted",
                "failed",
                "unreadable",
                name="provenance_status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("signer", sa.String(length=500), nullable=False),
        sa.Column("key_fingerprint", sa.String(length=100), nullable=False),
        sa.Column("signed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("summary", sa.JSON(), nullable=False),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["evidence_id"],
            ["evidence_items.id"],
            name=op.f("fk_provenance_records_evidence_id_evidence_items"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_provenance_records")),
    )
    op.create_index(
        "ix_provenance_records_evidence_checked", "provenance_records", ["evidence_id", "checked_at"], unique=False
    )
    _derivations((*DERIVATIONS, "proof_file"))


def downgrade() -> None:
    # A bundle's proof files stay evidence: they become working copies of their media, which the older schema can
    # hold (nothing is deleted by a downgrade).
    op.execute("UPDATE evidence_items SET derivation = 'working_copy' WHERE derivation = 'proof_file'")
    _derivations(DERIVATIONS)
    op.drop_index("ix_provenance_records_evidence_checked", table_name="provenance_records")
    op.drop_table("provenance_records")
