//! The HTML report rendered from the checked-in fixture: every section is there, every
//! chart is valid SVG with the series it should have, the tables hold the fixture's
//! numbers, strings from data are escaped, an invalid run is flagged at the top; and
//! the index and the comparison of two runs.

mod report_fixture;

use loadgen::report::charts::series_lines;
use loadgen::report::page::{knee, number};
use serde_json::Value;

/// The text of `<section id="{id}">` ... `</section>`.
fn section<'a>(html: &'a str, id: &str) -> &'a str {
    let start = html
        .find(&format!(r#"<section id="{id}">"#))
        .unwrap_or_else(|| panic!("no section {id}"));
    let end = html[start..].find("</section>").unwrap() + start;
    &html[start..end]
}

/// Every `<svg>...</svg>` in `html`, in order.
fn svgs(html: &str) -> Vec<&str> {
    let mut found = Vec::new();
    let mut rest = html;
    while let Some(start) = rest.find("<svg") {
        let end = rest[start..].find("</svg>").unwrap() + start + "</svg>".len();
        found.push(&rest[start..end]);
        rest = &rest[end..];
    }
    found
}

fn scenario<'a>(run: &'a Value, name: &str) -> &'a Value {
    run["scenarios"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["scenario"] == name)
        .unwrap_or_else(|| panic!("the fixture has no {name}"))
}

fn rendered() -> (tempfile::TempDir, String) {
    let scratch = tempfile::tempdir().unwrap();
    let path = report_fixture::report(scratch.path());
    let html = std::fs::read_to_string(path).unwrap();
    (scratch, html)
}

