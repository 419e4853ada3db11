"""The impact figures in the API: /api/v1/impact/ (JSON) and /api/v1/impact/export.csv (the CSV of the
dashboard), and the PDF report jobs: /api/v1/reports/. Admins and executives only; the same
`impact_report` as the dashboard, so the same numbers.

`start` and `end` (YYYY-MM-DD, days in the organisation's time zone) name the period; neither: the last
full month. A bad period is a 400 with a message per field (reports.periods). Decimals are strings, as
everywhere in this API.
"""

from typing import Any

from django.http import HttpResponse
from django.http.response import HttpResponseBase
from django.urls import reverse
from django.utils import timezone, translation
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api import Conflict, Pagination, ReadsEverything, error_responses, paginated_response
from reports.exports import impact_csv, impact_csv_filename
from reports.http import report_file_response, share_url
from reports.models import Report
from reports.periods import period_from_query
from reports.selectors import ImpactReport, PeriodInfo, Totals, impact_report
from reports.services import SHARE_DAYS, report_download_record, report_request, report_share_create
from tenants.http import request_organization


class ImpactQuery(serializers.Serializer):
    start = serializers.DateField(
        required=False, help_text="First day of the period (YYYY-MM-DD), in the organisation's time zone."
    )
    end = serializers.DateField(
        required=False,
        help_text="Last day of the period (YYYY-MM-DD). A period not over yet stops today. Neither date: "
        "the last full month.",
    )


def _decimal(places: int = 2, **kwargs: Any) -> serializers.DecimalField:
    return serializers.DecimalField(max_digits=20, decimal_places=places, read_only=True, **kwargs)


class PeriodOutput(serializers.Serializer):
    start = serializers.DateField()
    end = serializers.DateField()
    kind = serializers.ChoiceField(choices=["month", "quarter", "year", "custom"])
    days = serializers.IntegerField()
    name = serializers.CharField(help_text="The period in words, in the language of the answer.")
    is_partial = serializers.BooleanField(help_text="Not over yet: the figures run to today.")

    class Meta:
        ref_name = "ImpactPeriod"


class QuantityOutput(serializers.Serializer):
    metric = serializers.CharField(help_text="The metric's key.")
    name = serializers.CharField()
    unit = serializers.CharField()
    quantity = _decimal()
    co2e_avoided_kg = _decimal(allow_null=True, help_text="Null: the metric has no sourced factor.")
    estimate = serializers.BooleanField(help_text="The metric's factor is an estimate (sources disagree).")

    class Meta:
        ref_name = "ImpactQuantity"


class ImpactFiguresOutput(serializers.Serializer):
    participants = serializers.IntegerField(help_text="People who pledged or contributed in the period.")
    new_participants = serializers.IntegerField(help_text="Of them, people acting for the first time ever.")
    headcount = serializers.IntegerField(allow_null=True)
    participation_rate = _decimal(1, allow_null=True, help_text="Percent of the headcount; null without one.")
    pledges = serializers.IntegerField()
    contributions = serializers.IntegerField()
    challenges_succeeded = serializers.IntegerField()
    challenges_open = serializers.IntegerField()
    challenges_failed = serializers.IntegerField()
    challenges_cancelled = serializers.IntegerField()
    skills_projects_launched = serializers.IntegerField()
    co2e_avoided_kg = _decimal(help_text="An estimate: quantities × (baseline − action factor).")
    co2e_avoided_estimates_kg = _decimal(help_text="The part from factors whose sources disagree.")
    volunteer_hours = _decimal()
    counterparts_delivered = serializers.IntegerField(help_text="Delivered during the period.")
    counterparts_due = serializers.IntegerField(help_text="Still due today, of the period's challenges.")
    quantities = QuantityOutput(many=True)

    class Meta:
        ref_name = "ImpactFigures"


class ImpactOutput(ImpactFiguresOutput):
    period = PeriodOutput()
    previous_period = PeriodOutput()
    previous = ImpactFiguresOutput(help_text="The same figures for the previous period of the same length.")

    class Meta:
        ref_name = "Impact"


def _period(period: PeriodInfo) -> dict[str, Any]:
    return {
        "start": period.start,
        "end": period.end,
        "kind": period.kind,
        "days": period.days,
        "name": period.label,
        "is_partial": period.is_partial,
    }


