"""Every URL pattern of the project, read from the resolver, so a new page is walked by the
security tests without anyone remembering to add it."""

import re
from collections.abc import Iterator
from dataclasses import dataclass

from django.urls import URLPattern, URLResolver, get_resolver

PARAM = re.compile(r"<(?:(?P<converter>\w+):)?(?P<name>\w+)>")


@dataclass(frozen=True)
class Route:
    name: str  # namespaced, e.g. "payments:topup_start"
    template: str  # "w/<slug:workspace_slug>/payments/<str:kind>/top-up/"

    @property
    def params(self) -> list[str]:
        return [m["name"] for m in PARAM.finditer(self.template)]

    def url(self, **values: object) -> str:
        return "/" + PARAM.sub(lambda m: str(values[m["name"]]), self.template)


def project_routes(*, skip_namespaces: tuple[str, ...] = ("admin",)) -> Iterator[Route]:
    """Every named route outside the skipped namespaces (Django's admin has its own checks)."""

    def walk(patterns: list, prefix: str, namespace: str) -> Iterator[Route]:
        for entry in patterns:
            if isinstance(entry, URLResolver):
                if entry.namespace in skip_namespaces:
                    continue
                inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
                yield from walk(entry.url_patterns, prefix + str(entry.pattern), inner)
            elif isinstance(entry, URLPattern):
                yield Route(name=f"{namespace}{entry.name}", template=prefix + str(entry.pattern))

    yield from walk(get_resolver().url_patterns, "", "")
