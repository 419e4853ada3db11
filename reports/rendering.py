"""HTML to tagged PDF (PDF/UA-1) with WeasyPrint, fetching nothing but local, allowed files.

`render_pdf` is the one way a report becomes a PDF: it refuses every URL but `data:` and files under
the project's `static/` folder or the organisation's media folder (its logo), so a report never
reaches the network nor reads another file; it reports progress from WeasyPrint's own steps.
WeasyPrint keeps the whole document in memory and does not give it all back: render in a worker
process that is recycled (README, "WeasyPrint" in the stack notes).
"""

from __future__ import annotations

import logging
import mimetypes
import re
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit
from urllib.request import url2pathname

import weasyprint
from django.conf import settings
from django.core.files.storage import default_storage
from django_tenants.utils import get_public_schema_name
from weasyprint.urls import URLFetcher, URLFetcherResponse

from tenants.db import tenant_connection

logger = logging.getLogger(__name__)

PDF_VARIANT = "pdf/ua-1"
DEFAULT_EXPECTED_PAGES = 8
PNG_RESOLUTION = 60  # dots per inch of pdf_pages_to_png: enough to see a page, small to keep


class URLRefusedError(ValueError):
    """A report asked for a URL it may not fetch."""


class ReportURLFetcher(URLFetcher):
    """Fetches `data:` URLs and files under the allowed folders; refuses (and logs) all else.

    Files are resolved (symlinks and `..` included) before the check, and read from the resolved
    path, so nothing outside the folders is ever opened. Refused URLs are kept in `refused`.
    """

    def __init__(self, allowed_folders: Iterable[Path], **kwargs: Any) -> None:
        super().__init__(allowed_protocols=("data", "file"), allow_redirects=False, **kwargs)
        self.allowed_folders = tuple(Path(folder).resolve() for folder in allowed_folders)
        self.refused: list[str] = []

    def fetch(self, url: str, headers: dict[str, str] | None = None) -> URLFetcherResponse:
        scheme = url.split(":", 1)[0].lower() if ":" in url else ""
        if scheme == "data":
            response: URLFetcherResponse = super().fetch(url, headers)
            return response
        path = self._allowed_file(url) if scheme == "file" else None
        if path is None:
            shown = url if len(url) <= 200 else f"{url[:200]}…"
            self.refused.append(shown)
            logger.warning("Report rendering refused to fetch %s", shown)
            raise URLRefusedError(f"Refused: {shown}")
        content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        return URLFetcherResponse(path.as_uri(), path.read_bytes(), {"Content-Type": content_type})

    def _allowed_file(self, url: str) -> Path | None:
        try:
            parts = urlsplit(url)
        except ValueError:
            return None
        if parts.netloc not in ("", "localhost"):
            return None
        try:
            path = Path(url2pathname(unquote(parts.path))).resolve()
        except (OSError, RuntimeError, ValueError):
            return None
        if not any(path.is_relative_to(folder) for folder in self.allowed_folders):
            return None
        return path if path.is_file() else None


def organization_media_folder() -> Path | None:
    """The current organisation's media folder (its logo lives there); None outside one."""
    schema = tenant_connection().schema_name
    if not schema or schema == get_public_schema_name():
        return None
    location = getattr(default_storage, "location", None)  # only a storage on the file system has one
    return Path(location) if location else None


def allowed_folders(media_folder: Path | None = None) -> list[Path]:
    """The project's `static/` folder(s) and the organisation's media folder."""
    folders = [Path(settings.BASE_DIR) / "static", *(Path(folder) for folder in settings.STATICFILES_DIRS)]
    media = media_folder if media_folder is not None else organization_media_folder()
    if media is not None:
        folders.append(media)
    return folders


# Progress ---------------------------------------------------------------------------------------

_STEP_PERCENT = {"1": 2, "2": 4, "3": 8, "4": 12, "6": 88, "7": 95}
_LAYOUT_FIRST, _LAYOUT_LAST = 15, 85
_STEP_RE = re.compile(r"^Step (\d+) - (?:Creating layout - Page (\d+))?")


class _ProgressHandler(logging.Handler):
    """Turns the messages of `weasyprint.progress` from one thread into increasing percentages."""

    def __init__(self, callback: Callable[[int], None], expected_pages: int) -> None:
        super().__init__(level=logging.INFO)
        self.callback = callback
        self.expected_pages = max(1, expected_pages)
        self.thread = threading.get_ident()
        self.last = 0

    def emit(self, record: logging.LogRecord) -> None:
        # Renders in other threads log to the same logger: only this render's thread counts.
        if record.thread != self.thread:
            return
        match = _STEP_RE.match(record.getMessage())
        if not match:
            return
        step, page = match.groups()
        if page is not None:
            # Layout is most of the time: pages against the estimate, never past it.
            pages = int(page)
            expected = max(self.expected_pages, pages + 1)
            percent = _LAYOUT_FIRST + (_LAYOUT_LAST - _LAYOUT_FIRST) * (pages - 1) // expected
        elif step in _STEP_PERCENT:
            percent = _STEP_PERCENT[step]
        else:
            return
        self.report(percent)

    def report(self, percent: int) -> None:
        if percent > self.last:
            self.last = percent
            self.callback(percent)


