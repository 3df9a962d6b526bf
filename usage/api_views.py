"""The platform API: thin views over usage.services and usage.selectors.

Every error answer has one shape, `{"errors": [{"index", "field", "message"}]}`;
`index` is the event's position in a usage batch and null elsewhere.
"""

from collections.abc import Mapping

from django.http import Http404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView, exception_handler

from ops.metrics import INGEST_EVENTS
from usage import events as ev
from usage.api_auth import ApiKeyAuthentication, ApiKeyRateThrottle, HasWorkspaceKey
from usage.pricing import NoPrice, NoPriceList
from usage.selectors import (
    ChannelNotFound,
    channel_resolve,
    message_authorize_at_rate,
    send_estimate,
    wallets_overview,
)
from usage.serializers import (
    AuthorizationSerializer,
    AuthorizeRequestSerializer,
    ErrorsSerializer,
    EstimateRequestSerializer,
    EstimateSerializer,
    UsageBatchSerializer,
    UsageResultSerializer,
    WalletSerializer,
)
from usage.services import UsageBatchInvalid, usage_ingest


def _errors(errors: list[ev.ApiError], status_code: int) -> Response:
    return Response({"errors": [error.as_dict() for error in errors]}, status=status_code)


# The field each framework-level error is about, so every 4xx names one.
FRAMEWORK_ERROR_FIELDS = {
    exceptions.ParseError: "body",
    exceptions.UnsupportedMediaType: "Content-Type",
    exceptions.NotAuthenticated: "Authorization",
    exceptions.AuthenticationFailed: "Authorization",
    exceptions.PermissionDenied: "Authorization",
}


def api_exception_handler(exc: Exception, context: dict) -> Response | None:
    """DRF's handler, re-shaped into the API's one error shape."""
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    response = exception_handler(exc, context)
    if response is None:
        return None
    field = next((name for kind, name in FRAMEWORK_ERROR_FIELDS.items() if isinstance(exc, kind)), None)
    detail = response.data.get("detail", exc) if isinstance(response.data, dict) else exc
    response.data = {"errors": [{"index": None, "field": field, "message": str(detail)}]}
    return response


ERROR_RESPONSES = {
    400: OpenApiResponse(ErrorsSerializer, description="Invalid request; each error names its field"),
    401: OpenApiResponse(ErrorsSerializer, description="Missing, unknown or revoked API key"),
    429: OpenApiResponse(ErrorsSerializer, description="Too many requests for this key"),
}
CHANNEL_NOT_FOUND = {404: OpenApiResponse(ErrorsSerializer, description="No such channel in this workspace")}


class _Invalid(Exception):
    """Several bad fields of one request, answered together."""

    def __init__(self, errors: list[ev.ApiError]) -> None:
        self.errors = errors


def _clean_all(raw: Mapping, cleaners: dict) -> dict:
    """Run every cleaner and report every failing field at once."""
    values, errors = {}, []
    for name, clean in cleaners.items():
        try:
            values[name] = clean(raw)
        except ev.FieldError as error:
            errors.append(ev.ApiError(None, error.field, error.message))
    if errors:
        raise _Invalid(errors)
    return values


class ApiView(APIView):
    """A workspace key is required; request.auth is the ApiKey, request.auth.workspace its scope."""

    authentication_classes = [ApiKeyAuthentication]
    permission_classes = [HasWorkspaceKey]
    throttle_classes = [ApiKeyRateThrottle]

    def get_exception_handler(self):
        return api_exception_handler

    def handle_exception(self, exc: Exception) -> Response:
        if isinstance(exc, _Invalid):
            return _errors(exc.errors, status.HTTP_400_BAD_REQUEST)
        if isinstance(exc, ev.FieldError):
            # Another workspace's channel is answered exactly like an unknown one: 404.
            code = status.HTTP_404_NOT_FOUND if isinstance(exc, ChannelNotFound) else status.HTTP_400_BAD_REQUEST
            return _errors([ev.ApiError(None, exc.field, exc.message)], code)
        return super().handle_exception(exc)


class UsageView(ApiView):
    throttle_scope = "usage"

    @extend_schema(
        request=UsageBatchSerializer,
        responses={200: UsageResultSerializer, **ERROR_RESPONSES},
        summary="Report a batch of up to 1,000 messages; each is charged once by its id",
    )
    def post(self, request: Request) -> Response:
        raw = ev.require_object(request.data, field="body")
        try:
            result = usage_ingest(workspace=request.auth.workspace, events=raw.get("events"))
        except UsageBatchInvalid as invalid:
            return _errors(invalid.errors, status.HTTP_400_BAD_REQUEST)
        INGEST_EVENTS.labels("accepted").inc(result.accepted)
        INGEST_EVENTS.labels("duplicate").inc(result.duplicates)
        return Response(UsageResultSerializer(result).data)


