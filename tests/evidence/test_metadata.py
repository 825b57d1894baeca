"""EXIF/GPS extraction (casefile.evidence.metadata)."""

from __future__ import annotations

import hashlib
import io
import json
import random
import struct
import zlib
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from PIL.TiffImagePlugin import IFDRational

from casefile.evidence import metadata
from casefile.evidence.metadata import MAX_STRING_LENGTH, clean_text, extract_metadata

PHOTOS = Path(__file__).resolve().parents[1] / "data" / "photos"

STATUSES = {"ok", "damaged", "none", "unreadable"}
EXIF_KEYS = {
    "make",
    "model",
    "software",
    "capture_time",
    "offset_time",
    "orientation",
    "width",
    "height",
    "lens",
}

# sha256sum of the shared fixtures: the photos must be the unmodified originals.
FIXTURE_SHA256 = {
    "Canon_40D.jpg": "6bfdabd4fc33d112283c147acccc574e770bbe6fbdbc3d4da968ba7b606ecc2f",
    "DSCN0010.jpg": "17307b1207eb6487d7908e9d154890b46e3d2e0192369cfd3f4c33d5a5af4035",
    "DSCN0021.jpg": "441daaea545eb8bdb1434817fc36be0baa8992a4c9ad4b089726033bfc4bc963",
    "corrupted.jpg": "dcc801f45d7607d82661d08c4c6b188bdbf3129b55f7612830a6dc3fea573023",
    "landscape_6.jpg": "a05082c57819232106a0612f57268efab011f7a2a477483b878a2b4509cd8e59",
}


def _photo(name: str) -> dict[str, Any]:
    with (PHOTOS / name).open("rb") as fp:
        return _checked(extract_metadata(fp, "image/jpeg"))


def _checked(result: dict[str, Any]) -> dict[str, Any]:
    """Invariants every result must satisfy, whatever the input."""
    assert set(result) == {"status", "error", "exif", "gps", "warnings"}
    assert result["status"] in STATUSES
    json.dumps(result, allow_nan=False)  # strict JSON: no NaN/inf, only plain types
    if result["status"] == "unreadable":
        assert isinstance(result["error"], str)
        assert "Traceback" not in result["error"]
        assert len(result["error"]) < 250
        assert result["exif"] is None and result["gps"] is None
    else:
        assert result["error"] is None
    if result["status"] in ("ok", "damaged"):
        assert set(result["exif"]) == EXIF_KEYS
    assert all(isinstance(w, str) for w in result["warnings"])
    return result


def _jpeg(exif: Image.Exif | bytes | None = None, size: tuple[int, int] = (8, 8)) -> io.BytesIO:
    buffer = io.BytesIO()
    Image.new("RGB", size, (10, 120, 200)).save(buffer, "JPEG", exif=exif if exif is not None else b"")
    buffer.seek(0)
    return buffer


