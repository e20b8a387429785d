"""Normal forms of tag keys and values, so messy real tags compare equal.

Real accounts carry `Team`, `team`, `TEAM`, ` team` and `user:Team` for one key, and `Checkout`, `checkout ` and
`check_out` for one value. Both are compared after: Unicode case folding, trimming, and runs of spaces, `_` and
`-` made one `-`. A CUR `user:` prefix is dropped from keys (the parsers already drop it for most layouts).
"""

from __future__ import annotations

import re
from functools import lru_cache

_SEPARATORS = re.compile(r"[\s_\-]+")
_USER_PREFIX = "user:"


@lru_cache(maxsize=65_536)  # a period repeats a few hundred distinct keys and values many thousand times
def normalise_key(key: str) -> str:
    folded = key.strip().casefold()
    if folded.startswith(_USER_PREFIX):
        folded = folded[len(_USER_PREFIX) :]
    return _SEPARATORS.sub("-", folded).strip("-")


@lru_cache(maxsize=65_536)
def normalise_value(value: str) -> str:
    return _SEPARATORS.sub("-", value.strip().casefold()).strip("-")