class AuthorizeView(ApiView):
    throttle_scope = "authorize"

    @extend_schema(
        request=AuthorizeRequestSerializer,
        responses={200: AuthorizationSerializer, **ERROR_RESPONSES, **CHANNEL_NOT_FOUND},
        summary="May this channel send or receive this kind of message now?",
    )
    def post(self, request: Request) -> Response:
        raw = ev.require_object(request.data, field="body")
        fields = _clean_all(
            raw,
            {
                "channel": lambda r: ev.clean_channel_ref(r.get("channel")),
                "direction": lambda r: ev.clean_direction(r.get("direction")),
                "type": lambda r: ev.clean_type(r.get("type")),
            },
        )
        try:
            answer = message_authorize_at_rate(
                workspace=request.auth.workspace,
                ref=fields["channel"],
                direction=fields["direction"],
                message_type=fields["type"],
                # Read (and checked) only when the price list wants WhatsApp sends covered.
                pricing_fields={name: raw.get(name) for name in ("category", "country", "pricing_type")},
            )
        except NoPrice as error:
            raise ev.FieldError(error.field, str(error)) from None
        return Response(AuthorizationSerializer(answer).data)


class EstimateView(ApiView):
    throttle_scope = "estimate"

    @extend_schema(
        request=EstimateRequestSerializer,
        responses={200: EstimateSerializer, **ERROR_RESPONSES, **CHANNEL_NOT_FOUND},
        summary="What would sending one message to N recipients cost now, and does the balance cover it?",
    )
    def post(self, request: Request) -> Response:
        raw = ev.require_object(request.data, field="body")
        message_type = _clean_all(raw, {"type": lambda r: ev.clean_type(r.get("type"))})["type"]
        fields = _clean_all(
            raw,
            {
                "channel": lambda r: ev.clean_channel_ref(r.get("channel")),
                "category": lambda r: ev.clean_category(r.get("category"), message_type=message_type),
                "pricing_type": lambda r: (
                    ev.clean_whatsapp_pricing(
                        {"category": r.get("category"), "pricing_type": r.get("pricing_type")},
                        message_type=message_type,
                    ).pricing_type
                ),
                "direction": lambda r: ev.clean_direction(r.get("direction") or "outbound"),
                "country": lambda r: ev.clean_country(r.get("country")),
                "segments": lambda r: ev.message_segments(r, message_type=message_type),
                "recipients": lambda r: ev.clean_recipients(r.get("recipients")),
            },
        )
        ref = channel_resolve(workspace=request.auth.workspace, ref=fields.pop("channel"))
        ev.type_fits_channel(message_type=message_type, channel=ref.channel)
        try:
            estimate = send_estimate(ref=ref, message_type=message_type, **fields)
        except NoPriceList as error:
            raise ev.FieldError(None, str(error)) from None
        except NoPrice as error:
            raise ev.FieldError(error.field, str(error)) from None
        quote = estimate.quote
        return Response(
            EstimateSerializer(
                {
                    "unit_price": quote.unit_price,
                    "segments": quote.segments,
                    "cost_per_message": quote.cost,
                    "carrier_fee_per_message": quote.carrier_fee,
                    "total_per_message": quote.total,
                    "recipients": estimate.recipients,
                    "total": estimate.total,
                    "balance": estimate.balance,
                    "balance_after": estimate.balance_after,
                    "covered": estimate.covered,
                    "pricing_model": quote.pricing_model,
                    "tier": estimate.parts[0].tier if estimate.parts else None,
                    "tiers": estimate.parts,
                }
            ).data
        )


class WalletsView(ApiView):
    throttle_scope = "wallets"

    @extend_schema(
        responses={200: WalletSerializer(many=True), 401: ERROR_RESPONSES[401], 429: ERROR_RESPONSES[429]},
        summary="Each wallet's balance, state and auto top-up setting",
    )
    def get(self, request: Request) -> Response:
        rows = [
            {
                "kind": overview.wallet.kind,
                "currency": overview.wallet.currency,
                "balance": overview.wallet.balance,
                "state": overview.status.state,
                "auto_top_up": overview.auto_top_up,
            }
            for overview in wallets_overview(workspace=request.auth.workspace)
        ]
        return Response(WalletSerializer(rows, many=True).data)
