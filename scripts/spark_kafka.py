#!/usr/bin/env python3
"""The original PySpark consumer against our stream, over Kafka: Spark's per-batch and final
counts against ours, on the same offsets.

It starts our `broker` program (Apache Kafka in KRaft mode by default: `--engine`), and

* **Spark**: the original project's job, unchanged in spirit: Spark's Kafka source
  (`spark-sql-kafka-0-10`, fetched by `scripts/setup --tests` into `.jvm/spark-kafka/`)
  subscribed to `tweets_topic`, `CAST(value AS STRING)`, `from_json` with the original
  schema, `hashtag_principal` not null, a watermark and a window on the event time
  (`timestamp` cast to a timestamp: the original used `current_timestamp()`, processing
  time, which no two systems can share), a count per hashtag, update mode, `foreachBatch`,
  a processing-time trigger, from the `latest` offsets (what the topic held before is not
  read);
* **our producer** writes events to the topic once Spark's first micro-batch has run, 10 %
  of them late (up to 240 s in the past, so some fall behind the watermark);
* **ours**: once Spark is done, our Kafka client (rdkafka, `cargo run --example replay`)
  reads the very offset ranges of each of Spark's micro-batches (from Spark's progress
  reports, `sources[0].startOffset`/`endOffset`) and our window engine counts them, one
  trigger per micro-batch.

It then compares, with `scripts/spark_conformance.py`'s comparison: the rows written in
update mode batch by batch, the input rows, the rows dropped by the watermark, the
watermark each batch ran with, and the final count of every (window, hashtag). It prints
Spark's batches beside ours. Any difference: exit status 1.

Usage (from the repository root):
    .venv/bin/python scripts/spark_kafka.py [--engine kafka|tansu] [--events N] [--rate R]
    .venv/bin/python scripts/spark_kafka.py --bootstrap ADDRESS [--json FILE] ...

With `--bootstrap` it uses that running Kafka (a lesson's) instead of starting a broker;
`--json` also writes the result as JSON (what lesson 2's `show_spark` shows).
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import spark_conformance as sc  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
TOPIC = "tweets_topic"


def spark_kafka_jars():
    """The jars of Spark's Kafka source, as `spark.jars` wants them."""
    d = REPO / ".jvm" / "spark-kafka"
    if not (d / "ok").is_file():
        sys.exit("spark_kafka: Spark's Kafka source is missing: run `bash scripts/setup --tests` "
                 "(it fetches it with Maven).")
    return ",".join(str(p) for p in sorted(d.glob("*.jar")))


def programs():
    """The folder of our broker and producer programs (built if needed)."""
    given = os.environ.get("HELPERS_BIN_DIR")
    if given:
        return Path(given)
    out = subprocess.run(["bash", "scripts/build_programs"], cwd=REPO, check=True,
                         capture_output=True, text=True)
    return Path(out.stdout.strip())


