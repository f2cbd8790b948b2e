"""The load benchmark, tiny: two real-time calls for a few seconds, so it cannot rot.

It starts what `bench/load.py` starts (the scripted Riva/LLM servers, `voxline serve` in its own
process, a caller process) and checks that the figures are there and make sense; the figures
themselves are the benchmark's business, not the test's.
"""

from __future__ import annotations

import json

import pytest

from bench.harness.callers import Script
from bench.harness.step import Bench
from bench.load import table

pytestmark = pytest.mark.e2e


def test_two_calls_are_measured(tmp_path):
    with Bench(work=tmp_path) as bench:
        critical = bench.delays.critical_path_s()
        r = bench.step(2, 5.0, script=Script(b"", b"", reply_within_s=3.0))
        # One server process per core: the calls dealt out, the costs added up.
        pair = bench.step(2, 3.0, script=Script(b"", b"", reply_within_s=3.0), servers=2)
    assert pair["servers"] == 2 and pair["connected"] == 2 and pair["errors"] == []
    assert pair["replies"] >= 2 and pair["missed_turns"] == 0
    assert pair["server_rss_mb"] > 1.5 * r["server_rss_mb"]  # two processes' memory
    assert r["errors"] == [] and r["connected"] == 2
    assert r["replies"] >= 2 and r["missed_turns"] == 0
    # The scripted delays are on the path: a reply cannot come much sooner than they allow.
    assert 0.8 * critical * 1000 < r["latency_ms"]["p50"] < 5000
    # Added = latency - the scripted critical path (a shift: the percentiles shift with it).
    assert r["added_ms"]["p50"] == pytest.approx(r["latency_ms"]["p50"] - 1000 * critical, abs=0.2)
    assert 0 < r["server_cpu_pct"] < 200 and r["server_rss_mb"] > 50
    assert r["server_tasks"] > 0 and r["server_fds"] > 0
    assert "2 " in table([r]).splitlines()[-1]
    json.dumps(r)  # the results file takes it as it is
