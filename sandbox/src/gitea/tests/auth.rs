//! Authentication, account refusals, the Basic-only token routes, scopes and Sudo.

use reqwest::{Method, StatusCode};
use serde_json::json;

use super::{As, Env};

/// `token`, `Bearer` (any case) and Basic with a password, a token as password or a
/// token as user name all authenticate.
#[tokio::test]
async fn every_auth_scheme_is_accepted_and_schemes_are_case_insensitive() {
    let env = Env::new().await;
    let token = env.sb.admin_token();
    let password = env.sb.admin_password();
    let admin = env.sb.admin_login();
    for who in [
        As::Header(&format!("token {token}")),
        As::Header(&format!("TOKEN {token}")),
        As::Header(&format!("Bearer {token}")),
        As::Header(&format!("bEaReR {token}")),
        As::Basic(&admin, &password),
        As::Basic(&admin, &token),
        As::Basic(&token, ""),
        As::Basic(&token, "x-oauth-basic"),
    ] {
        let a = env.call(Method::GET, "/user", who, None).await;
        assert_eq!(a.status, StatusCode::OK, "{who:?}");
        assert_eq!(a.body["login"], admin.as_str());
    }
    let kinds: Vec<String> = env
        .state()
        .requests()
        .iter()
        .map(|r| r.auth.clone())
        .collect();
    assert_eq!(
        kinds,
        [
            "token", "token", "bearer", "bearer", "basic", "basic", "basic", "basic"
        ]
    );
}

/// Unknown credentials are 401 with Gitea's message and the swagger url; anonymous calls
/// to routes that need a user are 401 "token is required".
#[tokio::test]
async fn unknown_credentials_and_anonymous_calls_are_401() {
    let env = Env::new().await;
    for who in [
        As::Token("0123456789abcdef0123456789abcdef01234567"),
        As::Basic("sandbox-admin", "wrong"),
        As::Header("Basic !!!"),
    ] {
        let a = env.call(Method::GET, "/user", who, None).await;
        assert_eq!(a.status, StatusCode::UNAUTHORIZED);
        assert_eq!(a.message(), "invalid username, password or token");
        assert_eq!(a.body["url"], format!("{}/api/swagger", env.sb.base_url()));
    }
    let a = env.call(Method::GET, "/user", As::Anon, None).await;
    assert_eq!(
        (a.status, a.message().as_str()),
        (StatusCode::UNAUTHORIZED, "token is required")
    );
    let a = env
        .call(
            Method::POST,
            "/orgs",
            As::Anon,
            Some(json!({"username": "x"})),
        )
        .await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    // Anonymous reads of public data are fine.
    let a = env.call(Method::GET, "/version", As::Anon, None).await;
    assert_eq!(
        (a.status, a.body.clone()),
        (StatusCode::OK, json!({"version": "1.27.0"}))
    );
}

/// `POST /admin/users` defaults must_change_password to true, and such a user is refused
/// (403, message only) on every authenticated call — with its password or a token —
/// until an admin clears the flag.
#[tokio::test]
async fn must_change_password_blocks_every_authenticated_call() {
    let env = Env::new().await;
    let a = env
        .post(
            "/admin/users",
            json!({"username": "bot", "email": "bot@example.com", "password": "password-123"}),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED);
    assert_eq!(a.body["login"], "bot");
    let token = env.state().create_token("bot", "t", &["all"]);
    for who in [As::Basic("bot", "password-123"), As::Token(&token)] {
        let a = env.call(Method::GET, "/user", who, None).await;
        assert_eq!(a.status, StatusCode::FORBIDDEN);
        assert!(
            a.message()
                .starts_with("You must change your password. Change it at: "),
            "{}",
            a.message()
        );
        assert!(a.body.get("url").is_none());
    }
    let a = env
        .call(
            Method::PATCH,
            "/admin/users/bot",
            As::Admin,
            Some(json!({"must_change_password": false})),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK);
    let a = env
        .call(Method::GET, "/user", As::Token(&token), None)
        .await;
    assert_eq!(a.status, StatusCode::OK);
    // Duplicates and bad input are 422; short passwords 400.
    let dup = env
        .post(
            "/admin/users",
            json!({"username": "BOT", "email": "x@example.com", "password": "password-123"}),
        )
        .await;
    assert_eq!(
        (dup.status, dup.message().as_str()),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            "user already exists [name: BOT]"
        )
    );
    let a = env
        .post("/admin/users", json!({"email": "y@example.com"}))
        .await;
    assert_eq!(
        (a.status, a.message().as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, "[Username]: Required")
    );
    let a = env
        .post(
            "/admin/users",
            json!({"username": "z", "email": "z@example.com", "password": "short"}),
        )
        .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
}

