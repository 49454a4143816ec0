"""Train a small regression network on scikit-learn's diabetes data with Ray Train (TorchTrainer).

Runs the same way on a laptop (``ray.init`` starts a local Ray) and as a RayJob entrypoint (``ray.init``
joins the cluster the job runs on). The checkpoint holds what serving needs: the weights and the scaling
of features and target. The best checkpoint is also exported to ``<storage>/<name>/model`` so the serve
application can be pointed at a path that is known before training runs.

Tune (``jobs/tune/tune.py``) imports the data, model and epoch functions from here.

    python train.py --num-workers 2 --epochs 30 --storage-path /tmp/ray-results
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from typing import Any, Sequence

import numpy as np
import torch
from sklearn.datasets import load_diabetes
from sklearn.model_selection import train_test_split
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

FEATURE_NAMES = ("age", "sex", "bmi", "bp", "s1", "s2", "s3", "s4", "s5", "s6")
NUM_FEATURES = len(FEATURE_NAMES)
MODEL_FILE = "model.pt"
SCALING_FILE = "scaling.json"
DEFAULT_STORAGE = os.path.abspath(".ray-results")


# ---------------------------------------------------------------------------------------------------------
# Data
# ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scaling:
    """Standardisation learnt on the training split; serving applies the same transform."""

    feature_mean: list[float]
    feature_scale: list[float]
    target_mean: float
    target_scale: float

    def features(self, x: np.ndarray) -> np.ndarray:
        return (x - np.asarray(self.feature_mean)) / np.asarray(self.feature_scale)

    def target(self, y: np.ndarray) -> np.ndarray:
        return (y - self.target_mean) / self.target_scale

    def target_back(self, y_scaled: np.ndarray) -> np.ndarray:
        return y_scaled * self.target_scale + self.target_mean


@dataclass(frozen=True)
class Splits:
    """Train/validation split in original units plus the scaling fitted on the training part."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    scaling: Scaling

    @property
    def baseline_mse(self) -> float:
        """Validation MSE of always predicting the training mean: the bar any model must clear."""
        return float(np.mean((self.y_val - self.y_train.mean()) ** 2))


def load_splits(val_fraction: float = 0.2, seed: int = 0) -> Splits:
    """The diabetes set ships inside scikit-learn (442 rows, 10 features): no download on the cluster."""
    x, y = load_diabetes(return_X_y=True, scaled=False)
    x_train, x_val, y_train, y_val = train_test_split(
        x.astype(np.float32), y.astype(np.float32), test_size=val_fraction, random_state=seed
    )
    scale = x_train.std(axis=0)
    scale[scale == 0] = 1.0
    scaling = Scaling(
        feature_mean=x_train.mean(axis=0).tolist(),
        feature_scale=scale.tolist(),
        target_mean=float(y_train.mean()),
        target_scale=float(y_train.std()),
    )
    return Splits(x_train, y_train, x_val, y_val, scaling)


def tensor_dataset(x: np.ndarray, y: np.ndarray, scaling: Scaling) -> TensorDataset:
    features = torch.tensor(scaling.features(x), dtype=torch.float32)
    target = torch.tensor(scaling.target(y), dtype=torch.float32).unsqueeze(1)
    return TensorDataset(features, target)


# ---------------------------------------------------------------------------------------------------------
# Model and one epoch
# ---------------------------------------------------------------------------------------------------------


def build_model(hidden_size: int) -> nn.Module:
    return nn.Sequential(
        nn.Linear(NUM_FEATURES, hidden_size),
        nn.ReLU(),
        nn.Linear(hidden_size, hidden_size),
        nn.ReLU(),
        nn.Linear(hidden_size, 1),
    )


def train_epoch(model: nn.Module, loader: DataLoader, optimizer: torch.optim.Optimizer) -> float:
    """One pass over ``loader``; returns the mean training loss (scaled units)."""
    model.train()
    loss_fn = nn.MSELoss()
    total, count = 0.0, 0
    for features, target in loader:
        optimizer.zero_grad()
        loss = loss_fn(model(features), target)
        loss.backward()
        optimizer.step()
        total += loss.item() * len(features)
        count += len(features)
    return total / max(count, 1)


@torch.no_grad()
def validation_mse(model: nn.Module, x_val: np.ndarray, y_val: np.ndarray, scaling: Scaling) -> float:
    """MSE in the target's original units, so it compares directly with ``baseline_mse``."""
    model.eval()
    device = next(model.parameters()).device
    features = torch.tensor(scaling.features(x_val), dtype=torch.float32, device=device)
    predicted = scaling.target_back(model(features).squeeze(1).cpu().numpy())
    return float(np.mean((predicted - y_val) ** 2))


