"""Check layer: the catalogue of every check, native checks of built-in kinds, and the Ray rules."""
