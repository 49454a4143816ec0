"""What KubeRay's operator rejects in a RayJob spec (and in a RayCronJob's job template).

The operator validates these when it first reconciles the RayJob; a violation
leaves the job in ValidationFailed with nothing started, long after `kubectl
apply` reported success.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ...findings import Severity
from ...inputs.documents import EmbeddedYAMLError, load_embedded
from ..subjects import JobSpec
from . import Bundle, Problem, Subject, rule
from ._access import dig, integer, mapping, sequence, text

JOB_KINDS = ("RayJob", "RayCronJob")
SUBMISSION_MODES = ("K8sJobMode", "HTTPMode", "InteractiveMode", "SidecarMode")
# A later policy in this order deletes more, so its TTL must not be shorter.
DELETION_ORDER = ("DeleteWorkers", "DeleteCluster", "DeleteSelf")


def _selector_mode(job: dict[str, Any]) -> bool:
    return bool(mapping(job.get("clusterSelector")))


def _shutdown(job: dict[str, Any]) -> bool:
    return job.get("shutdownAfterJobFinishes") is True


def _autoscaling(job: dict[str, Any]) -> bool:
    return dig(job, "rayClusterSpec", "enableInTreeAutoscaling") is True


@rule("rayjob-cluster-source", kinds=JOB_KINDS, subject=Subject.JOB)
def cluster_source(job_spec: JobSpec, bundle: Bundle) -> Iterator[Problem]:
    """A RayJob has rayClusterSpec or a clusterSelector naming its cluster with ray.io/cluster.

    Why: KubeRay v1.7.0's RayJob validation (validation.go) needs rayClusterSpec or a clusterSelector, and a selector
    must name the cluster with the ray.io/cluster key. Otherwise the RayJob goes to ValidationFailed when the operator
    first reconciles it, and nothing runs.

    Fails:
        kind: RayJob
        spec:
          entrypoint: python train.py
          clusterSelector: {team: ml}

    Instead:
        kind: RayJob
        spec:
          entrypoint: python train.py
          clusterSelector: {ray.io/cluster: rc}
    """
    job, path = job_spec.spec, job_spec.path
    selector = job.get("clusterSelector")
    if not isinstance(job.get("rayClusterSpec"), dict) and not mapping(selector):
        yield Problem(
            path,
            "the RayJob has neither rayClusterSpec nor clusterSelector; add rayClusterSpec (a cluster per job) or clusterSelector: {ray.io/cluster: <name>}",
        )
    elif mapping(selector) and not text(mapping(selector).get("ray.io/cluster")):
        yield Problem(
            (*path, "clusterSelector"),
            "clusterSelector must name the cluster with the key ray.io/cluster; add ray.io/cluster: <RayCluster name>",
        )


@rule("rayjob-selector-overrides-spec", kinds=JOB_KINDS, severity=Severity.WARNING, subject=Subject.JOB)
def selector_overrides_spec(job_spec: JobSpec, bundle: Bundle) -> Iterator[Problem]:
    """A RayJob does not set both clusterSelector and rayClusterSpec: the selector silently wins.

    Why: with a clusterSelector, KubeRay submits the job to the existing cluster it names and never creates the
    cluster described in rayClusterSpec, so the resources, image and settings written there are silently unused.

    Fails:
        kind: RayJob
        spec:
          entrypoint: python train.py
          clusterSelector: {ray.io/cluster: rc}
          rayClusterSpec: {...}

    Instead:
        kind: RayJob
        spec:
          entrypoint: python train.py
          rayClusterSpec: {...}
    """
    job, path = job_spec.spec, job_spec.path
    if _selector_mode(job) and isinstance(job.get("rayClusterSpec"), dict):
        yield Problem(
            (*path, "rayClusterSpec"),
            "clusterSelector is set, so KubeRay ignores rayClusterSpec and runs on the selected cluster; remove one of them",
        )


@rule("rayjob-suspend", kinds=JOB_KINDS, subject=Subject.JOB)
def suspend(job_spec: JobSpec, bundle: Bundle) -> Iterator[Problem]:
    """A suspended RayJob has shutdownAfterJobFinishes: true and no clusterSelector.

    Why: KubeRay v1.7.0's RayJob validation (validation.go) allows suspend only with shutdownAfterJobFinishes: true and
    without a clusterSelector (the operator deletes the job's cluster on suspension, and a selected cluster is not the
    job's); otherwise the RayJob goes to ValidationFailed.

    Fails:
        kind: RayJob
        spec:
          entrypoint: python train.py
          suspend: true

    Instead:
        kind: RayJob
        spec:
          entrypoint: python train.py
          suspend: true
          shutdownAfterJobFinishes: true
    """
    job, path = job_spec.spec, job_spec.path
    if job.get("suspend") is not True:
        return
    if not _shutdown(job):
        yield Problem(
            (*path, "suspend"), "a suspended RayJob needs shutdownAfterJobFinishes: true; set it or remove suspend"
        )
    if _selector_mode(job):
        yield Problem(
            (*path, "suspend"),
            "a RayJob with clusterSelector cannot be suspended; remove suspend or use rayClusterSpec",
        )


@rule("rayjob-ttl-needs-shutdown", kinds=JOB_KINDS, subject=Subject.JOB)
def ttl_needs_shutdown(job_spec: JobSpec, bundle: Bundle) -> Iterator[Problem]:
    """ttlSecondsAfterFinished is not negative, and above 0 only with shutdownAfterJobFinishes: true.

    Why: KubeRay v1.7.0's RayJob validation (validation.go) rejects a negative ttlSecondsAfterFinished, and a positive
    one without shutdownAfterJobFinishes: true (the TTL is how long the finished cluster lives before it is deleted);
    the RayJob goes to ValidationFailed.

    Fails:
        kind: RayJob
        spec:
          entrypoint: python train.py
          ttlSecondsAfterFinished: 60

    Instead:
        kind: RayJob
        spec:
          entrypoint: python train.py
          ttlSecondsAfterFinished: 60
          shutdownAfterJobFinishes: true
    """
    job, path = job_spec.spec, job_spec.path
    ttl = integer(job.get("ttlSecondsAfterFinished"))
    if ttl is None:
        return
    if ttl < 0:
        yield Problem((*path, "ttlSecondsAfterFinished"), f"ttlSecondsAfterFinished is {ttl}; set it to 0 or more")
    elif ttl > 0 and not _shutdown(job):
        yield Problem(
            (*path, "ttlSecondsAfterFinished"),
            "ttlSecondsAfterFinished only applies with shutdownAfterJobFinishes: true; set it or remove the TTL",
        )


@rule("rayjob-deadlines", kinds=JOB_KINDS, subject=Subject.JOB)
def deadlines(job_spec: JobSpec, bundle: Bundle) -> Iterator[Problem]:
    """activeDeadlineSeconds and preRunningDeadlineSeconds are positive; backoffLimit is not negative.

    Why: KubeRay v1.7.0's RayJob validation (validation.go) rejects an activeDeadlineSeconds or
    preRunningDeadlineSeconds that is not positive and a negative backoffLimit; the RayJob goes to ValidationFailed and
    nothing runs.

    Fails:
        kind: RayJob
        spec:
          entrypoint: python train.py
          activeDeadlineSeconds: 0

    Instead:
        kind: RayJob
        spec:
          entrypoint: python train.py
          activeDeadlineSeconds: 600
    """
    job, path = job_spec.spec, job_spec.path
    for field in ("activeDeadlineSeconds", "preRunningDeadlineSeconds"):
        value = integer(job.get(field))
        if value is not None and value <= 0:
            yield Problem((*path, field), f"{field} is {value}; set a positive number of seconds or remove it")
    backoff = integer(job.get("backoffLimit"))
    if backoff is not None and backoff < 0:
        yield Problem((*path, "backoffLimit"), f"backoffLimit is {backoff}; set it to 0 or more")


@rule("rayjob-backoff-limit-mode", kinds=JOB_KINDS, subject=Subject.JOB)
def backoff_limit_mode(job_spec: JobSpec, bundle: Bundle) -> Iterator[Problem]:
    """Retries (backoffLimit > 0) are not used with InteractiveMode or a clusterSelector.

    Why: KubeRay v1.7.0's RayJob validation (validation.go) rejects retries (backoffLimit above 0) in InteractiveMode,
    where a retried job would wrongly show as Running, and with a clusterSelector, whose cluster the job cannot
    recreate; the RayJob goes to ValidationFailed.

    Fails:
        kind: RayJob
        spec:
          entrypoint: python train.py
          submissionMode: InteractiveMode
          backoffLimit: 2

    Instead:
        kind: RayJob
        spec:
          entrypoint: python train.py
          submissionMode: K8sJobMode
          backoffLimit: 2
    """
    job, path = job_spec.spec, job_spec.path
    backoff = integer(job.get("backoffLimit"))
    if backoff is None or backoff <= 0:
        return
    if job.get("submissionMode") == "InteractiveMode":
        yield Problem((*path, "backoffLimit"), "backoffLimit > 0 is not supported in InteractiveMode; set it to 0")
    elif _selector_mode(job):
        yield Problem(
            (*path, "backoffLimit"),
            "backoffLimit > 0 is not supported with clusterSelector; set it to 0 or use rayClusterSpec",
        )


@rule("rayjob-sidecar-mode", kinds=JOB_KINDS, subject=Subject.JOB)
def sidecar_mode(job_spec: JobSpec, bundle: Bundle) -> Iterator[Problem]:
    """SidecarMode has no submitterPodTemplate, submitterConfig or clusterSelector, and a head restartPolicy of Never.

    Why: in SidecarMode the submitter runs as a container in the head pod, so KubeRay v1.7.0's RayJob validation
    (validation.go) rejects submitterPodTemplate, submitterConfig and clusterSelector with it, and a head restartPolicy
    other than Never; the RayJob goes to ValidationFailed.

    Fails:
        kind: RayJob
        spec:
          entrypoint: python train.py
          submissionMode: SidecarMode
          submitterConfig: {backoffLimit: 1}

    Instead:
        kind: RayJob
        spec:
          entrypoint: python train.py
          submissionMode: SidecarMode
    """
    job, path = job_spec.spec, job_spec.path
    if job.get("submissionMode") != "SidecarMode":
        return
    for field in ("submitterPodTemplate", "submitterConfig", "clusterSelector"):
        if job.get(field) not in (None, {}):
            yield Problem((*path, field), f"SidecarMode does not support {field}; remove it or use K8sJobMode")
    policy = dig(job, "rayClusterSpec", "headGroupSpec", "template", "spec", "restartPolicy")
    if policy not in (None, "", "Never"):
        yield Problem(
            (*path, "rayClusterSpec", "headGroupSpec", "template", "spec", "restartPolicy"),
            f"SidecarMode needs the head restartPolicy Never or unset (found {policy!r}); set it to Never",
        )


@rule("rayjob-submission-mode-unknown", kinds=JOB_KINDS, severity=Severity.WARNING, subject=Subject.JOB)
def submission_mode_unknown(job_spec: JobSpec, bundle: Bundle) -> Iterator[Problem]:
    """submissionMode is one of K8sJobMode, HTTPMode, InteractiveMode, SidecarMode.

    Why: the CRD does not restrict submissionMode, and KubeRay's RayJob controller acts only on K8sJobMode, HTTPMode,
    InteractiveMode and SidecarMode: with any other value it creates the cluster but no submitter, so the job is
    never submitted.

    Fails:
        kind: RayJob
        spec:
          entrypoint: python train.py
          submissionMode: K8sMode

    Instead:
        kind: RayJob
        spec:
          entrypoint: python train.py
          submissionMode: K8sJobMode
    """
    job, path = job_spec.spec, job_spec.path
    mode = job.get("submissionMode")
    if mode is not None and mode not in SUBMISSION_MODES:
        yield Problem(
            (*path, "submissionMode"),
            f"submissionMode {mode!r} is unknown to KubeRay; use one of {', '.join(SUBMISSION_MODES)}",
        )


@rule("rayjob-runtime-env-yaml", kinds=JOB_KINDS, subject=Subject.JOB)
def runtime_env_yaml(job_spec: JobSpec, bundle: Bundle) -> Iterator[Problem]:
    """runtimeEnvYAML is a YAML mapping (pip, env_vars, working_dir, ...).

    Why: KubeRay v1.7.0's RayJob validation (validation.go) parses runtimeEnvYAML before anything starts and puts the
    RayJob in ValidationFailed when it is not YAML; a value that parses but is not a mapping is not a runtime
    environment Ray can use.

    Fails:
        kind: RayJob
        spec:
          entrypoint: python train.py
          runtimeEnvYAML: 'pip: [requests'

    Instead:
        kind: RayJob
        spec:
          entrypoint: python train.py
          runtimeEnvYAML: 'pip: [requests]'
    """
    job, path = job_spec.spec, job_spec.path
    source = job.get("runtimeEnvYAML")
    if not isinstance(source, str) or not source.strip():
        return
    try:
        parsed = load_embedded(source)
    except EmbeddedYAMLError as exc:
        where = f" at line {exc.line}" if exc.line is not None else ""
        problem = exc.problem
        yield Problem((*path, "runtimeEnvYAML"), f"runtimeEnvYAML is not valid YAML{where} ({problem}); fix the block")
        return
    if parsed is not None and not isinstance(parsed, dict):
        yield Problem(
            (*path, "runtimeEnvYAML"),
            f"runtimeEnvYAML is a {type(parsed).__name__}, expected a mapping such as 'pip: [torch]'; fix the block",
        )


def _legacy_policy(strategy: dict[str, Any], field: str) -> str:
    return text(dig(strategy, field, "policy"))


@rule("rayjob-deletion-legacy", kinds=JOB_KINDS, subject=Subject.JOB)
def deletion_legacy(job_spec: JobSpec, bundle: Bundle) -> Iterator[Problem]:
    """deletionStrategy onSuccess/onFailure: both set with a policy, and each policy fits the job's cluster.

    Why: KubeRay v1.7.0's RayJob validation (validation.go) needs both onSuccess.policy and onFailure.policy, rejects
    DeleteCluster or DeleteWorkers with a clusterSelector, DeleteWorkers with autoscaling, and DeleteNone with
    shutdownAfterJobFinishes: true; the RayJob goes to ValidationFailed.

    Fails:
        kind: RayJob
        spec:
          entrypoint: python train.py
          shutdownAfterJobFinishes: true
          deletionStrategy:
            onSuccess: {policy: DeleteCluster}
            onFailure: {policy: DeleteNone}

    Instead:
        kind: RayJob
        spec:
          entrypoint: python train.py
          deletionStrategy:
            onSuccess: {policy: DeleteCluster}
            onFailure: {policy: DeleteNone}
    """
    job, path = job_spec.spec, job_spec.path
    strategy = mapping(job.get("deletionStrategy"))
    if "onSuccess" not in strategy and "onFailure" not in strategy:
        return
    base = (*path, "deletionStrategy")
    if strategy.get("deletionRules"):
        return  # mixing is the rayjob-deletion-rules rule's finding
    for field in ("onSuccess", "onFailure"):
        if not _legacy_policy(strategy, field):
            yield Problem(
                (*base, field),
                f"deletionStrategy.{field}.policy is missing; set both onSuccess.policy and onFailure.policy",
            )
    for field in ("onSuccess", "onFailure"):
        policy = _legacy_policy(strategy, field)
        where = (*base, field, "policy")
        if _selector_mode(job) and policy in ("DeleteCluster", "DeleteWorkers"):
            yield Problem(
                where,
                f"{policy} cannot be used with clusterSelector (the cluster is not the job's); use DeleteSelf or DeleteNone",
            )
        elif policy == "DeleteWorkers" and _autoscaling(job):
            yield Problem(
                where,
                "DeleteWorkers is not supported with autoscaling; use DeleteCluster or disable enableInTreeAutoscaling",
            )
        elif policy == "DeleteNone" and _shutdown(job):
            yield Problem(where, "DeleteNone contradicts shutdownAfterJobFinishes: true; remove one of them")


@rule("rayjob-deletion-rules", kinds=JOB_KINDS, subject=Subject.JOB)
def deletion_rules(job_spec: JobSpec, bundle: Bundle) -> Iterator[Problem]:
    """deletionRules stand alone, each names one condition with a TTL >= 0, and each policy fits the job's cluster.

    Why: KubeRay v1.7.0's RayJob validation (validation.go) makes deletionRules exclusive with shutdownAfterJobFinishes
    and with onSuccess/onFailure, needs exactly one of jobStatus or jobDeploymentStatus and a TTL of 0 or more in each
    condition, and rejects policies that do not fit the cluster (DeleteCluster with a clusterSelector, DeleteWorkers
    with autoscaling); the RayJob goes to ValidationFailed.

    Fails:
        kind: RayJob
        spec:
          entrypoint: python train.py
          shutdownAfterJobFinishes: true
          deletionStrategy:
            deletionRules:
              - {policy: DeleteCluster, condition: {jobStatus: SUCCEEDED}}

    Instead:
        kind: RayJob
        spec:
          entrypoint: python train.py
          deletionStrategy:
            deletionRules:
              - {policy: DeleteCluster, condition: {jobStatus: SUCCEEDED, ttlSeconds: 60}}
    """
    job, path = job_spec.spec, job_spec.path
    strategy = mapping(job.get("deletionStrategy"))
    rules = sequence(strategy.get("deletionRules"))
    if not rules:
        return
    base = (*path, "deletionStrategy", "deletionRules")
    if _shutdown(job):
        yield Problem(
            (*path, "shutdownAfterJobFinishes"),
            "shutdownAfterJobFinishes and deletionStrategy.deletionRules exclude each other; express the shutdown as a DeleteCluster rule",
        )
    if "onSuccess" in strategy or "onFailure" in strategy:
        yield Problem(
            (*path, "deletionStrategy"),
            "deletionRules cannot be mixed with onSuccess/onFailure; keep only deletionRules",
        )
    for index, entry in enumerate(rules):
        condition = mapping(mapping(entry).get("condition"))
        policy = text(mapping(entry).get("policy"))
        has_status = condition.get("jobStatus") is not None
        has_deployment = condition.get("jobDeploymentStatus") is not None
        if has_status == has_deployment:
            yield Problem(
                (*base, index, "condition"),
                "a deletion rule condition needs exactly one of jobStatus or jobDeploymentStatus",
            )
        ttl = integer(condition.get("ttlSeconds"))
        if ttl is not None and ttl < 0:
            yield Problem((*base, index, "condition", "ttlSeconds"), f"ttlSeconds is {ttl}; set it to 0 or more")
        if _selector_mode(job) and policy in ("DeleteCluster", "DeleteWorkers"):
            yield Problem(
                (*base, index, "policy"), f"{policy} cannot be used with clusterSelector; use DeleteSelf or DeleteNone"
            )
        elif policy == "DeleteWorkers" and _autoscaling(job):
            yield Problem(
                (*base, index, "policy"), "DeleteWorkers is not supported with autoscaling; use DeleteCluster"
            )


@rule("rayjob-deletion-rules-order", kinds=JOB_KINDS, subject=Subject.JOB)
def deletion_rules_order(job_spec: JobSpec, bundle: Bundle) -> Iterator[Problem]:
    """deletionRules are unique per (condition, policy), with TTLs DeleteWorkers <= DeleteCluster <= DeleteSelf.

    Why: KubeRay v1.7.0's RayJob validation (validation.go) rejects two rules with the same condition and policy, and,
    for one condition, TTLs that delete more sooner: DeleteWorkers must not come after DeleteCluster, nor DeleteCluster
    after DeleteSelf. The RayJob goes to ValidationFailed.

    Fails:
        deletionRules:
          - {policy: DeleteCluster, condition: {jobStatus: FAILED, ttlSeconds: 600}}
          - {policy: DeleteSelf, condition: {jobStatus: FAILED, ttlSeconds: 60}}

    Instead:
        deletionRules:
          - {policy: DeleteCluster, condition: {jobStatus: FAILED, ttlSeconds: 60}}
          - {policy: DeleteSelf, condition: {jobStatus: FAILED, ttlSeconds: 600}}
    """
    job, path = job_spec.spec, job_spec.path
    rules = sequence(mapping(job.get("deletionStrategy")).get("deletionRules"))
    base = (*path, "deletionStrategy", "deletionRules")
    by_condition: dict[tuple[str, str], dict[str, tuple[int, int]]] = {}
    for index, entry in enumerate(rules):
        condition = mapping(mapping(entry).get("condition"))
        policy = text(mapping(entry).get("policy"))
        key = (
            ("jobStatus", text(condition.get("jobStatus")))
            if condition.get("jobStatus") is not None
            else ("jobDeploymentStatus", text(condition.get("jobDeploymentStatus")))
        )
        ttl = integer(condition.get("ttlSeconds"))
        ttl = 0 if ttl is None else ttl
        policies = by_condition.setdefault(key, {})
        if policy in policies:
            yield Problem(
                (*base, index),
                f"a second {policy} rule for {key[0]} {key[1]!r}; keep one rule per condition and policy",
            )
            continue
        policies[policy] = (index, ttl)
    for (field, value), policies in by_condition.items():
        previous: tuple[str, int] | None = None
        for policy in DELETION_ORDER:
            if policy not in policies:
                continue
            index, ttl = policies[policy]
            if previous is not None and ttl < previous[1]:
                yield Problem(
                    (*base, index, "condition", "ttlSeconds"),
                    f"for {field} {value!r}, {policy} after {ttl}s comes before {previous[0]} after {previous[1]}s; give {policy} a TTL of at least {previous[1]}",
                )
            previous = (policy, ttl)
