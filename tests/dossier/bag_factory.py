"""Dossier bags built the way casefile.dossier.builder lays them out, without an app or a database.

The verifier tests use these so they do not depend on the builder: a real hash-chained ledger (entries sealed
with casefile.custody.chain), an RFC 6962 tree with inclusion proofs, a signed tree head, a bag made with the
bagit library (then declared BagIt 1.0 and given the Casefile tag files), the Ed25519 signature over
tagmanifest-sha256.txt, and a ZIP holding one top folder.
"""

from __future__ import annotations

import hashlib
import importlib.resources
import json
import uuid
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import bagit
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from casefile.custody.chain import GENESIS_HASH, format_timestamp, seal_entry
from casefile.custody.merkle import MerkleTree, hash_to_hex, proof_to_hex
from casefile.custody.signing import (
    SignedTreeHead,
    generate_private_key_pem,
    key_id,
    load_private_key,
    public_key_pem,
    sign_bytes,
    sign_tree_head,
)

CASE_ID = "6f1c1d7e-3a52-4d0e-9b5e-0c1f4a7d2b10"
BAGIT_TXT = b"BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n"
# Evidence of the dossier: ERN -> (file name, content). Items outside the dossier also write to the ledger.
EVIDENCE = {
    "TRH-00001": ("TRH-00001.jpg", b"\xff\xd8\xff\xe0" + bytes(range(256)) * 3 + b"\xff\xd9"),
    "TRH-00002": ("TRH-00002.pdf", b"%PDF-1.4\n% statement\n1 0 obj << >> endobj\n%%EOF\n"),
    "TRH-00003": ("TRH-00003.txt", "شهادة: وصلت السيارات عند الفجر.\nWitness W-07, Tarhuna.\n".encode()),
}
OTHER_ITEMS = ("TRH-00004", "TRH-00005")


def new_key() -> Ed25519PrivateKey:
    return load_private_key(generate_private_key_pem())


def make_ledger(extra_actions: int = 2) -> list[dict[str, Any]]:
    """A whole instance ledger: entries for the dossier's items interleaved with other items' and case entries,
    so that one item's entries are not consecutive (and some happen to be)."""
    items = {ern: str(uuid.uuid5(uuid.NAMESPACE_URL, ern)) for ern in (*EVIDENCE, *OTHER_ITEMS)}
    hashes = {
        ern: hashlib.sha256(EVIDENCE[ern][1]).hexdigest()
        if ern in EVIDENCE
        else hashlib.sha256(ern.encode()).hexdigest()
        for ern in items
    }
    plan: list[tuple[str | None, str, dict[str, Any]]] = []
    for ern in items:
        plan.append((ern, "ingested", {"filename": f"upload-{ern}.bin"}))
    plan.append((None, "metadata_changed", {"field": "case.title"}))
    for round_ in range(extra_actions):
        for ern in items:
            plan.append((ern, "viewed", {"round": round_}))
    plan.append(("TRH-00002", "transferred", {"from": "field office", "to": "Tunis office", "purpose": "analysis"}))
    plan.append(("TRH-00002", "fixity_verified", {"ok": True}))
    for ern in EVIDENCE:
        plan.append((ern, "exported", {"dossier": "d0551e40-0000-4000-8000-000000000001", "profile": "icc-otp"}))
    start = datetime(2024, 3, 1, 9, 0, tzinfo=UTC)
    ledger: list[dict[str, Any]] = []
    for seq, (ern, action, details) in enumerate(plan, start=1):
        ledger.append(
            seal_entry(
                {
                    "seq": seq,
                    "at": format_timestamp(start + timedelta(minutes=7 * seq)),
                    "actor": "user:3c7e0c52-5b0a-4c55-8f43-0a8d1fcb6e21" if seq % 3 else "system",
                    "action": action,
                    "case_id": CASE_ID,
                    "evidence_id": items[ern] if ern else None,
                    "sha256": hashes[ern] if ern else None,
                    "details": details,
                    "prev_hash": ledger[-1]["entry_hash"] if ledger else GENESIS_HASH,
                }
            )
        )
    return ledger


