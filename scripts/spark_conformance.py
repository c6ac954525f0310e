#!/usr/bin/env python3
"""Spark conformance: our window engine against PySpark Structured Streaming itself.

Each scenario is a list of micro-batches of events (JSON lines, the wire schema). The
script writes one file per batch, then runs

* PySpark: a file source reading one file per trigger (`maxFilesPerTrigger` 1,
  `trigger(availableNow=True)`), event time `timestamp` cast to a timestamp,
  `withWatermark("ts", "<delay> seconds")`, `window(ts, width, slide)`, a count per
  hashtag, output modes `update` and `complete` (and `append` for some scenarios) through
  `foreachBatch`;
* our engine: `cargo run --example replay` on the same files, one tick per batch, under
  Spark's rule (must match), in complete mode (must match) and under the old per-event
  rule (reported, for the record).

It compares, for every scenario:

1. the final count of every (window start, window end, hashtag): for Spark the last value
   written in update mode, for us the closed windows plus those still open at the end;
2. the rows written in update mode, batch by batch (ours: `Snapshot::updated`), and in
   append mode where it is run (ours: `Snapshot::closed`);
3. rows dropped by the watermark. Spark's metric `numRowsDroppedByWatermark` counts the
   dropped rows *after* the batch's partial aggregation, i.e. distinct (window, hashtag)
   groups per batch, not input rows; ours is `TriggerMetrics::late_groups`, compared batch
   by batch. The (event, window) pairs dropped are compared too: for Spark, events ×
   width/slide − the sum of the final counts; ours `Totals::late_windows`;
4. the watermark each batch ran with (Spark's `eventTime.watermark`, our closing watermark,
   which is the previous trigger's new watermark);
5. complete mode, batch by batch: every row Spark writes (its whole result table, late
   rows included: complete mode applies no watermark filter and keeps every window)
   against ours (`Snapshot::windows` of an engine in `OutputMode::Complete`), and
   `numRowsDroppedByWatermark` (must be 0 on both sides).

Any difference is printed and the exit status is 1. Usage (from the repository root):
    .venv/bin/python scripts/spark_conformance.py [--random N] [--seed S] [--keep DIR]
"""

import argparse
import datetime as dt
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time

T0 = 1_733_940_000.0  # 2024-12-11 18:00:00 UTC, the demo's reference time
TAGS = ["#Spark", "#BigData", "#RealTime", "#IA"]


class Scenario:
    """Micro-batches of (hashtag, event time s) with window and watermark settings."""

    def __init__(self, name, batches, width=60, slide=None, delay=60, append=False):
        self.name = name
        self.batches = batches
        self.width = width
        self.slide = slide or width
        self.delay = delay
        # Also run Spark in append mode and compare with the windows we close.
        self.append = append

    def rows(self):
        return sum(len(b) for b in self.batches)


def at(s):
    """An event time `s` seconds after T0, to the millisecond."""
    return round(T0 + s, 3)


