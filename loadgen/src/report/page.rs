//! The frame every page shares: the document, its style sheet (screen and print), the
//! architectures' colours, and how numbers are written.

use maud::{DOCTYPE, Markup, PreEscaped, html};
use plotters::style::RGBColor;

use crate::deploy::System;

/// One colour per architecture, the same in every chart and table (blue and orange:
/// told apart by colour-blind readers too). The style sheet's `--monolith` and
/// `--split` are the same two.
pub fn colour(system: System) -> RGBColor {
    match system {
        System::Monolith => RGBColor(0x1f, 0x77, 0xb4),
        System::Split => RGBColor(0xd9, 0x5f, 0x02),
        System::Ceiling => RGBColor(0x55, 0x55, 0x55),
    }
}

const STYLE: &str = r#"
:root { --monolith: #1f77b4; --split: #d95f02; --bad: #b00020; --good: #1b7837; --muted: #555; }
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 0 auto;
  max-width: 1100px; padding: 1.5rem; color: #111; line-height: 1.45; }
h1 { font-size: 1.6rem; margin-bottom: 0.2rem; }
h2 { font-size: 1.25rem; border-bottom: 1px solid #ccc; padding-bottom: 0.2rem; margin-top: 2.2rem; }
h3 { font-size: 1.05rem; margin-top: 1.6rem; }
.sub { color: var(--muted); margin-top: 0; }
table { border-collapse: collapse; margin: 0.6rem 0 1rem; font-size: 0.9rem; }
th, td { border: 1px solid #ccc; padding: 0.25rem 0.5rem; text-align: left; vertical-align: top; }
th { background: #f3f3f3; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.monolith { color: var(--monolith); font-weight: 600; }
.split { color: var(--split); font-weight: 600; }
.ceiling { color: #555; font-weight: 600; }
.invalid { border: 2px solid var(--bad); background: #fdecee; color: var(--bad); padding: 0.6rem 1rem; }
.valid { border: 1px solid var(--good); background: #eef7f0; color: var(--good); padding: 0.4rem 1rem; }
.failed { color: var(--bad); font-weight: 600; }
.passed { color: var(--good); }
.caveat { color: var(--muted); font-size: 0.85rem; }
figure { margin: 1rem 0; break-inside: avoid; page-break-inside: avoid; }
figure svg { width: 100%; max-width: 780px; height: auto; display: block; }
figcaption { color: var(--muted); font-size: 0.85rem; }
.side { display: flex; flex-wrap: wrap; gap: 1rem; }
.side figure { flex: 1 1 480px; }
pre { background: #f6f6f6; padding: 0.6rem; overflow-x: auto; font-size: 0.8rem; white-space: pre-wrap; }
nav a { margin-right: 0.8rem; }
@media print {
  body { max-width: none; padding: 0; font-size: 10pt; }
  nav { display: none; }
  h2 { break-after: avoid; page-break-after: avoid; }
  table { break-inside: auto; }
  tr { break-inside: avoid; }
}
"#;

/// The page's content security policy: it loads nothing, runs nothing.
pub const CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src data:";

/// A whole page: `title`, then `body`.
pub fn document(title: &str, body: Markup) -> String {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                // Nothing but the page's own style: no script, no fetch. A browser
                // reports anything else as a console error (the browser test looks).
                meta http-equiv="Content-Security-Policy" content=(CSP);
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) }
                style { (PreEscaped(STYLE)) }
            }
            body { (body) }
        }
    }
    .into_string()
}

/// An architecture's name in its colour.
pub fn system_name(system: System) -> Markup {
    html! { span class=(system.name()) { (system.name()) } }
}

/// A number with `digits` decimals and thousands separated by a thin space; `-` for
/// none or not finite.
pub fn number(value: Option<f64>, digits: usize) -> String {
    let Some(value) = value.filter(|v| v.is_finite()) else {
        return "-".to_owned();
    };
    let text = format!("{:.digits$}", value.abs());
    let (whole, fraction) = text
        .split_once('.')
        .map_or((text.as_str(), None), |(w, f)| (w, Some(f)));
    let mut grouped = String::new();
    for (i, digit) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    let sign = if value < 0.0 && text.chars().any(|c| c.is_ascii_digit() && c != '0') {
        "-"
    } else {
        ""
    };
    match fraction {
        Some(fraction) => format!("{sign}{grouped}.{fraction}"),
        None => format!("{sign}{grouped}"),
    }
}

/// A unit enum's name as `run.json` writes it (`generator-limited`, `quick`).
pub fn name_of(value: &impl serde::Serialize) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(name)) => name,
        _ => "?".to_owned(),
    }
}

/// A share as a percentage with one decimal.
pub fn percent(share: Option<f64>) -> String {
    match share.filter(|s| s.is_finite()) {
        Some(share) => format!("{:.1}%", share * 100.0),
        None => "-".to_owned(),
    }
}

/// A ramp's knee: `>= 6,872` when the ramp ended before the system did (on the
/// generator, or at its last step).
pub fn knee(knee: Option<f64>, lower_bound: bool) -> String {
    match knee {
        Some(k) if lower_bound => format!(">= {}", number(Some(k), 0)),
        Some(k) => number(Some(k), 0),
        None => "-".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_grouped_and_rounded() {
        assert_eq!(number(Some(1234567.891), 1), "1,234,567.9");
        assert_eq!(number(Some(999.0), 0), "999");
        assert_eq!(number(Some(-1500.0), 0), "-1,500");
        assert_eq!(number(Some(-0.0001), 2), "0.00");
        assert_eq!(number(None, 2), "-");
        assert_eq!(number(Some(f64::NAN), 2), "-");
        assert_eq!(percent(Some(0.9876)), "98.8%");
        assert_eq!(knee(Some(4132.4), true), ">= 4,132");
    }
}
