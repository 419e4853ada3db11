"""People and teams in and out as CSV: e-mail, name, team, role.

Reading is checked line by line before anything is written: each line's errors name the line, the
column and the reason (the preview an admin sees first). Importing writes every good line in one
transaction, or, "all or nothing", nothing when a line is bad. An existing person (by e-mail) is
brought to what the line says; a line that says what is already there changes nothing, so importing
the same file twice changes nothing the second time. A team that does not exist yet is created.
"""

import csv
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import AuditEntry, User
from accounts.roles import ROLE_KEYS, roles_sync
from accounts.selectors import person_name
from challenges.models import Team, TeamMembership
from core.audit import audit_record
from core.permissions import MANAGE, require
from participants.selectors import PeopleFilters, people_list, person_role_key
from participants.services import email_check
from tenants.models import Organization

COLUMNS = ("email", "name", "team", "role")
# Header names accepted for each column, in English and French, any case.
HEADERS = {
    "email": {"email", "e-mail", "mail", "courriel", "adresse e-mail"},
    "name": {"name", "nom", "display name"},
    "team": {"team", "équipe", "equipe"},
    "role": {"role", "rôle"},
}
ROLE_WORDS = {
    "participant": "participant",
    "executive": "executive",
    "dirigeant": "executive",
    "direction": "executive",
    "admin": "admin",
    "administrateur": "admin",
    "administratrice": "admin",
}
MAX_BYTES = 5 * 1024 * 1024
MAX_LINES = 20_000


@dataclass
class Line:
    number: int  # in the file, the header being line 1
    email: str = ""
    name: str = ""
    team: str = ""
    role: str = "participant"
    errors: list[tuple[str, str]] = field(default_factory=list)  # (column, reason)

    @property
    def ok(self) -> bool:
        return not self.errors


@dataclass
class Reading:
    lines: list[Line]
    errors: list[str] = field(default_factory=list)  # about the whole file

    @property
    def good(self) -> list[Line]:
        return [line for line in self.lines if line.ok]

    @property
    def bad(self) -> list[Line]:
        return [line for line in self.lines if not line.ok]


@dataclass(frozen=True)
class Outcome:
    created: int
    updated: int
    unchanged: int
    teams_created: int
    skipped: int  # bad lines left out


def _decode(data: bytes) -> str:
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ValidationError(_("The file is not text in UTF-8: save it as CSV UTF-8 and try again."))


def people_csv_read(data: bytes, organization: Organization) -> Reading:
    """Parse and check every line; nothing is written."""
    if len(data) > MAX_BYTES:
        return Reading([], [_("The file is larger than 5 MB: split it.")])
    try:
        text = _decode(data)
    except ValidationError as error:
        return Reading([], error.messages)
    sample = text[:4096]
    delimiter = ";" if sample.count(";") > sample.count(",") else ","
    rows = csv.reader(io.StringIO(text), delimiter=delimiter)
    header = next(rows, None)
    if not header:
        return Reading([], [_("The file is empty: it needs a header row (e-mail, name, team, role).")])
    positions: dict[str, int] = {}
    for index, title in enumerate(header):
        for column, names in HEADERS.items():
            if title.strip().lower() in names:
                positions.setdefault(column, index)
    if "email" not in positions:
        return Reading(
            [], [_("The header row has no e-mail column: name the columns e-mail, name, team, role.")]
        )
    lines: list[Line] = []
    seen: dict[str, int] = {}
    admins_demoted: list[Line] = []
    existing = _existing_roles()
    for number, row in enumerate(rows, start=2):
        if len(lines) >= MAX_LINES:
            return Reading(lines, [_("At most 20,000 people per file: split it.")])
        if not any(cell.strip() for cell in row):
            continue
        line = Line(number)

        def cell(column: str, row: list[str] = row) -> str:
            index = positions.get(column)
            return row[index].strip() if index is not None and index < len(row) else ""

        line.email, line.name, line.team = cell("email").lower(), cell("name"), cell("team")
        try:
            line.email = email_check(organization, line.email)
        except ValidationError as error:
            line.errors.append(("email", error.message_dict["email"][0]))
        if line.email in seen:
            line.errors.append(("email", _("Already on line %(line)s.") % {"line": seen[line.email]}))
        seen.setdefault(line.email, number)
        if len(line.name) > 150:
            line.errors.append(("name", _("At most 150 characters.")))
        if len(line.team) > 120:
            line.errors.append(("team", _("At most 120 characters.")))
        role = cell("role").lower()
        if role:
            if role not in ROLE_WORDS:
                line.errors.append(("role", _("Write participant, executive or admin.")))
            else:
                line.role = ROLE_WORDS[role]
        elif line.email in existing:
            line.role = existing[line.email]
        if existing.get(line.email) == "admin" and line.role != "admin" and line.ok:
            admins_demoted.append(line)
        lines.append(line)
    active_admins = [email for email, role in existing.items() if role == "admin"]
    if admins_demoted and len(admins_demoted) >= len(active_admins):
        for line in admins_demoted:
            line.errors.append(("role", _("This would leave the organisation without an active admin.")))
    return Reading(lines)


