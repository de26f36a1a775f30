"""Plain manifests: the image of a named container in a named Deployment, StatefulSet,
DaemonSet, Job, CronJob or Argo Rollouts' Rollout; only the tag (and digest) part of the
reference changes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from shipspec.bump.targets import NewImage, new_reference
from shipspec.errors import SpecError
from shipspec.images import pinned_in
from shipspec.spec import ManifestTarget
from shipspec.values.yamltext import YamlText

_POD_SPEC = {
    "Deployment": ["spec", "template", "spec"],
    "StatefulSet": ["spec", "template", "spec"],
    "DaemonSet": ["spec", "template", "spec"],
    "Job": ["spec", "template", "spec"],
    "CronJob": ["spec", "jobTemplate", "spec", "template", "spec"],
    # argoproj.io/v1alpha1 (argo-rollouts v1.9.1, pkg/apis/rollouts/v1alpha1/types.go,
    # RolloutSpec.Template); a Rollout with `workloadRef` takes its pods from another
    # workload instead, whose image is the one to change.
    "Rollout": ["spec", "template", "spec"],
}


def read(doc: YamlText, target: ManifestTarget) -> str:
    return pinned_in(doc.scalar(_image(doc, target), "image"))


def write(doc: YamlText, edits: Sequence[tuple[ManifestTarget, NewImage]]) -> None:
    for target, image in edits:  # one by one: a manifest is small
        _write(doc, target, image)


def _write(doc: YamlText, target: ManifestTarget, image: NewImage) -> None:
    pair = _image(doc, target)
    reference = new_reference(doc.scalar(pair, "image"), image)
    doc.replace(pair, reference, f"{target.kind} {target.name} container {target.container}")


def refuse_overridden(doc: YamlText, target: ManifestTarget, sources: list[YamlText]) -> None:
    """Nothing to refuse: an Argo CD source file sets no image of a plain directory's
    manifests (its `directory` settings choose files, not images)."""


def _image(doc: YamlText, target: ManifestTarget) -> tuple[Any, Any]:
    workloads = []
    for document in doc.documents:
        kind = doc.child(document, "kind")
        metadata = doc.child(document, "metadata")
        name = doc.child(metadata[1], "name") if metadata else None
        if kind and name and kind[1].value == target.kind and name[1].value == target.name:
            workloads.append(document)
    if len(workloads) > 1:
        # one per namespace, as a file of every environment has them: which one is this
        # environment's cannot be told, and editing the first may deploy to another
        first, second = workloads[:2]
        raise SpecError.single(
            f"{doc.name} has {len(workloads)} {target.kind}s named {target.name} (the first "
            f"at line {first.start_mark.line + 1}); nothing was written",
            location=doc.location(second.start_mark.index),
            hint="point the environment at a file that holds its own")
    for workload in workloads:
        pod = doc.walk(workload, _POD_SPEC[target.kind])
        for field in ("containers", "initContainers"):
            containers = doc.child(pod[1], field) if pod else None
            for container in getattr(containers[1], "value", []) if containers else []:
                named = doc.child(container, "name")
                image = doc.child(container, "image")
                if named and image and named[1].value == target.container:
                    return image
        workload_ref = doc.walk(workload, ["spec", "workloadRef"])
        raise SpecError.single(
            f"{doc.name}: {target.kind} {target.name} has no container {target.container} "
            "with an image" + (" (its pods come from its workloadRef)" if workload_ref else ""),
            location=doc.location(workload.start_mark.index),
            hint=("name the workload its workloadRef points at: that one holds the image"
                  if workload_ref else ""))
    raise SpecError.single(f"{doc.name} has no {target.kind} named {target.name}")
