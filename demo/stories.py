"""What the demo organisations are and what happened in them: teams, a few named people, and the
story of each challenge (when it ran, how far it got, how it ended), all in days from today.

Acme and Villeneuve are paying customers with four months of history. Le Petit Atelier is small and
new, on the free Discovery plan, and close to its limits: its one open challenge started this month
and most of its people took part in it (demo/atelier.py plans and writes it).

Titles and texts come from the template library (challenges.library) in the organisation's
language where a template fits; the others are written here, in that language only.
"""

import enum
from dataclasses import dataclass, field
from decimal import Decimal

from challenges.models import Challenge, Team
from tenants.models import Organization

Category, GoalKind = Challenge.Category, Challenge.GoalKind


class Outcome(enum.StrEnum):
    DELIVERED = "delivered"  # succeeded, the counterpart delivered with proof
    DUE = "due"  # succeeded, the counterpart still owed (due date ahead)
    FAILED = "failed"  # the deadline passed short of the goal
    CANCELLED = "cancelled"  # an admin cancelled it, saying why
    ON_TRACK = "on_track"  # open, heading past its goal
    AT_RISK = "at_risk"  # open, heading short of its goal
    SKILLS_HALF = "skills_half"  # open skills project, about half its places filled
    UPCOMING = "upcoming"  # published, starts later
    DRAFT = "draft"  # being prepared

    @property
    def closed(self) -> bool:
        return self in (Outcome.DELIVERED, Outcome.DUE, Outcome.FAILED)

    @property
    def succeeded(self) -> bool:
        return self in (Outcome.DELIVERED, Outcome.DUE)

    @property
    def takes_part(self) -> bool:
        """People have pledged or logged in it (an upcoming one has not started)."""
        return self not in (Outcome.UPCOMING, Outcome.DRAFT)


@dataclass(frozen=True)
class Texts:
    """A challenge written here rather than taken from the library, in the organisation's language."""

    title: str
    description: str
    action: str
    counterpart: str
    category: str
    goal_kind: str
    metric: str | None = None
    skill_slots: tuple[tuple[str, int, Decimal | None], ...] = ()


@dataclass(frozen=True)
class Story:
    key: str  # stable: seeds the story's random draws
    outcome: Outcome
    start: int  # days from today
    days: int  # from start to deadline
    template: str = ""  # a library template, or
    texts: Texts | None = None  # our own
    target: Decimal | None = None  # instead of the template's (scaled to the organisation)
    people: int = 0  # participants (active pledges) at the end, or so far when open
    progress: float = 0.0  # quantity goals: the total logged / the target, at the end or so far
    cancel_after: int = 0  # days after the start
    cause: str = ""
    amount: Decimal | None = None  # of the counterpart, in EUR
    due_in: int | None = None  # the counterpart's due date, days from today
    proof: str = ""
    proof_url: str = ""
    fill: tuple[int, ...] = ()  # skills: people in each slot
    hours: tuple[Decimal, ...] = ()  # skills: hours logged in each slot


@dataclass(frozen=True)
class NamedPerson:
    email: str
    name: str
    team: int | None  # index in the organisation's teams
    role: str = "participant"  # or "executive"
    password: bool = False  # a printed demo sign-in


@dataclass(frozen=True)
class DemoOrganization:
    slug: str
    name: str
    kind: str
    locale: str
    email_domain: str  # of the staff (admin, executives); a company's participants too
    headcount: int
    billing_plan: (
        str  # a paying customer's: Discovery's limits (one open challenge, 50 people) are for trying
    )
    brand_color: str
    admin: tuple[str, str]
    executive: tuple[str, str]
    participant: str  # the printed participant sign-in
    teams: list[tuple[str, str, int, float]]  # name, kind, headcount, share of the participants
    participants: int  # about this many people take part
    named: list[NamedPerson]
    stories: list[Story]
    deactivated: int = 2
    # Share of people, per team name, whose names (and language) are French: Acme's Lyon site.
    french_teams: dict[str, float] = field(default_factory=dict)


