"""The update processor: other chats never wait for a busy chat, one chat's updates keep their order."""

from __future__ import annotations

import asyncio

from telegram import Chat, Message, Update, User

from bot.updates import PerChatUpdateProcessor, chat_key


def text_update(update_id: int, chat_id: int, text: str | None = None) -> Update:
    """A private text message update from chat `chat_id`."""
    user = User(id=chat_id, first_name="Test", is_bot=False)
    chat = Chat(id=chat_id, type="private")
    message = Message(message_id=update_id, date=None, chat=chat, from_user=user, text=text or f"m{update_id}")  # type: ignore[arg-type]
    return Update(update_id=update_id, message=message)


async def test_one_chats_updates_run_in_arrival_order() -> None:
    """Five updates of one chat, started together, finish in the order they arrived, one at a time."""
    processor = PerChatUpdateProcessor(max_working=8)
    done: list[int] = []
    running = 0
    overlap = 0

    async def handle(number: int, pause: float) -> None:
        nonlocal running, overlap
        running += 1
        overlap = max(overlap, running)
        await asyncio.sleep(pause)
        done.append(number)
        running -= 1

    # Later updates are quicker: without ordering they would overtake the earlier ones.
    tasks = [
        asyncio.create_task(processor.process_update(text_update(n, 42), handle(n, 0.05 - n * 0.01)))
        for n in range(5)
    ]
    await asyncio.gather(*tasks)
    assert done == [0, 1, 2, 3, 4]
    assert overlap == 1
    assert processor.waiting_chats == 0  # nothing kept once a chat is idle


async def test_a_hung_chat_delays_no_other_chat() -> None:
    """While one chat's update hangs, ten other chats are answered at once."""
    processor = PerChatUpdateProcessor(max_working=4)
    release = asyncio.Event()
    answered: list[int] = []

    async def hang() -> None:
        await release.wait()

    async def answer(chat_id: int) -> None:
        answered.append(chat_id)

    hung = asyncio.create_task(processor.process_update(text_update(1, 1), hang()))
    # The hung chat's next updates wait behind it, without taking a worker slot from anybody else.
    queued = [asyncio.create_task(processor.process_update(text_update(2 + n, 1), answer(1))) for n in range(5)]
    await asyncio.sleep(0)
    others = [processor.process_update(text_update(100 + c, c), answer(c)) for c in range(2, 12)]
    await asyncio.wait_for(asyncio.gather(*others), timeout=1.0)
    assert sorted(answered) == list(range(2, 12))
    release.set()
    await asyncio.gather(hung, *queued)
    assert answered.count(1) == 5


async def test_working_updates_are_bounded() -> None:
    """No more than max_working updates are handled at once, however many chats write."""
    processor = PerChatUpdateProcessor(max_working=3)
    running = 0
    peak = 0

    async def work() -> None:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await asyncio.sleep(0.01)
        running -= 1

    await asyncio.gather(*(processor.process_update(text_update(n, 1000 + n), work()) for n in range(30)))
    assert peak == 3


def test_updates_are_ordered_by_chat_then_sender() -> None:
    """Messages order by chat; things that are not updates need no order."""
    assert chat_key(text_update(1, 77)) == 77
    assert chat_key(object()) is None


async def test_help_has_its_own_lane_when_every_slot_waits_for_rasa() -> None:
    """Busy chats fill every main slot; /help of another chat is still answered at once, in its chat's order."""
    processor = PerChatUpdateProcessor(max_working=2)
    release = asyncio.Event()
    answered: list[str] = []

    async def wait_for_rasa() -> None:
        await release.wait()

    async def answer(what: str) -> None:
        answered.append(what)

    busy = [asyncio.create_task(processor.process_update(text_update(n, n), wait_for_rasa())) for n in (1, 2)]
    await asyncio.sleep(0)
    plain = asyncio.create_task(processor.process_update(text_update(3, 3), answer("text")))
    await asyncio.wait_for(processor.process_update(text_update(4, 4, "/help"), answer("/help")), timeout=1.0)
    await asyncio.wait_for(processor.process_update(text_update(5, 5, "/start@ParcelDeskBot"), answer("/start")), 1.0)
    assert answered == ["/help", "/start"]  # the plain text still waits for a main slot
    release.set()
    await asyncio.gather(*busy, plain)
    assert answered[-1] == "text"
