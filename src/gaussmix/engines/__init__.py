"""Engines decide where the rows live and how per-chunk results are combined; nothing else does."""

from .memory import InMemoryEngine, auto_chunk_size, resolve_n_jobs

__all__ = ["InMemoryEngine", "auto_chunk_size", "resolve_n_jobs"]
