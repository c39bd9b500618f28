//! Maximum lengths of the platform tools' string parameters (see `api::limits`). The
//! keystore's own limits are reused, so a memory or PRD the keystore would refuse is
//! refused here first; `list_memory`'s query is kept far below SQLite's LIKE pattern
//! limit (50,000 bytes), which otherwise surfaced as a 503 "keystore unavailable".

use super::{
    FinalizePrdParams, GetPrdParams, GetSkillParams, ListMemoryParams, ListSkillsParams,
    SaveMemoryParams, WebSearchParams,
};
use crate::api::limits::{Limit, NAME, limits};
use crate::keystore::{MAX_MEMORY_BYTES, MAX_MEMORY_KEY, MAX_PRD_BYTES};

/// Tags, as the keystore stores them.
const TAG: Limit = Limit::bytes(64);
/// Memory search text.
const QUERY: Limit = Limit::chars(1000);
/// Web search queries (Brave's API takes at most 400 characters).
const WEB_QUERY: Limit = Limit::bytes(400);

/// Check params against the table below (the first line of each entry point).
pub(super) use crate::api::limits::check;

limits! {
    SaveMemoryParams {
        key: Limit::bytes(MAX_MEMORY_KEY),
        content: Limit::bytes(MAX_MEMORY_BYTES),
        tags: TAG.items(50),
    }
    ListMemoryParams { query: QUERY, tag: TAG }
    ListSkillsParams {}
    GetSkillParams { name: NAME }
    FinalizePrdParams { project: Limit::bytes(MAX_MEMORY_KEY), content: Limit::bytes(MAX_PRD_BYTES) }
    GetPrdParams { project: Limit::bytes(MAX_MEMORY_KEY) }
    WebSearchParams { query: WEB_QUERY }
}
