"""A persistent response cache that respects sampling and says why it missed.

A cache key covers everything that changes a model's output: the model, the
messages and every output-affecting parameter. When the call samples
(temperature above 0, or no temperature given, so the provider's default of
about 1 applies), the repeat index is part of the key too, so five repeats make
five distinct calls and a re-run replays the same five answers. Errors are never
stored. Each successful call is committed as soon as it lands, which is what
lets an interrupted run resume without paying twice.

The cache is one SQLite file, ``<state>/cache.sqlite`` by default.
"""

from __future__ import annotations

import hashlib
import json
import logging
import sqlite3
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from llmbench.config import state_dir
from llmbench.records import ChatRequest
from llmbench.redact import is_secret_name

logger = logging.getLogger(__name__)

#: Parameters that change how a call is made, not what it answers.
TRANSPORT_PARAMS = frozenset(
    {"timeout", "request_timeout", "num_retries", "max_retries", "metadata", "stream"}
)

_SCHEMA = """
create table if not exists responses (
    key text primary key,
    model text not null,
    messages_hash text not null,
    params_hash text not null,
    params text not null,
    repeat integer not null,
    response text not null,
    created real not null
);
create index if not exists by_model_messages on responses (model, messages_hash);
create index if not exists by_model_params on responses (model, params_hash);
create index if not exists by_messages_params on responses (messages_hash, params_hash);
"""


def _digest(value: Any) -> str:
    encoded = json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(encoded.encode()).hexdigest()


def is_sampling(params: Mapping[str, Any]) -> bool:
    """True when repeated calls with these parameters may answer differently."""
    temperature = params.get("temperature")
    n = params.get("n") or 1
    return temperature is None or float(temperature) > 0 or int(n) > 1


@dataclass(frozen=True)
class CacheKey:
    """A request's cache key and the parts it was made from.

    Attributes:
        key: The full key, hex sha256.
        model: The model string.
        messages_hash: Hash of the messages alone.
        params_hash: Hash of the output-affecting parameters alone.
        params: Those parameters, for explaining a miss.
        repeat: The repeat index when sampling, else -1 (all repeats share).
    """

    key: str
    model: str
    messages_hash: str
    params_hash: str
    params: dict[str, Any]
    repeat: int


def cache_key(request: ChatRequest) -> CacheKey:
    """The cache key of a request; see the module docstring for what it covers."""
    params = {
        name: value
        for name, value in request.params.items()
        if name not in TRANSPORT_PARAMS and not is_secret_name(name)
    }
    repeat = request.repeat if is_sampling(params) else -1
    messages_hash = _digest(request.messages)
    params_hash = _digest(params)
    key = _digest([request.model, messages_hash, params_hash, repeat])
    return CacheKey(key, request.model, messages_hash, params_hash, params, repeat)


class ResponseCache:
    """SQLite-backed store of successful responses, shared by all runs.

    Args:
        path: The database file; default ``<state>/cache.sqlite``.
    """

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or state_dir() / "cache.sqlite"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False)
        self._db.execute("pragma journal_mode=wal")
        self._db.execute("pragma synchronous=normal")
        self._db.executescript(_SCHEMA)

    def get(self, key: CacheKey) -> dict[str, Any] | None:
        """The stored response for `key`, or None."""
        with self._lock:
            row = self._db.execute(
                "select response from responses where key = ?", (key.key,)
            ).fetchone()
        return None if row is None else dict(json.loads(row[0]))

    def put(self, key: CacheKey, response: Mapping[str, Any]) -> None:
        """Store a successful response and commit at once."""
        with self._lock:
            self._db.execute(
                "insert or replace into responses values (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    key.key,
                    key.model,
                    key.messages_hash,
                    key.params_hash,
                    json.dumps(key.params, sort_keys=True, default=str),
                    key.repeat,
                    json.dumps(response),
                    time.time(),
                ),
            )
            self._db.commit()

    def explain_miss(self, key: CacheKey) -> str:
        """Say which part of a missed key was new, in a few words."""
        with self._lock:
            same_call = self._db.execute(
                "select 1 from responses where model = ? and messages_hash = ? "
                "and params_hash = ? limit 1",
                (key.model, key.messages_hash, key.params_hash),
            ).fetchone()
            if same_call is not None:
                return f"new repeat index {key.repeat}"

            near = self._db.execute(
                "select params from responses where model = ? and messages_hash = ? "
                "limit 1",
                (key.model, key.messages_hash),
            ).fetchone()
            if near is not None:
                return "params changed: " + _changed_names(
                    json.loads(near[0]), key.params
                )

            if self._db.execute(
                "select 1 from responses where model = ? and params_hash = ? limit 1",
                (key.model, key.params_hash),
            ).fetchone():
                return "new messages"

            if self._db.execute(
                "select 1 from responses where messages_hash = ? and params_hash = ? "
                "limit 1",
                (key.messages_hash, key.params_hash),
            ).fetchone():
                return "new model"

        return "not seen before"

    def __len__(self) -> int:
        with self._lock:
            (count,) = self._db.execute("select count(*) from responses").fetchone()
        return int(count)

    def close(self) -> None:
        """Close the database connection."""
        with self._lock:
            self._db.close()


def _changed_names(old: Mapping[str, Any], new: Mapping[str, Any]) -> str:
    names = sorted(n for n in old.keys() | new.keys() if old.get(n) != new.get(n))
    return ", ".join(names) or "none"
