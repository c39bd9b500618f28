//! `finalize_prd` (a new immutable version) and `get_prd` (the latest or a given one).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::PlatformApi;
use crate::api::caller::Caller;
use crate::api::de;
use crate::error::ApiError;

/// Parameters of `finalize_prd`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct FinalizePrdParams {
    /// The project (product) the PRD is for.
    pub project: String,
    /// The PRD, Markdown (up to 1 MiB).
    pub content: String,
}

/// The version finalized.
#[derive(Debug, Serialize, JsonSchema)]
pub struct FinalizePrdOut {
    /// The project.
    pub project: String,
    /// The new version (earlier ones are kept, unchanged).
    pub version: u32,
    /// SHA-256 of the text.
    pub sha256: String,
    /// Size in bytes.
    pub bytes: u64,
    /// Finalized at, unix ms.
    pub created_at: i64,
}

/// Parameters of `get_prd`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct GetPrdParams {
    /// The project.
    pub project: String,
    /// A version number (default: the latest).
    #[serde(default, deserialize_with = "de::opt_u64")]
    #[schemars(schema_with = "de::integer_schema")]
    pub version: Option<u64>,
}

/// A PRD version with its metadata.
#[derive(Debug, Serialize, JsonSchema)]
pub struct GetPrdOut {
    /// The project.
    pub project: String,
    /// This version.
    pub version: u32,
    /// True when no later version exists.
    pub latest: bool,
    /// Every version number.
    pub versions: Vec<u32>,
    /// The text.
    pub content: String,
    /// SHA-256 of the text.
    pub sha256: String,
    /// Who finalized it (a key hint, or operator).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finalized_by: Option<String>,
    /// Finalized at, unix ms.
    pub created_at: i64,
}

impl PlatformApi {
    /// Finalize a new version of a project's PRD.
    pub async fn finalize_prd(
        &self,
        caller: &Caller,
        p: FinalizePrdParams,
    ) -> Result<FinalizePrdOut, ApiError> {
        super::limits::check(&p)?;
        let who = caller.principal();
        let target = p.project.clone();
        let result = async {
            let (scope, workspace) = Self::scope(who);
            let v = caller
                .store()
                .await?
                .finalize_prd(
                    &scope,
                    workspace.as_deref(),
                    p.project.trim(),
                    &p.content,
                    Some(&Self::author(who)),
                )
                .await?;
            Ok(FinalizePrdOut {
                project: v.project,
                version: v.version,
                sha256: v.sha256,
                bytes: v.bytes,
                created_at: v.created_at,
            })
        }
        .await;
        caller.audited(&target, result).await
    }

    /// The latest (or a given) version of a project's PRD.
    pub async fn get_prd(&self, caller: &Caller, p: GetPrdParams) -> Result<GetPrdOut, ApiError> {
        super::limits::check(&p)?;
        let who = caller.principal();
        let (scope, _) = Self::scope(who);
        let store = caller.store().await?;
        let project = p.project.trim();
        let version = p.version.map(|v| v.min(u64::from(u32::MAX)) as u32);
        match store.get_prd(&scope, project, version).await? {
            Some((prd, versions)) => Ok(GetPrdOut {
                latest: versions.last() == Some(&prd.version),
                project: prd.project,
                version: prd.version,
                versions,
                content: prd.content,
                sha256: prd.sha256,
                finalized_by: prd.created_by,
                created_at: prd.created_at,
            }),
            None => {
                let known = store.list_prd_projects(&scope).await?;
                let hint = if let Some((_, latest)) = known.iter().find(|(name, _)| name == project)
                {
                    format!("{project} has versions 1 to {latest}")
                } else if known.is_empty() {
                    "no PRD has been finalized yet; call finalize_prd".to_string()
                } else {
                    let names: Vec<&str> = known.iter().map(|(n, _)| n.as_str()).collect();
                    format!("projects with a PRD: {}", names.join(", "))
                };
                let what = match version {
                    Some(v) => format!("no version {v} of the PRD of {project}"),
                    None => format!("no PRD for {project}"),
                };
                Err(ApiError::not_found(what).with_hint(hint))
            }
        }
    }
}
