//! Tables as Polars `DataFrame`s, and their HTML for the notebook.
//!
//! * [`trending`]: the trending window: rank, hashtag, count, share, change vs the previous
//!   window.
//! * [`metrics`]: the per-trigger progress figures (what Spark printed each micro-batch).
//! * [`key_values`] and [`two_columns`]: small tables (status, clean-up, checks).
//!
//! evcxr has no HTML display for a `DataFrame`; [`to_html`] provides one (every cell
//! escaped).

use polars::prelude::*;

use crate::core::event::Event;
use crate::core::lang::tr;
use crate::core::time::Timestamp;
use crate::core::window::{Snapshot, TriggerMetrics, WindowCounts};
use crate::error::{Error, Result};
use crate::views::html::{escape, Html};

fn view_err(what: &str) -> impl Fn(PolarsError) -> Error + '_ {
    move |e| Error::View {
        what: what.to_string(),
        detail: e.to_string(),
    }
}

/// The window before `w` (one slide earlier) among the snapshot's windows, if known.
fn previous<'a>(snap: &'a Snapshot, w: &WindowCounts, slide_us: i64) -> Option<&'a WindowCounts> {
    let start = Timestamp(w.start.micros() - slide_us);
    snap.history
        .iter()
        .chain(&snap.windows)
        .find(|x| x.start == start)
}

/// The trending window as a table: `window_start`, `window_end`, `rank`, `hashtag`,
/// `count`, `share` (of the window's total), `change` (vs the window one slide earlier;
/// null when that window is unknown). Empty when no window has data yet.
pub fn trending(snap: &Snapshot, slide: std::time::Duration, top: usize) -> Result<DataFrame> {
    let slide_us = crate::core::time::duration_micros(slide);
    let Some(w) = snap.trending() else {
        return trending_frame(vec![], vec![], vec![], vec![], vec![], vec![], vec![]);
    };
    let prev = previous(snap, w, slide_us);
    let rows: Vec<&(String, u64)> = w.counts.iter().take(top).collect();
    let n = rows.len();
    trending_frame(
        vec![w.start.clock(); n],
        vec![w.end.clock(); n],
        (1..=n as u32).collect(),
        rows.iter().map(|(h, _)| h.clone()).collect(),
        rows.iter().map(|(_, c)| *c).collect(),
        rows.iter()
            .map(|(_, c)| {
                if w.total > 0 {
                    *c as f64 / w.total as f64
                } else {
                    0.0
                }
            })
            .collect(),
        rows.iter()
            .map(|(h, c)| prev.map(|p| *c as i64 - p.count(h) as i64))
            .collect(),
    )
}

#[allow(clippy::too_many_arguments)]
fn trending_frame(
    start: Vec<String>,
    end: Vec<String>,
    rank: Vec<u32>,
    hashtag: Vec<String>,
    count: Vec<u64>,
    share: Vec<f64>,
    change: Vec<Option<i64>>,
) -> Result<DataFrame> {
    DataFrame::new_infer_height(vec![
        Column::new("window_start".into(), start),
        Column::new("window_end".into(), end),
        Column::new("rank".into(), rank),
        Column::new("hashtag".into(), hashtag),
        Column::new("count".into(), count),
        Column::new("share".into(), share),
        Column::new("change".into(), change),
    ])
    .map_err(view_err("the trending table"))
}

/// For each micro-batch (snapshot), the newest window that got data in it (Spark's
/// `update` output) with its `top` hashtags and their running counts: `batch`, `window`,
/// `rank`, `hashtag`, `count`. A batch without new events gets one row with a null
/// hashtag and count 0.
pub fn micro_batches(batches: &[Snapshot], top: usize) -> Result<DataFrame> {
    let (mut batch, mut window, mut rank, mut hashtag, mut count) =
        (vec![], vec![], vec![], vec![], vec![]);
    for (i, s) in batches.iter().enumerate() {
        let Some(w) = s.updated.last() else {
            batch.push(i as u32);
            window.push(tr("(no new events)", "(sin eventos nuevos)").to_string());
            rank.push(None);
            hashtag.push(None);
            count.push(0u64);
            continue;
        };
        for (r, (h, c)) in w.leaders(top).counts.iter().enumerate() {
            batch.push(i as u32);
            window.push(format!("{}–{}", w.start.clock(), w.end.clock()));
            rank.push(Some(r as u32 + 1));
            hashtag.push(Some(h.clone()));
            count.push(*c);
        }
    }
    DataFrame::new_infer_height(vec![
        Column::new(tr("batch", "lote").into(), batch),
        Column::new(tr("window (UTC)", "ventana (UTC)").into(), window),
        Column::new(tr("rank", "puesto").into(), rank),
        Column::new("hashtag".into(), hashtag),
        Column::new(tr("count", "recuento").into(), count),
    ])
    .map_err(view_err("the micro-batch table"))
}

