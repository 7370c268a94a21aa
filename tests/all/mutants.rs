//! The trust path at its exact bounds, each a test that a one-token
//! change found by `cargo mutants` (issue 23) would fail: the bundle and
//! header size caps, the signature count cap, what a bundle in transit
//! must still bring, and a header that expires when it is issued.

use privcall::bundle::{check_prefix, Header, FORMAT_VERSION, MAGIC, MAX_BUNDLE_BYTES};
use privcall::fixtures::{self as bundle};
use privcall::BundleError;

use crate::common::t;
use crate::engine::{header, Authority, NOW};

/// `fixtures` does not re-export these; they are the format's caps.
const MAX_HEADER_BYTES: usize = 4096;
const MAX_SIGNATURES: usize = 16;

/// Magic, format version and a header length: a bundle's first 14 bytes.
fn lead(header_len: u32) -> Vec<u8> {
    let mut b = MAGIC.to_vec();
    b.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    b.extend_from_slice(&header_len.to_le_bytes());
    b
}

fn signed(h: &Header, signers: &[&Authority]) -> Vec<u8> {
    let keys: Vec<_> = signers.iter().map(|a| a.key.clone()).collect();
    bundle::sign(h, b"body", &keys).unwrap()
}

#[test]
fn the_bundle_size_cap_is_the_largest_body_plus_64_kib() {
    assert_eq!(
        MAX_BUNDLE_BYTES,
        privcall::core::list::MAX_BODY_BYTES + 65_536
    );
    // At the cap the bytes are read (and found wrong); one over, they are not.
    let mut at_cap = vec![0u8; MAX_BUNDLE_BYTES];
    assert_eq!(bundle::frame(&at_cap).unwrap_err(), BundleError::BadMagic);
    at_cap.push(0);
    assert_eq!(
        bundle::frame(&at_cap).unwrap_err(),
        BundleError::TooLarge {
            bytes: MAX_BUNDLE_BYTES + 1
        }
    );
}

#[test]
fn a_header_may_have_4096_bytes_and_no_more() {
    let at_cap = lead(MAX_HEADER_BYTES as u32);
    assert_eq!(
        bundle::frame(&at_cap).unwrap_err(),
        BundleError::Truncated { section: "header" }
    );
    assert_eq!(check_prefix(&at_cap), Ok(None));
    let over = lead(MAX_HEADER_BYTES as u32 + 1);
    let too_large = BundleError::HeaderTooLarge {
        bytes: MAX_HEADER_BYTES + 1,
    };
    assert_eq!(bundle::frame(&over).unwrap_err(), too_large);
    assert_eq!(check_prefix(&over), Err(too_large));
}

/// A bundle with `count` signature entries: the real ones of `signers`,
/// then entries of keys nobody trusts.
fn with_signature_count(signers: &[&Authority], count: usize) -> Vec<u8> {
    let b = signed(&header(1, t("2027-06-01T00:00:00Z")), signers);
    let framing = bundle::frame(&b).unwrap();
    let mut out = framing.signed.to_vec();
    out.extend_from_slice(&(count as u16).to_le_bytes());
    for (id, sig) in &framing.signatures {
        out.extend_from_slice(&id.0);
        out.extend_from_slice(sig);
    }
    for i in framing.signatures.len()..count {
        out.extend_from_slice(&[0xEE, i as u8, 0, 0, 0, 0, 0, 0]);
        out.extend_from_slice(&[0u8; 64]);
    }
    out
}

#[test]
fn sixteen_signatures_are_read_and_seventeen_are_refused() {
    let a = Authority::new(1);
    let trust = Authority::trust(&[&a], 1);
    let sixteen = with_signature_count(&[&a], MAX_SIGNATURES);
    let framing = bundle::frame(&sixteen).unwrap();
    assert_eq!(framing.signatures.len(), MAX_SIGNATURES);
    let verified = bundle::verify(&sixteen, &trust).unwrap();
    assert_eq!(verified.signers.len(), 1);
    let seventeen = with_signature_count(&[&a], MAX_SIGNATURES + 1);
    assert_eq!(
        bundle::frame(&seventeen).unwrap_err(),
        BundleError::TooManySignatures {
            count: MAX_SIGNATURES + 1
        }
    );
}

#[test]
fn trailing_bytes_are_counted() {
    let a = Authority::new(1);
    let mut b = signed(&header(1, t("2027-06-01T00:00:00Z")), &[&a]);
    let len = b.len();
    b.extend_from_slice(&[0; 3]);
    assert_eq!(
        bundle::frame(&b).unwrap_err(),
        BundleError::TrailingBytes { count: 3 }
    );
    b.truncate(len + 1);
    assert_eq!(
        bundle::frame(&b).unwrap_err(),
        BundleError::TrailingBytes { count: 1 }
    );
}

/// Once the body's length is in, a prefix of a one-signature bundle
/// tells its exact length; before, nothing is wrong yet.
#[test]
fn a_bundle_in_transit_says_how_long_it_is() {
    let a = Authority::new(1);
    let b = signed(&header(1, t("2027-06-01T00:00:00Z")), &[&a]);
    let framing = bundle::frame(&b).unwrap();
    let lengths_known = 14 + framing.header.len() + 8;
    for k in 0..=b.len() {
        let want = if k < lengths_known {
            None
        } else {
            Some(b.len())
        };
        assert_eq!(check_prefix(&b[..k]), Ok(want), "prefix of {k} bytes");
    }
    // A body that would make the bundle exactly the cap is let through;
    // one byte more is refused from the prefix alone.
    let at_cap = |extra: u64| {
        let mut p = lead(0);
        let body = (MAX_BUNDLE_BYTES - 14 - 8 - 2 - 8 - 64) as u64 + extra;
        p.extend_from_slice(&body.to_le_bytes());
        check_prefix(&p)
    };
    assert_eq!(at_cap(0), Ok(Some(MAX_BUNDLE_BYTES)));
    assert_eq!(
        at_cap(1),
        Err(BundleError::TooLarge {
            bytes: MAX_BUNDLE_BYTES + 1
        })
    );
}

/// A header must expire after it is issued, if only by a second.
#[test]
fn a_header_expiring_when_issued_is_malformed() {
    let a = Authority::new(1);
    let trust = Authority::trust(&[&a], 1);
    let issued = t(NOW);
    let mut h = header(1, issued);
    h.issued_at = issued;
    let err = bundle::verify(&signed(&h, &[&a]), &trust).unwrap_err();
    assert!(matches!(err, BundleError::MalformedHeader(_)), "{err}");
    h.expires_at = issued + 1;
    let bytes = signed(&h, &[&a]);
    let ok = bundle::verify(&bytes, &trust).unwrap();
    assert_eq!(
        (ok.header.issued_at, ok.header.expires_at),
        (issued, issued + 1)
    );
}
