from django.urls import path

from alerts import views

app_name = "alerts"

workspace = "w/<slug:workspace_slug>/settings/"
webhook = workspace + "webhooks/<int:endpoint_id>/"
urlpatterns = [
    path(workspace + "billing/<str:kind>/live.json", views.wallet_live, name="wallet_live"),
    path(workspace + "billing/<str:kind>/alerts/", views.alert_rule_add, name="rule_add"),
    path(workspace + "billing/<str:kind>/alerts/<int:rule_id>/remove/", views.alert_rule_remove, name="rule_remove"),
    path(workspace + "notifications/", views.notifications, name="notifications"),
    path(workspace + "notifications/recipients/", views.recipient_add, name="recipient_add"),
    path(
        workspace + "notifications/recipients/<int:recipient_id>/remove/",
        views.recipient_remove,
        name="recipient_remove",
    ),
    path(workspace + "webhooks/", views.endpoints, name="webhooks"),
    path(webhook, views.endpoint_detail, name="webhook_detail"),
    path(webhook + "enable/", views.endpoint_enable, name="webhook_enable"),
    path(webhook + "delete/", views.endpoint_delete, name="webhook_delete"),
    path(webhook + "test/", views.endpoint_test, name="webhook_test"),
    path(webhook + "deliveries/<int:delivery_id>/resend/", views.delivery_resend, name="delivery_resend"),
]
