//! The OpenAPI document as integrators use it: a real code generator (openapi-typescript, from
//! npm) turns it into types without a warning, and a small client written against those types
//! (`tests/typescript/client.ts`) compiles with `tsc --strict`. Needs the npm packages that
//! `scripts/build-assets` installs; without them the test says it skipped, unless
//! `TM_REQUIRE_ARTIFACTS=1` (as `scripts/test` sets), then it fails.

use std::path::{Path, PathBuf};
use std::process::Command;
use tm_e2e_tests::live::TempDir;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Runs a Node.js tool from node_modules; returns everything it printed.
fn node(tool: &str, args: &[&str]) -> String {
    let output = Command::new("node")
        .arg(root().join("node_modules").join(tool))
        .args(args)
        .output()
        .expect("node runs");
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "{tool} failed:\n{printed}");
    printed
}

fn tools_installed() -> bool {
    let installed = ["openapi-typescript/bin/cli.js", "typescript/bin/tsc"]
        .iter()
        .all(|tool| root().join("node_modules").join(tool).exists())
        && Command::new("node").arg("--version").output().is_ok();
    if !installed {
        assert!(
            std::env::var_os("TM_REQUIRE_ARTIFACTS").is_none(),
            "openapi-typescript and typescript required (run scripts/build-assets)"
        );
        eprintln!("SKIPPED: OpenAPI client generation: npm packages not installed");
    }
    installed
}

#[test]
fn a_generated_typescript_client_compiles_strictly_with_one_type_per_concept() {
    if !tools_installed() {
        return;
    }
    let dir = TempDir::new("openapi-client");
    let document = dir.path().join("openapi.json");
    std::fs::write(
        &document,
        serde_json::to_vec_pretty(&tm_core::api::openapi::document()).expect("document"),
    )
    .expect("written");
    let types = dir.path().join("api.d.ts");
    let printed = node(
        "openapi-typescript/bin/cli.js",
        &[
            document.to_str().expect("path"),
            "--output",
            types.to_str().expect("path"),
        ],
    );
    let lowered = printed.to_lowercase();
    assert!(
        !lowered.contains("warn") && !lowered.contains("error"),
        "the generator complained:\n{printed}"
    );
    let generated = std::fs::read_to_string(&types).expect("types generated");
    // The type code, without the doc comments (which quote examples and descriptions).
    let code: String = generated
        .lines()
        .filter(|line| {
            let line = line.trim_start();
            !(line.starts_with("/**") || line.starts_with('*') || line.starts_with("//"))
        })
        .collect::<Vec<_>>()
        .join("\n");
    // One type per concept: each enum's values are written once, in its named schema.
    for (concept, value) in [
        ("TaskPriority", "\"StrictPriority\""),
        ("TaskStatus", "\"Consulting\""),
        ("Role", "\"TasksReadonly\""),
        ("TeamStatus", "\"Inactive\""),
        ("ConversationAsService", "\"ExternalConversations\""),
        ("ErrorCode", "\"PreconditionFailed\""),
        ("TaskAction", "\"ConsultationTerminateCustomerCall\""),
        ("TaskType", "\"OutboundCall\""),
    ] {
        assert_eq!(
            code.matches(value).count(),
            1,
            "{concept}: {value} written more than once"
        );
    }
    std::fs::copy(
        root().join("tests/typescript/client.ts"),
        dir.path().join("client.ts"),
    )
    .expect("client copied");
    node(
        "typescript/bin/tsc",
        &[
            "--strict",
            "--noEmit",
            "--exactOptionalPropertyTypes",
            "--noUncheckedIndexedAccess",
            "--target",
            "es2022",
            "--lib",
            "es2022,dom",
            "--module",
            "es2022",
            "--moduleResolution",
            "bundler",
            dir.path().join("client.ts").to_str().expect("path"),
        ],
    );
}
