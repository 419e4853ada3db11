"""The people console: the list with its filters and counts, roles, teams, deactivation, the last
admin kept, invitations, and CSV in and out."""

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone

from accounts.models import AuditEntry, Invitation, User
from accounts.roles import EXECUTIVE, ORG_ADMIN, PARTICIPANT
from accounts.selectors import person_name
from challenges import services
from challenges.models import Team, TeamMembership
from tenants.models import Organization
from tests.factories import ChallengeFactory, TeamFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def console(org_a: Organization, client_a: Client, in_org_a: Organization) -> Client:
    """An admin of organisation A, signed in (the organisation's first admin stays active too)."""
    client_a.force_login(UserFactory.create(email="console.admin@alpha.test", role=ORG_ADMIN))
    return client_a


def _rows(page: str) -> list[str]:
    body = re.search(r"<tbody>(.*?)</tbody>", page, re.S)
    return re.findall(r'<a href="/manage/people/\d+/">([^<]+)</a>', body.group(1)) if body else []


def test_the_list_shows_each_person_as_they_chose_to_be_shown_with_role_team_and_counts(console):
    team = TeamFactory.create(name="Logistics")
    shown = UserFactory.create(email="shown@alpha.test", display_name="Sam Shown", show_name=True)
    hidden = UserFactory.create(email="hidden@alpha.test", display_name="Hannah Hidden")
    services.team_join(actor=shown, team=team)
    challenge = ChallengeFactory.create()
    services.pledge_create(actor=shown, challenge_id=challenge.pk)

    page = console.get("/manage/people/").content.decode()

    assert "Sam Shown" in page
    assert "hidden@alpha.test" in page
    assert "Hannah Hidden" not in page
    match = re.search(r"Sam Shown.*?</tr>", page, re.S)
    assert match is not None
    row = match.group(0)
    assert "Logistics" in row
    assert re.search(r'<td class="number">1</td>\s*<td class="number">0</td>', row)
    assert hidden.pk


def test_the_list_and_the_person_page_name_each_person_as_person_name_does(console):
    # Given a person who shows her name, one who chose not to, and one who shows a blank name
    shown = UserFactory.create(email="shown@alpha.test", display_name=" Sam Shown ", show_name=True)
    hidden = UserFactory.create(email="hidden@alpha.test", display_name="Hannah Hidden", show_name=False)
    blank = UserFactory.create(email="blank@alpha.test", display_name="   ", show_name=True)

    # When an admin opens the list and each person's page
    rows = _rows(console.get("/manage/people/", {"q": "@alpha.test"}).content.decode())
    pages = {
        person.email: console.get(f"/manage/people/{person.pk}/").content.decode()
        for person in [shown, hidden, blank]
    }

    # Then each is named as person_name says, by e-mail when it says nothing
    assert [person_name(person) for person in (shown, hidden, blank)] == ["Sam Shown", "", ""]
    assert "Sam Shown" in rows
    assert {"hidden@alpha.test", "blank@alpha.test"} <= set(rows)
    assert "Hannah Hidden" not in rows
    assert all(row.strip() for row in rows)
    for person in (shown, hidden, blank):
        heading = re.search(r"<h1>(.*?)</h1>", pages[person.email], re.S)
        name = re.search(r"<dt>Name</dt><dd>(.*?)</dd>", pages[person.email], re.S)
        assert heading is not None
        assert name is not None
        assert heading.group(1) == (person_name(person) or person.email)
        assert name.group(1) == (person_name(person) or "Not shown (the person's choice)")
    assert "Hannah Hidden" not in pages["hidden@alpha.test"]


def test_search_finds_e_mails_and_shown_names_only(console):
    UserFactory.create(email="anna@alpha.test", display_name="Anna Visible", show_name=True)
    UserFactory.create(email="bob@alpha.test", display_name="Secret Bob")

    assert _rows(console.get("/manage/people/", {"q": "visible"}).content.decode()) == ["Anna Visible"]
    assert _rows(console.get("/manage/people/", {"q": "bob@"}).content.decode()) == ["bob@alpha.test"]
    assert _rows(console.get("/manage/people/", {"q": "secret"}).content.decode()) == []


def test_filters_by_role_team_and_status(console):
    team = TeamFactory.create(name="Sales")
    UserFactory.create(email="exec@alpha.test", role=EXECUTIVE)
    member = UserFactory.create(email="member@alpha.test")
    services.team_join(actor=member, team=team)
    UserFactory.create(email="gone@alpha.test", is_active=False)

    def emails(**params: object) -> list[str]:
        return _rows(console.get("/manage/people/", params).content.decode())

    assert emails(role="executive") == ["exec@alpha.test"]
    assert emails(team=str(team.pk)) == ["member@alpha.test"]
    assert emails(status="deactivated") == ["gone@alpha.test"]
    assert "gone@alpha.test" not in emails(status="active")


