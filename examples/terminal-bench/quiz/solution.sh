#!/usr/bin/env bash
# The oracle answers the quiz through a pseudo-terminal (Python's pty module), reading each
# question before typing its answer, as a person at a terminal would.
set -euo pipefail
python3 - <<'PY'
import os, pty, re, sys

answers = {"17 + 25": "42", "9 * 8": "72", "100 - 58": "42"}
pid, fd = pty.fork()
if pid == 0:
    os.execv("/app/quiz", ["/app/quiz"])
seen = b""
while True:
    try:
        chunk = os.read(fd, 1024)
    except OSError:
        break
    if not chunk:
        break
    seen += chunk
    m = re.search(rb"What is ([0-9]+ [-+*] [0-9]+)\? $", seen)
    if m:
        os.write(fd, answers[m.group(1).decode()].encode() + b"\n")
        seen = b""
os.waitpid(pid, 0)
PY
cat /app/score.txt
