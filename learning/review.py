"""The learning loop's review queue: which logged customer messages to label first, grouped, and their labels.

Candidates are inbound customer texts the model struggled with: it fell back, was unsure (confidence below a
threshold), the conversation went to a human, or an agent tagged the message. Near-duplicates are grouped
(case, spaces, punctuation, digits and waybill numbers ignored, then a cheap difflib similarity) and groups are
ranked most frequent first. One label applies to every message of a group. Labels are rows in
`training_labels` (who, when, why, which intent); a correction supersedes the old row instead of deleting it.
A text with active labels of two different intents is a conflict: the export reports it and writes neither.
"""

from __future__ import annotations

import csv
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from difflib import SequenceMatcher
from pathlib import Path

import yaml
from sqlalchemy import ColumnElement, and_, exists, or_, select
from sqlalchemy.orm import Session

from core.clock import utcnow
from core.settings import Settings
from crm import escalations
from crm.models import ChatMessage, Direction, Escalation, EscalationStatus, Staff, TrainingLabel
from crm.waybills import candidate_spans
from learning.masking import mask_personal_data

# Why a message is worth labelling, strongest first (the strongest reason of a group decides its source).
AGENT_TAGGED = "agent_tagged"
FALLBACK = "fallback"
ESCALATED = "escalated"
LOW_CONFIDENCE = "low_confidence"
REASON_WEIGHT = {AGENT_TAGGED: 4, FALLBACK: 3, ESCALATED: 2, LOW_CONFIDENCE: 1}
# The export writes one file per source: nlu/data/learned/<source>.yml.
SOURCE_OF_REASON = {
    AGENT_TAGGED: "agent_tags",
    FALLBACK: "fallbacks",
    ESCALATED: "escalations",
    LOW_CONFIDENCE: "low_confidence",
}
REVIEW_SOURCE = "review"  # labelled although the model had no visible trouble with it (e.g. confidently wrong)
SOURCES = (*SOURCE_OF_REASON.values(), REVIEW_SOURCE)

# Below this many characters two keys must be identical to be grouped: "我的快递丢了" and "我的快递到了"
# differ by one character and mean different things.
MIN_FUZZY_LENGTH = 6
_NON_WORD = re.compile(r"[\s\W_]+")
_DIGITS = re.compile(r"[0-9]+")
_WAYBILL_MARK = "ǂ"  # a letter (so \W does not strip it) that no customer types


class ReviewError(Exception):
    """A labelling action that cannot be done; the message is a key for the bot's texts."""


@dataclass(frozen=True)
class ReviewPolicy:
    """What counts as worth labelling and how alike two texts must be to share a label."""

    low_confidence: float = 0.7
    similarity: float = 0.88
    # Every unlabelled customer text, not only those the model struggled with (confidently wrong answers).
    include_all: bool = False

    @classmethod
    def from_settings(cls, settings: Settings, *, include_all: bool = False) -> ReviewPolicy:
        """What the learning loop's review queue counts as worth labelling, as configured."""
        return cls(settings.learn_low_confidence, settings.learn_similarity, include_all=include_all)


@dataclass(frozen=True)
class Labeller:
    """Who labels: a staff member from Telegram, or the command line."""

    name: str
    telegram_user_id: int | None = None


@dataclass(frozen=True)
class Candidate:
    """One logged customer message waiting for a label."""

    message_id: int
    text: str
    masked: str
    intent: str | None
    confidence: float | None
    agent_intent: str | None
    conversation_tag: str | None
    reasons: frozenset[str]
    key: str


