//! The report's plots, drawn by plotters into SVG strings the page embeds inline.
//!
//! Each function takes plain numbers (the [`sections`](super::sections) pick them out
//! of the run) and returns one `<svg>`. Every chart has its legend in a strip of its
//! own above the plot, so no label lands on the data, and every series of lines is
//! one `<polyline>`.

use std::error::Error;

use anyhow::{Result, anyhow};
use plotters::chart::{ChartContext, MeshStyle};
use plotters::coord::Shift;
use plotters::coord::ranged1d::Ranged;
use plotters::prelude::*;

/// One line of a chart: its label in the legend, its colour and weight, its points.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub label: String,
    pub colour: RGBColor,
    /// Stroke width in pixels: the tail (p99) is drawn heavier than the median.
    pub width: u32,
    pub points: Vec<(f64, f64)>,
}

/// A point called out on a chart (a knee), in its series' colour.
#[derive(Debug, Clone, PartialEq)]
pub struct Mark {
    pub label: String,
    pub colour: RGBColor,
    pub at: (f64, f64),
}

/// A legend's entry: its label, colour and swatch thickness.
type Entry = (String, RGBColor, u32);

/// A chart's frame on `area`: its margin and the room for its axes' labels.
fn frame<'a, 'b, DB: DrawingBackend>(area: &'a DrawingArea<DB, Shift>) -> ChartBuilder<'a, 'b, DB> {
    let mut builder = ChartBuilder::on(area);
    builder
        .margin(10)
        .x_label_area_size(40)
        .y_label_area_size(64);
    builder
}

/// The house style of a chart's mesh: a faint grid, labels at a readable size.
fn house_style<'m, 'a, 'b, X: Ranged, Y: Ranged, DB: DrawingBackend>(
    mesh: &'m mut MeshStyle<'a, 'b, X, Y, DB>,
) -> &'m mut MeshStyle<'a, 'b, X, Y, DB> {
    mesh.light_line_style(GRID)
        .label_style((FONT, 16))
        .axis_desc_style((FONT, 17))
}

type Area<'a> = DrawingArea<SVGBackend<'a>, Shift>;
type Drawn = std::result::Result<(), Box<dyn Error>>;

const FONT: &str = "sans-serif";
/// Labels asked of a log axis.
const LOG_LABELS: usize = 5;
const LEGEND_HEIGHT: u32 = 28;
const GRID: RGBAColor = RGBAColor(0, 0, 0, 0.08);

/// Draws onto a white `size` canvas and returns the SVG.
fn svg(size: (u32, u32), draw: impl FnOnce(&Area) -> Drawn) -> Result<String> {
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, size).into_drawing_area();
        root.fill(&WHITE).map_err(|e| anyhow!("{e}"))?;
        draw(&root).map_err(|e| anyhow!("drawing a chart: {e}"))?;
        root.present().map_err(|e| anyhow!("{e}"))?;
    }
    Ok(out)
}

/// Splits a legend off the top of `area` and draws `entries` in it, left to right and
/// onto further rows when the width runs out: a swatch in the entry's colour, then its
/// label.
fn legend<'a>(area: &Area<'a>, entries: &[Entry]) -> std::result::Result<Area<'a>, Box<dyn Error>> {
    let room = area.dim_in_pixel().0 as i32 - 12;
    let mut rows: Vec<Vec<(i32, &Entry)>> = vec![Vec::new()];
    let mut x = 12i32;
    for entry in entries {
        // About 7 px a character: plotters writes size 16 as 13 px.
        let width = 26 + 7 * entry.0.chars().count() as i32 + 22;
        if x + width > room && rows.last().is_some_and(|row| !row.is_empty()) {
            rows.push(Vec::new());
            x = 12;
        }
        rows.last_mut().expect("a row").push((x, entry));
        x += width;
    }
    let (strip, rest) = area.split_vertically(LEGEND_HEIGHT * rows.len() as u32);
    for (r, row) in rows.iter().enumerate() {
        let y = LEGEND_HEIGHT as i32 * r as i32 + 14;
        for (x, (label, colour, width)) in row {
            let thickness = (*width as i32).max(2);
            strip.draw(&Rectangle::new(
                [(*x, y - thickness / 2), (x + 20, y + (thickness + 1) / 2)],
                colour.filled(),
            ))?;
            strip.draw(&Text::new(
                label.clone(),
                (x + 26, y - 6),
                (FONT, 16).into_font().color(&BLACK),
            ))?;
        }
    }
    Ok(rest)
}

fn entries(series: &[Series]) -> Vec<Entry> {
    series
        .iter()
        .map(|s| (s.label.clone(), s.colour, s.width))
        .collect()
}

