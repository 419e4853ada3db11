"""An organisation's logo: decoded and re-encoded, never stored as sent.

Pillow decodes the upload (refusing what is not a PNG, JPEG or WebP image — an SVG can carry
scripts, so it is refused by name), shrinks it to fit 1,000 × 1,000 pixels, and writes it again in
the same format, which leaves behind whatever metadata came with it (camera, location, comments).
The file goes to the organisation's own folder of the storage (MEDIA_ROOT/<schema>/branding/) under
a name made of its content's hash, so a new logo has a new address and caches never mix them up.
"""

import hashlib
import io
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from django.utils.translation import gettext as _
from PIL import Image, UnidentifiedImageError

MAX_BYTES = 1024 * 1024
MAX_SIDE = 1000
# Decoding a tiny file into a huge bitmap ("decompression bomb") is refused before any work.
MAX_PIXELS = 25_000_000
FORMATS = {"PNG": ("png", "image/png"), "JPEG": ("jpg", "image/jpeg"), "WEBP": ("webp", "image/webp")}


@dataclass(frozen=True)
class Logo:
    name: str
    content: ContentFile
    width: int
    height: int


def logo_prepare(upload: UploadedFile) -> Logo:
    """The upload as a clean logo, or ValidationError on "logo" saying why not."""
    if upload.size is not None and upload.size > MAX_BYTES:
        raise ValidationError({"logo": [_("The logo is larger than 1 MB: send a smaller file.")]})
    data = upload.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        raise ValidationError({"logo": [_("The logo is larger than 1 MB: send a smaller file.")]})
    head = data[:512].lstrip().lower()
    if head.startswith(b"<?xml") or b"<svg" in head:
        raise ValidationError(
            {"logo": [_("SVG logos are not accepted (they can carry scripts): send a PNG, JPEG or WebP.")]}
        )
    try:
        with Image.open(io.BytesIO(data)) as probe:
            image_format = probe.format or ""
            if image_format not in FORMATS:
                raise ValidationError({"logo": [_("Send the logo as a PNG, JPEG or WebP image.")]})
            if probe.width * probe.height > MAX_PIXELS:
                raise ValidationError({"logo": [_("This image is too large in pixels to be a logo.")]})
            probe.verify()
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            clean = _without_metadata(image)
    except (UnidentifiedImageError, OSError, SyntaxError, Image.DecompressionBombError):
        raise ValidationError(
            {"logo": [_("This file is not an image we can read: send a PNG, JPEG or WebP.")]}
        ) from None
    clean.thumbnail((MAX_SIDE, MAX_SIDE))
    extension, _content_type = FORMATS[image_format]
    out = io.BytesIO()
    if image_format == "JPEG":
        clean.convert("RGB").save(out, format="JPEG", quality=90, optimize=True)
    elif image_format == "PNG":
        clean.save(out, format="PNG", optimize=True)
    else:
        clean.save(out, format="WEBP", quality=90)
    encoded = out.getvalue()
    digest = hashlib.sha256(encoded).hexdigest()[:16]
    return Logo(f"logo-{digest}.{extension}", ContentFile(encoded), clean.width, clean.height)


def _without_metadata(image: Image.Image) -> Image.Image:
    """A copy holding the pixels only: no EXIF, no text chunks, no ICC-borne comments."""
    mode = (
        image.mode
        if image.mode in ("RGB", "RGBA", "L", "LA")
        else ("RGBA" if "A" in image.getbands() else "RGB")
    )
    pixels = image.convert(mode)
    clean = Image.new(mode, pixels.size)
    clean.paste(pixels)
    return clean


def logo_content_type(name: str) -> str:
    extension = name.rsplit(".", 1)[-1].lower()
    return dict(FORMATS.values()).get(extension, "application/octet-stream")
