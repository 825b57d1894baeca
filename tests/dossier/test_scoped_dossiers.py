"""Issue 18: dossiers scoped to targets and to charges or designation criteria, in each recipient's structure.

The demo's Global Magnitsky submission on Mohamed al-Kani (the issue's "done when"), in English and in Arabic; the
refusals of a scope a recipient does not take; exculpatory evidence labelled; the analysis annex (gap counts) only
when asked for; the cover letter and narrative as sanitised Markdown; the organisation's address and contact.
"""

from __future__ import annotations

import json
import re
import subprocess
import uuid
from io import BytesIO
from pathlib import Path

import bagit
import pytest
from flask.testing import FlaskClient
from pypdf import PdfReader
from test_build_dossier import (  # the demo and the tools a recipient verifies with
    BAGIT_PY,
    Demo,
    build,
    extract,
    instance_key_id,
    openssl_verify,
    pdf_text,
    run_script,
    system_python3,
)
from test_dossier_api_web import api_call

from casefile.config import Settings
from casefile.db import session_scope
from casefile.dossier.models import Dossier
from casefile.dossier.pdf import render_dossier_html
from casefile.dossier.verify import verify_dossier_zip

from support import login, run_queued_jobs

GLOMAG, ICC = "us-treasury-glomag", "icc-otp-art15"
ADDRESS = "12 Rue de l'Exemple\n1202 Genève"
CONTACT = "Legal team — legal@ngo.example — +41 22 000 00 00"
UUID_TEXT = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.with_overrides(
        organisation="Tarhouna Justice Project", organisation_address=ADDRESS, organisation_contact=CONTACT
    )


def actor_id(demo: Demo, name: str) -> str:
    actors = api_call(demo.app, demo.api, "GET", f"/cases/{demo.case_id}/actors?per_page=100", 200)["items"]
    return next(a["id"] for a in actors if a["name"] == name)


def charge_id(demo: Demo, offence_code: str) -> str:
    charges = api_call(demo.app, demo.api, "GET", f"/cases/{demo.case_id}/charges", 200)["items"]
    return next(c["id"] for c in charges if c["offence_code"] == offence_code)


