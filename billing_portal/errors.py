"""Error pages that are not views' own answers: under /api/ they are JSON in the API's one
error shape, so a client never has to read an HTML page; elsewhere Django's own pages."""

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import defaults

API_PREFIX = "/api/"


def _api_error(status: int, message: str, field: str | None = None) -> JsonResponse:
    return JsonResponse({"errors": [{"index": None, "field": field, "message": message}]}, status=status)


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    if request.path.startswith(API_PREFIX):
        return _api_error(400, "The request could not be read.", "body")
    return defaults.bad_request(request, exception)


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    if request.path.startswith(API_PREFIX):
        return _api_error(404, "No such endpoint.")
    return defaults.page_not_found(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    if request.path.startswith(API_PREFIX):
        return _api_error(500, "Something went wrong on our side; nothing was recorded. Please retry.")
    return defaults.server_error(request)
