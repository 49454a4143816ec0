"""raygitops: render a KubeRay GitOps repository and validate it as the cluster would."""

__version__ = "0.1.0"
