"""Offline sentence embeddings: a small static model that needs no network or GPU.

The model is WordLlama's 256-dimensional ``l2_supercat``, whose 16 MB of weights
and tokenizer ship inside the ``wordllama`` wheel. It loads once per process, on
first use, from the installed package folder with downloads disabled, so a
missing file fails loudly instead of reaching out to the Hugging Face hub.

It is good enough for semantic similarity, a semantic cache, offline retrieval
and the extractive baseline in `llmbench.offline`; it is not a match for a large
embedding model on hard retrieval tasks.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

logger = logging.getLogger(__name__)

#: The WordLlama configuration and width bundled in the wheel.
MODEL_CONFIG = "l2_supercat"
DIMENSIONS = 256

_model: Any = None
_lock = threading.Lock()


def _import_wordllama() -> Any:
    """Import wordllama, undoing the root logging set-up its import performs."""
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)

    # wordllama calls logging.basicConfig(level=INFO) at import, which would
    # print every library's INFO records in a notebook.
    import wordllama

    root.setLevel(level)
    for handler in [h for h in root.handlers if h not in handlers]:
        root.removeHandler(handler)
    return wordllama


def _load_model() -> Any:
    """The WordLlama model, loaded from the wheel on first call and kept."""
    global _model
    if _model is not None:
        return _model

    with _lock:
        if _model is None:
            wordllama = _import_wordllama()

            # The package folder holds weights/ and tokenizers/; its default
            # lookup path is misspelled and would fall through to a download.
            package_dir = Path(wordllama.__file__).parent
            _model = wordllama.WordLlama.load(
                config=MODEL_CONFIG,
                cache_dir=package_dir,
                dim=DIMENSIONS,
                disable_download=True,
            )
            logger.debug("loaded WordLlama %s from %s", MODEL_CONFIG, package_dir)
    return _model


def embed(texts: Sequence[str]) -> NDArray[np.float32]:
    """Embed texts as unit-length vectors.

    Args:
        texts: The sentences or passages to embed. A single string is treated
            as one text, not as a sequence of characters.

    Returns:
        A float32 array of shape ``(len(texts), 256)`` whose rows have L2 norm 1,
        so a dot product is a cosine similarity. A text with no known tokens
        (an empty string, say) gets a zero row, which is similar to nothing.
    """
    import numpy as np

    batch = [texts] if isinstance(texts, str) else list(texts)
    if not batch:
        return np.zeros((0, DIMENSIONS), dtype=np.float32)

    raw = np.asarray(_load_model().embed(batch, norm=False), dtype=np.float32)

    norms = np.linalg.norm(raw, axis=1, keepdims=True)
    safe = np.where(norms > 0.0, norms, 1.0)
    return (raw / safe).astype(np.float32, copy=False)


def similarity_matrix(
    queries: Sequence[str], documents: Sequence[str]
) -> NDArray[np.float32]:
    """Cosine similarity of every query with every document.

    Returns:
        A float32 array of shape ``(len(queries), len(documents))`` with values
        in -1..1 (0 where either text has no known tokens).
    """
    import numpy as np

    scores: NDArray[np.float32] = embed(queries) @ embed(documents).T
    return np.clip(scores, -1.0, 1.0).astype(np.float32, copy=False)


def similarity(a: str, b: str) -> float:
    """Cosine similarity of two texts, from -1 (opposite) to 1 (same meaning)."""
    return float(similarity_matrix([a], [b])[0, 0])
