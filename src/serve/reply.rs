//! The HTTP face of results and errors: a success is its JSON with 200; an `ApiError` is
//! its status (DESIGN §4, seed 003 §9) with the same `{error, status, hint}` body an MCP
//! error result carries (`mcp::common::error_text`, the one rendering), plus
//! `WWW-Authenticate` on a 401.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::error::ApiError;
use crate::mcp::common::error_text;

/// The response of an `ApiError`.
pub(crate) fn error_response(e: &ApiError) -> Response {
    let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        error_text(e),
    )
        .into_response();
    if status == StatusCode::UNAUTHORIZED {
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"vibn\""),
        );
    }
    response
}

/// The response of a result: 200 with its JSON, or the error's status.
pub(crate) fn json_response(result: Result<Value, ApiError>) -> Response {
    match result {
        Ok(value) => (StatusCode::OK, axum::Json(value)).into_response(),
        Err(e) => error_response(&e),
    }
}

/// A response of an HTTP-only status (429, 504) in the same `{error, status, hint}` shape.
pub(crate) fn status_response(status: StatusCode, message: &str, hint: &str) -> Response {
    let body = json!({"error": message, "status": status.as_u16(), "hint": hint}).to_string();
    (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body,
    )
        .into_response()
}