/// The per-trigger metrics as a table, oldest first (Spark's query progress, one row per
/// trigger).
pub fn metrics(rows: &[TriggerMetrics]) -> Result<DataFrame> {
    let clock = |t: Option<Timestamp>| t.map(|t| t.clock());
    DataFrame::new_infer_height(vec![
        column("trigger", rows, |m| m.trigger_id),
        column("at", rows, |m| m.at.clock()),
        column("input_rows", rows, |m| m.input_rows),
        column("input_rows_per_s", rows, |m| m.input_rows_per_second),
        column("processed_rows_per_s", rows, |m| {
            m.processed_rows_per_second
        }),
        column("trigger_ms", rows, |m| {
            m.trigger_duration.as_secs_f64() * 1e3
        }),
        column("closing_watermark", rows, |m| clock(m.closing_watermark)),
        column("new_watermark", rows, |m| clock(m.watermark)),
        column("rows_in_state", rows, |m| m.rows_in_state as u64),
        column("open_windows", rows, |m| m.open_windows as u64),
        column("late_rows", rows, |m| m.late_rows),
        column("late_groups", rows, |m| m.late_groups),
        column("rejected", rows, |m| m.rejected.total()),
        // Not in Spark (its state grows until the executor runs out of memory): events
        // not counted under their own hashtag because the state's budget was full.
        column("overflow_rows", rows, |m| m.overflow_rows),
        column("lag", rows, |m| m.lag),
    ])
    .map_err(view_err("the metrics table"))
}

/// One column of a table: `f` of every row.
fn column<R, T>(name: &str, rows: &[R], f: impl Fn(&R) -> T) -> Column
where
    Series: NamedFrom<Vec<T>, [T]>,
{
    Column::new(name.into(), rows.iter().map(f).collect::<Vec<T>>())
}

/// A two-column `component` / `state` table (for status views).
pub fn key_values(rows: &[(String, String)]) -> Result<DataFrame> {
    two_columns((tr("component", "componente"), tr("state", "estado")), rows)
}

/// A two-column table with the given column names.
pub fn two_columns(names: (&str, &str), rows: &[(String, String)]) -> Result<DataFrame> {
    DataFrame::new_infer_height(vec![
        Column::new(
            names.0.into(),
            rows.iter().map(|(k, _)| k.clone()).collect::<Vec<String>>(),
        ),
        Column::new(
            names.1.into(),
            rows.iter().map(|(_, v)| v.clone()).collect::<Vec<String>>(),
        ),
    ])
    .map_err(view_err("a table"))
}

/// A table of text columns: `names`, and one row of `names.len()` cells per entry.
pub fn text_columns(names: &[&str], rows: &[Vec<String>]) -> Result<DataFrame> {
    DataFrame::new_infer_height(
        names
            .iter()
            .enumerate()
            .map(|(i, name)| {
                Column::new(
                    (*name).into(),
                    rows.iter()
                        .map(|r| r.get(i).cloned().unwrap_or_default())
                        .collect::<Vec<String>>(),
                )
            })
            .collect(),
    )
    .map_err(view_err("a table"))
}

/// One cell's text.
fn cell(v: &AnyValue<'_>) -> String {
    match v {
        AnyValue::Null => String::new(),
        AnyValue::String(s) => s.to_string(),
        AnyValue::StringOwned(s) => s.to_string(),
        AnyValue::Float64(f) => {
            if f.abs() >= 1000.0 {
                format!("{f:.0}")
            } else {
                format!("{f:.3}")
            }
        }
        other => other.to_string(),
    }
}

