//! The widget's size budget: every agent's browser downloads it, so its wasm stays under
//! 150 KiB gzipped (issue "The agent widget updates in place", point 6). Reads the bundle that
//! `scripts/build-assets` writes; without it the test says it skipped, unless
//! `TM_REQUIRE_ARTIFACTS=1` (as `scripts/test` sets), then it fails.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

/// 150 KiB, gzipped at the highest level (what a server's static compression gets at best).
const BUDGET_GZIPPED_BYTES: usize = 150 * 1024;

fn gzipped_size(bytes: &[u8]) -> usize {
    let mut gzip = Command::new("gzip")
        .args(["-9", "-c"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("gzip (Debian's gzip package) runs");
    gzip.stdin
        .take()
        .expect("stdin")
        .write_all(bytes)
        .expect("written");
    let output = gzip.wait_with_output().expect("gzip finished");
    assert!(output.status.success(), "gzip failed");
    output.stdout.len()
}

#[test]
fn the_widget_stays_under_150_kib_gzipped() {
    let wasm =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../web-widget/www/pkg/tm_web_widget_bg.wasm");
    let Ok(bytes) = std::fs::read(&wasm) else {
        assert!(
            std::env::var_os("TM_REQUIRE_ARTIFACTS").is_none(),
            "widget bundle required but missing: run scripts/build-assets"
        );
        eprintln!("SKIPPED: widget size: no bundle at {}", wasm.display());
        return;
    };
    let size = gzipped_size(&bytes);
    eprintln!("widget: {} bytes, {size} bytes gzipped", bytes.len());
    assert!(
        size <= BUDGET_GZIPPED_BYTES,
        "the widget is {size} bytes gzipped, over its budget of {BUDGET_GZIPPED_BYTES}"
    );
}
