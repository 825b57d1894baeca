"""Bulk import of evidence: a ZIP with a manifest is previewed (nothing written but the plan), then run; 190 good rows
of 200 are created, the 10 bad ones reported with their reasons, and a second import of the same material creates
nothing."""

from __future__ import annotations

import csv
import hashlib
import io
import re
import uuid
import zipfile
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask

from support import PHOTOS, Account, Api, ledger, run_queued_jobs

PHOTO = (PHOTOS / "DSCN0010.jpg").read_bytes()
HEADER = ["file", "title", "kind", "description", "collected_at", "collected_by", "source", "classification",
          "incidents", "witness", "sha256"]  # fmt: skip
DATES = ["2020-06-12", "12/06/2020", "2020-06", "June 2020", "يونيو 2020", "٢٠٢٠-٠٦-١٢", "2020", "2020-06-12T14:30"]


def content(i: int) -> bytes:
    return f"Exhibit {i}: statement text, page {i}.\n".encode() * (1 + i % 5)


def post_import(api: Api, case_id: Any, archive: bytes | None, manifest: bytes | None = None, **fields: str) -> Any:
    manifest_name = fields.pop("manifest_name", "manifest.csv")
    data: dict[str, Any] = dict(fields)
    if archive is not None:
        data["archive"] = (io.BytesIO(archive), "exhibits.zip")
    if manifest is not None:
        data["manifest"] = (io.BytesIO(manifest), manifest_name)
    response = api.post(f"/cases/{case_id}/imports", data=data, content_type="multipart/form-data")
    response.request.input_stream.close()
    return response


def previewed(
    api: Api, app: Flask, case_id: Any, archive: bytes | None, manifest: bytes | None = None, **f: str
) -> dict:
    response = post_import(api, case_id, archive, manifest, **f)
    assert response.status_code == 202, response.get_data(as_text=True)[:500]
    accepted = response.get_json()
    assert accepted["state"] == "previewing" and accepted["job"]["kind"] == "intake.preview"
    run_queued_jobs(app)
    return api.get(f"/imports/{accepted['id']}?per_page=500").get_json()


def run(api: Api, app: Flask, import_id: str) -> dict:
    response = api.post(f"/imports/{import_id}/run")
    assert response.status_code == 202, response.get_data(as_text=True)[:500]
    assert response.get_json()["job"]["kind"] == "intake.run"
    run_queued_jobs(app)
    return api.get(f"/imports/{import_id}?per_page=500").get_json()


@pytest.fixture
def world(
    app: Flask, api_for: Callable[..., tuple[Api, Account]], make_case: Callable[..., uuid.UUID]
) -> tuple[Api, Account, uuid.UUID, dict[str, str]]:
    api, owner = api_for("investigator")
    case_id = make_case(owner, "IMP")
    incidents = {}
    for title in ("Mass grave at the landfill", "مقبرة جماعية في ترهونة"):
        response = api.post(f"/cases/{case_id}/incidents", json={"title": title})
        assert response.status_code == 201
        incidents[title] = response.get_json()["id"]
    witness = api.post(f"/cases/{case_id}/witnesses", json={"full_name": "Name withheld"}).get_json()
    incidents["witness"] = witness["code"]
    return api, owner, case_id, incidents


