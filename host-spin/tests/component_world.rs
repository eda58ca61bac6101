//! The release build of the component, turned into a WASI 0.2 component the way Spin does
//! (wit-component with the preview1 adapter), must validate and must ask only for what Spin
//! 3.x and 4.x provide: WASI 0.2, wasi:http, Spin's key-value, variables and outbound Redis,
//! wasi:keyvalue.
//!
//! Needs `cargo build -p tm-host-spin --target wasm32-wasip1 --release` first (scripts/test
//! does that). Without the build it says it skipped, unless `TM_REQUIRE_ARTIFACTS=1`.

#![cfg(not(target_arch = "wasm32"))]

use std::path::Path;
use wasmparser::{ComponentExternalKind, Parser, Payload};

const ALLOWED_IMPORT_PREFIXES: &[&str] = &[
    "wasi:cli/",
    "wasi:io/",
    "wasi:clocks/",
    "wasi:filesystem/",
    "wasi:random/",
    "wasi:http/types@",
    "fermyon:spin/key-value@2.0.0",
    "fermyon:spin/variables@2.0.0",
    "fermyon:spin/redis@2.0.0",
    "wasi:keyvalue/store@0.2.0-draft2",
    "wasi:keyvalue/atomics@0.2.0-draft2",
    "wasi:keyvalue/batch@0.2.0-draft2",
];

#[test]
fn the_component_validates_and_imports_only_what_spin_provides() {
    let module = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../target/wasm32-wasip1/release/tm_host_spin.wasm");
    let Ok(module) = std::fs::read(&module) else {
        assert!(
            std::env::var_os("TM_REQUIRE_ARTIFACTS").is_none(),
            "{} is not built",
            module.display()
        );
        eprintln!("SKIPPED: the release component is not built");
        return;
    };
    let component = wit_component::ComponentEncoder::default()
        .module(&module)
        .and_then(|encoder| {
            encoder.adapter(
                wasi_preview1_component_adapter_provider::WASI_SNAPSHOT_PREVIEW1_ADAPTER_NAME,
                wasi_preview1_component_adapter_provider::WASI_SNAPSHOT_PREVIEW1_REACTOR_ADAPTER,
            )
        })
        .map(|encoder| encoder.validate(true))
        .and_then(|mut encoder| encoder.encode())
        .expect("the module becomes a valid component");

    let (mut imports, mut exports) = (Vec::new(), Vec::new());
    let mut depth = 0;
    for payload in Parser::new(0).parse_all(&component) {
        match payload.expect("parses") {
            Payload::ModuleSection { .. } | Payload::ComponentSection { .. } => depth += 1,
            Payload::End(_) if depth > 0 => depth -= 1,
            Payload::ComponentImportSection(section) if depth == 0 => {
                for import in section {
                    imports.push(import.expect("import").name.0.to_string());
                }
            }
            Payload::ComponentExportSection(section) if depth == 0 => {
                for export in section {
                    let export = export.expect("export");
                    if export.kind == ComponentExternalKind::Instance {
                        exports.push(export.name.0.to_string());
                    }
                }
            }
            _ => {}
        }
    }
    for import in &imports {
        assert!(
            ALLOWED_IMPORT_PREFIXES
                .iter()
                .any(|p| import.starts_with(p)),
            "Spin does not provide {import}"
        );
    }
    for needed in [
        "fermyon:spin/key-value@2.0.0",
        "wasi:keyvalue/atomics@0.2.0-draft2",
        "fermyon:spin/variables@2.0.0",
        "fermyon:spin/redis@2.0.0",
    ] {
        assert!(
            imports.iter().any(|i| i == needed),
            "{needed} missing from {imports:?}"
        );
    }
    assert_eq!(exports, ["wasi:http/incoming-handler@0.2.0"]);
}
