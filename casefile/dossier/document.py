"""The dossier document: ``data/dossier.json`` in the bag, and what ``data/dossier.pdf`` is rendered from.

This is the one definition of its shape. The builder (:mod:`casefile.dossier.builder`) writes it, the PDF
(:mod:`casefile.dossier.pdf`) reads it, and the verifier (:mod:`casefile.dossier.verify`) checks a bag against it.
``verify_dossier.py``, the script shipped inside every bag, must import nothing but the standard library, so it
repeats the few names it reads (the schema, the evidence and tree-head fields); tests/dossier/test_document.py
checks that they agree with this module, and that a built dossier has exactly the keys declared here.

Any change a reader could notice (a key added, removed or given another type) needs a new ``SCHEMA``. The JSON is
written with sorted keys, so the order of the keys below is for people only. Plain ``TypedDict`` records, so the
document is what it always was for the code that reads it: JSON-ready dicts and lists.
"""

from __future__ import annotations

from typing import Any, Final, NotRequired, TypedDict

SCHEMA: Final = "casefile-dossier/2"
# What the verifiers accept: schema 2 added the dossier's scope and sections, and left the evidence, trail and tree
# head fields that verification reads as schema 1 had them.
VERIFIABLE_SCHEMAS: Final = ("casefile-dossier/1", SCHEMA)

# The body sections a profile may ask for, and the annexes after them (numbered in the PDF). "analysis" (the
# element matrix's gaps and contested elements) is added only when the user asks for it with a dossier.
SECTIONS: Final = (
    "letter",
    "summary",
    "targets",
    "conduct",
    "incidents",
    "actors",
    "charges",
    "criteria",
    "exculpatory",
    "contact",
)
ANNEXES: Final = ("evidence", "custody", "analysis")

# Added by the builder to each ledger entry of a custody trail; the entry's hash covers the other fields.
PROOF_FIELDS: Final = ("leaf_index", "inclusion_proof")


class ProfileRecord(TypedDict):
    """The recipient profile the dossier was built for (:meth:`casefile.dossier.profiles.Profile.to_dict`)."""

    code: str
    title: str
    recipient: str
    sections: list[str]
    annexes: list[str]
    frameworks: list[str]
    allowed_classifications: list[str]
    consent_purpose: str
    language: str
    verified_only: NotRequired[bool]  # only verified evidence included (absent in dossiers built before it existed)


class DossierRecord(TypedDict):
    id: str
    title: str
    generated_at: str  # ISO 8601, UTC
    generated_by: str  # the user's e-mail address
    organisation: str
    organisation_address: str
    organisation_contact: str
    profile: ProfileRecord
    language: str  # of the PDF's headings and labels
    cover_letter: str  # Markdown, as written in the wizard ("" for none)
    narrative: str  # Markdown: the narrative summary
    analysis: bool  # whether the analysis annex (gaps) was asked for


class CaseRecord(TypedDict):
    reference: str
    title: str
    summary: str
    situation: str


class IncidentRecord(TypedDict):
    id: str
    title: str
    description: str
    date_display: str  # as the app shows it, e.g. "June 2020", "approx. 2019"
    start_date: str | None  # ISO date
    end_date: str | None
    date_precision: str
    place_name: str
    latitude: float | None
    longitude: float | None
    location_precision: str
    violation_types: list[str]  # labels, not codes


class IdentifierRecord(TypedDict):
    type: str
    value: str


class ActorRecord(TypedDict):
    id: str
    name: str
    kind: str
    aliases: list[str]
    description: str
    date_of_birth: str  # "" unless the profile includes actor identifiers
    place_of_birth: str  # likewise
    nationality: str
    identifiers: list[IdentifierRecord]  # [] unless the profile includes actor identifiers


class PositionRecord(TypedDict):
    """A target's position or affiliation: a relation from the target to another actor, with its dates."""

    relation: str  # code (casefile.labels.RELATION_LABELS)
    other: str  # the other actor's name
    valid_from: str | None
    valid_to: str | None
    confidence: str


