"""Preview thumbnails (casefile.evidence.preview)."""

from __future__ import annotations

import io
import json
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import pytest
from PIL import Image, ImageChops, ImageStat

from casefile.evidence.preview import make_thumbnail

REPO = Path(__file__).resolve().parents[2]
PHOTOS = REPO / "tests" / "data" / "photos"

MiB = 1024 * 1024


def _thumb(name: str, max_side: int = 512) -> Image.Image:
    with (PHOTOS / name).open("rb") as fp:
        data = make_thumbnail(fp, max_side)
    assert data is not None
    image = Image.open(io.BytesIO(data))
    assert image.format == "JPEG"
    assert image.mode == "RGB"
    return image


def _assert_no_metadata(data: bytes) -> None:
    image = Image.open(io.BytesIO(data))
    assert len(image.getexif()) == 0
    assert image.getexif().get_ifd(0x8825) == {}
    for key in ("exif", "comment", "xmp", "icc_profile", "dpi"):
        assert key not in image.info
    assert b"Exif" not in data
    assert b"GPS" not in data


def test_landscape_6_is_rotated_upright() -> None:
    # Stored as 450x600 (portrait grid) with orientation 6 = "rotate 90° clockwise to view":
    # the correctly oriented picture is landscape, as its name says.
    thumb = _thumb("landscape_6.jpg")
    assert thumb.size == (512, 384)
    assert thumb.width > thumb.height

    # Direction matters too: compare with both possible rotations of the raw pixels.
    with Image.open(PHOTOS / "landscape_6.jpg") as raw:
        raw.load()
        clockwise = raw.transpose(Image.Transpose.ROTATE_270).resize(thumb.size)
        counter_clockwise = raw.transpose(Image.Transpose.ROTATE_90).resize(thumb.size)

    def difference(reference: Image.Image) -> float:
        return sum(ImageStat.Stat(ImageChops.difference(thumb, reference.convert("RGB"))).mean) / 3

    assert difference(clockwise) < 10
    assert difference(counter_clockwise) > 30


def test_thumbnail_of_gps_photo_carries_no_metadata() -> None:
    with (PHOTOS / "DSCN0010.jpg").open("rb") as fp:
        data = make_thumbnail(fp)
    assert data is not None
    _assert_no_metadata(data)
    assert Image.open(io.BytesIO(data)).size == (512, 384)


def test_comment_icc_xmp_and_gps_are_all_stripped() -> None:
    exif = Image.Exif()
    exif[0x010F] = "Secret Camera"
    exif[0x8825] = {1: "N", 2: (10.0, 0.0, 0.0), 3: "E", 4: (20.0, 0.0, 0.0)}
    source = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 30, 30)).save(
        source,
        "JPEG",
        exif=exif,
        comment=b"safe house at the old mill",
        icc_profile=b"\x00" * 128,
        xmp=b"<x:xmpmeta>GPSLatitude 10</x:xmpmeta>",
        dpi=(300, 300),
    )
    with Image.open(io.BytesIO(source.getvalue())) as check:  # the source really has it all
        assert {"exif", "comment", "icc_profile", "xmp"} <= set(check.info)
    data = make_thumbnail(source)
    assert data is not None
    _assert_no_metadata(data)
    assert b"safe house" not in data
    assert b"xmpmeta" not in data


def test_corrupted_jpeg_still_gets_a_preview() -> None:
    # The decoder resynchronises at restart markers past the damaged stretch, and a
    # partially garbled preview is more useful to an investigator than none.
    thumb = _thumb("corrupted.jpg")
    assert thumb.size == (512, 384)


def test_max_side_is_honoured_and_small_images_are_not_enlarged() -> None:
    assert _thumb("DSCN0021.jpg", max_side=100).size == (100, 75)
    assert _thumb("landscape_6.jpg", max_side=64).size == (64, 48)
    assert _thumb("Canon_40D.jpg").size == (100, 68)


@pytest.mark.parametrize("max_side", [0, -1, 4097, 1.5, True])
def test_invalid_max_side_is_a_programming_error(max_side: object) -> None:
    with pytest.raises(ValueError, match="max_side"):
        make_thumbnail(io.BytesIO(b""), max_side)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"just some text",
        b"<html><img src=x onerror=alert(1)></html>",
        b"\xff\xd8\xff\xe0garbage",
        b"%PDF-1.4\n",
    ],
)
def test_not_an_image_gives_none(content: bytes) -> None:
    assert make_thumbnail(io.BytesIO(content)) is None


