"""Query understanding: which catalog values a free-text query names.

"red dress for women" names colour Red, article type Dresses and gender Women; "sneakers" names
article types Casual Shoes and Sports Shoes through the shopper words (finder/synonyms.py). The
values come from the live index (its facet values), never from a list in the code, so another
catalog's article types are understood as soon as they are loaded. Plurals and hyphens do not
matter ("dress" names "Dresses"); the longest phrase wins ("navy blue" is one colour, "casual
shoes" one article type).

What is understood only ranks products: search.py puts products with these values first, and
the page offers them as filters. It never filters by itself, so a wrong guess costs order, not
results.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from finder.synonyms import SynonymRules
from finder.words import phrase_key, stem, words

# The attributes a query can name, in the order the page offers them as filters.
UNDERSTOOD_FIELDS = ("gender", "article_type", "color", "usage", "season", "sub_category", "category")
# When one phrase names values at several levels ("watches": article type and sub-category
# Watches), only the most specific counts.
LEVELS = ("article_type", "sub_category", "category")
MAX_PHRASE_WORDS = 4
PLACEHOLDER_VALUES = {"NA"}  # Kaggle's "not available"; never a shopper's word


@dataclass(frozen=True)
class Recognised:
    words: str  # as the shopper typed them (normalised)
    attribute: str
    value: str


@dataclass(frozen=True)
class Understood:
    recognised: tuple[Recognised, ...] = ()
    attributes: dict[str, tuple[str, ...]] = field(default_factory=dict)  # attribute -> values named

    @property
    def words(self) -> set[str]:
        """The query words that named a value."""
        return {word for item in self.recognised for word in item.words.split()}


NOTHING = Understood()


class Vocabulary:
    """Phrases that name catalog values: the values themselves and, through the shopper words,
    what shoppers call them."""

    def __init__(self, facet_values: dict[str, list[str]], rules: SynonymRules):
        self._values: dict[tuple[str, ...], list[tuple[str, str]]] = {}
        for attribute in UNDERSTOOD_FIELDS:
            for value in facet_values.get(attribute, ()):
                key = phrase_key(value)
                if key and value not in PLACEHOLDER_VALUES:
                    self._values.setdefault(key, []).append((attribute, value))
        self._meanings = rules.meanings()

    def understand(self, text: str) -> Understood:
        tokens = words(text)
        keys = [stem(token) for token in tokens]
        recognised: list[Recognised] = []
        position = 0
        while position < len(tokens):
            for length in range(min(MAX_PHRASE_WORDS, len(tokens) - position), 0, -1):
                named = _most_specific(self._named(tuple(keys[position:position + length])))
                if named:
                    typed = " ".join(tokens[position:position + length])
                    recognised += [Recognised(typed, attribute, value) for attribute, value in named]
                    position += length
                    break
            else:
                position += 1
        attributes: dict[str, tuple[str, ...]] = {}
        for item in recognised:
            if item.value not in attributes.get(item.attribute, ()):
                attributes[item.attribute] = (*attributes.get(item.attribute, ()), item.value)
        ordered = {attribute: attributes[attribute] for attribute in UNDERSTOOD_FIELDS if attribute in attributes}
        return Understood(tuple(recognised), ordered)

    def meanings(self, key: tuple[str, ...]) -> set[tuple[str, ...]]:
        """The phrase keys a phrase may mean through the shopper words, itself included."""
        return self._meanings.get(key, {key})

    def _named(self, key: tuple[str, ...]) -> list[tuple[str, str]]:
        """The (attribute, value) pairs a phrase names, directly or through the shopper words."""
        named = list(self._values.get(key, ()))
        for meant in self.meanings(key):
            named += [pair for pair in self._values.get(meant, ()) if pair not in named]
        return named


def _most_specific(named: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """A phrase's values without the coarser levels of the finest level it names."""
    present = [level for level in LEVELS if any(attribute == level for attribute, _ in named)]
    coarser = set(LEVELS[LEVELS.index(present[0]) + 1:]) if present else set()
    return [(attribute, value) for attribute, value in named if attribute not in coarser]
