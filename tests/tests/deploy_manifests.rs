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
    // The Redis persists every write before answering.
    let statefulset = redis
        .iter()
        .find(|d| d["kind"] == "StatefulSet")
        .expect("a Redis StatefulSet");
    let args: Vec<&str> = statefulset["spec"]["template"]["spec"]["containers"][0]["args"]
        .as_sequence()
        .expect("redis args")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(
        args.windows(2).any(|w| w == ["--appendfsync", "always"]),
        "{args:?}"
    );
    // The component may open exactly the Redis that redis_host names.
    let component = &manifest["component"]["tm-api"];
    let allowed = component["allowed_outbound_hosts"]
        .as_array()
        .expect("allowed hosts");
    assert_eq!(
        allowed
            .iter()
            .filter_map(toml::Value::as_str)
            .collect::<Vec<_>>(),
        ["redis://{{ redis_host }}"]
    );
    assert!(component["variables"]["redis_url"].is_str());
}
