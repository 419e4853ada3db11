"""What every organisation starts with: the sourced impact factors, the default metrics built on them,
and challenge templates in French and English."""

import csv
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from django.db import transaction

from challenges.models import Challenge, ImpactFactor, Metric
from tenants.services import Provisioning

FACTORS_CSV = Path(__file__).resolve().parent / "data" / "impact-factors.csv"


@dataclass(frozen=True)
class MetricSpec:
    key: str
    name_en: str
    name_fr: str
    unit_en: str
    unit_fr: str
    daily_cap: Decimal
    # CO2e avoided per unit = baseline − action, both factors of the same family.
    baseline: str | None = None
    action: str | None = None
    is_estimate: bool = False
    money_value: Decimal | None = None
    money_currency: str = ""
    money_source: str = ""


DEFAULT_METRICS = [
    MetricSpec("km-cycled", "Kilometres cycled instead of driven", "Kilomètres à vélo au lieu de la voiture",
               "km", "km", Decimal(150), "transport_car_thermal", "transport_bike"),
    MetricSpec("km-walked", "Kilometres walked instead of driven", "Kilomètres à pied au lieu de la voiture",
               "km", "km", Decimal(50), "transport_car_thermal", "transport_walk"),
    MetricSpec("km-ebike", "Kilometres by e-bike instead of driven", "Kilomètres en vélo électrique au lieu de la voiture",
               "km", "km", Decimal(150), "transport_car_thermal", "transport_ebike"),
    MetricSpec("km-bus", "Kilometres by bus instead of driven", "Kilomètres en bus au lieu de la voiture",
               "km", "km", Decimal(300), "transport_car_thermal", "transport_bus_thermal"),
    MetricSpec("km-train", "Kilometres by regional train instead of driven", "Kilomètres en TER au lieu de la voiture",
               "km", "km", Decimal(600), "transport_car_thermal", "transport_train_ter"),
    MetricSpec("vegetarian-meals", "Vegetarian meals instead of beef", "Repas végétariens au lieu de bœuf",
               "meals", "repas", Decimal(3), "meal_beef_ademe", "meal_vegetarian_ademe"),
    MetricSpec("vegan-meals", "Vegan meals instead of red meat", "Repas végétaliens au lieu de viande rouge",
               "meals", "repas", Decimal(3), "meal_red_meat_ngc", "meal_vegan_ngc"),
    MetricSpec("kg-composted", "Kilograms of food waste composted at home", "Kilos de biodéchets compostés",
               "kg", "kg", Decimal(20), "waste_bio_landfill", "waste_bio_home_compost"),
    MetricSpec("kwh-saved", "Kilowatt-hours of electricity saved", "Kilowattheures d'électricité économisés",
               "kWh", "kWh", Decimal(100), "energy_elec_fr_lifecycle", None, is_estimate=True),
    # No sourced CO2 figure: counted, never converted (see challenges/data/README.md).
    MetricSpec("kg-litter", "Kilograms of litter collected", "Kilos de déchets ramassés", "kg", "kg", Decimal(100)),
    MetricSpec("kg-sorted", "Kilograms of packaging sorted for recycling", "Kilos d'emballages triés",
               "kg", "kg", Decimal(50)),
    MetricSpec("volunteer-hours", "Hours volunteered", "Heures de bénévolat", "hours", "heures", Decimal(12),
               money_value=Decimal("12.02"), money_currency="EUR",
               money_source="French minimum wage (SMIC), gross hourly rate from 1 January 2026"),
]  # fmt: skip


@dataclass(frozen=True)
class ChallengeTemplate:
    key: str
    category: str
    goal_kind: str
    title: dict[str, str]
    description: dict[str, str]
    action: dict[str, str]
    counterpart: dict[str, str]
    goal_target: Decimal | None = None
    metric: str | None = None
    duration_days: int = 30
    skill_slots: tuple[tuple[dict[str, str], int, Decimal | None], ...] = ()

    def text(self, field: str, locale: str) -> str:
        values: dict[str, str] = getattr(self, field)
        return values.get(locale) or values["en"]


