"""second factor, audit log, instance settings

Revision ID: 0007
Revises: 0005
Create Date: 2026-11-27 18:31:41.734116

The file is named for its place in the chain (sixth, after 0005); its revision id predates the reordering.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "auth_events",
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("event", sa.String(length=40), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=True),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("actor_id", sa.Uuid(), nullable=True),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_auth_events")),
    )
    with op.batch_alter_table("auth_events", schema=None) as batch_op:
        batch_op.create_index("ix_auth_events_at", ["at"], unique=False)
        batch_op.create_index("ix_auth_events_event_at", ["event", "at"], unique=False)

    op.create_table(
        "instance_settings",
        sa.Column("key", sa.String(length=60), nullable=False),
        sa.Column("value", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_instance_settings")),
    )
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("totp_secret", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("totp_enabled", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column("totp_last_step", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("recovery_codes", sa.JSON(), nullable=False, server_default="[]"))

    # The audit log is append-only, like the custody ledger (function from revision 0002 on PostgreSQL).
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE TRIGGER auth_events_append_only BEFORE UPDATE OR DELETE ON auth_events "
            "FOR EACH ROW EXECUTE FUNCTION casefile_refuse_change()"
        )
    else:
        for event in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER auth_events_no_{event.lower()} BEFORE {event} ON auth_events "
                f"BEGIN SELECT RAISE(ABORT, 'casefile: {event} on auth_events refused: the audit log is append-only'); END"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS auth_events_append_only ON auth_events")
    else:
        op.execute("DROP TRIGGER IF EXISTS auth_events_no_update")
        op.execute("DROP TRIGGER IF EXISTS auth_events_no_delete")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("recovery_codes")
        batch_op.drop_column("totp_last_step")
        batch_op.drop_column("totp_enabled")
        batch_op.drop_column("totp_secret")

    op.drop_table("instance_settings")
    with op.batch_alter_table("auth_events", schema=None) as batch_op:
        batch_op.drop_index("ix_auth_events_event_at")
        batch_op.drop_index("ix_auth_events_at")

    op.drop_table("auth_events")
