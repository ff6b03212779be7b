"""The API's limits and defaults, written once: the views enforce them, and the OpenAPI document
and the page (through `page_config`) read them from here."""

from __future__ import annotations

from finder.config import Settings
from finder.products import CATEGORICAL_FIELDS, LABEL_MAX_LENGTH, YEAR_RANGE, field_title
from finder.suggestions import MAX_PREFIX_LENGTH

DEFAULT_PER_PAGE = 24
MAX_PER_PAGE = 100
MAX_BROWSE_DEPTH = 1_000_000  # RediSearch's MAXSEARCHRESULTS: no page may end beyond it
DEFAULT_K = 12
MAX_K = 100
MAX_QUERY_LENGTH = 500
MAX_VALUES_PER_FILTER = 50
MAX_FILTER_VALUE_LENGTH = LABEL_MAX_LENGTH  # no stored value is longer
FILTER_YEAR_RANGE = YEAR_RANGE  # no stored product is from another year
DEFAULT_SUGGESTIONS = 8
MAX_SUGGESTIONS = 20
MAX_SUGGEST_QUERY_LENGTH = MAX_PREFIX_LENGTH  # as long as the suggestion dictionary can look up


def page_config(settings: Settings) -> dict:
    """What the page needs to know of the API, handed to it in the HTML."""
    return {
        "per_page": DEFAULT_PER_PAGE,
        "k": DEFAULT_K,
        "max_k": MAX_K,
        "max_query_length": MAX_QUERY_LENGTH,
        "max_suggest_length": MAX_SUGGEST_QUERY_LENGTH,
        "max_upload_bytes": max_upload_bytes(settings),
        "facets": [{"name": name, "label": field_title(name)} for name in CATEGORICAL_FIELDS],
    }


def max_upload_bytes(settings: Settings) -> int:
    return int(settings.max_upload_mb * 1024 * 1024)