/// The DataFrame as an HTML `<table>` (with an optional caption); every value escaped.
pub fn to_html(df: &DataFrame, caption: &str) -> String {
    let mut out = String::from(
        "<table class=\"stream-demo-table\" \
        style=\"border-collapse:collapse;font-family:monospace\">",
    );
    if !caption.is_empty() {
        out.push_str(&format!(
            "<caption style=\"text-align:left;font-weight:bold\">{}</caption>",
            escape(caption)
        ));
    }
    out.push_str("<thead><tr>");
    for c in df.columns() {
        out.push_str(&format!(
            "<th style=\"border-bottom:1px solid #888;padding:2px 8px\">{}</th>",
            escape(c.name())
        ));
    }
    out.push_str("</tr></thead><tbody>");
    for i in 0..df.height() {
        out.push_str("<tr>");
        for c in df.columns() {
            let v = c.get(i).map(|v| cell(&v)).unwrap_or_default();
            let align = if c.dtype().is_primitive_numeric() {
                "right"
            } else {
                "left"
            };
            out.push_str(&format!(
                "<td style=\"padding:2px 8px;text-align:{align}\">{}</td>",
                escape(&v)
            ));
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table>");
    out
}

/// The DataFrame as aligned plain text, nothing truncated (Polars' own `Display`
/// shortens long strings).
pub(crate) fn to_text(df: &DataFrame) -> String {
    let mut rows: Vec<Vec<String>> =
        vec![df.columns().iter().map(|c| c.name().to_string()).collect()];
    for i in 0..df.height() {
        rows.push(
            df.columns()
                .iter()
                .map(|c| c.get(i).map(|v| cell(&v)).unwrap_or_default())
                .collect(),
        );
    }
    let widths: Vec<usize> = (0..df.width())
        .map(|j| rows.iter().map(|r| r[j].chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for (k, r) in rows.iter().enumerate() {
        let line: Vec<String> = r
            .iter()
            .zip(&widths)
            .map(|(v, w)| format!("{v}{}", " ".repeat(w - v.chars().count())))
            .collect();
        out.push_str(line.join(" | ").trim_end());
        out.push('\n');
        if k == 0 {
            let rule: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
            out.push_str(&rule.join("-+-"));
            out.push('\n');
        }
    }
    out
}

/// Events as a table of their fields (the wire schema, with each field's English name),
/// then the JSON of each on the wire, one Kafka message a line.
pub fn events_on_the_wire(events: &[(Event<'_>, String)]) -> Html {
    let left = "style=\"text-align:left\"";
    let mut markup = match crate::core::lang::current() {
        crate::core::lang::Lang::En => format!(
            "<table style=\"font-family:monospace\"><tr><th {left}>usuario (user)</th>\
             <th {left}>texto (text)</th><th {left}>hashtag_principal (main hashtag)</th>\
             <th>timestamp (s since 1970)</th></tr>"
        ),
        crate::core::lang::Lang::Es => format!(
            "<table style=\"font-family:monospace\"><tr><th {left}>usuario</th>\
             <th {left}>texto</th><th {left}>hashtag_principal</th>\
             <th>timestamp (s desde 1970)</th></tr>"
        ),
    };
    let mut text = String::new();
    for (e, json) in events {
        markup.push_str(&format!(
            "<tr><td {left}>{}</td><td {left}>{}</td><td {left}>{}</td><td>{:.1}</td></tr>",
            escape(&e.usuario),
            escape(&e.texto),
            escape(&e.hashtag_principal),
            e.timestamp
        ));
        text.push_str(json);
        text.push('\n');
    }
    markup.push_str(&format!(
        "</table><p>{}</p>",
        tr(
            "On the wire (one Kafka message each):",
            "Tal como viajan (un mensaje de Kafka cada uno):"
        )
    ));
    markup.push_str(&Html::preformatted(text.clone()).markup);
    Html::new(markup, text)
}

/// A table ready to show in a cell: HTML in the notebook, text elsewhere.
pub fn show(df: &DataFrame, caption: &str) -> Html {
    Html::new(to_html(df, caption), format!("{caption}\n{}", to_text(df)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::config::{TimeDomain, WindowConfig};
    use crate::core::event::Event;
    use crate::core::window::WindowEngine;
    use std::time::Duration;

    fn snapshot(events: &[(&str, f64)], now: f64) -> Snapshot {
        let mut e = WindowEngine::new(
            WindowConfig::sliding(Duration::from_secs(60), Duration::from_secs(10))
                .with_time_domain(TimeDomain::EventTime),
        )
        .unwrap();
        for (tag, t) in events {
            e.ingest(
                &Event {
                    usuario: "@u".into(),
                    texto: "".into(),
                    hashtag_principal: tag.to_string().into(),
                    timestamp: *t,
                },
                Timestamp::from_secs_f64(now),
            );
        }
        e.tick(Timestamp::from_secs_f64(now))
    }

    #[test]
    fn micro_batches_show_the_newest_updated_window_of_each_batch() {
        // Tumbling 60 s, event time. Batch 0: two #a and one #b in [0,60); batch 1: one
        // #b in [60,120) (the newest window updated); batch 2: nothing new.
        let mut e = WindowEngine::new(
            WindowConfig::tumbling(Duration::from_secs(60)).with_time_domain(TimeDomain::EventTime),
        )
        .unwrap();
        let mut batches = vec![];
        for (events, now) in [
            (vec![("#a", 1.0), ("#b", 2.0), ("#a", 3.0)], 10.0),
            (vec![("#b", 61.0)], 20.0),
            (vec![], 30.0),
        ] {
            for (tag, t) in events {
                let payload = format!(r#"{{"hashtag_principal":"{tag}","timestamp":{t}}}"#);
                e.ingest_raw(payload.as_bytes(), Timestamp::from_secs_f64(now));
            }
            batches.push(e.tick(Timestamp::from_secs_f64(now)));
        }
        let df = micro_batches(&batches, 10).unwrap();
        let rows: Vec<Vec<String>> = (0..df.height())
            .map(|i| {
                df.columns()
                    .iter()
                    .map(|c| cell(&c.get(i).unwrap()))
                    .collect()
            })
            .collect();
        let row = |v: [&str; 5]| v.map(String::from).to_vec();
        assert_eq!(
            rows,
            vec![
                row(["0", "00:00:00–00:01:00", "1", "#a", "2"]),
                row(["0", "00:00:00–00:01:00", "2", "#b", "1"]),
                row(["1", "00:01:00–00:02:00", "1", "#b", "1"]),
                row(["2", "(no new events)", "", "", "0"]),
            ]
        );
    }

    #[test]
    fn trending_has_rank_share_and_change() {
        // Sliding 60 s / 10 s, newest event at 117 s: the trending window is [60,120):
        // #a at 65, 115, 117 and #b at 116. The one before, [50,110), holds #a at 55, 65.
        let snap = snapshot(
            &[
                ("#a", 55.0),
                ("#a", 65.0),
                ("#a", 115.0),
                ("#b", 116.0),
                ("#a", 117.0),
            ],
            117.0,
        );
        let df = trending(&snap, Duration::from_secs(10), 10).unwrap();
        assert_eq!(df.height(), 2);
        let names: Vec<&str> = df.columns().iter().map(|c| c.name().as_str()).collect();
        assert_eq!(
            names,
            [
                "window_start",
                "window_end",
                "rank",
                "hashtag",
                "count",
                "share",
                "change"
            ]
        );
        let get = |col: &str, i: usize| cell(&df.column(col).unwrap().get(i).unwrap());
        assert_eq!(get("window_start", 0), "00:01:00");
        assert_eq!(get("window_end", 0), "00:02:00");
        assert_eq!(get("hashtag", 0), "#a");
        assert_eq!(get("count", 0), "3");
        assert_eq!(get("rank", 1), "2");
        assert_eq!(get("share", 0), "0.750");
        assert_eq!(get("change", 0), "1");
        assert_eq!(get("change", 1), "1");
    }

    #[test]
    fn html_escapes_every_value() {
        let snap = snapshot(
            &[
                ("<script>alert(1)</script>", 5.0),
                ("\"><img onerror=x>", 6.0),
            ],
            6.0,
        );
        let df = trending(&snap, Duration::from_secs(10), 10).unwrap();
        let html = to_html(&df, "<b>caption</b>");
        assert!(!html.contains("<script>"));
        assert!(!html.contains("<img"));
        assert!(!html.contains("<b>caption"));
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(html.contains("&quot;&gt;&lt;img onerror=x&gt;"));
    }

    #[test]
    fn empty_snapshot_gives_an_empty_table() {
        let snap = snapshot(&[], 0.0);
        let df = trending(&snap, Duration::from_secs(10), 10).unwrap();
        assert_eq!(df.height(), 0);
        assert_eq!(df.width(), 7);
    }

    #[test]
    fn metrics_table_has_one_row_per_trigger() {
        let mut e = WindowEngine::new(WindowConfig::default()).unwrap();
        let rows: Vec<TriggerMetrics> = (0..3)
            .map(|i| e.tick(Timestamp::from_secs(i)).metrics)
            .collect();
        let df = metrics(&rows).unwrap();
        assert_eq!(df.height(), 3);
        assert!(to_text(&df).contains("input_rows"));
    }
}