def two_hundred_rows(incidents: dict[str, str]) -> tuple[bytes, bytes, dict[int, str]]:
    """A ZIP and its manifest: 200 rows, of which the 10 listed (spreadsheet line -> what is wrong) are bad."""
    files: dict[str, bytes] = {}
    rows: list[list[str]] = []
    for i in range(200):
        name = f"batch/exhibit-{i:03d}.txt"
        files[name] = content(i)
        arabic = i % 3 == 0
        rows.append(
            [
                name,
                f"إفادة رقم {i}" if arabic else f"Exhibit {i}",
                "document",
                "وصف باللغة العربية" if arabic else "",
                DATES[i % len(DATES)],
                "فريق الميدان" if arabic else "Field team A",
                "Archive of the Tarhuna families association",
                "under_seal" if i % 7 == 0 else "",
                "مقبرة جماعية في ترهونة"
                if i % 2
                else "Mass grave at the landfill; " + incidents["Mass grave at the landfill"],
                "",
                hashlib.sha256(files[name]).hexdigest() if i % 4 == 0 else "",
            ]
        )
    bad: dict[int, str] = {}

    def spoil(index: int, column: str, value: str, why: str) -> None:
        rows[index][HEADER.index(column)] = value
        bad[index + 2] = why  # the header is line 1

    spoil(10, "collected_at", "31/02/2020", "collected_at")
    spoil(20, "collected_at", "sometime in summer", "collected_at")
    spoil(30, "incidents", "The incident nobody recorded", "No incident")
    spoil(40, "sha256", "0" * 64, "not the declared")
    files["batch/copy-of-5.txt"] = content(5)
    spoil(50, "file", "batch/copy-of-5.txt", "row 7")  # same bytes as row 5 (line 7): a duplicate
    spoil(60, "file", "../../etc/passwd", "plain path")
    spoil(70, "file", "../evil.txt", "plain path")  # a member that climbs out of the archive
    files["../evil.txt"] = b"climbing out"
    spoil(80, "file", "batch/not-in-the-archive.txt", "no file")
    spoil(90, "witness", "W-999", "No witness")
    spoil(100, "classification", "top-secret", "classification")
    rows[120][HEADER.index("witness")] = incidents["witness"]  # a good testimony row
    rows[120][HEADER.index("kind")] = "testimony"
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as z:
        for name, data in files.items():
            z.writestr(name, data)
    manifest = io.StringIO()
    writer = csv.writer(manifest)
    writer.writerow(HEADER)
    writer.writerows(rows)
    return archive.getvalue(), manifest.getvalue().encode("utf-8"), bad


def test_two_hundred_rows_with_ten_errors_create_the_190_good_ones_and_a_second_run_nothing(
    app: Flask, world: tuple[Api, Account, uuid.UUID, dict[str, str]]
) -> None:
    api, _owner, case_id, incidents = world
    archive, manifest, bad = two_hundred_rows(incidents)
    entries = len(ledger(app))

    plan = previewed(api, app, case_id, archive, manifest)
    assert plan["state"] == "previewed", plan["error"]
    assert plan["counts"] == {"create": 190, "duplicate": 1, "refused": 9, "created": 0}
    assert api.get(f"/cases/{case_id}/evidence").get_json()["total"] == 0  # the preview wrote nothing
    assert len(ledger(app)) == entries
    problems = {row["number"]: row for row in plan["rows"] if row["status"] != "create"}
    assert set(problems) == set(bad)
    for number, why in bad.items():
        assert why in problems[number]["reason"], (number, problems[number])
    assert problems[52]["status"] == "duplicate"

    done = run(api, app, plan["id"])
    assert done["state"] == "done"
    assert done["counts"] == {"create": 0, "duplicate": 1, "refused": 9, "created": 190}
    assert api.get(f"/cases/{case_id}/evidence").get_json()["total"] == 190

    created = [row for row in done["rows"] if row["status"] == "created"]
    ingested = [e for e in ledger(app) if e.action == "ingested"]
    assert len(ingested) == 190
    assert {e.details["import"] for e in ingested} == {plan["id"]}
    assert sorted(e.details["import_row"] for e in ingested) == sorted(row["number"] for row in created)

    # What the rows said arrived as written: Arabic text, a month-only date, the incidents, the testimony.
    by_line = {row["number"]: row for row in created}
    item = api.get(f"/evidence/{by_line[2]['target_id']}").get_json()  # row 0: Arabic, ISO date
    assert item["title"] == "إفادة رقم 0" and item["collected_by"] == "فريق الميدان"
    assert item["collected_at"].startswith("2020-06-12") and item["collected_precision"] == "day"
    assert item["classification"] == "under_seal"
    assert {link["target_id"] for link in item["links"]} == {incidents["Mass grave at the landfill"]}
    month = api.get(f"/evidence/{by_line[6]['target_id']}").get_json()  # row 4: "يونيو 2020"
    assert month["collected_at"].startswith("2020-06-01") and month["collected_precision"] == "month"
    year = api.get(f"/evidence/{by_line[8]['target_id']}").get_json()  # row 6: "2020"
    assert year["collected_precision"] == "year"
    assert api.get(f"/evidence/{by_line[122]['target_id']}").get_json()["kind"] == "testimony"

    again = previewed(api, app, case_id, archive, manifest)
    assert again["counts"]["create"] == 0 and again["counts"]["duplicate"] == 191
    assert run(api, app, again["id"])["counts"]["created"] == 0
    assert api.get(f"/cases/{case_id}/evidence").get_json()["total"] == 190
    # The list of imports, newest first, with each import's own counts (counted for the page in one query).
    listed = api.get(f"/cases/{case_id}/imports").get_json()
    assert [(i["id"], i["counts"]["created"], i["counts"]["duplicate"]) for i in listed["items"]] == [
        (again["id"], 0, 191),
        (plan["id"], 190, 1),
    ]


