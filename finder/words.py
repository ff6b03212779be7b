"""Words as the search index sees them: one tokeniser for building full-text queries, for
recognising catalog values in a query and for telling which query words a product matched.

RediSearch splits TEXT fields on whitespace and ASCII punctuation except "_", and lower-cases
ASCII letters only (checked against RediSearch 2.10.5). Query words made the same way can only be
words the index may hold; they contain letters, digits, "_" and non-ASCII characters, of which
only "_" needs escaping in a query.
"""

from __future__ import annotations

import re

ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
# Every ASCII punctuation character but "_", and control characters (a syntax error in queries).
SEPARATORS = re.compile(r"[\s\x00-\x1f\x7f!-/:-@\[-^`{-~]+")
# RediSearch's default English stopwords (an index created without STOPWORDS): not indexed, so
# never worth a query term.
STOPWORDS = frozenset(
    "a is the an and are as at be but by for if in into it no not of on or such that their then there "
    "these they this to was will with".split()
)
MAX_QUERY_WORDS = 12  # a search uses at most this many words; the rest of a pasted text is ignored


def words(text: str, keep_stopwords: bool = False) -> list[str]:
    """The words of a text as the index holds them, in order, each once."""
    found: list[str] = []
    for word in SEPARATORS.split(text.translate(ASCII_LOWER)):
        if word and word not in found and (keep_stopwords or word not in STOPWORDS):
            found.append(word)
    return found[:MAX_QUERY_WORDS]


def compounds(text: str) -> list[str]:
    """Hyphenated words written as one ("T-shirt" -> "tshirt"): catalogs write both forms."""
    joined = ("".join(words(chunk, keep_stopwords=True)) for chunk in text.split() if "-" in chunk)
    return [word for word in dict.fromkeys(joined) if word]


def stem(word: str) -> str:
    """A word with a plural ending folded away ("dresses" -> "dress", "tshirts" -> "tshirt"):
    enough to match what shoppers type to catalog values, which are mostly plurals."""
    if len(word) <= 3 or not word.isalpha():
        return word
    if word.endswith("ies"):
        return word[:-3] + "y"
    if word.endswith(("sses", "ches", "shes", "xes")):
        return word[:-2]
    if word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def phrase_key(text: str) -> tuple[str, ...]:
    """What two phrases must share to mean the same: their stemmed words, stopwords left out
    ("Perfume and Body Mist" and "perfumes body mist" share one)."""
    return tuple(stem(word) for word in words(text))


def escaped(word: str) -> str:
    """A word (from `words`) as a query term."""
    return word.replace("_", "\\_")


def edit_distance(first: str, second: str) -> int:
    """Insertions, deletions, substitutions and swaps of neighbours that turn one word into the
    other (optimal string alignment): a typed "blakc" is one edit from "black"."""
    previous, current = None, list(range(len(second) + 1))
    for i, letter in enumerate(first, start=1):
        before, previous, current = previous, current, [i] + [0] * len(second)
        for j, other in enumerate(second, start=1):
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (letter != other))
            if before is not None and i > 1 and j > 1 and letter == second[j - 2] and first[i - 2] == other:
                current[j] = min(current[j], before[j - 2] + 1)
    return current[-1]
