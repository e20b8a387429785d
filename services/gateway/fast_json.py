"""A JSON response for large answers: serialised by orjson and returned as is (the route's model documents the
shape; the renderer that builds the body is tested against it, so it is not validated again row by row)."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi.responses import Response


class FastJSONResponse(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)
