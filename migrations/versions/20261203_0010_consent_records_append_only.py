"""consent records append-only

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 09:00:00.000000

A consent record is evidence of what a dossier may contain: the builder decides from the register whether a
testimony may go to the ICC, a UN panel or a sanctions authority. The register was append-only by convention
(a withdrawal is a new record); now the database refuses to change or remove a row, whoever asks, exactly as it
does for the custody ledger (revision 0002). Each record is also a custody entry (Action.CONSENT_RECORDED).

On PostgreSQL the triggers call `casefile_refuse_change()`, the function revision 0002 created for the ledger.
Witnesses are never deleted (DESIGN §9), so the ON DELETE CASCADE from `witnesses` never reaches this table;
if it did, the trigger would refuse it too, which is the point.

Also an index on the ledger by (case_id, action, seq): a witness's identity reveals are read back from the
ledger's `identity_revealed` entries of its case (no second copy of who saw what), and the witness page must not
walk every entry of a case with millions of them to find the few reveals.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLE = "witness_consents"
LEDGER_INDEX = "ix_custody_entries_case_action_seq"


def upgrade() -> None:
    # A plain CREATE INDEX on both engines: the append-only ledger must never be rebuilt by a batch copy.
    op.create_index(LEDGER_INDEX, "custody_entries", ["case_id", "action", "seq"], unique=False)
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
            f"BEGIN SELECT RAISE(ABORT, 'casefile: {event} on {TABLE} refused: the consent register is "
            "append-only'); END"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP TRIGGER IF EXISTS {TABLE}_append_only ON {TABLE}")
        op.execute(f"DROP TRIGGER IF EXISTS {TABLE}_no_truncate ON {TABLE}")
    else:
        for event in ("update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS {TABLE}_no_{event}")
    op.drop_index(LEDGER_INDEX, table_name="custody_entries")
