from django.contrib.auth import views as auth_views
from django.urls import path

from portal import views

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("w/<slug:workspace_slug>/", views.workspace_home, name="workspace_home"),
    path("w/<slug:workspace_slug>/conversations/", views.conversations, name="conversations"),
    path("w/<slug:workspace_slug>/channels/", views.channels, name="channels"),
    path("w/<slug:workspace_slug>/channels/sms/", views.sms_channel, name="sms_channel"),
    path("w/<slug:workspace_slug>/settings/billing/", views.billing_overview, name="billing_overview"),
    path("w/<slug:workspace_slug>/settings/billing/wallet/", views.sms_wallet, name="sms_wallet"),
    path("w/<slug:workspace_slug>/settings/billing/whatsapp/", views.whatsapp_billing, name="whatsapp_billing"),
    path(
        "w/<slug:workspace_slug>/settings/billing/<wallet_kind:kind>/statements/<str:month>.<str:fmt>",
        views.statement_download,
        name="statement_download",
    ),
    path(
        "w/<slug:workspace_slug>/settings/billing/<wallet_kind:kind>/usage.csv",
        views.usage_export,
        name="usage_export",
    ),
]
