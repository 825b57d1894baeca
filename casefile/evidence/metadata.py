"""Embedded metadata (EXIF, GPS) of evidence images.

``extract_metadata(fp, media_type)`` is a pure function over a seekable binary
file object. It reads the blob from offset 0, restores the caller's position,
never decodes pixel data and never raises: evidence ingest must succeed even for
hostile or damaged files.

Result (always JSON-serialisable, always the same keys)::

    {
        "status": "ok" | "damaged" | "none" | "unreadable",
        "error": str | None,          # "ExceptionClass: short message" when unreadable
        "exif": {                      # None unless status is "ok" or "damaged"
            "make": str | None, "model": str | None, "software": str | None,
            "capture_time": str | None,   # DateTimeOriginal, naive ISO local time
            "offset_time": str | None,    # OffsetTimeOriginal ("+02:00") if recorded
            "orientation": int | None,    # 1..8
            "width": int, "height": int,  # stored pixel grid (before orientation)
            "lens": str | None,           # LensModel
        },
        "gps": {                       # None when absent or unusable
            "latitude": float,            # decimal degrees, south negative
            "longitude": float,           # decimal degrees, west negative
            "altitude": float | None,     # metres, below sea level negative
            "timestamp": str | None,      # GPS date+time, ISO 8601 in UTC
        } | None,
        "warnings": [str, ...],        # human-readable notes, possibly empty
    }

Status values:

``ok``
    The image was parsed and no structural damage was detected. The checks are
    byte-level only (pixels are never decoded, and GIF/WebP/TIFF/BMP get no
    structure check), so "ok" is not a promise that the image decodes. Individual
    fields may still be ``None`` (absent) and implausible values (GPS outside
    ±90/±180, unknown hemisphere, zero denominators, impossible dates) are
    dropped with an entry in ``warnings``; they never fail the whole file.
    A JPEG too large for Pillow to open (over ``MAX_IMAGE_PIXELS`` or Pillow's
    own limit) is still "ok": its EXIF is read from the APP1 segment directly
    and a warning says the pixels were not examined.
``damaged``
    The header and metadata were parsed, so ``exif``/``gps`` hold what could be
    recovered, but the file is structurally broken: for JPEG a byte-level walk
    found a truncated file, an invalid marker or out-of-sequence restart markers
    in the compressed data; for PNG a chunk/CRC check failed; or Pillow reported
    corrupt EXIF. ``warnings`` says what is wrong. (``corrupted.jpg`` in the test
    data is this case: its EXIF is intact but 16 KiB of its scan data is 0xFF.)
``none``
    No metadata extractor for this media type (non-images, and image types
    Pillow is not allowed to open here, e.g. HEIC, SVG, PSD). Not an error.
``unreadable``
    The blob claims to be a supported image but could not be parsed at all
    (not an image, truncated header, undecodable EXIF, too large to open and
    not a JPEG, ...). ``error`` holds the reason; ``exif`` and ``gps`` are None.

EXIF strings are attacker-controlled: control characters (including NUL) and
bidirectional-override characters are removed and strings are capped at
``MAX_STRING_LENGTH`` characters. They are *not* HTML-escaped; that is the
template layer's job.
"""

from __future__ import annotations

import contextlib
import math
import re
import threading
import unicodedata
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, BinaryIO

from PIL import ExifTags, Image, ImageFile, TiffImagePlugin, UnidentifiedImageError

#: Images with more pixels than this are never decoded (decompression-bomb guard).
#: Pillow's own global limit still applies as well; whichever is lower wins.
MAX_IMAGE_PIXELS = 100_000_000

#: Maximum length of any string taken from the file.
MAX_STRING_LENGTH = 200

#: Pillow plugins we allow to parse untrusted evidence. Restricting the list keeps
#: exotic decoders (EPS hands data to Ghostscript, for instance) out of reach.
#: Multi-picture JPEGs (MPO) are opened by the JPEG plugin and report format "MPO".
ALLOWED_FORMATS: tuple[str, ...] = ("JPEG", "PNG", "GIF", "WEBP", "TIFF", "BMP")

