"""A YAML parser's complaint, said the same way whichever parser found it, with its fix.

libyaml (PyYAML's C parser, used when it was compiled in) and PyYAML's pure-Python parser
stop at the same place for the same mistake, but word it differently ("did not find
expected key" / "expected <block end>, but found '<scalar>'"), and a new libyaml release
may word it differently again. Neither says what the writer most likely did wrong. So each
known complaint is recognised by either parser's wording and said once, in shipspec's words,
with the likely cause: a template left unquoted, a tab, an over-indented key.
"""

import re
from typing import Any, NamedTuple

from shipspec.errors import Location, Problem
from shipspec.pyyaml import yaml


class _Complaint(NamedTuple):
    problem: re.Pattern[str]  # matches libyaml's and PyYAML's wording of `problem`
    context: str  # the parser's `context` it must come with ("" for any)
    message: str  # {start}: where the construct the parser was reading began
    hint: str
    at_start: bool = False  # report where the construct began, not where the parser stopped


_QUOTE = "quote a value that holds ': ', or starts with '{', '[', '@', '`', '%' or '*'"
_COMPLAINTS = [
    _Complaint(re.compile("mapping values are not allowed"), "",
               "unexpected ':' (a new key cannot start here)",
               f"{_QUOTE}; a key belongs in the same column as the keys beside it (this one "
               "may be indented too far)"),
    _Complaint(re.compile("did not find expected key|expected <block end>"),
               "while parsing a block mapping",
               "expected a key of the mapping that starts at {start}",
               "every key of a mapping starts in the same column; a value that runs on after "
               "a closing quote or bracket must be quoted whole"),
    _Complaint(re.compile("did not find expected '-' indicator|expected <block end>"),
               "while parsing a block collection",
               "expected another '- ' item of the list that starts at {start}",
               "a key after a list belongs at the indentation of the key that holds the list"),
    _Complaint(re.compile(r"did not find expected ',' or '\]'|expected ',' or '\]'"), "",
               "the list opened with '[' at {start} is not closed with ']'", _QUOTE),
    _Complaint(re.compile(r"did not find expected ',' or '\}'|expected ',' or '\}'"), "",
               "the mapping opened with '{{' at {start} is not closed with '}}'", _QUOTE),
    _Complaint(re.compile("did not find expected node content|expected the node content"), "",
               "expected a value here", _QUOTE),
    _Complaint(re.compile("found unexpected end of stream"), "while scanning a quoted scalar",
               "this quoted string is never closed",
               "close it with the quote it was opened with", at_start=True),
    _Complaint(re.compile("found unknown escape character"), "",
               "this double-quoted string holds an unknown escape sequence",
               "use single quotes for text with backslashes, or write '\\\' for one "
               "backslash", at_start=True),
    _Complaint(re.compile("could not find expected ':'"), "while scanning a simple key",
               "expected ':' after this key",
               "a line of a mapping is 'key: value'; a value continued on the next line is "
               "indented more than its key", at_start=True),
    _Complaint(re.compile("found duplicate %?YAML directive"), "",
               "a second %YAML directive", "keep one"),
    _Complaint(re.compile("found undefined tag handle"), "",
               "a tag with a handle that no %TAG directive defines",
               "shipspec's files need no tags: remove it"),
    _Complaint(re.compile(r"did not find the expected '>'|expected '>', but found"), "",
               "a verbatim tag '!<...>' is not closed with '>'",
               "shipspec's files need no tags: remove it"),
]
_TEMPLATE = ("a value that starts with '{{' must be quoted, or YAML reads a mapping: "
             "write tag: \"{{ module }}-x\"")
_LIST_ITEM = "a '- ' item must be indented under the key whose list it is"


def problem_of(err: yaml.YAMLError, text: str, file: str) -> Problem:
    """The located, worded problem for a parser's error on `text`."""
    if isinstance(err, yaml.reader.ReaderError):
        return _unreadable_character(err, text, file)
    stopped = isinstance(err, yaml.MarkedYAMLError) and (err.problem_mark or err.context_mark)
    if not stopped:
        return Problem(Location(file, 1, 1), "", f"invalid YAML: {err}")
    assert isinstance(err, yaml.MarkedYAMLError)
    began = err.context_mark or stopped
    problem, context = (err.problem or "").strip(), (err.context or "").strip()
    line_text = _line(text, stopped.line)
    found = line_text[stopped.column:stopped.column + 1]
    if "cannot start any token" in problem:
        message, hint = _unstartable(found)
        return Problem(_location(file, text, stopped), "", f"invalid YAML: {message}", hint)
    for complaint in _COMPLAINTS:
        if complaint.problem.search(problem) and complaint.context in context:
            start = f"line {began.line + 1}, column {began.column + 1}"
            hint = complaint.hint
            if "{{" in line_text:  # the likeliest cause wherever it is
                hint = _TEMPLATE
            elif found == "-" and "block mapping" in complaint.context:
                hint = _LIST_ITEM
            mark = began if complaint.at_start else stopped
            return Problem(_location(file, text, mark), "",
                           "invalid YAML: " + complaint.message.format(start=start), hint)
    return Problem(_location(file, text, stopped), "", f"invalid YAML: {problem or context}")


def _unstartable(found: str) -> tuple[str, str]:
    if found == "\t":
        return "a tab character where YAML expects spaces", "indent with spaces, never tabs"
    return (f"a value cannot start with '{found}'",
            f"quote the value: YAML reserves '{found}' at the start of a plain value")


def _unreadable_character(err: Any, text: str, file: str) -> Problem:
    # libyaml counts the offset in UTF-8 bytes, PyYAML in characters; reading stops at the
    # first character YAML does not allow, so its first occurrence is the one.
    character = err.character if isinstance(err.character, str) else chr(err.character)
    return Problem(Location.of_offset(file, text, max(text.find(character), 0)), "",
                   f"invalid YAML: the character U+{ord(character):04X} is not allowed in YAML",
                   "remove it, or write it as an escape in a double-quoted string (\"\\x07\")")


def _line(text: str, index: int) -> str:
    lines = text.splitlines()
    return lines[index] if 0 <= index < len(lines) else ""


def _location(file: str, text: str, mark: Any) -> Location:
    return Location.within(file, text, mark.line + 1, mark.column + 1)


def catalogue() -> list[tuple[str, str]]:
    """(what shipspec says, the fix) for every YAML mistake it names: the reference pages."""
    tab = _unstartable("\t")
    return [*((complaint.message.format(start="line L, column C"), complaint.hint)
              for complaint in _COMPLAINTS),
            tab, ("expected a key ... (on a line with an unquoted '{{')", _TEMPLATE)]
