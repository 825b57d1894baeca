"""field intake: OpenRosa forms, device credentials, submissions

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-04 13:05:48.650974

Casefile becomes an OpenRosa server for phones (casefile/fieldintake). New tables only:

- `field_forms`: each version of an XForm a case offers, with its encryption key pair (the private key sealed with
  the field keys);
- `device_credentials`: a person's login for one phone on one case (the secret sealed, as HTTP Digest needs it);
- `digest_nonce_uses`: Digest (nonce, nc) pairs already answered, so a captured header cannot be replayed;
- `field_submissions` and `field_submission_files`: the intake record of what phones sent, with every file's
  SHA-256 as received. Like evidence, these rows are never deleted (the same triggers as revision 0015, and the
  runtime role gets no DELETE on them): a rejected submission is a state, not a removal.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0026"
down_revision: str | None = "0025"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NEVER_DELETED = ("field_submissions", "field_submission_files")


def upgrade() -> None:
    op.create_table(
        "digest_nonce_uses",
        sa.Column("nonce", sa.String(length=120), nullable=False),
        sa.Column("nc", sa.String(length=16), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("nonce", "nc", name=op.f("pk_digest_nonce_uses")),
    )
    with op.batch_alter_table("digest_nonce_uses", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_digest_nonce_uses_used_at"), ["used_at"], unique=False)

    op.create_table(
        "device_credentials",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("label", sa.String(length=100), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("secret", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_device_credentials_case_id_cases"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_device_credentials_user_id_users"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_device_credentials")),
        sa.UniqueConstraint("username", name=op.f("uq_device_credentials_username")),
    )
    with op.batch_alter_table("device_credentials", schema=None) as batch_op:
        batch_op.create_index("ix_device_credentials_user_case", ["user_id", "case_id"], unique=False)

    op.create_table(
        "field_forms",
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("form_id", sa.String(length=100), nullable=False),
        sa.Column("version", sa.String(length=50), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("xform", sa.Text(), nullable=False),
        sa.Column("source_name", sa.String(length=300), nullable=False),
        sa.Column("source_sha256", sa.String(length=64), nullable=True),
        sa.Column("standard", sa.Boolean(), nullable=False),
        sa.Column("public_key", sa.Text(), nullable=True),
        sa.Column("private_key", sa.Text(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_by_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_field_forms_case_id_cases"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_field_forms_created_by_id_users"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_field_forms")),
        sa.UniqueConstraint("case_id", "form_id", "version", name=op.f("uq_field_forms_case_id_form_id_version")),
    )
    op.create_table(
        "field_submissions",
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("form_pk", sa.Uuid(), nullable=False),
        sa.Column("instance_id", sa.String(length=200), nullable=False),
        sa.Column("credential_id", sa.Uuid(), nullable=False),
        sa.Column("submitted_by_id", sa.Uuid(), nullable=False),
        sa.Column("device_id", sa.String(length=200), nullable=False),
        sa.Column(
            "state",
            sa.Enum(
                "incomplete",
                "decrypting",
                "pending",
                "accepting",
                "accepted",
                "rejected",
                "failed",
                name="field_submission_state",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("encrypted", sa.Boolean(), nullable=False),
        sa.Column("xml_sha256", sa.String(length=64), nullable=False),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reviewed_by_id", sa.Uuid(), nullable=True),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("job_id", sa.Uuid(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_field_submissions_case_id_cases"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["credential_id"],
            ["device_credentials.id"],
            name=op.f("fk_field_submissions_credential_id_device_credentials"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["form_pk"], ["field_forms.id"], name=op.f("fk_field_submissions_form_pk_field_forms"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["job_id"], ["jobs.id"], name=op.f("fk_field_submissions_job_id_jobs"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["reviewed_by_id"],
            ["users.id"],
            name=op.f("fk_field_submissions_reviewed_by_id_users"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["submitted_by_id"],
            ["users.id"],
            name=op.f("fk_field_submissions_submitted_by_id_users"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_field_submissions")),
        sa.UniqueConstraint("case_id", "instance_id", name=op.f("uq_field_submissions_case_id_instance_id")),
    )
    with op.batch_alter_table("field_submissions", schema=None) as batch_op:
        batch_op.create_index("ix_field_submissions_case_state", ["case_id", "state", "received_at"], unique=False)

    op.create_table(
        "field_submission_files",
        sa.Column("submission_id", sa.Uuid(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("received_sha256", sa.String(length=64), nullable=False),
        sa.Column("received_size", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.Column("size", sa.BigInteger(), nullable=True),
        sa.Column("evidence_id", sa.Uuid(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["evidence_id"],
            ["evidence_items.id"],
            name=op.f("fk_field_submission_files_evidence_id_evidence_items"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["submission_id"],
            ["field_submissions.id"],
            name=op.f("fk_field_submission_files_submission_id_field_submissions"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_field_submission_files")),
        sa.UniqueConstraint("submission_id", "name", name=op.f("uq_field_submission_files_submission_id_name")),
    )
    _never_deleted()


def _never_deleted() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in NEVER_DELETED:  # casefile_refuse_delete() is revision 0015's
            op.execute(
                f"CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION casefile_refuse_delete()"
            )
            op.execute(
                f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION casefile_refuse_delete()"
            )
        return
    for table in NEVER_DELETED:
        op.execute(
            f"CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table} "
            f"BEGIN SELECT RAISE(ABORT, 'casefile: DELETE on {table} refused: rows of this table are never deleted'); "
            "END"
        )


def downgrade() -> None:
    for table in NEVER_DELETED:
        if op.get_bind().dialect.name == "postgresql":
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_delete ON {table}")
        else:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_delete")
    op.drop_table("field_submission_files")
    with op.batch_alter_table("field_submissions", schema=None) as batch_op:
        batch_op.drop_index("ix_field_submissions_case_state")

    op.drop_table("field_submissions")
    op.drop_table("field_forms")
    with op.batch_alter_table("device_credentials", schema=None) as batch_op:
        batch_op.drop_index("ix_device_credentials_user_case")

    op.drop_table("device_credentials")
    with op.batch_alter_table("digest_nonce_uses", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_digest_nonce_uses_used_at"))

    op.drop_table("digest_nonce_uses")
