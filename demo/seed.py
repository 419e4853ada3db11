"""Demo data: two organisations with people and teams. Running it again changes nothing."""

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django_tenants.utils import tenant_context

from accounts.models import User
from accounts.roles import EXECUTIVE, ORG_ADMIN, PARTICIPANT
from accounts.services import user_create
from challenges.library import TEMPLATES_BY_KEY, library_install
from challenges.models import Challenge, Metric, Team
from challenges.services import (
    CounterpartInput,
    SkillSlotInput,
    challenge_create,
    challenge_publish,
    contribution_create,
    counterpart_deliver,
    pledge_create,
    team_create,
    team_join,
)
from participants.models import JoinLink
from participants.services import join_link_create, join_link_url
from tenants.models import Organization
from tenants.selectors import organization_url, site_url
from tenants.services import organization_create

DEMO_PASSWORD = "crowdact-demo"  # noqa: S105 - printed on purpose: these are demo sign-ins


@dataclass(frozen=True)
class DemoOrganization:
    slug: str
    name: str
    kind: str
    locale: str
    email_domain: str
    headcount: int
    admin: tuple[str, str]
    executive: tuple[str, str]
    teams: list[tuple[str, str]]
    participants: list[tuple[str, str, int]] = field(default_factory=list)  # email, name, team index
    # Template keys: one succeeded with its counterpart delivered, one at risk, one open.
    succeeded: str = "organic-weekly"
    at_risk: str = "bike-to-work"
    open: str = "community-garden"


DEMO_ORGANIZATIONS = [
    DemoOrganization(
        slug="acme",
        name="Acme Industries",
        kind=Organization.Kind.COMPANY,
        locale=Organization.Locale.ENGLISH,
        email_domain="acme.example",
        headcount=1200,
        admin=("csr@acme.example", "Alice Martin (CSR)"),
        executive=("ceo@acme.example", "Edward Stone (CEO)"),
        teams=[
            ("Engineering", Team.Kind.DEPARTMENT),
            ("Sales", Team.Kind.DEPARTMENT),
            ("Lyon site", Team.Kind.SITE),
        ],
        participants=[
            ("bob@acme.example", "Bob Keller", 0),
            ("chloe@acme.example", "Chloé Durand", 0),
            ("dan@acme.example", "Dan Okafor", 1),
            ("eva@acme.example", "Eva Rossi", 1),
            ("farid@acme.example", "Farid Benali", 2),
        ],
    ),
    DemoOrganization(
        slug="villeneuve",
        name="Ville de Villeneuve",
        kind=Organization.Kind.MUNICIPALITY,
        locale=Organization.Locale.FRENCH,
        email_domain="villeneuve.example",
        headcount=24000,
        admin=("mairie@villeneuve.example", "Claire Petit (mairie)"),
        executive=("maire@villeneuve.example", "Jean Moreau (maire)"),
        teams=[
            ("Centre-ville", Team.Kind.NEIGHBOURHOOD),
            ("Les Coteaux", Team.Kind.NEIGHBOURHOOD),
            ("Le Port", Team.Kind.NEIGHBOURHOOD),
        ],
        participants=[
            ("lucie@exemple.fr", "Lucie Bernard", 0),
            ("hugo@exemple.fr", "Hugo Lefèvre", 0),
            ("ines@exemple.fr", "Inès Garcia", 1),
            ("paul@exemple.fr", "Paul Girard", 2),
        ],
        succeeded="citizen-budget",
        at_risk="clean-up",
    ),
]


OPERATOR_EMAIL = "operator@crowdact.example"


@dataclass
class SeedResult:
    created: list[str] = field(default_factory=list)
    sign_ins: list[tuple[str, str, str]] = field(default_factory=list)  # url, email, role
    join_links: list[tuple[str, str]] = field(default_factory=list)  # organisation name, url


def seed_demo() -> SeedResult:
    result = SeedResult()
    # A platform operator lives in the public schema and uses the admin on the bare domain.
    if not User.objects.filter(email=OPERATOR_EMAIL).exists():
        User.objects.create_superuser(email=OPERATOR_EMAIL, password=DEMO_PASSWORD, display_name="Operator")
    result.sign_ins.append((site_url(settings.BASE_DOMAIN, "/admin/"), OPERATOR_EMAIL, "Platform operator"))
    for demo in DEMO_ORGANIZATIONS:
        organization = Organization.objects.filter(schema_name=demo.slug).first()
        if organization is None:
            organization = organization_create(
                slug=demo.slug,
                name=demo.name,
                kind=demo.kind,
                admin_email=demo.admin[0],
                locale=demo.locale,
            ).organization
            result.created.append(demo.slug)
        if organization.headcount is None:
            organization.allowed_email_domains = (
                [demo.email_domain] if demo.kind == Organization.Kind.COMPANY else []
            )
            organization.headcount = demo.headcount
            organization.save(update_fields=["allowed_email_domains", "headcount"])
        with tenant_context(organization), transaction.atomic():
            library_install()
            _seed_people_and_teams(demo)
            _seed_challenges(demo)
            join_link = _seed_join_link(demo)
        result.join_links.append((demo.name, join_link_url(join_link, organization)))
        url = organization_url(organization)
        result.sign_ins += [(url, demo.admin[0], ORG_ADMIN), (url, demo.executive[0], EXECUTIVE)]
        result.sign_ins += [(url, demo.participants[0][0], PARTICIPANT)]
    return result