def _existing_roles() -> dict[str, str]:
    """Each active person's role, by e-mail: one query."""
    return {
        person.email: person_role_key(person) for person in people_list().filter(is_active=True).only("email")
    }


def people_import(
    *, actor: User, organization: Organization, reading: Reading, all_or_nothing: bool
) -> Outcome:
    """Write the good lines of a checked file (or nothing, all or nothing and a bad line)."""
    require(actor, MANAGE)
    if reading.errors or not reading.lines:
        raise ValidationError(reading.errors or [_("The file holds no one to import.")])
    if all_or_nothing and reading.bad:
        raise ValidationError(
            _("%(count)s line(s) have errors: with “all or nothing”, nothing was imported.")
            % {"count": len(reading.bad)}
        )
    with transaction.atomic():
        outcome = _write(reading.good, skipped=len(reading.bad))
        if outcome.created or outcome.updated or outcome.teams_created:
            audit_record(
                AuditEntry.Kind.PEOPLE_IMPORTED,
                actor=actor,
                changes=[
                    {"field": "created", "old": None, "new": outcome.created},
                    {"field": "updated", "old": None, "new": outcome.updated},
                    {"field": "teams_created", "old": None, "new": outcome.teams_created},
                ],
            )
    return outcome


def _write(lines: list[Line], *, skipped: int) -> Outcome:
    groups = {group.name: group for group in Group.objects.filter(name__in=ROLE_KEYS.values())}
    if len(groups) != len(ROLE_KEYS):
        groups = roles_sync()
    people = {
        person.email: person
        for person in people_list()
        .filter(email__in=[line.email for line in lines])
        .select_for_update(of=("self",))
    }
    team_names = {line.team for line in lines if line.team}
    teams = {team.name.lower(): team for team in Team.objects.all()}
    new_teams = [Team(name=name) for name in sorted(team_names) if name.lower() not in teams]
    Team.objects.bulk_create(new_teams)
    teams.update(
        {team.name.lower(): team for team in Team.objects.filter(name__in=[t.name for t in new_teams])}
    )
    unusable = make_password(None)
    fresh = [
        User(email=line.email, display_name=line.name, password=unusable, date_joined=timezone.now())
        for line in lines
        if line.email not in people
    ]
    User.objects.bulk_create(fresh, batch_size=2000)
    created = {person.email: person for person in User.objects.filter(email__in=[u.email for u in fresh])}
    memberships: list[TeamMembership] = []
    group_links: list[Any] = []
    stale_links: list[int] = []
    renamed: list[User] = []
    updated = unchanged = 0
    through = User.groups.through
    for line in lines:
        person = created.get(line.email) or people[line.email]
        is_new = line.email in created
        changed = False
        if not is_new and line.name and person.display_name != line.name:
            person.display_name = line.name
            renamed.append(person)
            changed = True
        role_now = "participant" if is_new else person_role_key(person)
        if is_new or role_now != line.role:
            if not is_new:
                stale_links.append(person.pk)
            group_links.append(through(user_id=person.pk, group_id=groups[ROLE_KEYS[line.role]].pk))
            changed = changed or not is_new
        team = teams.get(line.team.lower()) if line.team else None
        if team is not None and (is_new or getattr(person, "team_id", None) != team.pk):
            memberships.append(TeamMembership(user_id=person.pk, team=team))
            changed = changed or not is_new
        if not is_new:
            updated, unchanged = (updated + 1, unchanged) if changed else (updated, unchanged + 1)
    User.objects.bulk_update(renamed, ["display_name"], batch_size=2000)
    through.objects.filter(user_id__in=stale_links, group__name__in=ROLE_KEYS.values()).delete()
    through.objects.bulk_create(group_links, batch_size=5000, ignore_conflicts=True)
    TeamMembership.objects.bulk_create(
        memberships, batch_size=5000, update_conflicts=True, unique_fields=["user"], update_fields=["team"]
    )
    return Outcome(len(fresh), updated, unchanged, len(new_teams), skipped)


def people_csv_rows(filters: PeopleFilters | None = None) -> Iterator[list[str]]:
    """The people as CSV rows, header first, in the columns import reads (the name as each person
    chose to be shown)."""
    yield list(COLUMNS)
    for person in people_list(filters or PeopleFilters()).iterator(chunk_size=2000):
        team = getattr(person, "team_name", None) or ""
        yield [person.email, person_name(person), team, person_role_key(person)]


def csv_text(rows: Iterable[list[str]]) -> Iterator[str]:
    """Rows as CSV text, a line at a time (for a streamed download)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for row in rows:
        writer.writerow(row)
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
