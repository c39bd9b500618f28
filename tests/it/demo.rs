//! `vibn demo` end to end: the worked examples of seed 003 through the control plane and
//! the workspace server as child processes, against every stand-in; it exits 0 only when
//! every step passed, and leaves nothing behind.

use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_vibn");

#[test]
fn the_demo_passes_every_step_and_shows_the_boundary() {
    let home = tempfile::tempdir().unwrap();
    let out = Command::new(BIN)
        .arg("demo")
        .env_clear()
        .env("PATH", "/usr/local/bin:/usr/bin:/bin")
        .env("HOME", home.path())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains(" 0 failed"), "{text}");
    for expected in [
        "apps_create my-site: demo-my-site at https://my-site.demo.vibnai.com",
        "finished after",
        "evil.com (outside every namespace) is refused: 403",
        "rival's app, asked for with demo's key: 403",
        "apps_delete without confirm: 409",
        "\"https://demo-shop.com\",\"https://www.demo-shop.com\"",
        "rival asks for demo-shop.com: 403",
        "storage_inject_env into my-site: wrote",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
    }
    assert!(!text.contains("vibn_sk_"), "no key is printed: {text}");
}
