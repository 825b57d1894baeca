"""JSON Schemas of imports in the API."""

from __future__ import annotations

from casefile.api.schemas import DATETIME, UUID, enum_of, nullable, obj, string
from casefile.evidence.models import Classification
from casefile.intake.models import ExportFormat, ExportState, ImportKind, ImportState, RowStatus, UploadState
from casefile.jobs.schemas import JOB

COUNTS = obj({status.value: {"type": "integer", "minimum": 0} for status in RowStatus})

IMPORT = obj(
    {
        "id": UUID,
        "case_id": UUID,
        "kind": enum_of(ImportKind),
        "state": enum_of(ImportState),
        "archive_name": nullable(string()),
        "archive_sha256": nullable(string()),
        "manifest_name": nullable(string()),
        "manifest_sha256": nullable(string()),
        "date_order": {"type": "string", "enum": ["dmy", "mdy"]},
        "error": nullable(string()),
        "counts": COUNTS,
        "job_id": nullable(UUID),
        "created_by": nullable(string()),
        "created_at": DATETIME,
        "finished_at": nullable(DATETIME),
    }
)

IMPORT_ROW = obj(
    {
        "number": {"type": "integer", "description": "the row's line in the spreadsheet (the header is line 1)"},
        "status": enum_of(RowStatus),
        "reason": string(),
        "file": string(),
        "label": string(),
        "sha256": nullable(string()),
        "target_id": nullable(UUID),
        "ern": nullable(string()),
    }
)

IMPORT_DETAIL = {
    **IMPORT,
    "properties": {
        **IMPORT["properties"],
        "rows": {"type": "array", "items": IMPORT_ROW},
        "rows_page": obj({"page": {"type": "integer"}, "per_page": {"type": "integer"}, "total": {"type": "integer"}}),
    },
}

IMPORT_ACCEPTED = {**IMPORT, "properties": {**IMPORT["properties"], "job": JOB}}

IMPORT_UPLOAD = {
    "type": "object",
    "properties": {
        "kind": {**enum_of(ImportKind), "description": "evidence (default): a ZIP; incidents or actors: a manifest"},
        "archive": {"type": "string", "format": "binary", "description": "a ZIP of the files (evidence)"},
        "manifest": {
            "type": "string",
            "format": "binary",
            "description": "CSV or XLSX; for evidence, optional when the ZIP holds manifest.csv or manifest.xlsx",
        },
        "date_order": {"type": "string", "enum": ["dmy", "mdy"], "description": "how to read 12/06/2020"},
    },
}

UPLOAD = obj(
    {
        "id": UUID,
        "case_id": UUID,
        "state": enum_of(UploadState),
        "offset": {"type": "integer"},
        "length": {"type": "integer"},
        "filename": string(),
        "sha256": nullable(string()),
        "evidence_id": nullable(UUID),
        "ern": nullable(string()),
        "error": nullable(string()),
        "expires_at": DATETIME,
    }
)

EXPORT = obj(
    {
        "id": UUID,
        "case_id": UUID,
        "format": enum_of(ExportFormat),
        "max_classification": enum_of(Classification),
        "state": enum_of(ExportState),
        "sha256": nullable(string()),
        "size": nullable({"type": "integer"}),
        "rows": {"type": "object", "description": "rows per table"},
        "error": nullable(string()),
        "job_id": nullable(UUID),
        "created_at": DATETIME,
    }
)

EXPORT_ACCEPTED = {**EXPORT, "properties": {**EXPORT["properties"], "job": JOB}}

EXPORT_CREATE = {
    "type": "object",
    "properties": {
        "format": {**enum_of(ExportFormat), "description": "xlsx (default): a workbook; csv: a ZIP of CSV files"},
        "max_classification": {
            **enum_of(Classification),
            "description": "the most restricted items included (default confidential)",
        },
    },
    "additionalProperties": False,
}