def test_the_report_lists_every_row_and_defuses_formulas(
    app: Flask, world: tuple[Api, Account, uuid.UUID, dict[str, str]]
) -> None:
    api, _owner, case_id, _incidents = world
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("=HYPERLINK(1).txt", b"a formula for a name")
        z.writestr("plain.txt", b"plain")
    plan = previewed(api, app, case_id, archive.getvalue())  # no manifest: every file, titled by its name
    assert plan["counts"]["create"] == 2
    run(api, app, plan["id"])
    response = api.get(f"/imports/{plan['id']}/report")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    text = response.get_data(as_text=True).lstrip("\ufeff")
    lines = list(csv.reader(io.StringIO(text)))
    assert lines[0][:3] == ["row", "status", "reason"]
    assert len(lines) == 3 and all(line[1] == "created" for line in lines[1:])
    assert any(line[3] == "'=HYPERLINK(1).txt" for line in lines[1:])


def test_an_unreadable_manifest_fails_the_import_saying_why(
    app: Flask, world: tuple[Api, Account, uuid.UUID, dict[str, str]]
) -> None:
    api, _owner, case_id, _incidents = world
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("a.txt", b"a")
    plan = previewed(api, app, case_id, archive.getvalue(), b"file,colour\na.txt,red\n")
    assert plan["state"] == "failed" and "colour" in plan["error"]
    assert plan["rows"] == []
    assert api.post(f"/imports/{plan['id']}/run").status_code == 409
    not_a_zip = post_import(api, case_id, b"this is not a zip")
    assert not_a_zip.status_code == 202
    run_queued_jobs(app)
    failed = api.get(f"/imports/{not_a_zip.get_json()['id']}").get_json()
    assert failed["state"] == "failed" and "ZIP" in failed["error"]


def test_bad_requests_are_refused_before_anything_is_kept(
    app: Flask, world: tuple[Api, Account, uuid.UUID, dict[str, str]], api_for: Callable[..., tuple[Api, Account]]
) -> None:
    api, _owner, case_id, _incidents = world
    assert post_import(api, case_id, None).status_code == 422  # no archive
    assert post_import(api, case_id, b"PK", kind="shipments").status_code == 422
    assert post_import(api, case_id, b"PK", date_order="ymd").status_code == 422
    assert post_import(api, case_id, b"PK", colour="red").status_code == 422
    outsider, _ = api_for("investigator")
    assert post_import(outsider, case_id, b"PK").status_code == 404
    plan = previewed(api, app, case_id, _zip({"a.txt": b"a"}))
    assert outsider.get(f"/imports/{plan['id']}").status_code == 404
    assert outsider.post(f"/imports/{plan['id']}/run").status_code == 404
    assert outsider.get(f"/imports/{plan['id']}/report").status_code == 404
    assert api.post(f"/imports/{plan['id']}/discard").get_json()["state"] == "discarded"
    assert api.post(f"/imports/{plan['id']}/run").status_code == 409
    assert api.get(f"/cases/{case_id}/evidence").get_json()["total"] == 0


def test_a_stopped_run_continues_where_it_stopped(
    app: Flask, world: tuple[Api, Account, uuid.UUID, dict[str, str]]
) -> None:
    from casefile.db import session_scope
    from casefile.intake.models import Import, ImportRow, ImportState, RowStatus

    api, _owner, case_id, _incidents = world
    plan = previewed(api, app, case_id, _zip({f"f{i}.txt": f"file {i}".encode() for i in range(5)}))
    done = run(api, app, plan["id"])
    assert done["counts"]["created"] == 5
    # As if the worker had been killed after two rows: three rows still to create, the import back to previewed.
    with app.app_context(), session_scope() as s:
        rows = list(s.query(ImportRow).filter_by(import_id=uuid.UUID(plan["id"])).order_by(ImportRow.number))
        imp = s.get(Import, uuid.UUID(plan["id"]))
        assert imp is not None
        imp.state = ImportState.PREVIEWED
        for row in rows[2:]:
            row.status = RowStatus.CREATE  # their items exist: the run must find them, not make them twice
    again = run(api, app, plan["id"])
    assert again["counts"]["created"] == 2 and again["counts"]["duplicate"] == 3
    assert api.get(f"/cases/{case_id}/evidence").get_json()["total"] == 5