def _figures(totals: Totals, quantities: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "participants": totals.participants,
        "new_participants": totals.new_participants,
        "headcount": totals.headcount,
        "participation_rate": totals.participation_rate,
        "pledges": totals.pledges,
        "contributions": totals.contributions,
        "challenges_succeeded": totals.challenges.succeeded,
        "challenges_open": totals.challenges.open,
        "challenges_failed": totals.challenges.failed,
        "challenges_cancelled": totals.challenges.cancelled,
        "skills_projects_launched": totals.skills_projects_launched,
        "co2e_avoided_kg": totals.co2e_avoided_kg,
        "co2e_avoided_estimates_kg": totals.co2e_avoided_estimates_kg,
        "volunteer_hours": totals.volunteer_hours,
        "counterparts_delivered": totals.counterparts_delivered,
        "counterparts_due": totals.counterparts_due,
        "quantities": quantities,
    }


def impact_data(report: ImpactReport) -> dict[str, Any]:
    """The API's answer: the headline figures of the period, of the previous one, and both periods."""

    def quantities(previous: bool) -> list[dict[str, Any]]:
        return [
            {
                "metric": row.key,
                "name": row.name,
                "unit": row.unit,
                "quantity": row.previous_quantity if previous else row.quantity,
                "co2e_avoided_kg": row.previous_co2e_avoided_kg if previous else row.co2e_avoided_kg,
                "estimate": row.is_estimate,
            }
            for row in report.metrics
        ]

    return {
        **_figures(report.current, quantities(False)),
        "period": _period(report.period),
        "previous_period": _period(report.previous_period),
        "previous": _figures(report.previous, quantities(True)),
    }


def _report(request: Request) -> ImpactReport:
    today = timezone.localdate()
    params = request.query_params
    period = period_from_query(params.get("start"), params.get("end"), today=today)
    return impact_report(
        request_organization(request),
        period.start,
        period.asked_end,
        language=translation.get_language() or "en",
        today=today,
    )


class ImpactApi(APIView):
    permission_classes = [ReadsEverything]

    @extend_schema(
        operation_id="impact_retrieve",
        tags=["impact"],
        parameters=[ImpactQuery],
        responses={200: ImpactOutput, **error_responses(400)},
        description="The headline figures of a period and of the previous period of the same length, as "
        "the impact dashboard shows them. Admins and executives only.",
    )
    def get(self, request: Request) -> Response:
        return Response(ImpactOutput(impact_data(_report(request))).data)


class JSONErrorsNegotiation(BaseContentNegotiation):
    """The CSV is the answer whatever the Accept header; an error is JSON, as everywhere under /api/."""

    def select_parser(self, request: Request, parsers: Any) -> Any:
        return parsers[0] if parsers else None

    def select_renderer(self, request: Request, renderers: Any, format_suffix: str | None = None) -> Any:
        renderer = JSONRenderer()
        return renderer, renderer.media_type


class ImpactExportApi(APIView):
    permission_classes = [ReadsEverything]
    content_negotiation_class = JSONErrorsNegotiation

    @extend_schema(
        operation_id="impact_export",
        tags=["impact"],
        parameters=[ImpactQuery],
        responses={
            (200, "text/csv"): OpenApiResponse(
                response=OpenApiTypes.STR,
                description="The dashboard's figures and the rows behind them (teams, challenges, metrics, "
                "skills, counterparts, factors), in named blocks; UTF-8 with a byte-order mark, in the "
                "language of the answer (French: semicolons and decimal commas).",
            ),
            **error_responses(400),
        },
        description="The impact figures of a period as CSV. Admins and executives only.",
    )
    def get(self, request: Request) -> HttpResponse:
        report = _report(request)
        response = HttpResponse(impact_csv(report), content_type="text/csv; charset=utf-8")
        filename = impact_csv_filename(request_organization(request).schema_name, report)
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response


# Report jobs: /api/v1/reports/ ---------------------------------------------------------------------


class ReportInput(serializers.Serializer):
    start = serializers.DateField(help_text="First day of the period (YYYY-MM-DD).")
    end = serializers.DateField(help_text="Last day of the period (YYYY-MM-DD).")
    language = serializers.ChoiceField(choices=["en", "fr"], help_text="Language of the report.")


