"""Benchmarks order-producer and order-consumer against kcat and confluent-kafka (Python).

Run through scripts/bench (`make bench`). Every tool sends the same N orders (one generated JSON
lines file, keyed by order_id) to a fresh single-partition topic with acks=all and the idempotent
producer (the default of all three), no compression, then reads them back. Each case runs
BENCH_RUNS times in rotating tool order and the median is kept; a run only counts when it is
correct (the topic holds exactly the N orders, or all N were read back). Wall, CPU (user+sys)
and peak RSS are the client process's own, from wait4 in a small C launcher. Start-up is timed
on single-order runs, BENCH_START_RUNS times per tool. Binary sizes come from dist/ (`make static`).

With BENCH_STABLE_DIR, a second build of ours (the same code built by stable Rust without the
nightly size options) runs beside the shipped one in every case, so the two compare in one run.

Every target is marked met or missed; a missed speed target brings a `perf record` profile of
our binaries. Where the bytes go (sections, `cargo bloat` by crate and the largest functions of
the shipped build) is always reported.
"""

import json
import os
import platform
import re
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
BROKER = "127.0.0.1:" + os.environ.get("KAFKA_PORT", "9092")
OUT = os.environ.get("BENCH_OUT", "docs/benchmarks.md")
# auto: profile when a target is missed and the run is long enough for the per-order path to
# dominate (a 2,000-order profile mostly shows start-up).
PROFILE = os.environ.get("BENCH_PROFILE", "auto")
PROFILE_MIN_N = 20000
# The static binaries people copy to their hosts (`make static`).
HOST_TARGET = "x86_64-unknown-linux-musl"
BIN_DIR = os.environ.get("BENCH_BIN_DIR", f"dist/{HOST_TARGET}")
PRODUCER = f"{BIN_DIR}/order-producer"
CONSUMER = f"{BIN_DIR}/order-consumer"
STABLE_DIR = os.environ.get("BENCH_STABLE_DIR", "")
STABLE = "order-kafka (stable build)"
# Our builds by tool name: (producer, consumer).
OURS = {"order-kafka": (PRODUCER, CONSUMER)}
if STABLE_DIR:
    OURS[STABLE] = (f"{STABLE_DIR}/order-producer", f"{STABLE_DIR}/order-consumer")
STATIC_TARGETS = [HOST_TARGET, "aarch64-unknown-linux-musl", "armv7-unknown-linux-musleabihf"]
BINARIES = ["order-producer", "order-consumer"]
PY = sys.executable
TOOLS = [*OURS, "kcat", "python"]

# Issue 12, "Speed and size": (key, label, cases, field, op, bound). Fields: 0 wall, 1 CPU,
# 2 peak RSS. For orders/s the ratio is kcat's wall over ours, so a higher value is better.
TARGETS = [
    ("rate", "producer orders/s >= 1.0x kcat", ["produce"], 0, ">=", 1.0),
    ("rate", "consumer orders/s >= 1.0x kcat", ["consume"], 0, ">=", 1.0),
    ("cpu", "CPU per order <= 1.0x kcat (producing, consuming)", ["produce", "consume"], 1, "<=", 1.0),
    ("rss", "peak RSS <= 0.25x kcat (producing, consuming)", ["produce", "consume"], 2, "<=", 0.25),
    ("start", "start to first ack <= 0.5x kcat", ["first-ack"], 0, "<=", 0.5),
]
# Size budgets per binary, on every target; scripts/build-static enforces the same numbers.
BUDGET = 700 * 1024
TLS_BUDGET = 1536 * 1024


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
p = confluent_kafka.Producer({"bootstrap.servers": broker, "acks": "all",
    "enable.idempotence": True, "linger.ms": 5})
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


def create_topics(names):
    """Creates single-partition topics and waits until each has a leader."""
    admin = AdminClient({"bootstrap.servers": BROKER})
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


def stored_keys(topic):
    out = subprocess.run(
        ["kcat", "-b", BROKER, "-C", "-t", topic, "-e", "-q", "-f", "%k\n"],
        check=True, stdout=subprocess.PIPE,
    ).stdout.decode()
    return out.split()


