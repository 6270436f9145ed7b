"""Benchmark: grade serve, the time from a derive answer's request to its feedback.

Run:  taskset -c 0,1 python benchmarks/serve_speed.py [--repeat N]
Prints wall-clock figures; nothing is asserted. `grade serve --no-browser` runs as its own
process on a whole-bank practice workspace (51 items, the user's cache of the bank filled, as
after a first command) and the script sends what the page's script sends: a POST of the answer
with the CSRF value, Accept: application/json. Each answer differs from the one before
(alternately wrong and right), so each one is written into answers.yaml, graded, recorded in
progress.json and answered with its feedback, hint or worked solution, and the header's mastery.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

SOURCE = Path(__file__).resolve().parent.parent


def _request(port: int, cookie: str, method: str, path: str, body: str | None = None,
             headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        sent = {"Host": f"127.0.0.1:{port}", "Cookie": cookie, **(headers or {})}
        connection.request(method, path, body, sent)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def _times(fn, repeat: int) -> tuple[float, float, float]:
    """(median, min, 95th percentile) in milliseconds."""
    samples = []
    for i in range(repeat):
        start = time.perf_counter()
        fn(i)
        samples.append((time.perf_counter() - start) * 1000)
    samples.sort()
    return statistics.median(samples), samples[0], samples[int(0.95 * (len(samples) - 1))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "GRADE_CACHE_DIR": str(Path(tmp) / "cache"), "PYTHONPATH": str(SOURCE)}
        ws = Path(tmp) / "ws"
        subprocess.run([sys.executable, "-m", "grader", "init", str(ws)], env=env, check=True,
                       capture_output=True)
        server = subprocess.Popen([sys.executable, "-m", "grader", "serve", str(ws), "--no-browser"],
                                  env=env, stdout=subprocess.PIPE, text=True)
        try:
            line = server.stdout.readline() if server.stdout else ""
            match = re.search(r"127\.0\.0\.1:(\d+)/\?token=(\S+)", line)
            assert match, "grade serve printed no link"
            port, token = int(match.group(1)), match.group(2)
            cookie = f"grade-serve-{port}={token}"
            status, page = _request(port, cookie, "GET", "/item/0.1")
            assert status == 200, status
            found = re.search(rb'name="csrf" content="([^"]+)"', page)
            assert found, "no CSRF value on the page"
            csrf = found.group(1).decode()
            answers = ["32000", "32256"]
            headers = {"Accept": "application/json", "X-CSRF-Token": csrf,
                       "Content-Type": "application/x-www-form-urlencoded",
                       "Origin": f"http://127.0.0.1:{port}"}

            def answer(i: int) -> None:
                status, body = _request(port, cookie, "POST", "/item/0.1/answer",
                                        urlencode({"answer": answers[i % 2]}), headers)
                assert status == 200 and json.loads(body)["status"] in ("correct", "incorrect"), body[:200]

            answer(0)  # warm: the first request imports what grading needs
            median, best, p95 = _times(answer, args.repeat)
            print(f"derive answer -> feedback (POST, write answers.yaml, grade, record progress): "
                  f"median {median:.1f} ms, min {best:.1f} ms, p95 {p95:.1f} ms over {args.repeat}")
            median, best, p95 = _times(lambda i: _request(port, cookie, "GET", "/item/0.1"), args.repeat)
            print(f"an item's page (GET, graded afresh, nothing saved): median {median:.1f} ms, "
                  f"min {best:.1f} ms, p95 {p95:.1f} ms")
            median, best, p95 = _times(lambda i: _request(port, cookie, "GET", "/"), args.repeat)
            print(f"the chapters (GET /, 51 items): median {median:.1f} ms, min {best:.1f} ms, "
                  f"p95 {p95:.1f} ms")
        finally:
            server.terminate()
            server.wait(timeout=30)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(f"cores available: {cores}")


if __name__ == "__main__":
    main()