fn style(colour: RGBColor, width: u32) -> ShapeStyle {
    ShapeStyle {
        color: colour.to_rgba(),
        filled: false,
        stroke_width: width,
    }
}

/// The bounds of every point's `pick`ed coordinate, or `fallback` when there is none.
fn bounds(
    series: &[Series],
    pick: impl Fn(&(f64, f64)) -> f64,
    fallback: (f64, f64),
) -> (f64, f64) {
    let values = series
        .iter()
        .flat_map(|s| s.points.iter().map(&pick))
        .filter(|v| v.is_finite());
    let (low, high) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), v| {
        (l.min(v), h.max(v))
    });
    if low.is_finite() {
        (low, high)
    } else {
        fallback
    }
}

/// Draws each series as a line with a dot of `radius` on every point.
fn lines_with_markers<X, Y>(
    chart: &mut ChartContext<'_, SVGBackend<'_>, Cartesian2d<X, Y>>,
    series: &[Series],
    radius: u32,
) -> Drawn
where
    X: Ranged<ValueType = f64>,
    Y: Ranged<ValueType = f64>,
{
    for s in series {
        chart.draw_series(LineSeries::new(s.points.clone(), style(s.colour, s.width)))?;
        chart.draw_series(
            s.points
                .iter()
                .map(|&p| Circle::new(p, radius, s.colour.filled())),
        )?;
    }
    Ok(())
}

/// A log axis's range around `(low, high)`, kept above zero.
fn log_range(low: f64, high: f64) -> std::ops::Range<f64> {
    let low = (low * 0.7).max(0.01);
    let high = (high * 1.4).max(low * 10.0);
    low..high
}

/// Latency against achieved throughput, with each knee marked: lines through the
/// ramp's steps (x: requests per second, y: milliseconds on a log scale).
pub fn latency_curve(series: &[Series], knees: &[Mark]) -> Result<String> {
    svg((760, 380), |root| {
        let body = legend(root, &entries(series))?;
        let (_, x_high) = bounds(series, |p| p.0, (0.0, 1.0));
        let (y_low, y_high) = bounds(series, |p| p.1, (0.1, 1.0));
        let mut chart = frame(&body)
            .build_cartesian_2d(0f64..x_high * 1.08, log_range(y_low, y_high).log_scale())?;
        house_style(&mut chart.configure_mesh())
            .x_desc("achieved throughput (requests/s)")
            .y_desc("corrected latency (ms, log)")
            // A log axis labelled at every key point crowds them below each decade.
            .y_labels(LOG_LABELS)
            .x_label_formatter(&tick)
            .y_label_formatter(&tick)
            .draw()?;
        for s in series {
            chart.draw_series(LineSeries::new(s.points.clone(), style(s.colour, s.width)))?;
        }
        for knee in knees {
            chart.draw_series(std::iter::once(Circle::new(
                knee.at,
                6,
                knee.colour.filled(),
            )))?;
            chart.draw_series(std::iter::once(Text::new(
                knee.label.clone(),
                knee.at,
                (FONT, 15)
                    .into_font()
                    .color(&knee.colour)
                    .pos(text_anchor()),
            )))?;
        }
        Ok(())
    })
}

/// Text placed up and to the left of its point, clear of the marker.
fn text_anchor() -> plotters::style::text_anchor::Pos {
    use plotters::style::text_anchor::{HPos, Pos, VPos};
    Pos::new(HPos::Right, VPos::Bottom)
}

/// One panel of a timeline figure.
#[derive(Debug, Clone, PartialEq)]
pub struct Panel {
    pub title: String,
    pub y_desc: String,
    /// The y axis's top (its bottom is 0).
    pub y_max: f64,
    pub series: Vec<Series>,
}

