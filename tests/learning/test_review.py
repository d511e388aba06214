"""The review queue: candidates ranked and grouped, labels with corrections and conflicts, batch files, /tag."""

from __future__ import annotations

import itertools
import random
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.settings import PROJECT_ROOT
from crm import chatlog, escalations
from crm.escalations import QueuePolicy, Reason
from crm.models import ChatMessage, StaffRole, TrainingLabel
from crm.staff import register_staff
from learning import review
from learning.review import Labeller, ReviewError, ReviewGroup, ReviewPolicy
from nlu.intents import labelling_intents

VALID = labelling_intents(PROJECT_ROOT)
POLICY = ReviewPolicy(low_confidence=0.7, similarity=0.88)
ADA = Labeller("Ada", 555)
_updates = itertools.count(random.randint(10**9, 2 * 10**9))
_chats = itertools.count(random.randint(10**7, 9 * 10**7))


def new_chat() -> int:
    """A chat id no other test uses (the test database is shared by the session)."""
    return next(_chats)


def say(
    session: Session, text: str, *, chat: int | None = None, intent: str | None = "track_shipment",
    confidence: float | None = 0.95, fell_back: bool = False, user: int | None = None,
) -> int:
    """Log a customer text as the bot does, with how the model understood it; returns its row id."""
    chat = chat if chat is not None else new_chat()
    record = chatlog.record_inbound(
        session, bot_id=77, update_id=next(_updates), chat_id=chat, telegram_user_id=user or chat, kind="text",
        text=text,
    )
    chatlog.record_understanding(session, record.message_id, intent=intent, confidence=confidence,
                                 fell_back=fell_back, model_version="m1")
    return record.message_id


def mine(groups: list[ReviewGroup], ids: set[int]) -> list[ReviewGroup]:
    """The groups holding any of this test's messages (other tests may have left rows)."""
    return [g for g in groups if ids & set(g.message_ids)]


def test_queue_groups_near_duplicates_and_ranks_most_frequent_first(session: Session) -> None:
    """Case, spaces, punctuation and waybill numbers are ignored; near-duplicates merge; counts rank."""
    tag = f"{random.randint(0, 10**6)}"  # keeps this test's texts apart from other tests' rows
    same = [
        say(session, f"包裹 {tag} 怎么还没到啊", intent="nlu_fallback", confidence=0.3, fell_back=True),
        say(session, f"包裹{tag}怎么还没到啊？！", intent="track_shipment", confidence=0.45, fell_back=True),
        say(session, f"包裹 {tag}  怎么还没到啊。", intent="track_shipment", confidence=0.5),
    ]
    near = [
        say(session, f"where is my parcel XJ202611180042 please {tag}", confidence=0.6),
        say(session, f"Where's my parcel XJ202611170007 please {tag}", confidence=0.55),
    ]
    lost = say(session, "我的快递丢了", intent="complain_loss", confidence=0.6)
    arrived = say(session, "我的快递到了", intent="thank", confidence=0.65)
    confident = say(session, f"hello there {tag}", intent="greet", confidence=0.99)
    ids = {*same, *near, lost, arrived, confident}

    groups = mine(review.review_queue(session, POLICY), ids)
    assert [g.count for g in groups][:2] == [3, 2]
    assert set(groups[0].message_ids) == set(same)
    assert set(groups[1].message_ids) == set(near)
    assert groups[0].reasons == [review.FALLBACK, review.LOW_CONFIDENCE]
    assert groups[0].source == "fallbacks" and groups[0].guess == "track_shipment"
    # Short texts one character apart mean different things: never merged.
    singles = [g for g in groups if g.count == 1]
    assert {g.message_ids[0] for g in singles} == {lost, arrived}
    # Confident answers are not candidates, unless everything is asked for.
    assert confident not in {i for g in groups for i in g.message_ids}
    everything = mine(review.review_queue(session, ReviewPolicy(include_all=True)), {confident})
    assert any(confident in g.message_ids and g.source == "review" for g in everything)


