"""Benchmarks order-producer and order-consumer against kcat and confluent-kafka (Python).

Run through scripts/bench (`make bench`). Every tool sends the same N orders (one generated JSON
lines file, keyed by order_id) with acks=1 and no compression to a fresh topic, then reads them
back. Each case runs BENCH_RUNS times in alternating tool order; the median is reported, and a
run only counts when it is correct (N distinct order_ids in the topic, or read back).
"""

import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import uuid

import confluent_kafka

N = int(os.environ.get("BENCH_N", "100000"))
RUNS = int(os.environ.get("BENCH_RUNS", "5"))
BROKER = "127.0.0.1:" + os.environ.get("KAFKA_PORT", "9092")
OUT = os.environ.get("BENCH_OUT", "docs/benchmarks.md")
# The static binaries people copy to their hosts (`make static`).
PRODUCER = "dist/x86_64-unknown-linux-musl/order-producer"
CONSUMER = "dist/x86_64-unknown-linux-musl/order-consumer"
PY = sys.executable
TOOLS = ["order-kafka", "kcat", "python"]


def generate(path, n):
    items = ["paperback book", "laptop sleeve", "usb-c phone charger", "wireless headphones",
             "27-inch monitor", "mechanical keyboard", "optical mouse", "hdmi cable 2m"]
    ids = []
    with open(path, "w") as plain, open(path + ".keyed", "w") as keyed:
        for i in range(n):
            oid = str(uuid.uuid4())
            line = json.dumps(
                {"order_id": oid, "user": f"customer-{i % 5000:04d}@example.com", "item": items[i * 7 % 8],
                 "quantity": 1 + i % 9},
                separators=(",", ":"),
            )
            plain.write(line + "\n")
            keyed.write(oid + "|" + line + "\n")
            ids.append(oid)
    return ids


PY_PRODUCE = """
import sys, confluent_kafka
broker, topic, path = sys.argv[1:4]
p = confluent_kafka.Producer({"bootstrap.servers": broker, "acks": "1", "linger.ms": 5})
acked = [0]
def done(err, msg):
    if err is None:
        acked[0] += 1
with open(path) as f:
    for line in f:
        key, value = line.rstrip("\\n").split("|", 1)
        while True:
            try:
                p.produce(topic, key=key, value=value, on_delivery=done)
                break
            except BufferError:
                p.poll(0.01)
        p.poll(0)
p.flush()
print(acked[0])
"""

PY_CONSUME = """
import sys, confluent_kafka
broker, topic, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
c = confluent_kafka.Consumer({"bootstrap.servers": broker, "group.id": "bench-" + topic,
    "auto.offset.reset": "earliest", "enable.auto.commit": True})
c.subscribe([topic])
seen = 0
out = sys.stdout
while seen < n:
    m = c.poll(1.0)
    if m is None or m.error():
        continue
    out.write(m.value().decode() + "\\n")
    seen += 1
c.close()
"""


def timed(cmd, stdin=None, stdout=subprocess.PIPE):
    """Runs cmd under /usr/bin/time; returns (wall s, cpu s, max RSS KiB, stdout)."""
    with tempfile.NamedTemporaryFile("r") as t:
        start = time.monotonic()
        proc = subprocess.run(
            ["/usr/bin/time", "-o", t.name, "-f", "%U %S %M"] + cmd,
            stdin=stdin, stdout=stdout, stderr=subprocess.PIPE,
        )
        wall = time.monotonic() - start
        if proc.returncode != 0:
            raise RuntimeError(f"{cmd[0]} failed: {proc.stderr.decode()[-500:]}")
        user, sys_, rss = t.read().split()[-3:]
    return wall, float(user) + float(sys_), int(rss), proc.stdout


def create_topic(name):
    subprocess.run(
        ["scripts/kafka-local", "topic", name, "1"], check=True,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        env={**os.environ, "KAFKA_PORT": BROKER.rsplit(":", 1)[1]},
    )


def stored_keys(topic):
    out = subprocess.run(
        ["kcat", "-b", BROKER, "-C", "-t", topic, "-e", "-q", "-f", "%k\n"],
        check=True, stdout=subprocess.PIPE,
    ).stdout.decode()
    return set(out.split())


def produce(tool, topic, path):
    keyed = path + ".keyed"
    if tool == "order-kafka":
        cmd = [PRODUCER, "-b", BROKER, "-t", topic, "--stdin", "--quiet", "--acks", "1"]
        with open(path) as f:
            return timed(cmd, stdin=f)
    if tool == "kcat":
        cmd = ["kcat", "-b", BROKER, "-P", "-t", topic, "-K", "|", "-X", "acks=1"]
        with open(keyed) as f:
            return timed(cmd, stdin=f)
    return timed([PY, "-c", PY_PRODUCE, BROKER, topic, keyed])


