"""Field intake services: a case's forms, the device credentials, receiving submissions (whole, split or encrypted)
and reviewing them. Like every service: flush, never commit.

A submission's files go to the blob store as they arrive and are recorded on the intake record with their SHA-256;
a `submission_received` custody entry names them all once the submission is complete. Nothing becomes evidence
before an investigator accepts it: then a job records each file as an evidence item whose `ingested` entry names
the device, the form, the instance id and the person (jobs.py). A rejection keeps everything and says why.
"""

from __future__ import annotations

import base64
import hashlib
import io
import re
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, selectinload
from werkzeug.datastructures import FileStorage

from casefile.auth.gate import Access, parse_id, require_case, require_in_case
from casefile.auth.models import User
from casefile.cases.models import Case, Incident
from casefile.custody.actions import Action
from casefile.custody.ledger import record_custody
from casefile.db import utcnow
from casefile.errors import Conflict, NotFound, ValidationFailed
from casefile.evidence.services import display_filename
from casefile.evidence.uploads import upload_writer
from casefile.fieldintake import crypto, openrosa, xlsform
from casefile.fieldintake.models import (
    REASON_LENGTH,
    DeviceCredential,
    FieldForm,
    FieldSubmission,
    SubmissionFile,
    SubmissionState,
)
from casefile.parsing import clean_text, parse_choice
from casefile.storage import BlobStore
from casefile.witnesses.crypto import FieldCipher

MAX_SUBMISSION_XML = 10 << 20
MAX_FILES = 500
REVIEWABLE = (SubmissionState.PENDING,)


# --- forms ------------------------------------------------------------------------------------------------------


def forms_query(case: Case, *, active_only: bool = True) -> Any:
    stmt = select(FieldForm).where(FieldForm.case_id == case.id)
    if active_only:
        stmt = stmt.where(FieldForm.active.is_(True))
    return stmt.order_by(FieldForm.created_at.desc(), FieldForm.form_id)


def create_form(
    session: Session,
    store: BlobStore,
    cipher: FieldCipher,
    case: Case,
    user: User,
    *,
    xlsform_file: tuple[bytes, str] | None,
    encrypted: bool,
) -> FieldForm:
    """Offer a form to the case's phones: the standard field report, or the case's own XLSForm. A new version of a
    form id already offered replaces it in the form list. With `encrypted`, Casefile makes the key pair: phones
    get the public key in the form, the private key never leaves the server (sealed with the field keys)."""
    require_case(session, user, case.id, Access.WRITE)
    form = FieldForm(id=uuid.uuid4(), case_id=case.id, created_by_id=user.id, active=True)
    public = None
    if encrypted:
        public_der, private_der = crypto.new_key_pair()
        public = xlsform.public_key_b64(public_der)
        form.public_key = public
        form.private_key = cipher.encrypt({"der": xlsform.public_key_b64(private_der)}, context=_key_context(form))
    version = _next_version(session, case)
    if xlsform_file is None:
        built = xlsform.standard(version, public)
        form.standard = True
    else:
        data, name = xlsform_file
        built = xlsform.build(data, xlsform.file_type_of(name), version=version, public_key=public)
        form.source_name = display_filename(name)[:300]
        form.source_sha256 = store.put(io.BytesIO(data))
    taken = session.scalar(
        select(FieldForm.id).where(
            FieldForm.case_id == case.id, FieldForm.form_id == built.form_id, FieldForm.version == built.version
        )
    )
    if taken is not None:
        raise Conflict(
            _(
                "Version %(version)s of form %(form)s is already offered: raise the version in the XLSForm's settings.",
                version=built.version,
                form=built.form_id,
            )
        )
    form.form_id, form.version, form.title, form.xform = built.form_id, built.version, built.title, built.xml
    session.execute(
        update(FieldForm)
        .where(FieldForm.case_id == case.id, FieldForm.form_id == built.form_id, FieldForm.active.is_(True))
        .values(active=False)
    )
    session.add(form)
    session.flush()
    return form


