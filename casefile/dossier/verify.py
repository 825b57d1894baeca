"""Verifying a referral dossier ZIP (DESIGN §5), for `flask --app app dossier verify` and the app's tests.

The ZIP is extracted into a temporary directory (refusing unsafe paths, links, several top folders, and sizes
or compression ratios that look like a ZIP bomb), then checked:

- the bag, by the bagit library (``Bag.validate()``: Payload-Oxum, completeness, every manifest hash), each
  of its complaints reported with the file, the algorithm and expected vs found;
- what bagit leaves out: strict parsing of the four manifests, both payload manifests listing every payload
  file, both tag manifests listing every tag file (only the signature is outside them), the Casefile tag
  files being present;
- the Ed25519 signature in tagmanifest-sha256.txt.sig over tagmanifest-sha256.txt with the bag's public key,
  and that key's id against ``expected_key_id`` when given: anyone can re-sign a forged bag with a key of
  their own, so a recipient must compare the key id with one obtained separately;
- the signed tree head (signature, key, tree size in bag-info.txt and dossier.json);
- each evidence file's size, SHA-256 and SHA-512 against data/dossier.json;
- each custody trail: every entry_hash recomputes, prev_hash links between consecutive seq numbers (one item's
  entries are not consecutive in the instance-wide ledger, so only those links can be checked), every inclusion
  proof leads to the signed root, and the trail's item SHA-256 is its evidence file's;
- each RFC 3161 timestamp: over the signed tree head's message or a capture's manifest (which names its WACZ by
  the evidence file's hash), and, given the TSA's roots, signed by a certificate chaining to them.

No Flask and no database: a dossier is verified with nothing but the ZIP (and, optionally, a key id).
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import shutil
import stat
import tempfile
import zipfile
import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import bagit
from cryptography import x509
from rfc3161_client import decode_timestamp_response

from casefile.custody.chain import GENESIS_HASH, entry_hash
from casefile.custody.merkle import hash_from_hex, proof_from_hex, verify_inclusion
from casefile.custody.signing import SignedTreeHead, key_id, load_public_key, verify_bytes, verify_tree_head
from casefile.custody.tsa import TimestampError, verify_reply
from casefile.dossier.document import PROOF_FIELDS, SCHEMA, VERIFIABLE_SCHEMAS
from casefile.workers import outside_event_loop

KEY_FILE = "casefile-public-key.pem"
SIGNED_FILE = "tagmanifest-sha256.txt"
SIG_FILE = "tagmanifest-sha256.txt.sig"
TREE_HEAD = "data/custody/tree-head.json"
ALGORITHMS = ("sha256", "sha512")
TAG_FILES = (
    "bagit.txt",
    "bag-info.txt",
    "manifest-sha256.txt",
    "manifest-sha512.txt",
    "README.txt",
    "verify_dossier.py",
    KEY_FILE,
)
NOT_LISTED = frozenset({"tagmanifest-sha256.txt", "tagmanifest-sha512.txt", SIG_FILE})
NOT_HASHED = PROOF_FIELDS  # added by the builder to each ledger entry
DEFAULT_MAX_SIZE = 64 * 2**30  # bytes extracted, in all
MAX_MEMBERS = 100_000
# A member this large that compresses better than this is refused as a likely ZIP bomb.
BOMB_SIZE, BOMB_RATIO = 16 * 2**20, 1000
CHUNK = 1 << 20

# bagit logs every mismatch as a warning; the report already says it, so keep it off a bare stderr.
logging.getLogger("bagit").addHandler(logging.NullHandler())


@dataclass
class DossierReport:
    ok: bool = False
    checks: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    bag_name: str | None = None
    profile: str | None = None
    item_count: int = 0
    key_id: str | None = None  # of the bag's public key, for the recipient to compare with the sender's

    def check(self, message: str) -> None:
        self.checks.append(message)

    def problem(self, message: str) -> None:
        if message not in self.problems:
            self.problems.append(message)

    def finish(self) -> DossierReport:
        self.ok = not self.problems and bool(self.checks)
        return self


class UnsafeZip(ValueError):
    """The ZIP is refused before anything is extracted."""


def verify_dossier_zip(
    path: str | Path,
    *,
    expected_key_id: str | None = None,
    max_size: int = DEFAULT_MAX_SIZE,
    tsa_roots: Sequence[x509.Certificate] | None = None,
) -> DossierReport:
    """Verify a dossier ZIP completely; ``report.ok`` only if every check passed."""
    report = DossierReport()
    with tempfile.TemporaryDirectory(prefix="casefile-dossier-") as tmp:
        try:
            bag_dir = extract_zip(Path(path), Path(tmp), max_size=max_size)
        except (UnsafeZip, zipfile.BadZipFile, zlib.error, OSError, EOFError, NotImplementedError) as error:
            report.problem(f"{Path(path).name}: {error}")
            return report.finish()
        report.bag_name = bag_dir.name
        report.check(f"{Path(path).name}: one bag folder {bag_dir.name}/ extracted safely")
        _Verifier(bag_dir, report, expected_key_id, tsa_roots).run()
    return report.finish()


# --- safe extraction ------------------------------------------------------------------------------


def _member_parts(info: zipfile.ZipInfo) -> list[str]:
    name = info.filename
    parts = name.rstrip("/").split("/")
    if name.startswith("/") or "\\" in name or ":" in name or any(p in ("", ".", "..") for p in parts):
        raise UnsafeZip(f"unsafe path in the ZIP, refused: {name!r}")
    if stat.S_ISLNK(info.external_attr >> 16):
        raise UnsafeZip(f"symbolic link in the ZIP, refused: {name!r}")
    if info.flag_bits & 0x1:
        raise UnsafeZip(f"encrypted entry in the ZIP, refused: {name!r}")
    return parts


def extract_zip(zip_path: Path, into: Path, *, max_size: int = DEFAULT_MAX_SIZE) -> Path:
    """Extract a one-folder ZIP into ``into`` and return that folder; UnsafeZip before writing anything if the
    ZIP has unsafe names, links, several top folders, duplicates, or is too large or suspiciously compressed."""
    with zipfile.ZipFile(zip_path) as archive:
        members = archive.infolist()
        if len(members) > MAX_MEMBERS:
            raise UnsafeZip(f"{len(members)} entries in the ZIP, more than the {MAX_MEMBERS} allowed")
        tops: set[str] = set()
        files: dict[str, zipfile.ZipInfo] = {}
        for info in members:
            parts = _member_parts(info)
            tops.add(parts[0])
            if info.is_dir():
                continue
            if len(parts) == 1:
                raise UnsafeZip(f"file outside the bag folder in the ZIP, refused: {info.filename!r}")
            if info.filename in files:
                raise UnsafeZip(f"the ZIP holds {info.filename!r} twice, refused")
            ratio = info.file_size // max(info.compress_size, 1)
            if info.file_size > BOMB_SIZE and ratio > BOMB_RATIO:
                raise UnsafeZip(f"{info.filename!r} expands {ratio}-fold, refused as a likely ZIP bomb")
            files[info.filename] = info
        if len(tops) != 1:
            raise UnsafeZip(f"the ZIP must hold exactly one bag folder, found {len(tops)}: {sorted(tops)}; refused")
        total = sum(info.file_size for info in files.values())
        if total > max_size:
            raise UnsafeZip(f"the ZIP expands to {total} bytes, more than the {max_size} allowed")
        if shutil.disk_usage(into).free < total + CHUNK:
            raise OSError(f"not enough free space in {into} to extract {total} bytes")
        root = into.resolve()
        for name, info in files.items():
            target = root.joinpath(*PurePosixPath(name).parts)
            if not target.resolve().is_relative_to(root):  # belt and braces after _member_parts
                raise UnsafeZip(f"unsafe path in the ZIP, refused: {name!r}")
            target.parent.mkdir(parents=True, exist_ok=True)
            written = 0
            with archive.open(info) as source, target.open("xb") as out:
                while chunk := source.read(CHUNK):
                    written += len(chunk)
                    if written > info.file_size:
                        raise UnsafeZip(f"{name!r} is longer than the ZIP declares, refused")
                    out.write(chunk)
        return root / tops.pop()


# --- the checks -----------------------------------------------------------------------------------


def _digests(path: Path, algorithms: Iterable[str] = ALGORITHMS) -> dict[str, Any]:
    hashers = {alg: hashlib.new(alg) for alg in algorithms}
    size = 0
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            size += len(chunk)
            for hasher in hashers.values():
                hasher.update(chunk)
    return {"size": size, **{alg: h.hexdigest() for alg, h in hashers.items()}}


def describe_bag_problem(detail: Any) -> str:
    """One bagit complaint, precisely (for dossiers and backups, both bags)."""
    if isinstance(detail, bagit.ChecksumMismatch):
        manifest = f"{'' if str(detail.path).startswith('data/') else 'tag'}manifest-{detail.algorithm}.txt"
        return f"{detail.path}: {detail.algorithm} expected {detail.expected} ({manifest}) found {detail.found}"
    if isinstance(detail, bagit.FileMissing):
        return f"{detail.path}: listed in the manifests but missing from the bag"
    if isinstance(detail, bagit.UnexpectedFile):
        return f"{detail.path}: present in the bag but not listed in the manifests"
    return str(detail)


class _Verifier:
    def __init__(
        self,
        bag_dir: Path,
        report: DossierReport,
        expected_key_id: str | None,
        tsa_roots: Sequence[x509.Certificate] | None = None,
    ) -> None:
        self.dir = bag_dir
        self.tsa_roots = tsa_roots
        self.report = report
        self.expected_key_id = expected_key_id.lower() if expected_key_id else None
        self.files = sorted(p.relative_to(bag_dir).as_posix() for p in bag_dir.rglob("*") if p.is_file())
        self.info: dict[str, Any] = {}
        self.pem: bytes | None = None
        self.key_id: str | None = None
        self.evidence_sha256: dict[str, str] = {}
        self.bagit_hashed = False  # did bagit get as far as comparing every manifest hash?

    def run(self) -> None:
        self.check_bagit()
        self.check_manifests()
        self.check_signature()
        document = self._json("data/dossier.json")
        document = document if isinstance(document, dict) else {}
        self.check_evidence(document)
        self.check_pdf_signature(document)
        sth = self.check_tree_head(document)
        if sth is not None:
            self.check_trails(document, sth)
            self.check_timestamps(document, sth)

    # helpers

    def ok(self, message: str) -> None:
        self.report.check(message)

    def problem(self, message: str) -> None:
        self.report.problem(message)

    def _read(self, rel: str) -> bytes | None:
        path = self.dir / rel
        return path.read_bytes() if rel in self.files else None

    def _json(self, rel: str) -> Any:
        data = self._read(rel)
        if data is None:
            self.problem(f"{rel}: missing")
            return None
        try:
            return json.loads(data.decode("utf-8"))
        except ValueError as error:
            self.problem(f"{rel}: not valid UTF-8 JSON ({error})")
            return None

    # the bag

    def check_bagit(self) -> None:
        try:
            bag = bagit.Bag(str(self.dir))
            self.info = {k: v[0] if isinstance(v, list) else v for k, v in bag.info.items()}
            bag.validate(processes=1)
        except bagit.BagValidationError as error:
            for detail in error.details:
                self.problem(describe_bag_problem(detail))
            if not error.details:
                self.problem(f"bagit: {error.message}")
            # Only the last stage reports checksum mismatches; the earlier ones stop before any hashing.
            self.bagit_hashed = any(isinstance(d, bagit.ChecksumMismatch) for d in error.details)
            return
        except (bagit.BagError, OSError, ValueError) as error:
            self.problem(f"bagit: not a valid bag: {error}")
            return
        self.bagit_hashed = True
        self.report.profile = self.info.get("Casefile-Profile")
        self.ok(
            f"bagit: valid BagIt {bag.version_info[0]}.{bag.version_info[1]} bag, Payload-Oxum "
            f"{self.info.get('Payload-Oxum')}, every manifest hash matches"
        )

    def _manifest(self, name: str, alg: str) -> dict[str, str] | None:
        data = self._read(name)
        if data is None:
            self.problem(f"{name}: missing")
            return None
        width = 2 * hashlib.new(alg).digest_size
        line_format = re.compile(rf"([0-9a-fA-F]{{{width}}})[ \t]+\*?(\S.*)")
        listed: dict[str, str] = {}
        for number, line in enumerate(data.decode("utf-8", "replace").split("\n"), 1):
            match = line_format.fullmatch(line.removesuffix("\r"))
            if not match or match.group(2) in listed:
                if line:
                    self.problem(f"{name} line {number}: malformed or repeated: {line[:120]!r}")
                continue
            path = re.sub(r"%(0[AaDd]|25)", lambda m: chr(int(m.group(1), 16)), match.group(2))
            listed[path] = match.group(1).lower()
        return listed

    def check_manifests(self) -> None:
        """What bagit does not check: each manifest on its own covers its files, and the tag files."""
        before = len(self.report.problems)
        for name in TAG_FILES:
            if name not in self.files:
                self.problem(f"{name}: missing")
        payload = {f for f in self.files if f.startswith("data/")}
        tags = {f for f in self.files if not f.startswith("data/") and f not in NOT_LISTED}
        for alg in ALGORITHMS:
            for manifest, present in ((f"manifest-{alg}.txt", payload), (f"tagmanifest-{alg}.txt", tags)):
                listed = self._manifest(manifest, alg)
                if listed is None:
                    continue
                for path in sorted(present - set(listed)):
                    self.problem(f"{path}: present in the bag but not listed in {manifest}")
                for path in sorted(set(listed) - present):
                    self.problem(f"{path}: listed in {manifest} but missing from the bag")
                if not self.bagit_hashed:  # say which files differ, as bagit would have done
                    for path in sorted(set(listed) & present):
                        found = _digests(self.dir / path, [alg])[alg]
                        if found != listed[path]:
                            self.problem(describe_bag_problem(bagit.ChecksumMismatch(path, alg, listed[path], found)))
        if len(self.report.problems) == before:
            self.ok(
                "manifests: both payload manifests list every payload file and both tag manifests every tag "
                "file except the signature"
            )

    # the signature and the key

    def check_signature(self) -> None:
        pem, signed, signature = (self._read(name) for name in (KEY_FILE, SIGNED_FILE, SIG_FILE))
        if pem is None or signed is None or signature is None:
            self.problem(f"{SIG_FILE}: the signature, {SIGNED_FILE} or {KEY_FILE} is missing")
            return
        try:
            self.key_id = self.report.key_id = key_id(load_public_key(pem))
        except ValueError as error:
            self.problem(f"{KEY_FILE}: not an Ed25519 public key in PEM form ({error})")
            return
        self.pem = pem
        if self.expected_key_id and self.key_id != self.expected_key_id:
            self.problem(
                f"{KEY_FILE}: key id expected {self.expected_key_id} found {self.key_id}: "
                "the dossier was not signed with the expected key"
            )
        elif self.expected_key_id:
            self.ok(f"{KEY_FILE}: key id {self.key_id} is the expected one")
        if self.info.get("Casefile-Key-Id") not in (None, self.key_id):
            self.problem(
                f"bag-info.txt: Casefile-Key-Id expected {self.key_id} ({KEY_FILE}) "
                f"found {self.info.get('Casefile-Key-Id')}"
            )
        if verify_bytes(pem, signed, signature):
            self.ok(f"{SIG_FILE}: Ed25519 signature over {SIGNED_FILE} verified with {KEY_FILE} (key id {self.key_id})")
        else:
            self.problem(f"{SIG_FILE}: the Ed25519 signature over {SIGNED_FILE} does not verify with {KEY_FILE}")

    # dossier.json and the evidence

    def check_evidence(self, document: Mapping[str, Any]) -> None:
        # The document comes from the bag, untrusted: read as plain JSON against the shape of
        # casefile.dossier.document.DossierDocument, every part checked before it is used.
        evidence = document.get("evidence")
        if document.get("schema") not in VERIFIABLE_SCHEMAS or not isinstance(evidence, list):
            self.problem(f"data/dossier.json: not a {SCHEMA} document with an evidence list")
            return
        self.report.item_count = len(evidence)
        if self.report.profile is None and isinstance(document.get("dossier"), dict):
            profile = document["dossier"].get("profile")
            self.report.profile = profile.get("code") if isinstance(profile, dict) else profile
        referenced = set()
        for record in evidence:
            record = record if isinstance(record, dict) else {}
            ern, rel = record.get("ern"), f"data/{record.get('file')}"
            referenced.add(rel)
            if not rel.startswith("data/evidence/") or rel not in self.files:
                self.problem(f"data/dossier.json: evidence {ern}: file {rel} missing from the bag")
                continue
            found = _digests(self.dir / rel)
            self.evidence_sha256[str(ern)] = found["sha256"]
            problems = [
                f"{rel}: {name} expected {record.get(name)} (dossier.json, {ern}) found {found[name]}"
                for name in ("size", *ALGORITHMS)
                if record.get(name) != found[name]
            ]
            for problem in problems:
                self.problem(problem)
            if not problems:
                self.ok(f"{rel}: {ern}, {found['size']} bytes, SHA-256 {found['sha256']} as in dossier.json")
        for rel in self.files:
            if rel.startswith("data/evidence/") and rel not in referenced:
                self.problem(f"{rel}: not listed in data/dossier.json")

    # custody

    def check_tree_head(self, document: Mapping[str, Any]) -> SignedTreeHead | None:
        raw = self._json(TREE_HEAD)
        if raw is None:
            return None
        try:
            sth = SignedTreeHead.from_dict(raw)
            hash_from_hex(sth.root_hash)
        except (TypeError, ValueError) as error:
            self.problem(f"{TREE_HEAD}: not a signed tree head ({error})")
            return None
        raw_custody = document.get("custody")
        custody: Mapping[str, Any] = raw_custody if isinstance(raw_custody, dict) else {}
        if custody.get("tree_head") != raw:
            self.problem(f"data/dossier.json: custody.tree_head differs from {TREE_HEAD}")
        if custody.get("public_key_id", self.key_id) != self.key_id:
            self.problem(
                f"data/dossier.json: custody.public_key_id expected {self.key_id} ({KEY_FILE}) "
                f"found {custody.get('public_key_id')}"
            )
        if self.info.get("Casefile-Tree-Size") not in (None, str(sth.tree_size)):
            self.problem(
                f"bag-info.txt: Casefile-Tree-Size expected {sth.tree_size} ({TREE_HEAD}) "
                f"found {self.info.get('Casefile-Tree-Size')}"
            )
        if self.pem is None:
            self.problem(f"{TREE_HEAD}: signature not checked: no valid {KEY_FILE}")
        elif sth.key_id != self.key_id:
            self.problem(f"{TREE_HEAD}: key_id expected {self.key_id} ({KEY_FILE}) found {sth.key_id}")
        elif not verify_tree_head(self.pem, sth):
            self.problem(f"{TREE_HEAD}: the Ed25519 signature does not verify with {KEY_FILE}")
        else:
            self.ok(
                f"{TREE_HEAD}: tree size {sth.tree_size}, root {sth.root_hash}, {sth.timestamp}, signature verified"
            )
        return sth

    def check_pdf_signature(self, document: Mapping[str, Any]) -> None:
        """data/dossier.pdf carries one PAdES signature, intact, over the whole file, by the certificate that
        dossier.json (itself under the bag's Ed25519 signature) names. Whether that certificate is trusted is the
        recipient's call, as with the bag's key: its SHA-256 is printed to compare."""
        record = document.get("pdf_signature")
        if not isinstance(record, dict):
            return  # a dossier built before PDFs were signed
        rel = "data/dossier.pdf"
        if rel not in self.files:
            return  # reported as a missing payload file
        # pyHanko is heavy: imported only when a dossier's PDF is checked.
        from asn1crypto import x509 as asn1_x509
        from pyhanko.pdf_utils.misc import PdfReadError
        from pyhanko.pdf_utils.reader import PdfFileReader
        from pyhanko.sign.validation import validate_pdf_signature
        from pyhanko.sign.validation.status import SignatureCoverageLevel
        from pyhanko_certvalidator import ValidationContext

        # Read from the file, not into memory: pyHanko hashes the signed byte ranges as a stream.
        try:
            with (self.dir / rel).open("rb") as pdf:
                signatures = PdfFileReader(pdf, strict=False).embedded_signatures
                if len(signatures) != 1:
                    self.problem(f"{rel}: {len(signatures)} signatures, expected one")
                    return
                signature = signatures[0]
                signer = signature.signer_cert
                fingerprint = hashlib.sha256(signer.dump()).hexdigest()
                # Trusting the embedded certificate here checks integrity only; trust is the fingerprint comparison.
                roots = [asn1_x509.Certificate.load(signer.dump())]
                context = ValidationContext(trust_roots=roots, allow_fetching=False)
                status = outside_event_loop(lambda: validate_pdf_signature(signature, context))
        except (PdfReadError, ValueError, KeyError) as error:  # pyHanko's validation errors are ValueErrors
            self.problem(f"data/dossier.pdf: its signature cannot be read ({error})")
            return
        if not (status.intact and status.valid):
            self.problem("data/dossier.pdf: the PDF signature does not verify: the file was altered after signing")
        elif status.coverage != SignatureCoverageLevel.ENTIRE_FILE:
            self.problem("data/dossier.pdf: content was added after the PDF was signed")
        elif fingerprint != record.get("certificate_sha256"):
            self.problem(
                f"data/dossier.pdf: signed by certificate {fingerprint}, not {record.get('certificate_sha256')} "
                "named in data/dossier.json"
            )
        else:
            stamp = f", timestamped by {record['timestamped_by']}" if record.get("timestamped_by") else ""
            self.ok(
                f"data/dossier.pdf: PAdES signature intact over the whole file, by {record.get('signer')} "
                f"(certificate SHA-256 {fingerprint}){stamp}"
            )

    def check_timestamps(self, document: Mapping[str, Any], sth: SignedTreeHead) -> None:
        """Each RFC 3161 token listed in dossier.json: over the SHA-256 of the file it names, which is the signed tree
        head's exact message or a web capture's manifest naming its WACZ by the evidence file's hash; with the TSA's
        roots, its signature and certificate chain too."""
        records = document.get("timestamps") or []
        captures = {str(c.get("manifest_file")): c for c in document.get("captures") or [] if isinstance(c, dict)}
        for record in records if isinstance(records, list) else []:
            token_file, data_file = str(record.get("token_file", "")), str(record.get("data_file", ""))
            reply, data = self._read(token_file), self._read(data_file)
            if reply is None or data is None:
                self.problem(f"{token_file or '?'}: the token or the file it covers ({data_file}) is missing")
                continue
            digest = hashlib.sha256(data).hexdigest()
            try:
                imprint = decode_timestamp_response(reply).tst_info.message_imprint.message.hex()
            except ValueError as error:
                self.problem(f"{token_file}: not a timestamp reply ({error})")
                continue
            if imprint != digest or record.get("message_sha256") != digest:
                self.problem(f"{token_file}: covers {imprint}, not {data_file} (SHA-256 {digest})")
                continue
            if record.get("subject") == "checkpoint" and data != sth.message():
                self.problem(f"{data_file}: is not the message of the signed tree head {TREE_HEAD}")
                continue
            if record.get("subject") == "capture" and not self._capture_manifest_holds(data_file, data, captures):
                continue
            if self.tsa_roots is not None:
                try:
                    verify_reply(reply, digest, list(self.tsa_roots))
                except TimestampError as error:
                    self.problem(f"{token_file}: {error}")
                    continue
            checked = "signature and chain verified" if self.tsa_roots is not None else "signature not checked"
            self.ok(
                f"{token_file}: {record.get('tsa_name') or record.get('tsa_url')} at {record.get('gen_time')} "
                f"over {data_file}; {checked}"
            )

    def _capture_manifest_holds(self, data_file: str, data: bytes, captures: Mapping[str, Any]) -> bool:
        capture = captures.get(data_file)
        try:
            manifest = json.loads(data.decode("utf-8"))
            archive = manifest["artefacts"][0]
        except (ValueError, KeyError, IndexError, TypeError):
            self.problem(f"{data_file}: not a capture manifest")
            return False
        if capture is None or archive.get("ern") != capture.get("ern"):
            self.problem(f"{data_file}: no capture of data/dossier.json names it")
            return False
        if self.evidence_sha256.get(archive["ern"]) != archive.get("sha256"):
            self.problem(f"{data_file}: names {archive['ern']} with SHA-256 {archive.get('sha256')}, not its file's")
            return False
        return True

    def check_trails(self, document: Mapping[str, Any], sth: SignedTreeHead) -> None:
        trails = [f for f in self.files if f.startswith("data/custody/") and f != TREE_HEAD]
        for ern in sorted(set(self.evidence_sha256) - {PurePosixPath(f).stem for f in trails}):
            self.problem(f"data/custody/{ern}.json: missing (no custody trail for evidence {ern})")
        in_document = document.get("trails") if isinstance(document.get("trails"), dict) else None
        for rel in trails:
            trail = self._json(rel)
            entries = trail.get("entries") if isinstance(trail, dict) else None
            if not isinstance(entries, list) or not entries or not all(isinstance(e, dict) for e in entries):
                if trail is not None:
                    self.problem(f"{rel}: not a custody trail {{ern, sha256, entries: [...]}}")
                continue
            before = len(self.report.problems)
            ern = trail.get("ern")
            if rel != f"data/custody/{ern}.json" or ern not in self.evidence_sha256:
                self.problem(f"{rel}: the trail of {ern!r}, which is not an evidence item of data/dossier.json")
            elif trail.get("sha256") != self.evidence_sha256[ern]:
                self.problem(
                    f"{rel}: sha256 expected {self.evidence_sha256[ern]} (the evidence file) "
                    f"found {trail.get('sha256')}"
                )
            if in_document is not None and in_document.get(ern) != entries:
                self.problem(f"data/dossier.json: trails[{ern!r}] differs from {rel}")
            previous: dict[str, Any] | None = None
            for entry in entries:
                self._check_entry(rel, entry, previous, sth)
                previous = entry
            if len(self.report.problems) == before:
                self.ok(f"{rel}: {len(entries)} entries; hashes recompute, links hold, inclusion proofs verify")

    def _check_entry(
        self, rel: str, entry: dict[str, Any], previous: dict[str, Any] | None, sth: SignedTreeHead
    ) -> None:
        seq, stored, prev_hash = entry.get("seq"), entry.get("entry_hash"), entry.get("prev_hash")
        label = f"{rel}: entry {seq}"
        if type(seq) is not int:
            self.problem(f"{label}: seq is not an integer")
            return
        if previous is not None and not (type(previous.get("seq")) is int and seq > previous["seq"]):
            self.problem(f"{label}: follows entry {previous.get('seq')}: not in seq order")
        try:
            computed = entry_hash({k: v for k, v in entry.items() if k not in NOT_HASHED})
        except (TypeError, ValueError, RecursionError) as error:
            computed = f"(cannot be encoded: {error})"
        if stored != computed:
            self.problem(f"{label}: entry_hash expected {computed} found {stored}")
        if seq == 1 and prev_hash != GENESIS_HASH:
            self.problem(f"{label}: prev_hash expected {GENESIS_HASH} (genesis) found {prev_hash}")
        if previous is not None and previous.get("seq") == seq - 1 and prev_hash != previous.get("entry_hash"):
            self.problem(
                f"{label}: prev_hash expected {previous.get('entry_hash')} (entry_hash of entry {seq - 1}) "
                f"found {prev_hash}"
            )
        if entry.get("leaf_index") != seq - 1:
            self.problem(f"{label}: leaf_index expected {seq - 1} found {entry.get('leaf_index')!r}")
        try:
            proof = entry.get("inclusion_proof")
            if not isinstance(stored, str) or not isinstance(proof, list):
                raise TypeError("entry_hash or inclusion_proof of the wrong type")
            included = verify_inclusion(
                hash_from_hex(stored),
                seq - 1,
                sth.tree_size,
                proof_from_hex(proof),
                hash_from_hex(sth.root_hash),
            )
        except (TypeError, ValueError):
            included = False
        if not included:
            self.problem(
                f"{label}: the inclusion proof does not lead to the signed root {sth.root_hash} "
                f"(tree size {sth.tree_size})"
            )
