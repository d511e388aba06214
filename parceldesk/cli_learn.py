"""`parceldesk learn …`: the learning loop's admin side — the review queue, labelling, export, the model registry.

Texts shown here are masked (learning/masking.py): the admin sees what would become training data, never a
customer's phone number or address. Prompts are bilingual like everything a user of ParcelDesk reads.
"""

from __future__ import annotations

import getpass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table

from parceldesk.console import console, database_or_exit, err

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

    from core.settings import Settings
    from learning.review import Labeller, ReviewGroup, ReviewPolicy
    from nlu.toolchain import Engine

learn_app = typer.Typer(
    help="学习闭环 / Learning loop: review and label logged messages, export training data, list models.",
    no_args_is_help=True,
)

VARIANTS_SHOWN = 5
KEYS_HELP = (
    "回车=确认猜测 confirm guess · 数字或意图名=选择 pick by number/name · s=跳过 skip · q=退出 quit"
    " · ?=意图列表 intents"
)


def _sessions() -> tuple[Settings, sessionmaker[Session]]:
    """Settings and a sessionmaker for the configured database."""
    settings, database = database_or_exit()
    return settings, database.sessions


def _intents() -> tuple[str, ...]:
    """The valid labels (domain.yml intents, faq by its sub-intents)."""
    from core.settings import PROJECT_ROOT
    from nlu.intents import labelling_intents

    return labelling_intents(PROJECT_ROOT)


def _labeller(name: str | None) -> Labeller:
    """Who labels from the command line (the login name unless --by says otherwise)."""
    from crm.audit import CLI_ACTOR
    from learning.review import Labeller

    return Labeller(name or f"{CLI_ACTOR} ({getpass.getuser()})")


def _policy(settings: Settings, threshold: float | None, include_all: bool) -> ReviewPolicy:
    """The review policy from settings, with the command line's overrides."""
    from learning.review import ReviewPolicy

    policy = ReviewPolicy.from_settings(settings, include_all=include_all)
    return ReviewPolicy(threshold if threshold is not None else policy.low_confidence, policy.similarity, include_all)


def _confidence(value: float | None) -> str:
    """A confidence for display."""
    return "–" if value is None else f"{value:.2f}"


def queue_table(groups: list[ReviewGroup], limit: int) -> Table:
    """The review queue as a table: rank, count, reasons, guess, confidence, representative text."""
    table = Table("#", "数量 count", "原因 reasons", "猜测 guess", "置信度 conf.", "文本 text (masked)",
                  title=f"待标注 / to label: {len(groups)} groups")
    for index, group in enumerate(groups[:limit], start=1):
        more = f" (+{len(group.variants) - 1})" if len(group.variants) > 1 else ""
        table.add_row(str(index), str(group.count), ", ".join(group.reasons) or "-", group.guess or "-",
                      _confidence(group.guess_confidence), group.representative + more)
    return table


ThresholdOption = Annotated[
    float | None, typer.Option("--threshold", help="低置信度阈值 / low-confidence threshold (default: settings)")
]
AllOption = Annotated[
    bool,
    typer.Option("--all", help="所有未标注消息 / every unlabelled message, not only those the model struggled with"),
]


@learn_app.command("list")
def learn_list(
    limit: Annotated[int, typer.Option(help="最多显示 / how many groups to show")] = 30,
    threshold: ThresholdOption = None,
    all_: AllOption = False,
    csv_out: Annotated[
        Path | None, typer.Option("--csv", help="写出 text,intent 文件供批量标注 / write a text,intent file to edit")
    ] = None,
    show_conflicts: Annotated[bool, typer.Option("--conflicts", help="列出冲突标注 / list conflicting labels")] = False,
) -> None:
    """Print the review queue: most frequent first, near-duplicates grouped (texts masked)."""
    import csv

    from learning.review import conflicts, review_queue

    settings, sessions = _sessions()
    with sessions() as session:
        groups = review_queue(session, _policy(settings, threshold, all_))
        found = conflicts(session) if show_conflicts else []
    console.print(queue_table(groups, limit))
    if csv_out is not None:
        with csv_out.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["text", "intent"])
            for group in groups:
                writer.writerow([group.representative, group.guess or ""])
        console.print(f"[green]✓[/] {len(groups)} 行已写入 / rows written to {csv_out}: "
                      "改好 intent 后 / fix the intents, then `parceldesk learn review --batch FILE`")
    if show_conflicts:
        table = Table("文本 text", "意图 intents", title=f"冲突 / conflicts: {len(found)}")
        for conflict in found:
            table.add_row(conflict.text, ", ".join(f"{k} ×{v}" for k, v in conflict.intents.items()))
        console.print(table)


