"""Unit tests of query building (pure functions, no Redis)."""

import numpy as np
import pytest

from finder.queries import Filters, browse_query, count_query, escape_tag_value, facet_command, knn_query


@pytest.mark.parametrize(
    "value, escaped",
    [
        ("Men", "Men"),
        ("Navy Blue", r"Navy\ Blue"),
        ("Men} | @gender:{Women", r"Men\}\ \|\ \@gender\:\{Women"),
        ("*", r"\*"),
        ('"', r"\""),
        ("a\tb\nc", "a\\\tb\\\nc"),
        ("Smart_Casual", "Smart\\_Casual"),
        ("_", "\\_"),
        ("é ü 日本", "é\\ ü\\ 日本"),
        ("back\\slash", "back\\\\slash"),
    ],
)
def test_escape_tag_value(value, escaped):
    assert escape_tag_value(value) == escaped


def test_no_filters_match_everything():
    assert Filters().expression() == "*"


def test_values_of_one_attribute_are_alternatives_and_attributes_combine():
    filters = Filters(tags={"gender": ("Men", "Unisex"), "color": ("Navy Blue",)})
    assert filters.expression() == r"@gender:{Men|Unisex} @color:{Navy\ Blue}"


@pytest.mark.parametrize(
    "year_min, year_max, clause",
    [(2010, None, "@year:[2010 +inf]"), (None, 2012, "@year:[-inf 2012]"), (2010, 2012, "@year:[2010 2012]")],
)
def test_year_range_is_inclusive(year_min, year_max, clause):
    assert Filters(year_min=year_min, year_max=year_max).expression() == clause


def test_an_attribute_can_be_left_out_for_its_own_facet():
    filters = Filters(tags={"gender": ("Men",), "category": ("Footwear",)}, year_min=2011)
    assert filters.expression(without="gender") == "@category:{Footwear} @year:[2011 +inf]"
    assert filters.expression(without="year") == "@gender:{Men} @category:{Footwear}"


def test_unknown_attributes_and_empty_values_are_rejected():
    with pytest.raises(ValueError, match="not filterable: price"):
        Filters(tags={"price": ("1",)})
    with pytest.raises(ValueError, match="must not be empty"):
        Filters(tags={"gender": ("",)})  # "@gender:{}" would not mean "nothing"
    with pytest.raises(ValueError, match="must not be empty"):
        Filters(tags={"gender": ()})


def test_as_dict_echoes_what_was_asked():
    filters = Filters(tags={"gender": ("Men", "Boys")}, year_max=2015)
    assert filters.as_dict() == {"gender": ["Men", "Boys"], "year_max": 2015}


def test_knn_query_is_a_hybrid_query_with_the_filter_as_prefilter():
    vector = np.arange(4, dtype=np.float32)
    query = knn_query("image_vector", vector, 7, Filters(tags={"gender": ("Women",)}), ef_runtime=50,
                      datatype="FLOAT32")
    text = query.query_string()
    assert text.startswith("(@gender:{Women})=>[KNN 7 @image_vector $vector")
    assert "EF_RUNTIME $EF" in text and query.params["EF"] == 50
    assert query.params["vector"] == vector.tobytes()
    assert "HYBRID_POLICY" not in text


def test_knn_query_sends_the_vector_as_bytes_of_the_index_datatype():
    vector = np.array([0.1, -0.2, 0.3], dtype=np.float32)
    sent = knn_query("text_vector", vector, 5, datatype="FLOAT16").params["vector"]
    assert sent == vector.astype(np.float16).tobytes() and len(sent) == 6


def test_knn_query_without_filters_or_ef_runtime():
    text = knn_query("text_vector", np.zeros(3), 5, datatype="FLOAT32").query_string()
    assert text.startswith("*=>[KNN 5 @text_vector $vector") and "EF_RUNTIME" not in text


def test_knn_query_with_a_forced_hybrid_policy():
    text = knn_query("text_vector", np.zeros(3), 5, hybrid_policy="ADHOC_BF", datatype="FLOAT32").query_string()
    assert "HYBRID_POLICY ADHOC_BF" in text


def test_browse_and_count_queries_return_ids_only():
    filters = Filters(tags={"season": ("Summer",)})
    browse = browse_query(48, 24, filters).get_args()
    assert browse[0] == "@season:{Summer}" and "NOCONTENT" in browse
    assert browse[browse.index("LIMIT") + 1 : browse.index("LIMIT") + 3] == [48, 24]
    count = count_query(filters).get_args()
    assert count[count.index("LIMIT") + 1 : count.index("LIMIT") + 3] == [0, 0]


def test_facet_command_ignores_the_attributes_own_filter():
    filters = Filters(tags={"gender": ("Men",), "color": ("Red",)})
    command = facet_command("idx", "gender", filters)
    assert command[:3] == ["FT.AGGREGATE", "idx", "@color:{Red}"]
    assert command[command.index("GROUPBY") : command.index("GROUPBY") + 3] == ["GROUPBY", "1", "@gender"]
