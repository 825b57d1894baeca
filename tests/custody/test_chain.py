"""Custody hash chain: canonical encoding, tamper detection and streaming verification."""

from __future__ import annotations

import ast
import hashlib
import json
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from casefile.custody import chain
from casefile.custody.chain import (
    ENTRY_FIELDS,
    GENESIS_HASH,
    ChainProblem,
    ChainVerifier,
    canonical_bytes,
    entry_hash,
    format_timestamp,
    seal_entry,
    verify_chain,
)

CASE_ID = "3f2b8c1e-6a4d-4e0f-9b7a-2c5d8e1f0a9b"
T0 = datetime(2024, 3, 1, 9, 30, tzinfo=timezone.utc)  # noqa: UP017 - mirrors module's 3.8 support


def independent_hash(fields: dict[str, Any]) -> str:
    """The design's definition, written out without the module's helpers."""
    body = {k: v for k, v in fields.items() if k != "entry_hash"}
    data = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    return hashlib.sha256(data).hexdigest()


def make_entries(n: int, start_seq: int = 1, prev: str = GENESIS_HASH) -> Iterator[dict[str, Any]]:
    for seq in range(start_seq, start_seq + n):
        fields = {
            "seq": seq,
            "at": format_timestamp(T0 + timedelta(seconds=seq, microseconds=seq)),
            "actor": "system" if seq % 7 == 0 else f"user-{seq % 3}",
            "action": "evidence.ingest" if seq % 2 else "evidence.view",
            "case_id": CASE_ID,
            "evidence_id": str(uuid.UUID(int=seq)),
            "sha256": hashlib.sha256(f"file {seq}".encode()).hexdigest(),
            "details": {"filename": f"شهادة-{seq}.pdf", "note": "نص عربي", "size": seq * 1024},
            "prev_hash": prev,
        }
        fields["entry_hash"] = independent_hash(fields)
        prev = fields["entry_hash"]
        yield fields


@pytest.fixture
def entries() -> list[dict[str, Any]]:
    return list(make_entries(100))


def by_seq(items: list[dict[str, Any]], seq: int) -> dict[str, Any]:
    return next(e for e in items if e["seq"] == seq)


# --- canonical encoding ----------------------------------------------------------------------------


def test_canonical_bytes_exact_form() -> None:
    obj = {"b": 1, "a": {"z": [1, 2, None, True], "y": "x"}, "ä": "é"}
    assert canonical_bytes(obj) == '{"a":{"y":"x","z":[1,2,null,true]},"b":1,"ä":"é"}'.encode()


def test_canonical_bytes_key_order_is_irrelevant() -> None:
    a = {"seq": 1, "actor": "u", "details": {"x": 1, "y": 2}}
    b = {"details": {"y": 2, "x": 1}, "actor": "u", "seq": 1}
    assert canonical_bytes(a) == canonical_bytes(b)


def test_canonical_bytes_keeps_arabic_as_utf8() -> None:
    text = "شاهد رقم ٣ — إفادة"
    encoded = canonical_bytes({"note": text})
    assert encoded == b'{"note":"' + text.encode("utf-8") + b'"}'
    assert b"\\u" not in encoded  # ensure_ascii=False: no escapes
    assert json.loads(encoded.decode("utf-8")) == {"note": text}


def test_canonical_bytes_matches_json_dumps_reference(entries: list[dict[str, Any]]) -> None:
    for e in entries[:10]:
        expected = json.dumps(e, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
        assert canonical_bytes(e) == expected


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), float("-inf")])
def test_canonical_bytes_rejects_non_finite_numbers(bad: float) -> None:
    with pytest.raises(ValueError):
        canonical_bytes({"x": bad})


def test_canonical_bytes_rejects_non_json_types() -> None:
    with pytest.raises(TypeError):
        canonical_bytes({"at": T0})
    with pytest.raises(ValueError):
        canonical_bytes({"x": "\ud800"})  # lone surrogate is not UTF-8


def test_entry_hash_ignores_entry_hash_field(entries: list[dict[str, Any]]) -> None:
    e = entries[0]
    without = {k: v for k, v in e.items() if k != "entry_hash"}
    assert entry_hash(e) == entry_hash(without) == independent_hash(e) == e["entry_hash"]
    assert entry_hash({**e, "entry_hash": "f" * 64}) == e["entry_hash"]


