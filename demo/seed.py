"""Demo data at real scale: three organisations, two of them with four months of history. Running it
again changes nothing.

Acme Industries (a company, English) and the Ville de Villeneuve (a municipality, French): teams with
their headcounts, hundreds of people who joined over the months, and challenges of the past four
months and the next two in every state a challenge can be in. What happened is planned in memory
(demo/plan.py, from demo/stories.py), then written through the product's services where an admin
or the system acts and in bulk for the participants' pledges and entries (demo/history.py says why).
They pay: through Stripe when it is configured, else with the plan set directly
(demo/subscriptions.py). Le Petit Atelier (a small company, French) is on the free Discovery plan
and close to its limits, everything written through the services (demo/atelier.py).
"""

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.utils import timezone
from django_tenants.utils import tenant_context

from accounts.models import User
from accounts.roles import EXECUTIVE, ORG_ADMIN, PARTICIPANT
from accounts.services import user_create
from billing.limits import calendar_month
from billing.selectors import active_participants_this_period, plan_limits
from challenges.library import library_install
from challenges.models import Challenge, Contribution, Pledge, Team, TeamMembership
from challenges.services import team_create, team_update
from demo import atelier, history, subscriptions
from demo.history import happened_at
from demo.plan import DAY, HOUR, MINUTE, OrganizationPlan, organization_plan
from demo.stories import DEMO_ORGANIZATIONS, DemoOrganization
from participants.models import JoinLink
from participants.services import join_link_create, join_link_url
from reports.models import Report
from reports.services import previous_month, report_generate
from tenants.models import Organization
from tenants.selectors import organization_url, site_url
from tenants.services import organization_create, organization_settings_update

__all__ = ["DEMO_ORGANIZATIONS", "DEMO_PASSWORD", "OPERATOR_EMAIL", "SeedResult", "seed_demo"]

DEMO_PASSWORD = "crowdact-demo"  # noqa: S105 - printed on purpose: these are demo sign-ins
OPERATOR_EMAIL = "operator@crowdact.example"
Status = Challenge.Status


@dataclass(frozen=True)
class OrganizationSummary:
    name: str
    participants: int
    deactivated: int
    teams: int
    pledges: int
    contributions: int
    statuses: dict[str, int]
    not_started: int

    def line(self) -> str:
        states = []
        for status in Status.values:
            if self.statuses.get(status):
                word = f"{self.statuses[status]} {status}"
                if status == Status.OPEN and self.not_started:
                    word += f" ({self.not_started} not started yet)"
                states.append(word)
        return (
            f"{self.name}: {self.participants:,} participants ({self.deactivated} deactivated) in "
            f"{self.teams} teams, {self.pledges:,} pledges, {self.contributions:,} contributions; "
            f"challenges: {', '.join(states)}"
        )


@dataclass
class SeedResult:
    created: list[str] = field(default_factory=list)
    sign_ins: list[tuple[str, str, str]] = field(default_factory=list)  # url, email, role
    join_links: list[tuple[str, str]] = field(default_factory=list)  # organisation name, url
    summaries: list[OrganizationSummary] = field(default_factory=list)
    billing: list[str] = field(default_factory=list)  # each organisation's plan, subscription, invoices
    stripe: bool = False  # billed through Stripe (else the plans were set directly)
    reports: list[str] = field(default_factory=list)  # the finished monthly report of each organisation


class _DemoPassword:
    """The hash of the demo password, made once for every printed sign-in: the hasher is slow on
    purpose, and nobody else gets a password (they sign in by e-mail link)."""

    def __init__(self) -> None:
        self._hash: str | None = None

    def __call__(self) -> str:
        if self._hash is None:
            self._hash = make_password(DEMO_PASSWORD)
        return self._hash


