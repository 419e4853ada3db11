from django.contrib.auth.models import AbstractBaseUser, PermissionsMixin, UserManager
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class CrowdactUserManager(UserManager["User"]):
    def _create_user(self, email: str, password: str | None, **extra_fields: object) -> "User":
        email = self.normalize_email(email).lower()
        user = self.model(email=email, **extra_fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(  # type: ignore[override]
        self, email: str, password: str | None = None, **extra_fields: object
    ) -> "User":
        extra_fields.setdefault("is_staff", False)
        extra_fields.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra_fields)

    def create_superuser(  # type: ignore[override]
        self, email: str, password: str | None = None, **extra_fields: object
    ) -> "User":
        extra_fields["is_staff"] = True
        extra_fields["is_superuser"] = True
        return self._create_user(email, password, **extra_fields)


class User(AbstractBaseUser, PermissionsMixin):
    """A person. Lives in one organisation's schema (platform operators live in the public schema)."""

    email = models.EmailField(unique=True)
    display_name = models.CharField(max_length=150, blank=True)
    is_staff = models.BooleanField(default=False, help_text="Can use the Django admin (platform operators).")
    is_active = models.BooleanField(default=True)
    date_joined = models.DateTimeField(default=timezone.now)
    # When the "set your password" e-mail went out: the task that sends it runs at most once.
    invitation_sent_at = models.DateTimeField(null=True, blank=True)
    # Privacy first: others see "a participant" unless the person chooses to show their name.
    show_name = models.BooleanField(default=False)
    # Empty: the organisation's language.
    language = models.CharField(max_length=2, blank=True, choices=[("fr", "Français"), ("en", "English")])
    # Set when the person erased their account: the row stays, anonymous, so totals do not change.
    erased_at = models.DateTimeField(null=True, blank=True)
    # The last request of a signed-in session, to the hour (core/middleware.py writes it at most hourly).
    last_seen_at = models.DateTimeField(null=True, blank=True)

    objects = CrowdactUserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = []

    class Meta:
        ordering = ["email"]
        permissions = [
            ("manage_organization", "Can manage the organisation: branding, teams, challenges"),
            ("view_dashboard", "Can read the organisation's dashboards and reports"),
        ]

    def __str__(self) -> str:
        if self.erased_at is not None:
            return "Erased account"
        return self.display_name or self.email

    def get_full_name(self) -> str:
        return self.display_name or self.email

    def get_short_name(self) -> str:
        return self.display_name or self.email.split("@", 1)[0]


class ApiToken(models.Model):
    """A secret an integration sends instead of a session; it acts as the admin who created it.

    Only the SHA-256 of the secret is kept: the secret itself is shown once, at creation. A token
    lives in its organisation's schema, so it means nothing on another organisation's host. It
    expires (90 days by default, a year at most), and a read token only reads.
    """

    class Scope(models.TextChoices):
        READ = "read", "Read"
        WRITE = "write", "Read and write"

    name = models.CharField(max_length=100, help_text="What uses it, e.g. the intranet widget.")
    prefix = models.CharField(max_length=16, help_text="The first characters of the secret, to recognise it.")
    key_hash = models.CharField(max_length=64, unique=True)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    created_by = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")
    scope = models.CharField(max_length=5, choices=Scope.choices, default=Scope.READ)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = "API token"

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"


class Notification(models.Model):
    """One e-mail to one recipient about one event, sent at most once (core/notifications.py).

    `event` names the event for good ("challenge:12:goal_reached"); the unique constraint is what
    makes a second run of the same sending find the row already there.
    """

    event = models.CharField(max_length=200)
    recipient = models.EmailField()
    language = models.CharField(max_length=2, blank=True)
    user = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.CASCADE, related_name="notifications"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["event", "recipient"], name="notification_once_per_recipient")
        ]
        indexes = [models.Index(fields=["event", "sent_at"], name="notification_pending")]

    def __str__(self) -> str:
        return self.event


class Invitation(models.Model):
    """An admin's invitation of a person by e-mail: a one-time link, valid 7 days, that can be resent.

    An admin or an executive sets a password through it; a participant is signed in by it. Only the
    SHA-256 of its secret is kept; resending makes a new secret (the old link stops working).
    """

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="invitations")
    key_hash = models.CharField(max_length=64, unique=True)
    invited_by = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    sends = models.PositiveSmallIntegerField(default=0)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"invitation of {self.user_id}"


class AuditEntry(models.Model):
    """One admin action: who, when, from which client, what changed. Written once, never edited.

    The actor and the person concerned stay linked rows: an erased person's entries show "erased
    person" (accounts.selectors.person_name) and keep the action.
    """

    class Kind(models.TextChoices):
        SETTINGS_CHANGED = "settings_changed", _("Settings changed")
        ROLE_CHANGED = "role_changed", _("Role changed")
        TEAM_CHANGED = "team_changed", _("Moved to a team")
        PERSON_INVITED = "person_invited", _("Person invited")
        INVITATION_RESENT = "invitation_resent", _("Invitation sent again")
        PERSON_DEACTIVATED = "person_deactivated", _("Person deactivated")
        PERSON_REACTIVATED = "person_reactivated", _("Person reactivated")
        PEOPLE_IMPORTED = "people_imported", _("People imported")
        TEAM_CREATED = "team_created", _("Team created")
        TEAM_CHANGED_SETTINGS = "team_updated", _("Team changed")
        TEAM_DELETED = "team_deleted", _("Team deleted")
        CHALLENGE_CREATED = "challenge_created", _("Challenge created")
        CHALLENGE_PUBLISHED = "challenge_published", _("Challenge published")
        CHALLENGE_CANCELLED = "challenge_cancelled", _("Challenge cancelled")
        COUNTERPART_DELIVERED = "counterpart_delivered", _("Counterpart delivered")
        METRIC_CREATED = "metric_created", _("Metric created")
        JOIN_LINK_CREATED = "join_link_created", _("Join link created")
        JOIN_LINK_REVOKED = "join_link_revoked", _("Join link revoked")
        WIDGET_CHANGED = "widget_changed", _("Widget changed")
        API_TOKEN_CREATED = "api_token_created", _("API token created")
        API_TOKEN_REVOKED = "api_token_revoked", _("API token revoked")
        BILLING_CHANGED = "billing_changed", _("Billing changed")
        PLAN_CHANGED = "plan_changed", _("Plan changed")
        CHECKOUT_STARTED = "checkout_started", _("Online payment started")
        SERVICE_BOUGHT = "service_bought", _("Paid service bought")
        MUNICIPALITY_SUBSCRIBED = "municipality_subscribed", _("Municipality plan set up")
        REPORT_SHARED = "report_shared", _("Report shared")
        REPORT_SHARE_REVOKED = "report_share_revoked", _("Report share link revoked")

    kind = models.CharField(max_length=40, choices=Kind.choices)
    actor = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")
    subject = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    target = models.CharField(max_length=200, blank=True, help_text="What it was done to, e.g. a title.")
    changes = models.JSONField(default=list, blank=True, help_text="[{field, old, new}] for a change.")
    client = models.CharField(max_length=64, blank=True)
    request_id = models.CharField(max_length=64, blank=True)
    at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-at", "-pk"]
        indexes = [models.Index(fields=["kind", "at"], name="audit_kind_at")]

    def __str__(self) -> str:
        return f"{self.kind} at {self.at:%Y-%m-%d %H:%M}"
