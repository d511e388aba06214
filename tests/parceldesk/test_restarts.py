"""Crash and restart: a crashed service comes back after a growing pause; a crash loop stops the system."""

from __future__ import annotations

import io
import os
import signal
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from rich.console import Console

from parceldesk.processes import RestartBackoff, Service, Supervisor
from parceldesk.system import restart_crashed


@pytest.fixture()
def supervisor() -> Iterator[Supervisor]:
    """A supervisor whose services are stopped after the test."""
    running = Supervisor()
    yield running
    running.stop_all()


def sleeper(tmp_path: Path) -> Service:
    """A liveness-only child that sleeps for a minute (stands in for the bot)."""
    return Service(
        name="sleeper",
        command=[sys.executable, "-c", "import time; print('up', flush=True); time.sleep(60)"],
        env=dict(os.environ),
        log_path=tmp_path / "sleeper.log",
    )


def kill(service: Service) -> None:
    """Crash the service the hard way (as the OOM killer would)."""
    assert service.process is not None
    os.killpg(service.process.pid, signal.SIGKILL)
    service.process.wait(timeout=5)


def test_backoff_doubles_up_to_the_cap_then_declares_a_crash_loop() -> None:
    """1, 2, 4, 8, 16 s between restarts; a sixth crash within five minutes is a loop; it resets later."""
    backoff = RestartBackoff(first_delay=1, max_delay=10, max_restarts=5, window=300)
    delays = [backoff.next_delay("rasa", now=float(t)) for t in range(5)]
    assert delays == [1, 2, 4, 8, 10]
    assert backoff.next_delay("rasa", now=5.0) is None
    assert backoff.next_delay("bot", now=5.0) == 1  # per service
    assert backoff.next_delay("rasa", now=400.0) == 1  # quiet for longer than the window: a fresh start


def test_a_killed_service_is_restarted_with_a_new_process(supervisor: Supervisor, tmp_path: Path) -> None:
    """The supervisor restarts a SIGKILLed child with the same command; it is running again, once."""
    service = supervisor.start(sleeper(tmp_path))
    assert service.process is not None
    first_pid = service.process.pid
    kill(service)
    assert supervisor.first_exited() is service
    console = Console(file=io.StringIO(), width=200)
    assert restart_crashed(supervisor, service, RestartBackoff(first_delay=0.1), console)
    assert service.running and service.process is not None and service.process.pid != first_pid
    assert supervisor.services == [service]
    output = console.file.getvalue()  # type: ignore[attr-defined]
    assert "sleeper stopped unexpectedly (exit code -9); restarting" in output
    assert "sleeper is back" in output


def test_a_crash_loop_gives_up_and_says_why(supervisor: Supervisor, tmp_path: Path) -> None:
    """After max_restarts restarts within the window the supervisor stops restarting and says so."""
    service = supervisor.start(sleeper(tmp_path))
    backoff = RestartBackoff(first_delay=0.01, max_restarts=2)
    console = Console(file=io.StringIO(), width=200)
    for _ in range(2):
        kill(service)
        assert restart_crashed(supervisor, service, backoff, console)
    kill(service)
    assert not restart_crashed(supervisor, service, backoff, console)
    assert "sleeper keeps crashing (2 restarts in 300s); stopping everything" in console.file.getvalue()  # type: ignore[attr-defined]


def test_a_restart_clears_what_the_crashed_leader_left_behind(supervisor: Supervisor, tmp_path: Path) -> None:
    """A leader killed alone leaves its child (think Sanic workers on the port); the restart kills the child."""
    service = Service(
        name="forker",
        command=[sys.executable, "-c", "import subprocess, time; subprocess.Popen(['sleep', '120']); time.sleep(120)"],
        env=dict(os.environ),
        log_path=tmp_path / "forker.log",
    )
    supervisor.start(service)
    assert service.process is not None
    old_group = service.process.pid
    os.kill(old_group, signal.SIGKILL)  # only the leader, as the OOM killer might
    service.process.wait(timeout=5)
    os.killpg(old_group, 0)  # its child is still there
    console = Console(file=io.StringIO(), width=200)
    assert restart_crashed(supervisor, service, RestartBackoff(first_delay=0.1), console)
    with pytest.raises(ProcessLookupError):
        os.killpg(old_group, 0)
    assert service.running
