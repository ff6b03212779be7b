"""Property-based and fuzz tests: Hypothesis on filter values, schemathesis on the whole API.

Any unicode text as a filter value must stay one literal tag: never raise, never match another
value, never widen a query. Any request schemathesis derives from /api/openapi.json must get an
answer below 500.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import redis
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from app import create_app
from finder.config import Settings
from finder.index import create_index
from finder.queries import Filters, escape_tag_value
from finder.redis_server import EmbeddedRedis, connect
from finder.schema import TAG_SEPARATOR, build_schema
from tests.support import SAMPLE_CATALOG, load_into, serve_app, settings_for

FUZZ_PREFIX = "fuzz:"
# Stored values of other hashes. "Men|Women" is stored as two tags, "Men" and "Women".
OTHER_VALUES = ["Men", "Women", "Navy Blue", "a", "*", "Men|Women"]
# Any unicode text but control characters, which Filters refuses (tested below).
printable = st.characters(blacklist_categories=("Cc", "Cs"))
tag_values = st.text(printable, min_size=1, max_size=30).map(str.strip).filter(bool)


@pytest.fixture(scope="module")
def tag_index(tmp_path_factory):
    """A server with an index on color (a TAG field of the real schema) over fuzz: hashes."""
    with EmbeddedRedis(tmp_path_factory.mktemp("fuzz-redis")) as server:
        client = connect(server.url)
        schema = build_schema(Settings(index_algorithm="FLAT"), 4, 4, name="fuzz-index")
        schema.index.prefix = FUZZ_PREFIX
        create_index(client, schema, alias="fuzz-alias")
        for number, value in enumerate(OTHER_VALUES):
            client.hset(f"{FUZZ_PREFIX}other:{number}", mapping={"color": value})
        yield client


def matching_keys(client, filters: Filters) -> set[str]:
    reply = client.execute_command("FT.SEARCH", "fuzz-index", filters.expression(), "NOCONTENT", "LIMIT", "0", "100",
                                   "DIALECT", "2")
    return {key.decode() for key in reply[1:]}


def stored_tags(value: str) -> set[str]:
    """The tags the index holds for a stored value (matching ignores case)."""
    return {tag.strip().casefold() for tag in value.split(TAG_SEPARATOR)}


def test_a_value_with_the_separator_is_stored_as_several_tags(tag_index):
    # What the property below relies on, checked against the server rather than assumed.
    found = matching_keys(tag_index, Filters(tags={"color": ("women",)}))
    assert found == {f"{FUZZ_PREFIX}other:{OTHER_VALUES.index(value)}" for value in ("Women", "Men|Women")}


@settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=tag_values)
@example(value="WOMEN")  # equal to a tag of "Men|Women": once a random failure, now always checked
def test_any_filter_value_matches_exactly_its_own_tag(tag_index, value):
    assume(TAG_SEPARATOR not in value)  # such a value is stored as several tags (tested above)
    key = f"{FUZZ_PREFIX}target"
    tag_index.hset(key, mapping={"color": value})
    try:
        found = matching_keys(tag_index, Filters(tags={"color": (value,)}))
    finally:
        tag_index.delete(key)
    equal_tags = {
        f"{FUZZ_PREFIX}other:{number}"
        for number, other in enumerate(OTHER_VALUES)
        if value.casefold() in stored_tags(other)
    }
    assert key in found
    assert found - {key} <= equal_tags  # nothing beyond hashes holding an equal tag


@settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(values=st.lists(st.text(printable, min_size=1, max_size=30), min_size=1, max_size=4),
       year_min=st.none() | st.integers(-10**6, 10**6), year_max=st.none() | st.integers(-10**6, 10**6))
def test_no_filter_breaks_the_query_or_widens_it(tag_index, values, year_min, year_max):
    filters = Filters(tags={"color": tuple(values), "gender": tuple(values)}, year_min=year_min, year_max=year_max)
    try:
        found = matching_keys(tag_index, filters)
    except redis.ResponseError as error:
        pytest.fail(f"{filters.expression()!r} is not a valid query: {error}")
    assert found == set()  # no fuzz hash has a gender, so an AND with gender matches nothing


@given(value=st.text(max_size=10), control=st.characters(min_codepoint=0, max_codepoint=31) | st.just("\x7f"))
def test_control_characters_are_refused_not_sent(value, control):
    with pytest.raises(ValueError, match="control characters"):
        Filters(tags={"color": (value + control + value,)})


@given(st.text(max_size=50))
def test_escaped_values_contain_no_bare_query_syntax(value):
    escaped = escape_tag_value(value)
    unescaped = escaped.replace("\\\\", "").replace("\\", "\0")  # mark what follows a backslash
    for special in "{}|@*()\"' \t\n-":
        for position, char in enumerate(unescaped):
            assert not (char == special and (position == 0 or unescaped[position - 1] != "\0"))


# Each example sends five HTTP requests, some embedding a query: half the profile's budget.
@settings(max_examples=max(10, settings.default.max_examples // 2), deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(params=st.dictionaries(
    st.sampled_from(["gender", "category", "color", "article_type", "year_min", "year_max", "page", "per_page",
                     "k", "ef_runtime", "q", "by", "limit", "unknown", "gender[]"]),
    st.text(max_size=20),
    max_size=5,
))
def test_any_query_parameters_get_a_2xx_or_4xx_never_a_5xx(http, params):
    for path in ("/api/products", "/api/facets", "/api/search", "/api/suggest", "/api/products/70001/similar"):
        response = http.get(path, query_string=params)
        assert response.status_code < 500, (path, params, response.json)


@pytest.fixture(scope="module")
def live_api(tmp_path_factory):
    """The app on a live HTTP port, writes enabled, over a server of its own (schemathesis writes)."""
    folder = tmp_path_factory.mktemp("schemathesis")
    with EmbeddedRedis(folder / "redis") as server:
        settings_ = settings_for(server.url, api_key="schemathesis-key-0123456789", data_dir=folder, redis_timeout=5)
        load_into(settings_, SAMPLE_CATALOG, limit=30)
        http_server = serve_app(create_app(settings_))
        yield f"http://127.0.0.1:{http_server.server_port}", settings_.api_key
        http_server.shutdown()


def test_schemathesis_finds_no_server_error_anywhere_in_the_api(live_api):
    url, api_key = live_api
    command = [
        os.path.join(os.path.dirname(sys.executable), "schemathesis"), "run", f"{url}/api/openapi.json",
        "--checks", "not_a_server_error", "--header", f"Authorization: Bearer {api_key}",
        "--phases", "examples,coverage,fuzzing", "--max-examples", "25", "--workers", "1",
        "--request-timeout", "30", "--suppress-health-check", "all", "--seed", "1",
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=900, env={**os.environ, "NO_COLOR": "1"})
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
