"""`make fidelity`: the validator's verdict against the real API server's, document by document.

Documents: every fixture of the test suite (each rule's passing and failing stream, the good bundle, the
rendered overlays) and generated mutants of them (mutants.py). For each document:

- the validator's verdict: does `raygitops validate` report an error of a category the API server
  enforces (decode, identity, schema, native)? Operator, reference, consistency and safety findings are
  not the API server's business and are left out of this comparison;
- the API server's verdict: a create with `dryRun=All&fieldValidation=Strict`, the document sent as the
  YAML it is (kube-apiserver v1.33 and the pinned CRDs, from controlplane.py).

A disagreement is justified when an entry of fidelity_exceptions.yaml (reviewed, each with its reason)
matches it. Exit 1 when a disagreement is not justified. The last line is the summary.

Usage: python -m tests.cluster.fidelity [--mutants 2000] [--seed 15] [--show 20]
"""

from __future__ import annotations

import argparse
import http.client
import json
import re
import ssl
import subprocess
import sys
import tempfile
import urllib.parse
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from raygitops.schema.store import default_mirror

from .controlplane import ControlPlane, ControlPlaneError
from .mutants import mutants

REPO_ROOT = Path(__file__).resolve().parents[2]
EXCEPTIONS_FILE = Path(__file__).with_name("fidelity_exceptions.yaml")
# Finding categories for what the API server itself checks (see `raygitops rules`).
SERVER_CATEGORIES = {"decode", "identity", "schema", "native"}
DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")


@dataclass
class Document:
    origin: str  # the fixture file or rule case, or the mutant's description
    text: str
    body: Any


@dataclass
class Verdict:
    rejected: bool
    reasons: list[str] = field(default_factory=list)  # rule ids (validator) or the server's message


@dataclass(frozen=True)
class Exception_:
    reason: str
    validator_rule: str | None = None  # the validator rejects with this rule, the server accepts
    server_message: re.Pattern | None = None  # the server rejects with a message matching this, the validator accepts


# ---------------------------------------------------------------- documents


def _split(origin: str, stream: str) -> list[Document]:
    return [Document(origin, yaml.safe_dump(body, sort_keys=False), body)
            for body in yaml.safe_load_all(stream) if isinstance(body, dict)]


def fixture_documents() -> list[Document]:
    from tests.rules.cases import CASES  # the rule catalogue's own passing and failing fixtures

    documents: list[Document] = []
    for rule, case in sorted(CASES.items()):
        documents += _split(f"tests/rules/cases.py {rule} passing", case.passing)
        documents += _split(f"tests/rules/cases.py {rule} failing", case.failing)
    for path in sorted([*REPO_ROOT.glob("tests/rules/fixtures/*.yaml"), *REPO_ROOT.glob("rendered/*.yaml")]):
        documents += _split(str(path.relative_to(REPO_ROOT)), path.read_text())
    return documents


# ---------------------------------------------------------------- the validator's verdict


def validator_verdicts(documents: list[Document]) -> list[Verdict]:
    categories = {rule["id"]: rule["category"] for rule in json.loads(
        _raygitops("rules", "-o", "json"))}
    with tempfile.TemporaryDirectory(prefix="raygitops-fidelity-") as work:
        stream = Path(work) / "documents.yaml"
        stream.write_text("---\n".join(document.text for document in documents))
        report = json.loads(_raygitops("validate", "-o", "json", str(stream), ok_codes=(0, 1)))
    verdicts = [Verdict(False) for _ in documents]
    for finding in report["findings"]:
        if finding["severity"] == "error" and categories.get(finding["rule"]) in SERVER_CATEGORIES:
            verdict = verdicts[finding["index"]]
            verdict.rejected = True
            verdict.reasons.append(finding["rule"])
    return verdicts


def _raygitops(*args: str, ok_codes: tuple[int, ...] = (0,)) -> str:
    result = subprocess.run([sys.executable, "-m", "raygitops", *args], capture_output=True, text=True,
                            timeout=1800, check=False)
    if result.returncode not in ok_codes:
        raise SystemExit(f"fidelity: raygitops {args[0]} failed ({result.returncode}): {result.stderr.strip()}")
    return result.stdout


# ---------------------------------------------------------------- the API server's verdict


