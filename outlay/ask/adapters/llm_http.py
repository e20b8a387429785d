"""LLM providers over HTTP: the Anthropic Messages API and OpenAI-compatible chat completions, each asked to call
one tool whose input schema is the structured query's.

The API key is sent only in the request's auth header; no message, log line or exception here contains it (nor
the provider's error body, which could echo request details). Every failure is `LlmInvalid`, so the caller
falls back to the offline parser.
"""

from __future__ import annotations

import json
from typing import Any, Literal

import httpx

from outlay.ask.llm import LlmInvalid
from outlay.settings import Settings

Provider = Literal["anthropic", "openai"]
DEFAULT_BASE_URLS: dict[str, str] = {"anthropic": "https://api.anthropic.com", "openai": "https://api.openai.com/v1"}
DEFAULT_MODELS: dict[str, str] = {"anthropic": "claude-3-5-haiku-latest", "openai": "gpt-4o-mini"}
ANTHROPIC_VERSION = "2023-06-01"
MAX_TOKENS = 1024


class HttpLlm:
    """One provider's HTTP API (`transport` lets tests use a custom one; they use a real local server instead)."""

    def __init__(
        self,
        provider: Provider,
        api_key: str,
        *,
        model: str | None = None,
        base_url: str | None = None,
        timeout: float = 20.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.provider = provider
        self.model = model or DEFAULT_MODELS[provider]
        self.base_url = (base_url or DEFAULT_BASE_URLS[provider]).rstrip("/")
        self._key = api_key
        self._timeout = timeout
        self._transport = transport

    def __repr__(self) -> str:  # never the key
        return f"HttpLlm(provider={self.provider!r}, model={self.model!r}, base_url={self.base_url!r})"

    async def call_tool(self, system: str, user: str, name: str, description: str, schema: dict[str, Any]) -> Any:
        if self.provider == "anthropic":
            url = f"{self.base_url}/v1/messages"
            headers = {"x-api-key": self._key, "anthropic-version": ANTHROPIC_VERSION}
            body: dict[str, Any] = {
                "model": self.model,
                "max_tokens": MAX_TOKENS,
                "system": system,
                "messages": [{"role": "user", "content": user}],
                "tools": [{"name": name, "description": description, "input_schema": schema}],
                "tool_choice": {"type": "tool", "name": name},
                "temperature": 0,
            }
        else:
            url = f"{self.base_url}/chat/completions"
            headers = {"Authorization": f"Bearer {self._key}"}
            body = {
                "model": self.model,
                "messages": [{"role": "system", "content": system}, {"role": "user", "content": user}],
                "tools": [
                    {"type": "function", "function": {"name": name, "description": description, "parameters": schema}}
                ],
                "tool_choice": {"type": "function", "function": {"name": name}},
                "temperature": 0,
            }
        reply = await self._post(url, headers, body)
        return tool_input_anthropic(reply, name) if self.provider == "anthropic" else tool_input_openai(reply, name)

    async def _post(self, url: str, headers: dict[str, str], body: dict[str, Any]) -> Any:
        try:
            async with httpx.AsyncClient(timeout=self._timeout, transport=self._transport) as client:
                response = await client.post(url, headers=headers, json=body)
        except httpx.HTTPError as exc:
            raise LlmInvalid(f"the configured {self.provider} API is not reachable ({type(exc).__name__})") from None
        if response.status_code != 200:
            raise LlmInvalid(f"the configured {self.provider} API answered HTTP {response.status_code}")
        try:
            return response.json()
        except (ValueError, RecursionError):
            raise LlmInvalid(f"the configured {self.provider} API answered something that is not JSON") from None


def tool_input_anthropic(reply: Any, name: str) -> Any:
    """The input of the `name` tool_use block of a Messages API reply."""
    try:
        for block in reply["content"]:
            if block.get("type") == "tool_use" and block.get("name") == name:
                return block["input"]
    except (KeyError, TypeError, AttributeError, RecursionError):
        pass
    raise LlmInvalid(f"the reply has no call of the {name} tool")


def tool_input_openai(reply: Any, name: str) -> Any:
    """The arguments of the `name` tool call of a chat completion (a JSON string), or JSON content as a fallback
    for servers that answer in the message instead. Any other shape is `LlmInvalid`, never an error of ours."""
    try:
        return _tool_input_openai(reply, name)
    except (AttributeError, TypeError, RecursionError):
        raise LlmInvalid("the reply is not a chat completion") from None


def _tool_input_openai(reply: Any, name: str) -> Any:
    try:
        message = reply["choices"][0]["message"]
    except (KeyError, IndexError, TypeError):
        raise LlmInvalid("the reply has no message") from None
    for call in message.get("tool_calls") or []:
        function = call.get("function") or {}
        if function.get("name") == name:
            arguments = function.get("arguments")
            try:
                return json.loads(arguments) if isinstance(arguments, str) else arguments
            except (ValueError, RecursionError):
                raise LlmInvalid("the tool call's arguments are not JSON") from None
    content = message.get("content")
    if isinstance(content, str) and content.strip().startswith("{"):
        try:
            return json.loads(content)
        except ValueError:
            pass
    raise LlmInvalid(f"the reply has no call of the {name} tool")


def llm_from_settings(settings: Settings) -> HttpLlm | None:
    """The configured provider, or None when OUTLAY_LLM_PROVIDER or OUTLAY_LLM_API_KEY is unset (offline only)."""
    if settings.llm_provider is None or settings.llm_api_key is None:
        return None
    return HttpLlm(
        settings.llm_provider,
        settings.llm_api_key.get_secret_value(),
        model=settings.llm_model,
        base_url=settings.llm_base_url,
        timeout=settings.llm_timeout_s,
    )
