//! `kbridge schema …` and its exit codes against the embedded registry
//! (in-process, random port).

use kbridge_integration_tests::{kbridge_bin, unique};
use kbridge_registry_server::{StoreConfig, spawn};
use std::path::Path;
use std::process::{Command, Output};

const V1: &str =
    r#"{"type":"record","name":"Order","namespace":"acme","fields":[{"name":"id","type":"long"}]}"#;
const V2_OK: &str = r#"{"type":"record","name":"Order","namespace":"acme","fields":[{"name":"id","type":"long"},{"name":"note","type":"string","default":""}]}"#;
const V2_BAD: &str = r#"{"type":"record","name":"Order","namespace":"acme","fields":[{"name":"id","type":"long"},{"name":"qty","type":"int"}]}"#;

fn kbridge(url: &str, args: &[&str]) -> Output {
    Command::new(kbridge_bin())
        .arg("schema")
        .arg("--registry-url")
        .arg(url)
        .args(args)
        .env_remove("SCHEMA_REGISTRY_URL")
        .output()
        .expect("run kbridge (build it first: cargo build -p kbridge)")
}

fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn write(dir: &Path, name: &str, body: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, body).unwrap();
    p.display().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schema_commands_and_exit_codes() {
    let server = spawn("127.0.0.1:0", &StoreConfig::Memory).await.unwrap();
    let url = server.url();
    let dir = std::env::temp_dir().join(unique("schema-cli"));
    std::fs::create_dir_all(&dir).unwrap();
    let (v1, ok, bad) = (
        write(&dir, "v1.avsc", V1),
        write(&dir, "ok.avsc", V2_OK),
        write(&dir, "bad.avsc", V2_BAD),
    );
    let subject = "team/orders:value";

    let url2 = url.clone();
    let run = move |args: Vec<String>| {
        let url = url2.clone();
        async move {
            tokio::task::spawn_blocking(move || {
                let a: Vec<&str> = args.iter().map(String::as_str).collect();
                kbridge(&url, &a)
            })
            .await
            .unwrap()
        }
    };
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();

    let o = run(s(&["register", subject, &v1])).await;
    assert!(o.status.success(), "{:?}", text(&o));
    assert_eq!(text(&o).0.trim(), "1");

    let o = run(s(&["--json", "list"])).await;
    let listed: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(listed, serde_json::json!([subject]));

    // offline: exit 0 when compatible, 1 with the reason when not
    let o = run(s(&["check", "--against", &v1, "--level", "BACKWARD", &ok])).await;
    assert_eq!(o.status.code(), Some(0), "{:?}", text(&o));
    let o = run(s(&["check", "--against", &v1, &bad])).await;
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o).0.contains("READER_FIELD_MISSING_DEFAULT_VALUE"),
        "{:?}",
        text(&o)
    );

    // online, local engine and server side
    let o = run(s(&["check", subject, &ok])).await;
    assert_eq!(o.status.code(), Some(0), "{:?}", text(&o));
    let o = run(s(&["--json", "check", subject, &bad])).await;
    assert_eq!(o.status.code(), Some(1));
    let verdict: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(verdict["is_compatible"], false);
    assert_eq!(verdict["incompatibilities"][0]["field"], "qty");
    let o = run(s(&["check", subject, &bad, "--server-side"])).await;
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o).0.contains("compatibility: 'BACKWARD'"),
        "{:?}",
        text(&o)
    );

    // the registry's refusal is the error message, exit 1
    let o = run(s(&["register", subject, &bad])).await;
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).1.contains("error code 40901"), "{:?}", text(&o));
    let o = run(s(&["versions", "nope"])).await;
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o)
            .1
            .contains("error code 40401: Subject 'nope' not found."),
        "{:?}",
        text(&o)
    );

    // config, get, delete
    let o = run(s(&["config", subject, "--level", "NONE"])).await;
    assert_eq!(text(&o).0.trim(), "NONE");
    let o = run(s(&["register", subject, &bad])).await;
    assert_eq!(text(&o).0.trim(), "2");
    let o = run(s(&["--json", "get", subject])).await;
    let got: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        (got["version"].as_u64(), got["id"].as_u64()),
        (Some(2), Some(2))
    );
    let o = run(s(&["delete", subject, "--permanent"])).await;
    assert!(text(&o).1.contains("40405"), "{:?}", text(&o));
    let o = run(s(&["--json", "delete", subject])).await;
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&o.stdout).unwrap(),
        serde_json::json!([1, 2])
    );

    std::fs::remove_dir_all(&dir).ok();
    server.shutdown().await.unwrap();
}
