"""Dossiers over the JSON API and through the web wizard, and `flask dossier verify` on what was downloaded.

API responses are checked against the schemas their routes declare in casefile.api.core.OPERATIONS (the
OpenAPI document is built from them): the success schema for the declared status, sc.ERROR for an error, and
the error's status among the declared ones.
"""

from __future__ import annotations

import hashlib
import re
import uuid
import zipfile
from collections.abc import Callable
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from casefile.api import schemas as sc
from casefile.api.openapi import op_content_type
from casefile.custody.actions import Action
from casefile.custody.signing import key_id
from casefile.db import session_scope
from casefile.dossier.models import Dossier

from support import (
    Account,
    Api,
    approve_release,
    case_for_a_dossier,
    flip_blob_byte,
    ledger,
    load_demo,
    login,
    operation_for,
    run_queued_jobs,
    upload,
    validate,
)

PREFIX = "/api/v1"
ICC = "icc-otp-art15"
HASH = re.compile(r"[0-9a-f]{64}")


# --- helpers ---------------------------------------------------------------------------------------------------


def checked(app: Flask, method: str, path: str, response: Any, status: int) -> Any:
    """Assert the status, and that the JSON body matches the route's declared schema (or the error schema)."""
    assert response.status_code == status, (method, path, response.status_code, response.get_data(as_text=True)[:500])
    op = operation_for(app, method, path)
    assert response.is_json, (method, path, response.status_code, response.get_data(as_text=True)[:300])
    body = response.get_json()
    if status >= 400:
        assert status in op.errors, f"{method} {path}: {status} is not a declared error ({op.errors})"
        validate(sc.ERROR, body)
    else:
        assert status == op.status, f"{method} {path}: {status}, declared {op.status}"
        assert op.response is not None
        validate(sc.page_of(op.response) if op.paginated else op.response, body)
    return body


def api_call(app: Flask, api: Api, method: str, path: str, status: int, json: Any = None) -> Any:
    response = getattr(api, method.lower())(path, json=json) if json is not None else getattr(api, method.lower())(path)
    return checked(app, method, path, response, status)


def build_via_api(app: Flask, api: Api, case_id: Any, body: dict[str, Any]) -> dict[str, Any]:
    """POST a build (202: the dossier, building, and its job), check that nothing can be downloaded yet, run the
    job in this process, and return the dossier as GET /dossiers/{id} shows it then."""
    accepted = api_call(app, api, "POST", f"/cases/{case_id}/dossiers", 202, body)
    assert accepted["status"] == "building" and accepted["sha256"] is None and accepted["size"] is None
    assert accepted["job"]["id"] == accepted["job_id"] and accepted["job"]["kind"] == "dossier.build"
    assert accepted["job"]["state"] == "queued"
    response = api.get(f"/dossiers/{accepted['id']}/download")
    refused = checked(app, "GET", f"/dossiers/{accepted['id']}/download", response, 409)
    assert "still being built" in refused["error"]["message"]
    run_queued_jobs(app)
    dossier = api_call(app, api, "GET", f"/dossiers/{accepted['id']}", 200)
    assert dossier["status"] == "ready", dossier["error"]
    job = api_call(app, api, "GET", f"/jobs/{accepted['job_id']}", 200)
    assert job["state"] == "succeeded" and job["result"]["dossier_id"] == dossier["id"]
    assert job["progress"]["done"] == job["progress"]["total"] == len(dossier["included"]) + 2
    # Built, not yet released: a second legal member approves it before anyone downloads it.
    assert dossier["released"] is False and dossier["approved_at"] is None
    waiting = checked(
        app, "GET", f"/dossiers/{dossier['id']}/download", api.get(f"/dossiers/{dossier['id']}/download"), 409
    )
    assert "awaits approval by a second legal member" in waiting["error"]["message"]
    approve_release(app, dossier["id"])
    dossier = api_call(app, api, "GET", f"/dossiers/{dossier['id']}", 200)
    assert dossier["released"] is True and dossier["approved_by_id"]
    return dossier


