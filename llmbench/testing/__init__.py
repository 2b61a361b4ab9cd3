"""A local OpenAI-compatible server: the stand-in for a real provider.

Tests and benchmarks point litellm at it (``model="openai/<any name>"``,
``api_base=server.base_url``, any api_key), so they exercise litellm's real
HTTP path with no network and no key. It answers chat completions (an echo
reply, scripted replies, or JSON fitting the schema a judge asks for),
embeddings (hashed bag of words), and injects faults on demand: 429 with
Retry-After, 500, timeouts, malformed JSON, dropped connections.

    with LocalServer.start(latency_s=0.05) as server:
        litellm.completion(model="openai/stub", api_base=server.base_url,
                           api_key="sk-test", messages=[...])
        server.stats()["requests"]["chat"]

Token counts are whitespace-separated words (see `llmbench.testing.replies`).
The server listens on 127.0.0.1 only.
"""

from __future__ import annotations

from llmbench.testing.handle import LocalServer
from llmbench.testing.server import ServerStats
from llmbench.testing.settings import FAULT_KINDS, FaultKind, ServerSettings

__all__ = ["FAULT_KINDS", "FaultKind", "LocalServer", "ServerSettings", "ServerStats"]