@dataclass(frozen=True)
class ReviewGroup:
    """Near-identical candidates that get one label together."""

    members: tuple[Candidate, ...]

    @property
    def ref(self) -> int:
        """A stable handle on the group: the id of its oldest message (used in Telegram buttons)."""
        return min(m.message_id for m in self.members)

    @property
    def count(self) -> int:
        """How many messages the group holds."""
        return len(self.members)

    @property
    def message_ids(self) -> list[int]:
        """The ids of the group's messages."""
        return sorted(m.message_id for m in self.members)

    @property
    def reasons(self) -> list[str]:
        """Why the group is in the queue, strongest reason first."""
        found = {reason for m in self.members for reason in m.reasons}
        return sorted(found, key=lambda r: -REASON_WEIGHT[r])

    @property
    def source(self) -> str:
        """The export file its labels go to (the strongest reason, or plain review)."""
        reasons = self.reasons
        return SOURCE_OF_REASON[reasons[0]] if reasons else REVIEW_SOURCE

    @property
    def variants(self) -> list[tuple[str, int]]:
        """The group's distinct masked texts with their counts, most frequent first."""
        return Counter(m.masked for m in self.members).most_common()

    @property
    def representative(self) -> str:
        """The group's most frequent masked text."""
        return self.variants[0][0]

    @property
    def guess(self) -> str | None:
        """The most likely label: what agents tagged, else what the model said, else the conversation's tag."""
        for values in (
            [m.agent_intent for m in self.members if m.agent_intent],
            [m.intent for m in self.members if m.intent],
            [m.conversation_tag for m in self.members if m.conversation_tag],
        ):
            if values:
                return Counter(values).most_common(1)[0][0]
        return None

    @property
    def guess_confidence(self) -> float | None:
        """The model's mean confidence over the members it gave the guessed intent (None if it never did)."""
        values = [m.confidence for m in self.members if m.intent == self.guess and m.confidence is not None]
        return sum(values) / len(values) if values else None

    @property
    def mean_confidence(self) -> float:
        """The model's mean confidence over the group (0 where it had none): less sure ranks first on a tie."""
        return sum(m.confidence or 0.0 for m in self.members) / len(self.members)

    def likely_intents(self, valid: Sequence[str], limit: int = 4) -> list[str]:
        """Valid intents worth offering first: the guess, then every other intent agents or the model named."""
        seen: Counter[str] = Counter()
        for m in self.members:
            for name in (m.agent_intent, m.intent, m.conversation_tag):
                if name:
                    seen[name] += 1
        ordered = ([self.guess] if self.guess else []) + [name for name, _ in seen.most_common()]
        result: list[str] = []
        for name in ordered:
            if name in valid and name not in result:
                result.append(name)
        return result[:limit]


@dataclass(frozen=True)
class LabelOutcome:
    """What labelling a group did."""

    intent: str
    source: str
    labelled: int
    corrected: int


@dataclass(frozen=True)
class TagOutcome:
    """The message an agent's /tag landed on."""

    message_id: int
    escalation_id: int
    preview: str
    intent: str


@dataclass(frozen=True)
class Conflict:
    """One text labelled two (or more) ways."""

    text: str
    intents: dict[str, int]
    message_ids: tuple[int, ...] = ()


@dataclass(frozen=True)
class LabelledText:
    """A labelled text, masked, ready for the export (count = how many messages carry it)."""

    text: str
    intent: str
    source: str
    count: int


@dataclass(frozen=True)
class BatchLine:
    """One `text,intent` line of a batch file."""

    line: int
    text: str
    intent: str


@dataclass
class BatchReport:
    """What a batch file did, line by line (texts masked)."""

    labelled: list[tuple[int, str, str, int]] = field(default_factory=list)
    already: list[tuple[int, str, str]] = field(default_factory=list)
    unknown_intent: list[tuple[int, str, str]] = field(default_factory=list)
    not_found: list[tuple[int, str]] = field(default_factory=list)
    conflicts: list[tuple[int, str, str]] = field(default_factory=list)


# ---------------------------------------------------------------------------------------------- keys


def text_key(text: str) -> str:
    """The identity of a text for duplicates and conflicts: masked, lower-case, no spaces or punctuation."""
    return _NON_WORD.sub("", mask_personal_data(text).lower())


