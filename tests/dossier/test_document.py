"""The dossier document has one definition (casefile.dossier.document). The script shipped in every bag,
verify_dossier.py, may import nothing but the standard library (test_verify_offline.py), so it repeats the names it
reads: they must agree. (That a built dossier.json has exactly the declared shape is in test_build_dossier.py.)"""

from __future__ import annotations

import typing
from pathlib import Path

from casefile.dossier import verify_dossier
from casefile.dossier.document import (
    PROOF_FIELDS,
    SCHEMA,
    VERIFIABLE_SCHEMAS,
    EvidenceRecord,
    TrailEntry,
    TreeHeadRecord,
)


def test_verify_dossier_agrees_with_the_document_definition() -> None:
    assert verify_dossier.SCHEMA == SCHEMA
    # Both accept the older schema, whose evidence, trail and tree head fields are the same.
    assert VERIFIABLE_SCHEMAS == ("casefile-dossier/1", SCHEMA)
    assert '("casefile-dossier/1", SCHEMA)' in Path(verify_dossier.__file__).read_text(encoding="utf-8")
    assert typing.get_type_hints(TreeHeadRecord) == verify_dossier.TREE_HEAD_FIELDS
    # Every field of a trail entry but these is covered by its entry_hash.
    assert set(verify_dossier.NOT_HASHED) == {"entry_hash", *PROOF_FIELDS}
    assert set(PROOF_FIELDS) <= set(typing.get_type_hints(TrailEntry))
    # What the script reads of each evidence record to find and check its file.
    assert {"ern", "file", "size", *verify_dossier.ALGORITHMS} <= set(typing.get_type_hints(EvidenceRecord))
