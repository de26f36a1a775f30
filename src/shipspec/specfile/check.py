"""Check a loaded document against a schema from `schema.py`, collecting every problem.

Only the keywords our schema uses are implemented; each problem carries the file position,
the dotted field path and a hint. A general validator (jsonschema) would cost more start-up
time than all of `shipspec generate` and knows neither positions nor hints.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable
from functools import cache
from typing import Any

from shipspec.errors import SHOWN_PROBLEMS, Problem, shown
from shipspec.specfile.loading import Document, FieldPath, dotted

Report = Callable[..., None]

_TYPE_NAMES = {"string": "a string", "integer": "an integer", "boolean": "true or false",
               "object": "a mapping", "array": "a list"}


class _Enough(Exception):
    """More problems found than a message shows: the rest would cost time and no reader."""


def check(document: Document, schema: dict[str, Any]) -> list[Problem]:
    """The ways `document` breaks `schema`, in file order: every one, or past SHOWN_PROBLEMS
    (all a message lists) one more, which says that there are more."""
    problems: list[Problem] = []
    with contextlib.suppress(_Enough):  # (contextlib: imported by then, at no cost)
        _check(document, schema, document.data, (), problems)
    return problems


@cache
def schema_pattern(pattern: str) -> re.Pattern[str]:
    """A JSON Schema pattern as Python runs it. In JSON Schema (ECMA-262) `$` ends the
    string; in Python it also matches before a final newline, which let `"ci\\n"` pass as
    a namespace. A trailing `$` therefore becomes `\\Z`."""
    if pattern.endswith("$") and not pattern.endswith("\\$"):
        pattern = pattern[:-1] + r"\Z"
    return re.compile(pattern)


def describe(value: Any) -> str:
    """How a value reads in an error message: its YAML type and the value itself."""
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, int | float):
        return f"the number {value}"
    if isinstance(value, str):
        return f"the string {shown(value)}"
    return "a mapping" if isinstance(value, dict) else "a list"


def _type_ok(expected: str, value: Any) -> bool:
    if expected == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    python_type = {"string": str, "boolean": bool, "object": dict, "array": list}[expected]
    return isinstance(value, python_type)


def _type_hint(expected: str, value: Any) -> str:
    if expected == "string" and (isinstance(value, bool | int | float) or value is None):
        return "YAML reads unquoted yes/no/on/off, numbers and null as non-strings; quote it"
    return ""


def _check(
    document: Document, schema: dict[str, Any], value: Any, path: FieldPath,
    problems: list[Problem],
) -> None:
    if len(problems) > SHOWN_PROBLEMS:
        raise _Enough

    def report(message: str, hint: str = "", *, key: bool = False) -> None:
        location = document.locate(path, key=key)
        problems.append(Problem(location, dotted(path), message, hint))

    if "enum" in schema:
        if value not in schema["enum"]:
            choices = ", ".join(str(choice) for choice in schema["enum"])
            report(f"expected one of {choices}, got {describe(value)}",
                   _did_you_mean(str(value), [str(c) for c in schema["enum"]]))
        return
    expected = schema.get("type")
    if expected and not _type_ok(expected, value):
        report(f"expected {_TYPE_NAMES[expected]}, got {describe(value)}",
               _type_hint(expected, value) or schema.get("x-hint", ""))
        return
    if isinstance(value, str):
        _check_string(schema, value, report)
    elif isinstance(value, int) and not isinstance(value, bool):
        if "minimum" in schema and value < schema["minimum"]:
            report(f"must be at least {schema['minimum']}")
        if "maximum" in schema and value > schema["maximum"]:
            report(f"must be at most {schema['maximum']}")
    elif isinstance(value, list) and "items" in schema:
        if len(value) < schema.get("minItems", 0):
            needed = schema["minItems"]
            report(f"needs at least {needed} item{'s' if needed > 1 else ''}, has "
                   f"{len(value)}", schema.get("x-hint", ""))
        for index, item in enumerate(value):
            _check(document, schema["items"], item, (*path, index), problems)
    elif isinstance(value, dict):
        _check_mapping(document, schema, value, path, problems, report)


def _check_string(schema: dict[str, Any], value: str, report: Report) -> None:
    if len(value) < schema.get("minLength", 0):
        report("must not be empty")
    elif len(value) > schema.get("maxLength", len(value)):
        report(f"is {len(value)} characters long; at most {schema['maxLength']} are allowed")
    elif "pattern" in schema and not schema_pattern(schema["pattern"]).search(value):
        report(f"'{value}' is not in the expected form", schema.get("x-hint", ""))


def _check_mapping(
    document: Document, schema: dict[str, Any], value: dict[Any, Any], path: FieldPath,
    problems: list[Problem], report: Report,
) -> None:
    properties: dict[str, Any] = schema.get("properties", {})
    extra = schema.get("additionalProperties", True)
    for name in schema.get("required", ()):
        if name not in value:
            field = schema["properties"][name]
            example = field.get("examples")
            report(f"missing required field '{name}'",
                   f"add it, e.g. {name}: {example_text(example[0])}" if example
                   else field["description"])
    if len(value) < schema.get("minProperties", 0):
        report("must not be empty")
    names = schema.get("propertyNames")
    for key, item in value.items():
        if len(problems) > SHOWN_PROBLEMS:
            raise _Enough
        child = (*path, key)
        if not isinstance(key, str):
            problems.append(Problem(document.locate(child, key=True), dotted(child),
                                    f"a key must be text, got {describe(key)}", "quote it"))
            continue
        if names and not schema_pattern(names["pattern"]).search(key):
            problems.append(Problem(document.locate(child, key=True), dotted(child),
                                    f"{shown(key)} is not a valid name", names.get("x-hint", "")))
        if key in properties:
            _check(document, properties[key], item, child, problems)
        elif extra is False:
            problems.append(Problem(document.locate(child, key=True), dotted(child),
                                    f"unknown field {shown(key)}",
                                    _did_you_mean(key, list(properties))
                                    or "known fields: " + ", ".join(properties)))
        elif isinstance(extra, dict):
            _check(document, extra, item, child, problems)


def _did_you_mean(word: str, choices: list[str]) -> str:
    import difflib  # only ever needed on the error path

    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    if not close:
        close = [c for c in choices if c.lower() == word.lower()]
    return f"did you mean '{close[0]}'?" if close else ""


def example_text(example: Any) -> str:
    """A schema example as one line of YAML, as a hint or the reference shows it."""
    if isinstance(example, dict):
        return "{" + ", ".join(f"{key}: {example_text(item)}" for key, item in example.items()
                               ) + "}"
    return str(example)
