"""Story clusters: the same story carried by several outlets, found with MinHash/LSH.

Pure functions, no I/O and no clock. An article's text becomes a set of word shingles
(``SHINGLE_SIZE`` consecutive lower-cased words); a MinHash signature of that set
(datasketch, ``NUM_PERM`` permutations, fixed seed and scheme, so it is the same in every
process) is stored as bytes. Locality-sensitive hashing splits the signature into ``BANDS``
bands of ``ROWS`` values; each band hashes to a 64-bit *bucket key*, and articles sharing a
bucket key are candidates. The store keeps bucket keys in an indexed table (``lsh_buckets``), so
lookups need no in-memory index and nothing to rebuild at start-up (see
``benchmarks/bench_clusters.py`` for the comparison with an in-memory ``MinHashLSH``).

A candidate joins the new article's story only after an exact check: the Jaccard similarity of
the two shingle sets (from the stored texts; the MinHash estimate when a text was purged) is at
least the configured threshold. ``assign_cluster`` then returns the best match's cluster, and
whether the article is a near-duplicate of one the *same outlet* already published (the same
story under a second URL): then only facts its earlier copy did not state are kept
(``unseen_facts``), so a repeat adds no facts or alerts while a corrected figure still counts.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from datasketch import MinHash

from monitor.types import Fact

SHINGLE_SIZE = 3  # words per shingle
NUM_PERM = 128  # MinHash permutations
SEED = 1  # fixed: signatures are compared across processes and stored
SCHEME = "affine32"  # datasketch hashing scheme, pinned so stored signatures stay comparable
BANDS = 32  # LSH bands x rows = NUM_PERM; candidate curve 1-(1-J^4)^32: J=0.5 -> 0.87, J=0.6 -> 0.99
ROWS = 4
MIN_SHINGLES = 8  # texts with fewer shingles are too short to compare: never clustered
SIGNATURE_DTYPE = np.dtype("<u4")

_WORD = re.compile(r"\w+", re.UNICODE)
_PERMUTATIONS = MinHash(num_perm=NUM_PERM, seed=SEED, scheme=SCHEME).permutations


@dataclass(frozen=True, slots=True)
class Candidate:
    """A stored article that shares at least one LSH bucket with the new one."""

    article_id: int
    cluster_id: int
    outlet: str
    signature: bytes
    text: str = ""  # the stored text; '' when purged (then the MinHash estimate is used)
    duplicate_of: int | None = None  # set when this article itself repeated an earlier copy


@dataclass(frozen=True, slots=True)
class Assignment:
    """Where a new article belongs.

    ``cluster_id`` is None for a new story (the store then uses the article's own id).
    ``matched_article`` and ``similarity`` describe the best confirmed match; ``duplicate_of``
    is set when that match (or another confirmed one) comes from the same outlet.
    """

    cluster_id: int | None
    matched_article: int | None = None
    similarity: float = 0.0
    duplicate_of: int | None = None


def tokens(text: str) -> list[str]:
    """The words of ``text``, lower-cased (punctuation and spacing ignored)."""
    return [w.casefold() for w in _WORD.findall(text)]


def shingles(text: str, size: int = SHINGLE_SIZE) -> frozenset[str]:
    """The set of ``size``-word shingles of ``text`` (the whole text when it is shorter)."""
    words = tokens(text)
    if not words:
        return frozenset()
    if len(words) < size:
        return frozenset({" ".join(words)})
    return frozenset(" ".join(words[i:i + size]) for i in range(len(words) - size + 1))


def comparable(shingle_set: frozenset[str]) -> bool:
    """True when a text has enough shingles to be compared with others."""
    return len(shingle_set) >= MIN_SHINGLES


def minhash(shingle_set: Iterable[str]) -> MinHash:
    """The MinHash of a shingle set (fixed seed and scheme: stable across processes)."""
    m = MinHash(num_perm=NUM_PERM, seed=SEED, scheme=SCHEME, permutations=_PERMUTATIONS)
    m.update_batch([s.encode("utf-8") for s in shingle_set])
    return m


def signature_bytes(m: MinHash) -> bytes:
    """A MinHash's values as bytes for storage (``NUM_PERM`` little-endian uint32)."""
    return np.asarray(m.hashvalues, dtype=SIGNATURE_DTYPE).tobytes()


def signature_of(text: str) -> bytes:
    """The stored signature of an article text."""
    return signature_bytes(minhash(shingles(text)))


def signature_values(signature: bytes) -> np.ndarray:
    """Stored signature bytes back to the MinHash values."""
    values = np.frombuffer(signature, dtype=SIGNATURE_DTYPE)
    if values.size != NUM_PERM:
        raise ValueError(f"signature has {values.size} values, expected {NUM_PERM}")
    return values


def estimated_jaccard(a: bytes, b: bytes) -> float:
    """The MinHash estimate of the Jaccard similarity of two stored signatures."""
    return float(np.count_nonzero(signature_values(a) == signature_values(b))) / NUM_PERM


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    """The exact Jaccard similarity of two shingle sets (0.0 when both are empty)."""
    if not a and not b:
        return 0.0
    return len(a & b) / len(a | b)


def bucket_keys(signature: bytes) -> list[int]:
    """The LSH bucket keys of a signature: one signed 64-bit integer per band.

    The band number is hashed in, so equal values in different bands never collide.
    """
    values = signature_values(signature)
    keys = []
    for band in range(BANDS):
        chunk = values[band * ROWS:(band + 1) * ROWS].tobytes()
        digest = hashlib.blake2b(band.to_bytes(2, "little") + chunk, digest_size=8).digest()
        keys.append(int.from_bytes(digest, "little", signed=True))
    return keys


def similarity(new_shingles: frozenset[str], new_signature: bytes, candidate: Candidate) -> float:
    """Exact Jaccard against the candidate's text; its MinHash estimate when the text is gone."""
    if candidate.text.strip():
        return jaccard(new_shingles, shingles(candidate.text))
    return estimated_jaccard(new_signature, candidate.signature)


def assign_cluster(new_shingles: frozenset[str], new_signature: bytes, outlet: str,
                   candidates: Sequence[Candidate], threshold: float) -> Assignment:
    """The story cluster of a new article among LSH ``candidates``, confirmed by similarity.

    Candidates at or above ``threshold`` are confirmed; the best one (highest similarity, then
    oldest article) gives the cluster. A confirmed candidate from the same ``outlet`` makes the
    article a near-duplicate of it (``duplicate_of``). A text too short to compare is never
    clustered.
    """
    if not comparable(new_shingles):
        return Assignment(cluster_id=None)
    scored = [(similarity(new_shingles, new_signature, c), c) for c in candidates]
    confirmed = sorted(((s, c) for s, c in scored if s >= threshold),
                       key=lambda sc: (-sc[0], sc[1].article_id))
    if not confirmed:
        return Assignment(cluster_id=None)
    best_sim, best = confirmed[0]
    same_outlet = next((c.duplicate_of or c.article_id for _, c in confirmed if outlet and c.outlet == outlet),
                       None)
    return Assignment(cluster_id=best.cluster_id, matched_article=best.article_id, similarity=round(best_sim, 4),
                      duplicate_of=same_outlet)


def unseen_facts(facts: Sequence[Fact], stored: Sequence[Mapping[str, Any]]) -> list[Fact]:
    """The ``facts`` of a near-duplicate that its original's ``stored`` fact rows do not already
    hold (compared on the schema fields): a repeat adds nothing, a corrected value still counts."""
    def same(fact: Fact, row: Mapping[str, Any]) -> bool:
        return all(row.get(k) == v for k, v in fact.to_schema().items())

    return [f for f in facts if not any(same(f, row) for row in stored)]


@dataclass(frozen=True, slots=True)
class Placement:
    """A new article's story: its assignment plus what the store keeps for later lookups."""

    assignment: Assignment
    outlet: str
    signature: bytes | None  # None: text too short to compare (not indexed)
    buckets: tuple[int, ...]

    @property
    def duplicate_of(self) -> int | None:
        """The same outlet's earlier copy of this story, if any."""
        return self.assignment.duplicate_of


def place_article(text: str, outlet: str, lookup: Callable[[Sequence[int]], Sequence[Candidate]],
                  threshold: float) -> Placement:
    """Shingle, sign and bucket ``text``, fetch candidates through ``lookup(bucket keys)`` and
    assign its cluster. ``lookup`` is the store's query; nothing else here touches I/O."""
    shingle_set = shingles(text)
    if not comparable(shingle_set):
        return Placement(Assignment(cluster_id=None), outlet, None, ())
    signature = signature_bytes(minhash(shingle_set))
    keys = tuple(bucket_keys(signature))
    assignment = assign_cluster(shingle_set, signature, outlet, lookup(keys), threshold)
    return Placement(assignment, outlet, signature, keys)


__all__ = ["Assignment", "BANDS", "Candidate", "NUM_PERM", "Placement", "ROWS", "SHINGLE_SIZE", "assign_cluster",
           "bucket_keys", "comparable", "estimated_jaccard", "jaccard", "minhash", "place_article", "shingles",
           "signature_bytes", "signature_of", "signature_values", "similarity", "tokens", "unseen_facts"]
