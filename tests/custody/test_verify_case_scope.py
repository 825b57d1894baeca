"""`custody verify --case` (and GET /custody/verify?case_id=): the case's entries up to the newest signed checkpoint
are each checked by their own hash and an inclusion proof from the stored subtree roots, the ledger after that
checkpoint is walked; nothing else is read, so the work and the queries stay the same however large the ledger.
Tampering with the case's entries, re-sealed or not, or with any entry after the checkpoint, is named."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from flask import Flask
from sqlalchemy import text

from casefile.custody import ledger
from casefile.custody.actions import Action
from casefile.custody.chain import seal_entry
from casefile.custody.services import create_checkpoint
from casefile.custody.verify import VerifyReport, verify_ledger
from casefile.db import session_scope

from support import Account, as_insider, counting_queries


def _append(app: Flask, case_id: uuid.UUID, count: int) -> None:
    with app.app_context(), session_scope() as s:
        ledger.record_custody_many(
            s, [ledger.Draft(ledger.SYSTEM, Action.NOTE, case_id, details={"n": n}) for n in range(count)]
        )


def _checkpoint(app: Flask) -> None:
    with app.app_context(), session_scope() as s:
        create_checkpoint(s, app.extensions["casefile_key"], "test")


def _verify(app: Flask, case_id: uuid.UUID | None = None) -> VerifyReport:
    with app.app_context(), session_scope() as s:
        return verify_ledger(
            s, None, app.extensions["casefile_key"].public_pem, case_ids=None if case_id is None else {case_id}
        )


def _tamper(app: Flask, seq: int, reseal: bool) -> None:
    """Change entry `seq`'s details as an insider would (triggers out of the way); re-sealed, its hash and the next
    entry's link are recomputed too, so the chain alone would look intact from there on."""
    with app.app_context(), session_scope() as s:
        [fields] = list(ledger.iter_entry_fields(s, after=seq - 1, up_to=seq))
    sealed = seal_entry({**fields, "details": {"n": -1}})["entry_hash"]
    with as_insider(app) as conn:
        update = "UPDATE custody_entries SET {} = :v WHERE seq = :seq"
        conn.execute(text(update.format("details")), {"v": '{"n": -1}', "seq": seq})
        if reseal:
            conn.execute(text(update.format("entry_hash")), {"v": sealed, "seq": seq})
            conn.execute(text(update.format("prev_hash")), {"v": sealed, "seq": seq + 1})


def _world(app: Flask, make_user: Callable[..., Account], make_case: Callable[..., uuid.UUID]) -> tuple[Any, Any]:
    owner = make_user("investigator")
    ours, theirs = make_case(owner, "OURS"), make_case(owner, "THEIRS")
    _append(app, theirs, 700)
    _append(app, ours, 3)
    _append(app, theirs, 400)
    _append(app, ours, 2)
    _checkpoint(app)
    _append(app, theirs, 10)  # after the checkpoint: walked
    _append(app, ours, 1)
    return ours, theirs


def _seqs(app: Flask, case_id: uuid.UUID) -> list[int]:
    with app.app_context(), session_scope() as s:
        rows = s.execute(text("SELECT seq FROM custody_entries WHERE case_id = :c ORDER BY seq"), {"c": case_id.hex})
        found = [r[0] for r in rows]
        if not found:  # PostgreSQL keeps UUIDs as uuid, SQLite as 32 hex digits
            rows = s.execute(text("SELECT seq FROM custody_entries WHERE case_id = :c ORDER BY seq"), {"c": case_id})
            found = [r[0] for r in rows]
        return found