def save_model(directory: str, model: nn.Module, hidden_size: int, scaling: Scaling) -> None:
    """Write weights and scaling side by side; ``load_model`` (and serving) reads them back."""
    torch.save(model.state_dict(), os.path.join(directory, MODEL_FILE))
    meta = {"hidden_size": hidden_size, "feature_names": list(FEATURE_NAMES), "scaling": asdict(scaling)}
    with open(os.path.join(directory, SCALING_FILE), "w", encoding="utf-8") as handle:
        json.dump(meta, handle, indent=2)


def load_model(directory: str) -> tuple[nn.Module, Scaling]:
    with open(os.path.join(directory, SCALING_FILE), encoding="utf-8") as handle:
        meta = json.load(handle)
    model = build_model(int(meta["hidden_size"]))
    model.load_state_dict(torch.load(os.path.join(directory, MODEL_FILE), map_location="cpu"))
    model.eval()
    return model, Scaling(**meta["scaling"])


def unwrap(model: nn.Module) -> nn.Module:
    """The plain module inside DistributedDataParallel, so saved weights load without DDP."""
    return model.module if hasattr(model, "module") else model


# ---------------------------------------------------------------------------------------------------------
# Ray Train
# ---------------------------------------------------------------------------------------------------------


def train_loop_per_worker(config: dict[str, Any]) -> None:
    """Runs on every Ray Train worker: DDP model, sharded loader, one report (and checkpoint) per epoch."""
    import ray.train
    import ray.train.torch

    torch.manual_seed(config["seed"])
    splits = load_splits(seed=config["seed"])
    train_set = tensor_dataset(splits.x_train, splits.y_train, splits.scaling)
    loader = ray.train.torch.prepare_data_loader(
        DataLoader(train_set, batch_size=config["batch_size"], shuffle=True)
    )
    model = ray.train.torch.prepare_model(build_model(config["hidden_size"]))
    optimizer = torch.optim.Adam(model.parameters(), lr=config["lr"], weight_decay=config["weight_decay"])
    rank = ray.train.get_context().get_world_rank()
    best_val_mse = float("inf")

    for epoch in range(1, config["epochs"] + 1):
        if hasattr(loader.sampler, "set_epoch"):  # DistributedSampler: reshuffle shards each epoch
            loader.sampler.set_epoch(epoch)
        started = time.perf_counter()
        train_loss = train_epoch(model, loader, optimizer)
        seconds = time.perf_counter() - started
        metrics = {
            "epoch": epoch,
            "train_loss": train_loss,
            "val_mse": validation_mse(unwrap(model), splits.x_val, splits.y_val, splits.scaling),
            "baseline_mse": splits.baseline_mse,
            "epoch_seconds": seconds,
            "samples_per_second": len(train_set) / seconds if seconds > 0 else 0.0,
        }
        if rank == 0:
            print(f"epoch {epoch}/{config['epochs']}: train_loss={train_loss:.4f} "
                  f"val_mse={metrics['val_mse']:.1f} baseline_mse={splits.baseline_mse:.1f}", flush=True)
        # Every worker calls report (it is a barrier). Only rank 0 writes files, and only when the
        # validation loss improved: all ranks hold the same weights, so they agree on that.
        improved = metrics["val_mse"] < best_val_mse
        best_val_mse = min(best_val_mse, metrics["val_mse"])
        with tempfile.TemporaryDirectory() as tmp:
            checkpoint = None
            if rank == 0 and improved:
                save_model(tmp, unwrap(model), config["hidden_size"], splits.scaling)
                checkpoint = ray.train.Checkpoint.from_directory(tmp)
            ray.train.report(metrics, checkpoint=checkpoint)


@dataclass(frozen=True)
class TrainOutcome:
    val_mse: float
    baseline_mse: float
    best_epoch: int
    epochs: int
    checkpoint_path: str
    model_path: str
    seconds: float


