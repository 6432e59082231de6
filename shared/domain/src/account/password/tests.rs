use super::*;
use proptest::prelude::*;

/// The password of every vector below but Django's.
const PASSWORD: &str = "correct horse battery";

// Made with Python's `bcrypt` 5.0 (`hashpw(PASSWORD, gensalt(rounds=4))`; the `$2y$` one is a
// `$2a$` hash with PHP's prefix, which marks the same algorithm), `hashlib.pbkdf2_hmac` in
// Django's form, and `argon2-cffi` 25.1 (`argon2.low_level.hash_secret`).
const BCRYPT_2A: &str = "$2a$04$Wzvx8WfT4Z3hzPuj/hQfE.ONzpD24yFidDRffxd1uBWwBv533osDK";
const BCRYPT_2B: &str = "$2b$04$9mLAvdWaTFGcG6u4X438De7BS8aFsZiw4FXbpSLHYOu0zXoo1NsLO";
const BCRYPT_2Y: &str = "$2y$04$cv09x8dGupSri.lOyim8e.fluRCu3jN/rMiGt4YVLEHlHTjdjJTte";
/// Cost 5, of [`NON_ASCII`].
const BCRYPT_2B_NON_ASCII: &str = "$2b$05$dduAm8JJKoaXr0t1BTEUquuB84tZYBvd8Gddd.zIS/vVyD3DroOye";
const NON_ASCII: &str = "pässwörd 密码";
const PBKDF2: &str =
    "pbkdf2_sha256$1000$Qz8pV2mKx7TfL3nR9wYb4c$CxzS9/tE6pHJD7a8QtquCfyjP2S/OHWOIrBizg1hVhA=";
/// Django's own: `make_password("lètmein", "seasalt", "pbkdf2_sha256")` in Django 1.5's
/// hasher tests (10 000 iterations then).
const DJANGO_DOC: &str = "pbkdf2_sha256$10000$seasalt$CWWFdHOWwPnki7HvkcqN9iA2T3KLW1cf2uZ5kvArtVY=";
const DJANGO_DOC_PASSWORD: &str = "lètmein";
const ARGON2I: &str = "$argon2i$v=19$m=256,t=2,p=2$izbKa/2GApEMtIzhyYjXBg$VG3ACWVo25vt4aqaauTqJj3ylf8anivREbK2g9H46pY";
const ARGON2ID: &str = "$argon2id$v=19$m=512,t=1,p=1$izbKa/2GApEMtIzhyYjXBg$PwcMENMfYTqErYKAOkJpY2Ev2RNvYe97Px2sRdwvWk0";
const ARGON2D: &str = "$argon2d$v=19$m=128,t=1,p=1$izbKa/2GApEMtIzhyYjXBg$zl5koiDCobDHXb2+339AWj8PNKgZNWaidrhF98o/KQs";
const ARGON2I_V16: &str = "$argon2i$v=16$m=256,t=2,p=1$izbKa/2GApEMtIzhyYjXBg$2VYI30FqS5stpXoz+KJmLozc/ixYcnCc7G3eiJl1NEw";
/// [`ARGON2I_V16`] without its version, as argon2 before 1.3 wrote it (argon2-cffi verifies it).
const ARGON2I_NO_VERSION: &str =
    "$argon2i$m=256,t=2,p=1$izbKa/2GApEMtIzhyYjXBg$2VYI30FqS5stpXoz+KJmLozc/ixYcnCc7G3eiJl1NEw";

// Real hashes of PASSWORD just past a bound (made the same way).
const BCRYPT_COST_15: &str = "$2b$15$Km0GIvdWCCvoV8GxL4ZKjeo47uldFNSgrhkJ2qalveLDBYikIykYG";
const PBKDF2_2000001: &str =
    "pbkdf2_sha256$2000001$Qz8pV2mKx7TfL3nR9wYb4c$GJJE+4f88eL/XCGbWcfqrh9BU4Uywucy6bFdjQGQv3c=";
const ARGON2ID_257_MIB: &str = "$argon2id$v=19$m=263168,t=1,p=1$LyTH/NmVhmCFgRhkX3osrg$Z9g00f63ZNGfabU/GAQNAVN12WpJq6d+NWhQr/UDXeA";

