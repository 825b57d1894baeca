"""Near-duplicate images: real transformations of the test photos (re-encoded at low quality, resized, cropped by
10 %, mirrored, watermarked) are each found as candidates of their original, and unrelated photos are not; a
person's decision is kept and written to both custody trails."""

from __future__ import annotations

import io
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from PIL import Image, ImageDraw, ImageOps

from support import PHOTOS, Account, Api, ledger

NAMES = ("DSCN0010.jpg", "DSCN0021.jpg", "Canon_40D.jpg", "landscape_6.jpg")


def jpeg(image: Image.Image, quality: int = 90) -> bytes:
    out = io.BytesIO()
    image.convert("RGB").save(out, "JPEG", quality=quality)
    return out.getvalue()


def variants(path: Any) -> dict[str, bytes]:
    with Image.open(path) as opened:
        image = ImageOps.exif_transpose(opened)
    w, h = image.size
    marked = image.copy()
    draw = ImageDraw.Draw(marked)
    draw.text((w // 10, h // 2), "CONFIDENTIAL - DO NOT SHARE " * 3, fill=(255, 255, 255))
    draw.rectangle((0, h - h // 10, w, h), fill=(0, 0, 0))  # a banner over the bottom tenth
    return {
        "reencoded": jpeg(image, quality=25),
        "resized": jpeg(image.resize((w // 3, h // 3))),
        "cropped": jpeg(image.crop((w * 5 // 100, h * 5 // 100, w * 95 // 100, h * 95 // 100))),
        "mirrored": jpeg(ImageOps.mirror(image)),
        "watermarked": jpeg(marked),
    }


def post(api: Api, case_id: Any, content: bytes, name: str) -> dict[str, Any]:
    response = api.post(
        f"/cases/{case_id}/evidence",
        data={"file": (io.BytesIO(content), name), "title": name},
        content_type="multipart/form-data",
    )
    response.request.input_stream.close()
    assert response.status_code == 201, response.get_data(as_text=True)[:300]
    return response.get_json()


@pytest.fixture
def photos(
    app: Flask, api_for: Callable[..., tuple[Api, Account]], make_case: Callable[..., uuid.UUID]
) -> tuple[Api, uuid.UUID, dict[str, dict[str, Any]], dict[tuple[str, str], dict[str, Any]]]:
    api, owner = api_for("investigator")
    case_id = make_case(owner, "SIM")
    originals = {name: post(api, case_id, (PHOTOS / name).read_bytes(), name) for name in NAMES}
    copies = {
        (name, how): post(api, case_id, data, f"{how}-{name}")
        for name in NAMES
        for how, data in variants(PHOTOS / name).items()
    }
    return api, case_id, originals, copies


def test_each_transformation_is_a_candidate_of_its_original_and_unrelated_photos_are_not(photos: Any) -> None:
    api, _case_id, originals, copies = photos
    for (name, how), copy in copies.items():
        found = {c["id"]: c for c in api.get(f"/evidence/{copy['id']}/similar").get_json()["items"]}
        assert originals[name]["id"] in found, (name, how)
        unrelated = {originals[other]["id"] for other in NAMES if other != name}
        assert not unrelated & set(found), (name, how, [found[i] for i in unrelated & set(found)])
        candidate = found[originals[name]["id"]]
        assert candidate["same"] is None
        assert candidate["pdq_distance"] <= 48 or candidate["phash_distance"] <= 12
    for name, original in originals.items():
        found = {c["id"] for c in api.get(f"/evidence/{original['id']}/similar").get_json()["items"]}
        assert found == {copies[(name, how)]["id"] for (n, how) in copies if n == name}, name


def test_a_decision_is_kept_and_written_to_both_custody_trails(
    app: Flask, photos: Any, api_for: Callable[..., tuple[Api, Account]], make_case: Callable[..., uuid.UUID]
) -> None:
    api, _case_id, originals, copies = photos
    original, mirrored = originals["DSCN0010.jpg"], copies[("DSCN0010.jpg", "mirrored")]
    response = api.post(f"/evidence/{original['id']}/similar", json={"other_id": mirrored["id"], "same": True})
    assert response.status_code == 201
    decided = {c["id"]: c["same"] for c in response.get_json()["items"]}
    assert decided[mirrored["id"]] is True
    seen_from_copy = {c["id"]: c["same"] for c in api.get(f"/evidence/{mirrored['id']}/similar").get_json()["items"]}
    assert seen_from_copy[original["id"]] is True
    again = api.post(f"/evidence/{mirrored['id']}/similar", json={"other_id": original["id"], "same": False})
    assert {c["id"]: c["same"] for c in again.get_json()["items"]}[original["id"]] is False  # the latest holds
    entries = [e for e in ledger(app) if e.action == "similarity_decided"]
    assert len(entries) == 4
    assert {(str(e.evidence_id), e.details["other"]) for e in entries[:2]} == {
        (original["id"], mirrored["ern"]),
        (mirrored["id"], original["ern"]),
    }
    assert (
        api.post(f"/evidence/{original['id']}/similar", json={"other_id": mirrored["id"], "same": "yes"}).status_code
        == 422
    )
    assert (
        api.post(f"/evidence/{original['id']}/similar", json={"other_id": original["id"], "same": True}).status_code
        == 422
    )
    outsider, owner = api_for("investigator")
    elsewhere = post(outsider, make_case(owner, "OTHER"), (PHOTOS / "DSCN0010.jpg").read_bytes(), "x.jpg")
    assert (
        api.post(f"/evidence/{original['id']}/similar", json={"other_id": elsewhere["id"], "same": True}).status_code
        == 404
    )
    assert outsider.get(f"/evidence/{original['id']}/similar").status_code == 404


def test_the_item_page_lists_candidates_and_takes_a_decision(
    app: Flask, client: Any, make_user: Callable[..., Account], make_case: Callable[..., uuid.UUID], api_for: Any
) -> None:
    from support import csrf_token, login

    owner = make_user("investigator")
    api, _ = api_for(account=owner)
    case_id = make_case(owner, "PAGE")
    original = post(api, case_id, (PHOTOS / "DSCN0021.jpg").read_bytes(), "grave.jpg")
    resized = post(api, case_id, variants(PHOTOS / "DSCN0021.jpg")["resized"], "forwarded.jpg")
    login(client, owner)
    page = client.get(f"/evidence/{original['id']}").get_data(as_text=True)
    assert 'id="similar-images"' in page and resized["ern"] in page
    response = client.post(
        f"/evidence/{original['id']}/similar",
        data={"csrf_token": csrf_token(page), "other_id": resized["id"], "same": "yes"},
    )
    assert response.status_code == 303
    assert "the same image" in client.get(f"/evidence/{original['id']}").get_data(as_text=True)


def test_images_stored_before_hashing_are_hashed_by_the_scheduled_backfill(
    app: Flask, api_for: Callable[..., tuple[Api, Account]], make_case: Callable[..., uuid.UUID]
) -> None:
    from sqlalchemy import delete

    from casefile.db import session_scope
    from casefile.evidence.jobs import HASH_BACKFILL, hash_backfill_due
    from casefile.evidence.models import ImageHash, ImageHashKey
    from casefile.jobs.services import submit

    from support import run_queued_jobs

    api, owner = api_for("investigator")
    case_id = make_case(owner, "OLD")
    original = post(api, case_id, (PHOTOS / "landscape_6.jpg").read_bytes(), "old.jpg")
    copy = post(api, case_id, variants(PHOTOS / "landscape_6.jpg")["reencoded"], "older.jpg")
    with app.app_context(), session_scope() as s:  # as if stored before this release
        s.execute(delete(ImageHashKey))
        s.execute(delete(ImageHash))
    assert api.get(f"/evidence/{copy['id']}/similar").get_json()["items"] == []
    with app.app_context(), session_scope() as s:
        assert hash_backfill_due(s)
        submit(s, HASH_BACKFILL, None, None)
    run_queued_jobs(app)
    assert [c["id"] for c in api.get(f"/evidence/{copy['id']}/similar").get_json()["items"]] == [original["id"]]
    with app.app_context(), session_scope() as s:
        assert not hash_backfill_due(s)
