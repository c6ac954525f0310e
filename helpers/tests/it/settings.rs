//! One definition of every setting: the programs' `--help` and the notebook's settings
//! table show the same defaults.

use std::collections::BTreeMap;
use std::process::Command;

use helpers::settings::Settings;

/// `(variable, default)` of every flag that `program -h` shows with an environment
/// variable, read from its help text as a user would.
fn help_defaults(program: &str) -> BTreeMap<String, Option<String>> {
    let out = Command::new(program)
        .arg("-h")
        .env_clear()
        .output()
        .unwrap();
    assert!(out.status.success(), "{program} -h failed");
    let text = String::from_utf8(out.stdout).unwrap();
    let mut found = BTreeMap::new();
    for line in text.lines() {
        let Some(at) = line.find("[env: ") else {
            continue;
        };
        let rest = &line[at + "[env: ".len()..];
        let var = rest[..rest.find('=').unwrap()].to_string();
        let default = line.find("[default: ").map(|d| {
            line[d + "[default: ".len()..]
                .trim_end_matches(']')
                .to_string()
        });
        found.insert(var, default);
    }
    found
}

#[test]
fn the_programs_show_the_notebooks_defaults() {
    // The notebook's first table, as it shows the defaults: `name [VARIABLE]` -> value.
    let table: BTreeMap<String, String> = Settings::default()
        .rows()
        .into_iter()
        .map(|(name, value)| {
            let var = name[name.rfind('[').unwrap() + 1..name.len() - 1].to_string();
            (var, value)
        })
        .collect();
    let programs = [
        (env!("CARGO_BIN_EXE_producer"), 6),
        (env!("CARGO_BIN_EXE_consumer"), 10),
        (env!("CARGO_BIN_EXE_demo"), 16),
    ];
    for (program, classroom_settings) in programs {
        let shown = help_defaults(program);
        let mut checked = 0;
        for (var, default) in &shown {
            let Some(value) = table.get(var) else {
                // Where things run (KAFKA_BOOTSTRAP, ...): not a classroom setting.
                assert!(
                    default.is_none(),
                    "{program}: {var} has a default but no row"
                );
                continue;
            };
            let default = default
                .as_deref()
                .unwrap_or_else(|| panic!("{program}: {var}"));
            let same = value == default
                || value.starts_with(&format!("{default} "))
                || value.starts_with(&format!("{default}%"));
            assert!(
                same,
                "{program}: {var} defaults to {default:?}, the notebook shows {value:?}"
            );
            checked += 1;
        }
        assert_eq!(checked, classroom_settings, "{program}: {shown:?}");
    }
}

