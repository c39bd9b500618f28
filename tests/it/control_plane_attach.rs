//! `domains_attach` against the OpenSRS, Google and Coolify stand-ins (seed 003 §3.6's
//! verified end to end): search → register → attach to an app → the app's domains
//! include the apex and www → the domain is locked. Then a failure injected at each step
//! (zone, records, registrar name servers, Coolify's silent drop, the lock), each fixed
//! by a plain retry; the registry's refusal while locked taken through unlock → update
//! → relock; the cross-workspace refusals; and `apps_domains_set` taking the
//! workspace's own attached domain. Every flow ends with no contract violation.

use serde_json::{Value, json};

use crate::control_plane_support::call;
use crate::domains_support::{Dom, contact};
use crate::support::{err_body, ok};

const APEX: &str = "my-shop.com";

/// Mark's registered domain and app.
async fn registered(d: &Dom) -> String {
    let app = d.app(&d.cp.mark.key, "site").await;
    let c = d.client(&d.cp.mark.key).await;
    let r = call(
        &c,
        "domains_register",
        json!({"domain": APEX, "contact": contact()}),
    )
    .await;
    assert_eq!(ok(&r)["outcome"], "registered");
    d.opensrs.state().clear_requests();
    app
}

async fn attach(d: &Dom, app: &str) -> rmcp::model::CallToolResult {
    let c = d.client(&d.cp.mark.key).await;
    call(
        &c,
        "domains_attach",
        json!({"domain": APEX, "app_uuid": app}),
    )
    .await
}