/// Every imported vector with its password.
const IMPORTED: [(&str, &str); 11] = [
    (BCRYPT_2A, PASSWORD),
    (BCRYPT_2B, PASSWORD),
    (BCRYPT_2Y, PASSWORD),
    (BCRYPT_2B_NON_ASCII, NON_ASCII),
    (PBKDF2, PASSWORD),
    (DJANGO_DOC, DJANGO_DOC_PASSWORD),
    (ARGON2I, PASSWORD),
    (ARGON2ID, PASSWORD),
    (ARGON2D, PASSWORD),
    (ARGON2I_V16, PASSWORD),
    (ARGON2I_NO_VERSION, PASSWORD),
];

/// `hash` with its first `from` replaced by `to`.
fn with(hash: &str, from: &str, to: &str) -> String {
    assert!(hash.contains(from), "{hash} has no {from}");
    hash.replacen(from, to, 1)
}

fn refusal(hash: &str) -> String {
    match check_imported_hash("password_hash", hash) {
        Err(ApiError::Invalid(message)) => message,
        other => panic!("{hash}: expected a 400, got {other:?}"),
    }
}

#[test]
fn each_imported_form_verifies_its_password_and_no_other() {
    for (hash, password) in IMPORTED {
        let before = password_verifications_on_this_thread();
        assert!(verify_password(hash, password), "{hash}");
        assert!(!verify_password(hash, &format!("{password}!")), "{hash}");
        assert!(!verify_password(hash, &password.to_uppercase()), "{hash}");
        assert!(!verify_password(hash, ""), "{hash}");
        // Counted for every form, as the login tests rely on.
        assert_eq!(
            password_verifications_on_this_thread() - before,
            4,
            "{hash}"
        );
    }
    assert!(verify_password_or_dummy(Some(BCRYPT_2B), PASSWORD));
    assert!(!verify_password_or_dummy(Some(PBKDF2), "wrong"));
}

#[test]
fn an_argon2_string_without_a_version_is_argon2_1_0() {
    assert!(verify_password(ARGON2I_NO_VERSION, PASSWORD));
    // The same string read as 1.3 (the argon2 crate's default) would not match.
    let as_1_3 = with(ARGON2I_NO_VERSION, "$m=", "$v=19$m=");
    assert!(!verify_password(&as_1_3, PASSWORD));
}

#[test]
fn hashes_beyond_the_bounds_never_verify_and_cost_nothing() {
    let start = std::time::Instant::now();
    for hash in [BCRYPT_COST_15, PBKDF2_2000001, ARGON2ID_257_MIB] {
        assert!(!verify_password(hash, PASSWORD), "{hash}");
        assert!(check_imported_hash("h", hash).is_err(), "{hash}");
    }
    // bcrypt at cost 31 would run for days.
    assert!(!verify_password(&with(BCRYPT_2B, "$04$", "$31$"), PASSWORD));
    assert!(start.elapsed() < std::time::Duration::from_secs(1));
}

#[test]
fn malformed_and_unknown_hashes_are_mismatches() {
    let cases = [
        String::new(),
        PASSWORD.to_string(), // a plain-text "hash" is not a hash
        "5f4dcc3b5aa765d61d8327deb882cf99".into(), // md5
        with(BCRYPT_2A, "$2a$", "$2x$"), // PHP's buggy-8-bit marker
        with(BCRYPT_2B, "$04$", "$+4$"),
        BCRYPT_2B[..59].to_string(),
        format!("{BCRYPT_2B}A"),
        with(BCRYPT_2B, "9mLA", "9mLé"),
        with(PBKDF2, "pbkdf2_sha256$", "pbkdf2_sha1$"),
        with(PBKDF2, "$1000$", "$$"),
        with(PBKDF2, "$1000$", "$+1000$"),
        with(PBKDF2, "$Qz8p", "$Qz$8p"),
        with(PBKDF2, "hVhA=", "hVhA"),
        with(PBKDF2, "/tE6", "_tE6"),
        PBKDF2.rsplit_once('$').unwrap().0.to_string(),
        with(ARGON2ID, "$argon2id$", "$argon2x$"),
        with(ARGON2ID, "v=19", "v=20"),
        with(ARGON2ID, "p=1", "p=1,x=1"),
        ARGON2ID.rsplit_once('$').unwrap().0.to_string(),
        with(ARGON2ID, "izbKa/2GApEMtIzhyYjXBg", "c2FsdA"),
        "$argon2id$".into(),
        "$2b$".into(),
        "pbkdf2_sha256$".into(),
    ];
    for hash in cases {
        assert!(!verify_password(&hash, PASSWORD), "{hash:?}");
        assert!(check_imported_hash("h", &hash).is_err(), "{hash:?}");
    }
}