def test_glomag_submission_on_al_kani_is_about_him_alone_and_verifies(demo: Demo, tmp_path: Path) -> None:
    kani = actor_id(demo, "Mohamed al-Kani")
    w2 = demo.statement_ern("W-0002")
    preview = api_call(
        demo.app,
        demo.api,
        "POST",
        f"/cases/{demo.case_id}/dossiers/preview",
        200,
        {"profile": GLOMAG, "target_ids": [kani]},
    )
    assert [t["name"] for t in preview["targets"]] == ["Mohamed al-Kani"]
    assert [c["offence_code"] for c in preview["charges"]] == ["eo13818-1-a-ii-a"]  # not the ICC charge on Haftar
    excluded = {e["ern"]: " ".join(e["reasons"]) for e in preview["excluded"]}
    assert "witness W-0002 refused consent to sharing with sanctions authorities" in excluded[w2]

    built = build(demo, tmp_path, profile=GLOMAG, title="al-Kani — Global Magnitsky", target_ids=[kani])
    document = built.document()
    (target,) = document["targets"]
    assert target["name"] == "Mohamed al-Kani" and "محمد الكاني" in target["aliases"]
    assert target["identifiers"] == [{"type": "national ID (demonstration value)", "value": "LY-DEMO-0000001"}]
    assert target["place_of_birth"].startswith("Tarhouna") and target["nationality"] == "Libyan"
    assert [(p["relation"], p["other"]) for p in target["positions"]] == [("commands", "Kaniyat")]
    conduct = {c["title"]: c for c in document["conduct"]}
    assert "Summary executions at Tarhouna prison" in conduct
    assert [v["degree"] for v in conduct["Summary executions at Tarhouna prison"]["involvements"]] == ["gave_orders"]
    assert {c["framework"] for c in document["charges"]} == {"eo13818"}
    assert document["analysis"] is None and "gaps" not in json.dumps(document["charges"])
    # Confidential, consented evidence goes; the refused testimony does not, with its reason in words.
    assert {e["classification"] for e in document["evidence"]} == {"confidential"}
    assert w2 not in {e["ern"] for e in document["evidence"]}
    assert "refused consent to sharing with sanctions authorities" in built.excluded_reasons(w2)
    assert document["dossier"]["organisation_address"] == ADDRESS

    text = pdf_text(built.members()["data/dossier.pdf"], tmp_path)
    flat = " ".join(text.split())
    for needle in (
        "Identification of the targets",
        "محمد الكاني",
        "LY-DEMO-0000001",
        "Tarhouna, Libya",
        "Conduct, incident by incident",
        "Summary executions at Tarhouna prison",
        "Gave orders",
        "Evidence per designation criterion",
        "Exculpatory information",
        "Submitting organisation",
        "legal@ngo.example",
        "Annex 1 — Evidence index",
        "Annex 2 — Custody trail",
    ):
        assert needle in flat, needle
    for absent in ("Rome Statute", "rome-", "GAP", "gap", "Unproven", "share_sanctions", "gave_orders"):
        assert absent not in flat, (absent, flat[max(0, flat.find(absent) - 300) : flat.find(absent) + 100])
    assert not UUID_TEXT.findall(flat.replace(str(built.id), ""))  # no user's (or anything's) id but the dossier's
    # The contents give each section's page, from the layout.
    contents = flat.split("Contents", 1)[1]
    pages = re.findall(r"Identification of the targets[ .]*(\d+)", contents)
    assert pages and int(pages[0]) >= 2, contents[:400]
    # Every page is marked with the classification of what the dossier holds.
    for page in text.split("\f")[:-1]:
        assert "CONFIDENTIAL" in page

    bag_dir = extract(built.zip_path, tmp_path / "bag")
    bagit.Bag(str(bag_dir)).validate(processes=1)
    tool = subprocess.run([str(BAGIT_PY), "--validate", str(bag_dir)], capture_output=True, text=True, timeout=120)
    assert tool.returncode == 0, tool.stderr[-1000:]
    assert openssl_verify(bag_dir).returncode == 0
    shipped = run_script(system_python3(), bag_dir / "verify_dossier.py", cwd=bag_dir)
    assert shipped.returncode == 0 and "VERIFIED: every check passed" in shipped.stdout, shipped.stdout[-2000:]
    report = verify_dossier_zip(built.zip_path, expected_key_id=instance_key_id(demo.app))
    assert report.ok, report.problems


def test_arabic_glomag_submission_has_arabic_headings_labels_and_codes(demo: Demo, tmp_path: Path) -> None:
    kani = actor_id(demo, "Mohamed al-Kani")
    built = build(demo, tmp_path, profile=GLOMAG, language="ar", target_ids=[kani])
    flat = " ".join(pdf_text(built.members()["data/dossier.pdf"], tmp_path).split())
    # Words without a lam-alef ligature, which pdftotext gives back in another order.
    for arabic in ("تحديد هوية المستهدفين", "حسب كل معيار من معايير التصنيف", "يقود", "أصدر", "سري", "المنظمة المقدِّمة"):
        assert arabic in flat, arabic
    for english in ("Identification of the targets", "Evidence per designation criterion", "Gave orders", "Annex"):
        assert english not in flat, english
    assert built.document()["dossier"]["language"] == "ar"


