"""Fixtures of the search tests; the helpers live in search_support.py."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest

from search_support import Team
from support import Account, Api


@pytest.fixture
def team(api_for: Callable[..., tuple[Api, Account]], make_case: Callable[..., uuid.UUID]) -> Callable[..., Team]:
    def factory(reference: str = "TRH", account: Account | None = None) -> Team:
        api, acc = api_for("investigator", account)
        return Team(api, acc, make_case(acc, reference), reference)

    return factory
