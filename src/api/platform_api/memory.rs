//! `save_memory` (upsert by key) and `list_memory` (search, newest first, bounded).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::PlatformApi;
use crate::api::caller::Caller;
use crate::api::de;
use crate::error::ApiError;
use crate::keystore::Memory;

/// Memories listed when no limit is given.
pub const DEFAULT_LIMIT: u64 = 20;
/// Most memories listed at once.
pub const MAX_LIMIT: u64 = 100;

/// Parameters of `save_memory`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct SaveMemoryParams {
    /// A short unique key; saving an existing key replaces it.
    pub key: String,
    /// What to remember (up to 64 KiB).
    pub content: String,
    /// Tags to find it by.
    #[serde(default, deserialize_with = "de::opt_string_list")]
    #[schemars(schema_with = "de::string_list_schema")]
    pub tags: Option<Vec<String>>,
}

/// A memory.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct MemoryOut {
    /// Key.
    pub key: String,
    /// Content.
    pub content: String,
    /// Tags.
    pub tags: Vec<String>,
    /// Created, unix ms.
    pub created_at: i64,
    /// Last saved, unix ms.
    pub updated_at: i64,
}

impl From<Memory> for MemoryOut {
    fn from(m: Memory) -> Self {
        MemoryOut {
            key: m.key,
            content: m.content,
            tags: m.tags,
            created_at: m.created_at,
            updated_at: m.updated_at,
        }
    }
}

/// What `save_memory` did.
#[derive(Debug, Serialize, JsonSchema)]
pub struct SaveMemoryOut {
    /// The memory as saved.
    pub memory: MemoryOut,
    /// True when the key was new (false: replaced).
    pub created: bool,
}

/// Parameters of `list_memory`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct ListMemoryParams {
    /// Text to look for in keys, contents and tags (case-insensitive).
    #[serde(default)]
    pub query: Option<String>,
    /// Only memories with this tag.
    #[serde(default)]
    pub tag: Option<String>,
    /// How many (default 20, max 100).
    #[serde(default, deserialize_with = "de::opt_u64")]
    #[schemars(schema_with = "de::integer_schema")]
    pub limit: Option<u64>,
}

/// Memories, newest first.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ListMemoryOut {
    /// The memories.
    pub memories: Vec<MemoryOut>,
    /// How many match in all.
    pub total: u64,
    /// True when more match than were returned.
    pub truncated: bool,
}

impl PlatformApi {
    /// Save a memory in this workspace (and session).
    pub async fn save_memory(
        &self,
        caller: &Caller,
        p: SaveMemoryParams,
    ) -> Result<SaveMemoryOut, ApiError> {
        super::limits::check(&p)?;
        let who = caller.principal();
        let target = p.key.clone();
        let result = async {
            let (scope, _) = Self::scope(who);
            let (memory, created) = caller
                .store()
                .await?
                .save_memory(
                    &scope,
                    &self.inner.session,
                    p.key.trim(),
                    &p.content,
                    &p.tags.unwrap_or_default(),
                )
                .await?;
            Ok(SaveMemoryOut {
                memory: memory.into(),
                created,
            })
        }
        .await;
        caller.audited(&target, result).await
    }

    /// Search this workspace's (and session's) memories.
    pub async fn list_memory(
        &self,
        caller: &Caller,
        p: ListMemoryParams,
    ) -> Result<ListMemoryOut, ApiError> {
        super::limits::check(&p)?;
        let who = caller.principal();
        let (scope, _) = Self::scope(who);
        let limit = p.limit.unwrap_or(DEFAULT_LIMIT).clamp(1, MAX_LIMIT) as u32;
        let query = p.query.as_deref().map(str::trim).filter(|q| !q.is_empty());
        let tag = p.tag.as_deref().map(str::trim).filter(|t| !t.is_empty());
        let (memories, total) = caller
            .store()
            .await?
            .list_memory(&scope, &self.inner.session, query, tag, limit)
            .await?;
        Ok(ListMemoryOut {
            truncated: total > memories.len() as u64,
            total,
            memories: memories.into_iter().map(MemoryOut::from).collect(),
        })
    }
}
