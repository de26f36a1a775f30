"""User templates: Jinja2 in a sandbox, strict about undefined names, for strings with '{{'.

A spec may come from a pull request, so a template is untrusted code. The sandbox alone
stops `''.__class__` escapes but not a template that allocates or loops without bound
(`{% for %}` nests, `'x'.center(10**9)`, `{% set x = x ~ x %}` doubling). So a template
may hold only expressions: variables, literals, comparisons, `~` and `+`, slices and a
short list of filters; no statements, no calls, no attribute access. What is left runs
in SandboxedEnvironment with no globals, StrictUndefined (a typo is an error, never an empty
string) and a cap on repetition and on the length of what comes out.

Importing Jinja2 costs more than all of `shipspec generate`, so templates that only
substitute variables (`{{ module }}-{{ sha8 }}`) are filled without it, with the same result;
Jinja2 is imported for anything richer.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import cache
from typing import Any

from shipspec.errors import SpecError
from shipspec.spec import Template

COMMIT_MESSAGE_VARIABLES = ("action", "env", "branch", "sha", "sha8", "changes", "modules",
                            "lines", "project", "date")
COMMIT_LINE_VARIABLES = ("module", "old", "new", "env")

FILTERS = ("lower", "upper", "title", "capitalize", "trim", "replace", "truncate", "default")
_TESTS = frozenset({"defined", "undefined", "none", "string", "number", "eq", "ne", "in"})
_NODES = frozenset({
    "Template", "Output", "TemplateData", "Name", "Const", "Filter", "Test", "Concat",
    "CondExpr", "Compare", "Operand", "And", "Or", "Not", "Neg", "Add", "Sub", "Mul",
    "Getitem", "Slice",
})  # fmt: skip
_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
_MAX_OUTPUT = 10_000  # characters; a tag or a commit message is far shorter


def uses(template: Template, variable: str) -> bool:
    """True when `variable` appears inside one of the template's `{{ ... }}`."""
    return re.search(r"\{\{[^}]*\b" + re.escape(variable) + r"\b[^}]*\}\}",
                     template.text) is not None


def is_template(text: str) -> bool:
    return "{{" in text


def render(template: Template, context: Mapping[str, str]) -> str:
    """The template's text with `context` filled in; SpecError at the template's location."""
    text = template.text
    if not is_template(text):
        return text
    if not _has_jinja_syntax(_PLACEHOLDER.sub("", text)):
        # Only `{{ name }}` placeholders: Jinja2 would give exactly this, at no import cost.
        for name in _PLACEHOLDER.findall(text):
            if name not in context:
                raise SpecError.single(_unknown_message(name, context),
                                       location=template.location, path=template.path)
        return _PLACEHOLDER.sub(lambda found: context[found.group(1)], text)
    import jinja2  # lazily: see the module docstring
    from jinja2.exceptions import SecurityError

    def fail(message: str, hint: str = "") -> SpecError:
        return SpecError.single(
            message, location=template.location, path=template.path, hint=hint
        )

    environment = _environment()
    try:
        tree = environment.parse(template.text)
        refused = _refused_construct(tree)
        if refused:
            raise fail(f"{refused} is not allowed in templates", _ALLOWED_HINT)
        rendered: str = environment.from_string(tree).render(dict(context))
    except jinja2.TemplateSyntaxError as err:
        raise fail(f"template syntax error: {err.message}") from None
    except jinja2.UndefinedError as err:
        name = _undefined_name(str(err.message))
        if name in context or name is None:
            raise fail(f"template error: {err.message}") from None
        raise fail(_unknown_message(name, context)) from None
    except SecurityError as err:
        raise fail(f"the template was refused by the sandbox: {err}") from None
    except SpecError:
        raise
    except Exception as err:  # a template is user code: any failure is the user's to fix
        raise fail(f"the template failed: {type(err).__name__}: {err}") from None
    if len(rendered) > _MAX_OUTPUT:
        raise fail(f"the template renders more than {_MAX_OUTPUT} characters")
    return rendered


_ALLOWED_HINT = (
    "write expressions such as {{ module }}-{{ sha8 }} or {{ branch | replace('/', '-') }}; "
    f"filters: {', '.join(FILTERS)}"
)


def _refused_construct(node: Any) -> str | None:
    """The first construct in the parsed template that is outside the allowed subset."""
    kind = type(node).__name__
    if kind not in _NODES:
        return {
            "Getattr": "attribute access ('.name')",
            "Call": "calling a function or method",
        }.get(kind, f"'{kind}'")
    if kind == "Filter" and node.name not in FILTERS:
        return f"the filter '{node.name}'"
    if kind == "Test" and node.name not in _TESTS:
        return f"the test '{node.name}'"
    if kind == "Getitem" and type(node.arg).__name__ != "Slice":
        return "indexing other than slices ([:8])"
    for child in node.iter_child_nodes():
        refused = _refused_construct(child)
        if refused:
            return refused
    return None


def _has_jinja_syntax(text: str) -> bool:
    return "{{" in text or "{%" in text or "{#" in text


def _unknown_message(name: str, known: Mapping[str, str]) -> str:
    return f"unknown template variable '{name}'; known: {', '.join(known)}"


def _undefined_name(message: str) -> str | None:
    found = re.match(r"'([^']+)' is undefined", message)
    return found.group(1) if found else None


@cache
def _environment() -> Any:
    from jinja2 import StrictUndefined
    from jinja2.sandbox import SandboxedEnvironment

    class CappedSandbox(SandboxedEnvironment):
        intercepted_binops = frozenset({"*"})

        def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
            if _repetition_size(left, right) > _MAX_OUTPUT:
                raise ValueError("repetition too large")
            return super().call_binop(context, operator, left, right)

    environment = CappedSandbox(undefined=StrictUndefined, autoescape=False)
    environment.globals.clear()  # no range, cycler, joiner, namespace, lipsum: nothing to reach
    builtin_replace = environment.filters["replace"]

    def capped_replace(value: Any, old: str, new: str, count: int | None = None) -> Any:
        text = str(value)
        if len(text) + text.count(old) * max(len(new) - len(old), 0) > _MAX_OUTPUT:
            raise ValueError("replacement too large")
        return builtin_replace(environment, value, old, new, count)

    environment.filters = {name: environment.filters[name] for name in FILTERS}
    environment.filters["replace"] = capped_replace
    return environment


def _repetition_size(left: Any, right: Any) -> int:
    """How long `left * right` would be when it repeats a string or list; 0 otherwise."""
    for sequence, count in ((left, right), (right, left)):
        if isinstance(sequence, str | list | tuple) and isinstance(count, int):
            return len(sequence) * count
    return 0
