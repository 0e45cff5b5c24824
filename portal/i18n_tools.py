"""`portal i18n ...`: the translators' workflow over gettext catalogs in locales/."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from babel.messages.catalog import Catalog as MessageCatalog
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po, write_po

from portal import languages
from portal.config import REPO_ROOT
from portal.web.i18n import LANGUAGES, LOCALES_DIR, compile_catalog

POT_PATH = LOCALES_DIR / "messages.pot"
# gettext's own names in code and templates, and portal/errors.py's markers: msg(text, ...),
# nmsg(singular, plural, n, ...) and pmsg(context, text, ...) build messages translated
# where they are shown.
KEYWORDS = {
    "_": None,
    "gettext": None,
    "ngettext": (1, 2),
    "pgettext": ((1, "c"), 2),
    "npgettext": ((1, "c"), 2, 3),
    "msg": (1,),
    "nmsg": (1, 2),
    "pmsg": ((1, "c"), 2),
}
# GNU gettext's plural rules, from the language registry (portal/languages.py).
PLURAL_FORMS = {language.code: language.plural_forms for language in languages.LANGUAGES}
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|\{\w*\}|</?[a-zA-Z][^>]*>")


def po_path(lang: str) -> Path:
    return LOCALES_DIR / lang / "LC_MESSAGES" / "messages.po"


def _source_tree(root: Path) -> Path:
    if not (root / "babel.cfg").exists():
        raise FileNotFoundError(
            f"{root}: no babel.cfg; extracting texts needs the portal's source tree"
        )
    return root


def extract(root: Path = REPO_ROOT) -> MessageCatalog:
    """Every translatable string in the code and templates, as a POT catalog."""
    with (_source_tree(root) / "babel.cfg").open() as cfg:
        method_map, options_map = parse_mapping_cfg(cfg)
    pot = MessageCatalog(project="karabakh-books-portal", version="1", charset="utf-8")
    for filename, lineno, message, comments, context in extract_from_dir(
        str(root), method_map, options_map, keywords=KEYWORDS
    ):
        pot.add(message, None, [(filename, lineno)], auto_comments=comments, context=context)
    return pot


def write_catalog(catalog: MessageCatalog, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".po":
        nplurals, _, expr = PLURAL_FORMS[path.parent.parent.name].partition("; plural=")
        catalog._num_plurals = int(nplurals.split("=")[1])  # Babel has no public setter
        catalog._plural_expr = expr.rstrip(";")
    with path.open("wb") as out:
        write_po(out, catalog, width=0, sort_output=True)
    if path.suffix == ".po":
        lang = path.parent.parent.name
        text = path.read_text(encoding="utf-8")
        text = re.sub(
            r'"Plural-Forms: [^"]*\\n"', f'"Plural-Forms: {PLURAL_FORMS[lang]}\\\\n"', text, count=1
        )
        path.write_text(text, encoding="utf-8")


def read_catalog(path: Path, lang: str | None = None) -> MessageCatalog:
    with path.open("rb") as source:
        return read_po(source, locale=lang)


def update() -> list[Path]:
    """Refresh the POT, then merge it into each language (new strings empty, changed ones
    fuzzy, translations kept)."""
    pot = extract()
    write_catalog(pot, POT_PATH)
    written = []
    for lang in LANGUAGES:
        path = po_path(lang)
        catalog = read_catalog(path, lang) if path.exists() else MessageCatalog(locale=lang)
        catalog.update(pot)
        write_catalog(catalog, path)
        written.append(path)
    return written


@dataclass
class Stats:
    lang: str
    translated: int
    fuzzy: int
    untranslated: int
    words_total: int
    words_translated: int

    @property
    def total(self) -> int:
        return self.translated + self.fuzzy + self.untranslated

    @property
    def percent(self) -> float:
        return 100.0 * self.translated / self.total if self.total else 100.0


def _is_translated(message) -> bool:
    if isinstance(message.string, tuple | list):
        return all(message.string)
    return bool(message.string)


def stats(lang: str) -> Stats:
    catalog = read_catalog(po_path(lang), lang)
    translated = fuzzy = untranslated = words = words_done = 0
    for message in catalog:
        if not message.id:
            continue
        source = message.id[0] if isinstance(message.id, tuple | list) else message.id
        count = len(source.split())
        words += count
        if message.fuzzy:
            fuzzy += 1
        elif _is_translated(message):
            translated += 1
            words_done += count
        else:
            untranslated += 1
    return Stats(lang, translated, fuzzy, untranslated, words, words_done)


def missing(lang: str) -> list[tuple[str, list[tuple[str, int]]]]:
    """Strings still to translate in a language, with where each is used."""
    catalog = read_catalog(po_path(lang), lang)
    out = []
    for message in catalog:
        if message.id and (message.fuzzy or not _is_translated(message)):
            source = message.id[0] if isinstance(message.id, tuple | list) else message.id
            out.append((source, list(message.locations)))
    return out


def placeholders(text: str) -> list[str]:
    return sorted(PLACEHOLDER.findall(text or ""))


def check(lang: str) -> list[str]:
    """Problems in one language's catalog: placeholders or tags that differ from the source,
    a wrong Plural-Forms header, fuzzy or untranslated entries."""
    path = po_path(lang)
    problems = []
    text = path.read_text(encoding="utf-8")
    if f"Plural-Forms: {PLURAL_FORMS[lang]}" not in text:
        problems.append(f"{path}: Plural-Forms must be {PLURAL_FORMS[lang]!r}")
    for message in read_catalog(path, lang):
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple | list) else (message.id,)
        strings = message.string if isinstance(message.string, tuple | list) else (message.string,)
        where = f"{path}:{message.lineno}"
        if message.fuzzy:
            problems.append(f"{where}: fuzzy translation of {ids[0]!r}")
        if not all(strings):
            problems.append(f"{where}: untranslated {ids[0]!r}")
            continue
        expected = placeholders(ids[-1])
        for string in strings:
            found = placeholders(string)
            # a singular form may leave out the count ("one copy"); every other mark must match
            if found != expected and not (len(ids) > 1 and set(found) <= set(expected)):
                problems.append(
                    f"{where}: placeholders or tags {found} differ from the "
                    f"source's {expected} in {string!r}"
                )
    return problems


def compile_all() -> list[str]:
    """Compile every language's catalog with Babel (in memory, as the portal does when it
    starts); returns the languages compiled. A catalog Babel cannot read raises."""
    for lang in LANGUAGES:
        compile_catalog(lang)
    return list(LANGUAGES)


class PseudoTranslations:
    """A pseudo-locale: every string passed through gettext that translators can see (it is
    in the template catalog, locales/messages.pot) comes back marked ⟦like this⟧ with
    accented letters. Text on a page without the marks never reaches translators: written
    in a template or built in Python without gettext, or passed to gettext but never
    extracted (a message built from a variable)."""

    ACCENTS = str.maketrans("aeiouAEIOUcnsyCNSY", "àéîõüÀÉÎÕÜçñšýÇÑŠÝ")

    def __init__(self, known: set[tuple[str | None, str]] | None = None):
        self.known = known

    @classmethod
    def from_pot(cls, path: Path = POT_PATH) -> PseudoTranslations:
        catalog = read_catalog(path)
        known = set()
        for message in catalog:
            for text in message.id if isinstance(message.id, tuple | list) else (message.id,):
                known.add((message.context, text))
        return cls(known)

    def _mark(self, text: str, context: str | None = None) -> str:
        if self.known is not None and (context, text) not in self.known:
            return text
        parts = re.split(r"(%\(\w+\)[sd]|<[^>]+>)", text)
        return (
            "⟦"
            + "".join(p if i % 2 else p.translate(self.ACCENTS) for i, p in enumerate(parts))
            + "⟧"
        )

    def gettext(self, message: str) -> str:
        return self._mark(message)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return self._mark(singular if n == 1 else plural)

    def pgettext(self, context: str, message: str) -> str:
        return self._mark(message, context)

    def npgettext(self, context: str, singular: str, plural: str, n: int) -> str:
        return self._mark(singular if n == 1 else plural, context)