#[test]
fn the_report_has_every_section_verdicts_first() {
    let (_scratch, html) = rendered();
    let mut at = 0;
    for id in [
        "validity",
        "verdicts",
        "capacity",
        "hop-cost",
        "faults",
        "cost",
        "audits",
        "reproduce",
        "files",
    ] {
        let found = html
            .find(&format!(r#"<section id="{id}">"#))
            .unwrap_or_else(|| panic!("no section {id}"));
        assert!(found > at, "section {id} out of order");
        at = found;
    }
    let verdicts = section(&html, "verdicts");
    let run = report_fixture::json();
    for claim in run["claims"].as_array().unwrap() {
        let line = claim["line"].as_str().unwrap();
        let escaped = line
            .replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;");
        assert!(verdicts.contains(&escaped), "verdict missing: {line}");
    }
    assert!(verdicts.contains(">price<"), "no price row");
}

#[test]
fn every_chart_is_valid_svg_with_its_series() {
    let (_scratch, html) = rendered();
    let all = svgs(&html);
    assert!(all.len() >= 8, "{} charts", all.len());
    for svg in &all {
        let doc =
            roxmltree::Document::parse(svg).unwrap_or_else(|e| panic!("not XML ({e}): {svg}"));
        assert_eq!(doc.root_element().tag_name().name(), "svg");
    }
    let run = report_fixture::json();

    // Capacity: p50 and p99 for each system's ramp, and the spectrum: one per system.
    let capacity = scenario(&run, "capacity")["systems"].as_array().unwrap();
    let ramps = capacity.iter().filter(|r| !r["ramp"].is_null()).count();
    let charts = svgs(section(&html, "capacity"));
    assert_eq!(series_lines(charts[0]), 2 * ramps, "capacity's lines");
    assert_eq!(
        series_lines(charts.last().unwrap()),
        ramps,
        "the spectrum's lines"
    );

    // Hop cost: a p50 and a p99 point per endpoint.
    let endpoints = scenario(&run, "hop-cost")["systems"][0]["endpoints"]
        .as_object()
        .unwrap()
        .len();
    let hops = svgs(section(&html, "hop-cost"));
    assert_eq!(
        hops[0].matches("<circle").count(),
        2 * endpoints,
        "hop-cost points"
    );

    // Each fault: goodput and errors, per endpoint group, one line per system.
    let faults = svgs(section(&html, "faults"));
    let outages: Vec<&Value> = run["scenarios"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["systems"][0]["outage"].is_object())
        .collect();
    // The blast radius grids come first, one per system.
    let systems = outages[0]["systems"].as_array().unwrap().len();
    for (i, outage) in outages.iter().enumerate() {
        let endpoints = outage["systems"][0]["outage"]["impact"]["endpoints"]
            .as_array()
            .unwrap();
        let groups = [true, false]
            .iter()
            .filter(|needs| endpoints.iter().any(|e| e["needs_faulty"] == **needs))
            .count();
        let chart = faults[systems + i];
        assert_eq!(
            series_lines(chart),
            2 * groups * systems,
            "{}'s timelines",
            outage["scenario"]
        );
    }
}

/// The rows of the first table in `html`, each as its cells' text.
fn first_table(html: &str) -> Vec<Vec<String>> {
    let table = html.split("<table>").nth(1).expect("a table");
    let table = table.split("</table>").next().unwrap();
    table
        .split("<tr>")
        .skip(1)
        .map(|row| {
            row.split("<td")
                .skip(1)
                .map(|cell| {
                    let inner = cell.split_once('>').unwrap().1;
                    let inner = inner.split("</td>").next().unwrap();
                    // The text, without the tags inside the cell.
                    let mut text = String::new();
                    let mut in_tag = false;
                    for c in inner.chars() {
                        match c {
                            '<' => in_tag = true,
                            '>' => in_tag = false,
                            c if !in_tag => text.push(c),
                            _ => {}
                        }
                    }
                    text.trim().to_owned()
                })
                .collect()
        })
        .collect()
}

#[test]
fn the_tables_hold_the_fixtures_numbers_in_their_columns() {
    let (_scratch, html) = rendered();
    let run = report_fixture::json();
    let capacity_html = section(&html, "capacity");
    let rows = first_table(capacity_html);
    for system in scenario(&run, "capacity")["systems"].as_array().unwrap() {
        let name = system["system"].as_str().unwrap();
        let ramp = &system["ramp"];
        let words = knee(
            ramp["knee"].as_f64(),
            ramp["knee_is_lower_bound"].as_bool().unwrap(),
        );
        assert!(
            capacity_html.contains(&format!("knee {words} req/s")),
            "knee {words}"
        );
        // A step measured again is stood for by its retry.
        let steps = ramp["steps"].as_array().unwrap();
        for step in steps.iter().filter(|s| s["retried"] == false) {
            let intended = number(step["intended_rate"].as_f64(), 0);
            let row = rows
                .iter()
                .find(|r| r.len() == 10 && r[0] == name && r[1] == intended)
                .unwrap_or_else(|| panic!("no row for {name} at {intended}: {rows:?}"));
            let corrected = &step["overall"]["corrected"];
            assert_eq!(row[2], number(step["achieved_rate"].as_f64(), 0));
            assert_eq!(
                row[3],
                number(corrected["p50_ms"].as_f64(), 2),
                "p50 {row:?}"
            );
            assert_eq!(
                row[5],
                number(corrected["p99_ms"].as_f64(), 2),
                "p99 {row:?}"
            );
            assert_eq!(
                row[8],
                number(step["cost"]["sut_cpu_us_per_request"].as_f64(), 1)
            );
        }
    }
    let hops = first_table(section(&html, "hop-cost"));
    let hop = scenario(&run, "hop-cost")["systems"].as_array().unwrap();
    let of = |system: &str| hop.iter().find(|r| r["system"] == system).unwrap();
    for endpoint in of("split")["endpoints"].as_object().unwrap().keys() {
        let p = |system: &str, q: &str| {
            number(
                of(system)["endpoints"][endpoint]["measurement"]["endpoints"][endpoint]["corrected"][q].as_f64(),
                2,
            )
        };
        let row = hops.iter().find(|r| r.first() == Some(endpoint)).unwrap();
        assert!(row.len() > 3, "{row:?}");
        assert_eq!(
            row[2],
            format!("{} / {}", p("monolith", "p50_ms"), p("monolith", "p99_ms"))
        );
        assert_eq!(
            row[3],
            format!("{} / {}", p("split", "p50_ms"), p("split", "p99_ms"))
        );
    }
    let audits = first_table(section(&html, "audits"));
    for scenario in run["scenarios"].as_array().unwrap() {
        for system in scenario["systems"].as_array().unwrap() {
            for kind in ["outage", "rollout"] {
                let Some(audit) = system[kind].get("audit") else {
                    continue;
                };
                let row = audits
                    .iter()
                    .find(|r| {
                        r.len() > 2
                            && r[0] == scenario["scenario"].as_str().unwrap()
                            && r[1] == system["system"].as_str().unwrap()
                    })
                    .unwrap();
                assert_eq!(row[2], audit["acknowledged"].to_string(), "{row:?}");
            }
        }
    }
}

#[test]
fn strings_from_the_data_are_escaped_and_an_invalid_run_is_red_at_the_top() {
    let scratch = tempfile::tempdir().unwrap();
    let mut run = report_fixture::json();
    run["command"] = serde_json::json!(["loadgen", "run", "--mix", "<script>alert(1)</script>"]);
    run["valid"] = Value::Bool(false);
    run["invalid_because"] = serde_json::json!(["the generator fell <b>behind</b> & lost"]);
    let dir = report_fixture::run_dir_with(scratch.path(), "hostile", &run);
    let html = std::fs::read_to_string(loadgen::report::rebuild(&dir).unwrap()).unwrap();
    assert!(!html.contains("<script"), "a script tag got through");
    assert!(!html.contains("<b>behind"), "markup got through");
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    let validity = section(&html, "validity");
    assert!(validity.contains(r#"class="invalid""#), "{validity}");
    assert!(
        validity.contains("fell &lt;b&gt;behind&lt;/b&gt; &amp; lost"),
        "{validity}"
    );
    assert!(html.find("INVALID RUN").unwrap() < html.find(r#"<section id="verdicts">"#).unwrap());
}

#[test]
fn a_valid_run_says_so_and_links_its_files() {
    let (_scratch, html) = rendered();
    assert!(section(&html, "validity").contains(r#"class="valid""#));
    let files = section(&html, "files");
    assert!(files.contains(r#"href="run.json""#));
    let reproduce = section(&html, "reproduce");
    let run = report_fixture::json();
    assert!(reproduce.contains(run["environment"]["git_commit"].as_str().unwrap()));
    assert!(reproduce.contains(&format!(">{}<", run["seed"])));
}

#[test]
fn the_index_lists_every_run_newest_first() {
    let scratch = tempfile::tempdir().unwrap();
    let run = report_fixture::json();
    let older = report_fixture::run_dir_with(scratch.path(), "20260101-000000", &run);
    report_fixture::run_dir_with(scratch.path(), "20260102-000000", &run);
    let broken = scratch.path().join("results/20260103-000000");
    std::fs::create_dir_all(&broken).unwrap();
    std::fs::write(broken.join("run.json"), "{ not json").unwrap();
    loadgen::report::rebuild(&older).unwrap();
    let index = std::fs::read_to_string(scratch.path().join("results/index.html")).unwrap();
    let at = |needle: &str| {
        index
            .find(needle)
            .unwrap_or_else(|| panic!("{needle} not in the index"))
    };
    assert!(at("20260103-000000") < at("20260102-000000"));
    assert!(at("20260102-000000") < at("20260101-000000"));
    assert!(index.contains(r#"href="20260101-000000/report.html""#));
    assert!(
        index.contains(r#"href="20260102-000000/run.json""#),
        "a run without a report links its run.json"
    );
    assert!(index.contains("unreadable"));
}

#[test]
fn a_comparison_tells_changes_from_noise() {
    let scratch = tempfile::tempdir().unwrap();
    let old = report_fixture::json();
    let mut new = old.clone();
    let capacity = new["scenarios"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|s| s["scenario"] == "capacity")
        .unwrap();
    let ramp = &mut capacity["systems"][0]["ramp"];
    let knee = ramp["knee"].as_f64().unwrap();
    // Two ramp steps up: past the knee's noise band of one step.
    let factor = old["profile"]["ramp_factor"].as_f64().unwrap();
    ramp["knee"] = serde_json::json!(knee * factor * factor);
    let old_dir = report_fixture::run_dir_with(scratch.path(), "old", &old);
    let new_dir = report_fixture::run_dir_with(scratch.path(), "new", &new);
    let (older, newer) = (
        loadgen::report::load(&old_dir).unwrap(),
        loadgen::report::load(&new_dir).unwrap(),
    );
    let path = loadgen::report::write_comparison(&older, &newer, &new_dir).unwrap();
    assert!(path.starts_with(&new_dir));
    let html = std::fs::read_to_string(path).unwrap();
    let row = html
        .split("<tr>")
        .find(|row| row.contains("capacity: knee") && row.contains("monolith"))
        .unwrap();
    assert!(row.contains("better"), "{row}");
    let change = format!("+{:.1}%", (factor * factor - 1.0) * 100.0);
    assert!(row.contains(&change), "{row}");
    let unchanged = html
        .split("<tr>")
        .filter(|row| row.contains("within noise"))
        .count();
    assert!(
        unchanged > 5,
        "only {unchanged} figures within noise: {html}"
    );
    assert!(
        !html.contains("worse"),
        "an unchanged figure was called worse"
    );
}

#[test]
fn loadgen_report_rebuilds_a_report_from_run_json_alone() {
    let scratch = tempfile::tempdir().unwrap();
    let dir = report_fixture::run_dir_with(scratch.path(), "cli", &report_fixture::json());
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_loadgen"))
        .arg("report")
        .arg(&dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report = dir.join("report.html");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("report: {}", report.display())
    );
    assert!(std::fs::read_to_string(report).unwrap().contains("<svg"));
    assert!(scratch.path().join("results/index.html").is_file());
}
