//! The SpinKube manifests in `deploy/` must agree with `spin.toml`: the kind and executor
//! SpinKube runs, several replicas, every variable one that `spin.toml` declares, every
//! required one given, secret ones only from the Secret (which holds them), and the Redis
//! address the component may open naming the Redis Service that `redis.yaml` defines.

use serde_yaml_ng::Value;
use std::path::Path;

fn root() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

fn documents(file: &str) -> Vec<Value> {
    let text = std::fs::read_to_string(root().join(file)).expect(file);
    serde_yaml_ng::Deserializer::from_str(&text)
        .map(|document| {
            <Value as serde::Deserialize>::deserialize(document)
                .unwrap_or_else(|e| panic!("{file}: {e}"))
        })
        .collect()
}

fn text<'v>(value: &'v Value, path: &[&str]) -> &'v str {
    let mut at = value;
    for step in path {
        at = &at[*step];
    }
    at.as_str()
        .unwrap_or_else(|| panic!("{path:?} is not text"))
}

#[test]
fn the_spinkube_manifests_agree_with_spin_toml() {
    let manifest: toml::Table = std::fs::read_to_string(root().join("spin.toml"))
        .expect("spin.toml")
        .parse()
        .expect("spin.toml parses");
    let declared = manifest["variables"].as_table().expect("[variables]");

    let app = &documents("deploy/spinapp.yaml")[0];
    assert_eq!(text(app, &["apiVersion"]), "core.spinkube.dev/v1alpha1");
    assert_eq!(text(app, &["kind"]), "SpinApp");
    assert_eq!(text(app, &["spec", "executor"]), "containerd-shim-spin");
    assert!(
        app["spec"]["replicas"].as_u64().unwrap_or(0) >= 2,
        "several replicas"
    );
    let namespace = text(app, &["metadata", "namespace"]);

    let secret = documents("deploy/secret.yaml")
        .into_iter()
        .find(|d| d["kind"] == "Secret")
        .expect("a Secret");
    assert_eq!(text(&secret, &["metadata", "namespace"]), namespace);
    let secret_name = text(&secret, &["metadata", "name"]).to_string();

    let variables = app["spec"]["variables"].as_sequence().expect("variables");
    let mut given = Vec::new();
    for variable in variables {
        let name = text(variable, &["name"]);
        let declaration = declared
            .get(name)
            .unwrap_or_else(|| panic!("{name} is not declared in spin.toml"));
        let is_secret = declaration
            .get("secret")
            .and_then(toml::Value::as_bool)
            .unwrap_or(false);
        let from_secret = &variable["valueFrom"]["secretKeyRef"];
        if is_secret {
            assert!(
                variable["value"].is_null(),
                "{name} is secret: no literal value"
            );
            assert_eq!(text(from_secret, &["name"]), secret_name, "{name}");
            let key = text(from_secret, &["key"]);
            assert!(
                secret["stringData"][key].is_string(),
                "the Secret holds {key}"
            );
        } else {
            assert!(variable["value"].is_string(), "{name} has a value");
        }
        given.push(name.to_string());
    }
    for (name, declaration) in declared {
        let required = declaration
            .get("required")
            .and_then(toml::Value::as_bool)
            .unwrap_or(false);
        if required {
            assert!(
                given.contains(name),
                "required variable {name} is not given"
            );
        }
    }
    for needed in ["redis_url", "redis_host", "demo_data"] {
        assert!(given.contains(&needed.to_string()), "{needed} is set");
    }
    let demo = variables
        .iter()
        .find(|v| v["name"] == "demo_data")
        .expect("demo_data");
    assert_eq!(
        text(demo, &["value"]),
        "false",
        "no demo data in production"
    );

    // redis_host names the Redis Service of redis.yaml, and redis_url points at the same place.
    let redis = documents("deploy/redis.yaml");
    let service = redis
        .iter()
        .find(|d| d["kind"] == "Service")
        .expect("a Redis Service");
    let port = service["spec"]["ports"][0]["port"]
        .as_u64()
        .expect("a port");
    let address = format!(
        "{}.{}.svc.cluster.local:{port}",
        text(service, &["metadata", "name"]),
        text(service, &["metadata", "namespace"])
    );
    let host = variables
        .iter()
        .find(|v| v["name"] == "redis_host")
        .expect("redis_host");
    assert_eq!(text(host, &["value"]), address);
    let url = text(&secret, &["stringData", "redis_url"]);
    assert!(
        url.starts_with("redis://") && url.contains(&address),
        "{url}"
    );
    // No usable secret in the manifests: every value is a placeholder shorter than the 32
    // characters the component (admin token) and the Redis start (password) insist on.
    for (key, value) in secret["stringData"].as_mapping().expect("stringData") {
        let key = key.as_str().unwrap_or_default();
        let value = value.as_str().unwrap_or_default();
        assert!(
            value.contains("REPLACE-ME"),
            "{key} is a placeholder: {value}"
        );
    }
    assert!(text(&secret, &["stringData", "admin_token"]).len() < 32);
    assert!(text(&secret, &["stringData", "redis_password"]).len() < 32);
    // The Redis takes its password from the Secret and persists every write before answering.
    let statefulset = redis
        .iter()
        .find(|d| d["kind"] == "StatefulSet")
        .expect("a Redis StatefulSet");
    let container = &statefulset["spec"]["template"]["spec"]["containers"][0];
    let password = container["env"]
        .as_sequence()
        .into_iter()
        .flatten()
        .find(|e| e["name"] == "REDIS_PASSWORD")
        .expect("REDIS_PASSWORD");
    assert_eq!(
        text(password, &["valueFrom", "secretKeyRef", "name"]),
        secret_name
    );
    assert_eq!(
        text(password, &["valueFrom", "secretKeyRef", "key"]),
        "redis_password"
    );
    let script = container["args"][0].as_str().expect("the start script");
    assert!(script.contains("--appendfsync always"), "{script}");
    // Only the app's pods may reach it.
    let policy = redis
        .iter()
        .find(|d| d["kind"] == "NetworkPolicy")
        .expect("a NetworkPolicy for Redis");
    assert_eq!(
        text(policy, &["spec", "podSelector", "matchLabels", "app"]),
        "tm-redis"
    );
    let from = &policy["spec"]["ingress"][0]["from"][0]["podSelector"]["matchLabels"];
    assert_eq!(
        text(from, &["core.spinkube.dev/app-name"]),
        text(app, &["metadata", "name"])
    );
    assert_eq!(
        policy["spec"]["ingress"][0]["ports"][0]["port"].as_u64(),
        Some(port)
    );
    // The component may open exactly the Redis that redis_host names, with or without TLS.
    let component = &manifest["component"]["tm-api"];
    let allowed = component["allowed_outbound_hosts"]
        .as_array()
        .expect("allowed hosts");
    assert_eq!(
        allowed
            .iter()
            .filter_map(toml::Value::as_str)
            .collect::<Vec<_>>(),
        ["redis://{{ redis_host }}", "rediss://{{ redis_host }}"]
    );
    assert!(component["variables"]["redis_url"].is_str());
}

