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

/// A list's digest names it in every decision: the SHA-256 of the signed
/// part, as the framing, the verifier and `inspect` each report it.
#[test]
fn a_lists_digest_is_the_sha256_of_its_signed_part() {
    use sha2::{Digest as _, Sha256};
    let a = Authority::new(1);
    let trust = Authority::trust(&[&a], 1);
    let one = signed(&header(1, t("2027-06-01T00:00:00Z")), &[&a]);
    let two = signed(&header(2, t("2027-06-01T00:00:00Z")), &[&a]);
    let mut digests = Vec::new();
    for b in [&one, &two] {
        let framing = bundle::frame(b).unwrap();
        let want: [u8; 32] = Sha256::digest(framing.signed).into();
        assert_eq!(framing.digest(), want);
        assert_eq!(bundle::verify(b, &trust).unwrap().digest, want);
        let unverified = privcall::bundle::UnverifiedBundle::read(b).unwrap();
        assert_eq!(unverified.digest, hex::encode(want));
        digests.push(want);
    }
    assert_ne!(digests[0], digests[1]);
}

/// A key id is the first 8 bytes of the key's SHA-256, shown as 16 hex
/// digits (as `keygen`, `inspect` and refusals print it).
#[test]
fn a_key_id_shows_as_its_hex_digits() {
    use sha2::{Digest as _, Sha256};
    let key = Authority::new(1).key.verifying_key();
    let id = privcall::KeyId::of(&key);
    let digest = Sha256::digest(key.as_bytes());
    assert_eq!(id.0, digest[..8]);
    assert_eq!(id.to_string(), hex::encode(&digest[..8]));
    assert_eq!(id.to_string().len(), 16);
}

/// The trust store lists the ids of its keys (status shows them), and a
/// bundle names its first signer as its issuer whatever the header said.
#[test]
fn key_ids_and_the_issuer() {
    let (a, b) = (Authority::new(1), Authority::new(2));
    let trust = Authority::trust(&[&a, &b], 1);
    let id = |x: &Authority| privcall::KeyId::of(&x.key.verifying_key());
    let mut want = vec![id(&a), id(&b)];
    want.sort();
    assert_eq!(trust.key_ids().collect::<Vec<_>>(), want);
    let h = header(1, t("2027-06-01T00:00:00Z"));
    assert_eq!(h.issuer, [0; 8]);
    for (first, second) in [(&a, &b), (&b, &a)] {
        let bytes = signed(&h, &[first, second]);
        let verified = bundle::verify(&bytes, &trust).unwrap();
        assert_eq!(verified.header.issuer, id(first).0);
    }
}

/// Opening the state folder removes only the temporary files of crashed
/// writes (hidden, with `.tmp` in the name), nothing else found there.
#[test]
fn only_stale_temporary_files_are_removed() {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("state");
    let state = privcall::fixtures::StateDir::open(&base).unwrap();
    let stale = state.path().join(".state.tmp4242");
    let kept = [state.path().join(".keep"), state.path().join("notes.tmp")];
    for f in kept.iter().chain([&stale]) {
        std::fs::write(f, "x").unwrap();
    }
    privcall::fixtures::StateDir::open(&base).unwrap();
    assert!(!stale.exists());
    for f in &kept {
        assert!(f.exists(), "{}", f.display());
    }
}

/// A state file that cannot even be looked at (here a link to itself) is
/// damage, not a fresh edge: restoring says so instead of starting empty.
#[test]
fn an_unreadable_state_file_is_damage_not_absence() {
    let dir = tempfile::tempdir().unwrap();
    let state = privcall::fixtures::StateDir::open(&dir.path().join("state")).unwrap();
    let file = state.path().join("state");
    std::os::unix::fs::symlink(&file, &file).unwrap();
    let restored = format!("{:?}", state.restore());
    assert!(restored.starts_with("Damaged"), "{restored}");
    std::fs::remove_file(&file).unwrap();
    let restored = format!("{:?}", state.restore());
    assert!(restored.starts_with("Fresh"), "{restored}");
}

/// A state file larger than the largest bundle, window parts of as many
/// bytes again and its header lines is not read at all (a sparse file: no
/// disk, no memory spent).
#[test]
fn a_state_file_over_its_cap_is_not_read() {
    let cap = (2 * MAX_BUNDLE_BYTES + (1 << 20) + 128) as u64;
    let dir = tempfile::tempdir().unwrap();
    let state = privcall::fixtures::StateDir::open(&dir.path().join("state")).unwrap();
    let file = std::fs::File::create(state.path().join("state")).unwrap();
    file.set_len(cap + 1).unwrap();
    let restored = format!("{:?}", state.restore());
    assert!(restored.contains("larger than any state"), "{restored}");
    // At the cap the file is read (1 GiB of zeros, briefly) and found to
    // be no state.
    file.set_len(cap).unwrap();
    let restored = format!("{:?}", state.restore());
    assert!(restored.contains("not a privcall state file"), "{restored}");
}

/// A window part's header names a facility code of 1 to 64 bytes; an
/// empty or longer code is refused before anything else is read. Parts
/// are named in messages as an admin reads them.
#[test]
fn a_window_parts_facility_code_is_bounded() {
    use privcall::bundle::Part;
    use privcall::core::list::fleet::MAX_CODE_BYTES;
    let a = Authority::new(1);
    let trust = Authority::trust(&[&a], 1);
    let part_for = |code: &str| {
        let mut h = header(1, t("2027-06-01T00:00:00Z"));
        h.part = Part::Windows {
            facility: code.to_string(),
        };
        bundle::verify(&signed(&h, &[&a]), &trust).map(|v| v.header.part)
    };
    let longest = "F".repeat(MAX_CODE_BYTES);
    assert_eq!(
        part_for(&longest),
        Ok(Part::Windows {
            facility: longest.clone()
        })
    );
    for code in [String::new(), format!("{longest}F")] {
        let err = part_for(&code).unwrap_err();
        assert!(
            matches!(&err, BundleError::MalformedHeader(m) if m.contains("facility code")),
            "{code:?}: {err}"
        );
    }
    for (part, text) in [
        (Part::Whole, "list"),
        (Part::Registry, "registry part"),
        (
            Part::Windows {
                facility: "JCCC".into(),
            },
            "window part for JCCC",
        ),
    ] {
        assert_eq!(part.to_string(), text);
    }
}

/// An edge identity in a log or a panic message shows its key id, never
/// the secret.
#[test]
fn an_edge_identity_debugs_as_its_key_id() {
    let identity = privcall::edge::EdgeIdentity::generate();
    let shown = format!("{identity:?}");
    assert_eq!(shown, format!("EdgeIdentity({})", identity.id()));
    assert!(!shown.to_uppercase().contains("AGE-SECRET-KEY"), "{shown}");
}

/// An inmate key in a log or a panic message shows its key id, never the
/// key.
#[test]
fn an_inmate_key_debugs_as_its_key_id() {
    let key = privcall::edge::InmateKey::from_bytes([0x5a; 16]);
    let shown = format!("{key:?}");
    assert_eq!(shown, format!("InmateKey({})", key.id()));
    assert!(
        !shown.contains("5a5a") && !shown.contains("ZFpa"),
        "{shown}"
    );
}
