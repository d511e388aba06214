"""`parceldesk nlu …` and `parceldesk engine …`: the intent model and the Rasa engine environment."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from parceldesk.console import console, fail, settings_or_exit

nlu_app = typer.Typer(help="The intent model: train, validate, test.", no_args_is_help=True)
engine_app = typer.Typer(help="The Rasa engine environment (Python 3.10).", no_args_is_help=True)


@engine_app.command("setup")
def engine_setup() -> None:
    """Create the engine environment (cached by the hash of engine/constraints.txt)."""
    from nlu.toolchain import EngineError, ensure_engine

    settings = settings_or_exit()
    try:
        engine = ensure_engine(settings, progress=lambda line: console.print(f"  [dim]{line[:150]}[/]"))
    except EngineError as exc:
        fail(str(exc))
        return
    console.print(f"[green]✓[/] engine environment: {engine.directory}")


@engine_app.command("path")
def engine_path() -> None:
    """Print the engine environment's directory (creating it if needed)."""
    from nlu.toolchain import EngineError, ensure_engine

    try:
        print(ensure_engine(settings_or_exit()).directory)
    except EngineError as exc:
        fail(str(exc))


@nlu_app.command("train")
def nlu_train(
    force: Annotated[bool, typer.Option(help="Train even if a model for this content exists")] = False,
) -> None:
    """Train the model for the current data and config (cached by content hash)."""
    from nlu.toolchain import EngineError, ensure_engine, ensure_model

    settings = settings_or_exit()
    try:
        engine = ensure_engine(settings)
        model = ensure_model(
            settings, engine, progress=lambda line: console.print(f"  [dim]{line[:150]}[/]"), force=force
        )
    except EngineError as exc:
        fail(str(exc))
        return
    console.print(f"[green]✓[/] model: {model}")


@nlu_app.command("parse")
def nlu_parse(
    model: Annotated[str | None, typer.Option(help="Model .tar.gz (default: the one for the current data)")] = None,
) -> None:
    """Read utterances (one per line) on stdin; write one JSON object per line: text, intent, confidence, entities."""
    import json
    from pathlib import Path

    from nlu.toolchain import EngineError, ensure_engine, ensure_model, parse_texts

    settings = settings_or_exit()
    texts = [line.rstrip("\n") for line in sys.stdin if line.strip()]
    try:
        engine = ensure_engine(settings)
        model_path = Path(model) if model else ensure_model(settings, engine)
        for record in parse_texts(engine, model_path, texts):
            print(json.dumps(record, ensure_ascii=False))
    except EngineError as exc:
        fail(str(exc))


@nlu_app.command("evaluate")
def nlu_evaluate(
    output: Annotated[str, typer.Option(help="Results path (writes .json and .md)")] = "nlu/results/heldout",
    baseline: Annotated[bool, typer.Option(help="Also train and score the comparison pipelines")] = True,
    pipeline: Annotated[
        list[str] | None,
        typer.Option(
            "--pipeline",
            "-p",
            help="Score only these: a known name (parceldesk, parceldesk-before, parceldesk-sparse, rasa-stock) "
            "or a config file inside the project (e.g. nlu/experiments/use_logreg.yml). Repeatable.",
        ),
    ] = None,
    eval_set: Annotated[
        list[str] | None,
        typer.Option(
            "--set",
            "-s",
            help="Score only these eval sets: heldout (the clean set), noisy, loose, offtopic. Repeatable.",
        ),
    ] = None,
) -> None:
    """Score the intent model and the comparison pipelines on each set of nlu/eval/ (trained models are cached)."""
    from pathlib import Path

    from learning.heldout import PIPELINES, evaluate, select_pipelines, select_sets, write_report
    from nlu.toolchain import EngineError

    settings = settings_or_exit()
    try:
        if pipeline:
            pipelines = select_pipelines(pipeline)
        else:
            pipelines = PIPELINES if baseline else {"parceldesk": PIPELINES["parceldesk"]}
        sets = select_sets(eval_set)
        results = evaluate(settings, console, sets=sets, pipelines=pipelines)
    except (EngineError, ValueError) as exc:
        fail(str(exc))
        return
    console.print(write_report(results, sets, Path(output)))


@nlu_app.command("validate")
def nlu_validate() -> None:
    """Run `rasa data validate` on the domain, data and config."""
    from nlu.toolchain import EngineError, ensure_engine

    settings = settings_or_exit()
    try:
        ensure_engine(settings).run(
            [
                "data",
                "validate",
                "--domain",
                "domain.yml",
                "--data",
                "nlu/data",
                "--config",
                "config.yml",
                "--fail-on-warnings",
            ],
            progress=lambda line: console.print(f"  {line[:200]}"),
        )
    except EngineError as exc:
        fail(str(exc))
    console.print("[green]✓[/] training data valid")