def test_entry_hash_known_answer() -> None:
    fields = {
        "seq": 1,
        "at": "2024-03-01T09:30:00.000000+00:00",
        "actor": "system",
        "action": "ledger.genesis",
        "case_id": None,
        "evidence_id": None,
        "sha256": None,
        "details": {"instance": "كيسفايل"},
        "prev_hash": GENESIS_HASH,
    }
    data = (
        '{"action":"ledger.genesis","actor":"system","at":"2024-03-01T09:30:00.000000+00:00",'
        '"case_id":null,"details":{"instance":"كيسفايل"},"evidence_id":null,'
        '"prev_hash":"' + "0" * 64 + '","seq":1,"sha256":null}'
    ).encode()
    assert entry_hash(fields) == hashlib.sha256(data).hexdigest()


def test_seal_entry_adds_hash_without_mutating() -> None:
    fields = {"seq": 1, "prev_hash": GENESIS_HASH, "details": {}}
    sealed = seal_entry(fields)
    assert "entry_hash" not in fields
    assert sealed["entry_hash"] == independent_hash(fields)
    assert set(ENTRY_FIELDS) >= set(sealed)


def test_format_timestamp() -> None:
    assert format_timestamp(T0) == "2024-03-01T09:30:00.000000+00:00"
    beirut = timezone(timedelta(hours=2))
    assert format_timestamp(datetime(2024, 3, 1, 11, 30, 0, 5, tzinfo=beirut)) == ("2024-03-01T09:30:00.000005+00:00")
    with pytest.raises(ValueError):
        format_timestamp(datetime(2024, 3, 1))  # naive


# --- verification ----------------------------------------------------------------------------------


def test_valid_chain_has_no_problems(entries: list[dict[str, Any]]) -> None:
    assert list(verify_chain(entries)) == []
    verifier = ChainVerifier()
    assert verifier.feed_many(entries) == []
    result = verifier.finish()
    assert result.ok
    assert (result.count, result.last_seq, result.problem_count) == (100, 100, 0)
    assert result.head_hash == entries[-1]["entry_hash"]
    assert verifier.next_seq == 101


def test_accept_moves_on_only_for_the_next_linked_entry(entries: list[dict[str, Any]]) -> None:
    """`accept` is the verifier's hot path for a caller that hashed the entry itself: it never advances past an entry
    out of order or with a broken link, so `check` then reports that entry exactly as `feed` would."""
    accepting, feeding = ChainVerifier(), ChainVerifier()
    for entry in entries[:10]:
        assert accepting.accept(entry["seq"], entry["prev_hash"], entry["entry_hash"])
        assert feeding.feed(entry) == []
    assert accepting.finish() == feeding.finish()
    following = entries[10]
    refused = [
        (following["seq"] + 1, following["prev_hash"]),  # a gap
        (following["seq"] - 1, following["prev_hash"]),  # a repeat
        (following["seq"], GENESIS_HASH),  # a broken link
        (float(following["seq"]), following["prev_hash"]),  # not an int
    ]
    for seq, prev in refused:
        assert not accepting.accept(seq, prev, following["entry_hash"])  # type: ignore[arg-type]
        assert accepting.finish() == feeding.finish()
    broken = seal_entry({**following, "prev_hash": GENESIS_HASH})
    assert [p.kind for p in accepting.check(broken) or []] == [p.kind for p in feeding.feed(broken)] == ["broken_link"]


def test_empty_chain() -> None:
    assert list(verify_chain([])) == []
    result = ChainVerifier().finish()
    assert result.ok and result.count == 0 and result.last_seq is None
    assert result.head_hash == GENESIS_HASH


