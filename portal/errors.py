"""Domain errors and the messages they carry.

A `Message` is an English sentence with `%(name)s` values, marked for translation where it
is written (`msg("...")`, extracted by `portal i18n extract`) and translated where it is
shown: the web app in the reader's language, the command line in English. The error classes
carry their HTTP status, so the app maps every domain failure to a response in one place.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol


class Translator(Protocol):
    def gettext(self, message: str) -> str: ...

    def ngettext(self, singular: str, plural: str, n: int) -> str: ...

    def pgettext(self, context: str, message: str) -> str: ...


class _Source:
    """The texts as written (English): the command line's language."""

    def gettext(self, message: str) -> str:
        return message

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return singular if n == 1 else plural

    def pgettext(self, context: str, message: str) -> str:
        return message


SOURCE = _Source()


@dataclass(frozen=True)
class Message:
    text: str
    params: Mapping[str, object] = field(default_factory=dict)
    context: str | None = None  # where one English text has two jobs ("Copies")
    plural: str | None = None  # the plural text, chosen by the count in params["n"]

    def translate(self, translator: Translator) -> str:
        """The sentence in a language: values that are messages themselves are translated
        too (a reason inside a sentence)."""
        values = {
            key: value.translate(translator) if isinstance(value, Message) else value
            for key, value in self.params.items()
        }
        if self.plural is not None:
            template = translator.ngettext(self.text, self.plural, int(self.params["n"]))
        elif self.context is None:
            template = translator.gettext(self.text)
        else:
            template = translator.pgettext(self.context, self.text)
        try:
            return template % values if values else template
        except (KeyError, ValueError, TypeError):  # a broken translation: the source text
            source = self.plural if self.plural and values.get("n") != 1 else self.text
            return source % values if values else source

    def __str__(self) -> str:
        return self.translate(SOURCE)

    def to_json(self) -> dict:
        """The message as plain data (kept in a job's result, translated when shown)."""
        return {
            "text": self.text,
            "params": {
                k: v.to_json() if isinstance(v, Message) else v for k, v in self.params.items()
            },
            "context": self.context,
            "plural": self.plural,
        }

    @classmethod
    def from_json(cls, data: dict) -> Message:
        params = {
            k: cls.from_json(v) if isinstance(v, dict) and "text" in v else v
            for k, v in data["params"].items()
        }
        return cls(data["text"], params, data.get("context"), data.get("plural"))


def msg(text: str, **params: object) -> Message:
    """Mark a sentence for translation; it is translated when shown."""
    return Message(text, params)


def nmsg(singular: str, plural: str, n: int, **params: object) -> Message:
    """`msg` with a count: the form for `n` in each language (`%(n)s` is the count)."""
    return Message(singular, {"n": n, **params}, plural=plural)


def pmsg(context: str, text: str, **params: object) -> Message:
    """`msg` for a text whose English is used for two things (a heading and a button)."""
    return Message(text, params, context)


class PortalError(Exception):
    """A request the portal refuses for a reason the user can act on."""

    status = 400

    def __init__(self, message: Message | str, **params: object):
        self.message = message if isinstance(message, Message) else Message(message, params)
        super().__init__(str(self.message))

    def translate(self, translator: Translator) -> str:
        return self.message.translate(translator)


class InvalidInput(PortalError):
    """A value that breaks a rule; the message names the value and the rule."""

    status = 400


class NotFound(PortalError):
    status = 404


class Forbidden(PortalError):
    """The signed-in user's role does not allow this action."""

    status = 403


class Conflict(PortalError):
    """Someone else changed the thing meanwhile, or it already exists: nothing was written."""

    status = 409


class Busy(PortalError):
    """The catalog is busy with another write: nothing was written; try again shortly."""

    status = 503


class TooLarge(PortalError):
    """An upload or a form larger than the portal accepts."""

    status = 413


class NotSignedIn(PortalError):
    """A staff page asked for without a session: the sign-in page answers."""

    status = 401
