//! Custom domains (issue 15): one row per registered name, owned by the workspace that
//! registered it (the name is unique across workspaces); the append-only lifecycle
//! events of each; the append-only billing ledger. The registrant profile's password is
//! sealed with the row id as AAD, like every other secret column.

use secrecy::{ExposeSecret, SecretString};

use super::db::{Row, ToValue, Value, params};
use super::secret_box::{Aad, Keyring, SecretError};
use super::{KeystoreError, Store, new_id, now_ms};

const COLUMNS: &str = "id, workspace_id, domain, status, period, order_id, price, expires_at, \
    whois_privacy, dns_provider, dns_zone, nameservers, attached_app_uuid, attached_target, \
    fqdns, locked, last_error, created_at, updated_at";

/// One domain row (no secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DomainRecord {
    /// Row id.
    pub id: String,
    /// The owning workspace's id.
    pub workspace_id: String,
    /// The name (lower-case, no trailing dot).
    pub domain: String,
    /// `registering`, `pending`, `registered`, `failed`, `attached`.
    pub status: String,
    /// Years registered.
    pub period: i64,
    /// The registrar's order id.
    pub order_id: Option<String>,
    /// The price quoted at registration.
    pub price: Option<String>,
    /// Expiry as the registrar states it.
    pub expires_at: Option<String>,
    /// WHOIS privacy asked for.
    pub whois_privacy: bool,
    /// `cloud_dns`.
    pub dns_provider: String,
    /// The managed zone's name.
    pub dns_zone: Option<String>,
    /// The zone's name servers (JSON list).
    pub nameservers: Option<String>,
    /// The app it is attached to.
    pub attached_app_uuid: Option<String>,
    /// The IP or CNAME target its records point at.
    pub attached_target: Option<String>,
    /// The FQDNs written (JSON list).
    pub fqdns: Option<String>,
    /// Registrar lock state as last set.
    pub locked: bool,
    /// The last failure.
    pub last_error: Option<String>,
    /// Created (ms).
    pub created_at: i64,
    /// Updated (ms).
    pub updated_at: i64,
}

fn record(r: &Row) -> Result<DomainRecord, KeystoreError> {
    Ok(DomainRecord {
        id: r.get(0)?,
        workspace_id: r.get(1)?,
        domain: r.get(2)?,
        status: r.get(3)?,
        period: r.get(4)?,
        order_id: r.get(5)?,
        price: r.get(6)?,
        expires_at: r.get(7)?,
        whois_privacy: r.get(8)?,
        dns_provider: r.get(9)?,
        dns_zone: r.get(10)?,
        nameservers: r.get(11)?,
        attached_app_uuid: r.get(12)?,
        attached_target: r.get(13)?,
        fqdns: r.get(14)?,
        locked: r.get(15)?,
        last_error: r.get(16)?,
        created_at: r.get(17)?,
        updated_at: r.get(18)?,
    })
}

/// Fields to change on a domain row (`None`: unchanged; `Some(None)`: cleared).
#[derive(Debug, Clone, Default)]
pub struct DomainPatch {
    /// New status.
    pub status: Option<String>,
    /// Order id.
    pub order_id: Option<Option<String>>,
    /// Price.
    pub price: Option<Option<String>>,
    /// Expiry.
    pub expires_at: Option<Option<String>>,
    /// Zone name.
    pub dns_zone: Option<Option<String>>,
    /// Name servers (JSON).
    pub nameservers: Option<Option<String>>,
    /// Attached app.
    pub attached_app_uuid: Option<Option<String>>,
    /// Attached target.
    pub attached_target: Option<Option<String>>,
    /// FQDNs (JSON).
    pub fqdns: Option<Option<String>>,
    /// Lock state.
    pub locked: Option<bool>,
    /// Last failure.
    pub last_error: Option<Option<String>>,
}

/// One lifecycle event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DomainEvent {
    /// When (ms).
    pub at: i64,
    /// `register.attempt`, `register.success`, `attach.zone`, …
    pub kind: String,
    /// What happened, in words (never a secret).
    pub detail: String,
}

/// One ledger row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerEntry {
    /// `debit` or `credit`.
    pub kind: String,
    /// Amount as the registrar quoted it.
    pub amount: String,
    /// Currency.
    pub currency: String,
    /// What for.
    pub description: String,
    /// The registrar's order id.
    pub ref_id: String,
}