def test_a_scope_the_recipient_does_not_take_is_refused_in_words(demo: Demo) -> None:
    app, api, case = demo.app, demo.api, demo.case_id
    create = f"/cases/{case}/dossiers"
    kani, haftar = actor_id(demo, "Mohamed al-Kani"), actor_id(demo, "Khalifa Haftar")
    rome = charge_id(demo, "rome-7-1-a")
    body = api_call(app, api, "POST", create, 422, {"profile": GLOMAG, "target_ids": [haftar], "charge_ids": [rome]})
    assert "does not carry" in body["error"]["message"] and "charge_ids" in body["error"]["fields"]
    body = api_call(app, api, "POST", create, 422, {"profile": ICC, "target_ids": [kani], "charge_ids": [rome]})
    assert "not one of this dossier's targets" in body["error"]["message"]
    api_call(app, api, "POST", create, 422, {"profile": GLOMAG, "target_ids": [kani, "not-an-id"]})
    api_call(app, api, "POST", create, 422, {"profile": GLOMAG, "target_ids": kani})
    api_call(app, api, "POST", create, 422, {"profile": GLOMAG, "target_ids": [case]})  # not an actor
    api_call(app, api, "POST", create, 422, {"profile": GLOMAG, "analysis": "yes"})
    api_call(app, api, "POST", create, 422, {"profile": GLOMAG, "cover_letter": "x" * 50_001})


def test_exculpatory_evidence_is_included_and_labelled(demo: Demo, tmp_path: Path) -> None:
    kani = actor_id(demo, "Mohamed al-Kani")
    involvements = api_call(demo.app, demo.api, "GET", f"/cases/{demo.case_id}/involvements", 200)["items"]
    (gave_orders,) = [v for v in involvements if v["actor_id"] == kani]
    photo = next(e for e in demo.evidence() if e["title"] == "Marked grave, agricultural land")
    api_call(
        demo.app,
        demo.api,
        "POST",
        f"/evidence/{photo['id']}/links",
        201,
        {
            "target_type": "involvement",
            "target_id": gave_orders["id"],
            "stance": "contradicts",
            "note": "Dated after al-Kani left the town.",
        },
    )
    preview = api_call(
        demo.app,
        demo.api,
        "POST",
        f"/cases/{demo.case_id}/dossiers/preview",
        200,
        {"profile": GLOMAG, "target_ids": [kani]},
    )
    assert {i["ern"]: i["exculpatory"] for i in preview["included"]}[photo["ern"]] is True

    built = build(demo, tmp_path, profile=GLOMAG, target_ids=[kani])
    document = built.document()
    (record,) = document["exculpatory"]
    assert record["ern"] == photo["ern"] and record["notes"] == ["Dated after al-Kani left the town."]
    assert record["contradicts"] == ["Mohamed al-Kani — Summary executions at Tarhouna prison"]
    assert {e["ern"]: e["exculpatory"] for e in document["evidence"]}[photo["ern"]] is True
    flat = " ".join(pdf_text(built.members()["data/dossier.pdf"], tmp_path).split())
    assert "Dated after al-Kani left the town." in flat and "Exculpatory" in flat


def test_icc_communication_with_letter_narrative_and_analysis_annex(demo: Demo, tmp_path: Path) -> None:
    letter = (
        "Dear Prosecutor,\n\nWe submit **this communication**. <script>alert(1)</script> [site](javascript:alert(1))"
    )
    narrative = "## Background\n\n- Killings\n- Disappearances"
    plain = build(demo, tmp_path / "plain", profile=ICC)
    plain_text = " ".join(pdf_text(plain.members()["data/dossier.pdf"], tmp_path).split())
    assert "GAP" not in plain_text and "Analysis" not in plain_text and plain.document()["analysis"] is None

    built = build(demo, tmp_path / "full", profile=ICC, analysis=True, cover_letter=letter, narrative=narrative)
    document = built.document()
    assert document["dossier"]["cover_letter"] == letter and document["dossier"]["analysis"] is True
    (haftar,) = [a for a in document["analysis"] if a["suspect"] == "Khalifa Haftar"]
    assert haftar["gaps"] and "rome-7-1-a.e1" not in haftar["gaps"]  # the element the demo's evidence supports
    flat = " ".join(pdf_text(built.members()["data/dossier.pdf"], tmp_path).split())
    for needle in ("Cover letter", "Dear Prosecutor,", "this communication", "<script>alert(1)</script>", "Background"):
        assert needle in flat, needle
    assert "Annex 3 — Analysis: unproven and contested elements" in flat and "GAP" in flat
    assert "12 Rue de l'Exemple" in flat and "1202 Genève" in flat
    # The Markdown became markup, the script stayed text: nothing of it is an element of the PDF's HTML.
    pdf = built.members()["data/dossier.pdf"]
    assert b"javascript" not in pdf.lower()
    html = render_dossier_html(document, command_chart_svg=None, timeline_svg=None)
    assert "<script" not in html and 'href="javascript' not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<strong>this communication</strong>" in html and "<h4>Background</h4>" in html
    # The PDF's links are only those the organisation wrote with http(s) or mailto: none here.
    reader = PdfReader(BytesIO(pdf))
    uris = [
        str(annotation.get_object().get("/A", {}).get("/URI", ""))
        for page in reader.pages
        for annotation in page.get("/Annots") or []
    ]
    assert not [uri for uri in uris if uri.lower().startswith("javascript")], uris


