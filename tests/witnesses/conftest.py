"""Fixtures of the witness tests; the set-ups themselves live in witness_support.py."""

from __future__ import annotations

import pytest
from flask import Flask

from witness_support import WitnessCase, World


@pytest.fixture
def witness_case(app: Flask, make_user, make_case, add_member, api_for) -> WitnessCase:
    return WitnessCase(app, make_user, make_case, add_member, api_for)


@pytest.fixture
def world(app: Flask, make_user, make_case, add_member, api_for) -> World:
    return World(app, make_user, make_case, add_member, api_for)