def test_escalated_and_agent_tagged_messages_rank_by_reason(session: Session) -> None:
    """A conversation that went to a human marks its recent messages; agent tags become the guess."""
    chat = new_chat()
    first = say(session, "我要投诉你们快递员态度太差了", chat=chat, intent="complain_courier", confidence=0.92)
    second = say(session, "叫你们领导来跟我说", chat=chat, intent="request_human", confidence=0.88)
    placement = escalations.open_escalation(session, chat, Reason.REQUEST_HUMAN, policy=QueuePolicy())
    rows = session.scalars(select(ChatMessage).where(ChatMessage.id.in_([first, second]))).all()
    assert {row.escalation_id for row in rows} == {placement.escalation_id}

    other = say(session, "the courier threw my box on the floor", intent="complain_damage", confidence=0.91)
    session.get(ChatMessage, other).agent_intent = "complain_courier"
    groups = mine(review.review_queue(session, POLICY), {first, second, other})
    # Equal counts: the strongest reason first, then the least confident.
    assert [g.message_ids for g in groups] == [[other], [second], [first]]
    tagged = groups[0]
    assert tagged.reasons == [review.AGENT_TAGGED] and tagged.source == "agent_tags"
    assert tagged.guess == "complain_courier"
    assert tagged.likely_intents(VALID)[:2] == ["complain_courier", "complain_damage"]
    assert {g.source for g in groups[1:]} == {"escalations"}


def test_staff_messages_and_group_chats_are_not_data(session: Session) -> None:
    """What staff type to the bot, and group chats, never enter the queue."""
    register_staff(session, 4242001, "Alice", StaffRole.AGENT)
    by_staff = say(session, "where is the handover", user=4242001, fell_back=True, confidence=0.2)
    in_group = say(session, "claim please", chat=-100123, fell_back=True, confidence=0.2)
    assert mine(review.review_queue(session, POLICY), {by_staff, in_group}) == []


def test_one_label_per_group_and_corrections_supersede(session: Session) -> None:
    """Labelling a group labels all members; later copies are covered; relabelling keeps history."""
    tag = f"{random.randint(0, 10**6)}"
    ids = [say(session, f"运费 {tag} 怎么算", intent="faq/shipping_fee", confidence=0.4) for _ in range(2)]
    group = mine(review.review_queue(session, POLICY), set(ids))[0]
    outcome = review.label_group(session, group, "faq/shipping_fee", labeller=ADA, valid=VALID)
    assert (outcome.labelled, outcome.source, outcome.corrected) == (2, "low_confidence", 0)
    labels = session.scalars(select(TrainingLabel).where(TrainingLabel.message_id.in_(ids))).all()
    assert {(label.intent, label.labelled_by, label.labelled_by_telegram_id) for label in labels} == {
        ("faq/shipping_fee", "Ada", 555)
    }
    # The same text again later adds nothing to label.
    again = say(session, f"运费{tag}怎么算？", intent="faq/shipping_fee", confidence=0.4)
    assert mine(review.review_queue(session, POLICY), {again, *ids}) == []
    # A correction supersedes; the old rows stay, inactive.
    corrected = review.label_messages(session, ids, "faq/insurance", source="review", labeller=ADA, valid=VALID)
    assert corrected.corrected == 2
    rows = session.scalars(select(TrainingLabel).where(TrainingLabel.message_id.in_(ids))).all()
    expected = [("faq/insurance", True)] * 2 + [("faq/shipping_fee", False)] * 2
    assert sorted((r.intent, r.active) for r in rows) == expected
    with pytest.raises(ReviewError):
        review.label_group(session, group, "faq", labeller=ADA, valid=VALID)  # the parent is not a label


def test_a_text_labelled_two_ways_is_a_conflict(session: Session) -> None:
    """Two messages with the same text and different labels are reported, with their counts."""
    tag = f"{random.randint(0, 10**6)}"
    a = say(session, f"能不能 {tag} 明天送")
    b = say(session, f"能不能{tag}明天送？")
    review.label_messages(session, [a], "change_delivery", source="review", labeller=ADA, valid=VALID)
    review.label_messages(session, [b], "schedule_pickup", source="review", labeller=ADA, valid=VALID)
    found = [c for c in review.conflicts(session) if a in c.message_ids]
    assert len(found) == 1 and found[0].intents == {"change_delivery": 1, "schedule_pickup": 1}