E = Decimal
ACME = DemoOrganization(
    slug="acme",
    name="Acme Industries",
    kind=Organization.Kind.COMPANY,
    locale=Organization.Locale.ENGLISH,
    email_domain="acme.example",
    headcount=1200,
    billing_plan=Organization.Plan.BUSINESS,
    brand_color="#9A3412",
    admin=("csr@acme.example", "Alice Martin (CSR)"),
    executive=("ceo@acme.example", "Edward Stone (CEO)"),
    participant="bob@acme.example",
    teams=[
        ("Engineering", Team.Kind.DEPARTMENT, 240, 0.20),
        ("Sales", Team.Kind.DEPARTMENT, 130, 0.07),
        ("Lyon site", Team.Kind.SITE, 230, 0.24),
        ("Marketing", Team.Kind.DEPARTMENT, 65, 0.09),
        ("Customer Support", Team.Kind.DEPARTMENT, 110, 0.10),
        ("Finance & Legal", Team.Kind.DEPARTMENT, 55, 0.05),
        ("Manchester plant", Team.Kind.SITE, 190, 0.16),
        ("Rotterdam warehouse", Team.Kind.SITE, 95, 0.09),
    ],
    participants=400,
    named=[
        NamedPerson("bob@acme.example", "Bob Keller", 0, password=True),
        NamedPerson("chloe@acme.example", "Chloé Durand", 0),
        NamedPerson("dan@acme.example", "Dan Okafor", 1),
        NamedPerson("eva@acme.example", "Eva Rossi", 1),
        NamedPerson("farid@acme.example", "Farid Benali", 2),
        NamedPerson("nadia.haddad@acme.example", "Nadia Haddad (COO)", 6, role="executive"),
        NamedPerson("tom.whitaker@acme.example", "Tom Whitaker (HR director)", None, role="executive"),
    ],
    deactivated=3,
    french_teams={"Lyon site": 0.75},
    stories=[
        Story(
            "organic", Outcome.DELIVERED, start=-118, days=45, template="organic-weekly",
            target=E(150), people=176, amount=E(18000), due_in=-40,
            proof="The canteen's new supplier contract (15 % organic) and the first menus are on the "
            "intranet.",
            proof_url="https://intranet.acme.example/news/organic-canteen",
        ),
        Story(
            "bike-spring", Outcome.DUE, start=-92, days=30, template="bike-to-work",
            people=138, progress=1.25, amount=E(48000), due_in=35,
        ),
        Story(
            "veggie", Outcome.FAILED, start=-76, days=30, template="veggie-lunch",
            people=120, progress=0.81,
        ),
        Story(
            "kwh", Outcome.DELIVERED, start=-62, days=28, target=E(3000), people=84, progress=1.09,
            amount=E(25000), due_in=-5,
            texts=Texts(
                "Switch it off: 3,000 kWh saved",
                "Screens off at night, heating down a degree, lights out in empty rooms: log the "
                "kilowatt-hours your team saves.",
                "I switch off what I am not using",
                "The savings fund solar panels on the Rotterdam warehouse roof",
                Category.ENVIRONMENT, GoalKind.QUANTITY, "kwh-saved",
            ),
            proof="The panels were installed on the Rotterdam roof; the installer's report is attached.",
            proof_url="https://intranet.acme.example/news/rotterdam-solar",
        ),
        Story(
            "walk", Outcome.CANCELLED, start=-40, days=35, target=E(5000), people=58, progress=0.22,
            cancel_after=17,
            cause="The walking routes around the Lyon site are closed for roadworks until further "
            "notice; we will run this challenge again when they reopen.",
            texts=Texts(
                "Step up: 5,000 km on foot",
                "Walk to work, to the station or at lunchtime instead of driving: every kilometre counts.",
                "I walk instead of driving",
                "A standing desk for every team that asks",
                Category.HEALTH, GoalKind.QUANTITY, "km-walked",
            ),
        ),
        Story(
            "clean-up", Outcome.ON_TRACK, start=-21, days=45, template="clean-up",
            people=86, progress=0.56,
        ),
        Story(
            "train", Outcome.AT_RISK, start=-24, days=35, target=E(20000), people=46, progress=0.37,
            texts=Texts(
                "Rail, not road: 20,000 km by train",
                "Visiting a client or another site? Take the train instead of the car and log the "
                "kilometres.",
                "I take the train for work trips",
                "Rail passes for every employee who travels for work",
                Category.ENVIRONMENT, GoalKind.QUANTITY, "km-train",
            ),
        ),
        Story(
            "blood", Outcome.ON_TRACK, start=-12, days=40, target=E(150), people=66, amount=E(3000),
            texts=Texts(
                "150 blood donors",
                "The blood bank's bus parks at each site this term. If 150 of us give blood, Acme "
                "matches it with a donation.",
                "I give blood when the bus comes to my site",
                "€20 per donor to the Red Cross",
                Category.HEALTH, GoalKind.PARTICIPANTS,
            ),
        ),
        Story(
            "garden", Outcome.SKILLS_HALF, start=-9, days=60, template="community-garden",
            fill=(2, 1, 0), hours=(E(0), E("7.5"), E(0)),
        ),
        Story(
            "car-free", Outcome.UPCOMING, start=12, days=28, target=E(200), amount=E(10000),
            texts=Texts(
                "Car-free week: 200 colleagues",
                "For one week, leave the car at home: bike, bus, train, car-pool or walk.",
                "I leave my car at home for a week",
                "A car-sharing pool of electric cars at the Manchester plant",
                Category.ENVIRONMENT, GoalKind.PARTICIPANTS,
            ),
        ),
        Story(
            "repair-cafe", Outcome.DRAFT, start=30, days=45,
            texts=Texts(
                "A repair café at the Manchester plant",
                "Once a month, colleagues fix each other's things instead of throwing them away.",
                "I give a few hours to fix things",
                "A workshop room and tools",
                Category.COMMUNITY, GoalKind.SKILLS,
                skill_slots=(
                    ("Electronics repair", 3, E(24)), ("Sewing", 2, None), ("Bike mechanics", 2, None),
                ),
            ),
        ),
    ],
)  # fmt: skip

