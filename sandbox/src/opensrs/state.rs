//! The OpenSRS stand-in's state: the reseller's credentials, the registry as this
//! reseller sees it (domains registered here, names taken elsewhere, pending orders,
//! registrant profiles), the settings that pick Horizon (test) or live behaviour, the
//! request log and the fault table. No HTTP or XML here.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Mutex, MutexGuard};
use std::time::SystemTime;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::relock;

/// Which OpenSRS environment the stand-in behaves as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Production: any syntactically valid nameserver is accepted.
    Live,
    /// Horizon, the test environment: its mock registry only knows its own nameservers,
    /// so a nameserver change (or registration) naming any other host is refused.
    Test,
}

/// Behaviour switches (`POST /_sandbox/settings` changes any subset).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Settings {
    /// Live or Horizon behaviour (default live).
    pub mode: Mode,
    /// While a domain is locked, ADVANCED_UPDATE_NAMESERVERS answers 405 "Registry
    /// error: domain's nameserver not updated." (default true: the lock-conflict path
    /// the product must handle by unlock → update → relock).
    pub ns_update_refused_while_locked: bool,
    /// The hosts Horizon's mock registry knows (test mode only).
    pub test_nameservers: Vec<String>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            mode: Mode::Live,
            ns_update_refused_while_locked: true,
            test_nameservers: vec![
                "ns1.systemdns.com".into(),
                "ns2.systemdns.com".into(),
                "ns3.systemdns.com".into(),
            ],
        }
    }
}

/// A domain registered through this reseller.
#[derive(Debug, Clone, Serialize)]
pub struct Domain {
    /// Lower-case name.
    pub name: String,
    /// The SW_REGISTER order id.
    pub order_id: u64,
    /// Years registered.
    pub period: u32,
    /// When registered.
    #[serde(with = "humantime_serde_compat")]
    pub created: SystemTime,
    /// Registrar lock (`lock_state`).
    pub locked: bool,
    /// Nameserver host names, in sort order.
    pub nameservers: Vec<String>,
    /// The contact set as sent (JSON rendering).
    pub contact_set: Value,
    /// `auto_renew`.
    pub auto_renew: bool,
    /// `f_whois_privacy`.
    pub whois_privacy: bool,
    /// The registrant profile it belongs to.
    pub reg_username: String,
    /// `.ca` CIRA fields (legal_type, isa_trademark, lang_pref) when given.
    pub cira: Option<Value>,
}

/// An order saved but not processed (`forced_pending`).
#[derive(Debug, Clone, Serialize)]
pub struct PendingOrder {
    /// The order id answered.
    pub order_id: u64,
    /// The domain it would register.
    pub domain: String,
    /// The request attributes, to process it later.
    #[serde(skip)]
    pub attributes: Option<super::xcp::Data>,
}

/// What the registry holds.
#[derive(Debug, Default)]
pub struct Registry {
    /// Domains registered here, by lower-case name.
    pub domains: BTreeMap<String, Domain>,
    /// Names registered elsewhere (LOOKUP says taken, SW_REGISTER 485).
    pub taken: BTreeSet<String>,
    /// Orders saved but not processed, by domain.
    pub pending: BTreeMap<String, PendingOrder>,
    /// Registrant profiles: reg_username → reg_password.
    pub profiles: BTreeMap<String, String>,
    /// Behaviour switches.
    pub settings: Settings,
    next_order: u64,
}

impl Registry {
    /// A fresh order id.
    pub fn next_order_id(&mut self) -> u64 {
        self.next_order += 1;
        3_735_280 + self.next_order
    }
}

/// One XCP call as the stand-in saw it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RecordedCall {
    /// `X-Username` as sent (empty when missing).
    pub username: String,
    /// Whether `X-Signature` matched the body.
    pub signature_ok: bool,
    /// `action` upper-cased (empty when the envelope did not parse).
    pub action: String,
    /// `object` upper-cased.
    pub object: String,
    /// The `attributes` map sent, as JSON (`null` when none).
    pub attributes: Value,
    /// True for commands that change something (SW_REGISTER, MODIFY,
    /// ADVANCED_UPDATE_NAMESERVERS).
    pub write: bool,
    /// The XCP `response_code` answered (0 when the answer was an HTTP-level fault).
    pub response_code: u16,
    /// `is_success` answered.
    pub is_success: bool,
    /// Why the request was refused before its command ran (signature, envelope,
    /// unknown attribute …), if it was.
    pub error: Option<String>,
    /// Whether an injected fault shaped the answer.
    pub faulted: bool,
}