def group_key(text: str) -> str:
    """The identity of a text for grouping: like text_key, with waybill numbers and other digits ignored too."""
    masked = mask_personal_data(text)
    parts: list[str] = []
    position = 0
    for start, end in candidate_spans(masked):
        if start < position:
            continue
        parts.extend([masked[position:start], _WAYBILL_MARK])
        position = end
    parts.append(masked[position:])
    return _NON_WORD.sub("", _DIGITS.sub("0", "".join(parts).lower()))


def similar(a: str, b: str, threshold: float) -> bool:
    """Whether two group keys are near-duplicates (difflib ratio, cheap upper bounds first)."""
    if a == b:
        return True
    if min(len(a), len(b)) < MIN_FUZZY_LENGTH:
        return False
    if 2 * min(len(a), len(b)) / (len(a) + len(b)) < threshold:
        return False
    matcher = SequenceMatcher(None, a, b, autojunk=False)
    return matcher.real_quick_ratio() >= threshold and matcher.quick_ratio() >= threshold and (
        matcher.ratio() >= threshold
    )


# ---------------------------------------------------------------------------------------------- the queue


def _active_label() -> ColumnElement[bool]:
    """SQL: the message has an active label."""
    return exists().where(TrainingLabel.message_id == ChatMessage.id, TrainingLabel.active.is_(True))


def _customer_texts() -> list[ColumnElement[bool]]:
    """SQL conditions: inbound texts customers wrote in private chats (staff talking to the bot are not data)."""
    staff_ids = select(Staff.telegram_user_id)
    return [
        ChatMessage.direction == Direction.INBOUND,
        ChatMessage.kind == "text",
        ChatMessage.text.is_not(None),
        ChatMessage.chat_id > 0,
        or_(ChatMessage.telegram_user_id.is_(None), ChatMessage.telegram_user_id.not_in(staff_ids)),
    ]


def labelled_keys(session: Session) -> dict[str, set[str]]:
    """text_key -> the intents of its active labels."""
    rows = session.execute(
        select(ChatMessage.text, TrainingLabel.intent)
        .join(TrainingLabel, TrainingLabel.message_id == ChatMessage.id)
        .where(TrainingLabel.active.is_(True))
    ).all()
    keys: dict[str, set[str]] = {}
    for body, intent in rows:
        keys.setdefault(text_key(body or ""), set()).add(intent)
    return keys


def candidates(session: Session, policy: ReviewPolicy) -> list[Candidate]:
    """Unlabelled customer texts worth labelling (every one with include_all), excluding texts already labelled."""
    conditions: list[ColumnElement[bool]] = [*_customer_texts(), ~_active_label()]
    trouble = or_(
        ChatMessage.fell_back.is_(True),
        ChatMessage.confidence < policy.low_confidence,
        ChatMessage.escalation_id.is_not(None),
        ChatMessage.agent_intent.is_not(None),
    )
    if not policy.include_all:
        conditions.append(trouble)
    rows = session.execute(
        select(ChatMessage, Escalation.tagged_intent)
        .outerjoin(Escalation, ChatMessage.escalation_id == Escalation.id)
        .where(and_(*conditions))
        .order_by(ChatMessage.id)
    ).all()
    covered = labelled_keys(session)
    found: list[Candidate] = []
    for message, conversation_tag in rows:
        body = (message.text or "").strip()
        if not body or text_key(body) in covered:
            continue  # a new message saying something already labelled adds nothing
        reasons = set()
        if message.agent_intent:
            reasons.add(AGENT_TAGGED)
        if message.fell_back:
            reasons.add(FALLBACK)
        if message.escalation_id is not None:
            reasons.add(ESCALATED)
        if message.confidence is not None and message.confidence < policy.low_confidence:
            reasons.add(LOW_CONFIDENCE)
        found.append(
            Candidate(
                message_id=message.id,
                text=body,
                masked=mask_personal_data(body),
                intent=message.intent,
                confidence=message.confidence,
                agent_intent=message.agent_intent,
                conversation_tag=conversation_tag,
                reasons=frozenset(reasons),
                key=group_key(body),
            )
        )
    return found


