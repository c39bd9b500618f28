//! `domains_search`, `domains_register`, `domains_list`, `domains_get` (seed 003 §3.6,
//! issue 15): custom apex domains through OpenSRS, owned by the workspace that registered
//! them. Names are checked strictly (`policy::apex`) before any call; a name another
//! workspace holds is 403 for every tool. Registration is idempotent per (workspace,
//! domain): the row is claimed first, every attempt and outcome is an append-only event,
//! a retry after an unknown outcome asks the registrar before registering again, a
//! `pending` answer is reported as pending, and each completed order is one debit row.

use super::ControlPlaneApi;
use super::domain_params::*;
use crate::api::caller::Caller;
use crate::clients::http::Failure;
use crate::clients::opensrs::{Availability, Ops, Registration};
use crate::error::ApiError;
use crate::keystore::{DomainPatch, DomainRecord, Workspace};
impl ControlPlaneApi {
    /// Availability and price of up to 25 names.
    pub async fn domains_search(
        &self,
        caller: &Caller,
        p: DomainsSearchParams,
    ) -> Result<DomainsSearchOut, ApiError> {
        super::limits::check(&p)?;
        self.workspace(caller)?;
        if p.names.is_empty() || p.names.len() > MAX_SEARCH {
            return Err(ApiError::bad_request(format!(
                "names must list 1 to {MAX_SEARCH} domains; {} given",
                p.names.len()
            )));
        }
        let base = self.inner.settings.base_domain.clone();
        let mut names: Vec<String> = Vec::new();
        for n in &p.names {
            let checked = checked_apex(n, &base)?;
            if !names.contains(&checked) {
                names.push(checked);
            }
        }
        let registrar = self.providers.registrar()?;
        let quotes = names.iter().map(|name| async move {
            let (period, note) = period_for(name, p.period)?;
            let availability = registrar.lookup(name).await?;
            let price = if availability == Availability::Available {
                registrar.price(name, period).await?
            } else {
                None
            };
            let status = match availability {
                Availability::Available => "available",
                Availability::Taken => "taken",
                Availability::Invalid => "invalid",
                Availability::Unknown(_) => "unknown",
            };
            Ok::<_, ApiError>(DomainQuote {
                domain: name.clone(),
                status: status.to_string(),
                available: availability == Availability::Available,
                price,
                period,
                note,
            })
        });
        let results = futures::future::join_all(quotes)
            .await
            .into_iter()
            .collect::<Result<Vec<_>, _>>()?;
        Ok(DomainsSearchOut { results })
    }

    /// The row of `domain` when it is this workspace's (403 when another's, 404 when
    /// nobody's).
    pub(super) async fn owned_domain(
        &self,
        caller: &Caller,
        domain: &str,
    ) -> Result<(Workspace, DomainRecord), ApiError> {
        let ws = self.workspace(caller)?.clone();
        let name = checked_apex(domain, &self.inner.settings.base_domain)?;
        let row = caller.store().await?.domain_record(&name).await?;
        match row {
            Some(r) if r.workspace_id == ws.id => Ok((ws, r)),
            Some(_) => Err(not_yours(&name)),
            None => Err(ApiError::not_found(format!(
                "domain {name} is not registered by this workspace"
            ))
            .with_hint("call domains_list for this workspace's domains, or domains_register")),
        }
    }

    /// Every domain of the workspace.
    pub async fn domains_list(
        &self,
        caller: &Caller,
        p: DomainsListParams,
    ) -> Result<DomainsListOut, ApiError> {
        super::limits::check(&p)?;
        let ws = self.workspace(caller)?;
        let rows = caller.store().await?.domains_of(&ws.id).await?;
        Ok(DomainsListOut {
            domains: rows.iter().map(domain_out).collect(),
        })
    }

