"""The bench's figures: per scenario, per voice and in total, printed and as JSON."""

from __future__ import annotations

import platform
import time
from collections.abc import Iterable
from typing import Any

from voxline.testbench.judge import ScenarioResult


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    k = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[k]


def _rate(n: int, of: int) -> dict[str, Any]:
    return {"n": n, "of": of, "rate": round(n / of, 3) if of else None}


def totals(results: Iterable[ScenarioResult]) -> dict[str, Any]:
    results = list(results)
    steps = [s for r in results for s in r.steps]
    turns = [s for s in steps if s.kind == "say" and s.heard_stop_ms is None and not s.skipped]
    latencies = [s.latency_ms for s in steps if s.latency_ms is not None]
    finals = [ms for r in results for ms in r.final_ms]
    backchannels = [s for s in steps if s.false_stop is not None]
    barge = [s.heard_stop_ms for s in steps if s.heard_stop_ms is not None]
    paused = [s for s in turns if s.pauses]
    ordered = [r for r in results if r.has("order") or r.has("no order")]
    edits = sum(r.wer[0] for r in results)
    words = sum(r.wer[1] for r in results)
    return {
        "scenarios": len(results),
        "passed": sum(r.passed for r in results),
        "task_success": _rate(sum(r.task_ok for r in results), len(results)),
        "order_accuracy": _rate(
            sum(
                all(c.passed for c in r.checks if c.name in ("order", "no order")) for r in ordered
            ),
            len(ordered),
        ),
        "reply_latency_ms": {
            "p50": percentile(latencies, 50),
            "p95": percentile(latencies, 95),
            "n": len(latencies),
        },
        "final_after_speech_end_ms": {
            "p50": percentile(finals, 50),
            "p95": percentile(finals, 95),
            "n": len(finals),
        },
        "false_stops_on_backchannels": _rate(
            sum(s.false_stop for s in backchannels), len(backchannels)
        ),
        # of all stops (false or not) taken on a doubt, those the bot took back and went on
        "gone_on_after_doubtful_stops": sum(r.gone_on for r in results),
        "cut_offs": _rate(sum(s.cut_off_ms is not None for s in turns), len(turns)),
        "cut_offs_in_pauses": _rate(sum(s.cut_off_ms is not None for s in paused), len(paused)),
        "barge_in_heard_stop_ms": {
            "p50": percentile(barge, 50),
            "p95": percentile(barge, 95),
            "n": len(barge),
        },
        "caller_wer": round(edits / words, 3) if words else None,
        "errors": sum(bool(r.error) for r in results),
    }


def by_voice(results: Iterable[ScenarioResult]) -> dict[str, dict[str, Any]]:
    groups: dict[str, list[ScenarioResult]] = {}
    for r in results:
        groups.setdefault(r.voice, []).append(r)
    return {v: totals(rs) for v, rs in sorted(groups.items())}


def fmt_ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}"


def fmt_rate(rate: dict[str, Any]) -> str:
    return "-" if not rate["of"] else f"{rate['n']}/{rate['of']} ({100 * rate['rate']:.0f} %)"


def scenario_line(r: ScenarioResult) -> str:
    head = f"{'PASS' if r.passed else 'FAIL'}  {r.name:<34} {r.voice:<13}"
    lat = [s.latency_ms for s in r.steps if s.latency_ms is not None]
    head += f" reply p50 {fmt_ms(percentile(lat, 50)):>5} ms"
    if r.passed:
        return head
    why = "; ".join(f"{c.name}" + (f" ({c.detail})" if c.detail else "") for c in r.failures)
    return f"{head}\n      {r.error or why}"


def summary(total: dict[str, Any], voices: dict[str, dict[str, Any]]) -> str:
    rows = [
        "",
        f"{'voice':<14}{'calls':>6}{'passed':>8}{'task':>6}{'reply p50':>11}"
        f"{'cut-offs':>10}{'false stops':>13}{'caller WER':>12}",
    ]
    for name, t in voices.items():
        rows.append(
            f"{name:<14}{t['scenarios']:>6}{t['passed']:>8}{t['task_success']['n']:>6}"
            f"{fmt_ms(t['reply_latency_ms']['p50']):>11}{t['cut_offs']['n']:>10}"
            f"{t['false_stops_on_backchannels']['n']:>13}"
            f"{'-' if t['caller_wer'] is None else t['caller_wer']:>12}"
        )
    lat, stop = total["reply_latency_ms"], total["barge_in_heard_stop_ms"]
    fin = total["final_after_speech_end_ms"]
    rows += [
        "",
        f"task success {fmt_rate(total['task_success'])}, order accuracy "
        f"{fmt_rate(total['order_accuracy'])}",
        f"reply latency p50 {fmt_ms(lat['p50'])} ms, p95 {fmt_ms(lat['p95'])} ms "
        f"({lat['n']} replies); final transcript p50 {fmt_ms(fin['p50'])} ms, p95 "
        f"{fmt_ms(fin['p95'])} ms after the speech ended ({fin['n']} turns)",
        f"false stops on backchannels {fmt_rate(total['false_stops_on_backchannels'])}, cut-offs "
        f"{fmt_rate(total['cut_offs'])} (in pauses {fmt_rate(total['cut_offs_in_pauses'])}); "
        f"the bot went on after {total['gone_on_after_doubtful_stops']} stop(s) whose words "
        "meant nothing",
        f"barge-in heard-stop p50 {fmt_ms(stop['p50'])} ms, p95 {fmt_ms(stop['p95'])} ms "
        f"({stop['n']} interruptions); caller WER as the server heard it "
        f"{total['caller_wer']}",
        f"{total['passed']} passed, {total['scenarios'] - total['passed']} failed",
    ]
    return "\n".join(rows)


def machine() -> dict[str, Any]:
    cpu = platform.processor()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            cpu = next(
                (ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")), cpu
            )
    except OSError:
        pass
    import os

    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version()}


def document(
    bot: str, results: list[ScenarioResult], concurrency: int, server: str
) -> dict[str, Any]:
    return {
        "bot": bot,
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "machine": machine(),
        "concurrency": concurrency,
        "server": server,
        "totals": totals(results),
        "voices": by_voice(results),
        "scenarios": [r.as_dict() for r in results],
    }
