"""Trusted timestamps on what the custody record relies on: signed checkpoints and web captures' manifests.

Tokens are asked for after the thing they cover is committed (a TSA is a network peer: never inside the ledger's
lock), kept in `timestamp_tokens`, and checked again by `custody verify`. With no TSA configured nothing is asked
and the pages say that timestamps are off. The protocol itself is casefile.custody.tsa.
"""

from __future__ import annotations

import enum
import hashlib
from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from cryptography import x509
from sqlalchemy import select
from sqlalchemy.orm import Session

from casefile.custody.models import Checkpoint, TimestampToken
from casefile.custody.signing import tree_head_message
from casefile.custody.tsa import TimestampError, load_roots, request_token, verify_reply

if TYPE_CHECKING:
    from casefile.config import Settings

# Checkpoints stamped by one run, newest first: a token over the newest head covers every entry before it (the
# consistency proof links them), so a backlog left by a TSA outage need not be stamped all at once.
CHECKPOINTS_PER_RUN = 20


class TimestampSubject(enum.StrEnum):
    CHECKPOINT = "checkpoint"
    CAPTURE = "capture"


@dataclass
class StampResult:
    stored: int = 0
    errors: list[str] = field(default_factory=list)


def checkpoint_message(checkpoint: Checkpoint) -> bytes:
    """What a checkpoint's token covers: the exact bytes its Ed25519 signature covers."""
    return tree_head_message(checkpoint.tree_size, checkpoint.root_hash, checkpoint.timestamp)


def roots_of(settings: Settings) -> list[x509.Certificate]:
    return load_roots(settings.tsa_ca_file)


def tokens_for(session: Session, subject: TimestampSubject, subject_ids: Iterable[str]) -> list[TimestampToken]:
    ids = list(subject_ids)
    if not ids:
        return []
    return list(
        session.scalars(
            select(TimestampToken)
            .where(TimestampToken.subject == subject.value, TimestampToken.subject_id.in_(ids))
            .order_by(TimestampToken.subject_id, TimestampToken.tsa_url)
        )
    )


def stamp(
    settings: Settings,
    scope: Callable[[], AbstractContextManager[Session]],
    subject: TimestampSubject,
    subject_id: str,
    message: bytes,
    *,
    have: Iterable[str] = (),
) -> StampResult:
    """Ask each configured TSA not in `have` for a token over `message` and store each good one in its own short
    transaction (`scope` opens one). A TSA that fails is named in the result; the others still count."""
    result = StampResult()
    already = set(have)
    urls = [url for url in settings.tsa_urls if url not in already]
    if not urls:
        return result
    try:
        roots = roots_of(settings)
    except TimestampError as error:
        result.errors.append(str(error))
        return result
    digest = hashlib.sha256(message).hexdigest()
    for url in urls:
        try:
            reply, info = request_token(url, message, roots)
        except TimestampError as error:
            result.errors.append(f"{url}: {error}")
            continue
        with scope() as session:
            session.add(
                TimestampToken(
                    subject=subject.value,
                    subject_id=subject_id,
                    message_sha256=digest,
                    tsa_url=url[:500],
                    reply=reply,
                    gen_time=info.gen_time,
                    serial=info.serial[:64],
                    tsa_name=info.tsa_name,
                )
            )
        result.stored += 1
    return result


def stamp_checkpoints(
    settings: Settings, scope: Callable[[], AbstractContextManager[Session]], limit: int = CHECKPOINTS_PER_RUN
) -> StampResult:
    """Tokens for the newest checkpoints that lack one from a configured TSA."""
    total = StampResult()
    if not settings.tsa_urls:
        return total
    with scope() as session:
        recent = list(session.scalars(select(Checkpoint).order_by(Checkpoint.id.desc()).limit(limit)))
        have: dict[str, set[str]] = {}
        for token in tokens_for(session, TimestampSubject.CHECKPOINT, (str(c.id) for c in recent)):
            have.setdefault(token.subject_id, set()).add(token.tsa_url)
        work = [
            (str(c.id), checkpoint_message(c))
            for c in recent
            if not set(settings.tsa_urls) <= have.get(str(c.id), set())
        ]
    for subject_id, message in work:
        done = stamp(settings, scope, TimestampSubject.CHECKPOINT, subject_id, message, have=have.get(subject_id, ()))
        total.stored += done.stored
        total.errors.extend(done.errors)
    return total


@dataclass(frozen=True)
class TokenProblem:
    kind: str  # timestamp_invalid, timestamp_imprint
    message: str
    token_id: int


def check_tokens(session: Session, roots: Sequence[x509.Certificate] | None) -> tuple[int, list[TokenProblem]]:
    """Every stored token: its signature and certificate chain to the roots (when there are roots to check
    against), its imprint equal to the message it was stored for, and a checkpoint's message equal to what the
    checkpoint now says (a re-signed checkpoint no longer matches the token a TSA gave for it)."""
    problems: list[TokenProblem] = []
    checked = 0
    checkpoints = {str(c.id): c for c in session.scalars(select(Checkpoint))}
    for token in session.scalars(select(TimestampToken).order_by(TimestampToken.id)):
        checked += 1
        where = f"timestamp {token.id} ({token.subject} {token.subject_id}, {token.tsa_url})"
        if token.subject == TimestampSubject.CHECKPOINT.value:
            checkpoint = checkpoints.get(token.subject_id)
            if checkpoint is None:
                problems.append(TokenProblem("timestamp_imprint", f"{where}: its checkpoint is gone", token.id))
                continue
            if hashlib.sha256(checkpoint_message(checkpoint)).hexdigest() != token.message_sha256:
                problems.append(
                    TokenProblem(
                        "timestamp_imprint",
                        f"{where}: the checkpoint no longer says what the TSA timestamped",
                        token.id,
                    )
                )
                continue
        if roots is None:
            continue
        try:
            verify_reply(token.reply, token.message_sha256, list(roots))
        except TimestampError as error:
            problems.append(TokenProblem("timestamp_invalid", f"{where}: {error}", token.id))
    return checked, problems


def verification_roots(settings: Settings) -> list[x509.Certificate] | None:
    """The roots `custody verify` checks tokens against (None when none can be read: then only imprints are
    checked, which still catches a re-signed checkpoint)."""
    try:
        return roots_of(settings)
    except TimestampError:
        return None


def newest_checkpoint_unstamped(session: Session, urls: Sequence[str]) -> bool:
    """Whether the newest checkpoint lacks a token from a configured TSA (one was down when it was signed)."""
    if not urls:
        return False
    newest = session.scalar(select(Checkpoint.id).order_by(Checkpoint.id.desc()).limit(1))
    if newest is None:
        return False
    have = set(
        session.scalars(
            select(TimestampToken.tsa_url).where(
                TimestampToken.subject == TimestampSubject.CHECKPOINT.value,
                TimestampToken.subject_id == str(newest),
            )
        )
    )
    return not set(urls) <= have
