"""Check layer: the registry of every check, the subjects checks run on, native checks of built-in kinds, and the Ray rules."""