def produce(tool, topic, path):
    if tool in OURS:
        return timed([OURS[tool][0], "-b", BROKER, "-t", topic, "--stdin", "--quiet", "--acks", "all"], path)
    keyed = path + ".keyed"
    if tool == "kcat":
        return timed(["kcat", "-b", BROKER, "-P", "-t", topic, "-K", "|",
                      "-X", "acks=all", "-X", "enable.idempotence=true"], keyed)
    return timed([PY, "-c", PY_PRODUCE, BROKER, topic, keyed])


def consume(tool, topic, n, out):
    if tool in OURS:
        cmd = [OURS[tool][1], "-b", BROKER, "-t", topic, "--no-group", "--no-dlq", "--format", "json",
               "--max-messages", str(n)]
    elif tool == "kcat":
        cmd = ["kcat", "-b", BROKER, "-C", "-t", topic, "-e", "-q", "-c", str(n)]
    else:
        cmd = [PY, "-c", PY_CONSUME, BROKER, topic, str(n), f"bench-{uuid.uuid4()}"]
    return timed(cmd, out_path=out)


def ids_in(path):
    ids = []
    with open(path) as f:
        for line in f:
            i = line.find('"order_id":"')
            if i >= 0:
                ids.append(line[i + 12:i + 48])
    return ids


def rotated(i):
    return TOOLS[i % len(TOOLS):] + TOOLS[:i % len(TOOLS)]


def run_cases(path, one, ids, work):
    results = {(case, tool): [] for case in ["produce", "consume", "first-ack", "first-order"] for tool in TOOLS}
    stamp = int(time.time())
    slug = {t: re.sub(r"[^A-Za-z0-9._-]+", "-", t).strip("-") for t in TOOLS}
    warm = {t: f"bench-{stamp}-warmup-{slug[t]}" for t in TOOLS}
    runs = [{t: f"bench-{stamp}-{r}-{slug[t]}" for t in TOOLS} for r in range(RUNS)]
    single = {t: f"bench-{stamp}-one-{slug[t]}" for t in TOOLS}
    create_topics([*warm.values(), *(n for r in runs for n in r.values()), *single.values()])
    out = os.path.join(work, "consumed")

    # One untimed round first: a freshly started broker's JVM is still compiling its hot paths.
    for tool in TOOLS:
        produce(tool, warm[tool], path)
        consume(tool, warm[tool], N, out)
    for run in range(RUNS):
        for tool in rotated(run):
            topic = runs[run][tool]
            measured = produce(tool, topic, path)
            keys = stored_keys(topic)
            if len(keys) != N or set(keys) != ids:
                print(f"bench: {tool} produce run {run + 1}: the topic holds {len(keys)} records, "
                      f"not exactly the {N} orders; not counted")
            else:
                results[("produce", tool)].append(measured)
            measured = consume(tool, topic, N, out)
            read = ids_in(out)
            if len(read) != N or set(read) != ids:
                print(f"bench: {tool} consume run {run + 1}: read {len(read)} orders, not the {N}; not counted")
            else:
                results[("consume", tool)].append(measured)
        print(f"bench: run {run + 1}/{RUNS} done", flush=True)
    for run in range(START_RUNS):
        for tool in rotated(run):
            results[("first-ack", tool)].append(produce(tool, single[tool], one))
            measured = consume(tool, single[tool], 1, out)
            if ids_in(out):
                results[("first-order", tool)].append(measured)
    print(f"bench: {START_RUNS} start-up runs per tool done", flush=True)
    return {key: tuple(statistics.median(r[i] for r in runs) for i in range(3))
            for key, runs in results.items() if runs}


def ratio(med, case, field):
    """Ours vs kcat for one case and field; None when either was not measured."""
    ours, theirs = med.get((case, "order-kafka")), med.get((case, "kcat"))
    if not ours or not theirs or not theirs[field] or not ours[field]:
        return None
    if case in ("produce", "consume") and field == 0:
        return theirs[0] / ours[0]
    return ours[field] / theirs[field]


