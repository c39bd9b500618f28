//! Maximum lengths of the string parameters of every tool (issue 10; DESIGN §3–4). Each
//! params type lists its limits once (the `limits!` tables in each `*_api/limits.rs`);
//! the same table is checked here, in `api`, before any key lookup, query or upstream call
//! (a 400 naming the limit, never the value), and written into the tool's input schema
//! (`maxLength`/`maxItems` and a sentence in the description) by `mcp::common`.
//!
//! No I/O; depends only on `error`.

use crate::error::ApiError;

/// Paths (files, folders) relative to a root or inside a repository: PATH_MAX.
pub const PATH: Limit = Limit::chars(4096);
/// Names: repositories (`owner/name`), owners, branches, refs, labels, skills, projects,
/// applications. Gitea and git names are far shorter; 255 is a file name's limit.
pub const NAME: Limit = Limit::chars(255);
/// Coolify uuids (cuid2, 24–25 characters, or RFC 4122 uuids, 36).
pub const UUID: Limit = Limit::chars(64);
/// Titles (Gitea caps issue titles at 255).
pub const TITLE: Limit = Limit::chars(255);
/// Prose sent upstream: issue bodies and comments.
pub const PROSE: Limit = Limit::chars(65_536);
/// Globs.
pub const GLOB: Limit = Limit::chars(1024);
/// Items in a list parameter (labels, tags, paths).
pub const LIST_ITEMS: usize = 100;

/// How a length is counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// Unicode scalar values, as JSON Schema's `maxLength` counts.
    Chars,
    /// Bytes of UTF-8 (for contents whose storage limit is in bytes).
    Bytes,
}

/// The maximum length of one string parameter, or of each string of a list parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    /// The maximum length.
    pub max: usize,
    /// What `max` counts.
    pub unit: Unit,
    /// For a list parameter: how many strings it may hold.
    pub max_items: usize,
    /// Whether a NUL character may occur (not in names, paths or process arguments, which
    /// no OS call can carry; a NUL there used to surface as a 500).
    pub nul_allowed: bool,
}

impl Limit {
    /// At most `max` characters, none of them NUL.
    pub const fn chars(max: usize) -> Self {
        Limit {
            max,
            unit: Unit::Chars,
            max_items: LIST_ITEMS,
            nul_allowed: false,
        }
    }

    /// At most `max` bytes of UTF-8 (contents: NUL allowed).
    pub const fn bytes(max: usize) -> Self {
        Limit {
            max,
            unit: Unit::Bytes,
            max_items: LIST_ITEMS,
            nul_allowed: true,
        }
    }

    /// The same limit, with NUL refused (text that becomes a process argument).
    pub const fn without_nul(self) -> Self {
        Limit {
            nul_allowed: false,
            ..self
        }
    }

    /// The same limit per string, for a list of at most `n` strings.
    pub const fn items(self, n: usize) -> Self {
        Limit {
            max_items: n,
            ..self
        }
    }

    /// The limit in words, for messages and schema descriptions.
    pub fn describe(&self) -> String {
        match self.unit {
            Unit::Chars => format!("{} characters", self.max),
            Unit::Bytes if self.max >= 1024 * 1024 && self.max.is_multiple_of(1024 * 1024) => {
                format!("{} MiB of UTF-8", self.max / (1024 * 1024))
            }
            Unit::Bytes if self.max >= 1024 && self.max.is_multiple_of(1024) => {
                format!("{} KiB of UTF-8", self.max / 1024)
            }
            Unit::Bytes => format!("{} bytes of UTF-8", self.max),
        }
    }

    /// `value` of parameter `field` is within the limit, or a 400 naming it.
    pub fn check(&self, field: &str, value: &str) -> Result<(), ApiError> {
        if !self.nul_allowed && value.contains('\0') {
            return Err(ApiError::bad_request(format!(
                "{field} contains a NUL character, which it cannot hold"
            ))
            .with_hint(format!("remove the NUL (\\u0000) from {field}")));
        }
        // Within `max` bytes is within `max` characters: only longer text is counted.
        if value.len() <= self.max {
            return Ok(());
        }
        let (len, unit) = match self.unit {
            Unit::Bytes => (value.len(), "bytes"),
            Unit::Chars => (value.chars().count(), "characters"),
        };
        if len <= self.max {
            return Ok(());
        }
        Err(ApiError::bad_request(format!(
            "{field} is {len} {unit} long; the limit is {}",
            self.describe()
        ))
        .with_hint(format!(
            "send a {field} of at most {}; it cannot succeed as it is",
            self.describe()
        )))
    }
}

/// A parameter value the limits apply to: a string, or a list of strings, maybe absent.
pub trait LimitedValue {
    /// Check the value of parameter `field` against `limit`.
    fn check_limit(&self, field: &str, limit: &Limit) -> Result<(), ApiError>;
}

