"""Whether a container's arguments are a command the `outlay` CLI accepts, asked of the CLI itself (the compose
file and the Kubernetes manifests both run the image, whose ENTRYPOINT is `outlay`)."""

from __future__ import annotations

from typing import Any

import typer
from typer.main import get_command

CLI_NAME = "outlay"  # the image's ENTRYPOINT: a container's command or args are the words after it


def cli_problem(args: list[str]) -> str | None:
    """Why `outlay ARGS` would be refused, asking the typer app itself (None: it would run)."""
    from outlay.cli.main import app  # the CLI imports much; only the deployment checks need it

    command: Any = get_command(app)
    path = [CLI_NAME]
    rest = list(args)
    while (subcommands := getattr(command, "commands", None)) is not None:  # a group: the next word picks
        if not rest:
            return f"`{' '.join(path)}` needs one of: {', '.join(sorted(subcommands))}"
        word = rest.pop(0)
        if word not in subcommands:
            return f"no command {word!r} in `{' '.join(path)}` (one of: {', '.join(sorted(subcommands))})"
        command = subcommands[word]
        path.append(word)
    try:  # parse (never invoke) the leaf's arguments: choices such as the service name are checked here
        command.make_context(" ".join(path), rest)
    except typer.TyperException as exc:  # typer's click errors: usage, bad parameter, no such option
        return str(exc.format_message()) if hasattr(exc, "format_message") else str(exc)
    return None
