"""Who receives a task's reminders: successors, groups, dedupe, unreachable entries, channels."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pytest

from reminder.config import load
from reminder.model import Agency, Catalog, Frequency, Milestone, Recurrence, Role, Task
from reminder.recipients import reach, successor, task_recipients, unreachable

SHIPPED = Path(__file__).resolve().parents[1] / "config.toml"
BOTH = ("email", "telegram")


@pytest.fixture(scope="module")
def shipped() -> Catalog:
    return load(SHIPPED).catalog


def make_task(lead: str, *support: str) -> Task:
    return Task(
        id="t",
        number="1",
        title="Nhiệm vụ",
        timing=Recurrence(Frequency.YEARLY),
        lead=lead,
        support=support,
        milestones=(Milestone("m", "Mốc", due=(15, 12)),),
    )


def rows(task: Task, agencies: Mapping[str, Agency], channels: tuple[str, ...] = BOTH) -> list:
    """(named_as, role, agency, channel, address) of each recipient, in order."""
    return [
        (r.named_as, r.role.value, r.agency, r.channel, r.address)
        for r in task_recipients(task, agencies, channels)
    ]


# -- successors ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("agency", "chain"),
    [
        ("so-ke-hoach-dau-tu", ("so-ke-hoach-dau-tu", "so-tai-chinh")),
        ("so-tttt", ("so-tttt", "so-khcn")),
        ("so-ldtbxh", ("so-ldtbxh", "so-noi-vu")),
        ("ubnd-huyen", ("ubnd-huyen", "ubnd-xa-phuong")),
        ("so-tai-chinh", ("so-tai-chinh",)),
    ],
)
def test_successor_chain_in_shipped_config(shipped: Catalog, agency: str, chain: tuple) -> None:
    """An agency renamed in the 2025 reorganisation leads to its successor; a current one to itself."""
    assert successor(agency, shipped.agencies) == chain


def test_successor_chain_is_followed_to_the_end_and_survives_a_cycle() -> None:
    """A → B → C is followed to C; a cycle stops instead of looping."""
    agencies = {
        "a": Agency("a", "A", succeeded_by="b"),
        "b": Agency("b", "B", succeeded_by="c"),
        "c": Agency("c", "C", emails=("c@t.example",)),
        "x": Agency("x", "X", succeeded_by="y"),
        "y": Agency("y", "Y", succeeded_by="x"),
    }
    assert successor("a", agencies) == ("a", "b", "c")
    assert successor("x", agencies) == ("x", "y")
    assert reach("a", agencies, BOTH) == [("c", "email", "c@t.example", ("a", "b", "c"))]


def test_task_5_lead_reaches_sở_tài_chính_once_as_lead(shipped: Catalog) -> None:
    """Task 5: Sở KH&ĐT (lead) now is Sở Tài chính, also named as support: reached once, as lead."""
    got = rows(shipped.task("nv05"), shipped.agencies)
    tai_chinh = [row for row in got if row[4] == "sotaichinh@tinh.example"]
    assert tai_chinh == [
        ("so-ke-hoach-dau-tu", "lead", "so-tai-chinh", "email", "sotaichinh@tinh.example")
    ]
    assert got[0][1] == "lead"
    assert [row for row in got if row[1] == "lead"] == tai_chinh


# -- groups --------------------------------------------------------------------------------------


def test_groups_expand_recursively_with_their_own_lists(shipped: Catalog) -> None:
    """A group reaches its own distribution list and its members' contacts, recursively."""
    found = reach("dao-tao-trong-ngoai-nuoc", shipped.agencies, BOTH)
    assert [(agency, address) for agency, _, address, _ in found] == [
        ("co-so-giao-duc", "truonghoc@tinh.example"),
        ("co-so-dao-tao", "cosodaotao@tinh.example"),
    ]
    assert found[0][3] == ("dao-tao-trong-ngoai-nuoc", "co-so-giao-duc")


def test_group_members_successors_and_nested_lists() -> None:
    """A group's list comes first, then each member (successors followed, nested groups expanded), each entry once."""
    agencies = {
        "g": Agency(
            "g", "G", emails=("g-list@t.example",), members=("old", "h", "a"), is_group=True
        ),
        "h": Agency("h", "H", members=("a", "b", "g"), is_group=True),
        "old": Agency("old", "Old", succeeded_by="a"),
        "a": Agency("a", "A", emails=("a@t.example",), telegram=("-100",)),
        "b": Agency("b", "B", telegram=("@b_chan",)),
    }
    assert reach("g", agencies, BOTH) == [
        ("g", "email", "g-list@t.example", ("g",)),
        ("a", "email", "a@t.example", ("g", "old", "a")),
        ("a", "telegram", "-100", ("g", "old", "a")),
        ("b", "telegram", "@b_chan", ("g", "h", "b")),
    ]