VILLENEUVE = DemoOrganization(
    slug="villeneuve",
    name="Ville de Villeneuve",
    kind=Organization.Kind.MUNICIPALITY,
    locale=Organization.Locale.FRENCH,
    email_domain="villeneuve.example",
    headcount=24000,
    billing_plan=Organization.Plan.MUNICIPALITY,
    brand_color="#1E40AF",
    admin=("mairie@villeneuve.example", "Claire Petit (mairie)"),
    executive=("maire@villeneuve.example", "Jean Moreau (maire)"),
    participant="lucie@exemple.fr",
    teams=[
        ("Centre-ville", Team.Kind.NEIGHBOURHOOD, 6200, 0.26),
        ("Les Coteaux", Team.Kind.NEIGHBOURHOOD, 4100, 0.14),
        ("Le Port", Team.Kind.NEIGHBOURHOOD, 3800, 0.21),
        ("Quartier de la Gare", Team.Kind.NEIGHBOURHOOD, 3500, 0.12),
        ("Les Tilleuls", Team.Kind.NEIGHBOURHOOD, 2900, 0.17),
        ("Bel-Air", Team.Kind.NEIGHBOURHOOD, 2600, 0.10),
    ],
    participants=900,
    named=[
        NamedPerson("lucie@exemple.fr", "Lucie Bernard", 0, password=True),
        NamedPerson("hugo@exemple.fr", "Hugo Lefèvre", 0),
        NamedPerson("ines@exemple.fr", "Inès Garcia", 1),
        NamedPerson("paul@exemple.fr", "Paul Girard", 2),
        NamedPerson(
            "s.laurent@villeneuve.example", "Sophie Laurent (adjointe à la transition écologique)", 4,
            role="executive",
        ),
        NamedPerson(
            "k.benali@villeneuve.example", "Karim Benali (adjoint à la vie des quartiers)", 2,
            role="executive",
        ),
    ],
    deactivated=2,
    stories=[
        Story(
            "budget", Outcome.DELIVERED, start=-115, days=45, template="citizen-budget",
            people=392, amount=E(50000), due_in=-35,
            proof="Les habitants ont voté : 12 projets retenus, inscrits au budget voté en conseil "
            "municipal.",
            proof_url="https://www.villeneuve.example/budget-participatif/resultats",
        ),
        Story(
            "organic", Outcome.DUE, start=-88, days=50, template="organic-weekly",
            target=E(400), people=451, due_in=45,
        ),
        Story(
            "compost", Outcome.FAILED, start=-70, days=40, target=E(5000), people=210, progress=0.78,
            texts=Texts(
                "5 tonnes de biodéchets compostés",
                "Compostez vos épluchures au jardin, au pied de l'immeuble ou au composteur de quartier "
                "et enregistrez ce que vous apportez.",
                "Je composte mes biodéchets",
                "Un composteur collectif dans chaque quartier",
                Category.ENVIRONMENT, GoalKind.QUANTITY, "kg-composted",
            ),
        ),
        Story(
            "tablee", Outcome.CANCELLED, start=-35, days=30, target=E(400), people=148, cancel_after=14,
            cause="La place du Marché est fermée pour travaux jusqu'à nouvel ordre : la fête sera "
            "reprogrammée dès sa réouverture.",
            texts=Texts(
                "La grande tablée : 400 voisins à table",
                "Si 400 voisins s'engagent à apporter un plat, la ville installe les tables, la musique "
                "et l'éclairage sur la place du Marché.",
                "J'apporte un plat à partager",
                "Tables, scène et éclairage pour la fête des quartiers",
                Category.COMMUNITY, GoalKind.PARTICIPANTS,
            ),
        ),
        Story(
            "clean-up", Outcome.ON_TRACK, start=-16, days=45, template="clean-up",
            people=141, progress=0.48,
        ),
        Story(
            "bike", Outcome.AT_RISK, start=-26, days=40, template="bike-to-work",
            people=104, progress=0.39, amount=E(120000),
        ),
        Story(
            "repair-cafe", Outcome.SKILLS_HALF, start=-11, days=50,
            fill=(2, 1, 2, 1), hours=(E(9), E(0), E(0), E(0)),
            texts=Texts(
                "Un repair café au Port",
                "Un samedi par mois, des habitants réparent avec vous ce qui peut l'être : le repair "
                "café ouvre dès que chaque compétence a trouvé ses bénévoles.",
                "Je donne quelques heures pour réparer",
                "Une salle à la maison de quartier du Port et l'outillage",
                Category.COMMUNITY, GoalKind.SKILLS,
                skill_slots=(
                    ("Réparation électronique", 3, E(30)), ("Couture", 2, None),
                    ("Mécanique vélo", 3, None), ("Accueil et café", 4, None),
                ),
            ),
        ),
        Story(
            "garden", Outcome.UPCOMING, start=14, days=45, template="community-garden",
        ),
        Story(
            "covoiturage", Outcome.DRAFT, start=30, days=40, target=E(200),
            texts=Texts(
                "200 foyers au covoiturage",
                "Si 200 foyers s'inscrivent au covoiturage domicile-travail, la ville réserve des "
                "places de parking aux covoitureurs.",
                "Je covoiture au moins deux fois par semaine",
                "Des places réservées aux covoitureurs près de la gare",
                Category.ENVIRONMENT, GoalKind.PARTICIPANTS,
            ),
        ),
    ],
)  # fmt: skip