class ApiServer:
    """Dry-run creates against the control plane over one HTTPS connection, with discovery for the URLs."""

    def __init__(self, plane: ControlPlane):
        assert plane.pki is not None
        context = ssl.create_default_context(cafile=str(plane.pki.ca))
        context.load_cert_chain(str(plane.pki.client_cert), str(plane.pki.client_key))
        address = urllib.parse.urlsplit(plane.server)
        self._connection = http.client.HTTPSConnection(address.hostname, address.port, context=context, timeout=60)
        self._resources: dict[tuple[str, str], tuple[str, bool]] = {}  # (apiVersion, kind) -> (plural, namespaced)
        self._discover()

    def _get(self, path: str) -> dict:
        status, body = self._request("GET", path)
        return json.loads(body) if status == 200 else {}

    def _request(self, method: str, path: str, body: bytes | None = None) -> tuple[int, str]:
        headers = {"Accept": "application/json"}
        if body is not None:
            headers["Content-Type"] = "application/yaml"
        self._connection.request(method, path, body=body, headers=headers)
        response = self._connection.getresponse()
        return response.status, response.read().decode(errors="replace")

    def _discover(self) -> None:
        versions = [("v1", "/api/v1")]
        for group in self._get("/apis").get("groups", []):
            versions += [(v["groupVersion"], f"/apis/{v['groupVersion']}") for v in group["versions"]]
        for api_version, path in versions:
            for resource in self._get(path).get("resources", []):
                if "/" not in resource["name"]:
                    self._resources[(api_version, resource["kind"])] = (resource["name"], resource["namespaced"])

    def create_namespace(self, name: str) -> None:
        self._request("POST", "/api/v1/namespaces", f"{{apiVersion: v1, kind: Namespace, metadata: {{name: {name}}}}}".encode())

    def verdict(self, document: Document) -> Verdict:
        body = document.body
        api_version, kind = body.get("apiVersion"), body.get("kind")
        if not isinstance(api_version, str) or not isinstance(kind, str):
            return Verdict(True, ["no apiVersion or kind: kubectl cannot send it"])
        resource = self._resources.get((api_version, kind))
        if resource is None:
            return Verdict(True, [f'no matches for kind "{kind}" in version "{api_version}"'])
        plural, namespaced = resource
        prefix = "/api/v1" if api_version == "v1" else f"/apis/{api_version}"
        if namespaced:
            metadata = body.get("metadata")
            namespace = metadata.get("namespace") if isinstance(metadata, dict) else None
            namespace = namespace if isinstance(namespace, str) and namespace else "default"
            prefix += f"/namespaces/{urllib.parse.quote(namespace, safe='')}"
        status, text = self._request(
            "POST", f"{prefix}/{plural}?dryRun=All&fieldValidation=Strict", document.text.encode())
        # 409 AlreadyExists comes from storage, after every check passed: the object itself was accepted.
        if status in (200, 201, 409):
            return Verdict(False)
        try:
            message = json.loads(text).get("message", text)
        except ValueError:
            message = text
        return Verdict(True, [f"{status}: {message}"])


# ---------------------------------------------------------------- comparison


def read_exceptions(path: Path = EXCEPTIONS_FILE) -> list[Exception_]:
    entries = yaml.safe_load(path.read_text()) or []
    exceptions = []
    for entry in entries:
        if not entry.get("reason"):
            raise SystemExit(f"fidelity: {path}: every exception needs a reason: {entry}")
        pattern = entry.get("server_message")
        exceptions.append(Exception_(entry["reason"], entry.get("validator_rule"),
                                     re.compile(pattern) if pattern else None))
    return exceptions


def justification(ours: Verdict, server: Verdict, exceptions: list[Exception_]) -> Exception_ | None:
    if ours.rejected and not server.rejected:
        # Justified only when every reason we give is covered by an exception.
        by_rule = {exception.validator_rule: exception for exception in exceptions if exception.validator_rule}
        if ours.reasons and all(reason in by_rule for reason in ours.reasons):
            return by_rule[ours.reasons[0]]
    for exception in exceptions:
        if server.rejected and not ours.rejected and exception.server_message:
            if any(exception.server_message.search(reason) for reason in server.reasons):
                return exception
    return None


def namespaces_of(documents: list[Document]) -> set[str]:
    found = {"default"}
    for document in documents:
        metadata = document.body.get("metadata")
        namespace = metadata.get("namespace") if isinstance(metadata, dict) else None
        if isinstance(namespace, str) and DNS_LABEL.match(namespace):
            found.add(namespace)
    return found


def start_cluster(workdir: Path) -> ControlPlane:
    plane = ControlPlane.start(workdir)
    try:
        plane.install_crds(default_mirror() or REPO_ROOT.parent / "shared" / "crds")
    except BaseException:
        plane.stop()
        raise
    return plane


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mutants", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=15)
    parser.add_argument("--show", type=int, default=40, help="how many unjustified disagreements to print")
    args = parser.parse_args()

    fixtures = fixture_documents()
    seeds = [document.body for document in fixtures]
    documents = fixtures + [Document(m.description, yaml.safe_dump(m.body, sort_keys=False), m.body)
                            for m in mutants(seeds, args.mutants, args.seed)]
    ours = validator_verdicts(documents)
    exceptions = read_exceptions()

    with tempfile.TemporaryDirectory(prefix="raygitops-fidelity-cluster-") as work:
        try:
            plane = start_cluster(Path(work))
        except ControlPlaneError as exc:
            print(f"fidelity: could not start the control plane: {exc}", file=sys.stderr)
            return 2
        try:
            server = ApiServer(plane)
            # Whether a namespace exists is the cluster's state, not the manifest's validity: create every valid one.
            for namespace in sorted(namespaces_of(documents)):
                server.create_namespace(namespace)
            theirs = [server.verdict(document) for document in documents]
        finally:
            plane.stop()

    agreed, justified = 0, 0
    unjustified: list[tuple[Document, Verdict, Verdict]] = []
    used: dict[str, int] = defaultdict(int)
    for document, mine, real in zip(documents, ours, theirs):
        if mine.rejected == real.rejected:
            agreed += 1
            continue
        exception = justification(mine, real, exceptions)
        if exception:
            justified += 1
            used[exception.reason] += 1
        else:
            unjustified.append((document, mine, real))

    for reason, count in sorted(used.items(), key=lambda item: -item[1]):
        print(f"justified x{count}: {reason}")
    for document, mine, real in unjustified[: args.show]:
        side = "validator rejects, API server accepts" if mine.rejected else "API server rejects, validator accepts"
        print(f"DISAGREE ({side}): {document.origin}\n  validator: {', '.join(mine.reasons) or 'no error'}\n"
              f"  API server: {'; '.join(real.reasons)[:300] or 'accepted'}")
    disagreements = len(documents) - agreed
    print("note: the KubeRay operator is not part of this comparison yet (tools/README.md says why): operator agreed 0")
    print(f"fidelity: {len(documents)} documents, API server agreed {agreed}, operator agreed 0, "
          f"disagreements {disagreements}, justified {justified}")
    return 0 if disagreements == justified else 1


if __name__ == "__main__":
    raise SystemExit(main())
