"""The dashboard, the CSV, the API and the selectors give the same numbers for the same period.

Each source is read into the same shape, `{figure key: (value, previous value)}` for the headline and
`{team: participants}` for the teams, as a reader of it would: the page's figures (each carries its
value, unlocalised, beside the words), the CSV's summary and team blocks, the API's JSON. The PDF
impact report joins as one more reader: its executive summary's figures (rounded as printed, so
the others are compared at the PDF's precision) and its team table.
"""

import html
import io
import re
from decimal import Decimal

import pypdf
import pytest

from reports.documents import report_pdf
from reports.exports import csv_read
from reports.selectors import impact_report
from tests.api import V1, api_client
from tests.reports.support import END, START, march_make, more_of_the_same

pytestmark = pytest.mark.django_db

MARCH = {"start": START.isoformat(), "end": END.isoformat()}
HEADLINE = (
    "participants",
    "participation_rate",
    "challenges_succeeded",
    "co2e_avoided_kg",
    "volunteer_hours",
    "counterparts_delivered",
)
Figures = dict[str, tuple[Decimal | None, Decimal | None]]


def _decimal(text: str | None) -> Decimal | None:
    return None if text in (None, "") else Decimal(str(text).replace(",", "."))


def from_selectors(organization, client) -> tuple[Figures, dict[str, int]]:
    report = impact_report(organization, START, END, language="en")
    figures = {key: (report.figure(key).value, report.figure(key).previous) for key in HEADLINE}
    return figures, {team.name: team.participants for team in report.teams}


def from_dashboard(organization, client) -> tuple[Figures, dict[str, int]]:
    page = client.get("/manage/impact/", MARCH).content.decode()
    figures = {
        key: (_decimal(value), _decimal(previous))
        for key, value, previous in re.findall(
            r'data-key="(\w+)" data-value="([^"]*)" data-previous="([^"]*)"', page
        )
    }
    caption = page.index('id="teams-caption"')
    table = page[caption : page.index("</table>", caption)]
    teams = {
        html.unescape(name): int(cells[1].replace(",", ""))
        for name, row in re.findall(r'<th scope="row">([^<]+)</th>(.*?)</tr>', table, re.S)
        for cells in [re.findall(r'<td class="number">([^<]*)</td>', row)]
    }
    return figures, teams


def from_csv(organization, client) -> tuple[Figures, dict[str, int]]:
    blocks = csv_read(client.get("/manage/impact/export.csv", MARCH).content.decode("utf-8"), "en")
    summary = {row["Key"]: row for row in blocks["Summary"]}
    figures = {
        key: (_decimal(summary[key]["Value"]), _decimal(summary[key]["Previous period"])) for key in HEADLINE
    }
    return figures, {row["Team"]: int(row["Participants"]) for row in blocks["Team"]}


def from_api(organization, client) -> tuple[Figures, dict[str, int]]:
    data = client.get(f"{V1}/impact/", MARCH).json()
    figures = {key: (_decimal(data[key]), _decimal(data["previous"][key])) for key in HEADLINE}
    from_export = csv_read(client.get(f"{V1}/impact/export.csv", MARCH).content.decode("utf-8"), "en")
    return figures, {row["Team"]: int(row["Participants"]) for row in from_export["Team"]}


def from_pdf(organization, client) -> tuple[Figures, dict[str, int]]:
    _, pdf = report_pdf(organization, START, END, language="en")
    text = "\n".join(page.extract_text() or "" for page in pypdf.PdfReader(io.BytesIO(pdf)).pages)
    lines = [line.strip() for line in text[text.index("Executive summary") :].splitlines()]
    report = impact_report(organization, START, END, language="en")
    figures = {}
    for key in HEADLINE:
        at = lines.index(report.figure(key).label)
        value = _printed(lines[at + 1])
        previous = _printed(lines[at + 3].split(": ", 1)[1])
        figures[key] = (value, previous)
    table = " ".join(
        text[text.index("Participation by team") : text.index("Teams by participation rate")].split()
    )
    teams = {}
    for team in report.teams:  # each row: name, headcount, participants, ...
        cells = table[table.index(" " + team.name + " ") + len(team.name) + 2 :].split()
        teams[team.name] = int(cells[1])
    return figures, teams


def _printed(text: str) -> Decimal | None:
    number = re.match(r"[\d,.]+", text.strip())
    return None if number is None else Decimal(number.group(0).replace(",", ""))


SOURCES = {"dashboard": from_dashboard, "csv": from_csv, "api": from_api, "pdf": from_pdf}


@pytest.mark.parametrize("extra_people", [0, 12], ids=["small", "larger"])
def test_the_dashboard_the_csv_and_the_api_give_the_selectors_numbers(in_org_a, admin, extra_people):
    march = march_make(in_org_a)
    more_of_the_same(march, extra_people)
    client = api_client(admin)
    expected, teams = from_selectors(in_org_a, client)
    assert expected["participants"][0] == 5 + 2 * extra_people  # the data is what the test thinks it is

    for name, read in SOURCES.items():
        figures, team_participants = read(in_org_a, client)
        if name == "pdf":  # printed as the headline shows them: compare at the printed precision
            figures = {
                key: (_same(a, expected[key][0]), _same(b, expected[key][1]))
                for key, (a, b) in figures.items()
            }
        assert figures == {key: (_normal(a), _normal(b)) for key, (a, b) in expected.items()}, name
        assert team_participants == teams, name


def _same(printed: Decimal | None, exact: Decimal | None) -> Decimal | None:
    """The exact value when the printed one is it, rounded; the printed one (which then fails) if not."""
    if printed is None or exact is None:
        return printed
    return Decimal(exact) if Decimal(exact).quantize(printed) == printed else printed


def _normal(value: Decimal | None) -> Decimal | None:
    return None if value is None else Decimal(value)
