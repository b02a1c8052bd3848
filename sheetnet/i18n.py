"""The language sheetnet speaks: every sentence a person reads goes through ``_()``, which looks it
up in a gettext message catalog (``sheetnet/locale/<lang>/LC_MESSAGES/sheetnet.po``, compiled to
``.mo``; a translator edits the ``.po``).  English is the source text and needs no catalog.

The language is ``--lang`` where a command gives it, otherwise the environment's locale
(``LANGUAGE``, ``LC_ALL``, ``LC_MESSAGES``, ``LANG``, in that order): zh_CN, zh_SG and zh_Hans give
simplified Chinese, zh_TW, zh_HK, zh_MO and zh_Hant traditional Chinese, anything else English.
"""

from __future__ import annotations

import functools
import gettext
import os

LANGUAGES = ("en", "zh-CN", "zh-TW")
DOMAIN = "sheetnet"
LOCALE_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "locale")
_CATALOG_OF = {"zh-CN": "zh_CN", "zh-TW": "zh_TW"}

_current = gettext.NullTranslations()
language = "en"


def from_environment(environ=None) -> str:
    """The language the environment's locale asks for (one of LANGUAGES)."""
    environ = os.environ if environ is None else environ
    for var in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"):
        value = environ.get(var, "")
        if not value:
            continue
        first = value.split(":")[0].split(".")[0].replace("-", "_").lower()
        if first.startswith("zh"):
            traditional = any(tag in first for tag in ("_tw", "_hk", "_mo", "hant"))
            return "zh-TW" if traditional else "zh-CN"
        return "en"
    return "en"


def set_language(code: str | None = None) -> str:
    """Speak ``code`` from now on (None: the environment's); returns the language in force."""
    global _current, language
    language = code or from_environment()
    if language == "en":
        _current = gettext.NullTranslations()
    else:
        _current = gettext.translation(DOMAIN, LOCALE_DIR, languages=[_CATALOG_OF[language]])
    return language


def _(message: str) -> str:
    """``message`` in the language in force."""
    return _current.gettext(message)


@functools.lru_cache(maxsize=None)
def _catalog(code: str):
    return gettext.NullTranslations() if code == "en" else \
        gettext.translation(DOMAIN, LOCALE_DIR, languages=[_CATALOG_OF[code]])


def gettext_in(code: str, message: str) -> str:
    """``message`` in language ``code`` (one of LANGUAGES), whatever the language in force: the
    words a workbook was written in (its sheet names) are read back in that language."""
    return _catalog(code if code in LANGUAGES else "en").gettext(message)


def N_(message: str) -> str:
    """Marks a message for the catalog where it is defined; ``_()`` translates it where it is used."""
    return message


def ngettext(singular: str, plural: str, n: int) -> str:
    return _current.ngettext(singular, plural, n)


set_language()
