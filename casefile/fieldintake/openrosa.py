"""OpenRosa 1.0 documents: the form list, a form's media manifest, the server's responses, and reading a submission
(plain or the manifest of an encrypted one). Submissions come from phones: parsed with defusedxml (no entities,
no external references), bounded in size, and read as text only."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from xml.etree.ElementTree import Element, SubElement, tostring  # nosec B405 - building, never parsing

from defusedxml import ElementTree as SafeTree
from defusedxml.common import DefusedXmlException

VERSION = "1.0"
XFORMS_LIST_NS = "http://openrosa.org/xforms/xformsList"
MANIFEST_NS = "http://openrosa.org/xforms/xformsManifest"
RESPONSE_NS = "http://openrosa.org/http/response"
ENCRYPTED_NS = "http://www.opendatakit.org/xforms/encrypted"
MAX_FIELDS = 2000
MAX_VALUE = 10_000


class SubmissionError(Exception):
    """The submission XML cannot be used: the message says why (sent back to the phone)."""


def _xml(root: Element) -> bytes:
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + tostring(root, encoding="utf-8", xml_declaration=False)


@dataclass(frozen=True)
class ListedForm:
    form_id: str
    name: str
    version: str
    hash: str
    download_url: str
    manifest_url: str | None


def form_list(forms: list[ListedForm]) -> bytes:
    root = Element("xforms", xmlns=XFORMS_LIST_NS)
    for form in forms:
        node = SubElement(root, "xform")
        for tag, value in (
            ("formID", form.form_id),
            ("name", form.name),
            ("version", form.version),
            ("hash", form.hash),
            ("downloadUrl", form.download_url),
            ("manifestUrl", form.manifest_url),
        ):
            if value is not None:
                SubElement(node, tag).text = value
    return _xml(root)


def manifest(files: list[tuple[str, str, str]]) -> bytes:
    """(file name, md5 hash, download URL) of each media file."""
    root = Element("manifest", xmlns=MANIFEST_NS)
    for name, digest, url in files:
        node = SubElement(root, "mediaFile")
        SubElement(node, "filename").text = name
        SubElement(node, "hash").text = digest
        SubElement(node, "downloadUrl").text = url
    return _xml(root)


def response(message: str, nature: str = "submit_success") -> bytes:
    root = Element("OpenRosaResponse", xmlns=RESPONSE_NS)
    SubElement(root, "message", nature=nature).text = message
    return _xml(root)


@dataclass
class Submission:
    form_id: str
    version: str | None
    instance_id: str
    encrypted: bool
    fields: dict[str, str] = field(default_factory=dict)
    # An encrypted submission's manifest: the media files in their order, the encrypted XML's name, the key and
    # the signature (all base64).
    media: list[str] = field(default_factory=list)
    encrypted_xml: str = ""
    encrypted_key: str = ""
    signature: str = ""


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _child(node: Element, name: str) -> Element | None:
    return next((child for child in node if _local(child.tag) == name), None)


def _text(node: Element | None) -> str:
    return (node.text or "").strip() if node is not None else ""


def _instance_id(root: Element) -> str:
    meta = _child(root, "meta")
    found = _text(_child(meta, "instanceID")) if meta is not None else ""
    return found or str(root.get("instanceID") or "").strip()


def parse_submission(data: bytes) -> Submission:
    try:
        root = SafeTree.fromstring(data)
    except (SafeTree.ParseError, DefusedXmlException, ValueError) as error:
        raise SubmissionError(f"The submission is not readable XML: {error}") from None
    form_id = str(root.get("id") or "").strip()
    if not form_id:
        raise SubmissionError("The submission names no form (its root element has no id).")
    instance_id = _instance_id(root)
    if not instance_id or len(instance_id) > 200:
        raise SubmissionError("The submission has no meta/instanceID (or one longer than 200 characters).")
    version = str(root.get("version") or "").strip() or None
    if str(root.get("encrypted") or "").lower() == "yes":
        return Submission(
            form_id,
            version,
            instance_id,
            True,
            media=[_text(_child(media, "file")) for media in root if _local(media.tag) == "media"],
            encrypted_xml=_text(_child(root, "encryptedXmlFile")),
            encrypted_key=_text(_child(root, "base64EncryptedKey")),
            signature=_text(_child(root, "base64EncryptedElementSignature")),
        )
    return Submission(form_id, version, instance_id, False, fields=flatten(root))


def flatten(root: Element) -> dict[str, str]:
    """The answers as `path: value`, repeats numbered from 1 (`photos[2]/photo`), empty answers left out."""
    out: dict[str, str] = {}

    def walk(node: Element, prefix: str) -> None:
        counts: dict[str, int] = {}
        names = [_local(child.tag) for child in node]
        for child in node:
            name = _local(child.tag)
            counts[name] = counts.get(name, 0) + 1
            label = f"{name}[{counts[name]}]" if names.count(name) > 1 else name
            path = f"{prefix}/{label}" if prefix else label
            if len(child):
                walk(child, path)
            elif (value := _text(child)) and len(out) < MAX_FIELDS:
                out[path] = value[:MAX_VALUE]

    walk(root, "")
    return out


def decrypted_fields(xml: bytes) -> tuple[dict[str, str], str]:
    """An encrypted submission's answers once decrypted, and its instance id (checked against the manifest's)."""
    try:
        root = SafeTree.fromstring(xml)
    except (SafeTree.ParseError, DefusedXmlException, ValueError) as error:
        raise SubmissionError(f"The decrypted submission is not readable XML: {error}") from None
    return flatten(root), _instance_id(root)


def answer(fields: dict[str, Any], name: str) -> str:
    """A top-level answer of the field report (`description`, `location`…)."""
    return str(fields.get(name) or "").strip()
