"""Metrics: pure functions of arrays (embeddings, or for consistency, a case's images) plus a seed."""
