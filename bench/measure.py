"""Run a command and report its wall time and peak memory as JSON on stderr's
last line (or into --out).

Peak RSS is the larger of two figures, both for the measured process and
everything it starts:
- the kernel's own high-water mark from wait4() (ru_maxrss: the peak of the
  process, or of its largest waited-for descendant);
- the peak of the summed VmRSS of the whole process tree, sampled every
  20 ms from /proc, which also catches children running at the same time
  (dlt can start normalize workers as processes).

Usage: measure.py --out FILE -- COMMAND [ARGS...]
Standard output and error of the command pass through; the exit status is
the command's.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from typing import Dict, List, Set

SAMPLE_SECONDS = 0.02


def children_of(pids: Set[int]) -> Set[int]:
    found: Set[int] = set()
    for pid in pids:
        try:
            with open(f"/proc/{pid}/task/{pid}/children") as f:
                found.update(int(p) for p in f.read().split())
        except OSError:
            pass
    return found


def tree(root: int) -> Set[int]:
    seen = {root}
    frontier = {root}
    while frontier:
        frontier = children_of(frontier) - seen
        seen |= frontier
    return seen


def rss_kib(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


class TreeSampler(threading.Thread):
    def __init__(self, root: int) -> None:
        super().__init__(daemon=True)
        self.root = root
        self.peak_kib = 0
        self.processes: Set[int] = set()
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            pids = tree(self.root)
            self.processes |= pids
            self.peak_kib = max(self.peak_kib, sum(rss_kib(p) for p in pids))
            self.stop.wait(SAMPLE_SECONDS)


def main(argv: List[str]) -> int:
    if "--" not in argv or argv.index("--") != 2 or argv[0] != "--out":
        print(__doc__, file=sys.stderr)
        return 2
    out_path, command = argv[1], argv[3:]
    started = time.monotonic()
    child = subprocess.Popen(command)
    sampler = TreeSampler(child.pid)
    sampler.start()
    # wait4 rather than Popen.wait: it hands back the child's rusage.
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.monotonic() - started
    sampler.stop.set()
    sampler.join()
    code = os.waitstatus_to_exitcode(status)
    child.returncode = code
    result: Dict[str, object] = {
        "seconds": round(seconds, 3),
        "exit_code": code,
        "maxrss_kib": usage.ru_maxrss,
        "tree_peak_kib": sampler.peak_kib,
        "peak_rss_kib": max(usage.ru_maxrss, sampler.peak_kib),
        "processes": len(sampler.processes),
        "user_seconds": round(usage.ru_utime, 3),
        "system_seconds": round(usage.ru_stime, 3),
    }
    with open(out_path, "w") as f:
        json.dump(result, f)
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
