"""`shipspec validate [PATH]`: check a spec; a one-line summary, or every problem found.

With `--deployment DIR` (a checkout of the deployment repository) it also checks that the
values files agree with the spec: a module's repository that differs from the image CI
pushes (seed B's `xiilab/astrago-posco` against `ghcr.io/xiilab/astrago-backend`), and
modules missing from the file, each reported where the file says it; and that the helmfile
releases environments name exist, in their namespaces (`helmfile list`).
"""

from __future__ import annotations

import argparse
import os
import posixpath
from collections.abc import Callable, Sequence
from functools import partial
from typing import TYPE_CHECKING

from shipspec import __version__
from shipspec.cli.options import spec_path
from shipspec.errors import Problem, SpecError
from shipspec.files import read_text
from shipspec.images import other_release, other_release_hint
from shipspec.paths import SymlinkGuard, file_or_link, files_in, linked_to, through_link
from shipspec.render import Gap, renderer
from shipspec.spec import Spec
from shipspec.specfile.resolve import DEFAULT_TAG, SAMPLE_SHA, load_spec
from shipspec.tags import image_tag
from shipspec.values.merge import merge, targets
from shipspec.values.yamltext import YamlText

if TYPE_CHECKING:
    from shipspec.spec import Target


def arguments(parser: argparse.ArgumentParser) -> None:
    spec_path(parser)
    parser.add_argument("--deployment", metavar="DIR",
                        help="a checkout of the deployment repository: check its values "
                             "files against the spec too")


def run(args: argparse.Namespace) -> str:
    spec = load_spec(args.path)
    if args.deployment:
        problems = deployment_problems(spec, args.deployment)
        if problems:
            raise SpecError(problems)
    enabled = len(spec.enabled_modules)
    environments = spec.environment_names
    # what the resolver lets through for now (the shipspec image), said before generate fails
    gaps = renderer(spec.ci.engine).missing_settings(spec)
    still = _listed(f"still needed by generate --target {spec.ci.engine}", gaps)
    idle = "".join(f"  warning: modules.{module.name}: deploys to no environment, so no "
                   "push ever builds it\n    hint: give it values (or a kustomize entry) for "
                   "an environment, or set enabled: false\n"
                   for module in spec.enabled_modules if not module.deployments)
    idle += "".join(f"  warning: {text}\n" for text in tags_shared_by_environments(spec))
    engine_warnings = ""
    if spec.ci.engine == "tekton":
        from shipspec.render.tekton import warnings_for

        engine_warnings = "".join(f"  warning: {text}\n" for text in [
            *warnings_for(spec), *argo_cd_warnings(spec)])
    elif spec.ci.engine == "github-actions" and not gaps:
        from shipspec.render.github_actions import too_large_workflows

        engine_warnings = _listed("warning", too_large_workflows(spec))
    version = other_release(spec.ci.images)
    release = (f"  warning: ci.images.shipspec: shipspec {version}, which runs the commands of "
               f"the CI that shipspec {__version__} writes\n    hint: "
               f"{other_release_hint()}\n" if version else "")
    return (
        f"{spec.file}: valid: {len(spec.modules)} modules ({enabled} enabled), "
        f"environments: {', '.join(environments) or 'none'}\n"
        f"{still}{idle}{engine_warnings}{release}"
    )


def _listed(kind: str, gaps: list[Gap]) -> str:
    """Gaps as validate lists them below its summary line."""
    return "".join(f"  {kind}: {'.'.join(path)}: {message}\n    hint: {hint}\n"
                   for path, message, hint in gaps)


def tags_shared_by_environments(spec: Spec) -> list[str]:
    """A module whose tag templates give one commit the same tag in two environments: a
    commit on both branches (a release branch moved to the main one's commit) is built for
    each, and the second push replaces the first's image under that tag. The first
    environment may pin the first image's digest, now untagged, which a registry's clean-up
    of untagged images deletes; a registry with immutable tags refuses the second push."""
    found = []
    for module in spec.enabled_modules:
        first: dict[str, str] = {}  # tag → the environment that gave it first
        for deployment in module.deployments:
            try:
                tag = image_tag(spec, module, deployment, sha=SAMPLE_SHA, branch=None,
                                date="20260101")
            except SpecError:  # the spec's check said why already
                continue
            other = first.setdefault(tag, deployment.environment)
            if other != deployment.environment:
                found.append(
                    f"modules.{module.name}: environments {other} and "
                    f"{deployment.environment} give a commit's image one tag ({tag}): a "
                    "commit on both branches is built for each, and the second push "
                    f"replaces the image of the first, whose digest {other} may pin (a "
                    "registry's clean-up of untagged images deletes it), or a registry "
                    "with immutable tags refuses it\n    hint: put {{ env }} in the tag, as "
                    f"the default {DEFAULT_TAG} does, or move a tag between environments "
                    "with shipspec promote rather than build its commit twice")
                break
    return found


def argo_cd_warnings(spec: Spec) -> list[str]:
    """That Argo CD's plugin would refuse this CI, as more objects than one Application
    holds (argocd.too_much_for_an_application): rendered as the plugin renders it, in the
    spec's namespace or, without one, in a namespace named like Argo CD's own. Nothing when
    the CI does not render yet (said above, under "still needed")."""
    from shipspec import argocd
    from shipspec.render import RenderOptions

    try:
        rendered = renderer("tekton").render(spec, RenderOptions(
            namespace=spec.namespace or "argocd"))
    except SpecError:
        return []
    too_much = argocd.too_much_for_an_application(
        spec, [item.document for item in rendered], len(spec.enabled_modules))
    return [f"modules: {too_much.message}\n    hint: {too_much.hint}"] if too_much else []


