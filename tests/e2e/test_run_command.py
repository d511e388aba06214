"""The README's run command: `parceldesk run` starts everything, answers a customer, and stops cleanly on Ctrl-C;
its processes' logs (and its own output) hold no phone number, address or bot token."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx

from core.settings import PROJECT_ROOT
from demo.company import SHOWCASE_PERSON_PHONE
from nlu.toolchain import Engine
from parceldesk.demostaff import DEMO_AGENT_ID, DEMO_STAFF_GROUP
from sandbox.client import SandboxClient
from tests.e2e.harness import free_port, new_user_id
from tests.e2e.logscan import scan as scan_logs
from tests.e2e.test_handoff import has_button


def _alive(pid: int) -> bool:
    """True while a process exists (and is not a zombie)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "State:\tZ" not in status


def _children(pid: int) -> list[int]:
    """Every process started by pid (they run in their own sessions, so walk the parent links)."""
    found: list[int] = []
    frontier = [pid]
    while frontier:
        parent = frontier.pop()
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
                except (OSError, IndexError, ValueError):
                    continue
                if ppid == parent:
                    found.append(int(entry.name))
                    frontier.append(int(entry.name))
    return found


def claim_button(message: dict[str, Any]) -> bool:
    """Whether a staff-group message carries a Claim button."""
    rows = (message.get("reply_markup") or {}).get("inline_keyboard") or []
    return any(str(button.get("callback_data", "")).startswith("claim:") for row in rows for button in row)


async def test_run_starts_everything_and_ctrl_c_stops_it(engine_model: tuple[Engine, Path], tmp_path: Path) -> None:
    """With no token the sandbox comes up; a customer is answered; SIGINT leaves no process behind."""
    ports = {name: free_port() for name in ("RASA", "ACTION", "SANDBOX")}
    # Keep the cache (engine and model) but none of the other settings: this is a new user's default run.
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PARCELDESK_", "TELEGRAM_")) or k == "PARCELDESK_CACHE_DIR"
    }
    env.update({f"PARCELDESK_{name}_PORT": str(port) for name, port in ports.items()})
    env.update({"PARCELDESK_DATA_DIR": str(tmp_path / "data"), "COLUMNS": "200"})
    log = (tmp_path / "run.log").open("w")
    process = subprocess.Popen(
        [str(PROJECT_ROOT / ".venv" / "bin" / "parceldesk"), "run"],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 240
        while "Press Ctrl-C to stop." not in (tmp_path / "run.log").read_text():
            assert process.poll() is None, (tmp_path / "run.log").read_text()
            assert time.monotonic() < deadline, (tmp_path / "run.log").read_text()
            time.sleep(1)
        output = (tmp_path / "run.log").read_text()
        sandbox_url = f"http://127.0.0.1:{ports['SANDBOX']}"
        assert f"{sandbox_url}/" in output
        assert httpx.get(f"{sandbox_url}/").status_code == 200  # the chat page
        # Locked with this run's token, which the page carries: the client below reads it there, as a browser does.
        assert httpx.get(f"{sandbox_url}/sandbox/api/state").status_code == 401
        children = _children(process.pid)
        assert len(children) >= 4, children
        async with SandboxClient(sandbox_url) as sandbox:
            user = new_user_id()
            await sandbox.send_text(user, "我的快递XJ202611180042到哪了")
            (reply,) = await sandbox.wait_for_bot_messages(user, count=1, timeout=30)
            assert "XJ202611180042" in reply["text"]

            # Sandbox mode sets up demo staff: a request for a person is queued and announced in the demo group.
            assert f"?user={DEMO_AGENT_ID}&chat={DEMO_STAFF_GROUP}" in output
            asker = new_user_id()
            await sandbox.send_text(asker, "转人工")
            (queued,) = await sandbox.wait_for_bot_messages(asker, count=1, timeout=30)
            assert has_button(queued, "queue:leave"), queued
            deadline = time.monotonic() + 60
            while not any(claim_button(m) for m in await sandbox.bot_messages(DEMO_STAFF_GROUP)):
                assert time.monotonic() < deadline, "no announcement in the demo staff group"
                await asyncio.sleep(1)
            assert [m["text"] for m in await sandbox.bot_messages(DEMO_AGENT_ID)]  # the agent's chat is open

            # A complaint form half-filled, then Rasa crashes: the supervisor restarts it and the form goes on.
            # (The number on its own: "my parcel XJ… is late" would already be the description, and the form done.)
            await sandbox.send_text(user, "my parcel is late")
            (ask_number,) = await sandbox.wait_for_bot_messages(user, after_message_id=reply["message_id"], timeout=30)
            await sandbox.send_text(user, "XJ202611150013")
            (question,) = await sandbox.wait_for_bot_messages(user, after_message_id=ask_number["message_id"],
                                                              timeout=30)
            rasa_pid = next(pid for pid in children if b"--enable-api" in Path(f"/proc/{pid}/cmdline").read_bytes())
            os.killpg(rasa_pid, signal.SIGKILL)
            deadline = time.monotonic() + 180
            while "rasa is back" not in (tmp_path / "run.log").read_text():
                assert process.poll() is None, (tmp_path / "run.log").read_text()
                assert time.monotonic() < deadline, (tmp_path / "run.log").read_text()
                time.sleep(1)
            assert "rasa stopped unexpectedly (exit code -9); restarting" in (tmp_path / "run.log").read_text()
            await sandbox.send_text(user, "it was promised for Monday and it is still not here")
            (summary,) = await sandbox.wait_for_bot_messages(user, after_message_id=question["message_id"],
                                                             timeout=60)
            assert "XJ202611150013" in summary["text"], summary["text"]  # the parcel given before the crash was kept
            await sandbox.send_text(user, "yes")
            (filed,) = await sandbox.wait_for_bot_messages(user, after_message_id=summary["message_id"], timeout=60)
            assert "C-1" in filed["text"], filed["text"]  # the ticket

            # Personal data through the bot, Rasa and the action server, for the log check below.
            talker = new_user_id()
            said = f"请把快递送到上海市徐汇区幸福路88弄3号，我的电话是{SHOWCASE_PERSON_PHONE[3:]}"
            await sandbox.send_text(talker, said)
            await sandbox.wait_for_bot_messages(talker, count=1, timeout=30)
        children = _children(process.pid)
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=60) == 0
        assert "stopped cleanly" in (tmp_path / "run.log").read_text()
        time.sleep(0.5)
        assert [pid for pid in children if _alive(pid)] == []
        # The session-wide log check covers the test stacks' logs; this run writes its own, under its data dir.
        logs = tmp_path / "data" / "logs"
        assert {"rasa.log", "bot.log", "actions.log", "sandbox.log"} <= {p.name for p in logs.iterdir()}
        leaks = scan_logs(logs) + scan_logs(tmp_path / "run.log")
        assert not leaks, "personal data or a token in the run's logs:\n  " + "\n  ".join(leaks[:40])
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        log.close()
