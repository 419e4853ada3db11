"""The PDF renderer: real WeasyPrint, real PDFs read back with pypdf and poppler."""

import base64
import io
import logging
import re
import shutil
import subprocess
import threading
from decimal import Decimal
from pathlib import Path
from typing import Any, cast

import pypdf
import pytest
from django.conf import settings
from django.template.loader import render_to_string
from django.utils import translation
from PIL import Image, ImageDraw

from reports.charts import Chart, Series, format_number
from reports.rendering import (
    ReportURLFetcher,
    URLRefusedError,
    allowed_folders,
    organization_media_folder,
    pdf_pages_to_png,
    render_pdf,
)

BRAND = "#1F6F5C"
PARTICIPANTS: list[Decimal | int] = [120, 180, 240, 260, 300, 420, 380, 390, 610, 800, 1100, 1310]
NORTH_KM: list[Decimal | int] = [Decimal("210.5"), 340, 515, 600, Decimal("1234.5"), 980]
SOUTH_KM: list[Decimal | int] = [150, 290, 410, 720, 860, Decimal("1100.25")]
HEAD = '<!DOCTYPE html><html lang="en"><head>'
HOSTILE = ("http://example.invalid/x.png", "file:///etc/passwd")

WORDS: dict[str, dict[str, Any]] = {
    "en": {
        "title": "Impact report 2025",
        "period": "1 January – 31 December 2025",
        "months": ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"],
        "half": ["January", "February", "March", "April", "May", "June"],
        "month": "Month",
        "participation": "Participation",
        "participation_text": "People who pledged at least once, by month.",
        "participants_title": "Participants per month",
        "participants_desc": "Participation rose from 120 in January to 1,310 in December.",
        "participants": "Participants",
        "people": "people",
        "impact": "Impact",
        "km_title": "Distance cycled by team",
        "km_desc": "Both teams cycled more each month; North reached 1,234.5 km in May.",
        "north": "North site",
        "south": "South site",
        "challenges": "Challenges",
        "challenges_caption": "Challenges by outcome",
        "challenge_headers": ["Outcome", "Challenges", "Participants"],
        "challenge_rows": [["Succeeded", 7, 1480], ["Failed", 2, 95], ["Open", 3, 410]],
        "note": "Figures as of 31 December 2025.",
        "logo_alt": "Acme Industries logo",
    },
    "fr": {
        "title": "Rapport d’impact 2025",
        "period": "1er janvier – 31 décembre 2025",
        "months": [
            "janv.",
            "févr.",
            "mars",
            "avr.",
            "mai",
            "juin",
            "juil.",
            "août",
            "sept.",
            "oct.",
            "nov.",
            "déc.",
        ],
        "half": ["janvier", "février", "mars", "avril", "mai", "juin"],
        "month": "Mois",
        "participation": "Participation",
        "participation_text": "Personnes ayant pris au moins un engagement, par mois.",
        "participants_title": "Participants par mois",
        "participants_desc": "La participation est passée de 120 en janvier à 1 310 en décembre.",
        "participants": "Participants",
        "people": "personnes",
        "impact": "Impact",
        "km_title": "Distance parcourue à vélo par équipe",
        "km_desc": "Les deux équipes ont roulé davantage chaque mois ; Nord a atteint 1 234,5 km en mai.",
        "north": "Site nord",
        "south": "Site sud",
        "challenges": "Défis",
        "challenges_caption": "Défis par issue",
        "challenge_headers": ["Issue", "Défis", "Participants"],
        "challenge_rows": [["Réussis", 7, 1480], ["Échoués", 2, 95], ["En cours", 3, 410]],
        "note": "Chiffres au 31 décembre 2025.",
        "logo_alt": "Logo de Ville de Villeneuve",
    },
}


