"""Turn what a reader typed into a Whoosh query.

Input is plain text, never query syntax: quotes, colons, `AND`, brackets are just characters,
and words are taken from at most `MAX_QUERY_CHARS` characters (and `MAX_QUERY_WORDS` words).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from stdnum import isbn as stdnum_isbn
from whoosh import query as wq

from index.analysis import (
    analyze,
    name_key,
    search_keys,
    stem_analyzer,
    strip_apostrophe_suffix,
    turkic_lower,
    unify_letters,
    words,
)
from index.function_words import FUNCTION_WORDS
from index.schema import STEM_LANGUAGES, title_signature
from index.spelling import Lexicon
from index.vocabulary import Vocabulary

MAX_QUERY_CHARS = 256
MAX_QUERY_WORDS = 12

# Field weights: an exact word outranks a folded or transliterated one, which outranks a
# stem, which outranks a typo.
W_EXACT_TITLE = 4.0
W_EXACT_AUTHOR = 4.0
W_KEY_TITLE = 2.0
W_KEY_AUTHOR = 2.5
W_NAME_FORM = 2.0
W_OTHER_TITLE = (
    2.0  # a title of the work in another language  # another form of the surname or patronymic
)
W_SUBJECT = 1.0
W_OTHER = 0.3
W_STEM = 1.0
W_TYPO = 0.4
W_TITLE_SIGNATURE = 10.0
W_ISBN = 50.0
W_YEAR = 1000.0  # a year typed with a title: above any text score, so that year's editions lead

TYPO_FIELDS = ("title_key", "authors_key")
# Keys and stems of "book", "книга", "kitab", "kitap", "кітап", "kitob": words that say
# nothing about which book is wanted.
GENERIC_WORD_FORMS = frozenset({"book", "bok", "knig", "kniga", "kitab", "kitap", "kitob"})
MAX_TYPO_TERMS = 24
# A name takes at most this many letters of Turkic endings (`Elçinin` -> `elc`, `Vurğunun`
# -> `vurgun`); a stem that lost more is not a name's: `механика` and `Mehdi` both strip
# to `meh`.
MAX_NAME_ENDING = 4
YEARS_TYPED = range(1400, 2101)  # a number in this range, typed with words, is a year

_STEMMERS = {lang: stem_analyzer(lang) for lang in STEM_LANGUAGES}


def allowed_typos(word: str) -> int:
    """Meilisearch's rule: one typo from 5 letters, two from 9."""
    if len(word) >= 9:
        return 2
    if len(word) >= 5:
        return 1
    return 0


