"""Pages of the challenges app (HR / CSR manager pages)."""

from django.urls import URLPattern, path

import core.urls  # noqa: F401 - registers the <id:…> and <token:…> converters
from challenges import views

app_name = "challenges"

urlpatterns: list[URLPattern] = [
    path("manage/challenges/", views.manage_challenge_list, name="manage_list"),
    path("manage/challenges/new/", views.manage_challenge_create, name="manage_create"),
    path("manage/challenges/<id:pk>/", views.manage_challenge_dashboard, name="manage_dashboard"),
    path("manage/challenges/<id:pk>/history/", views.manage_challenge_history, name="manage_history"),
    path("manage/challenges/<id:pk>/edit/", views.manage_challenge_edit, name="manage_edit"),
    path("manage/challenges/<id:pk>/publish/", views.manage_challenge_publish, name="manage_publish"),
    path("manage/challenges/<id:pk>/cancel/", views.manage_challenge_cancel, name="manage_cancel"),
    path("manage/challenges/<id:pk>/deliver/", views.manage_counterpart_deliver, name="manage_deliver"),
    path("manage/teams/", views.manage_team_list, name="team_list"),
    path("manage/teams/new/", views.manage_team_create, name="team_create"),
    path("manage/teams/<id:pk>/edit/", views.manage_team_edit, name="team_edit"),
    path("manage/teams/<id:pk>/delete/", views.manage_team_delete, name="team_delete"),
]
