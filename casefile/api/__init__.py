"""JSON API under /api/v1: Bearer tokens, `{"error": {...}}` errors, paginated lists, and an OpenAPI
document built from the same declarations that register the routes, so the spec cannot drift."""

from casefile.api.core import api_bp

# Route modules register themselves on import.
from casefile.api import cases as _cases  # noqa: F401  isort: skip
from casefile.api import evidence as _evidence  # noqa: F401  isort: skip
from casefile.api import witnesses as _witnesses  # noqa: F401  isort: skip
from casefile.api import actors as _actors  # noqa: F401  isort: skip
from casefile.api import dossiers as _dossiers  # noqa: F401  isort: skip
from casefile.search import api as _search  # noqa: F401  isort: skip
from casefile.api import openapi as _openapi  # noqa: F401  isort: skip

__all__ = ["api_bp"]
