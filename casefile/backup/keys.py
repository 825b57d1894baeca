"""The instance's keys in a backup: encrypted under a passphrase, never in the clear.

The file (`data/keys.enc` in a bag, or what `backup export-keys` writes) is JSON: scrypt parameters, salt, nonce
and the AES-256-GCM ciphertext of a JSON document holding the Ed25519 signing key (PEM), the field keys (base64,
first encrypts) and the session secret. The format name is the associated data, so a ciphertext cannot be
passed off as another kind of file.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from casefile.backup import BackupError
from casefile.config import Settings, parse_field_keys, write_secret
from casefile.custody.signing import key_id, load_private_key, public_key_pem

FORMAT = "casefile-keys/1"
# scrypt at n=2**15, r=8: 32 MiB and a fraction of a second per attempt, which is what slows a guesser down.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**15, 8, 1
MIN_PASSPHRASE = 12
PASSPHRASE_ENV = "CASEFILE_BACKUP_PASSPHRASE"  # noqa: S105 - the variable's name, not a secret


class WrongPassphrase(BackupError):
    pass


@dataclass(frozen=True)
class KeyBundle:
    signing_key_pem: bytes
    field_keys: tuple[bytes, ...]
    secret_key: str

    @property
    def public_key_pem(self) -> bytes:
        return public_key_pem(load_private_key(self.signing_key_pem))

    @property
    def key_id(self) -> str:
        return key_id(load_private_key(self.signing_key_pem))

    def to_json(self) -> bytes:
        return json.dumps(
            {
                "signing_key_pem": self.signing_key_pem.decode("ascii"),
                "field_keys": [base64.b64encode(k).decode("ascii") for k in self.field_keys],
                "secret_key": self.secret_key,
            }
        ).encode()

    @classmethod
    def from_json(cls, raw: bytes) -> KeyBundle:
        data = json.loads(raw)
        bundle = cls(
            data["signing_key_pem"].encode("ascii"),
            parse_field_keys(",".join(data["field_keys"])),
            str(data["secret_key"]),
        )
        load_private_key(bundle.signing_key_pem)  # a malformed key fails here, not at the first checkpoint
        return bundle


def instance_keys(settings: Settings) -> KeyBundle:
    try:
        pem = settings.signing_key_path.read_bytes()
    except OSError as error:
        raise BackupError(f"cannot read the signing key {settings.signing_key_path}: {error.strerror}") from None
    return KeyBundle(pem, settings.field_keys, settings.secret_key)


def read_passphrase(path: Path | None, *, for_encryption: bool) -> str | None:
    """From --passphrase-file (its first line) or CASEFILE_BACKUP_PASSPHRASE; None when neither is given."""
    if path is not None:
        try:
            with path.open(encoding="utf-8") as handle:
                passphrase = handle.readline().rstrip("\r\n")
        except (OSError, UnicodeDecodeError) as error:
            raise BackupError(f"cannot read the passphrase file {path}: {error}") from None
    else:
        passphrase = os.environ.get(PASSPHRASE_ENV, "")
        if not passphrase:
            return None
    if not passphrase:
        raise BackupError("the passphrase is empty")
    if for_encryption and len(passphrase) < MIN_PASSPHRASE:
        raise BackupError(f"the passphrase must be at least {MIN_PASSPHRASE} characters long")
    return passphrase


def _derive(passphrase: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return Scrypt(salt=salt, length=32, n=n, r=r, p=p).derive(passphrase.encode("utf-8"))


def encrypt_keys(bundle: KeyBundle, passphrase: str) -> bytes:
    salt, nonce = secrets.token_bytes(16), secrets.token_bytes(12)
    ciphertext = AESGCM(_derive(passphrase, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P)).encrypt(
        nonce, bundle.to_json(), FORMAT.encode()
    )
    document = {
        "format": FORMAT,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "kdf": {"name": "scrypt", "n": SCRYPT_N, "r": SCRYPT_R, "p": SCRYPT_P},
        "salt": base64.b64encode(salt).decode("ascii"),
        "cipher": "AES-256-GCM",
        "nonce": base64.b64encode(nonce).decode("ascii"),
        "ciphertext": base64.b64encode(ciphertext).decode("ascii"),
    }
    return json.dumps(document, indent=2).encode() + b"\n"


def decrypt_keys(raw: bytes, passphrase: str) -> KeyBundle:
    try:
        document: dict[str, Any] = json.loads(raw)
        if document.get("format") != FORMAT or document["kdf"]["name"] != "scrypt":
            raise BackupError(f"not a {FORMAT} key file")
        kdf = document["kdf"]
        # Bounds: a forged file must not make us allocate gigabytes.
        n, r, p = int(kdf["n"]), int(kdf["r"]), int(kdf["p"])
        if not (2**10 <= n <= 2**20 and 1 <= r <= 32 and 1 <= p <= 16):
            raise BackupError("the key file's scrypt parameters are out of bounds")
        salt = base64.b64decode(document["salt"], validate=True)
        nonce = base64.b64decode(document["nonce"], validate=True)
        ciphertext = base64.b64decode(document["ciphertext"], validate=True)
    except (ValueError, KeyError, TypeError, binascii.Error) as error:
        raise BackupError(f"the key file is malformed: {error}") from None
    try:
        plain = AESGCM(_derive(passphrase, salt, n, r, p)).decrypt(nonce, ciphertext, FORMAT.encode())
    except InvalidTag:
        raise WrongPassphrase("the keys do not decrypt: wrong passphrase, or the key file was altered") from None
    try:
        return KeyBundle.from_json(plain)
    except (ValueError, KeyError, TypeError) as error:
        raise BackupError(f"the decrypted keys are malformed: {error}") from None


# --- restore ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class KeyWrite:
    """One key file restore writes: `aside` is the unused key generated on the target's first run, kept."""

    name: str
    path: Path
    data: bytes
    aside: Path | None


