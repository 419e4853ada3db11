import datetime as dt
from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class Team(models.Model):
    """A department, site or neighbourhood. Leaderboards compare teams per head."""

    class Kind(models.TextChoices):
        DEPARTMENT = "department", _("Department")
        SITE = "site", _("Site")
        NEIGHBOURHOOD = "neighbourhood", _("Neighbourhood")

    name = models.CharField(max_length=120, unique=True)
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.DEPARTMENT)
    captain = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="captained_teams",
    )
    # People in the department, site or neighbourhood, whether they joined or not: the denominator of
    # the team's participation rate.
    headcount = models.PositiveIntegerField(null=True, blank=True, validators=[MaxValueValidator(10_000_000)])
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class TeamMembership(models.Model):
    """A person's team: one at a time, which they can change."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="team_membership"
    )
    team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="memberships")
    joined_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.user} in {self.team}"


class ImpactFactor(models.Model):
    """One sourced emission or value factor, as published (see challenges/data/impact-factors.csv)."""

    key = models.SlugField(max_length=80, unique=True)
    label_en = models.CharField(max_length=200)
    label_fr = models.CharField(max_length=200)
    unit = models.CharField(max_length=60)
    kg_co2e_per_unit = models.DecimalField(max_digits=12, decimal_places=6, null=True, blank=True)
    source = models.CharField(max_length=200)
    source_url = models.URLField(max_length=500, blank=True)
    year = models.PositiveSmallIntegerField()
    notes = models.TextField(blank=True)
    is_builtin = models.BooleanField(default=False)

    class Meta:
        ordering = ["key"]

    def __str__(self) -> str:
        return self.key


class Metric(models.Model):
    """A unit people log (km cycled, meals, kg composted, hours) and what one unit avoids.

    CO2e avoided per unit = baseline factor − action factor (1 km cycled instead of driven alone =
    0.2176 − 0). A metric with no sourced factor has none, rather than an invented one.
    """

    key = models.SlugField(max_length=80, unique=True)
    name_en = models.CharField(max_length=120)
    name_fr = models.CharField(max_length=120)
    unit_en = models.CharField(max_length=40)
    unit_fr = models.CharField(max_length=40)
    action_factor = models.ForeignKey(
        ImpactFactor, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    baseline_factor = models.ForeignKey(
        ImpactFactor, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    is_estimate = models.BooleanField(default=False, help_text="Sources disagree: shown as an estimate.")
    money_value_per_unit = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True)
    money_currency = models.CharField(max_length=3, blank=True)
    money_source = models.CharField(max_length=300, blank=True)
    daily_cap = models.DecimalField(
        max_digits=12,
        decimal_places=2,
        validators=[MinValueValidator(Decimal("0.01"))],
        help_text="The most one person may log in one day.",
    )
    is_builtin = models.BooleanField(default=False)

    class Meta:
        ordering = ["name_en"]

    def __str__(self) -> str:
        return self.name_en

    @property
    def kg_co2e_avoided_per_unit(self) -> Decimal | None:
        if self.baseline_factor is None or self.baseline_factor.kg_co2e_per_unit is None:
            return None
        action = Decimal(0)
        if self.action_factor is not None and self.action_factor.kg_co2e_per_unit is not None:
            action = self.action_factor.kg_co2e_per_unit
        return self.baseline_factor.kg_co2e_per_unit - action


EARLIEST_DATE = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
LATEST_DATE = dt.datetime(2200, 1, 1, tzinfo=dt.UTC)


class Challenge(models.Model):
    class Category(models.TextChoices):
        ENVIRONMENT = "environment", _("Environment")
        COMMUNITY = "community", _("Community")
        CONSUMPTION = "consumption", _("Consumption")
        HEALTH = "health", _("Health")
        POLITICS = "politics", _("Civic life")
        WELL_BEING = "well_being", _("Well-being")

    class GoalKind(models.TextChoices):
        PARTICIPANTS = "participants", _("Participants: a number of people pledge the same action")
        QUANTITY = "quantity", _("Quantity: people log amounts of one metric (km, meals, kg…)")
        SKILLS = "skills", _("Skills: a project needs skill slots filled")

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        OPEN = "open", _("Open")
        SUCCEEDED = "succeeded", _("Succeeded")
        FAILED = "failed", _("Failed")
        CANCELLED = "cancelled", _("Cancelled")

    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    action = models.CharField(
        max_length=200,
        blank=True,
        help_text="What each participant commits to, e.g. one organic product a week.",
    )
    category = models.CharField(max_length=20, choices=Category.choices)
    starts_at = models.DateTimeField()
    deadline = models.DateTimeField()
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.DRAFT, db_index=True)
    goal_kind = models.CharField(max_length=20, choices=GoalKind.choices)
    # participants: number of pledges; quantity: total of the metric. Skills goals count their slots.
    goal_target = models.DecimalField(
        max_digits=14,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0.01"))],
    )
    metric = models.ForeignKey(
        Metric, null=True, blank=True, on_delete=models.PROTECT, related_name="challenges"
    )
    template_key = models.CharField(max_length=80, blank=True)
    # Running totals, updated in the same transaction as each pledge or contribution.
    pledge_count = models.PositiveIntegerField(default=0)
    quantity_total = models.DecimalField(max_digits=16, decimal_places=2, default=Decimal(0))
    succeeded_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-starts_at", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(deadline__gt=models.F("starts_at")), name="challenge_deadline_after_start"
            ),
            # The services allow 3 years from a start within a year of today; the database keeps every
            # stored date where pages can show it in any time zone, whatever wrote it.
            models.CheckConstraint(
                condition=Q(starts_at__gte=EARLIEST_DATE, deadline__lte=LATEST_DATE)
                & Q(deadline__lte=models.F("starts_at") + dt.timedelta(days=3 * 365 + 1)),
                name="challenge_dates_in_range",
            ),
            models.CheckConstraint(
                condition=Q(goal_kind="skills") | Q(goal_target__isnull=False),
                name="challenge_target_unless_skills",
            ),
            models.CheckConstraint(
                condition=~Q(goal_kind="quantity") | Q(metric__isnull=False),
                name="challenge_quantity_has_metric",
            ),
        ]

    def __str__(self) -> str:
        return self.title


class SkillSlot(models.Model):
    """A skill a project needs: `count` people, or `hours` of work, or both."""

    challenge = models.ForeignKey(Challenge, on_delete=models.CASCADE, related_name="skill_slots")
    skill = models.CharField(max_length=120)
    count = models.PositiveIntegerField(default=1, validators=[MinValueValidator(1)])
    hours = models.DecimalField(
        max_digits=8, decimal_places=1, null=True, blank=True, validators=[MinValueValidator(Decimal("0.5"))]
    )
    filled_count = models.PositiveIntegerField(default=0)
    filled_hours = models.DecimalField(max_digits=10, decimal_places=1, default=Decimal(0))

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.UniqueConstraint(fields=["challenge", "skill"], name="skill_slot_unique_per_challenge")
        ]

    def __str__(self) -> str:
        return self.skill

    @property
    def is_filled(self) -> bool:
        return self.filled_count >= self.count and (self.hours is None or self.filled_hours >= self.hours)


class Counterpart(models.Model):
    """What the organisation promises if the goal is reached: the commitment ledger."""

    class Status(models.TextChoices):
        PROMISED = "promised", _("Promised")
        DUE = "due", _("Due")
        DELIVERED = "delivered", _("Delivered")
        VOID = "void", _("Void")

    challenge = models.OneToOneField(Challenge, on_delete=models.CASCADE, related_name="counterpart")
    description = models.TextField()
    amount = models.DecimalField(
        max_digits=14, decimal_places=2, null=True, blank=True, validators=[MinValueValidator(Decimal(0))]
    )
    currency = models.CharField(max_length=3, blank=True)
    due_date = models.DateField(null=True, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PROMISED)
    proof_text = models.TextField(blank=True)
    proof_url = models.URLField(max_length=500, blank=True)
    proof_file = models.FileField(upload_to="proofs/", blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return self.description[:60]


class Pledge(models.Model):
    """One person's commitment to a challenge: one per person, withdrawable until success."""

    challenge = models.ForeignKey(Challenge, on_delete=models.CASCADE, related_name="pledges")
    # Null once the person erased their account: the pledge still counts.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="pledges"
    )
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="pledges")
    skill_slot = models.ForeignKey(
        SkillSlot, null=True, blank=True, on_delete=models.PROTECT, related_name="pledges"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    confirmed_at = models.DateTimeField(null=True, blank=True, help_text="The person said they did it.")

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["challenge", "user"],
                condition=Q(withdrawn_at__isnull=True),
                name="pledge_one_active_per_person",
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} → {self.challenge}"


