"""Repair inside the forms: cancel is never an answer, correct / back empty an answer, summaries confirm or edit."""

from __future__ import annotations

from typing import Any

import pytest

from actions.forms_complaint import ActionAskComplaintConfirmed, ValidateComplaintForm
from actions.forms_delivery import ActionAskDeliveryConfirmed, ValidateChangeDeliveryForm
from actions.forms_feedback import ValidateFeedbackForm
from actions.forms_pickup import ActionAskPickupConfirmed, ValidatePickupForm
from crm.pickups import pickup_windows
from tests.actions.trackers import Person, parse_payload, run, tracker

COMPLAINT = "complaint_form"
NUMBER = "XJ202611150013"
DAMAGE = {"complaint_category": "damage", "tracking_number": NUMBER, "complaint_description": "箱子压扁了，杯子碎了"}
DONE_DAMAGE = {**DAMAGE, "complaint_photo": "none"}


def at(form: str, requested: str, text: str, intent: str, *, language: str = "zh",
       slots: dict[str, Any] | None = None, **entities: str) -> Any:
    """The form asking for `requested`, answered with `text` read as `intent`."""
    return tracker(Person.new(), text, intent, language=language, form=form, requested_slot=requested,
                   slots=slots, entities=entities or None)


@pytest.mark.parametrize(("requested", "slots"), [
    ("tracking_number", {"complaint_category": "delay"}),
    ("complaint_description", {"complaint_category": "delay", "tracking_number": NUMBER}),
    ("complaint_photo", DAMAGE),
    ("complaint_category", {}),
    ("complaint_confirmed", DONE_DAMAGE),
])
async def test_cancel_is_never_an_answer_in_the_complaint_form(requested: str, slots: dict[str, Any]) -> None:
    """"取消" at any step fills nothing, so Rasa rejects the form and the cancel rule clears it (nothing filed)."""
    outcome = await run(ValidateComplaintForm(), at(COMPLAINT, requested, "取消", "cancel", slots=slots))
    assert outcome.filled == {} and outcome.messages == []


async def test_correct_at_the_photo_step_asks_the_description_again() -> None:
    """"改一下" empties the answer before the current question and the form asks it again."""
    outcome = await run(ValidateComplaintForm(), at(COMPLAINT, "complaint_photo", "改一下", "correct", slots=DAMAGE))
    assert outcome.slots == {"complaint_description": None, "complaint_confirmed": None,
                             "requested_slot": "complaint_description"}


async def test_back_at_the_first_question_asks_it_again() -> None:
    """Nothing answered before the first question: "返回" simply asks it again."""
    outcome = await run(ValidateComplaintForm(), at(COMPLAINT, "complaint_category", "返回", "go_back"))
    assert outcome.slots == {"complaint_category": None, "complaint_confirmed": None,
                             "requested_slot": "complaint_category"}


@pytest.mark.parametrize(("text", "intent", "expected"), [
    ("/affirm", "affirm", "yes"), ("确认", "nlu_fallback", "yes"), ("looks good", "affirm", "yes"),
    ("嗯？", "nlu_fallback", None),
])
async def test_summary_confirmation(text: str, intent: str, expected: str | None) -> None:
    """Confirm (button, word or the model's affirm) files; other text shows the summary again."""
    outcome = await run(ValidateComplaintForm(), at(COMPLAINT, "complaint_confirmed", text, intent, slots=DONE_DAMAGE))
    # The damage form's slots are the domain's list: Rasa's form itself asks the summary again, or ends.
    assert outcome.slots == {"complaint_confirmed": expected}


@pytest.mark.parametrize("language", ["zh", "en"])
async def test_summary_shows_what_will_be_filed(language: str) -> None:
    """The summary names the category, parcel, description and photo, with Confirm / Edit / Cancel."""
    outcome = await run(ActionAskComplaintConfirmed(),
                        at(COMPLAINT, "complaint_confirmed", "x", "nlu_fallback", language=language,
                           slots=DONE_DAMAGE))
    message = outcome.message("utter_complaint_summary")
    assert message["tracking_number"] == NUMBER and message["description"] == DAMAGE["complaint_description"]
    assert message["photo"] == ("无" if language == "zh" else "none")


async def test_edit_offers_the_fields_and_a_field_is_asked_again() -> None:
    """Edit shows one button per field of this category; choosing one empties it and the form asks it."""
    edit = at(COMPLAINT, "complaint_confirmed", "/correct", "correct", slots=DONE_DAMAGE)
    validated = await run(ValidateComplaintForm(), edit)
    assert validated.slots == {"complaint_confirmed": None, "requested_slot": "complaint_confirmed"}
    offered = await run(ActionAskComplaintConfirmed(), edit)
    payloads = [parse_payload(b["payload"]) for b in offered.buttons("utter_ask_edit_field")]
    assert [entities.get("edit_field") for _, entities in payloads] == [
        "complaint_category", "tracking_number", "complaint_description", "complaint_photo", None]

    chosen = await run(ValidateComplaintForm(), at(COMPLAINT, "complaint_confirmed", "/correct", "correct",
                                                   slots=DONE_DAMAGE, edit_field="complaint_description"))
    assert chosen.slots == {"complaint_description": None, "complaint_confirmed": None,
                            "requested_slot": "complaint_description"}


