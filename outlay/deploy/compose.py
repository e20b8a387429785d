"""docker-compose.yml checked against the code, without a Docker engine.

`problems()` parses the compose file and names every disagreement with the code: commands the CLI would
refuse, environment variables no setting reads, clashing host ports, depends_on targets that do not exist,
unpinned third-party images, literal secrets, a missing or broken OpenTelemetry collector config.
`docker_compose_config()` adds Docker's own check (`docker compose config`) where a compose client exists.
Both return messages, empty when all is well; `make check-deploy` fails on any.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
from collections.abc import Iterable, Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from outlay.deploy.cli_args import CLI_NAME, cli_problem
from outlay.settings import Settings
from outlay.settings_doc import LIBRARY_ENV, env_names, is_secret

DEFAULT_ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = "docker-compose.yml"
COLLECTOR_CONFIG = Path("deploy") / "otel-collector.yaml"

# The environment each third-party image documents (exact names, or prefixes ending in "_"), by image
# repository. Outlay services may set only Settings' variables; these are the other images' own.
THIRD_PARTY_ENV: dict[str, tuple[str, ...]] = {
    # Every KAFKA_* variable becomes a server property (apache/kafka's docker/examples README); CLUSTER_ID
    # names the KRaft cluster.
    "apache/kafka": ("KAFKA_", "CLUSTER_ID"),
    # The postgres image's documented variables (hub.docker.com/_/postgres, "Environment Variables").
    "postgres": (
        "POSTGRES_USER",
        "POSTGRES_PASSWORD",
        "POSTGRES_PASSWORD_FILE",
        "POSTGRES_DB",
        "POSTGRES_INITDB_ARGS",
        "POSTGRES_INITDB_WALDIR",
        "POSTGRES_HOST_AUTH_METHOD",
        "PGDATA",
    ),
    # The collector reads its configuration from a file, not the environment.
    "otel/opentelemetry-collector": (),
    "otel/opentelemetry-collector-contrib": (),
}
COLLECTOR_IMAGES = ("otel/opentelemetry-collector", "otel/opentelemetry-collector-contrib")
DEPENDS_CONDITIONS = ("service_started", "service_healthy", "service_completed_successfully")
# Variable names that hold secrets in any image: their value must come from the environment.
SECRET_NAME = re.compile(r"PASSWORD|SECRET|TOKEN|API_KEY|ACCESS_KEY|OTLP_HEADERS", re.IGNORECASE)
# The password of a URL's userinfo: an interpolation (which may hold spaces) or a literal.
URL_PASSWORD = re.compile(r"://[^/:@\s]+:(\$\{[^}]*\}|[^@\s]+)@")
INTERPOLATION = re.compile(r"\$\{\w+(?:(?::?\?[^}]*)|(?::?-(?P<fallback>[^}]*)))?\}")
REQUIRED_VARIABLE = re.compile(r"\$\{(\w+):?\?")


def problems(root: Path | None = None) -> list[str]:
    """Everything wrong with `root`'s docker-compose.yml (the repository's by default); empty when all is well."""
    root = root or DEFAULT_ROOT
    compose, found = load_compose(root / COMPOSE_FILE)
    if compose is None:
        return found
    services: dict[str, Any] = compose["services"]
    stages = dockerfile_stages(root / "Dockerfile")
    for name, service in services.items():
        if not isinstance(service, Mapping):
            found.append(f"{name}: not a mapping")
            continue
        if "build" in service:
            found += outlay_service_problems(name, service, stages)
        else:
            found += third_party_problems(name, service)
        found += secret_problems(name, service)
        found += depends_on_problems(name, service, services)
    found += port_problems(services)
    found += collector_problems(root, services)
    return found


def load_compose(path: Path) -> tuple[dict[str, Any] | None, list[str]]:
    if not path.is_file():
        return None, [f"{path.name}: no such file"]
    try:
        compose = yaml.safe_load(path.read_text())  # SafeLoader resolves anchors and `<<` merge keys
    except yaml.YAMLError as exc:
        return None, [f"{path.name}: not YAML: {exc}"]
    if not isinstance(compose, dict) or not isinstance(compose.get("services"), dict) or not compose["services"]:
        return None, [f"{path.name}: no services"]
    return compose, []


# --- Outlay services: the command and the environment are the code's ---


def outlay_service_problems(name: str, service: Mapping[str, Any], stages: set[str]) -> list[str]:
    found: list[str] = []
    command = service.get("command")
    if command is None:
        # The image's default command would run, whatever service this entry means to be.
        found.append(f"{name}: no command (want `outlay services run NAME`, `topics` or `migrate`)")
    else:
        args = shlex.split(command) if isinstance(command, str) else [str(arg) for arg in command]
        problem = cli_problem(args)
        if problem:
            found.append(f"{name}: command `{CLI_NAME} {shlex.join(args)}`: {problem}")
    unknown = sorted(set(env_keys(service.get("environment"))) - setting_variables() - set(LIBRARY_ENV))
    if unknown:
        found.append(f"{name}: environment variables no Outlay setting reads: {', '.join(unknown)}")
    target = service["build"].get("target") if isinstance(service["build"], Mapping) else None
    if target is not None and target not in stages:
        found.append(f"{name}: build target {target!r} is not a stage of the Dockerfile ({', '.join(sorted(stages))})")
    return found


@lru_cache(maxsize=1)
def setting_variables() -> frozenset[str]:
    """Every environment variable Settings reads (aliases and alias choices)."""
    return frozenset(name for field in Settings.model_fields.values() for name in env_names(field))


@lru_cache(maxsize=1)
def secret_variables() -> frozenset[str]:
    fields = Settings.model_fields.values()
    return frozenset(name for field in fields if is_secret(field.annotation) for name in env_names(field))


def env_keys(environment: Any) -> list[str]:
    """Variable names of a compose `environment`, in its mapping or its list (`KEY=VALUE`) form."""
    if isinstance(environment, Mapping):
        return [str(key) for key in environment]
    if isinstance(environment, list):
        return [str(item).split("=", 1)[0] for item in environment]
    return []


def env_items(environment: Any) -> list[tuple[str, str | None]]:
    if isinstance(environment, Mapping):
        return [(str(k), None if v is None else str(v)) for k, v in environment.items()]
    if isinstance(environment, list):
        pairs = [str(item).split("=", 1) for item in environment]
        return [(pair[0], pair[1] if len(pair) == 2 else None) for pair in pairs]
    return []


def dockerfile_stages(path: Path) -> set[str]:
    """Names of the Dockerfile's stages (`FROM image AS name`), the targets compose may build."""
    if not path.is_file():
        return set()
    return {m.group(1).lower() for m in re.finditer(r"(?im)^\s*FROM\s+\S+\s+AS\s+(\S+)", path.read_text())}


