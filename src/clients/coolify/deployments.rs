//! Coolify deployments as the API sends them: the row, its state, its build log (a JSON
//! list inside a string) and the page of an application's deployments, which comes in two
//! documented shapes (the controller's `{count, deployments}` and the spec's bare array).
//! Everything here reads what Coolify sent and says so when it was unusual; nothing is
//! dropped or invented without a word. No HTTP.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::clients::http::Undecodable;
use crate::clients::http::decode::{self, from_value, kind_of};

/// Said when a deployment carries no log at all.
const NO_LOG: &str = "Coolify sent no log: the token lacks the read:sensitive ability, or the \
                      deployment has not written any yet";
/// Said when the log is not the JSON list of entries Coolify writes.
const PLAIN_LOG: &str =
    "Coolify's log was not the usual JSON list of entries; it is shown as plain text";

/// One deployment (logs are a JSON document inside a string).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct Deployment {
    /// Deployment uuid.
    pub deployment_uuid: String,
    /// The application's name.
    pub application_name: Option<String>,
    /// The application's id.
    pub application_id: Option<Value>,
    /// `queued`, `in_progress`, `finished`, `failed`, `failed-rolled-back` or
    /// `cancelled-by-user`; kept as sent, whatever a newer release adds.
    pub status: String,
    /// Commit sha.
    pub commit: Option<String>,
    /// Commit message.
    pub commit_message: Option<String>,
    /// Creation time.
    pub created_at: Option<String>,
    /// Last change.
    pub updated_at: Option<String>,
    /// JSON-encoded list of log entries (only with `read:sensitive`).
    pub logs: Option<String>,
}

/// Where a deployment is, for the states of Coolify's `ApplicationDeploymentStatus`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeploymentState {
    /// `queued`: waiting for a slot.
    Queued,
    /// `in_progress`: building or starting.
    InProgress,
    /// `finished`: deployed.
    Finished,
    /// `failed`, or `failed-rolled-back` (failed, the previous image restored).
    Failed,
    /// `cancelled-by-user`.
    Cancelled,
    /// A state this vibn does not know (a newer release's): reported, never waited on,
    /// since vibn cannot tell whether it will ever change.
    Unknown,
}

impl DeploymentState {
    /// The state a `status` string names.
    pub fn of(status: &str) -> Self {
        match status {
            "queued" => DeploymentState::Queued,
            "in_progress" => DeploymentState::InProgress,
            "finished" => DeploymentState::Finished,
            "failed" | "failed-rolled-back" => DeploymentState::Failed,
            "cancelled-by-user" => DeploymentState::Cancelled,
            _ => DeploymentState::Unknown,
        }
    }

    /// True once the deployment can no longer change.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            DeploymentState::Finished | DeploymentState::Failed | DeploymentState::Cancelled
        )
    }
}

/// A deployment's log as read, with a note when Coolify sent none or an unusual one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeploymentLog {
    /// The entries, hidden (internal) ones dropped.
    pub lines: Vec<LogLine>,
    /// Why the log is empty or how it was read, when that needs saying.
    pub note: Option<String>,
}

impl Deployment {
    /// The state its `status` names.
    pub fn state(&self) -> DeploymentState {
        DeploymentState::of(&self.status)
    }

    /// True once the deployment can no longer change.
    pub fn is_final(&self) -> bool {
        self.state().is_final()
    }

    /// The log, parsed from the JSON-in-a-string field. Entries that are not log objects
    /// are shown as their text; a log that is not a JSON list is shown line by line as
    /// plain text, with a note saying so.
    pub fn log(&self) -> DeploymentLog {
        let Some(raw) = self.logs.as_deref() else {
            return DeploymentLog {
                lines: Vec::new(),
                note: Some(NO_LOG.to_string()),
            };
        };
        if raw.trim().is_empty() {
            return DeploymentLog::default();
        }
        match decode::parse(raw.as_bytes()) {
            Ok(Value::Array(entries)) => DeploymentLog {
                lines: entries
                    .into_iter()
                    .map(LogLine::from_entry)
                    .filter(|l| !l.hidden)
                    .collect(),
                note: None,
            },
            _ => DeploymentLog {
                lines: raw.lines().map(LogLine::plain).collect(),
                note: Some(PLAIN_LOG.to_string()),
            },
        }
    }
}

/// One entry of a deployment log.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(default)]
pub struct LogLine {
    /// The command that produced it, if any.
    pub command: Option<String>,
    /// The text.
    pub output: String,
    /// `stdout` or `stderr`.
    #[serde(rename = "type")]
    pub stream: Option<String>,
    /// Time stamp.
    pub timestamp: Option<String>,
    /// Internal entry the UI hides.
    pub hidden: bool,
}

impl LogLine {
    /// A line of plain text.
    fn plain(text: &str) -> LogLine {
        LogLine {
            output: text.to_string(),
            ..LogLine::default()
        }
    }

