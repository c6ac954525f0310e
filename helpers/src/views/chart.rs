//! Charts drawn with plotters: one drawing function per chart, generic over the backend,
//! and thin sinks (an SVG string for the notebook and the live page, a file for scripts).
//!
//! * [`draw_top`]: bars of the top hashtags in one window.
//! * [`draw_trend`]: one line per hashtag, its count in each window over the last
//!   minutes, so a changing trend is visible.
//! * [`draw_time`]: the picture of time: each event's event time against its arrival
//!   time, the watermark as a line, late events marked, window boundaries drawn.
//! * [`draw_totals`]: events per window, one line per consumer (processing time beside
//!   event time).
//!
//! SVG needs no system fonts: text is written as `<text>` elements (escaped by plotters)
//! and the browser renders it.

use std::collections::HashMap;

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::core::lang::tr;
use crate::core::time::Timestamp;
use crate::core::window::{Arrival, WindowCounts};
use crate::error::{Error, Result};

/// Chart size in pixels (width, height).
pub(crate) const SIZE: (u32, u32) = (640, 320);

/// Colours of the series, readable on white.
const COLOURS: [RGBColor; 8] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
];

type DrawResult<DB> =
    std::result::Result<(), DrawingAreaErrorKind<<DB as DrawingBackend>::ErrorType>>;

/// Shortens a label for an axis (long hashtags would cover the chart).
fn short(label: &str, max: usize) -> String {
    if label.chars().count() <= max {
        label.to_string()
    } else {
        let mut s: String = label.chars().take(max - 1).collect();
        s.push('…');
        s
    }
}

/// Draws the `top` hashtags of `window` as bars, highest first.
pub fn draw_top<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    window: Option<&WindowCounts>,
    top: usize,
) -> DrawResult<DB> {
    area.fill(&WHITE)?;
    let (title, rows): (String, Vec<(String, u64)>) = match window {
        Some(w) => (
            format!(
                "{} {}–{} ({} {})",
                tr("Top hashtags, window", "Hashtags principales, ventana"),
                w.start.clock(),
                w.end.clock(),
                w.total,
                tr("events", "eventos")
            ),
            w.counts.iter().take(top).cloned().collect(),
        ),
        None => (
            tr(
                "Top hashtags: no data yet",
                "Hashtags principales: todavía sin datos",
            )
            .to_string(),
            vec![],
        ),
    };
    let n = rows.len().max(1);
    let max = rows.iter().map(|(_, c)| *c).max().unwrap_or(1).max(1);
    let mut chart = ChartBuilder::on(area)
        .caption(title, ("sans-serif", 18))
        .margin(10)
        .x_label_area_size(30)
        .y_label_area_size(50)
        .build_cartesian_2d(0f64..n as f64, 0u64..(max + max / 5 + 1))?;
    let labels: Vec<String> = rows.iter().map(|(h, _)| short(h, 16)).collect();
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(n * 2 + 1)
        .x_label_formatter(&|x| {
            let i = x.floor() as usize;
            // Label only at bar centres.
            if (x - (i as f64 + 0.5)).abs() < 1e-6 {
                labels.get(i).cloned().unwrap_or_default()
            } else {
                String::new()
            }
        })
        .y_desc(tr("count", "recuento"))
        .draw()?;
    chart.draw_series(rows.iter().enumerate().map(|(i, (_, c))| {
        let colour = COLOURS[i % COLOURS.len()];
        Rectangle::new(
            [(i as f64 + 0.15, 0), (i as f64 + 0.85, *c)],
            colour.filled(),
        )
    }))?;
    chart.draw_series(rows.iter().enumerate().map(|(i, (h, c))| {
        Text::new(
            format!("{} {}", short(h, 16), c),
            (i as f64 + 0.15, *c + max / 12 + 1),
            ("sans-serif", 14),
        )
    }))?;
    area.present()
}

