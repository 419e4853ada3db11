from django.contrib.auth import views as auth_views
from django.urls import path

import core.urls  # noqa: F401 - registers the <id:…> and <token:…> converters
from accounts import views

urlpatterns = [
    path("account/invitation/<token:secret>/", views.invitation, name="invitation"),
    path("manage/audit/", views.audit, name="audit_list"),
    path("manage/audit/export.csv", views.audit_export, name="audit_export"),
    path("account/sign-in/", auth_views.LoginView.as_view(), name="login"),
    path("account/sign-out/", auth_views.LogoutView.as_view(), name="logout"),
    path(
        "account/set-password/<uidb64>/<token>/",
        views.PasswordSetView.as_view(),
        name="password_set",
    ),
]