def _next_version(session: Session, case: Case) -> str:
    """The version Casefile gives a form whose XLSForm sets none: the time (YYYYMMDDhhmmss), and always above the
    case's last such version, so that a form offered again within the same second is still a new version."""
    now = int(utcnow().strftime("%Y%m%d%H%M%S"))
    latest = session.scalar(
        select(func.max(FieldForm.version)).where(FieldForm.case_id == case.id, func.length(FieldForm.version) == 14)
    )
    return str(max(now, int(latest) + 1 if latest and latest.isdigit() else 0))


def _key_context(form: FieldForm) -> str:
    return f"field-form-key:{form.id}"


def private_key_of(cipher: FieldCipher, form: FieldForm) -> bytes:
    if form.private_key is None:
        raise crypto.DecryptionFailed("the form is not encrypted")
    return base64.b64decode(cipher.decrypt(form.private_key, context=_key_context(form))["der"])


def withdraw_form(session: Session, user: User, form: FieldForm) -> FieldForm:
    """No longer offered to phones; what phones already hold may still be sent."""
    require_case(session, user, form.case_id, Access.WRITE)
    form.active = False
    session.flush()
    return form


def form_in_case(session: Session, user: User, form_pk: Any, access: Access = Access.READ) -> FieldForm:
    return require_in_case(session, user, FieldForm, form_pk, access)


def incident_choices(session: Session, case: Case) -> list[tuple[str, str]]:
    rows = session.execute(
        select(Incident.id, Incident.title).where(Incident.case_id == case.id).order_by(Incident.title)
    )
    return [(str(incident_id), title) for incident_id, title in rows]


def media_of(session: Session, form: FieldForm) -> dict[str, bytes]:
    """The media files a form's phones download (made now: the case's incidents as they are)."""
    if xlsform.INCIDENTS_CSV not in form.xform:
        return {}
    return {xlsform.INCIDENTS_CSV: xlsform.incidents_csv(incident_choices(session, form.case))}


def form_json(form: FieldForm) -> dict[str, Any]:
    return {
        "id": str(form.id),
        "case_id": str(form.case_id),
        "form_id": form.form_id,
        "version": form.version,
        "title": form.title,
        "standard": form.standard,
        "encrypted": form.encrypted,
        "source_name": form.source_name or None,
        "source_sha256": form.source_sha256,
        "active": form.active,
        "created_at": form.created_at.isoformat(),
    }


# --- device credentials -----------------------------------------------------------------------------------------


def create_credential(
    session: Session, cipher: FieldCipher, case: Case, user: User, label: Any
) -> tuple[DeviceCredential, str]:
    """A login for one phone of `user` on `case`: the secret is returned once and never shown again."""
    require_case(session, user, case.id, Access.WRITE)
    name = clean_text(label, "label", max_length=100) or _("Phone")
    stem = re.sub(r"[^a-z0-9]", "", user.email.split("@", 1)[0].lower())[:20] or "device"
    credential = DeviceCredential(
        id=uuid.uuid4(), user_id=user.id, case_id=case.id, label=name, username=f"{stem}-{secrets.token_hex(4)}"
    )
    secret = secrets.token_urlsafe(20)
    credential.secret = cipher.encrypt({"secret": secret}, context=f"device-credential:{credential.id}")
    session.add(credential)
    session.flush()
    return credential, secret


def credentials_query(case: Case, user: User) -> Any:
    """A person's own phones on the case (nobody sees another person's device logins)."""
    return (
        select(DeviceCredential)
        .where(DeviceCredential.case_id == case.id, DeviceCredential.user_id == user.id)
        .order_by(DeviceCredential.created_at.desc())
    )


def own_credential(session: Session, user: User, credential_id: Any) -> DeviceCredential:
    credential = session.get(DeviceCredential, parse_id(credential_id))
    if credential is None or credential.user_id != user.id:
        raise NotFound(_("Not found."))
    require_case(session, user, credential.case_id)
    return credential


def revoke_credential(session: Session, user: User, credential: DeviceCredential) -> DeviceCredential:
    """The phone can no longer log in; what it sent before stays attributed to it."""
    if credential.user_id != user.id:
        raise NotFound(_("Not found."))
    if credential.revoked_at is None:
        credential.revoked_at = utcnow()
        session.flush()
    return credential


