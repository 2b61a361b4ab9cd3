"""What holds calls back: a USD budget for a run, and a requests-per-minute pace.

The engine asks `Budget.admit` before each call with `reservation_usd`, a
deliberately pessimistic guess of the call's price, and settles the real price
when the call lands; `Pacer.wait` spaces the starts of one model's calls.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field

from llmbench.records import ChatRequest

logger = logging.getLogger(__name__)

#: Output tokens assumed for a call's budget reservation when nothing better is known.
_DEFAULT_OUTPUT_TOKENS = 256


@dataclass
class Budget:
    """Tracks spend against a USD limit, reserving an estimate for calls in flight."""

    limit_usd: float | None
    warn_fraction: float
    spent_usd: float = 0.0
    reserved_usd: float = 0.0
    stopped: bool = False
    warned: bool = False
    unpriced_models: set[str] = field(default_factory=set)

    def admit(self, estimate_usd: float | None, model: str) -> bool:
        if self.limit_usd is None:
            return True
        if self.stopped:
            return False
        if estimate_usd is None:
            if model not in self.unpriced_models:
                self.unpriced_models.add(model)
                logger.warning(
                    "model %s has no known price; its calls cannot count against "
                    "the budget (set one with llmbench.prices.set_price)",
                    model,
                )
            return True
        if self.spent_usd + self.reserved_usd + estimate_usd > self.limit_usd:
            self.stopped = True
            return False
        self.reserved_usd += estimate_usd
        return True

    def settle(self, estimate_usd: float | None, paid_usd: float) -> None:
        if self.limit_usd is None:
            return
        self.reserved_usd -= estimate_usd or 0.0
        self.spent_usd += paid_usd
        if not self.warned and self.spent_usd >= self.warn_fraction * self.limit_usd:
            self.warned = True
            logger.warning(
                "run has spent $%.4f, %.0f%% of its $%.4f budget",
                self.spent_usd,
                100 * self.spent_usd / self.limit_usd,
                self.limit_usd,
            )


class Pacer:
    """Spaces call starts for one model to stay under a requests-per-minute limit."""

    def __init__(self, rpm: float) -> None:
        self.interval_s = 60.0 / rpm
        self.next_start = 0.0

    async def wait(self) -> None:
        now = time.monotonic()
        start = max(now, self.next_start)
        self.next_start = start + self.interval_s
        if start > now:
            await asyncio.sleep(start - now)


def reservation_usd(request: ChatRequest) -> float | None:
    """What the budget holds back for a call in flight, in USD, or None if unpriced.

    Deliberately pessimistic: about 4 characters per input token plus a few for
    the chat format, and the full ``max_tokens`` (or 256) of output.
    """
    from llmbench.prices import price_of

    price = price_of(request.model)
    if price is None:
        return None
    input_tokens = sum(len(m.get("content") or "") for m in request.messages) // 4 + 8
    output_tokens = int(request.params.get("max_tokens") or _DEFAULT_OUTPUT_TOKENS)
    return (
        input_tokens * price.input_per_token_usd
        + output_tokens * price.output_per_token_usd
    )
