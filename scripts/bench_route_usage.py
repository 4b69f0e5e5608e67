"""The route-usage benchmark: writes N realistic S3 data events (about 1 KB each, as
CloudTrail writes them) into gzipped log files in CloudTrail's folder layout, then runs
`vpce-guard route-usage` over them on one core and prints records/s, MB/s of uncompressed
JSON and peak RSS. Run through scripts/bench-route-usage, which builds the binary.

    python scripts/bench_route_usage.py BINARY N [N ...]

The files are cached under target/bench-route-usage/<N> (deterministic, so reusable).
"""

import gzip
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import time
import uuid

sys.path.insert(0, os.path.dirname(__file__))
import cloudtrail_records as ct  # noqa: E402

PER_FILE = 5000  # a busy account's five-minute log file
BUCKETS = [f"amzn-s3-demo-data-{i:02d}" for i in range(8)]
APPROVED = ["vpce-0a1b2c3d4e5f60001", "vpce-0a1b2c3d4e5f60002"]
FOREIGN = "vpce-0b2c3d4e5f6a70002"
EVENTS = ["GetObject"] * 6 + ["PutObject"] * 2 + ["HeadObject", "ListObjects"]


def generate(n, out):
    rnd = random.Random(20261207)
    roles = [ct.identity_role(f"app-{i:02d}", f"i-0{rnd.getrandbits(60):015x}") for i in range(40)]
    users = [ct.identity_user(f"ci-{i:02d}") for i in range(8)]
    # Each client has its addresses: a couple of public IPv4 ones and one IPv6 one.
    public = {
        u["arn"]: [f"203.0.113.{rnd.randrange(1, 255)}", f"198.51.100.{rnd.randrange(1, 255)}",
                   f"2001:db8:{rnd.getrandbits(16):x}::{rnd.getrandbits(16):x}"]
        for u in users
    }
    private = {
        r["arn"]: [f"10.0.{rnd.randrange(256)}.{rnd.randrange(1, 255)}" for _ in range(4)]
        for r in roles
    }
    raw = 0
    day0 = 1796601600  # 2026-12-07T00:00:00Z
    files = (n + PER_FILE - 1) // PER_FILE
    for f in range(files):
        count = min(PER_FILE, n - f * PER_FILE)
        # One day of logs whatever N: the report's size follows principals, sources and
        # hours, not the number of records, and so should its memory.
        start = day0 + f * 86400 // files
        stamp = time.strftime("%Y%m%dT%H%MZ", time.gmtime(start))
        folder = time.strftime(
            f"AWSLogs/{ct.ACCOUNT}/CloudTrail/{ct.REGION}/%Y/%m/%d", time.gmtime(start)
        )
        os.makedirs(os.path.join(out, folder), exist_ok=True)
        records = []
        for i in range(count):
            kind = rnd.random()
            identity = rnd.choice(roles)
            vpce, error, ip = rnd.choice(APPROVED), None, rnd.choice(private[identity["arn"]])
            if kind < 0.20:  # the public route, IPv4 and IPv6
                vpce = None
                identity = rnd.choice(users)
                ip = public[identity["arn"]][0 if kind < 0.10 else 1 if kind < 0.15 else 2]
            elif kind < 0.22:  # denied on the public route
                vpce, error = None, "AccessDenied"
            elif kind < 0.27:  # another account's endpoint
                vpce = FOREIGN
            bucket = rnd.choice(BUCKETS)
            key = f"tenants/{rnd.getrandbits(20):05x}/events/2026/12/07/{uuid.UUID(int=rnd.getrandbits(128))}.json.gz"
            t = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(start + i * 86400 // files // count))
            records.append(
                ct.data_event(
                    bucket=bucket,
                    key=key,
                    event_name=rnd.choice(EVENTS),
                    time=t,
                    identity=identity,
                    source_ip=ip,
                    vpce=vpce,
                    error=error,
                    event_id=str(uuid.UUID(int=rnd.getrandbits(128))),
                    request_id=f"{rnd.getrandbits(64):016X}",
                )
            )
        text = json.dumps({"Records": records}, separators=(",", ":")).encode()
        raw += len(text)
        name = f"{ct.ACCOUNT}_CloudTrail_{ct.REGION}_{stamp}_{f:06d}.json.gz"
        with open(os.path.join(out, folder, name), "wb") as fh:
            fh.write(gzip.compress(text, compresslevel=6))
    with open(os.path.join(out, "SIZE"), "w") as fh:
        fh.write(str(raw))


def main():
    binary, counts = sys.argv[1], [int(a) for a in sys.argv[2:]] or [1_000_000]
    root = os.path.join(os.path.dirname(__file__), "..", "target", "bench-route-usage")
    print(f"{'records':>10} {'files':>6} {'JSON MB':>8} {'gz MB':>7} {'wall s':>7} {'cpu s':>6}"
          f" {'records/s':>10} {'MB/s':>6} {'peak RSS MB':>11}")
    for n in counts:
        out = os.path.join(root, str(n))
        if not os.path.exists(os.path.join(out, "SIZE")):
            shutil.rmtree(out, ignore_errors=True)
            t0 = time.perf_counter()
            generate(n, out)
            print(f"(generated {n} records in {time.perf_counter() - t0:.0f} s)", file=sys.stderr)
        raw = int(open(os.path.join(out, "SIZE")).read())
        gz = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(out) for f in fs if f.endswith(".gz"))
        files = sum(1 for _, _, fs in os.walk(out) for f in fs if f.endswith(".gz"))
        args = ["taskset", "-c", "0", binary, "route-usage", out,
                "--approved-vpce", ",".join(APPROVED), "--format", "json"]
        # A child per run, so that RUSAGE_CHILDREN's peak is this run's alone.
        probe = (
            "import resource,subprocess,sys,time,json;"
            "t=time.perf_counter();p=subprocess.run(sys.argv[1:],stdout=subprocess.PIPE);"
            "w=time.perf_counter()-t;u=resource.getrusage(resource.RUSAGE_CHILDREN);"
            "print(json.dumps([p.returncode,w,u.ru_utime+u.ru_stime,u.ru_maxrss,len(p.stdout)]))"
        )
        res = subprocess.run([sys.executable, "-c", probe, *args], capture_output=True, text=True, check=True)
        rc, wall, cpu, rss_kb, _ = json.loads(res.stdout)
        if rc not in (0, 1):
            sys.exit(f"route-usage failed with {rc}")
        print(f"{n:>10} {files:>6} {raw / 1e6:>8.0f} {gz / 1e6:>7.0f} {wall:>7.2f} {cpu:>6.2f}"
              f" {n / wall:>10.0f} {raw / 1e6 / wall:>6.0f} {rss_kb / 1024:>11.1f}")


if __name__ == "__main__":
    main()