#[test]
fn imported_hashes_are_kept_as_given() {
    let ours = hash_password(PASSWORD).unwrap();
    for hash in IMPORTED
        .map(|(hash, _)| hash)
        .into_iter()
        .chain([DUMMY_PASSWORD_HASH, ours.as_str()])
    {
        assert_eq!(check_imported_hash("h", hash).unwrap(), hash);
    }
    // At the bounds.
    for hash in [
        with(BCRYPT_2B, "$04$", "$14$"),
        with(PBKDF2, "$1000$", "$2000000$"),
        with(PBKDF2, "$1000$", "$1$"),
        with(ARGON2ID, "m=512,t=1,p=1", "m=262144,t=4,p=4"),
        with(ARGON2ID, "m=512,t=1,p=1", "m=65536,t=10,p=1"),
    ] {
        assert_eq!(check_imported_hash("h", &hash).unwrap(), hash);
    }
}

#[test]
fn imported_hashes_out_of_form_or_bounds_are_refused_naming_the_field_and_the_problem() {
    let form = "password_hash: is not a bcrypt, Django PBKDF2 or argon2 PHC hash";
    let bcrypt = "password_hash: is not a well-formed bcrypt hash ($2b$<cost>$<53 characters>)";
    let pbkdf2 = "password_hash: is not a well-formed Django PBKDF2 hash \
                  (pbkdf2_sha256$<iterations>$<salt>$<base64 hash>)";
    let pbkdf2_hash = "password_hash: PBKDF2 hash must be 32 bytes in standard base64";
    let cases = [
        ("5f4dcc3b5aa765d61d8327deb882cf99".to_string(), form),
        (with(BCRYPT_2A, "$2a$", "$2x$"), form),
        (with(PBKDF2, "pbkdf2_sha256$", "pbkdf2_sha1$"), form),
        (format!(" {PBKDF2}"), form),
        (
            with(BCRYPT_2B, "$04$", "$20$"),
            "password_hash: bcrypt cost 20 is above 14",
        ),
        (
            BCRYPT_COST_15.into(),
            "password_hash: bcrypt cost 15 is above 14",
        ),
        (
            with(BCRYPT_2B, "$04$", "$03$"),
            "password_hash: bcrypt cost 3 is below 4",
        ),
        (with(BCRYPT_2B, "$04$", "$4$"), bcrypt),
        (BCRYPT_2B[..59].into(), bcrypt),
        (
            PBKDF2_2000001.into(),
            "password_hash: PBKDF2 iterations 2000001 are above 2000000",
        ),
        (
            with(PBKDF2, "$1000$", "$99999999999$"),
            "password_hash: PBKDF2 iterations are above 2000000",
        ),
        (
            with(PBKDF2, "$1000$", "$0$"),
            "password_hash: PBKDF2 iterations 0 are below 1",
        ),
        (with(PBKDF2, "$1000$", "$1e3$"), pbkdf2),
        (with(PBKDF2, "$Qz8p", "$Qz$8p"), pbkdf2),
        (
            with(PBKDF2, "$Qz8pV2mKx7TfL3nR9wYb4c$", "$$"),
            "password_hash: PBKDF2 salt must be 1..128 bytes",
        ),
        (
            with(PBKDF2, "Qz8pV2mKx7TfL3nR9wYb4c", &"s".repeat(129)),
            "password_hash: PBKDF2 salt must be 1..128 bytes",
        ),
        (
            with(
                PBKDF2,
                "CxzS9/tE6pHJD7a8QtquCfyjP2S/OHWOIrBizg1hVhA=",
                "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==", // 31 bytes
            ),
            pbkdf2_hash,
        ),
        (
            with(
                PBKDF2,
                "CxzS9/tE6pHJD7a8QtquCfyjP2S/OHWOIrBizg1hVhA=",
                "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", // 33 bytes
            ),
            pbkdf2_hash,
        ),
        (with(PBKDF2, "hVhA=", "hVhA"), pbkdf2_hash),
        (
            ARGON2ID_257_MIB.into(),
            "password_hash: argon2 memory m=263168 KiB is above 262144 KiB (256 MiB)",
        ),
        (
            with(ARGON2ID, "t=1", "t=11"),
            "password_hash: argon2 passes t=11 are above 10",
        ),
        (
            with(ARGON2ID, "p=1", "p=8"),
            "password_hash: argon2 lanes p=8 are above 4",
        ),
        (
            with(ARGON2ID, "m=512,t=1", "m=262144,t=5"),
            "password_hash: argon2 memory times passes (m=262144 KiB, t=5) is above 1 GiB",
        ),
        (
            with(ARGON2ID, "v=19", "v=20"),
            "password_hash: argon2 version 20 is not 16 or 19",
        ),
        (
            with(ARGON2ID, "m=512", "m=8,x=1"),
            "password_hash: is not a well-formed argon2 PHC hash \
             (its m, t, p parameters or output length)",
        ),
        (
            ARGON2ID.rsplit_once('$').unwrap().0.into(),
            "password_hash: is not a well-formed argon2 PHC hash (it has no salt or no hash)",
        ),
        (
            with(ARGON2ID, "izbKa/2GApEMtIzhyYjXBg", "c2FsdA"),
            "password_hash: is not a well-formed argon2 PHC hash", // a 4-byte salt
        ),
    ];
    for (hash, message) in cases {
        let refused = refusal(&hash);
        assert_eq!(refused, message, "{hash}");
        // Never the hash's salt or output (its last two fields).
        for part in hash.rsplit('$').take(2).filter(|p| p.len() >= 6) {
            assert!(!refused.contains(part), "{refused} shows {part}");
        }
    }
}

