"""Every model, imported in one place so the metadata is complete for Alembic and the tests."""

from casefile.auth.models import ApiToken, LoginAttempt, Membership, User
from casefile.cases.models import Case, Incident
from casefile.db import Base

metadata = Base.metadata

__all__ = ["ApiToken", "Case", "Incident", "LoginAttempt", "Membership", "User", "metadata"]