/// The `top` hashtags by their total over `windows`, highest first (ties by name).
fn leaders<'w>(windows: &[&'w WindowCounts], top: usize) -> Vec<(&'w str, u64)> {
    let mut totals: HashMap<&str, u64> = HashMap::new();
    for w in windows {
        for (h, c) in &w.counts {
            *totals.entry(h.as_str()).or_default() += c;
        }
    }
    let mut tags: Vec<(&str, u64)> = totals.into_iter().collect();
    tags.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    tags.truncate(top);
    tags
}

/// Draws each of the `top` hashtags (by total over `windows`) as a line: its count per
/// window, oldest window first.
pub fn draw_trend<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    windows: &[WindowCounts],
    top: usize,
) -> DrawResult<DB> {
    area.fill(&WHITE)?;
    let mut windows: Vec<&WindowCounts> = windows.iter().collect();
    windows.sort_by_key(|w| w.start);
    windows.dedup_by_key(|w| w.start);
    let tags = leaders(&windows, top);
    let n = windows.len().max(2);
    let max = windows
        .iter()
        .flat_map(|w| tags.iter().map(|(t, _)| w.count(t)))
        .max()
        .unwrap_or(1)
        .max(1);
    let title = if windows.is_empty() {
        tr(
            "Count per window: no data yet",
            "Recuento por ventana: todavía sin datos",
        )
        .to_string()
    } else {
        format!(
            "{}, {} {}",
            tr("Count per window", "Recuento por ventana"),
            windows.len(),
            tr("windows", "ventanas")
        )
    };
    let starts: Vec<String> = windows.iter().map(|w| w.start.clock()).collect();
    let mut chart = ChartBuilder::on(area)
        .caption(title, ("sans-serif", 18))
        .margin(10)
        .margin_right(40)
        .x_label_area_size(30)
        .y_label_area_size(50)
        .build_cartesian_2d(0usize..n - 1, 0u64..(max + max / 5 + 1))?;
    chart
        .configure_mesh()
        .x_labels(6)
        .x_label_formatter(&|i| starts.get(*i).cloned().unwrap_or_default())
        .x_desc(tr("window start", "inicio de la ventana"))
        .y_desc(tr("count", "recuento"))
        .draw()?;
    for (k, (tag, _)) in tags.iter().enumerate() {
        let colour = COLOURS[k % COLOURS.len()];
        let points: Vec<(usize, u64)> = windows
            .iter()
            .enumerate()
            .map(|(i, w)| (i, w.count(tag)))
            .collect();
        chart
            .draw_series(LineSeries::new(points.clone(), colour.stroke_width(2)))?
            .label(short(tag, 20))
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 16, y)], colour.stroke_width(2))
            });
        chart.draw_series(
            points
                .into_iter()
                .map(|p| Circle::new(p, 3, colour.filled())),
        )?;
    }
    if !tags.is_empty() {
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .position(SeriesLabelPosition::UpperLeft)
            .draw()?;
    }
    area.present()
}

/// Seconds of `t` after `origin`.
fn secs_after(t: Timestamp, origin: Timestamp) -> f64 {
    (t.micros() - origin.micros()) as f64 / 1e6
}

/// A time of day `v` seconds after `origin`, to the second, for an axis.
fn clock_at(origin: Timestamp, v: f64) -> String {
    Timestamp::from_secs_f64((origin.as_secs_f64() + v).round()).clock()
}