def test_batch_file_labels_groups_and_reports_every_other_line(session: Session, tmp_path: Path) -> None:
    """CSV lines label the group their text is in; unknown intents, unknown texts and conflicts change nothing."""
    tag = f"{random.randint(0, 10**6)}"
    fee = [say(session, f"寄{tag}到北京多少钱", intent="faq/delivery_time", confidence=0.95) for _ in range(2)]
    wrong = say(session, f"box {tag} arrived crushed", intent="complain_delay", confidence=0.9)
    twice = say(session, f"parcel {tag} never came", intent="track_shipment", confidence=0.9)
    done = say(session, f"ok {tag} thanks a lot", intent="thank", confidence=0.9)
    review.label_messages(session, [done], "thank", source="review", labeller=ADA, valid=VALID)
    batch = tmp_path / "labels.csv"
    batch.write_text(
        "text,intent\n"
        f"寄{tag}到北京多少钱？,faq/shipping_fee\n"
        f"box {tag} arrived crushed,complain_damage\n"
        f"something {tag} nobody wrote,greet\n"
        f"parcel {tag} never came,complain_loss\n"
        f"Parcel {tag} never came!,track_shipment\n"
        f"ok {tag} thanks a lot,goodbye\n"
        f"hello {tag},no_such_intent\n",
        encoding="utf-8",
    )
    lines = review.read_batch(batch)
    report = review.apply_batch(session, lines, labeller=ADA, valid=VALID, policy=POLICY)
    assert [(line, intent, count) for line, _, intent, count in report.labelled] == [
        (2, "faq/shipping_fee", 2), (3, "complain_damage", 1)
    ]
    assert [line for line, _ in report.not_found] == [4]
    assert sorted(line for line, _, _ in report.conflicts) == [5, 6, 7]
    assert [line for line, _, _ in report.unknown_intent] == [8]
    intents = dict(session.execute(
        select(TrainingLabel.message_id, TrainingLabel.intent).where(TrainingLabel.active.is_(True),
                                                                     TrainingLabel.message_id.in_([*fee, wrong, twice]))
    ).all())
    assert intents == {fee[0]: "faq/shipping_fee", fee[1]: "faq/shipping_fee", wrong: "complain_damage"}

    # --replace turns the conflict with an earlier label into a correction.
    again = review.apply_batch(session, [review.BatchLine(1, f"ok {tag} thanks a lot", "goodbye")], labeller=ADA,
                               valid=VALID, policy=POLICY, replace=True)
    assert [intent for _, _, intent, _ in again.labelled] == ["goodbye"]


def test_batch_yaml_format(tmp_path: Path) -> None:
    """A YAML list of {text, intent} is read like the CSV."""
    batch = tmp_path / "labels.yml"
    batch.write_text("- text: 我的快递到哪了\n  intent: track_shipment\n- {text: hi, intent: greet}\n",
                     encoding="utf-8")
    assert [(b.text, b.intent) for b in review.read_batch(batch)] == [("我的快递到哪了", "track_shipment"),
                                                                       ("hi", "greet")]
    broken = tmp_path / "broken.yml"
    broken.write_text("- text: no intent here\n", encoding="utf-8")
    with pytest.raises(ValueError):
        review.read_batch(broken)


def test_agent_tags_the_customers_latest_message_during_and_after_a_takeover(session: Session) -> None:
    """/tag lands on the latest customer text of the agent's conversation, also once it is resolved."""
    agent_id = random.randint(10**8, 2 * 10**8)
    agent = register_staff(session, agent_id, "Bob", StaffRole.AGENT)
    chat = new_chat()
    say(session, "我的东西呢", chat=chat, intent="track_shipment", confidence=0.5)
    policy = QueuePolicy()
    placement = escalations.open_escalation(session, chat, Reason.REQUEST_HUMAN, policy=policy)
    escalations.claim(session, placement.escalation_id, agent_id, policy=policy)
    # Written while the agent had the chat (never seen by Rasa): linked by the relay.
    latest = say(session, "就是那个丢了的箱子，电话13800138000", chat=chat, intent=None, confidence=None)
    chatlog.link_to_escalation(session, latest, placement.escalation_id)

    with pytest.raises(ReviewError, match="review_unknown_intent"):
        review.tag_latest_message(session, agent, "lost_box", valid=VALID)
    outcome = review.tag_latest_message(session, agent, "complain_loss", valid=VALID)
    assert outcome.message_id == latest and "13800138000" not in outcome.preview
    assert session.get(ChatMessage, latest).agent_intent == "complain_loss"

    escalations.resolve(session, placement.escalation_id, agent)
    after = review.tag_latest_message(session, agent, "complain_damage", valid=VALID)
    assert after.message_id == latest and session.get(ChatMessage, latest).agent_tagged_by_id == agent.id

    idle = register_staff(session, agent_id + 1, "Cy", StaffRole.AGENT)
    with pytest.raises(ReviewError, match="staff_no_conversation"):
        review.tag_latest_message(session, idle, "greet", valid=VALID)
