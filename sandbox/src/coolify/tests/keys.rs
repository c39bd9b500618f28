//! Private keys: create (422 for a key that does not load or is already there),
//! get/list with the derived `public_key` and the key material only for
//! `read:sensitive`, delete (422 while an application uses the key, then 404).

use reqwest::{Method, StatusCode};
use serde_json::json;
use ssh_key::private::{Ed25519Keypair, Ed25519PrivateKey, KeypairData};
use ssh_key::public::Ed25519PublicKey;
use ssh_key::{LineEnding, PrivateKey};

use super::Env;

/// An OpenSSH ed25519 private key from a fixed seed.
fn key(n: u8) -> (String, String) {
    let private = PrivateKey::new(
        KeypairData::Ed25519(Ed25519Keypair::from_seed(&[n; 32])),
        "test",
    )
    .unwrap();
    let pem = private.to_openssh(LineEnding::LF).unwrap().to_string();
    let public = private.public_key().to_openssh().unwrap();
    let public = public
        .split_whitespace()
        .take(2)
        .collect::<Vec<_>>()
        .join(" ");
    (pem, public)
}

#[tokio::test]
async fn private_keys_are_created_listed_and_deleted_like_coolify() {
    let env = Env::new().await;
    let (pem, public) = key(7);
    let a = env
        .post(
            "/security/keys",
            json!({"name": "deploy", "description": "d", "private_key": pem}),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    let uuid = a.body["uuid"].as_str().unwrap().to_string();
    let again = env
        .post("/security/keys", json!({"name": "x", "private_key": pem}))
        .await;
    assert_eq!(
        (again.status, again.message().as_str()),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            "Private key already exists."
        )
    );
    // Not a key, and a key whose public half belongs to another private key.
    let mismatched = {
        let pair = Ed25519Keypair {
            public: Ed25519PublicKey([1; 32]),
            private: Ed25519PrivateKey::from_bytes(&[2; 32]),
        };
        let key = PrivateKey::new(KeypairData::Ed25519(pair), "x").unwrap();
        key.to_openssh(LineEnding::LF).unwrap().to_string()
    };
    for wrong in ["not a key".to_string(), mismatched] {
        let bad = env
            .post("/security/keys", json!({"private_key": wrong}))
            .await;
        assert_eq!(
            (bad.status, bad.message().as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, "Invalid private key.")
        );
    }
    let missing = env.post("/security/keys", json!({"name": "x"})).await;
    assert_eq!(
        missing.body["errors"]["private_key"],
        json!(["This field is required."])
    );

    let got = env.get(&format!("/security/keys/{uuid}")).await;
    assert_eq!(got.body["public_key"], public);
    assert!(
        got.body["fingerprint"]
            .as_str()
            .unwrap()
            .starts_with("SHA256:")
    );
    assert!(
        got.body["private_key"]
            .as_str()
            .unwrap()
            .starts_with("-----BEGIN")
    );
    let reader = env.state().create_token(&["read"]);
    let hidden = env
        .call_as(Method::GET, "/security/keys", Some(&reader), None)
        .await;
    assert_eq!(hidden.body[0]["public_key"], public);
    assert!(hidden.body[0].get("private_key").is_none());

    // In use by an application: kept.
    let project = env.project("p");
    let mut app = env.public_app_body(&project, "web");
    app["git_repository"] = json!("git@gitea.example.com:acme/site.git");
    app["private_key_uuid"] = json!(uuid);
    let made = env.post("/applications/private-deploy-key", app).await;
    assert_eq!(made.status, StatusCode::CREATED);
    let refused = env.delete(&format!("/security/keys/{uuid}")).await;
    assert_eq!(
        (refused.status, refused.message().as_str()),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            "Private Key is in use and cannot be deleted."
        )
    );
    let (pem2, _) = key(9);
    let second = env
        .post("/security/keys", json!({"private_key": pem2}))
        .await;
    let second = second.body["uuid"].as_str().unwrap().to_string();
    let gone = env.delete(&format!("/security/keys/{second}")).await;
    assert_eq!(gone.body, json!({"message": "Private Key deleted."}));
    let after = env.get(&format!("/security/keys/{second}")).await;
    assert_eq!(
        (after.status, after.message().as_str()),
        (StatusCode::NOT_FOUND, "Private Key not found.")
    );
}