def _gps_jpeg(gps: dict[int, Any]) -> io.BytesIO:
    exif = Image.Exif()
    exif[0x8825] = gps
    return _jpeg(exif)


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _png_claiming(width: int, height: int) -> bytes:
    """A PNG header claiming huge dimensions, with a token IDAT (never decoded)."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", ihdr)
        + _png_chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + _png_chunk(b"IEND", b"")
    )


# ------------------------------------------------------------------ real photos


@pytest.mark.parametrize(("name", "digest"), sorted(FIXTURE_SHA256.items()))
def test_fixture_photos_are_unmodified(name: str, digest: str) -> None:
    assert hashlib.sha256((PHOTOS / name).read_bytes()).hexdigest() == digest


def test_dscn0010_exif_and_gps() -> None:
    result = _photo("DSCN0010.jpg")
    assert result["status"] == "ok"
    assert result["warnings"] == []
    assert result["exif"] == {
        "make": "NIKON",
        "model": "COOLPIX P6000",
        "software": "Nikon Transfer 1.1 W",
        "capture_time": "2008-10-22T16:28:39",
        "offset_time": None,
        "orientation": 1,
        "width": 640,
        "height": 480,
        "lens": None,
    }
    gps = result["gps"]
    # 43° 28' 2.814" N, 11° 53' 6.45599999" E
    assert round(gps["latitude"], 6) == 43.467448
    assert round(gps["longitude"], 6) == 11.885127
    assert gps["altitude"] is None  # GPSAltitudeRef present, GPSAltitude absent
    assert gps["timestamp"] == "2008-10-23T14:27:07.240000+00:00"


def test_dscn0021_exif_and_gps() -> None:
    result = _photo("DSCN0021.jpg")
    assert result["status"] == "ok"
    assert result["exif"]["make"] == "NIKON"
    assert result["exif"]["model"] == "COOLPIX P6000"
    assert result["exif"]["capture_time"] == "2008-10-22T16:38:20"
    gps = result["gps"]
    # 43° 28' 1.49399999" N, 11° 53' 4.33799999" E
    assert round(gps["latitude"], 6) == 43.467082
    assert round(gps["longitude"], 6) == 11.884538
    assert gps["timestamp"] == "2008-10-23T14:36:47.230000+00:00"


def test_canon_40d_has_exif_but_no_gps() -> None:
    # Its GPS IFD exists but only holds GPSVersionID: no position, and nothing to warn about.
    result = _photo("Canon_40D.jpg")
    assert result["status"] == "ok"
    assert result["warnings"] == []
    assert result["exif"]["make"] == "Canon"
    assert result["exif"]["model"] == "Canon EOS 40D"
    assert result["exif"]["software"] == "GIMP 2.4.5"
    assert result["exif"]["capture_time"] == "2008-05-30T15:56:01"
    assert (result["exif"]["width"], result["exif"]["height"]) == (100, 68)
    assert result["gps"] is None


def test_landscape_6_orientation() -> None:
    result = _photo("landscape_6.jpg")
    assert result["status"] == "ok"
    assert result["exif"]["orientation"] == 6
    # Width/height describe the stored pixel grid, before orientation is applied.
    assert (result["exif"]["width"], result["exif"]["height"]) == (450, 600)
    assert result["exif"]["make"] is None
    assert result["gps"] is None


def test_corrupted_jpeg_is_marked_damaged_but_keeps_readable_exif() -> None:
    # Its EXIF is intact; the compressed image data contains 16 KiB of 0xFF bytes
    # (offsets 0x34000-0x37FFF) ending in the invalid marker 0xFF 0x9F.
    result = _photo("corrupted.jpg")
    assert result["status"] == "damaged"
    assert result["warnings"] == ["JPEG damaged: invalid marker 0x9F in compressed data at offset 229375"]
    assert result["exif"]["make"] == "OLYMPUS IMAGING CORP."
    assert result["exif"]["model"] == "u1020,S1020"
    assert result["exif"]["capture_time"] == "2015-09-08T11:02:17"
    assert (result["exif"]["width"], result["exif"]["height"]) == (3648, 2736)
    assert result["gps"] is None


@pytest.mark.parametrize("chunk", [2, 7, 4096])
def test_jpeg_walk_is_independent_of_read_chunk_size(monkeypatch: pytest.MonkeyPatch, chunk: int) -> None:
    monkeypatch.setattr(metadata, "_CHUNK", chunk)
    corrupted = _photo("corrupted.jpg")
    assert corrupted["warnings"] == ["JPEG damaged: invalid marker 0x9F in compressed data at offset 229375"]
    for name in ("DSCN0010.jpg", "Canon_40D.jpg"):
        assert _photo(name)["status"] == "ok"


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"progressive": True},
        {"optimize": True},
        {"restart_marker_blocks": 1},
        {"progressive": True, "restart_marker_rows": 1},
    ],
)
@pytest.mark.parametrize("mode", ["RGB", "L", "CMYK"])
def test_valid_jpeg_variants_are_not_flagged(options: dict[str, Any], mode: str) -> None:
    rng = random.Random(7)
    image = Image.frombytes("RGB", (96, 64), rng.randbytes(96 * 64 * 3)).convert(mode)
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", **options)
    result = _checked(extract_metadata(buffer, "image/jpeg"))
    assert (result["status"], result["warnings"]) == ("ok", [])


# ------------------------------------------------------------ damaged / hostile


def test_truncated_header_is_unreadable() -> None:
    head = (PHOTOS / "DSCN0010.jpg").read_bytes()[:1000]  # cut inside the 11 KiB EXIF segment
    result = _checked(extract_metadata(io.BytesIO(head), "image/jpeg"))
    assert result["status"] == "unreadable"
    assert result["error"].startswith("OSError: ")  # Pillow: "Truncated File Read"


def test_truncated_image_data_is_damaged_but_metadata_is_kept() -> None:
    head = (PHOTOS / "DSCN0010.jpg").read_bytes()[:20_000]
    result = _checked(extract_metadata(io.BytesIO(head), "image/jpeg"))
    assert result["status"] == "damaged"
    assert result["warnings"] == ["JPEG truncated inside compressed image data"]
    assert result["exif"]["model"] == "COOLPIX P6000"
    assert round(result["gps"]["latitude"], 6) == 43.467448


def test_missing_end_of_image_marker_is_damaged() -> None:
    data = (PHOTOS / "Canon_40D.jpg").read_bytes()
    assert data.endswith(b"\xff\xd9")
    result = _checked(extract_metadata(io.BytesIO(data[:-2]), "image/jpeg"))
    assert result["status"] == "damaged"


@pytest.mark.parametrize("seed", range(8))
def test_random_garbage_never_raises(seed: int) -> None:
    rng = random.Random(seed)
    garbage = rng.randbytes(rng.randrange(0, 5000))
    for prefix in (b"", b"\xff\xd8", b"\xff\xd8\xff\xe1\x00\x10Exif\x00\x00", b"\x89PNG\r\n\x1a\n"):
        for media_type in ("image/jpeg", "image/png", "image/tiff"):
            result = _checked(extract_metadata(io.BytesIO(prefix + garbage), media_type))
            assert result["status"] in ("unreadable", "damaged")


def test_garbage_error_message_is_short_and_path_free() -> None:
    result = _checked(extract_metadata(io.BytesIO(b"definitely not a picture"), "image/jpeg"))
    assert result == {
        "status": "unreadable",
        "error": "UnidentifiedImageError: not a recognisable image",
        "exif": None,
        "gps": None,
        "warnings": [],
    }


def test_bit_flipped_photos_never_raise() -> None:
    original = (PHOTOS / "DSCN0010.jpg").read_bytes()
    rng = random.Random(2024)
    for _ in range(40):
        data = bytearray(original)
        for _ in range(rng.randrange(1, 30)):
            # Mostly hit the EXIF segment, where the parser does the most work.
            data[rng.randrange(2, 12_000)] = rng.randrange(256)
        _checked(extract_metadata(io.BytesIO(bytes(data)), "image/jpeg"))


def test_file_object_errors_do_not_raise() -> None:
    class Broken(io.BytesIO):
        def read(self, size: int | None = -1) -> bytes:
            raise OSError("disk on fire")

    result = _checked(extract_metadata(Broken(b"\xff\xd8"), "image/jpeg"))
    assert result["status"] == "unreadable"
    assert result["error"] == "OSError: disk on fire"

    class NoTell(io.BytesIO):
        def tell(self) -> int:
            raise ValueError("I/O operation on closed file")

    assert _checked(extract_metadata(NoTell(b""), "image/jpeg"))["status"] == "unreadable"


def test_hostile_exif_strings_are_sanitised() -> None:
    exif = Image.Exif()
    exif[0x010F] = "<script>\x00evil" * 100  # Make
    exif[0x0110] = "Model\r\nX-Injected: 1\x1b[31m"  # Model
    exif[0x0131] = "\x00\x00\x00"  # Software: nothing left after cleaning
    result = _checked(extract_metadata(_jpeg(exif), "image/jpeg"))
    make = result["exif"]["make"]
    assert "\x00" not in make
    assert len(make) == MAX_STRING_LENGTH
    # Cleaned, not escaped: escaping is the template's job.
    assert make == ("<script>evil" * 100)[:MAX_STRING_LENGTH]
    assert result["exif"]["model"] == "Model  X-Injected: 1[31m"
    assert result["exif"]["software"] is None


def test_corrupt_exif_block_is_damaged_not_unreadable() -> None:
    exif = Image.Exif()
    exif[0x010F] = "M" * 40
    raw = bytearray(exif.tobytes())
    entry = raw.index(bytes.fromhex("010f000200000029")) + 8
    raw[entry : entry + 4] = (0x00FFFFF0).to_bytes(4, "big")  # Make's value points far outside the block
    result = _checked(extract_metadata(_jpeg(bytes(raw)), "image/jpeg"))
    assert result["status"] == "damaged"
    assert len(result["warnings"]) == 1
    assert result["warnings"][0].startswith("EXIF: ")
    assert (result["exif"]["width"], result["exif"]["height"]) == (8, 8)


def test_bogus_gps_pointer_keeps_other_exif() -> None:
    exif = Image.Exif()
    exif[0x010F] = "Make"
    exif[0x8825] = {1: "N", 2: (1.0, 2.0, 3.0), 3: "E", 4: (1.0, 2.0, 3.0)}
    raw = bytearray(exif.tobytes())
    entry = raw.index(bytes.fromhex("8825000400000001")) + 8
    raw[entry : entry + 4] = (0x7FFFFFF0).to_bytes(4, "big")
    result = _checked(extract_metadata(_jpeg(bytes(raw)), "image/jpeg"))
    assert result["status"] == "damaged"
    assert result["exif"]["make"] == "Make"
    assert result["gps"] is None
    assert result["warnings"]


# ------------------------------------------------------------------ EXIF fields


def test_all_exif_fields_and_southern_western_gps() -> None:
    exif = Image.Exif()
    exif[0x010F] = "Maker"
    exif[0x0110] = "Model X"
    exif[0x0131] = "Firmware 1.0"
    exif[0x0112] = 8
    exif[0x8769] = {0x9003: "2024:02:29 23:59:58", 0x9011: "+11:00", 0xA434: "24-70mm f/2.8"}
    exif[0x8825] = {
        1: "S",
        2: (33.0, 51.0, 54.5),
        3: "W",
        4: (151.0, 12.0, 36.0),
        5: b"\x01",  # below sea level
        6: IFDRational(25, 2),
        29: "2024:02:29",
        7: (12.0, 59.0, 59.5),
    }
    result = _checked(extract_metadata(_jpeg(exif, size=(30, 20)), "image/jpeg; foo=bar"))
    assert result["status"] == "ok"
    assert result["warnings"] == []
    assert result["exif"] == {
        "make": "Maker",
        "model": "Model X",
        "software": "Firmware 1.0",
        "capture_time": "2024-02-29T23:59:58",
        "offset_time": "+11:00",
        "orientation": 8,
        "width": 30,
        "height": 20,
        "lens": "24-70mm f/2.8",
    }
    assert round(result["gps"]["latitude"], 6) == -33.865139
    assert round(result["gps"]["longitude"], 6) == -151.21
    assert result["gps"]["altitude"] == -12.5
    assert result["gps"]["timestamp"] == "2024-02-29T12:59:59.500000+00:00"


@pytest.mark.parametrize(
    ("exif_ifd", "capture_time", "offset_time", "warned"),
    [
        ({0x9003: "2008:13:45 99:99:99"}, None, None, True),
        ({0x9003: "yesterday"}, None, None, True),
        ({0x9003: "0000:00:00 00:00:00"}, None, None, False),  # the usual "unknown" placeholder
        ({0x9003: "    :  :     :  :  "}, None, None, False),
        ({0x9003: "2020:01:02 03:04:05", 0x9011: "Europe/Paris"}, "2020-01-02T03:04:05", None, True),
    ],
)
def test_invalid_dates_are_dropped(
    exif_ifd: dict[int, str], capture_time: str | None, offset_time: str | None, warned: bool
) -> None:
    exif = Image.Exif()
    exif[0x8769] = exif_ifd
    result = _checked(extract_metadata(_jpeg(exif), "image/jpeg"))
    assert result["status"] == "ok"
    assert result["exif"]["capture_time"] == capture_time
    assert result["exif"]["offset_time"] == offset_time
    assert bool(result["warnings"]) is warned


def test_invalid_orientation_is_dropped() -> None:
    exif = Image.Exif()
    exif[0x0112] = 42
    result = _checked(extract_metadata(_jpeg(exif), "image/jpeg"))
    assert result["exif"]["orientation"] is None
    assert result["warnings"] == ["ignored invalid orientation 42"]


@pytest.mark.parametrize(
    ("gps", "warning"),
    [
        (
            {1: "N", 2: (IFDRational(1, 0), 2.0, 3.0), 3: "E", 4: (1.0, 2.0, 3.0)},
            "ignored malformed GPS position: non-numeric, negative or zero-denominator component",
        ),
        (
            {1: "N", 2: (95.0, 0.0, 0.0), 3: "E", 4: (1.0, 2.0, 3.0)},
            "ignored malformed GPS position: 95.000000 degrees is out of range",
        ),
        (
            {1: "N", 2: (45.0, 0.0, 0.0), 3: "E", 4: (181.0, 0.0, 0.0)},
            "ignored malformed GPS position: 181.000000 degrees is out of range",
        ),
        (
            {2: (45.0, 0.0, 0.0), 3: "E", 4: (1.0, 2.0, 3.0)},
            "ignored malformed GPS position: missing or invalid hemisphere reference (expected N/S)",
        ),
        (
            {1: "N", 2: (45.0, 0.0, 0.0), 3: "X", 4: (1.0, 2.0, 3.0)},
            "ignored malformed GPS position: missing or invalid hemisphere reference (expected E/W)",
        ),
        (
            {1: "N", 2: (45.0, 0.0, 0.0), 3: "E"},
            "ignored malformed GPS position: latitude or longitude missing",
        ),
        (
            {1: "N", 2: (45.0, 0.0, 0.0, 1.0), 3: "E", 4: (1.0, 2.0, 3.0)},
            "ignored malformed GPS position: expected degrees/minutes/seconds, got 4 values",
        ),
    ],
)
def test_malformed_gps_position_is_dropped_with_warning(gps: dict[int, Any], warning: str) -> None:
    result = _checked(extract_metadata(_gps_jpeg(gps), "image/jpeg"))
    assert result["status"] == "ok"  # bad values are not structural damage
    assert result["gps"] is None
    assert result["warnings"] == [warning]


def test_malformed_altitude_and_timestamp_keep_the_position() -> None:
    gps = {
        1: "N",
        2: (1.0, 2.0, 3.0),
        3: "E",
        4: (4.0, 5.0, 6.0),
        6: IFDRational(5, 0),
        29: "2024:02:30",
        7: (1.0, 2.0, 3.0),
    }
    result = _checked(extract_metadata(_gps_jpeg(gps), "image/jpeg"))
    assert result["status"] == "ok"
    assert round(result["gps"]["latitude"], 6) == 1.034167
    assert round(result["gps"]["longitude"], 6) == 4.085
    assert result["gps"]["altitude"] is None
    assert result["gps"]["timestamp"] is None
    assert result["warnings"] == ["ignored malformed GPS altitude", "ignored malformed GPS date/time stamp"]


def test_clean_text() -> None:
    assert clean_text("  NIKON\x00\x00 ") == "NIKON"
    assert clean_text("a\tb\nc") == "a b c"
    assert clean_text("invoice\u202egpj.exe") == "invoicegpj.exe"  # no right-to-left override tricks
    assert clean_text("كاميرا هاتف") == "كاميرا هاتف"  # legitimate Arabic text is kept
    assert clean_text(b"caf\xc3\xa9\x00") == "café"
    assert clean_text(b"\xff\xfe") == "\ufffd\ufffd"
    assert clean_text("x" * 10_000) == "x" * MAX_STRING_LENGTH
    assert clean_text("\x00\x01") is None
    assert clean_text(42) is None
    assert clean_text(None) is None


# ----------------------------------------------------------- formats and sizes


@pytest.mark.parametrize(
    "media_type", ["text/plain", "application/pdf", "application/octet-stream", "image/heic", "video/mp4"]
)
def test_non_extractable_types_are_none(media_type: str) -> None:
    fp = io.BytesIO(b"whatever")
    assert _checked(extract_metadata(fp, media_type)) == {
        "status": "none",
        "error": None,
        "exif": None,
        "gps": None,
        "warnings": [],
    }


def test_png_with_exif_and_png_with_bad_checksum() -> None:
    exif = Image.Exif()
    exif[0x010F] = "Screenshot tool"
    buffer = io.BytesIO()
    Image.new("RGB", (12, 7), (1, 2, 3)).save(buffer, "PNG", exif=exif)
    result = _checked(extract_metadata(io.BytesIO(buffer.getvalue()), "image/png"))
    assert result["status"] == "ok"
    assert result["exif"]["make"] == "Screenshot tool"
    assert (result["exif"]["width"], result["exif"]["height"]) == (12, 7)

    damaged = bytearray(buffer.getvalue())
    idat = damaged.index(b"IDAT")
    damaged[idat + 6] ^= 0xFF  # corrupt compressed data; the chunk CRC no longer matches
    result = _checked(extract_metadata(io.BytesIO(bytes(damaged)), "image/png"))
    assert result["status"] == "damaged"
    assert result["exif"]["make"] == "Screenshot tool"
    assert result["warnings"][0].startswith("PNG structure damaged: ")


def test_gif_without_exif() -> None:
    buffer = io.BytesIO()
    Image.new("P", (5, 9)).save(buffer, "GIF")
    result = _checked(extract_metadata(buffer, "image/gif"))
    assert result["status"] == "ok"
    assert result["exif"]["width"] == 5
    assert result["exif"]["make"] is None
    assert result["gps"] is None


def _oversized_jpeg() -> io.BytesIO:
    """A small JPEG whose frame header claims 20000 x 20000 pixels."""
    exif = Image.Exif()
    exif[0x010F] = "Big Camera"
    exif[0x8825] = {1: "N", 2: (10.0, 0.0, 0.0), 3: "E", 4: (20.0, 0.0, 0.0)}
    data = bytearray(_jpeg(exif).getvalue())
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", 20_000, 20_000)
    return io.BytesIO(bytes(data))


@pytest.mark.parametrize("pillow_limit", ["default", "disabled"])
def test_oversized_jpeg_still_yields_exif(monkeypatch: pytest.MonkeyPatch, pillow_limit: str) -> None:
    if pillow_limit == "disabled":
        # Even if someone switches Pillow's own guard off, we never decode and we still warn.
        monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", None)
    result = _checked(extract_metadata(_oversized_jpeg(), "image/jpeg"))
    assert result["status"] == "ok"
    assert result["exif"]["make"] == "Big Camera"
    assert (result["exif"]["width"], result["exif"]["height"]) == (20_000, 20_000)
    assert result["gps"]["latitude"] == 10.0
    assert result["warnings"] == ["image has 400000000 pixels, above the decoding limit; pixels not examined"]


@pytest.mark.parametrize(
    ("size", "error_class"),
    [((20_000, 20_000), "DecompressionBombError"), ((10_000, 9_000), "DecompressionBombWarning")],
)
def test_oversized_png_is_unreadable(size: tuple[int, int], error_class: str) -> None:
    result = _checked(extract_metadata(io.BytesIO(_png_claiming(*size)), "image/png"))
    assert result["status"] == "unreadable"
    assert result["error"].startswith(f"{error_class}: ")


# ------------------------------------------------------------------ file handling


def test_reads_from_start_and_restores_position() -> None:
    with (PHOTOS / "Canon_40D.jpg").open("rb") as fp:
        fp.seek(0, io.SEEK_END)  # as left by a caller that just hashed the blob
        end = fp.tell()
        result = extract_metadata(fp, "image/jpeg")
        assert fp.tell() == end
        assert not fp.closed
    assert result["exif"]["make"] == "Canon"