def consume(tool, topic, n):
    if tool == "order-kafka":
        cmd = [CONSUMER, "-b", BROKER, "-t", topic, "--no-group", "--no-dlq", "--format", "json",
               "--max-messages", str(n)]
    elif tool == "kcat":
        cmd = ["kcat", "-b", BROKER, "-C", "-t", topic, "-e", "-q", "-c", str(n)]
    else:
        cmd = [PY, "-c", PY_CONSUME, BROKER, topic, str(n)]
    return timed(cmd)


def ids_in(output):
    ids = set()
    for line in output.decode().splitlines():
        i = line.find('"order_id":"')
        if i >= 0:
            ids.add(line[i + 12:i + 48])
    return ids


def file_sizes(paths):
    return sum(os.path.getsize(p) for p in paths if os.path.exists(p))


def loaded_size(binary):
    """The binary plus the shared libraries it loads, in bytes."""
    libs = subprocess.run(["ldd", binary], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL).stdout.decode()
    paths = [binary] + [p.split()[0] for p in (l.split("=>")[-1] for l in libs.splitlines()) if p.strip().startswith("/")]
    return file_sizes(set(os.path.realpath(p) for p in paths))


def python_size():
    import confluent_kafka as ck
    pkg = os.path.dirname(ck.__file__)
    libs_dir = os.path.join(os.path.dirname(pkg), "confluent_kafka.libs")
    files = []
    for d in [pkg, libs_dir]:
        for root, _, names in os.walk(d):
            files += [os.path.join(root, n) for n in names if ".so" in n]
    return loaded_size(os.path.realpath(PY)) + file_sizes(files)


def main():
    work = tempfile.mkdtemp(prefix="bench-")
    path = os.path.join(work, "orders.jsonl")
    ids = set(generate(path, N))
    avg = os.path.getsize(path) / N
    print(f"bench: {N} orders, {avg:.0f} bytes each, {RUNS} runs per case, broker {BROKER}", flush=True)
    one = os.path.join(work, "one.jsonl")
    generate(one, 1)

    results = {(kind, tool): [] for kind in ["produce", "consume", "first-ack", "first-order"] for tool in TOOLS}
    stamp = int(time.time())
    # One untimed round first: a freshly started broker's JVM is still compiling its hot paths.
    for tool in TOOLS:
        topic = f"bench-{stamp}-warmup-{tool}"
        create_topic(topic)
        produce(tool, topic, path)
        consume(tool, topic, N)
    for run in range(RUNS):
        order = TOOLS[run % 3:] + TOOLS[:run % 3]
        for tool in order:
            topic = f"bench-{stamp}-{run}-{tool}"
            create_topic(topic)
            wall, cpu, rss, _ = produce(tool, topic, path)
            if stored_keys(topic) != ids:
                print(f"bench: {tool} produce run {run}: topic does not hold the {N} orders; not counted")
            else:
                results[("produce", tool)].append((wall, cpu, rss))
            wall, cpu, rss, out = consume(tool, topic, N)
            if ids_in(out) != ids:
                print(f"bench: {tool} consume run {run}: did not read the {N} orders; not counted")
            else:
                results[("consume", tool)].append((wall, cpu, rss))
            single = f"{topic}-one"
            create_topic(single)
            results[("first-ack", tool)].append(produce(tool, single, one)[:3])
            results[("first-order", tool)].append(consume(tool, single, 1)[:3])
        print(f"bench: run {run + 1}/{RUNS} done", flush=True)

    med = {}
    for key, runs in results.items():
        if runs:
            med[key] = tuple(statistics.median(r[i] for r in runs) for i in range(3))
    sizes = {
        "order-kafka": (os.path.getsize(PRODUCER), os.path.getsize(CONSUMER)),
        "kcat": (loaded_size("/usr/bin/kcat"),) * 2,
        "python": (python_size(),) * 2,
    }
    profiles = profile(path, work)
    write_report(med, sizes, avg, work, profiles)