/// A fault for upcoming calls of one action (`POST /_sandbox/faults`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct XcpFault {
    /// The action it applies to (`SW_REGISTER`, …; `*` = any), case-insensitive.
    pub action: String,
    /// The first matching call it hits, counting from 1 from when it was injected
    /// (default 1: the next one).
    #[serde(default = "one")]
    pub nth: u32,
    /// How many matching calls (from the nth on) it hits (default 1).
    #[serde(default = "one")]
    pub times: u32,
    /// SW_REGISTER only: save the order without processing it and answer
    /// `is_success=1`, code 200, `attributes/forced_pending=<order id>` (as OpenSRS does
    /// on insufficient funds); the domain stays unregistered.
    #[serde(default)]
    pub pending: bool,
    /// Answer this XCP `response_code` instead (with `response_text`, `is_success`,
    /// `attributes`).
    #[serde(default)]
    pub response_code: Option<u16>,
    /// The `response_text` of an injected code (default: a text for the code).
    #[serde(default)]
    pub response_text: Option<String>,
    /// `is_success` of an injected code (default false).
    #[serde(default)]
    pub is_success: bool,
    /// `attributes` of an injected code, as JSON (objects → dt_assoc, arrays →
    /// dt_array, other values → text).
    #[serde(default)]
    pub attributes: Option<Value>,
    /// Run the command first (its effect happens), then answer the fault — an answer
    /// lost after OpenSRS acted, as on a 705 timeout.
    #[serde(default)]
    pub apply: bool,
    /// Answer this HTTP status with a plain-text body instead of an envelope (a proxy or
    /// outage in front of OpenSRS).
    #[serde(default)]
    pub http_status: Option<u16>,
    /// Wait this long before answering.
    #[serde(default)]
    pub delay_ms: u64,
}

fn one() -> u32 {
    1
}

/// Everything the stand-in keeps.
#[derive(Debug)]
pub struct OpenSrsState {
    pub(crate) username: String,
    pub(crate) key: String,
    registry: Mutex<Registry>,
    log: Mutex<Vec<RecordedCall>>,
    faults: Mutex<Vec<(XcpFault, u32)>>,
}

impl OpenSrsState {
    /// A state for reseller `username` with private key `key`.
    pub fn new(username: &str, key: &str) -> OpenSrsState {
        let registry = Registry {
            taken: ["example.com", "google.com", "vibn.ai", "taken.ca"]
                .into_iter()
                .map(String::from)
                .collect(),
            ..Registry::default()
        };
        OpenSrsState {
            username: username.into(),
            key: key.into(),
            registry: Mutex::new(registry),
            log: Mutex::new(Vec::new()),
            faults: Mutex::new(Vec::new()),
        }
    }

    /// The registry, locked.
    pub(crate) fn registry(&self) -> MutexGuard<'_, Registry> {
        relock(&self.registry)
    }

    /// Every call so far, oldest first.
    pub fn requests(&self) -> Vec<RecordedCall> {
        relock(&self.log).clone()
    }

    /// Forget the request log.
    pub fn clear_requests(&self) {
        relock(&self.log).clear();
    }

    pub(crate) fn record(&self, call: RecordedCall) {
        relock(&self.log).push(call);
    }

    /// Add a fault for upcoming calls (consulted in insertion order).
    pub fn inject_fault(&self, fault: XcpFault) {
        relock(&self.faults).push((fault, 0));
    }

    /// Remove every pending fault.
    pub fn clear_faults(&self) {
        relock(&self.faults).clear();
    }

    /// The fault that hits this call of `action`, if any (consumes one of its times).
    pub(crate) fn take_fault(&self, action: &str) -> Option<XcpFault> {
        let mut faults = relock(&self.faults);
        let mut hit = None;
        for (fault, seen) in faults.iter_mut() {
            if fault.times == 0
                || !(fault.action == "*" || fault.action.eq_ignore_ascii_case(action))
            {
                continue;
            }
            *seen += 1;
            if hit.is_none() && *seen >= fault.nth {
                fault.times -= 1;
                hit = Some(fault.clone());
            }
        }
        faults.retain(|(f, _)| f.times > 0);
        hit
    }

    /// The current settings.
    pub fn settings(&self) -> Settings {
        self.registry().settings.clone()
    }

    /// Replace the settings.
    pub fn set_settings(&self, settings: Settings) {
        self.registry().settings = settings;
    }

    /// Mark `domain` as registered elsewhere.
    pub fn add_taken(&self, domain: &str) {
        self.registry().taken.insert(domain.to_ascii_lowercase());
    }

    /// A domain registered here, if any.
    pub fn domain(&self, name: &str) -> Option<Domain> {
        self.registry()
            .domains
            .get(&name.to_ascii_lowercase())
            .cloned()
    }

    /// Every domain registered here.
    pub fn domains(&self) -> Vec<Domain> {
        self.registry().domains.values().cloned().collect()
    }

    /// Orders saved but not processed.
    pub fn pending_orders(&self) -> Vec<PendingOrder> {
        self.registry().pending.values().cloned().collect()
    }
}

/// `SystemTime` as RFC 3339 in JSON.
mod humantime_serde_compat {
    use std::time::SystemTime;

    use serde::Serializer;

    pub fn serialize<S: Serializer>(t: &SystemTime, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&humantime::format_rfc3339_seconds(*t).to_string())
    }
}
