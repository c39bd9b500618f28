//! What a model reads when a call fails (issue 10): an `isError` result whose text is
//! `{error, status, hint}` and that carries no `structuredContent` (it would contradict
//! the tool's `outputSchema`); arguments that do not deserialize get the same shape, with
//! the value they quote cut short.

use serde_json::json;

use crate::support::{Workspace, call, err_body};

/// A failing tool answers `isError` with its body as JSON text and no structured content.
#[tokio::test]
async fn an_error_result_carries_its_body_as_text_only() {
    let ws = Workspace::new();
    let client = ws.client().await;
    let r = call(&client, "read_file", json!({"path": "nope.txt"})).await;
    assert_eq!(r.structured_content, None);
    let body = err_body(&r);
    assert_eq!(body["status"], 404);
    assert!(body["hint"].is_string(), "{body}");
}

/// Arguments that do not deserialize are a 400 of the same shape, and the value serde
/// quotes is cut short instead of being echoed whole.
#[tokio::test]
async fn undeserializable_arguments_are_a_400_quoting_little() {
    let ws = Workspace::new();
    let client = ws.client().await;
    let huge = "9".repeat(100_000) + "x";
    let r = call(
        &client,
        "read_file",
        json!({"path": "f.txt", "offset": huge}),
    )
    .await;
    let body = err_body(&r);
    assert_eq!(body["status"], 400);
    let text = serde_json::to_string(&r.content).unwrap();
    assert!(
        text.len() < 4000,
        "the result is small: {} bytes",
        text.len()
    );
}
