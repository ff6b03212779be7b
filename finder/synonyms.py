"""Shopper words: the synonyms file a shop edits (data/synonyms.txt), and applying it.

The file uses the format of Solr's and Elasticsearch's synonym lists:

    tee, tees, tshirt                        equivalent: each means all of them
    sneakers => casual shoes, sports shoes   one way: the left side means the right side

Two things use the rules. The search index gets every equivalence line's single words as a
RediSearch synonym group (FT.SYNUPDATE; RediSearch synonyms are single words), so "tee" matches
a product whose words say "tshirts". Query understanding (finder/understanding.py) uses every
rule, phrases included, to map what a shopper types to catalog values.

The loader stores the rules it applied in Redis beside the index, so every app process
understands queries by the same rules the index has, whatever file it was started with.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import redis

from finder.words import ASCII_LOWER, phrase_key, words

RULES_KEY = "finder:synonyms"  # the applied rules, as JSON
# Words of the rules, for FT.SPELLCHECK ... TERMS EXCLUDE: a shopper word that no product
# mentions ("sneakers") is not a typo.
SHOPPER_WORDS_DICT = "finder:shopper-words"


class SynonymError(ValueError):
    """A line of the synonyms file that cannot be read; the message names it."""


@dataclass(frozen=True)
class SynonymRules:
    groups: tuple[tuple[str, ...], ...] = ()  # equivalent phrases
    mappings: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...] = ()  # (shopper phrases, meant phrases)

    @classmethod
    def parse(cls, text: str, source: str = "synonyms") -> SynonymRules:
        groups, mappings = [], []
        for number, line in enumerate(text.splitlines(), start=1):
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            sides = line.split("=>")
            phrases = [_phrases(side) for side in sides]
            if len(sides) > 2 or not all(phrases) or (len(sides) == 1 and len(phrases[0]) < 2):
                raise SynonymError(
                    f"{source}, line {number}: {line!r} is not a rule; write 'a, b, c' (equivalent words) "
                    "or 'a, b => x, y' (a or b means x or y)"
                )
            if len(sides) == 1:
                groups.append(tuple(phrases[0]))
            else:
                mappings.append((tuple(phrases[0]), tuple(phrases[1])))
        return cls(tuple(groups), tuple(mappings))

    @classmethod
    def read(cls, path: Path) -> SynonymRules:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as error:
            raise SynonymError(f"cannot read the synonyms file {path}: {error.strerror}") from None
        return cls.parse(text, source=str(path))

    def meanings(self) -> dict[tuple[str, ...], set[tuple[str, ...]]]:
        """For each shopper phrase (as a phrase key), the phrase keys it may mean, itself included."""
        meant: dict[tuple[str, ...], set[tuple[str, ...]]] = {}
        for group in self.groups:
            keys = {phrase_key(phrase) for phrase in group} - {()}
            for key in keys:
                meant.setdefault(key, {key}).update(keys)
        for shopper, wanted in self.mappings:
            keys = {phrase_key(phrase) for phrase in wanted} - {()}
            for phrase in shopper:
                key = phrase_key(phrase)
                if key:
                    meant.setdefault(key, {key}).update(keys)
        return meant

    def index_groups(self) -> dict[str, list[str]]:
        """RediSearch synonym groups: the single words of each equivalence line, by a group id
        that stays the same when other lines change (its first word)."""
        found: dict[str, list[str]] = {}
        for group in self.groups:
            single = list(dict.fromkeys(word for word in map(_single_word, group) if word))
            if len(single) >= 2:
                terms = found.setdefault(single[0], [])
                terms += [word for word in single if word not in terms]
        return found

    def vocabulary(self) -> set[str]:
        """Every word the rules use."""
        phrases = [phrase for group in self.groups for phrase in group]
        phrases += [phrase for shopper, wanted in self.mappings for phrase in (*shopper, *wanted)]
        return {word for phrase in phrases for word in words(phrase)}

    def to_json(self) -> str:
        return json.dumps({"groups": self.groups, "mappings": self.mappings})

    @classmethod
    def from_json(cls, text: str | bytes) -> SynonymRules:
        data = json.loads(text)
        return cls(
            tuple(tuple(group) for group in data["groups"]),
            tuple((tuple(shopper), tuple(wanted)) for shopper, wanted in data["mappings"]),
        )


NO_RULES = SynonymRules()


def _phrases(side: str) -> list[str]:
    return [" ".join(phrase.translate(ASCII_LOWER).split()) for phrase in side.split(",") if phrase.strip()]


def _single_word(phrase: str) -> str | None:
    found = words(phrase, keep_stopwords=True)
    return found[0] if len(found) == 1 and found[0] == phrase else None


def synonym_commands(index_name: str, rules: SynonymRules, skip_initial_scan: bool) -> list[list]:
    """FT.SYNUPDATE commands for the rules' groups. Without the initial scan a group only applies
    to documents indexed after it: right for an index created in the same transaction."""
    scan = ["SKIPINITIALSCAN"] if skip_initial_scan else []
    return [["FT.SYNUPDATE", index_name, group_id, *scan, *terms] for group_id, terms in rules.index_groups().items()]


def store_rules(client: redis.Redis, rules: SynonymRules) -> None:
    vocabulary = rules.vocabulary()
    try:
        dropped = {_text(word) for word in client.execute_command("FT.DICTDUMP", SHOPPER_WORDS_DICT)} - vocabulary
    except redis.ResponseError:  # no dictionary yet
        dropped = set()
    pipe = client.pipeline(transaction=True)
    pipe.set(RULES_KEY, rules.to_json())
    if dropped:
        pipe.execute_command("FT.DICTDEL", SHOPPER_WORDS_DICT, *sorted(dropped))
    if vocabulary:
        pipe.execute_command("FT.DICTADD", SHOPPER_WORDS_DICT, *sorted(vocabulary))
    pipe.execute()


def stored_rules(client: redis.Redis) -> SynonymRules:
    """The rules the loader applied, or none for a catalog loaded without them."""
    raw = client.get(RULES_KEY)
    return SynonymRules.from_json(raw) if raw else NO_RULES


def synonym_dump(client: redis.Redis, index_name: str) -> dict[str, set[str]]:
    """The index's synonym groups: term -> group ids."""
    reply = client.execute_command("FT.SYNDUMP", index_name)
    if isinstance(reply, dict):
        pairs = reply.items()
    else:
        pairs = zip(reply[::2], reply[1::2], strict=True)
    return {_text(term): {_text(group) for group in groups} for term, groups in pairs}


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