def logo_data_url(colour=BRAND):
    image = Image.new("RGB", (180, 60), "white")
    draw = ImageDraw.Draw(image)
    draw.rectangle((6, 6, 54, 54), fill=colour)
    draw.rectangle((66, 22, 170, 38), fill="#1b1b1b")
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def sample_context(language):
    """What the sample document shows: two charts, a table, a logo. Call it in `language`."""
    w = WORDS[language]
    participants = Chart(
        kind="bar",
        title=w["participants_title"],
        description=w["participants_desc"],
        unit=w["people"],
        series=[Series(w["participants"], PARTICIPANTS)],
        categories=w["months"],
        category_label=w["month"],
    )
    distance = Chart(
        kind="line",
        title=w["km_title"],
        description=w["km_desc"],
        unit="km",
        series=[Series(w["north"], NORTH_KM), Series(w["south"], SOUTH_KM)],
        categories=w["half"],
        category_label=w["month"],
    )
    return {
        "title": w["title"],
        "organization_name": "Acme Industries" if language == "en" else "Ville de Villeneuve",
        "period": w["period"],
        "brand_color": BRAND,
        "logo_src": logo_data_url(),
        "logo_alt": w["logo_alt"],
        "sections": [
            {"heading": w["participation"], "text": w["participation_text"], "chart": participants},
            {"heading": w["impact"], "chart": distance},
        ],
        "table_heading": w["challenges"],
        "table_caption": w["challenges_caption"],
        "table_headers": w["challenge_headers"],
        "table_rows": [[row[0], *(format_number(v) for v in row[1:])] for row in w["challenge_rows"]],
        "note": w["note"],
    }


def sample_html(language, *, hostile=False):
    with translation.override(language):
        html: str = render_to_string("reports/sample.html", sample_context(language))
    if hostile:
        tags = "".join(f'<img src="{url}" alt="should not load">' for url in HOSTILE)
        tags += '<link rel="stylesheet" href="file:///etc/ssl/openssl.cnf">'
        html = html.replace("</main>", f"<p>{tags}</p></main>")
    return html


class Rendered:
    def __init__(self, language, pdf, progress, refused_logs):
        self.language = language
        self.pdf = pdf
        self.progress = progress
        self.refused_logs = refused_logs
        self.reader = pypdf.PdfReader(io.BytesIO(pdf))
        self.root = cast(Any, self.reader.trailer["/Root"])  # pypdf types it as any PDF object
        self.elements = list(walk(self.root["/StructTreeRoot"]))


def walk(node):
    node = node.get_object()
    if isinstance(node, pypdf.generic.ArrayObject):
        for child in node:
            yield from walk(child)
        return
    if not isinstance(node, pypdf.generic.DictionaryObject):
        return
    if node.get("/Type") == "/StructElem":
        yield node
    if "/K" in node:
        yield from walk(node["/K"])


def pdftotext(pdf, *, layout=True):
    command = [shutil.which("pdftotext") or "pdftotext", *(["-layout"] if layout else []), "-", "-"]
    return subprocess.run(command, input=pdf, capture_output=True, check=True, timeout=60).stdout.decode()


class _RefusalLog(logging.Handler):
    def __init__(self):
        super().__init__(logging.WARNING)
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())


def _render(language, *, hostile):
    progress: list[int] = []
    log = _RefusalLog()
    logging.getLogger("reports.rendering").addHandler(log)
    try:
        pdf = render_pdf(
            sample_html(language, hostile=hostile),
            language=language,
            progress=progress.append,
            expected_pages=2,
        )
    finally:
        logging.getLogger("reports.rendering").removeHandler(log)
    return Rendered(language, pdf, progress, log.messages)


@pytest.fixture(scope="module")
def french():
    return _render("fr", hostile=True)


@pytest.fixture(scope="module")
def english():
    return _render("en", hostile=False)


@pytest.fixture(params=["fr", "en"])
def rendered(request, french, english):
    return french if request.param == "fr" else english