/// Per-second timelines around an `event` (`fault`, `rollout`, `spike`), one panel
/// each, two to a row; its window (`window`, seconds on the x axis) shaded in every
/// panel.
pub fn timelines(
    event: &str,
    panels: &[Panel],
    x: (f64, f64),
    window: (f64, f64),
) -> Result<String> {
    let rows = panels.len().div_ceil(2).max(1);
    let all: Vec<Series> = panels.first().map(|p| p.series.clone()).unwrap_or_default();
    svg((900, 40 + 260 * rows as u32), |root| {
        let mut legend_entries = entries(&all);
        legend_entries.push((format!("{event} window"), RGBColor(0xcc, 0xcc, 0xcc), 12));
        let body = legend(root, &legend_entries)?;
        for (panel, area) in panels.iter().zip(body.split_evenly((rows, 2))) {
            let mut chart = frame(&area)
                .caption(&panel.title, (FONT, 17))
                .margin(8)
                .x_label_area_size(34)
                .y_label_area_size(56)
                .build_cartesian_2d(x.0..x.1, 0f64..panel.y_max.max(1e-9))?;
            chart.draw_series(std::iter::once(Rectangle::new(
                [(window.0.max(x.0), 0.0), (window.1.min(x.1), panel.y_max)],
                RGBColor(0xcc, 0xcc, 0xcc).mix(0.5).filled(),
            )))?;
            house_style(&mut chart.configure_mesh())
                .x_desc(format!("seconds from the {event}'s start"))
                .y_desc(&panel.y_desc)
                .label_style((FONT, 15))
                .axis_desc_style((FONT, 16))
                .x_label_formatter(&tick)
                .y_label_formatter(&tick)
                .draw()?;
            for s in &panel.series {
                chart.draw_series(LineSeries::new(s.points.clone(), style(s.colour, s.width)))?;
            }
        }
        Ok(())
    })
}

/// A grid of `rows` x `columns` cells coloured by a share (red at 0, amber at 0.9,
/// green at 1; grey where there is no figure), each with its percentage written in it.
pub fn share_grid(
    title: &str,
    rows: &[String],
    columns: &[String],
    cells: &[Vec<Option<f64>>],
) -> Result<String> {
    const LEFT: i32 = 140;
    const TOP: i32 = 64;
    const CELL_W: i32 = 92;
    const CELL_H: i32 = 26;
    let width = LEFT + CELL_W * columns.len().max(1) as i32 + 12;
    let height = TOP + CELL_H * rows.len().max(1) as i32 + 12;
    svg((width as u32, height as u32), |root| {
        let bold = (FONT, 17).into_font().color(&BLACK);
        root.draw(&Text::new(title.to_owned(), (8, 6), bold))?;
        let small = (FONT, 15).into_font().color(&BLACK);
        for (c, column) in columns.iter().enumerate() {
            // Two lines: "crash" over "payments", to fit the cell.
            let (first, second) = column.split_once('-').unwrap_or((column, ""));
            let x = LEFT + CELL_W * c as i32 + 4;
            root.draw(&Text::new(first.to_owned(), (x, TOP - 34), small.clone()))?;
            root.draw(&Text::new(second.to_owned(), (x, TOP - 18), small.clone()))?;
        }
        for (r, row) in rows.iter().enumerate() {
            let y = TOP + CELL_H * r as i32;
            root.draw(&Text::new(row.clone(), (8, y + 7), small.clone()))?;
            for c in 0..columns.len() {
                let share = cells.get(r).and_then(|row| row.get(c)).copied().flatten();
                let x = LEFT + CELL_W * c as i32;
                root.draw(&Rectangle::new(
                    [(x, y), (x + CELL_W - 2, y + CELL_H - 2)],
                    share_colour(share).filled(),
                ))?;
                let text = share.map_or("-".to_owned(), |s| format!("{:.1}%", s * 100.0));
                root.draw(&Text::new(text, (x + 8, y + 6), small.clone()))?;
            }
        }
        Ok(())
    })
}

/// Red through amber to green as `share` goes 0 -> 0.9 -> 1.
pub fn share_colour(share: Option<f64>) -> RGBColor {
    let Some(share) = share.filter(|s| s.is_finite()) else {
        return RGBColor(0xdd, 0xdd, 0xdd);
    };
    let mix = |a: (f64, f64, f64), b: (f64, f64, f64), t: f64| {
        let t = t.clamp(0.0, 1.0);
        RGBColor(
            (a.0 + (b.0 - a.0) * t) as u8,
            (a.1 + (b.1 - a.1) * t) as u8,
            (a.2 + (b.2 - a.2) * t) as u8,
        )
    };
    let (red, amber, green) = (
        (239.0, 138.0, 128.0),
        (253.0, 219.0, 120.0),
        (140.0, 205.0, 150.0),
    );
    if share < 0.9 {
        mix(red, amber, share / 0.9)
    } else {
        mix(amber, green, (share - 0.9) / 0.1)
    }
}

/// Colours for the parts of a stack, in order (Okabe-Ito, without the architectures'
/// blue and orange).
pub const PALETTE: [RGBColor; 8] = [
    RGBColor(0x00, 0x9e, 0x73),
    RGBColor(0xcc, 0x79, 0xa7),
    RGBColor(0x56, 0xb4, 0xe9),
    RGBColor(0xf0, 0xe4, 0x42),
    RGBColor(0x99, 0x99, 0x99),
    RGBColor(0x88, 0x44, 0x11),
    RGBColor(0x33, 0x33, 0x88),
    RGBColor(0x00, 0x00, 0x00),
];

