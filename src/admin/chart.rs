//! The overview's chart: bookings created and cancelled per day, drawn on
//! the server as inline SVG, so it needs no script and no external file.
//! Colours come from classes in the admin stylesheet (the CSP allows no
//! inline styles). Each day's group carries its counts as `data-*`
//! attributes, which is what the tests read.

use std::fmt::Write;

use crate::pages::Locale;
use crate::store::DayCount;

const WIDTH: f64 = 760.0;
const HEIGHT: f64 = 260.0;
const LEFT: f64 = 40.0;
const RIGHT: f64 = 12.0;
const TOP: f64 = 16.0;
const BOTTOM: f64 = 30.0;

/// The texts the chart shows, already translated.
pub struct ChartTexts {
    pub title: String,
    pub description: String,
    pub created: String,
    pub cancelled: String,
}

/// The chart as an `<svg>` element.
pub fn render(days: &[DayCount], locale: Locale, texts: &ChartTexts) -> String {
    let scale = Scale::new(days);
    let mut svg = String::new();
    let _ = write!(
        svg,
        "<svg class=\"chart\" viewBox=\"0 0 {WIDTH} {HEIGHT}\" role=\"img\" \
         aria-labelledby=\"chart-title chart-desc\" data-max=\"{}\">\
         <title id=\"chart-title\">{}</title><desc id=\"chart-desc\">{}</desc>",
        scale.top,
        escape(&texts.title),
        escape(&texts.description)
    );
    for tick in [0, scale.top / 2, scale.top] {
        let y = scale.y(tick);
        let _ = write!(
            svg,
            "<line class=\"grid\" x1=\"{LEFT}\" x2=\"{}\" y1=\"{y:.1}\" y2=\"{y:.1}\"/>\
             <text class=\"axis\" x=\"{}\" y=\"{:.1}\" text-anchor=\"end\">{tick}</text>",
            WIDTH - RIGHT,
            LEFT - 6.0,
            y + 4.0,
        );
    }
    for (i, day) in days.iter().enumerate() {
        let labelled = i % 5 == 0 || i + 1 == days.len();
        push_day(&mut svg, &scale, i, day, labelled, locale, texts);
    }
    svg.push_str("</svg>");
    svg
}

/// Where counts and days land in the drawing.
struct Scale {
    top: i64,
    slot: f64,
    bar: f64,
}

impl Scale {
    fn new(days: &[DayCount]) -> Self {
        let slot = (WIDTH - LEFT - RIGHT) / days.len().max(1) as f64;
        Self {
            top: nice_ceiling(days.iter().map(|d| d.created.max(d.cancelled)).max()),
            slot,
            bar: (slot * 0.36).max(1.0),
        }
    }

    /// The y coordinate of a count.
    fn y(&self, n: i64) -> f64 {
        let plot = HEIGHT - TOP - BOTTOM;
        TOP + plot - plot * n as f64 / self.top as f64
    }
}

/// One day's group: its counts as data, a tooltip, two bars and maybe a label.
fn push_day(
    svg: &mut String,
    scale: &Scale,
    i: usize,
    d: &DayCount,
    labelled: bool,
    locale: Locale,
    texts: &ChartTexts,
) {
    let x = LEFT + scale.slot * i as f64 + (scale.slot - 2.0 * scale.bar) / 2.0;
    let label = day_label(d.day, locale);
    let _ = write!(
        svg,
        "<g class=\"day\" data-day=\"{}\" data-created=\"{}\" data-cancelled=\"{}\">\
         <title>{label}: {} {}, {} {}</title>",
        d.day,
        d.created,
        d.cancelled,
        escape(&texts.created),
        d.created,
        escape(&texts.cancelled),
        d.cancelled
    );
    let base = scale.y(0);
    push_bar(svg, "created", x, scale.bar, scale.y(d.created), base);
    push_bar(
        svg,
        "cancelled",
        x + scale.bar,
        scale.bar,
        scale.y(d.cancelled),
        base,
    );
    svg.push_str("</g>");
    if labelled {
        let _ = write!(
            svg,
            "<text class=\"axis\" x=\"{:.1}\" y=\"{}\" text-anchor=\"middle\">{label}</text>",
            x + scale.bar,
            HEIGHT - 10.0
        );
    }
}

/// One bar from `top_y` down to the baseline; a zero count draws nothing
/// visible but keeps the element, so every day has both bars.
fn push_bar(svg: &mut String, class: &str, x: f64, width: f64, top_y: f64, base: f64) {
    let _ = write!(
        svg,
        "<rect class=\"bar {class}\" x=\"{x:.1}\" y=\"{top_y:.1}\" width=\"{width:.1}\" \
         height=\"{:.1}\" rx=\"1.5\"/>",
        base - top_y
    );
}

/// The smallest of 2, 4, 6, 8, 10, 20, 40, … that is at least `max`, so
/// that the gridlines at 0, half and top fall on whole numbers.
fn nice_ceiling(max: Option<i64>) -> i64 {
    let max = max.unwrap_or(0).max(1);
    let mut step = 1;
    loop {
        for m in [2, 4, 6, 8, 10] {
            if m * step >= max {
                return (m * step).max(2);
            }
        }
        step *= 10;
    }
}

fn day_label(day: time::Date, locale: Locale) -> String {
    const EN: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    const RU: [&str; 12] = [
        "янв", "фев", "мар", "апр", "мая", "июн", "июл", "авг", "сен", "окт", "ноя", "дек",
    ];
    let month = usize::from(u8::from(day.month())) - 1;
    match locale {
        Locale::En => format!("{} {}", EN[month], day.day()),
        Locale::Ru => format!("{} {}", day.day(), RU[month]),
    }
}

/// Escapes text for SVG element content and attribute values.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use time::macros::date;

    use super::*;

    fn texts() -> ChartTexts {
        ChartTexts {
            title: "Bookings <per> day".into(),
            description: "d".into(),
            created: "Created".into(),
            cancelled: "Cancelled".into(),
        }
    }

    #[test]
    fn bar_heights_are_proportional_to_the_counts() {
        let days = [
            DayCount {
                day: date!(2026 - 11 - 30),
                created: 4,
                cancelled: 1,
            },
            DayCount {
                day: date!(2026 - 12 - 01),
                created: 0,
                cancelled: 2,
            },
        ];
        let svg = render(&days, Locale::En, &texts());
        assert!(svg.contains("data-day=\"2026-11-30\" data-created=\"4\" data-cancelled=\"1\""));
        assert!(svg.contains("data-max=\"4\""));
        let plot = HEIGHT - TOP - BOTTOM;
        assert!(svg.contains(&format!("height=\"{plot:.1}\"")));
        assert!(svg.contains(&format!("height=\"{:.1}\"", plot / 4.0)));
        assert!(svg.contains("Bookings &lt;per&gt; day"));
        assert!(svg.contains("Nov 30"));
    }

    #[test]
    fn the_scale_rounds_up_to_even_steps() {
        assert_eq!(nice_ceiling(None), 2);
        assert_eq!(nice_ceiling(Some(3)), 4);
        assert_eq!(nice_ceiling(Some(5)), 6);
        assert_eq!(nice_ceiling(Some(9)), 10);
        assert_eq!(nice_ceiling(Some(11)), 20);
        assert_eq!(nice_ceiling(Some(250)), 400);
    }

    #[test]
    fn russian_labels_put_the_day_first() {
        assert_eq!(day_label(date!(2026 - 05 - 09), Locale::Ru), "9 мая");
    }
}