def test_shipped_group_reaches_its_members(shipped: Catalog) -> None:
    """'các cơ quan, đơn vị, địa phương' reaches each member agency and the communes' list."""
    found = {agency for agency, *_ in reach("co-quan-dia-phuong", shipped.agencies, ("email",))}
    assert found == {
        "so-noi-vu",
        "so-tai-chinh",
        "so-giao-duc",
        "so-khcn",
        "truong-chinh-tri",
        "lhh-khkt",
        "ubnd-xa-phuong",
    }


# -- dedupe and roles ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("task", "expected"),
    [
        # the lead first; a support agency that is also the lead's address is dropped
        (
            make_task("a", "a", "b"),
            [
                ("a", "lead", "a", "email", "a@t.example"),
                ("b", "support", "b", "email", "b@t.example"),
            ],
        ),
        # a group that contains the lead: the lead keeps its role, the rest are support
        (
            make_task("a", "g"),
            [
                ("a", "lead", "a", "email", "a@t.example"),
                ("g", "support", "b", "email", "b@t.example"),
            ],
        ),
        # the lead is a successor (old → a): the support naming `a` again is dropped
        (
            make_task("old", "a"),
            [("old", "lead", "a", "email", "a@t.example")],
        ),
        # two supports sharing an address: the first named keeps it
        (
            make_task("b", "shared1", "shared2"),
            [
                ("b", "lead", "b", "email", "b@t.example"),
                ("shared1", "support", "shared1", "email", "same@t.example"),
            ],
        ),
        # an unreachable support adds nothing
        (
            make_task("a", "empty"),
            [("a", "lead", "a", "email", "a@t.example")],
        ),
    ],
    ids=["lead-also-support", "group-has-lead", "successor-lead", "shared-address", "empty"],
)
def test_dedupe_per_address_lead_wins(task: Task, expected: list) -> None:
    """Each (channel, address) receives a task once, in the first role that reaches it (lead first)."""
    agencies = {
        "a": Agency("a", "A", emails=("a@t.example",)),
        "b": Agency("b", "B", emails=("b@t.example",)),
        "g": Agency("g", "G", members=("a", "b"), is_group=True),
        "old": Agency("old", "Old", succeeded_by="a"),
        "shared1": Agency("shared1", "S1", emails=("same@t.example",)),
        "shared2": Agency("shared2", "S2", emails=("same@t.example",)),
        "empty": Agency("empty", "Empty", is_group=True),
    }
    assert rows(task, agencies, ("email",)) == expected


def test_shipped_tasks_have_unique_addresses_and_one_lead(shipped: Catalog) -> None:
    """In every shipped task each (channel, address) appears once, and the lead reaches someone."""
    for task in shipped.tasks:
        found = task_recipients(task, shipped.agencies, BOTH)
        pairs = [(r.channel, r.address) for r in found]
        assert len(pairs) == len(set(pairs)), task.id
        assert any(r.role is Role.LEAD for r in found), task.id


# -- unreachable and channels --------------------------------------------------------------------


def test_unreachable_lists_the_empty_groups(shipped: Catalog) -> None:
    """In the shipped config only the two groups without members or list reach nobody."""
    assert unreachable(shipped.agencies, BOTH) == ["to-chuc-lien-quan", "doanh-nghiep"]


@pytest.mark.parametrize(
    ("channels", "expected"),
    [
        (BOTH, ["none"]),
        (("email",), ["tg-only", "none"]),
        (("telegram",), ["mail-only", "old-mail", "none"]),
        ((), ["mail-only", "tg-only", "old-mail", "none"]),
    ],
)
def test_unreachable_depends_on_the_enabled_channels(
    channels: tuple[str, ...], expected: list[str]
) -> None:
    """An entry is unreachable when it has no address on any enabled channel (successors followed)."""
    agencies = {
        "mail-only": Agency("mail-only", "M", emails=("m@t.example",)),
        "tg-only": Agency("tg-only", "T", telegram=("-1",)),
        "old-mail": Agency("old-mail", "O", succeeded_by="mail-only"),
        "none": Agency("none", "N", is_group=True),
    }
    assert unreachable(agencies, channels) == expected


@pytest.mark.parametrize(
    ("channels", "addresses"),
    [
        (BOTH, ["sonoivu@tinh.example", "-1001000000001", "truongchinhtri@tinh.example"]),
        (("email",), ["sonoivu@tinh.example", "truongchinhtri@tinh.example"]),
        (("telegram",), ["-1001000000001"]),
        (("sms",), []),
    ],
)
def test_channel_filtering(shipped: Catalog, channels: tuple[str, ...], addresses: list) -> None:
    """Only addresses on the requested channels are returned, in the agencies' order."""
    task = make_task("so-noi-vu", "truong-chinh-tri")
    assert [r.address for r in task_recipients(task, shipped.agencies, channels)] == addresses
