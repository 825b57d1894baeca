#!/usr/bin/env python3
"""Verify a Casefile referral dossier with nothing but Python 3.8+ (and OpenSSL 3 for the signatures).

    python3 verify_dossier.py [BAG_FOLDER | DOSSIER.zip] [--key-id HEX]    (default: the bag holding this script)

A ZIP is read in place, never extracted; absolute paths, "..", links and files outside one top folder are refused.
Exit status: 0 all checks passed, signatures included; 1 problems found; 2 unreadable; 3 all other checks passed
but no working OpenSSL 3 was found, so the Ed25519 signatures were NOT checked (run the printed command elsewhere).
1. BagIt (RFC 8493): bagit.txt; Payload-Oxum; both payload manifests (SHA-256, SHA-512) list every file under
   data/ with matching hashes, none missing, none unlisted; both tag manifests cover every other file but the .sig.
2. tagmanifest-sha256.txt.sig: Ed25519 signature of tagmanifest-sha256.txt (which fixes every other hash) by
   casefile-public-key.pem, via openssl. Compare the key id printed with the sender's, or pass it as --key-id.
3. data/dossier.json: each evidence file's size, SHA-256 and SHA-512 match its record.
4. data/custody/: every entry_hash recomputes (SHA-256 of the canonical JSON of the entry's ledger fields); every
   RFC 6962 inclusion proof leads to the root of the signed tree head (signature checked by openssl); each trail's
   item SHA-256 is its file's. One ledger chains all the organisation's entries, so one item's entries are rarely
   consecutive: prev_hash is checkable only between consecutive seqs (seq 1: genesis); inclusion proofs tie the rest.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import hashlib
import json
import os
import re
import shutil
import stat
import subprocess  # runs openssl with a fixed argument list, never through a shell  # nosec B404
import sys
import tempfile
import zipfile
import zlib

# As in casefile/dossier/document.py (this script runs without Casefile); tests/dossier/test_document.py compares.
GENESIS_HASH, TREE_HEAD_TYPE, SCHEMA = "0" * 64, "casefile-tree-head-v1", "casefile-dossier/2"
TREE_HEAD_FIELDS = {"tree_size": int, "root_hash": str, "timestamp": str, "signature": str, "key_id": str}
KEY_FILE, SIGNED_FILE, SIG_FILE = "casefile-public-key.pem", "tagmanifest-sha256.txt", "tagmanifest-sha256.txt.sig"
TAGMANIFEST_512 = "tagmanifest-sha512.txt"  # not signed, but must agree with the files the signature covers
TREE_HEAD = "data/custody/tree-head.json"
ALGORITHMS = ("sha256", "sha512")
TAG_FILES = ("bagit.txt", "bag-info.txt", "README.txt", "verify_dossier.py", KEY_FILE)  # + manifests, checked apart
NOT_HASHED = ("entry_hash", "leaf_index", "inclusion_proof")  # leaf_index and the proof are added by the builder
ED25519_SPKI = bytes.fromhex("302a300506032b6570032100")  # DER prefix of an Ed25519 SubjectPublicKeyInfo
HEX64 = re.compile(r"[0-9a-f]{64}")
CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
OPENSSL = "openssl pkeyutl -verify -pubin -inkey {0} -rawin -in {1} -sigfile {2}"  # {0} key, {1} data, {2} signature
# RFC 8032 section 7.1, TEST 2: only an openssl that verifies this may judge the dossier's signatures.
PROBE_KEY = b"MCowBQYDK2VwAyEAPUAXw+hDiVqStwqnTRt+vJyYLM8uxJaMwM1V8Sr0Zgw="
PROBE_SIG = base64.b64decode("kqAJqfDUyrhyDoILX2QlQKKye1QWUD+Ps3YiI+vbadoIWsHkPhWZbkWPNhPQ8R2MOHsurrQwKu6wDSkWErsMAA==")
PROBE = (b"-----BEGIN PUBLIC KEY-----\n" + PROBE_KEY + b"\n-----END PUBLIC KEY-----\n", b"r", PROBE_SIG)
PROBLEMS: list[str] = []


def ok(message):
    print("ok       " + message)


def problem(message):
    PROBLEMS.append(message)
    print("PROBLEM  " + message)


class Bag:
    """The files of one bag (paths relative to the bag folder), in a folder or read straight out of a ZIP."""

    def __init__(self, path):
        self.archive, self.files, self._digests = None, {}, {}
        if os.path.isdir(path):
            self.name = os.path.basename(os.path.abspath(path))
            for folder, dirs, names in os.walk(path):
                for name in dirs + names:
                    full = os.path.join(folder, name)
                    if os.path.islink(full):
                        raise ValueError(f"{full}: symbolic links are not allowed in a bag")
                    if name in names:
                        self.files[os.path.relpath(full, path).replace(os.sep, "/")] = full
            return
        self.archive, tops = zipfile.ZipFile(path), set()
        for info in self.archive.infolist():
            name, parts = info.filename, info.filename.rstrip("/").split("/")
            if name.startswith("/") or "\\" in name or ":" in name or any(p in ("", ".", "..") for p in parts):
                raise ValueError(f"unsafe path in the ZIP, refused: {name!r}")
            if stat.S_ISLNK(info.external_attr >> 16) or info.flag_bits & 1:
                raise ValueError(f"link or encrypted entry in the ZIP, refused: {name!r}")
            tops.add(parts[0])
            if not name.endswith("/"):  # not a folder entry
                if len(parts) == 1 or "/".join(parts[1:]) in self.files:
                    raise ValueError(f"file outside the bag folder or twice in the ZIP, refused: {name!r}")
                self.files["/".join(parts[1:])] = info
        if len(tops) != 1:
            raise ValueError(f"the ZIP must hold exactly one bag folder, found {len(tops)}: {sorted(tops)}; refused")
        self.name = tops.pop()

    def open(self, rel):
        return self.archive.open(self.files[rel]) if self.archive else open(self.files[rel], "rb")

    def read(self, rel):
        if rel not in self.files:
            return b""  # the manifest checks report missing files
        with self.open(rel) as handle:
            return handle.read()

    def digest(self, rel):
        """{"size": n, "sha256": hex, "sha512": hex} of one file, read once in 1 MiB chunks."""
        if rel not in self._digests:
            hashers, size = {alg: hashlib.new(alg) for alg in ALGORITHMS}, 0
            with self.open(rel) as handle:
                for chunk in iter(lambda: handle.read(1 << 20), b""):
                    size += len(chunk)
                    for hasher in hashers.values():
                        hasher.update(chunk)
            self._digests[rel] = dict({alg: h.hexdigest() for alg, h in hashers.items()}, size=size)
        return self._digests[rel]


def parse_tags(text):
    """bagit.txt / bag-info.txt: "Name: value" lines, continuation lines indented; the first value wins."""
    tags, name = {}, None
    for line in text.splitlines():
        if line[:1] in (" ", "\t") and name and line.strip():
            tags[name] += " " + line.strip()
        elif ":" in line:
            name, value = (part.strip() for part in line.split(":", 1))
            tags.setdefault(name, value)
        elif line.strip():
            raise ValueError(f"not a tag line: {line!r}")
    return tags


def check_manifest(bag, manifest, alg, present):
    """A (tag) manifest, strictly parsed ('<hex> <path>' lines), against the files ``present``."""
    if manifest not in bag.files:
        return problem(f"{manifest}: missing")
    before, listed = len(PROBLEMS), {}
    line_format = re.compile(r"([0-9a-fA-F]{%d})[ \t]+\*?(\S.*)" % (2 * hashlib.new(alg).digest_size))  # noqa: UP031
    for number, line in enumerate(bag.read(manifest).decode("utf-8", "replace").split("\n"), 1):
        match = line_format.fullmatch(line[:-1] if line.endswith("\r") else line)
        path = match and re.sub(r"%(0[AaDd]|25)", lambda m: chr(int(m.group(1), 16)), match.group(2))
        if not match or path in listed:
            if line:
                problem(f"{manifest} line {number}: malformed or repeated: {line[:120]!r}")
            continue
        listed[path] = match.group(1).lower()
    for path in sorted(set(listed) - set(present)):
        problem(f"{path}: listed in {manifest} but missing from the bag")
    for path in sorted(set(present) - set(listed)):
        problem(f"{path}: present in the bag but not listed in {manifest}")
    for path in sorted(set(listed) & set(present)):
        if bag.digest(path)[alg] != listed[path]:
            problem(f"{path}: {alg} expected {listed[path]} ({manifest}) found {bag.digest(path)[alg]}")
    if len(PROBLEMS) == before:
        ok(f"{manifest}: {len(listed)} files, none missing, none unlisted, every {alg} matches")


def check_bag(bag):
    """bagit.txt, bag-info.txt (returned as a dict) and the four manifests."""
    try:
        declaration = parse_tags(bag.read("bagit.txt").decode("utf-8"))
        info = parse_tags(bag.read("bag-info.txt").decode("utf-8"))
    except ValueError as error:
        problem(f"bagit.txt or bag-info.txt: unreadable ({error})")
        declaration, info = {}, {}
    encoding = declaration.get("Tag-File-Character-Encoding", "").upper()
    if declaration.get("BagIt-Version") in ("0.97", "1.0") and encoding == "UTF-8":
        ok(f"bagit.txt: BagIt {declaration['BagIt-Version']}, UTF-8")
    else:
        problem(f"bagit.txt: expected BagIt-Version 1.0 and UTF-8, found {declaration!r}")
    payload = [path for path in bag.files if path.startswith("data/")]
    oxum = f"{sum(bag.digest(path)['size'] for path in payload)}.{len(payload)}"
    if info.get("Payload-Oxum") == oxum:
        ok(f"bag-info.txt: Payload-Oxum {oxum} (bytes.files) matches")
    else:
        problem(f"bag-info.txt: Payload-Oxum expected {info.get('Payload-Oxum')} found {oxum}")
    for name in (name for name in TAG_FILES if name not in bag.files):
        problem(f"{name}: missing")  # the tag manifests would only miss it if it were also left out of them
    tags = [p for p in bag.files if not p.startswith("data/") and p not in (SIGNED_FILE, SIG_FILE, TAGMANIFEST_512)]
    for alg in ALGORITHMS:
        check_manifest(bag, f"manifest-{alg}.txt", alg, payload)
        check_manifest(bag, f"tagmanifest-{alg}.txt", alg, tags)
    return info


def unbase64(text):
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError, TypeError):
        return b""


def public_key_id(pem):
    """Hex SHA-256 of the key's DER SubjectPublicKeyInfo (the Casefile key id); None unless an Ed25519 PEM."""
    match = re.fullmatch(rb"-----BEGIN PUBLIC KEY-----\r?\n([A-Za-z0-9+/=\r\n]+)-----END PUBLIC KEY-----\r?\n?", pem)
    text = b"".join(match.group(1).split()) if match else b""
    der = unbase64(text)
    if len(der) != 44 or not der.startswith(ED25519_SPKI) or base64.b64encode(der) != text:
        return None  # the last test refuses non-canonical base64 too
    return hashlib.sha256(der).hexdigest()


