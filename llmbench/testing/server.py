"""The stub server's aiohttp application: routes, faults and statistics.

Routes:
    POST /v1/chat/completions  a chat completion (no streaming: 400)
    POST /v1/embeddings        hashed bag-of-words vectors
    GET  /v1/models            the one model it pretends to serve
    GET  /healthz              ``{"ok": true}``
    GET  /stats                counts, see `ServerStats`
    GET  /control              the settings in force
    POST /control              change settings (a JSON object of changes)
    POST /reset                zero the statistics and restart every sequence

Faults hit the two model routes. For each request the first rule that applies
picks its fault: the ``X-Fault`` header (``429``, ``500``, ``timeout``,
``malformed``, ``drop`` or ``none``), then ``fail_first``, then the seeded random
draw at the configured rates (drawn for every request, so the sequence does not
depend on the other two rules).
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import random
import time
from collections import Counter
from collections.abc import Callable
from typing import Any, TypedDict

from aiohttp import web

from llmbench.errors import ConfigError
from llmbench.testing import replies
from llmbench.testing.settings import (
    FAULT_KINDS,
    FaultKind,
    ServerSettings,
    parse_fault,
)

logger = logging.getLogger(__name__)

HOST = "127.0.0.1"

#: Body of the ``malformed`` fault: a 200 whose JSON stops half way.
MALFORMED_BODY = '{"id": "chatcmpl-broken", "object": "chat.completion", "choices": [{'

_JSON = "application/json"


class ServerStats(TypedDict):
    """What ``GET /stats`` returns.

    Attributes:
        requests: Requests per route (``chat``, ``embeddings``, ``models``,
            ``healthz``); the control routes are not counted.
        bad_requests: Requests answered 400 (bad JSON, streaming asked...).
        faults: Injected faults per kind.
        first_chat_at: `time.time()` when the first chat request arrived.
        last_chat_at: `time.time()` when the last chat request arrived.
        chat_rate_per_s: Chat requests per second between the first and the
            last arrival, None with fewer than two.
        in_flight: Requests being answered now.
        max_in_flight: The most requests answered at once since the reset.
        prompt_tokens: Prompt tokens (words) of the chat completions sent.
        completion_tokens: Completion tokens (words) of the chat completions sent.
    """

    requests: dict[str, int]
    bad_requests: int
    faults: dict[str, int]
    first_chat_at: float | None
    last_chat_at: float | None
    chat_rate_per_s: float | None
    in_flight: int
    max_in_flight: int
    prompt_tokens: int
    completion_tokens: int


class StubServer:
    """The state behind the routes: settings, counters and random sequences."""

    def __init__(self, settings: ServerSettings) -> None:
        self.settings = settings
        self.reset()

    def reset(self) -> None:
        """Zero the statistics and restart the fault, script and retry sequences."""
        self._rng = random.Random(self.settings.seed)
        self._turn = 0
        self._serial = 0
        self._seen: Counter[str] = Counter()
        self._requests: Counter[str] = Counter()
        self._faults: Counter[str] = Counter()
        self._bad_requests = 0
        self._first_chat_at: float | None = None
        self._last_chat_at: float | None = None
        self._in_flight = 0
        self._max_in_flight = 0
        self._prompt_tokens = 0
        self._completion_tokens = 0

    def app(self) -> web.Application:
        """The aiohttp application serving this state."""
        app = web.Application(client_max_size=16 * 1024 * 1024)
        app.router.add_post("/v1/chat/completions", self.chat)
        app.router.add_post("/v1/embeddings", self.embeddings)
        app.router.add_get("/v1/models", self.models)
        app.router.add_get("/healthz", self.healthz)
        app.router.add_get("/stats", self.stats)
        app.router.add_get("/control", self.read_control)
        app.router.add_post("/control", self.control)
        app.router.add_post("/reset", self.reset_route)
        return app

    def snapshot(self) -> ServerStats:
        """The statistics as `ServerStats`."""
        rate = None
        first, last = self._first_chat_at, self._last_chat_at
        if first is not None and last is not None and last > first:
            rate = (self._requests["chat"] - 1) / (last - first)
        return ServerStats(
            requests={
                k: self._requests[k]
                for k in ("chat", "embeddings", "models", "healthz")
            },
            bad_requests=self._bad_requests,
            faults={kind: self._faults[kind] for kind in FAULT_KINDS},
            first_chat_at=first,
            last_chat_at=last,
            chat_rate_per_s=rate,
            in_flight=self._in_flight,
            max_in_flight=self._max_in_flight,
            prompt_tokens=self._prompt_tokens,
            completion_tokens=self._completion_tokens,
        )

    async def chat(self, request: web.Request) -> web.StreamResponse:
        """``POST /v1/chat/completions``."""
        now = time.time()
        self._requests["chat"] += 1
        if self._first_chat_at is None:
            self._first_chat_at = now
        self._last_chat_at = now

        body = await self._json_body(request)
        if body is None or not isinstance(body.get("messages"), list):
            return self._bad_request("the body must be a JSON object with 'messages'")
        if body.get("stream"):
            return self._bad_request(
                "streaming is not supported by the llmbench stub server; "
                "call it without stream=True"
            )

        user_text = replies.last_user_text(body["messages"])
        return await self._answer(
            request, user_text, lambda: self._completion(body, user_text)
        )

    async def embeddings(self, request: web.Request) -> web.StreamResponse:
        """``POST /v1/embeddings``."""
        self._requests["embeddings"] += 1
        body = await self._json_body(request)
        if body is None or "input" not in body:
            return self._bad_request("the body must be a JSON object with 'input'")

        key = "\n".join(replies.embedding_inputs(body["input"]))
        return await self._answer(
            request, key, lambda: replies.embeddings_response(body, self.settings)
        )

    async def models(self, request: web.Request) -> web.Response:
        """``GET /v1/models``."""
        self._requests["models"] += 1
        model = {"id": "stub", "object": "model", "created": 0, "owned_by": "llmbench"}
        return web.json_response({"object": "list", "data": [model]})

    async def healthz(self, request: web.Request) -> web.Response:
        """``GET /healthz``."""
        self._requests["healthz"] += 1
        return web.json_response({"ok": True})

    async def stats(self, request: web.Request) -> web.Response:
        """``GET /stats``."""
        return web.json_response(self.snapshot())

    async def read_control(self, request: web.Request) -> web.Response:
        """``GET /control``: the settings in force."""
        return web.json_response(self.settings.to_dict())

    async def control(self, request: web.Request) -> web.Response:
        """``POST /control``: apply a JSON object of setting changes."""
        body = await self._json_body(request)
        if body is None:
            return self._bad_request("the body must be a JSON object of settings")
        try:
            settings = self.settings.updated(body)
        except ConfigError as exc:
            return self._bad_request(str(exc))

        if settings.seed != self.settings.seed:
            self._rng = random.Random(settings.seed)
        self.settings = settings
        logger.debug("stub server settings changed: %s", sorted(body))
        return web.json_response(settings.to_dict())

    async def reset_route(self, request: web.Request) -> web.Response:
        """``POST /reset``."""
        self.reset()
        return web.json_response({"ok": True})

    async def _answer(
        self, request: web.Request, key: str, build: Callable[[], dict[str, Any]]
    ) -> web.StreamResponse:
        """Wait, then inject the chosen fault or send what `build()` returns."""
        header = request.headers.get("X-Fault")
        if header is not None and header != "none" and parse_fault(header) is None:
            return self._bad_request(
                f"X-Fault must be one of {', '.join(FAULT_KINDS)} or none, "
                f"got {header!r}"
            )

        self._in_flight += 1
        self._max_in_flight = max(self._max_in_flight, self._in_flight)
        try:
            fault = self._choose_fault(request, key)
            if fault is not None:
                self._faults[fault] += 1
            if self.settings.latency_s > 0:
                await asyncio.sleep(self.settings.latency_s)

            if fault == "timeout":
                await asyncio.sleep(self.settings.hang_s)
            elif fault is not None:
                return self._fault_response(request, fault)
            return web.Response(text=json.dumps(build()), content_type=_JSON)
        finally:
            self._in_flight -= 1

    def _completion(self, body: dict[str, Any], user_text: str) -> dict[str, Any]:
        """The chat completion for a request that gets a normal answer."""
        reply = replies.scripted_reply(self.settings, user_text, self._turn)
        if isinstance(self.settings.replies, list):
            self._turn += 1
        if reply is None:
            json_wanted, schema = replies.wants_json(body)
            if schema is not None:
                reply = json.dumps(replies.schema_example(schema))
            elif json_wanted:
                reply = json.dumps({"answer": replies.echo_reply(user_text)})
            else:
                reply = replies.echo_reply(user_text)

        self._serial += 1
        completion = replies.chat_completion(body, reply, self.settings, self._serial)
        usage = completion["usage"]
        self._prompt_tokens += usage["prompt_tokens"]
        self._completion_tokens += usage["completion_tokens"]
        return completion

    def _choose_fault(self, request: web.Request, key: str) -> FaultKind | None:
        """The fault this request gets, or None."""
        drawn = self._draw_fault()

        header = request.headers.get("X-Fault")
        if header is not None:
            return parse_fault(header)

        if self.settings.fail_first > 0:
            self._seen[key] += 1
            if self._seen[key] <= self.settings.fail_first:
                return self.settings.fail_first_fault
        return drawn

    def _draw_fault(self) -> FaultKind | None:
        """The next fault of the seeded random sequence, or None."""
        faults = self.settings.faults
        if not faults:
            return None
        point = self._rng.random()
        for kind in FAULT_KINDS:
            point -= faults.get(kind, 0.0)
            if point < 0:
                return kind
        return None

    def _fault_response(self, request: web.Request, fault: FaultKind) -> web.Response:
        """The response (or the lack of one) that injects `fault`."""
        if fault == "429":
            delay = self.settings.retry_after_s
            headers = {
                "Retry-After": str(math.ceil(delay)),
                "retry-after-ms": str(int(delay * 1000)),
            }
            error = _error(
                "injected rate limit", "rate_limit_error", "rate_limit_exceeded"
            )
            return web.json_response(error, status=429, headers=headers)
        if fault == "500":
            error = _error("injected server error", "server_error", "internal_error")
            return web.json_response(error, status=500)
        if fault == "malformed":
            return web.Response(text=MALFORMED_BODY, content_type=_JSON)

        # drop: close the connection without a byte of response.
        if request.transport is not None:
            request.transport.abort()
        return web.Response(status=500)

    async def _json_body(self, request: web.Request) -> dict[str, Any] | None:
        """The request's JSON object, or None when the body is not one."""
        try:
            body = await request.json()
        except ValueError:
            return None
        return body if isinstance(body, dict) else None

    def _bad_request(self, message: str) -> web.Response:
        """A 400 in OpenAI's error shape."""
        self._bad_requests += 1
        error = _error(message, "invalid_request_error", "bad_request")
        return web.json_response(error, status=400)


def _error(message: str, kind: str, code: str) -> dict[str, Any]:
    """An OpenAI-shaped error body."""
    return {"error": {"message": message, "type": kind, "param": None, "code": code}}


async def start_site(server: StubServer, port: int = 0) -> tuple[web.AppRunner, int]:
    """Serve `server` on 127.0.0.1:`port` (0 picks a free one).

    Returns:
        The runner (``await runner.cleanup()`` stops serving) and the bound port.
    """
    runner = web.AppRunner(
        server.app(),
        access_log=None,
        handler_cancellation=True,
        shutdown_timeout=0.5,
    )
    await runner.setup()
    site = web.TCPSite(runner, HOST, port, backlog=1024)
    await site.start()

    bound = runner.addresses[0][1]
    logger.debug("stub server listening on %s:%s", HOST, bound)
    return runner, bound
