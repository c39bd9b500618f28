//! The domain tools against the OpenSRS stand-in (issue 15): search reads
//! `response_code`, never `is_success`; registration is idempotent per workspace and
//! name, records its events and one debit per order, reports a pending order as pending,
//! and reconciles after a lost answer instead of ordering twice; hostile names are
//! refused before any registrar call; a domain stays with the workspace that registered
//! it; and nothing secret reaches a result.

use serde_json::{Value, json};

use crate::control_plane_support::call;
use crate::domains_support::{Dom, contact};
use crate::support::{err_body, ok};

async fn register(d: &Dom, key: &str, domain: &str) -> rmcp::model::CallToolResult {
    let c = d.client(key).await;
    call(
        &c,
        "domains_register",
        json!({"domain": domain, "contact": contact()}),
    )
    .await
}

#[tokio::test]
async fn search_reports_availability_from_the_response_code_and_raises_dot_ai() {
    let d = Dom::new().await;
    d.opensrs.state().add_taken("taken-name.com");
    let c = d.client(&d.cp.mark.key).await;
    let r = call(
        &c,
        "domains_search",
        json!({"names": ["Free-Name.com", "taken-name.com", "my-shop.ai"], "period": 1}),
    )
    .await;
    let results = ok(&r)["results"].as_array().unwrap().clone();
    let by = |n: &str| results.iter().find(|x| x["domain"] == n).unwrap().clone();
    assert_eq!(by("free-name.com")["status"], "available");
    assert_eq!(by("free-name.com")["available"], true);
    assert!(by("free-name.com")["price"].is_string(), "{results:?}");
    assert_eq!(by("taken-name.com")["status"], "taken");
    assert_eq!(by("taken-name.com")["available"], false);
    assert_eq!(by("taken-name.com")["price"], Value::Null);
    assert_eq!(by("my-shop.ai")["period"], 2);
    assert!(
        by("my-shop.ai")["note"]
            .as_str()
            .unwrap()
            .contains("at least 2")
    );
    assert!(d.registrar_writes().is_empty(), "search is stateless");
}

#[tokio::test]
async fn hostile_names_are_refused_before_the_registrar_is_called() {
    let d = Dom::new().await;
    let c = d.client(&d.cp.mark.key).await;
    for name in [
        "xn--80ak6aa92e.com",
        "аpple.com",
        "*.example.com",
        "example.com.",
        "www.example.com",
        "1.2.3.4",
        "vibnai.com",
        "mark.vibnai.com",
        "exa mple.com",
        &format!("{}.com", "a".repeat(64)),
    ] {
        let r = call(&c, "domains_search", json!({"names": [name]})).await;
        let b = err_body(&r);
        assert!(b["status"] == 400 || b["status"] == 403, "{name}: {b}");
        let r = call(
            &c,
            "domains_register",
            json!({"domain": name, "contact": contact()}),
        )
        .await;
        assert!(r.is_error == Some(true), "{name}");
    }
    let too_many: Vec<String> = (0..26).map(|i| format!("n{i}.com")).collect();
    let r = call(&c, "domains_search", json!({"names": too_many})).await;
    assert_eq!(err_body(&r)["status"], 400);
    assert!(d.opensrs.state().requests().is_empty(), "no registrar call");
}