# --- third-party services: pinned images, their own documented environment ---


def image_repository(image: str) -> str:
    """`docker.io/library/postgres:15@sha256:..` -> `postgres`: the name THIRD_PARTY_ENV is keyed by."""
    name = image.split("@", 1)[0]
    last = name.rsplit("/", 1)[-1]
    if ":" in last:
        name = name[: len(name) - len(last)] + last.split(":", 1)[0]
    for prefix in ("docker.io/library/", "docker.io/"):
        name = name.removeprefix(prefix)
    return name


def image_problem(image: str) -> str | None:
    if "@sha256:" in image:
        return None  # a digest pins harder than any tag
    last = image.rsplit("/", 1)[-1]
    if ":" not in last:
        return f"image {image!r} has no version tag (it means `latest`)"
    tag = last.split(":", 1)[1]
    if tag == "latest" or "$" in tag:
        return f"image {image!r} is not pinned to a version tag"
    return None


def third_party_problems(name: str, service: Mapping[str, Any]) -> list[str]:
    image = service.get("image")
    if not isinstance(image, str):
        return [f"{name}: neither `build` (an Outlay service) nor `image`"]
    found: list[str] = []
    problem = image_problem(image)
    if problem:
        found.append(f"{name}: {problem}")
    documented = THIRD_PARTY_ENV.get(image_repository(image))
    keys = env_keys(service.get("environment"))
    if documented is None:
        if keys:
            found.append(f"{name}: image {image_repository(image)!r} has no documented environment in THIRD_PARTY_ENV")
        return found
    unknown = sorted(key for key in keys if not _documented(key, documented))
    if unknown:
        found.append(f"{name}: environment variables {image_repository(image)} does not document: {', '.join(unknown)}")
    return found