def test_a_case_is_verified_from_its_own_entries_and_the_tail(
    app: Flask, make_user: Callable[..., Account], make_case: Callable[..., uuid.UUID]
) -> None:
    ours, _theirs = _world(app, make_user, make_case)
    whole = _verify(app)
    assert whole.ok, whole.problems
    report = _verify(app, ours)
    assert report.ok, report.problems
    assert report.checkpoints_checked == 1
    assert report.checked == 5 + 11  # its five signed entries, then the eleven after the checkpoint
    # The same statements whether the ledger before the checkpoint is large or larger.
    with counting_queries(app) as before:
        _verify(app, ours)
    _append(app, _theirs, 3000)
    _checkpoint(app)
    with counting_queries(app) as after:
        report = _verify(app, ours)
    assert report.ok and report.checked == 6  # all six entries now signed; nothing after the checkpoint
    assert len(after) <= len(before) <= 20, (len(before), len(after))


def test_tampering_with_a_cases_entries_is_named_resealed_or_not(
    app: Flask, make_user: Callable[..., Account], make_case: Callable[..., uuid.UUID]
) -> None:
    ours, theirs = _world(app, make_user, make_case)
    first, second = _seqs(app, ours)[1:3]
    _tamper(app, first, reseal=False)
    _tamper(app, second, reseal=True)
    report = _verify(app, ours)
    kinds = {(p.kind, p.seq) for p in report.problems}
    assert ("hash_mismatch", first) in kinds and ("not_in_checkpoint", first) in kinds
    assert ("not_in_checkpoint", second) in kinds  # re-sealed: its own hash agrees, the signed tree does not
    assert ("hash_mismatch", second) not in kinds
    # Another case's verification does not read these entries: it names only its own entries whose proofs share the
    # re-sealed entry's block (their lowest siblings come from that block), never the tampered entries themselves.
    block = range((second - 1) // 256 * 256 + 1, ((second - 1) // 256 + 1) * 256 + 1)
    theirs_problems = _verify(app, theirs).problems
    assert {p.kind for p in theirs_problems} == {"not_in_checkpoint", "hash_mismatch"}
    assert all(p.seq in block and p.seq not in (first, second) for p in theirs_problems)
    # The entry after the re-sealed one is theirs: its link to it was rewritten, so its own hash no longer agrees.
    assert [p.seq for p in theirs_problems if p.kind == "hash_mismatch"] == [second + 1]
    assert not _verify(app).ok  # the whole verification names everything


def test_tampering_after_the_checkpoint_is_named_by_every_case(
    app: Flask, make_user: Callable[..., Account], make_case: Callable[..., uuid.UUID]
) -> None:
    ours, theirs = _world(app, make_user, make_case)
    last = _seqs(app, theirs)[-1]  # after the checkpoint
    _tamper(app, last, reseal=False)
    for case_id in (ours, theirs):
        problems = _verify(app, case_id).problems
        assert [p.seq for p in problems if p.kind == "hash_mismatch"] == [last], problems


def test_the_api_verifies_a_case_by_proof_and_names_a_resealed_entry(
    app: Flask,
    make_case: Callable[..., uuid.UUID],
    api_for: Callable[..., tuple[Any, Account]],
) -> None:
    """GET /api/v1/custody/verify?case_id= goes the same way: a member sees the case intact, then the re-sealed
    entry named as not the one the checkpoint signed (a problem the chain alone would no longer show)."""
    api, owner = api_for("investigator")
    ours, theirs = make_case(owner, "OURS"), make_case(owner, "THEIRS")
    _append(app, theirs, 300)
    _append(app, ours, 2)
    _checkpoint(app)
    body = api.get(f"/custody/verify?case_id={ours}").get_json()
    assert body["ok"] is True and body["checkpoints_checked"] == 1, body
    victim = _seqs(app, ours)[0]
    _tamper(app, victim, reseal=True)
    body = api.get(f"/custody/verify?case_id={ours}").get_json()
    assert body["ok"] is False
    named = {(p["kind"], p["seq"]) for p in body["problems"]}
    assert ("not_in_checkpoint", victim) in named
    # Its block (the last, partial one) is read from the entries: the root they now give is not the signed one.
    assert ("checkpoint_root", 302) in named
    assert {kind for kind, _ in named} == {"not_in_checkpoint", "checkpoint_root", "hash_mismatch"}