/// The token routes take Basic only: a token or Bearer header gets 401 "auth required";
/// Basic with the password mints (201, plaintext sha1 once), lists (sha1 empty) and
/// deletes; names are unique (400), scopes required (400); others' tokens are 403.
#[tokio::test]
async fn token_routes_refuse_token_auth_and_accept_basic_password() {
    let env = Env::new().await;
    let admin = env.sb.admin_login();
    let password = env.sb.admin_password();
    let path = format!("/users/{admin}/tokens");
    let body = json!({"name": "ci", "scopes": ["write:repository", "read:user"]});
    for who in [As::Admin, As::Bearer(&env.sb.admin_token())] {
        let a = env.call(Method::POST, &path, who, Some(body.clone())).await;
        assert_eq!(
            (a.status, a.message().as_str()),
            (StatusCode::UNAUTHORIZED, "auth required")
        );
    }
    let basic = As::Basic(&admin, &password);
    let a = env
        .call(Method::POST, &path, basic, Some(body.clone()))
        .await;
    assert_eq!(a.status, StatusCode::CREATED);
    let sha1 = a.body["sha1"].as_str().unwrap().to_string();
    assert_eq!(sha1.len(), 40);
    assert!(sha1.bytes().all(|b| b.is_ascii_hexdigit()));
    assert_eq!(a.body["token_last_eight"], &sha1[32..]);
    assert_eq!(a.body["scopes"], json!(["write:repository", "read:user"]));
    let me = env.call(Method::GET, "/user", As::Token(&sha1), None).await;
    assert_eq!(me.status, StatusCode::OK);

    let a = env
        .call(Method::POST, &path, basic, Some(body.clone()))
        .await;
    assert_eq!(
        (a.status, a.message().as_str()),
        (
            StatusCode::BAD_REQUEST,
            "access token name has been used already"
        )
    );
    let a = env
        .call(
            Method::POST,
            &path,
            basic,
            Some(json!({"name": "x", "scopes": []})),
        )
        .await;
    assert_eq!(
        (a.status, a.message().as_str()),
        (StatusCode::BAD_REQUEST, "access token must have a scope")
    );
    let a = env
        .call(
            Method::POST,
            &path,
            basic,
            Some(json!({"name": "x", "scopes": ["write:nope"]})),
        )
        .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert!(
        a.message()
            .starts_with("invalid access token scope provided"),
        "{}",
        a.message()
    );
    let a = env
        .call(Method::POST, &path, basic, Some(json!({"scopes": ["all"]})))
        .await;
    assert_eq!(
        (a.status, a.message().as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, "[Name]: Required")
    );

    let list = env.call(Method::GET, &path, basic, None).await;
    assert_eq!(list.status, StatusCode::OK);
    assert!(
        list.body
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t["sha1"] == "")
    );
    assert_eq!(list.header("x-total-count"), "2");
    let a = env
        .call(Method::DELETE, &format!("{path}/ci"), basic, None)
        .await;
    assert_eq!(a.status, StatusCode::NO_CONTENT);
    let a = env.call(Method::GET, "/user", As::Token(&sha1), None).await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);

    // An admin mints for another user with its own password; that user cannot mint for
    // the admin.
    env.user("bob", &["all"]);
    let a = env
        .call(
            Method::POST,
            "/users/bob/tokens",
            basic,
            Some(json!({"name": "b", "scopes": ["all"]})),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED);
    let a = env
        .call(
            Method::POST,
            &path,
            As::Basic("bob", "password-123"),
            Some(json!({"name": "z", "scopes": ["all"]})),
        )
        .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    let a = env
        .call(
            Method::POST,
            "/users/nobody/tokens",
            basic,
            Some(json!({"name": "z", "scopes": ["all"]})),
        )
        .await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
}

/// Tokens need `read:<category>` for GET and `write:<category>` for writes; the refusal
/// names the required and the held scopes. Password Basic is unrestricted.
#[tokio::test]
async fn token_scopes_are_enforced_per_route_category() {
    let env = Env::new().await;
    env.state().create_org("acme", "sandbox-admin");
    env.state().create_repo("acme", "site", true).unwrap();
    let token = env.user("carol", &["read:repository", "write:issue"]);
    let a = env
        .call(Method::GET, "/repos/acme/site", As::Token(&token), None)
        .await;
    assert_eq!(a.status, StatusCode::OK);
    let a = env
        .call(Method::GET, "/user", As::Token(&token), None)
        .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    assert_eq!(
        a.message(),
        "token does not have at least one of required scope(s), required=[read:user], token scope=write:issue,read:repository"
    );
    let a = env
        .call(
            Method::POST,
            "/repos/acme/site/issues",
            As::Token(&token),
            Some(json!({"title": "t"})),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED);
    let a = env
        .call(
            Method::POST,
            "/repos/acme/site/branches",
            As::Token(&token),
            Some(json!({"new_branch_name": "b"})),
        )
        .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    assert!(a.message().contains("required=[write:repository]"));
    // Creating an org repository needs write:organization, not write:repository.
    let writer = env
        .state()
        .create_token("sandbox-admin", "w", &["write:repository"]);
    let a = env
        .call(
            Method::POST,
            "/orgs/acme/repos",
            As::Token(&writer),
            Some(json!({"name": "x"})),
        )
        .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    assert!(a.message().contains("required=[write:organization]"));
    // Admin routes: scope admin, and a site admin.
    let a = env
        .call(Method::GET, "/admin/users", As::Token(&writer), None)
        .await;
    assert!(a.message().contains("required=[read:admin]"));
    let all = env.state().create_token("carol", "all", &["all"]);
    let a = env
        .call(Method::GET, "/admin/users", As::Token(&all), None)
        .await;
    assert_eq!(
        (a.status, a.message().as_str()),
        (StatusCode::FORBIDDEN, "user should be the site admin")
    );
    let a = env
        .call(
            Method::GET,
            "/user",
            As::Basic("carol", "password-123"),
            None,
        )
        .await;
    assert_eq!(a.status, StatusCode::OK);
}

