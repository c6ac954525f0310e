#!/usr/bin/env python3
"""Spark against our window engine, on the same events (issue 14, goal 5).

Writes N seed-format events (default 1,000,000; the original producer's JSON) as
JSON-lines files, one micro-batch per file, then counts hashtags in event-time windows
with a watermark, the original project's query, twice:

* PySpark Structured Streaming, local[1] (one task thread), `readStream.json` with
  `maxFilesPerTrigger=1` and `trigger(availableNow=True)`, `withWatermark`, `groupBy(window,
  hashtag).count()`, update mode into the memory sink;
* our engine, `helpers/examples/count_files.rs`, release build: the same files, one
  trigger per file.

Each is run RUNS times; the first run of each warms up (Spark's JIT and code generation,
the page cache) and is not counted; the figures are the medians of the others. Spark's
session start-up is excluded: the clock runs from the query's start to its end. Both
wall time and CPU time are measured (Spark's JVM uses a second core for JIT and garbage
collection even with one task thread; CPU time is the per-core figure). The final count
of every (window, hashtag) must be the same on both sides, or the script fails.

    .venv/bin/python scripts/spark_bench.py [--events 1000000] [--runs 4] [--slide 60]
"""

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time

from spark_conformance import spark_session, windowed_counts  # same session, same query

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
START = 1733940000.0  # 2024-12-11, the original write-up's example timestamp


def write_events(folder, n, files, rate, seed=7):
    """n events in `files` files, `rate` per second of event time, up to 20 s out of order;
    ~1,000 distinct hashtags, a few of them much more frequent (a long tail, like posts)."""
    os.makedirs(folder, exist_ok=True)
    rng = random.Random(seed)
    popular = ["#Spark", "#Kafka", "#BigData", "#Rust", "#Streaming", "#DataScience",
               "#Python", "#Docker", "#AI", "#Cloud"]
    tail = [f"#tema{i}" for i in range(990)]
    users = [f"@usuario{i}" for i in range(5000)] + ["@DataFan", "@StreamGeek"]
    phrases = ["proyecto sobre {}", "hoy aprendiendo {} en clase", "{} mola mucho",
               "nuevo post: ventanas y marcas de agua con {}", "¿alguien usa {} en producción?"]
    per_file = n // files
    for f in range(files):
        path = os.path.join(folder, f"batch-{f:04d}.json")
        with open(path, "w", encoding="utf-8") as out:
            for i in range(f * per_file, (f + 1) * per_file if f < files - 1 else n):
                tag = rng.choice(popular) if rng.random() < 0.6 else rng.choice(tail)
                t = START + i / rate - rng.uniform(0, 20)
                out.write(json.dumps({
                    "usuario": rng.choice(users),
                    "texto": rng.choice(phrases).format(tag),
                    "hashtag_principal": tag,
                    "timestamp": round(t, 3),
                }, ensure_ascii=False) + "\n")
        # Spark's file source takes files in modification-time order.
        os.utime(path, (1_600_000_000 + f, 1_600_000_000 + f))