def load_json(bag, path):
    try:
        return json.loads(bag.read(path).decode("utf-8")) if path in bag.files else problem(f"{path}: missing")
    except ValueError as error:
        problem(f"{path}: not valid UTF-8 JSON ({error})")


def check_evidence(bag, document):
    """{ERN: SHA-256 of its file as found} for the evidence that data/dossier.json lists."""
    found, referenced, evidence = {}, set(), document.get("evidence")
    if document.get("schema") not in ("casefile-dossier/1", SCHEMA) or not isinstance(evidence, list):
        problem(f"data/dossier.json: not a {SCHEMA} document with an evidence list")
        evidence = []
    for record in evidence:
        record = record if isinstance(record, dict) else {}
        ern, path = record.get("ern"), f"data/{record.get('file')}"
        referenced.add(path)
        if path not in bag.files or not path.startswith("data/evidence/"):
            problem(f"data/dossier.json: evidence {ern}: file {path} missing from the bag")
            continue
        digest, before = bag.digest(path), len(PROBLEMS)
        found[ern] = digest["sha256"]
        for field in ("size", *ALGORITHMS):
            if record.get(field) != digest[field]:
                problem(f"{path}: {field} expected {record.get(field)} (dossier.json) found {digest[field]}")
        if len(PROBLEMS) == before:
            ok(f"{path}: {ern}, {digest['size']} bytes, size and hashes match dossier.json")
    for path in sorted(p for p in bag.files if p.startswith("data/evidence/") and p not in referenced):
        problem(f"{path}: not listed in data/dossier.json")
    return found


