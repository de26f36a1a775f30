"""User templates run sandboxed, strict and bounded."""

from __future__ import annotations

import pytest

from shipspec.errors import Location, SpecError
from shipspec.templates import render

CONTEXT = {"module": "core", "env": "stage", "sha": "a1b2c3d4e5f6a7b8c9d0a1b2c3d4e5f6a7b8c9d0",
           "sha8": "a1b2c3d4", "branch": "stabilize/1.0", "project": "astrago",
           "date": "20261123"}


def rendered(text: str) -> str:
    from shipspec.spec import Template

    return render(Template(text, Location("s.yaml", 7, 9), "environments.stage.tag"), CONTEXT)


def refusal(text: str) -> str:
    with pytest.raises(SpecError) as caught:
        rendered(text)
    return str(caught.value)


def test_plain_text_is_not_a_template() -> None:
    assert rendered("{% not jinja %}") == "{% not jinja %}"


def test_seed_b_tag() -> None:
    assert rendered("{{ module }}-stage-{{ sha8 }}") == "core-stage-a1b2c3d4"


def test_filters_and_slices_work() -> None:
    assert rendered("{{ branch | replace('/', '-') }}-{{ sha[:7] }}") == "stabilize-1.0-a1b2c3d"
    assert rendered("{{ env | upper ~ '-' ~ date }}") == "STAGE-20261123"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{{ ''.__class__ }}", "attribute access ('.name')"),
        ("{{ ''.__class__.__mro__[1].__subclasses__() }}", "calling a function or method"),
        ("{{ cycler.__init__.__globals__.os }}", "attribute access ('.name')"),
        ("{{ module['__class__'] }}", "indexing other than slices ([:8])"),
        ("{{ module | attr('__class__') }}", "the filter 'attr'"),
        ("{% for x in module %}{{ x }}{% endfor %}", "'For'"),
        ("{% set x = module %}{{ x }}", "'Assign'"),
        ("{{ lipsum() }}", "calling a function or method"),
        ("{{ module | map('upper') }}", "the filter 'map'"),
    ],
)
def test_template_escapes_are_refused(text: str, message: str) -> None:
    assert refusal(text) == (
        f"s.yaml:7:9: error: environments.stage.tag: {message} is not allowed in templates\n"
        "  hint: write expressions such as {{ module }}-{{ sha8 }} or "
        "{{ branch | replace('/', '-') }}; filters: lower, upper, title, capitalize, trim, "
        "replace, truncate, default"
    )


def test_unbounded_repetition_is_refused() -> None:
    assert refusal("{{ 'x' * 1000000000 }}") == (
        "s.yaml:7:9: error: environments.stage.tag: the template failed: ValueError: "
        "repetition too large"
    )


def test_unbounded_replacement_is_refused() -> None:
    assert refusal("{{ ('x' * 9000) | replace('x', 'xxxxxxxxxx') }}").endswith(
        "the template failed: ValueError: replacement too large")


def test_undefined_variable_is_an_error_not_an_empty_string() -> None:
    assert refusal("{{ module | upper }}-{{ commit }}") == (
        "s.yaml:7:9: error: environments.stage.tag: unknown template variable 'commit'; "
        "known: module, env, sha, sha8, branch, project, date"
    )


def test_syntax_error_is_reported_at_the_field() -> None:
    assert refusal("{{ module") == (
        "s.yaml:7:9: error: environments.stage.tag: template syntax error: unexpected end of "
        "template, expected 'end of print statement'."
    )


def test_simple_templates_do_not_import_jinja() -> None:
    import subprocess
    import sys

    code = ("import sys; from shipspec.templates import render; from shipspec.spec import "
            "Template; from shipspec.errors import Location; "
            "print(render(Template('{{ module }}-{{ sha8 }}', Location('f', 1, 1), 't'), "
            "{'module': 'm', 'sha8': 'abc'})); print('jinja2' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out == "m-abc\nFalse\n"