def fixed_scenarios():
    """The hand-written scenarios: each shows one thing."""
    tags = TAGS
    return [
        Scenario("in_order", [[(tags[i % 4], at(10 * b + i)) for i in range(6)] for b in range(5)]),
        # Out of order, but never more than the 60 s delay behind the newest event.
        Scenario(
            "out_of_order_within_delay",
            [
                [("#Spark", at(70)), ("#IA", at(20)), ("#Spark", at(55))],
                [("#BigData", at(130)), ("#Spark", at(75)), ("#IA", at(90))],
                [("#Spark", at(118)), ("#IA", at(100)), ("#RealTime", at(150))],
                [("#Spark", at(160)), ("#IA", at(119.999)), ("#BigData", at(121))],
            ],
            append=True,
        ),
        # Far behind: whole windows before the watermark of the previous batch.
        Scenario(
            "beyond_delay",
            [
                [("#Spark", at(10)), ("#IA", at(30))],
                [("#Spark", at(300))],
                [("#IA", at(20)), ("#Spark", at(100)), ("#Spark", at(239.999))],
                [("#IA", at(5)), ("#IA", at(6)), ("#BigData", at(180)), ("#Spark", at(240))],
                [("#IA", at(181)), ("#Spark", at(400))],
                [("#IA", at(299)), ("#IA", at(300)), ("#BigData", at(339.5))],
            ],
            append=True,
        ),
        # Exactly on window ends and on the watermark.
        Scenario(
            "boundaries",
            [
                [("#a", at(0)), ("#a", at(59.999)), ("#b", at(60))],
                [("#a", at(180))],  # watermark 120
                [("#a", at(60)), ("#b", at(59.999)), ("#c", at(120))],
                [("#a", at(119.999)), ("#b", at(120)), ("#c", at(240))],  # judged against 120
                [("#a", at(179.999)), ("#b", at(180))],
            ],
        ),
        # Sliding windows: each (row, window) pair is judged on its own.
        Scenario(
            "sliding",
            [
                [("#Spark", at(65)), ("#IA", at(12))],
                [("#Spark", at(200)), ("#BigData", at(150))],
                [("#IA", at(135)), ("#Spark", at(125)), ("#RealTime", at(99))],
                [("#IA", at(150)), ("#Spark", at(141)), ("#IA", at(260))],
                [("#IA", at(205)), ("#BigData", at(199.999))],
            ],
            width=60,
            slide=10,
            append=True,
        ),
        Scenario(
            "sliding_half",
            [
                [("#a", at(100)), ("#b", at(40))],
                [("#a", at(190)), ("#b", at(95))],
                [("#a", at(121)), ("#b", at(150)), ("#c", at(89))],
                [("#a", at(200))],
            ],
            width=60,
            slide=30,
            delay=30,
        ),
        # Empty files are triggers without input; the last ones move nothing.
        Scenario(
            "idle_triggers",
            [
                [("#Spark", at(30))],
                [],
                [("#Spark", at(200))],
                [],
                [],
                [("#IA", at(140)), ("#IA", at(50))],
                [],
                [("#Spark", at(400))],
            ],
            append=True,
        ),
        # Many hashtags, several per window, some late.
        Scenario(
            "many_hashtags",
            [
                [(f"#tag{(i * 7) % 300}", at(i * 0.2)) for i in range(400)],
                [(f"#tag{(i * 11) % 300}", at(60 + i * 0.2)) for i in range(400)],
                [(f"#tag{(i * 13) % 300}", at(i * 0.4)) for i in range(300)],
            ],
            width=60,
            slide=20,
            delay=30,
        ),
        # The Structured Streaming programming guide's late-data example (word counts,
        # 10 minute windows sliding 5 minutes, 10 minute watermark); times from 12:00.
        Scenario(
            "guide",
            [
                [("dog", at(7 * 60 - 21600)), ("owl", at(8 * 60 - 21600))],
                [("dog", at(14 * 60 - 21600)), ("cat", at(9 * 60 - 21600))],
                [
                    ("cat", at(15 * 60 - 21600)),
                    ("dog", at(8 * 60 - 21600)),
                    ("owl", at(13 * 60 - 21600)),
                    ("owl", at(21 * 60 - 21600)),
                ],
                [("donkey", at(4 * 60 - 21600)), ("owl", at(17 * 60 - 21600))],
            ],
            width=600,
            slide=300,
            delay=600,
            append=True,
        ),
    ]


def random_scenarios(n, seed):
    """`n` seeded random scenarios: out of order, late, idle batches, window shapes."""
    shapes = [(60, 60, 60), (60, 10, 60), (60, 20, 30), (30, 10, 0), (10, 5, 20), (60, 30, 90)]
    out = []
    for i in range(n):
        rng = random.Random(seed * 1000 + i)
        width, slide, delay = rng.choice(shapes)
        clock = 0.0
        batches = []
        for _ in range(rng.randint(3, 7)):
            clock += rng.uniform(0, 45)
            batch = []
            for _ in range(rng.choice([0, 1, 3, 6, 12])):
                if rng.random() < 0.2:
                    t = float(round(clock - rng.randint(0, 150)))  # whole seconds: on boundaries
                else:
                    t = clock + rng.uniform(-150, 10)
                batch.append((rng.choice(TAGS), at(t)))
            batches.append(batch)
        out.append(Scenario(f"random_{seed}_{i}", batches, width, slide, delay))
    return out


