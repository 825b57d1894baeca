"""JSON API under /api/v1: Bearer tokens, `{"error": {...}}` errors, paginated lists, and an OpenAPI
document built from the same declarations that register the routes, so the spec cannot drift.

Only what every capability shares lives here (route declaration, errors, pagination, common schemas, the
OpenAPI generator). Each capability declares its own routes in `casefile/<capability>/api.py`;
`casefile.create_app` imports those modules before it registers the blueprint."""

from casefile.api.core import api_bp

__all__ = ["api_bp"]