def test_modified_field_is_hash_mismatch_at_that_entry(entries: list[dict[str, Any]]) -> None:
    target = by_seq(entries, 37)
    stored = target["entry_hash"]
    target["actor"] = "user-999"  # edited in the database, hash left alone
    problems = list(verify_chain(entries))
    assert len(problems) == 1
    (p,) = problems
    recomputed = independent_hash(target)
    assert p == ChainProblem(
        37, "hash_mismatch", f"entry 37: entry_hash expected {recomputed} found {stored}", recomputed, stored
    )


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("at", "2024-03-01T09:30:37.000038+00:00"),
        ("action", "evidence.delete"),
        ("case_id", None),
        ("evidence_id", str(uuid.UUID(int=1))),
        ("sha256", "0" * 64),
        ("details", {"filename": "شهادة-37.pdf", "note": "نص عربي", "size": 37 * 1024 + 1}),
    ],
)
def test_every_field_is_covered_by_the_hash(entries: list[dict[str, Any]], field: str, value: Any) -> None:
    by_seq(entries, 37)[field] = value
    assert [(p.seq, p.kind) for p in verify_chain(entries)] == [(37, "hash_mismatch")]


def test_added_field_is_detected(entries: list[dict[str, Any]]) -> None:
    by_seq(entries, 37)["extra"] = "smuggled"
    assert [(p.seq, p.kind) for p in verify_chain(entries)] == [(37, "hash_mismatch")]


def test_rehashed_tampering_breaks_the_next_link(entries: list[dict[str, Any]]) -> None:
    target = by_seq(entries, 37)
    original = target["entry_hash"]
    target["details"] = {**target["details"], "note": "تم التعديل"}
    target["entry_hash"] = independent_hash(target)  # attacker recomputes the hash
    problems = list(verify_chain(entries))
    assert len(problems) == 1
    (p,) = problems
    assert (p.seq, p.kind, p.expected, p.found) == (38, "broken_link", target["entry_hash"], original)
    assert p.message.startswith("entry 38: prev_hash expected ")
    assert target["entry_hash"] in p.message and original in p.message and "entry 37" in p.message


def test_deleted_entries_are_a_gap(entries: list[dict[str, Any]]) -> None:
    kept = [e for e in entries if e["seq"] not in (50, 51)]
    problems = list(verify_chain(kept))
    assert len(problems) == 1
    (p,) = problems
    assert (p.seq, p.kind, p.expected, p.found) == (52, "gap", "50", "52")
    assert "entries 50–51 missing" in p.message
    assert "entry 52 follows entry 49" in p.message


def test_single_deleted_entry_and_missing_start(entries: list[dict[str, Any]]) -> None:
    problems = list(verify_chain([e for e in entries if e["seq"] != 50]))
    assert [(p.seq, p.kind) for p in problems] == [(51, "gap")]
    assert problems[0].message.startswith("entry 50 missing")
    problems = list(verify_chain(entries[2:]))
    assert [(p.seq, p.kind) for p in problems] == [(3, "gap")]
    assert "entries 1–2 missing" in problems[0].message


def test_bad_genesis(entries: list[dict[str, Any]]) -> None:
    first = entries[0]
    first["prev_hash"] = "a" * 64
    first["entry_hash"] = independent_hash(first)
    problems = list(verify_chain(entries))
    kinds = [(p.seq, p.kind) for p in problems]
    assert kinds == [(1, "bad_genesis"), (2, "broken_link")]
    assert problems[0].expected == GENESIS_HASH and problems[0].found == "a" * 64


def test_duplicate_and_out_of_order_entries(entries: list[dict[str, Any]]) -> None:
    dup = [*entries[:10], dict(entries[9]), *entries[10:]]
    assert [(p.seq, p.kind) for p in verify_chain(dup)] == [(10, "duplicate_seq")]

    swapped = [*entries[:19], entries[20], entries[19], *entries[21:]]  # ..., 19, 21, 20, 22, ...
    assert [(p.seq, p.kind) for p in verify_chain(swapped)] == [(21, "gap"), (20, "out_of_order")]


def test_multiple_problems_are_all_reported(entries: list[dict[str, Any]]) -> None:
    by_seq(entries, 10)["actor"] = "x"
    by_seq(entries, 60)["action"] = "y"
    kept = [e for e in entries if e["seq"] != 80]
    assert [(p.seq, p.kind) for p in verify_chain(kept)] == [
        (10, "hash_mismatch"),
        (60, "hash_mismatch"),
        (81, "gap"),
    ]


