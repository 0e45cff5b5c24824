"""`portal i18n ...`: the translators' workflow over gettext catalogs in locales/."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from babel.messages.catalog import Catalog as MessageCatalog
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po, write_po

from portal.config import REPO_ROOT
from portal.web.i18n import LANGUAGES, LOCALES_DIR, compile_catalogs

POT_PATH = LOCALES_DIR / "messages.pot"
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2)}
# GNU gettext's plural rules; Babel writes nplurals=1 for Turkish, which is wrong for a
# library site ("1 kitap", "2 kitap" are the same word, but keeping two forms lets "1 copy"
# read naturally and matches Weblate and translate-toolkit).
PLURAL_FORMS = {
    "az": "nplurals=2; plural=(n != 1);",
    "kk": "nplurals=2; plural=(n != 1);",
    "tr": "nplurals=2; plural=(n != 1);",
    "en": "nplurals=2; plural=(n != 1);",
    "ru": "nplurals=3; plural=(n%10==1 && n%100!=11 ? 0 : n%10>=2 && n%10<=4 && "
    "(n%100<10 || n%100>=20) ? 1 : 2);",
}
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|\{\w*\}|</?[a-zA-Z][^>]*>")


def po_path(lang: str) -> Path:
    return LOCALES_DIR / lang / "LC_MESSAGES" / "messages.po"


def extract(root: Path = REPO_ROOT) -> MessageCatalog:
    """Every translatable string in the code and templates, as a POT catalog."""
    with (root / "babel.cfg").open() as cfg:
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


def compile_all() -> list[Path]:
    for path in LOCALES_DIR.glob("*/LC_MESSAGES/messages.mo"):
        path.unlink()
    return compile_catalogs()


class PseudoTranslations:
    """A pseudo-locale: every string passed through gettext comes back marked ⟦like this⟧
    with accented letters, so any text on a page without the marks was never translated."""

    ACCENTS = str.maketrans("aeiouAEIOUcnsyCNSY", "àéîõüÀÉÎÕÜçñšýÇÑŠÝ")

    def _mark(self, text: str) -> str:
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