@pytest.mark.parametrize("people", [5, 120])
def test_the_list_costs_the_same_queries_whatever_the_number_of_people(
    console, people, django_assert_num_queries
):
    team = TeamFactory.create()
    for index in range(people):
        person = UserFactory.create(email=f"p{index:03}@alpha.test")
        TeamMembership.objects.create(user=person, team=team)
    console.get("/manage/people/")  # the session's first request renews it

    # routing (3), session, user, permissions (2), the team filter's teams, the count, the page's
    # ids, its rows
    with django_assert_num_queries(11):
        response = console.get("/manage/people/")

    assert response.status_code == 200


def test_an_admin_changes_a_role_moves_to_a_team_and_the_trail_says_so(console):
    person = UserFactory.create(email="riley@alpha.test")
    team = TeamFactory.create(name="Lyon")

    assert console.post(f"/manage/people/{person.pk}/role/", {"role": "executive"}).status_code == 302
    assert console.post(f"/manage/people/{person.pk}/team/", {"team": str(team.pk)}).status_code == 302

    assert person.groups.get().name == EXECUTIVE
    assert TeamMembership.objects.get(user=person).team == team
    kinds = list(AuditEntry.objects.filter(subject=person).values_list("kind", flat=True))
    assert sorted(kinds) == ["role_changed", "team_changed"]


def test_the_last_active_admin_is_neither_demoted_nor_deactivated_nor_erased(org_a, client_a, in_org_a):
    only = User.objects.get(email="admin@alpha.test")
    client_a.force_login(only)

    demoted = client_a.post(f"/manage/people/{only.pk}/role/", {"role": "participant"})
    deactivated = client_a.post(f"/manage/people/{only.pk}/active/", {"active": "0"}, follow=True)

    assert demoted.status_code == 200
    assert "last active admin" in demoted.content.decode()
    assert "cannot be deactivated" in deactivated.content.decode() or only.is_active
    only.refresh_from_db()
    assert only.is_active
    assert only.groups.get().name == ORG_ADMIN


def test_a_deactivated_person_cannot_sign_in_and_what_they_did_still_counts(console, org_a):
    person = UserFactory.create(email="leaver@alpha.test", role=EXECUTIVE)
    challenge = ChallengeFactory.create()
    services.pledge_create(actor=person, challenge_id=challenge.pk)
    other = Client(HTTP_HOST="alpha.localhost")

    assert console.post(f"/manage/people/{person.pk}/active/", {"active": "0"}).status_code == 302

    challenge.refresh_from_db()
    assert challenge.pledge_count == 1
    signed = other.post(
        "/account/sign-in/", {"username": "leaver@alpha.test", "password": "correct-horse-battery"}
    )
    assert signed.status_code == 200  # the form again: no sign-in
    assert other.get("/manage/challenges/").status_code == 302
    assert console.post(f"/manage/people/{person.pk}/active/", {"active": "1"}).status_code == 302
    person.refresh_from_db()
    assert person.is_active
    assert list(AuditEntry.objects.filter(subject=person).values_list("kind", flat=True).order_by("at")) == [
        "person_deactivated",
        "person_reactivated",
    ]


def _invitation_link(message: mail.EmailMessage) -> str:
    match = re.search(r"http://alpha\.localhost(/account/invitation/[^/\s]+/)", str(message.body))
    assert match, message.body
    return match.group(1)


def test_an_invited_executive_sets_a_password_through_a_one_time_link(
    console, django_capture_on_commit_callbacks
):
    mail.outbox = []
    with django_capture_on_commit_callbacks(execute=True):
        response = console.post(
            "/manage/people/invite/", {"email": "New.Exec@alpha.test", "role": "executive"}
        )

    assert response.status_code == 302
    assert len(mail.outbox) == 1
    path = _invitation_link(mail.outbox[0])
    guest = Client(HTTP_HOST="alpha.localhost")
    assert "Choose a password" in guest.get(path).content.decode()
    accepted = guest.post(
        path, {"new_password1": "a-long-new-password-42", "new_password2": "a-long-new-password-42"}
    )
    assert accepted.status_code == 302
    assert guest.get("/manage/challenges/").status_code == 200
    assert guest.post(path, {}).status_code == 410
    person = User.objects.get(email="new.exec@alpha.test")
    assert person.check_password("a-long-new-password-42")
    assert AuditEntry.objects.filter(kind="person_invited", subject=person).exists()