async def test_a_general_complaint_asks_the_category_then_takes_a_button() -> None:
    """"我要投诉" leaves the category empty (asked with buttons); the button's entity fills it."""
    start = await run(ValidateComplaintForm(), tracker(Person.new(), "我要投诉", "complain", form=COMPLAINT))
    assert start.slots == {"requested_slot": "complaint_category"}
    pressed = await run(ValidateComplaintForm(), at(COMPLAINT, "complaint_category", "/complain", "complain",
                                                    complaint_category="courier_conduct"))
    assert pressed.slots == {"complaint_category": "courier_conduct", "requested_slot": "complaint_description"}
    typed = await run(ValidateComplaintForm(), at(COMPLAINT, "complaint_category", "包裹丢了", "complain_loss"))
    assert typed.filled == {"complaint_category": "loss"}


async def test_the_category_never_switches_on_a_later_message() -> None:
    """A description that reads like another category keeps the category the complaint started with."""
    state = at(COMPLAINT, "complaint_description", "还多收了我运费", "complain_billing",
               slots={"complaint_category": "delay", "tracking_number": NUMBER})
    outcome = await run(ValidateComplaintForm(), state)
    assert "complaint_category" not in outcome.slots
    assert outcome.filled == {"complaint_description": "还多收了我运费"}


@pytest.mark.parametrize(("text", "intent"), [("forget it", "cancel"), ("no", "deny")])
async def test_forget_it_cancels_the_delivery_change(text: str, intent: str) -> None:
    """At the tracking number question "forget it" is no tracking number: the form is rejected and cancelled."""
    outcome = await run(ValidateChangeDeliveryForm(), at("change_delivery_form", "tracking_number", text, intent,
                                                         language="en"))
    assert outcome.filled == {} and outcome.messages == []


async def test_editing_what_to_change_empties_the_new_value_too() -> None:
    """Changing address/day at the summary also empties the value of the old kind."""
    slots = {"tracking_number": NUMBER, "delivery_kind": "address", "delivery_address": "北京市朝阳区建国路1号"}
    summary = await run(ActionAskDeliveryConfirmed(), at("change_delivery_form", "delivery_confirmed", "x",
                                                         "nlu_fallback", slots=slots))
    assert summary.message("utter_delivery_summary_address")["address"] == slots["delivery_address"]
    chosen = await run(ValidateChangeDeliveryForm(), at("change_delivery_form", "delivery_confirmed", "/correct",
                                                        "correct", slots=slots, edit_field="delivery_kind"))
    assert chosen.slots == {"delivery_kind": None, "delivery_address": None, "delivery_day": None,
                            "delivery_confirmed": None, "requested_slot": "delivery_kind"}


async def test_pickup_summary_and_correcting_the_contents() -> None:
    """The pickup summary shows the window's label; "写错了" at the summary offers the fields."""
    window = pickup_windows()[0]
    slots = {"pickup_address": "上海市徐汇区幸福路88弄3号", "pickup_window": window.key, "pickup_contents": "衣服"}
    summary = await run(ActionAskPickupConfirmed(), at("pickup_form", "pickup_confirmed", "x", "nlu_fallback",
                                                       slots=slots))
    assert summary.message("utter_pickup_summary")["window"] == window.label("zh")
    fix = at("pickup_form", "pickup_confirmed", "写错了", "correct", slots=slots)
    assert (await run(ValidatePickupForm(), fix)).slots == {"pickup_confirmed": None,
                                                           "requested_slot": "pickup_confirmed"}
    assert len((await run(ActionAskPickupConfirmed(), fix)).buttons("utter_ask_edit_field")) == 4


async def test_correct_at_the_feedback_comment_asks_the_rating_again() -> None:
    """"不对" after the rating empties the rating; "取消" at the comment fills nothing (the form is cancelled)."""
    corrected = await run(ValidateFeedbackForm(), at("feedback_form", "feedback_comment", "不对", "correct",
                                                     slots={"feedback_rating": "2"}))
    assert corrected.slots == {"feedback_rating": None, "requested_slot": "feedback_rating"}
    cancelled = await run(ValidateFeedbackForm(), at("feedback_form", "feedback_comment", "取消", "cancel",
                                                     slots={"feedback_rating": "2"}))
    assert cancelled.filled == {}
