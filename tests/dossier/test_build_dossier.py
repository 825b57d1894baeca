"""Building referral dossiers of the demo case (TRH) end to end, and checking the ZIP as a stranger would.

Each test loads the demo, builds as the API does (the build job run in-process), exports the
stored ZIP from the blob store, then checks it with the tools a recipient has: the bagit library and `bagit.py`,
the openssl command of README.txt, the standard-library script shipped in the bag (run by the system python3 in
isolated mode), and casefile.dossier.verify.verify_dossier_zip with the instance's key id. The demo has two
witnesses: W-0001 consented to share_icc and share_un, W-0002 refused share_icc (and said nothing on share_un).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tracemalloc
import types
import typing
import unicodedata
import uuid
import zipfile
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from typing import Any

import bagit
import pytest
from flask import Flask
from sqlalchemy import select

from casefile.auth.models import User
from casefile.cases.models import Case
from casefile.custody.actions import Action
from casefile.custody.signing import key_id
from casefile.db import session_scope
from casefile.dossier.builder import DossierRequest
from casefile.dossier.document import SCHEMA, DossierDocument
from casefile.dossier.jobs import submit_build
from casefile.dossier.models import Dossier, DossierStatus
from casefile.dossier.verify import verify_dossier_zip
from casefile.evidence.models import EvidenceItem

from support import Account, Api, ledger, run_queued_jobs

BAGIT_PY = Path(sys.executable).with_name("bagit.py")
OPENSSL_COMMAND = (  # as README.txt gives it, run in the bag folder
    "openssl pkeyutl -verify -pubin -inkey casefile-public-key.pem -rawin "
    "-in tagmanifest-sha256.txt -sigfile tagmanifest-sha256.txt.sig"
)
OPENSSL_ARGS = OPENSSL_COMMAND.split()
SIGNATURE = "tagmanifest-sha256.txt.sig"
ICC, UN = "icc-otp-art15", "un-panel-libya"
ARABIC_ACTOR = "محمد الكاني"
# The protected identities of the demo witnesses: full names (whole and in parts) and contact numbers.
IDENTITY_NEEDLES = (
    "Demo Witness One (أحمد المثال)",
    "Demo Witness Two (فاطمة المثال)",
    "Demo Witness One",
    "Demo Witness Two",
    "أحمد المثال",
    "فاطمة المثال",
    "أحمد",
    "فاطمة",
    "+218 00 000 0001",
    "+218 00 000 0002",
    "00 000 0001",
    "00 000 0002",
    "218000000001",
    "218000000002",
)
BIDI_CONTROLS = dict.fromkeys(map(ord, "\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"))

pytestmark = [
    pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils (pdftotext) is required"),
    pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl is required"),
]


# --- the demo and its dossiers -----------------------------------------------------------------------------------


@dataclass
class Demo:
    app: Flask
    case_id: uuid.UUID
    account: Account
    api: Api

    def witness(self, code: str) -> dict[str, Any]:
        response = self.api.get(f"/cases/{self.case_id}/witnesses")
        assert response.status_code == 200, response.get_data(as_text=True)[:300]
        (witness,) = [w for w in response.get_json()["items"] if w["code"] == code]
        return witness

    def statement_ern(self, code: str) -> str:
        response = self.api.get(f"/witnesses/{self.witness(code)['id']}")
        assert response.status_code == 200, response.get_data(as_text=True)[:300]
        (statement,) = response.get_json()["statements"]
        return str(statement["ern"])

    def derive(self, parent_ern: str, derivation: str, content: str) -> dict[str, Any]:
        """A derivative of an item (a translation, a redacted copy…), linked to an incident like its parent."""
        parent = next(e for e in self.evidence() if e["ern"] == parent_ern)
        incidents = self.api.get(f"/cases/{self.case_id}/incidents").get_json()["items"]
        response = self.api.post(
            f"/evidence/{parent['id']}/derivatives",
            data={
                "file": (BytesIO(content.encode()), f"{derivation}.txt"),
                "derivation": derivation,
                "title": f"{derivation} of {parent_ern}",
                "incident_ids": incidents[0]["id"],
            },
            content_type="multipart/form-data",
        )
        assert response.status_code == 201, response.get_data(as_text=True)[:300]
        return response.get_json()

    def evidence(self) -> list[dict[str, Any]]:
        response = self.api.get(f"/cases/{self.case_id}/evidence?per_page=200")
        assert response.status_code == 200, response.get_data(as_text=True)[:300]
        return response.get_json()["items"]


@pytest.fixture
def demo(
    app: Flask,
    make_user: Callable[..., Account],
    add_member: Callable[..., None],
    api_for: Callable[..., tuple[Api, Account]],
) -> Demo:
    """The demo case, with an investigator of ours as a member (the demo's own author is deactivated)."""
    result = app.test_cli_runner().invoke(args=["demo", "load"])
    assert result.exit_code == 0, result.output
    account = make_user("investigator")
    with app.app_context(), session_scope() as s:
        case_id = s.scalar(select(Case.id).where(Case.reference == "TRH"))
    assert case_id is not None
    add_member(case_id, account)
    api, _ = api_for(account=account)
    return Demo(app, case_id, account, api)


@dataclass
class Built:
    id: uuid.UUID
    sha256: str
    bag_name: str
    included: list[dict[str, Any]]
    excluded: list[dict[str, Any]]
    zip_path: Path

    def members(self) -> dict[str, bytes]:
        """Every file of the ZIP, by its path inside the bag."""
        with zipfile.ZipFile(self.zip_path) as archive:
            return {
                info.filename.split("/", 1)[1]: archive.read(info) for info in archive.infolist() if not info.is_dir()
            }

    def document(self) -> dict[str, Any]:
        return json.loads(self.members()["data/dossier.json"])

    def excluded_reasons(self, ern: str) -> str:
        (entry,) = [e for e in self.excluded if e["ern"] == ern]
        return " ".join(entry["reasons"])


def build(
    demo: Demo,
    tmp_path: Path,
    profile: str = ICC,
    title: str = "Tarhouna — referral",
    evidence_ids: list[str] | None = None,
    language: str | None = None,
    **scope: Any,
) -> Built:
    """Submit the build as the API does and run its job in this process (the queue's own tests run workers);
    `scope`: target_ids, charge_ids, analysis, cover_letter, narrative."""
    app = demo.app
    tmp_path.mkdir(parents=True, exist_ok=True)
    with app.app_context():
        with session_scope() as s:
            dossier, _job = submit_build(
                s,
                s.get_one(Case, demo.case_id),
                s.get_one(User, demo.account.id),
                DossierRequest(profile, title, evidence_ids, language, **scope),
            )
        run_queued_jobs(app)
        with session_scope() as s:
            dossier = s.get_one(Dossier, dossier.id)
            assert dossier.status is DossierStatus.READY and dossier.sha256 is not None, dossier.error
            row = Built(dossier.id, dossier.sha256, dossier.bag_name, dossier.included, dossier.excluded, Path())
        row.zip_path = tmp_path / f"{row.bag_name}.zip"
        with app.extensions["casefile_blobs"].open(row.sha256) as blob, row.zip_path.open("wb") as out:
            shutil.copyfileobj(blob, out)
    return row


def instance_key_id(app: Flask) -> str:
    return key_id(app.extensions["casefile_key"].private)


def extract(zip_path: Path, into: Path) -> Path:
    """Extract plainly (as a recipient's unzip would) and return the bag folder."""
    into.mkdir(parents=True)
    with zipfile.ZipFile(zip_path) as archive:
        archive.extractall(into)
    (bag_dir,) = into.iterdir()
    return bag_dir


def flip_member(source: Path, target: Path, member: str) -> None:
    """A copy of the ZIP with one byte in the middle of one member changed (its lowest bit flipped, so text stays
    text and hex stays hex: the checks must catch a subtle change, not a garbled file). The member keeps its
    compression, so the ZIP itself stays well-formed."""
    with zipfile.ZipFile(source) as src, zipfile.ZipFile(target, "w") as out:
        for info in src.infolist():
            data = src.read(info)
            if info.filename.split("/", 1)[-1] == member:
                changed = bytearray(data)
                changed[len(changed) // 2] ^= 0x01
                data = bytes(changed)
            out.writestr(info, data, compress_type=info.compress_type)


def system_python3() -> str:
    """The system python3's real executable (not the venv's), to run the shipped script as a recipient would."""
    found = shutil.which("python3", path=os.defpath + os.pathsep + os.environ.get("PATH", ""))
    assert found, "python3 is needed to run the shipped verifier"
    result = subprocess.run([found, "-I", "-c", "import sys; print(sys.executable)"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def run_script(python3: str, script: Path, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [python3, "-I", str(script), *args], capture_output=True, text=True, cwd=cwd, timeout=120, check=False
    )


def openssl_verify(bag_dir: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(OPENSSL_ARGS, cwd=bag_dir, capture_output=True, text=True, timeout=60, check=False)


def bagit_valid(bag_dir: Path) -> bool:
    try:
        bagit.Bag(str(bag_dir)).validate(processes=1)
    except (bagit.BagError, ValueError):  # a tag file that is no longer UTF-8 fails with a ValueError
        return False
    return True


def pdf_text(pdf: bytes, tmp_path: Path) -> str:
    path = tmp_path / f"dossier-{uuid.uuid4().hex}.pdf"
    path.write_bytes(pdf)
    result = subprocess.run(["pdftotext", "-enc", "UTF-8", str(path), "-"], capture_output=True, check=True)
    # Presentation forms back to letters and no bidi marks, so Arabic can be searched in logical order.
    return unicodedata.normalize("NFKC", result.stdout.decode("utf-8")).translate(BIDI_CONTROLS)


def squeezed(text: str) -> str:
    """No whitespace at all: hashes and ERNs wrap across lines in the PDF's tables."""
    return re.sub(r"\s+", "", text)


def cli(app: Flask, *args: str) -> Any:
    return app.test_cli_runner().invoke(args=list(args))


# --- verification by a stranger, and tampering -----------------------------------------------------------------


def test_icc_dossier_verifies_with_every_tool_and_any_flipped_byte_is_caught(demo: Demo, tmp_path: Path) -> None:
    app = demo.app
    built = build(demo, tmp_path)
    expected_key = instance_key_id(app)
    python3 = system_python3()

    bag_dir = extract(built.zip_path, tmp_path / "pristine")
    assert bag_dir.name == built.bag_name
    bag = bagit.Bag(str(bag_dir))
    bag.validate(processes=1)  # raises on any problem
    assert set(bag.algorithms) == {"sha256", "sha512"}
    assert bag.info["Casefile-Key-Id"] == expected_key

    tool = subprocess.run([str(BAGIT_PY), "--validate", str(bag_dir)], capture_output=True, text=True, timeout=120)
    assert tool.returncode == 0, tool.stderr[-2000:]
    assert "is valid" in tool.stderr

    readme = (bag_dir / "README.txt").read_text(encoding="utf-8")
    assert OPENSSL_COMMAND in " ".join(readme.replace("\\\n", " ").split()), readme
    assert expected_key in readme
    signature = openssl_verify(bag_dir)
    assert signature.returncode == 0, signature.stdout + signature.stderr
    assert "Signature Verified Successfully" in signature.stdout

    script = bag_dir / "verify_dossier.py"
    shipped = run_script(python3, script, cwd=bag_dir)
    assert shipped.returncode == 0, shipped.stdout[-3000:] + shipped.stderr[-2000:]
    assert "VERIFIED: every check passed" in shipped.stdout
    keyed = run_script(python3, script, str(built.zip_path), "--key-id", expected_key)
    assert keyed.returncode == 0, keyed.stdout[-3000:]

    report = verify_dossier_zip(built.zip_path, expected_key_id=expected_key)
    assert report.ok, report.problems
    assert report.key_id == expected_key and report.profile == ICC
    assert report.item_count == len(built.included)
    assert not verify_dossier_zip(built.zip_path, expected_key_id="0" * 64).ok

    # One byte flipped in any one file: every check that covers the file says so.
    members = sorted(built.members())
    tag_manifests = {"tagmanifest-sha256.txt", "tagmanifest-sha512.txt"}
    covered = {m for m in members if m not in tag_manifests | {SIGNATURE}}  # listed in (tag)manifests
    assert {"data/dossier.pdf", "data/dossier.json", "verify_dossier.py", "casefile-public-key.pem"} <= covered

    def tamper(member: str) -> tuple[str, list[str]]:
        tampered = tmp_path / f"tampered-{members.index(member)}.zip"
        flip_member(built.zip_path, tampered, member)
        failures = []
        ours = verify_dossier_zip(tampered, expected_key_id=expected_key)
        if ours.ok:
            failures.append("verify_dossier_zip passed")
        theirs = run_script(python3, script, str(tampered))  # the pristine script, on the tampered ZIP
        if theirs.returncode == 0 or "NOT VERIFIED" not in theirs.stdout:
            failures.append(f"verify_dossier.py exited {theirs.returncode}: {theirs.stdout[-500:]}")
        folder = extract(tampered, tmp_path / f"tampered-{members.index(member)}")
        if member in covered | tag_manifests and bagit_valid(folder):
            failures.append("bagit validated")
        if member in {"tagmanifest-sha256.txt", SIGNATURE, "casefile-public-key.pem"}:
            verdict = openssl_verify(folder)
            if verdict.returncode == 0 or "Signature Verified Successfully" in verdict.stdout:
                failures.append("openssl verified the signature")
        return member, failures

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = dict(pool.map(tamper, members))
    assert {m: f for m, f in results.items() if f} == {}
    assert len(results) == len(members) >= 2 * len(built.included) + 13


# --- what may leave the organisation, and the PDF -------------------------------------------------------------


def test_icc_dossier_withholds_the_refused_testimony_and_every_identity_and_reads_well(
    demo: Demo, tmp_path: Path
) -> None:
    refused, consented = demo.statement_ern("W-0002"), demo.statement_ern("W-0001")
    # Derivatives of a testimony are testimony too, however far removed from the statement.
    translated = demo.derive(refused, "translation", "Statement of W-0002, English translation (demonstration).")
    redacted = demo.derive(translated["ern"], "redacted_copy", "Statement of W-0002, redacted (demonstration).")
    consented_translation = demo.derive(consented, "translation", "Statement of W-0001, English translation.")
    built = build(demo, tmp_path)

    included = {i["ern"] for i in built.included}
    assert {consented, consented_translation["ern"]} <= included
    assert not {refused, translated["ern"], redacted["ern"]} & included
    for ern in (refused, translated["ern"], redacted["ern"]):
        reasons = built.excluded_reasons(ern)
        assert "W-0002" in reasons and "refused" in reasons and "sharing with the ICC" in reasons, (ern, reasons)

    members = built.members()
    document = json.loads(members["data/dossier.json"])
    assert included == {e["ern"] for e in document["evidence"]}
    witnesses = {e["ern"]: e["witness"] for e in document["evidence"]}
    assert witnesses[consented] == witnesses[consented_translation["ern"]] == "W-0001"
    for ern in (refused, translated["ern"], redacted["ern"]):
        assert not [m for m in members if ern in m], f"a file of {ern} is in the bag"
    assert [m for m in members if m.startswith(f"data/evidence/{consented}")]

    # Not W-0002's pseudonym, nor its items' ERNs, nor any witness's name or phone number, in any file (nor in
    # the PDF's text).
    text = pdf_text(members["data/dossier.pdf"], tmp_path)
    haystacks = {**members, "data/dossier.pdf (text)": text.encode(), "(the ZIP itself)": built.zip_path.read_bytes()}
    needles = ["W-0002", refused, translated["ern"], redacted["ern"], *IDENTITY_NEEDLES]
    found = {(name, needle) for name, data in haystacks.items() for needle in needles if needle.encode() in data}
    assert found == set()

    # The PDF: Arabic names come out as text, every included item by ERN and SHA-256.
    assert ARABIC_ACTOR in " ".join(text.split())
    flat = squeezed(text)
    for item in built.included:
        assert item["ern"] in flat
        assert item["sha256"] in flat, f"{item['ern']}: SHA-256 {item['sha256']} not in the PDF"
    # No gap counts unless the analysis annex is asked for (tests/dossier/test_scoped_dossiers.py).
    assert document["analysis"] is None and "GAP" not in text


def shape_problems(value: Any, hint: Any, where: str = "$") -> list[str]:
    """Where the parsed JSON ``value`` differs from the type ``hint``: a TypedDict (exactly its keys), a list or
    dict of, a union, a Literal, or a JSON scalar."""
    if typing.is_typeddict(hint):
        if not isinstance(value, dict):
            return [f"{where}: expected an object, found {type(value).__name__}"]
        fields = typing.get_type_hints(hint)
        problems = [f"{where}: unexpected key {key!r}" for key in sorted(set(value) - set(fields))]
        problems += [f"{where}: missing key {key!r}" for key in sorted(set(fields) - set(value))]
        for key in sorted(set(fields) & set(value)):
            problems += shape_problems(value[key], fields[key], f"{where}.{key}")
        return problems
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint is Any:
        return []
    if origin is list:
        if not isinstance(value, list):
            return [f"{where}: expected a list, found {type(value).__name__}"]
        return [p for i, v in enumerate(value) for p in shape_problems(v, args[0], f"{where}[{i}]")]
    if origin is dict:
        if not isinstance(value, dict):
            return [f"{where}: expected an object, found {type(value).__name__}"]
        return [p for k, v in value.items() for p in shape_problems(v, args[1], f"{where}[{k!r}]")]
    if origin in (typing.Union, types.UnionType):
        if any(not shape_problems(value, arg, where) for arg in args):
            return []
        return [f"{where}: {value!r} is none of {hint}"]
    if origin is typing.Literal:
        return [] if value in args else [f"{where}: {value!r} is not one of {args}"]
    if hint is type(None):
        return [] if value is None else [f"{where}: expected null, found {value!r}"]
    matches = type(value) in (int, float) if hint is float else type(value) is hint
    return [] if matches else [f"{where}: expected {hint.__name__}, found {type(value).__name__}"]


def test_dossier_json_has_exactly_the_shape_of_the_typed_document(demo: Demo, tmp_path: Path) -> None:
    # An actor with an identifier, so that every kind of record in the document holds something.
    actor = demo.api.get(f"/cases/{demo.case_id}/actors").get_json()["items"][0]
    response = demo.api.patch(f"/actors/{actor['id']}", json={"identifiers": [{"type": "passport", "value": "P-1"}]})
    assert response.status_code == 200, response.get_data(as_text=True)[:300]

    document = build(demo, tmp_path).document()

    assert document["schema"] == SCHEMA
    assert shape_problems(document, DossierDocument) == []
    for part in ("incidents", "actors", "relations", "involvements", "charges", "evidence", "trails"):
        assert document[part], part
    assert any(actor["identifiers"] for actor in document["actors"])
    assert any(charge["elements"] for charge in document["charges"])
    # The check itself tells a stray key, a missing one and a wrong type.
    document["evidence"][0]["extra"] = 1
    del document["case"]["title"]
    document["withheld_count"] = "0"
    assert shape_problems(document, DossierDocument) == [
        "$.case: missing key 'title'",
        "$.evidence[0]: unexpected key 'extra'",
        "$.withheld_count: expected int, found str",
    ]


def test_un_profile_needs_share_un_consent(demo: Demo, tmp_path: Path) -> None:
    consented, silent = demo.statement_ern("W-0001"), demo.statement_ern("W-0002")
    built = build(demo, tmp_path, UN, "Tarhouna — Panel of Experts")
    assert consented in {i["ern"] for i in built.included}
    assert silent not in {i["ern"] for i in built.included}
    reasons = built.excluded_reasons(silent)
    assert "no consent" in reasons and "W-0002" in reasons and "sharing with UN bodies" in reasons, reasons
    members = built.members()
    assert not [n for n, data in members.items() if b"W-0002" in data or silent.encode() in data]
    assert json.loads(members["data/dossier.json"])["dossier"]["profile"]["consent_purpose"] == "share_un"
    assert verify_dossier_zip(built.zip_path, expected_key_id=instance_key_id(demo.app)).ok


def withdraw_w0001_and_classify_the_photo_secret(demo: Demo) -> tuple[str, str]:
    """W-0001 withdraws consent to share_icc; the excavation photo is reclassified secret. Returns their ERNs."""
    response = demo.api.post(
        f"/witnesses/{demo.witness('W-0001')['id']}/consents",
        json={"purpose": "share_icc", "granted": False, "how_recorded": "phone call, confirmed in writing"},
    )
    assert response.status_code == 201, response.get_data(as_text=True)[:300]
    photo = next(e for e in demo.evidence() if e["title"] == "Excavation site, south of the town centre")
    response = demo.api.patch(f"/evidence/{photo['id']}", json={"classification": "secret"})
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    assert response.get_json()["classification"] == "secret"
    return demo.statement_ern("W-0001"), photo["ern"]


def test_withdrawn_consent_and_secret_classification_exclude_items(demo: Demo, tmp_path: Path) -> None:
    statement, photo = withdraw_w0001_and_classify_the_photo_secret(demo)
    built = build(demo, tmp_path)
    included = {i["ern"] for i in built.included}
    assert statement not in included and photo not in included
    assert included, "the field note and the other photo are still allowed"
    reasons = built.excluded_reasons(statement)
    assert "withdrew" in reasons and "W-0001" in reasons and "sharing with the ICC" in reasons, reasons
    reasons = built.excluded_reasons(photo)
    assert "classified secret" in reasons, reasons
    members = built.members()
    assert included == {e["ern"] for e in json.loads(members["data/dossier.json"])["evidence"]}
    for ern in (statement, photo):
        assert not [n for n, data in members.items() if ern in n or ern.encode() in data], ern
    assert not [n for n, data in members.items() if b"W-0001" in data or b"W-0002" in data]


def test_pdf_agrees_with_dossier_json_about_withheld_evidence(demo: Demo, tmp_path: Path) -> None:
    """The PDF is the recipient's reading copy of dossier.json. With W-0001's testimony withheld (consent
    withdrawn) and W-0002's refused, it must neither tell the recipient that nothing was left out nor count the
    withheld testimony as support for a relation in the command chart."""
    withdraw_w0001_and_classify_the_photo_secret(demo)
    built = build(demo, tmp_path)
    members = built.members()
    document = json.loads(members["data/dossier.json"])
    text = " ".join(pdf_text(members["data/dossier.pdf"], tmp_path).split())
    withheld = document["withheld_count"]
    assert withheld == len(built.excluded) == 3

    disagreements = []
    if "No item was excluded" in text or "Evidence items excluded 0" in text:
        disagreements.append(f"the PDF says no item was excluded; dossier.json withheld_count is {withheld}")
    supported_in_json = {r["supporting"] for r in document["relations"]}
    shown_in_chart = {int(n) for n in re.findall(r"(\d+)✓", text)}
    if not shown_in_chart <= supported_in_json:
        disagreements.append(
            f"the command chart shows relations with {sorted(shown_in_chart)} supporting item(s); dossier.json's "
            f"relations have {sorted(supported_in_json)} (only the dossier's own evidence)"
        )
    assert not disagreements, "\n".join(disagreements)


# --- the ledger ------------------------------------------------------------------------------------------------


def test_building_is_recorded_in_the_ledger(demo: Demo, tmp_path: Path) -> None:
    app = demo.app
    before = len(ledger(app))
    built = build(demo, tmp_path)
    assert hashlib.sha256(built.zip_path.read_bytes()).hexdigest() == built.sha256

    new = ledger(app)[before:]
    assert all(e.action == Action.EXPORTED for e in new)
    with app.app_context(), session_scope() as s:
        by_ern = {
            ern: (item_id, sha)
            for ern, item_id, sha in s.execute(
                select(EvidenceItem.ern, EvidenceItem.id, EvidenceItem.sha256).where(
                    EvidenceItem.case_id == demo.case_id
                )
            )
        }
    per_item = [e for e in new if e.evidence_id is not None]
    assert sorted(str(e.evidence_id) for e in per_item) == sorted(str(by_ern[i["ern"]][0]) for i in built.included)
    for entry in per_item:
        assert entry.details["dossier"] == str(built.id)
        assert entry.details["profile"] == ICC
        assert entry.case_id == demo.case_id
    for item in built.included:
        assert item["sha256"] == by_ern[item["ern"]][1]
    (case_level,) = [e for e in new if e.evidence_id is None]
    assert case_level.case_id == demo.case_id
    assert case_level.details["dossier"] == str(built.id)
    assert case_level.details["dossier_sha256"] == built.sha256
    assert case_level.details["items"] == len(built.included)
    assert case_level.seq == max(e.seq for e in new)  # recorded last, once the ZIP is stored
    assert {e.actor for e in new} == {f"user:{demo.account.id}"}

    # Each included item's trail in the bag ends with its `exported` entry for this very dossier.
    members = built.members()
    for item in built.included:
        trail = json.loads(members[f"data/custody/{item['ern']}.json"])
        assert trail["entries"][-1]["action"] == "exported"
        assert trail["entries"][-1]["details"]["dossier"] == str(built.id)

    verified = cli(app, "custody", "verify")
    assert verified.exit_code == 0, verified.output
    assert "INTACT" in verified.output and "PROBLEM" not in verified.output
    checked = cli(app, "fsck")
    assert checked.exit_code == 0, checked.output
    assert built.sha256 not in checked.output, checked.output
    assert "MISSING" not in checked.output


# --- memory ----------------------------------------------------------------------------------------------------


def _chunks(total: int, size: int = 1 << 20) -> Iterator[bytes]:
    block = hashlib.sha512(b"casefile").digest() * (size // 64)
    for n in range(total // size):
        yield bytes([n % 256]) + block[1:]


def test_building_streams_a_large_file_in_constant_memory(demo: Demo, tmp_path: Path) -> None:
    from casefile.evidence.services import ingest

    app = demo.app
    big_size = 64 << 20
    with app.app_context(), session_scope() as s:
        store = app.extensions["casefile_blobs"]
        case = s.get(Case, demo.case_id)
        owner = s.get(User, demo.account.id)
        with store.writer() as writer:
            for chunk in _chunks(big_size):
                writer.write(chunk)
            big = ingest(
                s, store, case, owner, writer, filename="drone-footage.bin", data={"title": "Drone footage (large)"}
            )
        big_id, big_ern, big_sha = big.id, big.ern, big.sha256

    # A first build warms up what every build shares, whatever the files' sizes (WeasyPrint's fonts and
    # caches, SQLAlchemy's compiled statements: some 35 MiB on a cold process): the measured build then shows
    # what the evidence adds, which must not grow with it.
    small = build(demo, tmp_path / "warm-up", title="Warm-up")
    assert small.included
    tracemalloc.start()
    try:
        built = build(demo, tmp_path, title="Large file", evidence_ids=[str(big_id)])
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert built.included == [{"ern": big_ern, "sha256": big_sha}]
    assert peak < 32 << 20, f"peak {peak / 2**20:.1f} MiB while building a dossier with a 64 MiB file"

    with zipfile.ZipFile(built.zip_path) as archive:
        (info,) = [i for i in archive.infolist() if i.filename.startswith(f"{built.bag_name}/data/evidence/")]
        assert info.file_size == big_size
        with archive.open(info) as member:
            assert hashlib.file_digest(member, "sha256").hexdigest() == big_sha
    assert verify_dossier_zip(built.zip_path, expected_key_id=instance_key_id(app)).ok
