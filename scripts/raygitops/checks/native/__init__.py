"""Native checks: what the API server rejects in identity, metadata and built-in kinds that no schema says."""
