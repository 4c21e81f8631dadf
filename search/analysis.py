"""Text analysis: one analyzer, composed once, used at index time and at query time.

Pipeline (strings in, strings out; see tests/test_analysis.py):

    RegexTokenizer(words) ->  FoldFilter  ->  SnowballStemFilter
                              lowercase,      NLTK Snowball English,
                              fold accents,   cached; needs no NLTK data
                              drop stop words and
                              single letters

What differs between index time and query time (see also README, "Query syntax"):

* Index time analyses title, lede and body with this analyzer (and nothing else: "did you
  mean" maps the closest stemmed term back to a real word, see query.suggest).
* Query time runs the same analyzer over each query word and phrase, so `offensives`,
  `Offensive` and `offensive` all become `offens`, and `Ḩasakah` becomes `hasakah`.
* Prefix queries (`hasak*`) are folded but *not* stemmed, and are matched against the
  stemmed index terms (capped expansion).
* Stop words are dropped on both sides and positions renumbered on both sides, so the
  phrase "Deterrence of Terrorism" matches.
* Entity names in a query (`Daesh`, `Al Bukamal`) are expanded to the canonical entity
  before analysis (see search/query.py); quoting a word turns that off.
"""

from __future__ import annotations

import re
import unicodedata

from whoosh.analysis import Filter, RegexTokenizer

# A short English stop list (no NLTK data needed). "us" and "may" are deliberately absent:
# "US" is an actor and "May" a month.
STOP_WORDS = frozenset(
    """a an and are as at be been but by for from had has have he her his if in into is it
    its of on or she so than that the their them then there these they this those to was
    were which while who will with""".split()
)

# Word characters plus combining marks, so NFD text ("H" + U+0327) stays one token.
WORD_PATTERN = r"(?:\w|[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f])+"


def fold(text: str) -> str:
    """Lowercase and strip accents: 'Ḩasakah' -> 'hasakah', 'Ālbū' -> 'albu'."""
    text = text.lower()
    if text.isascii():
        return text
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


class FoldFilter(Filter):
    """Lowercase, fold accents and drop stop words, with a per-process cache."""

    def __init__(self, stoplist=STOP_WORDS, renumber=True):
        self.stops = frozenset(stoplist)
        self.renumber = renumber
        self._cache: dict[str, str | None] = {}

    def __getstate__(self):
        return {"stops": self.stops, "renumber": self.renumber}

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._cache = {}

    def __eq__(self, other):
        return type(other) is type(self) and other.stops == self.stops

    def __call__(self, tokens):
        cache = self._cache
        stops = self.stops
        renumber = self.renumber
        pos = None
        for t in tokens:
            text = t.text
            out = cache.get(text, "")
            if out == "":
                folded = fold(text)
                drop = folded in stops or (len(folded) < 2 and not folded.isdigit())
                out = None if drop else folded
                if len(cache) < 200_000:
                    cache[text] = out
            if out is None:
                if not t.removestops:
                    t.stopped = True
                    yield t
                continue
            t.text = out
            if renumber and t.positions:
                pos = 0 if pos is None else pos + 1
                t.pos = pos
            yield t


class SnowballStemFilter(Filter):
    """NLTK's Snowball English stemmer with a cache. Pickles without its cache or stemmer,
    so Whoosh can store it in the index schema; NLTK is imported on first use."""

    is_morph = True

    def __init__(self, language: str = "english"):
        self.language = language
        self._cache: dict[str, str] = {}
        self._stem = None

    def __getstate__(self):
        return {"language": self.language}

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._cache = {}
        self._stem = None

    def __eq__(self, other):
        return type(other) is type(self) and other.language == self.language

    def _stemmer(self):
        if self._stem is None:
            from nltk.stem.snowball import SnowballStemmer

            self._stem = SnowballStemmer(self.language).stem
        return self._stem

    def stem(self, word: str) -> str:
        cached = self._cache.get(word)
        if cached is None:
            cached = self._stemmer()(word)
            if len(self._cache) < 200_000:
                self._cache[word] = cached
        return cached

    def __call__(self, tokens):
        cache = self._cache
        for t in tokens:
            if not t.stopped:
                text = t.text
                stemmed = cache.get(text)
                t.text = stemmed if stemmed is not None else self.stem(text)
            yield t


def make_analyzer():
    """The analyzer for title, lede and body."""
    return RegexTokenizer(WORD_PATTERN) | FoldFilter() | SnowballStemFilter()


_ANALYZER = None


def analyzer():
    """A process-wide analyzer instance (its caches are shared)."""
    global _ANALYZER
    if _ANALYZER is None:
        _ANALYZER = make_analyzer()
    return _ANALYZER


def analyze(text: str) -> list[str]:
    """Strings in, strings out: the index terms for `text`."""
    return [t.text for t in analyzer()(text) if not t.stopped]


def fold_words(text: str) -> list[str]:
    """Tokens lowercased and accent-folded, stop words kept (for prefixes and suggestions)."""
    return [fold(w) for w in re.findall(WORD_PATTERN, text)]
