"""Prices per token: what one call to a model costs, in USD.

Where a price comes from, first match wins:

1. an override set from Python with `set_price`;
2. an override in ``<data folder>/prices.yaml`` (custom, fine-tuned and
   self-hosted models), written per million tokens for readability;
3. ``offline/...`` models, which cost nothing by definition;
4. litellm's bundled price map (``litellm.model_cost``), resolved the way
   litellm resolves names, so ``openai/gpt-4o-mini`` and ``gpt-4o-mini`` are
   the same entry. A model behind a local OpenAI-compatible server, named
   ``openai/<name>`` with its own ``api_base``, is priced as ``<name>``.

A model found nowhere has no price: `price_of` returns None and the cost of its
calls is unknown, never zero. Each name is resolved once and remembered, misses
included, so a lookup after the first is a dict hit (the engine asks per call).
After changing litellm's map yourself (``litellm.register_model``), call
`clear_price_cache`.

The overrides file::

    models:
      hosted_vllm/llama-3.1-8b-instruct:
        input_per_mtok_usd: 0.022
        output_per_mtok_usd: 0.22
        cached_input_per_mtok_usd: 0.011   # optional

Override names match the model string as given to the engine; a leading
``openai/`` is optional on either side.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from llmbench.config import data_dir
from llmbench.errors import ConfigError

logger = logging.getLogger(__name__)

PriceSource = Literal["override", "litellm", "offline"]

#: Name of the overrides file inside the data folder.
PRICES_FILE = "prices.yaml"

#: The model-name prefix of llmbench's offline provider.
OFFLINE_PREFIX = "offline/"

_PER_MTOK_FIELDS = (
    "input_per_mtok_usd",
    "output_per_mtok_usd",
    "cached_input_per_mtok_usd",
)
_OPENAI_PREFIX = "openai/"


@dataclass(frozen=True)
class Price:
    """What one token costs for one model, in USD.

    Attributes:
        input_per_token_usd: Price of one input (prompt) token.
        output_per_token_usd: Price of one output (completion) token.
        cached_input_per_token_usd: Price of one input token served from the
            provider's prompt cache; None when the provider has no cached price,
            in which case cached tokens are billed at the input price.
        source: ``override``, ``litellm`` or ``offline``.
        key: The name the price was found under (the price-map key, or the
            override's model name).
    """

    input_per_token_usd: float
    output_per_token_usd: float
    cached_input_per_token_usd: float | None
    source: PriceSource
    key: str

    def cost(
        self, input_tokens: float, output_tokens: float, cached_tokens: float = 0
    ) -> float:
        """USD for one call.

        Args:
            input_tokens: All prompt tokens, the cached ones included.
            output_tokens: Completion tokens.
            cached_tokens: The part of ``input_tokens`` served from the
                provider's prompt cache; capped at ``input_tokens``.

        Returns:
            The cost in USD.
        """
        cached = min(max(cached_tokens, 0), input_tokens)
        cached_price = self.cached_input_per_token_usd
        if cached_price is None:
            cached_price = self.input_per_token_usd
        return (
            (input_tokens - cached) * self.input_per_token_usd
            + cached * cached_price
            + output_tokens * self.output_per_token_usd
        )

    def per_mtok(self) -> dict[str, float | None]:
        """The three prices per million tokens, keyed as in ``prices.yaml``."""
        cached = self.cached_input_per_token_usd
        return {
            "input_per_mtok_usd": self.input_per_token_usd * 1e6,
            "output_per_mtok_usd": self.output_per_token_usd * 1e6,
            "cached_input_per_mtok_usd": None if cached is None else cached * 1e6,
        }


class PriceBook:
    """Resolves model names to prices and remembers every answer.

    Args:
        overrides_file: A ``prices.yaml`` to read; default
            ``<data folder>/prices.yaml``, read at the first lookup. A missing
            file means no file overrides.
    """

    def __init__(self, overrides_file: Path | str | None = None) -> None:
        self._file = Path(overrides_file) if overrides_file is not None else None
        self._file_prices: dict[str, Price] | None = None
        self._python_prices: dict[str, Price] = {}
        self._resolved: dict[str, Price | None] = {}

    def price_of(self, model: str) -> Price | None:
        """The price of ``model``, or None when no source knows it."""
        try:
            return self._resolved[model]
        except KeyError:
            price = self._resolve(model)
            self._resolved[model] = price
            return price

    def set_price(
        self,
        model: str,
        *,
        input_per_mtok_usd: float,
        output_per_mtok_usd: float,
        cached_input_per_mtok_usd: float | None = None,
    ) -> Price:
        """Price ``model`` from Python; wins over the file and litellm's map."""
        price = _override(
            model, input_per_mtok_usd, output_per_mtok_usd, cached_input_per_mtok_usd
        )
        self._python_prices[model] = price
        self._resolved.clear()
        return price

    def clear(self) -> None:
        """Forget Python overrides and every resolved name; reread the file."""
        self._python_prices.clear()
        self._file_prices = None
        self._resolved.clear()

    def clear_cache(self) -> None:
        """Forget resolved names (keep overrides); reread the file next time."""
        self._file_prices = None
        self._resolved.clear()

    def overrides_file(self) -> Path:
        """The ``prices.yaml`` this book reads."""
        return self._file if self._file is not None else data_dir() / PRICES_FILE

    def _resolve(self, model: str) -> Price | None:
        if self._file_prices is None:
            self._file_prices = load_price_file(self.overrides_file())

        for name in _name_variants(model):
            found = self._python_prices.get(name) or self._file_prices.get(name)
            if found is not None:
                return found

        if model.startswith(OFFLINE_PREFIX):
            return Price(0.0, 0.0, 0.0, "offline", model)

        for name in _name_variants(model):
            found = _litellm_price(name)
            if found is not None:
                return found

        logger.warning(
            "no price known for model %s: its cost is reported as unknown; "
            "add it to %s or call llmbench.prices.set_price()",
            model,
            self.overrides_file(),
        )
        return None


def load_price_file(path: Path | str) -> dict[str, Price]:
    """Read a ``prices.yaml`` of per-million-token prices.

    Args:
        path: The file. A missing file gives no overrides.

    Returns:
        Prices by model name, with source ``override``.

    Raises:
        ConfigError: The file is not YAML of the documented shape; the message
            names the file and the model.
    """
    import yaml

    path = Path(path)
    if not path.is_file():
        return {}

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
    models = data.get("models") if isinstance(data, dict) else None
    if not isinstance(models, dict):
        raise ConfigError(
            f"{path}: expected a top-level 'models:' mapping of model name to prices"
        )

    prices: dict[str, Price] = {}
    for name, fields in models.items():
        prices[str(name)] = _price_from_fields(path, str(name), fields)
    logger.debug("read %d price override(s) from %s", len(prices), path)
    return prices


def _price_from_fields(path: Path, name: str, fields: Any) -> Price:
    """One override entry, validated."""
    where = f"{path}: model {name!r}"
    if not isinstance(fields, dict):
        raise ConfigError(
            f"{where}: expected a mapping of {', '.join(_PER_MTOK_FIELDS)}"
        )
    unknown = sorted(set(fields) - set(_PER_MTOK_FIELDS))
    if unknown:
        raise ConfigError(
            f"{where}: unknown key(s) {unknown}; allowed: {', '.join(_PER_MTOK_FIELDS)}"
        )
    missing = [key for key in _PER_MTOK_FIELDS[:2] if key not in fields]
    if missing:
        raise ConfigError(f"{where}: missing {', '.join(missing)}")

    try:
        return _override(
            name,
            fields["input_per_mtok_usd"],
            fields["output_per_mtok_usd"],
            fields.get("cached_input_per_mtok_usd"),
        )
    except ValueError as exc:
        raise ConfigError(f"{where}: {exc}") from exc


def _override(
    model: str, input_mtok: Any, output_mtok: Any, cached_mtok: Any | None
) -> Price:
    """An override price from per-million-token figures."""
    cached = None if cached_mtok is None else _usd_per_token(cached_mtok)
    return Price(
        _usd_per_token(input_mtok),
        _usd_per_token(output_mtok),
        cached,
        "override",
        model,
    )


def _usd_per_token(per_mtok: Any) -> float:
    """A per-million-token USD figure as USD per token; rejects negatives and NaN."""
    if isinstance(per_mtok, bool) or not isinstance(per_mtok, int | float):
        raise ValueError(
            f"prices must be numbers of USD per 1M tokens, got {per_mtok!r}"
        )
    if math.isnan(per_mtok) or per_mtok < 0:
        raise ValueError(f"prices must be zero or more, got {per_mtok!r}")
    return float(per_mtok) / 1e6


def _name_variants(model: str) -> tuple[str, ...]:
    """The model name, then the same name without a leading ``openai/``."""
    if model.startswith(_OPENAI_PREFIX):
        return (model, model.removeprefix(_OPENAI_PREFIX))
    return (model,)


def _litellm_price(model: str) -> Price | None:
    """The price-map entry litellm resolves ``model`` to, when it has prices."""
    import litellm

    entry: Any = litellm.model_cost.get(model)
    key = model
    if entry is None:
        entry = _litellm_model_info(model)
        if entry is None:
            return None
        key = str(entry.get("key") or model)

    input_cost = entry.get("input_cost_per_token")
    output_cost = entry.get("output_cost_per_token")
    if not isinstance(input_cost, int | float) or not isinstance(
        output_cost, int | float
    ):
        # Entries priced per character, per second or per image are not chat prices.
        return None
    cached = entry.get("cache_read_input_token_cost")
    cached_cost = float(cached) if isinstance(cached, int | float) else None
    return Price(float(input_cost), float(output_cost), cached_cost, "litellm", key)


def _litellm_model_info(model: str) -> Any | None:
    """litellm's name resolution, from the bundled map only, without its prints."""
    import litellm
    from litellm.utils import get_model_info_helper

    # catalog_only keeps litellm from asking a provider (Ollama, Hugging Face)
    # over the network; preserve_unset_costs keeps a missing price None, where
    # litellm would otherwise fill in 0 and call the model free.
    quiet = litellm.suppress_debug_info
    litellm.suppress_debug_info = True
    try:
        return get_model_info_helper(
            model=model, catalog_only=True, preserve_unset_costs=True
        )
    except Exception as exc:  # litellm raises several types for "not mapped"
        logger.debug("litellm has no price entry for %s: %s", model, exc)
        return None
    finally:
        litellm.suppress_debug_info = quiet


_default_book = PriceBook()


def default_price_book() -> PriceBook:
    """The process-wide book behind `price_of`, `call_cost` and `set_price`."""
    return _default_book


def price_of(model: str) -> Price | None:
    """The price of one token for ``model``, or None when it is unknown.

    Resolved once per model name (overrides, offline, litellm's map), then a
    dict lookup.
    """
    return _default_book.price_of(model)


def call_cost(
    model: str, input_tokens: int, output_tokens: int, cached_tokens: int = 0
) -> float | None:
    """USD for one call to ``model``, or None when its price is unknown.

    Args:
        model: The model string as passed to the engine.
        input_tokens: All prompt tokens, cached ones included.
        output_tokens: Completion tokens.
        cached_tokens: The part of ``input_tokens`` billed at the cached-input
            price (at the input price when the model has none).
    """
    price = _default_book.price_of(model)
    if price is None:
        return None
    return price.cost(input_tokens, output_tokens, cached_tokens)


def set_price(
    model: str,
    *,
    input_per_mtok_usd: float,
    output_per_mtok_usd: float,
    cached_input_per_mtok_usd: float | None = None,
) -> Price:
    """Give ``model`` a price from Python, in USD per million tokens.

    Wins over ``prices.yaml`` and litellm's map for the rest of the process.

    Returns:
        The stored price, per token.
    """
    return _default_book.set_price(
        model,
        input_per_mtok_usd=input_per_mtok_usd,
        output_per_mtok_usd=output_per_mtok_usd,
        cached_input_per_mtok_usd=cached_input_per_mtok_usd,
    )


def clear_price_cache() -> None:
    """Forget resolved names; the next lookups reread ``prices.yaml`` and the map."""
    _default_book.clear_cache()


def reset_prices() -> None:
    """Forget Python overrides too: back to the file and litellm's map."""
    _default_book.clear()
