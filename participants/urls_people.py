"""The people console (participants/views_people.py)."""

from django.urls import URLPattern, path

import core.urls  # noqa: F401 - registers the <id:…> and <token:…> converters
from participants import views_people as views

app_name = "people"

urlpatterns: list[URLPattern] = [
    path("manage/people/", views.people, name="list"),
    path("manage/people/export.csv", views.people_export, name="export"),
    path("manage/people/invite/", views.person_invite, name="invite"),
    path("manage/people/import/", views.people_import, name="import"),
    path("manage/people/import/confirm/", views.people_import_confirm, name="import_confirm"),
    path("manage/people/<id:pk>/", views.person_detail, name="detail"),
    path("manage/people/<id:pk>/role/", views.person_role, name="role"),
    path("manage/people/<id:pk>/team/", views.person_team, name="team"),
    path("manage/people/<id:pk>/active/", views.person_active, name="active"),
    path("manage/people/<id:pk>/invitation/", views.person_invitation_resend, name="invitation"),
]
