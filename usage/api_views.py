"""The platform API: thin views over usage.services and usage.selectors.

Every error answer has one shape, `{"errors": [{"index", "field", "message"}]}`;
`index` is the event's position in a usage batch and null elsewhere.
"""

import logging

import redis
from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.db import InterfaceError, OperationalError
from django.http import Http404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions, serializers, status
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

logger = logging.getLogger(__name__)


def _errors(errors: list[ev.ApiError], status_code: int) -> Response:
    return Response({"errors": [error.as_dict() for error in errors]}, status=status_code)


class BodyTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "body_too_large"

    def __init__(self) -> None:
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        super().__init__(f"The request body is larger than {limit:,} bytes, the most accepted.")


# How long a client should wait after a 503: the time a database or Redis failover takes.
OUTAGE_RETRY_AFTER_SECONDS = 5


class ServiceUnavailable(exceptions.APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = "The service is briefly unavailable; nothing was recorded or charged. Retry shortly."
    default_code = "service_unavailable"
    wait = OUTAGE_RETRY_AFTER_SECONDS  # sent as Retry-After by DRF's handler


# A database or Redis that cannot be reached: the request did nothing (its transaction, if
# any, rolled back), so the client may retry it as it is.
OUTAGES = (OperationalError, InterfaceError, redis.RedisError)


# The field each framework-level error is about, so every 4xx names one.
FRAMEWORK_ERROR_FIELDS = {
    exceptions.ParseError: "body",
    BodyTooLarge: "body",
    exceptions.UnsupportedMediaType: "Content-Type",
    exceptions.NotAuthenticated: "Authorization",
    exceptions.AuthenticationFailed: "Authorization",
    exceptions.PermissionDenied: "Authorization",
}


def api_exception_handler(exc: Exception, context: dict) -> Response | None:
    """DRF's handler, re-shaped into the API's one error shape."""
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    if isinstance(exc, RequestDataTooBig):
        exc = BodyTooLarge()
    if isinstance(exc, OUTAGES):
        logger.error("API call refused: a backing service is down", exc_info=exc)
        exc = ServiceUnavailable()
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
    503: OpenApiResponse(
        ErrorsSerializer, description="Database or Redis briefly unreachable; nothing was done. Retry after Retry-After"
    ),
}
# What only a request with a body can be told.
BODY_ERROR_RESPONSES = {
    **ERROR_RESPONSES,
    413: OpenApiResponse(ErrorsSerializer, description="The body is larger than the limit"),
    415: OpenApiResponse(ErrorsSerializer, description="The body is not sent as application/json"),
}
CHANNEL_NOT_FOUND = {404: OpenApiResponse(ErrorsSerializer, description="No such channel in this workspace")}


class _Invalid(Exception):
    """Several bad fields of one request, answered together."""

    def __init__(self, errors: list[ev.ApiError]) -> None:
        self.errors = errors


def _validated(serializer_class: type[serializers.Serializer], raw: object) -> dict:
    """The request checked by the serializer that documents it; every bad field at once,
    each with the first thing wrong with it."""
    serializer = serializer_class(data=raw)
    if not serializer.is_valid():
        raise _Invalid([ev.ApiError(None, field, str(errors[0])) for field, errors in _flat(serializer.errors)])
    return dict(serializer.validated_data)


def _flat(errors: dict) -> list[tuple[str | None, list]]:
    return [(None if field == "non_field_errors" else field, found) for field, found in errors.items()]


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
        responses={200: UsageResultSerializer, **BODY_ERROR_RESPONSES},
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
        responses={200: AuthorizationSerializer, **BODY_ERROR_RESPONSES, **CHANNEL_NOT_FOUND},
        summary="May this channel send or receive this kind of message now?",
    )
    def post(self, request: Request) -> Response:
        fields = _validated(AuthorizeRequestSerializer, ev.require_object(request.data, field="body"))
        answer = message_authorize_at_rate(
            workspace=request.auth.workspace,
            ref=fields["channel"],
            direction=fields["direction"],
            message_type=fields["type"],
        )
        return Response(AuthorizationSerializer(answer).data)


class EstimateView(ApiView):
    throttle_scope = "estimate"

    @extend_schema(
        request=EstimateRequestSerializer,
        responses={200: EstimateSerializer, **BODY_ERROR_RESPONSES, **CHANNEL_NOT_FOUND},
        summary="What would sending one message to N recipients cost now, and does the balance cover it?",
    )
    def post(self, request: Request) -> Response:
        valid = _validated(EstimateRequestSerializer, ev.require_object(request.data, field="body"))
        message_type = valid["type"]
        fields = {  # with the rules across fields, as the usage batch applies them
            "channel": valid["channel"],
            "category": ev.clean_category(valid.get("category"), message_type=message_type),
            "direction": valid["direction"],
            "country": valid["country"].upper(),
            "segments": ev.message_segments(valid, message_type=message_type),
            "recipients": valid["recipients"],
        }
        ref = channel_resolve(workspace=request.auth.workspace, ref=fields.pop("channel"))
        ev.type_fits_channel(message_type=message_type, channel=ref.channel)
        try:
            estimate = send_estimate(ref=ref, message_type=message_type, **fields)
        except NoPriceList as error:
            raise ev.FieldError(None, str(error)) from None
        except NoPrice as error:
            raise ev.FieldError("country", str(error)) from None
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
                }
            ).data
        )


class WalletsView(ApiView):
    throttle_scope = "wallets"

    @extend_schema(
        responses={
            200: WalletSerializer(many=True),
            **{code: ERROR_RESPONSES[code] for code in (401, 429, 503)},
        },
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
