from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from usage.models import Channel
from wallets.permissions import workspace_view
from wallets.selectors import ledger_for_wallet, memberships_for_user, wallet_status, workspace_wallets


@login_required
def home(request: HttpRequest) -> HttpResponse:
    membership = memberships_for_user(user=request.user).first()
    if membership is None:
        return render(request, "wallets/no_workspace.html", status=200)
    return redirect("workspace_home", workspace_slug=membership.workspace.slug)


@workspace_view()
def workspace_home(request: HttpRequest) -> HttpResponse:
    channels = Channel.objects.filter(workspace=request.workspace).prefetch_related("numbers")
    return render(request, "wallets/workspace_home.html", {"channels": channels, "nav": "home"})


@workspace_view()
def channels(request: HttpRequest) -> HttpResponse:
    channel_list = Channel.objects.filter(workspace=request.workspace).prefetch_related("numbers")
    return render(request, "wallets/channels.html", {"channels": channel_list, "nav": "channels"})


@workspace_view(billing=True)
def billing_overview(request: HttpRequest) -> HttpResponse:
    wallets = workspace_wallets(workspace=request.workspace)
    cards = [
        {
            "wallet": wallet,
            "status": wallet_status(kind=wallet.kind, balance=wallet.balance),
            "recent": ledger_for_wallet(wallet=wallet)[:10],
        }
        for wallet in sorted(wallets.values(), key=lambda w: w.kind != "sms")
    ]
    return render(request, "wallets/billing_overview.html", {"cards": cards, "nav": "billing"})