@dataclass
class KeyPlan:
    writes: list[KeyWrite]
    notes: list[str]


def plan_key_restore(settings: Settings, bundle: KeyBundle) -> KeyPlan:
    """Decide where each backed-up key goes, before anything is restored (raises BackupError to refuse).

    A key the target already has is left alone. A different key in the instance folder was generated on the
    first run of this (empty) instance and has signed and encrypted nothing: it is moved aside, not deleted. A
    different key the operator provided (CASEFILE_SIGNING_KEY's file, CASEFILE_FIELD_KEYS, CASEFILE_SECRET_KEY)
    is never overwritten: restore refuses and says which setting to change."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    instance = settings.instance_path
    plan = KeyPlan([], [])

    def aside(path: Path) -> Path:
        return path.with_name(f"{path.name}.before-restore-{stamp}")

    signing = settings.signing_key_path
    current = signing.read_bytes() if signing.exists() else None
    if current is None:
        plan.writes.append(KeyWrite("signing key", signing, bundle.signing_key_pem, None))
    elif _same_signing_key(current, bundle.signing_key_pem):
        plan.notes.append(f"signing key: already in place ({signing})")
    elif signing.resolve() == (instance / "signing_key.pem").resolve():
        plan.writes.append(KeyWrite("signing key", signing, bundle.signing_key_pem, aside(signing)))
    else:
        raise BackupError(
            f"the signing key at {signing} (CASEFILE_SIGNING_KEY) is not the backup's and is not overwritten: "
            "point CASEFILE_SIGNING_KEY at an empty location or remove that file, then restore again"
        )

    field_file = instance / "field_keys"
    file_keys = _file_field_keys(field_file)
    if set(bundle.field_keys) <= set(settings.field_keys):
        plan.notes.append("field keys: already configured")
    elif file_keys == settings.field_keys:  # the instance file is where this instance's keys come from
        data = b",".join(base64.b64encode(k) for k in bundle.field_keys) + b"\n"
        plan.writes.append(KeyWrite("field keys", field_file, data, aside(field_file)))
    else:
        raise BackupError(
            "CASEFILE_FIELD_KEYS does not hold the backup's field keys, so protected identities would not decrypt: "
            "set it to the backed-up keys (`backup export-keys` on the old instance) or unset it, then restore again"
        )

    secret_file = instance / "secret_key"
    file_secret = secret_file.read_text().strip() if secret_file.exists() else None
    if settings.secret_key == bundle.secret_key:
        plan.notes.append("secret key: already configured")
    elif file_secret == settings.secret_key:
        plan.writes.append(KeyWrite("secret key", secret_file, bundle.secret_key.encode() + b"\n", aside(secret_file)))
    else:
        # Only sessions depend on it: a different secret logs everyone out, it loses no evidence.
        plan.notes.append(
            "secret key: CASEFILE_SECRET_KEY is set, the backed-up one was not written (users log in again)"
        )
    return plan


def apply_key_plan(plan: KeyPlan) -> list[str]:
    done = []
    for write in plan.writes:
        if write.aside is not None:
            os.replace(write.path, write.aside)
            done.append(f"{write.name}: the unused key generated on first run was moved to {write.aside}")
        write_secret(write.path, write.data)
        done.append(f"{write.name}: restored to {write.path} (mode 0600)")
    return done


def _same_signing_key(a: bytes, b: bytes) -> bool:
    try:
        return key_id(load_private_key(a)) == key_id(load_private_key(b))
    except ValueError:
        return False


def _file_field_keys(path: Path) -> tuple[bytes, ...] | None:
    try:
        return parse_field_keys(path.read_text())
    except (OSError, ValueError):
        return None