def cpu_seconds(pid):
    """User + system CPU time of a process so far, from /proc."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_spark(spark, folder, width, slide, delay, scratch, run):
    """One streaming query over the folder; returns (wall s, JVM CPU s, final counts)."""
    counts = windowed_counts(spark, folder, width, slide, delay)
    name = f"bench_{run}"
    jvm = spark.sparkContext._gateway.proc.pid
    cpu0, t0 = cpu_seconds(jvm), time.perf_counter()
    q = (counts.writeStream.outputMode("update").format("memory").queryName(name)
         .trigger(availableNow=True)
         .option("checkpointLocation", os.path.join(scratch, f"checkpoint-{run}"))
         .start())
    q.awaitTermination()
    wall, cpu = time.perf_counter() - t0, cpu_seconds(jvm) - cpu0
    # Update mode writes a (window, hashtag) again each time its count grows: the final
    # count is the largest.
    rows = spark.sql(
        f"SELECT unix_micros(window.start) AS s, hashtag_principal AS h, max(count) AS c "
        f"FROM {name} GROUP BY 1, 2").collect()
    spark.sql(f"DROP VIEW IF EXISTS {name}")
    return wall, cpu, {(r.s, r.h): r.c for r in rows}


def build_ours():
    subprocess.run(["cargo", "build", "--release", "--locked", "-q", "--example", "count_files"],
                   cwd=os.path.join(REPO, "helpers"), check=True)
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(REPO, "helpers", "target"))
    return os.path.join(target, "release", "examples", "count_files")


def run_ours(binary, folder, width, slide, delay):
    """One run of our engine; returns (wall s, CPU s, final counts, its report)."""
    before = os.times()
    out = subprocess.run([binary, folder, str(width), str(slide), str(delay)],
                         check=True, capture_output=True, text=True)
    after = os.times()
    report = json.loads(out.stdout)
    cpu = (after.children_user - before.children_user) + (after.children_system - before.children_system)
    counts = {(s, h): c for s, h, c in report.pop("finals")}
    return report["seconds"], cpu, counts, report


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--events", type=int, default=1_000_000)
    p.add_argument("--files", type=int, default=10, help="micro-batches (one file each)")
    p.add_argument("--rate", type=float, default=200.0, help="events per second of event time")
    p.add_argument("--width", type=int, default=60)
    p.add_argument("--slide", type=int, default=60, help="60 = tumbling windows")
    p.add_argument("--delay", type=int, default=60, help="watermark delay, s")
    p.add_argument("--runs", type=int, default=4, help="runs of each; the first warms up")
    p.add_argument("--data", help="folder for the event files (default: a temporary one)")
    a = p.parse_args()
    if a.runs < 2:
        p.error("--runs must be at least 2 (the first one only warms up)")

    with tempfile.TemporaryDirectory(prefix="spark-bench-") as scratch:
        folder = a.data or os.path.join(scratch, "events")
        if not os.path.isdir(folder) or not os.listdir(folder):
            t = time.perf_counter()
            write_events(folder, a.events, a.files, a.rate)
            print(f"wrote {a.events:,} events in {a.files} files to {folder} "
                  f"({time.perf_counter() - t:.1f} s)", file=sys.stderr)
        size = sum(os.path.getsize(os.path.join(folder, f)) for f in os.listdir(folder))

        binary = build_ours()
        import pyspark
        spark = spark_session("spark-bench", {"spark.ui.showConsoleProgress": "false",
                                              "spark.driver.memory": "2g"})
        spark_runs, our_runs = [], []
        # Alternated, so that the machine's noise falls on both alike.
        for run in range(a.runs):
            spark_runs.append(run_spark(spark, folder, a.width, a.slide, a.delay, scratch, run))
            our_runs.append(run_ours(binary, folder, a.width, a.slide, a.delay))
            print(f"run {run}: Spark {spark_runs[-1][0]:.2f} s wall / {spark_runs[-1][1]:.2f} s CPU, "
                  f"ours {our_runs[-1][0]:.2f} s wall / {our_runs[-1][1]:.2f} s CPU",
                  file=sys.stderr)
        spark_version = spark.version
        spark.stop()

    theirs, ours = spark_runs[-1][2], our_runs[-1][2]
    report = our_runs[-1][3]
    if theirs != ours:
        only_spark = {k: v for k, v in theirs.items() if ours.get(k) != v}
        only_ours = {k: v for k, v in ours.items() if theirs.get(k) != v}
        print(f"MISMATCH: {len(only_spark)} (window, hashtag) counts differ; Spark: "
              f"{sorted(only_spark.items())[:5]} ours: {sorted(only_ours.items())[:5]}",
              file=sys.stderr)
        return 1

    med = lambda xs: statistics.median(xs)  # noqa: E731
    s_wall, s_cpu = med([r[0] for r in spark_runs[1:]]), med([r[1] for r in spark_runs[1:]])
    o_wall, o_cpu = med([r[0] for r in our_runs[1:]]), med([r[1] for r in our_runs[1:]])
    kind = "tumbling" if a.slide == a.width else f"sliding every {a.slide} s"
    print(f"{a.events:,} events ({size / 1e6:.0f} MB of JSON, {a.files} micro-batches), "
          f"{a.width} s windows {kind}, watermark {a.delay} s, event time; "
          f"{len(ours):,} (window, hashtag) counts, identical on both sides; "
          f"{report['late']} late, {report['rejected']} rejected.")
    print(f"Spark {spark_version} (PySpark {pyspark.__version__}), local[1]: "
          f"{s_wall:.2f} s wall, {s_cpu:.2f} s CPU, {a.events / s_wall:,.0f} events/s")
    print(f"ours (release, one thread): {o_wall:.2f} s wall, {o_cpu:.2f} s CPU, "
          f"{a.events / o_wall:,.0f} events/s")
    print(f"ratio Spark / ours: {s_wall / o_wall:.1f}x wall, {s_cpu / o_cpu:.1f}x CPU "
          f"(medians of {a.runs - 1} warm runs each, alternated)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
