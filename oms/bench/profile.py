"""Sampling profile of the gateway process during the full path's throughput run (py-spy,
``--profile``): samples per thread and the top frames, inclusive and self."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

_LINE = re.compile(r":\d+\)$")
_SITE = re.compile(r"\(.*?/site-packages/")
_REPO = re.compile(r"\(.*?/(oms|fix_gateway)/")


def py_spy() -> str | None:
    beside = Path(sys.executable).with_name("py-spy")
    return str(beside) if beside.exists() else shutil.which("py-spy")


class Profiler:
    def __init__(self, pid: int, seconds: float, out: Path) -> None:
        self.out = out
        self.error: str | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        exe = py_spy()
        if exe is None:
            self.error = "py-spy not found"
            return
        self._proc = subprocess.Popen(
            [exe, "record", "-p", str(pid), "-d", str(max(1, int(seconds))), "-r", "100",
             "--format", "raw", "--threads", "--nonblocking", "-o", str(out)],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )

    def finish(self, top: int = 25) -> dict[str, Any]:
        if self._proc is not None:
            _, err = self._proc.communicate(timeout=120)
            if self._proc.returncode != 0 or not self.out.exists():
                self.error = err.decode(errors="replace").strip()[-300:] or "py-spy failed"
        if self.error is not None:
            return {"error": self.error}
        return summarise(self.out.read_text(encoding="utf-8"), top) | {"raw": str(self.out)}


def _frame(text: str) -> str:
    text = _LINE.sub(")", text)
    return _REPO.sub(r"(\1/", _SITE.sub("(", text))


def summarise(raw: str, top: int) -> dict[str, Any]:
    threads: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    total = 0
    for line in raw.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = stack.split(";")
        threads[re.sub(r"\(\d+\)", "", frames[0]).strip()] += count
        total += count
        names = [_frame(f) for f in frames[1:]]
        for name in set(names):
            inclusive[name] += count
        if names:
            own[names[-1]] += count

    def share(counter: Counter[str]) -> list[list[Any]]:
        return [[name, round(100.0 * n / total, 1)] for name, n in counter.most_common(top)]

    return {"samples": total, "threads_pct": dict(share(threads)),
            "inclusive_pct": share(inclusive), "self_pct": share(own)}
