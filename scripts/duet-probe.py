#!/usr/bin/env python3
"""How well does a duet cancel this machine's noise? (BENCHMARKS.md, "Duets")

Starts two monoliths, A and B, pinned to one core (1), and drives product pages at
both from this process pinned to the other (0): in turns, one after the other (`seq`),
or both at once (`duet`), each send going to A and B at the same instant or B
`--offset` seconds after A. For each pair of measurements it prints each side's CPU per
request (from the process's CPU-time clock) and its mean time per inventory call (from
its /metrics), and at the end the spread of log(A/B) over the pairs: what a gate
dividing A by B would see as noise.

    scripts/duet-probe.py seq --pairs 12
    scripts/duet-probe.py duet --pairs 12 [--offset 0.0003] [--slow-a catalog=0.1]
        [--monolith-b target/reference/COMMIT/monolith]

Both monoliths are stopped on every way out (Ctrl-C included).
"""

import argparse
import asyncio
import math
import os
import random
import re
import subprocess
import sys
import tempfile
import time
import urllib.request

PORTS = (18081, 18082)


def cpu_ns(pid):
    # The process's CPU-time clock (CPUCLOCK_SCHED), as clock_getcpuclockid gives it.
    return time.clock_gettime_ns(((~pid) << 3) | 2)


def inventory_time(port):
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics").read().decode()
    total = count = 0.0
    for name in ("sum", "count"):
        pattern = rf'shop_component_call_duration_seconds_{name}\{{component="inventory"[^}}]*\}} (\S+)'
        value = sum(float(v) for v in re.findall(pattern, text))
        total, count = (value, count) if name == "sum" else (total, value)
    return total, count


async def get(conn, sku):
    reader, writer = conn
    writer.write(f"GET /api/products/SKU-{sku:05d} HTTP/1.1\r\nHost: shop\r\n\r\n".encode())
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n")
                  if line.lower().startswith(b"content-length"))
    await reader.readexactly(length)


async def drive(ports, rate, seconds, offset, rng):
    """Sends `rate` product pages a second to each of `ports` for `seconds`; returns
    how many each answered."""
    pools = {}
    for port in ports:
        pools[port] = asyncio.Queue()
        for _ in range(16):
            pools[port].put_nowait(await asyncio.open_connection("127.0.0.1", port))
    answered = {port: 0 for port in ports}

    async def send(port, sku):
        conn = await pools[port].get()
        await get(conn, sku)
        answered[port] += 1
        pools[port].put_nowait(conn)

    async def at(instant):
        wait = instant - time.perf_counter()
        if wait > 0:
            await asyncio.sleep(wait)

    start, tasks = time.perf_counter(), []
    for i in range(int(rate * seconds)):
        due = start + i / rate
        await at(due)
        sku = rng.randrange(10000)
        if offset and len(ports) == 2:
            tasks.append(asyncio.create_task(send(ports[0], sku)))
            await at(due + offset)
            tasks.append(asyncio.create_task(send(ports[1], sku)))
        else:
            # Both at once, who goes first alternating.
            for port in ports if i % 2 == 0 else ports[::-1]:
                tasks.append(asyncio.create_task(send(port, sku)))
    await asyncio.gather(*tasks)
    for pool in pools.values():
        while not pool.empty():
            pool.get_nowait()[1].close()
    return answered


async def measure(ports, pids, args, rng):
    """CPU per request (us) and time per inventory call (us) of each of `ports`."""
    await drive(ports, args.rate, 0.5, args.offset, rng)  # warm-up
    calls = {p: inventory_time(p) for p in ports}
    cpu = {p: cpu_ns(pids[p]) for p in ports}
    answered = await drive(ports, args.rate, args.seconds, args.offset, rng)
    found = {}
    for p in ports:
        spent = (cpu_ns(pids[p]) - cpu[p]) / answered[p] / 1e3
        total, count = inventory_time(p)
        found[p] = (spent, (total - calls[p][0]) / (count - calls[p][1]) * 1e6)
    return found


def spread(logs):
    mean = sum(logs) / len(logs)
    sd = math.sqrt(sum((x - mean) ** 2 for x in logs) / (len(logs) - 1))
    return sd, math.exp(mean)


async def probe(args, pids):
    rng = random.Random(1)
    a, b = PORTS
    cpu_logs, call_logs = [], []
    for pair in range(args.pairs):
        if args.mode == "seq":
            found = {}
            for port in (a, b) if pair % 2 == 0 else (b, a):
                found.update(await measure([port], pids, args, rng))
        else:
            found = await measure([a, b], pids, args, rng)
        cpu_logs.append(math.log(found[a][0] / found[b][0]))
        call_logs.append(math.log(found[a][1] / found[b][1]))
        print(f"{args.mode} pair {pair + 1}: CPU/request A {found[a][0]:.1f} B {found[b][0]:.1f} us, "
              f"inventory call A {found[a][1]:.2f} B {found[b][1]:.2f} us", flush=True)
    for what, logs in (("CPU per request", cpu_logs), ("time per inventory call", call_logs)):
        sd, ratio = spread(logs)
        print(f"== {args.mode} at {args.rate:.0f}/s, offset {args.offset * 1e3:.2f} ms, "
              f"{what}: A/B {ratio:.3f}, sd of log(A/B) {sd:.3f} over {args.pairs} pairs")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("mode", choices=["seq", "duet"])
    parser.add_argument("--pairs", type=int, default=12)
    parser.add_argument("--rate", type=float, default=400.0, help="per side, req/s")
    parser.add_argument("--seconds", type=float, default=3.0, help="measured, per turn")
    parser.add_argument("--offset", type=float, default=0.0, help="B's sends this late (s)")
    parser.add_argument("--slow-a", help="SHOP_TEST_SLOWDOWN for A (e.g. catalog=0.1)")
    parser.add_argument("--monolith", default="target/release/monolith")
    parser.add_argument("--monolith-b", help="B's binary, when not A's (e.g. a copy of it)")
    args = parser.parse_args()
    if args.pairs < 2:
        parser.error("--pairs: at least 2")
    os.sched_setaffinity(0, {0})
    processes = []
    try:
        with tempfile.TemporaryDirectory() as data:
            binaries = (args.monolith, args.monolith_b or args.monolith)
            for port, slow, binary in zip(PORTS, (args.slow_a, None), binaries):
                env = dict(os.environ, **({"SHOP_TEST_SLOWDOWN": slow} if slow else {}))
                processes.append(subprocess.Popen(
                    ["taskset", "-c", "1", binary, "--listen", f"127.0.0.1:{port}",
                     "--data", f"{data}/{port}"],
                    env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
            for port in PORTS:
                for _ in range(100):
                    try:
                        urllib.request.urlopen(f"http://127.0.0.1:{port}/health/ready")
                        break
                    except OSError:
                        time.sleep(0.1)
                else:
                    sys.exit(f"the monolith on port {port} never got ready")
            pids = {port: p.pid for port, p in zip(PORTS, processes)}
            asyncio.run(probe(args, pids))
    except KeyboardInterrupt:
        sys.exit(130)
    finally:
        for p in processes:
            p.terminate()
        for p in processes:
            p.wait()


if __name__ == "__main__":
    main()