@dataclass
class QueryWord:
    """One typed word and every form it is matched by."""

    typed: str
    exact: str
    keys: list[str]
    stems: dict[str, list[str]] = field(default_factory=dict)
    typos: int = 0
    # field -> index terms within `typos` edits of the word's first key (see expand_typos)
    typo_terms: dict[str, list[str]] = field(default_factory=dict)
    # (field, value) of subjects and languages whose names this word matches
    facet_terms: list[tuple[str, str]] = field(default_factory=list)

    @classmethod
    def parse(cls, typed: str, vocabularies: Sequence[Vocabulary] = ()) -> QueryWord | None:
        lowered = turkic_lower(strip_apostrophe_suffix(typed))
        keys = search_keys(lowered, query=True)
        if not keys:
            return None
        stems = {}
        for lang, analyzer in _STEMMERS.items():
            found = [s for group in analyze(analyzer, typed) for s in group]
            if found:
                stems[lang] = found
        word = cls(typed, unify_letters(lowered), keys, stems, allowed_typos(lowered))
        forms = set(keys) | word.all_stems()
        for vocabulary in vocabularies:
            word.facet_terms += [
                (vocabulary.fieldname, value) for value in sorted(vocabulary.values_for(forms))
            ]
        return word

    def name_keys(self) -> list[str]:
        """The word's keys with a surname or patronymic ending folded, where that changes
        them: `Bökeyoğlu` -> `boke=`, which `Бөкейұлы` is indexed under too."""
        return [n for n in dict.fromkeys(name_key(k) for k in self.keys) if n not in self.keys]

    def is_generic(self) -> bool:
        return bool((set(self.keys) | self.all_stems()) & GENERIC_WORD_FORMS)

    def is_function_word(self) -> bool:
        return self.exact in FUNCTION_WORDS

    def is_initial(self) -> bool:
        """A single letter (`M.` in `Auezov M.`): an initial, never a word to require."""
        return len(self.exact) == 1 and self.exact.isalpha()

    def year(self) -> int | None:
        """The year this word is, if it is one (`1971` in `Dəli Kür 1971`)."""
        return int(self.exact) if self.exact.isdigit() and int(self.exact) in YEARS_TYPED else None

    def all_stems(self) -> set[str]:
        return {s for values in self.stems.values() for s in values}

    def to_query(self, fuzzy: bool = True) -> wq.Query:
        clauses: list[wq.Query] = [
            wq.Term("title_exact", self.exact, boost=W_EXACT_TITLE),
            wq.Term("authors_exact", self.exact, boost=W_EXACT_AUTHOR),
        ]
        for key in self.keys:
            clauses += [
                wq.Term("title_key", key, boost=W_KEY_TITLE),
                wq.Term("authors_key", key, boost=W_KEY_AUTHOR),
                wq.Term("other_key", key, boost=W_OTHER),
                wq.Term("alt_title_key", key, boost=W_OTHER_TITLE),
            ]
        clauses += [wq.Term("authors_name", k, boost=W_NAME_FORM) for k in self.name_keys()]
        clauses += [wq.Term("title_stem", s, boost=W_STEM) for s in sorted(self.all_stems())]
        for fieldname, value in self.facet_terms:
            clauses.append(wq.Term(fieldname, value, boost=W_SUBJECT))
        for stem in self.stems.get("turkic", ()):
            if len(self.keys[0]) - len(stem) <= MAX_NAME_ENDING:
                clauses.append(wq.Term("authors_stem", stem, boost=W_STEM))
        if fuzzy:
            for fieldname, terms in self.typo_terms.items():
                clauses += [wq.Term(fieldname, t, boost=W_TYPO) for t in terms]
        return wq.Or(clauses)

    def expand_typos(self, lexicon: Lexicon) -> None:
        """Find the index terms one or two typos away, once, so that every pass of a
        search reuses them (Whoosh's FuzzyTerm would walk the term list on each pass)."""
        if not self.typos or self.typo_terms:
            return
        # A word the index knows is taken as typed: typo expansions of common words would
        # add hundreds of matches (and clauses) that rank below the exact ones anyway.
        if any((f, k) in lexicon for f in TYPO_FIELDS for k in self.keys):
            return
        if any(("authors_name", k) in lexicon for k in self.name_keys()):
            return  # another form of a name the index has
        key = self.keys[0]
        for fieldname in TYPO_FIELDS:
            found = lexicon.within(fieldname, key, self.typos, same_initial=True)
            for known in self.keys:
                found.pop(known, None)
            closest = sorted(found, key=lambda t: (found[t], t))
            self.typo_terms[fieldname] = closest[:MAX_TYPO_TERMS]
        names = self.name_keys()
        if names:  # `Baytursunoğlu` is one letter from `Байтұрсынұлы` once both lose -ұлы
            found = lexicon.within("authors_name", names[0], self.typos, same_initial=True)
            closest = sorted(found, key=lambda t: (found[t], t))
            self.typo_terms["authors_name"] = closest[:MAX_TYPO_TERMS]

    def prefix_query(self) -> wq.Query:
        """The word as the start of a title or author word (autocomplete).

        A word typed so far may stop inside a digraph: `Chek` is on its way to `Chekh(ov)`,
        whose key is `ceh`, not `cek`. So the keys of the word with an `h` added count too
        (kh, ch, sh, zh, gh all fold to one letter)."""
        lowered = turkic_lower(strip_apostrophe_suffix(self.typed))
        keys = dict.fromkeys([*self.keys, *search_keys(lowered + "h", query=True)])
        clauses: list[wq.Query] = []
        for key in keys:
            clauses += [wq.Prefix("title_key", key), wq.Prefix("authors_key", key)]
        return wq.Or(clauses)


