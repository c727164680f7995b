"""`gradstudio train project.gradstudio`: train from a project file in a terminal, with a
progress bar, writing the same run records as the app. Under `torchrun --nproc-per-node N`
the same command trains with DistributedDataParallel.

The model is the project's builder model; a project whose model is code (its scripts) runs
that code only with `--trust-code` or when the app was told to trust this exact file.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch
from torch import nn

from ..data.loaders import make_loaders
from ..project import Project, ProjectError, load_project
from .settings import SettingsError, TrainingSettings

EXIT_OK, EXIT_BAD_INPUT, EXIT_RUN_FAILED, EXIT_STOPPED = 0, 2, 1, 130


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="gradstudio train", description=__doc__.split("\n\n")[0])
    p.add_argument("project", help="a .gradstudio project file")
    p.add_argument("--epochs", type=int, help="override the project's number of epochs")
    p.add_argument("--lr", type=float, help="override the learning rate")
    p.add_argument("--device", help="cpu, cuda, cuda:1, mps or auto (default: the project's setting)")
    p.add_argument("--seed", type=int, help="override the seed")
    p.add_argument("--runs-db", help="the run database (default: $GRADSTUDIO_RUNS_DB or the user data directory)")
    p.add_argument("--name", help="the run's name")
    p.add_argument("--model", help="which model class of the project's scripts to train")
    p.add_argument("--trust-code", action="store_true", help="run the project's scripts (they define the model)")
    p.add_argument("--resume", metavar="CHECKPOINT", help="continue from a checkpoint file of an earlier run")
    p.add_argument("--weights-out", metavar="PATH",
                   help="save the final weights (state_dict); '{rank}' in PATH is replaced by the process rank")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    return p


def model_from_project(project: Project, path: Path, trust_code: bool, model_name: str | None) -> tuple[nn.Module, dict, dict | None]:
    """(model, its description for the run record, the scripts' namespace or None)."""
    if project.model is not None and not model_name:
        return project.model.build(), {"spec": project.model.to_dict(), "source": "builder"}, None
    if not project.has_code:
        raise ProjectError("model", "the project has no model: build one in the Builder, or add a script defining one")
    if not trust_code and not _trusted(path):
        raise ProjectError("scripts", "the model is defined by the project's code; run with --trust-code to allow it "
                                      "(or open the project in the app once and trust it)")
    from ..model_files import find_models, load_namespace

    source = "\n\n".join(s.source for s in project.scripts)
    filename = str(path)
    candidates = [c for c in find_models(source) if not c.required]
    names = [c.name for c in candidates]
    if model_name is None:
        if not names:
            raise ProjectError("scripts", "the scripts define no model that can be built without arguments")
        model_name = names[-1]
    namespace = load_namespace(source, filename)
    factory = namespace.get(model_name)
    if factory is None:
        raise ProjectError("model", f"the scripts define no {model_name!r} (models: {', '.join(names) or 'none'})")
    model = factory()
    if not isinstance(model, nn.Module):
        raise ProjectError("model", f"{model_name}() returned {type(model).__name__}, not an nn.Module")
    return model, {"class": model_name, "source": "code", "code": source}, namespace


def _trusted(path: Path) -> bool:
    from ..project import TrustStore, content_hash

    try:
        return TrustStore().is_trusted(content_hash(path))
    except Exception:
        return False


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from .distributed import Distributed

    path = Path(args.project)
    try:
        project = load_project(path)
        settings = TrainingSettings.from_dict(project.training)
        overrides = {k: v for k, v in (("epochs", args.epochs), ("lr", args.lr), ("device", args.device),
                                        ("seed", args.seed)) if v is not None}
        settings = TrainingSettings.from_dict({**settings.to_dict(), "train": {**settings.train.to_dict(), **overrides}})
        dist = Distributed.from_env(settings.train.device)
        torch.manual_seed(settings.train.seed)  # the same initial weights on every rank
        model, model_record, namespace = model_from_project(project, path, args.trust_code, args.model)
        dataset = settings.dataset.build(namespace, base_dir=path.parent)
        train_loader, val_loader = make_loaders(dataset, settings.loader)
    except (ProjectError, SettingsError, ValueError, OSError, ImportError, TypeError) as exc:
        print(f"gradstudio train: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    return _train(args, path, settings, model, model_record, dataset, train_loader, val_loader, dist)


def _train(args, path, settings, model, model_record, dataset, train_loader, val_loader, dist) -> int:
    from ..data.spec import describe
    from ..runs.location import default_store_path
    from ..runs.store import RunStore, RunStoreError
    from .job import TrainingJob
    from .progress import ProgressBar

    writer = dist is None or dist.is_writer
    store = None
    if writer:
        try:
            store = RunStore(args.runs_db or default_store_path())
        except RunStoreError as exc:
            print(f"gradstudio train: {exc}", file=sys.stderr)
            return EXIT_BAD_INPUT
    if dist is not None:
        train_loader = dist.shard(train_loader, settings.loader)
    run_config = {"project": str(path.resolve()), "dataset": settings.dataset.to_dict(), "dataset_summary": describe(dataset),
                  "loader": settings.to_dict()["loader"], "model": model_record, "headless": True}
    if dist is not None:
        run_config["distributed"] = {"world_size": dist.world_size, "backend": "nccl" if dist.device.type == "cuda" else "gloo"}
    total = settings.train.epochs * len(train_loader)
    bar = ProgressBar(total, settings.train.epochs) if writer and not args.quiet else None
    job = TrainingJob(model, train_loader, val_loader, settings.train, store=store, writer=writer,
                      run_name=args.name or f"{path.stem} {type(model).__name__}", run_config=run_config,
                      resume_from=args.resume, on_step=bar.update if bar else None,
                      wrap=dist.wrap if dist else None, device=dist.device if dist else None)
    try:
        result = job.run()
    except KeyboardInterrupt:  # Ctrl+C between steps: the record says stopped, not interrupted
        result = job.result
        if store is not None and job.run_id is not None and result is None:
            store.finish(job.run_id, "stopped", "stopped with Ctrl+C")
        if bar:
            bar.close("stopped")
        return EXIT_STOPPED
    finally:
        if args.weights_out and job.trainer is not None:
            rank = dist.rank if dist else 0
            out = Path(args.weights_out.replace("{rank}", str(rank)))
            out.parent.mkdir(parents=True, exist_ok=True)
            torch.save(job.model.state_dict(), out)
        if store is not None:
            store.close()
        if dist is not None:
            dist.close()
    if bar:
        where = f"run {result.run_id} in {args.runs_db or default_store_path()}" if result.run_id else "no run record"
        bar.close(f"{result.status}{': ' + result.reason if result.reason else ''} ({where})")
    return EXIT_OK if result.status == "completed" else EXIT_RUN_FAILED


if __name__ == "__main__":
    sys.exit(main())
