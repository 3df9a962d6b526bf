"""The API's request parser: DRF's JSONParser, with deeply nested JSON refused as a 400."""

from rest_framework import exceptions
from rest_framework.parsers import JSONParser


class StrictJSONParser(JSONParser):
    """DRF's parser turns a ValueError into a ParseError but lets the RecursionError of deeply
    nested arrays (`[[[[...]]]]`) escape as a 500. The body's size is bounded before this, by
    Django's DATA_UPLOAD_MAX_MEMORY_SIZE (answered 413 by usage.api_views)."""

    def parse(self, stream, media_type=None, parser_context=None) -> object:
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise exceptions.ParseError("The JSON is nested too deeply.") from None