def group_candidates(found: Iterable[Candidate], similarity: float) -> list[ReviewGroup]:
    """Group identical keys, then merge near-duplicate groups into the most frequent one they resemble."""
    exact: dict[str, list[Candidate]] = {}
    for candidate in found:
        exact.setdefault(candidate.key, []).append(candidate)
    ordered = sorted(exact.items(), key=lambda item: (-len(item[1]), min(c.message_id for c in item[1])))
    clusters: list[tuple[str, list[Candidate]]] = []
    for key, members in ordered:
        for seed, cluster in clusters:
            if similar(key, seed, similarity):
                cluster.extend(members)
                break
        else:
            clusters.append((key, list(members)))
    return [ReviewGroup(tuple(sorted(members, key=lambda c: c.message_id))) for _, members in clusters]


def rank(groups: Iterable[ReviewGroup]) -> list[ReviewGroup]:
    """Most frequent first; then the strongest reason, the least confident, the oldest."""
    return sorted(
        groups,
        key=lambda g: (-g.count, -max((REASON_WEIGHT[r] for r in g.reasons), default=0), g.mean_confidence, g.ref),
    )


def review_queue(session: Session, policy: ReviewPolicy) -> list[ReviewGroup]:
    """The ranked, grouped review queue."""
    return rank(group_candidates(candidates(session, policy), policy.similarity))


def find_group(session: Session, policy: ReviewPolicy, ref: int) -> ReviewGroup | None:
    """The current group holding a message (None when it was labelled meanwhile)."""
    for group in review_queue(session, policy):
        if ref in group.message_ids:
            return group
    return None


# ---------------------------------------------------------------------------------------------- labels


def check_label(intent: str, valid: Sequence[str]) -> str:
    """A valid label name, or ReviewError."""
    if intent not in valid:
        raise ReviewError("review_unknown_intent")
    return intent


def label_messages(
    session: Session, message_ids: Iterable[int], intent: str, *, source: str, labeller: Labeller,
    valid: Sequence[str], now: datetime | None = None, keep_source: bool = False,
) -> LabelOutcome:
    """Label messages with an intent; an earlier active label of the same message is superseded (a correction).

    With keep_source, a corrected message stays in the source of its earlier label (why it was reviewed).
    """
    check_label(intent, valid)
    if source not in SOURCES:
        raise ValueError(f"unknown label source {source!r}")
    now = now or utcnow()
    ids = sorted(set(message_ids))
    corrected = 0
    previous = session.scalars(
        select(TrainingLabel).where(TrainingLabel.message_id.in_(ids), TrainingLabel.active.is_(True))
    ).all() if ids else []
    earlier_source: dict[int, str] = {}
    for label in previous:
        label.active = False
        label.superseded_at = now
        corrected += label.intent != intent
        earlier_source[label.message_id] = label.source
    for message_id in ids:
        chosen = earlier_source.get(message_id, source) if keep_source else source
        session.add(
            TrainingLabel(
                message_id=message_id, intent=intent, source=chosen, active=True, labelled_by=labeller.name,
                labelled_by_telegram_id=labeller.telegram_user_id, created_at=now,
            )
        )
    session.flush()
    return LabelOutcome(intent, source, len(ids), corrected)


def label_group(
    session: Session, group: ReviewGroup, intent: str, *, labeller: Labeller, valid: Sequence[str],
    now: datetime | None = None,
) -> LabelOutcome:
    """One label for every message of a group."""
    return label_messages(session, group.message_ids, intent, source=group.source, labeller=labeller,
                          valid=valid, now=now)