def rechain(ledger: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Re-seal every entry and re-link prev_hash: what a forger with write access to everything would do."""
    out: list[dict[str, Any]] = []
    for entry in ledger:
        out.append(seal_entry(dict(entry, prev_hash=out[-1]["entry_hash"] if out else GENESIS_HASH)))
    return out


def trails_of(ledger: list[dict[str, Any]], tree: MerkleTree) -> dict[str, list[dict[str, Any]]]:
    ids = {str(uuid.uuid5(uuid.NAMESPACE_URL, ern)): ern for ern in EVIDENCE}
    trails: dict[str, list[dict[str, Any]]] = {ern: [] for ern in EVIDENCE}
    for entry in ledger:
        if entry["evidence_id"] in ids:
            with_proof = dict(entry, leaf_index=entry["seq"] - 1)
            with_proof["inclusion_proof"] = proof_to_hex(tree.inclusion_proof(entry["seq"] - 1, len(ledger)))
            trails[ids[entry["evidence_id"]]].append(with_proof)
    return trails


def _json(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, indent=2, sort_keys=True).encode()


@dataclass
class Dossier:
    folder: Path  # the bag folder
    zip_path: Path
    name: str
    key: Ed25519PrivateKey
    key_id: str
    tree_head: SignedTreeHead
    ledger: list[dict[str, Any]]

    @property
    def files(self) -> list[str]:
        """Every file of the bag, relative to the bag folder."""
        return sorted(p.relative_to(self.folder).as_posix() for p in self.folder.rglob("*") if p.is_file())


def build_dossier(
    where: Path,
    *,
    key: Ed25519PrivateKey | None = None,
    ledger: list[dict[str, Any]] | None = None,
    name: str = "TRH-dossier-1a2b3c4d",
) -> Dossier:
    """Build the bag folder ``where/<name>`` and its ZIP ``where/<name>.zip``."""
    key = key or new_key()
    ledger = ledger if ledger is not None else make_ledger()
    tree = MerkleTree(bytes.fromhex(e["entry_hash"]) for e in ledger)
    sth = sign_tree_head(key, len(ledger), hash_to_hex(tree.root()), datetime(2024, 3, 2, 12, 0, tzinfo=UTC))
    kid = key_id(key)
    trails = trails_of(ledger, tree)
    folder = where / name
    (folder / "evidence").mkdir(parents=True)
    (folder / "custody").mkdir()
    evidence = []
    for ern, (filename, content) in EVIDENCE.items():
        (folder / "evidence" / filename).write_bytes(content)
        (folder / "custody" / f"{ern}.json").write_bytes(
            _json({"ern": ern, "sha256": hashlib.sha256(content).hexdigest(), "entries": trails[ern]})
        )
        evidence.append(
            {
                "ern": ern,
                "title": f"Item {ern}",
                "size": len(content),
                "sha256": hashlib.sha256(content).hexdigest(),
                "sha512": hashlib.sha512(content).hexdigest(),
                "file": f"evidence/{filename}",
            }
        )
    (folder / "custody" / "tree-head.json").write_bytes(_json(sth.to_dict()))
    document = {
        "schema": "casefile-dossier/1",
        "dossier": {"id": "d0551e40-0000-4000-8000-000000000001", "title": "Tarhuna mass graves"},
        "case": {"reference": "TRH", "title": "Tarhuna", "summary": "مقابر جماعية في ترهونة"},
        "evidence": evidence,
        "custody": {"tree_head": sth.to_dict(), "public_key_id": kid},
        "trails": trails,
    }
    (folder / "dossier.json").write_bytes(_json(document))
    (folder / "dossier.pdf").write_bytes(b"%PDF-1.7\n% dossier placeholder\n%%EOF\n")
    payload_bytes = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
    bagit.make_bag(
        str(folder),
        bag_info={
            "Source-Organization": "Tarhuna Documentation Project",
            "Bagging-Date": "2024-03-02",
            "External-Identifier": "d0551e40-0000-4000-8000-000000000001",
            "Bag-Size": f"{payload_bytes} bytes",
            "Casefile-Profile": "icc-otp",
            "Casefile-Tree-Size": str(len(ledger)),
            "Casefile-Key-Id": kid,
        },
        checksums=["sha256", "sha512"],
    )
    (folder / "bagit.txt").write_bytes(BAGIT_TXT)  # make_bag writes 0.97
    (folder / "README.txt").write_text(f"Casefile referral dossier {name}\nVerify: python3 verify_dossier.py\n")
    script = importlib.resources.files("casefile.dossier").joinpath("verify_dossier.py").read_bytes()
    (folder / "verify_dossier.py").write_bytes(script)
    (folder / "casefile-public-key.pem").write_bytes(public_key_pem(key))
    reseal(folder, key, payload_changed=False)
    dossier = Dossier(folder, where / f"{name}.zip", name, key, kid, sth, ledger)
    zip_folder(folder, dossier.zip_path)
    return dossier


def reseal(folder: Path, key: Ed25519PrivateKey, *, payload_changed: bool = True) -> None:
    """Regenerate the manifests (payload ones too if asked) and the tag manifests, and sign again with ``key``.

    bagit skips files named tagmanifest-* when it lists tag files, so the .sig stays out of the manifests."""
    bagit.Bag(str(folder)).save(manifests=payload_changed)
    signed = (folder / "tagmanifest-sha256.txt").read_bytes()
    (folder / "tagmanifest-sha256.txt.sig").write_bytes(sign_bytes(key, signed))


def zip_folder(folder: Path, zip_path: Path, top: str | None = None) -> None:
    top = top or folder.name
    with zipfile.ZipFile(zip_path, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            zf.write(path, f"{top}/{path.relative_to(folder).as_posix()}")


def rewrite_zip(
    source: Path,
    target: Path,
    change: Callable[[str, bytes], bytes | None] = lambda name, data: data,
    extra: dict[str, bytes] | None = None,
) -> Path:
    """Copy a ZIP entry by entry through ``change(name, data)`` (None drops the entry), then add ``extra``."""
    with zipfile.ZipFile(source) as src, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = change(info.filename, src.read(info))
            if data is not None:
                dst.writestr(info.filename, data)
        for name, data in (extra or {}).items():
            dst.writestr(name, data)
    return target


def flip(data: bytes, index: int) -> bytes:
    """The same bytes with one bit of one byte flipped (a 0x01 XOR, so hex digits and letters stay ASCII)."""
    index %= len(data)
    return data[:index] + bytes([data[index] ^ 0x01]) + data[index + 1 :]
