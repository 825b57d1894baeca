"""The instance's Ed25519 signing key, kept outside the database (a PEM file named by configuration)."""

from __future__ import annotations

from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from casefile.custody.signing import load_private_key, public_key_pem


class InstanceKey:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._private: Ed25519PrivateKey | None = None

    @property
    def private(self) -> Ed25519PrivateKey:
        if self._private is None:
            try:
                self._private = load_private_key(self.path.read_bytes())
            except FileNotFoundError:
                raise RuntimeError(f"signing key file {self.path} is missing") from None
        return self._private

    @property
    def public_pem(self) -> bytes:
        return public_key_pem(self.private)