def write_files(sc, root):
    """One JSON-lines file per batch, with increasing modification times: the file source
    takes files in modification-time order."""
    d = os.path.join(root, sc.name, "in")
    os.makedirs(d)
    for i, batch in enumerate(sc.batches):
        path = os.path.join(d, f"batch{i:04d}.json")
        with open(path, "w", encoding="utf-8") as f:
            for tag, t in batch:
                f.write(json.dumps({"usuario": "@DataFan", "texto": f"proyecto sobre {tag}",
                                    "hashtag_principal": tag, "timestamp": t}) + "\n")
        os.utime(path, (1_600_000_000 + i, 1_600_000_000 + i))
    return d


def spark_session(app="spark-conformance", conf=None):
    """A local[1] session on loopback, one shuffle partition, UTC; `conf`: more settings."""
    from pyspark.sql import SparkSession

    # Loopback only: without these, Spark binds its driver to the first non-loopback
    # interface it finds.
    os.environ["SPARK_LOCAL_IP"] = "127.0.0.1"
    builder = SparkSession.builder.master("local[1]").appName(app)
    for key, value in (conf or {}).items():
        builder = builder.config(key, value)
    spark = (
        builder
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "1")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.driver.extraJavaOptions", "-Dlog4j2.level=ERROR")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def micros(iso):
    """Spark's progress timestamps ("1970-01-01T00:03:10.000Z") as µs since the epoch."""
    t = dt.datetime.fromisoformat(iso.replace("Z", "+00:00"))
    return (t - dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)) // dt.timedelta(microseconds=1)


def event_schema():
    """The wire schema, as the original consumer declared it."""
    from pyspark.sql import types as T

    return T.StructType([
        T.StructField("usuario", T.StringType()),
        T.StructField("texto", T.StringType()),
        T.StructField("hashtag_principal", T.StringType()),
        T.StructField("timestamp", T.DoubleType()),
    ])


def windowed_counts(spark, folder, width, slide, delay):
    """The original consumer's query, in event time: the JSON files of `folder` read one
    per micro-batch, a watermark of `delay` s, and a count per (window of `width` s every
    `slide` s, hashtag). Shared with scripts/spark_bench.py."""
    from pyspark.sql import functions as F

    return (
        spark.readStream.schema(event_schema()).option("maxFilesPerTrigger", 1).json(folder)
        .withColumn("ts", F.col("timestamp").cast("timestamp"))
        .withWatermark("ts", f"{delay} seconds")
        .groupBy(F.window("ts", f"{width} seconds", f"{slide} seconds"),
                 F.col("hashtag_principal"))
        .count()
    )


def run_spark(spark, sc, d, mode, root):
    """Runs the scenario's query to the end; returns per batch (rows written, progress)."""
    from pyspark.sql import functions as F

    counts = windowed_counts(spark, d, sc.width, sc.slide, sc.delay)
    written = {}

    def each_batch(df, batch_id):
        rows = df.select(F.unix_micros("window.start"), F.unix_micros("window.end"),
                         "hashtag_principal", "count").collect()
        written[batch_id] = sorted(tuple(r) for r in rows)

    q = (counts.writeStream.outputMode(mode).foreachBatch(each_batch)
         .trigger(availableNow=True)
         .option("checkpointLocation", os.path.join(root, sc.name, f"checkpoint-{mode}"))
         .start())
    q.awaitTermination()
    progress = {p["batchId"]: p for p in q.recentProgress}
    batches = []
    for b in sorted(progress):
        p = progress[b]
        ops = p["stateOperators"]
        batches.append({
            "rows": written.get(b, []),
            "input_rows": p["numInputRows"],
            "dropped": ops[0]["numRowsDroppedByWatermark"] if ops else 0,
            "watermark": micros(p["eventTime"]["watermark"]) if "watermark" in p["eventTime"] else 0,
        })
    return batches


