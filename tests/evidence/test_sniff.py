"""Content-based media type sniffing (casefile.evidence.sniff)."""

from __future__ import annotations

import io
import random
from pathlib import Path

import pytest
from PIL import Image

from casefile.evidence.sniff import SNIFF_BYTES, is_image, kind_hint, sniff_media_type

PHOTOS = Path(__file__).resolve().parents[1] / "data" / "photos"


def _image_bytes(fmt: str) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (4, 4), (200, 10, 10)).save(buffer, fmt)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (_image_bytes("JPEG"), "image/jpeg"),
        (_image_bytes("PNG"), "image/png"),
        (_image_bytes("GIF"), "image/gif"),
        (b"%PDF-1.7\n1 0 obj\n<<>>\nendobj\n", "application/pdf"),
        # PDF readers accept a header after leading junk; filetype only looks at offset 0.
        (b"\r\n\r\n   %PDF-1.4\n%\xe2\xe3\xcf\xd3\n", "application/pdf"),
        (b"Witness statement, 3 March.\nNo names.\n", "text/plain"),
        ("شهادة الشاهد — 3 آذار\n".encode(), "text/plain"),
        (b"", "application/x-empty"),
        (b"\x00\x01\x02\x03binary\xff\xfe", "application/octet-stream"),
        (b"plain text with a NUL\x00 is binary", "application/octet-stream"),
        (b"\xff\xfe\xfa not utf-8", "application/octet-stream"),
    ],
)
def test_detects_type_from_content(content: bytes, expected: str) -> None:
    assert sniff_media_type(io.BytesIO(content)) == expected


def test_html_is_never_reported_as_image_or_html() -> None:
    # Markup is text, never an image and never an "active" type a browser would render.
    assert sniff_media_type(io.BytesIO(b"<html><script>alert(1)</script></html>")) == "text/plain"
    assert sniff_media_type(io.BytesIO(b'<svg xmlns="http://www.w3.org/2000/svg"/>')) == "text/plain"


def test_image_magic_wins_over_trailing_markup() -> None:
    # A real JPEG with HTML appended is still a JPEG; HTML with a JPEG appended is text.
    jpeg = _image_bytes("JPEG")
    assert sniff_media_type(io.BytesIO(jpeg + b"<html></html>")) == "image/jpeg"
    assert sniff_media_type(io.BytesIO(b"<html>" + jpeg)) == "application/octet-stream"


def test_real_photos_are_jpeg() -> None:
    for name in ("DSCN0010.jpg", "Canon_40D.jpg", "landscape_6.jpg", "corrupted.jpg"):
        with (PHOTOS / name).open("rb") as fp:
            assert sniff_media_type(fp) == "image/jpeg"


def test_reads_from_start_and_restores_position() -> None:
    fp = io.BytesIO(_image_bytes("PNG") + b"tail")
    fp.seek(7)
    assert sniff_media_type(fp) == "image/png"
    assert fp.tell() == 7
    fp.seek(0, io.SEEK_END)  # e.g. right after the caller hashed the blob
    end = fp.tell()
    assert sniff_media_type(fp) == "image/png"
    assert fp.tell() == end


def test_utf8_character_split_at_sniff_boundary_is_still_text() -> None:
    # "é" is two bytes; put its first byte at the last position examined.
    content = b"a" * (SNIFF_BYTES - 1) + "é".encode() + b" more text"
    assert sniff_media_type(io.BytesIO(content)) == "text/plain"
    # The same truncated sequence at the real end of the blob is not valid UTF-8.
    assert sniff_media_type(io.BytesIO(b"abc" + "é".encode()[:1])) == "application/octet-stream"


def test_random_bytes_are_octet_stream() -> None:
    rng = random.Random(1234)
    content = b"\x00" + rng.randbytes(20_000)
    assert sniff_media_type(io.BytesIO(content)) == "application/octet-stream"


@pytest.mark.parametrize(
    ("media_type", "image", "kind"),
    [
        ("image/jpeg", True, "photo"),
        ("Image/PNG; foo=bar", True, "photo"),
        ("video/mp4", False, "video"),
        ("audio/mpeg", False, "audio"),
        ("application/pdf", False, "document"),
        ("text/plain", False, "document"),
        ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", False, "document"),
        ("application/msword", False, "document"),
        ("application/zip", False, "other"),
        ("application/octet-stream", False, "other"),
        ("application/x-empty", False, "other"),
    ],
)
def test_is_image_and_kind_hint(media_type: str, image: bool, kind: str) -> None:
    assert is_image(media_type) is image
    assert kind_hint(media_type) == kind
