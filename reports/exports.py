"""The impact report as CSV: the headline figures and every row behind them, in named blocks.

One file, blocks one after the other with an empty line between them; each block starts with its
header row, and every row's first cell names its block ("Summary", "Team", "Challenge"…), so that a
filter on the first column keeps one block. The summary also carries each figure's stable key
(`participants`, `co2e_avoided_kg`…), the names the API uses.

Made for a spreadsheet, in the report's language: UTF-8 with a byte-order mark, without which Excel
reads the file in the computer's old code page and garbles "é", "€" and "–"; in English, commas
between cells and a point before decimals; in French, semicolons and a decimal comma — what Excel
expects in each language when the file is opened with a double click. Dates are ISO (2026-03-31),
which both read as dates; numbers carry no thousands separator. The API's JSON is the
machine-readable form.
"""

import csv
import io
import zoneinfo
from collections.abc import Iterator, Sequence
from decimal import Decimal

from django.utils import translation
from django.utils.translation import gettext

from reports.selectors import ChallengeRow, ImpactReport, Totals

BOM = "\ufeff"
Cell = str | int | Decimal | None


def _dialect(language: str) -> tuple[str, str]:
    """(cell separator, decimal mark) of the language."""
    return (";", ",") if language.startswith("fr") else (",", ".")


def _cell(value: object, decimal_mark: str) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return gettext("yes") if value else gettext("no")
    if isinstance(value, Decimal):
        return f"{value:f}".replace(".", decimal_mark)
    if hasattr(value, "isoformat"):
        return str(value.isoformat())
    return str(value)


def _summary_rows(report: ImpactReport) -> Iterator[list[object]]:
    now, before = report.current, report.previous
    by_key = {figure.key: figure for figure in report.headline}

    def row(key: str, label: str, unit: str, pick: str, estimate: bool = False) -> list[object]:
        value, previous = _value(now, pick), _value(before, pick)
        figure = by_key.get(key)
        change = figure.change.percent if figure is not None else _percent(value, previous)
        return [key, label, value, unit, previous, change, estimate]

    yield row("participants", gettext("Participants"), gettext("people"), "participants")
    yield row("new_participants", gettext("New participants"), gettext("people"), "new_participants")
    yield row("participation_rate", gettext("Participation rate"), "%", "participation_rate")
    yield ["headcount", gettext("Headcount"), now.headcount, gettext("people"), before.headcount, None, False]
    yield row("pledges", gettext("Pledges"), gettext("pledges"), "pledges")
    yield row("contributions", gettext("Contributions logged"), gettext("entries"), "contributions")
    for status in ("succeeded", "open", "failed", "cancelled"):
        label = {
            "succeeded": gettext("Challenges succeeded"),
            "open": gettext("Challenges still open"),
            "failed": gettext("Challenges failed"),
            "cancelled": gettext("Challenges cancelled"),
        }[status]
        yield row(f"challenges_{status}", label, gettext("challenges"), f"challenges.{status}")
    yield row(
        "skills_projects_launched", gettext("Projects launched (every skill found)"),
        gettext("challenges"), "skills_projects_launched",
    )  # fmt: skip
    yield row("co2e_avoided_kg", gettext("CO2e avoided (estimate)"), "kg CO2e", "co2e_avoided_kg", True)
    yield row(
        "co2e_avoided_estimates_kg", gettext("of which from factors whose sources disagree"),
        "kg CO2e", "co2e_avoided_estimates_kg", True,
    )  # fmt: skip
    yield row("volunteer_hours", gettext("Volunteer hours"), gettext("hours"), "volunteer_hours")
    yield row(
        "counterparts_delivered", gettext("Counterparts delivered"), gettext("counterparts"),
        "counterparts_delivered",
    )  # fmt: skip
    yield row(
        "counterparts_due", gettext("Counterparts still due"), gettext("counterparts"), "counterparts_due"
    )


def _value(totals: Totals, path: str) -> object:
    value: object = totals
    for part in path.split("."):
        value = getattr(value, part)
    return value


def _percent(value: object, previous: object) -> Decimal | None:
    if not isinstance(value, int | Decimal) or not isinstance(previous, int | Decimal) or not previous:
        return None
    return ((Decimal(value) - Decimal(previous)) * 100 / Decimal(previous)).quantize(Decimal(1))


def _challenge_row(c: ChallengeRow) -> list[object]:
    return [
        c.title, c.goal_kind_label, c.status_label, c.starts_on, c.deadline_on,
        c.goal_target or c.progress_target, c.goal_unit, c.progress_current, c.progress_percent,
        c.succeeded_on, c.participants, c.pledges, c.quantity, c.quantity_unit, c.co2e_avoided_kg,
        c.volunteer_hours, c.counterpart_status_label,
    ]  # fmt: skip