    /// One domain and its last 20 events.
    pub async fn domains_get(
        &self,
        caller: &Caller,
        p: DomainRef,
    ) -> Result<DomainDetail, ApiError> {
        super::limits::check(&p)?;
        let (_, row) = self.owned_domain(caller, &p.domain).await?;
        let events = caller
            .store()
            .await?
            .domain_events(&row.id, EVENTS_SHOWN)
            .await?;
        Ok(DomainDetail {
            domain: domain_out(&row),
            events: events
                .into_iter()
                .map(|e| DomainEventOut {
                    at: e.at,
                    kind: e.kind,
                    detail: e.detail,
                })
                .collect(),
        })
    }

    /// Register a domain (idempotent per workspace and name).
    pub async fn domains_register(
        &self,
        caller: &Caller,
        p: DomainsRegisterParams,
    ) -> Result<DomainsRegisterOut, ApiError> {
        super::limits::check(&p)?;
        let target = p.domain.trim().to_ascii_lowercase();
        let result = self.register_inner(caller, p).await;
        caller.audited(&target, result).await
    }

    async fn register_inner(
        &self,
        caller: &Caller,
        p: DomainsRegisterParams,
    ) -> Result<DomainsRegisterOut, ApiError> {
        let ws = self.workspace(caller)?.clone();
        let name = checked_apex(&p.domain, &self.inner.settings.base_domain)?;
        let (period, period_note) = period_for(&name, p.period)?;
        check_contact(&p.contact)?;
        let ca = check_ca(&name, p.ca.as_ref())?;
        let nameservers = p
            .nameservers
            .as_deref()
            .map(registrar_nameservers)
            .transpose()?;
        let ring = ring_of(caller)?;
        let registrar = self.providers.registrar()?;
        let store = caller.store().await?;
        if let Some(existing) = store.domain_record(&name).await? {
            // Another workspace's definite refusal (no order) never made the name theirs.
            let abandoned = existing.status == "failed" && existing.order_id.is_none();
            if existing.workspace_id != ws.id && !abandoned {
                return Err(not_yours(&name));
            }
            if matches!(existing.status.as_str(), "registered" | "attached") {
                return Ok(DomainsRegisterOut {
                    domain: domain_out(&existing),
                    outcome: "already_registered".into(),
                    note: "registered earlier by this workspace; nothing was done".into(),
                });
            }
        }
        let (row, created) = store
            .claim_domain(
                &ws.id,
                &name,
                i64::from(period),
                p.whois_privacy.unwrap_or(false),
                &ring,
            )
            .await?;
        if row.workspace_id != ws.id {
            return Err(not_yours(&name));
        }
        let event = |kind: &'static str, detail: String| {
            let (store, id, ws_id) = (store.clone(), row.id.clone(), ws.id.clone());
            async move { store.append_domain_event(&id, &ws_id, kind, &detail).await }
        };
        let price = registrar.price(&name, period).await?;
        event(
            "register.attempt",
            format!(
                "{period} year(s){}",
                price
                    .as_deref()
                    .map(|p| format!(", quoted {p}"))
                    .unwrap_or_default()
            ),
        )
        .await?;
        // A row that was already there means an earlier attempt whose outcome may be
        // unknown (a lost reply): ask the registrar before registering again.
        if !created {
            if let Some(out) = self.reconcile(caller, &row, &price, &event).await? {
                return Ok(out);
            }
            if row.status == "pending" {
                return Ok(DomainsRegisterOut {
                    domain: domain_out(&row),
                    outcome: "pending".into(),
                    note: format!(
                        "NOT registered yet: order {} is still pending at the registrar;                          nothing was ordered again. Ask the operator to check the reseller                          account, then call domains_register again",
                        row.order_id.as_deref().unwrap_or("?")
                    ),
                });
            }
        }
        let password = store.domain_password(&row.id, &ring).await?;
        let contact = contact_ops(&p.contact, ca.is_some());
        let mut attrs = Ops::assoc([
            ("domain", Ops::text(&name)),
            ("period", Ops::text(period.to_string())),
            ("reg_username", Ops::text(profile_user(&row.id))),
            (
                "reg_password",
                Ops::text(secrecy::ExposeSecret::expose_secret(&password)),
            ),
            ("auto_renew", Ops::text("0")),
            ("f_lock_domain", Ops::text("0")),
            (
                "f_whois_privacy",
                Ops::text(if p.whois_privacy.unwrap_or(false) {
                    "1"
                } else {
                    "0"
                }),
            ),
            ("custom_tech_contact", Ops::text("1")),
            (
                "contact_set",
                Ops::assoc([
                    ("owner", contact.clone()),
                    ("admin", contact.clone()),
                    ("billing", contact.clone()),
                    ("tech", contact),
                ]),
            ),
        ]);
        match &nameservers {
            Some(list) => {
                attrs.set("custom_nameservers", Ops::text("1"));
                attrs.set(
                    "nameserver_list",
                    Ops::Array(
                        list.iter()
                            .enumerate()
                            .map(|(i, n)| {
                                Ops::assoc([
                                    ("name", Ops::text(n)),
                                    ("sortorder", Ops::text((i + 1).to_string())),
                                ])
                            })
                            .collect(),
                    ),
                );
            }
            None => attrs.set("custom_nameservers", Ops::text("0")),
        }
        if let Some((legal, lang, trademark)) = &ca {
            attrs.set("legal_type", Ops::text(legal));
            attrs.set("lang_pref", Ops::text(lang));
            attrs.set(
                "isa_trademark",
                Ops::text(if *trademark { "1" } else { "0" }),
            );
            attrs.set(
                "registrant_extra_info",
                Ops::assoc([("legal_type", Ops::text(legal))]),
            );
        }
        let outcome = registrar.register(attrs).await;
        let note_with = |base: &str| match &period_note {
            Some(n) => format!("{base} ({n})"),
            None => base.to_string(),
        };
        match outcome {
            Err(e) => {
                // No answer, or a gateway's error instead of one: OpenSRS may have acted.
                let unknown = matches!(e.failure, Failure::Timeout | Failure::Connect(_))
                    || e.status().is_some_and(|s| s >= 500);
                let text = e.to_string();
                event(
                    "register.failed",
                    if unknown {
                        format!("outcome unknown: {text}")
                    } else {
                        text.clone()
                    },
                )
                .await?;
                store
                    .patch_domain(
                        &row.id,
                        DomainPatch {
                            status: Some(if unknown { "registering" } else { "failed" }.into()),
                            last_error: Some(Some(text)),
                            ..Default::default()
                        },
                    )
                    .await?;
                let err: ApiError = e.into();
                Err(if unknown {
                    err.with_hint(
                        "the registrar's answer was lost; call domains_register again: vibn \
                         asks the registrar first and does not register twice",
                    )
                } else {
                    err
                })
            }
            Ok(Registration::Done { order_id }) => {
                let r = self
                    .mark_registered(caller, &row, &order_id, &price, &event)
                    .await?;
                Ok(DomainsRegisterOut {
                    domain: domain_out(&r),
                    outcome: "registered".into(),
                    note: note_with(&format!(
                        "registered (order {order_id}), unlocked until domains_attach locks it; \
                         next: domains_attach {{domain: \"{name}\", app_uuid}}"
                    )),
                })
            }
            Ok(Registration::Pending { order_id, text }) => {
                event("register.pending", format!("order {order_id}: {text}")).await?;
                store
                    .patch_domain(
                        &row.id,
                        DomainPatch {
                            status: Some("pending".into()),
                            order_id: Some(Some(order_id.clone())),
                            price: Some(price.clone()),
                            last_error: Some(Some(text.clone())),
                            ..Default::default()
                        },
                    )
                    .await?;
                let r = store
                    .domain_record(&name)
                    .await?
                    .unwrap_or_else(|| row.clone());
                Ok(DomainsRegisterOut {
                    domain: domain_out(&r),
                    outcome: "pending".into(),
                    note: format!(
                        "NOT registered yet: the registrar saved order {order_id} without \
                         processing it ({text}); ask the operator to check the reseller \
                         account (funds), then call domains_register again"
                    ),
                })
            }
            Ok(Registration::Taken) => {
                event("register.failed", "the name is taken (485)".into()).await?;
                store
                    .patch_domain(
                        &row.id,
                        DomainPatch {
                            status: Some("failed".into()),
                            last_error: Some(Some("taken".into())),
                            ..Default::default()
                        },
                    )
                    .await?;
                Err(
                    ApiError::unprocessable(format!("{name} is already registered"))
                        .with_hint("call domains_search for available names"),
                )
            }
            Ok(Registration::Refused { code: 705, text }) => {
                // "Timed out, resubmit request": the outcome is unknown until asked.
                event("register.failed", format!("outcome unknown: 705 {text}")).await?;
                store
                    .patch_domain(
                        &row.id,
                        DomainPatch {
                            last_error: Some(Some(format!("705 {text}"))),
                            ..Default::default()
                        },
                    )
                    .await?;
                Err(ApiError::upstream(format!(
                    "the registrar timed out registering {name} (705 {text})"
                ))
                .with_hint(
                    "call domains_register again: vibn asks the registrar first and does not \
                     register twice",
                ))
            }
            Ok(Registration::Refused { code, text }) => {
                event("register.failed", format!("{code} {text}")).await?;
                store
                    .patch_domain(
                        &row.id,
                        DomainPatch {
                            status: Some("failed".into()),
                            last_error: Some(Some(format!("{code} {text}"))),
                            ..Default::default()
                        },
                    )
                    .await?;
                Err(
                    ApiError::unprocessable(format!("the registrar refused {name}: {code} {text}"))
                        .with_hint("fix what the registrar names and call domains_register again"),
                )
            }
        }
    }

    /// After an earlier attempt: when the registrar already holds the name for this
    /// reseller, the registration is complete (no second order).
    async fn reconcile<F, Fut>(
        &self,
        caller: &Caller,
        row: &DomainRecord,
        price: &Option<String>,
        event: &F,
    ) -> Result<Option<DomainsRegisterOut>, ApiError>
    where
        F: Fn(&'static str, String) -> Fut,
        Fut: std::future::Future<Output = Result<(), crate::keystore::KeystoreError>>,
    {
        let registrar = self.providers.registrar()?;
        let info = registrar.get_domain(&row.domain, "all_info").await?;
        if !info.ok() {
            return Ok(None);
        }
        let order = row
            .order_id
            .clone()
            .unwrap_or_else(|| format!("reconciled-{}", row.id));
        let r = self
            .mark_registered(caller, row, &order, price, event)
            .await?;
        Ok(Some(DomainsRegisterOut {
            domain: domain_out(&r),
            outcome: "registered".into(),
            note: "an earlier attempt had registered the name; confirmed with the registrar, \
                   nothing was ordered again"
                .into(),
        }))
    }

    async fn mark_registered<F, Fut>(
        &self,
        caller: &Caller,
        row: &DomainRecord,
        order_id: &str,
        price: &Option<String>,
        event: &F,
    ) -> Result<DomainRecord, ApiError>
    where
        F: Fn(&'static str, String) -> Fut,
        Fut: std::future::Future<Output = Result<(), crate::keystore::KeystoreError>>,
    {
        let store = caller.store().await?;
        store
            .patch_domain(
                &row.id,
                DomainPatch {
                    status: Some("registered".into()),
                    order_id: Some(Some(order_id.to_string())),
                    price: Some(price.clone()),
                    last_error: Some(None),
                    ..Default::default()
                },
            )
            .await?;
        store
            .record_debit(
                &row.workspace_id,
                price.as_deref().unwrap_or("unquoted"),
                "USD",
                &format!("register {} for {} year(s)", row.domain, row.period),
                order_id,
            )
            .await?;
        event("register.success", format!("order {order_id}")).await?;
        Ok(store
            .domain_record(&row.domain)
            .await?
            .unwrap_or_else(|| row.clone()))
    }
}

/// 403 for a name another workspace holds.
pub(super) fn not_yours(name: &str) -> ApiError {
    ApiError::forbidden(format!("domain {name} belongs to another workspace"))
        .with_hint("do not retry; a domain stays with the workspace that registered it")
}
