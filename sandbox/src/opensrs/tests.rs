//! Behaviour tests of the OpenSRS stand-in: one sandbox on 127.0.0.1:0 per test, driven
//! over HTTP with signed XCP envelopes, steered through its `/_sandbox/` controls and
//! [`OpenSrsState`].

use reqwest::Client;
use serde_json::{Value, json};

use super::xcp::{self, Data};
use super::{OpenSrsSandbox, OpenSrsState, XcpFault, signature};

struct Env {
    sb: OpenSrsSandbox,
    http: Client,
}

fn t(s: &str) -> Data {
    Data::text_of(s)
}

fn contact(org: &str) -> Data {
    Data::assoc([
        ("first_name", t("Ada")),
        ("last_name", t("Lovelace")),
        ("org_name", t(org)),
        ("address1", t("1 Main St")),
        ("city", t("Toronto")),
        ("state", t("ON")),
        ("country", t("CA")),
        ("postal_code", t("M5V 1A1")),
        ("phone", t("+1.4165550100")),
        ("email", t("ada@example.org")),
    ])
}

fn contacts(org: &str) -> Data {
    Data::assoc([
        ("owner", contact(org)),
        ("admin", contact(org)),
        ("billing", contact(org)),
        ("tech", contact(org)),
    ])
}