STATUS_OK = "ok"
STATUS_DAMAGED = "damaged"
STATUS_NONE = "none"
STATUS_UNREADABLE = "unreadable"

# Media types (as returned by sniff_media_type) that we try to open with Pillow.
_EXTRACTABLE_TYPES = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp", "image/tiff", "image/bmp"})

_BIDI_CONTROLS = dict.fromkeys(map(ord, "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"))
_EXIF_DATETIME = re.compile(r"(\d{4}):(\d{2}):(\d{2})[ T](\d{2}):(\d{2}):(\d{2})")
_EXIF_DATE = re.compile(r"(\d{4}):(\d{2}):(\d{2})")
_UTC_OFFSET = re.compile(r"[+-](?:0\d|1[0-4]):[0-5]\d")

_TAG_OFFSET_TIME_ORIGINAL = 0x9011
_TAG_LENS_MODEL = 0xA434
_GPS = ExifTags.GPS


@dataclass
class _Notes:
    warnings: list[str] = field(default_factory=list)
    damaged: bool = False

    def warn(self, message: str) -> None:
        self.warnings.append(clean_text(message) or "warning")

    def damage(self, message: str) -> None:
        self.damaged = True
        self.warn(message)


class _MalformedError(ValueError):
    """A metadata value is present but unusable."""


# --------------------------------------------------------------------------- helpers


def clean_text(value: object, limit: int = MAX_STRING_LENGTH) -> str | None:
    """Sanitise an attacker-controlled string; ``None`` if nothing is left.

    Removes control characters (whitespace controls become spaces), bidi
    overrides and lone surrogates, strips surrounding whitespace and caps the
    length. Bytes are decoded as UTF-8 with replacement.
    """
    if isinstance(value, bytes):
        value = value[: limit * 4].decode("utf-8", "replace")
    if not isinstance(value, str):
        return None
    chars = []
    for char in value[: limit * 4].translate(_BIDI_CONTROLS):
        category = unicodedata.category(char)
        if category == "Cc":
            if char in "\t\n\r\x0b\x0c":
                chars.append(" ")
        elif category != "Cs":
            chars.append(char)
    cleaned = "".join(chars).strip()[:limit].strip()
    return cleaned or None


def _describe(exc: BaseException) -> str:
    if isinstance(exc, UnidentifiedImageError):
        # Pillow's message embeds the file object's repr (a storage path).
        message = "not a recognisable image"
    else:
        message = clean_text(str(exc), 160) or "no details"
    return f"{type(exc).__name__}: {message}"


def _to_float(value: object) -> float | None:
    """EXIF rational/number → finite float, ``None`` for anything malformed."""
    try:
        if isinstance(value, TiffImagePlugin.IFDRational):
            if not value.denominator:
                return None
            result = float(value.numerator) / float(value.denominator)
        elif isinstance(value, int | float) and not isinstance(value, bool):
            result = float(value)
        else:
            return None
    except (ArithmeticError, TypeError, ValueError):
        return None
    return result if math.isfinite(result) else None


def _as_int(value: object) -> int | None:
    if isinstance(value, bytes) and len(value) == 1:
        return value[0]
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return None


_PILLOW_LOCK = threading.RLock()


@contextlib.contextmanager
def pillow_guard() -> Iterator[list[warnings.WarningMessage]]:
    """Make decompression-bomb warnings errors and record Pillow's UserWarnings.

    Recording (instead of printing or, under pytest, raising) keeps the outcome
    independent of the process-wide warning filters.
    """
    # WeasyPrint sets ImageFile.LOAD_TRUNCATED_IMAGES = True for the whole process when it is imported;
    # evidence must be judged the same way whether or not a dossier PDF was rendered before.
    with _PILLOW_LOCK, warnings.catch_warnings(record=True) as caught:
        saved = ImageFile.LOAD_TRUNCATED_IMAGES
        ImageFile.LOAD_TRUNCATED_IMAGES = False
        try:
            warnings.simplefilter("always", UserWarning)
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            yield caught
        finally:
            ImageFile.LOAD_TRUNCATED_IMAGES = saved


