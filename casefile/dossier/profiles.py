"""Dossier profiles: one YAML file per recipient in config/dossier_profiles/.

A profile is the recipient's practice: which legal frameworks its charges or designation criteria come from (a
sanctions submission carries no Rome Statute charge), the sections of the body in order and the annexes after
them, which classification levels may leave, which witness consent purpose testimony needs, and the language.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import yaml

from casefile import REPO_ROOT
from casefile.dossier.document import ANNEXES, SECTIONS
from casefile.evidence.models import Classification
from casefile.witnesses.models import ConsentPurpose

PROFILE_DIR = REPO_ROOT / "config" / "dossier_profiles"


@dataclass(frozen=True)
class Profile:
    code: str
    title: str
    recipient: str
    sections: tuple[str, ...]
    annexes: tuple[str, ...]
    # Codes of catalogue frameworks whose charges or criteria the dossier may carry; empty: any.
    frameworks: frozenset[str]
    allowed_classifications: frozenset[Classification]
    consent_purpose: ConsentPurpose
    include_actor_identifiers: bool
    language: str
    # Only items whose verification concluded "verified" (casefile/verification); the others are left out, each
    # with that reason.
    verified_only: bool = False

    def to_dict(self) -> dict[str, object]:
        return {
            "code": self.code,
            "title": self.title,
            "recipient": self.recipient,
            "sections": list(self.sections),
            "annexes": list(self.annexes),
            "frameworks": sorted(self.frameworks),
            "allowed_classifications": sorted(c.value for c in self.allowed_classifications),
            "consent_purpose": self.consent_purpose.value,
            "language": self.language,
            "verified_only": self.verified_only,
        }


class ProfileError(ValueError):
    pass


def _load(path: Path) -> Profile:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    try:
        sections = tuple(data["sections"])
        if not set(sections) <= set(SECTIONS):
            raise ProfileError(f"{path.name}: unknown section in {sections}")
        annexes = tuple(data.get("annexes") or ())
        # The analysis annex (gap counts) is never in a profile: the user asks for it with each dossier.
        if not set(annexes) <= set(ANNEXES) - {"analysis"}:
            raise ProfileError(f"{path.name}: unknown annex in {annexes}")
        redaction = data.get("redaction") or {}
        if redaction.get("witnesses", "pseudonym") != "pseudonym":
            raise ProfileError(f"{path.name}: witnesses can only appear by pseudonym")
        return Profile(
            code=str(data["code"]),
            title=str(data["title"]),
            recipient=str(data.get("recipient") or ""),
            sections=sections,
            annexes=annexes,
            frameworks=frozenset(str(code) for code in data.get("frameworks") or ()),
            allowed_classifications=frozenset(Classification(c) for c in data["allowed_classifications"]),
            consent_purpose=ConsentPurpose(data["consent_purpose"]),
            include_actor_identifiers=redaction.get("actor_identifiers", "omit") == "include",
            language=str(data.get("language", "en")),
            verified_only=bool(data.get("verified_only", False)),
        )
    except (KeyError, TypeError, ValueError) as error:
        if isinstance(error, ProfileError):
            raise
        raise ProfileError(f"{path.name}: {error}") from None


@functools.cache
def load_profiles(directory: Path = PROFILE_DIR) -> dict[str, Profile]:
    profiles = {}
    for path in sorted(directory.glob("*.yaml")):
        profile = _load(path)
        if profile.code in profiles:
            raise ProfileError(f"{path.name}: duplicate profile code {profile.code}")
        profiles[profile.code] = profile
    return profiles