def credential_json(credential: DeviceCredential, server_url: str, *, secret: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": str(credential.id),
        "server_url": server_url,
        "case_id": str(credential.case_id),
        "label": credential.label,
        "username": credential.username,
        "created_at": credential.created_at.isoformat(),
        "last_used_at": credential.last_used_at.isoformat() if credential.last_used_at else None,
        "revoked_at": credential.revoked_at.isoformat() if credential.revoked_at else None,
    }
    if secret is not None:
        out["password"] = secret
    return out


# --- receiving --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Received:
    submission: FieldSubmission
    created: bool  # False: the instance was already received complete (OpenRosa's 202)
    complete: bool


def receive(
    session: Session,
    case: Case,
    credential: DeviceCredential,
    user: User,
    xml_part: FileStorage,
    attachments: Sequence[FileStorage],
    *,
    incomplete: bool,
    device: str,
) -> Received:
    """One POST of the Form Submission API. The same instance again (a phone that never got our answer) creates
    nothing; a split submission's parts are added to it until a part comes without `*isIncomplete*`."""
    require_case(session, user, case.id, Access.WRITE)
    xml = read_part(xml_part, MAX_SUBMISSION_XML, "xml_submission_file")
    try:
        parsed = openrosa.parse_submission(xml)
    except openrosa.SubmissionError as error:
        raise ValidationFailed(str(error), field="xml_submission_file") from None
    form = _form_for(session, case, parsed)
    existing = session.scalar(
        select(FieldSubmission)
        .where(FieldSubmission.case_id == case.id, FieldSubmission.instance_id == parsed.instance_id)
        .with_for_update()
    )
    if existing is not None:
        if existing.submitted_by_id != user.id:
            raise Conflict(_("This instance was sent by another person."))
        if existing.state is not SubmissionState.INCOMPLETE:
            return Received(existing, False, True)
        submission = existing
    else:
        submission = FieldSubmission(
            case_id=case.id,
            form_pk=form.id,
            instance_id=parsed.instance_id,
            credential_id=credential.id,
            submitted_by_id=user.id,
            # The form's `deviceid` answer where it has one (ODK Collect fills it), else the client's name.
            device_id=str(parsed.fields.get("deviceid") or device)[:200],
            state=SubmissionState.INCOMPLETE,
            encrypted=parsed.encrypted,
            xml_sha256=upload_writer(xml_part).commit(),
            fields=parsed.fields,
        )
        session.add(submission)
        session.flush()
    _add_files(session, submission, attachments)
    if not incomplete:
        _complete(session, submission, form, parsed, user)
    credential.last_used_at = utcnow()
    session.flush()
    return Received(submission, True, not incomplete)


def read_part(part: FileStorage, limit: int, field: str) -> bytes:
    """A small uploaded part (a submission's XML, an XLSForm) as bytes: it streamed into the store like any file,
    and is read back from there, within `limit`."""
    writer = upload_writer(part)
    if writer.size > limit:
        raise ValidationFailed(_("The file is larger than %(n)d MiB.", n=limit >> 20), field=field)
    if writer.size == 0:
        raise ValidationFailed(_("The file is empty."), field=field)
    with writer.open_staged() as staged:
        return staged.read(limit)


def _form_for(session: Session, case: Case, parsed: openrosa.Submission) -> FieldForm:
    stmt = select(FieldForm).where(FieldForm.case_id == case.id, FieldForm.form_id == parsed.form_id)
    if parsed.version:
        stmt = stmt.where(FieldForm.version == parsed.version)
    form = session.scalar(stmt.order_by(FieldForm.created_at.desc()).limit(1))
    if form is None:
        raise ValidationFailed(
            _("This case offers no form %(form)s (version %(version)s).", form=parsed.form_id, version=parsed.version),
            field="xml_submission_file",
        )
    if form.encrypted and not parsed.encrypted:
        raise ValidationFailed(
            _("This form must be sent encrypted: update the form on the phone."), field="xml_submission_file"
        )
    return form


