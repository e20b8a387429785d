"""The Kubernetes manifests under deploy/k8s/, rendered and checked against the Kubernetes schema and the code.

`problems(root)` renders every kustomization (base, the overlays, the Strimzi Kafka resources, the KEDA
option) the way `kustomize build` would, validates each object against the Kubernetes OpenAPI schema
(`kubernetes-validate`, offline) and checks what the code decides: the image, the commands, the ports, the
environment variable names, the probe paths, the topics and their partitions. It returns one line per
problem, empty when all is well.

Rendering covers a small subset of kustomize, the fields these manifests use, and refuses any other field
(so a manifest never means something here that it does not mean to kustomize):

- `resources`: YAML files and directories holding a kustomization (rendered first, with their own fields);
- `patches`: strategic-merge patches from `path` (one or more documents) or inline `patch`, each matched
  to one object by kind and name; lists merge by key where Kubernetes' schema gives one (containers,
  env, volumes by name; container ports by containerPort; volumeMounts by mountPath), other lists are
  replaced, and a null value deletes the field (no `target`, no JSON 6902, no `$patch` directives);
- `replicas`: `name` and `count` for Deployments;
- `namespace`: set on every namespaced object;
- `labels`: `pairs` added to metadata labels, and with `includeTemplates: true` to pod templates
  (`includeSelectors: true` is refused: selectors are written out in full in the manifests);
- `images`: `name`, `newName`, `newTag`, matched on the image name without its tag.

They apply in that order, which gives the same output as kustomize's for these fields.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from outlay.deploy.cli_args import cli_problem
from outlay.settings_doc import env_names, is_secret

Obj = dict[str, Any]

REPO_ROOT = Path(__file__).resolve().parents[2]
K8S_DIR = Path("deploy") / "k8s"
# Every kustomization rendered and checked; the ones that run Outlay's processes are the first three.
BUILDS = ("base", "overlays/dev", "overlays/prod", "kafka", "options/keda")
OUTLAY_BUILDS = ("base", "overlays/dev", "overlays/prod")
KAFKA_BUILD = "kafka"
# The Kubernetes release whose OpenAPI schema the manifests must satisfy (the oldest we support).
KUBERNETES_VERSION = "1.30.0"
IMAGE_REPOSITORY = "ghcr.io/outlay/outlay"
# The demo generator runs only in development; every other `outlay services run NAME` runs in production.
DEV_ONLY_SERVICES = frozenset({"generator"})
# The topic each autoscaled consumer's group reads: more replicas than its partitions would sit idle.
CONSUMED_TOPIC = {
    "outlay-ledger": "outlay.usage.v1",
    "outlay-allocation": "outlay.usage.v1",
    "outlay-anomaly": "outlay.usage.v1",
}
# Consumer groups of the KEDA triggers, by Deployment: the Settings field whose default names the group.
CONSUMER_GROUP_SETTING = {"outlay-ledger": "ledger_group_id", "outlay-anomaly": "anomaly_split_group_id"}
# Container port names and the Settings field that decides the port the process listens on.
PORT_SETTINGS = {"http": "api_port", "grpc": "forecast_grpc_port", "metrics": "metrics_port"}
# Bind addresses that must not stay on loopback when the port is served to other pods.
BIND_SETTINGS = {"http": "api_host", "grpc": "forecast_grpc_host"}
# Settings that hold secrets besides the SecretStr ones: only ever from a Secret (secretKeyRef), never a value.
SECRET_SETTINGS = ("database_url",)  # a password inside the URL
KAFKA_REPLICATION = 3
KAFKA_MIN_INSYNC = 2

KUSTOMIZATION_FIELDS = frozenset(
    {"apiVersion", "kind", "resources", "patches", "replicas", "namespace", "labels", "images"}
)
CLUSTER_SCOPED_KINDS = frozenset(
    {"Namespace", "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition", "PersistentVolume", "StorageClass"}
)
POD_TEMPLATE_KINDS = frozenset({"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"})
# Strategic-merge keys of the lists these manifests patch (from the Kubernetes schema's patchMergeKey).
MERGE_KEYS = {
    "containers": "name",
    "initContainers": "name",
    "env": "name",
    "volumes": "name",
    "imagePullSecrets": "name",
    "volumeMounts": "mountPath",
    "ports": "containerPort",
}
DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


class KustomizeError(Exception):
    """A kustomization this renderer cannot render faithfully (an unsupported field, a missing file)."""


@dataclass
class Rendered:
    """One object of a build and the files it came from (its resource file, then any patches)."""

    obj: Obj
    sources: list[str] = field(default_factory=list)

    @property
    def kind(self) -> str:
        return str(self.obj.get("kind", "?"))

    @property
    def name(self) -> str:
        return str((self.obj.get("metadata") or {}).get("name", "?"))

    def where(self) -> str:
        patched = f" (patched by {', '.join(self.sources[1:])})" if len(self.sources) > 1 else ""
        return f"{self.sources[0]}{patched}: {self.kind}/{self.name}"


# ---------------------------------------------------------------- rendering (the kustomize subset)


def render(directory: Path, root: Path) -> list[Rendered]:
    """The objects `kustomize build directory` prints, for the supported subset of fields."""
    kustomization = _load_kustomization(directory, root)
    objects: list[Rendered] = []
    for entry in kustomization.get("resources") or []:
        objects.extend(_load_resource(directory / str(entry), root))
    for entry in kustomization.get("patches") or []:
        _apply_patch_entry(objects, entry, directory, root)
    for entry in kustomization.get("replicas") or []:
        _set_replicas(objects, entry, directory)
    if "namespace" in kustomization:
        _set_namespace(objects, str(kustomization["namespace"]))
    for entry in kustomization.get("labels") or []:
        _add_labels(objects, entry, directory)
    for entry in kustomization.get("images") or []:
        _set_images(objects, entry, directory)
    return objects


def _relative(path: Path, root: Path) -> str:
    try:
        return str(path.resolve().relative_to(root.resolve()))
    except ValueError:
        return str(path)


def _load_kustomization(directory: Path, root: Path) -> Obj:
    path = directory / "kustomization.yaml"
    if not path.is_file():
        raise KustomizeError(f"{_relative(directory, root)}: no kustomization.yaml")
    data = yaml.safe_load(path.read_text()) or {}
    if not isinstance(data, dict):
        raise KustomizeError(f"{_relative(path, root)}: not a mapping")
    unsupported = sorted(set(data) - KUSTOMIZATION_FIELDS)
    if unsupported:
        # Failing loudly: a field ignored here would make the checked output differ from kustomize's.
        raise KustomizeError(
            f"{_relative(path, root)}: unsupported kustomization field(s) {', '.join(unsupported)} "
            f"(outlay/deploy/k8s.py renders only {', '.join(sorted(KUSTOMIZATION_FIELDS))})"
        )
    return data


def _load_resource(path: Path, root: Path) -> list[Rendered]:
    if path.is_dir():
        return render(path, root)
    if not path.is_file():
        raise KustomizeError(f"{_relative(path, root)}: resource not found")
    return [Rendered(obj, [_relative(path, root)]) for obj in _documents(path, root)]


def _documents(path: Path, root: Path) -> list[Obj]:
    try:
        docs = [d for d in yaml.safe_load_all(path.read_text()) if d is not None]
    except yaml.YAMLError as exc:
        raise KustomizeError(f"{_relative(path, root)}: invalid YAML: {exc}") from exc
    for doc in docs:
        if not isinstance(doc, dict):
            raise KustomizeError(f"{_relative(path, root)}: a document is not a mapping")
    return docs


def _apply_patch_entry(objects: list[Rendered], entry: Any, directory: Path, root: Path) -> None:
    where = _relative(directory / "kustomization.yaml", root)
    if not isinstance(entry, dict) or set(entry) - {"path", "patch"} or len(entry) != 1:
        raise KustomizeError(f"{where}: patches entries take exactly one of path or patch (no target, options)")
    if "path" in entry:
        path = directory / str(entry["path"])
        if not path.is_file():
            raise KustomizeError(f"{_relative(path, root)}: patch not found")
        source, patches = _relative(path, root), _documents(path, root)
    else:
        source, patches = where, [p for p in yaml.safe_load_all(str(entry["patch"])) if p is not None]
    for patch in patches:
        target = _patch_target(objects, patch, source)
        target.obj = strategic_merge(target.obj, patch)
        target.sources.append(source)


def _patch_target(objects: list[Rendered], patch: Obj, source: str) -> Rendered:
    if isinstance(patch, list):
        raise KustomizeError(f"{source}: JSON 6902 patches are not supported, only strategic merge")
    kind, name = patch.get("kind"), (patch.get("metadata") or {}).get("name")
    matches = [r for r in objects if r.kind == kind and r.name == name]
    if len(matches) != 1:
        raise KustomizeError(f"{source}: patch for {kind}/{name} matches {len(matches)} objects, not one")
    return matches[0]


def strategic_merge(base: Any, patch: Any, key: str = "") -> Any:
    """`patch` merged into `base` as a strategic-merge patch (the subset the module docstring describes)."""
    if isinstance(base, dict) and isinstance(patch, dict):
        return _merge_maps(base, patch)
    if isinstance(base, list) and isinstance(patch, list) and key in MERGE_KEYS:
        return _merge_lists(base, patch, key)
    return copy.deepcopy(patch)


def _merge_maps(base: Obj, patch: Obj) -> Obj:
    if any(str(k).startswith("$") for k in patch):
        raise KustomizeError(
            f"strategic-merge directives ({', '.join(k for k in patch if k.startswith('$'))}) unsupported"
        )
    merged = copy.deepcopy(base)
    for k, v in patch.items():
        if v is None:
            merged.pop(k, None)  # a null in a strategic-merge patch deletes the field
        else:
            merged[k] = strategic_merge(merged[k], v, k) if k in merged else copy.deepcopy(v)
    return merged


def _merge_lists(base: list[Any], patch: list[Any], key: str) -> list[Any]:
    merge_key = MERGE_KEYS[key]
    # Service ports have no containerPort: Kubernetes merges those by port.
    if key == "ports" and all(isinstance(p, dict) and "port" in p for p in base + patch):
        merge_key = "port"
    merged = copy.deepcopy(base)
    for item in patch:
        if not isinstance(item, dict):
            raise KustomizeError(f"patch: {key} items must be mappings (merged by {merge_key})")
        index = next(
            (i for i, b in enumerate(merged) if isinstance(b, dict) and b.get(merge_key) == item.get(merge_key)),
            None,
        )
        if index is None:
            merged.append(copy.deepcopy(item))
        else:
            merged[index] = strategic_merge(merged[index], item)
    return merged


def _set_replicas(objects: list[Rendered], entry: Obj, directory: Path) -> None:
    targets = [r for r in objects if r.kind == "Deployment" and r.name == entry.get("name")]
    if not targets or set(entry) != {"name", "count"}:
        raise KustomizeError(f"{directory}: replicas entry {entry} (name and count of a Deployment in the build)")
    for r in targets:
        r.obj.setdefault("spec", {})["replicas"] = entry["count"]


def _set_namespace(objects: list[Rendered], namespace: str) -> None:
    for r in objects:
        if r.kind not in CLUSTER_SCOPED_KINDS:
            r.obj.setdefault("metadata", {})["namespace"] = namespace


def _add_labels(objects: list[Rendered], entry: Obj, directory: Path) -> None:
    if set(entry) - {"pairs", "includeSelectors", "includeTemplates"} or entry.get("includeSelectors"):
        raise KustomizeError(
            f"{directory}: labels entry {entry}: only pairs, includeTemplates, includeSelectors: false"
        )
    pairs = {str(k): str(v) for k, v in (entry.get("pairs") or {}).items()}
    for r in objects:
        r.obj.setdefault("metadata", {}).setdefault("labels", {}).update(pairs)
        template = _pod_template(r.obj) if entry.get("includeTemplates") else None
        if template is not None:
            template.setdefault("metadata", {}).setdefault("labels", {}).update(pairs)


def _set_images(objects: list[Rendered], entry: Obj, directory: Path) -> None:
    if set(entry) - {"name", "newName", "newTag"} or "name" not in entry:
        raise KustomizeError(f"{directory}: images entry {entry}: only name, newName, newTag")
    for r in objects:
        for container in _containers(r.obj):
            name, tag = split_image(str(container.get("image", "")))
            if name == entry["name"]:
                name, tag = entry.get("newName", name), str(entry.get("newTag", tag) or "")
                container["image"] = f"{name}:{tag}" if tag else name


def split_image(image: str) -> tuple[str, str]:
    """(name, tag) of an image reference; a ':' after the last '/' starts the tag (a registry port does not)."""
    if "@" in image:
        raise KustomizeError(f"image {image!r}: digests are not supported; pin a tag")
    head, _, last = image.rpartition("/")
    if ":" in last:
        last, tag = last.split(":", 1)
        return (f"{head}/{last}" if head else last), tag
    return image, ""


def _pod_template(obj: Obj) -> Obj | None:
    """The pod template of a workload (a CronJob's is inside its jobTemplate); None for other kinds, or when
    the workload has none (the schema check reports that)."""
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        return None
    if obj.get("kind") == "CronJob":
        spec = (spec.get("jobTemplate") or {}).get("spec") or {}
    elif obj.get("kind") not in POD_TEMPLATE_KINDS:
        return None
    template = spec.get("template")
    return template if isinstance(template, dict) else None


def _containers(obj: Obj) -> list[Obj]:
    pod = (_pod_template(obj) or {}).get("spec") or {}
    return [c for c in (pod.get("containers") or []) + (pod.get("initContainers") or []) if isinstance(c, dict)]


# ---------------------------------------------------------------- what the code decides


@dataclass(frozen=True)
class CodeFacts:
    """What the manifests must agree with, read from the code once."""

    aliases: frozenset[str]  # every environment variable name Settings reads
    alias_of: dict[str, str]  # Settings field -> its environment variable
    defaults: dict[str, Any]  # Settings field -> default
    services: frozenset[str]  # `outlay services run NAME`
    probe_paths: frozenset[str]  # the gateway's probe routes
    secrets: frozenset[str]  # Settings fields that hold secrets
    topics: dict[str, int | None]  # topic name -> partitions (None: the deployment's default)
    retention_ms: dict[str, int]  # topic name -> how long the broker keeps its messages


@lru_cache(maxsize=1)
def code_facts() -> CodeFacts:
    # Imported here: the CLI and the gateway's routes are only needed when manifests are checked.
    from outlay.cli.main import ServiceName
    from outlay.events.topics import TOPICS
    from outlay.settings import Settings
    from services.gateway.routes.health import router

    names = {name: env_names(info) for name, info in Settings.model_fields.items()}
    return CodeFacts(
        aliases=frozenset(alias for aliases in names.values() for alias in aliases),
        alias_of={name: aliases[0] for name, aliases in names.items()},
        defaults={name: info.default for name, info in Settings.model_fields.items()},
        services=frozenset(s.value for s in ServiceName),
        probe_paths=frozenset(getattr(r, "path", "") for r in router.routes),
        topics={t.name: t.partitions for t in TOPICS},
        retention_ms={t.name: t.retention_ms for t in TOPICS},
        secrets=frozenset(SECRET_SETTINGS)
        | {name for name, info in Settings.model_fields.items() if is_secret(info.annotation)},
    )


# ---------------------------------------------------------------- checks


@dataclass
class Build:
    """One rendered kustomization and the lookups the checks share."""

    name: str
    objects: list[Rendered]

    def of_kind(self, kind: str) -> Iterator[Rendered]:
        return (r for r in self.objects if r.kind == kind)

    def config(self) -> dict[str, dict[str, str]]:
        """The data of every ConfigMap in the build, by ConfigMap name."""
        return {
            r.name: {str(k): str(v) for k, v in (r.obj.get("data") or {}).items()} for r in self.of_kind("ConfigMap")
        }

    def topic_partitions(self) -> int:
        """OUTLAY_TOPIC_PARTITIONS as the processes of this build see it."""
        facts = code_facts()
        alias = facts.alias_of["topic_partitions"]
        values = [data[alias] for data in self.config().values() if alias in data]
        return int(values[0]) if values else int(facts.defaults["topic_partitions"])


Problem = tuple[str, str]  # (where, what)


def problems(root: Path | None = None) -> list[str]:
    """Every problem of the manifests under root/deploy/k8s (root: this repository); empty when all is well."""
    root = (root or REPO_ROOT).resolve()
    found: dict[Problem, tuple[list[str], list[str]]] = {}  # (where, what) -> (builds, patch files)
    builds: dict[str, Build] = {}
    for name in BUILDS:
        try:
            builds[name] = Build(name, render(root / K8S_DIR / name, root))
        except KustomizeError as exc:
            found.setdefault((f"{K8S_DIR / name}", f"cannot render: {exc}"), ([], []))[0].append(name)
    for name, build in builds.items():
        for where, what in _build_problems(build, builds):
            # A base object's problem shows once, naming every build it is in and the patches it went through.
            patched = PATCHED.search(where)
            in_builds, patches = found.setdefault((PATCHED.sub("", where), what), ([], []))
            in_builds.append(name)
            patches.extend(p for p in (patched.group(1).split(", ") if patched else []) if p not in patches)
    return [_line(where, what, *seen) for (where, what), seen in found.items()]


PATCHED = re.compile(r" \(patched by ([^)]*)\)")


def _line(where: str, what: str, builds: list[str], patches: list[str]) -> str:
    patched = f"; patched by {', '.join(patches)}" if patches else ""
    return f"{where}: {what} [in {', '.join(builds)}{patched}]"


def _build_problems(build: Build, builds: dict[str, Build]) -> Iterator[Problem]:
    checks: list[Callable[[Build], Iterable[Problem]]] = [_schema_problems]
    if build.name in OUTLAY_BUILDS:
        checks += [_workload_problems, _config_problems, _service_problems, _selector_problems, _autoscaler_problems]
        checks += [_secret_problems, _coverage_problems, _replication_problems]
    if build.name == KAFKA_BUILD:
        checks.append(lambda b: _kafka_problems(b, [builds[n] for n in OUTLAY_BUILDS if n in builds]))
    if build.name == "options/keda":
        checks.append(lambda b: _keda_problems(b, builds.get("overlays/prod")))
    for check in checks:
        yield from check(build)


# --- schema


def _schema_problems(build: Build) -> Iterator[Problem]:
    for r in build.objects:
        name = r.name
        if not DNS_SUBDOMAIN.match(name):
            yield r.where(), f"metadata.name {name!r} is not a valid Kubernetes name (lowercase, digits, '-', '.')"
        if str(r.obj.get("apiVersion", "")).split("/")[0] in CRD_CHECKS:
            yield from ((r.where(), what) for what in CRD_CHECKS[str(r.obj["apiVersion"]).split("/")[0]](r.obj))
            continue
        problem = _schema_problem(json.dumps(r.obj, sort_keys=True))
        if problem is not None:
            yield r.where(), problem


@lru_cache(maxsize=1024)
def _schema_problem(document: str) -> str | None:
    """The schema problem of one object (JSON text, so that the object a base shares with its overlays is
    validated once), or None."""
    import kubernetes_validate  # imported here: its schemas are only needed for this check

    obj = json.loads(document)
    try:
        kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
    except kubernetes_validate.ValidationError as exc:
        path = ".".join(str(p) for p in exc.path) or "(top level)"
        return f"schema: {path}: {exc.message}"
    except kubernetes_validate.SchemaNotFoundError:
        return f"schema: no Kubernetes {KUBERNETES_VERSION} schema for {obj.get('apiVersion')} {obj.get('kind')}"
    return None


def _require(obj: Obj, paths: Iterable[str]) -> Iterator[str]:
    for path in paths:
        node: Any = obj
        for part in path.split("."):
            node = node.get(part) if isinstance(node, dict) else None
        if node is None:
            yield f"schema: {path} is required"


def _strimzi_checks(obj: Obj) -> list[str]:
    # No OpenAPI schema ships for Strimzi's CRDs: check the fields its operator refuses to run without.
    required = {
        "Kafka": ["spec.kafka.listeners"],
        "KafkaNodePool": ["spec.replicas", "spec.roles", "spec.storage"],
        "KafkaTopic": ["spec.partitions", "spec.replicas"],
    }
    kind = obj.get("kind")
    if obj.get("apiVersion") != "kafka.strimzi.io/v1beta2" or kind not in required:
        return [f"schema: unexpected Strimzi resource {obj.get('apiVersion')} {kind}"]
    found = list(_require(obj, required[str(kind)]))
    # Node pools and topics belong to a cluster by label (its key holds dots: looked up as one key).
    labels = (obj.get("metadata") or {}).get("labels") or {}
    if kind != "Kafka" and "strimzi.io/cluster" not in labels:
        found.append("schema: metadata.labels[strimzi.io/cluster] is required")
    return found


def _keda_checks(obj: Obj) -> list[str]:
    if obj.get("apiVersion") != "keda.sh/v1alpha1" or obj.get("kind") != "ScaledObject":
        return [f"schema: unexpected KEDA resource {obj.get('apiVersion')} {obj.get('kind')}"]
    return list(_require(obj, ["spec.scaleTargetRef.name", "spec.maxReplicaCount", "spec.triggers"]))


CRD_CHECKS: dict[str, Callable[[Obj], list[str]]] = {"kafka.strimzi.io": _strimzi_checks, "keda.sh": _keda_checks}


# --- workloads: image, command, environment, ports, probes, resources


def _workload_problems(build: Build) -> Iterator[Problem]:
    config = build.config()
    for r in build.objects:
        for container in _containers(r.obj):
            where = f"{r.where()}: container {container.get('name')}"
            env = _environment(container, config)
            yield from ((where, what) for what in _image_problems(container))
            yield from ((where, what) for what in _command_problems(container))
            yield from ((where, what) for what in _env_name_problems(container, config))
            yield from ((where, what) for what in _port_problems(container, env))
            yield from ((where, what) for what in _probe_problems(container))
            yield from ((where, what) for what in _resource_problems(container))
            yield from ((where, what) for what in _fallback_problems(container, env))


def _environment(container: Obj, config: dict[str, dict[str, str]]) -> dict[str, str | None]:
    """The variables the process sees: ConfigMaps from envFrom, then env (a secret's value is None)."""
    env: dict[str, str | None] = {}
    for source in container.get("envFrom") or []:
        env.update(config.get(str((source.get("configMapRef") or {}).get("name")), {}))
    for var in container.get("env") or []:
        env[str(var.get("name"))] = None if "valueFrom" in var else str(var.get("value", ""))
    return env


def _image_problems(container: Obj) -> Iterator[str]:
    image = str(container.get("image", ""))
    try:
        name, tag = split_image(image)
    except KustomizeError as exc:
        yield str(exc)
        return
    if name != IMAGE_REPOSITORY:
        yield f"image {image!r} is not {IMAGE_REPOSITORY} (the one image every Outlay process runs)"
    elif not tag or tag == "latest":
        yield f"image {image!r} has no pinned tag"


def _command_problems(container: Obj) -> Iterator[str]:
    args = [str(a) for a in container.get("args") or []]
    if "command" in container:
        yield "sets command: the image's entrypoint is `outlay`; give the CLI words as args"
    problem = cli_problem(args)
    if problem is not None:
        yield f"args {args} are not an `outlay` command (`services run NAME`, `topics`, `migrate`, ...): {problem}"


def _env_name_problems(container: Obj, config: dict[str, dict[str, str]]) -> Iterator[str]:
    aliases = code_facts().aliases
    for var in container.get("env") or []:
        if var.get("name") not in aliases:
            yield f"env {var.get('name')} is not a setting in outlay/settings.py (no Settings alias)"
    for source in container.get("envFrom") or []:
        if "configMapRef" not in source:
            yield "envFrom other than configMapRef: the variable names a Secret holds cannot be checked; use secretKeyRef"
            continue
        name = str(source["configMapRef"].get("name"))
        if name not in config:  # its keys are checked once, on the ConfigMap (_config_problems)
            yield f"envFrom ConfigMap {name} is not in the build"


def _config_problems(build: Build) -> Iterator[Problem]:
    aliases = code_facts().aliases
    for r in build.of_kind("ConfigMap"):
        for key in r.obj.get("data") or {}:
            if key not in aliases:
                yield r.where(), f"key {key} is not a setting in outlay/settings.py (no Settings alias)"


def _setting(env: dict[str, str | None], name: str) -> Any:
    facts = code_facts()
    alias = facts.alias_of[name]
    return env[alias] if alias in env else facts.defaults[name]


def _port_problems(container: Obj, env: dict[str, str | None]) -> Iterator[str]:
    facts = code_facts()
    for port in container.get("ports") or []:
        name, number = port.get("name"), port.get("containerPort")
        if name not in PORT_SETTINGS:
            yield f"port {name}/{number}: unknown port name (one of {', '.join(PORT_SETTINGS)}, each set by a setting)"
            continue
        setting = PORT_SETTINGS[str(name)]
        listens = _setting(env, setting)
        if listens is None or str(listens) != str(number):
            shown = "unset" if listens is None else listens
            yield f"port {name} is {number} but the process listens on {facts.alias_of[setting]}={shown}"
        if name in BIND_SETTINGS and str(_setting(env, BIND_SETTINGS[str(name)])) in LOOPBACK_HOSTS:
            yield f"port {name}: {facts.alias_of[BIND_SETTINGS[str(name)]]} is a loopback address; other pods cannot reach it"


def _probe_problems(container: Obj) -> Iterator[str]:
    facts = code_facts()
    declared = {p.get("name") for p in container.get("ports") or []} | {
        p.get("containerPort") for p in container.get("ports") or []
    }
    serves_gateway = [str(a) for a in container.get("args") or []][:3] == ["services", "run", "gateway"]
    for kind in ("livenessProbe", "readinessProbe", "startupProbe"):
        probe = container.get(kind) or {}
        for handler in ("httpGet", "tcpSocket", "grpc"):
            if handler in probe and probe[handler].get("port") not in declared:
                yield f"{kind}: port {probe[handler].get('port')} is not a container port"
        path = (probe.get("httpGet") or {}).get("path")
        if path is not None and (not serves_gateway or path not in facts.probe_paths):
            yield f"{kind}: path {path} is not a probe route the gateway serves ({', '.join(sorted(facts.probe_paths))})"


def _fallback_problems(container: Obj, env: dict[str, str | None]) -> Iterator[str]:
    # Unset, these fall back to a developer's defaults: a private SQLite file in the container and an
    # embedded broker (or none) in place of the cluster's store and Kafka. Only migrate needs no broker.
    facts = code_facts()
    needed = ["database_url"] + (
        [] if (container.get("args") or [None])[0] == "migrate" else ["kafka_bootstrap_servers"]
    )
    for name in needed:
        if facts.alias_of[name] not in env:
            yield f"{facts.alias_of[name]} is not set: the process would fall back to its local default"


def _resource_problems(container: Obj) -> Iterator[str]:
    resources = container.get("resources") or {}
    for bound in ("requests", "limits"):
        missing = [r for r in ("cpu", "memory") if r not in (resources.get(bound) or {})]
        if missing:
            yield f"resources.{bound} lacks {', '.join(missing)}"


# --- Services, selectors, autoscalers


def _pod_labels(build: Build) -> list[tuple[Rendered, dict[str, str]]]:
    out = []
    for r in build.objects:
        template = _pod_template(r.obj)
        if template is not None:
            out.append((r, dict((template.get("metadata") or {}).get("labels") or {})))
    return out


def _selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return all(labels.get(k) == v for k, v in selector.items())


def _service_problems(build: Build) -> Iterator[Problem]:
    pods = _pod_labels(build)
    for svc in build.of_kind("Service"):
        selector = (svc.obj.get("spec") or {}).get("selector") or {}
        targets = [r for r, labels in pods if _selects(selector, labels)]
        if not targets:
            yield svc.where(), f"selector {selector} matches no pod template"
            continue
        names = {p.get("name") for r in targets for c in _containers(r.obj) for p in c.get("ports") or []}
        for port in (svc.obj.get("spec") or {}).get("ports") or []:
            if isinstance(port.get("targetPort"), str) and port["targetPort"] not in names:
                yield svc.where(), f"targetPort {port['targetPort']} is no container port of the pods it selects"


def _selector_problems(build: Build) -> Iterator[Problem]:
    pods = _pod_labels(build)
    for r, labels in pods:
        match = ((r.obj.get("spec") or {}).get("selector") or {}).get("matchLabels")
        if r.kind == "Deployment" and not _selects(match or {}, labels):
            yield r.where(), f"selector {match} does not match its own pod template labels"
    for kind in ("PodDisruptionBudget", "NetworkPolicy"):
        for r in build.of_kind(kind):
            key = "podSelector" if kind == "NetworkPolicy" else "selector"
            match = ((r.obj.get("spec") or {}).get(key) or {}).get("matchLabels") or {}
            if match and not any(_selects(match, labels) for _, labels in pods):
                yield r.where(), f"{key} {match} matches no pod template"


def _autoscaler_problems(build: Build) -> Iterator[Problem]:
    deployments = {r.name for r in build.of_kind("Deployment")}
    for hpa in build.of_kind("HorizontalPodAutoscaler"):
        spec = hpa.obj.get("spec") or {}
        target = str((spec.get("scaleTargetRef") or {}).get("name"))
        if target not in deployments:
            yield hpa.where(), f"scaleTargetRef {target} is not a Deployment in the build"
        yield from _partition_bound(hpa, target, spec.get("maxReplicas"), build.topic_partitions())


def _partition_bound(r: Rendered, target: str, max_replicas: Any, default_partitions: int) -> Iterator[Problem]:
    topic = CONSUMED_TOPIC.get(target)
    if topic is None:
        return
    partitions = code_facts().topics[topic] or default_partitions
    if not isinstance(max_replicas, int) or max_replicas > partitions:
        yield (
            r.where(),
            f"maxReplicas {max_replicas} exceeds the {partitions} partitions of {topic}, which {target} consumes",
        )


# --- secrets, coverage, replication


def _secret_problems(build: Build) -> Iterator[Problem]:
    facts = code_facts()
    secret_vars = {facts.alias_of[s] for s in facts.secrets}
    for r in build.of_kind("Secret"):
        yield r.where(), "a Secret in the manifests: reference secrets (secretKeyRef), never commit their values"
    for name, data in build.config().items():
        for key in secret_vars & set(data):
            yield f"ConfigMap/{name}", f"{key} is a secret: take it from a Secret with secretKeyRef"
    for r in build.objects:
        for container in _containers(r.obj):
            for var in container.get("env") or []:
                if var.get("name") in secret_vars and "secretKeyRef" not in (var.get("valueFrom") or {}):
                    yield r.where(), f"env {var.get('name')} is a secret: use valueFrom.secretKeyRef"


def _coverage_problems(build: Build) -> Iterator[Problem]:
    run = {
        str(c["args"][2])
        for r in build.of_kind("Deployment")
        for c in _containers(r.obj)
        if [str(a) for a in c.get("args") or []][:2] == ["services", "run"] and len(c["args"]) > 2
    }
    missing = sorted(code_facts().services - DEV_ONLY_SERVICES - run)
    if missing:
        yield f"{K8S_DIR / build.name}", f"no Deployment runs `outlay services run` {', '.join(missing)}"


def _replication_problems(build: Build) -> Iterator[Problem]:
    alias = code_facts().alias_of["topic_replication"]
    for name, data in build.config().items():
        if alias in data and int(data[alias]) != KAFKA_REPLICATION:
            yield (
                f"ConfigMap/{name}",
                f"{alias}={data[alias]}, but production topics have replication {KAFKA_REPLICATION}",
            )


# --- Strimzi Kafka and topics


def _kafka_problems(build: Build, outlay_builds: list[Build]) -> Iterator[Problem]:
    yield from _cluster_problems(build)
    declared = code_facts().topics
    seen: set[str] = set()
    for r in build.of_kind("KafkaTopic"):
        spec = r.obj.get("spec") or {}
        topic = str(spec.get("topicName") or r.name)
        seen.add(topic)
        if topic not in declared:
            yield r.where(), f"topic {topic} is not declared in outlay/events/topics.py"
            continue
        yield from ((r.where(), what) for what in _topic_problems(topic, spec, declared[topic], outlay_builds))
    for topic in sorted(set(declared) - seen):
        yield f"{K8S_DIR / build.name}", f"no KafkaTopic for {topic} (declared in outlay/events/topics.py)"


def _topic_problems(topic: str, spec: Obj, own: int | None, outlay_builds: list[Build]) -> Iterator[str]:
    config = spec.get("config") or {}
    if own is not None and spec.get("partitions") != own:
        yield f"{topic} has {spec.get('partitions')} partitions; outlay/events/topics.py declares {own}"
    running: dict[int, list[str]] = {}  # OUTLAY_TOPIC_PARTITIONS -> the builds that run with it
    for b in outlay_builds if own is None else []:
        running.setdefault(b.topic_partitions(), []).append(b.name)
    for partitions, names in running.items():
        if spec.get("partitions") != partitions:
            yield (
                f"{topic} has {spec.get('partitions')} partitions; {', '.join(names)} run with "
                f"OUTLAY_TOPIC_PARTITIONS={partitions} (outlay/events/topics.py leaves the count to the deployment)"
            )
    if spec.get("replicas") != KAFKA_REPLICATION:
        yield f"{topic}: replicas {spec.get('replicas')}, expected {KAFKA_REPLICATION}"
    if str(config.get("min.insync.replicas")) != str(KAFKA_MIN_INSYNC):
        yield f"{topic}: min.insync.replicas {config.get('min.insync.replicas')}, expected {KAFKA_MIN_INSYNC}"
    retention = code_facts().retention_ms[topic]
    if config.get("retention.ms") != retention:
        yield f"{topic}: retention.ms {config.get('retention.ms')}; outlay/events/topics.py declares {retention}"


def _cluster_problems(build: Build) -> Iterator[Problem]:
    clusters = list(build.of_kind("Kafka"))
    if len(clusters) != 1:
        yield f"{K8S_DIR / build.name}", f"{len(clusters)} Kafka resources, expected 1"
    for r in clusters:
        annotations = (r.obj.get("metadata") or {}).get("annotations") or {}
        if annotations.get("strimzi.io/kraft") != "enabled" or annotations.get("strimzi.io/node-pools") != "enabled":
            yield r.where(), "not KRaft: annotate strimzi.io/kraft and strimzi.io/node-pools: enabled"
        config = ((r.obj.get("spec") or {}).get("kafka") or {}).get("config") or {}
        for key, want in (("default.replication.factor", KAFKA_REPLICATION), ("min.insync.replicas", KAFKA_MIN_INSYNC)):
            if config.get(key) != want:
                yield r.where(), f"{key} is {config.get(key)}, expected {want}"
    brokers = sum(
        int((r.obj.get("spec") or {}).get("replicas", 0))
        for r in build.of_kind("KafkaNodePool")
        if "broker" in ((r.obj.get("spec") or {}).get("roles") or [])
    )
    if brokers < KAFKA_REPLICATION:
        yield f"{K8S_DIR / build.name}", f"{brokers} brokers cannot hold replication factor {KAFKA_REPLICATION}"


# --- KEDA option


def _keda_problems(build: Build, prod: Build | None) -> Iterator[Problem]:
    facts = code_facts()
    partitions = prod.topic_partitions() if prod else int(facts.defaults["topic_partitions"])
    for r in build.of_kind("ScaledObject"):
        spec = r.obj.get("spec") or {}
        target = str((spec.get("scaleTargetRef") or {}).get("name"))
        if target not in CONSUMED_TOPIC:
            yield r.where(), f"scales {target}, which is not a consumer scaled by partitions"
            continue
        yield from _partition_bound(r, target, spec.get("maxReplicaCount"), partitions)
        for trigger in spec.get("triggers") or []:
            meta = trigger.get("metadata") or {}
            group = facts.defaults[CONSUMER_GROUP_SETTING[target]]
            if meta.get("consumerGroup") != group:
                yield r.where(), f"trigger consumerGroup {meta.get('consumerGroup')} is not {target}'s group {group}"
            if meta.get("topic") != CONSUMED_TOPIC[target]:
                yield r.where(), f"trigger topic {meta.get('topic')} is not {CONSUMED_TOPIC[target]}"