class TargetRecord(TypedDict):
    """A person or entity the dossier is about, identified as a sanctions authority needs (date and place of birth
    and identifiers only where the profile includes actor identifiers)."""

    id: str
    name: str
    kind: str
    aliases: list[str]  # every script and spelling recorded
    description: str
    date_of_birth: str
    place_of_birth: str
    nationality: str
    identifiers: list[IdentifierRecord]
    positions: list[PositionRecord]


class ConductInvolvement(TypedDict):
    actor: str  # a target's name
    degree: str  # code (casefile.labels.DEGREE_LABELS)
    mode_of_liability: str
    status: str  # code (casefile.labels.INVOLVEMENT_STATUS_LABELS)
    note: str


class ConductRecord(TypedDict):
    """An incident the targets are involved in or charged with: what happened, their part, and the evidence."""

    incident_id: str
    title: str
    description: str
    date_display: str
    place_name: str
    violation_types: list[str]  # labels
    involvements: list[ConductInvolvement]
    supporting: list[str]  # ERNs of this dossier's items linked to the incident or the involvement
    contradicting: list[str]


class ExculpatoryRecord(TypedDict):
    """An included item that contradicts what the dossier alleges, and what it contradicts."""

    ern: str
    title: str
    contradicts: list[str]  # in words: "Mohamed al-Kani — involvement in …", an element, a relation
    notes: list[str]  # the links' notes


class AnalysisRecord(TypedDict):
    """The analysis annex, only when asked for: per charge, the elements without supporting evidence (gaps) and
    those contradicted."""

    suspect: str
    offence: str  # code
    elements: int
    gaps: list[str]  # element codes
    contested: list[str]


class RelationRecord(TypedDict):
    source: str  # actor names
    target: str
    relation: str
    valid_from: str | None  # ISO date
    valid_to: str | None
    confidence: str
    supporting: int  # items of this dossier linked as supporting / contradicting
    contradicting: int


class InvolvementRecord(TypedDict):
    actor: str  # actor name
    incident: str  # incident title
    degree: str
    mode_of_liability: str
    status: str
    supporting: int
    contradicting: int


class LegalReference(TypedDict):
    """An offence or a mode of liability of the legal catalogue."""

    code: str
    title: str
    reference: str


class ElementRecord(TypedDict):
    code: str
    group: str
    text: str
    reference: str
    supporting: list[str]  # ERNs of this dossier's items
    contradicting: list[str]


class ChargeRecord(TypedDict):
    """A charge, or a designation criterion against a target, with the evidence per element. Gaps are not counted
    here: only the analysis annex does, when asked for."""

    suspect: str  # actor name
    framework: str  # catalogue framework code (rome, eo13818, eughr, unsc-libya)
    sanctions: bool  # a designation criterion rather than a crime
    offence: LegalReference
    mode: LegalReference | None
    incidents: list[str]  # incident titles
    elements: list[ElementRecord]


class SignedRecord(TypedDict):
    what: str
    sha256: str | None
    outcome: str


class ProvenanceEntry(TypedDict):
    """An item's signed provenance (casefile.provenance.services.provenance_of): C2PA Content Credentials read at
    ingest, a ProofMode proof checked at import. Added to schema 2 without a new schema name: a key added, nothing
    a verifier reads changed."""

    kind: str  # c2pa, proofmode
    status: str  # verified, untrusted, failed, unreadable
    intact: bool
    signer: str
    key: str  # OpenPGP fingerprint, or the certificate's serial number
    signed_at: str | None
    checked_at: str | None
    signed: list[SignedRecord]
    problems: list[str]
    details: dict[str, Any]