def run_ours(manifest_path, repo):
    out = subprocess.run(
        ["cargo", "run", "--example", "replay", "--locked", "-q", "--", manifest_path],
        cwd=os.path.join(repo, "helpers"), check=True, capture_output=True, text=True)
    return json.loads(out.stdout)


def rows_of(engine_rows):
    return sorted((s, e, h, c) for s, e, h, c in engine_rows)


def compare_complete(spark_complete, ours):
    """Differences between Spark's complete mode and our engine in complete mode."""
    diffs = []
    ob = ours["batches"]
    # Our engine ticks as often as Spark ran update-mode batches; in complete mode Spark
    # runs no trailing no-data batches (nothing to evict), and ours change nothing.
    if len(spark_complete) > len(ob):
        diffs.append(f"complete: Spark ran {len(spark_complete)} batches, we ticked {len(ob)}")
    for b in ob[len(spark_complete):]:
        if b["input_rows"] or rows_of(b["windows"]) != rows_of(ob[len(spark_complete) - 1]["windows"]):
            diffs.append("complete: an idle trigger after Spark's last batch changed the result")
    for i, (sb, b) in enumerate(zip(spark_complete, ob)):
        if sb["rows"] != rows_of(b["windows"]):
            diffs.append(f"batch {i}: complete rows\n      Spark {sb['rows']}\n      ours  {rows_of(b['windows'])}")
        if sb["dropped"] != b["late_groups"]:
            diffs.append(f"batch {i}: complete numRowsDroppedByWatermark Spark {sb['dropped']}, ours {b['late_groups']}")
    return diffs


