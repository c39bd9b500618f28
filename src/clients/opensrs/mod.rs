//! OpenSRS XCP (providers.md §1–§5): one signed XML POST per command. The signature is
//! `md5_hex(md5_hex(body + key) + key)` over the exact bytes sent; the key never leaves
//! this module except inside that digest. `is_success` is not availability and not
//! "done": every reply is handed back with its `response_code`, and the typed helpers
//! read that code. Authentication failures (401, 410) are errors; every other code is a
//! `Reply` for the caller to judge.

pub mod ops;

use std::sync::Arc;

use md5::{Digest, Md5};
use reqwest::Method;
use secrecy::{ExposeSecret, SecretString};

use super::http::{Auth, Call, ClientError, Failure, Http, HttpConfig};
pub use ops::Ops;

/// The test ("Horizon") endpoint.
pub const TEST_URL: &str = "https://horizon.opensrs.net:55443";
/// The live endpoint.
pub const LIVE_URL: &str = "https://rr-n1-tor.opensrs.net:55443";

/// `md5_hex(md5_hex(body + key) + key)`, lower-case hex.
pub fn signature(body: &[u8], key: &str) -> String {
    let inner = hex(&Md5::new_with_prefix(body)
        .chain_update(key.as_bytes())
        .finalize());
    hex(&Md5::new_with_prefix(inner.as_bytes())
        .chain_update(key.as_bytes())
        .finalize())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// One XCP reply.
#[derive(Debug, Clone)]
pub struct Reply {
    /// `is_success` (`1`).
    pub is_success: bool,
    /// `response_code` (0 when absent or not a number).
    pub code: u16,
    /// `response_text`.
    pub text: String,
    /// `attributes` (an empty map when absent).
    pub attributes: Ops,
}

impl Reply {
    fn from_ops(v: &Ops) -> Reply {
        Reply {
            is_success: v.str("is_success") == Some("1"),
            code: v
                .str("response_code")
                .and_then(|c| c.trim().parse().ok())
                .unwrap_or(0),
            text: v.str("response_text").unwrap_or_default().to_string(),
            attributes: v
                .get("attributes")
                .cloned()
                .unwrap_or(Ops::Assoc(Vec::new())),
        }
    }

    /// A plain success (code 200 and `is_success`).
    pub fn ok(&self) -> bool {
        self.is_success && self.code == 200
    }
}

/// Availability of one name (LOOKUP).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Availability {
    /// 210.
    Available,
    /// 211 or 221.
    Taken,
    /// 465: the registry refuses the name's syntax.
    Invalid,
    /// Anything else (the code).
    Unknown(u16),
}

/// The outcome of SW_REGISTER.
#[derive(Debug, Clone)]
pub enum Registration {
    /// 200 with an order id and no `forced_pending`.
    Done {
        /// The order id.
        order_id: String,
    },
    /// Saved, not processed (`forced_pending`, or 250 asynchronous registry).
    Pending {
        /// The order id.
        order_id: String,
        /// Why, as OpenSRS says.
        text: String,
    },
    /// 485: the name is registered (maybe by our own earlier attempt).
    Taken,
    /// Refused (the code and text).
    Refused {
        /// `response_code`.
        code: u16,
        /// `response_text`.
        text: String,
    },
}

/// An OpenSRS reseller account.
#[derive(Clone)]
pub struct OpenSrsClient {
    http: Arc<Http>,
    username: String,
    key: SecretString,
}

impl std::fmt::Debug for OpenSrsClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenSrsClient")
            .field("base", &self.http.base())
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

impl OpenSrsClient {
    /// A client for the endpoint at `base` (`TEST_URL`, `LIVE_URL` or a stand-in).
    pub fn new(base: &str, username: &str, key: SecretString, config: HttpConfig) -> Self {
        OpenSrsClient {
            http: Http::new("OpenSRS", base, Auth::None, config),
            username: username.to_string(),
            key,
        }
    }

    /// Send one command and read its reply. 401/410 (credentials refused) is an error.
    pub async fn call(
        &self,
        action: &str,
        object: &str,
        attributes: Ops,
    ) -> Result<Reply, ClientError> {
        let body = ops::request(action, object, attributes);
        let sig = signature(body.as_bytes(), self.key.expose_secret());
        let call = Call::new(Method::POST, &[])
            .header("X-Username", &self.username)
            .header("X-Signature", &sig)
            .raw("text/xml", body.into_bytes());
        let answer = self.http.send(call).await?;
        let fail = |failure| ClientError {
            upstream: "OpenSRS",
            method: "POST".into(),
            path: format!("/ {action}"),
            failure,
        };
        let value = ops::parse(&answer.body).map_err(|why| {
            fail(Failure::Decode(super::http::Undecodable {
                field: String::new(),
                message: format!(
                    "not an OPS envelope ({why}); OpenSRS answers HTML or nothing when this \
                     machine's IP is not on the reseller's allow-list"
                ),
            }))
        })?;
        let reply = Reply::from_ops(&value);
        if matches!(reply.code, 401 | 410) && !reply.is_success {
            return Err(fail(Failure::Status {
                status: 401,
                message: format!(
                    "OpenSRS refused the reseller credentials ({} {})",
                    reply.code, reply.text
                ),
                body: None,
            }));
        }
        Ok(reply)
    }