def conflicts(session: Session) -> list[Conflict]:
    """Texts whose messages carry active labels of different intents."""
    rows = session.execute(
        select(ChatMessage.id, ChatMessage.text, TrainingLabel.intent)
        .join(TrainingLabel, TrainingLabel.message_id == ChatMessage.id)
        .where(TrainingLabel.active.is_(True))
        .order_by(ChatMessage.id)
    ).all()
    by_key: dict[str, list[tuple[int, str, str]]] = {}
    for message_id, body, intent in rows:
        by_key.setdefault(text_key(body or ""), []).append((message_id, mask_personal_data(body or ""), intent))
    found: list[Conflict] = []
    for entries in by_key.values():
        intents = Counter(intent for _, _, intent in entries)
        if len(intents) > 1:
            found.append(Conflict(entries[0][1], dict(intents), tuple(m for m, _, _ in entries)))
    return found


def labelled_texts(session: Session) -> list[LabelledText]:
    """Every actively labelled text, masked, per (text, intent, source), with how many messages carry it."""
    rows = session.execute(
        select(ChatMessage.text, TrainingLabel.intent, TrainingLabel.source)
        .join(TrainingLabel, TrainingLabel.message_id == ChatMessage.id)
        .where(TrainingLabel.active.is_(True))
        .order_by(TrainingLabel.id)
    ).all()
    counts = Counter((mask_personal_data((body or "").strip()), intent, source) for body, intent, source in rows)
    return [LabelledText(text, intent, source, count) for (text, intent, source), count in counts.items() if text]


# ---------------------------------------------------------------------------------------------- batch files


def read_batch(path: Path) -> list[BatchLine]:
    """`text,intent` pairs from a CSV file (header optional) or a YAML list of {text, intent}."""
    if path.suffix.lower() in (".yml", ".yaml"):
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or []
        if not isinstance(document, list):
            raise ValueError(f"{path}: expected a list of {{text: …, intent: …}} entries")
        lines = []
        for index, item in enumerate(document, start=1):
            if not isinstance(item, dict) or "text" not in item or "intent" not in item:
                raise ValueError(f"{path}: entry {index} needs a text and an intent")
            lines.append(BatchLine(index, str(item["text"]).strip(), str(item["intent"]).strip()))
        return lines
    lines = []
    with path.open(encoding="utf-8-sig", newline="") as handle:
        for number, row in enumerate(csv.reader(handle), start=1):
            if not row or not "".join(row).strip():
                continue
            if number == 1 and [cell.strip().lower() for cell in row[:2]] == ["text", "intent"]:
                continue
            if len(row) < 2:
                raise ValueError(f"{path}:{number}: expected text,intent")
            lines.append(BatchLine(number, row[0].strip(), row[1].strip()))
    return lines


