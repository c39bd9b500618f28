//! Cloud DNS: zones, record sets, changes.

use reqwest::Method;
use serde_json::{Value, json};

use super::Env;

fn zones(env: &Env) -> String {
    format!("dns/v1/projects/{}/managedZones", env.project())
}

async fn make_zone(env: &Env, name: &str, dns_name: &str) -> Value {
    let zone = json!({"name": name, "dnsName": dns_name, "description": "vibn ws42", "visibility": "public"});
    let answer = env.api(Method::POST, &zones(env), zone).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    answer.body
}

#[tokio::test]
async fn a_new_zone_has_four_name_servers_and_apex_soa_and_ns() {
    let env = Env::new().await;
    let zone = make_zone(&env, "ws42-example-com", "example.com.").await;
    assert_eq!(zone["kind"], "dns#managedZone");
    let ns = zone["nameServers"].as_array().unwrap();
    assert_eq!(ns.len(), 4);
    assert!(
        ns.iter()
            .all(|n| n.as_str().unwrap().starts_with("ns-cloud-")
                && n.as_str().unwrap().ends_with(".googledomains.com."))
    );
    let list = env
        .api(
            Method::GET,
            &format!("{}/ws42-example-com/rrsets", zones(&env)),
            Value::Null,
        )
        .await;
    let types: Vec<&str> = list.body["rrsets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["type"].as_str().unwrap())
        .collect();
    assert_eq!(types, ["NS", "SOA"]);
    assert_eq!(list.body["rrsets"][0]["rrdatas"], zone["nameServers"]);
    // get by name and by id; list by dnsName.
    let by_id = env
        .api(
            Method::GET,
            &format!("{}/{}", zones(&env), zone["id"].as_str().unwrap()),
            Value::Null,
        )
        .await;
    assert_eq!(by_id.body["name"], "ws42-example-com");
    let listed = env
        .api(
            Method::GET,
            &format!("{}?dnsName=example.com.", zones(&env)),
            Value::Null,
        )
        .await;
    assert_eq!(listed.body["managedZones"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn a_duplicate_zone_name_gets_409_already_exists() {
    let env = Env::new().await;
    make_zone(&env, "dup-zone", "dup.com.").await;
    let again = env
        .api(
            Method::POST,
            &zones(&env),
            json!({"name": "dup-zone", "dnsName": "dup.com.", "description": ""}),
        )
        .await;
    assert_eq!(again.status, 409);
    assert_eq!(
        again.body,
        json!({"error": {"code": 409, "message": "The resource 'entity.managedZone' named 'dup-zone' already exists",
            "errors": [{"message": "The resource 'entity.managedZone' named 'dup-zone' already exists", "domain": "global", "reason": "alreadyExists"}]}})
    );
    let missing = env
        .api(Method::GET, &format!("{}/nope", zones(&env)), Value::Null)
        .await;
    assert_eq!(missing.status, 404);
    let dotless = env
        .api(
            Method::POST,
            &zones(&env),
            json!({"name": "dotless", "dnsName": "dotless.com", "description": ""}),
        )
        .await;
    assert_eq!(dotless.status, 400);
}

#[tokio::test]
async fn rrsets_are_created_once_then_patched() {
    let env = Env::new().await;
    make_zone(&env, "rr-zone", "rr.com.").await;
    let rrsets = format!("{}/rr-zone/rrsets", zones(&env));
    let a = json!({"name": "rr.com.", "type": "A", "ttl": 300, "rrdatas": ["203.0.113.10"]});
    assert_eq!(env.api(Method::POST, &rrsets, a.clone()).await.status, 200);
    let again = env.api(Method::POST, &rrsets, a).await;
    assert_eq!(again.status, 409);
    assert_eq!(
        again.body["error"]["message"],
        "The resource 'entity.rrset' named 'rr.com. (A)' already exists"
    );
    let cname = json!({"name": "www.rr.com.", "type": "CNAME", "ttl": 300, "rrdatas": ["rr.com."]});
    assert_eq!(env.api(Method::POST, &rrsets, cname).await.status, 200);
    let patched = env
        .api(Method::PATCH, &format!("{rrsets}/www.rr.com./CNAME"), json!({"name": "www.rr.com.", "type": "CNAME", "ttl": 60, "rrdatas": ["app.example.net."]}))
        .await;
    assert_eq!(patched.status, 200, "{}", patched.body);
    assert_eq!(
        (
            patched.body["ttl"].as_i64(),
            patched.body["rrdatas"][0].as_str()
        ),
        (Some(60), Some("app.example.net."))
    );
    let got = env
        .api(
            Method::GET,
            &format!("{rrsets}?name=www.rr.com.&type=CNAME"),
            Value::Null,
        )
        .await;
    assert_eq!(got.body["rrsets"][0]["rrdatas"][0], "app.example.net.");
    // Bad data, an apex CNAME, names outside the zone, the apex NS again.
    for bad in [
        json!({"name": "x.rr.com.", "type": "A", "ttl": 300, "rrdatas": ["not-an-ip"]}),
        json!({"name": "rr.com.", "type": "CNAME", "ttl": 300, "rrdatas": ["other.net."]}),
        json!({"name": "www.other.com.", "type": "A", "ttl": 300, "rrdatas": ["203.0.113.1"]}),
    ] {
        assert_eq!(
            env.api(Method::POST, &rrsets, bad.clone()).await.status,
            400,
            "{bad}"
        );
    }
    let apex_ns =
        json!({"name": "rr.com.", "type": "NS", "ttl": 300, "rrdatas": ["ns1.other.net."]});
    assert_eq!(env.api(Method::POST, &rrsets, apex_ns).await.status, 409);
    assert_eq!(
        env.api(
            Method::DELETE,
            &format!("{rrsets}/rr.com./SOA"),
            Value::Null
        )
        .await
        .status,
        400
    );
    assert_eq!(
        env.api(
            Method::DELETE,
            &format!("{rrsets}/www.rr.com./CNAME"),
            Value::Null
        )
        .await
        .status,
        200
    );
    assert_eq!(
        env.api(
            Method::PATCH,
            &format!("{rrsets}/www.rr.com./CNAME"),
            json!({"ttl": 5})
        )
        .await
        .status,
        404
    );
}

#[tokio::test]
async fn changes_are_atomic_and_deletions_must_match_exactly() {
    let env = Env::new().await;
    make_zone(&env, "ch-zone", "ch.com.").await;
    let changes = format!("{}/ch-zone/changes", zones(&env));
    let a = json!({"name": "ch.com.", "type": "A", "ttl": 300, "rrdatas": ["203.0.113.10"]});
    let made = env
        .api(Method::POST, &changes, json!({"additions": [a.clone()]}))
        .await;
    assert_eq!(
        (made.status, made.body["status"].as_str()),
        (200, Some("pending"))
    );
    let id = made.body["id"].as_str().unwrap();
    let later = env
        .api(Method::GET, &format!("{changes}/{id}"), Value::Null)
        .await;
    assert_eq!(later.body["status"], "done");
    let stale = json!({"name": "ch.com.", "type": "A", "ttl": 300, "rrdatas": ["203.0.113.99"]});
    let b = json!({"name": "b.ch.com.", "type": "A", "ttl": 300, "rrdatas": ["203.0.113.11"]});
    let refused = env
        .api(
            Method::POST,
            &changes,
            json!({"additions": [b], "deletions": [stale]}),
        )
        .await;
    assert_eq!(refused.status, 412);
    assert_eq!(
        refused.body["error"]["message"],
        "Precondition not met for 'entity.change.deletions[0]'"
    );
    // Nothing of the refused change happened.
    assert_eq!(env.state().rrsets("ch-zone").len(), 3);
}

#[tokio::test]
async fn name_servers_sent_on_create_are_ignored_as_output_only() {
    let env = Env::new().await;
    let body = json!({"name": "out-zone", "dnsName": "out.com.", "description": "", "nameServers": ["ns1.mine.net."]});
    let made = env.api(Method::POST, &zones(&env), body).await;
    assert_eq!(made.status, 200, "{}", made.body);
    let ns = made.body["nameServers"].as_array().unwrap();
    assert!(
        ns.iter()
            .all(|n| n.as_str().unwrap().ends_with(".googledomains.com.")),
        "{ns:?}"
    );
}
