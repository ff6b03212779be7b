"""The autocomplete dictionary: what the search box suggests as a shopper types.

Entries are product names and a few facet phrases ("Dresses", "Red Dresses", "Women Dresses") in
a RediSearch suggestion dictionary (FT.SUGADD), with a hash beside it counting the stored
products that contribute each entry. An entry's score is its count, so phrases shared by many
products rank higher, and an entry leaves the dictionary with its last product.

Every product write queues its change to both keys in the same MULTI/EXEC as the product itself
(finder/store.py), so a product and its entries are stored, replaced and deleted together.
`rebuild_suggestions` recomputes both keys from the stored documents, for catalogs loaded before
the dictionary existed.
"""

from __future__ import annotations

import re
import uuid
from collections import Counter
from collections.abc import Iterable, Mapping

import redis

from finder.products import Product

SUGGEST_KEY = "finder:suggest"  # FT.SUGADD dictionary: entry -> score (its count)
COUNTS_KEY = "finder:suggest:counts"  # hash: entry -> how many stored products contribute it
PLACEHOLDER_COLOUR = "NA"  # the Kaggle catalog's "no colour": never part of a phrase
FUZZY_MIN_PREFIX = 3  # shorter prefixes are one typo away from too much
REBUILD_CHUNK = 1000  # entries per round trip while a rebuild writes
REBUILD_TTL_SECONDS = 600  # a rebuild that dies leaves nothing behind for long
WHITESPACE = re.compile(r"\s+")
# Limits of RediSearch's suggestion trie (2.10), measured: it keeps 16-bit characters, so those
# beyond U+FFFF (emoji) come back garbled and entries leave them out; FT.SUGADD silently stores
# nothing longer than 255 characters or ~510 bytes, so longer entries (170 characters of at most
# 3 bytes always fit) are left out; FT.SUGGET refuses prefixes of 100 characters or 200 bytes
# (49 characters of at most 4 bytes, plus a trailing space, always fit).
BEYOND_16_BITS = re.compile("[\U00010000-\U0010FFFF]")
MAX_ENTRY_LENGTH = 170
MAX_PREFIX_LENGTH = 49

# KEYS: the dictionary, the counts hash. ARGV: entry, change, entry, change, ...
# The score is set to the new count (FT.SUGADD without INCR replaces it).
APPLY_CHANGES = """
for i = 1, #ARGV, 2 do
  local count = redis.call('HINCRBY', KEYS[2], ARGV[i], ARGV[i + 1])
  if count > 0 then
    redis.call('FT.SUGADD', KEYS[1], ARGV[i], count)
  else
    redis.call('HDEL', KEYS[2], ARGV[i])
    redis.call('FT.SUGDEL', KEYS[1], ARGV[i])
  end
end
"""


def suggestion_entries(product: Product | Mapping | None) -> list[str]:
    """What a product (or its stored document) contributes: its name, its article type,
    "<colour> <article type>" and "<gender> <article type>"; whitespace collapsed, the stored case
    kept (matching ignores case), each once, within the trie's limits (see above). None (no
    product) contributes nothing."""
    if product is None:
        return []
    fields = product.to_document() if isinstance(product, Product) else product
    article_type, colour = fields["article_type"], fields.get("color")
    phrases = [fields["name"], article_type, f"{fields['gender']} {article_type}"]
    if colour and colour != PLACEHOLDER_COLOUR:
        phrases.insert(2, f"{colour} {article_type}")
    entries = (WHITESPACE.sub(" ", BEYOND_16_BITS.sub("", phrase)).strip() for phrase in phrases)
    return [entry for entry in dict.fromkeys(entries) if 0 < len(entry) <= MAX_ENTRY_LENGTH]


def suggestion_changes(replacements: Iterable[tuple[Mapping | None, Product | None]]) -> dict[str, int]:
    """The net change to each entry's count when each (stored document, new product) pair is
    written: None as the document for a new product, None as the product for a deletion.
    Entries whose count does not change are left out."""
    changes: Counter[str] = Counter()
    for stored, product in replacements:
        changes.subtract(suggestion_entries(stored))
        changes.update(suggestion_entries(product))
    return {entry: change for entry, change in changes.items() if change}


def queue_suggestion_changes(pipe: redis.client.Pipeline, changes: Mapping[str, int]) -> None:
    """Queue `changes` (from suggestion_changes) on a pipeline, as one script: inside the
    caller's MULTI/EXEC they apply together with the product writes they come from."""
    if changes:
        arguments = [part for entry, change in changes.items() for part in (entry, change)]
        pipe.register_script(APPLY_CHANGES)(keys=[SUGGEST_KEY, COUNTS_KEY], args=arguments)


def rebuild_suggestions(client: redis.Redis, documents: Iterable[Mapping]) -> int:
    """Replace the dictionary with one computed from `documents` (every stored product), built
    under temporary keys and swapped in with RENAME, so readers see the old or the new one.
    Writes that land while it runs may be missed: run it when the catalog is quiet (the loader
    and `python -m indexer reindex` do). Returns the number of entries."""
    counts = Counter(entry for document in documents for entry in suggestion_entries(document))
    if not counts:
        client.unlink(SUGGEST_KEY, COUNTS_KEY)
        return 0
    building = uuid.uuid4().hex  # two rebuilds at once each build their own and the last one wins
    new_dictionary, new_counts = f"{SUGGEST_KEY}:building:{building}", f"{COUNTS_KEY}:building:{building}"
    entries = list(counts.items())
    for start in range(0, len(entries), REBUILD_CHUNK):
        chunk = entries[start : start + REBUILD_CHUNK]
        pipe = client.pipeline(transaction=False)
        pipe.hset(new_counts, mapping=dict(chunk))
        for entry, count in chunk:
            pipe.execute_command("FT.SUGADD", new_dictionary, entry, count)
        pipe.expire(new_dictionary, REBUILD_TTL_SECONDS)
        pipe.expire(new_counts, REBUILD_TTL_SECONDS)
        pipe.execute()
    swap = client.pipeline(transaction=True)
    swap.rename(new_dictionary, SUGGEST_KEY)
    swap.rename(new_counts, COUNTS_KEY)
    swap.persist(SUGGEST_KEY)
    swap.persist(COUNTS_KEY)
    swap.execute()
    return len(counts)


def suggest(client: redis.Redis, prefix: str, limit: int) -> list[str]:
    """Up to `limit` entries starting with `prefix` (ignoring case), best first; when nothing
    starts with a prefix of FUZZY_MIN_PREFIX characters or more, entries one typo away. The
    prefix, without the whitespace around it, must not be longer than MAX_PREFIX_LENGTH."""
    prefix = WHITESPACE.sub(" ", prefix).lstrip()  # a trailing space still means "a word ends here"
    found = _entries_starting_with(client, prefix, limit)
    if not found and len(prefix.strip()) >= FUZZY_MIN_PREFIX:
        found = _entries_starting_with(client, prefix, limit, "FUZZY")
    return found


def _entries_starting_with(client: redis.Redis, prefix: str, limit: int, *options: str) -> list[str]:
    # Entries differing only in case are separate in the dictionary but one suggestion: ask for
    # more than needed so that dropping such twins still fills the list.
    reply = client.execute_command("FT.SUGGET", SUGGEST_KEY, prefix, "MAX", 2 * limit, *options) or []
    unique: dict[str, str] = {}
    for raw in reply:
        text = raw.decode()
        unique.setdefault(text.casefold(), text)
    return list(unique.values())[:limit]
