"""Search learning rate, hidden size and batch size with Ray Tune and ASHA on the real validation loss.

Each trial trains the model from ``train.py`` (same data split, model and epoch functions, imported, not
copied) and reports its validation MSE after every epoch; ASHA stops the trials that fall behind at each
rung. The best configuration is printed and written as JSON (``<storage>/<name>/best_config.json``), in
the shape ``train.py`` takes as arguments.

    python tune.py --num-samples 8 --max-epochs 8 --storage-path /tmp/ray-results
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Sequence

try:  # On the cluster every job file sits in one mounted directory that is on PYTHONPATH.
    import train as training
except ModuleNotFoundError:  # In the repository train.py lives in ../train: put it on the path for Ray workers too.
    _TRAIN_DIR = str(Path(__file__).resolve().parent.parent / "train")
    sys.path.insert(0, _TRAIN_DIR)
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (_TRAIN_DIR, os.environ.get("PYTHONPATH")) if p)
    import train as training

import torch
from torch.utils.data import DataLoader

SEARCH_SPACE_DOC = "lr: log-uniform 1e-3..3e-2, hidden_size: 4|8|16|32, batch_size: 16|32|64"


def search_space() -> dict[str, Any]:
    from ray import tune

    return {
        "lr": tune.loguniform(1e-3, 3e-2),
        "hidden_size": tune.choice([4, 8, 16, 32]),
        "batch_size": tune.choice([16, 32, 64]),
    }


def train_trial(config: dict[str, Any]) -> None:
    """One Tune trial: plain (single-process) training with train.py's pieces, one report per epoch."""
    from ray import tune

    torch.manual_seed(config["seed"])
    splits = training.load_splits(seed=config["seed"])
    loader = DataLoader(
        training.tensor_dataset(splits.x_train, splits.y_train, splits.scaling),
        batch_size=config["batch_size"],
        shuffle=True,
    )
    model = training.build_model(config["hidden_size"])
    optimizer = torch.optim.Adam(model.parameters(), lr=config["lr"], weight_decay=config["weight_decay"])
    for epoch in range(1, config["max_epochs"] + 1):
        train_loss = training.train_epoch(model, loader, optimizer)
        val_mse = training.validation_mse(model, splits.x_val, splits.y_val, splits.scaling)
        tune.report({"epoch": epoch, "train_loss": train_loss, "val_mse": val_mse,
                     "baseline_mse": splits.baseline_mse})


@dataclass(frozen=True)
class TuneOutcome:
    best_config: dict[str, Any]
    best_val_mse: float
    baseline_mse: float
    trials: int
    stopped_early: int
    max_epochs: int
    best_config_path: str
    seconds: float


def run_tuning(args: argparse.Namespace) -> TuneOutcome:
    from ray import tune
    from ray.tune.schedulers import ASHAScheduler
    from ray.tune.search.basic_variant import BasicVariantGenerator

    started = time.perf_counter()
    fixed = {"max_epochs": args.max_epochs, "weight_decay": args.weight_decay, "seed": args.seed}
    tuner = tune.Tuner(
        tune.with_resources(train_trial, {"cpu": args.cpus_per_trial}),
        param_space={**search_space(), **fixed},
        tune_config=tune.TuneConfig(
            metric="val_mse",
            mode="min",
            num_samples=args.num_samples,
            scheduler=ASHAScheduler(
                time_attr="training_iteration",
                max_t=args.max_epochs,
                grace_period=args.grace_period,
                reduction_factor=2,
            ),
            search_alg=BasicVariantGenerator(random_state=args.seed),
            reuse_actors=True,  # trials differ only in config: skip a fresh process (and torch import) each
        ),
        run_config=tune.RunConfig(name=args.name, storage_path=args.storage_path, verbose=1),
    )
    results = tuner.fit()
    if results.errors:
        raise RuntimeError(f"{len(results.errors)} of {len(results)} trials failed: {results.errors[0]}")
    best = results.get_best_result(metric="val_mse", mode="min", scope="all")
    best_config = {key: best.config[key] for key in ("lr", "hidden_size", "batch_size")}
    iterations = [result.metrics.get("training_iteration", 0) for result in results]
    output = args.output or training.storage_join(args.storage_path, args.name, "best_config.json")
    outcome = TuneOutcome(
        best_config=best_config,
        best_val_mse=float(best.metrics_dataframe["val_mse"].min()),
        baseline_mse=float(best.metrics["baseline_mse"]),
        trials=len(results),
        stopped_early=sum(1 for done in iterations if done < args.max_epochs),
        max_epochs=args.max_epochs,
        best_config_path=output,
        seconds=time.perf_counter() - started,
    )
    training.write_text(output, json.dumps(asdict(outcome), indent=2) + "\n")
    return outcome


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], epilog=SEARCH_SPACE_DOC)
    parser.add_argument("--num-samples", type=int, default=8, help="trials drawn from the search space")
    parser.add_argument("--max-epochs", type=int, default=8, help="epochs for a trial ASHA never stops")
    parser.add_argument("--grace-period", type=int, default=2, help="epochs before ASHA may stop a trial")
    parser.add_argument("--cpus-per-trial", type=float, default=1.0)
    parser.add_argument("--weight-decay", type=float, default=1e-2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--storage-path",
        type=training.storage_path_argument,
        default=os.environ.get("RAYGITOPS_STORAGE_PATH", training.DEFAULT_STORAGE),
    )
    parser.add_argument("--name", default="diabetes-tune")
    parser.add_argument("--output", default=None, help="best-config JSON; default <storage>/<name>/best_config.json")
    parser.add_argument("--ray-address", default=None)
    parser.add_argument("--num-cpus", type=int, default=None, help="CPUs of a local Ray started here")
    args = parser.parse_args(argv)
    for flag, value in {"--num-samples": args.num_samples, "--max-epochs": args.max_epochs,
                        "--grace-period": args.grace_period, "--cpus-per-trial": args.cpus_per_trial}.items():
        if value <= 0:
            parser.error(f"{flag} must be positive, got {value}")
    if args.grace_period > args.max_epochs:
        parser.error(f"--grace-period ({args.grace_period}) must not exceed --max-epochs ({args.max_epochs})")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    import ray

    started_ray = training.ensure_ray(args.ray_address, args.num_cpus)
    try:
        outcome = run_tuning(args)
    except Exception as error:
        print(f"tune: failed: {type(error).__name__}: {error}", file=sys.stderr)
        return 1
    finally:
        if started_ray:
            ray.shutdown()
    print(json.dumps(asdict(outcome)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
