"""Fixtures of the provenance tests: one OpenPGP key and one C2PA test signer per session."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

import provenance_support


@pytest.fixture(scope="session")
def pgp_key() -> Any:
    return provenance_support.new_pgp_key()


@pytest.fixture(scope="session")
def c2pa_signer_info() -> tuple[bytes, bytes]:
    return provenance_support.c2pa_signer_info()


@pytest.fixture
def sign_jpeg(c2pa_signer_info: tuple[bytes, bytes]) -> Callable[..., bytes]:
    return provenance_support.jpeg_signer(c2pa_signer_info)
