"""Review: what a change between two revisions will do to the running clusters (`raygitops diff`).

Layers, one direction: revisions (render each target at a git revision) ->
pairing (match resources by group, kind, namespace and name) -> kuberay and
argocd (what the operator and Argo CD do with a changed object) and capacity
(what every Ray cluster needs at full scale) -> effects (one verdict per
change) -> report (text, markdown, JSON).
"""