impl LimitedValue for String {
    fn check_limit(&self, field: &str, limit: &Limit) -> Result<(), ApiError> {
        limit.check(field, self)
    }
}

impl LimitedValue for Vec<String> {
    fn check_limit(&self, field: &str, limit: &Limit) -> Result<(), ApiError> {
        if self.len() > limit.max_items {
            return Err(ApiError::bad_request(format!(
                "{field} has {} items; the limit is {}",
                self.len(),
                limit.max_items
            )));
        }
        self.iter()
            .enumerate()
            .try_for_each(|(i, item)| limit.check(&format!("{field}[{i}]"), item))
    }
}

impl<T: LimitedValue> LimitedValue for Option<T> {
    fn check_limit(&self, field: &str, limit: &Limit) -> Result<(), ApiError> {
        self.as_ref()
            .map_or(Ok(()), |v| v.check_limit(field, limit))
    }
}

/// A params type whose string parameters have maximum lengths.
pub trait Limited {
    /// Each limited parameter, by its name in the schema, with its limit.
    const LIMITS: &'static [(&'static str, Limit)];

    /// Check every limited parameter (a 400 naming the first limit exceeded).
    fn check_limits(&self) -> Result<(), ApiError>;
}

/// Check `params` against its limits: the first line of every `api` entry point.
pub fn check<P: Limited>(params: &P) -> Result<(), ApiError> {
    params.check_limits()
}

/// Declare the limits of params types: `Type { field: LIMIT, rust_name as "schema": LIMIT }`.
/// One list per type serves both the check and the schema, so they cannot drift.
macro_rules! limits {
    ($($ty:ty { $($field:ident $(as $name:literal)?: $limit:expr),* $(,)? })*) => {$(
        impl $crate::api::limits::Limited for $ty {
            const LIMITS: &'static [(&'static str, $crate::api::limits::Limit)] =
                &[$(($crate::api::limits::limits!(@name $field $($name)?), $limit)),*];

            fn check_limits(&self) -> Result<(), $crate::error::ApiError> {
                $(
                    $crate::api::limits::LimitedValue::check_limit(
                        &self.$field,
                        $crate::api::limits::limits!(@name $field $($name)?),
                        &$limit,
                    )?;
                )*
                Ok(())
            }
        }
    )*};
    (@name $field:ident $name:literal) => { $name };
    (@name $field:ident) => { stringify!($field) };
}
pub(crate) use limits;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn within_the_limit_passes_and_over_it_is_a_400_naming_the_limit() {
        let limit = Limit::chars(5);
        assert!(
            limit.check("name", "ééééé").is_ok(),
            "characters, not bytes"
        );
        let e = limit.check("name", "abcdef").unwrap_err();
        assert_eq!(e.status(), 400);
        assert_eq!(
            e.message(),
            "name is 6 characters long; the limit is 5 characters"
        );
        let e = Limit::bytes(4).check("content", "ééé").unwrap_err();
        assert_eq!(
            e.message(),
            "content is 6 bytes long; the limit is 4 bytes of UTF-8"
        );
    }

    #[test]
    fn the_message_never_quotes_the_value() {
        let huge = "z".repeat(5 * 1024 * 1024);
        let e = PATH.check("path", &huge).unwrap_err();
        assert!(!e.message().contains("zz") && !e.hint().unwrap_or("").contains("zz"));
        assert!(e.message().len() < 200);
    }

    #[test]
    fn lists_are_limited_in_items_and_per_item() {
        let limit = Limit::chars(3).items(2);
        assert!(vec!["abc".to_string()].check_limit("tags", &limit).is_ok());
        let many = vec!["a".to_string(); 3];
        assert!(
            many.check_limit("tags", &limit)
                .unwrap_err()
                .message()
                .contains("3 items")
        );
        let long = Some(vec!["a".to_string(), "abcd".to_string()]);
        let e = long.check_limit("tags", &limit).unwrap_err();
        assert!(
            e.message().starts_with("tags[1] is 4 characters"),
            "{}",
            e.message()
        );
        assert!(None::<String>.check_limit("x", &limit).is_ok());
    }

    #[test]
    fn nul_is_refused_in_names_and_arguments_but_not_in_contents() {
        assert_eq!(PATH.check("path", "a\0b").unwrap_err().status(), 400);
        let argument = Limit::bytes(10).without_nul();
        assert!(argument.check("command", "echo\0").is_err());
        assert!(Limit::bytes(10).check("content", "a\0b").is_ok());
    }

    #[test]
    fn sizes_are_described_in_their_units() {
        assert_eq!(Limit::bytes(16 * 1024 * 1024).describe(), "16 MiB of UTF-8");
        assert_eq!(Limit::bytes(64 * 1024).describe(), "64 KiB of UTF-8");
        assert_eq!(Limit::bytes(400).describe(), "400 bytes of UTF-8");
        assert_eq!(PATH.describe(), "4096 characters");
    }
}
