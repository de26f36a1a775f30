"""The error family: every failure a user can act on is one of these.

The CLI turns them into a message on stderr and an exit code (see `cli/main.py`);
nothing else in shipspec prints errors or chooses exit codes.
"""

import re
from collections.abc import Iterable
from typing import NamedTuple

# What a terminal would act on rather than show (an ESC sequence in a module name, a carriage
# return), and lone surrogates, which no output can encode: escaped in every message. Line
# breaks and tabs stay: messages use them on purpose (diffs, hints).
# a pattern, compiled when the first problem is shown: a run without one never pays
_CONTROL = "[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]"


def _escape(found: re.Match[str]) -> str:
    code = ord(found.group(0))
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: str) -> str:
    """`text` with what a terminal or a CI log would act on escaped: every message goes
    through this on its way out, whatever it quotes (git's words, a URL from the command
    line, a server's)."""
    return re.sub(_CONTROL, _escape, text)


def one_line(text: str) -> str:
    """`text` as `printable` makes it, its line breaks and tabs escaped too: a value from a
    file shown within a line (a tag), which could otherwise start a line of its own, one a
    reader takes for shipspec's own (a history entry), or one GitHub's runner acts on (a
    log line starting with `::` is a workflow command: `::error::`, `::add-mask::`)."""
    return printable(text).replace("\t", "\\x09").replace("\n", "\\x0a")


def note(text: str) -> None:
    """Tell the person running shipspec `text` at once, on stderr, while the command goes on
    (a request asked again). Through logging, imported only then: a program that uses
    shipspec as a library gets it in its own log; without a handler of the program's,
    logging's last resort prints the text alone."""
    import logging

    logging.getLogger("shipspec").warning("%s", printable(text))


QUOTED_LIMIT = 60  # characters of a value or key a message quotes


def shown(text: str, limit: int = QUOTED_LIMIT) -> str:
    """A string as messages quote it: escaped (control characters, lone surrogates) and cut
    to `limit` characters, so a whole file or an escape sequence never lands in a message."""
    if len(text) <= limit:
        return repr(text)
    return f"{text[:limit]!r}... ({len(text):,} characters)"


class Location(NamedTuple):
    """A place in a file, 1-based like every editor shows it."""

    file: str
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"

    @classmethod
    def of_offset(cls, file: str, text: str, offset: int) -> "Location":
        """Where the character at `offset` of `text` stands."""
        line_start = text.rfind("\n", 0, offset) + 1
        return cls(file, text.count("\n", 0, offset) + 1, offset - line_start + 1)

    @classmethod
    def within(cls, file: str, text: str, line: int, column: int,
               end: tuple[int, int] | None = None) -> "Location":
        """(line, column), moved back onto `text` when it lies past its end: a YAML parser
        puts the end of the stream (a truncated file, an empty `---` document) on a line
        after the last one. `end` is text_end(text), when the caller has it."""
        lines, last = end or text_end(text)
        if line <= lines:
            return cls(file, line, column)
        return cls(file, lines, last + 1)


def text_end(text: str) -> tuple[int, int]:
    """(number of lines, length of the last one) of `text`, as a parser counts lines."""
    lines = text.splitlines() or [""]
    return len(lines), len(lines[-1])


class Problem(NamedTuple):
    """One thing wrong with the input: where, which field, what, and how to fix it."""

    location: Location | None
    path: str  # dotted field path such as "modules.core.dockerfile"; "" for the whole file
    message: str
    hint: str = ""

    def __str__(self) -> str:
        where = f"{self.location}: " if self.location else ""
        field = f"{self.path}: " if self.path else ""
        text = f"{where}error: {field}{self.message}"
        if self.hint:
            text += f"\n  hint: {self.hint}"
        return printable(text)


class ShipspecError(Exception):
    """Base of every error shipspec reports to its user instead of a traceback."""

    exit_code = 2


# The problems one message lists, in file order. A 4 MiB spec can hold some 80,000 (25 MB of
# text, and seconds of hints), and Argo CD puts the plugin's whole stderr into the
# Application's status (v3.5.1, cmpserver/plugin/plugin.go, CmdError), an object the API
# server refuses past etcd's 1.5 MiB: the Application would then show no error at all.
SHOWN_PROBLEMS = 100


class SpecError(ShipspecError):
    """The input is wrong (spec, flags, files it names): exit 1 with the problems found, the
    first SHOWN_PROBLEMS of them in the message."""

    exit_code = 1

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = sorted(
            set(problems),  # a template shared by many modules fails once, not once per module
            key=lambda p: (p.location or Location("", 0, 0), p.path, p.message),
        )
        shown_problems = self.problems[:SHOWN_PROBLEMS]
        if len(self.problems) > SHOWN_PROBLEMS:
            shown_problems.append(Problem(
                None, "", f"more problems than these {SHOWN_PROBLEMS}; the rest are not shown",
                "fix these and run again"))
        super().__init__("\n".join(str(p) for p in shown_problems))

    @classmethod
    def single(
        cls, message: str, *, location: Location | None = None, path: str = "", hint: str = ""
    ) -> "SpecError":
        return cls([Problem(location, path, message, hint)])


class RuntimeFailure(ShipspecError):
    """The input was fine but the world was not (git, network, file system): exit 2."""

    exit_code = 2


class Terminated(BaseException):
    """SIGTERM arrived (cli/termination.py). Like KeyboardInterrupt, not an Exception: no
    `except Exception` takes it for a failure to report, and cleanups run on the way out."""

    exit_code = 143  # 128 + SIGTERM, as a shell reports a command that SIGTERM stopped
