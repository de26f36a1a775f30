"""How Argo CD hands an Application to a config-management plugin, reimplemented for tests.

Every rule here is read from Argo CD's source at tag v3.5.1 (github.com/argoproj/argo-cd):

- reposerver/repository/repository.go: `newEnv` (the ARGOCD_APP_* entries, short
  revisions of 7 and 8 characters), `getPluginEnvs` (Env.Environ(), then KUBE_VERSION and
  KUBE_API_VERSIONS joined by ","), `getPluginParamEnvs` (only when the source has a
  `plugin:` section: its `env` as `ARGOCD_ENV_<name>` after Envsubst, then the parameters).
- pkg/apis/application/v1alpha1/types.go: `EnvEntry.IsZero` (an entry is dropped only when
  its name *and* value are empty, so `ARGOCD_APP_NAMESPACE=` arrives empty),
  `Env.Envsubst` (Go's os.Expand over those entries, `$$` is `$`),
  `ApplicationSourcePluginParameter.MarshalJSON` (name always; string, map, array only when
  set), `ApplicationSourcePluginParameters.Environ` (the whole list as JSON in
  ARGOCD_APP_PARAMETERS, `null` for no list; PARAM_<escaped name>, `_<i>` for arrays,
  `_<escaped key>` for maps) and `escaped` (upper case, `[^A-Z0-9_]` to `_`).
- cmpserver/plugin/plugin.go: `environ` (drops entries without a name) and
  `generateManifest` (the sidecar's own os.Environ() first, Argo CD's entries after; Go's
  os/exec keeps the last value of a duplicated name).
- util/app/discovery/discovery.go: `DetectConfigManagementPlugin` and `cmpSupports`, which
  decide whether an Application reaches this plugin at all.
- util/app/path/path.go: `GetSourceRefreshPaths` and `AppFilesHaveChanged`, which decide
  whether a new commit renders an Application again (reposerver/repository/repository.go,
  `UpdateRevisionForPaths`: otherwise the manifests of the revision before are kept for it).

The Application reaches the repo server through gRPC (reposerver/apiclient), where an empty
`parameters: []` decodes as a nil list: it marshals as `null` like an absent one.
"""

from __future__ import annotations

import glob
import json
import os
import re
from typing import Any

REVISION = "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678"
KUBE_VERSION = "1.31.2"  # parseKubeVersion: k8s.io/apimachinery ParseGeneric(...).String()
KUBE_API_VERSIONS = ("v1", "apps/v1", "tekton.dev/v1", "triggers.tekton.dev/v1beta1")


def plugin_environment(application: dict[str, Any], sidecar: dict[str, str], *,
                       revision: str = REVISION) -> dict[str, str]:
    """The environment `generate` runs with for this Application (a map, last value wins)."""
    source = application["spec"]["source"]
    destination = application["spec"].get("destination", {})
    base = [
        ("ARGOCD_APP_NAME", application["metadata"]["name"]),
        ("ARGOCD_APP_NAMESPACE", destination.get("namespace", "")),
        ("ARGOCD_APP_PROJECT_NAME", application["spec"].get("project", "")),
        ("ARGOCD_APP_REVISION", revision),
        ("ARGOCD_APP_REVISION_SHORT", revision[:7]),
        ("ARGOCD_APP_REVISION_SHORT_8", revision[:8]),
        ("ARGOCD_APP_SOURCE_REPO_URL", source["repoURL"]),
        ("ARGOCD_APP_SOURCE_PATH", source.get("path", "")),
        ("ARGOCD_APP_SOURCE_TARGET_REVISION", source.get("targetRevision", "")),
    ]
    entries = [(name, value) for name, value in base if name or value]  # Env.Environ()
    entries += [("KUBE_VERSION", KUBE_VERSION),
                ("KUBE_API_VERSIONS", ",".join(KUBE_API_VERSIONS))]
    plugin = source.get("plugin")
    if plugin is not None:
        known = dict(entries)
        for entry in plugin.get("env") or []:
            entries.append((f"ARGOCD_ENV_{entry['name']}",
                            _expand(entry.get("value", ""), known)))
        entries += _parameter_entries(plugin.get("parameters") or None)
    environment = dict(sidecar)
    environment.update((name, value) for name, value in entries if name)  # plugin.environ
    return environment


def _parameter_entries(parameters: list[dict[str, Any]] | None) -> list[tuple[str, str]]:
    marshalled = [_marshal_parameter(p) for p in parameters] if parameters else None
    entries = [("ARGOCD_APP_PARAMETERS", _go_json(marshalled))]
    for parameter in parameters or []:
        base = "PARAM_" + _escaped(parameter.get("name", ""))
        if parameter.get("string") is not None:
            entries.append((base, parameter["string"]))
        for key, value in (parameter.get("map") or {}).items():
            entries.append((f"{base}_{_escaped(key)}", value))
        for index, value in enumerate(parameter.get("array") or []):
            entries.append((f"{base}_{index}", value))
    return entries