/// SW_REGISTER attributes for `domain` (unlocked, custom Google nameservers).
fn register_attrs(domain: &str, period: &str) -> Vec<(String, Data)> {
    let ns = |i: usize| {
        Data::assoc([
            ("name", t(&format!("ns-cloud-a{i}.googledomains.com"))),
            ("sortorder", t(&i.to_string())),
        ])
    };
    [
        ("domain", t(domain)),
        ("reg_type", t("new")),
        ("period", t(period)),
        ("handle", t("process")),
        ("reg_username", t("ws42")),
        ("reg_password", t("Xq7pLr2vNs9k")),
        ("auto_renew", t("0")),
        ("f_lock_domain", t("0")),
        ("f_whois_privacy", t("0")),
        ("custom_tech_contact", t("1")),
        ("custom_nameservers", t("1")),
        ("nameserver_list", Data::Array(vec![ns(1), ns(2)])),
        ("contact_set", contacts("Example Widgets Inc.")),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

fn cira() -> Vec<(String, Data)> {
    vec![
        ("legal_type".into(), t("CCO")),
        ("isa_trademark".into(), t("0")),
        ("lang_pref".into(), t("EN")),
    ]
}

/// The reply's top-level map.
struct Reply(Data);

impl Reply {
    fn code(&self) -> u16 {
        self.0
            .text("response_code")
            .and_then(|c| c.parse().ok())
            .unwrap_or(0)
    }
    fn success(&self) -> bool {
        self.0.text("is_success") == Some("1")
    }
    fn attr(&self, key: &str) -> Option<&str> {
        self.0.get("attributes").and_then(|a| a.text(key))
    }
    fn text(&self) -> &str {
        self.0.text("response_text").unwrap_or_default()
    }
}

impl Env {
    async fn new() -> Env {
        let _ = rustls::crypto::ring::default_provider().install_default();
        Env {
            sb: OpenSrsSandbox::start(0).await.unwrap(),
            http: Client::new(),
        }
    }

    fn state(&self) -> &OpenSrsState {
        self.sb.state()
    }

    /// POST raw bytes with these credentials; the reply envelope parsed.
    async fn post_raw(&self, body: &str, user: &str, sig: &str) -> Reply {
        let resp = self
            .http
            .post(self.sb.url() + "/")
            .header("Content-Type", "text/xml")
            .header("X-Username", user)
            .header("X-Signature", sig)
            .body(body.to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        let text = resp.text().await.unwrap();
        Reply(parse_reply(&text))
    }

    /// A correctly signed call.
    async fn call(&self, action: &str, attributes: Vec<(String, Data)>) -> Reply {
        let body = envelope(action, attributes);
        self.post_raw(
            &body,
            &self.sb.username(),
            &signature(body.as_bytes(), &self.sb.key()),
        )
        .await
    }

    async fn control(&self, method: reqwest::Method, path: &str, body: Value) -> Value {
        let resp = self
            .http
            .request(method, format!("{}/_sandbox/{path}", self.sb.url()))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert!(resp.status().is_success(), "{path}: {}", resp.status());
        resp.json().await.unwrap()
    }

    async fn register(&self, domain: &str) -> Reply {
        let mut attrs = register_attrs(domain, "1");
        if domain.ends_with(".ca") {
            attrs.extend(cira());
        }
        self.call("SW_REGISTER", attrs).await
    }

    async fn lock(&self, domain: &str, on: bool) -> Reply {
        self.call(
            "MODIFY",
            vec![
                ("domain".into(), t(domain)),
                ("data".into(), t("status")),
                ("lock_state".into(), t(if on { "1" } else { "0" })),
                ("affect_domains".into(), t("0")),
            ],
        )
        .await
    }

    async fn assign_ns(&self, domain: &str, hosts: &[&str]) -> Reply {
        self.call(
            "ADVANCED_UPDATE_NAMESERVERS",
            vec![
                ("domain".into(), t(domain)),
                ("op_type".into(), t("assign")),
                (
                    "assign_ns".into(),
                    Data::Array(hosts.iter().map(|h| t(h)).collect()),
                ),
            ],
        )
        .await
    }

    async fn status(&self, domain: &str) -> Reply {
        self.call(
            "GET",
            vec![("domain".into(), t(domain)), ("type".into(), t("status"))],
        )
        .await
    }
}

fn envelope(action: &str, attributes: Vec<(String, Data)>) -> String {
    xcp::request_envelope(&Data::assoc([
        ("protocol", t("XCP")),
        ("action", t(action)),
        ("object", t("DOMAIN")),
        ("attributes", Data::Assoc(attributes)),
    ]))
}

fn parse_reply(text: &str) -> Data {
    xcp::parse_envelope(text.as_bytes()).unwrap()
}

#[test]
fn the_signature_is_double_md5_as_in_the_reference_vector() {
    let body = "<?xml version='1.0' encoding='UTF-8' standalone='no' ?><!DOCTYPE OPS_envelope SYSTEM 'ops.dtd'><OPS_envelope><header><version>0.9</version></header><body><data_block><dt_assoc><item key=\"protocol\">XCP</item><item key=\"action\">LOOKUP</item><item key=\"object\">DOMAIN</item><item key=\"attributes\"><dt_assoc><item key=\"domain\">example.com</item></dt_assoc></item></dt_assoc></data_block></body></OPS_envelope>";
    assert_eq!(body.len(), 405);
    assert_eq!(
        signature(body.as_bytes(), "TESTKEY0123456789abcdef"),
        "3c54a15ec5f5d3457e308b92b0a10c35"
    );
}

#[tokio::test]
async fn a_wrong_signature_or_user_gets_401_and_is_logged() {
    let env = Env::new().await;
    let body = envelope("LOOKUP", vec![("domain".into(), t("fresh.com"))]);
    let wrong_key = signature(body.as_bytes(), "not-the-key");
    let reply = env.post_raw(&body, &env.sb.username(), &wrong_key).await;
    assert_eq!((reply.code(), reply.success()), (401, false));
    assert_eq!(reply.text(), "Authentication Failed");
    let right = signature(body.as_bytes(), &env.sb.key());
    let reply = env.post_raw(&body, "someone-else", &right).await;
    assert_eq!(reply.code(), 401);
    // A body changed after signing fails too.
    let tampered = body.replace("fresh.com", "other.com");
    assert_eq!(
        env.post_raw(&tampered, &env.sb.username(), &right)
            .await
            .code(),
        401
    );
    let log = env.state().requests();
    assert_eq!(log.len(), 3);
    assert!(
        log.iter()
            .all(|c| !c.signature_ok && c.error.is_some() && c.response_code == 401)
    );
    assert_eq!(
        env.post_raw(&body, &env.sb.username(), &right).await.code(),
        210
    );
}

#[tokio::test]
async fn malformed_envelopes_and_unknown_attributes_are_refused() {
    let env = Env::new().await;
    let bad = "<OPS_envelope><header><version>0.9</version></header><body><data_block><dt_assoc><item key=\"action\">LOOKUP</dt_assoc></data_block></body></OPS_envelope>";
    let reply = env
        .post_raw(
            bad,
            &env.sb.username(),
            &signature(bad.as_bytes(), &env.sb.key()),
        )
        .await;
    assert_eq!((reply.code(), reply.success()), (400, false));
    let reply = env
        .call(
            "LOOKUP",
            vec![
                ("domain".into(), t("fresh.com")),
                ("colour".into(), t("blue")),
            ],
        )
        .await;
    assert_eq!(reply.code(), 465);
    assert!(reply.text().contains("colour"), "{}", reply.text());
    let reply = env.call("TRANSMOGRIFY", vec![]).await;
    assert_eq!(reply.code(), 430);
    let log = env.state().requests();
    assert!(
        log[0].error.as_deref().is_some_and(|e| e.contains("XML")),
        "{log:?}"
    );
    assert_eq!(log[1].response_code, 465);
}

#[tokio::test]
async fn lookup_and_price_answer_availability_and_money() {
    let env = Env::new().await;
    let free = env
        .call("LOOKUP", vec![("domain".into(), t("fresh-name.com"))])
        .await;
    assert_eq!((free.code(), free.attr("status")), (210, Some("available")));
    let taken = env
        .call("LOOKUP", vec![("domain".into(), t("example.com"))])
        .await;
    assert_eq!(
        (taken.code(), taken.success(), taken.attr("status")),
        (211, true, Some("taken"))
    );
    let syntax = env
        .call("LOOKUP", vec![("domain".into(), t("-bad-.com"))])
        .await;
    assert_eq!(syntax.code(), 465);
    let price = env
        .call(
            "GET_PRICE",
            vec![
                ("domain".into(), t("fresh-name.com")),
                ("period".into(), t("2")),
            ],
        )
        .await;
    assert_eq!((price.code(), price.attr("price")), (200, Some("29.98")));
}

#[tokio::test]
async fn ai_needs_at_least_two_years() {
    let env = Env::new().await;
    let one_year = env
        .call(
            "GET_PRICE",
            vec![("domain".into(), t("fresh.ai")), ("period".into(), t("1"))],
        )
        .await;
    assert_eq!(one_year.code(), 465);
    let two = env
        .call(
            "GET_PRICE",
            vec![("domain".into(), t("fresh.ai")), ("period".into(), t("2"))],
        )
        .await;
    assert_eq!((two.code(), two.attr("price")), (200, Some("160.00")));
    let reg = env
        .call("SW_REGISTER", register_attrs("fresh.ai", "1"))
        .await;
    assert_eq!(reg.code(), 465);
    assert!(env.state().domain("fresh.ai").is_none());
    let reg = env
        .call("SW_REGISTER", register_attrs("fresh.ai", "2"))
        .await;
    assert_eq!(reg.code(), 200, "{}", reg.text());
    assert_eq!(env.state().domain("fresh.ai").unwrap().period, 2);
}

#[tokio::test]
async fn ca_needs_the_cira_fields() {
    let env = Env::new().await;
    let missing = env
        .call("SW_REGISTER", register_attrs("maple.ca", "1"))
        .await;
    assert_eq!(missing.code(), 460);
    assert!(missing.text().contains("legal_type"), "{}", missing.text());
    let mut bad_category = register_attrs("maple.ca", "1");
    bad_category.extend(cira());
    bad_category[13] = ("legal_type".into(), t("XYZ"));
    assert_eq!(env.call("SW_REGISTER", bad_category).await.code(), 465);
    // CCO registrants carry their corporate suffix.
    let mut no_suffix = register_attrs("maple.ca", "1");
    no_suffix.retain(|(k, _)| k != "contact_set");
    no_suffix.push(("contact_set".into(), contacts("Example Widgets")));
    no_suffix.extend(cira());
    assert_eq!(env.call("SW_REGISTER", no_suffix).await.code(), 465);
    // In registrant_extra_info, as newer clients send them, they count too.
    let mut extra = register_attrs("maple.ca", "1");
    extra.push((
        "registrant_extra_info".into(),
        Data::assoc([
            ("legal_type", t("CCO")),
            ("isa_trademark", t("0")),
            ("lang_pref", t("FR")),
        ]),
    ));
    let ok = env.call("SW_REGISTER", extra).await;
    assert_eq!(ok.code(), 200, "{}", ok.text());
    assert!(ok.attr("id").is_some());
    // CIRA fields on a .com are an error.
    let mut com = register_attrs("maple-leaf.com", "1");
    com.extend(cira());
    assert_eq!(env.call("SW_REGISTER", com).await.code(), 465);
}

#[tokio::test]
async fn registering_a_taken_or_registered_name_gets_485() {
    let env = Env::new().await;
    assert_eq!(env.register("example.com").await.code(), 485);
    assert_eq!(env.register("mine.com").await.code(), 200);
    assert_eq!(env.register("mine.com").await.code(), 485);
    assert_eq!(
        env.call("LOOKUP", vec![("domain".into(), t("mine.com"))])
            .await
            .code(),
        211
    );
}

#[tokio::test]
async fn lock_and_unlock_gate_nameserver_updates() {
    let env = Env::new().await;
    assert_eq!(env.register("locky.com").await.code(), 200);
    assert_eq!(env.status("locky.com").await.attr("lock_state"), Some("0"));
    let hosts = [
        "ns-cloud-b1.googledomains.com",
        "ns-cloud-b2.googledomains.com",
    ];
    assert_eq!(env.assign_ns("locky.com", &hosts).await.code(), 200);
    assert_eq!(env.lock("locky.com", true).await.code(), 200);
    assert_eq!(env.status("locky.com").await.attr("lock_state"), Some("1"));
    let other = ["ns1.example.net", "ns2.example.net"];
    let refused = env.assign_ns("locky.com", &other).await;
    assert_eq!(
        (refused.code(), refused.text()),
        (405, "Registry error: domain's nameserver not updated.")
    );
    assert_eq!(env.state().domain("locky.com").unwrap().nameservers, hosts);
    assert_eq!(env.lock("locky.com", false).await.code(), 200);
    assert_eq!(
        env.assign_ns("locky.com", &other).await.text(),
        "Nameserver Update Successful"
    );
    assert_eq!(
        env.assign_ns("locky.com", &other).await.text(),
        "No nameserver changes necessary"
    );
    assert_eq!(env.lock("locky.com", true).await.code(), 200);
    // With the refusal switched off a locked domain's nameservers change.
    env.control(
        reqwest::Method::POST,
        "settings",
        json!({"ns_update_refused_while_locked": false}),
    )
    .await;
    assert_eq!(env.assign_ns("locky.com", &hosts).await.code(), 200);
    // Unknown domains are 480; a missing lock_state 460.
    assert_eq!(env.lock("nobody.com", true).await.code(), 480);
    let no_state = env
        .call(
            "MODIFY",
            vec![
                ("domain".into(), t("locky.com")),
                ("data".into(), t("status")),
                ("affect_domains".into(), t("0")),
            ],
        )
        .await;
    assert_eq!(no_state.code(), 460);
}

#[tokio::test]
async fn test_mode_refuses_nameservers_its_registry_does_not_know() {
    let env = Env::new().await;
    assert_eq!(env.register("horizon.com").await.code(), 200);
    env.control(reqwest::Method::POST, "settings", json!({"mode": "test"}))
        .await;
    let google = [
        "ns-cloud-c1.googledomains.com",
        "ns-cloud-c2.googledomains.com",
    ];
    let refused = env.assign_ns("horizon.com", &google).await;
    assert_eq!(refused.code(), 480);
    assert!(
        refused.text().contains("ns-cloud-c1.googledomains.com"),
        "{}",
        refused.text()
    );
    let known = ["ns1.systemdns.com", "ns2.systemdns.com"];
    assert_eq!(env.assign_ns("horizon.com", &known).await.code(), 200);
    // Registering with unknown nameservers in test mode fails validation, order pending.
    let reg = env.register("horizon2.com").await;
    assert_eq!(reg.code(), 435);
    assert!(reg.attr("forced_pending").is_some());
    // Trailing dots are not host names OpenSRS takes.
    let dotted = env
        .assign_ns("horizon.com", &["ns1.systemdns.com.", "ns2.systemdns.com."])
        .await;
    assert_eq!(dotted.code(), 465);
}

#[tokio::test]
async fn all_info_reflects_registration_and_nameservers() {
    let env = Env::new().await;
    assert_eq!(env.register("info.com").await.code(), 200);
    let info = env
        .call(
            "GET",
            vec![
                ("domain".into(), t("info.com")),
                ("type".into(), t("all_info")),
            ],
        )
        .await;
    assert_eq!(info.code(), 200);
    let list = info
        .0
        .get("attributes")
        .and_then(|a| a.get("nameserver_list"))
        .unwrap();
    assert_eq!(list.to_json()[0]["name"], "ns-cloud-a1.googledomains.com");
    assert!(info.attr("expiredate").is_some_and(|d| d.len() == 19));
    let missing = env
        .call(
            "GET",
            vec![
                ("domain".into(), t("nope.com")),
                ("type".into(), t("all_info")),
            ],
        )
        .await;
    assert_eq!(missing.code(), 480);
}

#[tokio::test]
async fn pending_fault_saves_the_order_without_registering() {
    let env = Env::new().await;
    env.control(
        reqwest::Method::POST,
        "faults",
        json!({"action": "SW_REGISTER", "pending": true}),
    )
    .await;
    let reply = env.register("later.com").await;
    assert_eq!((reply.code(), reply.success()), (200, true));
    let order = reply.attr("forced_pending").unwrap().to_string();
    assert!(env.state().domain("later.com").is_none());
    assert_eq!(
        env.call("LOOKUP", vec![("domain".into(), t("later.com"))])
            .await
            .code(),
        221
    );
    env.control(
        reqwest::Method::POST,
        &format!("orders/{order}/process"),
        json!({}),
    )
    .await;
    assert!(env.state().domain("later.com").is_some());
}

#[tokio::test]
async fn faults_hit_the_nth_call_of_an_action_and_can_apply_first() {
    let env = Env::new().await;
    env.state().inject_fault(XcpFault {
        action: "LOOKUP".into(),
        nth: 2,
        times: 1,
        pending: false,
        response_code: Some(705),
        response_text: None,
        is_success: false,
        attributes: None,
        apply: false,
        http_status: None,
        delay_ms: 0,
    });
    let look = |d: &'static str| env.call("LOOKUP", vec![("domain".into(), t(d))]);
    assert_eq!(look("a1.com").await.code(), 210);
    let second = look("a2.com").await;
    assert_eq!(
        (second.code(), second.text()),
        (705, "Timed out, resubmit request.")
    );
    assert_eq!(look("a3.com").await.code(), 210);
    // A lost answer: the registration happens, the client sees 705.
    env.control(
        reqwest::Method::POST,
        "faults",
        json!({"action": "sw_register", "response_code": 705, "apply": true}),
    )
    .await;
    assert_eq!(env.register("lost.com").await.code(), 705);
    assert!(env.state().domain("lost.com").is_some());
    assert_eq!(env.register("lost.com").await.code(), 485);
    // An HTTP failure in front of OpenSRS.
    env.control(
        reqwest::Method::POST,
        "faults",
        json!({"action": "*", "http_status": 503}),
    )
    .await;
    let body = envelope("LOOKUP", vec![("domain".into(), t("a4.com"))]);
    let resp = Client::new()
        .post(env.sb.url() + "/")
        .header("X-Username", env.sb.username())
        .header("X-Signature", signature(body.as_bytes(), &env.sb.key()))
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 503);
    let log = env
        .control(reqwest::Method::GET, "requests", Value::Null)
        .await;
    let writes: Vec<&Value> = log
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["write"] == true)
        .collect();
    assert_eq!(writes.len(), 2);
    assert_eq!(writes[0]["faulted"], true);
}