class TestTaggedPdf:
    def test_the_document_language_is_the_pdf_language(self, rendered):
        assert rendered.root["/Lang"] == rendered.language

    def test_it_is_marked_and_has_a_structure_tree(self, rendered):
        marked = rendered.root["/MarkInfo"]["/Marked"]
        assert isinstance(marked, pypdf.generic.BooleanObject)
        assert marked.value is True
        assert rendered.root["/StructTreeRoot"]["/K"]
        kinds = [str(element["/S"]) for element in rendered.elements]
        assert kinds[0] == "/Document"
        assert "/H1" in kinds
        assert kinds.count("/H2") == 3
        assert kinds.index("/H1") < kinds.index("/H2")

    def test_charts_and_logo_are_figures_with_alternative_text(self, rendered):
        w = WORDS[rendered.language]
        alts = [str(e.get("/Alt")) for e in rendered.elements if e["/S"] == "/Figure"]
        assert w["participants_title"] in alts
        assert w["km_title"] in alts
        assert w["logo_alt"] in alts
        assert "None" not in alts  # every figure has one

    def test_tables_have_header_cells(self, rendered):
        tables = [e for e in rendered.elements if e["/S"] == "/Table"]
        # One per chart and the challenges; WeasyPrint tags a table split across pages as one
        # Table per page, each with the repeated header row.
        assert len(tables) >= 3
        for table in tables:
            cells = [str(e["/S"]) for e in walk(table["/K"])]
            assert "/TH" in cells
            assert "/TD" in cells
        captions = [e for e in rendered.elements if e["/S"] == "/Caption"]
        assert len(captions) == 3
        data_cells = [e for e in rendered.elements if e["/S"] == "/TD"]
        assert all(cell["/A"]["/Headers"] for cell in data_cells)  # each cell names its headers

    def test_the_title_metadata_is_the_document_title(self, rendered):
        assert rendered.reader.metadata.title == WORDS[rendered.language]["title"]
        assert rendered.reader.pdf_header == "%PDF-1.7"

    def test_tables_text_is_extractable_with_the_chart_values(self, rendered):
        w = WORDS[rendered.language]
        with translation.override(rendered.language):
            expected = [(m, format_number(v)) for m, v in zip(w["months"], PARTICIPANTS, strict=True)]
            km = [
                (m, format_number(n), format_number(s))
                for m, n, s in zip(w["half"], NORTH_KM, SOUTH_KM, strict=True)
            ]

        text = pdftotext(rendered.pdf).replace("\xa0", " ")
        for cells in [*expected, *km]:  # a table row, not chart labels: its cells on one line
            row = r"\s+".join(re.escape(cell.replace("\xa0", " ")) for cell in cells)
            assert re.search(rf"^\s*{row}\s*$", text, re.M), row

    def test_every_page_is_numbered_n_of_total(self, rendered):
        pages = len(rendered.reader.pages)
        assert pages >= 2
        for number, page in enumerate(rendered.reader.pages, start=1):
            assert f"{number} / {pages}" in page.extract_text()


class TestFetching:
    def test_network_and_files_elsewhere_are_refused_and_the_pdf_still_renders(self, french):
        assert any(HOSTILE[0] in message for message in french.refused_logs)
        assert any(HOSTILE[1] in message for message in french.refused_logs)
        assert any("openssl.cnf" in message for message in french.refused_logs)
        assert "root:" not in pdftotext(french.pdf)
        assert len(french.reader.pages) >= 2

    def test_the_fetcher_refuses_every_url_but_data_and_allowed_files(self, tmp_path):
        media = tmp_path / "media" / "alpha"
        (media / "branding").mkdir(parents=True)
        (media / "branding" / "logo.png").write_bytes(b"\x89PNG fake")
        (media / "escape.png").symlink_to("/etc/passwd")
        fetcher = ReportURLFetcher(allowed_folders(media))
        static_css = (settings.BASE_DIR / "static" / "crowdact.css").as_uri()

        assert fetcher.fetch("data:text/plain;base64,aGk=").read() == b"hi"
        assert fetcher.fetch(static_css).read().startswith(b":root")
        assert fetcher.fetch(static_css).content_type == "text/css"
        assert fetcher.fetch((media / "branding" / "logo.png").as_uri()).read() == b"\x89PNG fake"
        refused = [
            "http://example.invalid/x.png",
            "https://example.com/logo.png",
            "ftp://example.com/x",
            "file:///etc/passwd",
            "file://otherhost/work/main/static/crowdact.css",
            f"{(settings.BASE_DIR / 'static').as_uri()}/../pyproject.toml",
            f"{(settings.BASE_DIR / 'static').as_uri()}/%2e%2e/pyproject.toml",
            (media / "escape.png").as_uri(),
            (media / "missing.png").as_uri(),
            (tmp_path / "media" / "beta" / "logo.png").as_uri(),
            "javascript:alert(1)",
        ]
        for url in refused:
            with pytest.raises(URLRefusedError):
                fetcher.fetch(url)
        assert fetcher.refused == refused

    def test_a_logo_in_the_organisation_media_folder_is_embedded(self, tmp_path):
        buffer = io.BytesIO()
        Image.new("RGB", (40, 20), BRAND).save(buffer, "PNG")
        (tmp_path / "logo.png").write_bytes(buffer.getvalue())
        html = (
            '<!DOCTYPE html><html lang="en"><head><title>Logo</title></head><body>'
            '<h1>Logo</h1><img src="logo.png" alt="Our logo"></body></html>'
        )

        pdf = render_pdf(html, language="en", base_url=str(tmp_path) + "/", media_folder=tmp_path)

        root: Any = pypdf.PdfReader(io.BytesIO(pdf)).trailer["/Root"]
        elements = list(walk(root["/StructTreeRoot"]))
        figures = [e for e in elements if e["/S"] == "/Figure"]
        assert [str(f["/Alt"]) for f in figures] == ["Our logo"]
        assert b"/Subtype /Image" in pdf or b"/Subtype/Image" in pdf


