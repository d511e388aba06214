"""How a customer's photo reaches the damage-complaint form: shared by the bot and the Rasa channel (stdlib only)."""

from __future__ import annotations

import json

# The form slot that asks for a photo of the damage.
PHOTO_SLOT = "complaint_photo"
# The channel's answer when a photo came without a caption and no form asked for one (the bot says what to do).
PHOTO_UNASKED = "unasked"


def photo_payload(file_id: str) -> str:
    """The message that gives the damage complaint form a photo: its Telegram file id as an entity."""
    return "/complain_damage" + json.dumps({"photo_file_id": file_id})
