"""An organisation's site, plus the bare endpoint the pledge benchmark compares with.

POST /api/bench/insert/ goes through the same middleware (host routing), the same DRF
authentication and permission classes as POST /api/v1/challenges/<id>/pledge/, and does one INSERT.
"""

from django.urls import include, path
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from benchmarks.pledgebench.models import BareInsert
from challenges.api import PledgeCreateApi


class BareInsertApi(APIView):
    """One INSERT for the signed-in person; nothing else."""

    # The pledge endpoint's own classes (DRF's defaults for authentication: API token, then session).
    authentication_classes = PledgeCreateApi.authentication_classes
    permission_classes = PledgeCreateApi.permission_classes

    def post(self, request: Request) -> Response:
        row = BareInsert.objects.create(user_id=request.user.pk)
        return Response({"id": row.pk}, status=status.HTTP_201_CREATED)


urlpatterns = [
    path("api/bench/insert/", BareInsertApi.as_view(), name="bench_insert"),
    path("", include("config.urls_tenants")),
]
