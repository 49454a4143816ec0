"""Schema layer: the pinned schema lock and store, the structural walker, CEL rules and Kubernetes value formats."""
