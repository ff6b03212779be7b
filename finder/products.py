"""The product: its fields, their validation, and the text that describes it to the text model."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, ConfigDict, StringConstraints, ValidationError
from redis_om import Field, JsonModel
from redis_om.model.model import RedisModel

# The limits of a product's fields, written once: validation, the API's OpenAPI schemas and the
# loader's row checks all come from the model below.
ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$"
NAME_MAX_LENGTH = 300
LABEL_MAX_LENGTH = 100
YEAR_RANGE = (1900, 2100)

CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]")


def _plain_text(value: str) -> str:
    if CONTROL_CHARACTERS.search(value):
        raise ValueError("must not contain control characters")  # RediSearch cannot match them
    return value


def _one_tag(value: str) -> str:
    if "|" in value:
        raise ValueError("must not contain '|' (it separates tags in the search index)")
    return value


PlainText = Annotated[str, AfterValidator(_plain_text)]
Label = Annotated[
    PlainText,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=LABEL_MAX_LENGTH),
    AfterValidator(_one_tag),
]

IMAGE_VERSION_LENGTH = 12  # hex digits of the photo's fingerprint

# Attributes a shopper filters on. Each is a TAG field of the search index (see schema.py),
# a query parameter of the API and a facet menu of the UI, under this same name.
CATEGORICAL_FIELDS = ("gender", "category", "sub_category", "article_type", "color", "season", "usage")


class Product(JsonModel, index=True):
    """Product metadata, stored as one RedisJSON document per product (key `finder:product:<id>`).

    Only ProductStore reads and writes these documents (in batches, inside transactions);
    the model itself is used for validation, serialisation and key names.
    """

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    # title: how the page labels the field; description: what the API documents.
    id: str = Field(primary_key=True, pattern=ID_PATTERN, title="Id",
                    description="Letters, digits, '.', '_' and '-', up to 64 characters")
    name: PlainText = Field(min_length=1, max_length=NAME_MAX_LENGTH, title="Name", description="Display name")
    gender: Label = Field(title="Gender", description="Men, Women, Unisex, Boys, Girls")
    category: Label = Field(title="Category", description="Master category, e.g. Apparel, Footwear, Accessories")
    sub_category: Label = Field(title="Sub-category", description="e.g. Topwear, Shoes, Watches")
    article_type: Label = Field(title="Article type", description="e.g. Tshirts, Casual Shoes, Handbags")
    color: Label | None = Field(default=None, title="Colour", description="Base colour, e.g. Black, Navy Blue")
    season: Label | None = Field(default=None, title="Season", description="Summer, Fall, Winter, Spring")
    year: int | None = Field(default=None, ge=YEAR_RANGE[0], le=YEAR_RANGE[1], title="Year",
                             description="Season year")
    usage: Label | None = Field(default=None, title="Usage", description="e.g. Casual, Formal, Sports")
    image_path: str = Field(min_length=1, description="Absolute path of the product photo on the server")
    image_version: str | None = Field(
        default=None, description="Changes whenever the photo does: its URLs carry it, so browsers may keep them"
    )

    class Meta:
        global_key_prefix = "finder"
        model_key_prefix = "product"

    def __init__(self, **data):
        # JsonModel.__init__ asks the class-wide default connection whether RedisJSON is loaded,
        # on every instantiation. The store checks the modules once when it connects, so skip it:
        # validating a product must not need (or hang on) a Redis server.
        RedisModel.__init__(self, **data)

    @classmethod
    def from_stored(cls, document: dict) -> Product:
        """A product from its stored document, without validating it again: only ProductStore
        writes these documents, always from validated products (validation would cost ~3x the
        time of the whole read path for a page of results)."""
        return cls.model_construct(**document)

    @classmethod
    def key_for(cls, product_id: str) -> str:
        return cls.make_primary_key(product_id)

    def to_document(self) -> dict:
        """The JSON document as stored (without redis-om's generated `pk`, which we do not use)."""
        return self.model_dump(mode="json", exclude={"pk"})

    def to_public(self) -> dict:
        """The product as the API returns it: no server file paths; the URLs of its photo and of
        a small copy of it (for grids), versioned by the photo."""
        public = self.model_dump(mode="json", exclude={"pk", *SERVER_FIELDS})
        version = f"?v={self.image_version}" if self.image_version else ""
        public["image_url"] = f"/images/{self.id}{version}"
        public["thumbnail_url"] = f"/images/{self.id}/thumbnail{version}"
        return public

    def search_words(self) -> str:
        """The words of its attributes, for full-text search beside its name."""
        values = (self.article_type, self.sub_category, self.category, self.color, self.gender, self.usage, self.season)
        return " ".join(value for value in values if value)

    def embedding_text(self) -> str:
        """What the text model embeds: what the product is first, then the attributes its name may
        not mention, then the name. Leading with the article type made "similar by text" agree on
        it far more often (bench/relevance.py, tune split: 0.85 -> 0.97 of the 10 nearest)."""
        details = ", ".join(value for value in (self.usage, self.season) if value)
        described = " ".join(value for value in (self.color, self.article_type) if value)
        text = f"{self.article_type}. {described} for {self.gender}. {self.name}"
        return f"{text}, {details}." if details else f"{text}."


# What a client or a catalog row gives (the server sets where the photo is and its version), and
# which of it is required.
SERVER_FIELDS = ("image_path", "image_version")
CLIENT_FIELDS = tuple(name for name in Product.model_fields if name not in SERVER_FIELDS)
REQUIRED_FIELDS = tuple(name for name in CLIENT_FIELDS if Product.model_fields[name].is_required())


def field_title(name: str) -> str:
    return Product.model_fields[name].title


def client_fields_schema() -> dict:
    """JSON Schema of the fields a client sends, derived from the model (for the OpenAPI document)."""
    schema = Product.model_json_schema()
    return {
        "type": "object",
        "required": list(REQUIRED_FIELDS),
        "additionalProperties": False,
        "properties": {name: _without_titles(schema["properties"][name]) for name in CLIENT_FIELDS},
    }


def _without_titles(schema: dict) -> dict:
    return {key: value for key, value in schema.items() if key != "title"}


def validation_message(error: ValidationError) -> str:
    """One readable line per problem, naming the field: `year: Input should be ...`."""
    problems = []
    for issue in error.errors():
        field = ".".join(str(part) for part in issue["loc"]) or "product"
        problems.append(f"{field}: {issue['msg']}")
    return "; ".join(problems)
