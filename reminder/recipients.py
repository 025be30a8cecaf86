"""Who receives a task's reminders: successors followed, groups expanded, addresses deduplicated.

Pure functions over the agency directory. An agency named in a task keeps its name (the
appendix is the record) but is reached through its current successor (`succeeded_by`,
followed to the end). A group reaches its own contacts (a distribution list) and each of
its members, recursively. Each (channel, address) receives a task's reminder once, in the
first role that reaches it: the lead first, then the supporting agencies in their order.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace

from reminder.model import Agency, Role, Task


@dataclass(frozen=True, slots=True)
class Recipient:
    """One address that receives a task's reminders, and how it was reached."""

    agency: str  # the agency that receives (a successor, a group member, or as named)
    named_as: str  # the agency or group as the task names it
    role: Role
    channel: str
    address: str
    via: tuple[str, ...]  # named_as → successors / group members → agency


def successor(agency_id: str, agencies: Mapping[str, Agency]) -> tuple[str, ...]:
    """The chain from `agency_id` to its current successor (itself when it has none)."""
    chain = [agency_id]
    while (nxt := agencies[chain[-1]].succeeded_by) and nxt not in chain:
        chain.append(nxt)
    return tuple(chain)


def reach(
    agency_id: str, agencies: Mapping[str, Agency], channels: Iterable[str]
) -> list[tuple[str, str, str, tuple[str, ...]]]:
    """Every (agency, channel, address, via) that `agency_id` reaches, in a stable order."""
    wanted = tuple(channels)
    found: list[tuple[str, str, str, tuple[str, ...]]] = []
    _walk(agency_id, agencies, wanted, (), set(), found)
    return found


def _walk(
    agency_id: str,
    agencies: Mapping[str, Agency],
    channels: tuple[str, ...],
    trail: tuple[str, ...],
    seen: set[str],
    found: list[tuple[str, str, str, tuple[str, ...]]],
) -> None:
    chain = successor(agency_id, agencies)
    current = agencies[chain[-1]]
    if current.id in seen:
        return
    seen.add(current.id)
    via = (*trail, *chain)
    for channel in channels:
        for address in _contacts(current, channel):
            found.append((current.id, channel, address, via))
    for member in current.members:
        _walk(member, agencies, channels, via, seen, found)


def _contacts(agency: Agency, channel: str) -> tuple[str, ...]:
    if channel == "email":
        return agency.emails
    if channel == "telegram":
        return agency.telegram
    if channel == "zalo":
        return agency.zalo
    return ()


def task_recipients(
    task: Task, agencies: Mapping[str, Agency], channels: Iterable[str]
) -> list[Recipient]:
    """The task's recipients, lead first, each (channel, address) once.

    When several entries of the task reach the same address, the lead role wins over
    support, and within a role an agency the task names directly wins over one reached
    through a successor or a group (its message then needs no "(nay là …)").
    """
    wanted = tuple(channels)
    named = [(task.lead, Role.LEAD)] + [(s, Role.SUPPORT) for s in task.support]
    best: dict[tuple[str, str], tuple[tuple[int, int, int], Recipient]] = {}
    order = 0
    for named_as, role in named:
        for agency, channel, address, via in reach(named_as, agencies, wanted):
            rank = (0 if role == Role.LEAD else 1, 0 if len(via) == 1 else 1, order)
            order += 1
            slot = (channel, address)
            if slot not in best or rank < best[slot][0]:
                best[slot] = (rank, Recipient(agency, named_as, role, channel, address, via))
    return [rcp for _rank, rcp in sorted(best.values(), key=lambda item: (item[0][0], item[0][2]))]


def unreachable(agencies: Mapping[str, Agency], channels: Iterable[str]) -> list[str]:
    """Ids of directory entries that reach no address on the enabled channels."""
    wanted = tuple(channels)
    return [a for a in agencies if not reach(a, agencies, wanted)]


ZALO_PREFIX = "zalo:"  # how a Zalo chat is stored among the linked chats (channels.chat)


def with_linked_chats(
    agencies: Mapping[str, Agency], linked: Mapping[str, str]
) -> dict[str, Agency]:
    """The directory with chats linked in the ledger (chat id → agency id) added to their
    agencies' chats, after the ones config.toml names: Telegram chat ids as they are, Zalo
    chats as "zalo:<id>" (ZALO_PREFIX). Unknown agencies are skipped."""
    extra: dict[str, dict[str, list[str]]] = {}
    for chat, agency in sorted(linked.items()):
        if agency not in agencies:
            continue
        channel, address = chat_channel(chat)
        if address not in _contacts(agencies[agency], channel):
            extra.setdefault(agency, {}).setdefault(channel, []).append(address)
    out: dict[str, Agency] = {}
    for a in agencies.values():
        more = extra.get(a.id)
        if more:
            a = replace(
                a,
                telegram=(*a.telegram, *more.get("telegram", ())),
                zalo=(*a.zalo, *more.get("zalo", ())),
            )
        out[a.id] = a
    return out


def chat_channel(chat: str) -> tuple[str, str]:
    """("zalo", id) for a stored "zalo:<id>", else ("telegram", chat)."""
    if chat.startswith(ZALO_PREFIX):
        return "zalo", chat[len(ZALO_PREFIX) :]
    return "telegram", chat


def press_chats(task: Task, agencies: Mapping[str, Agency], channel: str = "telegram") -> set[str]:
    """The chats of `channel` whose answers count for `task`: those of its lead agency,
    the lead's successor, and the members of a lead group (linked chats included when the
    directory comes from `with_linked_chats`)."""
    return {address for _agency, _ch, address, _via in reach(task.lead, agencies, (channel,))}


def chat_agencies(
    chat: str, agencies: Mapping[str, Agency], channel: str = "telegram"
) -> list[str]:
    """The directory entries (agencies and groups) that list `chat` among their chats."""
    return [a.id for a in agencies.values() if chat in _contacts(a, channel)]
