//! The dashboard: the trending table and both charts for one snapshot, as one HTML
//! fragment. The live page and the notebook's `show_stream` both show it.

use std::time::Duration;

use crate::core::lang::tr;
use crate::core::window::{Snapshot, WindowCounts, HISTORY_TOP};
use crate::error::Result;
use crate::views::chart::{top_svg, trend_svg};
use crate::views::html::{escape, Html};
use crate::views::table;

/// How many hashtags the table and the bar chart show.
pub(crate) const TOP: usize = 10;
/// How many hashtags the trend chart draws.
pub(crate) const TREND_TOP: usize = 5;

/// A one-line leaderboard, like the original's console snapshots.
pub fn leaderboard(snap: &Snapshot) -> String {
    let m = &snap.metrics;
    let window = match snap.trending() {
        Some(w) => {
            let tags: Vec<String> = w
                .counts
                .iter()
                .take(5)
                .map(|(h, c)| format!("{h} {c}"))
                .collect();
            format!(
                "{} {}–{} | {}",
                tr("window", "ventana"),
                w.start.clock(),
                w.end.clock(),
                tags.join("  ")
            )
        }
        None => tr("no window yet", "todavía sin ventana").to_string(),
    };
    format!(
        "[{}] {} {:>3} | {} | {} {:.1}/s {} {} {} {} {} {}",
        m.at.clock(),
        tr("trigger", "disparador"),
        m.trigger_id,
        window,
        tr("in", "entrada"),
        m.input_rows_per_second,
        tr("late", "tardíos"),
        snap.totals.late,
        tr("rejected", "rechazados"),
        snap.totals.rejected.total(),
        tr("lag", "desfase"),
        m.lag.map_or("-".to_string(), |l| l.to_string())
    )
}

/// The windows a trend chart draws: recently closed ones, then open ones up to the
/// trending window (newer sliding windows are still filling up and would make every line
/// drop), oldest first, each start once.
pub(crate) fn trend_windows(snap: &Snapshot) -> Vec<WindowCounts> {
    let until = snap.trending().map(|w| w.start);
    let mut all: Vec<WindowCounts> = snap
        .history
        .iter()
        .chain(&snap.windows)
        .filter(|w| until.is_none_or(|u| w.start <= u))
        // Only the leaders, as the history keeps them: an open window may hold 100,000
        // hashtags, and the chart draws a handful.
        .map(|w| w.leaders(HISTORY_TOP))
        .collect();
    all.sort_by_key(|w| w.start);
    all.dedup_by_key(|w| w.start);
    all
}

/// The summary line above the dashboard.
fn summary(snap: &Snapshot) -> String {
    let m = &snap.metrics;
    format!(
        "{} {} {} {} · {} {} · {} {}, {} {}, {} {} · {} {}",
        tr("trigger", "disparador"),
        m.trigger_id,
        tr("at", "a las"),
        m.at.clock(),
        tr("new watermark", "marca de agua nueva"),
        m.watermark
            .map_or(tr("none yet", "ninguna todavía").to_string(), |w| w
                .clock()),
        snap.totals.accepted,
        tr("events counted", "eventos contados"),
        snap.totals.late,
        tr("late", "tardíos"),
        snap.totals.rejected.total(),
        tr("rejected", "rechazados"),
        tr("lag", "desfase"),
        m.lag.map_or("-".to_string(), |l| l.to_string()),
    )
}

/// Table + bar chart + trend chart for `snap`.
pub fn dashboard(snap: &Snapshot, slide: Duration) -> Result<Html> {
    let df = table::trending(snap, slide, TOP)?;
    let caption = match snap.trending() {
        Some(w) => format!(
            "{}: {} {}–{}",
            tr("Trending now", "En tendencia ahora"),
            tr("window", "ventana"),
            w.start.clock(),
            w.end.clock()
        ),
        None => tr(
            "Trending now: no events yet",
            "En tendencia ahora: todavía sin eventos",
        )
        .to_string(),
    };
    let top = top_svg(snap.trending(), TOP)?;
    let trend = trend_svg(&trend_windows(snap), TREND_TOP)?;
    let markup = format!(
        "<p style=\"font-family:sans-serif\">{}</p>\
         <div style=\"display:flex;flex-wrap:wrap;gap:12px;align-items:flex-start\">\
         <div>{}</div><div class=\"chart-top\">{}</div><div class=\"chart-trend\">{}</div></div>",
        escape(&summary(snap)),
        table::to_html(&df, &caption),
        top,
        trend
    );
    let text = format!("{}\n{}\n{}", summary(snap), caption, table::to_text(&df));
    Ok(Html::new(markup, text))
}
