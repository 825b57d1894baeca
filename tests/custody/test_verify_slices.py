"""Whole-ledger verification in slices over processes (casefile.custody.verify._walk_in_processes): on an intact
ledger the same report as the walk in order, from slices that really ran apart; on a ledger with anything amiss, the
walk in order's exact report (the slices only ever speed up the intact case)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import delete, update

from casefile.custody import ledger
from casefile.custody.actions import Action
from casefile.custody.models import CustodyEntry
from casefile.custody.services import create_checkpoint
from casefile.custody.subtrees import MerkleNode
from casefile.custody.verify import VerifyReport, verify_ledger
from casefile.db import get_database, session_scope

from support import Account, as_insider

SLICE = 256  # the smallest slice (a stored subtree block), so a small ledger has several


@pytest.fixture
def ledger_of_1300(app: Flask, make_user: Callable[..., Account], make_case: Callable[..., uuid.UUID]) -> Flask:
    case_id = make_case(make_user("investigator"), "SLC")
    key = app.extensions["casefile_key"]
    for size in (300, 400, 324, 250):  # checkpoints inside slices and one exactly at a slice's end (1024)
        with app.app_context(), session_scope() as s:
            ledger.record_custody_many(
                s, [ledger.Draft(ledger.SYSTEM, Action.NOTE, case_id, details={"n": n}) for n in range(size)]
            )
            create_checkpoint(s, key, "test")
    return app


def _verify(app: Flask, workers: int) -> tuple[VerifyReport, list[int]]:
    progress: list[int] = []
    with app.app_context(), get_database().read_sessionmaker() as s:
        report = verify_ledger(
            s,
            None,
            app.extensions["casefile_key"].public_pem,
            workers=workers,
            slice_entries=SLICE,
            progress=progress.append,
        )
    return report, progress


def _tamper(app: Flask, statement: Any) -> None:
    with as_insider(app) as conn:
        conn.execute(statement)


def test_an_intact_ledger_verifies_in_slices_as_in_order(ledger_of_1300: Flask) -> None:
    app = ledger_of_1300
    in_order, _ = _verify(app, workers=1)
    sliced, progress = _verify(app, workers=2)
    entries = in_order.checked
    assert in_order.ok and in_order.checkpoints_checked == 4 and entries == 1274
    assert sliced.to_dict() == in_order.to_dict()
    # Progress after each of the five slices as it came back (the walk in order reports every 10,000 entries: never
    # here), in whatever order they finished.
    assert len(progress) == 5 and progress == sorted(progress) and progress[-1] == entries, progress


@pytest.mark.parametrize("damage", ["changed entry", "deleted entry", "changed stored root"])
def test_a_damaged_ledger_gets_the_report_of_the_walk_in_order(ledger_of_1300: Flask, damage: str) -> None:
    app = ledger_of_1300
    if damage == "changed entry":  # in the third slice
        _tamper(app, update(CustodyEntry).where(CustodyEntry.seq == 600).values(actor="user:someone-else"))
    elif damage == "deleted entry":  # the last of the second slice: where the third slice starts
        _tamper(app, delete(CustodyEntry).where(CustodyEntry.seq == 512))
    else:  # a root the fourth slice starts from
        _tamper(app, update(MerkleNode).where(MerkleNode.level == 9, MerkleNode.idx == 1).values(hash=b"\x01" * 32))
    in_order, _ = _verify(app, workers=1)
    sliced, _ = _verify(app, workers=2)
    assert not in_order.ok
    assert sliced.to_dict() == in_order.to_dict()
