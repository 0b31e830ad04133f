#!/usr/bin/env python3
"""What the Python reference does for `auditlog seal`: parse each JSON line,
seal it, print its published JSON. Used only to compare speeds
(docs/performance.md); it imports the reference from ../shared/reference.

Usage: python3 scripts/python_seal.py KEY < events.jsonl > sealed.jsonl
       python3 scripts/python_seal.py --seal-only KEY N < typical-event.json
"""
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "shared", "reference"))
from models import AuditLogEvent  # noqa: E402
from security import seal  # noqa: E402

if sys.argv[1] == "--seal-only":
    key, n = sys.argv[2], int(sys.argv[3])
    event = AuditLogEvent.model_validate(json.load(sys.stdin))
    start = time.perf_counter()
    for _ in range(n):
        seal(event, key)
    elapsed = time.perf_counter() - start
    print(f"{n / elapsed:.0f} events/s")
else:
    key = sys.argv[1]
    out = sys.stdout
    for line in sys.stdin:
        if line.strip():
            event = seal(AuditLogEvent.model_validate(json.loads(line)), key)
            out.write(event.to_json() + "\n")
