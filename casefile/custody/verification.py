"""A verification run on behalf of the logged-in user (the reviewers' page and the API share it)."""

from __future__ import annotations

from flask_login import current_user

from casefile.auth.gate import member_case_ids, require_case
from casefile.components import blob_store, instance_key, settings
from casefile.custody.services import run_verification
from casefile.custody.timestamps import verification_roots
from casefile.custody.verify import VerifyReport
from casefile.custody.witness import check_published_heads, witness_heads
from casefile.db import db_session, get_database


def verify_for_current_user(case_id: str | None) -> VerifyReport:
    """The whole chain and every checkpoint, and the fixity of one case's files (or of every case the user
    belongs to). Reading and re-hashing go through the read session, outside the request's write
    transaction, so a long run never holds SQLite's single write lock; fixity entries are appended last."""
    with get_database().read_sessionmaker() as read_session:
        if case_id:
            case_ids = {require_case(read_session, current_user, case_id).id}
        else:
            case_ids = set(read_session.scalars(member_case_ids(current_user)))
        report = run_verification(
            db_session(),
            read_session,
            blob_store(),
            instance_key(),
            current_user,
            case_ids=case_ids,
            tsa_roots=verification_roots(settings()),
        )
        check_published_heads(read_session, instance_key().public_pem, witness_heads(settings()), report)
        return report
