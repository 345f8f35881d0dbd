"""Benchmarks order-producer and order-consumer against kcat and confluent-kafka (Python).

Run through scripts/bench (`make bench`). Every tool sends the same N orders (one generated JSON
lines file, keyed by order_id) to a fresh single-partition topic twice: with acks=all and the
idempotent producer (the default of all three), and with acks=1 without idempotence; no
compression. The orders are then read back in two output formats: ours `--format json` beside
kcat's JSON envelope (`-J`), and ours human (the default) beside kcat's default output and the
Python consumer. Each case runs BENCH_RUNS times in rotating tool order and the median is kept; a
run only counts when it is correct (the topic holds exactly the N orders, or all N were read
back). Wall, CPU (user+sys) and peak RSS are the client process's own, from wait4 in a small C
launcher. Start-up is timed on single-order runs, BENCH_START_RUNS times per tool. Binary sizes
come from dist/ (`make static`).

The steady state: a case of BENCH_BIG_N orders (producing with acks=all, consuming JSON, ours
beside kcat, BENCH_BIG_RUNS runs), and heap allocations per order of a `count-allocs` build,
(A(N) - A(N/10)) / (N - N/10) from the one `heap allocations: <count>` line each binary of that
build prints on stderr at exit.

Avro through a Schema Registry (a case added for issue 23, "Schema evolution"): ours
`order-producer --serializer avro` beside a confluent-kafka producer with its AvroSerializer,
producing the same N orders (acks=all, idempotent) to the same broker and registry
(BENCH_REGISTRY, default Apicurio's Confluent-compatible API on 127.0.0.1:8081, which
scripts/bench starts when none answers), then each tool reading its own records back (ours
`--schema-registry`, default output; confluent-kafka's AvroDeserializer), side by side with
orders/s and CPU per order, ours against the Python client.

Store and forward (a case added for issue 24, "Store and forward, exactly once"): ours alone, N
orders spooled with `--spool-only` and then forwarded by `--drain` in transactions, with wall
time, orders/s, CPU per order, and fsyncs (counted by one more run under strace) per second.

With BENCH_STABLE_DIR, a second build of ours (the same code built by stable Rust without the
nightly size options) runs beside the shipped one in every N case, so the two compare in one run.

Every target is marked met or missed; a missed speed target brings a `perf record` profile of
our binary in that case. Where the bytes go (sections, `cargo bloat` by crate and the largest
functions of the shipped build) is always reported.
"""

import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid

import confluent_kafka
from confluent_kafka.admin import AdminClient, NewTopic

N = int(os.environ.get("BENCH_N", "100000"))
RUNS = int(os.environ.get("BENCH_RUNS", "5"))
START_RUNS = int(os.environ.get("BENCH_START_RUNS", "9"))
# The steady-state case; a small BENCH_N (CI's tiny run) skips it unless it is asked for.
BIG_N = int(os.environ.get("BENCH_BIG_N") or (1000000 if N >= 10000 else 0))
BIG_RUNS = int(os.environ.get("BENCH_BIG_RUNS", "3"))
BROKER = "127.0.0.1:" + os.environ.get("KAFKA_PORT", "9092")
# The Schema Registry of the Avro case (issue 23): its Confluent-compatible API.
REGISTRY = os.environ.get("BENCH_REGISTRY") or \
    f"http://127.0.0.1:{os.environ.get('REGISTRY_PORT', '8081')}/apis/ccompat/v7"
AVSC = "schema/order.avsc"
OUT = os.environ.get("BENCH_OUT", "docs/benchmarks.md")
# auto: profile when a target is missed and the run is long enough for the per-order path to
# dominate (a 2,000-order profile mostly shows start-up).
PROFILE = os.environ.get("BENCH_PROFILE", "auto")
PROFILE_MIN_N = 20000
# The static binaries people copy to their hosts (`make static`).
HOST_TARGET = "x86_64-unknown-linux-musl"
SHIPPED_DIR = f"dist/{HOST_TARGET}"
BIN_DIR = os.environ.get("BENCH_BIN_DIR", SHIPPED_DIR)
PRODUCER = f"{BIN_DIR}/order-producer"
CONSUMER = f"{BIN_DIR}/order-consumer"
STABLE_DIR = os.environ.get("BENCH_STABLE_DIR", "")
STABLE = "order-kafka (stable build)"
# Our builds by tool name: (producer, consumer).
OURS = {"order-kafka": (PRODUCER, CONSUMER)}
# The Avro case runs the TLS build, the one with the Schema Registry (cargo feature `registry`):
# dist/<target>-tls beside the shipped default build, or BENCH_AVRO_DIR.
AVRO_DIR = os.environ.get("BENCH_AVRO_DIR", f"{BIN_DIR}-tls" if BIN_DIR == SHIPPED_DIR else BIN_DIR)
AVRO_OURS = "order-kafka (TLS build)"
AVRO_BINARIES = (f"{AVRO_DIR}/order-producer", f"{AVRO_DIR}/order-consumer")
if STABLE_DIR:
    OURS[STABLE] = (f"{STABLE_DIR}/order-producer", f"{STABLE_DIR}/order-consumer")
