"""docs/configuration.md, generated from `outlay.settings.Settings` so the table cannot go stale.

Regenerate with `.venv/bin/python -m outlay.settings_doc > docs/configuration.md`; a unit test compares the
committed file with `render()`. Secrets' defaults are never printed, whatever they are.
"""

from __future__ import annotations

import types
from decimal import Decimal
from enum import Enum
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin

from annotated_types import Ge, Gt, Le, Lt, MaxLen, MinLen
from pydantic import AliasChoices, SecretStr
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from outlay.settings import Settings, redact_url

REGENERATE = ".venv/bin/python -m outlay.settings_doc > docs/configuration.md"

HEADER = f"""# Configuration

Every Outlay process reads its settings from environment variables (no prefix, case-insensitive, 12-factor);
one definition, `outlay/settings.py`, serves every service. Unset variables take the default below.
Secrets (the API key, passwords inside `DATABASE_URL`) come from the environment only and are never logged.

<!-- Generated from outlay/settings.py by outlay/settings_doc.py; do not edit by hand.
     Regenerate: {REGENERATE} -->

| Variable | Type | Default | Description |
|---|---|---|---|
"""

# Variables Outlay processes honour that are not Settings: read by the OpenTelemetry SDK (names from its
# specification, opentelemetry.io/docs/specs/otel/configuration/sdk-environment-variables) or, for tests and
# a quick look without a collector, by outlay/telemetry/tracing.py. The compose check admits these too.
LIBRARY_ENV: dict[str, str] = {
    "OTEL_EXPORTER_OTLP_ENDPOINT": "Turns tracing on: spans go over OTLP/HTTP to this base URL (e.g. http://otel-collector:4318).",
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "The full traces URL, when it differs from the base endpoint's /v1/traces.",
    "OTEL_EXPORTER_OTLP_HEADERS": "Headers for the OTLP exporter (key=value,...), e.g. a collector's auth token: a secret.",
    "OTEL_EXPORTER_OTLP_TIMEOUT": "The OTLP exporter's timeout in milliseconds.",
    "OTEL_RESOURCE_ATTRIBUTES": "Extra resource attributes on every span (key=value,...), e.g. deployment.environment=prod.",
    "OTEL_TRACES_SAMPLER": "The SDK's sampler (default parentbased_always_on).",
    "OTEL_TRACES_SAMPLER_ARG": "The sampler's argument, e.g. the ratio of traceidratio.",
    "OTEL_BSP_SCHEDULE_DELAY": "Milliseconds between the batch span processor's exports.",
    "OTEL_BSP_MAX_QUEUE_SIZE": "Spans the batch span processor buffers before dropping.",
    "OUTLAY_TRACES_DIR": "Turns tracing on: each process appends its spans as JSON lines to a file of its own in this directory.",
}

_TYPE_NAMES: dict[type, str] = {
    str: "string",
    int: "integer",
    float: "number",
    bool: "boolean",
    Decimal: "decimal",
    Path: "path",
    SecretStr: "secret",
}


def env_names(field: FieldInfo) -> list[str]:
    """The variables a field is read from: its alias, or every choice of its validation alias."""
    if field.alias:
        return [field.alias]
    if isinstance(field.validation_alias, AliasChoices):
        return [choice for choice in field.validation_alias.choices if isinstance(choice, str)]
    if isinstance(field.validation_alias, str):
        return [field.validation_alias]
    return []


def is_secret(annotation: Any) -> bool:
    """SecretStr anywhere in the annotation (e.g. `SecretStr | None`) marks a secret."""
    return annotation is SecretStr or any(is_secret(arg) for arg in get_args(annotation))


def type_name(annotation: Any) -> str:
    origin = get_origin(annotation)
    if origin is Literal:
        return "one of " + ", ".join(f"`{value}`" for value in get_args(annotation))
    if origin in (Union, types.UnionType):
        args = [arg for arg in get_args(annotation) if arg is not type(None)]
        inner = " or ".join(type_name(arg) for arg in args)
        # Optional settings may be left unset: that is a state of its own, named in the default column.
        return f"{inner} (optional)" if len(args) < len(get_args(annotation)) else inner
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return "one of " + ", ".join(f"`{member.value}`" for member in annotation)
    if isinstance(annotation, type):
        return _TYPE_NAMES.get(annotation, annotation.__name__)
    return str(annotation)


def bounds(field: FieldInfo) -> str:
    """Validation limits (ge/gt/le/lt, lengths) as text, so an operator sees what is refused."""
    parts: list[str] = []
    for item in field.metadata:
        if isinstance(item, Ge):
            parts.append(f"≥ {item.ge}")
        elif isinstance(item, Gt):
            parts.append(f"> {item.gt}")
        elif isinstance(item, Le):
            parts.append(f"≤ {item.le}")
        elif isinstance(item, Lt):
            parts.append(f"< {item.lt}")
        elif isinstance(item, MinLen):
            parts.append(f"length ≥ {item.min_length}")
        elif isinstance(item, MaxLen):
            parts.append(f"length ≤ {item.max_length}")
    return ", ".join(parts)


def default_text(field: FieldInfo) -> str:
    if is_secret(field.annotation):
        return "*(secret: not shown)*"
    default = field.get_default(call_default_factory=True) if field.default is PydanticUndefined else field.default
    if default is None:
        return "unset"
    if isinstance(default, bool):
        return f"`{str(default).lower()}`"
    if isinstance(default, Enum):
        default = default.value
    if default == "":
        return "empty"
    if isinstance(default, str) and "://" in default:
        default = redact_url(default)  # a URL default (a store, a broker) may carry a password
    return f"`{default}`"


def cell(text: str) -> str:
    """Table cells hold one line and no bare pipes."""
    return " ".join(text.split()).replace("|", "\\|")


def row(field: FieldInfo) -> str:
    names = env_names(field)
    variable = " or ".join(f"`{name}`" for name in names)
    kind = type_name(field.annotation)
    limits = bounds(field)
    if limits:
        kind = f"{kind}, {limits}"
    description = field.description or ""
    return f"| {variable} | {cell(kind)} | {cell(default_text(field))} | {cell(description)} |"


LIBRARY_HEADER = """
## Tracing variables read outside the settings

Tracing is on when `OTEL_EXPORTER_OTLP_ENDPOINT` or `OUTLAY_TRACES_DIR` is set; the other variables tune the
OpenTelemetry SDK's exporter, sampler and batching.

| Variable | Description |
|---|---|
"""


def render() -> str:
    """The whole of docs/configuration.md, one row per setting in the order Settings declares them."""
    rows = [row(field) for field in Settings.model_fields.values()]
    library = [f"| `{name}` | {cell(description)} |" for name, description in LIBRARY_ENV.items()]
    return HEADER + "\n".join(rows) + "\n" + LIBRARY_HEADER + "\n".join(library) + "\n"


if __name__ == "__main__":
    print(render(), end="")
