"""A real, local Kubernetes control plane for the tests: etcd and kube-apiserver on loopback, no kubelet.

The way envtest (controller-runtime) runs one: etcd with a throwaway data folder, kube-apiserver with
certificates made here (a CA, a serving certificate for 127.0.0.1, a client certificate in
`system:masters`, a service-account key pair) and the ServiceAccount admission plugin off (no controller
manager creates the `default` service accounts). The binaries are the pinned builds of `make tools`.

Every process is started in a session of its own and stopped, with its children, on `stop()`, also when
start-up fails half way.
"""

from __future__ import annotations

import ctypes
import datetime
import hashlib
import ipaddress
import os
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from raygitops.schema.store import read_lock
from raygitops.tools import find_tool

START_TIMEOUT_S = 120
STOP_TIMEOUT_S = 15
SERVICE_CIDR = "10.0.0.0/24"


class ControlPlaneError(Exception):
    """The control plane could not be started; the message says why and ends with the log's tail."""


def required_tool(name: str) -> str:
    path = find_tool(name)
    if path is None:
        raise ControlPlaneError(
            f"{name} is missing: run `make tools` (make setup does) to build the pinned {name} into .venv/bin"
        )
    return path


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# ---------------------------------------------------------------- certificates


@dataclass(frozen=True)
class Pki:
    ca: Path
    serving_cert: Path
    serving_key: Path
    client_cert: Path
    client_key: Path
    service_account_key: Path  # private: the API server signs tokens with it
    service_account_pub: Path


def _write_key(key, path: Path) -> None:
    path.write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    path.chmod(0o600)


def _certificate(subject: x509.Name, public_key, issuer: x509.Name, signing_key, *, ca: bool,
                 usages: list, sans: list | None = None) -> x509.Certificate:
    now = datetime.datetime.now(datetime.timezone.utc)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject).issuer_name(issuer).public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if ca:
        builder = builder.add_extension(x509.KeyUsage(
            digital_signature=True, key_cert_sign=True, crl_sign=True, content_commitment=False,
            key_encipherment=False, data_encipherment=False, key_agreement=False,
            encipher_only=False, decipher_only=False), critical=True)
    else:
        builder = builder.add_extension(x509.ExtendedKeyUsage(usages), critical=False)
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    return builder.sign(signing_key, hashes.SHA256())


def make_pki(folder: Path) -> Pki:
    """A CA, the API server's serving certificate, an admin client certificate, a service-account key pair."""
    folder.mkdir(parents=True, exist_ok=True)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "raygitops-test-ca")])
    ca_cert = _certificate(ca_name, ca_key.public_key(), ca_name, ca_key, ca=True, usages=[])

    serving_key = ec.generate_private_key(ec.SECP256R1())
    serving_cert = _certificate(
        x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kube-apiserver")]), serving_key.public_key(),
        ca_name, ca_key, ca=False, usages=[ExtendedKeyUsageOID.SERVER_AUTH],
        sans=[x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost"),
              x509.IPAddress(ipaddress.ip_address("10.0.0.1")), x509.DNSName("kubernetes.default.svc")],
    )
    # system:masters: every request is authorised, as for the cluster admin who runs `kubectl apply -k`.
    client_key = ec.generate_private_key(ec.SECP256R1())
    client_cert = _certificate(
        x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "raygitops-admin"),
                   x509.NameAttribute(NameOID.ORGANIZATION_NAME, "system:masters")]),
        client_key.public_key(), ca_name, ca_key, ca=False, usages=[ExtendedKeyUsageOID.CLIENT_AUTH],
    )
    service_account_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    pki = Pki(folder / "ca.crt", folder / "apiserver.crt", folder / "apiserver.key", folder / "admin.crt",
              folder / "admin.key", folder / "sa.key", folder / "sa.pub")
    pki.ca.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    pki.serving_cert.write_bytes(serving_cert.public_bytes(serialization.Encoding.PEM))
    _write_key(serving_key, pki.serving_key)
    pki.client_cert.write_bytes(client_cert.public_bytes(serialization.Encoding.PEM))
    _write_key(client_key, pki.client_key)
    _write_key(service_account_key, pki.service_account_key)
    pki.service_account_pub.write_bytes(service_account_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    return pki


# ---------------------------------------------------------------- processes


@dataclass
class Process:
    name: str
    popen: subprocess.Popen
    log: Path

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self) -> None:
        """SIGTERM to the process's own session (it and its children), SIGKILL after STOP_TIMEOUT_S."""
        if self.popen.poll() is not None:
            return
        for sig, wait in ((signal.SIGTERM, STOP_TIMEOUT_S), (signal.SIGKILL, STOP_TIMEOUT_S)):
            try:
                os.killpg(self.popen.pid, sig)
            except ProcessLookupError:
                return
            try:
                self.popen.wait(timeout=wait)
                return
            except subprocess.TimeoutExpired:
                continue


def _die_with_parent() -> None:
    """In the child: ask Linux to SIGKILL it when the test process dies, even by SIGKILL (no leftovers)."""
    PR_SET_PDEATHSIG = 1
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def start_process(name: str, command: list[str], log: Path, env: dict[str, str] | None = None) -> Process:
    handle = log.open("wb")
    try:
        popen = subprocess.Popen(command, stdout=handle, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                 start_new_session=True, env=env,
                                 preexec_fn=_die_with_parent if sys.platform == "linux" else None)
    finally:
        handle.close()
    return Process(name, popen, log)


