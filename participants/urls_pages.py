"""Participant pages (participants/views_pages.py). The home page "/" is routed in accounts/urls.py."""

from django.urls import URLPattern, path

import core.urls  # noqa: F401 - registers the <id:…> and <token:…> converters
from participants import views_pages as views

app_name = "participants"

CHALLENGE = "challenges/<id:pk>/"

urlpatterns: list[URLPattern] = [
    # Sign-in (participants/urls_access.py) comes back here: keep the name and the path.
    path(CHALLENGE, views.challenge_detail, name="challenge_detail"),
    path(CHALLENGE + "pledge/", views.challenge_pledge, name="challenge_pledge"),
    path(CHALLENGE + "offer/", views.challenge_offer, name="challenge_offer"),
    path(CHALLENGE + "withdraw/", views.challenge_withdraw, name="challenge_withdraw"),
    path(CHALLENGE + "contribute/", views.challenge_contribute, name="challenge_contribute"),
    path(CHALLENGE + "confirm/", views.challenge_confirm, name="challenge_confirm"),
    path("me/", views.my_activity, name="my_activity"),
    path("me/team/", views.my_team, name="my_team"),
    path("me/privacy/", views.my_privacy, name="my_privacy"),
    path("me/data/", views.my_data, name="my_data"),
    path("me/data/export.json", views.my_data_export, name="my_data_export"),
    path("me/data/erase/", views.my_data_erase, name="my_data_erase"),
    path("teams/", views.team_leaderboard, name="team_leaderboard"),
    path("teams/<id:pk>/", views.team_detail, name="team_detail"),
    path("embed/challenges/<id:pk>/", views.embed_challenge, name="embed_challenge"),
]
