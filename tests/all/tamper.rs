//! A bundle altered anywhere is refused: every byte flipped, every
//! truncation, unsigned, wrong key, below threshold.

use privcall::bundle::{Header, Part};
use privcall::fixtures as bundle;
use privcall::BundleError;
use privcall::{KeyId, TrustStore};
use privcall::{OpenError, VerifiedList};

use crate::common::{samples, t};

#[test]
fn every_flipped_byte_is_refused() {
    let s = samples();
    let trust = s.trust();
    assert!(VerifiedList::open(&s.bytes, &trust).is_ok());
    for i in 0..s.bytes.len() {
        for mask in [0x01u8, 0x80] {
            let mut b = s.bytes.clone();
            b[i] ^= mask;
            assert!(
                VerifiedList::open(&b, &trust).is_err(),
                "flipping bit {mask:#x} of byte {i} of {} was accepted",
                s.bytes.len()
            );
        }
    }
}

#[test]
fn every_truncation_and_extension_is_refused() {
    let s = samples();
    let trust = s.trust();
    for len in 0..s.bytes.len() {
        assert!(
            VerifiedList::open(&s.bytes[..len], &trust).is_err(),
            "truncated to {len}"
        );
    }
    let mut longer = s.bytes.clone();
    longer.push(0);
    assert_eq!(
        bundle::verify(&longer, &trust).unwrap_err(),
        BundleError::TrailingBytes { count: 1 }
    );
}

fn header() -> Header {
    Header {
        sequence: 9,
        issued_at: t("2026-01-01T00:00:00Z"),
        expires_at: t("2099-01-01T00:00:00Z"),
        scope: "all".into(),
        issuer: [0; 8],
        recipients: Vec::new(),
        inmate_key: None,
        part: Part::Whole,
        canaries: Vec::new(),
    }
}

#[test]
fn named_refusals() {
    let s = samples();
    let body = s.list.to_bytes();
    let key = privcall::files::read_signing_key(&s.key).unwrap();
    let other_dir = tempfile::tempdir().unwrap();
    let (other_key, other_pub, _) =
        privcall::files::keygen(&other_dir.path().join("other")).unwrap();
    let other = privcall::files::read_signing_key(&other_key).unwrap();
    let trust = s.trust();

    // Unsigned: the signature count is zero.
    let signed = bundle::sign(&header(), &body, std::slice::from_ref(&key)).unwrap();
    let mut unsigned = signed[..signed.len() - 74].to_vec();
    unsigned.extend_from_slice(&0u16.to_le_bytes());
    assert_eq!(
        bundle::verify(&unsigned, &trust).unwrap_err(),
        BundleError::Unsigned
    );

    // Signed by a key the host does not trust.
    let foreign = bundle::sign(&header(), &body, std::slice::from_ref(&other)).unwrap();
    let err = bundle::verify(&foreign, &trust).unwrap_err();
    assert!(matches!(err, BundleError::UnknownKeys { .. }), "{err}");

    // Threshold 2 of 2: one signature is not enough; both are.
    let both = TrustStore::from_files(&[s.public.clone(), other_pub], 2).unwrap();
    assert_eq!(
        bundle::verify(&signed, &both).unwrap_err(),
        BundleError::BelowThreshold {
            valid: 1,
            required: 2
        }
    );
    let two = bundle::sign(&header(), &body, &[key.clone(), other]).unwrap();
    assert_eq!(bundle::verify(&two, &both).unwrap().signers.len(), 2);

    // The same key twice does not count twice.
    let dup = bundle::sign(&header(), &body, &[key.clone(), key.clone()]).unwrap();
    assert_eq!(
        bundle::verify(&dup, &trust).unwrap_err(),
        BundleError::DuplicateSigner(KeyId::of(&key.verifying_key()))
    );

    // Wrong magic and format version.
    let mut magic = signed.clone();
    magic[0] = b'X';
    assert_eq!(
        bundle::verify(&magic, &trust).unwrap_err(),
        BundleError::BadMagic
    );
    let mut version = signed.clone();
    version[8] = 9;
    assert_eq!(
        bundle::verify(&version, &trust).unwrap_err(),
        BundleError::UnsupportedVersion { found: 9 }
    );

    // A body the signer signed but that is not a valid list is refused by
    // the loader, not half-loaded.
    let junk = bundle::sign(&header(), b"PCLB\x01\x00junk", &[key]).unwrap();
    let list = VerifiedList::open(&junk, &trust);
    assert!(matches!(list, Err(OpenError::Body(_))), "{list:?}");
}
