"""The dossier PDF is signed (PAdES, pyHanko) so that PDF readers show it as signed and unaltered: checked with
poppler's pdfsig and pyHanko's own validator; one changed byte breaks it; with a TSA the signature is timestamped
(OpenSSL's TSA, tests/local_servers.py); `dossier verify` checks it against the certificate dossier.json names."""

from __future__ import annotations

import re
import subprocess
import zipfile
from collections.abc import Callable
from io import BytesIO
from pathlib import Path

import pytest
from asn1crypto import x509 as asn1_x509
from cryptography.hazmat.primitives import serialization
from flask import Flask
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext

from casefile.auth.models import User
from casefile.config import Settings
from casefile.db import session_scope
from casefile.dossier.pdfsign import SigningUnavailable, document_signer
from casefile.workers import outside_event_loop

from local_servers import LocalTSA
from support import Account, Api, build_dossier_now, case_for_a_dossier, run_queued_jobs


@pytest.fixture
def settings(settings: Settings, tsa: LocalTSA) -> Settings:
    return settings.with_overrides(tsa_urls=(tsa.url,), tsa_ca_file=tsa.root_file, organisation="Libya Crimes Watch")


def _dossier(app: Flask, api: Api, tmp_path: Path) -> tuple[Path, bytes]:
    return _dossier_of(app, api, case_for_a_dossier(api, "SIG")["id"], tmp_path)


def _dossier_of(app: Flask, api: Api, case_id: str, tmp_path: Path) -> tuple[Path, bytes]:
    """Build a generic dossier of the case, approved, and download it: the ZIP's path and its PDF."""
    built = build_dossier_now(api, app, case_id, {"profile": "generic"})
    assert built["status"] == "ready", built
    path = tmp_path / "dossier.zip"
    download = api.get(f"/dossiers/{built['id']}/download")
    path.write_bytes(download.get_data())
    download.close()  # the streamed file
    with zipfile.ZipFile(path) as zipped:
        pdf = zipped.read(next(n for n in zipped.namelist() if n.endswith("data/dossier.pdf")))
    return path, pdf


def _pdfsig(pdf: bytes, tmp_path: Path) -> str:
    (tmp_path / "check.pdf").write_bytes(pdf)
    return subprocess.run(["pdfsig", str(tmp_path / "check.pdf")], capture_output=True, text=True).stdout


def test_the_pdf_is_signed_timestamped_and_verifies(
    app: Flask, api_for: Callable[..., tuple[Api, Account]], settings: Settings, tsa: LocalTSA, tmp_path: Path
) -> None:
    api, _account = api_for("legal")
    path, pdf = _dossier(app, api, tmp_path)

    shown = _pdfsig(pdf, tmp_path)
    assert "Signature Validation: Signature is Valid." in shown and "Total document signed" in shown
    assert "Libya Crimes Watch (Casefile dossiers)" in shown

    signer = document_signer(settings)
    root = asn1_x509.Certificate.load(signer.certificate.public_bytes(serialization.Encoding.DER))
    tsa_root = asn1_x509.Certificate.load(tsa.root.public_bytes(serialization.Encoding.DER))
    [signature] = PdfFileReader(BytesIO(pdf)).embedded_signatures
    # pyHanko's synchronous validation runs an event loop: in a thread of its own, as the verifier does (a browser
    # test's running loop may share this worker's main thread).
    status = outside_event_loop(
        lambda: validate_pdf_signature(
            signature,
            ValidationContext(trust_roots=[root], allow_fetching=False),
            ts_validation_context=ValidationContext(trust_roots=[tsa_root], allow_fetching=False),
        )
    )
    assert status.bottom_line and status.intact and status.valid and status.trusted
    assert status.timestamp_validity is not None and status.timestamp_validity.valid  # PAdES B-T

    result = app.test_cli_runner().invoke(args=["dossier", "verify", str(path)])
    assert result.exit_code == 0, result.output
    assert "data/dossier.pdf: PAdES signature intact over the whole file" in result.output
    assert f"timestamped by {tsa.url}" in result.output

    # One changed byte inside the signed range breaks it, for both validators.
    start = pdf.index(b"/Creator")
    altered = pdf[:start] + b"/Creatos" + pdf[start + 8 :]
    assert "Signature is Valid." not in _pdfsig(altered, tmp_path)
    [broken] = PdfFileReader(BytesIO(altered), strict=False).embedded_signatures
    context = ValidationContext(trust_roots=[root], allow_fetching=False)
    assert not outside_event_loop(lambda: validate_pdf_signature(broken, context)).intact


def test_a_document_signing_file_that_cannot_be_used_fails_the_build_with_its_reason(
    app: Flask, settings: Settings, tmp_path: Path, api_for: Callable[..., tuple[Api, Account]]
) -> None:
    broken = tmp_path / "signing.pem"
    broken.write_text("not a key")
    with pytest.raises(SigningUnavailable, match="cannot be used"):
        document_signer(settings.with_overrides(document_signing_path=broken))
    app.extensions["casefile_settings"] = settings.with_overrides(document_signing_path=broken)
    api, _account = api_for("legal")
    case = case_for_a_dossier(api, "BRK")
    accepted = api.post(f"/cases/{case['id']}/dossiers", json={"profile": "generic"}).get_json()
    run_queued_jobs(app)
    dossier = api.get(f"/dossiers/{accepted['id']}").get_json()
    assert dossier["status"] == "failed"
    job = api.get(f"/jobs/{accepted['job']['id']}").get_json()
    assert "document-signing file" in job["error"] and "cannot be used" in job["error"]


def test_every_page_is_marked_people_are_named_and_reads_are_counted(
    app: Flask, api_for: Callable[..., tuple[Api, Account]], tmp_path: Path
) -> None:
    api, legal = api_for("legal")
    case = case_for_a_dossier(api, "MRK")
    [item] = api.get(f"/cases/{case['id']}/evidence").get_json()["items"]
    for _ in range(3):  # three reads of the file: counted in the PDF, not listed
        assert api.get(f"/evidence/{item['id']}/content").status_code == 200
    _path, pdf = _dossier_of(app, api, case["id"], tmp_path)
    (tmp_path / "read.pdf").write_bytes(pdf)
    pages = int(
        re.search(
            r"Pages:\s+(\d+)",
            subprocess.run(["pdfinfo", str(tmp_path / "read.pdf")], capture_output=True, text=True).stdout,
        ).group(1)  # type: ignore[union-attr]
    )
    assert pages >= 2
    for number in range(1, pages + 1):
        text = subprocess.run(
            ["pdftotext", "-f", str(number), "-l", str(number), str(tmp_path / "read.pdf"), "-"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        assert text.count("PUBLIC") >= 2, f"page {number} lacks its marking in the header and footer"
    text = subprocess.run(["pdftotext", str(tmp_path / "read.pdf"), "-"], capture_output=True, text=True).stdout
    assert str(legal.id) not in text and "user:" not in text
    # Custody details in words: no empty values, no stored keys, incidents by title.
    assert "null" not in text and "declared_sha256" not in text and "media_type" not in text
    flat = " ".join(text.split())  # table cells wrap
    assert "Incidents: Graves" in flat and "Original file name: statement.txt" in flat and "recorded (ingested)" in flat
    with app.app_context(), session_scope() as s:
        name = s.get_one(User, legal.id).name
    assert f"{name} (legal)" in text  # the uploader of the file, by name and role
    assert re.search(r"\b3 reads \(views and downloads\) recorded, not listed here", text)