def deployment_problems(spec: Spec, directory: str) -> list[Problem]:
    guard = SymlinkGuard(directory)
    problems: list[Problem] = []
    for environment in spec.environment_names:
        entries = targets(spec, environment)
        for file in dict.fromkeys(target.file for _, target, _ in entries):
            path = os.path.join(directory, file)
            field = ("environments", environment, "values")
            linked = _through_a_link(spec, field, directory, guard, file)
            if linked or not os.path.isfile(path):
                problems.append(linked or spec.problem(
                    field, f"{path} does not exist in the deployment checkout"))
                continue
            text = read_text(path)
            problems += merge(text, path, [e for e in entries if e[1].file == file]).problems
            written = [target for _, target, _ in entries if target.file == file]
            if "sops" in text:  # (parsed again only where SOPS may have written it)
                problems += encrypted_problems(YamlText(text, path), written)
            problems += override_problems(directory, guard, file,
                                          partial(YamlText, text, path), written)
    problems += other_target_problems(spec, directory, guard)
    if any(environment.app for environment in spec.environments):
        from shipspec.helmfile import release_problems  # runs helmfile

        problems += release_problems(spec, directory)
    return problems


def other_target_problems(spec: Spec, directory: str, guard: SymlinkGuard) -> list[Problem]:
    """Kustomize overlays and manifests: the file is there and holds the module's image,
    read exactly as `bump` will read it."""
    from shipspec.bump.targets import describe, kind_of, refuse_encrypted
    from shipspec.spec import HelmValuesTarget, KustomizeTarget, target_paths

    problems: list[Problem] = []
    documents: dict[str, YamlText] = {}  # each file read once, however many modules it has
    for module in spec.enabled_modules:
        for deployment in module.deployments:
            for target in deployment.targets:
                if isinstance(target, HelmValuesTarget):
                    continue  # values files are merged above
                found = [path for path in target_paths(target)
                         if file_or_link(directory, path)]  # as bump's Checkout.exists
                # the spec's field naming the file: the overlay's directory, the manifest
                field = ("modules", module.name, *(
                    ("kustomize", "directory") if isinstance(target, KustomizeTarget)
                    else ("manifest", "file")))
                if not found:
                    problems.append(spec.problem(field, f"{describe(target)} does not exist "
                                                 f"in the deployment checkout {directory}"))
                    continue
                linked = _through_a_link(spec, field, directory, guard, found[0])
                if linked:
                    problems.append(linked)
                    continue
                path = os.path.join(directory, found[0])
                try:
                    if path not in documents:
                        documents[path] = YamlText(read_text(path), path)
                    refuse_encrypted(documents[path], kind_of(target).read(documents[path],
                                                                          target))
                except SpecError as err:
                    problems += err.problems
                    continue
                problems += override_problems(directory, guard, found[0],
                                              partial(documents.__getitem__, path),
                                              [target])
    return problems


def encrypted_problems(document: YamlText, targets: Sequence[Target]) -> list[Problem]:
    """A values file encrypted by SOPS whose tags bump would refuse to change
    (bump/targets: refuse_encrypted), said once a file."""
    from shipspec.bump.targets import kind_of, refuse_encrypted

    for target in targets:
        try:
            refuse_encrypted(document, kind_of(target).read(document, target))
        except SpecError as err:
            return err.problems
    return []


def override_problems(directory: str, guard: SymlinkGuard, file: str,
                      document: Callable[[], YamlText],
                      targets: Sequence[Target]) -> list[Problem]:
    """The Argo CD source files beside a deployment file that set what a target's tag
    decides, as `bump` refuses them (bump/targets: refuse_overridden); the file is parsed
    only when there are any."""
    from shipspec.bump.targets import argo_cd_source, kind_of

    folder = posixpath.dirname(file)
    names = [name for name in files_in(os.path.join(directory, folder))
             if argo_cd_source(name)]
    if not names:
        return []
    problems: list[Problem] = []
    try:
        sources = []
        for name in names:
            relative = posixpath.join(folder, name)
            if guard.escapes(relative):
                raise SpecError.single(f"{relative} is a link that leads outside the "
                                       "deployment checkout", hint="Argo CD refuses it too")
            path = os.path.join(directory, relative)  # as the other problems name it
            sources.append(YamlText(read_text(path), path))
        doc = document()
        for target in targets:
            try:
                kind_of(target).refuse_overridden(doc, target, sources)
            except SpecError as err:
                problems += err.problems
    except SpecError as err:
        problems += err.problems
    return problems


def _through_a_link(spec: Spec, field: tuple[str, ...], directory: str, guard: SymlinkGuard,
                    file: str) -> Problem | None:
    """A deployment file named through a link, which `bump` refuses: out of the checkout
    (bump/git.py), or to another file of it (bump/request.py)."""
    if guard.escapes(file):
        return spec.problem(field, f"{file} is a link that leads outside the deployment "
                                   "checkout", hint="name a file inside the deployment "
                                                    "repository")
    real = linked_to(directory, file)
    if real is None:
        return None
    return spec.problem(field, through_link(file, real),
                        hint=f"name {real} in the spec, the file itself")