# ----------------------------------------------------------------------- public API


def extract_metadata(fp: BinaryIO, media_type: str) -> dict[str, Any]:
    """Extract EXIF/GPS metadata from the blob in ``fp``. Never raises.

    See the module docstring for the result schema and status values.
    """
    result: dict[str, Any] = {
        "status": STATUS_NONE,
        "error": None,
        "exif": None,
        "gps": None,
        "warnings": [],
    }
    try:
        position = fp.tell()
    except Exception as exc:
        result.update(status=STATUS_UNREADABLE, error=_describe(exc))
        return result
    try:
        base_type = media_type.split(";", 1)[0].strip().lower() if isinstance(media_type, str) else ""
        if base_type in _EXTRACTABLE_TYPES:
            _extract_image(fp, result)
    except Exception as exc:
        # Anything unexpected: keep ingest going, record why.
        result.update(status=STATUS_UNREADABLE, error=_describe(exc), exif=None, gps=None)
    finally:
        with contextlib.suppress(Exception):
            fp.seek(position)
    return result


# --------------------------------------------------------------------- extraction


def _extract_image(fp: BinaryIO, result: dict[str, Any]) -> None:
    notes = _Notes()
    fp.seek(0)
    with pillow_guard() as caught:
        try:
            image: Image.Image | None = Image.open(fp, formats=ALLOWED_FORMATS)
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            image, too_large = None, exc
        if image is not None:
            with image:
                image_format = image.format
                width, height = image.size
                exif = image.getexif()  # parses tags only; pixel data stays untouched
                result["exif"] = _exif_fields(exif, width, height, notes)
                result["gps"] = _gps_fields(exif, notes)
            problems = _structure_problems(fp, image_format)
        else:
            # Too large for Pillow to open: for JPEG we can still read EXIF ourselves.
            scan = _walk_jpeg(fp)
            if scan.size is None:
                result.update(status=STATUS_UNREADABLE, error=_describe(too_large))
                return
            width, height = scan.size
            exif = Image.Exif()
            if scan.exif is not None:
                exif.load(scan.exif)
            result["exif"] = _exif_fields(exif, width, height, notes)
            result["gps"] = _gps_fields(exif, notes)
            problems = [scan.problem] if scan.problem else []
        if image is None or width * height > MAX_IMAGE_PIXELS:
            notes.warn(f"image has {width * height} pixels, above the decoding limit; pixels not examined")
        # Pillow reports corrupt EXIF as UserWarnings and carries on with what it could read.
        for caught_warning in caught:
            if issubclass(caught_warning.category, UserWarning):
                notes.damage(f"EXIF: {caught_warning.message}")
        for problem in problems:
            notes.damage(problem)
    result["status"] = STATUS_DAMAGED if notes.damaged else STATUS_OK
    result["warnings"] = notes.warnings


def _exif_fields(exif: Image.Exif, width: int, height: int, notes: _Notes) -> dict[str, Any]:
    try:
        exif_ifd = exif.get_ifd(ExifTags.IFD.Exif)
    except Exception as exc:
        notes.damage(f"EXIF sub-IFD unreadable: {_describe(exc)}")
        exif_ifd = {}

    def tag(tag_id: int) -> object:
        # Some writers put Exif-IFD tags in IFD0; accept either.
        value = exif_ifd.get(tag_id)
        return exif.get(tag_id) if value is None else value

    orientation = _as_int(exif.get(ExifTags.Base.Orientation))
    if orientation is not None and not 1 <= orientation <= 8:
        notes.warn(f"ignored invalid orientation {orientation}")
        orientation = None

    return {
        "make": clean_text(exif.get(ExifTags.Base.Make)),
        "model": clean_text(exif.get(ExifTags.Base.Model)),
        "software": clean_text(exif.get(ExifTags.Base.Software)),
        "capture_time": _capture_time(tag(ExifTags.Base.DateTimeOriginal), notes),
        "offset_time": _offset_time(tag(_TAG_OFFSET_TIME_ORIGINAL), notes),
        "orientation": orientation,
        "width": int(width),
        "height": int(height),
        "lens": clean_text(tag(_TAG_LENS_MODEL)),
    }


