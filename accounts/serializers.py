"""How the API shows a person."""

from rest_framework import serializers

from accounts.models import User
from accounts.selectors import person_name

VIEW_PEOPLE = "accounts.view_user"


class PersonOutput(serializers.Serializer):
    """A person as others see them: the name only if they chose to show it (accounts.selectors.
    person_name); the e-mail only for oneself and for those who manage people (admins, executives),
    never for another participant."""

    id = serializers.IntegerField()
    display_name = serializers.SerializerMethodField(
        help_text="The person's name; null unless they chose to show it (or it is you)."
    )
    email = serializers.SerializerMethodField()

    class Meta:
        ref_name = "Person"

    def get_display_name(self, user: User) -> str | None:
        request = self.context.get("request")
        return person_name(user, viewer=getattr(request, "user", None)) or None

    def get_email(self, user: User) -> str | None:
        request = self.context.get("request")
        viewer = getattr(request, "user", None)
        if viewer is not None and (viewer.pk == user.pk or viewer.has_perm(VIEW_PEOPLE)):
            return user.email
        return None