class Contribution(models.Model):
    """A quantity logged against a quantity goal, or hours against a skill slot."""

    challenge = models.ForeignKey(Challenge, on_delete=models.CASCADE, related_name="contributions")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="contributions"
    )
    team = models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="contributions"
    )
    skill_slot = models.ForeignKey(
        SkillSlot, null=True, blank=True, on_delete=models.PROTECT, related_name="contributions"
    )
    day = models.DateField()
    amount = models.DecimalField(
        max_digits=12, decimal_places=2, validators=[MinValueValidator(Decimal("0.01"))]
    )
    note = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-day", "-pk"]
        indexes = [models.Index(fields=["challenge", "user", "day"], name="contribution_daily_cap")]
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="contribution_positive")]

    def __str__(self) -> str:
        return f"{self.amount} on {self.day}"


class ContributionMonth(models.Model):
    """What one person logged on one challenge, for one team and slot, in one calendar month: the
    contributions folded, for the impact figures (challenges.selectors.impact).

    Derived data, kept by the database itself: triggers on the contribution table (migration 0011)
    fold every insert, update and delete into it in the same transaction, whatever wrote them. Plain
    ids, not foreign keys: the rows follow the contributions, never a model's deletion. Nothing else
    writes here.
    """

    challenge_id = models.BigIntegerField()
    user_id = models.BigIntegerField(null=True)
    team_id = models.BigIntegerField(null=True)
    skill_slot_id = models.BigIntegerField(null=True)
    month = models.DateField()  # its first day
    entries = models.PositiveIntegerField()
    amount = models.DecimalField(max_digits=18, decimal_places=2)
    days = models.IntegerField()  # bit d-1 set: something logged for day d of the month
    first_day = models.DateField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["challenge_id", "user_id", "team_id", "skill_slot_id", "month"],
                nulls_distinct=False,
                name="contribution_month_key",
            )
        ]

    def __str__(self) -> str:
        return f"{self.entries} entries in {self.month:%Y-%m}"


class ChallengeEvent(models.Model):
    """A recorded transition of a challenge or of its counterpart: when, who, why."""

    class Subject(models.TextChoices):
        CHALLENGE = "challenge", "Challenge"
        COUNTERPART = "counterpart", "Counterpart"

    challenge = models.ForeignKey(Challenge, on_delete=models.CASCADE, related_name="events")
    subject = models.CharField(max_length=20, choices=Subject.choices, default=Subject.CHALLENGE)
    from_status = models.CharField(max_length=20)
    to_status = models.CharField(max_length=20)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    cause = models.CharField(max_length=300)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["at", "pk"]

    def __str__(self) -> str:
        return f"{self.subject} {self.from_status} → {self.to_status}"