@dataclass
class ControlPlane:
    """etcd + kube-apiserver on loopback; `kubeconfig` is an admin's kubeconfig for it."""

    workdir: Path
    processes: list[Process] = field(default_factory=list)
    kubeconfig: Path | None = None
    server: str = ""
    pki: Pki | None = None

    @classmethod
    def start(cls, workdir: Path | None = None) -> ControlPlane:
        plane = cls(Path(workdir or tempfile.mkdtemp(prefix="raygitops-cluster-")))
        try:
            plane._start()
        except BaseException:
            plane.stop()
            raise
        return plane

    def _start(self) -> None:
        etcd, apiserver = required_tool("etcd"), required_tool("kube-apiserver")
        required_tool("kubectl")
        self.pki = pki = make_pki(self.workdir / "pki")

        client_port, peer_port = free_port(), free_port()
        etcd_url = f"http://127.0.0.1:{client_port}"
        peer_url = f"http://127.0.0.1:{peer_port}"
        self.processes.append(start_process("etcd", [
            etcd, "--name=default", f"--data-dir={self.workdir / 'etcd'}",
            f"--listen-client-urls={etcd_url}", f"--advertise-client-urls={etcd_url}",
            f"--listen-peer-urls={peer_url}", f"--initial-advertise-peer-urls={peer_url}",
            f"--initial-cluster=default={peer_url}",
            "--unsafe-no-fsync=true",  # a throwaway store: durability only costs time here
            "--log-level=warn",
        ], self.workdir / "etcd.log"))
        self._wait_for("etcd", lambda: _http_ok(f"{etcd_url}/health"))

        secure_port = free_port()
        self.server = f"https://127.0.0.1:{secure_port}"
        self.processes.append(start_process("kube-apiserver", [
            apiserver,
            f"--etcd-servers={etcd_url}",
            "--bind-address=127.0.0.1", "--advertise-address=127.0.0.1", f"--secure-port={secure_port}",
            f"--cert-dir={self.workdir / 'apiserver-certs'}",
            f"--tls-cert-file={pki.serving_cert}", f"--tls-private-key-file={pki.serving_key}",
            f"--client-ca-file={pki.ca}",
            "--authorization-mode=RBAC",
            f"--service-cluster-ip-range={SERVICE_CIDR}",
            f"--service-account-issuer={self.server}",
            f"--service-account-key-file={pki.service_account_pub}",
            f"--service-account-signing-key-file={pki.service_account_key}",
            # No controller manager creates the `default` service accounts this plugin insists on.
            "--disable-admission-plugins=ServiceAccount",
            "--allow-privileged=true",
        ], self.workdir / "kube-apiserver.log"))
        context = ssl.create_default_context(cafile=str(pki.ca))
        context.load_cert_chain(str(pki.client_cert), str(pki.client_key))
        self._wait_for("kube-apiserver", lambda: _http_ok(f"{self.server}/readyz", context))
        self.kubeconfig = self._write_kubeconfig()

    def _write_kubeconfig(self) -> Path:
        assert self.pki is not None
        path = self.workdir / "kubeconfig"
        path.write_text(
            "apiVersion: v1\nkind: Config\n"
            f"clusters:\n- name: local\n  cluster: {{server: '{self.server}', certificate-authority: '{self.pki.ca}'}}\n"
            f"users:\n- name: admin\n  user: {{client-certificate: '{self.pki.client_cert}', "
            f"client-key: '{self.pki.client_key}'}}\n"
            "contexts:\n- name: local\n  context: {cluster: local, user: admin}\n"
            "current-context: local\n"
        )
        return path

    def _wait_for(self, name: str, ready) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        process = self.processes[-1]
        while time.monotonic() < deadline:
            if process.popen.poll() is not None:
                raise ControlPlaneError(f"{name} exited with code {process.popen.returncode}:\n{process.log_tail()}")
            if ready():
                return
            time.sleep(0.25)
        raise ControlPlaneError(f"{name} was not ready within {START_TIMEOUT_S} s:\n{process.log_tail()}")

    def kubectl(self, *args: str, stdin: str | None = None, check: bool = True,
                timeout: float = 180) -> subprocess.CompletedProcess:
        assert self.kubeconfig is not None
        result = subprocess.run([required_tool("kubectl"), f"--kubeconfig={self.kubeconfig}", *args],
                                input=stdin, capture_output=True, text=True, timeout=timeout, check=False)
        if check and result.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} failed ({result.returncode}):\n{result.stderr}")
        return result

    def install_crds(self, mirror: Path) -> None:
        """Apply every pinned CRD (byte-exact, sha256-checked, from `mirror`) and wait until each is established."""
        for entry in read_lock().crds:
            data = (mirror / entry.path).read_bytes()
            if hashlib.sha256(data).hexdigest() != entry.sha256:
                raise ControlPlaneError(f"{mirror / entry.path} is not the pinned file (sha256 differs)")
            # Server-side: three of the CRDs exceed the client-side last-applied annotation limit.
            self.kubectl("apply", "--server-side", "--field-manager=raygitops-test", "-f", "-", stdin=data.decode())
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            # Until the API server has written a condition, `kubectl wait` fails instead of waiting.
            waited = self.kubectl("wait", "--for=condition=Established", "crd", "--all", "--timeout=30s", check=False)
            if waited.returncode == 0:
                return
            if time.monotonic() > deadline:
                raise ControlPlaneError(f"the CRDs were not established: {waited.stderr}")
            time.sleep(0.5)

    def add(self, process: Process) -> Process:
        """Own another process (e.g. an operator run against this API server): stopped with the rest."""
        self.processes.append(process)
        return process

    def stop(self) -> None:
        # The reverse order: the API server before its etcd, so it does not spend its shutdown retrying.
        for process in reversed(self.processes):
            process.stop()


def _http_ok(url: str, context: ssl.SSLContext | None = None) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2, context=context) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False
