"""Alternative validation engines (kubeconform) that replace the built-in schema stage."""