def _documented(key: str, documented: Iterable[str]) -> bool:
    return any(key == entry or (entry.endswith("_") and key.startswith(entry)) for entry in documented)


# --- secrets come from the environment, never from the file ---


def secret_problems(name: str, service: Mapping[str, Any]) -> list[str]:
    found: list[str] = []
    for key, value in env_items(service.get("environment")):
        if value is None:
            continue  # `- KEY` alone passes the variable through from compose's environment
        if (key in secret_variables() or SECRET_NAME.search(key)) and not from_environment(value):
            found.append(f"{key} is a literal secret or falls back to one (use ${{{key}:?...}})")
        url_password = URL_PASSWORD.search(value)
        if url_password and not from_environment(url_password.group(1)):
            found.append(f"{key} holds a literal password or falls back to one (use ${{VARIABLE:?...}} in the URL)")
    return [f"{name}: {problem}" for problem in found]  # messages name the variable, never its value


def from_environment(value: str) -> bool:
    """One `${VAR}`, `${VAR:?message}` or `${VAR:-}` reference: the value is the environment's, not the file's.
    A non-empty fallback (`${VAR:-hunter2}`) is a literal secret with extra steps."""
    match = INTERPOLATION.fullmatch(value.strip())
    return match is not None and not match.group("fallback")


# --- the topology: dependencies and ports ---


def depends_on_problems(name: str, service: Mapping[str, Any], services: Mapping[str, Any]) -> list[str]:
    depends_on = service.get("depends_on") or {}
    entries: dict[str, Any] = (
        dict.fromkeys(depends_on, None) if isinstance(depends_on, list) else dict(depends_on)  # short or long form
    )
    found: list[str] = []
    for target, spec in entries.items():
        if target not in services:
            found.append(f"{name}: depends_on {target!r}, which is not a service")
            continue
        condition = spec.get("condition", "service_started") if isinstance(spec, Mapping) else "service_started"
        if condition not in DEPENDS_CONDITIONS:
            found.append(f"{name}: depends_on {target!r} with unknown condition {condition!r}")
        elif condition == "service_healthy" and not _has_healthcheck(services[target]):
            found.append(f"{name}: waits for {target!r} to be healthy, but {target!r} has no healthcheck")
    return found


def _has_healthcheck(service: Mapping[str, Any]) -> bool:
    check = service.get("healthcheck")
    if isinstance(check, Mapping):
        return not check.get("disable", False)
    return "build" in service  # Outlay's images declare a HEALTHCHECK (Dockerfile)


def port_problems(services: Mapping[str, Any]) -> list[str]:
    owners: dict[str, list[str]] = {}
    for name, service in services.items():
        if isinstance(service, Mapping):
            for port in service.get("ports") or []:
                published = host_port(port)
                if published is not None:
                    owners.setdefault(published, []).append(name)
    return [
        f"host port {port} is published more than once: by {', '.join(names)}"
        for port, names in owners.items()
        if len(names) > 1
    ]


def host_port(port: Any) -> str | None:
    """The host side of one `ports` entry as `[ip:]port/protocol`; None when the engine picks it."""
    if isinstance(port, Mapping):
        published = port.get("published")
        protocol = port.get("protocol", "tcp")
        ip = port.get("host_ip")
        return None if published is None else f"{ip + ':' if ip else ''}{published}/{protocol}"
    text = str(port)
    text, _, protocol = text.partition("/")
    parts = text.rsplit(":", 2)
    if len(parts) == 1:
        return None  # only the container port: the engine publishes it on a free host port
    host = parts[-2] if len(parts) == 2 else f"{parts[0]}:{parts[1]}"
    return f"{host}/{protocol or 'tcp'}"