def start_broker(bins, engine, state):
    """Our broker program hosting `engine`; its published address."""
    log = open(state / "broker.out", "w")
    child = subprocess.Popen([str(bins / "broker"), "--engine", engine, "--brokers", "1",
                              "--partitions", "3", "--state-dir", str(state),
                              "--parent-pid", str(os.getpid())],
                             stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        info = state / "broker.json"
        if info.exists():
            try:
                return child, json.loads(info.read_text())["bootstrap"]
            except (ValueError, KeyError):
                pass
        if child.poll() is not None:
            sys.exit(f"spark_kafka: the broker program exited: {(state / 'broker.out').read_text()[-500:]}")
        time.sleep(0.1)
    child.kill()
    sys.exit("spark_kafka: the broker did not publish its address within 120 s")


def original_job(spark, bootstrap, width, delay):
    """The original consumer's query (see the module's docs), over Spark's Kafka source."""
    from pyspark.sql import functions as F

    raw_df = (
        spark.readStream.format("kafka")
        .option("kafka.bootstrap.servers", bootstrap)
        .option("subscribe", TOPIC)
        .option("startingOffsets", "latest")
        .load()
    )
    value_df = raw_df.selectExpr("CAST(value AS STRING) as json_str")
    parsed_df = (value_df.select(F.from_json(F.col("json_str"), sc.event_schema()).alias("data"))
                 .select("data.*"))
    df_with_ts = (parsed_df.where(F.col("hashtag_principal").isNotNull())
                  .withColumn("ts", F.col("timestamp").cast("timestamp")))
    return (
        df_with_ts.withWatermark("ts", f"{delay} seconds")
        .groupBy(F.window(F.col("ts"), f"{width} seconds"), F.col("hashtag_principal"))
        .agg(F.count("*").alias("num_ocurrencias"))
    )


def offsets(value):
    """A progress report's offsets ({"tweets_topic": {"0": n, ...}}) as {partition: n};
    `None` (the first batch: earliest) as {}."""
    if isinstance(value, str):
        value = json.loads(value)
    if value is None:
        return {}
    return {int(p): int(n) for p, n in value.get(TOPIC, {}).items()}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--engine", default="kafka", choices=["kafka", "tansu"],
                    help="the broker our broker program hosts (default: Apache Kafka)")
    ap.add_argument("--events", type=int, default=1500, help="events to produce (default 1500)")
    ap.add_argument("--rate", type=float, default=60.0, help="events per second (default 60)")
    ap.add_argument("--trigger", type=int, default=3, help="Spark's trigger, s (default 3)")
    ap.add_argument("--bootstrap", help="use this running Kafka instead of starting one")
    ap.add_argument("--json", help="also write the result to this file, as JSON")
    args = ap.parse_args()
    width, delay = 60, 60
    started = time.monotonic()
    bins = programs()
    state = Path(tempfile.mkdtemp(prefix="spark-kafka-"))
    os.chmod(state, 0o700)
    if args.bootstrap:
        broker, bootstrap = None, args.bootstrap
    else:
        broker, bootstrap = start_broker(bins, args.engine, state)
    where = "the given Kafka" if args.bootstrap else args.engine
    producer = None
    try:
        spark = sc.spark_session("spark-kafka", {"spark.jars": spark_kafka_jars(),
                                                   "spark.ui.showConsoleProgress": "false"})
        import pyspark
        print(f"Spark {spark.version} (PySpark {pyspark.__version__}) with its Kafka source, "
              f"reading {TOPIC} on {where} at {bootstrap}", flush=True)
        written = {}

        def each_batch(batch_df, batch_id):
            from pyspark.sql import functions as F
            rows = batch_df.select(F.unix_micros("window.start"), F.unix_micros("window.end"),
                                   "hashtag_principal", "num_ocurrencias").collect()
            written[batch_id] = sorted(tuple(r) for r in rows)

        q = (original_job(spark, bootstrap, width, delay).writeStream.outputMode("update")
             .foreachBatch(each_batch).trigger(processingTime=f"{args.trigger} seconds")
             .option("checkpointLocation", str(state / "spark-checkpoint")).start())
        # "latest" is resolved at the first micro-batch: write only after it has run.
        deadline = time.monotonic() + 120
        while not q.recentProgress and time.monotonic() < deadline:
            time.sleep(0.2)
        print(f"Spark's first micro-batch ran; our producer writes {args.events} events "
              f"at {args.rate:g}/s", flush=True)
        producer = subprocess.Popen(
            [str(bins / "producer"), "--bootstrap", bootstrap, "--count", str(args.events),
             "--rate", str(args.rate), "--late-share", "0.1", "--max-lateness", "240",
             "--parent-pid", str(os.getpid()),
             "--state-dir", str(state)],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        if producer.wait(timeout=args.events / args.rate + 120) != 0:
            sys.exit("spark_kafka: the producer failed")
        q.processAllAvailable()
        # Two more triggers: a no-data batch that only moves the watermark may follow.
        time.sleep(2 * args.trigger + 1)
        q.processAllAvailable()
        q.stop()
        progress = {p["batchId"]: p for p in q.recentProgress}
        spark.stop()
        spark_secs = time.monotonic() - started

        batches, ranges, prev_end = [], [], {}
        for b in sorted(progress):
            p = progress[b]
            src = p["sources"][0]
            end = offsets(src.get("endOffset"))
            start = offsets(src.get("startOffset"))
            if not start and b == min(progress):
                # The first micro-batch reports no start: with "latest" it began where it
                # ended, unless it read something (then its start is unknown).
                if p["numInputRows"]:
                    sys.exit("spark_kafka: Spark's first micro-batch read events, and its "
                             "progress report gives no start offsets to read them again")
                start = end
            start = start or prev_end
            prev_end = end or prev_end
            ops = p["stateOperators"]
            batches.append({
                "rows": written.get(b, []),
                "input_rows": p["numInputRows"],
                "dropped": ops[0]["numRowsDroppedByWatermark"] if ops else 0,
                "watermark": sc.micros(p["eventTime"]["watermark"]) if "watermark" in p["eventTime"] else 0,
            })
            ranges.append([[part, start.get(part, 0), n] for part, n in sorted(end.items())])
        if len(progress) != max(progress) + 1 - min(progress) or min(progress) != 0:
            sys.exit(f"spark_kafka: Spark's progress reports are not all there: {sorted(progress)}")

        manifest = [{"name": "kafka", "width_s": width, "slide_s": width, "delay_s": delay,
                     "extra_ticks": 0,
                     "kafka": {"bootstrap": bootstrap, "topic": TOPIC, "batches": ranges}}]
        (state / "manifest.json").write_text(json.dumps(manifest))
        ours = sc.run_ours(str(state / "manifest.json"), str(REPO))["kafka"]["spark"]

        total = sum(b["input_rows"] for b in batches)
        scenario = sc.Scenario("kafka", [[None] * b["input_rows"] for b in batches], width,
                               width, delay)
        diffs, pairs, groups = sc.compare(scenario, batches, None, ours)

        print(f"\n{'batch':>5}{'offsets read':>34}{'rows':>6}{'dropped':>9}"
              f"{'  Spark: rows written (update)':<32}{'ours':>6}  same")
        for i, (b, o, r) in enumerate(zip(batches, ours["batches"], ranges)):
            span = " ".join(f"{p}:{a}-{z}" for p, a, z in r)
            same = b["rows"] == sc.rows_of(o["updated"]) and b["dropped"] == o["late_groups"]
            print(f"{i:>5}{span:>34}{b['input_rows']:>6}{b['dropped']:>9}"
                  f"{len(b['rows']):>32}{len(o['updated']):>6}  {'yes' if same else 'NO'}")
        finals = len(ours["finals"])
        print(f"\n{total} events in {len(batches)} micro-batches; {finals} final (window, hashtag) "
              f"counts; {groups} groups and {pairs} (event, window) pairs dropped by the "
              f"watermark; Spark {spark_secs:.0f} s, all {time.monotonic() - started:.0f} s")
        if total != args.events:
            diffs.append(f"Spark read {total} events, the producer wrote {args.events}")
        if pairs == 0:
            diffs.append("no event fell behind the watermark: the run shows no late data")
        for d in diffs:
            print(f"    {d}")
        print("identical to Spark" if not diffs else "DIFFERENT from Spark")
        if args.json:
            result = {
                "identical": not diffs, "differences": diffs, "events": total,
                "spark": f"{spark.version}", "bootstrap": bootstrap,
                "dropped_groups": groups, "dropped_pairs": pairs, "finals": finals,
                "batches": [{"offsets": r, "rows": b["input_rows"], "dropped": b["dropped"],
                             "spark_rows": len(b["rows"]), "our_rows": len(o["updated"]),
                             "same": b["rows"] == sc.rows_of(o["updated"])
                             and b["dropped"] == o["late_groups"]}
                            for b, o, r in zip(batches, ours["batches"], ranges)],
            }
            Path(args.json).write_text(json.dumps(result))
        return 1 if diffs else 0
    finally:
        if producer and producer.poll() is None:
            producer.kill()
        if broker:
            broker.terminate()
            try:
                broker.wait(timeout=20)
            except subprocess.TimeoutExpired:
                broker.kill()
        subprocess.run(["rm", "-rf", str(state)], check=False)


if __name__ == "__main__":
    sys.exit(main())
