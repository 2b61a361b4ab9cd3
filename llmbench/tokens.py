"""Input tokens of chat messages, counted offline the way litellm counts them.

litellm picks the tokenizer by model name: tiktoken encodings for OpenAI models
(and as its default), Hugging Face tokenizers for a few families. The tiktoken
files it uses and its Anthropic and DeepSeek tokenizers ship with litellm; the
Llama and Cohere tokenizers it would download from the Hugging Face Hub. A
`TokenCounter` never downloads: such models are counted with ``o200k_base``
instead, and the counter says so in `TokenCounter.notes`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

from llmbench.prices import OFFLINE_PREFIX

logger = logging.getLogger(__name__)

# litellm ships these tiktoken files; any other encoding would be downloaded.
_BUNDLED_ENCODINGS = frozenset({"cl100k_base", "o200k_base", "p50k_base"})
# litellm ships these Hugging Face tokenizers; the others it would download.
_BUNDLED_HF_TOKENIZERS = frozenset({"anthropic", "deepseek"})
# What to count with when a model's own tokenizer is not on this machine.
_STAND_IN_MODEL = "gpt-4o"


class TokenizerChoice(NamedTuple):
    """How to count one model: the name litellm counts as, and the caveats.

    Attributes:
        count_as: The model name passed to ``litellm.token_counter``.
        exact: True when the count is the one the provider bills (OpenAI
            models, llmbench's offline models).
        note: A sentence when a stand-in tokenizer is used, else None.
    """

    count_as: str
    exact: bool
    note: str | None = None


class TokenCounter:
    """Counts chat input tokens with litellm, remembering tokenizers and counts.

    An identical message list (a repeat, or the same case on the same model)
    is counted once. A model whose own tokenizer is not bundled with litellm
    is counted with ``o200k_base`` instead of downloading it, and that is
    noted.
    """

    def __init__(self) -> None:
        self._choices: dict[str, TokenizerChoice] = {}
        self._counts: dict[tuple[str, str], int] = {}

    def count(self, model: str, messages: Sequence[Mapping[str, Any]]) -> int:
        """Input tokens of ``messages`` as ``model`` would be billed for them."""
        import litellm

        key = (model, json.dumps(list(messages), sort_keys=True, default=str))
        found = self._counts.get(key)
        if found is not None:
            return found

        choice = self.tokenizer(model)
        tokens = int(
            litellm.token_counter(model=choice.count_as, messages=list(messages))
        )
        self._counts[key] = tokens
        return tokens

    def tokenizer(self, model: str) -> TokenizerChoice:
        """Which model name litellm should count ``model``'s tokens as."""
        choice = self._choices.get(model)
        if choice is None:
            choice = _choose_tokenizer(model)
            self._choices[model] = choice
        return choice

    def notes(self) -> list[str]:
        """Sentences on the models whose counts are not the provider's own."""
        notes = [c.note for c in self._choices.values() if c.note is not None]
        close = [m for m, c in self._choices.items() if not c.exact and c.note is None]
        if close:
            notes.append(
                f"For {', '.join(sorted(close))} the count is litellm's tokenizer for "
                "the model, which can differ from the provider's own count."
            )
        return notes


def _choose_tokenizer(model: str) -> TokenizerChoice:
    """The model litellm counts with: ``model`` itself unless that would download."""
    from litellm.litellm_core_utils.token_counter import (
        is_openai_model,
        openai_tokenizer_encoding_name,
    )
    from litellm.utils import huggingface_tokenizer_kind

    if model.startswith(OFFLINE_PREFIX):
        from llmbench.offline import TOKEN_COUNT_MODEL

        return TokenizerChoice(TOKEN_COUNT_MODEL, exact=True)

    kind = huggingface_tokenizer_kind(model)
    if kind in _BUNDLED_HF_TOKENIZERS:
        return TokenizerChoice(model, exact=False)
    if kind is not None:
        return TokenizerChoice(
            _STAND_IN_MODEL,
            exact=False,
            note=f"Input tokens for {model} are counted with tiktoken's o200k_base: "
            f"its own {kind} tokenizer is not on this machine, so the count is "
            "approximate.",
        )
    if openai_tokenizer_encoding_name(model) not in _BUNDLED_ENCODINGS:
        return TokenizerChoice(
            _STAND_IN_MODEL,
            exact=False,
            note=f"Input tokens for {model} are counted with tiktoken's o200k_base, "
            "a stand-in for its own encoding.",
        )
    return TokenizerChoice(model, exact=bool(is_openai_model(model)))