def compare(sc, spark, spark_append, ours):
    """Differences between Spark and our engine (Spark rule), as readable lines."""
    diffs = []
    ob = ours["batches"]
    if len(spark) != len(ob):
        diffs.append(f"batches: Spark ran {len(spark)}, we ticked {len(ob)}")
    # 1. Final counts: Spark's last update per key.
    final = {}
    for b in spark:
        for s, e, h, c in b["rows"]:
            final[(s, e, h)] = c
    mine = {(s, e, h): c for s, e, h, c in ours["finals"]}
    for k in sorted(set(final) | set(mine)):
        if final.get(k) != mine.get(k):
            diffs.append(f"final count {k}: Spark {final.get(k)}, ours {mine.get(k)}")
    for i, (sb, b) in enumerate(zip(spark, ob)):
        # 2. Update-mode output, batch by batch.
        if sb["input_rows"] != b["input_rows"]:
            diffs.append(f"batch {i}: input rows Spark {sb['input_rows']}, ours {b['input_rows']}")
        if sb["rows"] != rows_of(b["updated"]):
            diffs.append(f"batch {i}: update rows\n      Spark {sb['rows']}\n      ours  {rows_of(b['updated'])}")
        # 3. Rows dropped by the watermark, Spark's way (after partial aggregation).
        if sb["dropped"] != b["late_groups"]:
            diffs.append(f"batch {i}: numRowsDroppedByWatermark Spark {sb['dropped']}, ours {b['late_groups']}")
        # 4. The watermark the batch ran with: Spark's eventTime.watermark is our closing
        #    watermark of the same trigger (and the previous trigger's new watermark).
        ran_with = b["closing_watermark"]
        if sb["watermark"] != (ran_with or 0) or ran_with != (ob[i - 1]["watermark"] if i > 0 else None):
            diffs.append(f"batch {i}: watermark Spark {sb['watermark']}, our closing watermark {ran_with}")
    pairs_spark = sc.rows() * (sc.width // sc.slide) - sum(final.values())
    if pairs_spark != ours["late_windows"]:
        diffs.append(f"(event, window) pairs dropped: Spark {pairs_spark}, ours {ours['late_windows']}")
    if spark_append is not None:
        if len(spark_append) != len(ob):
            diffs.append(f"append: Spark ran {len(spark_append)} batches, we ticked {len(ob)}")
        for i, (sb, b) in enumerate(zip(spark_append, ob)):
            if sb["rows"] != rows_of(b["closed"]):
                diffs.append(f"batch {i}: append rows\n      Spark {sb['rows']}\n      ours  {rows_of(b['closed'])}")
    return diffs, pairs_spark, sum(b["dropped"] for b in spark)


def per_event_gap(spark, ours_old):
    """How the old per-event rule differs from Spark: counts that differ, pairs dropped."""
    final = {}
    for b in spark:
        for s, e, h, c in b["rows"]:
            final[(s, e, h)] = c
    mine = {(s, e, h): c for s, e, h, c in ours_old["finals"]}
    differ = sum(1 for k in set(final) | set(mine) if final.get(k) != mine.get(k))
    return differ, ours_old["late_windows"]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--random", type=int, default=24, help="random scenarios (default 24)")
    ap.add_argument("--seed", type=int, default=11, help="seed of the random scenarios")
    ap.add_argument("--keep", help="write the scenario files here and keep them")
    args = ap.parse_args()
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    started = time.monotonic()
    root = args.keep or tempfile.mkdtemp(prefix="spark-conformance-")
    if args.keep:
        shutil.rmtree(root, ignore_errors=True)
        os.makedirs(root)
    scenarios = fixed_scenarios() + random_scenarios(args.random, args.seed)
    dirs = {sc.name: write_files(sc, root) for sc in scenarios}

    spark = spark_session()
    import pyspark
    print(f"Spark {spark.version} (PySpark {pyspark.__version__}), local[1], "
          f"{len(scenarios)} scenarios", flush=True)
    spark_runs, append_runs, complete_runs = {}, {}, {}
    for sc in scenarios:
        spark_runs[sc.name] = run_spark(spark, sc, dirs[sc.name], "update", root)
        complete_runs[sc.name] = run_spark(spark, sc, dirs[sc.name], "complete", root)
        if sc.append:
            append_runs[sc.name] = run_spark(spark, sc, dirs[sc.name], "append", root)
    spark.stop()
    spark_secs = time.monotonic() - started

    # Our engine: one tick per file, then as many idle ticks as Spark ran no-data batches.
    manifest = [{"name": sc.name, "dir": dirs[sc.name], "width_s": sc.width,
                 "slide_s": sc.slide, "delay_s": sc.delay,
                 "extra_ticks": max(0, len(spark_runs[sc.name]) - len(sc.batches))}
                for sc in scenarios]
    manifest_path = os.path.join(root, "manifest.json")
    with open(manifest_path, "w", encoding="utf-8") as f:
        json.dump(manifest, f)
    ours = run_ours(manifest_path, repo)

    print(f"\n{'scenario':<28}{'w/s/d s':>12}{'batches':>8}{'rows':>6}"
          f"{'dropped groups':>16}{'dropped pairs':>15}{'  per-event rule vs Spark':<30}  result")
    failed = 0
    total_old_differ = 0
    for sc in scenarios:
        sp = spark_runs[sc.name]
        diffs, pairs, groups = compare(sc, sp, append_runs.get(sc.name), ours[sc.name]["spark"])
        diffs += compare_complete(complete_runs[sc.name], ours[sc.name]["complete"])
        differ, old_pairs = per_event_gap(sp, ours[sc.name]["per_event"])
        total_old_differ += differ
        old = f"  {differ} counts differ, {old_pairs} pairs dropped" if differ or old_pairs != pairs else "  same"
        shape = f"{sc.width}/{sc.slide}/{sc.delay}"
        mode = "+complete" + ("+append" if sc.name in append_runs else "")
        result = "ok" + mode if not diffs else "DIFFERENT"
        print(f"{sc.name:<28}{shape:>12}{len(sp):>8}{sc.rows():>6}{groups:>16}{pairs:>15}{old:<30}  {result}")
        for d in diffs:
            print(f"    {d}")
        failed += bool(diffs)
    print(f"\nSpark rule: {len(scenarios) - failed} of {len(scenarios)} scenarios identical to "
          f"Spark {spark.version}; old per-event rule: {total_old_differ} (window, hashtag) counts "
          f"differ from Spark in total.")
    print(f"time: {time.monotonic() - started:.0f} s (Spark {spark_secs:.0f} s)")
    if not args.keep:
        shutil.rmtree(root, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
