"""Reading shipspec.yaml: from its bytes to one typed, resolved `Spec` (spec.py).

    loading.py        safe YAML: limits, duplicate keys refused, a position for every value
                      (yaml_problems.py words a parser's complaint, with the likely fix)
    schema.py         the JSON Schema of the file: what `shipspec schema` prints ...
    check.py          ... and what the loaded document is checked against, every problem located
    resolve.py        defaults filled in, names derived, fields cross-checked: `load_spec()`

Everything after `resolve.py` reads the `Spec` only; no other module decides a default.
Nothing is imported here, so that a verb pays only for the steps it runs.
"""
