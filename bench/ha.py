"""ha. Two nodes, one ledger: the dispatch path on PostgreSQL, one node vs two, and SQLite
vs PostgreSQL for one node.

N reminders to N distinct agencies are due at one instant (bench/synth.py). A "node" is a
separate process running `Dispatcher.cycle(DUE_AT)` as a daemon's wake-up does: plan →
claim (slice by slice) → render → send to the sink (bench/sink.py) → record. Two nodes
start together on one PostgreSQL database and share the batch. Timed from the common start
to the moment the last node's cycle returned (every sent mark committed); every run checks
that exactly N messages reached the sink and N rows are marked sent.

PostgreSQL is the tests' throw-away cluster (tests/pgcluster.py: Debian's postgresql
package, started as the postgres user on a free 127.0.0.1 port, durability off as in the
tests: the figures compare the daemon's own costs, not disks). Without PostgreSQL
installed the section is skipped with the reason.

Keys: ha_sqlite_msgs_s, ha_pg_msgs_s, ha_pg2_msgs_s, pg_vs_sqlite (one node, PostgreSQL /
SQLite), two_nodes_vs_one (two nodes / one node, both on PostgreSQL), ha_split.
"""

from __future__ import annotations

import asyncio
import importlib.util
import multiprocessing
import time
from pathlib import Path
from typing import Any

from bench.common import REPO, Sink, say, tmpdir
from bench.synth import DUE_AT, dispatch_config


def _pgcluster() -> Any:
    """tests/pgcluster.py, the module the tests start their PostgreSQL with."""
    spec = importlib.util.spec_from_file_location("pgcluster", REPO / "tests" / "pgcluster.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _node(config: str, url: str, start: float, out: Any) -> None:
    """One node: wait for the common start, run one cycle, report (seconds, sent)."""
    from reminder.config import load
    from reminder.dispatch import Dispatcher
    from reminder.ledger import Ledger

    settings = load(config)
    ledger = Ledger(url, lease=settings.lease)
    ledger.known_keys(["warm-up"])  # connect before the start
    dispatcher = Dispatcher(settings, ledger)
    time.sleep(max(0.0, start - time.time()))
    outcome = asyncio.run(dispatcher.cycle(DUE_AT))
    out.put((time.time() - start, outcome.sent))
    ledger.close()


def _race(config: Path, url: str, nodes: int, sink: Sink, n: int) -> tuple[float, list[int]]:
    """`nodes` processes on one ledger; (wall seconds, sent per node)."""
    from reminder.ledger import Ledger, Status

    with Ledger(url) as led:
        led.migrate()
    ctx = multiprocessing.get_context("spawn")
    out = ctx.Queue()
    start = time.time() + 3.0  # every node has imported and connected by then
    procs = [ctx.Process(target=_node, args=(str(config), url, start, out)) for _ in range(nodes)]
    for p in procs:
        p.start()
    results = [out.get(timeout=600) for _ in procs]
    for p in procs:
        p.join(60)
    got = sink.wait_for(n)
    with Ledger(url) as led:
        sent_rows = len(led.history(limit=10**7, status=Status.SENT))
    if got != n or sent_rows != n or sum(s for _t, s in results) != n:
        raise RuntimeError(f"{nodes} node(s): sink got {got}, {sent_rows} rows sent, {results}")
    return max(t for t, _s in results), [s for _t, s in results]


def run(quick: bool) -> dict[str, Any]:
    n = 500 if quick else 5000
    say(f"\n== ha. One ledger, one or two nodes: {n} e-mails due at one instant ==")
    pg = _pgcluster()
    bindir, why = pg.find_bindir()
    if bindir is None:
        say(f"  skipped: {why}")
        return {"skipped": why}
    res: dict[str, Any] = {"n": n}
    cluster = pg.PgCluster.create(bindir)
    try:
        with tmpdir("ha") as folder, Sink() as sink:
            config = dispatch_config(folder, n, smtp_port=sink.port)
            runs = {
                "sqlite": (f"sqlite:///{folder}/ledger.db", 1),
                "pg": (cluster.url(cluster.new_database()), 1),
                "pg2": (cluster.url(cluster.new_database()), 2),
            }
            for name, (url, nodes) in runs.items():
                sink.reset()
                secs, split = _race(config, url, nodes, sink, n)
                res[f"ha_{name}_msgs_s"] = round(n / secs, 1)
                label = {"sqlite": "SQLite, 1 node", "pg": "PostgreSQL, 1 node"}.get(
                    name, "PostgreSQL, 2 nodes"
                )
                say(f"  {label:<22} {n / secs:7.0f} msg/s ({secs:.2f} s; split {split})")
                if nodes == 2:
                    res["ha_split"] = "/".join(str(s) for s in split)
    finally:
        cluster.destroy()
    res["pg_vs_sqlite"] = round(res["ha_pg_msgs_s"] / res["ha_sqlite_msgs_s"], 2)
    res["two_nodes_vs_one"] = round(res["ha_pg2_msgs_s"] / res["ha_pg_msgs_s"], 2)
    say(
        f"  PostgreSQL / SQLite (1 node): {res['pg_vs_sqlite']}; "
        f"2 nodes / 1 node (PostgreSQL): {res['two_nodes_vs_one']}"
    )
    return res