def root_from_inclusion(leaf, index, size, proof):
    """RFC 9162 section 2.1.3.2: the root that ``proof`` implies for leaf data at ``index``, or None."""
    if not 0 <= index < size:
        return None
    fn, sn, node = index, size - 1, hashlib.sha256(b"\x00" + leaf).digest()
    for sibling in proof:
        if sn == 0:
            return None  # longer than the path
        if fn & 1 or fn == sn:
            node = hashlib.sha256(b"\x01" + sibling + node).digest()
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            node = hashlib.sha256(b"\x01" + node + sibling).digest()
        fn, sn = fn >> 1, sn >> 1
    return node if sn == 0 else None  # sn != 0: shorter than the path


def check_entry(where, entry, previous, root, size):
    """Hash, links and inclusion proof of one custody entry; True if all hold."""
    before, seq, stored, prev_hash = len(PROBLEMS), entry.get("seq"), entry.get("entry_hash"), entry.get("prev_hash")
    try:
        body = CANONICAL.encode({k: v for k, v in entry.items() if k not in NOT_HASHED}).encode("utf-8")
        computed = hashlib.sha256(body).hexdigest()
    except (TypeError, ValueError) as error:
        computed = f"(cannot be encoded: {error})"
    if stored != computed:
        problem(f"{where}: entry {seq}: entry_hash expected {computed} found {stored}")
    if type(seq) is not int or entry.get("leaf_index") != seq - 1:
        return problem(f"{where}: entry {seq!r}: leaf_index expected seq - 1 found {entry.get('leaf_index')!r}")
    if seq == 1 and prev_hash != GENESIS_HASH:
        problem(f"{where}: entry 1: prev_hash expected {GENESIS_HASH} (genesis) found {prev_hash}")
    if previous is not None and previous.get("seq") == seq - 1 and prev_hash != previous.get("entry_hash"):
        expected = previous.get("entry_hash")
        problem(f"{where}: entry {seq}: prev_hash expected {expected} (entry {seq - 1}) found {prev_hash}")
    proof = entry.get("inclusion_proof")
    valid = isinstance(proof, list) and all(isinstance(p, str) and HEX64.fullmatch(p) for p in proof)
    valid = valid and isinstance(stored, str) and HEX64.fullmatch(stored)
    implied = valid and root_from_inclusion(bytes.fromhex(stored), seq - 1, size, list(map(bytes.fromhex, proof)))
    if implied != root:
        problem(f"{where}: entry {seq}: inclusion proof does not lead to the signed root {root.hex()} (size {size})")
    return len(PROBLEMS) == before