def target_rows(med, sizes):
    """The targets table, and the keys of the targets missed (or not measured)."""
    rows, missed = [], set()
    for key, label, cases, field, op, bound in TARGETS:
        ratios = [ratio(med, c, field) for c in cases]
        if None in ratios:
            rows.append(f"| {label} | not measured | |")
            missed.add(key)
            continue
        met = all(r >= bound if op == ">=" else r <= bound for r in ratios)
        if not met:
            missed.add(key)
        rows.append(f"| {label} | {', '.join(f'{r:.2f}x' for r in ratios)} | {'met' if met else '**missed**'} |")
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
    return rows, missed


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


def cpu_profiles(path, work):
    """`perf record` of our producer and consumer: shares by component and the top symbols."""
    env, args = profile_build()
    subprocess.run(["cargo", "build", "--quiet", *args], check=True, env=env)
    bin_dir = f"target/profile/{HOST_TARGET}/release"
    topic = f"bench-{int(time.time())}-profile"
    create_topics([topic])
    runs = {
        "order-producer": ([f"{bin_dir}/order-producer", "-b", BROKER, "-t", topic, "--stdin", "--quiet",
                            "--acks", "all"], path),
        "order-consumer": ([f"{bin_dir}/order-consumer", "-b", BROKER, "-t", topic, "--no-group", "--no-dlq",
                            "--format", "json", "--max-messages", str(N)], None),
    }
    out = {}
    for name, (cmd, stdin) in runs.items():
        data = os.path.join(work, f"perf.{name}")
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
    return [
        f"{ours} (static x86_64 musl build from `make static`{codec})",
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


def write_report(med, sizes, avg, cpu_prof, size_prof, target_lines, missed):
    def row(case, tool):
        if (case, tool) not in med:
            return f"| {tool} | not counted | | | |"
        wall, cpu, rss = med[(case, tool)]
        rate = N / wall
        bwall, bcpu, brss = med.get((case, "kcat"), (wall, cpu, rss))
        return (f"| {tool} | {wall:.2f} s | {rate:,.0f} ({bwall / wall:.2f}x) | "
                f"{cpu * 1e6 / N:.2f} µs ({f'{cpu / bcpu:.2f}x' if bcpu else 'n/a'}) | "
                f"{rss / 1024:.1f} MiB ({rss / brss:.2f}x) |")

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
        "single-partition topic, tools in rotating order, median kept. acks=all with the idempotent "
        "producer for every tool, no compression. A run counts only when the topic holds exactly the "
        f"{N} orders (produce) or all {N} were read back (consume). Wall time runs from the fork "
        "to the reaped exit of the whole process; CPU is user+sys of the client process and peak RSS "
        f"its maximum resident set, from wait4 in a small C launcher. Start-up: median of {START_RUNS} single-order runs "
        "per tool.",
        "- Clients: `order-producer --stdin --quiet --acks all` (idempotent by default); "
        "`kcat -P -K '|' -X acks=all -X enable.idempotence=true` (librdkafka defaults otherwise); "
        "a Python producer on confluent-kafka (`acks=all`, `enable.idempotence=true`, `linger.ms=5`) "
        "in bulk. Reading: `order-consumer --no-group --no-dlq --max-messages N --format json`; "
        "`kcat -C -e -c N`; a confluent-kafka consumer in a fresh group. Output goes to a file.",
        "",
        f"![throughput, CPU and memory]({os.path.basename(chart)})",
        "",
        f"## Producing {N} orders",
        "",
        "| client | wall | orders/s (vs kcat) | CPU per order (vs kcat) | peak RSS (vs kcat) |",
        "| --- | --- | --- | --- | --- |",
        *[row("produce", t) for t in TOOLS],
        "",
        f"## Consuming {N} orders",
        "",
        "| client | wall | orders/s (vs kcat) | CPU per order (vs kcat) | peak RSS (vs kcat) |",
        "| --- | --- | --- | --- | --- |",
        *[row("consume", t) for t in TOOLS],
        "",
        "## Start-up: process start to the first acknowledged / printed order",
        "",
        "One order produced (the process exits after its acknowledgement) and one order read; "
        "wall time from the fork to the exit.",
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
    print(f"bench: wrote {OUT} and {chart}")


def profile_lines(missed, cpu_prof, size_prof):
    lines = []
    if missed & {"rate", "cpu"}:
        lines += ["## Where the time goes", ""]
        if not cpu_prof:
            lines += ["(No profile in this run: perf is missing, BENCH_PROFILE=0, or fewer than "
                      f"{PROFILE_MIN_N:,} orders.)", ""]
        for name, (groups, top) in (cpu_prof or {}).items():
            lines += [f"`perf record` of {name} on {N} orders, share of its samples by component:", "",
                      "| component | samples |", "| --- | --- |",
                      *[f"| {g} | {s:.1f}% |" for g, s in groups], "",
                      "Top symbols:", "", "```", *[f"{s:6.2f}% {sym}" for s, sym in top], "```", ""]
    lines += ["## Where the bytes go", ""]
    if not size_prof:
        lines += ["(No size breakdown in this run: BENCH_PROFILE=0, or fewer than "
                  f"{PROFILE_MIN_N:,} orders.)", ""]
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

    fig, axes = plt.subplots(1, 4, figsize=(15, 3.6))
    colors = ["#2b6cb0", "#90cdf4", "#718096", "#d69e2e"] if STABLE_DIR else ["#2b6cb0", "#718096", "#d69e2e"]

    def get(case, tool, field, scale):
        return med[(case, tool)][field] * scale if (case, tool) in med else 0

    panels = [
        ("produce orders/s", [("", lambda t: N / get("produce", t, 0, 1) if get("produce", t, 0, 1) else 0)]),
        ("consume orders/s", [("", lambda t: N / get("consume", t, 0, 1) if get("consume", t, 0, 1) else 0)]),
        ("CPU µs per order", [("produce", lambda t: get("produce", t, 1, 1e6 / N)),
                              ("consume", lambda t: get("consume", t, 1, 1e6 / N))]),
        ("peak RSS (MiB)", [("produce", lambda t: get("produce", t, 2, 1 / 1024)),
                            ("consume", lambda t: get("consume", t, 2, 1 / 1024))]),
    ]
    for ax, (title, series) in zip(axes, panels):
        width = 0.8 / len(series)
        for j, (label, value) in enumerate(series):
            xs = [i + (j - (len(series) - 1) / 2) * width for i in range(len(TOOLS))]
            vals = [value(t) for t in TOOLS]
            ax.bar(xs, vals, width=width, color=colors, alpha=1.0 if j == 0 else 0.55)
            for x, v in zip(xs, vals):
                ax.text(x, v, f"{v:,.0f}" if v >= 100 else f"{v:.1f}", ha="center", va="bottom", fontsize=7)
        ax.set_xticks(range(len(TOOLS)), TOOLS)
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}" if v >= 100 else f"{v:g}"))
        ax.set_title(title + (" (solid: produce, light: consume)" if len(series) > 1 else ""), fontsize=9)
    fig.suptitle(f"{N} orders, acks=all + idempotence, median of {RUNS} runs")
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def main():
    for binary in (PRODUCER, CONSUMER):
        if not os.path.exists(binary) or os.path.getmtime(binary) < newest_source():
            sys.exit(f"bench: {binary} is missing or older than the sources (scripts/build-static failed?)")
    with tempfile.TemporaryDirectory(prefix="bench-") as work:
        build_launcher(work)
        path = os.path.join(work, "orders.jsonl")
        ids = set(generate(path, N))
        avg = os.path.getsize(path) / N
        print(f"bench: {N} orders, {avg:.0f} bytes each, {RUNS} runs per case, broker {BROKER}", flush=True)
        one = os.path.join(work, "one.jsonl")
        generate(one, 1)

        med = run_cases(path, one, ids, work)
        sizes = static_sizes()
        target_lines, missed = target_rows(med, sizes)
        profiling = PROFILE == "1" or (PROFILE == "auto" and N >= PROFILE_MIN_N)
        has_perf = subprocess.run(["perf", "--version"], stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL).returncode == 0
        cpu_prof = cpu_profiles(path, work) if profiling and has_perf and missed & {"rate", "cpu"} else None
        size_prof = size_profiles() if profiling else None
        write_report(med, sizes, avg, cpu_prof, size_prof, target_lines, missed)


if __name__ == "__main__":
    main()
