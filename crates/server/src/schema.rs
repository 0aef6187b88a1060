//! The bodies the API's handlers answer with, named in their `#[utoipa::path]` declarations.
//! Kept apart from [`crate::openapi`], which lists the handlers: the handlers name these
//! bodies, the document names the handlers, and neither module needs the other.

use serde::Serialize;
use utoipa::ToSchema;

/// The API's error body.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: String,
}

/// The FastAPI-style error body (`{"detail": …}`) of the trading endpoints under `/order`,
/// `/account`, `/price` and `/signal`.
#[derive(Debug, Serialize, ToSchema)]
pub struct DetailBody {
    /// A message, or a list of validation faults.
    pub detail: serde_json::Value,
}