def check_custody(bag, document, files):
    """The signed tree head's fields and every custody trail; returns the tree head (or None)."""
    head, fields = load_json(bag, TREE_HEAD), TREE_HEAD_FIELDS
    valid = isinstance(head, dict) and set(head) == set(fields) and all(type(head[k]) is t for k, t in fields.items())
    if not (valid and HEX64.fullmatch(head["root_hash"]) and head["tree_size"] > 0):
        return problem(f"{TREE_HEAD}: not a signed tree head with exactly the fields {sorted(fields)}")
    ok(f"{TREE_HEAD}: tree size {head['tree_size']}, root {head['root_hash']}, {head['timestamp']}")
    if document["custody"].get("tree_head") != head:
        problem(f"data/dossier.json: custody.tree_head differs from {TREE_HEAD}")
    root, size = bytes.fromhex(head["root_hash"]), head["tree_size"]
    trails = [p for p in sorted(bag.files) if p.startswith("data/custody/") and p != TREE_HEAD]
    for ern in sorted(set(files) - {p[len("data/custody/") : -len(".json")] for p in trails}):
        problem(f"data/custody/{ern}.json: missing (no custody trail for evidence {ern})")
    for path in trails:
        trail = load_json(bag, path)
        entries = trail.get("entries") if isinstance(trail, dict) else None
        if not (isinstance(entries, list) and entries and all(isinstance(e, dict) for e in entries)):
            problem(f"{path}: not a custody trail {{ern, sha256, entries: [...]}}")
            continue
        ern, before, previous, good = trail.get("ern"), len(PROBLEMS), None, 0
        if path != f"data/custody/{ern}.json" or ern not in files:
            problem(f"{path}: the trail of {ern!r}, which is not an evidence item of data/dossier.json")
        elif trail.get("sha256") != files[ern]:
            problem(f"{path}: sha256 expected {files[ern]} (the evidence file) found {trail.get('sha256')}")
        for entry in entries:
            seq, last = entry.get("seq"), previous and previous.get("seq")
            if previous is not None and not (type(seq) is int and type(last) is int and seq > last):
                problem(f"{path}: entry {seq!r} follows entry {last!r}: not in seq order")
            good += bool(check_entry(path, entry, previous, root, size))
            previous = entry
        if len(PROBLEMS) == before:
            ok(f"{path}: {good} entries; hashes recompute, links hold, inclusion proofs verify")
    return head