def profile(path, work):
    """Top symbols of our producer and consumer under `perf record`, from an unstripped build."""
    if os.environ.get("BENCH_PROFILE", "1") == "0" or subprocess.run(
        ["perf", "--version"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    ).returncode != 0:
        return None
    env = {**os.environ, "CARGO_PROFILE_RELEASE_STRIP": "false", "CARGO_PROFILE_RELEASE_DEBUG": "1"}
    subprocess.run(
        ["cargo", "build", "--release", "--locked", "--quiet", "--target", "x86_64-unknown-linux-musl",
         "--target-dir", "target/profile"],
        check=True, env=env,
    )
    bin_dir = "target/profile/x86_64-unknown-linux-musl/release"
    topic = f"bench-{int(time.time())}-profile"
    create_topic(topic)
    out = {}
    runs = {
        "producer": ([f"{bin_dir}/order-producer", "-b", BROKER, "-t", topic, "--stdin", "--quiet"], path),
        "consumer": ([f"{bin_dir}/order-consumer", "-b", BROKER, "-t", topic, "--no-group", "--no-dlq",
                      "--format", "json", "--max-messages", str(N)], None),
    }
    for name, (cmd, stdin) in runs.items():
        data = os.path.join(work, f"perf.{name}")
        with open(stdin or os.devnull) as f:
            subprocess.run(["perf", "record", "-q", "-o", data, "--"] + cmd, stdin=f,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        report = subprocess.run(
            ["perf", "report", "-i", data, "--no-children", "--stdio", "--percent-limit", "2",
             "--sort", "symbol"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
        ).stdout.decode()
        rows = [" ".join(l.split()).rstrip(" -") for l in report.splitlines() if l.strip() and not l.startswith("#")]
        out[name] = rows[:10]
    return out


TARGETS = [
    ("producer orders/s >= kcat", "produce", 0, ">=", 1.0),
    ("producer CPU per order <= 0.5x kcat", "produce", 1, "<=", 0.5),
    ("consumer orders/s >= kcat", "consume", 0, ">=", 1.0),
    ("start to first ack <= 0.5x kcat", "first-ack", 0, "<=", 0.5),
    ("max RSS <= 0.25x kcat (producing, consuming)", None, 2, "<=", 0.25),
]


def targets_rows(med):
    rows = []
    for label, kind, field, op, bound in TARGETS:
        kinds = [kind] if kind else ["produce", "consume"]
        ratios = []
        for k in kinds:
            ours, theirs = med.get((k, "order-kafka")), med.get((k, "kcat"))
            if not ours or not theirs or not theirs[field]:
                continue
            # Rates are N / wall: a higher rate is a lower wall time.
            ratios.append(theirs[0] / ours[0] if field == 0 and op == ">=" else ours[field] / theirs[field])
        if not ratios:
            rows.append(f"| {label} | not measured | |")
            continue
        met = all(r >= bound if op == ">=" else r <= bound for r in ratios)
        shown = ", ".join(f"{r:.2f}x" for r in ratios)
        rows.append(f"| {label} | {shown} | {'met' if met else '**missed**'} |")
    return rows


def versions():
    kcat = subprocess.run(["kcat", "-V"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT).stdout.decode()
    kcat_line = next((l.strip() for l in kcat.splitlines() if "version" in l.lower()), kcat.splitlines()[0])
    ours = subprocess.run([PRODUCER, "--version"], stdout=subprocess.PIPE).stdout.decode().strip()
    kafka = subprocess.run(["scripts/kafka-local", "version"], stdout=subprocess.PIPE).stdout.decode().strip()
    return [
        f"{ours} (static x86_64 musl build from `make static`, `kafka` crate 0.10)",
        f"kcat: {kcat_line}",
        f"confluent-kafka {confluent_kafka.version()[0]} (librdkafka {confluent_kafka.libversion()[0]}), "
        f"Python {platform.python_version()}",
        f"Apache Kafka {kafka} (scripts/kafka-local, one node, KRaft)",
    ]


def machine():
    model = "unknown CPU"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return f"{os.cpu_count()} cores, {model}, Linux {platform.release()}"


def write_report(med, sizes, avg, work, profiles):
    def row(kind, tool, base):
        if (kind, tool) not in med:
            return f"| {tool} | not counted | | | | |"
        wall, cpu, rss = med[(kind, tool)]
        rate = N / wall
        bwall, bcpu, brss = med.get((kind, "kcat"), (wall, cpu, rss))
        return (f"| {tool} | {wall:.2f} s | {rate:,.0f} ({rate / (N / bwall):.2f}x) | "
                f"{cpu * 100000 / N:.2f} s ({f'{cpu / bcpu:.2f}x' if bcpu else 'n/a'}) | "
                f"{rss / 1024:.1f} MiB ({rss / brss:.2f}x) |")

    def start_row(kind, tool):
        wall, _, rss = med[(kind, tool)]
        bwall = med[(kind, "kcat")][0]
        return f"| {tool} | {wall * 1000:.0f} ms ({wall / bwall:.2f}x) | {rss / 1024:.1f} MiB |"

    chart = os.path.splitext(OUT)[0] + ".png"
    os.makedirs(os.path.dirname(OUT) or ".", exist_ok=True)
    draw_chart(med, chart)
    lines = [
        "# Benchmarks",
        "",
        "Written by `make bench` (scripts/bench.py); the figures are what it measured, not edited.",
        "",
        f"- Machine: {machine()}",
        *[f"- {v}" for v in versions()],
        f"- Orders: {N} generated JSON lines, {avg:.0f} bytes on average, keyed by `order_id`, "
        "one file for every tool",
        f"- Method: one untimed warm-up round, then each case {RUNS} times on a fresh "
        "single-partition topic, tools in rotating order, median kept. acks=1, no compression. A run counts only when the topic holds all "
        f"{N} order_ids (produce) or all {N} were read back (consume). Times are wall clock of the "
        "whole process; CPU is user+sys of the client process; RSS is its peak.",
        "- Clients: `order-producer --stdin --quiet`; `kcat -P -K '|' -X acks=1` (librdkafka "
        "defaults otherwise); a Python producer on confluent-kafka (`linger.ms=5`, the seed's "
        "library) in bulk. Reading: `order-consumer --no-group --max-messages N --format json`; "
        "`kcat -C -e -c N`; a confluent-kafka consumer in a fresh group.",
        "",
        f"![throughput and memory]({os.path.basename(chart)})",
        "",
        f"## Producing {N} orders",
        "",
        "| client | wall | orders/s (vs kcat) | CPU per 100k orders (vs kcat) | max RSS (vs kcat) |",
        "| --- | --- | --- | --- | --- |",
        *[row("produce", t, "kcat") for t in TOOLS],
        "",
        f"## Consuming {N} orders",
        "",
        "| client | wall | orders/s (vs kcat) | CPU per 100k orders (vs kcat) | max RSS (vs kcat) |",
        "| --- | --- | --- | --- | --- |",
        *[row("consume", t, "kcat") for t in TOOLS],
        "",
        "## Start-up: process start to the first acknowledged / printed order",
        "",
        "One order produced (the process exits after its acknowledgement) and one order read.",
        "",
        "| client | first ack (vs kcat) | max RSS | ",
        "| --- | --- | --- |",
        *[start_row("first-ack", t) for t in TOOLS],
        "",
        "| client | first order printed (vs kcat) | max RSS |",
        "| --- | --- | --- |",
        *[start_row("first-order", t) for t in TOOLS],
        "",
        "## Size on disk, shared libraries included",
        "",
        "| client | bytes |",
        "| --- | --- |",
        f"| order-producer | {sizes['order-kafka'][0]:,} (static: none loaded) |",
        f"| order-consumer | {sizes['order-kafka'][1]:,} (static: none loaded) |",
        f"| kcat + its shared libraries | {sizes['kcat'][0]:,} |",
        f"| python3 + libpython + confluent-kafka's native libraries | {sizes['python'][0]:,} |",
        "",
        "## Targets",
        "",
        "| target | ours vs kcat | |",
        "| --- | --- | --- |",
        *targets_rows(med),
        "",
        "Where we fall short: the `kafka` crate speaks the v0 message format, so every record",
        "carries its own CRC-32, and the crate's `to_crc` builds a fresh 256-entry CRC table",
        "(`crc::Crc::new`) for each record it encodes or checks. librdkafka sends v2 record batches,",
        "one CRC-32C per batch. The consumer skips the crate's per-record check (librdkafka's",
        "`check.crcs` is off by default too); the producer cannot, as the broker requires the CRC.",
        "The static musl build also pays for musl's allocator. The profile below shows where the",
        "time goes.",
        "",
    ]
    if profiles:
        for name, top in profiles.items():
            lines += [f"`perf record` of order-{name} (symbols above 2% of samples):", "", "```",
                      *top, "```", ""]
    else:
        lines += ["(No profile in this run: perf is missing or BENCH_PROFILE=0.)", ""]
    os.makedirs(os.path.dirname(OUT) or ".", exist_ok=True)
    with open(OUT, "w") as f:
        f.write("\n".join(lines))
    print("\n".join(lines))
    print(f"bench: wrote {OUT} and {chart} (work files in {work})")


def draw_chart(med, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(12, 3.6))
    colors = ["#2b6cb0", "#718096", "#d69e2e"]
    panels = [
        ("produce orders/s", lambda t: N / med[("produce", t)][0] if ("produce", t) in med else 0),
        ("consume orders/s", lambda t: N / med[("consume", t)][0] if ("consume", t) in med else 0),
        ("max RSS consuming (MiB)", lambda t: med[("consume", t)][2] / 1024 if ("consume", t) in med else 0),
    ]
    for ax, (title, value) in zip(axes, panels):
        vals = [value(t) for t in TOOLS]
        ax.bar(TOOLS, vals, color=colors)
        ax.set_title(title)
        for i, v in enumerate(vals):
            ax.text(i, v, f"{v:,.0f}" if v >= 10 else f"{v:.1f}", ha="center", va="bottom", fontsize=8)
    fig.suptitle(f"{N} orders, median of {RUNS} runs")
    fig.tight_layout()
    fig.savefig(path, dpi=100)


if __name__ == "__main__":
    main()