def test_truncated_jpeg_gives_none() -> None:
    head = (PHOTOS / "DSCN0010.jpg").read_bytes()[:20_000]
    assert make_thumbnail(io.BytesIO(head)) is None


def test_formats_outside_the_allow_list_are_not_decoded() -> None:
    # Pillow could open these, but they are not on our allow list (EPS would run Ghostscript).
    for fmt in ("PPM", "TGA"):
        buffer = io.BytesIO()
        Image.new("RGB", (4, 4)).save(buffer, fmt)
        assert make_thumbnail(buffer) is None


def test_transparency_is_flattened_onto_white() -> None:
    rgba = Image.new("RGBA", (40, 20), (0, 0, 0, 0))
    rgba.paste((0, 0, 255, 255), (0, 0, 20, 20))
    buffer = io.BytesIO()
    rgba.save(buffer, "PNG")
    data = make_thumbnail(buffer)
    assert data is not None
    thumb = Image.open(io.BytesIO(data))
    right = thumb.getpixel((35, 10))
    left = thumb.getpixel((5, 10))
    assert isinstance(right, tuple) and isinstance(left, tuple)
    assert min(right) > 240  # transparent → white, not black
    assert left[2] > 200 and left[0] < 60


@pytest.mark.parametrize(("mode", "fmt"), [("P", "GIF"), ("1", "PNG"), ("L", "PNG"), ("CMYK", "JPEG")])
def test_other_modes_become_rgb(mode: str, fmt: str) -> None:
    buffer = io.BytesIO()
    Image.new(mode, (900, 300)).save(buffer, fmt)
    data = make_thumbnail(buffer)
    assert data is not None
    thumb = Image.open(io.BytesIO(data))
    assert (thumb.mode, thumb.size) == ("RGB", (512, 171))


def test_restores_position() -> None:
    with (PHOTOS / "Canon_40D.jpg").open("rb") as fp:
        fp.seek(0, io.SEEK_END)
        end = fp.tell()
        assert make_thumbnail(fp) is not None
        assert fp.tell() == end
        assert not fp.closed


# --------------------------------------------------------------- decompression bomb


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _write_bomb_png(path: Path, side: int = 20_000) -> None:
    """A genuine, fully decodable 1-bit side x side PNG that compresses to ~50 KB.

    Pillow would hold it as one byte per pixel: 400 MB for 20,000².
    """
    compressor = zlib.compressobj(9)
    row = bytes(1 + (side + 7) // 8)  # filter byte + packed bits, all zero
    idat = b"".join(compressor.compress(row) for _ in range(side)) + compressor.flush()
    ihdr = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IDAT", idat) + _png_chunk(b"IEND", b"")
    )


# Runs in a fresh interpreter so ru_maxrss measures only this call, not earlier tests.
_BOMB_PROBE = """
import json, resource, sys, time
from PIL import Image
from casefile.evidence.preview import make_thumbnail
if sys.argv[2] == "pillow-guard-off":
    Image.MAX_IMAGE_PIXELS = None  # our own limit must still hold
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
start = time.perf_counter()
with open(sys.argv[1], "rb") as fp:
    result = make_thumbnail(fp)
elapsed = time.perf_counter() - start
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"none": result is None, "elapsed": elapsed, "grown_kib": after - before}))
"""


@pytest.fixture(scope="module")
def bomb_png(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("bomb") / "bomb.png"
    _write_bomb_png(path)
    return path


@pytest.mark.parametrize("pillow_guard", ["pillow-guard-on", "pillow-guard-off"])
def test_bomb_png_is_refused_without_allocating(bomb_png: Path, pillow_guard: str) -> None:
    completed = subprocess.run(
        [sys.executable, "-W", "error", "-c", _BOMB_PROBE, str(bomb_png), pillow_guard],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    probe = json.loads(completed.stdout)
    assert probe["none"] is True
    assert probe["elapsed"] < 5
    assert probe["grown_kib"] * 1024 < 100 * MiB


def test_bomb_png_inflates_to_full_size(bomb_png: Path) -> None:
    # Proves the file really is a bomb (so refusing it is meaningful), inflating in
    # bounded pieces rather than into one 50 MB buffer.
    data = bomb_png.read_bytes()
    assert len(data) < 100_000
    length = struct.unpack(">I", data[33:37])[0]
    assert data[37:41] == b"IDAT"
    stream = data[41 : 41 + length]
    inflater = zlib.decompressobj()
    total = 0
    while stream:
        total += len(inflater.decompress(stream, 1 << 20))
        stream = inflater.unconsumed_tail
    total += len(inflater.flush())
    assert total == 20_000 * (1 + 20_000 // 8)
