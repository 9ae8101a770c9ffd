//! The report in a real browser: headless Chromium (Debian's `chromium`, which
//! `.ci/run` installs) opens it from disk with JavaScript switched off, takes a
//! screenshot, and the page must have rendered (the screenshot is not blank) without
//! a single console message (the page's content security policy turns any fetch or
//! script into one).
//!
//! Chromium is found as `$CHROMIUM`, else `chromium` on the PATH. Where it is missing
//! these tests fail and say how to install it; `LOADGEN_SKIP_BROWSER=1` skips them on
//! a machine that cannot have it.

mod report_fixture;

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Where Chromium is, or `None` when the tests are to be skipped.
fn chromium() -> Option<PathBuf> {
    if std::env::var_os("LOADGEN_SKIP_BROWSER").is_some() {
        eprintln!("LOADGEN_SKIP_BROWSER is set: the browser tests are skipped");
        return None;
    }
    let program =
        std::env::var_os("CHROMIUM").map_or_else(|| PathBuf::from("chromium"), PathBuf::from);
    let found = Command::new(&program)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        found,
        "no Chromium at {}: install Debian's `chromium` package, point $CHROMIUM at one, or set LOADGEN_SKIP_BROWSER=1",
        program.display()
    );
    Some(program)
}

/// What Chromium made of a page: its screenshot and the console messages it logged.
struct Rendered {
    screenshot: PathBuf,
    console: Vec<String>,
}

/// Opens `page` in headless Chromium, JavaScript off, in a fresh profile under
/// `scratch`, and screenshots `height` pixels of it at 1280 wide. Chromium is killed
/// if it takes more than a minute.
fn render(chromium: &Path, page: &Path, scratch: &Path, height: u32) -> Rendered {
    let profile = scratch.join("profile");
    std::fs::create_dir_all(profile.join("Default")).unwrap();
    // `--blink-settings=scriptEnabled=false` stops the screenshot from being taken;
    // the profile's content setting switches scripts off as a user would.
    std::fs::write(
        profile.join("Default/Preferences"),
        r#"{"profile":{"default_content_setting_values":{"javascript":2}}}"#,
    )
    .unwrap();
    let screenshot = scratch.join("screenshot.png");
    let log = scratch.join("chromium.log");
    let mut child = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--enable-logging=stderr",
            "--v=0",
            "--hide-scrollbars",
            // Its crash reporter would start outside its process group, out of reach.
            "--disable-crash-reporter",
            "--disable-breakpad",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("--window-size=1280,{height}"))
        .arg(format!("--screenshot={}", screenshot.display()))
        .arg(format!("file://{}", page.display()))
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .process_group(0)
        .spawn()
        .unwrap();
    let guard = KillGroupOnDrop(child.id() as i32);
    let deadline = Instant::now() + Duration::from_secs(60);
    // Waited for without reaping it: while it is a zombie its group id is still its
    // own, so the group (its helpers) is killed before the id can be reused.
    while !exited(child.id()) {
        assert!(
            Instant::now() < deadline,
            "Chromium took over a minute on {}",
            page.display()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    drop(guard);
    let status = child.wait().unwrap();
    let log = std::fs::read_to_string(&log).unwrap();
    assert!(
        status.success(),
        "Chromium failed on {}: {log}",
        page.display()
    );
    let console = log
        .lines()
        .filter(|l| l.contains(":CONSOLE"))
        .map(str::to_owned)
        .collect();
    Rendered {
        screenshot,
        console,
    }
}

/// Whether process `pid` has exited (it is a zombie, not yet reaped, or gone).
fn exited(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state follows the command's closing parenthesis.
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')),
        Err(_) => true,
    }
}

/// Kills a process group when dropped, a panicking test's included: Chromium's helpers
/// (GPU, renderer) are in its group and go with it.
struct KillGroupOnDrop(i32);

impl Drop for KillGroupOnDrop {
    fn drop(&mut self) {
        let _ = nix::sys::signal::killpg(
            nix::unistd::Pid::from_raw(self.0),
            nix::sys::signal::Signal::SIGKILL,
        );
    }
}

/// The share of a PNG's pixels that are not near-white, and how many colours it has.
fn ink(png: &Path) -> (f64, usize) {
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(png).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut pixels = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut pixels).unwrap();
    let channels = info.color_type.samples();
    let mut inked = 0usize;
    let mut colours = std::collections::HashSet::new();
    let chunks = pixels[..info.buffer_size()].chunks(channels);
    let total = chunks.len();
    for pixel in chunks {
        let rgb = (pixel[0], pixel[1], pixel[2 % channels]);
        if rgb.0 < 240 || rgb.1 < 240 || rgb.2 < 240 {
            inked += 1;
        }
        colours.insert(rgb);
    }
    (inked as f64 / total as f64, colours.len())
}

#[test]
fn the_report_renders_in_chromium_without_a_console_message() {
    let Some(chromium) = chromium() else { return };
    let scratch = tempfile::tempdir().unwrap();
    let page = report_fixture::report(scratch.path());
    let rendered = render(&chromium, &page, scratch.path(), 4000);
    assert!(
        rendered.console.is_empty(),
        "console messages: {:#?}",
        rendered.console
    );
    let (share, colours) = ink(&rendered.screenshot);
    // Text, tables and charts in both architectures' colours: far from blank.
    assert!(
        share > 0.03,
        "only {:.2}% of the screenshot is inked",
        share * 100.0
    );
    assert!(colours > 50, "only {colours} colours in the screenshot");
}

/// The checks above can fail: a blank page is caught as blank, and a page breaking
/// its content security policy is caught by its console message.
#[test]
fn the_browser_checks_catch_a_blank_page_and_a_console_error() {
    let Some(chromium) = chromium() else { return };
    let scratch = tempfile::tempdir().unwrap();
    let blank = scratch.path().join("blank.html");
    std::fs::write(&blank, "<!DOCTYPE html><html><body></body></html>").unwrap();
    let rendered = render(&chromium, &blank, &scratch.path().join("blank"), 600);
    assert!(
        ink(&rendered.screenshot).0 < 0.001,
        "a blank page counted as inked"
    );

    let broken = scratch.path().join("broken.html");
    std::fs::write(
        &broken,
        format!(
            r#"<!DOCTYPE html><html><head><meta http-equiv="Content-Security-Policy" content="{}"><link rel="stylesheet" href="https://example.invalid/x.css"></head><body>x</body></html>"#,
            loadgen::report::page::CSP
        ),
    )
    .unwrap();
    let rendered = render(&chromium, &broken, &scratch.path().join("broken"), 600);
    assert!(
        !rendered.console.is_empty(),
        "a stylesheet from the network went unreported"
    );
}
