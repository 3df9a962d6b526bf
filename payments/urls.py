from django.urls import path

from payments import views

app_name = "payments"

workspace = "w/<slug:workspace_slug>/payments/"
urlpatterns = [
    path("payments/stripe/webhook/", views.stripe_webhook, name="stripe_webhook"),
    path(workspace + "<wallet_kind:kind>/top-up/", views.topup_start, name="topup_start"),
    path(workspace + "<wallet_kind:kind>/auto-top-up/", views.auto_top_up_save, name="auto_top_up_save"),
    path(workspace + "top-ups/<int:topup_id>/success/", views.topup_success, name="topup_success"),
    path(workspace + "top-ups/<int:topup_id>/cancelled/", views.topup_cancelled, name="topup_cancelled"),
    path(workspace + "top-ups/<int:topup_id>/receipt.pdf", views.topup_receipt, name="topup_receipt"),
    path(workspace + "top-ups/<int:topup_id>/status.json", views.topup_status, name="topup_status"),
    path(workspace + "card/save/", views.card_save, name="card_save"),
    path(workspace + "card/saved/", views.card_saved, name="card_saved"),
    path(workspace + "card/remove/", views.card_remove, name="card_remove"),
]