def _marshal_parameter(parameter: dict[str, Any]) -> dict[str, Any]:
    marshalled: dict[str, Any] = {"name": parameter.get("name", "")}
    if parameter.get("string") is not None:
        marshalled["string"] = parameter["string"]
    if "map" in parameter:
        marshalled["map"] = parameter["map"] or {}
    if "array" in parameter:
        marshalled["array"] = parameter["array"] or []
    return marshalled


def _go_json(value: Any) -> str:
    """encoding/json: sorted map keys, no spaces, HTML characters and U+2028/9 escaped."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    for char, escape in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"),
                         ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(char, escape)
    return text


def _escaped(name: str) -> str:
    return re.sub(r"[^A-Z0-9_]", "_", name.upper())


_SPECIAL = set("*#$@!?-0123456789")


def _expand(text: str, variables: dict[str, str]) -> str:
    """Go's os.Expand (src/os/env.go, Go 1.26) with Envsubst's mapping: `$$` is `$`."""

    def lookup(name: str) -> str:
        return "$" if name == "$" else variables.get(name, "")

    out, start, index = [], 0, 0
    while index < len(text):
        if text[index] == "$" and index + 1 < len(text):
            out.append(text[start:index])
            name, width = _shell_name(text[index + 1:])
            if name == "" and width > 0:
                pass  # bad syntax: the characters are eaten
            elif name == "":
                out.append("$")  # `$` followed by no name stays
            else:
                out.append(lookup(name))
            index += width
            start = index + 1
        index += 1
    return "".join(out) + text[start:]


def _shell_name(text: str) -> tuple[str, int]:
    if text[0] == "{":
        if len(text) > 2 and text[1] in _SPECIAL and text[2] == "}":
            return text[1], 3
        for index in range(1, len(text)):
            if text[index] == "}":
                return ("", 2) if index == 1 else (text[1:index], index + 1)
        return "", 1
    if text[0] in _SPECIAL:
        return text[0], 1
    match = re.match(r"[A-Za-z0-9_]*", text)
    assert match is not None
    return match.group(0), len(match.group(0))


def routing_error(application: dict[str, Any], plugin_config: dict[str, Any],
                  app_dir: str) -> str | None:
    """None when Argo CD sends this Application to the plugin; else Argo CD's own error."""
    plugin = application["spec"]["source"].get("plugin")
    full_name = f"{plugin_config['metadata']['name']}-{plugin_config['spec']['version']}"
    discover = plugin_config["spec"].get("discover") or {}
    if plugin is None:
        return "not a plugin Application: Argo CD detects helm, kustomize or directory"
    name = plugin.get("name", "")
    if name and name != full_name:
        return f"could not find cmp-server plugin with name {name!r}"
    if not discover:  # isDiscoveryConfigured() is false
        return None if name else "could not find plugin supporting the given repository"
    if "fileName" not in discover:
        raise NotImplementedError("only discover.fileName is modelled")
    if glob.glob(os.path.join(app_dir, discover["fileName"])):
        return None
    if name:
        return (f"could not find cmp-server plugin with name {name!r} supporting the given "
                "repository")
    return "could not find plugin supporting the given repository"


def renders_again(application: dict[str, Any], changed_files: list[str]) -> bool:
    """Whether a commit changing `changed_files` (paths from the repository root) renders
    the Application again, or leaves it the manifests of the revision before: the paths of
    its manifest-generate-paths annotation (split on ';', trimmed; one starting with '/'
    from the repository root, else below the source's path), and a changed file equal to
    one, below it (util/security/path_traversal.go, EnforceToCurrentRoot: the path cleaned,
    so `/./helmfile` is `/helmfile`), or matching it as a glob (Go's filepath.Match: '*' stops
    at '/'). No annotation, or no file list, renders again."""
    annotation = application["metadata"].get("annotations", {}).get(
        "argocd.argoproj.io/manifest-generate-paths", "")
    source_path = application["spec"]["source"].get("path", "")
    paths = ["/" + (item[1:] if item.startswith("/") else os.path.normpath(
                 os.path.join(source_path, item))).lstrip("/")
             for item in (part.strip() for part in annotation.split(";")) if item]
    if not changed_files or not paths:
        return True
    for file in ("/" + changed.lstrip("/") for changed in changed_files):
        for path in paths:
            pattern = "".join("[^/]*" if c == "*" else "[^/]" if c == "?" else re.escape(c)
                              for c in path)
            if file == path or file.startswith(os.path.normpath(path).rstrip("/") + "/") or \
                    re.fullmatch(pattern, file):
                return True
    return False