def openssl_verify(openssl, pem, message, signature):
    """(whether openssl says the signature is valid, the first line openssl said)."""
    with tempfile.TemporaryDirectory() as folder:
        paths = [os.path.join(folder, name) for name in ("key.pem", "message", "signature")]
        for path, data in zip(paths, (pem, message, signature)):  # noqa: B905 - strict= needs Python 3.10
            with open(path, "wb") as handle:
                handle.write(data)
        command = [openssl] + [word.format(*paths) for word in OPENSSL.split()[1:]]
        try:  # a fixed argument list, never a shell
            result = subprocess.run(command, capture_output=True, timeout=60)  # noqa: S603
        except (OSError, subprocess.SubprocessError) as error:
            return False, str(error)
    said = (result.stdout + result.stderr).decode("utf-8", "replace").strip() or f"exit status {result.returncode}"
    return result.returncode == 0 and "Signature Verified Successfully" in said, said.splitlines()[0]


def check_signatures(bag, head):
    """Checks both signatures with openssl; False if there is no openssl that can."""
    print("         in the bag folder: " + OPENSSL.format(KEY_FILE, SIGNED_FILE, SIG_FILE))
    openssl = shutil.which("openssl")
    if not openssl or not openssl_verify(openssl, *PROBE)[0]:
        print("NOTE     no working OpenSSL 3 found: the Ed25519 signatures were NOT checked; run the command above")
        return False
    checks = [(f"{SIG_FILE}: Ed25519 signature of {SIGNED_FILE}", bag.read(SIGNED_FILE), bag.read(SIG_FILE))]
    if head is not None:
        signed_head = dict({k: head[k] for k in ("tree_size", "root_hash", "timestamp")}, type=TREE_HEAD_TYPE)
        message = CANONICAL.encode(signed_head).encode("utf-8")
        checks.append((f"{TREE_HEAD}: Ed25519 signature", message, unbase64(head["signature"])))
    for what, message, signature in checks:
        valid, said = openssl_verify(openssl, bag.read(KEY_FILE), message, signature)
        if valid:
            ok(f"{what} by {KEY_FILE} verified (openssl)")
        else:
            problem(f"{what} does NOT verify with {KEY_FILE} ({said})")
    return True


def verify(path, expected_key_id=None):
    """Runs every check (problems land in PROBLEMS); returns False if the signatures could not be checked."""
    bag = Bag(path)
    ok(f"{path}: one bag folder {bag.name}/ with {len(bag.files)} files")
    info = check_bag(bag)
    key_id = public_key_id(bag.read(KEY_FILE))
    if key_id is None or key_id != (expected_key_id or key_id).lower():
        problem(f"{KEY_FILE}: an Ed25519 PEM key with key id {expected_key_id or '(any)'} expected, found {key_id}")
    else:
        ok(f"{KEY_FILE}: Ed25519 key id {key_id}: compare it with the key id the sender gave you separately")
    document = load_json(bag, "data/dossier.json")
    document = document if isinstance(document, dict) else {}
    document["custody"] = document.get("custody") if isinstance(document.get("custody"), dict) else {}
    head = check_custody(bag, document, check_evidence(bag, document))
    if head is not None:
        for where, expected, found in (
            ("bag-info.txt: Casefile-Key-Id", key_id, info.get("Casefile-Key-Id")),
            (f"{TREE_HEAD}: key_id", key_id, head["key_id"]),
            ("data/dossier.json: custody.public_key_id", key_id, document["custody"].get("public_key_id", key_id)),
            ("bag-info.txt: Casefile-Tree-Size", str(head["tree_size"]), info.get("Casefile-Tree-Size")),
        ):
            if found != expected:
                problem(f"{where} expected {expected} (from {KEY_FILE} / {TREE_HEAD}) found {found}")
    return check_signatures(bag, head)


def main(argv=None):
    parser = argparse.ArgumentParser(description="Verify a Casefile referral dossier (a BagIt bag or its ZIP).")
    here = os.path.dirname(os.path.abspath(__file__))
    parser.add_argument("path", nargs="?", default=here, help="bag folder or ZIP (default: this script's folder)")
    parser.add_argument("--key-id", help="the key id (hex SHA-256 of the DER public key) the sender gave you")
    args = parser.parse_args(argv)
    del PROBLEMS[:]
    try:
        signed = verify(args.path, args.key_id)
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile, zlib.error) as error:
        problem(f"cannot read the dossier: {type(error).__name__}: {error}")
        print("NOT VERIFIED")
        return 2
    if PROBLEMS or not signed:
        verdict = f"{len(PROBLEMS)} problem(s)" if PROBLEMS else "intact, but the signatures were NOT checked"
        print(f"NOT VERIFIED: {verdict}")
        return 1 if PROBLEMS else 3
    print("VERIFIED: every check passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
