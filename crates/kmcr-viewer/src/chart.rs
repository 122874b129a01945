//! Trend charts of a repeated test, drawn on the server as SVG (no script), with the reference range as a band. The
//! chart is an image with a text alternative; the table beside it carries every value for screen readers.

use crate::html::escape;

/// One measured value, at a date (`YYYY-MM-DD`).
#[derive(Clone, Debug, PartialEq)]
pub struct Point {
    pub date: String,
    pub value: f64,
}

/// The reference range, where the source gave one.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Range {
    pub low: Option<f64>,
    pub high: Option<f64>,
}

const WIDTH: f64 = 640.0;
const HEIGHT: f64 = 240.0;
const LEFT: f64 = 56.0;
const RIGHT: f64 = 16.0;
const TOP: f64 = 16.0;
const BOTTOM: f64 = 40.0;

/// The SVG of `points` (oldest first), titled `title`, values in `unit`. `id` makes the title's id unique on the page.
pub fn trend_svg(id: &str, title: &str, unit: &str, points: &[Point], range: Option<Range>) -> String {
    let mut low = points.iter().map(|point| point.value).fold(f64::INFINITY, f64::min);
    let mut high = points.iter().map(|point| point.value).fold(f64::NEG_INFINITY, f64::max);
    if let Some(range) = range {
        low = range.low.map_or(low, |range_low| low.min(range_low));
        high = range.high.map_or(high, |range_high| high.max(range_high));
    }
    if !low.is_finite() || !high.is_finite() {
        return String::new();
    }
    let margin = ((high - low) * 0.1).max(high.abs() * 0.05).max(0.5);
    let (low, high) = (low - margin, high + margin);
    let days: Vec<i64> = points.iter().map(|point| day_number(&point.date).unwrap_or(0)).collect();
    let (first_day, last_day) = (*days.iter().min().unwrap_or(&0), *days.iter().max().unwrap_or(&0));
    let plot_width = WIDTH - LEFT - RIGHT;
    let plot_height = HEIGHT - TOP - BOTTOM;
    let x_of = |day: i64| {
        if last_day == first_day {
            LEFT + plot_width / 2.0
        } else {
            LEFT + (day - first_day) as f64 / (last_day - first_day) as f64 * plot_width
        }
    };
    let y_of = |value: f64| TOP + (high - value) / (high - low) * plot_height;
    let latest =
        points.last().map(|point| format!("{} {unit} on {}", trim(point.value), point.date)).unwrap_or_default();
    let description = format!(
        "{} results from {} to {}, latest {latest}{}",
        points.len(),
        points.first().map(|point| point.date.as_str()).unwrap_or_default(),
        points.last().map(|point| point.date.as_str()).unwrap_or_default(),
        range.map(range_text).map(|text| format!("; reference range {text} {unit}")).unwrap_or_default()
    );
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {WIDTH} {HEIGHT}\" role=\"img\" \
         aria-labelledby=\"{id}-title {id}-description\" width=\"100%\" preserveAspectRatio=\"xMinYMin meet\"><title \
         id=\"{id}-title\">{}</title><desc id=\"{id}-description\">{}</desc>",
        escape(title),
        escape(&description)
    );
    if let Some(range) = range {
        let band_top = y_of(range.high.unwrap_or(high));
        let band_bottom = y_of(range.low.unwrap_or(low));
        svg.push_str(&format!(
            "<rect x=\"{LEFT}\" y=\"{band_top:.1}\" width=\"{plot_width}\" height=\"{:.1}\" fill=\"#e8f1f8\"></rect>",
            (band_bottom - band_top).max(0.0)
        ));
    }
    // Axes and labels of the value scale: low, middle, high.
    svg.push_str(&format!(
        "<line x1=\"{LEFT}\" y1=\"{TOP}\" x2=\"{LEFT}\" y2=\"{}\" stroke=\"#4c6272\"></line><line x1=\"{LEFT}\" y1=\"{0}\" \
         x2=\"{1}\" y2=\"{0}\" stroke=\"#4c6272\"></line>",
        TOP + plot_height,
        WIDTH - RIGHT
    ));
    let mut labels: Vec<(f64, String)> = Vec::new();
    for value in [low + margin, (low + high) / 2.0, high - margin] {
        if !labels.iter().any(|(_, text)| *text == trim(value)) {
            labels.push((value, trim(value)));
        }
    }
    for (value, text) in labels {
        svg.push_str(&format!(
            "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"12\" text-anchor=\"end\" fill=\"#212b32\">{}</text>",
            LEFT - 6.0,
            y_of(value) + 4.0,
            escape(&text)
        ));
    }
    for (label_day, anchor) in [(first_day, "start"), (last_day, "end")] {
        if let Some(point) = points.iter().zip(&days).find(|(_, day)| **day == label_day).map(|(point, _)| point) {
            svg.push_str(&format!(
                "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"12\" text-anchor=\"{anchor}\" fill=\"#212b32\">{}</text>",
                x_of(label_day),
                HEIGHT - 12.0,
                escape(&point.date)
            ));
        }
    }
    let path: Vec<String> =
        points.iter().zip(&days).map(|(point, day)| format!("{:.1},{:.1}", x_of(*day), y_of(point.value))).collect();
    svg.push_str(&format!(
        "<polyline points=\"{}\" fill=\"none\" stroke=\"#005eb8\" stroke-width=\"2\"></polyline>",
        path.join(" ")
    ));
    for (point, day) in points.iter().zip(&days) {
        let outside = range.is_some_and(|range| {
            range.low.is_some_and(|range_low| point.value < range_low)
                || range.high.is_some_and(|range_high| point.value > range_high)
        });
        svg.push_str(&format!(
            "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"4\" fill=\"{}\"></circle>",
            x_of(*day),
            y_of(point.value),
            if outside { "#d5281b" } else { "#005eb8" }
        ));
    }
    svg.push_str("</svg>");
    svg
}

fn range_text(range: Range) -> String {
    match (range.low, range.high) {
        (Some(low), Some(high)) => format!("{} to {}", trim(low), trim(high)),
        (Some(low), None) => format!("above {}", trim(low)),
        (None, Some(high)) => format!("below {}", trim(high)),
        (None, None) => String::new(),
    }
}

/// A number without trailing zeros (at most two decimals).
pub fn trim(value: f64) -> String {
    let text = format!("{value:.2}");
    text.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// Days since 1970-01-01 of a `YYYY-MM-DD` date.
fn day_number(date: &str) -> Option<i64> {
    let mut parts = date.splitn(3, '-');
    let year: i64 = parts.next()?.parse().ok()?;
    let month: u32 = parts.next()?.parse().ok()?;
    let day: u32 = parts.next()?.get(..2)?.parse().ok()?;
    Some(kmcr_fhir::instant::days_from_civil(year, month, day))
}
