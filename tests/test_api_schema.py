"""The OpenAPI document at /api/schema/ is valid, complete and true: a client built from it at test time
calls every operation, and every request it sends and every answer it gets match the document."""

import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.contrib.staticfiles import finders
from django.core.management import call_command
from django.test import Client
from django.utils import timezone
from openapi_core import OpenAPI
from openapi_core.testing import MockRequest, MockResponse

from accounts.models import ApiToken, User
from accounts.roles import ORG_ADMIN, PARTICIPANT
from accounts.tokens import api_token_create, api_token_hash
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

HOST = f"alpha.{settings.BASE_DOMAIN}"


def test_the_schema_command_validates_the_document_with_no_warning(tmp_path: Path):
    # --fail-on-warn turns any warning (an unresolvable type, an enum clash, ...) into a failure
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yml"))

    assert (tmp_path / "schema.yml").read_text().startswith("openapi: 3.1")


def test_the_served_schema_is_a_valid_openapi_3_document(in_org_a):
    response = Client(HTTP_HOST=HOST).get("/api/schema/", {"format": "json"})

    assert response.status_code == 200
    spec = json.loads(response.content)
    OpenAPI.from_dict(spec)  # validates the document against the OpenAPI specification first
    assert spec["openapi"].startswith("3.1")
    assert "/api/v1/challenges/{challenge_id}/publish/" in spec["paths"]
    assert spec["components"]["securitySchemes"]["tokenAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "description": "An API token created by an organisation admin (`Token <secret>` works too).",
    }


def test_the_docs_page_renders_with_its_own_assets_and_no_external_url(in_org_a):
    client = Client(HTTP_HOST=HOST)

    response = client.get("/api/docs/")

    assert response.status_code == 200
    page = response.content.decode()
    assets = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert any("swagger-ui-bundle.js" in asset for asset in assets)
    assert not re.search(r"https?://", page), "the docs page loads something from outside"
    for asset in assets:
        # shipped by drf-spectacular-sidecar: collectstatic puts it in STATIC_ROOT, served by WhiteNoise
        assert asset.startswith(f"/{settings.STATIC_URL.strip('/')}/drf_spectacular_sidecar/"), asset
        assert finders.find(asset.split("/", 2)[2]), asset


class SchemaClient:
    """A client built from the OpenAPI document alone: operations by operationId, URLs from the path
    templates, bodies as JSON. Each request and each answer is checked against the document."""

    def __init__(self, spec: dict[str, Any], secret: str) -> None:
        self.openapi = OpenAPI.from_dict(spec)
        self.operations = {
            operation["operationId"]: (template, method)
            for template, item in spec["paths"].items()
            for method, operation in item.items()
            if template.startswith("/api/v1/")
        }
        self.called: set[str] = set()
        self.client = Client(HTTP_HOST=HOST, HTTP_AUTHORIZATION=f"Bearer {secret}")
        self.secret = secret

    @staticmethod
    def _body(response: Any, content_type: str) -> str | bytes:
        """The answer as the document describes it: text (JSON, CSV) as a string, a PDF as bytes."""
        content = b"".join(response.streaming_content) if response.streaming else response.content
        if content_type.startswith(("application/json", "text/")):
            return content.decode("utf-8-sig")
        return content

    def call(
        self,
        operation_id: str,
        *,
        expect: int,
        path: dict[str, Any] | None = None,
        query: dict[str, Any] | None = None,
        body: dict[str, Any] | None = None,
    ) -> Any:
        template, method = self.operations[operation_id]
        path_args = {name: str(value) for name, value in (path or {}).items()}
        url = template.format(**path_args)
        query_args = {name: str(value) for name, value in (query or {}).items()}
        data = json.dumps(body).encode() if body is not None else b""
        request = MockRequest(
            f"http://{HOST}",
            method,
            url,
            path_pattern=template,
            args=query_args,
            view_args=path_args,
            headers={"Authorization": f"Bearer {self.secret}"},
            data=data,
        )
        self.openapi.validate_request(request)

        if method == "get":
            response = self.client.get(url, query_args)
        else:
            response = getattr(self.client, method)(url, data, content_type="application/json")

        assert response.status_code == expect, (operation_id, response.content)
        content_type = response.get("Content-Type", "application/json")
        answer = self._body(response, content_type)  # a file's answer can be read once
        # A binary answer (a PDF) is a `string` of `format: binary` to the validator: its octets as one.
        checked = answer.decode("latin-1") if isinstance(answer, bytes) else answer
        self.openapi.validate_response(
            request,
            MockResponse(checked, response.status_code, content_type=content_type),  # type: ignore[arg-type]
        )
        self.called.add(operation_id)
        if not answer:
            return None
        return json.loads(answer) if "json" in content_type else answer


