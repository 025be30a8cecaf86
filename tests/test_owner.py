"""Claim owners: the owner text, and `gone` true only for a dead process of this very host."""

from __future__ import annotations

import os
import socket
import subprocess
from dataclasses import replace

from reminder import owner
from reminder.owner import Owner


def dead_owner() -> str:
    """The owner text of a process of this host that has exited (a killed `sleep`)."""
    proc = subprocess.Popen(["sleep", "30"])
    try:
        text = str(replace(owner.current(), pid=proc.pid, start=owner._start_ticks(proc.pid) or 0))
    finally:
        proc.kill()
        proc.wait()
    return text


def test_owner_text_round_trips_and_names_this_process() -> None:
    """str(current()) parses back; it holds the host name, our pid and the boot id."""
    me = owner.current()
    assert Owner.parse(str(me)) == me
    assert me.host == socket.gethostname() and me.pid == os.getpid()
    with open("/proc/sys/kernel/random/boot_id") as f:
        assert me.boot == f.read().strip()
    assert me.pidns and me.start > 0


def test_a_live_process_is_not_gone() -> None:
    """This process, and another live one of this host, are not gone."""
    assert owner.gone(str(owner.current())) is False
    proc = subprocess.Popen(["sleep", "30"])
    try:
        alive = replace(owner.current(), pid=proc.pid, start=owner._start_ticks(proc.pid) or 0)
        assert owner.gone(str(alive)) is False
    finally:
        proc.kill()
        proc.wait()


def test_a_dead_process_of_this_host_is_gone() -> None:
    """A process of this host, boot and PID namespace that exited is gone."""
    assert owner.gone(dead_owner()) is True


def test_a_reused_pid_is_gone() -> None:
    """Our own pid with another start time is a former process that had the same pid."""
    me = owner.current()
    assert owner.gone(str(replace(me, start=me.start + 1))) is True


def test_undecidable_owners_are_never_gone() -> None:
    """Another host, another boot, another PID namespace, the old `host:pid` text, garbage:
    not gone (their claims wait for the lease)."""
    dead = Owner.parse(dead_owner())
    assert dead is not None
    for other in (
        replace(dead, host="may-chu-khac"),
        replace(dead, boot="00000000-0000-0000-0000-000000000000"),
        replace(dead, pidns="1"),
        replace(dead, start=0),
    ):
        assert owner.gone(str(other)) is False, other
    assert owner.gone(f"{socket.gethostname()}:{dead.pid}") is False
    assert owner.gone("") is False and owner.gone("a:b:c:d:e") is False
