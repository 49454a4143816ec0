"""train.py, tune.py and serve_app.py on a real local Ray (CPU), with real HTTP against Serve."""

from __future__ import annotations

import asyncio
import json
import socket
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


def test_concurrent_requests_are_batched_and_each_gets_its_own_answer(served):
    import train

    url, predictor = served
    rows = train.load_splits().x_val[:24].astype(float).tolist()

    async def send_all() -> list[httpx.Response]:
        async with httpx.AsyncClient(timeout=60) as client:
            return await asyncio.gather(*(client.post(f"{url}/predict", json={"features": r}) for r in rows))

    responses = asyncio.run(send_all())
    assert [r.status_code for r in responses] == [200] * len(rows)
    got = [r.json()["prediction"] for r in responses]
    assert got == pytest.approx(predictor.predict(np.array(rows)).tolist(), rel=1e-5)


@pytest.mark.parametrize(
    ("body", "status", "fragment"),
    [
        (b'{"features": [1, 2, 3]}', 422, "expected 10"),
        (b'{"features": [1, 2, 3, 4, 5, 6, 7, 8, 9, "ten"]}', 422, "features[9] must be a number"),
        (b'{"rows": [[1, 2, 3, 4, 5, 6, 7, 8, 9, 10], [1]]}', 422, "rows[1] has 1 values"),
        (b'{"features": [1, 2, 3, 4, 5, 6, 7, 8, 9, NaN]}', 422, "finite"),
        (b'{"features": [1, 2, 3', 400, "not valid JSON"),
        (b"[]", 422, '"features"'),
        (b'{"features": [true, 2, 3, 4, 5, 6, 7, 8, 9, 10]}', 422, "features[0] must be a number"),
        (('{"rows": [' + ", ".join(["[1, 2, 3, 4, 5, 6, 7, 8, 9, 10]"] * 1025) + "]}").encode(), 413, "at most 1024"),
    ],
)
def test_serve_answers_bad_input_with_4xx_and_a_message(served, body, status, fragment):
    url, _ = served
    response = httpx.post(f"{url}/predict", content=body, headers={"content-type": "application/json"}, timeout=30)
    assert response.status_code == status
    assert fragment in response.json()["detail"]


def test_serve_health_and_routes_on_serves_own_endpoints(served):
    url, _ = served
    assert httpx.get(f"{url}/-/healthz", timeout=30).status_code == 200
    routes = httpx.get(f"{url}/-/routes", timeout=30)
    assert routes.status_code == 200 and routes.json() == {"/": "diabetes"}
