//! Bundle framing and signature verification, `VerifiedList::open`, with a
//! throwaway trust store. The first byte picks the mode:
//!
//! - even: the rest is a bundle as it arrives. Opening must not panic; a
//!   bundle it accepts has exactly the signed part the authority's key
//!   would write for its header and body (nothing else can carry a valid
//!   signature); the framing agrees with the upload check
//!   (`check_prefix`) on the whole and on every prefix, so an upload is
//!   never refused early when the whole bundle frames.
//! - odd: the rest is a list body, correctly signed here, so verification
//!   passes and the body's policy reader runs: opening may refuse only the
//!   body, and a body the full decoder accepts must open with the same
//!   policies.

#![no_main]

use libfuzzer_sys::fuzz_target;
use privcall::bundle::{check_prefix, Header, Part, UnverifiedBundle};
use privcall::fixtures::{frame, sign, throwaway_key, throwaway_trust, NOW};
use privcall::{OpenError, TrustStore, VerifiedList};
use privcall_core::list::CompiledList;
use privcall_fuzz::{signed_seeds, write_seeds_if_asked};

thread_local! {
    static TRUST: TrustStore = throwaway_trust();
}

/// The header the odd mode signs bodies under.
fn header() -> Header {
    Header {
        sequence: 1,
        issued_at: NOW - 86_400,
        expires_at: NOW + 86_400,
        scope: "all".into(),
        issuer: [0; 8],
        recipients: Vec::new(),
        inmate_key: None,
        part: Part::Whole,
        canaries: Vec::new(),
    }
}

fn raw(bytes: &[u8], trust: &TrustStore) {
    let framed = frame(bytes);
    // The upload check on the first bytes never refuses a bundle whose
    // whole framing is sound, at any prefix.
    if framed.is_ok() {
        let least = check_prefix(bytes);
        assert!(
            matches!(least, Ok(Some(n)) if n <= bytes.len()),
            "a framed bundle fails the upload check: {least:?}"
        );
        for end in (0..bytes.len()).step_by(bytes.len() / 64 + 1) {
            assert!(
                check_prefix(&bytes[..end]).is_ok(),
                "the upload check refuses the first {end} bytes of a framed bundle"
            );
        }
    }
    let _ = UnverifiedBundle::read(bytes);
    let Ok(list) = VerifiedList::open(bytes, trust) else {
        return;
    };
    let framed = framed.expect("an opened bundle frames");
    let again =
        sign(&list.header, &list.body, &[throwaway_key()]).expect("a header that decoded encodes");
    let again = frame(&again).expect("a signed bundle frames");
    assert_eq!(
        again.signed, framed.signed,
        "an accepted bundle's signed part is not the authority's encoding of its header and body"
    );
}

fn signed_body(body: &[u8], trust: &TrustStore) {
    let bytes = sign(&header(), body, &[throwaway_key()]).expect("one key signs");
    let opened = VerifiedList::open(&bytes, trust);
    if let Err(e) = &opened {
        assert!(
            matches!(e, OpenError::Body(_)),
            "a correctly signed bundle refused: {e}"
        );
    }
    if let Ok(list) = CompiledList::from_bytes(body) {
        let opened = opened.expect("a body the decoder accepts opens");
        if !list.facilities.iter().any(|f| f.code == "NOWHERE") {
            assert_eq!(opened.policy("NOWHERE"), &list.default_policy);
        }
        for f in &list.facilities {
            assert_eq!(
                opened.policy(&f.code),
                &f.policy,
                "a facility's policy differs"
            );
        }
    }
}

fuzz_target!(
    init: {
        write_seeds_if_asked("bundle", || {
            let mut seeds: Vec<Vec<u8>> = signed_seeds()
                .into_iter()
                .map(|b| [&[0u8][..], &b].concat())
                .collect();
            seeds.extend(
                [(0, 0, 1), (4, 2, 7)].iter().map(|&(n, w, seed)| {
                    let body = privcall::fixtures::synthetic_list(n, w, seed).list.to_bytes();
                    [&[1u8][..], &body].concat()
                }),
            );
            seeds
        });
    },
    |data: &[u8]| {
        let Some((&mode, rest)) = data.split_first() else {
            return;
        };
        TRUST.with(|trust| {
            if mode % 2 == 0 {
                raw(rest, trust);
            } else {
                signed_body(rest, trust);
            }
        });
    }
);
