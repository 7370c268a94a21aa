//! The daemon's request parsing (`privcall::requests`, the code
//! `privcall serve` runs). The first byte picks the request:
//!
//! - even: the rest is a `/v1/decide` body (at most the daemon's cap).
//!   Parsing must not panic; a refusal's text is one of the daemon's own
//!   sentences (a field name, a line and a column at most), never a
//!   value of the request; an accepted request's times are the ones its
//!   text gives, to the second.
//! - odd: the rest is an upload, cut into chunks as a network would (the
//!   next two bytes give the cap and the declared length). Whatever the
//!   chunking, the upload is accepted or refused alike; an accepted one is
//!   every byte, under the cap and the declared length; and a bundle whose
//!   whole framing is sound is never refused by its first bytes.

#![no_main]

use libfuzzer_sys::fuzz_target;
use privcall::fixtures::{format_time, frame, parse_instant};
use privcall::requests::{parse_decide, DecideRequestError, UploadReader, MAX_DECIDE_BODY};
use privcall::text::Round;
use privcall_fuzz::{signed_seeds, write_seeds_if_asked};

/// The daemon's refusals of a decide body, with their digits taken out
/// (the line and column numbers): anything else would echo the request.
fn known_refusal(text: &str) -> bool {
    let skeleton: String = text.chars().filter(|c| !c.is_ascii_digit()).collect();
    let fields = ["facility", "inmate", "dialed", "at", "started"];
    fields
        .iter()
        .any(|f| skeleton == format!("request body: missing field `{f}`"))
        || [
            "request body: an unknown field; expected facility, inmate, dialed, at, started",
            "request body is not valid JSON (line , column )",
            "request body ends early (line , column )",
            "request body has a field of the wrong type (line , column )",
            "request body could not be read (line , column )",
            "field `at`: not an RFC  time",
            "field `started`: not an RFC  time",
        ]
        .contains(&skeleton.as_str())
}

fn decide(body: &[u8]) {
    if body.len() > MAX_DECIDE_BODY {
        return; // the daemon refuses it before parsing
    }
    match parse_decide(body) {
        Err(e) => {
            let text = e.to_string();
            assert!(
                known_refusal(&text),
                "a refusal that is not the daemon's own: {text:?}"
            );
            // Line and column numbers stay within the body.
            for n in text
                .split(|c: char| !c.is_ascii_digit())
                .filter(|s| !s.is_empty())
            {
                if n != "3339" {
                    let n: usize = n.parse().unwrap_or(usize::MAX);
                    assert!(
                        n <= body.len() + 1,
                        "a number in a refusal beyond the body: {text:?}"
                    );
                }
            }
            if let DecideRequestError::BadTime(field) = e {
                assert!(field == "at" || field == "started");
            }
        }
        Ok(request) => {
            // The strings are the body's, read again by plain serde_json;
            // the times are its texts', and they survive the round trip
            // through the RFC 3339 text a decision reports them in.
            let value: serde_json::Value =
                serde_json::from_slice(body).expect("an accepted body is JSON");
            let text = |k: &str| value.get(k).and_then(|v| v.as_str());
            assert_eq!(Some(request.dialed.as_str()), text("dialed"));
            assert_eq!(Some(request.facility.as_str()), text("facility"));
            assert_eq!(Some(request.inmate.as_str()), text("inmate"));
            let call = request.call();
            assert_eq!(call.dialed, request.dialed);
            assert_eq!((call.at, call.started), (request.at, request.started));
            assert_eq!(request.started.is_some(), text("started").is_some());
            for t in [Some(request.at), request.started].into_iter().flatten() {
                assert_eq!(
                    parse_instant(&format_time(t), Round::Down).ok(),
                    Some(t),
                    "an instant does not survive its RFC 3339 text"
                );
            }
        }
    }
}

fn upload(rest: &[u8]) {
    let [max, declared, chunk, body @ ..] = rest else {
        return;
    };
    // Caps and declared lengths around the body's own length, so every
    // comparison is met from both sides.
    let max = usize::from(*max) * body.len() / 128 + 1;
    let declared = (declared % 4 != 0).then(|| (usize::from(*declared) * body.len() / 128) as u64);
    let whole = read(body, max, declared, body.len().max(1));
    let chunked = read(body, max, declared, usize::from(*chunk % 16) + 1);
    assert_eq!(
        whole.is_ok(),
        chunked.is_ok(),
        "chunking changes the outcome: {whole:?} / {chunked:?}"
    );
    if let Ok(bytes) = &whole {
        assert_eq!(bytes, body);
        assert!(bytes.len() <= max);
    }
    // A bundle that frames, within the cap and as long as declared, is
    // taken.
    if frame(body).is_ok() && body.len() <= max && declared.is_none_or(|d| d == body.len() as u64) {
        assert!(
            chunked.is_ok(),
            "a sound bundle refused on upload: {chunked:?}"
        );
    }
}

/// An upload of `body` in chunks of `chunk` bytes.
fn read(body: &[u8], max: usize, declared: Option<u64>, chunk: usize) -> Result<Vec<u8>, String> {
    let mut reader = UploadReader::new(declared, max).map_err(|e| e.to_string())?;
    for piece in body.chunks(chunk) {
        reader.push(piece).map_err(|e| e.to_string())?;
    }
    Ok(reader.finish())
}

fuzz_target!(
    init: {
        write_seeds_if_asked("daemon_request", || {
            let mut seeds = vec![
                br#"{"facility":"JCCC","inmate":"A1001","dialed":"9 573 555 0142","at":"2026-12-01T10:00:00Z"}"#.to_vec(),
                br#"{"facility":"F","inmate":"","dialed":"+44 20 7946 0958","at":"2026-12-01T10:00:00.999+02:00","started":"2026-12-01T09:00:00Z"}"#.to_vec(),
                br#"{"facility":"F","inmate":"I","dialed":"x","at":"2026-13-01T10:00:00Z"}"#.to_vec(),
                br#"{"facility":"F","inmate":"I","dialed":"5735550142","at":"@1790000000","extra":1}"#.to_vec(),
            ];
            for s in &mut seeds {
                s.insert(0, 0);
            }
            for bundle in signed_seeds().into_iter().take(2) {
                seeds.push([&[1u8, 200, 255, 3][..], &bundle].concat());
            }
            seeds
        });
    },
    |data: &[u8]| {
        let Some((&mode, rest)) = data.split_first() else {
            return;
        };
        if mode % 2 == 0 {
            decide(rest);
        } else {
            upload(rest);
        }
    }
);
