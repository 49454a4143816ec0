"""Input layer: find the targets, render Kustomize overlays, decode the YAML stream into documents."""