def _show_group(group: ReviewGroup, index: int, total: int, intents: tuple[str, ...]) -> None:
    """One group on screen: its texts, why it is here, and the model's guess."""
    lines = [f"“{text}”" + (f"  ×{count}" if count > 1 else "") for text, count in group.variants[:VARIANTS_SHOWN]]
    if len(group.variants) > VARIANTS_SHOWN:
        lines.append(f"… +{len(group.variants) - VARIANTS_SHOWN}")
    guess = group.guess if group.guess in intents else None
    lines.append("")
    lines.append(f"猜测 guess: [bold]{guess or '-'}[/]   置信度 confidence: {_confidence(group.guess_confidence)}   "
                 f"数量 count: {group.count}   原因 reasons: {', '.join(group.reasons) or '-'}")
    likely = group.likely_intents(intents)
    if likely:
        lines.append("可能 likely: " + "  ".join(f"{intents.index(name) + 1}={name}" for name in likely))
    console.print(Panel("\n".join(lines), title=f"{index}/{total}", expand=False))


def _intent_list(intents: tuple[str, ...]) -> None:
    """The numbered list of valid intents."""
    table = Table.grid(padding=(0, 3))
    columns = 3
    for _ in range(columns):
        table.add_column()
    rows = (len(intents) + columns - 1) // columns
    for row in range(rows):
        cells = []
        for column in range(columns):
            index = column * rows + row
            cells.append(f"{index + 1:>2} {intents[index]}" if index < len(intents) else "")
        table.add_row(*cells)
    console.print(table)


def _choice(answer: str, group: ReviewGroup, intents: tuple[str, ...]) -> str | None:
    """The intent an answer names ('' = the guess), or None when it names nothing valid."""
    answer = answer.strip()
    if not answer:
        return group.guess if group.guess in intents else None
    if answer.isdigit() and 1 <= int(answer) <= len(intents):
        return intents[int(answer) - 1]
    return answer if answer in intents else None


def _label_interactively(
    sessions: sessionmaker[Session], groups: list[ReviewGroup], intents: tuple[str, ...], labeller: Labeller
) -> tuple[int, int]:
    """Walk the queue group by group; each label is committed at once. Returns (labelled groups, messages)."""
    from core.db import transaction
    from learning.review import label_group

    _intent_list(intents)
    console.print(KEYS_HELP)
    labelled = messages = 0
    for index, group in enumerate(groups, start=1):
        _show_group(group, index, len(groups), intents)
        while True:
            answer = typer.prompt("标注 label", default="", show_default=False)
            if answer.strip().lower() in ("q", "quit"):
                return labelled, messages
            if answer.strip().lower() in ("s", "skip"):
                break
            if answer.strip() == "?":
                _intent_list(intents)
                continue
            intent = _choice(answer, group, intents)
            if intent is None:
                console.print("[yellow]无效的选择 / not a valid choice[/] — " + KEYS_HELP)
                continue
            with transaction(sessions) as session:
                outcome = label_group(session, group, intent, labeller=labeller, valid=intents)
            labelled += 1
            messages += outcome.labelled
            console.print(f"[green]✓[/] {outcome.labelled} 条已标注为 / messages labelled [bold]{intent}[/] "
                          f"(source {outcome.source})")
            break
    return labelled, messages


def _print_batch_report(report: object) -> None:
    """Line-by-line outcome of a batch file."""
    from learning.review import BatchReport

    assert isinstance(report, BatchReport)
    table = Table("行 line", "结果 result", "文本 text (masked)", "意图 intent")
    for line, text, intent, count in report.labelled:
        table.add_row(str(line), f"[green]已标注 labelled ×{count}[/]", text, intent)
    for line, text, intent in report.already:
        table.add_row(str(line), "已有 already labelled", text, intent)
    for line, text in report.not_found:
        table.add_row(str(line), "[yellow]日志中没有 not in the log[/]", text, "")
    for line, text, intent in report.unknown_intent:
        table.add_row(str(line), "[red]未知意图 unknown intent[/]", text, intent)
    for line, text, intents in report.conflicts:
        table.add_row(str(line), "[red]冲突 conflict[/]", text, intents)
    console.print(table)


