"""The participant journey: join links and sign-in (urls_access), participant pages (urls_pages)."""

from django.urls import include, path

urlpatterns = [
    path("", include("participants.urls_access")),
    path("", include("participants.urls_pages")),
    path("", include("participants.urls_people")),
]
