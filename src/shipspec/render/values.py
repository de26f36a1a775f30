"""Helmfile-style values: what the spec says of each module's image, per environment.

The spec owns each module's image (its repository, and its registry where the chart keeps
that in a key of its own); the tags are owned by `shipspec bump`,
which writes them as builds deploy, so a rendered document names no tag. `values.py`
merges these documents into an existing values file without resetting any tag.
"""

from __future__ import annotations

from typing import Any

from shipspec.render import Gap, Rendered, RenderOptions, refuse_gaps
from shipspec.spec import Spec
from shipspec.values.image_keys import image_values
from shipspec.values.merge import targets


def missing_settings(spec: Spec) -> list[Gap]:
    if any(targets(spec, environment) for environment in spec.environment_names):
        return []
    return [(("modules",), "no module of this spec has a values target",
             "give a module `values: <dotted key>` and an environment a `values` file")]


def render(spec: Spec, options: RenderOptions) -> list[Rendered]:
    refuse_gaps(spec, missing_settings(spec))
    documents: dict[str, dict[str, Any]] = {}
    for environment in spec.environment_names:
        if options.environment not in (None, environment):
            continue
        for module, target, image in targets(spec, environment):
            if not options.modules or module in options.modules:
                for key, value in image_values(target, image).items():
                    _set(documents.setdefault(target.file, {}), key.split("."), value)
    return [Rendered(path, document) for path, document in documents.items()]


def _set(tree: dict[str, Any], path: list[str], value: str) -> None:
    for key in path[:-1]:
        tree = tree.setdefault(key, {})
    tree[path[-1]] = value