class ReportOutput(serializers.Serializer):
    id = serializers.IntegerField()
    start = serializers.DateField()
    end = serializers.DateField()
    language = serializers.CharField()
    origin = serializers.ChoiceField(choices=["requested", "monthly"])
    status = serializers.ChoiceField(choices=["queued", "running", "done", "failed"])
    progress = serializers.IntegerField(min_value=0, max_value=100, help_text="Percent done.")
    error = serializers.CharField(help_text="Why it failed; empty otherwise.")
    size = serializers.IntegerField(allow_null=True, help_text="The PDF's size in bytes, once done.")
    created_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)
    download_url = serializers.SerializerMethodField()

    class Meta:
        ref_name = "Report"

    def get_download_url(self, report: Report) -> str | None:
        if report.status != Report.Status.DONE:
            return None
        return str(reverse("v1:report-download", kwargs={"report_id": report.pk}))


class ShareInput(serializers.Serializer):
    days = serializers.IntegerField(
        required=False, default=SHARE_DAYS, min_value=1, max_value=365, help_text="Days the link works."
    )


class ShareOutput(serializers.Serializer):
    id = serializers.IntegerField()
    url = serializers.URLField(help_text="The public link, shown only now: only its hash is stored.")
    expires_at = serializers.DateTimeField()

    class Meta:
        ref_name = "ReportShare"


def _report_of(report_id: int) -> Report:
    report = Report.objects.filter(pk=report_id).first()
    if report is None:
        raise NotFound("No such report.")
    return report


class ReportListCreateApi(APIView):
    permission_classes = [ReadsEverything]
    pagination_class = Pagination

    @extend_schema(
        operation_id="report_list",
        tags=["reports"],
        responses={200: ReportOutput(many=True), **error_responses(400, 404)},
        description="The organisation's PDF reports, newest first. Admins and executives only.",
    )
    def get(self, request: Request) -> Response:
        return paginated_response(
            view=self, request=request, queryset=Report.objects.all(), serializer_class=ReportOutput
        )

    @extend_schema(
        operation_id="report_create",
        tags=["reports"],
        request=ReportInput,
        responses={202: ReportOutput, **error_responses(400)},
        description="Ask for the PDF report of a period in a language; it is made in the background "
        "(follow `status` and `progress`). A report already queued or being made for the same period "
        "and language is answered instead of a new one.",
    )
    def post(self, request: Request) -> Response:
        serializer = ReportInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        report, _ = report_request(request.user, data["start"], data["end"], data["language"])
        return Response(ReportOutput(report).data, status=status.HTTP_202_ACCEPTED)


class ReportDetailApi(APIView):
    permission_classes = [ReadsEverything]

    @extend_schema(
        operation_id="report_retrieve",
        tags=["reports"],
        responses={200: ReportOutput, **error_responses(404)},
        description="A report's state: `status` (queued, running, done, failed), `progress`, `error`.",
    )
    def get(self, request: Request, report_id: int) -> Response:
        return Response(ReportOutput(_report_of(report_id)).data)


class ReportDownloadApi(APIView):
    permission_classes = [ReadsEverything]
    content_negotiation_class = JSONErrorsNegotiation

    @extend_schema(
        operation_id="report_download",
        tags=["reports"],
        responses={
            (200, "application/pdf"): OpenApiResponse(
                response=OpenApiTypes.BINARY, description="The PDF (tagged, PDF/UA-1)."
            ),
            **error_responses(404, 409),
        },
        description="The report's PDF, once done; each download is recorded.",
    )
    def get(self, request: Request, report_id: int) -> HttpResponseBase:
        report = _report_of(report_id)
        if report.status != Report.Status.DONE:
            raise Conflict("This report is not ready yet.")
        response = report_file_response(report)
        report_download_record(report, user=request.user, via="api")
        return response


class ReportShareApi(APIView):
    permission_classes = [ReadsEverything]

    @extend_schema(
        operation_id="report_share",
        tags=["reports"],
        request=ShareInput,
        responses={201: ShareOutput, **error_responses(400, 404, 409)},
        description="A public link that downloads this done report without signing in, on the "
        "organisation's host, for `days` days (30 unless given); every use is counted.",
    )
    def post(self, request: Request, report_id: int) -> Response:
        report = _report_of(report_id)
        serializer = ShareInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        if report.status != Report.Status.DONE:
            raise Conflict("Only a report that is ready can be shared.")
        new = report_share_create(request.user, report, days=serializer.validated_data["days"])
        data = {"id": new.share.pk, "url": share_url(request, new.token), "expires_at": new.share.expires_at}
        return Response(ShareOutput(data).data, status=status.HTTP_201_CREATED)
