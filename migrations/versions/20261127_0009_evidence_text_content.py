"""evidence text content

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-27 22:00:00.000000

Search must find evidence by the extracted text of transcripts and documents where available. Ingest now takes
the plain text of text files and of PDFs with a text layer (casefile/evidence/text.py, bounded to 200 000
characters) into `evidence_items.text_content`, and the search index reads it from there: reading blobs (possibly
from S3) inside the index's database flush is what the indexer must never do.

Items ingested before this revision get "" (the server default): their files are not read here, since a
migration must not depend on the blob store.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("evidence_items", schema=None) as batch_op:
        batch_op.add_column(sa.Column("text_content", sa.Text(), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("evidence_items", schema=None) as batch_op:
        batch_op.drop_column("text_content")
