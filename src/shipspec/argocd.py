"""Argo CD's config-management-plugin contract, as data in and data out.

The plugin server runs `shipspec generate --argocd` with no shell, in the application's path,
with the sidecar's environment plus Argo CD's: `ARGOCD_APP_*`, the Application's plugin
`env` entries as `ARGOCD_ENV_<name>`, and its parameters both as JSON in
`ARGOCD_APP_PARAMETERS` and as `PARAM_<NAME>` variables. Settings are taken, first found
first:

1. parameters: `ARGOCD_APP_PARAMETERS` (or, when it is absent, `PARAM_*`),
2. plugin env: `ARGOCD_ENV_SHIPSPEC_TARGET`, `_ENVIRONMENT`, `_MODULES` (comma-separated),
   `_NAMESPACE`,
3. the spec itself,
4. for the namespace only, the Application's destination, `ARGOCD_APP_NAMESPACE`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, NamedTuple

from .errors import SpecError
from .spec import Spec

# name → collection type of every parameter the plugin understands
PARAMETERS = {"target": "string", "environment": "string", "modules": "array",
              "namespace": "string", "labels": "map"}
# Kubernetes label keys (optional DNS prefix) and values
_LABEL_KEY = re.compile(r"^([a-z0-9]([-a-z0-9.]*[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}"
                        r"[A-Za-z0-9])?$")
_LABEL_VALUE = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$")


class ArgoSettings(NamedTuple):
    target: str
    environment: str | None
    modules: tuple[str, ...]
    namespace: str | None  # an explicit override (parameter or plugin env)
    application_namespace: str | None  # ARGOCD_APP_NAMESPACE: used when nothing else says
    labels: dict[str, str]


def settings(environ: Mapping[str, str]) -> ArgoSettings:
    """The generate settings that Argo CD's environment asks for."""
    parameters = _parameters(environ)

    def pick(name: str) -> Any:
        if name in parameters:
            return parameters[name]
        value = environ.get(f"ARGOCD_ENV_SHIPSPEC_{name.upper()}")
        if value is not None and name == "modules":
            return [item.strip() for item in value.split(",") if item.strip()]
        return value

    labels: dict[str, str] = parameters.get("labels", {})
    for key, value in labels.items():
        if not _LABEL_KEY.match(key) or not _LABEL_VALUE.match(value):
            raise SpecError.single(f"label {key}={value} is not a valid Kubernetes label",
                                   path="parameters.labels",
                                   hint="keys and values: letters, digits, '-', '_', '.'")
    return ArgoSettings(
        target=pick("target") or "tekton",
        environment=pick("environment") or None,
        modules=tuple(pick("modules") or ()),
        namespace=pick("namespace") or None,
        application_namespace=environ.get("ARGOCD_APP_NAMESPACE") or None,
        labels=labels,
    )


def _parameters(environ: Mapping[str, str]) -> dict[str, Any]:
    raw = environ.get("ARGOCD_APP_PARAMETERS")
    if raw is None:
        return _parameters_from_param_variables(environ)
    import json  # only in Argo CD mode, and only when parameters are set

    try:
        entries = json.loads(raw)
    except ValueError as err:
        raise SpecError.single(f"ARGOCD_APP_PARAMETERS is not valid JSON: {err}") from None
    if not isinstance(entries, list):
        raise SpecError.single("ARGOCD_APP_PARAMETERS must be a JSON list of parameters")
    found: dict[str, Any] = {}
    for entry in entries:
        name = entry.get("name") if isinstance(entry, dict) else None
        if name not in PARAMETERS:
            raise SpecError.single(f"unknown plugin parameter {name!r}",
                                   hint="parameters: " + ", ".join(PARAMETERS))
        kind = PARAMETERS[name]
        value = entry.get(kind)
        expected = {"string": str, "array": list, "map": dict}[kind]
        if not isinstance(value, expected) or (
                kind == "array" and not all(isinstance(v, str) for v in value)) or (
                kind == "map" and not all(isinstance(v, str) for v in value.values())):
            raise SpecError.single(f"plugin parameter {name!r} must be given as a {kind}",
                                   hint=f'{{"name": "{name}", "{kind}": ...}}')
        found[name] = value
    return found


def _parameters_from_param_variables(environ: Mapping[str, str]) -> dict[str, Any]:
    """PARAM_* as Argo CD sets them; map keys come back upper-cased, so maps need the JSON."""
    found: dict[str, Any] = {}
    for name, kind in PARAMETERS.items():
        variable = f"PARAM_{name.upper()}"
        if kind == "string" and variable in environ:
            found[name] = environ[variable]
        elif kind == "array" and f"{variable}_0" in environ:
            items: list[str] = []
            while f"{variable}_{len(items)}" in environ:
                items.append(environ[f"{variable}_{len(items)}"])
            found[name] = items
    return found


def announcements(spec: Spec) -> list[dict[str, Any]]:
    """The dynamic parameter announcements: this spec's environments and modules."""
    modules = [m.name for m in spec.enabled_modules]
    environments = list(spec.environment_names)
    return [
        {"name": "environment", "title": "Environment",
         "tooltip": "Render one environment only: " + (", ".join(environments) or "none"),
         "string": ""},
        {"name": "modules", "title": "Modules", "collectionType": "array",
         "tooltip": "Render these modules only (empty: all enabled modules)", "array": modules},
    ]