def test_wizard_previews_a_scoped_dossier_and_keeps_the_choices_to_edit(client: FlaskClient, demo: Demo) -> None:
    kani = actor_id(demo, "Mohamed al-Kani")
    login(client, demo.account)
    page = client.get(f"/cases/{demo.case_id}/dossiers").get_data(as_text=True)
    assert f'value="{kani}"' in page and 'name="charge_ids"' in page and 'name="cover_letter"' in page
    form = {
        "profile": GLOMAG,
        "title": "al-Kani",
        "target_ids": [kani],
        "narrative": "**Summary** <b onmouseover=alert(1)>x</b>",
    }
    response = client.post(f"/cases/{demo.case_id}/dossiers/preview", data=form)
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    html = response.get_data(as_text=True)
    scope = html.split('id="scope"', 1)[1].split("</dl>", 1)[0]
    assert "Mohamed al-Kani" in scope and "eo13818-1-a-ii-a" in scope and "rome-" not in scope
    assert "<strong>Summary</strong>" in html and "onmouseover=alert" not in html.replace("&lt;b onmouseover=alert", "")
    excluded = html.split('id="excluded"', 1)[1].split("</table>", 1)[0]
    assert "refused consent to sharing with sanctions authorities" in excluded
    # The way back: the choices, editable, with the target still chosen.
    edit = html.split('id="edit"', 1)[1]
    assert re.search(rf'<option selected value="{kani}">|<option value="{kani}" selected>', edit), edit[:2000]
    assert f'<input type="hidden" name="target_ids" value="{kani}">' in html

    # Building from the preview: the hidden fields carry the same request, and the dossier is about al-Kani.
    hidden = dict.fromkeys(("profile", "title", "language", "target_ids", "narrative"))
    for name in hidden:
        found = re.search(rf'<input type="hidden" name="{name}" value="([^"]*)">', html)
        assert found, name
        hidden[name] = found.group(1).replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    built = client.post(f"/cases/{demo.case_id}/dossiers", data=hidden)
    assert built.status_code == 302, built.get_data(as_text=True)[:500]
    dossier_id = uuid.UUID(built.headers["Location"].rsplit("/", 1)[1])
    run_queued_jobs(demo.app)
    with demo.app.app_context(), session_scope() as s:
        dossier = s.get_one(Dossier, dossier_id)
        assert dossier.status.value == "ready", dossier.error
        assert dossier.scope["target_ids"] == [kani] and dossier.scope["analysis"] is False
        charges = dossier.scope["charge_ids"]
    assert charges == [charge_id(demo, "eo13818-1-a-ii-a")]
    dossier_json = api_call(demo.app, demo.api, "GET", f"/dossiers/{dossier_id}", 200)
    assert dossier_json["target_ids"] == [kani] and dossier_json["charge_ids"] == charges