def _capture_time(value: object, notes: _Notes) -> str | None:
    text = clean_text(value)
    if text is None or set(text) <= set(": 0"):  # absent, blank or all-zero placeholder
        return None
    match = _EXIF_DATETIME.fullmatch(text)
    try:
        if match is None:
            raise ValueError(text)
        # EXIF has no zone: keep it naive, i.e. the camera's local clock.
        year, month, day_, hour, minute, second = (int(part) for part in match.groups())
        return datetime(year, month, day_, hour, minute, second).isoformat()
    except ValueError:
        notes.warn(f"ignored unparseable DateTimeOriginal {text!r}")
        return None


def _offset_time(value: object, notes: _Notes) -> str | None:
    text = clean_text(value)
    if text is None:
        return None
    if _UTC_OFFSET.fullmatch(text):
        return text
    notes.warn(f"ignored invalid OffsetTimeOriginal {text!r}")
    return None


# ---------------------------------------------------------------------------- GPS


def _gps_fields(exif: Image.Exif, notes: _Notes) -> dict[str, Any] | None:
    try:
        gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    except Exception as exc:
        notes.damage(f"GPS block unreadable: {_describe(exc)}")
        return None
    has_lat = _GPS.GPSLatitude in gps
    has_lon = _GPS.GPSLongitude in gps
    if not (has_lat or has_lon):
        return None  # no position recorded (e.g. only GPSVersionID)
    try:
        if not (has_lat and has_lon):
            raise _MalformedError("latitude or longitude missing")
        latitude = _coordinate(gps.get(_GPS.GPSLatitude), gps.get(_GPS.GPSLatitudeRef), "N", "S", 90)
        longitude = _coordinate(gps.get(_GPS.GPSLongitude), gps.get(_GPS.GPSLongitudeRef), "E", "W", 180)
    except _MalformedError as exc:
        notes.warn(f"ignored malformed GPS position: {exc}")
        return None
    return {
        "latitude": latitude,
        "longitude": longitude,
        "altitude": _altitude(gps, notes),
        "timestamp": _gps_timestamp(gps, notes),
    }


def _coordinate(value: object, ref: object, positive: str, negative: str, limit: int) -> float:
    parts = list(value) if isinstance(value, tuple | list) else [value]
    if not 1 <= len(parts) <= 3:
        raise _MalformedError(f"expected degrees/minutes/seconds, got {len(parts)} values")
    numbers: list[float] = []
    for part in parts:
        number = _to_float(part)
        if number is None or number < 0:
            raise _MalformedError("non-numeric, negative or zero-denominator component")
        numbers.append(number)
    degrees, minutes, seconds = [*numbers, 0.0, 0.0][:3]
    if minutes > 60 or seconds > 60:
        raise _MalformedError("minutes or seconds out of range")
    decimal = degrees + minutes / 60 + seconds / 3600
    if decimal > limit:
        raise _MalformedError(f"{decimal:.6f} degrees is out of range")
    # Without a valid hemisphere the sign is unknown; a mirrored position would mislead.
    hemisphere = (clean_text(ref) or "")[:1].upper()
    if hemisphere == negative:
        return -decimal
    if hemisphere == positive:
        return decimal
    raise _MalformedError(f"missing or invalid hemisphere reference (expected {positive}/{negative})")