/// Draws each event as a point: its arrival (processing) time across, its event time up.
/// On-time events sit just under the diagonal (arrival = event time); events posted
/// earlier sit lower. The watermark after each trigger (`marks`: trigger time, new
/// watermark) is a stepped line; a window closes when the line passes its end, and a row
/// whose window ended before the line's height at the trigger before its own is late.
/// Window boundaries (`width`) are grey lines. Points: counted in every window (blue),
/// too late for some of its sliding windows (orange), late for all (red cross).
pub fn draw_time<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    arrivals: &[Arrival],
    marks: &[(Timestamp, Timestamp)],
    width: std::time::Duration,
    overlap: u32,
) -> DrawResult<DB> {
    area.fill(&WHITE)?;
    let late = arrivals.iter().filter(|a| a.windows == 0).count();
    let title = if arrivals.is_empty() {
        tr(
            "Event time against arrival: no events yet",
            "Tiempo de evento frente a llegada: todavía sin eventos",
        )
        .to_string()
    } else {
        format!(
            "{}: {} {}, {late} {}",
            tr(
                "Event time against arrival",
                "Tiempo de evento frente a llegada"
            ),
            arrivals.len(),
            tr("events", "eventos"),
            tr("late", "tardíos")
        )
    };
    let first = arrivals.iter().map(|a| a.arrived).min();
    let last = arrivals.iter().map(|a| a.arrived).max();
    let (origin, x_max) = match (first, last) {
        (Some(f), Some(l)) => (f, secs_after(l, f).max(1.0)),
        _ => (Timestamp(0), 1.0),
    };
    let marks: Vec<(f64, f64)> = marks
        .iter()
        .map(|(at, w)| (secs_after(*at, origin), secs_after(*w, origin)))
        .filter(|(x, _)| (0.0..=x_max).contains(x))
        .collect();
    let ys = arrivals
        .iter()
        .map(|a| secs_after(a.happened, origin))
        .chain(marks.iter().map(|m| m.1))
        .chain([0.0, x_max]);
    let (y_min, y_max) = ys.fold((f64::MAX, f64::MIN), |(lo, hi), y| (lo.min(y), hi.max(y)));
    // Room above the newest events for the legend, so it covers none of them.
    let y_max = y_max + (y_max - y_min) * 0.5;
    let mut chart = ChartBuilder::on(area)
        .caption(title, ("sans-serif", 18))
        .margin(10)
        .margin_right(20)
        .x_label_area_size(30)
        .y_label_area_size(70)
        .build_cartesian_2d(0.0..x_max, (y_min - 5.0)..(y_max + 5.0))?;
    chart
        .configure_mesh()
        .disable_mesh()
        .x_labels(5)
        .y_labels(6)
        .x_label_formatter(&|v| clock_at(origin, *v))
        .y_label_formatter(&|v| clock_at(origin, *v))
        .x_desc(tr(
            "arrival (processing time)",
            "llegada (tiempo de procesamiento)",
        ))
        .y_desc(tr("event time", "tiempo de evento"))
        .draw()?;
    // Window boundaries: every `width` of event time.
    let w = width.as_secs_f64().max(1.0);
    let lo = ((origin.as_secs_f64() + y_min) / w).ceil() as i64;
    let hi = ((origin.as_secs_f64() + y_max) / w).floor() as i64;
    for k in lo..=hi.min(lo + 200) {
        let y = k as f64 * w - origin.as_secs_f64();
        chart.draw_series(LineSeries::new(
            [(0.0, y), (x_max, y)],
            RGBColor(200, 200, 200).stroke_width(1),
        ))?;
    }
    chart
        .draw_series(LineSeries::new(
            [(0.0, 0.0), (x_max, x_max)],
            RGBColor(150, 150, 150).stroke_width(1),
        ))?
        .label(tr("event time = arrival", "tiempo de evento = llegada"))
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], RGBColor(150, 150, 150)));
    let mut steps = Vec::new();
    for (i, (x, y)) in marks.iter().enumerate() {
        if i > 0 {
            steps.push((*x, marks[i - 1].1));
        }
        steps.push((*x, *y));
    }
    if let Some((_, y)) = marks.last() {
        steps.push((x_max, *y));
    }
    let wm = RGBColor(44, 160, 44);
    chart
        .draw_series(LineSeries::new(steps, wm.stroke_width(2)))?
        .label(tr("watermark", "marca de agua"))
        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], wm.stroke_width(2)));
    let point = |a: &Arrival| {
        (
            secs_after(a.arrived, origin),
            secs_after(a.happened, origin),
        )
    };
    let (blue, orange, red) = (COLOURS[0], COLOURS[1], COLOURS[3]);
    chart
        .draw_series(
            arrivals
                .iter()
                .filter(|a| a.windows >= overlap)
                .map(|a| Circle::new(point(a), 2, blue.filled())),
        )?
        .label(tr("counted", "contado"))
        .legend(move |(x, y)| Circle::new((x + 8, y), 3, blue.filled()));
    if overlap > 1 {
        chart
            .draw_series(
                arrivals
                    .iter()
                    .filter(|a| a.windows > 0 && a.windows < overlap)
                    .map(|a| Circle::new(point(a), 3, orange.filled())),
            )?
            .label(tr(
                "too late for its oldest windows",
                "tarde para sus ventanas más antiguas",
            ))
            .legend(move |(x, y)| Circle::new((x + 8, y), 3, orange.filled()));
    }
    chart
        .draw_series(
            arrivals
                .iter()
                .filter(|a| a.windows == 0)
                .map(|a| Cross::new(point(a), 4, red.stroke_width(2))),
        )?
        .label(tr("late: dropped", "tardío: descartado"))
        .legend(move |(x, y)| Cross::new((x + 8, y), 4, red.stroke_width(2)));
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .position(SeriesLabelPosition::UpperLeft)
        .draw()?;
    area.present()
}