# On Discovery (one open challenge, 50 active participants a month): its open challenge starts at the
# beginning of the current month whatever `start` says, and `people` of its people pledge to it this
# month, so the billing page shows the limits nearly reached.
ATELIER = DemoOrganization(
    slug="atelier",
    name="Le Petit Atelier",
    kind=Organization.Kind.COMPANY,
    locale=Organization.Locale.FRENCH,
    email_domain="petit-atelier.example",
    headcount=64,
    billing_plan=Organization.Plan.DISCOVERY,
    brand_color="#047857",
    admin=("rh@petit-atelier.example", "Margaux Roux (RH)"),
    executive=("direction@petit-atelier.example", "Antoine Blanc (gérant)"),
    participant="jules@petit-atelier.example",
    teams=[
        ("Atelier", Team.Kind.DEPARTMENT, 34, 0.55),
        ("Boutique", Team.Kind.SITE, 16, 0.25),
        ("Bureau", Team.Kind.DEPARTMENT, 12, 0.20),
    ],
    participants=48,
    named=[NamedPerson("jules@petit-atelier.example", "Jules Mercier", 0, password=True)],
    deactivated=0,
    stories=[
        Story(
            "tasses", Outcome.ON_TRACK, start=0, days=30, target=E(55), people=45,
            texts=Texts(
                "Zéro gobelet : 55 tasses à l'atelier",
                "Si 55 d'entre nous apportent leur tasse au lieu de prendre un gobelet jetable, "
                "l'atelier installe une fontaine à eau et offre une tasse gravée à chacun.",
                "J'apporte ma tasse",
                "Une fontaine à eau filtrée et une tasse gravée pour chacun",
                Category.CONSUMPTION, GoalKind.PARTICIPANTS,
            ),
        ),
        Story(
            "covoiturage", Outcome.DRAFT, start=20, days=30, target=E(20),
            texts=Texts(
                "20 collègues au covoiturage",
                "Si 20 collègues covoiturent au moins deux fois par semaine, l'atelier réserve les "
                "meilleures places du parking aux covoitureurs.",
                "Je covoiture au moins deux fois par semaine",
                "Des places de parking réservées aux covoitureurs",
                Category.ENVIRONMENT, GoalKind.PARTICIPANTS,
            ),
        ),
    ],
)  # fmt: skip

