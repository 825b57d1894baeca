"""Incidents and actors from a spreadsheet (XLSX or CSV), and the command line's import of a folder."""

from __future__ import annotations

import io
import uuid
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import openpyxl
import pytest
from flask import Flask
from test_imports import previewed, run

from support import Account, Api, ledger


def xlsx(rows: list[list[object]]) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


@pytest.fixture
def team(
    api_for: Callable[..., tuple[Api, Account]], make_case: Callable[..., uuid.UUID]
) -> tuple[Api, Account, uuid.UUID]:
    api, owner = api_for("investigator")
    return api, owner, make_case(owner, "SHEET")


def test_incidents_from_xlsx_with_dates_as_people_write_them(app: Flask, team: tuple[Api, Account, uuid.UUID]) -> None:
    api, _owner, case_id = team
    sheet = xlsx(
        [
            ["Title", "Start date", "End date", "Place", "Latitude", "Longitude", "Violation types", "Victims"],
            ["Mass grave at the landfill", datetime(2020, 6, 5), "", "Tarhuna", 32.43, 13.63, "", 12],
            ["مقبرة جماعية في ترهونة", "يونيو 2020", "", "ترهونة", "", "", "", ""],
            ["Disappearances", "2019", "2020", "", "", "", "", ""],
            ["", "2020-01-01", "", "", "", "", "", ""],  # no title
            ["Shelling", "2020-13-01", "", "", "", "", "", ""],  # no 13th month
            ["Only a latitude", "", "", "", 32.4, "", "", ""],
        ]
    )
    plan = previewed(api, app, case_id, None, sheet, kind="incidents", manifest_name="incidents.xlsx")
    assert plan["state"] == "previewed", plan["error"]
    assert plan["counts"] == {"create": 3, "duplicate": 0, "refused": 3, "created": 0}
    reasons = {row["number"]: row["reason"] for row in plan["rows"] if row["status"] == "refused"}
    assert "title" in reasons[5] and "start_date" in reasons[6] and "longitude" in reasons[7]
    run(api, app, plan["id"])
    incidents = {i["title"]: i for i in api.get(f"/cases/{case_id}/incidents").get_json()["items"]}
    assert incidents["مقبرة جماعية في ترهونة"]["start_date"] == "2020-06-01"
    assert incidents["مقبرة جماعية في ترهونة"]["date_precision"] == "month"
    assert incidents["Mass grave at the landfill"]["victim_count"] == 12
    assert incidents["Disappearances"]["date_precision"] == "year"
    again = previewed(api, app, case_id, None, sheet, kind="incidents", manifest_name="incidents.xlsx")
    assert again["counts"]["create"] == 0 and again["counts"]["duplicate"] == 3


def test_actors_with_aliases_in_any_script_and_no_duplicates(app: Flask, team: tuple[Api, Account, uuid.UUID]) -> None:
    api, _owner, case_id = team
    sheet = (
        "kind,name,aliases,description\n"
        "person,Mohamed al-Kani,محمد الكاني; Mohammed Kani,Leader of the Kaniyat\n"
        "armed_group,Kaniyat,الكانيات; al-Kaniyat; 7th Brigade,\n"
        "person,Mohammed al Kani,,Same man spelled otherwise\n"
        "warlord,Someone,,\n"
    ).encode()
    plan = previewed(api, app, case_id, None, sheet, kind="actors")
    assert plan["counts"] == {"create": 2, "duplicate": 1, "refused": 1, "created": 0}
    done = run(api, app, plan["id"])
    assert done["counts"]["created"] == 2
    actors = {a["name"]: a for a in api.get(f"/cases/{case_id}/actors").get_json()["items"]}
    assert actors["Kaniyat"]["aliases"] == ["الكانيات", "al-Kaniyat", "7th Brigade"]
    assert previewed(api, app, case_id, None, sheet, kind="actors")["counts"]["create"] == 0


def test_a_manifest_in_legacy_arabic_windows_encoding_is_read(app: Flask, team: tuple[Api, Account, uuid.UUID]) -> None:
    api, _owner, case_id = team
    sheet = "title;place_name\nمقبرة جماعية;ترهونة\n".encode("cp1256")
    plan = previewed(api, app, case_id, None, sheet, kind="incidents")
    assert plan["counts"]["create"] == 1 and plan["rows"][0]["label"] == "مقبرة جماعية"


def test_the_command_line_imports_a_folder_after_its_preview(
    app: Flask, team: tuple[Api, Account, uuid.UUID], tmp_path: Path
) -> None:
    api, owner, case_id = team
    folder = tmp_path / "drive"
    (folder / "photos").mkdir(parents=True)
    (folder / "photos" / "grave.txt").write_bytes(b"a photo, as text")
    (folder / "notes.txt").write_bytes(b"notes")
    (folder / "manifest.csv").write_text(
        "file,title,collected_at\nphotos/grave.txt,Grave,12/06/2020\nnotes.txt,Notes,06/2020\nmissing.txt,Gone,\n",
        encoding="utf-8",
    )
    (tmp_path / "secret.txt").write_bytes(b"outside the folder")
    (folder / "link.txt").symlink_to(tmp_path / "secret.txt")
    runner = app.test_cli_runner()
    args = ["import", "evidence", "SHEET", str(folder), "--user", owner.email]
    preview = runner.invoke(args=[*args, "--preview-only"])
    assert preview.exit_code == 0, preview.output
    assert "2 create" in preview.output and "row 4: refused" in preview.output
    assert api.get(f"/cases/{case_id}/evidence").get_json()["total"] == 0
    result = runner.invoke(args=[*args, "--yes"])
    assert result.exit_code == 0, result.output
    items = api.get(f"/cases/{case_id}/evidence").get_json()["items"]
    assert sorted(i["title"] for i in items) == ["Grave", "Notes"]
    assert not any("outside" in i["title"] for i in items)
    assert {e.details.get("import") for e in ledger(app) if e.action == "ingested"} != {None}
    again = runner.invoke(args=[*args, "--yes"])
    assert again.exit_code == 0 and "Nothing was created" in again.output
    unknown = runner.invoke(args=[*args, "--yes", "--user", "nobody@example.org"])
    assert unknown.exit_code != 0 and "No active user" in unknown.output