/// One bar of a stacked chart: its name under it, and its parts bottom to top.
#[derive(Debug, Clone, PartialEq)]
pub struct Bar {
    pub name: String,
    pub parts: Vec<(String, f64)>,
}

/// Bars side by side, each a stack of parts; a part has the same colour in every bar.
pub fn stacked_bars(y_desc: &str, bars: &[Bar]) -> Result<String> {
    let mut parts: Vec<String> = Vec::new();
    for bar in bars {
        for (part, _) in &bar.parts {
            if !parts.contains(part) {
                parts.push(part.clone());
            }
        }
    }
    let colour = |part: &str| {
        let i = parts.iter().position(|p| p == part).unwrap_or(0);
        PALETTE[i % PALETTE.len()]
    };
    svg((440, 380), |root| {
        let legend_entries: Vec<Entry> = parts.iter().map(|p| (p.clone(), colour(p), 10)).collect();
        let body = legend(root, &legend_entries)?;
        let top = bars
            .iter()
            .map(|b| b.parts.iter().map(|(_, v)| v.max(0.0)).sum::<f64>())
            .fold(0.0, f64::max);
        let mut chart = frame(&body)
            .build_cartesian_2d(0f64..bars.len().max(1) as f64, 0f64..(top * 1.1).max(1e-9))?;
        house_style(&mut chart.configure_mesh())
            .disable_x_mesh()
            // Bars are named under their middles below, not at plotters' ticks.
            .x_labels(0)
            .y_desc(y_desc)
            .y_label_formatter(&tick)
            .draw()?;
        for (i, bar) in bars.iter().enumerate() {
            let (left, right) = (i as f64 + 0.2, i as f64 + 0.8);
            let mut bottom = 0.0;
            for (part, value) in &bar.parts {
                let value = value.max(0.0);
                chart.draw_series(std::iter::once(Rectangle::new(
                    [(left, bottom), (right, bottom + value)],
                    colour(part).filled(),
                )))?;
                bottom += value;
            }
            let (x, y) = chart.backend_coord(&(i as f64 + 0.5, 0.0));
            body.draw(&Text::new(
                bar.name.clone(),
                (x, y + 8),
                (FONT, 16)
                    .into_font()
                    .color(&BLACK)
                    .pos(plotters::style::text_anchor::Pos::new(
                        plotters::style::text_anchor::HPos::Center,
                        plotters::style::text_anchor::VPos::Top,
                    )),
            ))?;
        }
        Ok(())
    })
}

/// Lines on log-log axes with a marker on every point (the cost projection: dollars an
/// hour against the rate served).
pub fn log_log(x_desc: &str, y_desc: &str, series: &[Series]) -> Result<String> {
    svg((560, 360), |root| {
        let body = legend(root, &entries(series))?;
        let (x_low, x_high) = bounds(series, |p| p.0, (1.0, 10.0));
        let (y_low, y_high) = bounds(series, |p| p.1, (0.1, 1.0));
        let mut chart = frame(&body).build_cartesian_2d(
            log_range(x_low, x_high).log_scale(),
            log_range(y_low, y_high).log_scale(),
        )?;
        house_style(&mut chart.configure_mesh())
            .x_desc(x_desc)
            .y_desc(y_desc)
            .x_labels(LOG_LABELS)
            .y_labels(LOG_LABELS)
            .x_label_formatter(&tick)
            .y_label_formatter(&tick)
            .draw()?;
        lines_with_markers(&mut chart, series, 4)
    })
}

/// Points with a name each (the hop cost: added latency against internal calls); one
/// series per entry of `series`, all sharing the names in `names` (same order as
/// each series' points).
pub fn named_points(
    x_desc: &str,
    y_desc: &str,
    series: &[Series],
    names: &[String],
) -> Result<String> {
    svg((620, 380), |root| {
        let body = legend(root, &entries(series))?;
        let (_, x_high) = bounds(series, |p| p.0, (0.0, 1.0));
        let (y_low, y_high) = bounds(series, |p| p.1, (0.0, 1.0));
        let y_low = y_low.min(0.0);
        let span = (y_high - y_low).max(1e-3);
        let mut chart = frame(&body).build_cartesian_2d(
            0f64..(x_high + 1.0),
            (y_low - span * 0.05)..(y_high + span * 0.2),
        )?;
        house_style(&mut chart.configure_mesh())
            .x_desc(x_desc)
            .y_desc(y_desc)
            .x_label_formatter(&tick)
            .y_label_formatter(&tick)
            .draw()?;
        for (n, s) in series.iter().enumerate() {
            chart.draw_series(
                s.points
                    .iter()
                    .map(|&p| Circle::new(p, 3 + s.width, s.colour.filled())),
            )?;
            // Names once, beside the first series' points, alternating sides so that
            // endpoints with the same number of calls do not overprint.
            if n == 0 {
                for (i, (&p, name)) in s.points.iter().zip(names).enumerate() {
                    use plotters::style::text_anchor::{HPos, Pos, VPos};
                    let h = if i % 2 == 0 { HPos::Left } else { HPos::Right };
                    let offset = if i % 2 == 0 { 10 } else { -10 };
                    chart.draw_series(std::iter::once(
                        EmptyElement::at(p)
                            + Text::new(
                                name.clone(),
                                (offset, -4),
                                (FONT, 15)
                                    .into_font()
                                    .color(&BLACK)
                                    .pos(Pos::new(h, VPos::Bottom)),
                            ),
                    ))?;
                }
            }
        }
        Ok(())
    })
}