C, G = Challenge.Category, Challenge.GoalKind
CHALLENGE_TEMPLATES = [
    ChallengeTemplate(
        "organic-weekly", C.CONSUMPTION, G.PARTICIPANTS,
        {"en": "One organic product a week", "fr": "Un produit bio par semaine"},
        {"en": "If enough of us buy one organic product a week, the canteen goes organic too.",
         "fr": "Si nous sommes assez nombreux à acheter un produit bio par semaine, la cantine passe au bio."},
        {"en": "I buy at least one organic product a week", "fr": "J'achète au moins un produit bio par semaine"},
        {"en": "15 % organic food in the canteen", "fr": "15 % de bio à la cantine"},
        goal_target=Decimal(500), duration_days=60,
    ),
    ChallengeTemplate(
        "bike-to-work", C.ENVIRONMENT, G.QUANTITY,
        {"en": "10,000 km by bike", "fr": "10 000 km à vélo"},
        {"en": "Cycle instead of driving: every kilometre logged counts towards the goal.",
         "fr": "Pédalez au lieu de prendre la voiture : chaque kilomètre compte."},
        {"en": "I cycle to work instead of driving", "fr": "Je vais au travail à vélo plutôt qu'en voiture"},
        {"en": "Secure bike shelters at every site", "fr": "Des abris vélos sécurisés sur chaque site"},
        goal_target=Decimal(10000), metric="km-cycled", duration_days=30,
    ),
    ChallengeTemplate(
        "clean-up", C.COMMUNITY, G.QUANTITY,
        {"en": "One tonne of litter collected", "fr": "Une tonne de déchets ramassés"},
        {"en": "Clean-up walks in our neighbourhoods until we reach one tonne.",
         "fr": "Des ramassages dans nos quartiers jusqu'à une tonne."},
        {"en": "I join clean-ups and log what I collect", "fr": "Je participe aux ramassages et j'enregistre ce que je collecte"},
        {"en": "New public bins in every neighbourhood", "fr": "De nouvelles poubelles publiques dans chaque quartier"},
        goal_target=Decimal(1000), metric="kg-litter", duration_days=45,
    ),
    ChallengeTemplate(
        "veggie-lunch", C.HEALTH, G.QUANTITY,
        {"en": "2,000 vegetarian lunches", "fr": "2 000 déjeuners végétariens"},
        {"en": "Choose the vegetarian dish: good for you, good for the climate.",
         "fr": "Choisissez le plat végétarien : bon pour vous, bon pour le climat."},
        {"en": "I choose vegetarian lunches", "fr": "Je choisis des déjeuners végétariens"},
        {"en": "A daily vegetarian dish at the canteen", "fr": "Un plat végétarien chaque jour à la cantine"},
        goal_target=Decimal(2000), metric="vegetarian-meals", duration_days=30,
    ),
    ChallengeTemplate(
        "citizen-budget", C.POLITICS, G.PARTICIPANTS,
        {"en": "300 residents for the participatory budget", "fr": "300 habitants pour le budget participatif"},
        {"en": "If 300 residents commit to vote, the city opens a participatory budget.",
         "fr": "Si 300 habitants s'engagent à voter, la ville ouvre un budget participatif."},
        {"en": "I will vote on the participatory budget", "fr": "Je voterai pour le budget participatif"},
        {"en": "€50,000 of the budget decided by residents", "fr": "50 000 € du budget décidés par les habitants"},
        goal_target=Decimal(300), duration_days=45,
    ),
    ChallengeTemplate(
        "community-garden", C.WELL_BEING, G.SKILLS,
        {"en": "Build a shared garden", "fr": "Construire un jardin partagé"},
        {"en": "The garden opens once every skill it needs has found a volunteer.",
         "fr": "Le jardin ouvre dès que chaque compétence nécessaire a trouvé un bénévole."},
        {"en": "I offer my skills for the garden", "fr": "J'offre mes compétences pour le jardin"},
        {"en": "The land, tools and water supply", "fr": "Le terrain, les outils et l'arrivée d'eau"},
        duration_days=60,
        skill_slots=(
            ({"en": "Landscape design", "fr": "Conception paysagère"}, 2, None),
            ({"en": "Carpentry", "fr": "Menuiserie"}, 2, Decimal(20)),
            ({"en": "Accounting", "fr": "Comptabilité"}, 1, None),
        ),
    ),
]  # fmt: skip
TEMPLATES_BY_KEY = {template.key: template for template in CHALLENGE_TEMPLATES}


def _factor_rows() -> list[dict[str, str]]:
    with FACTORS_CSV.open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@transaction.atomic
def library_install() -> None:
    """Install (or bring up to date) the built-in factors and metrics. Safe to run again."""
    for row in _factor_rows():
        value = row["kg_co2e_per_unit"].strip()
        ImpactFactor.objects.update_or_create(
            key=row["key"],
            defaults={
                "label_en": row["label_en"],
                "label_fr": row["label_fr"],
                "unit": row["unit"],
                "kg_co2e_per_unit": Decimal(value) if value else None,
                "source": row["source"],
                "source_url": row["source_url"],
                "year": int(row["year"]),
                "notes": row["notes"],
                "is_builtin": True,
            },
        )
    factors = {factor.key: factor for factor in ImpactFactor.objects.filter(is_builtin=True)}
    for spec in DEFAULT_METRICS:
        Metric.objects.update_or_create(
            key=spec.key,
            defaults={
                "name_en": spec.name_en,
                "name_fr": spec.name_fr,
                "unit_en": spec.unit_en,
                "unit_fr": spec.unit_fr,
                "daily_cap": spec.daily_cap,
                "baseline_factor": factors[spec.baseline] if spec.baseline else None,
                "action_factor": factors[spec.action] if spec.action else None,
                "is_estimate": spec.is_estimate,
                "money_value_per_unit": spec.money_value,
                "money_currency": spec.money_currency,
                "money_source": spec.money_source,
                "is_builtin": True,
            },
        )


def library_setup(provisioning: Provisioning) -> None:
    """Provisioning step (ORGANIZATION_SETUP): every new organisation starts with the library."""
    library_install()
