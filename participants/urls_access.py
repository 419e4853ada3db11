"""Coming in: join links, one-time sign-in links, and the admins' join-link pages."""

from django.urls import URLPattern, path

import core.urls  # noqa: F401 - registers the <id:…> and <token:…> converters
from participants import views_access as views

app_name = "access"

urlpatterns: list[URLPattern] = [
    path("join/<token:token>/", views.join, name="join"),
    path("join/<token:token>/sent/", views.join_sent, name="join_sent"),
    path("account/email-link/", views.email_link, name="email_link"),
    path("account/email-link/sent/", views.email_link_sent, name="email_link_sent"),
    path("account/sign-in/<token:secret>/", views.sign_in, name="sign_in"),
    path("manage/join-links/", views.manage_join_link_list, name="join_link_list"),
    path("manage/join-links/new/", views.manage_join_link_create, name="join_link_create"),
    path("manage/join-links/<id:pk>/revoke/", views.manage_join_link_revoke, name="join_link_revoke"),
    path("manage/challenges/<id:pk>/widget/", views.manage_widget, name="widget"),
]