/// 24 base62 characters from the OS RNG (registrant profile passwords).
fn random_password() -> SecretString {
    use rand::TryRngCore;
    use rand::distr::{Alphanumeric, Distribution};
    let mut rng = rand::rngs::OsRng.unwrap_err();
    SecretString::from(
        Alphanumeric
            .sample_iter(&mut rng)
            .take(24)
            .map(char::from)
            .collect::<String>(),
    )
}

fn password_aad(id: &str) -> Aad<'_> {
    Aad {
        table: "domains",
        column: "reg_password_enc",
        row_id: id,
    }
}

impl Store {
    /// The row of `domain`, whichever workspace owns it.
    pub fn domain_record(&self, domain: &str) -> Result<Option<DomainRecord>, KeystoreError> {
        self.read(|c| {
            c.query_opt(
                &format!("SELECT {COLUMNS} FROM domains WHERE domain = ?1"),
                params![domain],
            )?
            .map(|r| record(&r))
            .transpose()
        })
    }

    /// Every domain of a workspace, by name.
    pub fn domains_of(&self, workspace_id: &str) -> Result<Vec<DomainRecord>, KeystoreError> {
        self.read(|c| {
            c.query(
                &format!("SELECT {COLUMNS} FROM domains WHERE workspace_id = ?1 ORDER BY domain"),
                params![workspace_id],
            )?
            .iter()
            .map(record)
            .collect()
        })
    }

    /// The row of `domain` for `workspace_id`, created (status `registering`, a new
    /// sealed registrant password) when there is none. Returns the row and whether it was
    /// created now; a row of another workspace is returned as it is (the caller refuses).
    pub fn claim_domain(
        &self,
        workspace_id: &str,
        domain: &str,
        period: i64,
        whois_privacy: bool,
        ring: &Keyring,
    ) -> Result<(DomainRecord, bool), KeystoreError> {
        self.check_keyring(ring)?;
        let id = new_id("dom");
        let password = random_password();
        let sealed = ring.seal(password_aad(&id), password.expose_secret().as_bytes());
        let created = self.write(|tx| {
            let now = now_ms();
            // A name another workspace tried and was definitely refused (no order) was
            // never theirs: its row gives way (its events stay, under its old id).
            tx.execute(
                "DELETE FROM domains WHERE domain = ?1 AND workspace_id != ?2 \
                 AND status = 'failed' AND order_id IS NULL",
                params![domain, workspace_id],
            )?;
            tx.execute(
                "INSERT INTO domains (id, workspace_id, domain, status, period, whois_privacy, \
                 reg_password_enc, created_at, updated_at) \
                 VALUES (?1, ?2, ?3, 'registering', ?4, ?5, ?6, ?7, ?7) \
                 ON CONFLICT (domain) DO NOTHING",
                params![id, workspace_id, domain, period, whois_privacy, sealed, now],
            )
        })?;
        let row = self
            .domain_record(domain)?
            .ok_or_else(|| KeystoreError::NotFound {
                what: format!("domain {domain}"),
            })?;
        Ok((row, created == 1))
    }

    /// The registrant profile's password of a domain row.
    pub fn domain_password(&self, id: &str, ring: &Keyring) -> Result<SecretString, KeystoreError> {
        self.check_keyring(ring)?;
        let envelope: Option<Vec<u8>> = self
            .read(|c| {
                c.query_opt(
                    "SELECT reg_password_enc FROM domains WHERE id = ?1",
                    params![id],
                )?
                .map(|r| r.get::<Option<Vec<u8>>>(0))
                .transpose()
            })?
            .flatten();
        let envelope = envelope.ok_or_else(|| KeystoreError::NotFound {
            what: format!("the registrant password of {id}"),
        })?;
        let plain = ring.open(password_aad(id), &envelope)?;
        let text = String::from_utf8(plain.to_vec()).map_err(|_| SecretError::Malformed)?;
        Ok(SecretString::from(text))
    }

