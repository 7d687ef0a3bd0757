"""Interface texts: French by default, English on request (--lang en or MANO_LANG=en).

The texts live in gettext catalogs, ``tui/locale/<lang>/LC_MESSAGES/<domain>.po``, one domain
per screen family (see ``tui/locale/README.md``). Babel reads them, with each language's real
plural rule from the catalog's ``Plural-Forms`` header. A message id is a dotted key
(``agenda.count``); the code never holds an interface sentence."""

from __future__ import annotations

import gettext
import os
import string
from collections.abc import Callable, Mapping
from functools import cache
from pathlib import Path
from typing import Final

from babel.messages.pofile import read_po

from mano_core.errors import ValidationError

from .numbers import number

KEY_PREFIX: Final = "key."   # a binding's description naming its message (``key.new_action``)
LOCALE_DIR: Final = Path(__file__).parent / "locale"
LANGUAGES: Final = ("fr", "en")
DEFAULT_LANGUAGE: Final = "fr"

# A message is one text, or one text per plural form (the catalog's msgstr[0], msgstr[1]…).
Message = str | tuple[str, ...]


class Catalog:
    """One language's messages, all domains merged, with its plural rule."""

    def __init__(self, lang: str, messages: Mapping[str, Message],
                 plural: Callable[[int], int]) -> None:
        self.lang = lang
        self.messages = dict(messages)
        self.plural = plural


@cache
def catalog(lang: str) -> Catalog:
    """The catalog of ``lang``, read once from its ``.po`` files."""
    messages: dict[str, Message] = {}
    plural_expr = "(n != 1)"
    for path in sorted((LOCALE_DIR / lang / "LC_MESSAGES").glob("*.po")):
        with path.open("rb") as f:
            po = read_po(f, locale=lang)
        plural_expr = po.plural_expr
        for message in po:
            if not message.id:
                continue                       # the header
            key = str(message.id[0] if isinstance(message.id, (tuple, list)) else message.id)
            if key in messages:
                raise ValueError(f"{path.name}: {key!r} is defined in two domains")
            text = message.string
            messages[key] = tuple(text) if isinstance(text, (tuple, list)) else str(text)
    plural: Callable[[int], int] = gettext.c2py(plural_expr)
    return Catalog(lang, messages, plural)


def _first_field(text: str) -> str | None:
    for _, name, _, _ in string.Formatter().parse(text):
        if name:
            return name.split(".")[0].split("[")[0]
    return None


@cache
def _bare_fields(text: str) -> frozenset[str]:
    """The names ``text`` places as they are (``{count}``, not ``{size:.1f}`` or ``{n!r}``)."""
    return frozenset(name for _, name, spec, conversion in string.Formatter().parse(text)
                     if name and not spec and not conversion and name.isidentifier())


class Translator:
    """Looks messages up in one language, falling back to French, then to the key itself.

    A plural message takes its form from ``count`` if given, else from the first value its
    singular text places (``{rows} lignes exportées`` is chosen by ``rows``). Every whole
    number it places without a format of its own is written as the language writes it
    (``10 000`` / ``10,000``, :func:`tui.numbers.number`); pass a ``str`` for a number that
    is a name (a seed, a year)."""

    def __init__(self, lang: str | None = None) -> None:
        lang = (lang or os.environ.get("MANO_LANG") or DEFAULT_LANGUAGE).lower()[:2]
        self.lang = lang if lang in LANGUAGES else DEFAULT_LANGUAGE
        self._catalog = catalog(self.lang)
        self._fallback = catalog(DEFAULT_LANGUAGE)

    def has(self, key: str) -> bool:
        return key in self._catalog.messages or key in self._fallback.messages

    def get(self, key: str, default: str, **values: object) -> str:
        """The message, or ``default`` (a name from the data) when the catalog has none."""
        return self(key, **values) if self.has(key) else default

    def __call__(self, key: str, **values: object) -> str:
        catalog_ = self._catalog
        message = catalog_.messages.get(key)
        if not message:
            catalog_ = self._fallback
            message = catalog_.messages.get(key, key)
        if isinstance(message, tuple):
            message = self._form(catalog_, message, values)
        grouped = {name: number(v, self.lang) for name in _bare_fields(message)
                   if type(v := values.get(name)) is int}
        return message.format(**{**values, **grouped})

    @staticmethod
    def _form(catalog_: Catalog, forms: tuple[str, ...], values: Mapping[str, object]) -> str:
        count = values.get("count")
        if count is None:
            name = _first_field(forms[0])
            count = values.get(name) if name else None
        index = catalog_.plural(count) if isinstance(count, int) else 0
        return forms[min(index, len(forms) - 1)] or forms[0]


def is_key_text(description: str) -> bool:
    """Whether a binding's description is one of ours (a ``key.*`` message id), not one of
    Textual's own widgets' (arrows, editing keys), which the help does not list."""
    return description.startswith(KEY_PREFIX)


def key_text(t: Translator, description: str) -> str:
    """A key binding's description as shown (footer, help, tooltips): bindings are declared
    with a message id (``Binding("n", "new", "key.new_action")``) and translated as they are
    drawn, so switching language needs only a redraw, never a rebuilt binding map."""
    return t(description) if is_key_text(description) else description


# Keys Textual names in English ("esc", "del"): their names in the catalog (keyname.<key>).
NAMED_KEYS = frozenset({"escape", "delete", "enter", "space", "pageup", "pagedown",
                        "backspace", "tab"})


def key_name(t: Translator, key: str) -> str | None:
    """A key's name as a person of the interface's language reads it on the keyboard (the
    footer, the help, the notices): ``Échap``, ``Suppr``, ``Entrée`` in French; ``F1`` for
    ``f1``. None for a key shown as it is (a letter, ``^n``)."""
    if key in NAMED_KEYS:
        return t(f"keyname.{key}")
    if len(key) >= 2 and key[0] == "f" and key[1:].isdigit():
        return key.upper()
    return None


def _param(value: object) -> object:
    if isinstance(value, (list, tuple, set, frozenset)):
        return ", ".join(map(str, value))
    return value


def validation_message(t: Translator, code: str, params: Mapping[str, object]) -> str | None:
    """The one text of an engine validation code (``mano_core.codes``), filled with its
    parameters (a length limit, the options): the catalog's ``error.validation.<code>``
    (every code has one, in both languages: tests/tui/test_language.py). None for a code
    the catalog does not know or a text naming a parameter the error lacks."""
    key = f"error.validation.{code}"
    if not t.has(key):
        return None
    try:
        return t(key, **{k: _param(v) for k, v in params.items()})
    except (KeyError, IndexError):
        return None


def validation_text(t: Translator, exc: ValidationError) -> str:
    """What is wrong with a field, in the interface's language (without the field's name:
    a form shows it under the field). The engine's English ``reason`` never shows."""
    return validation_message(t, exc.code.value, exc.params or {}) \
        or t("error.code.ValidationError")


def error_text(t: Translator, exc: BaseException) -> str:
    """An engine error as one sentence of the interface (a notice): a ValidationError from
    its code (``Non enregistré : obligatoire``), any other from the message of its class
    (or of the nearest base class) in the catalog, ``error.code.<ClassName>``; the engine's
    own messages are English, for logs and developers, never shown as they are."""
    if isinstance(exc, ValidationError):
        return t("error.notice", message=validation_text(t, exc))
    for cls in type(exc).__mro__:
        key = f"error.code.{cls.__name__}"
        if t.has(key):
            return t(key)
    return t("error.code.other", code=type(exc).__name__)
