//! The HTTP clients' shared TLS configuration verifies certificates: an upstream on https
//! whose certificate no web PKI root signed is refused, never talked to. The server is a
//! real `openssl s_server` with a fresh self-signed certificate (the test says it is
//! skipped when the openssl command is missing).

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::Method;
use vibn::clients::http::{Auth, Call, Http, HttpConfig};

/// `openssl s_server` on 127.0.0.1 with a self-signed certificate; killed on drop.
struct SelfSigned {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl SelfSigned {
    fn start() -> Option<SelfSigned> {
        if Command::new("openssl").arg("version").output().is_err() {
            eprintln!("skipped: the openssl command is not installed");
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
        let made = Command::new("openssl")
            .args([
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            ])
            .args([
                "-subj",
                "/CN=127.0.0.1",
                "-addext",
                "subjectAltName=IP:127.0.0.1",
            ])
            .arg("-keyout")
            .arg(&key)
            .arg("-out")
            .arg(&cert)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .unwrap();
        assert!(made.success(), "openssl req failed");
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new("openssl")
            .args(["s_server", "-www", "-quiet", "-accept"])
            .arg(format!("127.0.0.1:{port}"))
            .arg("-cert")
            .arg(&cert)
            .arg("-key")
            .arg(&key)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "openssl s_server did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        Some(SelfSigned {
            child,
            port,
            _dir: dir,
        })
    }
}

impl Drop for SelfSigned {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn an_https_upstream_with_an_untrusted_certificate_is_refused() {
    let Some(server) = SelfSigned::start() else {
        return;
    };
    let config = HttpConfig {
        retries: 0,
        ..HttpConfig::default()
    };
    let http = Http::new(
        "Gitea",
        &format!("https://127.0.0.1:{}", server.port),
        Auth::None,
        config,
    );
    let err = http
        .send(Call::new(Method::GET, &["api", "v1", "version"]))
        .await
        .expect_err("a self-signed certificate must not be trusted");
    let shown = err.to_string().to_lowercase();
    assert!(shown.contains("certificate"), "{shown}");
}
