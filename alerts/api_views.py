"""Events and webhook endpoints in the platform API: thin views over alerts.selectors/webhooks."""

from django.http import Http404
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from alerts import webhooks
from alerts.models import WebhookEndpoint
from alerts.selectors import event_payload, events_after, webhook_endpoints
from alerts.serializers import (
    EventPageSerializer,
    EventsQuerySerializer,
    WebhookEndpointCreatedSerializer,
    WebhookEndpointSerializer,
)
from usage import events as ev
from usage.api_views import ERROR_RESPONSES, ApiView
from usage.serializers import ErrorsSerializer

NOT_FOUND = {404: OpenApiResponse(ErrorsSerializer, description="No such endpoint in this workspace")}


def _first_message(errors: object) -> str:
    """DRF nests a list field's errors by position; the first message, wherever it is."""
    while isinstance(errors, dict | list):
        errors = next(iter(errors.values())) if isinstance(errors, dict) else errors[0]
    return str(errors)


def _valid(serializer: serializers.Serializer) -> dict:
    """The serializer's data, or its first complaint in the API's one error shape (400)."""
    if not serializer.is_valid():
        field, errors = next(iter(serializer.errors.items()))
        raise ev.FieldError(field, _first_message(errors))
    return serializer.validated_data


class EventsView(ApiView):
    throttle_scope = "events"

    @extend_schema(
        parameters=[EventsQuerySerializer],
        responses={200: EventPageSerializer, **ERROR_RESPONSES},
        summary="The workspace's events after an id, oldest first (the same events the webhooks carry)",
        description=(
            "Poll with `after` set to the `next_after` of the previous answer: no event is skipped or "
            "repeated, even while new ones are being recorded. Each item is exactly the JSON body a "
            "webhook delivery of that event POSTs (see `x-webhooks`)."
        ),
    )
    def get(self, request: Request) -> Response:
        query = _valid(EventsQuerySerializer(data=request.query_params))
        workspace = request.auth.workspace
        page = events_after(workspace=workspace, after=query["after"], limit=query["limit"])
        items = [event_payload(event=event, workspace_slug=workspace.slug) for event in page.events]
        next_after = items[-1]["id"] if items else query["after"]
        return Response({"data": items, "has_more": page.has_more, "next_after": next_after})


class WebhookEndpointsView(ApiView):
    throttle_scope = "webhook_endpoints"

    @extend_schema(
        responses={200: WebhookEndpointSerializer(many=True), 401: ERROR_RESPONSES[401], 429: ERROR_RESPONSES[429]},
        summary="The workspace's webhook endpoints (secrets are not shown again)",
    )
    def get(self, request: Request) -> Response:
        return Response(WebhookEndpointSerializer(webhook_endpoints(workspace=request.auth.workspace), many=True).data)

    @extend_schema(
        request=WebhookEndpointSerializer,
        responses={201: WebhookEndpointCreatedSerializer, **ERROR_RESPONSES},
        summary="Register an endpoint; the answer carries its signing secret, once",
    )
    def post(self, request: Request) -> Response:
        fields = _valid(WebhookEndpointSerializer(data=request.data))
        try:
            endpoint = webhooks.webhook_endpoint_create(workspace=request.auth.workspace, **fields)
        except webhooks.EndpointInvalid as exc:
            raise ev.FieldError(exc.field, str(exc)) from None
        return Response(WebhookEndpointCreatedSerializer(endpoint).data, status=status.HTTP_201_CREATED)


class WebhookEndpointView(ApiView):
    throttle_scope = "webhook_endpoints"

    @extend_schema(
        parameters=[OpenApiParameter("endpoint_id", int, OpenApiParameter.PATH)],
        responses={204: None, 401: ERROR_RESPONSES[401], 429: ERROR_RESPONSES[429], **NOT_FOUND},
        summary="Delete an endpoint; nothing more is delivered to it",
    )
    def delete(self, request: Request, endpoint_id: str) -> Response:
        if not endpoint_id.isascii() or not endpoint_id.isdigit():
            raise Http404("No such endpoint.")
        endpoint = get_object_or_404(WebhookEndpoint, workspace=request.auth.workspace, pk=int(endpoint_id))
        webhooks.webhook_endpoint_delete(endpoint=endpoint)
        return Response(status=status.HTTP_204_NO_CONTENT)
