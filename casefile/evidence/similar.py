"""Near-duplicate images: the same photograph re-encoded, resized, cropped, mirrored or watermarked as it travels
through messaging apps and social media.

Two perceptual hashes are made from each image's preview (the 512-pixel, orientation-corrected rendering, so every
image is hashed the same way whatever its size): PDQ (Meta's, 256 bits; a lookup compares the new image's eight
rotations and mirrorings, so a mirrored copy is found) and pHash (64 bits, via imagehash, which survives a crop
better than PDQ; with the pHash of the mirrored image, for mirrored copies). Measured on the test photos' previews:
re-encoding, resizing and watermarking stay within PDQ 44 and pHash 12, mirroring within PDQ 28 (over the
rotations) and pHash 0 (mirrored), a 10 % crop within pHash 12; unrelated photos are PDQ 122 and more, pHash 28 and
more apart.

Lookup never reads every hash of the case: each hash is indexed by its 16-bit chunks (ImageHashKey). A candidate
must share a chunk exactly with the image's PDQ hash or its mirror image's, or lie within 1 bit of a chunk of its
pHash (a 64-bit pHash within 7 bits of another always has one of its four chunks within 1 bit; farther copies are
usually still found through a chunk, as every transformation of the test photos is), or share a chunk with its
mirrored pHash. About a hundred probes, each reading about n / 65536 index entries: some 150 entries in a case of
100,000 images. The candidates found are then measured in full, over all eight rotations and mirrorings (measured by
bench/near_duplicates.py). A person decides whether a candidate is the same image; the decision is kept and written
to the custody ledger of both items.
"""

from __future__ import annotations

import io
import itertools
import uuid
from dataclasses import dataclass
from typing import Any

import imagehash
import numpy as np
import pdqhash
from flask_babel import gettext as _
from PIL import Image, ImageOps
from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from casefile.auth.models import User
from casefile.custody.actions import Action
from casefile.custody.ledger import record_item_event
from casefile.errors import ValidationFailed
from casefile.evidence.models import EvidenceItem, ImageHash, ImageHashKey, SimilarityDecision

PDQ, PHASH = 0, 1
# A candidate is within either distance (bits).
PDQ_THRESHOLD = 48
PHASH_THRESHOLD = 12
# pHash chunks are probed with every value within this many bits.
PHASH_PROBE_RADIUS = 1
# The position, among pdqhash's eight dihedral hashes, of the left-right mirror image.
MIRRORED = 5
CANDIDATES_SHOWN = 20


@dataclass(frozen=True)
class Perceptual:
    pdq: str
    pdq_dihedral: tuple[str, ...]
    quality: int
    phash: str
    phash_mirror: str


def perceptual_hashes(preview_jpeg: bytes | None) -> Perceptual | None:
    """The hashes of an image's preview; None when there is no preview (not an image, or not decodable)."""
    if not preview_jpeg:
        return None
    try:
        with Image.open(io.BytesIO(preview_jpeg)) as image:
            rgb = image.convert("RGB")
    except Exception:
        return None
    pixels = np.asarray(rgb)
    vectors, quality = pdqhash.compute_dihedral(pixels)
    dihedral = tuple(np.packbits(v).tobytes().hex() for v in vectors)
    mirrored = str(imagehash.phash(ImageOps.mirror(rgb)))
    return Perceptual(dihedral[0], dihedral, int(quality), str(imagehash.phash(rgb)), mirrored)


def _chunks(hex_hash: str) -> list[int]:
    return [int(hex_hash[i : i + 4], 16) for i in range(0, len(hex_hash), 4)]


def _keys(hex_hash: str) -> list[int]:
    return [position * 65536 + value for position, value in enumerate(_chunks(hex_hash))]


def _near(value: int, radius: int) -> list[int]:
    found = [value]
    for flips in range(1, radius + 1):
        for bits in itertools.combinations(range(16), flips):
            found.append(value ^ sum(1 << b for b in bits))
    return found


def record_hashes(session: Session, item: EvidenceItem, hashes: Perceptual | None) -> None:
    if hashes is None:
        return
    session.add(
        ImageHash(
            evidence_id=item.id,
            case_id=item.case_id,
            pdq=hashes.pdq,
            pdq_dihedral="".join(hashes.pdq_dihedral),
            pdq_quality=hashes.quality,
            phash=hashes.phash,
            phash_mirror=hashes.phash_mirror,
        )
    )
    for scheme, hex_hash in ((PDQ, hashes.pdq), (PHASH, hashes.phash)):
        for key in set(_keys(hex_hash)):
            session.add(ImageHashKey(evidence_id=item.id, scheme=scheme, key=key, case_id=item.case_id))
    session.flush()


def _distance(a: str, b: str) -> int:
    return (int(a, 16) ^ int(b, 16)).bit_count()


