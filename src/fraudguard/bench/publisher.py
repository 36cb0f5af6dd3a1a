"""A publisher in a process of its own, as a payment gateway would be.

``python -m fraudguard.bench.publisher BOOTSTRAP TOPIC RATE FILE`` sends the messages in
FILE (msgpack: ``[values, keys]``, lists of bytes) at RATE msg/s and prints the achieved
rate. The latency benchmark runs it beside its engine: in the engine's process, the
pacing loop (one ``produce`` per message at these rates) held the GIL the engine's
threads need. A plain child process rather than ``multiprocessing``: that would leave its
resource-tracker process running after the benchmark.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

import msgspec

from fraudguard.errors import FraudGuardError


def publish_elsewhere(bootstrap: str, topic: str, values: list[bytes], keys: list[bytes], rate: float) -> float:
    """Publish ``values`` (with ``keys``) at ``rate`` from a child process; the achieved rate."""
    with tempfile.TemporaryDirectory(prefix="fraudguard-publisher-") as tmp:
        path = Path(tmp) / "messages.msgpack"
        path.write_bytes(msgspec.msgpack.encode([values, keys]))
        argv = [sys.executable, "-m", "fraudguard.bench.publisher", bootstrap, topic, str(rate), str(path)]
        out = subprocess.run(argv, capture_output=True, text=True, timeout=len(values) / rate + 300)
    if out.returncode != 0:
        raise FraudGuardError(f"the benchmark publisher failed ({out.returncode}): {out.stderr[-2000:]}")
    return float(out.stdout.strip().splitlines()[-1])


def main(argv: list[str]) -> None:
    from fraudguard.io.publish import Batch, publish, rate_offsets

    bootstrap, topic, rate_text, path = argv
    rate = float(rate_text)
    values, keys = msgspec.msgpack.decode(Path(path).read_bytes(), type=tuple[list[bytes], list[bytes]])
    batch = Batch(keys=keys, values=values, offsets=rate_offsets(0, len(values), rate))
    report = publish(bootstrap, topic, [batch], total=len(values), target_rate=rate, progress=False)
    print(report.rate)


if __name__ == "__main__":
    main(sys.argv[1:])
