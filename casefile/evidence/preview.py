"""Preview thumbnails of evidence images, and of PDFs (their first pages, side by side: make_pdf_preview).

``make_thumbnail`` is a pure function over a seekable binary file object: it
reads the blob from offset 0, restores the caller's position and returns JPEG
bytes or ``None``. It never raises for bad input (only for a bad ``max_side``).

The output is a *derived* image, never evidence: it is re-encoded from pixels
only, so it carries no EXIF (no GPS!), ICC profile, XMP or comment from the
source, and EXIF orientation is applied to the pixels instead.

Decompression-bomb safety: the pixel count from the header is checked against
``MAX_IMAGE_PIXELS`` before anything is decoded, Pillow's own bomb warning is
turned into an error, and JPEGs are decoded at a reduced DCT scale via
``draft()`` so a 100 MP photo never needs a full-size buffer.
"""

from __future__ import annotations

import contextlib
import io
from typing import BinaryIO

from PIL import Image, ImageOps

from casefile.evidence.metadata import ALLOWED_FORMATS, MAX_IMAGE_PIXELS, pillow_guard

DEFAULT_MAX_SIDE = 512
#: Upper bound for ``max_side``: previews, not full-resolution copies.
MAX_THUMBNAIL_SIDE = 4096
JPEG_QUALITY = 85

_BACKGROUND = (255, 255, 255)
_PALETTE_MODES = ("1", "P", "PA")


def make_thumbnail(fp: BinaryIO, max_side: int = DEFAULT_MAX_SIDE) -> bytes | None:
    """Return a JPEG preview whose longer side is at most ``max_side`` pixels.

    Returns ``None`` when the blob is not an image we may decode, is corrupt
    beyond what the decoder recovers from, or is larger than ``MAX_IMAGE_PIXELS``.
    Raises ``ValueError`` only for an invalid ``max_side`` (a programming error).
    """
    if isinstance(max_side, bool) or not isinstance(max_side, int) or not 1 <= max_side <= MAX_THUMBNAIL_SIDE:
        raise ValueError(f"max_side must be an int between 1 and {MAX_THUMBNAIL_SIDE}")
    try:
        position = fp.tell()
    except Exception:
        return None
    try:
        fp.seek(0)
        return _render(fp, max_side)
    except Exception:
        # Undecodable input (truncated, corrupt, bomb, unsupported mode...) simply has no preview.
        return None
    finally:
        with contextlib.suppress(Exception):
            fp.seek(position)


def _render(fp: BinaryIO, max_side: int) -> bytes | None:
    with pillow_guard():
        with Image.open(fp, formats=ALLOWED_FORMATS) as image:
            width, height = image.size
            # Refuse before decoding: the header alone tells us how big the buffer would be.
            if width < 1 or height < 1 or width * height > MAX_IMAGE_PIXELS:
                return None
            # For JPEG, decode at 1/2, 1/4 or 1/8 scale (still >= max_side); no-op elsewhere.
            image.draft("RGB", (max_side, max_side))
            image.load()  # raises for truncated data
            # In place on the (already reduced) image, with the original EXIF still attached.
            # A broken EXIF block must not cost the preview: orientation is then best effort.
            with contextlib.suppress(Exception):
                ImageOps.exif_transpose(image, in_place=True)
            if image.mode not in _PALETTE_MODES:
                image.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)  # shrink before copying
            rgb = _flatten_to_rgb(image)
        # Palette images are converted before resizing: resizing "P" would fall back to NEAREST.
        rgb.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
        # A fresh image has an empty .info: nothing (EXIF, comment, XMP, ICC) can leak
        # into the encoder, which otherwise copies e.g. the JPEG comment from .info.
        clean = Image.new("RGB", rgb.size)
        clean.paste(rgb)
        output = io.BytesIO()
        clean.save(output, "JPEG", quality=JPEG_QUALITY, optimize=True)
        return output.getvalue()


PDF_PREVIEW_PAGES = 3
PDF_PAGE_HEIGHT = 360  # each page's height in the strip; the strip is then fitted within DEFAULT_MAX_SIDE
_PAGE_GAP = 8


def make_pdf_preview(path: str) -> bytes | None:
    """A JPEG of the PDF's first pages side by side, rendered by PDFium (pypdfium2) from the file at `path`, or
    None (an encrypted, broken or empty PDF). Runs in the PDF worker process (evidence/text.py), which bounds its
    time and memory; a page is rendered at the scale its preview needs, never at full size."""
    try:
        import pypdfium2 as pdfium  # imported on first use, in the worker: only PDF derivation needs it
        from pypdf import PdfReader

        with open(path, "rb") as fp:
            if PdfReader(fp, strict=False).is_encrypted:
                return None  # as for its text: an encrypted document stays as it came, not even opened
        document = pdfium.PdfDocument(path)
        try:
            pages = []
            for index in range(min(len(document), PDF_PREVIEW_PAGES)):
                page = document[index]
                width, height = page.get_size()
                if width <= 0 or height <= 0:
                    continue
                scale = min(PDF_PAGE_HEIGHT / height, 2 * PDF_PAGE_HEIGHT / width, 4.0)
                pages.append(page.render(scale=scale).to_pil().convert("RGB"))
        finally:
            document.close()
    except Exception:
        return None
    if not pages:
        return None
    strip = Image.new(
        "RGB",
        (sum(p.width for p in pages) + _PAGE_GAP * (len(pages) - 1), max(p.height for p in pages)),
        (205, 210, 218),
    )
    x = 0
    for page_image in pages:
        strip.paste(page_image, (x, 0))
        x += page_image.width + _PAGE_GAP
    strip.thumbnail((DEFAULT_MAX_SIDE * 2, DEFAULT_MAX_SIDE), Image.Resampling.LANCZOS)
    output = io.BytesIO()
    strip.save(output, "JPEG", quality=JPEG_QUALITY, optimize=True)
    return output.getvalue()


def _flatten_to_rgb(image: Image.Image) -> Image.Image:
    """RGB copy of ``image``; transparency is composited onto white, not black."""
    has_alpha = image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or (image.mode == "P" and "transparency" in image.info)
    if not has_alpha:
        return image.convert("RGB")
    rgba = image.convert("RGBA")
    background = Image.new("RGB", rgba.size, _BACKGROUND)
    background.paste(rgba, mask=rgba.getchannel("A"))
    return background
