"""Every object name the Tekton renderer gives, listed from the spec before anything renders.

`validate` refuses a spec whose Tekton output Kubernetes would refuse (a name too long) or
would silently merge (two objects of one kind with one name: the later one replaces the
earlier on apply). Each name carries the spec field that makes it, so the error points at
the part to shorten or rename. The renderer takes its names from the same helpers;
tests/test_tekton.py checks that this list is exactly what it renders.
"""

from collections.abc import Iterator
from typing import NamedTuple

from shipspec.spec import Deployment, Module, Spec

FieldPath = tuple[str, ...]

# Tekton validates its own objects' names as DNS labels of at most 63 characters (pipeline
# v1.15.0, pkg/apis/validate/metadata.go); an EventListener's Service is `el-<name>`.
LIMITS = {"EventListener": 63 - len("el-"), "ClusterRoleBinding": 253, "ConfigMap": 253}
DEFAULT_LIMIT = 63  # DNS labels: ServiceAccounts, Roles, claims (names shown in labels)

# The project-wide objects, by kind and role: `<project>-<role>` (shared_name, below).
SHARED_ROLES: tuple[tuple[str, str], ...] = (
    ("ConfigMap", "spec"),
    ("ServiceAccount", "triggers"), ("RoleBinding", "triggers"),
    ("ServiceAccount", "pipeline"), ("ServiceAccount", "pull-request"),
    ("ServiceAccount", "cleanup"), ("Role", "cleanup"), ("RoleBinding", "cleanup"),
    ("Task", "tag"), ("Task", "build"), ("Task", "deploy"), ("Task", "cleanup"),
    ("Pipeline", "cleanup"), ("TriggerTemplate", "cleanup"), ("Trigger", "cleanup"),
)
REPORT_ROLE = ("Task", "report")  # only when runs report (source.statusSecret, notifySecret)
# ci.triggers: modules (the default): what every module's Triggers share.
MODULE_TRIGGER_ROLES = (("TriggerBinding", "push"), ("TriggerBinding", "pull-request"),
                        ("TriggerTemplate", "push"), ("TriggerTemplate", "pull-request"))
# ci.triggers: dispatch, where a module has no Triggers nor TriggerBinding of its own: the
# project's push and pull-request Triggers start a dispatch run, which starts the modules'.
DISPATCH_ROLES = (("ServiceAccount", "dispatch"), ("Role", "dispatch"),
                  ("RoleBinding", "dispatch"), ("Task", "dispatch"), ("Pipeline", "dispatch"),
                  ("TriggerTemplate", "dispatch"), ("Trigger", "push"),
                  ("Trigger", "pull-request"))


class Name(NamedTuple):
    kind: str
    name: str
    origin: FieldPath  # the spec field whose value makes this name


def shared_name(spec: Spec, role: str) -> str:
    """The name of a project-wide object (task, pipeline, binding, account): project-role.
    Objects that refer to each other get their names from here, so they always match."""
    return f"{spec.project}-{role}"


def cluster_binding_name(spec: Spec, namespace: str) -> str:
    """The listener's ClusterRoleBinding: cluster-wide, so unique across specs by
    construction. Projects and namespaces are DNS labels, which hold no '.'; `<project>-
    <namespace>` was not (project a-b in c and project a in b-c made one name)."""
    return f"shipspec.{namespace}.{spec.project}.triggers"


def settings_binding_name(module: Module) -> str:
    return module.resource_prefix


def trigger_name(module: Module, deployment: Deployment, event: str) -> str:
    return f"{module.resource_prefix}-{deployment.environment}-{event}"


def object_names(spec: Spec, namespace: str, modules: tuple[Module, ...],
                 reports: bool) -> Iterator[Name]:
    """Every (kind, name) the renderer makes for these modules, with its origin."""
    project: FieldPath = ("project",)
    dispatch = spec.ci.triggers == "dispatch"
    for kind, role in (*SHARED_ROLES, *(DISPATCH_ROLES if dispatch else MODULE_TRIGGER_ROLES),
                       *((REPORT_ROLE,) if reports else ())):
        yield Name(kind, shared_name(spec, role), project)
    yield Name("Pipeline", spec.project, project)
    yield Name("EventListener", spec.project, project)
    yield Name("ClusterRoleBinding", cluster_binding_name(spec, namespace), ("namespace",))
    for module in modules:
        origin: FieldPath = ("modules", module.name)
        yield Name("PersistentVolumeClaim", module.claims.workspace, origin)
        yield Name("PersistentVolumeClaim", module.claims.cache, origin)
        if dispatch:
            continue
        yield Name("TriggerBinding", settings_binding_name(module), origin)
        for deployment in module.deployments:
            for event in ("push", "pr"):
                yield Name("Trigger", trigger_name(module, deployment, event), origin)


def name_problems(spec: Spec, namespace: str, modules: tuple[Module, ...],
                  reports: bool) -> list[tuple[FieldPath, str, str]]:
    """Names too long for their kind, and names two objects of one kind would share."""
    problems: list[tuple[FieldPath, str, str]] = []
    seen: dict[tuple[str, str], Name] = {}
    for named in object_names(spec, namespace, modules, reports):
        limit = LIMITS.get(named.kind, DEFAULT_LIMIT)
        if len(named.name) > limit:
            problems.append((named.origin,
                             f"makes the {named.kind} name '{named.name}', "
                             f"{len(named.name)} characters: Kubernetes takes at most {limit}",
                             _shorten_hint(named)))
        earlier = seen.setdefault((named.kind, named.name), named)
        if earlier is not named:
            problems.append((named.origin,
                             f"makes the {named.kind} '{named.name}', which "
                             f"{_describe(earlier.origin)} makes too: applied together, one "
                             "would replace the other",
                             "rename one of them (a module, an environment, or the claim "
                             "names in pvc)"))
    return problems


def _describe(origin: FieldPath) -> str:
    return f"module '{origin[1]}'" if origin[0] == "modules" else f"the {'.'.join(origin)}"


def _shorten_hint(named: Name) -> str:
    if named.origin[0] == "modules":
        return ("shorten the project, the module or its environment names (the name is "
                "<project>-<module>[-<environment>]-<suffix>), or set pvc claim names")
    return f"shorten {'.'.join(named.origin)}"