def _participant_token(participant: User) -> str:
    """Tokens are made by admins for themselves; a participant's one is made here by hand."""
    secret = "cra_participant-secret-for-tests"
    ApiToken.objects.create(
        name="p",
        prefix=secret[:12],
        key_hash=api_token_hash(secret),
        user=participant,
        created_by=participant,
        scope=ApiToken.Scope.WRITE,
        expires_at=timezone.now() + dt.timedelta(days=1),
    )
    return secret


def test_a_client_built_from_the_schema_calls_every_operation(in_org_a, django_capture_on_commit_callbacks):
    # given the served document, and an admin's token
    spec = json.loads(Client(HTTP_HOST=HOST).get("/api/schema/", {"format": "json"}).content)
    admin = UserFactory.create(email="schema.admin@alpha.test", role=ORG_ADMIN)
    participant = UserFactory.create(email="schema.pat@alpha.test", role=PARTICIPANT)
    _, secret = api_token_create(actor=admin, name="Generated client", scope=ApiToken.Scope.WRITE)
    api = SchemaClient(spec, secret)
    as_participant = SchemaClient(spec, _participant_token(participant))
    now = timezone.now()
    window = {
        "starts_at": (now - dt.timedelta(hours=2)).isoformat(),
        "deadline": (now + dt.timedelta(days=9)).isoformat(),
    }

    # when it goes through every operation, the happy path and the refusals
    metrics = api.call("metric_list", expect=200)
    km = next(m for m in metrics["results"] if m["key"] == "km-cycled")
    api.call("impact_factor_list", expect=200, query={"page_size": 5})
    api.call(
        "metric_create",
        expect=201,
        body={"name_en": "Stairs climbed", "unit_en": "floors", "daily_cap": "40"},
    )
    team = api.call("team_create", expect=201, body={"name": "Generated", "captain": participant.pk})
    api.call("team_update", expect=200, path={"team_id": team["id"]}, body={"kind": "site"})
    api.call("team_retrieve", expect=200, path={"team_id": team["id"]})
    api.call("team_list", expect=200)
    as_participant.call("team_create", expect=403, body={"name": "Not mine to make"})

    # The console: the organisation, its people, the audit trail
    api.call("organization_retrieve", expect=200)
    api.call("organization_update", expect=200, body={"headcount": 1200, "brand_color": "#1F4E79"})
    api.call("organization_update", expect=400, body={"brand_color": "#FFFF00"})
    as_participant.call("organization_retrieve", expect=403)
    people = api.call("person_list", expect=200, query={"role": "participant"})
    person_id = people["results"][0]["id"]
    api.call("person_retrieve", expect=200, path={"person_id": person_id})
    console_team = api.call("team_create", expect=201, body={"name": "Console", "headcount": 40})
    api.call("person_update", expect=200, path={"person_id": person_id}, body={"team": console_team["id"]})
    api.call("person_update", expect=400, path={"person_id": person_id}, body={"team": 999_999_999})
    api.call("audit_list", expect=200, query={"kind": "team_created"})

    # The impact figures, their CSV, and the PDF reports made in the background
    end = timezone.localdate()
    period = {"start": (end - dt.timedelta(days=30)).isoformat(), "end": end.isoformat()}
    impact = api.call("impact_retrieve", expect=200, query=period)
    api.call("impact_retrieve", expect=400, query={"start": period["end"], "end": period["start"]})
    assert "participants" in api.call("impact_export", expect=200, query=period)
    as_participant.call("impact_retrieve", expect=403, query=period)
    api.call(
        "report_create", expect=400, body={"start": period["end"], "end": period["start"], "language": "en"}
    )
    with django_capture_on_commit_callbacks(execute=True):
        report = api.call("report_create", expect=202, body={**period, "language": "en"})
    assert api.call("report_list", expect=200)["results"][0]["id"] == report["id"]
    assert api.call("report_retrieve", expect=200, path={"report_id": report["id"]})["status"] == "done"
    assert api.call("report_download", expect=200, path={"report_id": report["id"]}).startswith(b"%PDF-")
    api.call("report_share", expect=201, path={"report_id": report["id"]}, body={"days": 7})
    as_participant.call("report_list", expect=403)

    pledge_goal = api.call(
        "challenge_create",
        expect=201,
        body={
            "title": "One organic product a week",
            "category": "consumption",
            "goal_kind": "participants",
            "goal_target": "1",
            "counterpart": {
                "description": "15 % organic food in the canteen",
                "due_date": (timezone.localdate() + dt.timedelta(days=60)).isoformat(),
            },
            **window,
        },
    )
    api.call(
        "challenge_update",
        expect=200,
        path={"challenge_id": pledge_goal["id"]},
        body={"action": "Buy organic"},
    )
    api.call(
        "challenge_create",
        expect=400,
        body={"title": "No goal", "category": "health", "goal_kind": "quantity", **window},
    )
    api.call("challenge_publish", expect=200, path={"challenge_id": pledge_goal["id"]})
    api.call("challenge_publish", expect=409, path={"challenge_id": pledge_goal["id"]})
    api.call("challenge_list", expect=200, query={"status": "open"})
    api.call("pledge_create", expect=201, path={"challenge_id": pledge_goal["id"]}, body={})
    api.call("pledge_withdraw", expect=409, path={"challenge_id": pledge_goal["id"]})
    api.call("pledge_confirm", expect=200, path={"challenge_id": pledge_goal["id"]})
    api.call(
        "counterpart_deliver",
        expect=200,
        path={"challenge_id": pledge_goal["id"]},
        body={"proof_text": "Menus"},
    )
    api.call("challenge_event_list", expect=200, path={"challenge_id": pledge_goal["id"]})
    api.call("pledge_list", expect=200, query={"challenge": pledge_goal["id"]})

    quantity_goal = api.call(
        "challenge_create",
        expect=201,
        body={
            "title": "10,000 km",
            "category": "environment",
            "goal_kind": "quantity",
            "goal_target": "10000",
            "metric": km["id"],
            **window,
        },
    )
    api.call("challenge_publish", expect=200, path={"challenge_id": quantity_goal["id"]})
    detail = api.call("challenge_retrieve", expect=200, path={"challenge_id": quantity_goal["id"]})
    today = timezone.localdate().isoformat()
    api.call(
        "contribution_create",
        expect=201,
        body={"challenge": quantity_goal["id"], "day": today, "amount": "12.5"},
    )
    api.call(
        "contribution_create",
        expect=400,
        body={"challenge": quantity_goal["id"], "day": today, "amount": "500"},
    )
    api.call("contribution_list", expect=200, query={"challenge": quantity_goal["id"]})
    api.call(
        "challenge_cancel",
        expect=200,
        path={"challenge_id": quantity_goal["id"]},
        body={"cause": "Test over"},
    )
    api.call("challenge_retrieve", expect=404, path={"challenge_id": quantity_goal["id"] + 1000})
    api.call("team_delete", expect=204, path={"team_id": team["id"]})

    listed = api.call("api_token_list", expect=200)
    # A token cannot mint or revoke tokens: only an admin signed in to the site can.
    api.call("api_token_create", expect=403, body={"name": "Second"})
    api.call("api_token_revoke", expect=403, path={"token_id": listed["results"][0]["id"]})

    # then every operation of the document was called, and each answer matched it
    assert api.called | as_participant.called == set(api.operations)
    assert detail["forecast"] is not None
    assert impact["participants"] >= 0
    assert listed["count"] == 2  # the admin's and the participant's