STATIC_TARGETS = [HOST_TARGET, "aarch64-unknown-linux-musl", "armv7-unknown-linux-musleabihf"]
BINARIES = ["order-producer", "order-consumer"]
PY = sys.executable
TOOLS = [*OURS, "kcat", "python"]
# The build whose binaries count their heap allocations (the cargo feature `count-allocs`).
ALLOC_FEATURE = "count-allocs"
ALLOC_DIR = "target/count-allocs"
ALLOC_SIZES = (max(N // 10, 1), N)
ALLOC_BOUND = 0.01

# Cases: (title, the tools in it, what it does, orders). What it does: ("produce", acks) or
# ("consume", output format); the consumers read what the producers of the same run stored.
CASES = {
    "produce-all": ("Producing {n} orders, acks=all with idempotence", TOOLS, ("produce", "all"), N),
    "produce-1": ("Producing {n} orders, acks=1 without idempotence", TOOLS, ("produce", "1"), N),
    "consume-json": ("Consuming {n} orders, JSON output", [*OURS, "kcat"], ("consume", "json"), N),
    "consume-human": ("Consuming {n} orders, default output", TOOLS, ("consume", "human"), N),
    # The Avro case, added for issue 23: ours and the Python client only (kcat has no Avro).
    "avro-produce": ("Producing {n} Avro orders through a Schema Registry, acks=all with idempotence",
                     [AVRO_OURS, "python"], ("produce-avro", "all"), N),
    "avro-consume": ("Consuming {n} Avro orders through a Schema Registry, default output",
                     [AVRO_OURS, "python"], ("consume-avro", "human"), N),
    "big-produce": ("Producing {n} orders, acks=all with idempotence", ["order-kafka", "kcat"],
                    ("produce", "all"), BIG_N),
    "big-consume": ("Consuming {n} orders, JSON output", ["order-kafka", "kcat"], ("consume", "json"), BIG_N),
}
# The case of N orders whose profile explains a missed target of the big case.
PROFILED_AS = {"big-produce": "produce-all", "big-consume": "consume-json"}
BIG = f"{BIG_N:,} orders" if BIG_N else "the big case"
AVRO_TOOLS = CASES["avro-produce"][1]

# Issue 12, "Speed and size", and "Per-order cost at or below kcat's": (key, label, cases, field,
# op, bound). Fields: 0 wall, 1 CPU, 2 peak RSS. For orders/s the ratio is kcat's wall over ours,
# so a higher value is better.
TARGETS = [
    ("rate", "producer orders/s >= 1.0x kcat (acks=all, acks=1)", ["produce-all", "produce-1"], 0, ">=", 1.0),
    ("cpu", "producer CPU per order <= 1.0x kcat (acks=all, acks=1)", ["produce-all", "produce-1"], 1, "<=", 1.0),
    ("rate", "consumer orders/s >= 1.0x kcat (JSON, default output)", ["consume-json", "consume-human"], 0,
     ">=", 1.0),
    ("cpu", "consumer CPU per order <= 1.0x kcat (JSON, default output)", ["consume-json", "consume-human"], 1,
     "<=", 1.0),
    ("rate", f"{BIG}: orders/s >= 1.0x kcat (producing acks=all, consuming JSON)",
     ["big-produce", "big-consume"], 0, ">=", 1.0),
    ("cpu", f"{BIG}: CPU per order <= 1.0x kcat (producing acks=all, consuming JSON)",
     ["big-produce", "big-consume"], 1, "<=", 1.0),
    ("rss", "peak RSS <= 0.25x kcat (producing acks=all, acks=1; consuming JSON, default output)",
     ["produce-all", "produce-1", "consume-json", "consume-human"], 2, "<=", 0.25),
    ("start", "start to first ack <= 0.3x kcat", ["first-ack"], 0, "<=", 0.3),
]
# Size budgets per binary, on every target; scripts/build-static enforces the same numbers.
BUDGET = 700 * 1024
TLS_BUDGET = 1536 * 1024


def times(n):
    return "once" if n == 1 else f"{n} times"


def progress(message):
    """A line on stderr, so a person sees a long run moving (the report goes to stdout)."""
    print(f"bench: {message}", file=sys.stderr, flush=True)


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
broker, topic, path, acks = sys.argv[1:5]
p = confluent_kafka.Producer({"bootstrap.servers": broker, "acks": acks,
    "enable.idempotence": acks == "all", "linger.ms": 5})
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
broker, topic, n, group = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
c = confluent_kafka.Consumer({"bootstrap.servers": broker, "group.id": group,
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

# The Avro case's Python side: confluent-kafka's AvroSerializer / AvroDeserializer (fastavro) with
# its SchemaRegistryClient, the serializers teams with Confluent clients use.
PY_AVRO_PRODUCE = """
import json, sys, confluent_kafka
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroSerializer
from confluent_kafka.serialization import MessageField, SerializationContext
broker, registry, topic, path, schema = sys.argv[1:6]
with open(schema) as f:
    serialize = AvroSerializer(SchemaRegistryClient({"url": registry}), f.read())
ctx = SerializationContext(topic, MessageField.VALUE)
p = confluent_kafka.Producer({"bootstrap.servers": broker, "acks": "all",
    "enable.idempotence": True, "linger.ms": 5})
acked = [0]
def done(err, msg):
    if err is None:
        acked[0] += 1
with open(path) as f:
    for line in f:
        key, value = line.rstrip("\\n").split("|", 1)
        value = serialize(json.loads(value), ctx)
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

PY_AVRO_CONSUME = """
import json, sys, confluent_kafka
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer
from confluent_kafka.serialization import MessageField, SerializationContext
broker, registry, topic, n, group = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]
decode = AvroDeserializer(SchemaRegistryClient({"url": registry}))
ctx = SerializationContext(topic, MessageField.VALUE)
c = confluent_kafka.Consumer({"bootstrap.servers": broker, "group.id": group,
    "auto.offset.reset": "earliest", "enable.auto.commit": True})
c.subscribe([topic])
seen = 0
out = sys.stdout
while seen < n:
    m = c.poll(1.0)
    if m is None or m.error():
        continue
    # fastavro gives the uuid logical type as uuid.UUID: default=str prints it as the text it was.
    out.write(json.dumps(decode(m.value(), ctx), separators=(",", ":"), default=str) + "\\n")
    seen += 1
c.close()
"""


# Peak RSS cannot come from os.wait4 on a child of this Python process: Linux carries the
# anonymous memory copied at fork into the child's high-water mark across exec (every client
# would show Python's ~30 MiB). A small C launcher forks and execs the client instead and reports
# its wall time (fork to reaped exit), CPU (user+sys) and peak RSS from its own wait4.
LAUNCHER_C = r"""
#include <stdio.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv) {
    struct timespec a, b;
    struct rusage ru;
    int status;
    if (argc < 3) return 125;
    clock_gettime(CLOCK_MONOTONIC, &a);
    pid_t pid = fork();
    if (pid == 0) {
        execvp(argv[2], argv + 2);
        _exit(127);
    }
    if (pid < 0 || wait4(pid, &status, 0, &ru) < 0) return 125;
    clock_gettime(CLOCK_MONOTONIC, &b);
    FILE *f = fopen(argv[1], "w");
    if (!f) return 125;
    fprintf(f, "%.9f %.6f %ld\n", (b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9,
            ru.ru_utime.tv_sec + ru.ru_stime.tv_sec + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6,
            ru.ru_maxrss);
    fclose(f);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
"""
LAUNCHER = None  # path of the compiled launcher, set by build_launcher()


def build_launcher(work):
    global LAUNCHER
    src = os.path.join(work, "launch.c")
    with open(src, "w") as f:
        f.write(LAUNCHER_C)
    LAUNCHER = os.path.join(work, "launch")
    subprocess.run(["cc", "-O2", "-o", LAUNCHER, src], check=True)


def timed(cmd, stdin_path=None, out_path=os.devnull):
    """Runs cmd; returns (wall s, CPU user+sys s, peak RSS KiB) of that process alone.

    stdout goes to out_path, so no pipe reader shares the CPU with the client.
    """
    with open(stdin_path or os.devnull, "rb") as stdin, open(out_path, "wb") as stdout, \
            tempfile.TemporaryFile() as stderr, tempfile.NamedTemporaryFile("r") as usage:
        code = subprocess.run([LAUNCHER, usage.name, *cmd], stdin=stdin, stdout=stdout, stderr=stderr).returncode
        if code != 0:
            stderr.seek(0)
            raise RuntimeError(f"{' '.join(cmd[:3])} failed ({code}): {stderr.read().decode()[-500:]}")
        wall, cpu, rss = usage.read().split()
    return float(wall), float(cpu), int(rss)


# librdkafka's notices (log level 6, "Purging 1 unserved events" as a client closes) are noise here.
ADMIN = {"bootstrap.servers": BROKER, "log_level": 4}


def create_topics(names):
    """Creates single-partition topics and waits until each has a leader."""
    admin = AdminClient(ADMIN)
    for future in admin.create_topics([NewTopic(n, 1, 1) for n in names]).values():
        future.result(60)
    deadline = time.monotonic() + 60
    while True:
        topics = admin.list_topics(timeout=10).topics
        if all(n in topics and topics[n].error is None and topics[n].partitions
               and all(p.leader >= 0 for p in topics[n].partitions.values()) for n in names):
            return
        if time.monotonic() > deadline:
            raise RuntimeError("bench: created topics have no leader after 60 s")
        time.sleep(0.1)


def delete_topics(names):
    """Drops topics once measured, so runs of a million orders do not fill the broker's disk."""
    admin = AdminClient(ADMIN)
    for name, future in admin.delete_topics(list(names), operation_timeout=30).items():
        try:
            future.result(60)
        except Exception as e:  # a topic left behind costs disk, not correctness
            progress(f"topic {name} not deleted: {e}")


def stored_keys(topic):
    out = subprocess.run(
        ["kcat", "-b", BROKER, "-C", "-t", topic, "-e", "-q", "-f", "%k\n"],
        check=True, stdout=subprocess.PIPE,
    ).stdout.decode()
    return out.split()


def producer_cmd(binary, topic, acks):
    # `--acks 1` turns our idempotence off by itself (order-producer --help).
    return [binary, "-b", BROKER, "-t", topic, "--stdin", "--quiet", "--acks", acks]


def consumer_cmd(binary, topic, n, fmt):
    return [binary, "-b", BROKER, "-t", topic, "--no-group", "--no-dlq", "--max-messages", str(n),
            *(["--format", "json"] if fmt == "json" else [])]


def produce(tool, topic, path, acks, avro=False):
    if tool == AVRO_OURS:
        cmd = producer_cmd(AVRO_BINARIES[0], topic, acks)
        return timed(cmd + ["--serializer", "avro", "--schema-registry", REGISTRY], path)
    if tool in OURS:
        cmd = producer_cmd(OURS[tool][0], topic, acks)
        if avro:
            cmd += ["--serializer", "avro", "--schema-registry", REGISTRY]
        return timed(cmd, path)
    keyed = path + ".keyed"
    if avro:
        assert tool == "python" and acks == "all", "the Avro case: ours and Python, acks=all"
        return timed([PY, "-c", PY_AVRO_PRODUCE, BROKER, REGISTRY, topic, keyed, AVSC])
    if tool == "kcat":
        idempotence = "true" if acks == "all" else "false"
        return timed(["kcat", "-b", BROKER, "-P", "-t", topic, "-K", "|",
                      "-X", f"acks={acks}", "-X", f"enable.idempotence={idempotence}"], keyed)
    return timed([PY, "-c", PY_PRODUCE, BROKER, topic, keyed, acks])


def consume(tool, topic, n, out, fmt, avro=False):
    if tool == AVRO_OURS:
        cmd = consumer_cmd(AVRO_BINARIES[1], topic, n, fmt) + ["--schema-registry", REGISTRY]
    elif tool in OURS:
        cmd = consumer_cmd(OURS[tool][1], topic, n, fmt)
        if avro:
            cmd += ["--schema-registry", REGISTRY]
    elif avro:
        assert tool == "python" and fmt == "human", "the Avro case: ours and Python, default output"
        cmd = [PY, "-c", PY_AVRO_CONSUME, BROKER, REGISTRY, topic, str(n), f"bench-{uuid.uuid4()}"]
    elif tool == "kcat":
        cmd = ["kcat", "-b", BROKER, "-C", "-t", topic, "-e", "-q", "-c", str(n), *(["-J"] if fmt == "json" else [])]
    else:
        # Prints each message's value, as kcat's default output does; it has no JSON envelope.
        assert fmt == "human", "the Python consumer has only the default output"
        cmd = [PY, "-c", PY_CONSUME, BROKER, topic, str(n), f"bench-{uuid.uuid4()}"]
    return timed(cmd, out_path=out)


# An order's id in every output: ours (both formats) and kcat's default print the order's JSON,
# kcat -J quotes it inside its "payload" string.
ORDER_ID = re.compile(r'"order_id\\?":\\?"([0-9a-f-]{36})')


def ids_in(path):
    ids = []
    with open(path) as f:
        for line in f:
            m = ORDER_ID.search(line)
            if m:
                ids.append(m.group(1))
    return ids


def rotated(tools, i):
    return tools[i % len(tools):] + tools[:i % len(tools)]


def slug(tool):
    return re.sub(r"[^A-Za-z0-9._-]+", "-", tool).strip("-")


def measure(case, tool, run, runs, topic, path, ids, out, results):
    """One timed run of a case; kept in results only when it was correct."""
    _, _, (job, how), n = CASES[case]
    progress(f"{case}, {n:,} orders: {tool}, run {run + 1} of {runs}")
    if job in ("produce", "produce-avro"):
        measured = produce(tool, topic, path, how, avro=job == "produce-avro")
        keys = stored_keys(topic)
        correct = len(keys) == n and set(keys) == ids
        wrong = f"the topic holds {len(keys)} records, not exactly the {n} orders"
    else:
        measured = consume(tool, topic, n, out, how, avro=job == "consume-avro")
        read = ids_in(out)
        correct = len(read) == n and set(read) == ids
        wrong = f"read {len(read)} orders, not the {n}"
    if correct:
        results.setdefault((case, tool), []).append(measured)
    else:
        progress(f"{tool} {case} run {run + 1}: {wrong}; not counted")


def run_cases(path, one, ids, work):
    """The N cases, the start-up runs and the big case (run_big), with the medians by (case, tool)."""
    results = {}
    stamp = int(time.time())
    out = os.path.join(work, "consumed")

    def topics(label, tools):
        return {t: f"bench-{stamp}-{label}-{slug(t)}" for t in tools}

    warm = topics("warmup", TOOLS)
    # Each consumer reads what the same tool stored in that run: JSON from the acks=all topic,
    # the default output from the acks=1 one.
    runs = [(topics(f"{run}-all", TOOLS), topics(f"{run}-1", TOOLS)) for run in range(RUNS)]
    single = topics("one", TOOLS)
    # The Avro case: a topic per tool and run, each consumer reading what its producer wrote.
    avro_warm = topics("warmup-avro", AVRO_TOOLS)
    avro_runs = [topics(f"{run}-avro", AVRO_TOOLS) for run in range(RUNS)]
    big = [topics(f"big-{run}", CASES["big-produce"][1]) for run in range(BIG_RUNS if BIG_N else 0)]
    spool = [f"bench-{stamp}-spool-{run}" for run in range(RUNS + 1)]
    # All made at once and dropped at the end: no run follows a topic's creation or deletion.
    every = [*warm.values(), *(t for r in runs for m in r for t in m.values()), *single.values(),
             *avro_warm.values(), *(t for m in avro_runs for t in m.values()),
             *(t for m in big for t in m.values()), *spool]
    create_topics(every)

    # One untimed round first: a freshly started broker's JVM is still compiling its hot paths.
    for tool in TOOLS:
        progress(f"warm-up (untimed): {tool}")
        produce(tool, warm[tool], path, "all")
        for fmt in ("json", "human"):
            if tool in CASES[f"consume-{fmt}"][1]:
                consume(tool, warm[tool], N, out, fmt)
    for tool in AVRO_TOOLS:
        progress(f"warm-up (untimed): {tool}, Avro")
        produce(tool, avro_warm[tool], path, "all", avro=True)
        consume(tool, avro_warm[tool], N, out, "human", avro=True)
    for run, (acks_all, acks_1) in enumerate(runs):
        for tool in rotated(TOOLS, run):
            measure("produce-all", tool, run, RUNS, acks_all[tool], path, ids, out, results)
            measure("produce-1", tool, run, RUNS, acks_1[tool], path, ids, out, results)
            if tool in CASES["consume-json"][1]:
                measure("consume-json", tool, run, RUNS, acks_all[tool], path, ids, out, results)
            measure("consume-human", tool, run, RUNS, acks_1[tool], path, ids, out, results)
        for tool in rotated(AVRO_TOOLS, run):
            measure("avro-produce", tool, run, RUNS, avro_runs[run][tool], path, ids, out, results)
            measure("avro-consume", tool, run, RUNS, avro_runs[run][tool], path, ids, out, results)
    for run in range(START_RUNS):
        progress(f"start-up: one order produced and read by each tool, run {run + 1} of {START_RUNS}")
        for tool in rotated(TOOLS, run):
            results.setdefault(("first-ack", tool), []).append(produce(tool, single[tool], one, "all"))
            measured = consume(tool, single[tool], 1, out, "human")
            if ids_in(out):
                results.setdefault(("first-order", tool), []).append(measured)
    run_big(work, big, results)
    run_spool(work, path, ids, spool, results)
    delete_topics(every)
    return {key: tuple(statistics.median(r[i] for r in kept) for i in range(3))
            for key, kept in results.items() if kept}


def run_big(work, topics, results):
    """The steady state: BIG_N orders produced with acks=all and read back as JSON; run k uses
    topics[k], a topic per tool."""
    if not BIG_N:
        progress("steady-state case skipped (BENCH_BIG_N=0)")
        return
    path = os.path.join(work, "big.jsonl")
    progress(f"generating {BIG_N:,} orders for the steady-state case")
    ids = set(generate(path, BIG_N))
    out = os.path.join(work, "consumed")
    for run, topic in enumerate(topics):
        for tool in rotated(CASES["big-produce"][1], run):
            measure("big-produce", tool, run, BIG_RUNS, topic[tool], path, ids, out, results)
            measure("big-consume", tool, run, BIG_RUNS, topic[tool], path, ids, out, results)
    for p in (path, path + ".keyed", out):
        os.remove(p)


# Store and forward (a case added for issue 24): ours alone, no other tool has a spool.
SPOOL_STEPS = {
    "spool-in": "spooling (`--spool DIR --spool-only --stdin`)",
    "spool-drain": "forwarding (`--spool DIR --drain`, transactions)",
}
# fsync and fdatasync calls per step, counted once under strace (not a timed run).
FSYNCS = {}


def run_spool(work, path, ids, topics, results):
    """N orders spooled (each durable before it is acknowledged), then forwarded exactly once in
    transactions by --drain; run k uses topics[k], and topics[-1] is the untimed strace run
    that counts the fsyncs."""
    for run, topic in enumerate(topics):
        spool = os.path.join(work, f"spool-{run}")
        base = [PRODUCER, "-b", BROKER, "-t", topic, "--spool", spool, "--quiet"]
        counting = run == len(topics) - 1
        if counting:
            progress("spool: counting fsyncs under strace (untimed)")
            for step, args, stdin in (("spool-in", ["--spool-only", "--stdin"], path), ("spool-drain", ["--drain"], None)):
                trace = os.path.join(work, f"strace-{step}")
                timed(["strace", "-f", "-c", "-e", "trace=fsync,fdatasync", "-o", trace, *base, *args], stdin)
                with open(trace) as f:
                    FSYNCS[step] = sum(int(line.split()[3]) for line in f
                                       if re.search(r"\b(fsync|fdatasync)\s*$", line))
        else:
            progress(f"spool, {N:,} orders: run {run + 1} of {len(topics) - 1}")
            spooled = timed([*base, "--spool-only", "--stdin"], path)
            drained = timed([*base, "--drain"])
        keys = stored_keys(topic)
        if len(keys) != N or set(keys) != ids:
            progress(f"spool run {run + 1}: the topic holds {len(keys)} records, not exactly the {N} orders; not counted")
        elif not counting:
            results.setdefault(("spool-in", "order-kafka"), []).append(spooled)
            results.setdefault(("spool-drain", "order-kafka"), []).append(drained)
        shutil.rmtree(spool, ignore_errors=True)


def spool_lines(med):
    """The store-and-forward table: each step's wall time, orders/s, CPU per order, fsyncs."""
    lines = ["## Store and forward through the spool (added for issue 24)", "",
             f"Ours alone (no other tool has a spool): {N:,} orders spooled with `--spool-only` "
             "(`--spool-sync batch`, the default: each block of input durable before its orders are "
             "acknowledged), then forwarded by `--drain` in transactions that commit the spool position "
             f"with the records, exactly once; {times(RUNS)} on fresh spools and topics, median kept, every "
             "run checked to leave exactly the orders on the topic (read_committed). fsyncs: fsync and "
             "fdatasync calls of one more run under `strace -c`, per second of the median wall time.", "",
             "| step | wall | orders/s | CPU per order | fsyncs | fsyncs/s | peak RSS |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    for step, name in SPOOL_STEPS.items():
        if (step, "order-kafka") not in med:
            lines.append(f"| {name} | not counted | | | | | |")
            continue
        wall, cpu, rss = med[(step, "order-kafka")]
        fsyncs = FSYNCS.get(step)
        lines.append(f"| {name} | {wall:.2f} s | {N / wall:,.0f} | {cpu * 1e6 / N:.2f} µs | "
                     f"{fsyncs if fsyncs is not None else 'n/a'} | "
                     f"{f'{fsyncs / wall:,.0f}' if fsyncs is not None else 'n/a'} | {rss / 1024:.1f} MiB |")
    return [*lines, ""]


def has_alloc_feature():
    """Whether the Cargo.toml of the tree benched declares the count-allocs feature."""
    with open("Cargo.toml") as f:
        text = f.read()
    section = re.search(r"^\[features\][^\n]*\n(.*?)(?=^\[|\Z)", text, re.M | re.S)
    return bool(section and re.search(rf"^\s*{re.escape(ALLOC_FEATURE)}\s*=", section.group(1), re.M))


ALLOC_LINE = re.compile(r"heap allocations: (\d+)")


def heap_allocations(stderr):
    """The count of the one `heap allocations: <N>` line a count-allocs build prints at exit."""
    counts = [int(m.group(1)) for m in map(ALLOC_LINE.fullmatch, stderr.splitlines()) if m]
    if len(counts) != 1:
        raise RuntimeError(f"expected one `heap allocations: <N>` line on stderr, found {len(counts)}:\n"
                           + stderr[-500:])
    return counts[0]


def build_alloc_variant():
    """The binaries that count their heap allocations (stable, host target), or None without the feature."""
    if not has_alloc_feature():
        progress(f"no {ALLOC_FEATURE} feature in Cargo.toml: allocations not measured")
        return None
    progress(f"building the {ALLOC_FEATURE} variant into {ALLOC_DIR}")
    subprocess.run(["cargo", "build", "--release", "--locked", "--quiet", "--features", ALLOC_FEATURE,
                    "--target-dir", ALLOC_DIR], check=True)
    return f"{ALLOC_DIR}/release"


# What the allocations are counted on, in the report's order: (row label, short name).
ALLOC_CASES = {
    "producer": ("order-producer --stdin, acks=all", "producer"),
    "consumer-json": ("order-consumer --format json", "consumer JSON"),
    "consumer-human": ("order-consumer, human output", "consumer human"),
}


def counted(cmd, stdin_path, out_path):
    """Runs a count-allocs binary; returns the heap allocations it reports."""
    with open(stdin_path or os.devnull, "rb") as stdin, open(out_path, "wb") as stdout:
        run = subprocess.run(cmd, stdin=stdin, stdout=stdout, stderr=subprocess.PIPE)
    stderr = run.stderr.decode(errors="replace")
    if run.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[:3])} failed ({run.returncode}): {stderr[-500:]}")
    return heap_allocations(stderr)


def count_allocations(bin_dir, path, work):
    """Per case: (A(n1), A(n2), (A(n2) - A(n1)) / (n2 - n1)), the allocations per order once the
    start-up's are paid, from runs of the first n1 and of all n2 = N orders."""
    counts = {case: [] for case in ALLOC_CASES}
    out = os.path.join(work, "consumed")
    stamp = int(time.time())
    for n in ALLOC_SIZES:
        part = os.path.join(work, f"allocs-{n}.jsonl")
        with open(path) as src, open(part, "w") as dst:
            for _ in range(n):
                dst.write(src.readline())
        topic = f"bench-{stamp}-allocs-{n}"
        create_topics([topic])
        runs = [
            ("producer", producer_cmd(f"{bin_dir}/order-producer", topic, "all"), part),
            ("consumer-json", consumer_cmd(f"{bin_dir}/order-consumer", topic, n, "json"), None),
            ("consumer-human", consumer_cmd(f"{bin_dir}/order-consumer", topic, n, "human"), None),
        ]
        for case, cmd, stdin in runs:
            progress(f"allocations: {ALLOC_CASES[case][0]}, {n:,} orders")
            counts[case].append(counted(cmd, stdin, out))
            if case != "producer" and len(ids_in(out)) != n:
                raise RuntimeError(f"bench: {ALLOC_CASES[case][0]} read {len(ids_in(out))} orders, not {n}")
        delete_topics([topic])
    (n1, n2) = ALLOC_SIZES
    return {case: (a1, a2, (a2 - a1) / (n2 - n1)) for case, (a1, a2) in counts.items()}


def ratio(med, case, field):
    """Ours vs kcat for one case and field; None when either was not measured."""
    ours, theirs = med.get((case, "order-kafka")), med.get((case, "kcat"))
    if not ours or not theirs or not theirs[field] or not ours[field]:
        return None
    if case in CASES and field == 0:
        return theirs[0] / ours[0]
    return ours[field] / theirs[field]


def target_rows(med, sizes, allocs):
    """The targets table, the keys of the targets missed (or not measured), and the cases whose
    speed target was missed (their profiles are due)."""
    rows, missed, slow = [], set(), set()
    for key, label, cases, field, op, bound in TARGETS:
        if not BIG_N and cases[0] in PROFILED_AS:
            rows.append(f"| {label} | skipped (BENCH_BIG_N=0) | |")
            missed.add("skipped")
            continue
        ratios = [ratio(med, c, field) for c in cases]
        failed = [c for c, r in zip(cases, ratios) if r is None or not (r >= bound if op == ">=" else r <= bound)]
        if failed:
            missed.add(key)
            if key in ("rate", "cpu"):
                slow.update(PROFILED_AS.get(c, c) for c in failed)
        if None in ratios:
            rows.append(f"| {label} | not measured | |")
            continue
        rows.append(f"| {label} | {', '.join(f'{r:.2f}x' for r in ratios)} | "
                    f"{'**missed**' if failed else 'met'} |")
    label = (f"heap allocations per order in the steady state < {ALLOC_BOUND} "
             f"({', '.join(short for _, short in ALLOC_CASES.values())})")
    if allocs is None:
        rows.append(f"| {label} | not measured (no {ALLOC_FEATURE} feature) | |")
        missed.add("allocs")
    else:
        per = [allocs[c][2] for c in ALLOC_CASES]
        met = all(p < ALLOC_BOUND for p in per)
        if not met:
            missed.add("allocs")
        rows.append(f"| {label} | {' / '.join(f'{p:.4f}' for p in per)} (absolute, not kcat) | "
                    f"{'met' if met else '**missed**'} |")
    for target in STATIC_TARGETS:
        for build, budget in (("", BUDGET), ("-tls", TLS_BUDGET)):
            label = f"{'TLS' if build else 'default'} build <= {budget:,} bytes on {target.split('-')[0]}"
            got = sizes[target + build]
            if not isinstance(got, dict):
                rows.append(f"| {label} | {got} | |")
                missed.add("size")
                continue
            met = all(v <= budget for v in got.values())
            if not met:
                missed.add("size")
            shown = " / ".join(f"{v:,}" for v in got.values())
            rows.append(f"| {label} | {shown} (budget, not kcat) | {'met' if met else '**missed**'} |")
    return rows, missed, slow


def newest_source():
    paths = ["Cargo.toml", "Cargo.lock"]
    for root, _, names in os.walk("src"):
        paths += [os.path.join(root, n) for n in names]
    return max(os.path.getmtime(p) for p in paths if os.path.exists(p))


def static_sizes():
    """Per target: {binary: bytes} from dist/, or a note when missing or older than the sources."""
    sizes, newest = {}, newest_source()
    for target in STATIC_TARGETS + [f"{t}-tls" for t in STATIC_TARGETS]:
        paths = [os.path.join("dist", target, b) for b in BINARIES]
        if not all(os.path.exists(p) for p in paths):
            sizes[target] = "not built (`make static`)"
        elif min(os.path.getmtime(p) for p in paths) < newest:
            sizes[target] = "older than the sources (`make static`)"
        else:
            sizes[target] = {b: os.path.getsize(p) for b, p in zip(BINARIES, paths)}
    return sizes


def file_sizes(paths):
    return sum(os.path.getsize(p) for p in paths if os.path.exists(p))


def loaded_size(binary):
    """The binary plus the shared libraries it loads, in bytes."""
    libs = subprocess.run(["ldd", binary], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL).stdout.decode()
    paths = [binary] + [p.split()[0] for p in (l.split("=>")[-1] for l in libs.splitlines()) if p.strip().startswith("/")]
    return file_sizes(set(os.path.realpath(p) for p in paths))


def python_size():
    pkg = os.path.dirname(confluent_kafka.__file__)
    libs_dir = os.path.join(os.path.dirname(pkg), "confluent_kafka.libs")
    files = []
    for d in [pkg, libs_dir]:
        for root, _, names in os.walk(d):
            files += [os.path.join(root, n) for n in names if ".so" in n]
    return loaded_size(os.path.realpath(PY)) + file_sizes(files)


def profile_build():
    """An unstripped build of the x86_64 binaries (same code, symbols kept) for perf and cargo bloat."""
    env = {**os.environ, "CARGO_PROFILE_RELEASE_STRIP": "false"}
    cmd = ["--release", "--locked", "--target", HOST_TARGET, "--target-dir", "target/profile"]
    return env, cmd


def component(symbol):
    """Groups a perf symbol: kernel, musl libc, or its crate path (order_kafka down to the module)."""
    kind, _, name = symbol.partition(" ")
    if kind == "[k]":
        return "kernel (system calls, loopback TCP, page faults)"
    m = re.search(r"\b([a-z_][a-z0-9_]*)::([a-z_][a-z0-9_]*)(?:::([a-z_][a-z0-9_]*))?", name)
    if not m:
        return "musl libc and runtime (memcpy, malloc, locks)" if name and name[0] not in "0[" else "unresolved"
    if m.group(1) == "order_kafka" and m.group(2) == "client" and m.group(3):
        return "::".join(m.groups())
    return f"{m.group(1)}::{m.group(2)}"


def cpu_profiles(cases, path, work):
    """`perf record` of our binary in each case given: shares by component and the top symbols."""
    env, args = profile_build()
    progress("building the profile build (symbols kept) into target/profile")
    subprocess.run(["cargo", "build", "--quiet", *args], check=True, env=env)
    bin_dir = f"target/profile/{HOST_TARGET}/release"
    stamp = int(time.time())
    acks_all, acks_1 = f"bench-{stamp}-profile-all", f"bench-{stamp}-profile-1"
    create_topics([acks_all, acks_1])
    producer, consumer = f"{bin_dir}/order-producer", f"{bin_dir}/order-consumer"
    # The producer's acks=all run always goes first: the consumers read what it stored.
    runs = [
        ("produce-all", "order-producer, acks=all", producer_cmd(producer, acks_all, "all"), path),
        ("produce-1", "order-producer, acks=1", producer_cmd(producer, acks_1, "1"), path),
        ("consume-json", "order-consumer --format json", consumer_cmd(consumer, acks_all, N, "json"), None),
        ("consume-human", "order-consumer, human output", consumer_cmd(consumer, acks_all, N, "human"), None),
    ]
    out = {}
    for case, name, cmd, stdin in runs:
        if case not in cases:
            if case == "produce-all":
                with open(stdin) as f:
                    subprocess.run(cmd, stdin=f, stdout=subprocess.DEVNULL, check=True)
            continue
        progress(f"perf record: {name}")
        data = os.path.join(work, f"perf.{case}")
        with open(stdin or os.devnull) as f:
            subprocess.run(["perf", "record", "-q", "-o", data, "--"] + cmd, stdin=f,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        report = subprocess.run(
            ["perf", "report", "-i", data, "--no-children", "--stdio", "--percent-limit", "0",
             "--sort", "symbol"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
        ).stdout.decode()
        symbols = []
        for line in report.splitlines():
            m = re.match(r"\s*([\d.]+)%\s+(\[.\]\s+.*)$", line)
            if m:
                symbols.append((float(m.group(1)), " ".join(m.group(2).split()).rstrip(" -")))
        groups = {}
        for share, symbol in symbols:
            groups[component(symbol)] = groups.get(component(symbol), 0) + share
        out[name] = (sorted(groups.items(), key=lambda g: -g[1])[:10], symbols[:12])
    delete_topics([acks_all, acks_1])
    return out


def sections(binary):
    """Bytes per ELF section of a stripped binary, largest first (readelf)."""
    out = subprocess.run(["readelf", "-SW", binary], stdout=subprocess.PIPE, check=True).stdout.decode()
    sizes = {}
    for line in out.splitlines():
        m = re.match(r"\s*\[\s*\d+\]\s+(\S+)\s+(\S+)\s+[0-9a-f]+\s+[0-9a-f]+\s+([0-9a-f]+)", line)
        if m and m.group(2) != "NOBITS" and int(m.group(3), 16):
            sizes[m.group(1)] = int(m.group(3), 16)
    return sorted(sizes.items(), key=lambda s: -s[1])


# Named parts of .text, by a regex over function names (cargo bloat --filter). They overlap: a
# sort of gimli's types counts for the backtrace printer and for sorting.
PARTS = [
    ("std's backtrace printer (gimli, addr2line, demangling)", r"symbolize|backtrace|demangle|addr2line|gimli::"),
    ("formatting (core::fmt)", r"core::fmt|alloc::fmt"),
    ("sorting (slice::sort)", r"slice::sort"),
    ("compressors (gzip, snappy, lz4, zstd)",
     r"ruzstd::encoding|flate2::(write|mem::Compress)|deflate|lz4_flex::(block::compress|frame::compress)|snap::encode"),
    ("decompressors", r"ruzstd::decoding|inflate|lz4_flex::(block::decompress|frame::decompress)|snap::decompress|GzDecoder"),
    ("serde_json", r"serde_json"),
    ("env_logger", r"env_logger|env_filter"),
]


def size_profiles():
    """Where the bytes of the shipped x86_64 binaries go: ELF sections, .text by crate, the
    largest functions, and named parts (cargo bloat on the same build with symbols kept)."""
    out = {b: [sections(os.path.join("dist", HOST_TARGET, b)), None, None, None] for b in BINARIES
           if os.path.exists(os.path.join("dist", HOST_TARGET, b))}

    def bloat(*extra):
        return subprocess.run(["scripts/build-static", "bloat", *extra], stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL, check=True).stdout.decode()

    def rows(text):
        return [" ".join(l.split()) for l in text.splitlines() if re.match(r"\s*[\d.]+%\s+[\d.]+%", l)]

    for b in out:
        progress(f"cargo bloat: {b}")
        out[b][1] = rows(bloat("--bin", b, "--crates", "-n", "12"))
        out[b][2] = rows(bloat("--bin", b, "-n", "15"))
        parts = []
        for label, regex in PARTS:
            total = bloat("--bin", b, "-n", "0", "--filter", regex).strip().splitlines()[-1].split()
            parts.append((label, total[2] if len(total) > 2 else "?"))
        out[b][3] = parts
    return out


def versions():
    kcat = subprocess.run(["kcat", "-V"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT).stdout.decode()
    kcat_line = next((l.strip() for l in kcat.splitlines() if "version" in l.lower()), kcat.splitlines()[0])
    ours = subprocess.run([PRODUCER, "--version"], stdout=subprocess.PIPE).stdout.decode().strip()
    codec = ", own client and protocol codec"
    kafka = subprocess.run(["scripts/kafka-local", "version"], stdout=subprocess.PIPE).stdout.decode().strip()
    build = ("static x86_64 musl build from `make static`" if BIN_DIR == SHIPPED_DIR
             else f"the build in {BIN_DIR}, from BENCH_BIN_DIR")
    return [
        f"{ours} ({build}{codec})",
        f"kcat: {kcat_line}",
        f"confluent-kafka {confluent_kafka.version()[0]} (librdkafka {confluent_kafka.libversion()[0]}), "
        f"Python {platform.python_version()}",
        f"Apache Kafka {kafka} (scripts/kafka-local, one node, KRaft)",
    ]


def registry_name():
    """What answers at REGISTRY, as its system info says (Apicurio: GET /apis/registry/v2/system/info)."""
    import urllib.request
    base = REGISTRY.split("/apis/")[0]
    try:
        with urllib.request.urlopen(f"{base}/apis/registry/v2/system/info", timeout=5) as answer:
            info = json.load(answer)
        return f"{info.get('name', 'Apicurio Registry')} {info.get('version', '')} at {REGISTRY}".replace("  ", " ")
    except (OSError, ValueError):
        return REGISTRY


def check_registry():
    """Stops the bench at once when no registry answers: the Avro case needs one."""
    import urllib.request
    try:
        with urllib.request.urlopen(f"{REGISTRY}/subjects", timeout=5):
            return
    except (OSError, ValueError) as e:
        sys.exit(f"bench: no Schema Registry answers at {REGISTRY} ({e}); `make bench` starts one "
                 "(scripts/with-registry), or set BENCH_REGISTRY")


def machine():
    model = "unknown CPU"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return f"{os.cpu_count()} cores, {model}, Linux {platform.release()}"


def write_report(med, sizes, avg, allocs, cpu_prof, size_prof, target_lines, missed):
    def row(case, tool):
        n = CASES[case][3]
        if (case, tool) not in med:
            return f"| {tool} | not counted | | | |"
        wall, cpu, rss = med[(case, tool)]
        rate = n / wall
        bwall, bcpu, brss = med.get((case, "kcat"), (wall, cpu, rss))
        return (f"| {tool} | {wall:.2f} s | {rate:,.0f} ({bwall / wall:.2f}x) | "
                f"{cpu * 1e6 / n:.2f} µs ({f'{cpu / bcpu:.2f}x' if bcpu else 'n/a'}) | "
                f"{rss / 1024:.1f} MiB ({rss / brss:.2f}x) |")

    def table(case, level="##"):
        title, tools, _, n = CASES[case]
        return [f"{level} {title.format(n=f'{n:,}')}", "",
                "| client | wall | orders/s (vs kcat) | CPU per order (vs kcat) | peak RSS (vs kcat) |",
                "| --- | --- | --- | --- | --- |",
                *[row(case, t) for t in tools], ""]

    def avro_row(case, tool):
        n = CASES[case][3]
        if (case, tool) not in med:
            return f"| {tool} | not counted | | | |"
        wall, cpu, rss = med[(case, tool)]
        pwall, pcpu, prss = med.get((case, "python"), (wall, cpu, rss))
        return (f"| {tool} | {wall:.2f} s | {n / wall:,.0f} ({pwall / wall:.2f}x) | "
                f"{cpu * 1e6 / n:.2f} µs ({f'{cpu / pcpu:.2f}x' if pcpu else 'n/a'}) | "
                f"{rss / 1024:.1f} MiB ({rss / prss:.2f}x) |")

    def avro_table(case):
        title, tools, _, n = CASES[case]
        return [f"### {title.format(n=f'{n:,}')}", "",
                "| client | wall | orders/s (vs Python) | CPU per order (vs Python) | peak RSS (vs Python) |",
                "| --- | --- | --- | --- | --- |",
                *[avro_row(case, t) for t in tools], ""]

    def start_row(case, tool):
        if (case, tool) not in med or (case, "kcat") not in med:
            return f"| {tool} | not counted | |"
        wall, _, rss = med[(case, tool)]
        bwall = med[(case, "kcat")][0]
        return f"| {tool} | {wall * 1000:.1f} ms ({wall / bwall:.2f}x) | {rss / 1024:.1f} MiB |"

    def size_cell(target, binary, budget):
        got = sizes[target]
        if not isinstance(got, dict):
            return got
        return f"{got[binary]:,} of {budget:,}" + (" (**over budget**)" if got[binary] > budget else "")

    n1, n2 = ALLOC_SIZES
    if BIG_N:
        big = [f"## The steady state: {BIG_N:,} orders", "",
               f"Ours beside kcat, median of {BIG_RUNS} runs; the Python client is left out of this case.", "",
               *table("big-produce", "###"), *table("big-consume", "###")]
    else:
        big = ["## The steady state", "", "Skipped in this run (BENCH_BIG_N=0).", ""]
    if allocs is None:
        alloc_lines = [f"Not measured (no {ALLOC_FEATURE} feature in Cargo.toml).", ""]
    else:
        alloc_lines = [
            f"A build with `--features {ALLOC_FEATURE}` (stable, host target) counts every heap allocation "
            "(alloc and realloc calls) of the whole process and prints the total at exit. Allocations per order "
            f"in the steady state: (A({n2:,}) - A({n1:,})) / ({n2:,} - {n1:,}), what each further order costs "
            "once start-up has paid for its buffers.", "",
            f"| binary, case | allocations, {n1:,} orders | allocations, {n2:,} orders | per order | "
            f"< {ALLOC_BOUND} |",
            "| --- | --- | --- | --- | --- |",
            *[f"| {label} | {allocs[c][0]:,} | {allocs[c][1]:,} | {allocs[c][2]:.4f} | "
              f"{'met' if allocs[c][2] < ALLOC_BOUND else '**missed**'} |" for c, (label, _) in ALLOC_CASES.items()],
            ""]
    alloc_method = (f"Heap allocations per order: a build of ours with the `{ALLOC_FEATURE}` feature, runs "
                    f"of {n1:,} and {n2:,} orders." if allocs is not None else
                    f"Heap allocations: not measured (no `{ALLOC_FEATURE}` feature in Cargo.toml).")
    big_method = (f"The steady state: {BIG_N:,} orders produced with acks=all and read back as JSON, ours "
                  f"beside kcat, {times(BIG_RUNS)} (median kept)." if BIG_N else
                  "The steady-state case was skipped (BENCH_BIG_N=0).")
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
        f"- Orders: {N:,} generated JSON lines, {avg:.0f} bytes on average, keyed by `order_id`, "
        "one file for every tool",
        f"- Method: one untimed warm-up round, then each case {times(RUNS)} on fresh "
        "single-partition topics, tools in rotating order, median kept. Producing at two ack levels: "
        "acks=all with the idempotent producer, and acks=1 without idempotence; no compression. "
        "Consuming in two output formats, each tool reading what it produced in the same run: JSON "
        "(ours `--format json`, kcat's `-J` envelope) from the acks=all topic, and the default output "
        "(ours human, kcat's message values, the Python consumer's values) from the acks=1 topic. "
        "A run counts only when the topic holds exactly the "
        f"orders sent (produce) or all of them were read back (consume). Wall time runs from the fork "
        "to the reaped exit of the whole process; CPU is user+sys of the client process and peak RSS "
        f"its maximum resident set, from wait4 in a small C launcher. Start-up: median of {START_RUNS} "
        f"single-order runs per tool. {big_method} {alloc_method}",
        "- Clients: `order-producer --stdin --quiet --acks all` (idempotent by default) and `--acks 1` "
        "(which turns idempotence off); `kcat -P -K '|' -X acks=all -X enable.idempotence=true` and "
        "`-X acks=1 -X enable.idempotence=false` (librdkafka defaults otherwise); a Python producer on "
        "confluent-kafka (`linger.ms=5`, `acks=all` with `enable.idempotence=true`, `acks=1` with it "
        "false) in bulk. Reading: `order-consumer --no-group --no-dlq --max-messages N` with "
        "`--format json` and without (human); `kcat -C -e -c N` with `-J` and without; a confluent-kafka "
        "consumer in a fresh group. Output goes to a file.",
        "",
        f"![throughput, CPU and memory]({os.path.basename(chart)})",
        "",
        *table("produce-all"),
        *table("produce-1"),
        *table("consume-json"),
        *table("consume-human"),
        "## Avro through a Schema Registry (added for issue 23)",
        "",
        f"Ours (`order-producer --serializer avro --schema-registry`, `order-consumer --schema-registry`) "
        "beside confluent-kafka's Python `AvroSerializer` and `AvroDeserializer` (fastavro) with its "
        f"`SchemaRegistryClient`, the same {N:,} orders to the same broker and registry ({registry_name()}), "
        f"acks=all with idempotence, {times(RUNS)} (median kept); each tool registers schema/order.avsc "
        "under its own topic's subject and reads back what it wrote, in the default output (ours) or "
        "one decoded order per line (Python). Ratios are against the Python client; kcat has no Avro.",
        "",
        *avro_table("avro-produce"),
        *avro_table("avro-consume"),
        *spool_lines(med),
        *big,
        "## Heap allocations per order in the steady state",
        "",
        *alloc_lines,
        "## Start-up: process start to the first acknowledged / printed order",
        "",
        "One order produced with acks=all (the process exits after its acknowledgement) and one order "
        "read in the default output; wall time from the fork to the exit.",
        "",
        "| client | first ack (vs kcat) | peak RSS |",
        "| --- | --- | --- |",
        *[start_row("first-ack", t) for t in TOOLS],
        "",
        "| client | first order printed (vs kcat) | peak RSS |",
        "| --- | --- | --- |",
        *[start_row("first-order", t) for t in TOOLS],
        "",
        "## Size on disk",
        "",
        "Static binaries from `make static` (no shared libraries loaded), in bytes, beside each "
        f"one's budget: {BUDGET:,} (700 KiB) for the default build.",
        "",
        "| target | order-producer | order-consumer |",
        "| --- | --- | --- |",
        *[f"| {t} | {size_cell(t, BINARIES[0], BUDGET)} | {size_cell(t, BINARIES[1], BUDGET)} |"
          for t in STATIC_TARGETS],
        "",
        f"The TLS builds (`dist/<target>-tls/`: rustls on ring, SCRAM; budget {TLS_BUDGET:,}, 1.5 MiB), "
        "beside kcat, whose figure includes OpenSSL's libraries:",
        "",
        "| target | order-producer | order-consumer |",
        "| --- | --- | --- |",
        *[f"| {t}-tls | {size_cell(t + '-tls', BINARIES[0], TLS_BUDGET)} | "
          f"{size_cell(t + '-tls', BINARIES[1], TLS_BUDGET)} |" for t in STATIC_TARGETS],
        "",
        "| for comparison | bytes, shared libraries included |",
        "| --- | --- |",
        f"| kcat | {loaded_size('/usr/bin/kcat'):,} |",
        f"| python3 + libpython + confluent-kafka's native libraries | {python_size():,} |",
        "",
        "## Targets",
        "",
        "| target | ours vs kcat | |",
        "| --- | --- | --- |",
        *target_lines,
        "",
    ]
    if not missed:
        lines += ["Every target is met.", ""]
    lines += profile_lines(missed, cpu_prof, size_prof)
    with open(OUT, "w") as f:
        f.write("\n".join(lines))
    print("\n".join(lines))
    progress(f"wrote {OUT} and {chart}")


def profile_lines(missed, cpu_prof, size_prof):
    lines = []
    if missed & {"rate", "cpu"}:
        lines += ["## Where the time goes", ""]
        if not cpu_prof:
            lines += ["(No profile in this run: perf is missing, BENCH_PROFILE=0, or fewer than "
                      f"{PROFILE_MIN_N:,} orders.)", ""]
        for name, (groups, top) in (cpu_prof or {}).items():
            lines += [f"`perf record` of {name} on {N:,} orders, share of its samples by component:", "",
                      "| component | samples |", "| --- | --- |",
                      *[f"| {g} | {s:.1f}% |" for g, s in groups], "",
                      "Top symbols:", "", "```", *[f"{s:6.2f}% {sym}" for s, sym in top], "```", ""]
    lines += ["## Where the bytes go", ""]
    if not size_prof:
        lines += ["(No size breakdown in this run: BENCH_PROFILE=0, fewer than "
                  f"{PROFILE_MIN_N:,} orders, or no shipped build in {SHIPPED_DIR}.)", ""]
    for name, (secs, crates, functions, parts) in (size_prof or {}).items():
        total = sum(s for _, s in secs)
        lines += [f"{name} ({HOST_TARGET}, stripped), ELF sections:", "",
                  "| section | bytes | share |", "| --- | --- | --- |",
                  *[f"| {n} | {s:,} | {s / total:.0%} |" for n, s in secs[:8]], ""]
        if crates:
            lines += [f"`cargo bloat --crates` of {name} (the same build with its symbols kept, "
                      "`scripts/build-static bloat`): .text by crate; with LTO, code inlined across "
                      "crates counts for the crate it was inlined into:", "",
                      "```", "File .text Size Crate", *crates, "```", ""]
        if functions:
            lines += [f"The largest functions of {name}:", "",
                      "```", "File .text Size Crate Name", *functions, "```", ""]
        if parts:
            lines += [f"Named parts of {name}'s .text (`cargo bloat --filter` on function names; "
                      "the parts overlap):", "", "| part | .text |", "| --- | --- |",
                      *[f"| {label} | {size} |" for label, size in parts], ""]
    return lines


def draw_chart(med, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter

    fig, axes = plt.subplots(1, 5, figsize=(19, 3.8))
    colors = ["#2b6cb0", "#90cdf4", "#718096", "#d69e2e"] if STABLE_DIR else ["#2b6cb0", "#718096", "#d69e2e"]

    def get(case, tool, field, scale):
        return med[(case, tool)][field] * scale if (case, tool) in med else 0

    def rate(case):
        return lambda t: N / get(case, t, 0, 1) if get(case, t, 0, 1) else 0

    def per_order(case):
        return lambda t: get(case, t, 1, 1e6 / N)

    def rss(case):
        return lambda t: get(case, t, 2, 1 / 1024)

    # (title, (solid, light) series names, their values per tool)
    panels = [
        ("produce orders/s", ("acks=all", "acks=1"), (rate("produce-all"), rate("produce-1"))),
        ("consume orders/s", ("JSON", "default"), (rate("consume-json"), rate("consume-human"))),
        ("producer CPU µs per order", ("acks=all", "acks=1"), (per_order("produce-all"), per_order("produce-1"))),
        ("consumer CPU µs per order", ("JSON", "default"),
         (per_order("consume-json"), per_order("consume-human"))),
        ("peak RSS (MiB)", ("produce acks=all", "consume JSON"), (rss("produce-all"), rss("consume-json"))),
    ]
    for ax, (title, names, series) in zip(axes, panels):
        width = 0.8 / len(series)
        for j, value in enumerate(series):
            xs = [i + (j - (len(series) - 1) / 2) * width for i in range(len(TOOLS))]
            vals = [value(t) for t in TOOLS]
            ax.bar(xs, vals, width=width, color=colors, alpha=1.0 if j == 0 else 0.55)
            for x, v in zip(xs, vals):
                if v:
                    shown = f"{v / 1000:,.0f}k" if v >= 10000 else f"{v:,.0f}" if v >= 100 else f"{v:.1f}"
                    ax.text(x, v, shown, ha="center", va="bottom", fontsize=6)
        ax.set_xticks(range(len(TOOLS)), [t.replace(" (", "\n(") for t in TOOLS], fontsize=7)
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}" if v >= 100 else f"{v:g}"))
        ax.set_title(f"{title}\n(solid: {names[0]}, light: {names[1]})", fontsize=9)
    fig.suptitle(f"{N:,} orders, median of {RUNS} runs (no bar: not in that case)")
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def main():
    for binary in (PRODUCER, CONSUMER, *AVRO_BINARIES):
        if not os.path.exists(binary) or os.path.getmtime(binary) < newest_source():
            sys.exit(f"bench: {binary} is missing or older than the sources (scripts/build-static failed?)")
    check_registry()
    # Built first, so a failing build stops the bench before the long runs.
    alloc_dir = build_alloc_variant()
    with tempfile.TemporaryDirectory(prefix="bench-") as work:
        build_launcher(work)
        path = os.path.join(work, "orders.jsonl")
        ids = set(generate(path, N))
        avg = os.path.getsize(path) / N
        big = f"; {BIG_N:,} orders {BIG_RUNS} times" if BIG_N else "; steady-state case skipped"
        progress(f"{N:,} orders, {avg:.0f} bytes each, {RUNS} runs per case{big}, broker {BROKER}")
        one = os.path.join(work, "one.jsonl")
        generate(one, 1)

        med = run_cases(path, one, ids, work)
        allocs = count_allocations(alloc_dir, path, work) if alloc_dir else None
        sizes = static_sizes()
        target_lines, missed, slow = target_rows(med, sizes, allocs)
        profiling = PROFILE == "1" or (PROFILE == "auto" and N >= PROFILE_MIN_N)
        has_perf = subprocess.run(["perf", "--version"], stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL).returncode == 0
        cpu_prof = cpu_profiles(slow, path, work) if profiling and has_perf and slow else None
        size_prof = size_profiles() if profiling else None
        write_report(med, sizes, avg, allocs, cpu_prof, size_prof, target_lines, missed)


if __name__ == "__main__":
    main()
