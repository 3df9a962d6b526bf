"""Error pages (400, 403, 404, 500) that are not views' own answers. Under /api/ they are JSON
in the API's one error shape, so a client never has to read an HTML page; elsewhere they say
what happened and where to go next, in the app shell on workspace pages and in the admin's own
frame under /admin/."""

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

API_PREFIX = "/api/"

ERRORS = {
    400: ("Bad request", "The request could not be understood, so nothing was changed."),
    403: ("You don't have access to this page", "Your login does not have the permission this page needs."),
    404: ("Page not found", "There is no page at this address, or it belongs to a workspace you are not a member of."),
    500: (
        "Something went wrong on our side",
        "The error was logged and nothing was charged. Please try again in a minute.",
    ),
}
API_ERRORS = {
    400: ("The request could not be read.", "body"),
    403: ("This key may not do that.", None),
    404: ("No such endpoint.", None),
    500: ("Something went wrong on our side; nothing was recorded. Please retry.", None),
}


def _api_error(status: int) -> JsonResponse:
    message, field = API_ERRORS[status]
    return JsonResponse({"errors": [{"index": None, "field": field, "message": message}]}, status=status)


def _error_page(request: HttpRequest, status: int, detail: str = "") -> HttpResponse:
    if request.path.startswith(API_PREFIX):
        return _api_error(status)
    title, message = ERRORS[status]
    context = {"status": status, "title": title, "message": message, "detail": detail}
    if request.path.startswith("/admin/") and request.user.is_authenticated and request.user.is_staff:
        context.update(admin.site.each_context(request))
        return render(request, "admin/error.html", context, status=status)
    return render(request, "error.html", context, status=status)


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    return _error_page(request, 400)


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    # Our own PermissionDenied messages say which permission is missing; Django's are empty.
    detail = str(exception) if isinstance(exception, PermissionDenied) and exception.args else ""
    return _error_page(request, 403, detail)


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    return _error_page(request, 404)


def server_error(request: HttpRequest) -> HttpResponse:
    if request.path.startswith(API_PREFIX):
        return _api_error(500)
    # No context processors: whatever broke the request (the database, say) must not break this page.
    title, message = ERRORS[500]
    return render(None, "500.html", {"title": title, "message": message}, status=500)
