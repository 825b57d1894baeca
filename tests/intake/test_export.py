"""Case data to XLSX and CSV: every table, classification respected, witnesses by pseudonym only (never their
identity), formulas written as text, and a custody entry when the export is made and when it is downloaded."""

from __future__ import annotations

import csv
import io
import uuid
import zipfile
from collections.abc import Callable
from typing import Any

import openpyxl
import pytest
from flask import Flask

from support import Account, Api, ledger, load_demo, run_queued_jobs

IDENTITY = "Aisha Bint-Secretname"


def post(api: Api, case_id: Any, name: str, classification: str, title: str) -> dict[str, Any]:
    response = api.post(
        f"/cases/{case_id}/evidence",
        data={"file": (io.BytesIO(f"{name} {title}".encode()), name), "title": title, "classification": classification},
        content_type="multipart/form-data",
    )
    response.request.input_stream.close()
    assert response.status_code == 201, response.get_data(as_text=True)[:300]
    return response.get_json()


@pytest.fixture
def demo(app: Flask, api_for: Callable[..., tuple[Api, Account]], add_member: Any) -> tuple[Api, uuid.UUID, dict]:
    case_id = load_demo(app)
    api, account = api_for("investigator")
    add_member(case_id, account, "investigator", identities=True)
    witness = api.post(f"/cases/{case_id}/witnesses", json={"full_name": IDENTITY, "contact": "+218 91 555 0101"})
    assert witness.status_code == 201
    items = {
        "public": post(api, case_id, "a.txt", "public", "Press report"),
        "sealed": post(api, case_id, "b.txt", "under_seal", "Sealed intercept"),
        "formula": post(api, case_id, "c.txt", "confidential", '=HYPERLINK("http://evil.example","x")'),
        "witness": witness.get_json(),
    }
    return api, case_id, items


def export(api: Api, app: Flask, case_id: Any, **body: str) -> tuple[dict[str, Any], bytes]:
    response = api.post(f"/cases/{case_id}/exports", json=body)
    assert response.status_code == 202, response.get_data(as_text=True)[:300]
    assert response.get_json()["state"] == "building"
    run_queued_jobs(app)
    made = api.get(f"/exports/{response.get_json()['id']}").get_json()
    assert made["state"] == "ready", made
    download = api.get(f"/exports/{made['id']}/download")
    assert download.status_code == 200
    return made, download.get_data()


def test_xlsx_export_holds_every_table_respects_classification_and_hides_identities(
    app: Flask, demo: tuple[Api, uuid.UUID, dict]
) -> None:
    api, case_id, items = demo
    made, data = export(api, app, case_id)
    book = openpyxl.load_workbook(io.BytesIO(data), read_only=False)
    assert book.sheetnames == [
        "incidents", "evidence", "actors", "relations", "involvements", "links", "witnesses", "element_matrix"
    ]  # fmt: skip
    evidence = {row[0]: row for row in book["evidence"].iter_rows(min_row=2, values_only=True)}
    assert items["public"]["ern"] in evidence and items["formula"]["ern"] in evidence
    assert items["sealed"]["ern"] not in evidence  # under seal: above the default level
    assert evidence[items["public"]["ern"]][5] == items["public"]["sha256"]
    formula = next(c for c in book["evidence"]["C"] if str(c.value).startswith("=HYPERLINK"))
    assert formula.data_type == "s"  # text, not a formula that runs when the file is opened
    assert made["rows"]["evidence"] == len(evidence) and made["rows"]["actors"] > 0 and made["rows"]["relations"] > 0
    assert [r[0] for r in book["witnesses"].iter_rows(min_row=2, values_only=True)].count(items["witness"]["code"]) == 1
    actors = {row[2]: row for row in book["actors"].iter_rows(min_row=2, values_only=True)}
    assert any(row[3] for row in actors.values())  # aliases, in any script
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        everything = b"".join(z.read(name) for name in z.namelist())
    assert IDENTITY.encode() not in everything and b"555 0101" not in everything
    entries = [e for e in ledger(app) if e.details.get("export") == made["id"]]
    assert [e.action for e in entries] == ["exported", "downloaded"]
    assert entries[0].details["export_sha256"] == made["sha256"]


def test_csv_export_up_to_under_seal_with_formulas_defused(app: Flask, demo: tuple[Api, uuid.UUID, dict]) -> None:
    api, case_id, items = demo
    made, data = export(api, app, case_id, format="csv", max_classification="under_seal")
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        assert sorted(z.namelist()) == sorted(f"{t}.csv" for t in made["rows"])
        rows = list(csv.reader(io.StringIO(z.read("evidence.csv").decode("utf-8-sig"))))
        assert IDENTITY.encode() not in b"".join(z.read(n) for n in z.namelist())
    erns = {row[0]: row for row in rows[1:]}
    assert items["sealed"]["ern"] in erns
    assert erns[items["formula"]["ern"]][2].startswith("'=HYPERLINK")


def test_bad_requests_and_outsiders_are_refused(app: Flask, demo: tuple[Api, uuid.UUID, dict], api_for: Any) -> None:
    api, case_id, _items = demo
    assert api.post(f"/cases/{case_id}/exports", json={"format": "pdf"}).status_code == 422
    assert api.post(f"/cases/{case_id}/exports", json={"max_classification": "top"}).status_code == 422
    assert api.post(f"/cases/{case_id}/exports", json={"colour": "red"}).status_code == 422
    building = api.post(f"/cases/{case_id}/exports", json={}).get_json()
    assert api.get(f"/exports/{building['id']}/download").status_code == 409
    outsider, _ = api_for("investigator")
    assert outsider.post(f"/cases/{case_id}/exports", json={}).status_code == 404
    assert outsider.get(f"/exports/{building['id']}").status_code == 404
    assert outsider.get(f"/exports/{building['id']}/download").status_code == 404


def test_the_page_exports_and_downloads(
    app: Flask, client: Any, make_user: Callable[..., Account], make_case: Callable[..., uuid.UUID]
) -> None:
    from support import csrf_token, login

    owner = make_user("investigator")
    case_id = make_case(owner, "EXP")
    login(client, owner)
    page = client.get(f"/cases/{case_id}/imports").get_data(as_text=True)
    assert 'id="export-form"' in page
    response = client.post(
        f"/cases/{case_id}/exports",
        data={"csrf_token": csrf_token(page), "format": "xlsx", "max_classification": "public"},
    )
    assert response.status_code == 303
    run_queued_jobs(app)
    shown = client.get(response.headers["Location"]).get_data(as_text=True)
    assert 'data-state="ready"' in shown and 'id="export-download"' in shown
    download = client.get(response.headers["Location"] + "/download")
    assert download.status_code == 200 and download.data[:2] == b"PK"
    assert "EXP-export-" in download.headers["Content-Disposition"]
