"""What the search tests share: a team (an investigator with an API token and one case) that creates things through
the API, and helpers that search and read the results. Kept out of conftest.py so test modules import it by a
unique module name."""

from __future__ import annotations

import uuid
from io import BytesIO
from typing import Any

from casefile.api.schemas import page_of
from casefile.search.api import SEARCH_RESULT

from support import Account, Api, validate

SEARCHABLE = ("incident", "actor", "evidence", "witness")


class Team:
    """An investigator with an API token and one case, and helpers that create things through the API."""

    def __init__(self, api: Api, account: Account, case_id: uuid.UUID, reference: str) -> None:
        self.api = api
        self.account = account
        self.case_id = case_id
        self.reference = reference

    def created(self, path: str, **kw: Any) -> dict[str, Any]:
        response = self.api.post(path, **kw)
        assert response.status_code == 201, response.get_data(as_text=True)[:500]
        return response.get_json()

    def incident(self, title: str, **fields: Any) -> dict[str, Any]:
        return self.created(f"/cases/{self.case_id}/incidents", json={"title": title, **fields})

    def actor(self, name: str, aliases: list[str] | None = None, kind: str = "person") -> dict[str, Any]:
        # Search fixtures hold deliberate look-alikes: created past the likely-duplicate check.
        data = {"kind": kind, "name": name, "aliases": aliases or [], "confirm_new": True}
        return self.created(f"/cases/{self.case_id}/actors", json=data)

    def witness(self, full_name: str) -> dict[str, Any]:
        return self.created(f"/cases/{self.case_id}/witnesses", json={"full_name": full_name})

    def evidence(self, title: str, content: bytes = b"notes", name: str = "notes.txt", **fields: Any) -> dict[str, Any]:
        # Several items share the default content: each is its own item here (a copy), as the searches expect.
        data = {"kind": "document", "title": title, "on_duplicate": "copy", **fields, "file": (BytesIO(content), name)}
        response = self.api.post(f"/cases/{self.case_id}/evidence", data=data, content_type="multipart/form-data")
        response.close()
        response.request.input_stream.close()
        assert response.status_code == 201, response.get_data(as_text=True)[:500]
        return response.get_json()

    def search(self, q: str, **params: Any) -> dict[str, Any]:
        return search_json(self.api, q, **params)


def search_json(api: Api, q: str, **params: Any) -> dict[str, Any]:
    response = api.get("/search", query_string={"q": q, **params})
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    body = response.get_json()
    validate(page_of(SEARCH_RESULT), body)
    return body


def found(body: dict[str, Any]) -> set[tuple[str, str]]:
    return {(item["object_type"], item["title"]) for item in body["items"]}