class EvidenceRecord(TypedDict):
    ern: str
    title: str
    kind: str
    classification: str
    media_type: str
    size: int
    sha256: str
    sha512: str | None  # None only while the builder streams the file; always set in the bag
    collected_at: str | None  # ISO 8601
    source: str
    source_reliability: str | None  # A–F
    info_credibility: int | None  # 1–6
    witness: str | None  # pseudonym code, never an identity
    parent_ern: str | None
    derivation: str | None
    file: str  # path under data/, e.g. "evidence/TRH-00001.jpg"
    description: str
    exculpatory: bool  # contradicts the targets or charges
    provenance: list[ProvenanceEntry]  # [] when no signed provenance came with the file


class ExcludedRecord(TypedDict):
    ern: str
    title: str
    reasons: list[str]


class TreeHeadRecord(TypedDict):
    """The signed tree head (:meth:`casefile.custody.signing.SignedTreeHead.to_dict`), also written alone as
    data/custody/tree-head.json."""

    tree_size: int
    root_hash: str
    timestamp: str
    signature: str
    key_id: str


class CustodyRecord(TypedDict):
    tree_head: TreeHeadRecord
    public_key_id: str


class TrailEntry(TypedDict):
    """A ledger entry in its hashed form (:func:`casefile.custody.ledger.entry_fields`) plus its inclusion proof."""

    seq: int
    at: str
    actor: str
    action: str
    case_id: str | None
    evidence_id: str | None
    sha256: str | None
    details: dict[str, Any]
    prev_hash: str
    entry_hash: str
    leaf_index: int  # seq - 1
    inclusion_proof: list[str]  # hex hashes, against the signed tree head


class TrailFile(TypedDict):
    """data/custody/<ERN>.json: one item's custody trail."""

    ern: str
    sha256: str
    entries: list[TrailEntry]


class TimestampRecord(TypedDict):
    """An RFC 3161 token in the package: `token_file` (DER TimeStampResp) over the bytes of `data_file`."""

    subject: str  # checkpoint, capture
    tsa_url: str
    tsa_name: str
    gen_time: str
    serial: str
    message_sha256: str
    data_file: str
    token_file: str


class CaptureRecord(TypedDict):
    """A web capture among the included items: its WACZ's ERN and the manifest the ledger and the TSAs name."""

    ern: str
    url: str
    final_url: str | None
    http_status: int | None
    captured_at: str | None
    tls_valid: bool | None
    manifest_sha256: str | None
    manifest_file: str


class PdfSignatureRecord(TypedDict):
    """The PAdES signature of data/dossier.pdf (casefile/dossier/pdfsign.py)."""

    signer: str
    certificate_sha256: str
    timestamped_by: str | None
    timestamp_errors: list[str]


class PersonRecord(TypedDict):
    """Who a ledger actor `user:<uuid>` is, for readers of the dossier (the trails keep the id)."""

    name: str
    role: str


class DossierDocument(TypedDict):
    schema: str  # SCHEMA
    dossier: DossierRecord
    case: CaseRecord
    targets: list[TargetRecord]  # [] when the dossier covers the whole case
    conduct: list[ConductRecord]
    incidents: list[IncidentRecord]
    actors: list[ActorRecord]
    relations: list[RelationRecord]
    involvements: list[InvolvementRecord]
    charges: list[ChargeRecord]  # the chosen ones, of the profile's frameworks
    exculpatory: list[ExculpatoryRecord]
    analysis: list[AnalysisRecord] | None  # None unless the analysis annex was asked for
    evidence: list[EvidenceRecord]
    # Withheld items are not named in the package (a refused witness must not even appear by pseudonym): the
    # builder leaves this empty and gives only withheld_count.
    excluded: list[ExcludedRecord]
    withheld_count: int
    custody: CustodyRecord
    trails: dict[str, list[TrailEntry]]  # ERN -> entries, as in data/custody/<ERN>.json
    captures: list[CaptureRecord]
    timestamps: list[TimestampRecord]  # of the signed tree head and of the included captures
    pdf_signature: PdfSignatureRecord | None  # filled in once the PDF is signed
    people: dict[str, PersonRecord]  # ledger actor ("user:<uuid>") -> name and role
