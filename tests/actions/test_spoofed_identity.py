"""Message metadata never decides who is talking: a spoofed telegram_user_id / chat_id gets no owner data.

Anyone able to post to Rasa could write any metadata. The actions take the user from the conversation id
(`tg-<chat id>`, a private chat's id is its user's id) and re-read the identity link from the database.
"""

from __future__ import annotations

from actions.identity import ActionCheckLinked, ActionGreet, ActionListShipments
from actions.tracking import ActionTrackShipment
from demo.company import SHOWCASE_PERSON_PHONE
from tests.actions.conftest import ActionDatabase
from tests.actions.trackers import Person, run, tracker

IN_TRANSIT = "XJ202611180042"  # 王小明's parcel


def spoofed(victim: Person, attacker: Person, text: str, intent: str, **kwargs: object) -> object:
    """The attacker's conversation with metadata claiming to be the victim."""
    state = tracker(attacker, text, intent, **kwargs)  # type: ignore[arg-type]
    state.latest_message["metadata"].update({"telegram_user_id": victim.user_id, "chat_id": victim.chat_id})
    return state


async def test_spoofed_user_id_gets_no_owner_data(action_db: ActionDatabase) -> None:
    """The owner's id in the metadata of someone else's chat: status only, no parcel list, no name."""
    owner, attacker = Person.new(), Person.new()
    action_db.link(owner, SHOWCASE_PERSON_PHONE)

    tracked = await run(ActionTrackShipment(), spoofed(owner, attacker, f"where is {IN_TRANSIT}", "track_shipment",
                                                       language="en", entities={"tracking_number": IN_TRANSIT}))
    assert tracked.responses == ["utter_track_in_transit"]
    assert "张伟" not in str(tracked.messages)

    listed = await run(ActionListShipments(), spoofed(owner, attacker, "my parcels", "list_shipments"))
    assert listed.responses == ["utter_link_needed"] and listed.slots == {"linked": False}

    checked = await run(ActionCheckLinked(), spoofed(owner, attacker, "change my delivery", "change_delivery"))
    assert checked.slots == {"linked": False}

    greeted = await run(ActionGreet(), spoofed(owner, attacker, "你好", "greet"))
    assert greeted.responses == ["utter_greet"]


async def test_the_owner_in_their_own_chat_still_is_the_owner(action_db: ActionDatabase) -> None:
    """The check is no blanket refusal: the linked owner's own conversation gets the details and the list."""
    owner, other = Person.new(), Person.new()
    action_db.link(owner, SHOWCASE_PERSON_PHONE)
    # Metadata naming someone else changes nothing for the real owner either.
    tracked = await run(ActionTrackShipment(), spoofed(other, owner, f"where is {IN_TRANSIT}", "track_shipment",
                                                       language="en", entities={"tracking_number": IN_TRANSIT}))
    assert tracked.responses == ["utter_track_in_transit", "utter_track_owner_details"]
    listed = await run(ActionListShipments(), tracker(owner, "my parcels", "list_shipments"))
    assert listed.slots == {"linked": True}
