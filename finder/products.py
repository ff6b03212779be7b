"""The product: its fields, their validation, and the text that describes it to the text model."""

from __future__ import annotations

import re
from typing import Annotated, Optional

from pydantic import AfterValidator, ConfigDict, StringConstraints, ValidationError
from redis_om import Field, JsonModel
from redis_om.model.model import RedisModel

ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$"

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
    PlainText, StringConstraints(strip_whitespace=True, min_length=1, max_length=100), AfterValidator(_one_tag)
]

# Attributes a shopper filters on. Each is a TAG field of the search index (see schema.py),
# a query parameter of the API and a facet menu of the UI, under this same name.
CATEGORICAL_FIELDS = ("gender", "category", "sub_category", "article_type", "color", "season", "usage")


class Product(JsonModel, index=True):
    """Product metadata, stored as one RedisJSON document per product (key `finder:product:<id>`).

    Only ProductStore reads and writes these documents (in batches, inside transactions);
    the model itself is used for validation, serialisation and key names.
    """

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    id: str = Field(primary_key=True, pattern=ID_PATTERN)
    name: PlainText = Field(min_length=1, max_length=300)
    gender: Label
    category: Label
    sub_category: Label
    article_type: Label
    color: Optional[Label] = None
    season: Optional[Label] = None
    year: Optional[int] = Field(default=None, ge=1900, le=2100)
    usage: Optional[Label] = None
    image_path: str = Field(min_length=1, description="Absolute path of the product photo on the server")

    class Meta:
        global_key_prefix = "finder"
        model_key_prefix = "product"

    def __init__(self, **data):
        # JsonModel.__init__ asks the class-wide default connection whether RedisJSON is loaded,
        # on every instantiation. The store checks the modules once when it connects, so skip it:
        # validating a product must not need (or hang on) a Redis server.
        RedisModel.__init__(self, **data)

    @classmethod
    def from_stored(cls, document: dict) -> "Product":
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
        """The product as the API returns it: no server file paths, an image URL instead."""
        public = self.model_dump(mode="json", exclude={"pk", "image_path"})
        public["image_url"] = f"/images/{self.id}"
        return public

    def embedding_text(self) -> str:
        """What the text model embeds: the display name plus the attributes it may not mention."""
        details = ", ".join(value for value in (self.usage, self.season) if value)
        described = " ".join(value for value in (self.color, self.article_type) if value)
        text = f"{self.name}. {described} for {self.gender}"
        return f"{text}, {details}." if details else f"{text}."


def validation_message(error: ValidationError) -> str:
    """One readable line per problem, naming the field: `year: Input should be ...`."""
    problems = []
    for issue in error.errors():
        field = ".".join(str(part) for part in issue["loc"]) or "product"
        problems.append(f"{field}: {issue['msg']}")
    return "; ".join(problems)
