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
        (env!("CARGO_BIN_EXE_consumer"), 9),
        (env!("CARGO_BIN_EXE_demo"), 15),
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