/// The percentiles written along the spectrum's x axis, one step per nine.
pub const SPECTRUM: [&str; 6] = ["p50", "p90", "p99", "p99.9", "p99.99", "max"];

/// Latency at each of [`SPECTRUM`]'s percentiles (a series' points are `(index, ms)`),
/// log scale.
pub fn spectrum(series: &[Series]) -> Result<String> {
    svg((560, 360), |root| {
        let body = legend(root, &entries(series))?;
        let (y_low, y_high) = bounds(series, |p| p.1, (0.1, 1.0));
        let mut chart = frame(&body).build_cartesian_2d(
            -0.3f64..(SPECTRUM.len() as f64 - 0.7),
            log_range(y_low, y_high).log_scale(),
        )?;
        house_style(&mut chart.configure_mesh())
            .x_desc("percentile (one step per nine)")
            .y_desc("corrected latency (ms, log)")
            .y_labels(LOG_LABELS)
            .x_labels(SPECTRUM.len() * 2)
            .x_label_formatter(&|v| {
                let i = v.round();
                if (v - i).abs() < 1e-6 && i >= 0.0 {
                    SPECTRUM
                        .get(i as usize)
                        .map_or(String::new(), |s| (*s).to_owned())
                } else {
                    String::new()
                }
            })
            .y_label_formatter(&tick)
            .draw()?;
        lines_with_markers(&mut chart, series, 3)
    })
}

/// The polylines of `svg` drawn in a colour, not black: its series' lines (axes and
/// ticks are black).
pub fn series_lines(svg: &str) -> usize {
    svg.split("<polyline")
        .skip(1)
        .filter_map(|rest| rest.split_once('>').map(|(element, _)| element))
        .filter(|element| !element.contains(r##"stroke="#000000""##))
        .count()
}

/// A tick's label: at most three significant digits, no trailing zeros.
fn tick(value: &f64) -> String {
    let digits = if *value >= 100.0 {
        0
    } else if *value >= 10.0 {
        1
    } else if *value >= 1.0 {
        2
    } else {
        3
    };
    let text = format!("{value:.digits$}");
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_short() {
        assert_eq!(tick(&0.30000000000000004), "0.3");
        assert_eq!(tick(&1500.0), "1500");
        assert_eq!(tick(&12.5), "12.5");
        assert_eq!(tick(&0.025), "0.025");
    }

    #[test]
    fn shares_run_from_red_to_green() {
        let red = share_colour(Some(0.0));
        let green = share_colour(Some(1.0));
        assert!(red.0 > red.1, "0% is red: {red:?}");
        assert!(green.1 > green.0, "100% is green: {green:?}");
        assert_eq!(share_colour(None), RGBColor(0xdd, 0xdd, 0xdd));
    }

    #[test]
    fn a_line_chart_draws_one_polyline_per_series() {
        let series = |label: &str, y: f64| Series {
            label: label.to_owned(),
            colour: RGBColor(1, 2, 3),
            width: 2,
            points: vec![(1.0, y), (2.0, y * 2.0), (3.0, y * 4.0)],
        };
        let svg =
            latency_curve(&[series("a", 1.0), series("b", 2.0), series("c", 3.0)], &[]).unwrap();
        assert!(svg.starts_with("<svg"), "{}", &svg[..60.min(svg.len())]);
        assert_eq!(series_lines(&svg), 3, "{svg}");
        for label in ["a", "b", "c"] {
            let texts = svg
                .split("</text>")
                .map(|t| t.rsplit('>').next().unwrap_or("").trim());
            assert_eq!(texts.filter(|t| *t == label).count(), 1, "legend {label}");
        }
    }
}