#[tokio::test]
async fn register_is_recorded_debited_once_and_idempotent() {
    let d = Dom::new().await;
    let r = register(&d, &d.cp.mark.key, "my-shop.com").await;
    let out = ok(&r).clone();
    assert_eq!(out["outcome"], "registered");
    assert_eq!(out["domain"]["status"], "registered");
    assert_eq!(out["domain"]["locked"], false, "registered unlocked");
    let order = out["domain"]["order_id"].as_str().unwrap().to_string();
    let held = d.opensrs.state().domain("my-shop.com").unwrap();
    assert_eq!(held.order_id.to_string(), order);
    assert!(!held.locked);
    // Again: nothing is ordered twice.
    let again = register(&d, &d.cp.mark.key, "my-shop.com").await;
    assert_eq!(ok(&again)["outcome"], "already_registered");
    assert_eq!(d.registrar_writes(), ["SW_REGISTER"]);
    let ws = d.cp.store.require_workspace(&d.cp.mark.slug).unwrap();
    let ledger = d.cp.store.ledger(&ws.id).unwrap();
    assert_eq!(ledger.len(), 1);
    assert_eq!(ledger[0].kind, "debit");
    assert_eq!(ledger[0].ref_id, order);
    let c = d.client(&d.cp.mark.key).await;
    let got = call(&c, "domains_get", json!({"domain": "my-shop.com"})).await;
    let kinds: Vec<String> = ok(&got)["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(kinds, ["register.success", "register.attempt"]);
    let list = call(&c, "domains_list", json!({})).await;
    assert_eq!(ok(&list)["domains"][0]["domain"], "my-shop.com");
}

#[tokio::test]
async fn a_pending_order_is_reported_as_pending_and_not_ordered_again() {
    let d = Dom::new().await;
    d.fault(json!({"action": "SW_REGISTER", "pending": true}));
    let r = register(&d, &d.cp.mark.key, "broke-shop.com").await;
    let out = ok(&r).clone();
    assert_eq!(out["outcome"], "pending");
    assert_eq!(out["domain"]["status"], "pending");
    assert!(
        out["note"].as_str().unwrap().starts_with("NOT registered"),
        "{out}"
    );
    assert!(d.opensrs.state().domain("broke-shop.com").is_none());
    let ws = d.cp.store.require_workspace(&d.cp.mark.slug).unwrap();
    assert!(d.cp.store.ledger(&ws.id).unwrap().is_empty(), "no debit");
    let again = register(&d, &d.cp.mark.key, "broke-shop.com").await;
    assert_eq!(ok(&again)["outcome"], "pending");
    assert_eq!(d.registrar_writes(), ["SW_REGISTER"], "not ordered twice");
}

#[tokio::test]
async fn a_lost_answer_is_reconciled_on_retry_without_a_second_order() {
    let d = Dom::new().await;
    d.fault(json!({"action": "SW_REGISTER", "apply": true, "http_status": 504}));
    let r = register(&d, &d.cp.mark.key, "lost-reply.com").await;
    let b = err_body(&r);
    assert!(
        b["hint"]
            .as_str()
            .unwrap()
            .contains("does not register twice"),
        "{b}"
    );
    assert!(
        d.opensrs.state().domain("lost-reply.com").is_some(),
        "it did register"
    );
    let again = register(&d, &d.cp.mark.key, "lost-reply.com").await;
    let out = ok(&again).clone();
    assert_eq!(out["outcome"], "registered");
    assert_eq!(d.registrar_writes(), ["SW_REGISTER"], "one order only");
    let c = d.client(&d.cp.mark.key).await;
    let got = call(&c, "domains_get", json!({"domain": "lost-reply.com"})).await;
    let kinds: Vec<String> = ok(&got)["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        kinds,
        [
            "register.success",
            "register.attempt",
            "register.failed",
            "register.attempt"
        ]
    );
}

#[tokio::test]
async fn a_refusal_is_recorded_and_a_taken_name_is_not_registered() {
    let d = Dom::new().await;
    d.opensrs.state().add_taken("someone-elses.com");
    let r = register(&d, &d.cp.mark.key, "someone-elses.com").await;
    assert_eq!(err_body(&r)["status"], 422);
    let c = d.client(&d.cp.mark.key).await;
    let got = call(&c, "domains_get", json!({"domain": "someone-elses.com"})).await;
    assert_eq!(ok(&got)["domain"]["status"], "failed");
    assert_eq!(ok(&got)["events"][0]["kind"], "register.failed");
}

#[tokio::test]
async fn dot_ca_needs_the_cira_fields_and_sends_them() {
    let d = Dom::new().await;
    let c = d.client(&d.cp.mark.key).await;
    let r = call(
        &c,
        "domains_register",
        json!({"domain": "maple.ca", "contact": contact()}),
    )
    .await;
    let b = err_body(&r);
    assert_eq!(b["status"], 400);
    assert!(b["error"].as_str().unwrap().contains("cpr_category"), "{b}");
    assert!(d.opensrs.state().requests().is_empty());
    let r = call(
        &c,
        "domains_register",
        json!({"domain": "maple.ca", "contact": contact(), "ca": {"cpr_category": "CCT"}}),
    )
    .await;
    assert_eq!(ok(&r)["outcome"], "registered");
    let cira = d.opensrs.state().domain("maple.ca").unwrap().cira.unwrap();
    assert_eq!(cira["legal_type"], "CCT", "{cira}");
}

#[tokio::test]
async fn a_domain_stays_with_the_workspace_that_registered_it() {
    let d = Dom::new().await;
    ok(&register(&d, &d.cp.mark.key, "marks-shop.com").await);
    d.opensrs.state().clear_requests();
    let justine = d.client(&d.cp.justine.key).await;
    for (tool, args) in [
        ("domains_get", json!({"domain": "marks-shop.com"})),
        (
            "domains_register",
            json!({"domain": "marks-shop.com", "contact": contact()}),
        ),
        (
            "domains_attach",
            json!({"domain": "marks-shop.com", "ip": "8.8.8.8"}),
        ),
    ] {
        let r = call(&justine, tool, args).await;
        let b = err_body(&r);
        assert_eq!(b["status"], 403, "{tool}: {b}");
        assert!(
            b["error"].as_str().unwrap().contains("another workspace"),
            "{tool}: {b}"
        );
    }
    let list = call(&justine, "domains_list", json!({})).await;
    assert_eq!(ok(&list)["domains"], json!([]));
    assert!(
        d.registrar_writes().is_empty(),
        "no registrar write for justine"
    );
}

#[tokio::test]
async fn without_a_registrar_the_tools_say_what_to_set() {
    let d = Dom::new().await;
    let c = d.cp.client(&d.cp.mark.key).await;
    let r = call(&c, "domains_search", json!({"names": ["x-y.com"]})).await;
    let b = err_body(&r);
    assert_eq!(b["status"], 503);
    assert!(
        b["hint"].as_str().unwrap().contains("OPENSRS_USERNAME"),
        "{b}"
    );
    let r = call(&c, "storage_provision", json!({})).await;
    let b = err_body(&r);
    assert_eq!(b["status"], 503);
    assert!(
        b["hint"]
            .as_str()
            .unwrap()
            .contains("GOOGLE_APPLICATION_CREDENTIALS"),
        "{b}"
    );
    let r = call(&c, "storage_describe", json!({})).await;
    assert_eq!(ok(&r)["status"], "not_provisioned");
}

#[tokio::test]
async fn the_registrar_key_and_registrant_password_never_reach_a_result() {
    let d = Dom::new().await;
    let c = d.client(&d.cp.mark.key).await;
    let mut shown = String::new();
    for (tool, args) in [
        ("domains_search", json!({"names": ["secret-scan.com"]})),
        (
            "domains_register",
            json!({"domain": "secret-scan.com", "contact": contact()}),
        ),
        ("domains_get", json!({"domain": "secret-scan.com"})),
        ("domains_list", json!({})),
    ] {
        let r = call(&c, tool, args).await;
        shown.push_str(&crate::control_plane_support::shown(&r));
    }
    d.fault(json!({"action": "*", "http_status": 500}));
    let r = call(&c, "domains_search", json!({"names": ["other.com"]})).await;
    shown.push_str(&crate::control_plane_support::shown(&r));
    assert!(!shown.contains(&d.opensrs.key()), "the reseller key leaked");
    let passwords: Vec<String> = d
        .opensrs
        .state()
        .requests()
        .iter()
        .filter_map(|c| c.attributes["reg_password"].as_str().map(str::to_string))
        .collect();
    assert!(!passwords.is_empty());
    for p in passwords {
        assert!(!shown.contains(&p), "the registrant password leaked");
    }
}

#[tokio::test]
async fn a_name_another_workspace_failed_to_register_is_not_theirs() {
    let d = Dom::new().await;
    d.fault(json!({"action": "SW_REGISTER", "response_code": 465,
                   "response_text": "Invalid data"}));
    let r = register(&d, &d.cp.mark.key, "contested.com").await;
    assert_eq!(err_body(&r)["status"], 422);
    let r = register(&d, &d.cp.justine.key, "contested.com").await;
    assert_eq!(ok(&r)["outcome"], "registered");
    let mark = d.client(&d.cp.mark.key).await;
    let r = call(&mark, "domains_get", json!({"domain": "contested.com"})).await;
    assert_eq!(err_body(&r)["status"], 403, "now it is justine's");
}