    /// An entry of the JSON list: a log object, else its text as a line.
    fn from_entry(entry: Value) -> LogLine {
        match entry {
            Value::String(text) => LogLine::plain(&text),
            Value::Object(_) => from_value(entry.clone()).unwrap_or_else(|_| LogLine {
                output: entry.to_string(),
                ..LogLine::default()
            }),
            other => LogLine::plain(&other.to_string()),
        }
    }
}

/// `GET /deployments/applications/{uuid}`: a page of deployments, newest first.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct DeploymentPage {
    /// Total deployments of the application; `None` when Coolify answered the spec's
    /// bare array, which carries no count.
    pub count: Option<i64>,
    /// This page.
    pub deployments: Vec<Deployment>,
}

impl DeploymentPage {
    /// Read either documented shape: the controller's `{count, deployments}` or the
    /// spec's bare array. Items without a `deployment_uuid` (the spec names the item type
    /// `Application`) are not deployments anyone can follow and are left out.
    pub fn read(value: Value) -> Result<Self, Undecodable> {
        let mut page = match value {
            Value::Object(_) => from_value::<DeploymentPage>(value)?,
            Value::Array(_) => DeploymentPage {
                count: None,
                deployments: from_value(value)?,
            },
            other => {
                return Err(Undecodable::whole(format!(
                    "expected {{count, deployments}} or an array of deployments, got {}",
                    kind_of(&other)
                )));
            }
        };
        let listed = page.deployments.len();
        page.deployments.retain(|d| !d.deployment_uuid.is_empty());
        if page.deployments.len() < listed {
            tracing::warn!(
                left_out = listed - page.deployments.len(),
                "Coolify listed deployments without a deployment_uuid; left out"
            );
        }
        Ok(page)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_log(logs: &str) -> Deployment {
        Deployment {
            status: "finished".into(),
            logs: Some(logs.into()),
            ..Default::default()
        }
    }

    #[test]
    fn log_entries_are_parsed_from_the_json_string_and_hidden_ones_dropped() {
        let log = with_log(
            r#"[{"command":null,"output":"Building","type":"stdout","hidden":false},{"command":"docker ps","output":"x","type":"stdout","hidden":true}]"#,
        )
        .log();
        assert_eq!(log.lines.len(), 1);
        assert_eq!(log.lines[0].output, "Building");
        assert_eq!(log.note, None);
    }

    #[test]
    fn a_log_that_is_not_a_json_list_is_shown_as_text_with_a_note() {
        for raw in ["not json\nsecond line", r#"{"output":"one object"}"#, "42"] {
            let log = with_log(raw).log();
            let text: Vec<&str> = log.lines.iter().map(|l| l.output.as_str()).collect();
            assert_eq!(text, raw.lines().collect::<Vec<_>>(), "{raw}");
            assert_eq!(log.note.as_deref(), Some(PLAIN_LOG), "{raw}");
        }
    }

    #[test]
    fn log_entries_that_are_not_objects_keep_their_text() {
        let log =
            with_log(r#"["plain", 7, {"output": 3}, {"output": null, "hidden": null}]"#).log();
        let text: Vec<&str> = log.lines.iter().map(|l| l.output.as_str()).collect();
        assert_eq!(text, ["plain", "7", r#"{"output":3}"#, ""]);
    }

    #[test]
    fn an_absent_log_is_explained() {
        let log = Deployment::default().log();
        assert!(log.lines.is_empty());
        assert_eq!(log.note.as_deref(), Some(NO_LOG));
    }

    #[test]
    fn states_are_read_from_coolify_status_names() {
        for (status, state, is_final) in [
            ("queued", DeploymentState::Queued, false),
            ("in_progress", DeploymentState::InProgress, false),
            ("finished", DeploymentState::Finished, true),
            ("failed", DeploymentState::Failed, true),
            ("failed-rolled-back", DeploymentState::Failed, true),
            ("cancelled-by-user", DeploymentState::Cancelled, true),
            ("paused", DeploymentState::Unknown, false),
            ("", DeploymentState::Unknown, false),
        ] {
            assert_eq!(DeploymentState::of(status), state, "{status}");
            assert_eq!(state.is_final(), is_final, "{status}");
        }
    }

    #[test]
    fn a_deployment_page_reads_both_documented_shapes() {
        let rows = r#"[{"deployment_uuid":"d2","status":"queued"},{"deployment_uuid":"d1","status":"finished"}]"#;
        let object = format!(r#"{{"count":5,"deployments":{rows}}}"#);
        let page = DeploymentPage::read(decode::parse(object.as_bytes()).unwrap()).unwrap();
        assert_eq!(page.count, Some(5));
        assert_eq!(page.deployments.len(), 2);
        let page = DeploymentPage::read(decode::parse(rows.as_bytes()).unwrap()).unwrap();
        assert_eq!(page.count, None);
        assert_eq!(page.deployments[1].deployment_uuid, "d1");
    }

    #[test]
    fn spec_shaped_items_without_a_deployment_uuid_are_left_out() {
        let body = br#"[{"uuid":"app","name":"web","status":"running"}]"#;
        let page = DeploymentPage::read(decode::parse(body).unwrap()).unwrap();
        assert!(page.deployments.is_empty());
    }
}