def apply_batch(
    session: Session, lines: Sequence[BatchLine], *, labeller: Labeller, valid: Sequence[str], policy: ReviewPolicy,
    replace: bool = False, now: datetime | None = None,
) -> BatchReport:
    """Label logged messages from text,intent lines: each line labels the group its text belongs to.

    A text given two intents in the file, or already labelled otherwise (unless `replace`), is a conflict
    and changes nothing. Texts that are not in the log are reported, not invented.
    """
    report = BatchReport()
    wanted: dict[str, list[BatchLine]] = {}
    for line in lines:
        if line.intent not in valid:
            report.unknown_intent.append((line.line, mask_personal_data(line.text), line.intent))
            continue
        wanted.setdefault(text_key(line.text), []).append(line)
    accepted: list[tuple[str, BatchLine]] = []
    for key, entries in wanted.items():
        if len({e.intent for e in entries}) > 1:
            names = ", ".join(sorted({e.intent for e in entries}))
            report.conflicts.extend((e.line, mask_personal_data(e.text), names) for e in entries)
            continue
        accepted.append((key, entries[0]))

    groups = review_queue(session, ReviewPolicy(policy.low_confidence, policy.similarity, include_all=True))
    group_of: dict[str, ReviewGroup] = {}
    for group in groups:
        for member in group.members:
            group_of.setdefault(text_key(member.text), group)
    # Two lines landing in one group with different intents: each labels only its own exact text.
    intents_per_group: dict[int, set[str]] = {}
    for key, line in accepted:
        if key in group_of:
            intents_per_group.setdefault(group_of[key].ref, set()).add(line.intent)
    labelled_now: set[int] = set()
    existing = labelled_keys(session)
    for key, line in accepted:
        masked = mask_personal_data(line.text)
        previous = existing.get(key, set())
        if previous and previous != {line.intent} and not replace:
            report.conflicts.append((line.line, masked, ", ".join(sorted(previous | {line.intent}))))
            continue
        ids: list[int] = []
        source = REVIEW_SOURCE
        group = group_of.get(key)
        if group is not None:
            split = len(intents_per_group[group.ref]) > 1
            members = [m for m in group.members if not split or text_key(m.text) == key]
            ids = [m.message_id for m in members if m.message_id not in labelled_now]
            source = group.source
        if previous and previous != {line.intent}:
            ids += _labelled_message_ids(session, key)
        if not ids:
            if previous:
                report.already.append((line.line, masked, line.intent))
            else:
                report.not_found.append((line.line, masked))
            continue
        outcome = label_messages(session, ids, line.intent, source=source, labeller=labeller, valid=valid, now=now,
                                 keep_source=True)
        labelled_now.update(ids)
        report.labelled.append((line.line, masked, line.intent, outcome.labelled))
    return report


def _labelled_message_ids(session: Session, key: str) -> list[int]:
    """Messages with an active label whose text has this key (to relabel them with --replace)."""
    rows = session.execute(
        select(ChatMessage.id, ChatMessage.text)
        .join(TrainingLabel, TrainingLabel.message_id == ChatMessage.id)
        .where(TrainingLabel.active.is_(True))
    ).all()
    return [message_id for message_id, body in rows if text_key(body or "") == key]


# ---------------------------------------------------------------------------------------------- agent tags


def tagged_conversation(session: Session, member: Staff) -> Escalation | None:
    """The conversation an agent's /tag is about: the one they handle now, else the last one they resolved."""
    current = escalations.current_for_agent(session, member)
    if current is not None:
        return current
    return session.scalars(
        select(Escalation)
        .where(Escalation.status == EscalationStatus.RESOLVED, Escalation.resolved_by_id == member.id)
        .order_by(Escalation.resolved_at.desc(), Escalation.id.desc())
        .limit(1)
    ).one_or_none()


def tag_latest_message(
    session: Session, member: Staff, intent: str, *, valid: Sequence[str], now: datetime | None = None
) -> TagOutcome:
    """Tag the customer's latest text in the agent's conversation with the intent they really meant."""
    check_label(intent, valid)
    escalation = tagged_conversation(session, member)
    if escalation is None:
        raise ReviewError("staff_no_conversation")
    base = [
        ChatMessage.chat_id == escalation.chat_id,
        ChatMessage.direction == Direction.INBOUND,
        ChatMessage.kind == "text",
        ChatMessage.text.is_not(None),
    ]
    message = session.scalars(
        select(ChatMessage).where(*base, ChatMessage.escalation_id == escalation.id)
        .order_by(ChatMessage.id.desc()).limit(1)
    ).one_or_none()
    if message is None:
        # Conversations queued before the log linked messages to escalations: the chat's latest text.
        message = session.scalars(
            select(ChatMessage).where(*base).order_by(ChatMessage.id.desc()).limit(1)
        ).one_or_none()
    if message is None:
        raise ReviewError("staff_tag_no_message")
    message.agent_intent = intent
    message.agent_tagged_by_id = member.id
    message.agent_tagged_at = now or utcnow()
    if message.escalation_id is None:
        message.escalation_id = escalation.id
    preview = mask_personal_data(message.text or "")
    return TagOutcome(message.id, escalation.id, preview[:80] + ("…" if len(preview) > 80 else ""), intent)
