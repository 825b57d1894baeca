"""evidence list indexes

Revision ID: 0032
Revises: 0031
Create Date: 2026-12-04 17:00:00.000000

The case's evidence list pages by seek on (case_id, number), which the unique constraint's index already serves.
Its filters did not have indexes of their own: with a rare kind, classification or grading, a page walked the
case's items in number order until fifty matched, and the (bounded) count walked the whole case. One index per
equality filter, ending in the list's order, lets both read only the matching entries; the collection-date range
gets (case_id, collected_at). The incident filter reads the incident's links: (incident_id, evidence_id) replaces
the index on incident_id alone, so that read never touches the table. Plain CREATE INDEX: it runs inside the migration's transaction (on a large
PostgreSQL table it holds a write lock on evidence_items while it builds, which ingest waits out).
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0032"
down_revision: str | None = "0031"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXES = {
    "ix_evidence_items_case_kind_number": ["case_id", "kind", "number"],
    "ix_evidence_items_case_classification_number": ["case_id", "classification", "number"],
    "ix_evidence_items_case_reliability_number": ["case_id", "source_reliability", "number"],
    "ix_evidence_items_case_credibility_number": ["case_id", "info_credibility", "number"],
    "ix_evidence_items_case_collected_at": ["case_id", "collected_at"],
}


LINKS_INCIDENT = "ix_evidence_links_incident_id"
LINKS_INCIDENT_EVIDENCE = "ix_evidence_links_incident_evidence"


def upgrade() -> None:
    for name, columns in INDEXES.items():
        op.create_index(name, "evidence_items", columns, unique=False)
    op.create_index(LINKS_INCIDENT_EVIDENCE, "evidence_links", ["incident_id", "evidence_id"], unique=False)
    op.drop_index(LINKS_INCIDENT, table_name="evidence_links")


def downgrade() -> None:
    op.create_index(LINKS_INCIDENT, "evidence_links", ["incident_id"], unique=False)
    op.drop_index(LINKS_INCIDENT_EVIDENCE, table_name="evidence_links")
    for name in reversed(INDEXES):
        op.drop_index(name, table_name="evidence_items")