class TestDocumentChecks:
    @pytest.mark.parametrize(
        ("html", "language", "message"),
        [
            (
                "<!DOCTYPE html><html><head><title>T</title></head><body>x</body></html>",
                "en",
                "no <html lang",
            ),
            (
                '<!DOCTYPE html><html lang="en"><head><title>T</title></head><body>x</body></html>',
                "fr",
                "lang='en'",
            ),
            ('<!DOCTYPE html><html lang="fr"><head></head><body>x</body></html>', "fr", "no <title>"),
        ],
    )
    def test_a_document_pdf_ua_cannot_describe_is_refused(self, html, language, message):
        with pytest.raises(ValueError, match=re.escape(message)):
            render_pdf(html, language=language)

    def test_a_regional_language_tag_matches_its_language(self):
        html = '<!DOCTYPE html><html lang="fr-FR"><head><title>T</title></head><body><p>x</p></body></html>'

        pdf = render_pdf(html, language="fr")

        root: Any = pypdf.PdfReader(io.BytesIO(pdf)).trailer["/Root"]
        assert root["/Lang"] == "fr-FR"


class TestProgress:
    def test_progress_rises_through_layout_and_ends_at_100(self, rendered):
        progress = rendered.progress
        assert progress == sorted(set(progress))
        assert progress[-1] == 100
        assert any(15 <= p < 85 for p in progress)  # layout pages
        assert len(progress) >= 6

    def test_renders_in_two_threads_each_hear_only_their_own_progress_and_the_logger_is_restored(self):
        progress_logger = logging.getLogger("weasyprint.progress")
        before = (progress_logger.level, progress_logger.propagate, list(progress_logger.handlers))
        pages = "".join(f'<h2 style="break-before: page">Page {n}</h2><p>Text</p>' for n in range(6))
        documents = {
            "short": f"{HEAD}<title>S</title></head><body><h1>S</h1></body></html>",
            "long": f"{HEAD}<title>L</title></head><body><h1>L</h1>{pages}</body></html>",
        }
        heard: dict[str, list[int]] = {name: [] for name in documents}
        errors = []

        def work(name):
            try:
                render_pdf(documents[name], language="en", progress=heard[name].append, expected_pages=7)
            except Exception as error:
                errors.append(error)

        threads = [threading.Thread(target=work, args=(name,)) for name in documents]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)

        assert errors == []
        for steps in heard.values():
            assert steps == sorted(set(steps))
            assert steps[-1] == 100
        layout_long = [p for p in heard["long"] if 15 <= p < 85]
        layout_short = [p for p in heard["short"] if 15 <= p < 85]
        assert len(layout_long) > len(layout_short)
        assert (progress_logger.level, progress_logger.propagate, list(progress_logger.handlers)) == before

    def test_a_progress_callback_that_raises_stops_the_render(self):
        def cancelled(percent):
            if percent >= 15:
                raise RuntimeError("cancelled")

        html = '<!DOCTYPE html><html lang="en"><head><title>T</title></head><body><p>x</p></body></html>'
        with pytest.raises(RuntimeError, match="cancelled"):
            render_pdf(html, language="en", progress=cancelled)
        assert logging.getLogger("weasyprint.progress").handlers == []


def test_pages_can_be_looked_at_as_png(english, tmp_path):
    pngs = pdf_pages_to_png(english.pdf, tmp_path)

    assert [p.name for p in pngs] == [f"page-{n}.png" for n in range(1, len(english.reader.pages) + 1)]
    with Image.open(pngs[0]) as first:
        assert first.size[0] == pytest.approx(496, abs=1)
        assert first.size[1] == pytest.approx(702, abs=1)
        assert first.getpixel((first.width // 2, 80)) == (31, 111, 92)  # the cover in the brand colour


def test_the_organisation_media_folder_is_the_current_schema_folder(in_org_a):
    folder = organization_media_folder()

    assert folder == Path(str(settings.MEDIA_ROOT), "alpha").resolve()
    assert folder in allowed_folders()
