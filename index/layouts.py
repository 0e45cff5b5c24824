"""Keyboard layouts, and queries typed with the wrong one active.

Readers switch layouts many times a day and often type a title with the wrong one on:
`Ujujkm` is Russian «Гоголь» typed while US QWERTY was active, `Тшяфьш` is «Nizami» typed
while the Russian layout was. This module knows the physical layouts and can re-read the
keys that were pressed under another layout; it does not know the index. `choose` decides
by evidence the caller supplies (which words the index has), never by guessing.

Layouts
-------
Each layout maps a physical key (W3C `KeyboardEvent.code`) to its (unshifted, shifted)
characters. All five follow the Windows layouts, because that is what readers in Baku,
Almaty, Istanbul and Moscow actually use; the tables were read from Microsoft's published
layout pages (Microsoft Globalization docs, "Windows keyboard layouts") and cross-checked
with xkeyboard-config 2.35 (Debian `xkb-data`, /usr/share/X11/xkb/symbols):

* `us` - Windows "US" (KLID 00000409, kbdus); xkb `us(basic)`: identical, except that xkb
  leaves IntlBackslash to `pc` (< >) where Windows repeats \\ |.
* `ru` - Windows "Russian" ЙЦУКЕН (KLID 00000419, kbdru); xkb `ru(winkeys)`, the default
  `ru` layout (xkb has no `ru(basic)`): identical, except IntlBackslash (xkb / |, Windows \\ /).
* `kk` - Windows "Kazakh" (KLID 0000043F, kbdkaz): ( ) on Backquote, " ! on Digit1, ә і ң ғ
  on Digit2-5, , ; and . : on Digit6-7, ү ұ қ ө һ on Digit8-Equal, № ? on Slash, letters
  as Russian; there are no digits and no ё. xkb `kz(basic)` agrees on both levels but adds
  ё Ё on level 3 of Backquote and has < > on IntlBackslash (Windows \\ |).
* `az` - Windows "Azerbaijani Latin" (KLID 0000042C, kbdazel): QWERTY with ü on W, ö ğ on
  the brackets, ı/I on Semicolon, ə on Quote, ç ş on Comma/Period, i/İ on I, . , on Slash.
  xkb `az(latin)` (the default `az`, AZS 495-2010) agrees except Shift+3 (xkb U+2166 Ⅶ,
  Windows №) and IntlBackslash (xkb < >, Windows \\ /).
* `tr` - Windows "Turkish Q" (KLID 0000041F, kbdtuq): ı/I on I, i/İ on Quote, ğ ü ş ö ç on
  BracketLeft, BracketRight, Semicolon, Comma, Period. xkb `tr(basic)` is identical on both
  levels.

Documented duplicates: IntlBackslash (the extra key of ISO keyboards) repeats Backslash on
`us`, `ru` and `az`, and its unshifted \\ on `kk`. Every other character sits on one key only
(see `DUPLICATE_KEYS`); a duplicated character is read back as the Backslash key.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from types import MappingProxyType

__all__ = [
    "DUPLICATE_KEYS",
    "KEYS",
    "LAYOUTS",
    "MIN_LETTERS",
    "PAIRS",
    "Layout",
    "Retyping",
    "choose",
    "retype",
    "retypings",
]

Layout = Mapping[str, tuple[str, str]]

# Physical keys row by row, as `KeyboardEvent.code` names them. IntlBackslash comes last so
# that a character it repeats is read back as the key that every keyboard has.
_ROWS: tuple[tuple[str, ...], ...] = (
    ("Backquote", *(f"Digit{d}" for d in "1234567890"), "Minus", "Equal"),
    (*(f"Key{c}" for c in "QWERTYUIOP"), "BracketLeft", "BracketRight", "Backslash"),
    (*(f"Key{c}" for c in "ASDFGHJKL"), "Semicolon", "Quote"),
    (*(f"Key{c}" for c in "ZXCVBNM"), "Comma", "Period", "Slash"),
    ("IntlBackslash",),
)
KEYS: tuple[str, ...] = tuple(key for row in _ROWS for key in row)

# Keys allowed to repeat a character of another key of the same layout (see docstring).
DUPLICATE_KEYS: frozenset[str] = frozenset({"IntlBackslash"})


def _layout(*rows: tuple[str, str]) -> Layout:
    """Build a layout from (unshifted, shifted) strings, one pair per row of `_ROWS`."""
    table: dict[str, tuple[str, str]] = {}
    for keys, (plain, shifted) in zip(_ROWS, rows, strict=True):
        for key, low, high in zip(keys, plain, shifted, strict=True):
            table[key] = (low, high)
    return MappingProxyType(table)


_RU_HOME = ("фывапролджэ", "ФЫВАПРОЛДЖЭ")
_RU_TOP = ("йцукенгшщзхъ\\", "ЙЦУКЕНГШЩЗХЪ/")

LAYOUTS: Mapping[str, Layout] = MappingProxyType(
    {
        "us": _layout(
            ("`1234567890-=", "~!@#$%^&*()_+"),
            ("qwertyuiop[]\\", "QWERTYUIOP{}|"),
            ("asdfghjkl;'", 'ASDFGHJKL:"'),
            ("zxcvbnm,./", "ZXCVBNM<>?"),
            ("\\", "|"),
        ),
        "ru": _layout(
            ("ё1234567890-=", 'Ё!"№;%:?*()_+'),
            _RU_TOP,
            _RU_HOME,
            ("ячсмитьбю.", "ЯЧСМИТЬБЮ,"),
            ("\\", "/"),
        ),
        "kk": _layout(
            ('("әіңғ,.үұқөһ', ")!ӘІҢҒ;:ҮҰҚӨҺ"),
            _RU_TOP,
            _RU_HOME,
            ("ячсмитьбю№", "ЯЧСМИТЬБЮ?"),
            ("\\", "|"),
        ),
        "az": _layout(
            ("`1234567890-=", '~!"№;%:?*()_+'),
            ("qüertyuiopöğ\\", "QÜERTYUİOPÖĞ/"),
            ("asdfghjklıə", "ASDFGHJKLIƏ"),
            ("zxcvbnmçş.", "ZXCVBNMÇŞ,"),
            ("\\", "/"),
        ),
        "tr": _layout(
            ('"1234567890*-', "é!'^+%&/()=?_"),
            ("qwertyuıopğü,", "QWERTYUIOPĞÜ;"),
            ("asdfghjklşi", "ASDFGHJKLŞİ"),
            ("zxcvbnmöç.", "ZXCVBNMÖÇ:"),
            ("<", ">"),
        ),
    }
)

# Latin/Cyrillic pairs a reader can confuse, both ways, in the order `retypings` tries them:
# the most common confusions (English/Russian) first.
_PAIRS_ONE_WAY = (
    ("us", "ru"),
    ("us", "kk"),
    ("az", "ru"),
    ("tr", "ru"),
    ("az", "kk"),
    ("tr", "kk"),
)
PAIRS: tuple[tuple[str, str], ...] = tuple(
    pair for a, b in _PAIRS_ONE_WAY for pair in ((a, b), (b, a))
)

# Fewer letter keys than this is too little text to tell a layout slip from a real word.
MIN_LETTERS = 3

_Stroke = tuple[str, int]  # (key, shift level)


@cache
def _strokes_of(name: str) -> dict[str, _Stroke]:
    """Character -> the key and shift level that type it on layout `name`."""
    strokes: dict[str, _Stroke] = {}
    for key, chars in LAYOUTS[name].items():
        for level, char in enumerate(chars):
            strokes.setdefault(char, (key, level))
    return strokes


def _is_letter_key(layout: Layout, key: str) -> bool:
    """Caps Lock acts on the keys whose unshifted character is a letter."""
    return layout[key][0].isalpha()


def _caps_lock(strokes: Sequence[_Stroke | None], source: Layout, target: Layout) -> bool:
    """Was Caps Lock on? Yes when at least two keys that are letters on both layouts were all
    typed upper case (`,EYBY`). Those keys read the same case under either layout, so the
    answer is the same for a text and its retyping, which keeps `retype` reversible."""
    levels = [
        stroke[1]
        for stroke in strokes
        if stroke is not None
        and _is_letter_key(source, stroke[0])
        and _is_letter_key(target, stroke[0])
    ]
    return len(levels) >= 2 and all(levels)


def _layout_named(name: str) -> Layout:
    try:
        return LAYOUTS[name]
    except KeyError:
        raise ValueError(f"unknown keyboard layout {name!r}; known: {sorted(LAYOUTS)}") from None


def retype(text: str, typed_on: str, meant: str) -> str | None:
    """`text` as it would read had the same keys been pressed with layout `meant` active.

    Shift is kept (`Ujujkm` -> `Гоголь`); under Caps Lock, keys that are a letter on one layout
    only follow it (`,EYBY` -> `БУНИН`). Characters no key of `typed_on` types (spaces, «»)
    are kept. None when `text` has a letter `typed_on` cannot type: `Гоголь` was never typed
    on `us`.
    """
    source, target = _layout_named(typed_on), _layout_named(meant)
    text = unicodedata.normalize("NFC", text)
    reverse = _strokes_of(typed_on)
    strokes = [reverse.get(char) for char in text]
    if any(stroke is None and char.isalpha() for char, stroke in zip(text, strokes, strict=True)):
        return None
    caps = _caps_lock(strokes, source, target)
    out = []
    for char, stroke in zip(text, strokes, strict=True):
        if stroke is None:
            out.append(char)
            continue
        key, level = stroke
        if caps:
            level ^= _is_letter_key(source, key) ^ _is_letter_key(target, key)
        out.append(target[key][level])
    return "".join(out)


@dataclass(frozen=True)
class Retyping:
    """A reading of a query: `text` is what the reader meant, typed on `typed_on` while
    thinking in `meant`."""

    typed_on: str
    meant: str
    text: str


def retypings(text: str) -> list[Retyping]:
    """Every distinct reading of `text` over `PAIRS`, in `PAIRS` order: the first pair that
    gives a text keeps it (`Тшяфьш` reads `Nizami` on `us` and on `az`), the input itself is
    never a reading, and a text without letters has none."""
    text = unicodedata.normalize("NFC", text)
    if not any(char.isalpha() for char in text):
        return []
    seen = {text}
    found: list[Retyping] = []
    for typed_on, meant in PAIRS:
        retyped = retype(text, typed_on, meant)
        if retyped is not None and retyped not in seen:
            seen.add(retyped)
            found.append(Retyping(typed_on, meant, retyped))
    return found


def _letters(text: str) -> int:
    return sum(char.isalpha() for char in text)


def _letter_keys(text: str, retyped: str) -> int:
    """Keys that typed a letter in the text or in its retyping (`-43h` is `өңір`: 4, not 1)."""
    return sum(a.isalpha() or b.isalpha() for a, b in zip(text, retyped, strict=True))


def choose(
    text: str,
    known: Callable[[str], bool],
    words: Callable[[str], Sequence[str]],
) -> Retyping | None:
    """The retyping of `text` the index vouches for, or None.

    * A query with a known word of 3+ letters is real and is never retyped (`Гоголь`,
      `Abai`, `Оян қазақ`). Known 1-2 letter words are weak evidence: the punctuation keys
      of a Cyrillic word typed on `us` cut it into fragments (`Абай жолы` -> `F,fq ;jks`),
      and a fragment like `f` is often an author's initial.
    * A retyping qualifies when every word it changed is known (words it left as they were,
      like a year, prove nothing either way), and its known words hold more letters than the
      original's (so a real query of short known words stays as typed). Word counts need not
      match: `Ujujkm ,eyby` has words `Ujujkm`, `eyby`; `Dm.uf` splits `Вьюга` in two.
    * Among qualifying retypings, the one with the most known words wins, then the first
      in `retypings` order. Fewer than `MIN_LETTERS` letter keys are never retyped.
    """
    text = unicodedata.normalize("NFC", text)
    known = cache(known)
    original = list(words(text))
    if any(known(word) for word in original if _letters(word) >= 3):
        return None
    evidence = sum(_letters(word) for word in original if known(word))
    best: Retyping | None = None
    best_known = 0
    for candidate in retypings(text):
        if _letter_keys(text, candidate.text) < MIN_LETTERS:
            continue
        found = list(words(candidate.text))
        changed = [word for word in found if word not in original]
        if not changed or not all(known(word) for word in changed):
            continue
        known_words = [word for word in found if known(word)]
        if sum(_letters(word) for word in known_words) <= evidence:
            continue
        if len(known_words) > best_known:
            best, best_known = candidate, len(known_words)
    return best