def _add_files(session: Session, submission: FieldSubmission, parts: Sequence[FileStorage]) -> None:
    """Store each part not already received (by name: a resent part is not stored twice)."""
    have = {f.name for f in submission.files}
    position = len(submission.files)
    for part in parts:
        name = display_filename(part.filename or "")[:300]
        if not name or name in have:
            continue
        if position >= MAX_FILES:
            raise ValidationFailed(_("A submission holds at most %(n)d files.", n=MAX_FILES), field="files")
        writer = upload_writer(part)  # the part streamed into the store (hashed) while the request was parsed
        size, digest = writer.size, writer.commit()
        row = SubmissionFile(
            submission_id=submission.id, position=position, name=name, received_sha256=digest, received_size=size
        )
        if not submission.encrypted:
            row.sha256, row.size = digest, size
        submission.files.append(row)
        session.add(row)
        have.add(name)
        position += 1
    session.flush()


def _complete(
    session: Session, submission: FieldSubmission, form: FieldForm, parsed: openrosa.Submission, user: User
) -> None:
    submission.completed_at = utcnow()
    if submission.encrypted:
        expected = [*parsed.media, parsed.encrypted_xml]
        names = {f.name for f in submission.files}
        missing = [name for name in expected if name not in names]
        if missing or not parsed.encrypted_key or not parsed.signature:
            submission.state = SubmissionState.FAILED
            submission.error = _(
                "Files named by the encrypted submission are missing: %(names)s", names=", ".join(missing)
            )
        else:
            for row in submission.files:
                row.role = "form" if row.name == parsed.encrypted_xml else "attachment"
            submission.state = SubmissionState.DECRYPTING
    else:
        submission.state = SubmissionState.PENDING
    record_custody(
        session,
        actor=user,
        action=Action.SUBMISSION_RECEIVED,
        case_id=submission.case_id,
        sha256=submission.xml_sha256,
        details={
            "submission": str(submission.id),
            "form": form.form_id,
            "form_version": form.version,
            "instance_id": submission.instance_id,
            "device": submission.device_id,
            "credential": submission.credential.username if submission.credential else "",
            "encrypted": submission.encrypted,
            "files": {f.name: f.received_sha256 for f in submission.files},
        },
    )
    session.flush()


# --- decrypting (a job: jobs.py) --------------------------------------------------------------------------------


def decrypt(session: Session, store: BlobStore, cipher: FieldCipher, submission: FieldSubmission) -> None:
    """Decrypt an encrypted submission's files into the blob store (the .enc files stay too) and read its answers.
    A submission that cannot be decrypted is marked failed with the reason; its files are kept."""
    with store.open(submission.xml_sha256) as xml_file:
        parsed = openrosa.parse_submission(xml_file.read(MAX_SUBMISSION_XML + 1))
    private = private_key_of(cipher, submission.form)
    key = crypto.rsa_decrypt(private, base64.b64decode(parsed.encrypted_key, validate=True))
    seed = crypto.iv_seed(submission.instance_id, key)
    by_name = {f.name: f for f in submission.files}
    signed: list[tuple[str, str]] = []
    xml_plain = b""
    for index, name in enumerate([*parsed.media, parsed.encrypted_xml]):
        row = by_name[name]
        md5 = hashlib.md5(usedforsecurity=False)
        with store.open(row.received_sha256) as source, store.writer() as writer:
            for chunk in crypto.decrypt_stream(source, key, crypto.iv_for(seed, index)):
                md5.update(chunk)
                writer.write(chunk)
                if row.role == "form" and len(xml_plain) <= MAX_SUBMISSION_XML:
                    xml_plain += chunk
            row.size = writer.size
            row.sha256 = writer.commit()
        plain_name = name[:-4] if name.endswith(".enc") else name
        signed.append((plain_name, md5.hexdigest()))
    signed_text = crypto.signature_source(
        parsed.form_id, parsed.version, parsed.encrypted_key, parsed.instance_id, signed
    )
    crypto.check_signature(private, parsed.signature, signed_text)
    fields, instance_id = openrosa.decrypted_fields(xml_plain)
    if instance_id and instance_id != submission.instance_id:
        raise crypto.DecryptionFailed("the decrypted submission names another instance")
    for row in submission.files:
        if row.name.endswith(".enc"):
            row.name = row.name[:-4]
    submission.fields = fields
    submission.state = SubmissionState.PENDING
    session.flush()