def test_malformed_entries_are_reported_not_raised(entries: list[dict[str, Any]]) -> None:
    by_seq(entries, 5)["details"] = {"x": float("nan")}  # json.loads accepts NaN, we must not crash
    del by_seq(entries, 6)["entry_hash"]
    by_seq(entries, 7)["seq"] = "7"
    problems = list(verify_chain([*entries, ["not", "a", "mapping"]]))
    kinds = [(p.seq, p.kind) for p in problems]
    assert (5, "malformed") in kinds
    assert (6, "malformed") in kinds
    assert (None, "malformed") in kinds
    assert all(isinstance(p.message, str) and p.message for p in problems)
    # The chain carries on: entries after the malformed ones are not blamed.
    assert not [p for p in problems if p.seq is not None and 8 <= p.seq <= 100]


def test_tail_verification_from_a_checkpoint(entries: list[dict[str, Any]]) -> None:
    anchor = entries[59]
    assert list(verify_chain(entries[60:], start_prev_hash=anchor["entry_hash"], start_seq=61)) == []
    problems = list(verify_chain(entries[60:], start_prev_hash="b" * 64, start_seq=61))
    assert [(p.seq, p.kind) for p in problems] == [(61, "broken_link")]


def test_batches_match_one_pass(entries: list[dict[str, Any]]) -> None:
    by_seq(entries, 37)["actor"] = "x"
    kept = [e for e in entries if e["seq"] not in (50, 51)]
    verifier = ChainVerifier()
    found: list[ChainProblem] = []
    for i in range(0, len(kept), 13):
        found += verifier.feed_many(kept[i : i + 13])
    assert found == list(verify_chain(kept))
    assert verifier.finish().problem_count == 2
    single = ChainVerifier()
    assert [p for e in kept for p in single.feed(e)] == found
    assert single.finish() == verifier.finish()


def test_verify_chain_streams_lazily() -> None:
    consumed = 0

    def source() -> Iterator[dict[str, Any]]:
        nonlocal consumed
        for e in make_entries(10_000):
            consumed += 1
            if e["seq"] == 3:
                e = {**e, "actor": "tampered"}
            yield e

    problems = verify_chain(source())
    first = next(problems)
    assert (first.seq, first.kind) == (3, "hash_mismatch")
    assert consumed == 3  # reported before the rest of the input was read
    assert list(problems) == []
    assert consumed == 10_000


# --- standalone use --------------------------------------------------------------------------------


def test_module_imports_only_the_standard_library() -> None:
    source = Path(chain.__file__).read_text(encoding="utf-8")
    tree = ast.parse(source, feature_version=(3, 8))
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0
            imported.add((node.module or "").split(".")[0])
    assert imported <= set(sys.stdlib_module_names) | {"__future__"}, imported


def test_copied_modules_work_without_casefile(tmp_path: Path) -> None:
    # What the recipient's verifier script does: copy both files next to itself and run
    # them with a bare interpreter (-I: no site-packages, no cwd/PYTHONPATH).
    shutil.copy(chain.__file__, tmp_path / "chain.py")
    shutil.copy(Path(chain.__file__).with_name("merkle.py"), tmp_path / "merkle.py")
    entries = list(make_entries(20))
    entries[4]["actor"] = "x"
    (tmp_path / "ledger.json").write_text(json.dumps(entries, ensure_ascii=False), encoding="utf-8")
    script = (
        "import json, sys; sys.path.insert(0, sys.argv[1])\n"
        "import chain, merkle\n"
        "entries = json.load(open(sys.argv[1] + '/ledger.json', encoding='utf-8'))\n"
        "print(json.dumps([[p.seq, p.kind] for p in chain.verify_chain(entries)]))\n"
        "print(merkle.merkle_root(bytes.fromhex(e['entry_hash']) for e in entries).hex())\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('casefile', 'cryptography')))\n"
    )
    out = subprocess.run(
        [sys.executable, "-I", "-c", script, str(tmp_path)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout.splitlines()
    assert json.loads(out[0]) == [[5, "hash_mismatch"]]
    from casefile.custody.merkle import merkle_root

    assert out[1] == merkle_root([bytes.fromhex(e["entry_hash"]) for e in entries]).hex()
    assert out[2] == "[]"