    /// LOOKUP one name.
    pub async fn lookup(&self, domain: &str) -> Result<Availability, ClientError> {
        let r = self
            .call(
                "LOOKUP",
                "DOMAIN",
                Ops::assoc([("domain", Ops::text(domain))]),
            )
            .await?;
        Ok(match r.code {
            210 => Availability::Available,
            211 | 221 => Availability::Taken,
            465 => Availability::Invalid,
            c => Availability::Unknown(c),
        })
    }

    /// GET_PRICE for a new registration of `period` years (`None` when refused).
    pub async fn price(&self, domain: &str, period: u32) -> Result<Option<String>, ClientError> {
        let r = self
            .call(
                "GET_PRICE",
                "DOMAIN",
                Ops::assoc([
                    ("domain", Ops::text(domain)),
                    ("period", Ops::text(period.to_string())),
                    ("reg_type", Ops::text("new")),
                ]),
            )
            .await?;
        Ok(if r.ok() {
            r.attributes.str("price").map(str::to_string)
        } else {
            None
        })
    }

    /// SW_REGISTER with the attributes built by the caller (the registrant profile,
    /// contacts, `.ca` fields); `handle=process` and `reg_type=new` are added here.
    pub async fn register(&self, mut attributes: Ops) -> Result<Registration, ClientError> {
        attributes.set("reg_type", Ops::text("new"));
        attributes.set("handle", Ops::text("process"));
        let r = self.call("SW_REGISTER", "DOMAIN", attributes).await?;
        let order = r.attributes.str("id").unwrap_or_default().to_string();
        if let Some(pending) = r.attributes.str("forced_pending").filter(|s| !s.is_empty()) {
            return Ok(Registration::Pending {
                order_id: pending.to_string(),
                text: r.text,
            });
        }
        Ok(match r.code {
            200 if r.is_success && !order.is_empty() => Registration::Done { order_id: order },
            250 => Registration::Pending {
                order_id: order,
                text: r.text,
            },
            485 => Registration::Taken,
            code => Registration::Refused { code, text: r.text },
        })
    }

    /// GET type=`kind` (`all_info`, `status`) for a domain of this reseller.
    pub async fn get_domain(&self, domain: &str, kind: &str) -> Result<Reply, ClientError> {
        self.call(
            "GET",
            "DOMAIN",
            Ops::assoc([("domain", Ops::text(domain)), ("type", Ops::text(kind))]),
        )
        .await
    }

    /// ADVANCED_UPDATE_NAMESERVERS op_type=assign (names without trailing dots).
    pub async fn assign_nameservers(
        &self,
        domain: &str,
        nameservers: &[String],
    ) -> Result<Reply, ClientError> {
        self.call(
            "ADVANCED_UPDATE_NAMESERVERS",
            "DOMAIN",
            Ops::assoc([
                ("domain", Ops::text(domain)),
                ("op_type", Ops::text("assign")),
                ("assign_ns", Ops::strings(nameservers)),
            ]),
        )
        .await
    }

    /// MODIFY data=status: lock (`true`) or unlock.
    pub async fn set_lock(&self, domain: &str, locked: bool) -> Result<Reply, ClientError> {
        self.call(
            "MODIFY",
            "DOMAIN",
            Ops::assoc([
                ("domain", Ops::text(domain)),
                ("data", Ops::text("status")),
                ("lock_state", Ops::text(if locked { "1" } else { "0" })),
                ("affect_domains", Ops::text("0")),
            ]),
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_matches_the_reference_vector() {
        let body = ops::request(
            "LOOKUP",
            "DOMAIN",
            Ops::assoc([("domain", Ops::text("example.com"))]),
        );
        assert_eq!(
            signature(body.as_bytes(), "TESTKEY0123456789abcdef"),
            "3c54a15ec5f5d3457e308b92b0a10c35"
        );
        assert_eq!(
            hex(&Md5::digest(b"ConnecttoOpenSRSviaSSL")),
            "e787cc1d1951dfec4827cede7b1a0933"
        );
    }

    #[test]
    fn is_success_alone_is_never_read_as_done() {
        let taken = Ops::assoc([
            ("is_success", Ops::text("1")),
            ("response_code", Ops::text("211")),
        ]);
        let r = Reply::from_ops(&taken);
        assert!(r.is_success && !r.ok());
    }
}
