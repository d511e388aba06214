"""Export: labelled messages become valid, masked, deduplicated Rasa NLU data; conflicts and held-out texts left out."""

from __future__ import annotations

import itertools
import random
from pathlib import Path

import yaml
from sqlalchemy.orm import Session

from core.settings import PROJECT_ROOT
from crm import chatlog
from learning import review
from learning.export import (
    ExportPlan,
    annotate,
    entity_patterns,
    example_key,
    export_labels,
    export_paths,
    plan_export,
    write_export,
)
from learning.review import LabelledText, Labeller
from nlu.examples import load_examples
from nlu.intents import labelling_intents

HAND_WRITTEN, HELD_OUT, _LEARNED, REGEX = export_paths(PROJECT_ROOT)
PATTERNS = entity_patterns(REGEX)
_updates = itertools.count(random.randint(3 * 10**9, 4 * 10**9))


def plan(items: list[LabelledText]) -> ExportPlan:
    """Plan an export against the project's real hand-written and held-out data."""
    return plan_export(items, hand_written=HAND_WRITTEN, held_out=HELD_OUT, patterns=PATTERNS)


def test_entities_are_annotated_like_the_hand_written_data() -> None:
    """Tracking numbers (any accepted shape) and complaint codes get Rasa markup; other text is untouched."""
    assert annotate("我的快递XJ202611180042到哪了", PATTERNS) == "我的快递[XJ202611180042](tracking_number)到哪了"
    assert annotate("xj 2026 1118 0042 and EE123456785CN", PATTERNS) == (
        "[xj 2026 1118 0042](tracking_number) and [EE123456785CN](tracking_number)"
    )
    assert annotate("投诉C-1042怎么样了", PATTERNS) == "投诉[C-1042](complaint_id)怎么样了"
    assert annotate("hello", PATTERNS) == "hello"


def test_plan_dedups_flags_conflicts_and_skips_held_out_and_hand_written() -> None:
    """Every rule of the export on one list of labelled texts."""
    held_out = load_examples(HELD_OUT)[0]
    by_hand, other = [e for e in load_examples(HAND_WRITTEN) if e.intent == "track_shipment" and not e.entities][:2]
    items = [
        LabelledText("parcel XJ202611180042 hasnt moved in a week!!", "complain_delay", "fallbacks", 3),
        LabelledText("Parcel XJ202611180042 hasnt moved in a week", "complain_delay", "review", 1),
        LabelledText("能送到 幸福路1号 吗 周六", "change_delivery", "agent_tags", 1),
        LabelledText("这单到底算谁的", "complain_billing", "review", 1),
        LabelledText("这单到底算谁的？", "complain_wrong_delivery", "fallbacks", 1),
        LabelledText(held_out.text, held_out.intent, "fallbacks", 1),
        LabelledText(by_hand.text, "track_shipment", "escalations", 1),
        LabelledText(other.text + "!", "complain_loss", "review", 1),
        LabelledText("see [this](link) please", "out_of_scope", "review", 1),
    ]
    result = plan(items)
    assert result.files == {
        "fallbacks": {"complain_delay": ["parcel [XJ202611180042](tracking_number) hasnt moved in a week!!"]},
        "agent_tags": {"change_delivery": ["能送到 幸福路1号 吗 周六"]},
    }
    assert sorted(c.intents for c in result.conflicts) == [
        ("complain_billing", "complain_wrong_delivery"), ("complain_loss", "track_shipment"),
    ]
    assert {c.against for c in result.conflicts} == {"labels", "hand-written data"}
    assert sorted((s.why, s.intent) for s in result.skipped) == sorted(
        [("held_out", held_out.intent), ("hand_written", "track_shipment"), ("markup", "out_of_scope")]
    )


def test_export_from_the_database_writes_valid_masked_rasa_yaml(session: Session, tmp_path: Path) -> None:
    """Label logged messages, export: one file per source, valid Rasa 3.1 YAML, no phone or address left."""
    valid = labelling_intents(PROJECT_ROOT)
    tag = random.randint(0, 10**6)
    texts = {
        f"电话13800138000 地址浦东新区张江路100号 改到周六 {tag}": "change_delivery",
        f"call me on +86 139 1234 5678 about EE123456785CN {tag}": "track_shipment",
        f"which fee {tag} for a 5kg box to Chengdu": "faq/shipping_fee",
    }
    ids = {}
    for text in texts:
        record = chatlog.record_inbound(session, bot_id=78, update_id=next(_updates), chat_id=tag + 1,
                                        telegram_user_id=tag + 1, kind="text", text=text)
        ids[text] = record.message_id
    ada = Labeller("Ada")
    for text, intent in texts.items():
        source = "fallbacks" if intent == "faq/shipping_fee" else "agent_tags"
        review.label_messages(session, [ids[text]], intent, source=source, labeller=ada, valid=valid)
    labelled = [t for t in review.labelled_texts(session) if str(tag) in t.text]
    learned = tmp_path / "learned"
    (learned).mkdir()
    (learned / "escalations.yml").write_text("stale", encoding="utf-8")
    written, removed = write_export(plan(labelled), learned)
    assert sorted(p.name for p in written) == ["agent_tags.yml", "fallbacks.yml"]
    assert [p.name for p in removed] == ["escalations.yml"]

    content = "".join(p.read_text(encoding="utf-8") for p in written)
    assert "13800138000" not in content and "139 1234 5678" not in content and "张江路100号" not in content
    assert "13812345678" in content and "幸福路1号" in content
    for path in written:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
        assert document["version"] == "3.1"
        assert all(set(item) == {"intent", "examples"} for item in document["nlu"])
    examples = load_examples(written)
    assert {(e.intent, e.source.endswith("fallbacks.yml")) for e in examples} == {
        ("change_delivery", False), ("track_shipment", False), ("faq/shipping_fee", True)
    }
    assert ("tracking_number", "EE123456785CN") in next(e for e in examples if e.intent == "track_shipment").entities
    # The held-out overlap rule of tests/nlu/test_eval_set.py holds for the export.
    held = {example_key(e.text) for e in load_examples(HELD_OUT)}
    assert not [e.text for e in examples if example_key(e.text) in held]


def test_export_labels_is_the_one_export_of_the_command_line_and_the_chat(session: Session, tmp_path: Path) -> None:
    """export_labels plans against the project's data and writes where told; a dry run writes nothing."""
    tag = random.randint(0, 10**6)
    body = f"zindle {tag} are you a robot"
    record = chatlog.record_inbound(session, bot_id=78, update_id=next(_updates), chat_id=tag + 7,
                                    telegram_user_id=tag + 7, kind="text", text=body)
    review.label_messages(session, [record.message_id], "bot_challenge", source="fallbacks", labeller=Labeller("Ada"),
                          valid=labelling_intents(PROJECT_ROOT))
    learned = tmp_path / "learned"
    dry = export_labels(session, PROJECT_ROOT, output=learned, dry_run=True)
    assert body in dry.plan.files["fallbacks"]["bot_challenge"]
    assert (dry.written, dry.removed, learned.exists()) == ([], [], False)
    done = export_labels(session, PROJECT_ROOT, output=learned)
    assert done.written == [learned / "fallbacks.yml"] and done.plan.written == dry.plan.written
    assert f"    - {body}\n" in (learned / "fallbacks.yml").read_text(encoding="utf-8")