async fn event_kinds(d: &Dom) -> Vec<String> {
    let c = d.client(&d.cp.mark.key).await;
    let r = call(&c, "domains_get", json!({"domain": APEX})).await;
    ok(&r)["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap().to_string())
        .collect()
}

/// Everything the finished attach must show, upstream and in the record.
async fn assert_attached(d: &Dom, app: &str) {
    let c = d.client(&d.cp.mark.key).await;
    let r = call(&c, "domains_get", json!({"domain": APEX})).await;
    let rec = ok(&r)["domain"].clone();
    assert_eq!(rec["status"], "attached", "{rec}");
    assert_eq!(rec["locked"], true);
    assert_eq!(rec["attached_app_uuid"], app);
    assert_eq!(rec["fqdns"], json!([APEX, format!("www.{APEX}")]));
    let held = d.opensrs.state().domain(APEX).unwrap();
    assert!(held.locked, "locked at the registrar");
    let zone_ns: Vec<String> = rec["nameservers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap().trim_end_matches('.').to_string())
        .collect();
    assert!(zone_ns.len() >= 2);
    let mut held_ns = held.nameservers.clone();
    held_ns.sort();
    let mut want = zone_ns.clone();
    want.sort();
    assert_eq!(
        held_ns, want,
        "the registrar points at the zone, without trailing dots"
    );
    let zone = rec["dns_zone"].as_str().unwrap();
    let rrsets = d.gcp().state().rrsets(zone);
    for name in [format!("{APEX}."), format!("www.{APEX}.")] {
        let a = rrsets
            .iter()
            .find(|r| r["name"] == name.as_str() && r["type"] == "A")
            .unwrap_or_else(|| panic!("no A record {name}: {rrsets:?}"));
        assert_eq!(a["rrdatas"], json!(["203.0.113.10"]));
    }
    let r = call(&c, "apps_domains_list", json!({"uuid": app})).await;
    let domains: Vec<String> = ok(&r)["domains"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_str().unwrap().to_string())
        .collect();
    assert!(domains.contains(&APEX.to_string()), "{domains:?}");
    assert!(domains.contains(&format!("www.{APEX}")), "{domains:?}");
    assert!(
        domains.iter().any(|d| d.ends_with(".vibnai.com")),
        "the app keeps its own domain: {domains:?}"
    );
    assert_eq!(event_kinds(d).await[0], "attach.success");
    d.assert_no_violations();
}

#[tokio::test]
async fn search_register_attach_to_an_app_then_locked() {
    let d = Dom::with_google().await;
    let c = d.client(&d.cp.mark.key).await;
    let r = call(&c, "domains_search", json!({"names": [APEX]})).await;
    assert_eq!(ok(&r)["results"][0]["available"], true);
    let app = registered(&d).await;
    let r = attach(&d, &app).await;
    let out = ok(&r).clone();
    assert_eq!(
        out["urls"],
        json!([format!("https://{APEX}"), format!("https://www.{APEX}")])
    );
    assert_eq!(out["steps"].as_array().unwrap().last().unwrap(), "locked");
    assert_attached(&d, &app).await;
    let kinds = event_kinds(&d).await;
    for k in [
        "attach.zone",
        "attach.records",
        "attach.nameservers",
        "attach.app",
        "attach.lock",
    ] {
        assert!(kinds.contains(&k.to_string()), "{k} missing from {kinds:?}");
    }
}

#[tokio::test]
async fn attaching_again_goes_through_unlock_update_relock() {
    let d = Dom::with_google().await;
    let app = registered(&d).await;
    ok(&attach(&d, &app).await);
    d.opensrs.state().clear_requests();
    ok(&attach(&d, &app).await);
    assert_eq!(
        d.registrar_writes(),
        [
            "ADVANCED_UPDATE_NAMESERVERS",
            "MODIFY",
            "ADVANCED_UPDATE_NAMESERVERS",
            "MODIFY"
        ],
        "405 while locked → unlock → update → relock"
    );
    assert!(event_kinds(&d).await.contains(&"attach.unlock".to_string()));
    assert_attached(&d, &app).await;
}

/// Inject `fault`, attach (fails), clear, attach again (succeeds): the final state is
/// the same as without the fault.
async fn retried_after(fault: impl Fn(&Dom), expect_status: u64) {
    let d = Dom::with_google().await;
    let app = registered(&d).await;
    fault(&d);
    let r = attach(&d, &app).await;
    let b = err_body(&r);
    assert_eq!(b["status"], expect_status, "{b}");
    assert_eq!(event_kinds(&d).await[0], "attach.failed");
    d.cp.coolify.state().set_server_proxy(true);
    ok(&attach(&d, &app).await);
    assert_attached(&d, &app).await;
}

#[tokio::test]
async fn a_lost_zone_create_answer_is_retried() {
    retried_after(
        |d| d.gfault(json!({"operation": "dns.managedZones.create", "status": 503, "apply": true})),
        502,
    )
    .await;
}

#[tokio::test]
async fn a_failed_record_write_is_retried() {
    retried_after(
        |d| {
            d.gfault(
                json!({"operation": "dns.resourceRecordSets.create", "nth": 2,
                            "status": 500, "apply": true}),
            )
        },
        502,
    )
    .await;
}

#[tokio::test]
async fn a_registrar_refusal_of_the_name_servers_is_retried() {
    retried_after(
        |d| {
            d.fault(
                json!({"action": "ADVANCED_UPDATE_NAMESERVERS", "response_code": 400,
                           "response_text": "Internal server error"}),
            )
        },
        502,
    )
    .await;
}

#[tokio::test]
async fn coolify_dropping_the_domains_is_a_422_with_the_fix_then_retried() {
    let d = Dom::with_google().await;
    let app = registered(&d).await;
    d.cp.coolify.state().set_server_proxy(false);
    let r = attach(&d, &app).await;
    let b = err_body(&r);
    assert_eq!(b["status"], 422, "{b}");
    assert!(
        b["error"].as_str().unwrap().contains("not proxy-enabled"),
        "{b}"
    );
    assert!(b["hint"].as_str().unwrap().contains("Traefik"), "{b}");
    assert!(
        !d.opensrs.state().domain(APEX).unwrap().locked,
        "not locked after a failure"
    );
    d.cp.coolify.state().set_server_proxy(true);
    ok(&attach(&d, &app).await);
    assert_attached(&d, &app).await;
}

#[tokio::test]
async fn a_failed_lock_is_retried() {
    retried_after(
        |d| d.fault(json!({"action": "MODIFY", "http_status": 503})),
        502,
    )
    .await;
}

#[tokio::test]
async fn attach_refuses_bad_targets_and_unregistered_names_before_any_write() {
    let d = Dom::with_google().await;
    let app = registered(&d).await;
    let c = d.client(&d.cp.mark.key).await;
    for args in [
        json!({"domain": APEX}),
        json!({"domain": APEX, "ip": "8.8.8.8", "cname": "x.example.net"}),
        json!({"domain": APEX, "ip": "10.0.0.1"}),
        json!({"domain": APEX, "ip": "127.0.0.1"}),
        json!({"domain": APEX, "cname": "x.example.net"}),
        json!({"domain": APEX, "app_uuid": app, "subdomains": ["*"]}),
        json!({"domain": APEX, "app_uuid": app, "subdomains": []}),
        json!({"domain": "www.my-shop.com", "app_uuid": app}),
    ] {
        let r = call(&c, "domains_attach", args.clone()).await;
        assert_eq!(err_body(&r)["status"], 400, "{args}");
    }
    let r = call(
        &c,
        "domains_attach",
        json!({"domain": "never-registered.com", "ip": "8.8.8.8"}),
    )
    .await;
    assert_eq!(err_body(&r)["status"], 404);
    assert!(d.registrar_writes().is_empty());
    assert!(
        d.gcp()
            .state()
            .requests()
            .iter()
            .all(|r| r.operation == "token" || r.method == "GET")
    );
}

#[tokio::test]
async fn another_workspace_cannot_attach_to_or_use_the_domain() {
    let d = Dom::with_google().await;
    let app = registered(&d).await;
    ok(&attach(&d, &app).await);
    let theirs = d.app(&d.cp.justine.key, "site").await;
    d.opensrs.state().clear_requests();
    let justine = d.client(&d.cp.justine.key).await;
    let r = call(
        &justine,
        "domains_attach",
        json!({"domain": APEX, "app_uuid": theirs}),
    )
    .await;
    assert_eq!(err_body(&r)["status"], 403);
    let r = call(
        &justine,
        "apps_domains_set",
        json!({"uuid": theirs, "domains": [APEX]}),
    )
    .await;
    assert_eq!(
        err_body(&r)["status"],
        403,
        "justine cannot put mark's domain on her app"
    );
    // Mark attaching his domain to justine's app: her app is not his.
    let mark = d.client(&d.cp.mark.key).await;
    let r = call(
        &mark,
        "domains_attach",
        json!({"domain": APEX, "app_uuid": theirs}),
    )
    .await;
    assert_eq!(err_body(&r)["status"], 403);
    assert!(d.registrar_writes().is_empty());
}

#[tokio::test]
async fn apps_domains_set_takes_the_workspaces_own_attached_domain() {
    let d = Dom::with_google().await;
    let app = registered(&d).await;
    let c = d.client(&d.cp.mark.key).await;
    // Registered but not attached: still outside the namespace.
    let r = call(
        &c,
        "apps_domains_set",
        json!({"uuid": app, "domains": [APEX]}),
    )
    .await;
    assert_eq!(err_body(&r)["status"], 403);
    ok(&attach(&d, &app).await);
    let r = call(
        &c,
        "apps_domains_set",
        json!({"uuid": app, "domains": [APEX, format!("shop.{APEX}"), "site.mark.vibnai.com"]}),
    )
    .await;
    let domains = ok(&r)["domains"].clone();
    assert!(
        domains
            .as_array()
            .unwrap()
            .contains(&Value::from(format!("shop.{APEX}")))
    );
    let r = call(
        &c,
        "apps_domains_set",
        json!({"uuid": app, "domains": ["evil-my-shop.com"]}),
    )
    .await;
    assert_eq!(err_body(&r)["status"], 403);
}

/// The whole flow through the real binary, configured from the environment as an
/// operator would, logging at trace: no secret — the reseller key, the registrant
/// password, the HMAC secret, the service account's private key, a Google access token,
/// the bot token — in any result or in the log (a byte scan of both).
#[tokio::test]
async fn no_secret_in_any_result_or_log_of_the_whole_flow() {
    use rmcp::ServiceExt;
    use rmcp::transport::TokioChildProcess;
    let d = Dom::with_google().await;
    let log = d.cp.dir.path().join("control-plane.log");
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_vibn"));
    cmd.env_clear()
        .args(["mcp", "control-plane", "--log-level", "trace", "--log-file"])
        .arg(&log);
    for (k, v) in crate::control_plane::child_env(&d.cp, &d.cp.mark.key) {
        cmd.env(k, v);
    }
    cmd.env("OPENSRS_USERNAME", d.opensrs.username())
        .env("OPENSRS_KEY", d.opensrs.key())
        .env("OPENSRS_ENV", d.opensrs.url())
        .env("GOOGLE_APPLICATION_CREDENTIALS", d.gcp().credentials_path())
        .env("GCP_PROJECT", d.gcp().project_id())
        .env("VIBN_GOOGLE_API_URL", d.gcp().api_url());
    let transport = TokioChildProcess::builder(cmd)
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap()
        .0;
    let client = ().serve(transport).await.unwrap();
    let mut shown = String::new();
    let mut run = async |tool: &str, args: Value| {
        let r = crate::support::call(&client, tool, args).await;
        shown.push_str(&crate::control_plane_support::shown(&r));
        r
    };
    ok(&run("repos_create", json!({"name": "web"})).await);
    let r = run("apps_create", json!({"repo": "web"})).await;
    let app = ok(&r)["uuid"].as_str().unwrap().to_string();
    ok(&run("domains.search", json!({"names": [APEX]})).await);
    let r = run(
        "domains.register",
        json!({"domain": APEX, "contact": contact()}),
    )
    .await;
    assert_eq!(ok(&r)["outcome"], "registered");
    ok(&run("domains.attach", json!({"domain": APEX, "app_uuid": app})).await);
    ok(&run("domains.get", json!({"domain": APEX})).await);
    ok(&run("storage.provision", json!({})).await);
    ok(&run("storage.inject_env", json!({"uuid": app})).await);
    ok(&run("storage.describe", json!({})).await);
    ok(&run("apps_envs_list", json!({"uuid": app})).await);
    // Failures carry upstream text: make some.
    d.fault(json!({"action": "*", "http_status": 500}));
    run("domains_search", json!({"names": ["other-name.com"]})).await;
    d.gfault(json!({"operation": "*", "status": 500, "times": 5}));
    run("storage_provision", json!({})).await;
    client.cancel().await.unwrap();
    let logged = std::fs::read(&log).unwrap();
    assert!(
        String::from_utf8_lossy(&logged).contains("audit"),
        "the log was written"
    );

    let ws = d.cp.store.require_workspace(&d.cp.mark.slug).unwrap();
    let hmac =
        d.cp.store
            .hmac_secret(&ws.id, &d.cp.ring())
            .unwrap()
            .unwrap();
    let key_file: Value =
        serde_json::from_str(&std::fs::read_to_string(d.gcp().credentials_path()).unwrap())
            .unwrap();
    let pem = key_file["private_key"].as_str().unwrap();
    let pem_line = pem.lines().nth(5).unwrap().to_string();
    let mut secrets = vec![
        ("OPENSRS_KEY", d.opensrs.key()),
        (
            "HMAC secret",
            secrecy::ExposeSecret::expose_secret(&hmac).to_string(),
        ),
        ("private key", pem_line),
        ("bot token", d.cp.bot_token(&d.cp.mark.slug)),
    ];
    for call in d.opensrs.state().requests() {
        if let Some(p) = call.attributes["reg_password"].as_str() {
            secrets.push(("registrant password", p.to_string()));
        }
    }
    let haystacks = [("results", shown.as_bytes()), ("log", logged.as_slice())];
    for (what, secret) in &secrets {
        assert!(secret.len() >= 8, "{what} too short to scan for");
        for (name, hay) in &haystacks {
            assert!(
                !hay.windows(secret.len()).any(|w| w == secret.as_bytes()),
                "{what} found in the {name}"
            );
        }
    }
    for (name, hay) in &haystacks {
        assert!(
            !hay.windows(7).any(|w| w == b"ya29.c."),
            "a Google access token found in the {name}"
        );
    }
    d.assert_no_violations();
}