def seed_demo(now: dt.datetime | None = None) -> SeedResult:
    """Raises subscriptions.DemoStripeError, before anything is written, when Stripe is configured
    but does not answer or lacks the catalogue's prices."""
    now = now or timezone.now()
    result = SeedResult(stripe=subscriptions.stripe_configured())
    if result.stripe:
        subscriptions.stripe_check()
    password = _DemoPassword()
    # A platform operator lives in the public schema and uses the admin on the bare domain.
    if not User.objects.filter(email=OPERATOR_EMAIL).exists():
        operator = User.objects.create_superuser(email=OPERATOR_EMAIL, display_name="Operator")
        User.objects.filter(pk=operator.pk).update(password=password())
    result.sign_ins.append((site_url(settings.BASE_DOMAIN, "/admin/"), OPERATOR_EMAIL, "Platform operator"))
    for demo in DEMO_ORGANIZATIONS:
        organization = _organization_seed(demo, now, password, result)
        url = organization_url(organization)
        result.sign_ins += [(url, demo.admin[0], ORG_ADMIN), (url, demo.executive[0], EXECUTIVE)]
        result.sign_ins += [(url, demo.participant, PARTICIPANT)]
    return result


def _organization_seed(
    demo: DemoOrganization, now: dt.datetime, password: _DemoPassword, result: SeedResult
) -> Organization:
    """One organisation: provisioned, on its plan, set up by its admin, then its people and its
    history; only what is missing."""
    organization = Organization.objects.filter(schema_name=demo.slug).first()
    created = organization is None
    if organization is None:
        organization = organization_create(
            slug=demo.slug, name=demo.name, kind=demo.kind, admin_email=demo.admin[0], locale=demo.locale
        ).organization
    on_discovery = demo.billing_plan == Organization.Plan.DISCOVERY
    if on_discovery:  # small and new: its month so far, through the services (limits apply)
        plan = atelier.organization_plan(demo, now, calendar_month(organization, now)[0])
    else:
        plan = organization_plan(demo, now)
    if created:
        Organization.objects.filter(pk=organization.pk).update(created_at=plan.provisioned_at)
        result.created.append(demo.slug)
    if not on_discovery:  # before its challenges: Discovery's limits would refuse most of them
        with tenant_context(organization):
            admin = User.objects.get(email=demo.admin[0])
            result.billing.append(
                subscriptions.plan_ensure(
                    organization,
                    demo.billing_plan,
                    admin,
                    purchase_order=subscriptions.PURCHASE_ORDER.format(year=now.year),
                )
            )
    with tenant_context(organization), transaction.atomic():
        library_install()
        admin = _staff_ensure(demo, plan, password)
        if organization.headcount is None:
            with happened_at(plan.provisioned_at + 2 * HOUR):
                organization_settings_update(
                    actor=admin,
                    organization=organization,
                    fields={
                        "headcount": demo.headcount,
                        "allowed_email_domains": (
                            [demo.email_domain] if demo.kind == Organization.Kind.COMPANY else []
                        ),
                        "brand_color": demo.brand_color,
                    },
                )
        teams = _teams_ensure(demo, plan, admin)
        people = history.people_write(plan, admin=admin, teams=teams, password=password)
        join_link = _join_link_ensure(demo, plan, admin)
        if on_discovery:
            atelier.challenges_write(plan, admin=admin, people=people, locale=demo.locale)
        else:
            _challenges_ensure(demo, plan, admin, people)
        result.summaries.append(_summary(demo, plan.now))
    if on_discovery:
        if result.stripe:
            subscriptions.customer_ensure(organization)
        result.billing.append(_usage_line(organization))
    else:  # months of history: last month's impact report, finished, as the 1st of the month leaves it
        result.reports.append(_monthly_report_ensure(organization, now))
    result.join_links.append((demo.name, join_link_url(join_link, organization)))
    return organization


def _monthly_report_ensure(organization: Organization, now: dt.datetime) -> str:
    """Last full month's PDF report, made now if it is not there yet (nobody is e-mailed)."""
    with tenant_context(organization), timezone.override(organization.timezone):
        start, end = previous_month(timezone.localdate(now))
        report, _ = Report.objects.get_or_create(
            start=start, end=end, language=organization.locale, origin=Report.Origin.MONTHLY
        )
        report = report_generate(report.pk) or report
        return f"{organization.name}: {start:%B %Y} report, {report.get_status_display().lower()}"