def _altitude(gps: dict[int, Any], notes: _Notes) -> float | None:
    if _GPS.GPSAltitude not in gps:
        return None
    altitude = _to_float(gps[_GPS.GPSAltitude])
    if altitude is None or altitude < 0:
        notes.warn("ignored malformed GPS altitude")
        return None
    # GPSAltitudeRef 1 means below sea level.
    return -altitude if _as_int(gps.get(_GPS.GPSAltitudeRef)) == 1 else altitude


def _gps_timestamp(gps: dict[int, Any], notes: _Notes) -> str | None:
    date_text = clean_text(gps.get(_GPS.GPSDateStamp))
    time_value = gps.get(_GPS.GPSTimeStamp)
    if date_text is None or time_value is None:
        return None  # a time without a date cannot be placed; keep the schema unambiguous
    try:
        match = _EXIF_DATE.fullmatch(date_text)
        if match is None or not isinstance(time_value, tuple | list) or len(time_value) != 3:
            raise ValueError
        hours, minutes, seconds = (_to_float(part) for part in time_value)
        if hours is None or minutes is None or seconds is None:
            raise ValueError
        if not (0 <= hours < 24 and 0 <= minutes < 60 and 0 <= seconds < 61):
            raise ValueError
        year, month, day_of_month = (int(part) for part in match.groups())
        day = datetime(year, month, day_of_month, tzinfo=UTC)
        micros = round((hours * 3600 + minutes * 60 + seconds) * 1_000_000)
        return (day + timedelta(microseconds=micros)).isoformat()
    except (ValueError, OverflowError):
        notes.warn("ignored malformed GPS date/time stamp")
        return None


# ---------------------------------------------------------------- structure checks


def _structure_problems(fp: BinaryIO, image_format: str | None) -> list[str]:
    """Cheap byte-level damage checks; Pillow itself happily decodes broken JPEGs."""
    if image_format in ("JPEG", "MPO"):
        problem = _walk_jpeg(fp).problem
        return [problem] if problem else []
    if image_format == "PNG":
        fp.seek(0)
        try:
            with Image.open(fp, formats=("PNG",)) as png:
                png.verify()  # chunk CRCs and framing; does not inflate pixel data
        except Exception as exc:
            return [f"PNG structure damaged: {_describe(exc)}"]
    return []


@dataclass
class _JpegScan:
    exif: bytes | None = None
    size: tuple[int, int] | None = None
    problem: str | None = None


_CHUNK = 1 << 20
_MAX_FILL_BYTES = 1 << 16
_MAX_STEPS = 2_000_000  # bounds work on hostile files made of millions of tiny markers
_SOF_MARKERS = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
_EOI, _SOS, _APP1 = 0xD9, 0xDA, 0xE1
# Markers followed by a length field: SOFn/DHT/DAC/JPG, SOS, DQT, DNL, DRI, DHP, EXP, APPn, JPGn, COM.
_SEGMENT_MARKERS = frozenset(range(0xC0, 0xD0)) | frozenset(range(0xDA, 0xF0)) | frozenset(range(0xF0, 0xFF))
_STANDALONE_MARKERS = frozenset(range(0xD0, 0xD8)) | {0x01}  # RSTn, TEM
# In entropy-coded data 0xFF must be followed by 0x00 (stuffing), RSTn, fill or a real marker.
_ENTROPY_FF = re.compile(rb"\xff(?=[^\x00])")


class _JpegDamageError(Exception):
    pass