def as_isbn13(text: str) -> str | None:
    """The ISBN-13 a query is, if the whole query is a valid ISBN-10 or -13."""
    compact = re.sub(r"[\s\-‐‑–]", "", text.strip())
    compact = re.sub(r"^(?i:isbn):?", "", compact)
    if not re.fullmatch(r"\d{9}[\dXx]|\d{13}", compact):
        return None
    try:
        return stdnum_isbn.to_isbn13(stdnum_isbn.validate(compact)).replace("-", "")
    except Exception:  # stdnum raises several ValidationError subclasses
        return None


@dataclass
class ParsedQuery:
    text: str
    words: list[QueryWord]
    isbn13: str | None

    @classmethod
    def parse(cls, text: str, vocabularies: Sequence[Vocabulary] = ()) -> ParsedQuery:
        text = (text or "")[:MAX_QUERY_CHARS]
        parsed = [QueryWord.parse(w, vocabularies) for w in words(text)[:MAX_QUERY_WORDS]]
        return cls(text, [w for w in parsed if w], as_isbn13(text))

    @property
    def empty(self) -> bool:
        return not self.words and not self.isbn13

    def to_query(self, require_all: bool = True) -> wq.Query:
        """All content words must match (or, relaxed, any content word); a full title or
        ISBN adds a bonus.

        The other words only add to the score: generic words ("детские книги" wants
        children's books, whose titles need not say "book"), function words ("and", "və",
        "және"), initials (`Auezov M.`) and a year typed with words (`Dəli Kür 1971`,
        which also ranks the edition of that year first). A query of nothing but such
        words requires them as typed, except that function words alone find nothing.
        """
        clauses: list[wq.Query] = []
        if self.words:
            content = self.content_words()
            if not content and not all(w.is_function_word() for w in self.words):
                content = self.words  # "книги", "M.": required as typed ("the and": nothing)
            if content:
                optional = [w.to_query() for w in self.words if w not in content]
                optional += [
                    wq.NumericRange("year", y, y, boost=W_YEAR)
                    for y in sorted({w.year() for w in self.words if w not in content} - {None})
                ]
                # Relaxed, a word counts only as typed (or stemmed, or in another script):
                # a record that is merely a typo away from one word is not "some words".
                word_queries = [w.to_query(fuzzy=require_all) for w in content]
                combined = wq.And(word_queries) if require_all else wq.Or(word_queries)
                if optional:
                    combined = wq.AndMaybe(combined, wq.Or(optional))
                clauses.append(combined)
            years = {w.typed for w in self.words if w not in content and w.year()}
            signature = title_signature(" ".join(w for w in words(self.text) if w not in years))
            if signature:
                clauses.append(wq.Term("title_sig", signature, boost=W_TITLE_SIGNATURE))
        if self.isbn13:
            clauses.append(wq.Term("isbn", self.isbn13, boost=W_ISBN))
        if not clauses:
            return wq.NullQuery
        return wq.Or(clauses) if len(clauses) > 1 else clauses[0]

    def content_words(self) -> list[QueryWord]:
        """The words a record must match: not generic, function words, initials or a
        year typed with other words."""
        content = [
            w for w in self.words if not (w.is_generic() or w.is_function_word() or w.is_initial())
        ]
        if any(w.year() is None for w in content):
            content = [w for w in content if w.year() is None]
        return content

    def prefix_query(self) -> wq.Query:
        """Complete words, the last one as a prefix."""
        *complete, last = self.words
        return wq.And([w.to_query(fuzzy=False) for w in complete] + [last.prefix_query()])
