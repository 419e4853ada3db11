from django.contrib.auth import views as auth_views
from django.urls import reverse_lazy


class PasswordSetView(auth_views.PasswordResetConfirmView):
    """The one-time link a new admin receives: set a password, then land signed in."""

    template_name = "accounts/password_set.html"
    post_reset_login = True
    post_reset_login_backend = "django.contrib.auth.backends.ModelBackend"
    success_url = reverse_lazy("home")