def _seed_people_and_teams(demo: DemoOrganization) -> None:
    admin = User.objects.get(email=demo.admin[0])
    if not admin.has_usable_password():
        admin.display_name = demo.admin[1]
        admin.set_password(DEMO_PASSWORD)
        admin.save(update_fields=["display_name", "password"])
    if not User.objects.filter(email=demo.executive[0]).exists():
        user_create(
            email=demo.executive[0], display_name=demo.executive[1], role=EXECUTIVE, password=DEMO_PASSWORD
        )
    teams = []
    for name, kind in demo.teams:
        team = Team.objects.filter(name=name).first() or team_create(actor=admin, name=name, kind=kind)
        teams.append(team)
    for email, display_name, team_index in demo.participants:
        if User.objects.filter(email=email).exists():
            continue
        participant = user_create(
            email=email, display_name=display_name, role=PARTICIPANT, password=DEMO_PASSWORD
        )
        team_join(actor=participant, team=teams[team_index])


def _seed_join_link(demo: DemoOrganization) -> JoinLink:
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
    label = "Intranet" if demo.locale == Organization.Locale.ENGLISH else "Intranet de la ville"
    return join_link_create(actor=User.objects.get(email=demo.admin[0]), label=label)


def _seed_challenges(demo: DemoOrganization) -> None:
    """Challenges of each kind: one succeeded with its counterpart delivered, one at risk, one open."""
    admin = User.objects.get(email=demo.admin[0])
    participants = list(
        User.objects.filter(email__in=[email for email, _, _ in demo.participants]).order_by("pk")
    )
    now = timezone.now()
    existing = set(Challenge.objects.values_list("template_key", flat=True))

    if demo.succeeded not in existing:
        challenge = _from_template(demo, demo.succeeded, admin, now - dt.timedelta(days=12), days=40)
        challenge_update_target(challenge, len(participants) - 1)
        challenge_publish(actor=admin, challenge_id=challenge.pk)
        for person in participants[:-1]:
            pledge_create(actor=person, challenge_id=challenge.pk)
        proof = {
            "en": "Announced on the intranet; first menus attached.",
            "fr": "Annoncé sur le site de la ville.",
        }
        counterpart_deliver(
            actor=admin,
            challenge_id=challenge.pk,
            proof_text=proof[demo.locale],
            proof_url="https://example.org/proof",
        )
    if demo.at_risk not in existing:
        challenge = _from_template(demo, demo.at_risk, admin, now - dt.timedelta(days=20), days=30)
        challenge_publish(actor=admin, challenge_id=challenge.pk)
        today = timezone.localdate(now)
        for offset, person in enumerate(participants):
            day = today - dt.timedelta(days=offset * 3)
            contribution_create(
                actor=person, challenge_id=challenge.pk, day=day, amount=Decimal(12 + offset * 5)
            )
    if demo.open not in existing:
        challenge = _from_template(demo, demo.open, admin, now - dt.timedelta(days=2), days=45)
        challenge_publish(actor=admin, challenge_id=challenge.pk)
        first_slot = challenge.skill_slots.order_by("pk").first()
        if first_slot is not None:
            pledge_create(actor=participants[0], challenge_id=challenge.pk, skill_slot_id=first_slot.pk)


def challenge_update_target(challenge: Challenge, target: int) -> None:
    # The demo organisations are small: the Koom-style goal is scaled to their few participants.
    Challenge.objects.filter(pk=challenge.pk).update(goal_target=Decimal(target))
    challenge.refresh_from_db()


def _from_template(
    demo: DemoOrganization, key: str, admin: User, starts_at: dt.datetime, *, days: int
) -> Challenge:
    template = TEMPLATES_BY_KEY[key]
    locale = demo.locale
    metric = Metric.objects.get(key=template.metric) if template.metric else None
    return challenge_create(
        actor=admin,
        fields={
            "title": template.text("title", locale),
            "description": template.text("description", locale),
            "action": template.text("action", locale),
            "category": template.category,
            "starts_at": starts_at,
            "deadline": starts_at + dt.timedelta(days=days),
            "goal_kind": template.goal_kind,
            "goal_target": template.goal_target,
            "metric": metric,
        },
        skill_slots=[
            SkillSlotInput(names.get(locale) or names["en"], count, hours)
            for names, count, hours in template.skill_slots
        ],
        counterpart=CounterpartInput(template.text("counterpart", locale)),
        template_key=key,
    )
