"""Make the keys of a multi-machine installation: `python -m casefile.keygen DIR [--organisation NAME]`.

Every web server and worker must read the same keys (sessions signed on one are checked on another, witness
identities encrypted by one are read by another, dossiers sealed by any verify against one key). So with
CASEFILE_GENERATE_KEYS=0 no machine generates a key: the operator makes one set here, once, keeps a copy offline
(`flask --app app backup export-keys` exports them encrypted) and installs DIR on every machine at the same path.

DIR gets, each mode 0600 (DIR 0700), never overwriting a file already there:
- `signing_key.pem`: the custody ledger's Ed25519 signing key (CASEFILE_SIGNING_KEY);
- `document_signing.pem`: the dossier PDFs' key and self-issued certificate (CASEFILE_DOCUMENT_SIGNING; replace it
  with one from your certificate authority when you have one);
- `keys.env`: an environment file (systemd's EnvironmentFile) naming those two files and holding
  CASEFILE_SECRET_KEY, CASEFILE_FIELD_KEYS and CASEFILE_GENERATE_KEYS=0.
"""

from __future__ import annotations

import argparse
import base64
import secrets
import sys
from pathlib import Path

from casefile.config import write_secret
from casefile.custody.signing import generate_private_key_pem
from casefile.dossier.pdfsign import make_document_signer_pem

ENV_FILE = "keys.env"


def make_keys(folder: Path, organisation: str) -> Path:
    """Write a new set of keys into `folder` (FileExistsError if any of them is there); the environment file's path."""
    folder = folder.resolve()
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    names = ("signing_key.pem", "document_signing.pem", ENV_FILE)
    present = [name for name in names if (folder / name).exists()]
    if present:
        raise FileExistsError(f"{folder} already holds {', '.join(present)}: keys are never overwritten")
    write_secret(folder / "signing_key.pem", generate_private_key_pem())
    write_secret(folder / "document_signing.pem", make_document_signer_pem(organisation))
    lines = [
        "# Casefile keys (python -m casefile.keygen): the same file on every web server and worker.",
        f"CASEFILE_SECRET_KEY={secrets.token_hex(32)}",
        # Rotation: put a new key first and keep the old ones after it (the first encrypts, all decrypt).
        f"CASEFILE_FIELD_KEYS={base64.b64encode(secrets.token_bytes(32)).decode()}",
        f"CASEFILE_SIGNING_KEY={folder / 'signing_key.pem'}",
        f"CASEFILE_DOCUMENT_SIGNING={folder / 'document_signing.pem'}",
        "CASEFILE_GENERATE_KEYS=0",
    ]
    write_secret(folder / ENV_FILE, ("\n".join(lines) + "\n").encode())
    return folder / ENV_FILE


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m casefile.keygen", description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path, help="where to write the keys (created, mode 0700)")
    parser.add_argument("--organisation", default="Casefile", help="the name in the document-signing certificate")
    args = parser.parse_args(argv)
    try:
        env_file = make_keys(args.folder, args.organisation)
    except (FileExistsError, OSError) as error:
        print(f"keygen: {error}", file=sys.stderr)
        return 1
    print(f"Keys written to {env_file.parent}; give every machine {env_file} as an EnvironmentFile.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