# --- the OpenTelemetry collector's configuration ---


def collector_problems(root: Path, services: Mapping[str, Any]) -> list[str]:
    path = root / COLLECTOR_CONFIG
    found = config_problems(path)
    collectors = [
        name
        for name, service in services.items()
        if isinstance(service, Mapping) and image_repository(str(service.get("image", ""))) in COLLECTOR_IMAGES
    ]
    if not collectors:
        found.append("no OpenTelemetry collector service (image otel/opentelemetry-collector)")
    for name in collectors:
        mounted = [_bind_source(volume) for volume in services[name].get("volumes") or []]
        if not any(source and (root / source).resolve() == path.resolve() for source in mounted):
            found.append(f"{name}: does not mount {COLLECTOR_CONFIG}")
    return found


def _bind_source(volume: Any) -> str | None:
    if isinstance(volume, Mapping):
        return str(volume["source"]) if volume.get("type") == "bind" and "source" in volume else None
    source = str(volume).split(":", 1)[0]
    return source if source.startswith((".", "/")) else None  # a bare word is a named volume


def config_problems(path: Path) -> list[str]:
    """The collector config parses and every pipeline and extension names a component defined in it."""
    where = COLLECTOR_CONFIG.as_posix()
    if not path.is_file():
        return [f"{where}: no such file"]
    try:
        config = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        return [f"{where}: not YAML: {exc}"]
    if not isinstance(config, dict):
        return [f"{where}: not a mapping"]
    service = config.get("service") or {}
    pipelines = service.get("pipelines") or {}
    found = [] if pipelines else [f"{where}: service.pipelines is empty"]
    for pipeline, spec in pipelines.items():
        for kind in ("receivers", "processors", "exporters"):
            defined = config.get(kind) or {}
            for component in (spec or {}).get(kind) or []:
                if component not in defined:
                    found.append(f"{where}: pipeline {pipeline} uses {kind[:-1]} {component!r}, not defined")
        for kind in ("receivers", "exporters"):
            if not (spec or {}).get(kind):
                found.append(f"{where}: pipeline {pipeline} has no {kind}")
    for extension in service.get("extensions") or []:
        if extension not in (config.get("extensions") or {}):
            found.append(f"{where}: service uses extension {extension!r}, not defined")
    return found


# --- Docker's own check, where a compose client exists ---


def compose_client() -> list[str] | None:
    """How to call compose here: the docker CLI plugin, the standalone binary, or None."""
    docker = shutil.which("docker")
    if docker and _runs([docker, "compose", "version"]):
        return [docker, "compose"]
    standalone = shutil.which("docker-compose")
    return [standalone] if standalone else None


def _runs(command: list[str]) -> bool:
    try:
        return subprocess.run(command, capture_output=True, timeout=30, check=False).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def docker_compose_config(root: Path | None = None) -> list[str]:
    """`docker compose config` on the compose file: [] when no compose client exists, its errors otherwise.

    Needs no engine. Required secrets (`${VAR:?...}`) unset here get placeholders, since the check is of the
    file, not of this shell's secrets; no value is printed."""
    client = compose_client()
    if client is None:
        return []
    path = (root or DEFAULT_ROOT) / COMPOSE_FILE
    env = dict(os.environ)
    for variable in REQUIRED_VARIABLE.findall(path.read_text()):
        env.setdefault(variable, "placeholder-for-compose-config")
    try:
        result = subprocess.run(
            [*client, "-f", str(path), "config", "--quiet"],
            capture_output=True,
            text=True,
            timeout=60,
            env=env,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return ["docker compose config: no answer within 60 s"]
    if result.returncode == 0:
        return []
    lines = [line for line in (result.stderr or result.stdout).splitlines() if line.strip()]
    return [f"docker compose config: {line}" for line in lines] or [f"docker compose config: exit {result.returncode}"]
