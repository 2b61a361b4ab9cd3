"""Semantic similarity of an output to its reference, with offline embeddings.

The embeddings come from `llmbench.embeddings` (a static word-embedding model
that ships inside a Python wheel: no network, no torch). Scores are cosine
similarities in [-1, 1]; paraphrases score near 1, unrelated text near 0.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from llmbench.metrics.base import vectorized_metric
from llmbench.metrics.deterministic import references

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

logger = logging.getLogger(__name__)

#: Texts sent to the embedding model per call.
EMBED_BATCH = 2048


def embed_batched(texts: list[str], batch_size: int = EMBED_BATCH) -> np.ndarray:
    """L2-normalized embeddings of `texts`, computed `batch_size` at a time."""
    import numpy as np

    from llmbench.embeddings import embed

    if not texts:
        return np.zeros((0, 0), dtype=np.float32)
    parts = [embed(texts[i : i + batch_size]) for i in range(0, len(texts), batch_size)]
    return np.vstack([np.asarray(part, dtype=np.float32) for part in parts])


@vectorized_metric("semantic_similarity", needs=("answer",))
def semantic_similarity(rows: pd.DataFrame, batch_size: int = EMBED_BATCH) -> Any:
    """Cosine similarity of the output to the closest reference answer (-1 to 1)."""
    import numpy as np

    outputs = [t if isinstance(t, str) else "" for t in rows["output_text"].tolist()]
    owners: list[int] = []
    refs: list[str] = []
    for i, value in enumerate(rows["answer"].tolist()):
        for ref in references(value) or []:
            owners.append(i)
            refs.append(ref)

    # Embed each distinct text once: repeats and prompt versions share outputs.
    distinct = list(dict.fromkeys([*outputs, *refs]))
    position = {text: i for i, text in enumerate(distinct)}
    vectors = embed_batched(distinct, batch_size)
    out_vectors = vectors[[position[t] for t in outputs]]
    ref_vectors = vectors[[position[t] for t in refs]]

    pair_scores = np.einsum("ij,ij->i", out_vectors[owners], ref_vectors)
    scores = np.full(len(outputs), -np.inf)
    np.maximum.at(scores, np.asarray(owners, dtype=np.intp), pair_scores)
    scores[np.isneginf(scores)] = np.nan
    logger.debug("semantic_similarity: %s rows, %s texts", len(outputs), len(distinct))
    return np.clip(scores, -1.0, 1.0)