/// Draws one line per consumer: its events per window (all hashtags), by window start.
pub fn draw_totals<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    series: &[(String, Vec<(Timestamp, u64)>)],
) -> DrawResult<DB> {
    area.fill(&WHITE)?;
    let starts = series.iter().flat_map(|(_, p)| p.iter().map(|(t, _)| *t));
    let origin = starts.clone().min().unwrap_or(Timestamp(0));
    let x_max = starts.map(|t| secs_after(t, origin)).fold(1.0, f64::max);
    let max = series
        .iter()
        .flat_map(|(_, p)| p.iter().map(|(_, c)| *c))
        .max()
        .unwrap_or(1)
        .max(1);
    let mut chart = ChartBuilder::on(area)
        .caption(
            tr(
                "Events per window, by consumer",
                "Eventos por ventana, por consumidor",
            ),
            ("sans-serif", 18),
        )
        .margin(10)
        .margin_right(40)
        .x_label_area_size(30)
        .y_label_area_size(50)
        .build_cartesian_2d(0.0..x_max, 0u64..(max + max / 5 + 1))?;
    chart
        .configure_mesh()
        .x_labels(6)
        .x_label_formatter(&|v| clock_at(origin, *v))
        .x_desc(tr("window start", "inicio de la ventana"))
        .y_desc(tr("events", "eventos"))
        .draw()?;
    for (k, (name, points)) in series.iter().enumerate() {
        let colour = COLOURS[k % COLOURS.len()];
        let points: Vec<(f64, u64)> = points
            .iter()
            .map(|(t, c)| (secs_after(*t, origin), *c))
            .collect();
        chart
            .draw_series(LineSeries::new(points.clone(), colour.stroke_width(2)))?
            .label(short(name, 40))
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 16, y)], colour.stroke_width(2))
            });
        chart.draw_series(
            points
                .into_iter()
                .map(|p| Circle::new(p, 3, colour.filled())),
        )?;
    }
    if !series.is_empty() {
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .position(SeriesLabelPosition::LowerLeft)
            .draw()?;
    }
    area.present()
}

fn svg_with(
    what: &str,
    draw: impl for<'a> FnOnce(&DrawingArea<SVGBackend<'a>, Shift>) -> DrawResult<SVGBackend<'a>>,
) -> Result<String> {
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, SIZE).into_drawing_area();
        draw(&root).map_err(|e| Error::View {
            what: what.into(),
            detail: e.to_string(),
        })?;
    }
    Ok(out)
}

/// The top-hashtags bar chart as an SVG document.
pub(crate) fn top_svg(window: Option<&WindowCounts>, top: usize) -> Result<String> {
    svg_with("the top-hashtags chart", |a| draw_top(a, window, top))
}

/// The trend line chart as an SVG document.
pub(crate) fn trend_svg(windows: &[WindowCounts], top: usize) -> Result<String> {
    svg_with("the trend chart", |a| draw_trend(a, windows, top))
}

/// The picture of time as an SVG document (see [`draw_time`]).
pub(crate) fn time_svg(
    arrivals: &[Arrival],
    marks: &[(Timestamp, Timestamp)],
    width: std::time::Duration,
    overlap: u32,
) -> Result<String> {
    svg_with("the picture of time", |a| {
        draw_time(a, arrivals, marks, width, overlap)
    })
}