def run_training(args: argparse.Namespace) -> TrainOutcome:
    """Fit with TorchTrainer, export the best checkpoint to ``<storage>/<name>/model``."""
    from ray.train import CheckpointConfig, FailureConfig, RunConfig, ScalingConfig
    from ray.train.torch import TorchTrainer

    started = time.perf_counter()
    resources = {"CPU": args.cpus_per_worker}
    if args.use_gpu:
        resources["GPU"] = args.gpus_per_worker
    trainer = TorchTrainer(
        train_loop_per_worker,
        train_loop_config={
            "lr": args.lr,
            "hidden_size": args.hidden_size,
            "batch_size": args.batch_size,
            "epochs": args.epochs,
            "weight_decay": args.weight_decay,
            "seed": args.seed,
        },
        scaling_config=ScalingConfig(
            num_workers=args.num_workers, use_gpu=args.use_gpu, resources_per_worker=resources
        ),
        run_config=RunConfig(
            name=args.name,
            storage_path=args.storage_path,
            checkpoint_config=CheckpointConfig(
                num_to_keep=1, checkpoint_score_attribute="val_mse", checkpoint_score_order="min"
            ),
            failure_config=FailureConfig(max_failures=args.max_failures),
        ),
    )
    result = trainer.fit()
    if result.error is not None:
        raise result.error
    if not result.best_checkpoints:
        raise RuntimeError("training finished without a checkpoint")
    checkpoint, best = result.best_checkpoints[0]
    model_path = storage_join(args.storage_path, args.name, "model")
    export_model(checkpoint, model_path)
    return TrainOutcome(
        val_mse=float(best["val_mse"]),
        baseline_mse=float(best["baseline_mse"]),
        best_epoch=int(best["epoch"]),
        epochs=args.epochs,
        checkpoint_path=checkpoint.path,
        model_path=model_path,
        seconds=time.perf_counter() - started,
    )


def export_model(checkpoint: Any, destination: str) -> None:
    """Copy a checkpoint to a fixed place; works for local paths and object-store URIs (s3://, gs://)."""
    import pyarrow.fs

    filesystem, path = _filesystem(destination)
    filesystem.create_dir(path, recursive=True)
    pyarrow.fs.copy_files(checkpoint.path, path, checkpoint.filesystem, filesystem)


def storage_join(storage_path: str, *parts: str) -> str:
    return "/".join([storage_path.rstrip("/"), *parts])


def _filesystem(location: str) -> tuple[Any, str]:
    import pyarrow.fs

    return pyarrow.fs.FileSystem.from_uri(location if "://" in location else "file://" + location)


def write_text(location: str, text: str) -> None:
    """Write a small file to a local path or an object-store URI."""
    filesystem, path = _filesystem(location)
    filesystem.create_dir(path.rsplit("/", 1)[0], recursive=True)
    with filesystem.open_output_stream(path) as stream:
        stream.write(text.encode("utf-8"))


def storage_path_argument(value: str) -> str:
    """Local paths become absolute (Ray requires it); URIs such as s3://bucket/prefix pass unchanged."""
    return value if "://" in value else os.path.abspath(value)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--num-workers", type=int, default=2, help="Ray Train workers (DDP ranks)")
    parser.add_argument("--cpus-per-worker", type=float, default=1.0)
    parser.add_argument("--use-gpu", action="store_true", help="one or more GPUs per worker")
    parser.add_argument("--gpus-per-worker", type=float, default=1.0)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--lr", type=float, default=0.01)
    parser.add_argument("--hidden-size", type=int, default=8)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--weight-decay", type=float, default=1e-2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-failures", type=int, default=0, help="worker-group restarts before giving up")
    parser.add_argument(
        "--storage-path",
        type=storage_path_argument,
        default=os.environ.get("RAYGITOPS_STORAGE_PATH", DEFAULT_STORAGE),
        help="local directory, shared volume or object-store URI for results and the model",
    )
    parser.add_argument("--name", default="diabetes-train", help="run name (directory under the storage path)")
    parser.add_argument("--ray-address", default=None, help="Ray to join; default: RAY_ADDRESS or a local one")
    parser.add_argument("--num-cpus", type=int, default=None, help="CPUs of a local Ray started here")
    args = parser.parse_args(argv)
    positive = {"--num-workers": args.num_workers, "--epochs": args.epochs, "--hidden-size": args.hidden_size,
                "--batch-size": args.batch_size, "--cpus-per-worker": args.cpus_per_worker, "--lr": args.lr}
    for flag, value in positive.items():
        if value <= 0:
            parser.error(f"{flag} must be positive, got {value}")
    return args


def ensure_ray(address: str | None, num_cpus: int | None) -> bool:
    """Join the given Ray (or RAY_ADDRESS) or start a local one. Returns True if this call started it."""
    import ray

    if ray.is_initialized():
        return False
    if address or os.environ.get("RAY_ADDRESS"):
        ray.init(address=address)
    else:
        ray.init(num_cpus=num_cpus)
    return True


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    import ray

    started_ray = ensure_ray(args.ray_address, args.num_cpus)
    try:
        outcome = run_training(args)
    except Exception as error:  # the job must fail visibly: one line, non-zero exit
        print(f"train: failed: {type(error).__name__}: {error}", file=sys.stderr)
        return 1
    finally:
        if started_ray:
            ray.shutdown()
    print(json.dumps(asdict(outcome)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