/// A site admin may act as another user with `Sudo`; others get 403.
#[tokio::test]
async fn sudo_lets_only_site_admins_act_as_another_user() {
    let env = Env::new().await;
    let token = env.user("dave", &["all"]);
    let resp = env
        .http
        .get(env.url("/user"))
        .header("Authorization", format!("token {}", env.sb.admin_token()))
        .header("Sudo", "dave")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(
        resp.json::<serde_json::Value>().await.unwrap()["login"],
        "dave"
    );
    let a = env
        .call(
            Method::GET,
            "/user?sudo=sandbox-admin",
            As::Token(&token),
            None,
        )
        .await;
    assert_eq!(
        (a.status, a.message().as_str()),
        (
            StatusCode::FORBIDDEN,
            "Only administrators allowed to sudo."
        )
    );
}

/// Unknown routes are 404 `{"message":"not found"}`; a known path with the wrong method
/// is 405.
#[tokio::test]
async fn unknown_routes_are_404_and_wrong_methods_405() {
    let env = Env::new().await;
    let a = env.get("/no/such/route").await;
    assert_eq!(
        (a.status, a.message().as_str()),
        (StatusCode::NOT_FOUND, "not found")
    );
    let a = env.call(Method::DELETE, "/version", As::Admin, None).await;
    assert_eq!(a.status, StatusCode::METHOD_NOT_ALLOWED);
    let a = env.get("/users/ghost-user").await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
}

/// SSH keys: an admin adds one for a user and a user for themself (201 PublicKey); the
/// same key content anywhere, or the same title twice for a user, is 422.
#[tokio::test]
async fn ssh_keys_are_added_and_duplicates_are_422() {
    use base64::Engine as _;
    let env = Env::new().await;
    let token = env.user("bot", &["write:user"]);
    let key = |fill: u8| {
        let mut blob = vec![0, 0, 0, 11];
        blob.extend_from_slice(b"ssh-ed25519");
        blob.extend_from_slice(&[0, 0, 0, 32]);
        blob.extend_from_slice(&[fill; 32]);
        format!(
            "ssh-ed25519 {} bot@host",
            base64::engine::general_purpose::STANDARD.encode(blob)
        )
    };
    let a = env
        .post(
            "/admin/users/bot/keys",
            json!({"title": "deploy", "key": key(1)}),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED);
    assert!(
        a.body["fingerprint"]
            .as_str()
            .unwrap()
            .starts_with("SHA256:")
    );
    assert_eq!(a.body["user"]["login"], "bot");
    let a = env
        .post(
            "/admin/users/bot/keys",
            json!({"title": "other", "key": key(1)}),
        )
        .await;
    assert_eq!(
        (a.status, a.message().as_str()),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            "Key content has been used as non-deploy key"
        )
    );
    let a = env
        .call(
            Method::POST,
            "/user/keys",
            As::Token(&token),
            Some(json!({"title": "deploy", "key": key(2)})),
        )
        .await;
    assert_eq!(
        (a.status, a.message().as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, "Key title has been used")
    );
    let a = env
        .call(
            Method::POST,
            "/user/keys",
            As::Token(&token),
            Some(json!({"title": "laptop", "key": key(2)})),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED);
    let a = env
        .post(
            "/admin/users/bot/keys",
            json!({"title": "bad", "key": "ssh-ed25519 AAAA"}),
        )
        .await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY);
    let list = env
        .call(Method::GET, "/user/keys", As::Token(&token), None)
        .await;
    assert_eq!(
        (
            list.body.as_array().unwrap().len(),
            list.header("x-total-count")
        ),
        (2, "2".to_string())
    );
}

/// A private org is 404 to outsiders and visible to its members.
#[tokio::test]
async fn private_orgs_are_404_to_outsiders() {
    let env = Env::new().await;
    let a = env
        .post(
            "/orgs",
            json!({"username": "hidden", "visibility": "private"}),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED);
    let outsider = env.user("olga", &["all"]);
    assert_eq!(
        env.call(Method::GET, "/orgs/hidden", As::Token(&outsider), None)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        env.call(Method::GET, "/orgs/hidden", As::Anon, None)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let a = env.get("/orgs/hidden").await;
    assert_eq!(
        (a.status, a.body["visibility"].as_str()),
        (StatusCode::OK, Some("private"))
    );
}