#[test]
fn only_our_current_argon2id_needs_no_rehash() {
    let ours = hash_password(PASSWORD).unwrap();
    assert!(!needs_rehash(&ours));
    assert!(!needs_rehash(DUMMY_PASSWORD_HASH));
    for (hash, _) in IMPORTED {
        assert!(needs_rehash(hash), "{hash}");
    }
    // argon2id with anything other than what hash_password writes.
    let params = format!("m={ARGON2_M_COST_KIB},t={ARGON2_T_COST},p={ARGON2_P_COST}");
    let other = |hasher: Argon2<'_>, salt: &[u8]| {
        hasher
            .hash_password_with_salt(PASSWORD.as_bytes(), salt)
            .unwrap()
            .to_string()
    };
    let short_salt = other(argon2(), &[7; 8]);
    let long_output = other(
        Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(ARGON2_M_COST_KIB, ARGON2_T_COST, ARGON2_P_COST, Some(64)).unwrap(),
        ),
        &[7; 16],
    );
    for hash in [
        with(&ours, "$v=19$", "$v=16$"),
        with(&ours, "$v=19$", "$"),
        with(&ours, "$argon2id$", "$argon2i$"),
        with(&ours, &params, &params.replace("t=1", "t=2")),
        with(&ours, &params, &format!("{params},data=YWJj")),
        short_salt,
        long_output,
        String::new(),
        "garbage".into(),
    ] {
        assert!(needs_rehash(&hash), "{hash}");
    }
}

#[test]
fn passwords_hash_to_argon2id_phc_strings_and_verify() {
    let phc = hash_password("correct horse battery").unwrap();
    assert!(phc.starts_with("$argon2id$v=19$m=47104,t=1,p=1$"), "{phc}");
    assert!(!phc.contains("correct horse"));
    assert!(verify_password(&phc, "correct horse battery"));
    assert!(!verify_password(&phc, "correct horse batterY"));
    assert!(!verify_password(
        "not a phc string",
        "correct horse battery"
    ));
    // Salted: the same password never hashes to the same string twice.
    assert_ne!(phc, hash_password("correct horse battery").unwrap());
    assert!(verify_password_or_dummy(
        Some(&phc),
        "correct horse battery"
    ));
    assert!(!verify_password_or_dummy(None, "correct horse battery"));
    // Every path runs one argon2 verification, the unknown user's too.
    let before = password_verifications_on_this_thread();
    assert!(!verify_password_or_dummy(Some(&phc), "wrong"));
    assert!(!verify_password_or_dummy(None, "wrong"));
    assert_eq!(password_verifications_on_this_thread() - before, 2);
}

