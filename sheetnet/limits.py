"""Every size sheetnet accepts, in one place (the README's "Security" note lists them).

A spec, a CSV file and a workbook are untrusted input: each is checked against these limits
before anything is allocated, trained or written, so a hostile or mistaken file ends in one
line naming the limit, never in an exhausted machine.
"""

from __future__ import annotations

import unicodedata

# -- a spec and its data ---------------------------------------------------------------------
MAX_SPEC_BYTES = 16 * 1024**2  # a TOML spec file
MAX_CSV_BYTES = 256 * 1024**2  # a CSV data file
MAX_SAMPLES = 1_000_000  # rows of data
MAX_LAYERS = 64  # [[layers]] tables
MAX_UNITS = 65_536  # units of one layer (an image of 256x256)
MAX_TOTAL_UNITS = 1_000_000  # units of all layers together (conv maps included)
MAX_PARAMETERS = 5_000_000  # weights and biases of the network
MAX_INTEGER = 2**53  # epochs, batch_size, seed, sizes: whole numbers a float holds exactly
MAX_NAME = 200  # characters in a unit, parameter or spec name
MAX_STEPS = 10_000_000  # optimizer steps of one run
MAX_WALK_STEPS = 10_000  # steps `sheetnet step` prints

# -- what a run may need -----------------------------------------------------------------------
MAX_TRACE_BYTES = 2 * 1024**3  # memory for recording every value of a run
MAX_WORKBOOK_CELLS = 20_000_000  # cells of a workbook sheetnet writes (about 400 MB of XML)
MAX_VALUE = 1e150  # |parameter| or |gradient|: a product of two such stays finite in any spreadsheet
MAX_STORED = 1e300  # |any other value| written into a number cell

# -- a workbook read back ----------------------------------------------------------------------
MAX_UNPACKED = 1024**3  # bytes of all parts of an .xlsx together, unpacked
MAX_MEMBER_RATIO = 200  # unpacked / packed size of one part over 1 MB (a zip bomb)
MAX_PARTS = 10_000  # files inside an .xlsx
MAX_SHEETS = 1_000  # worksheets read from one workbook
MAX_CELLS_READ = 50_000_000  # cells parsed from one workbook (work per file)
MAX_SHARED_STRINGS = 10_000_000  # entries of the shared-string table
MAX_SPEC_LINES = 1_000_000  # lines of the spec stored in a workbook's hidden sheet

# -- child processes ---------------------------------------------------------------------------
RECALC_TIMEOUT = 900  # seconds a spreadsheet engine may take to recalculate


def bad_name_char(text: str) -> str | None:
    """The first character a name may not hold, or None.

    Control and format characters (category C: NUL…, DEL, U+0085, zero-width marks,
    unpaired surrogates) and line or paragraph separators (U+2028, U+2029) cannot travel
    through XML, TOML and the spreadsheet's cells unchanged, so names never contain them."""
    for ch in text:
        cat = unicodedata.category(ch)
        if cat[0] == "C" or cat in ("Zl", "Zp"):
            return ch
    return None


def check_name(text: str) -> str | None:
    """Why ``text`` is not a usable name (one phrase), or None."""
    if len(text) > MAX_NAME:
        return f"a name may have at most {MAX_NAME} characters, got {len(text):,}"
    ch = bad_name_char(text)
    if ch is not None:
        return f"a name may not contain the control character U+{ord(ch):04X}"
    return None