    /// Change fields of a domain row.
    pub fn patch_domain(&self, id: &str, patch: &DomainPatch) -> Result<(), KeystoreError> {
        let mut sets: Vec<String> = vec!["updated_at = ?1".into()];
        let mut values: Vec<Value> = vec![now_ms().to_value()];
        let mut push = |col: &str, v: Value| {
            values.push(v);
            sets.push(format!("{col} = ?{}", values.len()));
        };
        if let Some(v) = &patch.status {
            push("status", v.to_value());
        }
        for (col, v) in [
            ("order_id", &patch.order_id),
            ("price", &patch.price),
            ("expires_at", &patch.expires_at),
            ("dns_zone", &patch.dns_zone),
            ("nameservers", &patch.nameservers),
            ("attached_app_uuid", &patch.attached_app_uuid),
            ("attached_target", &patch.attached_target),
            ("fqdns", &patch.fqdns),
            ("last_error", &patch.last_error),
        ] {
            if let Some(v) = v {
                push(col, v.to_value());
            }
        }
        if let Some(v) = patch.locked {
            push("locked", v.to_value());
        }
        values.push(id.to_value());
        let statement = format!(
            "UPDATE domains SET {} WHERE id = ?{}",
            sets.join(", "),
            values.len()
        );
        self.write(|tx| tx.execute(&statement, &values).map(|_| ()))
    }

    /// Append one lifecycle event.
    pub fn append_domain_event(
        &self,
        domain_id: &str,
        workspace_id: &str,
        kind: &str,
        detail: &str,
    ) -> Result<(), KeystoreError> {
        self.write(|tx| {
            tx.execute(
                "INSERT INTO domain_events (domain_id, workspace_id, at, kind, detail) \
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![domain_id, workspace_id, now_ms(), kind, detail],
            )
            .map(|_| ())
        })
    }

    /// The newest `limit` events of a domain, newest first.
    pub fn domain_events(
        &self,
        domain_id: &str,
        limit: i64,
    ) -> Result<Vec<DomainEvent>, KeystoreError> {
        self.read(|c| {
            c.query(
                "SELECT at, kind, detail FROM domain_events WHERE domain_id = ?1 \
                 ORDER BY id DESC LIMIT ?2",
                params![domain_id, limit],
            )?
            .iter()
            .map(|r| {
                Ok(DomainEvent {
                    at: r.get(0)?,
                    kind: r.get(1)?,
                    detail: r.get(2)?,
                })
            })
            .collect()
        })
    }

    /// Record a debit once per registrar order (a retry adds nothing).
    pub fn record_debit(
        &self,
        workspace_id: &str,
        amount: &str,
        currency: &str,
        description: &str,
        ref_id: &str,
    ) -> Result<(), KeystoreError> {
        self.write(|tx| {
            tx.execute(
                "INSERT INTO billing_ledger (id, workspace_id, at, kind, amount, currency, \
                 description, ref_id) VALUES (?1, ?2, ?3, 'debit', ?4, ?5, ?6, ?7) \
                 ON CONFLICT (kind, ref_id) DO NOTHING",
                params![
                    new_id("bill"),
                    workspace_id,
                    now_ms(),
                    amount,
                    currency,
                    description,
                    ref_id
                ],
            )
            .map(|_| ())
        })
    }