def dossier_count(app: Flask) -> int:
    with app.app_context(), session_scope() as s:
        return s.scalar(select(func.count()).select_from(Dossier)) or 0


def flip_member(source: Path, target: Path, suffix: str) -> None:
    """A copy of the ZIP with one byte of the member ending in ``suffix`` inverted."""
    with zipfile.ZipFile(source) as src, zipfile.ZipFile(target, "w") as out:
        for info in src.infolist():
            data = src.read(info)
            if info.filename.endswith(suffix):
                changed = bytearray(data)
                changed[len(changed) // 2] ^= 0x01
                data = bytes(changed)
            out.writestr(info, data, compress_type=info.compress_type)


def demo_statement_erns(app: Flask, api: Api, case_id: uuid.UUID) -> dict[str, str]:
    """{witness code: ERN of their statement}."""
    witnesses = api_call(app, api, "GET", f"/cases/{case_id}/witnesses", 200)["items"]
    erns = {}
    for witness in witnesses:
        (statement,) = api_call(app, api, "GET", f"/witnesses/{witness['id']}", 200)["statements"]
        erns[witness["code"]] = statement["ern"]
    return erns


# --- the API, and the CLI verifier on what it downloaded ---------------------------------------------------------


def test_api_preview_build_get_list_and_download(
    app: Flask,
    api_for: Callable[..., tuple[Api, Account]],
    add_member: Callable[..., None],
    tmp_path: Path,
) -> None:
    case_id = load_demo(app)
    api, investigator = api_for("investigator")
    reviewer_api, reviewer = api_for("investigator")
    outsider_api, _ = api_for("investigator")
    add_member(case_id, investigator, "investigator")
    add_member(case_id, reviewer, "reviewer")
    statements = demo_statement_erns(app, api, case_id)

    # Preview: what would go, what would not and why; nothing is written.
    before = len(ledger(app))
    plan = api_call(app, api, "POST", f"/cases/{case_id}/dossiers/preview", 200, {"profile": ICC})
    assert plan["profile"]["code"] == ICC
    assert statements["W-0001"] in {i["ern"] for i in plan["included"]}
    (refused,) = [e for e in plan["excluded"] if e["ern"] == statements["W-0002"]]
    assert any("refused" in r and "sharing with the ICC" in r for r in refused["reasons"]), refused
    assert len(ledger(app)) == before and dossier_count(app) == 0

    # Building needs write access: a reviewer may not, an outsider does not even see the case.
    api_call(app, reviewer_api, "POST", f"/cases/{case_id}/dossiers", 403, {"profile": ICC, "title": "x"})
    api_call(app, outsider_api, "POST", f"/cases/{case_id}/dossiers", 404, {"profile": ICC, "title": "x"})
    api_call(app, outsider_api, "POST", f"/cases/{case_id}/dossiers/preview", 404, {"profile": ICC})
    assert len(ledger(app)) == before and dossier_count(app) == 0

    title = "Tarhouna — article 15 communication (ترهونة)"
    dossier = build_via_api(app, api, case_id, {"profile": ICC, "title": title})
    assert dossier["title"] == title and dossier["profile"] == ICC and dossier["case_id"] == str(case_id)
    assert HASH.fullmatch(dossier["sha256"])
    assert [i["ern"] for i in dossier["included"]] == [i["ern"] for i in plan["included"]]
    assert [e["ern"] for e in dossier["excluded"]] == [e["ern"] for e in plan["excluded"]]

    fetched = api_call(app, api, "GET", f"/dossiers/{dossier['id']}", 200)
    assert fetched == dossier
    listed = api_call(app, api, "GET", f"/cases/{case_id}/dossiers", 200)
    assert [d["id"] for d in listed["items"]] == [dossier["id"]] and listed["total"] == 1

    # Download: exactly the stored ZIP, as an attachment, and recorded in the ledger.
    for who, client_api in (("investigator", api), ("reviewer", reviewer_api)):
        size = len(ledger(app))
        response = client_api.get(f"/dossiers/{dossier['id']}/download")
        assert response.status_code == 200, (who, response.get_data(as_text=True)[:300])
        assert response.is_streamed and response.content_length == dossier["size"]
        data = response.get_data()
        assert hashlib.sha256(data).hexdigest() == dossier["sha256"], who
        assert len(data) == dossier["size"]
        assert response.headers["Content-Disposition"] == f'attachment; filename="{dossier["bag_name"]}.zip"'
        assert zipfile.is_zipfile(BytesIO(data))
        entry, ended = ledger(app)[size:]
        assert (ended.action, ended.details["bytes_sent"]) == (Action.DOWNLOAD_COMPLETED, dossier["size"])
        assert entry.action == Action.DOWNLOADED and entry.evidence_id is None and entry.case_id == case_id
        assert entry.details["dossier"] == dossier["id"]
        assert entry.details["dossier_sha256"] == dossier["sha256"]
        assert entry.actor == f"user:{(investigator if who == 'investigator' else reviewer).id}"

        downloaded = data

    # What was downloaded verifies with `flask dossier verify`; one flipped byte anywhere does not.
    path = tmp_path / f"{dossier['bag_name']}.zip"
    path.write_bytes(downloaded)
    runner = app.test_cli_runner()
    result = runner.invoke(args=["dossier", "verify", str(path)])
    assert result.exit_code == 0, result.output
    assert "VERIFIED:" in result.output and "NOT VERIFIED" not in result.output and "PROBLEM" not in result.output
    instance_key = key_id(app.extensions["casefile_key"].private)
    result = runner.invoke(args=["dossier", "verify", str(path), "--key-id", instance_key])
    assert result.exit_code == 0 and "VERIFIED:" in result.output, result.output
    result = runner.invoke(args=["dossier", "verify", str(path), "--key-id", "0" * 64])
    assert result.exit_code == 1 and "NOT VERIFIED" in result.output, result.output
    statement_file = f"data/evidence/{statements['W-0001']}.txt"
    for suffix in ("data/dossier.json", "data/dossier.pdf", statement_file, "tagmanifest-sha256.txt.sig"):
        tampered = tmp_path / f"tampered-{suffix.replace('/', '_')}.zip"
        flip_member(path, tampered, suffix)
        result = runner.invoke(args=["dossier", "verify", str(tampered)])
        assert result.exit_code == 1, (suffix, result.output)
        assert "NOT VERIFIED" in result.output and "PROBLEM" in result.output, suffix

    # Someone outside the case learns nothing about the dossier, and nothing is recorded for them.
    size = len(ledger(app))
    api_call(app, outsider_api, "GET", f"/dossiers/{dossier['id']}", 404)
    response = outsider_api.get(f"/dossiers/{dossier['id']}/download")
    checked(app, "GET", f"/dossiers/{dossier['id']}/download", response, 404)
    api_call(app, outsider_api, "GET", f"/cases/{case_id}/dossiers", 404)
    assert len(ledger(app)) == size


def test_api_download_has_the_declared_media_type(
    app: Flask, api_for: Callable[..., tuple[Api, Account]], make_case: Callable[..., uuid.UUID]
) -> None:
    """GET /dossiers/{id}/download declares application/zip in the OpenAPI document; the response must say the
    same (it said application/octet-stream)."""
    api, owner = api_for("investigator")
    case_id = make_case(owner, "MEDIA")
    item = upload(api, case_id, b"an exhibit\n", "exhibit.txt")
    dossier = build_via_api(app, api, case_id, {"profile": ICC, "evidence_ids": [item["id"]]})
    path = f"/dossiers/{dossier['id']}/download"
    response = api.get(path)
    response.close()  # the streamed file: only the headers matter here
    assert response.status_code == 200
    assert response.mimetype == op_content_type(operation_for(app, "GET", path))


def test_api_refuses_bad_dossier_requests_before_writing_anything(
    app: Flask, api_for: Callable[..., tuple[Api, Account]], make_case: Callable[..., uuid.UUID]
) -> None:
    api, owner = api_for("investigator")
    other_api, other = api_for("investigator")
    case_id = make_case(owner, "ALPHA")
    other_case = make_case(other, "BRAVO")
    items = [upload(api, case_id, f"exhibit {n}\n".encode(), f"exhibit-{n}.txt") for n in range(2)]
    foreign = upload(other_api, other_case, b"another case's exhibit\n", "foreign.txt")
    ids = [i["id"] for i in items]
    before = len(ledger(app))
    create, preview = f"/cases/{case_id}/dossiers", f"/cases/{case_id}/dossiers/preview"

    body = api_call(app, api, "POST", create, 422, {"profile": "no-such-profile", "evidence_ids": ids})
    assert "profile" in body["error"]["message"].lower()
    api_call(app, api, "POST", preview, 422, {"profile": "no-such-profile"})
    api_call(app, api, "POST", create, 422, {"evidence_ids": ids})  # no profile at all
    api_call(app, api, "POST", create, 422, {"profile": ICC, "evidence_ids": [*ids, foreign["id"]]})
    api_call(app, api, "POST", preview, 422, {"profile": ICC, "evidence_ids": [foreign["id"]]})
    api_call(app, api, "POST", create, 422, {"profile": ICC, "evidence_ids": ["not-a-uuid"]})
    api_call(app, api, "POST", create, 422, {"profile": ICC, "evidence_ids": ids[0]})
    api_call(app, api, "POST", create, 422, {"profile": ICC, "surprise": True})
    # The other case's investigator cannot build from this case either.
    api_call(app, other_api, "POST", create, 404, {"profile": ICC, "evidence_ids": ids})

    # Every item secret: the profile allows nothing, so nothing is built.
    for item in items:
        response = api.patch(f"/evidence/{item['id']}", json={"classification": "secret"})
        assert response.status_code == 200, response.get_data(as_text=True)[:300]
    after_patch = len(ledger(app))
    plan = api_call(app, api, "POST", preview, 200, {"profile": ICC, "evidence_ids": ids})
    assert plan["included"] == []
    assert all(any("secret" in r for r in e["reasons"]) for e in plan["excluded"]) and len(plan["excluded"]) == 2
    body = api_call(app, api, "POST", create, 422, {"profile": ICC, "title": "Nothing", "evidence_ids": ids})
    assert "Nothing may be included" in body["error"]["message"]

    new = ledger(app)[before:]
    assert len(new) == after_patch - before
    assert not [e for e in new if e.action == Action.EXPORTED]
    assert dossier_count(app) == 0


def test_api_build_fails_whole_when_a_stored_file_was_altered(
    app: Flask, api_for: Callable[..., tuple[Api, Account]], make_case: Callable[..., uuid.UUID]
) -> None:
    api, owner = api_for("investigator")
    case_id = make_case(owner, "ALPHA")
    items = [upload(api, case_id, f"exhibit {n}\n".encode() * 1000, f"exhibit-{n}.txt") for n in range(3)]
    flip_blob_byte(app, items[1]["sha256"])
    create = f"/cases/{case_id}/dossiers"

    accepted = api_call(app, api, "POST", create, 202, {"profile": ICC, "evidence_ids": [i["id"] for i in items]})
    (job_id,) = run_queued_jobs(app)
    # The job fails at once (trying again would find the same file), naming the item and what to do; the dossier
    # is failed with that reason and offers nothing to download.
    job = api_call(app, api, "GET", f"/jobs/{job_id}", 200)
    assert job["state"] == "failed" and job["attempts"] == 1
    assert items[1]["ern"] in job["error"] and "custody verify" in job["error"]
    dossier = api_call(app, api, "GET", f"/dossiers/{accepted['id']}", 200)
    assert dossier["status"] == "failed" and dossier["error"] == job["error"] and dossier["sha256"] is None
    response = api.get(f"/dossiers/{accepted['id']}/download")
    assert "could not be built" in checked(app, "GET", "/dossiers/x/download", response, 409)["error"]["message"]
    # The items were recorded as exported before the files streamed; the ledger says the dossier was never made.
    exported, failed = [e for e in ledger(app) if e.action == Action.EXPORTED], ledger(app)[-1]
    assert len(exported) == 3 and {e.details["dossier"] for e in exported} == {accepted["id"]}
    assert failed.action == Action.NOTE and failed.details["dossier"] == accepted["id"]
    assert items[1]["ern"] in failed.details["build_failed"]

    # The PDF worker of the failed build does not get in the way of the next one.
    intact = [items[0]["id"], items[2]["id"]]
    built = build_via_api(app, api, case_id, {"profile": ICC, "evidence_ids": intact})
    assert [i["ern"] for i in built["included"]] == [items[0]["ern"], items[2]["ern"]]
    assert dossier_count(app) == 2


# --- the web wizard ----------------------------------------------------------------------------------------------


def test_web_wizard_previews_builds_lists_and_downloads(
    app: Flask,
    client: FlaskClient,
    make_user: Callable[..., Account],
    add_member: Callable[..., None],
    api_for: Callable[..., tuple[Api, Account]],
) -> None:
    case_id = load_demo(app)
    investigator = make_user("investigator")
    add_member(case_id, investigator)
    api, _ = api_for(account=investigator)
    statements = demo_statement_erns(app, api, case_id)
    evidence = api_call(app, api, "GET", f"/cases/{case_id}/evidence?per_page=200", 200)["items"]
    by_ern = {e["ern"]: e for e in evidence}
    login(client, investigator)

    page = client.get(f"/cases/{case_id}/dossiers")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "No dossier has been built for this case." in html
    assert f'action="/cases/{case_id}/dossiers/preview"' in html
    for code in (ICC, "un-panel-libya", "us-treasury-glomag", "eu-ghr", "generic"):
        assert f'value="{code}"' in html

    chosen = [by_ern[statements["W-0001"]]["id"], by_ern[statements["W-0002"]]["id"]]
    chosen += [e["id"] for e in evidence if e["title"] == "Field note on detentions at the prison"]
    title = "Tarhouna — web referral"
    preview = client.post(
        f"/cases/{case_id}/dossiers/preview", data={"profile": ICC, "title": title, "evidence_ids": chosen}
    )
    assert preview.status_code == 200, preview.get_data(as_text=True)[:500]
    html = preview.get_data(as_text=True)
    included_table = html.split('id="included"', 1)[1].split("</table>", 1)[0]
    excluded_table = html.split('id="excluded"', 1)[1].split("</table>", 1)[0]
    assert statements["W-0001"] in included_table and statements["W-0002"] not in included_table
    assert statements["W-0002"] in excluded_table and "refused consent to sharing with the ICC" in excluded_table
    assert f'action="/cases/{case_id}/dossiers"' in html
    hidden = re.findall(r'<input type="hidden" name="evidence_ids" value="([^"]+)">', html)
    allowed = [chosen[0], *chosen[2:]]
    assert set(allowed) <= set(hidden) <= set(chosen)

    built = client.post(f"/cases/{case_id}/dossiers", data={"profile": ICC, "title": title, "evidence_ids": hidden})
    assert built.status_code == 302, built.get_data(as_text=True)[:500]
    match = re.fullmatch(r"/dossiers/([0-9a-f-]{36})", built.headers["Location"])
    assert match, built.headers["Location"]
    dossier_id = match.group(1)
    # Until its job has run, the page follows the build (the job's live progress) and offers no download.
    building = client.get(built.headers["Location"]).get_data(as_text=True)
    assert 'data-status="building"' in building and 'id="job"' in building and "jobs.js" in building
    assert f"/dossiers/{dossier_id}/download" not in building
    assert client.get(f"/dossiers/{dossier_id}/download").status_code == 409
    run_queued_jobs(app)
    with app.app_context(), session_scope() as s:
        dossier = s.get(Dossier, uuid.UUID(dossier_id))
        assert dossier is not None
        sha256, bag_name, size = dossier.sha256, dossier.bag_name, dossier.size
        assert dossier.title == title and dossier.profile == ICC
        assert sorted(i["ern"] for i in dossier.included) == sorted(e["ern"] for e in evidence if e["id"] in allowed)
        # The refused statement never goes; if the form sent it back, the dossier records why it was left out.
        refused = [e for e in dossier.excluded if e["ern"] == statements["W-0002"]]
        assert len(refused) == (chosen[1] in hidden)
        assert all("refused" in " ".join(e["reasons"]) for e in refused)

    # Built: it waits for a second legal member; its builder is told so and may not approve it.
    waiting = client.get(built.headers["Location"]).get_data(as_text=True)
    assert 'data-status="ready"' in waiting and 'id="dossier-approval"' in waiting and 'id="dossier-self"' in waiting
    assert f"/dossiers/{dossier_id}/download" not in waiting
    assert client.get(f"/dossiers/{dossier_id}/download").status_code == 409
    approve_release(app, dossier_id)
    shown = client.get(built.headers["Location"])
    assert shown.status_code == 200
    html = shown.get_data(as_text=True)
    assert 'data-status="ready"' in html and f"/dossiers/{dossier_id}/download" in html and "jobs.js" not in html
    assert 'id="dossier-approved"' in html and 'id="dossier-approval"' not in html
    assert sha256 in html and title in html and f"{bag_name}.zip" in html
    listing = client.get(f"/cases/{case_id}/dossiers").get_data(as_text=True)
    table = listing.split('id="dossiers"', 1)[1].split("</table>", 1)[0]
    assert sha256 in table and title in table and f"/dossiers/{dossier_id}" in table

    before = len(ledger(app))
    download = client.get(f"/dossiers/{dossier_id}/download")
    assert download.status_code == 200
    assert download.headers["Content-Disposition"] == f'attachment; filename="{bag_name}.zip"'
    data = download.get_data()
    assert len(data) == size and hashlib.sha256(data).hexdigest() == sha256
    entry, ended = ledger(app)[before:]
    assert entry.action == Action.DOWNLOADED and entry.details["dossier"] == dossier_id
    assert ended.action == Action.DOWNLOAD_COMPLETED
    assert ended.details == {"dossier": dossier_id, "started": entry.seq, "bytes_sent": size, "size": size}


def test_web_dossiers_respect_case_roles(
    app: Flask,
    client: FlaskClient,
    make_user: Callable[..., Account],
    add_member: Callable[..., None],
    api_for: Callable[..., tuple[Api, Account]],
    make_case: Callable[..., uuid.UUID],
) -> None:
    api, owner = api_for("investigator")
    case_id = make_case(owner, "ROLES")
    item = upload(api, case_id, b"an exhibit\n", "exhibit.txt")
    dossier = build_via_api(app, api, case_id, {"profile": ICC, "evidence_ids": [item["id"]]})
    reviewer, outsider = make_user("investigator"), make_user("investigator")
    add_member(case_id, reviewer, "reviewer")
    form = {"profile": ICC, "title": "x", "evidence_ids": [item["id"]]}

    login(client, reviewer)
    assert client.get(f"/cases/{case_id}/dossiers").status_code == 200
    assert dossier["sha256"] in client.get(f"/dossiers/{dossier['id']}").get_data(as_text=True)
    assert client.post(f"/cases/{case_id}/dossiers", data=form).status_code == 403
    download = client.get(f"/dossiers/{dossier['id']}/download")
    assert download.status_code == 200 and hashlib.sha256(download.get_data()).hexdigest() == dossier["sha256"]
    assert download.headers["Content-Disposition"] == f'attachment; filename="{dossier["bag_name"]}.zip"'

    client = app.test_client()
    login(client, outsider)
    before = len(ledger(app))
    for path in (f"/cases/{case_id}/dossiers", f"/dossiers/{dossier['id']}", f"/dossiers/{dossier['id']}/download"):
        assert client.get(path).status_code == 404, path
    assert client.post(f"/cases/{case_id}/dossiers/preview", data=form).status_code == 404
    assert client.post(f"/cases/{case_id}/dossiers", data=form).status_code == 404
    assert len(ledger(app)) == before
    assert dossier_count(app) == 1


@pytest.mark.parametrize("profile", ["no-such-profile", ""], ids=["unknown", "empty"])
def test_web_build_with_an_unknown_profile_builds_nothing(
    app: Flask,
    client: FlaskClient,
    logged_in: Callable[..., Account],
    api_for: Callable[..., tuple[Api, Account]],
    make_case: Callable[..., uuid.UUID],
    profile: str,
) -> None:
    account = logged_in("investigator")
    api, _ = api_for(account=account)
    case_id = make_case(account, "WEB")
    item = upload(api, case_id, b"an exhibit\n", "exhibit.txt")
    before = len(ledger(app))
    form = {"profile": profile, "title": "x", "evidence_ids": [item["id"]]}
    preview = client.post(f"/cases/{case_id}/dossiers/preview", data=form)
    assert preview.status_code == 422
    assert "Unknown dossier profile" in preview.get_data(as_text=True)
    built = client.post(f"/cases/{case_id}/dossiers", data=form, follow_redirects=True)
    assert built.status_code == 200
    assert "Unknown dossier profile" in built.get_data(as_text=True)
    assert len(ledger(app)) == before and dossier_count(app) == 0


def test_an_arabic_dossier_has_arabic_headings(app, api_for, tmp_path) -> None:
    """Issue 8: the PDF's headings follow the dossier's chosen language."""
    import subprocess
    import zipfile

    from casefile.dossier.models import Dossier

    api, _account = api_for("legal")
    case = case_for_a_dossier(api, "ARB")  # one public item linked to an incident (it asserts the upload's 201)
    built = api.post(f"/cases/{case['id']}/dossiers", json={"profile": "generic", "language": "ar"})
    assert built.status_code == 202, built.get_data(as_text=True)
    run_queued_jobs(app)
    assert api.post(f"/cases/{case['id']}/dossiers", json={"profile": "generic", "language": "xx"}).status_code == 422
    with app.app_context():
        from casefile.db import session_scope

        with session_scope() as s:
            sha = s.get(Dossier, uuid.UUID(built.get_json()["id"])).sha256
        zip_path = tmp_path / "d.zip"
        with app.extensions["casefile_blobs"].open(sha) as fp:
            zip_path.write_bytes(fp.read())
    with zipfile.ZipFile(zip_path) as zf:
        pdf = next(n for n in zf.namelist() if n.endswith("data/dossier.pdf"))
        (tmp_path / "d.pdf").write_bytes(zf.read(pdf))
    text = subprocess.run(
        ["pdftotext", str(tmp_path / "d.pdf"), "-"], capture_output=True, text=True, check=True
    ).stdout
    # pdftotext wraps right-to-left runs in invisible direction marks.
    text = re.sub("[\u200e\u200f\u202a-\u202e\u2066-\u2069]", "", text)
    # (pdftotext also swaps the letters of the lam-alef ligature, so match words without one.)
    assert "فهرس" in text  # "Evidence index"
    assert "الملف التعريفي" in text  # "Profile"
    assert "صفحة" in text  # "Page", of the running page label set in CSS
    assert "Evidence index" not in text and "Page 2 of" not in text