# --- review -----------------------------------------------------------------------------------------------------


def submission_in_case(
    session: Session, user: User, submission_id: Any, access: Access = Access.READ
) -> FieldSubmission:
    return require_in_case(session, user, FieldSubmission, submission_id, access)


def submissions_query(case: Case, state: str | None = None) -> Any:
    stmt = (
        select(FieldSubmission)
        .where(FieldSubmission.case_id == case.id)
        .options(
            selectinload(FieldSubmission.files),
            selectinload(FieldSubmission.form),
            selectinload(FieldSubmission.submitted_by),
            selectinload(FieldSubmission.reviewed_by),
            selectinload(FieldSubmission.credential),
        )
        .order_by(FieldSubmission.received_at.desc(), FieldSubmission.id)
    )
    if state:
        stmt = stmt.where(FieldSubmission.state == parse_choice(state, SubmissionState, "state"))
    return stmt


def start_accepting(session: Session, submission: FieldSubmission, user: User) -> None:
    """The reviewer accepts: the submission becomes `accepting` (its job records the files); 409 unless pending."""
    require_case(session, user, submission.case_id, Access.WRITE)
    _lock_pending(session, submission)
    submission.state = SubmissionState.ACCEPTING
    submission.reviewed_by_id = user.id
    submission.reviewed_at = utcnow()
    session.flush()


def reject(session: Session, submission: FieldSubmission, user: User, reason: Any) -> None:
    require_case(session, user, submission.case_id, Access.WRITE)
    text = clean_text(reason, "reason", max_length=REASON_LENGTH)
    if not text.strip():
        raise ValidationFailed(_("Say why the submission is rejected."), field="reason")
    _lock_pending(session, submission)
    submission.state = SubmissionState.REJECTED
    submission.reason = text
    submission.reviewed_by_id = user.id
    submission.reviewed_at = utcnow()
    record_custody(
        session,
        actor=user,
        action=Action.SUBMISSION_REJECTED,
        case_id=submission.case_id,
        sha256=submission.xml_sha256,
        details={"submission": str(submission.id), "instance_id": submission.instance_id, "reason": text},
    )
    session.flush()


def _lock_pending(session: Session, submission: FieldSubmission) -> None:
    state = session.scalar(select(FieldSubmission.state).where(FieldSubmission.id == submission.id).with_for_update())
    if state not in REVIEWABLE:
        raise Conflict(
            _("Only a submission awaiting review can be accepted or rejected: this one is %(state)s.", state=str(state))
        )


def submission_json(submission: FieldSubmission) -> dict[str, Any]:
    return {
        "id": str(submission.id),
        "case_id": str(submission.case_id),
        "form": {"id": str(submission.form_pk), "form_id": submission.form.form_id, "version": submission.form.version},
        "instance_id": submission.instance_id,
        "state": submission.state.value,
        "encrypted": submission.encrypted,
        "device": submission.device_id,
        "credential": submission.credential.username if submission.credential else None,
        "submitted_by": submission.submitted_by.email if submission.submitted_by else None,
        "received_at": submission.received_at.isoformat(),
        "completed_at": submission.completed_at.isoformat() if submission.completed_at else None,
        "submission_sha256": submission.xml_sha256,
        "fields": submission.fields if submission.state is not SubmissionState.DECRYPTING else {},
        "files": [
            {
                "name": f.name,
                "role": f.role,
                "received_sha256": f.received_sha256,
                "received_size": f.received_size,
                "sha256": f.sha256,
                "size": f.size,
                "evidence_id": str(f.evidence_id) if f.evidence_id else None,
            }
            for f in submission.files
        ],
        "error": submission.error,
        "reason": submission.reason or None,
        "reviewed_by": submission.reviewed_by.email if submission.reviewed_by else None,
        "reviewed_at": submission.reviewed_at.isoformat() if submission.reviewed_at else None,
        "job_id": str(submission.job_id) if submission.job_id else None,
    }
