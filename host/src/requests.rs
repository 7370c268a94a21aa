//! What `privcall serve` reads from a client, parsed without I/O: the
//! `/v1/decide` body and an uploaded bundle's framing as its bytes arrive.
//!
//! It lives in the library, not in the daemon's binary, so that the fuzz
//! target `daemon_request` (`fuzz/`) runs exactly the code the daemon runs;
//! the daemon keeps only the HTTP around it (deadlines, status codes).
//! Errors never carry the request's values: they may be a privileged
//! number or an inmate id.

use serde::Deserialize;

use crate::text::{Rfc3339Text, Round};
use crate::trust::bundle::{check_prefix, BundleError};
use privcall_core::types::Call;

/// The largest decision request body: a call is a few short strings.
pub const MAX_DECIDE_BODY: usize = 4 << 10;

/// The `/v1/decide` request body as JSON has it.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DecideBody {
    facility: String,
    inmate: String,
    dialed: String,
    at: String,
    #[serde(default)]
    started: Option<String>,
}

/// A `/v1/decide` request, read and its times parsed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecideRequest {
    /// Facility code.
    pub facility: String,
    /// Inmate id.
    pub inmate: String,
    /// The number as dialed.
    pub dialed: String,
    /// Decision time, seconds since the epoch.
    pub at: i64,
    /// When the call started (a mid-call re-ask), seconds since the epoch.
    pub started: Option<i64>,
}

impl DecideRequest {
    /// The call to decide, borrowing the request's strings.
    pub fn call(&self) -> Call<'_> {
        Call {
            facility: &self.facility,
            inmate: &self.inmate,
            dialed: &self.dialed,
            at: self.at,
            started: self.started,
        }
    }
}

/// Why a `/v1/decide` body was refused (the daemon answers 400). The
/// text names a field or a position, never a value.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DecideRequestError {
    /// Not the JSON object a call is: the text says how.
    #[error("{0}")]
    Body(String),
    /// `at` or `started` (named) is not an RFC 3339 time.
    #[error("field `{0}`: not an RFC 3339 time")]
    BadTime(&'static str),
}

/// Parses a `/v1/decide` body: the JSON object, then its times.
pub fn parse_decide(body: &[u8]) -> Result<DecideRequest, DecideRequestError> {
    let request: DecideBody =
        serde_json::from_slice(body).map_err(|e| DecideRequestError::Body(json_error(&e)))?;
    let Ok(Rfc3339Text(at)) = Rfc3339Text::parse(&request.at, Round::Down) else {
        return Err(DecideRequestError::BadTime("at"));
    };
    let started = match request
        .started
        .as_deref()
        .map(|s| Rfc3339Text::parse(s, Round::Down))
    {
        None => None,
        Some(Ok(s)) => Some(s.0),
        Some(Err(_)) => return Err(DecideRequestError::BadTime("started")),
    };
    Ok(DecideRequest {
        facility: request.facility,
        inmate: request.inmate,
        dialed: request.dialed,
        at,
        started,
    })
}

/// A JSON error that never echoes the request's values (they may be a
/// privileged number or an inmate id).
fn json_error(e: &serde_json::Error) -> String {
    let text = e.to_string();
    if text.starts_with("missing field") {
        // Names one of our fields, never a value.
        return format!(
            "request body: {}",
            text.split(" at line").next().unwrap_or(&text)
        );
    }
    if text.starts_with("unknown field") {
        // The client's key is not echoed: it may be a number used as a key.
        return "request body: an unknown field; expected facility, inmate, dialed, at, started"
            .into();
    }
    let what = match e.classify() {
        serde_json::error::Category::Syntax => "is not valid JSON",
        serde_json::error::Category::Eof => "ends early",
        serde_json::error::Category::Data => "has a field of the wrong type",
        serde_json::error::Category::Io => "could not be read",
    };
    format!(
        "request body {what} (line {}, column {})",
        e.line(),
        e.column()
    )
}

/// An uploaded bundle as its bytes arrive, refused as soon as its size or
/// first bytes show it cannot be one: a `Content-Length` over the cap
/// before reading, a wrong magic, format version or section length on the
/// first bytes, more bytes than the cap. [`crate::VerifiedList::open`]
/// still decides on the whole bundle.
#[derive(Debug)]
pub struct UploadReader {
    max: usize,
    declared: Option<u64>,
    bytes: Vec<u8>,
    /// Every length of the framing has been seen and checked.
    framing_known: bool,
}

impl UploadReader {
    /// Starts reading an upload of `declared` bytes (its `Content-Length`,
    /// when it has a valid one) under the cap `max`. A declared size over
    /// the cap is refused before a byte is read
    /// ([`BundleError::TooLarge`]).
    pub fn new(declared: Option<u64>, max: usize) -> Result<UploadReader, BundleError> {
        if let Some(n) = declared.filter(|&n| n > max as u64) {
            return Err(BundleError::TooLarge {
                bytes: usize::try_from(n).unwrap_or(usize::MAX),
            });
        }
        let capacity = declared.map_or(0, |n| n as usize).min(max);
        Ok(UploadReader {
            max,
            declared,
            bytes: Vec::with_capacity(capacity),
            framing_known: false,
        })
    }

    /// Takes the next bytes of the body. [`BundleError::TooLarge`] when
    /// the body grows past the cap, or its framing says the bundle will
    /// (or that it is longer than declared); the framing's own error when
    /// the first bytes are no bundle's.
    pub fn push(&mut self, data: &[u8]) -> Result<(), BundleError> {
        let total = self.bytes.len().saturating_add(data.len());
        if total > self.max {
            return Err(BundleError::TooLarge { bytes: total });
        }
        self.bytes.extend_from_slice(data);
        if !self.framing_known {
            if let Some(least) = check_prefix(&self.bytes)? {
                self.framing_known = true;
                if least > self.max || self.declared.is_some_and(|n| (least as u64) > n) {
                    return Err(BundleError::TooLarge { bytes: least });
                }
            }
        }
        Ok(())
    }

    /// The whole body, once every byte has been taken.
    pub fn finish(self) -> Vec<u8> {
        self.bytes
    }
}
