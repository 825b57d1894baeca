"""Every model, imported in one place so the metadata is complete for Alembic and the tests."""

from casefile.activity import recorder  # noqa: F401 - writes the activity feed at every flush
from casefile.activity.models import Activity
from casefile.actors.models import Actor, ActorRelation, Involvement
from casefile.auth.models import ApiToken, AuthEvent, InstanceSetting, LoginAttempt, Membership, User, UserSession
from casefile.capture.models import WebCapture
from casefile.cases.models import Case, Incident
from casefile.collab.models import Assignment, Comment, CommentRevision, Notification
from casefile.custody.models import Checkpoint, CustodyEntry, LedgerHead, TimestampToken
from casefile.custody.subtrees import MerkleNode
from casefile.db import Base
from casefile.dossier.models import Dossier
from casefile.evidence.models import EvidenceItem, ImageHash, ImageHashKey, SimilarityDecision
from casefile.fieldintake.models import DeviceCredential, DigestNonceUse, FieldForm, FieldSubmission, SubmissionFile
from casefile.intake.models import CaseExport, Import, ImportRow, ResumableUpload
from casefile.jobs.models import Job
from casefile.legal.models import Charge
from casefile.links.models import EvidenceLink
from casefile.provenance.models import ProvenanceRecord
from casefile.search.models import SearchDocument
from casefile.verification.models import VerificationCheck
from casefile.witnesses.models import ConsentRecord, Statement, Witness

metadata = Base.metadata

__all__ = [
    "Activity",
    "Actor",
    "ActorRelation",
    "ApiToken",
    "Assignment",
    "AuthEvent",
    "Case",
    "CaseExport",
    "Charge",
    "Checkpoint",
    "Comment",
    "CommentRevision",
    "ConsentRecord",
    "CustodyEntry",
    "DeviceCredential",
    "DigestNonceUse",
    "Dossier",
    "EvidenceItem",
    "EvidenceLink",
    "FieldForm",
    "FieldSubmission",
    "ImageHash",
    "ImageHashKey",
    "Import",
    "ImportRow",
    "Incident",
    "InstanceSetting",
    "Involvement",
    "Job",
    "LedgerHead",
    "LoginAttempt",
    "Membership",
    "MerkleNode",
    "Notification",
    "ProvenanceRecord",
    "ResumableUpload",
    "SearchDocument",
    "SimilarityDecision",
    "Statement",
    "SubmissionFile",
    "TimestampToken",
    "User",
    "UserSession",
    "VerificationCheck",
    "WebCapture",
    "Witness",
    "metadata",
]