def _walk_jpeg(fp: BinaryIO) -> _JpegScan:
    """Walk JPEG markers and entropy-coded data without decoding anything."""
    scan = _JpegScan()
    fp.seek(0)
    try:
        if fp.read(2) != b"\xff\xd8":
            raise _JpegDamageError("JPEG start-of-image marker missing")
        steps = 0
        pending: int | None = None
        while True:
            steps += 1
            if steps > _MAX_STEPS:
                return scan  # gave up: not evidence of damage, just too much structure
            marker = pending if pending is not None else _next_marker(fp)
            pending = None
            if marker == _EOI:
                return scan  # anything after EOI (maker previews, MPO frames) is not our concern
            if marker in _STANDALONE_MARKERS:
                continue
            if marker not in _SEGMENT_MARKERS:
                offset = fp.tell() - 2
                raise _JpegDamageError(f"JPEG damaged: invalid marker 0x{marker:02X} at offset {offset}")
            length_bytes = fp.read(2)
            if len(length_bytes) < 2:
                raise _JpegDamageError("JPEG truncated inside a segment header")
            length = int.from_bytes(length_bytes, "big")
            if length < 2:
                raise _JpegDamageError(f"JPEG damaged: invalid segment length at offset {fp.tell() - 2}")
            if (marker == _APP1 and scan.exif is None) or (marker in _SOF_MARKERS and scan.size is None):
                payload = fp.read(length - 2)
                if len(payload) < length - 2:
                    raise _JpegDamageError("JPEG truncated inside a segment")
                if marker == _APP1 and payload.startswith(b"Exif\x00\x00"):
                    scan.exif = payload
                elif marker in _SOF_MARKERS and len(payload) >= 5:
                    scan.size = (int.from_bytes(payload[3:5], "big"), int.from_bytes(payload[1:3], "big"))
            else:
                fp.seek(length - 2, 1)  # past EOF is caught by the next read
            if marker == _SOS:
                pending, used = _skip_entropy_data(fp, _MAX_STEPS - steps)
                if pending is None:
                    return scan  # gave up inside the data: not evidence of damage
                steps += used
    except _JpegDamageError as exc:
        scan.problem = str(exc)
    return scan


def _next_marker(fp: BinaryIO) -> int:
    byte = fp.read(1)
    if not byte:
        raise _JpegDamageError("JPEG truncated: end-of-image marker missing")
    if byte != b"\xff":
        raise _JpegDamageError(f"JPEG damaged: garbage where a marker was expected at offset {fp.tell() - 1}")
    for _ in range(_MAX_FILL_BYTES):
        byte = fp.read(1)
        if not byte:
            raise _JpegDamageError("JPEG truncated: end-of-image marker missing")
        if byte != b"\xff":
            return byte[0]
    raise _JpegDamageError("JPEG damaged: excessive 0xFF fill bytes")


def _skip_entropy_data(fp: BinaryIO, budget: int) -> tuple[int | None, int]:
    """Scan compressed data up to the next real marker; return (marker, steps used).

    Checks restart markers are in RST0..RST7 order and that no invalid marker
    (the usual sign of overwritten or spliced data) appears. ``None`` as marker
    means the budget ran out.
    """
    expected_restart = 0
    fill_run = 0
    last_fill = -2
    steps = 0
    carry = b""
    base = fp.tell()  # file offset of carry + chunk
    while True:
        chunk = fp.read(_CHUNK)
        if not chunk:
            raise _JpegDamageError("JPEG truncated inside compressed image data")
        buffer = carry + chunk
        for match in _ENTROPY_FF.finditer(buffer):
            steps += 1
            if steps > budget:
                return None, steps
            index = match.start()
            following = buffer[index + 1]
            if following == 0xFF:
                fill_run = fill_run + 1 if base + index == last_fill + 1 else 1
                last_fill = base + index
                if fill_run > _MAX_FILL_BYTES:
                    raise _JpegDamageError(
                        f"JPEG damaged: long run of 0xFF bytes in compressed data near offset {base + index}"
                    )
                continue
            if 0xD0 <= following <= 0xD7:
                if following - 0xD0 != expected_restart:
                    raise _JpegDamageError(f"JPEG damaged: restart marker out of sequence at offset {base + index}")
                expected_restart = (expected_restart + 1) % 8
                continue
            if following not in _SEGMENT_MARKERS and following != _EOI:
                raise _JpegDamageError(
                    f"JPEG damaged: invalid marker 0x{following:02X} in compressed data at offset {base + index}"
                )
            fp.seek(base + index + 2)
            return following, steps
        # The last byte may be an 0xFF whose successor is in the next chunk.
        carry = buffer[-1:]
        base += len(buffer) - 1