/// The Redis container's start script, run for real with `sh` and `redis-server`: it refuses a
/// short password and otherwise starts a Redis that answers only with the password.
#[test]
fn the_redis_start_script_refuses_a_short_password_and_requires_the_long_one() {
    use std::process::{Command, Stdio};
    if Command::new("redis-server")
        .arg("--version")
        .output()
        .is_err()
    {
        panic!("redis-server is needed (scripts/test installs it)");
    }
    let redis = documents("deploy/redis.yaml");
    let statefulset = redis
        .iter()
        .find(|d| d["kind"] == "StatefulSet")
        .expect("a Redis StatefulSet");
    let script = statefulset["spec"]["template"]["spec"]["containers"][0]["args"][0]
        .as_str()
        .expect("the start script")
        .to_string();
    let refused = Command::new("sh")
        .args(["-c", &script, "sh"])
        .env("REDIS_PASSWORD", "REPLACE-ME")
        .output()
        .expect("sh runs");
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("at least 32 characters"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );

    let dir = tm_e2e_tests::live::TempDir::new("redis-script");
    let port = tm_e2e_tests::live::free_port();
    let password = "0123456789abcdef0123456789abcdef";
    let mut server = Command::new("sh")
        .args([
            "-c",
            &script,
            "sh",
            "--port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
        ])
        .arg("--dir")
        .arg(dir.path())
        .env("REDIS_PASSWORD", password)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("redis starts");
    // RESP by hand: the commands, then what the server answered.
    let ask = |commands: &str| -> String {
        use std::io::{Read, Write};
        let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
            return String::new();
        };
        let _ = stream.set_read_timeout(Some(std::time::Duration::from_millis(500)));
        let _ = stream.write_all(commands.as_bytes());
        let mut answer = vec![0u8; 512];
        let n = stream.read(&mut answer).unwrap_or(0);
        String::from_utf8_lossy(&answer[..n]).into_owned()
    };
    let mut answered = String::new();
    for _ in 0..100 {
        answered = ask(&format!("AUTH {password}\r\nPING\r\n"));
        if answered.contains("PONG") {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let without = ask("PING\r\n");
    let _ = server.kill();
    let _ = server.wait();
    assert_eq!(answered, "+OK\r\n+PONG\r\n");
    assert!(
        without.starts_with("-NOAUTH"),
        "no password, no answer: {without}"
    );
}

/// Issue 23: the retention CronJob calls the admin sweep with the app's admin token, and Redis
/// may never evict live data (at its memory limit it refuses writes instead).
#[test]
fn the_retention_cronjob_calls_the_sweep_and_redis_never_evicts() {
    let job = &documents("deploy/retention-cronjob.yaml")[0];
    assert_eq!(text(job, &["kind"]), "CronJob");
    let container = &job["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0];
    let script = container["args"][0].as_str().unwrap_or_default();
    assert!(script.contains("-X POST") && script.contains("/admin/v1.0/retention/sweep"));
    match tm_core::routes::route("POST", "/admin/v1.0/retention/sweep") {
        tm_core::routes::RouteMatch::Found { spec, .. } => {
            assert_eq!(spec.access, tm_core::routes::Access::Admin)
        }
        other => panic!("the sweep is not routed: {other:?}"),
    }
    let secret = &container["env"][0]["valueFrom"]["secretKeyRef"];
    assert_eq!(text(secret, &["name"]), "tm-api-secrets");
    assert_eq!(text(secret, &["key"]), "admin_token");
    assert!(
        !script.contains("curl -H \"Authorization"),
        "the token is not on a command line"
    );
    let redis = std::fs::read_to_string(root().join("deploy/redis.yaml")).unwrap_or_default();
    assert!(redis.contains("--maxmemory-policy noeviction"));
    assert!(redis.contains("--maxmemory 1gb"));
}