DEMO_ORGANIZATIONS = [ACME, VILLENEUVE, ATELIER]

# A quantity logged in one go, typically, and its step: commuting by bike both ways, a bag of litter…
ENTRY_SIZES: dict[str, tuple[Decimal, Decimal]] = {
    "km-cycled": (E(13), E("0.1")),
    "km-walked": (E("4.5"), E("0.1")),
    "km-train": (E(70), E(1)),
    "kwh-saved": (E(6), E("0.1")),
    "kg-litter": (E("3.5"), E("0.1")),
    "kg-composted": (E("2.5"), E("0.1")),
    "vegetarian-meals": (E("1.3"), E(1)),
}
SKILL_HOURS = (E(2), E("0.5"))

NOTES: dict[str, dict[str, tuple[str, ...]]] = {
    "en": {
        "km-cycled": ("There and back", "Rainy but worth it", "Took the long way along the canal"),
        "km-walked": ("Lunchtime walk", "Walked to the station", "With the Sales team"),
        "km-train": ("Client visit", "Site visit to Lyon", "Team offsite"),
        "kwh-saved": ("Meter reading, week 2", "Heating down a degree", "Screens off all weekend"),
        "kg-litter": ("Riverside clean-up", "Car park and verges", "With my kids"),
        "vegetarian-meals": ("Lentil curry", "Canteen veggie dish", "Falafel wrap"),
        "hours": ("Planting plan", "First beds built", "Site survey"),
    },
    "fr": {
        "km-cycled": ("Aller-retour", "Sous la pluie, mais ça valait le coup", "Par la voie verte"),
        "kg-litter": ("Berges de la rivière", "Parc des Tilleuls", "Avec l'école du quartier"),
        "kg-composted": ("Composteur de l'immeuble", "Épluchures de la semaine", "Au jardin"),
        "hours": ("Deux grille-pain et une lampe", "Atelier du samedi", "Préparation de l'outillage"),
    },
}
