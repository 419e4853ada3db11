"""The impact report as a PDF: its headline figures are the selectors' and the API's, in English and
French; it is tagged (PDF/UA-1) with the report's language; long lists are cut with a pointer to the
CSV; the organisation's logo is on the cover."""

import io
import os
import re
from decimal import Decimal
from pathlib import Path
from typing import Any, cast

import pypdf
import pytest
from django.core.files.base import ContentFile
from django.utils import translation
from PIL import Image

from reports.documents import PDF_LIST_MOST, report_pdf, shorten
from reports.selectors import impact_report
from tests.api import V1, api_client
from tests.factories import TeamFactory
from tests.reports.support import END, START, TODAY, march_make, more_of_the_same

pytestmark = pytest.mark.django_db

MARCH = {"start": START.isoformat(), "end": END.isoformat()}
HEADLINE = (
    "participants",
    "participation_rate",
    "challenges_succeeded",
    "co2e_avoided_kg",
    "volunteer_hours",
)


def flat(text: str) -> str:
    return " ".join(text.split())


def pdf_text(pdf: bytes) -> str:
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    text = "\n".join(page.extract_text() or "" for page in reader.pages)
    return text.replace("\u202f", " ").replace("\xa0", " ")


def pdf_root(pdf: bytes) -> Any:
    return cast(Any, pypdf.PdfReader(io.BytesIO(pdf)).trailer["/Root"])


def _elements(node: Any) -> Any:
    node = node.get_object()
    if isinstance(node, pypdf.generic.ArrayObject):
        for child in node:
            yield from _elements(child)
    elif isinstance(node, pypdf.generic.DictionaryObject):
        if node.get("/Type") == "/StructElem":
            yield node
        if "/K" in node:
            yield from _elements(node["/K"])


def headline_from_pdf(text: str, labels: dict[str, str], heading: str) -> dict[str, str]:
    """Each headline figure's printed value: the line after its label in the executive summary."""
    lines = [line.strip() for line in text[text.index(heading) :].splitlines()]
    values = {}
    for key, label in labels.items():
        values[key] = lines[lines.index(label) + 1]
    return values


def to_decimal(display: str) -> Decimal:
    """ "12,5 %" / "12.23 kg CO2e" / "1 234" → Decimal."""
    number = re.match(r"[−\-]?[\d ,.]+", display)
    assert number, display
    text = number.group(0).replace(" ", "").replace("−", "-").strip()
    return (
        Decimal(text.replace(",", ".")) if "," in text and "." not in text else Decimal(text.replace(",", ""))
    )


def save_pages(pdf: bytes, name: str) -> None:
    """Keep the PDF for a person to look at, when asked (REPORTS_PDF_KEEP=/some/folder)."""
    folder = os.environ.get("REPORTS_PDF_KEEP")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        (Path(folder) / f"{name}.pdf").write_bytes(pdf)


@pytest.mark.parametrize("language", ["en", "fr"])
def test_the_pdf_headline_figures_are_the_selectors_and_the_apis(in_org_a, admin, language):
    # Given March's history
    march_make(in_org_a)
    # When the report is made in the language
    _report, pdf = report_pdf(in_org_a, START, END, language=language, today=TODAY)
    save_pages(pdf, f"march-{language}")
    # Then each headline figure printed is the selectors' figure, and the API's
    expected = impact_report(in_org_a, START, END, language=language, today=TODAY)
    labels = {key: expected.figure(key).label for key in HEADLINE}
    with translation.override(language):
        heading = translation.gettext("Executive summary")
    printed = headline_from_pdf(pdf_text(pdf), labels, heading)
    api = api_client(admin).get(f"{V1}/impact/", MARCH).json()
    for key in HEADLINE:
        assert printed[key] == expected.figure(key).display, key
        shown = to_decimal(printed[key])
        assert shown == Decimal(str(api[key])).quantize(shown), key  # the API has more decimals
    assert printed["participants"] == "5"
    assert to_decimal(printed["participation_rate"]) == Decimal("12.5")


@pytest.mark.parametrize("language", ["en", "fr"])
def test_the_pdf_is_tagged_in_the_reports_language(in_org_a, language):
    march_make(in_org_a)

    _, pdf = report_pdf(in_org_a, START, END, language=language, today=TODAY)

    root = pdf_root(pdf)
    assert root["/Lang"] == language
    assert bool(root["/MarkInfo"]["/Marked"])
    assert "/StructTreeRoot" in root
    metadata = pypdf.PdfReader(io.BytesIO(pdf)).metadata
    assert metadata is not None
    with translation.override(language):
        assert translation.gettext("Impact report") in (metadata.title or "")
    assert (
        "March 2025" in (metadata.title or "") if language == "en" else "mars 2025" in (metadata.title or "")
    )
    kinds = {str(element["/S"]) for element in _elements(root["/StructTreeRoot"])}
    assert {"/H1", "/H2", "/H3", "/Table", "/TH", "/TD", "/Figure"} <= kinds


def test_the_pdf_has_every_section_page_numbers_and_the_disclosures(in_org_a):
    march_make(in_org_a)

    _, pdf = report_pdf(in_org_a, START, END, language="en", today=TODAY)

    text = flat(pdf_text(pdf))
    pages = len(pypdf.PdfReader(io.BytesIO(pdf)).pages)
    for heading in (
        "Executive summary",
        "Participation",
        "Challenges",
        "Impact",
        "Commitments kept",
        "Methodology and data quality",
        "Appendix: figures and the disclosures they can support",
    ):
        assert heading in text, heading
    for disclosure in ("ESRS S1-2, S1-4", "GRI 413-1", "GRI 2-29", "ESRS E1-6"):
        assert disclosure in text, disclosure
    assert f"2 / {pages}" in text
    assert f"{pages} / {pages}" in text
    assert "Generated on" in text
    # The ledger: delivered with its proof, and the one still due listed
    assert "Bike shelters" in text
    assert "New public bins" in text
    # Methodology: the factors with their source and year
    assert "ADEME" in text


def test_long_lists_are_cut_and_the_rest_is_left_to_the_csv(in_org_a):
    # Given more teams than the PDF prints
    march = march_make(in_org_a)
    more_of_the_same(march, 2)
    for number in range(PDF_LIST_MOST + 3):
        TeamFactory.create(name=f"Extra team {number:02}", headcount=5)

    report, pdf = report_pdf(in_org_a, START, END, language="en", today=TODAY)

    teams = len(report.teams)
    assert teams > PDF_LIST_MOST + 1
    text = flat(pdf_text(pdf))
    assert f"and {teams - PDF_LIST_MOST} more teams, complete in the CSV." in text
    printed = [team.name for team in report.teams if team.name in text]
    assert len(printed) == PDF_LIST_MOST


def test_shorten_keeps_a_single_extra_row_rather_than_saying_one_more():
    assert shorten(list(range(13)), 12).more == 0
    assert shorten(list(range(14)), 12).more == 2
    assert shorten(list(range(14)), 12).rows == tuple(range(12))


def test_the_logo_is_on_the_cover(in_org_a):
    march_make(in_org_a)
    buffer = io.BytesIO()
    Image.new("RGB", (120, 40), "#1F6F5C").save(buffer, "PNG")
    in_org_a.logo.save("logo-test.png", ContentFile(buffer.getvalue()), save=True)

    _, pdf = report_pdf(in_org_a, START, END, language="en", today=TODAY)

    first = pypdf.PdfReader(io.BytesIO(pdf)).pages[0]
    assert len(list(first.images)) == 1
