from datetime import datetime
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse

from common.replica import recent_reads
from common.views import workspace_view
from phone_numbers import defaults as number_defaults
from usage.charts import spend_chart
from usage.exports import usage_csv_filename, usage_csv_lines
from usage.models import Channel, PhoneNumber
from usage.selectors import (
    usage_by_category,
    usage_filters_parse,
    usage_summary,
    usage_table,
    wallet_channels,
    wallet_runway,
    wallet_totals,
)
from wallets import defaults as wallet_defaults
from wallets.models import Wallet
from wallets.selectors import auto_top_up_rule, ledger_for_wallet, memberships_for_user, wallet_status
from wallets.statements import (
    StatementError,
    statement_month_parse,
    statement_months,
    statement_response,
    wallet_statement,
)


@login_required
def home(request: HttpRequest) -> HttpResponse:
    membership = memberships_for_user(user=request.user).first()
    if membership is None:
        return render(request, "portal/no_workspace.html", status=200)
    return redirect("workspace_home", workspace_slug=membership.workspace.slug)


@workspace_view()
def workspace_home(request: HttpRequest) -> HttpResponse:
    channels = Channel.objects.filter(workspace=request.workspace).prefetch_related("numbers")
    return render(request, "portal/workspace_home.html", {"channels": channels, "nav": "home"})


@workspace_view()
def channels(request: HttpRequest) -> HttpResponse:
    channel_list = Channel.objects.filter(workspace=request.workspace).prefetch_related("numbers")
    return render(request, "portal/channels.html", {"channels": channel_list, "nav": "channels"})


@workspace_view(billing=True)
def billing_overview(request: HttpRequest) -> HttpResponse:
    wallets = request.wallets
    cards = [
        {
            "wallet": wallet,
            "status": wallet_status(kind=wallet.kind, balance=wallet.balance),
            "recent": ledger_for_wallet(wallet=wallet)[:10],
        }
        for wallet in sorted(wallets.values(), key=lambda w: w.kind != "sms")
    ]
    return render(request, "portal/billing_overview.html", {"cards": cards, "nav": "billing"})


def _wallet(request: HttpRequest, kind: str) -> Wallet:
    if kind not in request.wallets:
        raise Http404("No such wallet.")
    return request.wallets[kind]


def _usage_context(request: HttpRequest, wallet: Wallet, *, by_category: bool = False) -> dict:
    """Filters, summaries, chart and one table page: what both wallet pages show.

    Read from the replica when it may be (common.replica): a few seconds old at most, and
    said so ("usage as of") past a few seconds. The balance and banners are not read here."""

    def usage_reads(as_of: datetime | None) -> dict:
        filters = usage_filters_parse(wallet=wallet, params=request.GET)
        summary = usage_summary(wallet=wallet, filters=filters)
        table = usage_table(wallet=wallet, filters=filters, record_count=summary.messages)
        table.page.object_list = list(table.page.object_list)  # read here, not later by the template
        categories = usage_by_category(wallet=wallet, filters=filters) if by_category else None
        return {"filters": filters, "summary": summary, "table": table, "categories": categories, "as_of": as_of}

    reads = recent_reads(request).run(usage_reads)
    filters, summary, table = reads["filters"], reads["summary"], reads["table"]
    page = table.page

    def page_query(number: int) -> str:
        return urlencode(filters.query(page=number))

    return {
        "wallet": wallet,
        "status": wallet_status(kind=wallet.kind, balance=wallet.balance),
        "filters": filters,
        "filter_errors": [*filters.errors, *([table.error] if table.error else [])],
        "channels": wallet_channels(wallet=wallet),
        "summary": summary,
        "categories": reads["categories"],
        "usage_as_of": reads["as_of"],
        "chart": spend_chart(summary.days),
        "chart_narrow": spend_chart(summary.days, narrow=True),
        "records": page,
        "prev_query": page_query(page.previous_page_number()) if page.has_previous() else None,
        "next_query": page_query(page.next_page_number()) if page.has_next() else None,
        "export_url": f"{reverse('usage_export', args=[request.workspace.slug, wallet.kind])}?"
        f"{urlencode(filters.query())}",
        "statement_months": statement_months(wallet=wallet),
    }


@workspace_view(billing=True)
def sms_wallet(request: HttpRequest) -> HttpResponse:
    wallet = _wallet(request, Wallet.Kind.SMS)
    context = _usage_context(request, wallet)
    context |= {
        "runway": wallet_runway(wallet=wallet),
        "unpaid_cycles_before_release": number_defaults.UNPAID_CYCLES_BEFORE_RELEASE,
        "nav": "sms_wallet",
    }
    return render(request, "portal/sms_wallet.html", context)


@workspace_view(billing=True)
def whatsapp_billing(request: HttpRequest) -> HttpResponse:
    wallet = _wallet(request, Wallet.Kind.WHATSAPP)
    context = _usage_context(request, wallet, by_category=True)
    context |= {
        "totals": wallet_totals(wallet=wallet),
        "auto_top_up": auto_top_up_rule(wallet=wallet),
        "auto_top_up_thresholds": wallet_defaults.WHATSAPP_AUTO_TOP_UP_THRESHOLDS,
        "nav": "whatsapp_billing",
    }
    return render(request, "portal/whatsapp_billing.html", context)


@workspace_view(billing=True)
def usage_export(request: HttpRequest, kind: str) -> HttpResponse:
    """The filtered range as CSV, streamed; bad filters go back to the page, which explains them."""
    wallet = _wallet(request, kind)
    filters = usage_filters_parse(wallet=wallet, params=request.GET)
    if filters.errors:
        page = "sms_wallet" if kind == Wallet.Kind.SMS else "whatsapp_billing"
        return redirect(f"{reverse(page, args=[request.workspace.slug])}?{request.GET.urlencode()}")
    # Streamed: a range the database cannot hold was refused above, so what is left to fail is
    # the database itself, mid-file; the error then ends the connection without the final
    # chunk, so the download shows as failed instead of as a short, complete-looking file.
    # From the replica when it may be (common.replica), like the page the link is on.
    lines = recent_reads(request).stream(lambda: usage_csv_lines(wallet=wallet, filters=filters))
    response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{usage_csv_filename(wallet=wallet, filters=filters)}"'
    return response


@workspace_view(billing=True)
def statement_download(request: HttpRequest, kind: str, month: str, fmt: str) -> HttpResponse:
    """A month's statement of one wallet, as PDF or CSV."""
    wallet = _wallet(request, kind)
    if fmt not in ("pdf", "csv"):
        raise Http404("Statements are PDF or CSV.")
    try:
        statement = wallet_statement(wallet=wallet, month=statement_month_parse(month))
    except StatementError as exc:
        raise Http404(str(exc)) from exc
    return statement_response(statement, fmt)


@workspace_view()
def sms_channel(request: HttpRequest) -> HttpResponse:
    """Channels > SMS. "Manage wallet" appears for admins once the workspace holds a number."""
    sms_channels = list(
        Channel.objects.filter(workspace=request.workspace, kind=Channel.Kind.SMS).prefetch_related("numbers")
    )
    owns_number = any(
        number.status != PhoneNumber.Status.RELEASED for channel in sms_channels for number in channel.numbers.all()
    )
    return render(
        request, "portal/sms_channel.html", {"sms_channels": sms_channels, "owns_number": owns_number, "nav": "sms"}
    )


@workspace_view()
def conversations(request: HttpRequest) -> HttpResponse:
    """Stand-in for the platform's conversation view: shows where the paused-sending banner appears."""
    return render(request, "portal/conversations.html", {"nav": "conversations"})
