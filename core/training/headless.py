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


def load_scripts(project: Project, path: Path, trust_code: bool) -> dict:
    """Run the project's scripts (with consent) and return their globals."""
    if not project.has_code:
        raise ProjectError("scripts", "the project has no scripts, but its settings need one (a model or Dataset class)")
    if not trust_code and not _trusted(path):
        raise ProjectError("scripts", "the model or data is defined by the project's code; run with --trust-code to "
                                      "allow it (or open the project in the app once and trust it)")
    from ..model_files import load_namespace

    return load_namespace("\n\n".join(s.source for s in project.scripts), str(path))


def make_model(project: Project, choice: str | None, class_name: str | None, namespace: dict | None,
               dataset) -> tuple[nn.Module, dict]:
    """The model the settings name: `mlp` (sized for the data), `builder`, `script:<variable>`,
    or `--model Class` from the scripts; (model, its description for the run record)."""
    if class_name:
        factory = (namespace or {}).get(class_name)
        if factory is None:
            raise ProjectError("model", f"the scripts define no {class_name!r}")
        model = factory()
        if not isinstance(model, nn.Module):
            raise ProjectError("model", f"{class_name}() returned {type(model).__name__}, not an nn.Module")
        return model, {"source": "code", "class": class_name}
    if choice == "mlp":
        from .models import small_mlp_spec

        spec = small_mlp_spec(dataset)
        return spec.build(), {"source": "builder", "spec": spec.to_dict(), "note": "small MLP for the data"}
    if choice and choice.startswith("script:"):
        name = choice.split(":", 1)[1]
        model = (namespace or {}).get(name)
        if not isinstance(model, nn.Module):
            raise ProjectError("training.train.extra.model", f"the scripts leave no model in a variable {name!r}")
        return model, {"source": "code", "class": type(model).__name__, "variable": name}
    if project.model is None:
        raise ProjectError("model", "the project has no Builder model: build one, or name a model with --model")
    return project.model.build(), {"source": "builder", "spec": project.model.to_dict()}


def _only_model_class(project: Project) -> str | None:
    """The last nn.Module class of the scripts that needs no arguments (found by reading them)."""
    from ..model_files import find_models

    found = [c.name for c in find_models("\n\n".join(s.source for s in project.scripts))
             if c.kind == "class" and not c.required]
    return found[-1] if found else None


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
        choice = settings.train.extra.get("model")
        code_needed = (args.model or settings.dataset.kind == "user" or (choice or "").startswith("script:")
                       or (project.model is None and choice != "mlp"))
        namespace = load_scripts(project, path, args.trust_code) if code_needed else None
        class_name = args.model or (_only_model_class(project) if project.model is None and choice in (None, "builder")
                                    else None)
        dist = Distributed.from_env(settings.train.device)
        dataset = settings.dataset.build(namespace, base_dir=path.parent)
        torch.manual_seed(settings.train.seed)  # the same initial weights on every rank
        model, model_record = make_model(project, choice, class_name, namespace, dataset)
        train_loader, val_loader = make_loaders(dataset, settings.loader)
    except (ProjectError, SettingsError, ValueError, OSError, ImportError, TypeError, LookupError) as exc:
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