#[test]
fn the_dummy_hash_costs_what_a_real_hash_costs() {
    let dummy = PasswordHash::new(DUMMY_PASSWORD_HASH).unwrap();
    let real_phc = hash_password("anything at all").unwrap();
    let real = PasswordHash::new(&real_phc).unwrap();
    assert_eq!(dummy.algorithm, real.algorithm);
    assert_eq!(dummy.version, real.version);
    assert_eq!(dummy.params, real.params);
}

/// Stored strings: any text, and text that starts like each form so that the parsers'
/// inner paths run (small costs, so that a valid draw verifies quickly).
fn stored_strings() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "\\$2[abxy]\\$[0-9+]{0,3}\\$[./A-Za-z0-9é]{50,56}",
        "\\$2b\\$0[45]\\$[./A-Za-z0-9]{53}",
        "pbkdf2_sha256\\$[0-9+]{0,4}\\$[^$]{0,6}(\\$[A-Za-z0-9+/=_-]{0,50}){0,2}",
        "\\$argon2(id|i|d|x)?(\\$v=[0-9]{1,3})?\\$m=[0-9]{1,3}(,t=[0-9]),p=[0-9](,data=[A-Za-z0-9]{0,4})?\\$[A-Za-z0-9+/]{0,30}(\\$[A-Za-z0-9+/]{0,50})?",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn verify_password_never_panics(stored in stored_strings(), candidate in "\\PC{0,20}") {
        let _ = verify_password(&stored, &candidate);
        let _ = check_imported_hash("h", &stored);
        let _ = needs_rehash(&stored);
    }
}

/// Prints the hash time of candidate parameters; run it in release (see
/// [`ARGON2_M_COST_KIB`]).
#[test]
#[ignore = "a measurement, not a check: run in release with --nocapture"]
fn argon2_cost() {
    let salt = [7u8; 16];
    for (m, t) in [
        (7 * 1024, 5),
        (9 * 1024, 4),
        (12 * 1024, 3),
        (19 * 1024, 2),
        (19 * 1024, 3),
        (19 * 1024, 4),
        (32 * 1024, 2),
        (46 * 1024, 1),
        (46 * 1024, 2),
        (64 * 1024, 1),
    ] {
        let params = Params::new(m, t, 1, None).unwrap();
        let hasher = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
        let mut ms: Vec<f64> = (0..15)
            .map(|_| {
                let start = std::time::Instant::now();
                hasher
                    .hash_password_with_salt(b"correct horse battery", &salt)
                    .unwrap();
                start.elapsed().as_secs_f64() * 1000.0
            })
            .collect();
        ms.sort_by(f64::total_cmp);
        println!("m={} MiB t={t} p=1: median {:.1} ms", m / 1024, ms[7]);
    }
}

/// Prints what one login costs at each imported form's bound; run it in release.
#[test]
#[ignore = "a measurement, not a check: run in release with --nocapture"]
fn imported_cost_at_the_bounds() {
    let argon2_bound = Argon2::new(
        Algorithm::Argon2id,
        Version::V0x13,
        Params::new(256 * 1024, 4, 4, None).unwrap(),
    )
    .hash_password_with_salt(PASSWORD.as_bytes(), &[7; 16])
    .unwrap()
    .to_string();
    for hash in [
        with(BCRYPT_2B, "$04$", "$14$"),
        with(PBKDF2, "$1000$", "$2000000$"),
        argon2_bound,
    ] {
        assert!(check_imported_hash("h", &hash).is_ok(), "{hash}");
        let start = std::time::Instant::now();
        verify_password(&hash, "wrong");
        println!(
            "{}: {:.0} ms",
            &hash[..16],
            start.elapsed().as_secs_f64() * 1000.0
        );
    }
}