@learn_app.command("review")
def learn_review(
    batch: Annotated[
        Path | None, typer.Option("--batch", help="CSV 或 YAML 文件 (text,intent) / CSV or YAML of text,intent")
    ] = None,
    replace: Annotated[
        bool, typer.Option(help="批量文件可以改正已有标注 / a batch line may correct an existing label")
    ] = False,
    threshold: ThresholdOption = None,
    all_: AllOption = False,
    by: Annotated[str | None, typer.Option(help="标注人 / who labels (default: your login)")] = None,
) -> None:
    """Label the review queue interactively (keyboard), or apply a batch file of text,intent lines."""
    from core.db import transaction
    from learning.review import apply_batch, read_batch, review_queue

    settings, sessions = _sessions()
    intents = _intents()
    labeller = _labeller(by)
    policy = _policy(settings, threshold, all_)
    if batch is not None:
        try:
            lines = read_batch(batch)
        except (OSError, ValueError) as exc:
            err.print(f"[red]✗[/] 无法读取批量文件 / cannot read the batch file: {exc}")
            raise typer.Exit(2) from exc
        with transaction(sessions) as session:
            report = apply_batch(session, lines, labeller=labeller, valid=intents, policy=policy, replace=replace)
        _print_batch_report(report)
        if report.unknown_intent or report.conflicts:
            raise typer.Exit(1)
        return
    with sessions() as session:
        groups = review_queue(session, policy)
    if not groups:
        console.print("[green]✓[/] 没有待标注的消息 / nothing to label")
        return
    labelled, messages = _label_interactively(sessions, groups, intents, labeller)
    console.print(f"完成 / done: {labelled} 组 groups, {messages} 条消息 messages labelled")


@learn_app.command("export")
def learn_export(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="只报告不写入 / report only, write nothing")] = False,
    strict: Annotated[bool, typer.Option(help="有冲突时返回非零 / exit non-zero when there are conflicts")] = False,
    output: Annotated[
        Path | None, typer.Option(help="输出目录 / where to write (default: nlu/data/learned)")
    ] = None,
) -> None:
    """Write labelled messages to nlu/data/learned/<source>.yml (masked, deduplicated, held-out texts skipped)."""
    from core.settings import PROJECT_ROOT
    from learning.export import export_labels

    _settings, sessions = _sessions()
    with sessions() as session:
        outcome = export_labels(session, PROJECT_ROOT, output=output, dry_run=dry_run)
    plan = outcome.plan
    table = Table("来源 source", "意图 intents", "例句 examples", title="导出 / export")
    for source, intents in sorted(plan.files.items()):
        table.add_row(f"{source}.yml", str(len(intents)), str(sum(len(t) for t in intents.values())))
    console.print(table)
    if plan.skipped:
        why = {"held_out": "评估集 held-out set", "hand_written": "手写数据已有 already hand-written",
               "markup": "含标注符号 contains Rasa markup"}
        skipped = Table("文本 text", "意图 intent", "原因 why", title=f"跳过 / skipped: {len(plan.skipped)}")
        for item in plan.skipped:
            skipped.add_row(item.text, item.intent, why.get(item.why, item.why))
        console.print(skipped)
    if plan.conflicts:
        conflicts = Table("文本 text", "意图 intents", "与 against", title=f"冲突，未写入 / conflicts, not written: "
                          f"{len(plan.conflicts)}")
        for conflict in plan.conflicts:
            conflicts.add_row(conflict.text, ", ".join(conflict.intents), conflict.against)
        console.print(conflicts)
    if dry_run:
        console.print("演练，未写入 / dry run: nothing written")
    for path in outcome.written:
        console.print(f"[green]✓[/] {path}")
    for path in outcome.removed:
        console.print(f"[yellow]–[/] {path} 已删除 / removed (nothing labelled now)")
    if strict and plan.conflicts:
        raise typer.Exit(1)


@learn_app.command("models")
def learn_models(limit: Annotated[int, typer.Option(help="最多显示 / how many")] = 20) -> None:
    """The model registry: versions, status, training-data hash, accuracy, who promoted them and when."""
    from learning.registry import history

    _settings, sessions = _sessions()
    table = Table("版本 version", "状态 status", "数据 data", "准确率 accuracy", "创建 created", "上线 promoted",
                  "操作人 by")
    with sessions() as session:
        for model in history(session, limit=limit):
            accuracy = (model.metrics or {}).get("accuracy")
            table.add_row(model.version, model.status.value, model.data_hash[:12],
                          f"{accuracy:.1%}" if isinstance(accuracy, float) else "–",
                          str(model.created_at)[:19], str(model.promoted_at or "–")[:19], model.promoted_by or "–")
    console.print(table)


