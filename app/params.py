"""Parsing query parameters into validated values; every problem is a 400 naming the parameter."""

from __future__ import annotations

from collections.abc import Iterable

from werkzeug.datastructures import MultiDict

from app.errors import ApiError
from app.limits import FILTER_YEAR_RANGE, MAX_FILTER_VALUE_LENGTH, MAX_VALUES_PER_FILTER
from finder.products import CATEGORICAL_FIELDS
from finder.queries import Filters

FILTER_PARAMS = (*CATEGORICAL_FIELDS, "year_min", "year_max")


def check_known(args: MultiDict, allowed: Iterable[str]) -> None:
    allowed = tuple(allowed)
    unknown = sorted(set(args) - set(allowed))
    if unknown:
        raise ApiError(
            400, "unknown_parameter",
            f"unknown query parameter {', '.join(map(repr, unknown))}; this endpoint accepts: {', '.join(allowed)}",
        )


def filters_from(args: MultiDict) -> Filters:
    tags = {}
    for name in CATEGORICAL_FIELDS:
        values = [value.strip() for value in args.getlist(name)]
        if not values:
            continue
        if any(not value for value in values):
            raise ApiError(400, "invalid_parameter", f"{name} must not be empty")
        if any(len(value) > MAX_FILTER_VALUE_LENGTH for value in values):
            raise ApiError(400, "invalid_parameter",
                           f"{name} values must be at most {MAX_FILTER_VALUE_LENGTH} characters")
        if len(values) > MAX_VALUES_PER_FILTER:
            raise ApiError(400, "invalid_parameter", f"{name} may be given at most {MAX_VALUES_PER_FILTER} times")
        tags[name] = tuple(dict.fromkeys(values))  # repeated values are one alternative
    year_min = int_param(args, "year_min", None, *FILTER_YEAR_RANGE)
    year_max = int_param(args, "year_max", None, *FILTER_YEAR_RANGE)
    if year_min is not None and year_max is not None and year_min > year_max:
        raise ApiError(400, "invalid_parameter",
                       f"year_min ({year_min}) must not be greater than year_max ({year_max})")
    try:
        return Filters(tags=tags, year_min=year_min, year_max=year_max)
    except ValueError as error:
        raise ApiError(400, "invalid_parameter", f"{', '.join(tags)}: {error}") from None


def int_param(args: MultiDict, name: str, default: int | None, low: int, high: int) -> int | None:
    raw = single(args, name)
    if raw is None or not raw.strip():
        return default
    try:
        value = int(raw.strip())
    except ValueError:
        raise ApiError(400, "invalid_parameter", f"{name} must be an integer, got {raw!r}") from None
    if not low <= value <= high:
        raise ApiError(400, "invalid_parameter", f"{name} must be between {low} and {high}, got {value}")
    return value


def bool_param(args: MultiDict, name: str) -> bool:
    """A switch: 1/true/yes or 0/false/no; absent is false."""
    raw = (single(args, name) or "").strip().lower()
    if raw in ("", "0", "false", "no"):
        return False
    if raw in ("1", "true", "yes"):
        return True
    raise ApiError(400, "invalid_parameter", f"{name} must be 1 or 0 (true or false), got {raw!r}")


def text_param(args: MultiDict, name: str, max_length: int) -> str:
    """A required text parameter as given: not blank, at most `max_length` characters without
    the whitespace around it."""
    raw = single(args, name) or ""
    length = len(raw.strip())
    if not length:
        raise ApiError(400, "invalid_parameter", f"{name} must not be empty")
    if length > max_length:
        raise ApiError(400, "invalid_parameter", f"{name} must be at most {max_length} characters, got {length}")
    return raw


def choice_param(args: MultiDict, name: str, default: str, allowed: tuple[str, ...]) -> str:
    raw = single(args, name)
    if raw is None or not raw.strip():
        return default
    if raw.strip() not in allowed:
        raise ApiError(400, "invalid_parameter", f"{name} must be one of {', '.join(allowed)}, got {raw!r}")
    return raw.strip()


def single(args: MultiDict, name: str) -> str | None:
    """A parameter that may appear once at most."""
    values = args.getlist(name)
    if len(values) > 1:
        raise ApiError(400, "invalid_parameter", f"{name} may be given only once")
    return values[0] if values else None
