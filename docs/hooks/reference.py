"""The reference pages, written from the code when the site is built, so they cannot go
stale: a page holds a marker such as `<!-- shipspec: spec-fields -->`, which becomes

- spec-fields: every field of shipspec.yaml, from the JSON Schema `shipspec schema` prints;
- commands: every command and flag, from the argument parser `shipspec` runs;
- yaml-problems: every YAML mistake shipspec names, with its fix (yaml_problems.py);
- exit-codes: the error family and the exit code of each (errors.py);
- status: the README's status table, which the site's home page shows too (two copies
  had drifted apart).
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path
from typing import Any

from shipspec import errors
from shipspec.cli.main import STOPPED_CLEANLY, VERBS, build_parser
from shipspec.specfile import yaml_problems
from shipspec.specfile.check import example_text
from shipspec.specfile.schema import SPEC_SCHEMA

_MARKER = re.compile(r"<!-- shipspec: ([a-z-]+) -->")
_DEFAULT = re.compile(r"\(default:? ([^)]*)\)")


def on_page_markdown(markdown: str, **_: Any) -> str:
    return _MARKER.sub(lambda found: _SECTIONS[found.group(1)](), markdown)


def _cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


# --- the spec ---------------------------------------------------------------------------


def _spec_fields() -> str:
    rows: list[str] = []
    _walk(SPEC_SCHEMA, "", rows, required=set(SPEC_SCHEMA.get("required", ())))
    return ("| field | type | what it is | default | example |\n|---|---|---|---|---|\n"
            + "".join(rows))


def _walk(schema: dict[str, Any], path: str, rows: list[str], required: set[str]) -> None:
    for name, field in schema.get("properties", {}).items():
        dotted = f"{path}.{name}" if path else name
        _row(dotted, field, name in required, rows)
        _walk(field, dotted, rows, set(field.get("required", ())))
        entries = field.get("additionalProperties")
        if isinstance(entries, dict) and entries.get("properties"):
            _walk(entries, f"{dotted}.<name>", rows, set(entries.get("required", ())))


def _row(dotted: str, field: dict[str, Any], required: bool, rows: list[str]) -> None:
    kind = field.get("type") or ("one of " + ", ".join(map(str, field["enum"]))
                                 if "enum" in field else "")
    if isinstance(kind, list):
        kind = " or ".join(kind)
    if "enum" in field and field.get("type"):
        kind += ": " + ", ".join(f"`{value}`" for value in field["enum"])
    what = field.get("description", "")
    if field.get("x-hint"):
        what += f" Form: {field['x-hint']}."
    # descriptions say their default as "(default: X)"; the column repeats it
    default = _DEFAULT.search(what)
    example = field.get("examples", [""])[0]
    rows.append(f"| `{dotted}`{' (required)' if required else ''} | {_cell(kind)} | "
                f"{_cell(what)} | {_cell(default.group(1)) if default else ''} | "
                f"{f'`{_cell(example_text(example))}`' if example else ''} |\n")


# --- the commands -------------------------------------------------------------------------


def _commands() -> str:
    parts = []
    for name, verb in VERBS.items():
        parser = _subparser(name)
        parts.append(f"## shipspec {name}\n\n{verb.summary[0].upper()}{verb.summary[1:]}. "
                     f"{verb.detail}\n\n```text\n{parser.format_usage().strip()}\n```\n\n"
                     "| flag | what it does |\n|---|---|\n")
        for action in parser._actions:  # argparse keeps no public list of its actions
            if isinstance(action, argparse._HelpAction):
                continue
            flags = ", ".join(f"`{flag}`" for flag in action.option_strings) or \
                f"`{action.dest}`"
            what = action.help or ""
            if action.choices:
                what += " (one of " + ", ".join(f"`{c}`" for c in action.choices) + ")"
            parts.append(f"| {flags} | {_cell(what)} |\n")
        parts.append(f"\nExample:\n\n```text\n{verb.example}\n```\n\n")
    return "".join(parts)


def _subparser(name: str) -> argparse.ArgumentParser:
    parser = build_parser(name)
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            chosen: argparse.ArgumentParser = action.choices[name]
            return chosen
    raise LookupError(name)


# --- errors -------------------------------------------------------------------------------


def _yaml_problems() -> str:
    rows = [f"| {_cell(said)} | {_cell(fix)} |\n" for said, fix in yaml_problems.catalogue()]
    return "| shipspec says (after `invalid YAML:`) | the fix |\n|---|---|\n" + "".join(rows)


def _exit_codes() -> str:
    rows = ["| 0 | success: the output is complete |\n"]
    for kind in (errors.SpecError, errors.RuntimeFailure):
        doc = (kind.__doc__ or "").split(":")[0].strip()
        rows.append(f"| {kind.exit_code} | {_cell(doc)} (`{kind.__name__}`) |\n")
    rows.append("| 130 | interrupted (Ctrl-C) |\n")
    verbs = ", ".join(f"`{verb}`" for verb in sorted(STOPPED_CLEANLY))
    rows.append(f"| {errors.Terminated.exit_code} | stopped by SIGTERM, as a cancelled Tekton "
                f"run or `timeout` stops it; {verbs} clean up first (a queued change is taken "
                "back, the queue's lock freed, scratch repositories removed) |\n")
    rows.append("| 141 | the reader of the output stopped reading (`shipspec generate \\| head`); "
                "nothing is said |\n")
    return "| exit code | meaning |\n|---|---|\n" + "".join(rows)


# --- the home page ------------------------------------------------------------------------

README = Path(__file__).resolve().parents[2] / "README.md"


def _status() -> str:
    text = README.read_text(encoding="utf-8")
    if "\n## Status\n" not in text:
        raise LookupError(f"{README} has no '## Status' section for the site's home page")
    section = text.split("\n## Status\n", 1)[1].split("\n## ", 1)[0]
    return "".join(f"{line}\n" for line in section.splitlines() if line.startswith("|"))


_SECTIONS = {"spec-fields": _spec_fields, "commands": _commands,
             "yaml-problems": _yaml_problems, "exit-codes": _exit_codes, "status": _status}