def _zip(files: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        for name, data in files.items():
            z.writestr(name, data)
    return out.getvalue()


def test_the_wizard_previews_then_imports_from_the_pages(
    app: Flask, client: Any, make_user: Callable[..., Account], make_case: Callable[..., uuid.UUID]
) -> None:
    from support import csrf_token, login

    owner = make_user("investigator")
    case_id = make_case(owner, "WIZ")
    login(client, owner)
    page = client.get(f"/cases/{case_id}/imports")
    assert page.status_code == 200
    token = csrf_token(page.get_data(as_text=True))
    archive = _zip(
        {"a.txt": b"first", "b.txt": b"second", "manifest.csv": b"file,title\na.txt,<script>x</script>\nb.txt,B\n"}
    )
    app.config["WTF_CSRF_ENABLED"] = True
    no_csrf = client.post(
        f"/cases/{case_id}/imports", data={"kind": "evidence", "archive": (io.BytesIO(archive), "x.zip")}
    )
    assert no_csrf.status_code == 400
    response = client.post(
        f"/cases/{case_id}/imports",
        data={"csrf_token": token, "kind": "evidence", "date_order": "dmy", "archive": (io.BytesIO(archive), "x.zip")},
    )
    assert response.status_code == 303
    url = response.headers["Location"]
    run_queued_jobs(app)
    preview = client.get(url).get_data(as_text=True)
    assert "Import 2 rows" in preview and "<script>x</script>" not in preview and "&lt;script&gt;" in preview
    assert client.post(url + "/run", data={"csrf_token": token}).status_code == 303
    run_queued_jobs(app)
    done = client.get(url).get_data(as_text=True)
    assert 'data-state="done"' in done and len(re.findall(r'data-row="\d+" data-status="created"', done)) == 2
    assert client.get(url + "/report").status_code == 200
    # The same archive again: its preview finds both files in the case, and the page discards it.
    again = client.post(
        f"/cases/{case_id}/imports",
        data={"csrf_token": token, "kind": "evidence", "date_order": "dmy", "archive": (io.BytesIO(archive), "x.zip")},
    )
    run_queued_jobs(app)
    second = again.headers["Location"]
    assert len(re.findall(r'data-row="\d+" data-status="duplicate"', client.get(second).get_data(as_text=True))) == 2
    assert client.post(second + "/discard", data={"csrf_token": token}).status_code == 303
    assert 'data-state="discarded"' in client.get(second).get_data(as_text=True)
    empty = client.post(f"/cases/{case_id}/imports", data={"csrf_token": token, "kind": "evidence"})
    assert empty.status_code == 422 and "ZIP" in empty.get_data(as_text=True)


def test_damaged_and_explosive_archive_members_are_refused_per_row(
    app: Flask, world: tuple[Api, Account, uuid.UUID, dict[str, str]]
) -> None:
    api, _owner, case_id, _incidents = world
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("bomb.bin", b"\0" * (64 << 20))  # 64 MiB of zeros in about 64 KiB
        z.writestr("damaged.txt", b"the witness said " * 4000)
        z.writestr("good.txt", b"a good statement")
    data = bytearray(out.getvalue())
    # Flip a byte inside damaged.txt's compressed data: its CRC no longer matches what the archive says.
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as z:
        info = z.getinfo("damaged.txt")
    start = info.header_offset + 30 + len(info.filename) + len(info.extra)
    data[start + info.compress_size // 2] ^= 0xFF
    plan = previewed(api, app, case_id, bytes(data))
    reasons = {row["file"]: (row["status"], row["reason"]) for row in plan["rows"]}
    assert reasons["good.txt"][0] == "create"
    assert reasons["bomb.bin"][0] == "refused" and "decompression bomb" in reasons["bomb.bin"][1]
    assert reasons["damaged.txt"][0] == "refused" and "damaged" in reasons["damaged.txt"][1]
    assert run(api, app, plan["id"])["counts"]["created"] == 1
