"""Pages show or hide what a role may do by asking the one authorization gate (casefile/auth/gate.py, handed to
every template by casefile/web.py), never by testing a role in the template."""

from __future__ import annotations

import re
from pathlib import Path

from flask import Flask

from support import REPO, login

TEMPLATES = REPO / "templates"
# A rule about the logged-in user's role written into a template.
ROLE_RULE = re.compile(r"current_user\.(role|is_admin)\b")


def test_no_template_tests_the_users_role_itself() -> None:
    found = [
        f"{path.relative_to(REPO)}:{number}: {line.strip()}"
        for path in sorted(TEMPLATES.rglob("*.html"))
        for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), start=1)
        if ROLE_RULE.search(line) and "|label" not in line  # showing the role's name is not a rule
    ]
    assert not found, "\n".join(found)


def test_the_pages_show_what_the_gate_allows(app: Flask, make_user) -> None:
    links = {"Users": 'href="/admin/users"', "Audit log": 'href="/admin/audit"', "New case": 'href="/cases/new"'}
    expected = {
        "admin": {"Users", "Audit log", "New case"},
        "reviewer": {"Audit log"},
        "investigator": {"New case"},
    }
    for role, shown in expected.items():
        client = app.test_client()
        login(client, make_user(role))
        page = client.get("/").get_data(as_text=True)
        assert {name for name, href in links.items() if href in page} == shown, role
    anonymous = app.test_client().get("/login").get_data(as_text=True)
    assert not any(href in anonymous for href in links.values())
