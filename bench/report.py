"""Helpers for the bench/*.sh scripts (standard library only).

  report.py counters SIM_URL OUT.json
      saves the simulator's request counters.
  report.py requests BEFORE.json AFTER.json
      prints the requests answered in between as JSON:
      {"total", "status_429", "by_endpoint": {...}, "by_status": {...}}.
  report.py compare RESULTS.json
      prints the side-by-side figures and the Markdown table for
      BENCHMARKS.md from what compare_dlt.sh gathered.
"""

from __future__ import annotations

import json
import sys
import urllib.request
from collections import Counter
from typing import Dict, List


def counters(sim_url: str, out: str) -> None:
    with urllib.request.urlopen(f"{sim_url}/__admin/counters", timeout=30) as response:
        rows = json.load(response)
    with open(out, "w") as f:
        json.dump(rows, f)


def _by_key(rows: List[dict]) -> Counter:
    return Counter({(r["vendor"], r["endpoint"], r["status"], r["code"]): r["count"] for r in rows})


def requests_between(before_path: str, after_path: str) -> Dict[str, object]:
    with open(before_path) as f:
        before = _by_key(json.load(f))
    with open(after_path) as f:
        after = _by_key(json.load(f))
    delta = after - before
    by_endpoint: Counter = Counter()
    by_status: Counter = Counter()
    by_endpoint_status: Counter = Counter()
    for (_, endpoint, status, _), n in delta.items():
        by_endpoint[endpoint] += n
        by_status[str(status)] += n
        by_endpoint_status[f"{endpoint} {status}"] += n
    return {
        "total": sum(delta.values()),
        "status_429": by_status.get("429", 0),
        "by_endpoint": dict(sorted(by_endpoint.items())),
        "by_status": dict(sorted(by_status.items())),
        "by_endpoint_status": dict(sorted(by_endpoint_status.items())),
    }


def _ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}×" if b else "n/a"


def compare(results_path: str) -> None:
    with open(results_path) as f:
        r = json.load(f)
    tools = ("confsync", "dlt")
    fig = {}
    for tool in tools:
        run = r[tool]
        rows = sum(run["rows"].values())
        seconds = run["measure"]["seconds"]
        fig[tool] = {
            "seconds": seconds,
            "rows": rows,
            "rows_per_s": rows / seconds if seconds else 0.0,
            "requests": run["requests"]["total"],
            "rss_mib": run["measure"]["peak_rss_kib"] / 1024,
            "processes": run["measure"]["processes"],
        }
    c, d = fig["confsync"], fig["dlt"]
    m = r["machine"]
    print()
    print("== rows per table (SQL count) ==")
    print(f"{'table':<18}{'confsync':>10}{'dlt':>10}{'expected':>10}")
    for table in r["expected"]:
        print(
            f"{table:<18}{r['confsync']['rows'][table]:>10}{r['dlt']['rows'][table]:>10}"
            f"{r['expected'][table]:>10}"
        )
    print()
    print("== requests by endpoint ==")
    for tool in tools:
        print(f"{tool:<9} {r[tool]['requests']['by_endpoint']}  statuses {r[tool]['requests']['by_status']}")
    print()
    for tool in tools:
        f_ = fig[tool]
        print(
            f"{tool:<9} wall {f_['seconds']:.2f} s, {f_['rows']} rows, {f_['rows_per_s']:.0f} rows/s, "
            f"{f_['requests']} requests, peak RSS {f_['rss_mib']:.1f} MiB "
            f"({f_['processes']} process{'es' if f_['processes'] != 1 else ''})"
        )
    print()
    print(
        f"ratios (confsync / dlt): rows/s {_ratio(c['rows_per_s'], d['rows_per_s'])} (higher is better), "
        f"requests {_ratio(c['requests'], d['requests'])} (lower is better), "
        f"peak RSS {_ratio(c['rss_mib'], d['rss_mib'])} (lower is better)"
    )
    print()
    print("== Markdown for BENCHMARKS.md ==")
    print()
    print(
        f"Mirror of one simulator (seed {r['sim']['seed']}, {r['sim']['conferences']} conferences, "
        f"{r['sim']['history']} history rows, {r['sim']['recordings_per_conference']} recordings "
        f"per meeting, no rate limit) into PostgreSQL, confsync then dlt, fresh databases, "
        f"`bench/compare_dlt.sh`."
    )
    print()
    print(f"| | confsync {r['versions']['confsync']} | dlt {r['versions']['dlt']} | confsync vs dlt |")
    print("|---|---:|---:|---:|")
    print(f"| wall time | {c['seconds']:.2f} s | {d['seconds']:.2f} s | {_ratio(d['seconds'], c['seconds'])} faster |")
    print(f"| rows loaded | {c['rows']} | {d['rows']} | same |" if c["rows"] == d["rows"] else
          f"| rows loaded | {c['rows']} | {d['rows']} | MISMATCH |")
    print(f"| rows/s | {c['rows_per_s']:.0f} | {d['rows_per_s']:.0f} | {_ratio(c['rows_per_s'], d['rows_per_s'])} |")
    same = " (same)" if c["requests"] == d["requests"] else ""
    print(f"| HTTP requests | {c['requests']} | {d['requests']} | {_ratio(c['requests'], d['requests'])}{same} |")
    print(f"| peak RSS | {c['rss_mib']:.1f} MiB | {d['rss_mib']:.1f} MiB | {_ratio(c['rss_mib'], d['rss_mib'])} |")
    print()
    print(
        f"Measured {m['date']} on {m['nproc']} cores ({m['cpu']}), {m['memory']} RAM, "
        f"{m['kernel']}, PostgreSQL {m['postgres']}, {m['rustc']}, Python {m['python']}; "
        f"load average {m['load_before']} before, {m['load_after']} after."
    )


def main(argv: List[str]) -> int:
    if len(argv) == 3 and argv[0] == "counters":
        counters(argv[1], argv[2])
    elif len(argv) == 3 and argv[0] == "requests":
        print(json.dumps(requests_between(argv[1], argv[2])))
    elif len(argv) == 2 and argv[0] == "compare":
        compare(argv[1])
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