/// Runs `program` with only `vars` set (and a private state folder): `(exit code, stderr)`,
/// or `None` if it was still running after `run_for` (then it is killed: a producer that
/// cannot reach Kafka waits up to 30 s for its deliveries when asked to stop).
fn run_with(
    program: &str,
    args: &[String],
    vars: &[(&str, &str)],
    run_for: f64,
) -> (Option<i32>, String) {
    let mut child = Command::new(program)
        .args(args)
        .env_clear()
        .envs(vars.iter().copied())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs_f64(run_for);
    let mut code = None;
    while std::time::Instant::now() < deadline {
        if let Some(status) = child.try_wait().unwrap() {
            code = Some(status.code().unwrap_or(-1));
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    if code.is_none() {
        helpers::sys::process::signal(child.id(), libc::SIGKILL);
    }
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_ne!(
        out.status.code(),
        Some(101),
        "{program} {args:?} panicked: {stderr}"
    );
    assert!(!stderr.contains("panicked"), "{program} {args:?}: {stderr}");
    (code, stderr)
}

#[test]
fn a_bad_variable_stops_every_program_with_its_name_value_and_what_is_allowed() {
    // One typo used to discard every variable (the state folder too) and send the demo to
    // 127.0.0.1:9092 with the default folder. Now each program names each bad variable,
    // runs nothing and writes nothing.
    let folder = crate::support::temp_dir("bad-variables");
    let dir = folder.to_str().unwrap();
    for program in [
        env!("CARGO_BIN_EXE_producer"),
        env!("CARGO_BIN_EXE_consumer"),
        env!("CARGO_BIN_EXE_demo"),
        env!("CARGO_BIN_EXE_broker"),
        env!("CARGO_BIN_EXE_healthcheck"),
    ] {
        let vars = [
            ("STREAM_DEMO_DIR", dir),
            ("STREAM_DEMO_BACKEND", "Embedded"),
            ("PRODUCER_RATE", "1e-30"),
        ];
        let (code, stderr) = run_with(program, &[], &vars, 20.0);
        assert_eq!(code, Some(2), "{program}: {stderr}");
        assert!(
            stderr.contains("STREAM_DEMO_BACKEND = \"Embedded\"")
                && stderr.contains("docker, embedded, tansu, kafka"),
            "{program}: {stderr}"
        );
        if program.ends_with("producer") || program.ends_with("demo") {
            assert!(
                stderr.contains("PRODUCER_RATE = \"1e-30\"") && stderr.contains("0.001"),
                "{program}: {stderr}"
            );
        }
        assert_eq!(
            std::fs::read_dir(&folder).unwrap().count(),
            0,
            "{program} wrote"
        );
    }
}

use proptest::prelude::*;

/// Seconds from the low end, the high end or anywhere in `lo..=hi`.
fn seconds(lo: f64, hi: f64) -> impl Strategy<Value = f64> {
    prop_oneof![Just(lo), Just(hi), lo..=hi]
}

proptest! {
    // Each case starts two real programs for a moment: few cases, boundaries favoured.
    #![proptest_config(ProptestConfig { cases: 6, ..ProptestConfig::default() })]

    #[test]
    fn no_value_in_range_makes_a_program_panic(
        rate in prop_oneof![Just(0.0), Just(0.001), Just(1e7), 0.001f64..=1e7],
        trend in seconds(0.0, 86_400.0),
        late_share in 0.0f64..=1.0,
        lateness in seconds(0.0, 86_400.0),
        seed in any::<u64>(),
        slide in seconds(0.01, 86_400.0),
        overlap in prop_oneof![Just(1u32), Just(3600u32), 1u32..=3600],
        watermark in seconds(0.0, 86_400.0),
        trigger in seconds(0.01, 86_400.0),
        max_future in seconds(0.0, 86_400.0),
        max_hashtags in prop_oneof![Just(1usize), Just(10_000_000usize), 1usize..=10_000_000],
        state_rows in prop_oneof![Just(1000usize), Just(1_000_000usize), 1000usize..=1_000_000],
        event_time in any::<bool>(),
    ) {
        let folder = crate::support::temp_dir("flags");
        let dir = folder.to_str().unwrap();
        // Nothing listens on port 1: the programs keep trying to reach Kafka.
        let vars = [("STREAM_DEMO_DIR", dir), ("KAFKA_BOOTSTRAP", "127.0.0.1:1")];
        let producer: Vec<String> = [
            format!("--rate={rate}"),
            format!("--trend-every={trend}"),
            format!("--late-share={late_share}"),
            format!("--max-lateness={lateness}"),
            format!("--seed={seed}"),
        ]
        .into();
        let (code, stderr) = run_with(env!("CARGO_BIN_EXE_producer"), &producer, &vars, 1.0);
        prop_assert!(code.is_none(), "producer {producer:?} ended: {stderr}");
        // A width the slide divides, within a day.
        let slide_ms = (slide * 1000.0).round().max(10.0) as u64;
        let width_ms = (slide_ms * u64::from(overlap)).min(86_400_000 / slide_ms * slide_ms);
        let consumer: Vec<String> = [
            format!("--width={}", width_ms as f64 / 1000.0),
            format!("--slide={}", slide_ms as f64 / 1000.0),
            format!("--watermark={watermark}"),
            format!("--trigger={trigger}"),
            format!("--max-future={max_future}"),
            format!("--max-hashtags={max_hashtags}"),
            format!("--max-state-rows={state_rows}"),
            format!("--time-domain={}", if event_time { "event" } else { "processing" }),
            "--watch=0.5".into(),
            "--watch-every=0.1".into(),
        ]
        .into();
        let (code, stderr) = run_with(env!("CARGO_BIN_EXE_consumer"), &consumer, &vars, 20.0);
        prop_assert_eq!(code, Some(0), "consumer {:?}: {}", consumer, stderr);
    }
}