/// Events per window per consumer as an SVG document (see [`draw_totals`]).
pub(crate) fn totals_svg(series: &[(String, Vec<(Timestamp, u64)>)]) -> Result<String> {
    svg_with("the events-per-window chart", |a| draw_totals(a, series))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::time::Timestamp;

    fn window(start: i64, counts: &[(&str, u64)]) -> WindowCounts {
        WindowCounts {
            start: Timestamp::from_secs(start),
            end: Timestamp::from_secs(start + 60),
            counts: counts.iter().map(|(h, c)| (h.to_string(), *c)).collect(),
            total: counts.iter().map(|(_, c)| c).sum(),
        }
    }

    #[test]
    fn the_picture_of_time_marks_late_events_and_draws_the_watermark() {
        let t = Timestamp::from_secs;
        let arrival = |arrived, happened, windows| Arrival {
            arrived: t(arrived),
            happened: t(happened),
            windows,
        };
        let arrivals = [
            arrival(1000, 999, 6),
            arrival(1010, 1009, 6),
            arrival(1020, 930, 2),
            arrival(1030, 880, 0),
        ];
        let marks = [(t(1010), t(939)), (t(1020), t(949))];
        let svg = time_svg(&arrivals, &marks, std::time::Duration::from_secs(60), 6).unwrap();
        assert!(svg.contains("4 events, 1 late"), "{svg}");
        for label in [
            "watermark",
            "late: dropped",
            "too late for its oldest windows",
        ] {
            assert!(svg.contains(label), "{label}");
        }
        // Nothing yet still draws.
        let empty = time_svg(&[], &[], std::time::Duration::from_secs(60), 1).unwrap();
        assert!(empty.contains("no events yet"));
    }

    #[test]
    fn the_totals_chart_has_a_line_per_consumer() {
        let t = Timestamp::from_secs;
        let series = vec![
            (
                "processing time".to_string(),
                vec![(t(0), 50), (t(10), 0), (t(20), 120)],
            ),
            (
                "event time".to_string(),
                vec![(t(0), 55), (t(10), 58), (t(20), 57)],
            ),
        ];
        let svg = totals_svg(&series).unwrap();
        assert!(svg.contains("processing time") && svg.contains("event time"));
        assert!(svg.matches("<polyline").count() >= 2, "{svg}");
    }

    #[test]
    fn top_chart_names_the_hashtags_escaped() {
        let w = window(0, &[("#Spark", 40), ("#<script>", 20), ("#مرحبا🚀", 5)]);
        let svg = top_svg(Some(&w), 10).unwrap();
        assert!(svg.starts_with("<svg"), "{}", &svg[..50]);
        assert!(svg.contains("#Spark 40"));
        assert!(svg.contains("#&lt;script&gt; 20"));
        assert!(!svg.contains("<script"));
        assert!(svg.contains("#مرحبا🚀 5"));
        assert!(svg.contains("00:00:00–00:01:00"));
        assert!(svg.matches("<rect").count() >= 4); // background + 3 bars
    }

    #[test]
    fn trend_chart_has_one_named_line_per_hashtag() {
        let ws = vec![
            window(0, &[("#Spark", 10), ("#IA", 2)]),
            window(60, &[("#Spark", 4), ("#IA", 9)]),
            window(120, &[("#IA", 12), ("#\"><img onerror=x>", 1)]),
        ];
        let svg = trend_svg(&ws, 5).unwrap();
        assert!(
            svg.contains(">#Spark<") || svg.contains("#Spark\n"),
            "legend names #Spark"
        );
        assert!(svg.contains("#IA"));
        assert!(!svg.contains("<img"));
        assert!(svg.contains("&lt;img onerror=x&gt;"));
        assert!(svg.matches("<polyline").count() >= 3);
        assert!(svg.contains("00:02:00"));
    }

    #[test]
    fn empty_charts_still_render() {
        assert!(top_svg(None, 5).unwrap().contains("no data yet"));
        assert!(trend_svg(&[], 5).unwrap().contains("no data yet"));
    }
}
