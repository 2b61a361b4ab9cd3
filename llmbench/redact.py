"""Keep secrets out of everything llmbench writes: records, logs, spans, reports.

Two kinds of secret are recognised: the value of any environment variable
whose name says it holds a credential (``*API_KEY*``, ``*TOKEN*``, ``*SECRET*``,
``*PASSWORD*``, ``*ACCESS_KEY*``), and strings shaped like provider keys
(``sk-...``, ``Bearer ...``, ``AKIA...``).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Any

REDACTED = "[redacted]"

# TOKEN only as a whole word (HF_TOKEN, auth_token), never max_tokens.
_SECRET_NAME = re.compile(
    r"API_?KEY|(?:^|_)(?:TOKEN|KEY)(?:$|_)|SECRET|PASSWORD|ACCESS_?KEY|CREDENTIAL"
    r"|AUTHORIZATION",
    re.I,
)
_KEY_SHAPES = re.compile(
    r"\b(?:sk|pk|rk)-[A-Za-z0-9_\-]{8,}"  # OpenAI, Anthropic and look-alikes
    r"|(?<=Bearer )[A-Za-z0-9_\-\.=]{8,}"
    r"|AKIA[0-9A-Z]{16}"  # AWS access key ids
    r"|AIza[0-9A-Za-z_\-]{20,}"  # Google API keys
    r"|hf_[A-Za-z0-9]{20,}"
)
#: Secret values shorter than this are not searched for: too likely to occur.
_MIN_SECRET_LEN = 8


def is_secret_name(name: str) -> bool:
    """True when a variable or parameter name says it holds a credential."""
    return bool(_SECRET_NAME.search(name))


def _secret_values() -> list[str]:
    values = [
        value
        for name, value in os.environ.items()
        if is_secret_name(name) and len(value) >= _MIN_SECRET_LEN
    ]
    return sorted(values, key=len, reverse=True)


def redact(text: str) -> str:
    """Replace every secret found in `text` with ``[redacted]``."""
    for value in _secret_values():
        if value in text:
            text = text.replace(value, REDACTED)
    return _KEY_SHAPES.sub(REDACTED, text)


def redact_params(params: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of call parameters without credentials, safe to store or trace."""
    return {
        name: (REDACTED if is_secret_name(name) else value)
        for name, value in params.items()
    }