def _engine(settings: Settings) -> Engine:
    """The Rasa engine environment (created once, cached), or a clean exit with the reason."""
    from nlu.toolchain import EngineError, ensure_engine

    try:
        return ensure_engine(settings)
    except EngineError as exc:
        err.print(f"[red]✗[/] {escape(str(exc))}")
        raise typer.Exit(1) from exc


@learn_app.command("retrain")
def learn_retrain(
    margin: Annotated[
        float, typer.Option(help="每个意图 F1 最多可降几个点 / most F1 points any intent may lose")
    ] = 2.0,
    promote: Annotated[
        bool, typer.Option(help="通过即上线 / promote when the gate passes (--no-promote: only gate and register)")
    ] = True,
    by: Annotated[str | None, typer.Option("--by", help="操作人 / who promotes (default: login name)")] = None,
    export: Annotated[
        bool, typer.Option("--export", help="先导出标注数据 / run `learn export` first (as /retrain in the chat does)")
    ] = False,
) -> None:
    """Train a candidate on nlu/data, score it and the live model on the held-out set, promote only if no worse."""
    from learning.registry import RegistryError
    from learning.retrain import LearningError, retrain
    from learning.runlock import RetrainBusy
    from nlu.toolchain import EngineError

    settings, sessions = _sessions()
    engine = _engine(settings)
    try:
        with console.status("…") as status:
            outcome = retrain(
                settings, engine, sessions, actor=_labeller(by).name, margin=margin, promote=promote, export=export,
                progress=lambda line: status.update(line[:120]),
            )
    except (LearningError, RetrainBusy, RegistryError, EngineError, ValueError) as exc:
        err.print(f"[red]✗[/] {escape(str(exc))}")
        raise typer.Exit(1) from exc
    if outcome.exported is not None:
        console.print(f"导出 / exported: {outcome.exported.plan.written} 条例句 examples, "
                      f"{len(outcome.exported.plan.conflicts)} 冲突未写入 / conflicts left out")
    if outcome.gate is None:
        console.print(f"[green]✓[/] {outcome.version} 已在线上 / is already live: nothing to do")
        return
    console.print(outcome.gate)
    for reason in outcome.gate.reasons:
        console.print(f"  • {reason}")
    if outcome.promoted:
        where = "Rasa 已切换 / the running Rasa switched" if outcome.switched else (
            "Rasa 未运行，下次 `parceldesk run` 使用 / Rasa is not running; `parceldesk run` will serve it"
        )
        console.print(f"[green]✓[/] 已上线 / promoted {outcome.version} ({where})")
    elif outcome.gate.promote:
        console.print(f"候选已登记 / candidate registered: {outcome.version} (`parceldesk learn promote` to go live)")
    else:
        console.print(f"[red]✗[/] 已拒绝 / rejected {outcome.version}; 线上模型不变 / the live model stays")
        raise typer.Exit(2)


@learn_app.command("promote")
def learn_promote(
    version: Annotated[str, typer.Argument(help="模型版本 / model version (see `parceldesk learn models`)")],
    by: Annotated[str | None, typer.Option("--by", help="操作人 / who promotes (default: login name)")] = None,
) -> None:
    """Make a registered model live by hand (e.g. a candidate gated with --no-promote)."""
    from learning.registry import RegistryError
    from learning.retrain import LearningError, promote_version

    settings, sessions = _sessions()
    try:
        switched = promote_version(settings, sessions, version, actor=_labeller(by).name)
    except (LearningError, RegistryError) as exc:
        err.print(f"[red]✗[/] {escape(str(exc))}")
        raise typer.Exit(1) from exc
    console.print(f"[green]✓[/] 已上线 / promoted {version}" + (" (Rasa 已切换 / Rasa switched)" if switched else ""))


@learn_app.command("rollback")
def learn_rollback(
    by: Annotated[str | None, typer.Option("--by", help="操作人 / who rolls back (default: login name)")] = None,
) -> None:
    """Take the live model out of service and bring back the previous one (in the running Rasa too)."""
    from learning.registry import RegistryError
    from learning.retrain import LearningError, rollback

    settings, sessions = _sessions()
    try:
        outcome = rollback(settings, sessions, actor=_labeller(by).name)
    except (LearningError, RegistryError) as exc:
        err.print(f"[red]✗[/] {escape(str(exc))}")
        raise typer.Exit(1) from exc
    console.print(
        f"[green]✓[/] 已回滚 / rolled back: {outcome.live} 在线 / live, {outcome.replaced} 下线 / retired"
        + (" (Rasa 已切换 / Rasa switched)" if outcome.switched else "")
    )
