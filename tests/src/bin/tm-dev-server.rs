//! Serves the API, the docs page and the widget demo natively, without Spin:
//! `cargo run -p tm-e2e-tests --bin tm-dev-server [address]` (default 127.0.0.1:3000).
//! Data lives in memory and is gone when it stops; use `spin up` for the real thing.

fn main() {
    let address = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:3000".into());
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let admin_token = std::env::var("TM_ADMIN_TOKEN")
        .unwrap_or_else(|_| "dev-admin-token-0123456789abcdef".into());
    match tm_e2e_tests::dev_server::start(&address, &root, &admin_token) {
        Ok(server) => {
            println!("Serving on {} (in memory; admin token from TM_ADMIN_TOKEN, default dev-admin-token-0123456789abcdef)", server.base_url);
            println!("Demo API key (all roles, for /docs): {}", server.demo_key);
            println!(
                "Widget demo (no key needed: it gets agent sessions): {}/widget/",
                server.base_url
            );
            loop {
                std::thread::park();
            }
        }
        Err(error) => {
            eprintln!("cannot listen on {address}: {error}");
            std::process::exit(1);
        }
    }
}
