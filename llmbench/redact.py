"""Keep secrets out of everything llmbench writes: records, logs, spans, reports.

Two kinds of secret are recognised: the value of any environment variable
whose name says it holds a credential (``*API_KEY*``, ``*_KEY``, ``*TOKEN*``
as a word, ``*SECRET*``, ``*PASSWORD*``, ``*ACCESS_KEY*``), and strings shaped
like provider keys (``sk-...``, ``Bearer ...``, ``AKIA...``, ``hf_...``). URLs
in parameters lose their user, password and query string.
"""

from __future__ import annotations

import json
import os
import re
import urllib.parse
from collections.abc import Mapping
from typing import Any

REDACTED = "[redacted]"

# TOKEN and KEY only as whole words (HF_TOKEN, MISTRAL_KEY), never max_tokens.
_SECRET_NAME = re.compile(
    r"API_?KEY|(?:^|_)(?:TOKEN|KEY)(?:$|_)|SECRET|PASSWORD|ACCESS_?KEY|CREDENTIAL"
    r"|AUTHORIZATION",
    re.I,
)


def is_secret_name(name: str) -> bool:
    """True when a variable or parameter name says it holds a credential."""
    return bool(_SECRET_NAME.search(name))


#: Shapes of credentials caught anywhere in text, each with a literal prefix
#: that is searched for first (a substring test costs far less than a regex).
_KEY_SHAPES = {
    "sk-": r"\bsk-[A-Za-z0-9_\-]{8,}",
    "AKIA": r"AKIA[0-9A-Z]{16}",
    "ASIA": r"ASIA[0-9A-Z]{16}",
    "AIza": r"AIza[0-9A-Za-z_\-]{30,}",
    "hf_": r"hf_[A-Za-z0-9]{30,}",
    "ghp_": r"ghp_[A-Za-z0-9]{30,}",
    "github_pat_": r"github_pat_[A-Za-z0-9_]{30,}",
    "xai-": r"xai-[A-Za-z0-9]{30,}",
    "gsk_": r"gsk_[A-Za-z0-9]{30,}",
    "Bearer ": r"Bearer\s+[A-Za-z0-9._~+/=\-]{12,}",
    "bearer ": r"bearer\s+[A-Za-z0-9._~+/=\-]{12,}",
}

#: Parameters that hold a URL, which may carry a user, password or key.
_URL_PARAMS = frozenset({"api_base", "base_url", "api_url", "endpoint", "url"})

#: Secret values shorter than this are not searched for (too many false hits).
_MIN_SECRET_LENGTH = 8


def is_secret_param(name: str) -> bool:
    """True when a parameter or attribute name says it holds a credential.

    Like `llmbench.redact.is_secret_name`, plus any ``*key*`` and
    ``Authorization``, minus token counts: ``max_tokens`` is not a secret.
    """
    lowered = name.lower()
    if lowered.endswith("tokens"):
        return False
    return is_secret_name(name) or "key" in lowered or "authorization" in lowered


class Redactor:
    """Redacts credentials from text, parameters, JSON-like values and span attributes.

    Args:
        environ: Whose secret-named variables' values are redacted wherever
            they appear; default `os.environ` as it is now.
    """

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        environ = os.environ if environ is None else environ
        values = {
            value
            for name, value in environ.items()
            if is_secret_name(name) and len(value) >= _MIN_SECRET_LENGTH
        }
        ordered = sorted(values, key=len, reverse=True)
        self._markers = (*ordered, *_KEY_SHAPES)
        patterns = [re.escape(value) for value in ordered] + list(_KEY_SHAPES.values())
        self._pattern = re.compile("|".join(patterns))

    def text(self, text: str) -> str:
        """`text` with every credential replaced by the redaction mark."""
        if any(marker in text for marker in self._markers):
            return self._pattern.sub(REDACTED, text)
        return text

    def params(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """A copy of `params`, nested too, with secrets and URL credentials gone."""
        clean: dict[str, Any] = {}
        for name, value in params.items():
            key = str(name)
            if is_secret_param(key):
                clean[key] = REDACTED
            elif isinstance(value, str) and key.lower() in _URL_PARAMS:
                clean[key] = self.text(strip_url_credentials(value))
            else:
                clean[key] = self.value(value)
        return clean

    def value(self, value: Any) -> Any:
        """Any JSON-like value with the secrets in its strings redacted."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, Mapping):
            return self.params(value)
        if isinstance(value, list | tuple):
            return [self.value(item) for item in value]
        return value

    def attribute(self, name: str, value: Any) -> Any:
        """A span attribute's value, redacted by its name's last part and content.

        JSON objects in strings (``llm.invocation_parameters``, ``metadata``)
        are redacted key by key.
        """
        if is_secret_param(name.rsplit(".", 1)[-1]):
            return REDACTED
        if isinstance(value, str):
            if value.startswith("{"):
                return self._json_text(value)
            return self.text(value)
        if isinstance(value, list | tuple):
            return tuple(self.text(v) if isinstance(v, str) else v for v in value)
        return value

    def _json_text(self, text: str) -> str:
        """A JSON object's text with secret-named keys and secret strings redacted."""
        try:
            data = json.loads(text)
        except ValueError:
            return self.text(text)
        if not isinstance(data, dict):
            return self.text(text)
        return json.dumps(self.params(data), default=str)


def strip_url_credentials(url: str) -> str:
    """`url` without user, password, query string and fragment."""
    try:
        parts = urllib.parse.urlsplit(url)
        port = parts.port
    except ValueError:
        return url
    if not parts.scheme or not parts.netloc:
        return url
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{host}:{port}" if port else host
    return urllib.parse.urlunsplit((parts.scheme, netloc, parts.path, "", ""))


_current: tuple[tuple[str, ...], Redactor] | None = None


def _redactor() -> Redactor:
    """A redactor for the environment as it is now, rebuilt when secrets change."""
    global _current
    secrets = tuple(
        value
        for name, value in os.environ.items()
        if len(value) >= _MIN_SECRET_LENGTH and is_secret_name(name)
    )
    if _current is None or _current[0] != secrets:
        _current = (secrets, Redactor())
    return _current[1]


def redact(text: str) -> str:
    """Replace every secret found in `text` with ``[redacted]``."""
    return _redactor().text(text)


def redact_params(params: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of call parameters without credentials, safe to store or trace."""
    return _redactor().params(params)
