from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse_lazy


def home(request: HttpRequest) -> HttpResponse:
    return render(request, "accounts/home.html")


class PasswordSetView(auth_views.PasswordResetConfirmView):
    """The one-time link a new admin receives: set a password, then land signed in."""

    template_name = "accounts/password_set.html"
    post_reset_login = True
    success_url = reverse_lazy("home")
