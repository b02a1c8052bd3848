"""Help screens in the learner's language: click's help with every text from the message catalog
(the commands' docstrings and the options' help are the message ids; ``tests/catalogs.py``
collects them) and wrapped by display width, Chinese characters taking two columns.

A paragraph that starts with click's ``\\b`` keeps its lines as written (in a translation too).
"""

from __future__ import annotations

import inspect

import click

from .i18n import N_, _
from .text import display_width, wrap

def _wide(c: str) -> bool:
    return display_width(c) == 2


# click's own words on a help screen; the help of --help and --version
USAGE, OPTIONS, COMMANDS = N_("Usage: "), N_("Options"), N_("Commands")
CLICK_HELP = (N_("Show this message and exit."), N_("Show the version and exit."))


def translated(text: str | None) -> str:
    """A help text (a docstring, cleaned) in the language in force, up to click's form feed."""
    return _(inspect.cleandoc(text)).partition("\f")[0] if text else ""


def _join(lines: list[str]) -> str:
    """The lines of one paragraph as one line: joined by a space, or by nothing between two
    Chinese characters (a translator's line break inside a sentence)."""
    out = ""
    for line in (l.strip() for l in lines):
        if out and line and not (_wide(out[-1]) and _wide(line[0])):
            out += " "
        out += line
    return out


def fill(text: str, width: int, indent: str = "", subsequent: str | None = None) -> list[str]:
    """``text`` as lines of at most ``width`` columns: paragraphs (split by blank lines) rewrapped,
    ``\\b`` paragraphs kept line by line."""
    subsequent = indent if subsequent is None else subsequent
    out = []
    for k, para in enumerate(text.strip("\n").split("\n\n")):
        lines = para.split("\n")
        if k:
            out.append("")
        if lines[0].strip() == "\b":
            out += [indent + l for l in lines[1:]]
        else:
            out += wrap(_join(lines), width, indent, subsequent)
    return out


class Formatter(click.HelpFormatter):
    """click's formatter, wrapping by display width and saying "Usage:" in the language in force."""

    def write_usage(self, prog: str, args: str = "", prefix: str | None = None) -> None:
        super().write_usage(prog, args, _(USAGE) if prefix is None else prefix)

    def write_heading(self, heading: str) -> None:
        self.write(" " * self.current_indent + _("{heading}:").format(heading=heading) + "\n")

    def write_text(self, text: str) -> None:
        indent = " " * self.current_indent
        self.write("\n".join(fill(text, self.width, indent)) + "\n")

    def write_dl(self, rows, col_max: int = 30, col_spacing: int = 2) -> None:
        rows = list(rows)
        if not rows:
            return
        first_col = min(max(display_width(first) for first, _second in rows), col_max) + col_spacing
        indent = self.current_indent
        for first, second in rows:
            self.write(" " * indent + first)
            if not second:
                self.write("\n")
                continue
            if display_width(first) <= first_col - col_spacing:
                self.write(" " * (first_col - display_width(first)))
            else:
                self.write("\n" + " " * (first_col + indent))
            lines = fill(second, max(self.width - first_col - indent, 10)) or [""]
            self.write(lines[0] + "\n")
            for line in lines[1:]:
                self.write(" " * (first_col + indent) + line + "\n" if line else "\n")


class Context(click.Context):
    formatter_class = Formatter


class TranslatedHelp:
    """Mixed into click's Command and Group: help, short help, option help and section headings
    from the message catalog, at the time the help is shown (the language is known by then)."""

    context_class = Context

    def format_help_text(self, ctx, formatter) -> None:
        text = translated(self.help)
        if text:
            formatter.write_paragraph()
            with formatter.indentation():
                formatter.write_text(text)

    def get_short_help_str(self, limit: int = 45) -> str:
        """The first sentence of the help (。 ends one too), cut to ``limit`` columns."""
        text = _(inspect.cleandoc(self.short_help)) if self.short_help else \
            _join(translated(self.help).split("\n\n")[0].split("\n"))
        for end in (". ", "。"):
            if end in text:
                text = text[:text.index(end) + len(end.strip())]
        if display_width(text) > limit:  # cut at a space (English) or a character (Chinese)
            while display_width(text + "…") > limit:
                text = text.rsplit(" ", 1)[0] if " " in text and not _wide(text[-1]) else text[:-1]
            text = text.rstrip(" ,;:") + "…"
        return text.strip()

    def format_options(self, ctx, formatter) -> None:
        rows = []
        for param in self.get_params(ctx):
            original = getattr(param, "help", None)
            if original:
                param.help = _(original)
            try:
                record = param.get_help_record(ctx)
            finally:
                if original:
                    param.help = original
            if record is not None:
                rows.append(record)
        if rows:
            with formatter.section(_(OPTIONS)):
                formatter.write_dl(rows)
        if isinstance(self, click.Group):  # as click.Group.format_options does
            self.format_commands(ctx, formatter)

    def format_commands(self, ctx, formatter) -> None:
        commands = [(name, self.get_command(ctx, name)) for name in self.list_commands(ctx)]
        commands = [(name, cmd) for name, cmd in commands if cmd is not None and not cmd.hidden]
        if commands:
            limit = formatter.width - 6 - max(len(name) for name, _cmd in commands)
            with formatter.section(_(COMMANDS)):
                formatter.write_dl([(name, cmd.get_short_help_str(limit)) for name, cmd in commands])


class Command(TranslatedHelp, click.Command):
    pass


def help_messages(group: click.Group):
    """Every help text of ``group`` and its commands, as the catalog's message ids (for tests/catalogs.py)."""
    for cmd in (group, *group.commands.values()):
        for text in (cmd.help, cmd.short_help, *(getattr(p, "help", None) for p in cmd.params)):
            if text:
                yield inspect.cleandoc(text)