    /// A workspace's ledger, oldest first.
    pub fn ledger(&self, workspace_id: &str) -> Result<Vec<LedgerEntry>, KeystoreError> {
        self.read(|c| {
            c.query(
                "SELECT kind, amount, currency, description, ref_id FROM billing_ledger \
                 WHERE workspace_id = ?1 ORDER BY at, id",
                params![workspace_id],
            )?
            .iter()
            .map(|r| {
                Ok(LedgerEntry {
                    kind: r.get(0)?,
                    amount: r.get(1)?,
                    currency: r.get(2)?,
                    description: r.get(3)?,
                    ref_id: r.get(4)?,
                })
            })
            .collect()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil;
    use super::super::{Keyring, SecretKey};
    use super::*;

    fn ring() -> Keyring {
        Keyring::new(
            SecretKey::parse("VIBN_SECRETS_KEY", &SecretKey::generate_base64()).unwrap(),
            None,
        )
    }

    #[test]
    fn a_name_is_claimed_once_and_stays_with_its_workspace() {
        testutil::each(|store| {
            let a = store.create_workspace("a@x.io", None).unwrap();
            let b = store.create_workspace("b@x.io", None).unwrap();
            let ring = ring();
            let (row, created) = store
                .claim_domain(&a.id, "ex.com", 1, false, &ring)
                .unwrap();
            assert!(created);
            assert_eq!(row.status, "registering");
            let (again, created) = store.claim_domain(&a.id, "ex.com", 2, true, &ring).unwrap();
            assert!(!created);
            assert_eq!(again.id, row.id);
            let (theirs, created) = store
                .claim_domain(&b.id, "ex.com", 1, false, &ring)
                .unwrap();
            assert!(!created);
            assert_eq!(theirs.workspace_id, a.id);
            let pw = store.domain_password(&row.id, &ring).unwrap();
            assert!(pw.expose_secret().len() >= 16);
        });
    }

    #[test]
    fn a_name_another_workspace_failed_to_register_can_be_claimed() {
        testutil::each(|store| {
            let a = store.create_workspace("a@x.io", None).unwrap();
            let b = store.create_workspace("b@x.io", None).unwrap();
            let ring = ring();
            let (row, _) = store
                .claim_domain(&a.id, "ex.com", 1, false, &ring)
                .unwrap();
            store
                .patch_domain(
                    &row.id,
                    &DomainPatch {
                        status: Some("failed".into()),
                        ..Default::default()
                    },
                )
                .unwrap();
            let (theirs, created) = store
                .claim_domain(&b.id, "ex.com", 1, false, &ring)
                .unwrap();
            assert!(created);
            assert_eq!(theirs.workspace_id, b.id);
            // A registered (or pending, or unknown-outcome) row never gives way.
            let (_, created) = store
                .claim_domain(&a.id, "ex.com", 1, false, &ring)
                .unwrap();
            assert!(!created);
            assert_eq!(
                store.domain_record("ex.com").unwrap().unwrap().workspace_id,
                b.id
            );
        });
    }

    #[test]
    fn events_are_append_only_and_read_newest_first() {
        testutil::each(|store| {
            let a = store.create_workspace("a@x.io", None).unwrap();
            let (row, _) = store
                .claim_domain(&a.id, "ex.com", 1, false, &ring())
                .unwrap();
            store
                .append_domain_event(&row.id, &a.id, "register.attempt", "1y")
                .unwrap();
            store
                .append_domain_event(&row.id, &a.id, "register.success", "order 1")
                .unwrap();
            let events = store.domain_events(&row.id, 20).unwrap();
            assert_eq!(events[0].kind, "register.success");
            assert_eq!(events.len(), 2);
            assert!(
                store
                    .test_execute("UPDATE domain_events SET kind = 'x'", params![])
                    .is_err()
            );
            assert!(
                store
                    .test_execute("DELETE FROM domain_events", params![])
                    .is_err()
            );
            assert!(
                store
                    .test_execute("UPDATE billing_ledger SET amount = '0'", params![])
                    .is_ok(),
                "an update that touches no row is no change"
            );
        });
    }

    #[test]
    fn a_debit_is_recorded_once_per_order() {
        testutil::each(|store| {
            let a = store.create_workspace("a@x.io", None).unwrap();
            store
                .record_debit(&a.id, "15.00", "USD", "register ex.com 1y", "o1")
                .unwrap();
            store
                .record_debit(&a.id, "15.00", "USD", "register ex.com 1y", "o1")
                .unwrap();
            assert_eq!(store.ledger(&a.id).unwrap().len(), 1);
        });
    }

    #[test]
    fn patches_change_only_what_they_name() {
        testutil::each(|store| {
            let a = store.create_workspace("a@x.io", None).unwrap();
            let (row, _) = store
                .claim_domain(&a.id, "ex.com", 1, false, &ring())
                .unwrap();
            store
                .patch_domain(
                    &row.id,
                    &DomainPatch {
                        status: Some("registered".into()),
                        order_id: Some(Some("o1".into())),
                        locked: Some(true),
                        ..Default::default()
                    },
                )
                .unwrap();
            let back = store.domain_record("ex.com").unwrap().unwrap();
            assert_eq!(back.status, "registered");
            assert_eq!(back.order_id.as_deref(), Some("o1"));
            assert!(back.locked);
            assert_eq!(back.period, 1);
        });
    }
}
