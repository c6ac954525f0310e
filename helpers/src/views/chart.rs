//! Charts drawn with plotters: one drawing function per chart, generic over the backend,
//! and thin sinks (an SVG string for the notebook and the live page, a file for scripts).
//!
//! * [`draw_top`]: bars of the top hashtags in one window.
//! * [`draw_trend`]: one line per hashtag, its count in each window over the last
//!   minutes, so a changing trend is visible.
//!
//! SVG needs no system fonts: text is written as `<text>` elements (escaped by plotters)
//! and the browser renders it.

use std::collections::HashMap;

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::core::window::WindowCounts;
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
                "Top hashtags, window {}–{} ({} events)",
                w.start.clock(),
                w.end.clock(),
                w.total
            ),
            w.counts.iter().take(top).cloned().collect(),
        ),
        None => ("Top hashtags: no data yet".to_string(), vec![]),
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
        .y_desc("count")
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
        "Count per window: no data yet".to_string()
    } else {
        format!("Count per window, {} windows", windows.len())
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
        .x_desc("window start")
        .y_desc("count")
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