def _usage_line(organization: Organization) -> str:
    """What a limited plan's organisation uses of it now, as its billing page shows it."""
    limits = plan_limits(organization)
    with tenant_context(organization):
        open_challenges = Challenge.objects.filter(status=Status.OPEN).count()
    active = active_participants_this_period(organization)
    return (
        f"{organization.name}: Discovery, {active} of {_limit(limits.active_participants)} active "
        f"participants this month, {open_challenges} of {_limit(limits.open_challenges)} open challenge(s)"
    )


def _limit(limit: int | None) -> str:
    return "unlimited" if limit is None else str(limit)


def _staff_ensure(demo: DemoOrganization, plan: OrganizationPlan, password: _DemoPassword) -> User:
    """The admin provisioning made (given the demo password once) and the executive; both printed."""
    admin = User.objects.get(email=demo.admin[0])
    if not admin.has_usable_password():
        admin.display_name = demo.admin[1]
        admin.password = password()
        admin.date_joined = plan.provisioned_at
        admin.save(update_fields=["display_name", "password", "date_joined"])
    if not User.objects.filter(email=demo.executive[0]).exists():
        executive = user_create(email=demo.executive[0], display_name=demo.executive[1], role=EXECUTIVE)
        executive.password = password()
        executive.date_joined = plan.provisioned_at + DAY
        executive.save(update_fields=["password", "date_joined"])
    return admin


def _teams_ensure(demo: DemoOrganization, plan: OrganizationPlan, admin: User) -> list[Team]:
    existing = {team.name: team for team in Team.objects.all()}
    teams = []
    for i, (name, kind, headcount, _share) in enumerate(demo.teams):
        team = existing.get(name)
        if team is None:
            with happened_at(plan.teams_at + i * 4 * MINUTE):
                team = team_create(actor=admin, name=name, kind=kind, headcount=headcount)
        elif team.headcount is None:  # seeded before teams had a headcount
            team = team_update(
                actor=admin, team=team, name=name, kind=team.kind, captain=team.captain, headcount=headcount
            )
        teams.append(team)
    return teams


def _join_link_ensure(demo: DemoOrganization, plan: OrganizationPlan, admin: User) -> JoinLink:
    """The organisation-wide join link to post on the intranet: the active one, or a new one."""
    now = timezone.now()
    active = (
        JoinLink.objects.filter(challenge__isnull=True, revoked_at__isnull=True)
        .exclude(expires_at__lte=now)
        .order_by("created_at", "pk")
        .first()
    )
    if active is not None:
        return active
    label = "Intranet de la ville" if demo.kind == Organization.Kind.MUNICIPALITY else "Intranet"
    with happened_at(plan.join_link_at):
        join_link = join_link_create(actor=admin, label=label)
    join_link.refresh_from_db(fields=["created_at"])
    return join_link


def _challenges_ensure(
    demo: DemoOrganization, plan: OrganizationPlan, admin: User, people: list[User]
) -> None:
    """Each story's challenge, unless a challenge of that title is there already."""
    existing = set(Challenge.objects.values_list("title", flat=True))
    missing = [challenge for challenge in plan.challenges if challenge.spec.title not in existing]
    if not missing:
        return
    team_of = dict(TeamMembership.objects.values_list("user_id", "team_id"))
    for challenge in sorted(missing, key=lambda c: c.created_at):
        history.challenge_write(
            challenge, admin=admin, people=people, team_of=team_of, locale=demo.locale, now=plan.now
        )


def _summary(demo: DemoOrganization, now: dt.datetime) -> OrganizationSummary:
    statuses = Counter(Challenge.objects.values_list("status", flat=True))
    return OrganizationSummary(
        name=demo.name,
        participants=User.objects.filter(groups__name=PARTICIPANT).count(),
        deactivated=User.objects.filter(is_active=False).count(),
        teams=Team.objects.count(),
        pledges=Pledge.objects.filter(withdrawn_at__isnull=True).count(),
        contributions=Contribution.objects.count(),
        statuses=dict(statuses),
        not_started=Challenge.objects.filter(status=Status.OPEN, starts_at__gt=now).count(),
    )