def test_an_invited_participant_is_signed_in_and_an_old_or_resent_link_stops_working(
    console, django_capture_on_commit_callbacks
):
    mail.outbox = []
    with django_capture_on_commit_callbacks(execute=True):
        console.post("/manage/people/invite/", {"email": "pat@alpha.test", "role": "participant"})
    first = _invitation_link(mail.outbox[-1])
    person = User.objects.get(email="pat@alpha.test")
    with django_capture_on_commit_callbacks(execute=True):
        assert console.post(f"/manage/people/{person.pk}/invitation/").status_code == 302
    second = _invitation_link(mail.outbox[-1])
    guest = Client(HTTP_HOST="alpha.localhost")

    assert len(mail.outbox) == 2
    assert guest.get(first).status_code == 404
    Invitation.objects.filter(user=person).update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    assert guest.get(second).status_code == 410
    Invitation.objects.filter(user=person).update(expires_at=timezone.now() + dt.timedelta(days=7))
    assert guest.post(second).status_code == 302
    assert guest.get("/me/").status_code == 200


def test_an_invitation_to_someone_already_here_is_refused_on_the_field(console):
    response = console.post("/manage/people/invite/", {"email": "admin@alpha.test", "role": "participant"})

    assert response.status_code == 200
    assert "already in the organisation" in response.content.decode()
    assert Invitation.objects.count() == 0


# CSV -------------------------------------------------------------------------------------------------


def _upload(client: Client, text: str) -> str:
    from django.core.files.uploadedfile import SimpleUploadedFile

    file = SimpleUploadedFile("people.csv", text.encode("utf-8"), content_type="text/csv")
    return client.post("/manage/people/import/", {"file": file}).content.decode()


def test_a_file_is_checked_line_by_line_before_anything_is_written(console, org_a):
    org_a.allowed_email_domains = ["alpha.test"]
    org_a.save(update_fields=["allowed_email_domains"])
    before = User.objects.count()

    page = _upload(
        console,
        "e-mail;name;team;role\n"
        "ana@alpha.test;Ana;Sales;participant\n"
        "not-an-address;Bad;Sales;participant\n"
        "eve@elsewhere.test;Eve;;executive\n"
        "ana@alpha.test;Ana again;;\n"
        "max@alpha.test;Max;;boss\n",
    )

    assert User.objects.count() == before
    assert "<strong>5</strong> lines" in page
    assert "<strong>1</strong> ready" in page
    for line, column in [(3, "email"), (4, "email"), (5, "email"), (6, "role")]:
        assert re.search(
            rf'<tr class="bad"><th scope="row">{line}</th><td>[^<]*</td><td>{column}</td>', page
        ), line
    assert "Already on line 2." in page


def test_importing_writes_the_good_lines_creates_teams_and_twice_changes_nothing(console, org_a):
    org_a.allowed_email_domains = ["alpha.test"]
    org_a.save(update_fields=["allowed_email_domains"])
    text = (
        "email,name,team,role\n"
        "ana@alpha.test,Ana,Sales,participant\n"
        "ben@alpha.test,Ben,Sales,executive\n"
        "cy@alpha.test,Cy,Lyon,\n"
        "bad,Bad,,\n"
    )

    _upload(console, text)
    first = console.post("/manage/people/import/confirm/", {}, follow=True).content.decode()
    state = sorted(
        (u.email, u.groups.get().name, TeamMembership.objects.get(user=u).team.name)
        for u in User.objects.filter(email__in=["ana@alpha.test", "ben@alpha.test", "cy@alpha.test"])
    )
    _upload(console, text)
    second = console.post("/manage/people/import/confirm/", {}, follow=True).content.decode()

    assert "3 new people" in first
    assert "1 lines with errors left out" in first
    assert state == [
        ("ana@alpha.test", PARTICIPANT, "Sales"),
        ("ben@alpha.test", EXECUTIVE, "Sales"),
        ("cy@alpha.test", PARTICIPANT, "Lyon"),
    ]
    assert "0 new people, 0 changed, 3 unchanged, 0 new teams" in second
    assert sorted(Team.objects.values_list("name", flat=True)) == ["Lyon", "Sales"]
    assert AuditEntry.objects.filter(kind="people_imported").count() == 1


def test_all_or_nothing_writes_nothing_when_a_line_is_bad(console):
    before = User.objects.count()
    _upload(console, "email;name;team;role\nok@alpha.test;Ok;;\nbad-address;;;\n")

    page = console.post(
        "/manage/people/import/confirm/", {"all_or_nothing": "on"}, follow=True
    ).content.decode()

    assert "nothing was imported" in page
    assert User.objects.count() == before


def test_the_export_has_the_import_columns_and_re_imports_to_no_change(console, org_a):
    person = UserFactory.create(email="zoe@alpha.test", display_name="Zoé", show_name=True, role=EXECUTIVE)
    services.team_join(actor=person, team=TeamFactory.create(name="Équipe Nord"))

    exported = b"".join(console.get("/manage/people/export.csv").streaming_content).decode()

    lines = exported.strip().splitlines()
    assert lines[0] == "email,name,team,role"
    assert "zoe@alpha.test,Zoé,Équipe Nord,executive" in lines
    _upload(console, exported)
    page = console.post("/manage/people/import/confirm/", {}, follow=True).content.decode()
    assert "0 new people, 0 changed" in page
    assert Decimal(1)
