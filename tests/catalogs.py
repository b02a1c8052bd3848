"""The message catalogs: extract every ``_()``, ``N_()`` and ``ngettext()`` message from the package,
bring the .po catalogs up to date and compile them to .mo (Babel does the work).

    python tests/catalogs.py        # after changing or adding a message, then translate the
                                    # new entries in sheetnet/locale/*/LC_MESSAGES/sheetnet.po
                                    # and run it again to compile them

The tests use the same functions to check that every message has a translation in every
catalog and that the compiled .mo files are those of the .po files.
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

PACKAGE = Path(__file__).resolve().parents[1] / "sheetnet"
sys.path.insert(0, str(PACKAGE.parent))  # this checkout's sheetnet, installed or not
LOCALES = {"zh-CN": "zh_CN", "zh-TW": "zh_TW"}
KEYWORDS = {"_": None, "N_": None, "ngettext": (1, 2)}


def template() -> Catalog:
    """Every message of the package, as a catalog without translations."""
    catalog = Catalog(project="sheetnet")
    for filename, lineno, message, comments, context in extract_from_dir(
            str(PACKAGE), method_map=[("**.py", "python")], keywords=KEYWORDS):
        catalog.add(message, locations=[(f"sheetnet/{filename}", lineno)], auto_comments=comments, context=context)
    from sheetnet.cli import main
    from sheetnet.cli_help import help_messages

    for message in help_messages(main):  # the commands' docstrings and the options' help
        if message not in catalog:
            catalog.add(message, locations=[("sheetnet/cli.py", 0)], auto_comments=["help of a command or option"])
    return catalog


def po_path(locale: str) -> Path:
    return PACKAGE / "locale" / locale / "LC_MESSAGES" / "sheetnet.po"


def read(locale: str) -> Catalog:
    with open(po_path(locale), "rb") as fh:
        return read_po(fh, locale=locale)


def compiled(catalog: Catalog) -> bytes:
    out = io.BytesIO()
    write_mo(out, catalog)
    return out.getvalue()


def update():
    tmpl = template()
    for locale in LOCALES.values():
        path = po_path(locale)
        path.parent.mkdir(parents=True, exist_ok=True)
        catalog = read(locale) if path.exists() else Catalog(locale=locale, project="sheetnet")
        catalog.update(tmpl, no_fuzzy_matching=True)
        with open(path, "wb") as fh:
            write_po(fh, catalog, width=100, omit_header=False, sort_output=False, include_previous=False)
        path.with_suffix(".mo").write_bytes(compiled(read(locale)))
        missing = [m.id for m in read(locale) if m.id and not m.string]
        print(f"{path.relative_to(PACKAGE.parent)}: {len(tmpl)} messages, {len(missing)} untranslated")


if __name__ == "__main__":
    update()
