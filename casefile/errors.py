"""Errors a user can cause. Views and the API turn them into clear 4xx responses."""

from __future__ import annotations


class CasefileError(Exception):
    status = 400
    code = "bad_request"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class ValidationFailed(CasefileError):
    status = 422
    code = "validation_failed"

    def __init__(self, message: str, *, field: str | None = None, errors: dict[str, str] | None = None):
        super().__init__(message, field=field)
        self.errors = errors or ({field: message} if field else {})


class Conflict(CasefileError):
    status = 409
    code = "conflict"


class NotFound(CasefileError):
    status = 404
    code = "not_found"


class Forbidden(CasefileError):
    status = 403
    code = "forbidden"


class DuplicateFile(Conflict):
    """The uploaded file (by SHA-256) is already an item of the case; the uploader chooses what to do
    (casefile.evidence.models.OnDuplicate)."""

    code = "duplicate"

    def __init__(self, message: str, *, existing: dict[str, str]) -> None:
        super().__init__(message, field="file")
        self.existing = existing
