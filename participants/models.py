"""How people come in: join links posted on the intranet, and one-time sign-in links."""

from django.conf import settings
from django.db import models


class JoinLink(models.Model):
    """A link an admin posts on the intranet: /join/<token>/, for the organisation or one challenge.

    The token is not a password: it is meant to be shared with the whole organisation, so it is kept
    as is (admins copy it again later); it is long and random so that it cannot be guessed.
    """

    token = models.CharField(max_length=64, unique=True)
    label = models.CharField(max_length=120, blank=True, help_text="Where it is posted, e.g. intranet home.")
    challenge = models.ForeignKey(
        "challenges.Challenge", null=True, blank=True, on_delete=models.CASCADE, related_name="join_links"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return self.label or self.token[:8]


class SignInLink(models.Model):
    """A one-time sign-in link e-mailed to a person: single use, short-lived, in one organisation.

    Only the SHA-256 of its secret is kept.
    """

    key_hash = models.CharField(max_length=64, unique=True)
    email = models.EmailField()
    display_name = models.CharField(max_length=150, blank=True)
    join_link = models.ForeignKey(
        JoinLink, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    challenge = models.ForeignKey(
        "challenges.Challenge", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["email", "created_at"], name="signin_link_email_created")]

    def __str__(self) -> str:
        return f"sign-in link for {self.email}"


class Widget(models.Model):
    """How a challenge's widget behaves on the intranets that frame it.

    The widget is public: anyone can read it, wherever it is framed (frame-ancestors stops framing,
    not reading). So by default its button opens the challenge's page, where a visitor signs in, and
    it shows no join token. An admin who wants people to join straight from the widget picks a join
    link made for this challenge, which they can revoke on its own.
    """

    challenge = models.OneToOneField("challenges.Challenge", on_delete=models.CASCADE, related_name="widget")
    join_link = models.ForeignKey(
        JoinLink, null=True, blank=True, on_delete=models.SET_NULL, related_name="widgets"
    )
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"widget of challenge {self.challenge_id}"