def impact_csv_blocks(report: ImpactReport) -> list[tuple[str, list[str], list[list[object]]]]:
    """(block name, header, rows) of every block, in the report's language (activate it first)."""
    period, previous = report.period, report.previous_period
    zone = zoneinfo.ZoneInfo(report.time_zone)
    blocks: list[tuple[str, list[str], list[list[object]]]] = [
        (
            gettext("Report"),
            [gettext("Item"), gettext("Value")],
            [
                [gettext("Organisation"), report.organization_name],
                [gettext("Period"), period.label],
                [gettext("Start"), period.start],
                [gettext("End"), period.end],
                [gettext("Compared with"), previous.label],
                [gettext("Previous start"), previous.start],
                [gettext("Previous end"), previous.end],
                [gettext("Not over yet"), period.is_partial],
                [gettext("Made on"), report.generated_at.astimezone(zone).replace(microsecond=0)],
            ],
        ),
        (
            gettext("Summary"),
            [
                gettext("Key"), gettext("Figure"), gettext("Value"), gettext("Unit"),
                gettext("Previous period"), gettext("Change (%)"), gettext("Estimate"),
            ],
            list(_summary_rows(report)),
        ),
        (
            gettext("Over time"),
            [gettext("From"), gettext("To"), gettext("New participants"), gettext("Active participants")],
            [[b.start, b.end, b.new_participants, b.active_participants] for b in report.timeline],
        ),
        (
            gettext("Team"),
            [
                gettext("Team"), gettext("Headcount"), gettext("Members"), gettext("Participants"),
                gettext("Participation rate (%)"), gettext("Participants, previous period"),
                gettext("Participation rate, previous period (%)"), gettext("Pledges"),
                gettext("CO2e avoided (kg, estimate)"), gettext("Volunteer hours"),
            ],
            [
                [t.name, t.headcount, t.members, t.participants, t.rate, t.previous_participants,
                 t.previous_rate, t.pledges, t.co2e_avoided_kg, t.volunteer_hours]
                for t in report.teams
            ],
        ),
        (
            gettext("Challenge"),
            [
                gettext("Challenge"), gettext("Kind of goal"), gettext("Outcome"), gettext("Start"),
                gettext("Deadline"), gettext("Goal"), gettext("Unit of the goal"), gettext("Reached so far"),
                gettext("Progress (%)"), gettext("Goal reached on"), gettext("Participants in the period"),
                gettext("Pledges in the period"), gettext("Quantity in the period"), gettext("Unit"),
                gettext("CO2e avoided in the period (kg, estimate)"),
                gettext("Volunteer hours in the period"), gettext("Counterpart"),
            ],
            [_challenge_row(c) for c in report.challenges],
        ),
        (
            gettext("Metric"),
            [
                gettext("Metric"), gettext("Unit"), gettext("Quantity"), gettext("Quantity, previous period"),
                gettext("CO2e avoided per unit (kg)"), gettext("CO2e avoided (kg, estimate)"),
                gettext("CO2e avoided, previous period (kg)"), gettext("Sources disagree"),
                gettext("Money value"), gettext("Currency"), gettext("Money value source"),
            ],
            [
                [m.name, m.unit, m.quantity, m.previous_quantity, m.kg_co2e_per_unit, m.co2e_avoided_kg,
                 m.previous_co2e_avoided_kg, m.is_estimate, m.money_value, m.money_currency, m.money_source]
                for m in report.metrics
            ],
        ),
        (
            gettext("Skill"),
            [gettext("Skill"), gettext("Volunteer hours"), gettext("Volunteer hours, previous period")],
            [[s.skill, s.hours, s.previous_hours] for s in report.skills],
        ),
        (
            gettext("Counterpart"),
            [
                gettext("Challenge"), gettext("Promise"), gettext("Amount"), gettext("Currency"),
                gettext("Status"), gettext("Due date"), gettext("Due since"), gettext("Delivered on"),
                gettext("Proof"), gettext("Proof link"), gettext("Proof file"), gettext("Overdue"),
            ],
            [
                [r.challenge_title, r.description, r.amount, r.currency, r.status_label, r.due_date,
                 r.became_due_on, r.delivered_on, r.proof_text, r.proof_url, r.has_proof_file, r.is_overdue]
                for r in report.ledger.rows
            ],
        ),
        (
            gettext("Factor"),
            [
                gettext("Key"), gettext("Factor"), gettext("Unit"), gettext("kg CO2e per unit"),
                gettext("Source"), gettext("Link"), gettext("Year"), gettext("Notes"),
            ],
            [
                [f.key, f.label, f.unit, f.kg_co2e_per_unit, f.source, f.source_url, f.year, f.notes]
                for f in report.factors
            ],
        ),
    ]  # fmt: skip
    return blocks


def impact_csv(report: ImpactReport) -> str:
    """The whole file, byte-order mark first."""
    with translation.override(report.language):
        separator, decimal_mark = _dialect(report.language)
        buffer = io.StringIO()
        buffer.write(BOM)
        writer = csv.writer(buffer, delimiter=separator, lineterminator="\r\n")
        for index, (name, header, rows) in enumerate(impact_csv_blocks(report)):
            if index:
                writer.writerow([])
            writer.writerow([gettext("Section"), *header])
            for row in rows:
                writer.writerow([name, *(_cell(value, decimal_mark) for value in row)])
        return buffer.getvalue()


def impact_csv_filename(slug: str, report: ImpactReport) -> str:
    return f"crowdact-{slug}-impact-{report.period.start.isoformat()}-{report.period.end.isoformat()}.csv"


def csv_read(text: str, language: str) -> dict[str, list[dict[str, str]]]:
    """The blocks of a file made by `impact_csv`, as lists of rows by header (for tests and checks)."""
    separator, _ = _dialect(language)
    blocks: dict[str, list[dict[str, str]]] = {}
    header: Sequence[str] = ()
    for row in csv.reader(io.StringIO(text.removeprefix(BOM)), delimiter=separator):
        if not row:
            header = ()
            continue
        if not header:
            header = row
            continue
        blocks.setdefault(row[0], []).append(dict(zip(header, row, strict=True)))
    return blocks