@dataclass(frozen=True)
class Candidate:
    item: EvidenceItem
    pdq_distance: int
    phash_distance: int
    # None: nobody has decided yet; True: confirmed the same image; False: decided different.
    same: bool | None


def candidates(session: Session, item: EvidenceItem, limit: int = CANDIDATES_SHOWN) -> list[Candidate]:
    """Images of the item's case near it, nearest first, with the latest decision on each pair."""
    mine = session.get(ImageHash, item.id)
    if mine is None:
        return []
    dihedral = [mine.pdq_dihedral[i : i + 64] for i in range(0, len(mine.pdq_dihedral), 64)]
    # Probed: the image and its mirror image (PDQ exactly, pHash within PHASH_PROBE_RADIUS, the mirrored pHash
    # exactly); every rotation and mirroring is then measured on what was found.
    pdq_keys = sorted({key for h in (dihedral[0], dihedral[MIRRORED]) for key in _keys(h)})
    phash_keys = sorted(
        {
            position * 65536 + near
            for position, value in enumerate(_chunks(mine.phash))
            for near in _near(value, PHASH_PROBE_RADIUS)
        }
        | set(_keys(mine.phash_mirror))
    )
    found: set[uuid.UUID] = set()
    # Two queries, each an IN list on the index (case, scheme, key): a single OR would not use it on SQLite.
    for scheme, keys in ((PDQ, pdq_keys), (PHASH, phash_keys)):
        found.update(
            session.scalars(
                select(ImageHashKey.evidence_id).where(
                    ImageHashKey.case_id == item.case_id, ImageHashKey.scheme == scheme, ImageHashKey.key.in_(keys)
                )
            )
        )
    found.discard(item.id)
    near: list[tuple[float, int, int, uuid.UUID]] = []
    hashes = select(ImageHash.evidence_id, ImageHash.pdq, ImageHash.phash).where(ImageHash.evidence_id.in_(found))
    for other_id, other_pdq, other_phash in session.execute(hashes) if found else ():
        pdq = min(_distance(h, other_pdq) for h in dihedral)
        phash = min(_distance(mine.phash, other_phash), _distance(mine.phash_mirror, other_phash))
        if pdq <= PDQ_THRESHOLD or phash <= PHASH_THRESHOLD:
            near.append((min(pdq / PDQ_THRESHOLD, phash / PHASH_THRESHOLD), pdq, phash, other_id))
    near.sort()
    near = near[:limit]
    items = {i.id: i for i in session.scalars(select(EvidenceItem).where(EvidenceItem.id.in_([n[-1] for n in near])))}
    decisions = _decisions(session, item.id, list(items))
    return [
        Candidate(items[other_id], pdq, phash, decisions.get(other_id))
        for _score, pdq, phash, other_id in near
        if other_id in items
    ]


def _pair(a: uuid.UUID, b: uuid.UUID) -> tuple[uuid.UUID, uuid.UUID]:
    return (a, b) if str(a) < str(b) else (b, a)


def _decisions(session: Session, item_id: uuid.UUID, others: list[uuid.UUID]) -> dict[uuid.UUID, bool]:
    """The latest decision on each pair (item, other)."""
    if not others:
        return {}
    rows = session.execute(
        select(SimilarityDecision.first_id, SimilarityDecision.second_id, SimilarityDecision.same)
        .where(
            or_(
                and_(SimilarityDecision.first_id == item_id, SimilarityDecision.second_id.in_(others)),
                and_(SimilarityDecision.second_id == item_id, SimilarityDecision.first_id.in_(others)),
            )
        )
        .order_by(SimilarityDecision.decided_at)
    )
    latest: dict[uuid.UUID, bool] = {}
    for first, second, same in rows:
        latest[second if first == item_id else first] = same
    return latest


def decide(session: Session, item: EvidenceItem, other: EvidenceItem, same: Any, user: User) -> SimilarityDecision:
    """Record that the two images are the same image (or not), in the pair's history and in both items' custody
    trails. The other item must be in the same case (the caller found it through the gate)."""
    if other.case_id != item.case_id or other.id == item.id:
        raise ValidationFailed(_("Compare two different items of the same case."), field="other_id")
    if not isinstance(same, bool):
        raise ValidationFailed(_("Give true (the same image) or false (different images)."), field="same")
    first, second = _pair(item.id, other.id)
    decision = SimilarityDecision(
        case_id=item.case_id, first_id=first, second_id=second, same=same, decided_by_id=user.id
    )
    session.add(decision)
    session.flush()
    words = "same image" if same else "different images"
    record_item_event(session, item, user, Action.SIMILARITY_DECIDED, {"other": other.ern, "decision": words})
    record_item_event(session, other, user, Action.SIMILARITY_DECIDED, {"other": item.ern, "decision": words})
    return decision
