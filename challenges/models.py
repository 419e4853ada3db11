from django.conf import settings
from django.db import models


class Team(models.Model):
    """A department, site or neighbourhood. Leaderboards compare teams per head."""

    class Kind(models.TextChoices):
        DEPARTMENT = "department", "Department"
        SITE = "site", "Site"
        NEIGHBOURHOOD = "neighbourhood", "Neighbourhood"

    name = models.CharField(max_length=120, unique=True)
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.DEPARTMENT)
    captain = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="captained_teams",
    )
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
