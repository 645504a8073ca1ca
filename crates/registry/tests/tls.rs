//! TLS with a custom CA and a client certificate: the embedded registry
//! behind stunnel (which requires a client certificate signed by the CA),
//! certificates made with the `openssl` command.

use kbridge_registry::{RegistryClient, RegistryError, RetryPolicy, Secret, TlsOptions};
use kbridge_registry_server::{StoreConfig, spawn};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn openssl(dir: &Path, args: &[&str]) {
    let status = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("run openssl");
    assert!(status.success(), "openssl {args:?}");
}

/// CA, a server certificate for 127.0.0.1 and a client certificate.
fn make_certs(dir: &Path) {
    std::fs::write(dir.join("server.ext"), "subjectAltName=IP:127.0.0.1\n").unwrap();
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-days",
            "2",
            "-subj",
            "/CN=kbridge test CA",
        ],
    );
    for (name, ext) in [("server", Some("server.ext")), ("client", None)] {
        openssl(
            dir,
            &[
                "genpkey",
                "-algorithm",
                "RSA",
                "-pkeyopt",
                "rsa_keygen_bits:2048",
                "-out",
                &format!("{name}.key"),
            ],
        );
        openssl(
            dir,
            &[
                "req",
                "-new",
                "-key",
                &format!("{name}.key"),
                "-out",
                &format!("{name}.csr"),
                "-subj",
                &format!("/CN={name}"),
            ],
        );
        let (csr, pem) = (format!("{name}.csr"), format!("{name}.pem"));
        let mut args = vec![
            "x509",
            "-req",
            "-in",
            &csr,
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "2",
            "-out",
            &pem,
        ];
        if let Some(ext) = ext {
            args.extend(["-extfile", ext]);
        }
        openssl(dir, &args);
    }
}

struct Stunnel(Child);

impl Drop for Stunnel {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn start_stunnel(dir: &Path, accept: u16, connect: &str) -> Stunnel {
    let conf = format!(
        "foreground = yes\npid =\n[registry]\naccept = 127.0.0.1:{accept}\nconnect = {connect}\n\
         cert = {d}/server.pem\nkey = {d}/server.key\nCAfile = {d}/ca.pem\nverifyChain = yes\n",
        d = dir.display()
    );
    std::fs::write(dir.join("stunnel.conf"), conf).unwrap();
    let bin = if Command::new("stunnel4")
        .arg("-version")
        .stderr(Stdio::null())
        .stdout(Stdio::null())
        .status()
        .is_ok()
    {
        "stunnel4"
    } else {
        "stunnel"
    };
    let child = Command::new(bin)
        .arg(dir.join("stunnel.conf"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("run stunnel");
    let until = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", accept)).is_err() {
        assert!(Instant::now() < until, "stunnel did not start listening");
        std::thread::sleep(Duration::from_millis(20));
    }
    Stunnel(child)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn custom_ca_and_client_certificate() {
    let dir = tempfile::tempdir().unwrap();
    make_certs(dir.path());
    let server = spawn("127.0.0.1:0", &StoreConfig::Memory).await.unwrap();
    let port = free_port();
    let _tunnel = start_stunnel(dir.path(), port, &server.addr().to_string());
    let url = format!("https://127.0.0.1:{port}");
    let read = |name: &str| std::fs::read(dir.path().join(name)).unwrap();
    let no_retry = RetryPolicy {
        max_retries: 0,
        ..RetryPolicy::default()
    };

    let full = TlsOptions {
        ca_pem: Some(read("ca.pem")),
        client_cert_pem: Some(read("client.pem")),
        client_key_pem: Some(Secret::new(String::from_utf8(read("client.key")).unwrap())),
        accept_invalid_hostnames: false,
    };
    let c = RegistryClient::builder([url.as_str()])
        .tls(full)
        .retry(no_retry)
        .build()
        .unwrap();
    c.check_reachable().await.unwrap();
    assert_eq!(c.subjects(false).await.unwrap(), Vec::<String>::new());

    // Without the client certificate stunnel refuses the handshake.
    let no_identity = TlsOptions {
        ca_pem: Some(read("ca.pem")),
        ..TlsOptions::default()
    };
    let c = RegistryClient::builder([url.as_str()])
        .tls(no_identity)
        .retry(no_retry)
        .build()
        .unwrap();
    let err = c.subjects(false).await.unwrap_err();
    assert!(matches!(err, RegistryError::Request { .. }), "{err}");

    // Without the CA the server certificate is not trusted.
    let c = RegistryClient::builder([url.as_str()])
        .retry(no_retry)
        .build()
        .unwrap();
    let err = c.check_reachable().await.unwrap_err();
    assert!(matches!(err, RegistryError::Unreachable { .. }), "{err}");
    assert!(err.to_string().contains(&url), "{err}");

    server.shutdown().await.unwrap();
}
