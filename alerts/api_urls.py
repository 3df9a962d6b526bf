from django.urls import path

from alerts import api_views

# <str:>, not <int:>: an id that is not a number is the API's JSON 404, not Django's HTML one.
urlpatterns = [
    path("v1/events", api_views.EventsView.as_view(), name="api_events"),
    path("v1/webhook_endpoints", api_views.WebhookEndpointsView.as_view(), name="api_webhook_endpoints"),
    path(
        "v1/webhook_endpoints/<str:endpoint_id>", api_views.WebhookEndpointView.as_view(), name="api_webhook_endpoint"
    ),
]