_progress_lock = threading.Lock()
_progress_renders = 0
_progress_saved: tuple[int, bool] | None = None


def _progress_logger_on() -> logging.Logger:
    """Let WeasyPrint's progress messages through while a render listens to them.

    When nothing else already listens (level above INFO), the logger is raised to INFO without
    propagating, so nobody else's log fills with "Step 5" lines; it is put back by the last render.
    """
    global _progress_renders, _progress_saved
    progress_logger = logging.getLogger("weasyprint.progress")
    with _progress_lock:
        if _progress_renders == 0 and not progress_logger.isEnabledFor(logging.INFO):
            _progress_saved = (progress_logger.level, progress_logger.propagate)
            progress_logger.setLevel(logging.INFO)
            progress_logger.propagate = False
        _progress_renders += 1
    return progress_logger


def _progress_logger_off(progress_logger: logging.Logger) -> None:
    global _progress_renders, _progress_saved
    with _progress_lock:
        _progress_renders -= 1
        if _progress_renders == 0 and _progress_saved is not None:
            progress_logger.setLevel(_progress_saved[0])
            progress_logger.propagate = _progress_saved[1]
            _progress_saved = None


# Rendering --------------------------------------------------------------------------------------


def render_pdf(
    html: str,
    *,
    language: str,
    base_url: str | None = None,
    progress: Callable[[int], None] | None = None,
    expected_pages: int | None = None,
    media_folder: Path | None = None,
) -> bytes:
    """The PDF/UA-1 bytes of `html`, a whole document whose `<html lang>` is `language`.

    `base_url` resolves relative URLs (a folder or a file URL). `progress(percent)` is called from
    this thread with increasing percentages, 100 last; layout pages count against
    `expected_pages` (8 unless given). An exception raised by `progress` stops the render (a
    cancelled job). `media_folder` is the organisation's media folder, by default the current
    organisation's. A URL outside the allowed folders is refused and logged; the PDF renders
    without it. Raises ValueError when the document lacks what PDF/UA needs (language, title).
    """
    fetcher = ReportURLFetcher(allowed_folders(media_folder))
    handler = None
    progress_logger = None
    if progress is not None:
        handler = _ProgressHandler(progress, expected_pages or DEFAULT_EXPECTED_PAGES)
        progress_logger = _progress_logger_on()
        progress_logger.addHandler(handler)
    try:
        document = weasyprint.HTML(string=html, base_url=base_url, url_fetcher=fetcher)
        _check_document(document.etree_element, language)
        pdf: bytes = document.write_pdf(pdf_variant=PDF_VARIANT)
        if handler is not None:
            handler.report(100)
    finally:
        if handler is not None and progress_logger is not None:
            progress_logger.removeHandler(handler)
            _progress_logger_off(progress_logger)
    return pdf


def _check_document(root: Any, language: str) -> None:
    lang = (root.get("lang") or "").strip()
    if not lang:
        raise ValueError('The document has no <html lang="…">: PDF/UA needs its language.')
    if lang.split("-")[0].lower() != language.split("-")[0].lower():
        raise ValueError(f"The document says lang={lang!r}, the report is in {language!r}.")
    title = root.find("head/title")
    if title is None or not "".join(title.itertext()).strip():
        raise ValueError("The document has no <title>: PDF/UA needs one for the PDF's title.")


def pdf_pages_to_png(pdf: bytes, folder: Path, *, prefix: str = "page") -> list[Path]:
    """Each page of `pdf` as a PNG at 60 dpi in `folder` (`page-1.png`…), to look at it."""
    pdftoppm = shutil.which("pdftoppm")
    if pdftoppm is None:
        raise RuntimeError("pdftoppm is missing: install Debian's poppler-utils.")
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        source = Path(scratch) / "document.pdf"
        source.write_bytes(pdf)
        # Fixed arguments and our own file: no shell, nothing from a user.
        subprocess.run(  # noqa: S603
            [pdftoppm, "-r", str(PNG_RESOLUTION), "-png", str(source), str(Path(scratch) / prefix)],
            check=True,
            capture_output=True,
            timeout=120,
        )
        pages = sorted(Path(scratch).glob(f"{prefix}-*.png"), key=lambda p: int(p.stem.rsplit("-", 1)[1]))
        return [Path(shutil.move(page, folder / page.name)) for page in pages]
