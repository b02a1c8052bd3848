"""Text for a terminal: width in display columns (a Chinese character takes two), wrapping at
the terminal's width that breaks Chinese between characters and numbers only at spaces."""

from __future__ import annotations

import shutil
import unicodedata


def display_width(text: str) -> int:
    """Columns a terminal gives ``text``: two for wide (CJK) characters, none for combining marks."""
    return sum(0 if unicodedata.combining(c) else 2 if unicodedata.east_asian_width(c) in "WF" else 1
               for c in text)


NO_LINE_START = "，。、；：？！）」』》〉”’,.;:?!)"  # punctuation a Chinese line never starts with


def _wide(c: str) -> bool:
    return unicodedata.east_asian_width(c) in "WF"


def wrap(text: str, width: int, indent: str = "", subsequent: str = "") -> list[str]:
    """``text`` broken into lines of at most ``width`` display columns: at spaces, and between the
    characters of Chinese text, which has no spaces (a word wider than a line is broken inside)."""
    lines, line = [], indent
    for word in text.split(" "):
        while True:
            at_start = line in (indent, subsequent)
            if at_start and not word:  # the spaces of a gap that fell on a line break
                break
            gap = "" if at_start else " "
            room = width - display_width(line + gap)
            if display_width(word) <= room:
                line += gap + word
                break
            # the most of the word that fits: any prefix at a line's start, else one that ends on or
            # before a wide character (Chinese breaks between characters, never inside a number)
            cut = anywhere = 0
            for end in range(1, len(word)):
                if display_width(word[:end]) > room:
                    break
                anywhere = end
                if (_wide(word[end - 1]) or _wide(word[end])) and word[end] not in NO_LINE_START:
                    cut = end
            cut = cut or (anywhere if at_start else 0)
            if cut:
                lines.append((line + gap + word[:cut]).rstrip())
                line, word = subsequent, word[cut:]
            elif at_start:  # not even one character fits: give it the line
                lines.append(line + word[:1])
                line, word = subsequent, word[1:]
            else:
                lines.append(line.rstrip())
                line = subsequent
    if line.strip():
        lines.append(line.rstrip())
    return lines


def terminal_width() -> int:
    """The terminal's width (``COLUMNS`` if set; 80 when the output is not a terminal), at least 40."""
    return max(40, shutil.get_terminal_size((80, 24)).columns)
