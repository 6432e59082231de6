//! Password hashes. Ours are argon2id PHC strings ([`hash_password`]). Users imported from
//! other systems keep the hash they bring (bcrypt, Django's PBKDF2-SHA256 or another argon2
//! PHC string, checked by [`check_imported_hash`]): [`verify_password`] reads each form, and
//! the first successful login replaces it with ours ([`needs_rehash`]).

use std::ops::RangeInclusive;

use argon2::{Algorithm, Argon2, Params, PasswordHash, PasswordHasher, PasswordVerifier, Version};
use base64ct::{Base64, Encoding};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::error::{ApiError, ApiResult};

/// argon2id cost, chosen for a Lambda: m = 46 MiB, t = 1, p = 1 (the first line of
/// OWASP's equivalent settings; of those it has the most memory, which is what makes
/// argon2 costly to attack, and the longest run, which fits the target).
///
/// Measured on this project's dev machine (x86_64 AMD EPYC, 2 cores shared with other
/// work), a release build (`opt-level = "s"`, fat LTO, as the workspace profile), one
/// thread, so about Lambda at 1 vCPU (1769 MB); median of 15 hashes, two quiet runs:
///
/// | m (MiB) | t | ms     | OWASP-equivalent |
/// |---------|---|--------|------------------|
/// | 7       | 5 | 37-41  | yes              |
/// | 9       | 4 | 34-38  | yes              |
/// | 12      | 3 | 36-43  | yes              |
/// | 19      | 2 | 37-47  | yes              |
/// | 19      | 3 | 59-62  |                  |
/// | 19      | 4 | 83-84  |                  |
/// | 32      | 2 | 96-98  |                  |
/// | **46**  | **1** | **97-99** | yes     |
/// | 46      | 2 | 148-156 |                 |
/// | 64      | 1 | 131-133 |                 |
///
/// (An earlier run on a busier machine gave 62 ms for 19 MiB/t=2 and 91 ms for 46 MiB/t=1.)
/// Lambda's CPU share scales with memory: ~170 ms at 1024 MB, ~340 ms at 512 MB. Give the
/// hashing function 1769 MB: the hash is CPU-bound, so it costs about the same GB-seconds
/// at any size and answers fastest at a full vCPU. Verification costs the same and reads
/// the parameters from each PHC string, so changing these later keeps old hashes valid
/// (within the bounds below, which a compile-time check holds them to). Re-measure with
/// `cargo test --release -p domain --lib account::password::tests::argon2_cost -- --ignored --nocapture`.
pub const ARGON2_M_COST_KIB: u32 = 46 * 1024;
pub const ARGON2_T_COST: u32 = 1;
pub const ARGON2_P_COST: u32 = 1;

// Checked at compile time, so building the hasher cannot fail at run time.
const ARGON2_PARAMS: Params =
    match Params::new(ARGON2_M_COST_KIB, ARGON2_T_COST, ARGON2_P_COST, None) {
        Ok(p) => p,
        Err(_) => panic!("invalid argon2 parameters"),
    };

/// What [`hash_password`] writes besides the parameters (the argon2 crate's default output).
const SALT_BYTES: usize = 16;
const OUTPUT_BYTES: usize = 32;

fn argon2() -> Argon2<'static> {
    Argon2::new(Algorithm::Argon2id, Version::V0x13, ARGON2_PARAMS)
}

/// A random 16-byte salt and argon2id: the PHC string to store (`$argon2id$v=19$...`).
pub fn hash_password(password: &str) -> ApiResult<String> {
    let mut salt = [0u8; SALT_BYTES];
    getrandom::fill(&mut salt).map_err(|e| ApiError::Internal(format!("password salt: {e}")))?;
    argon2()
        .hash_password_with_salt(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| ApiError::Internal(format!("hash password: {e}")))
}

// The most one stored hash may cost: a login verifies whatever hash the user holds, on a
// Lambda with about one vCPU, 1769 MB and a 10 s timeout, so an imported hash must not be
// able to take the function's memory or most of its time. Each bound is above what the
// usual sources write, so real imports pass; `verify_password` holds stored hashes to the
// same bounds, so one written past the import check still cannot burn a login. Times at
// the bounds, measured on the dev machine (2 busy cores) with Python's optimised builds
// (bcrypt 5, hashlib on OpenSSL, argon2-cffi): bcrypt 14 1.5 s, PBKDF2 2 000 000 0.8 s,
// argon2id 256 MiB t=4 1.3 s; this crate's in a dev build (dependencies at opt-level 1):
// 1.7 s, 3.5 s, 1.7 s (`tests::imported_cost_at_the_bounds`; not yet measured in release).
//
// argon2: memory is allocated whole (m KiB) and the work is m × t block passes whatever p
// is (the lanes run one after another here). m <= 256 MiB leaves the function most of its
// memory; m × t <= 1 GiB of passes is about 2.2 s at the measured 46 MiB per 100 ms (see
// ARGON2_M_COST_KIB), and t <= 10 and p <= 4 bound each alone. Passing: libsodium's
// INTERACTIVE (64 MiB, t=2) and MODERATE (256 MiB, t=3), PHP's default (64 MiB, t=4),
// argon2-cffi's (64 MiB, t=3, p=4), OWASP's, ours. Refused: libsodium's SENSITIVE (1 GiB).
const ARGON2_MAX_M_COST_KIB: u32 = 256 * 1024;
const ARGON2_MAX_T_COST: u32 = 10;
const ARGON2_MAX_P_COST: u32 = 4;
const ARGON2_MAX_WORK_KIB: u64 = 1024 * 1024;
// bcrypt: the work doubles with each cost step; 14 is 4x the usual 10..12. 4 is the
// algorithm's minimum.
const BCRYPT_COSTS: RangeInclusive<u32> = 4..=14;
// PBKDF2-SHA256: the work grows with the iterations; Django 4.0..6.0 write 320 000 to
// 1 200 000.
const PBKDF2_ITERATIONS: RangeInclusive<u32> = 1..=2_000_000;
// Django's PBKDF2 hash is SHA-256's 32 bytes; its salts are 12 or 22 characters.
const PBKDF2_HASH_BYTES: usize = 32;
const PBKDF2_MAX_SALT_BYTES: usize = 128;
const PBKDF2_PREFIX: &str = "pbkdf2_sha256$";

// Our own hashes must pass the bounds that every stored hash is verified under.
const _: () = assert!(
    ARGON2_M_COST_KIB <= ARGON2_MAX_M_COST_KIB
        && ARGON2_T_COST <= ARGON2_MAX_T_COST
        && ARGON2_P_COST <= ARGON2_MAX_P_COST
        && ARGON2_M_COST_KIB as u64 * ARGON2_T_COST as u64 <= ARGON2_MAX_WORK_KIB
);

const UNKNOWN_FORM: &str = "is not a bcrypt, Django PBKDF2 or argon2 PHC hash";
const BAD_BCRYPT: &str = "is not a well-formed bcrypt hash ($2b$<cost>$<53 characters>)";
const BAD_PBKDF2: &str =
    "is not a well-formed Django PBKDF2 hash (pbkdf2_sha256$<iterations>$<salt>$<base64 hash>)";
const BAD_ARGON2: &str = "is not a well-formed argon2 PHC hash";

/// A password hash in one of the forms this store verifies, parsed and within the bounds.
// One short-lived value per verification, on the stack: no need to box the PHC hash.
#[allow(clippy::large_enum_variant)]
enum Stored<'a> {
    /// With its version filled in, so that verification reads no default.
    Argon2(PasswordHash),
    Bcrypt(&'a str),
    Pbkdf2Sha256 {
        iterations: u32,
        salt: &'a str,
        hash: [u8; PBKDF2_HASH_BYTES],
    },
}

impl<'a> Stored<'a> {
    /// The error is the problem, fit for a 400: it names costs, never a salt or a hash.
    fn parse(s: &'a str) -> Result<Self, String> {
        if ["$argon2id$", "$argon2i$", "$argon2d$"]
            .iter()
            .any(|p| s.starts_with(p))
        {
            parse_argon2(s)
        } else if ["$2a$", "$2b$", "$2y$"].iter().any(|p| s.starts_with(p)) {
            parse_bcrypt(s)
        } else if let Some(rest) = s.strip_prefix(PBKDF2_PREFIX) {
            parse_pbkdf2(rest)
        } else {
            Err(UNKNOWN_FORM.into())
        }
    }

    fn verify(&self, candidate: &str) -> bool {
        match self {
            // The default hasher: the algorithm, version and parameters come from the hash.
            Stored::Argon2(hash) => Argon2::default()
                .verify_password(candidate.as_bytes(), hash)
                .is_ok(),
            // Compares in constant time; passwords past 72 bytes are cut there, as every
            // bcrypt that wrote these did.
            Stored::Bcrypt(hash) => bcrypt::verify(candidate, hash).unwrap_or(false),
            // Django hashes the password's and the salt's UTF-8 bytes.
            Stored::Pbkdf2Sha256 {
                iterations,
                salt,
                hash,
            } => {
                let computed: [u8; PBKDF2_HASH_BYTES] = pbkdf2::pbkdf2_hmac_array::<Sha256, _>(
                    candidate.as_bytes(),
                    salt.as_bytes(),
                    *iterations,
                );
                computed.ct_eq(hash).into()
            }
        }
    }
}

fn parse_argon2(s: &str) -> Result<Stored<'_>, String> {
    let mut hash = PasswordHash::new(s).map_err(|_| BAD_ARGON2.to_string())?;
    // No version is argon2 1.0 (0x10), as the reference implementation reads it; the
    // argon2 crate would take its own default, 1.3.
    let version = match hash.version {
        None => Version::V0x10,
        Some(v) => {
            Version::try_from(v).map_err(|_| format!("argon2 version {v} is not 16 or 19"))?
        }
    };
    hash.version = Some(version.into());
    let params = Params::try_from(&hash)
        .map_err(|_| format!("{BAD_ARGON2} (its m, t, p parameters or output length)"))?;
    // (The PHC parser holds a salt to 8..48 bytes and a hash to 10..64.)
    if hash.salt.is_none() || hash.hash.is_none() {
        return Err(format!("{BAD_ARGON2} (it has no salt or no hash)"));
    }
    let (m, t, p) = (params.m_cost(), params.t_cost(), params.p_cost());
    if m > ARGON2_MAX_M_COST_KIB {
        return Err(format!(
            "argon2 memory m={m} KiB is above {ARGON2_MAX_M_COST_KIB} KiB (256 MiB)"
        ));
    }
    if t > ARGON2_MAX_T_COST {
        return Err(format!("argon2 passes t={t} are above {ARGON2_MAX_T_COST}"));
    }
    if p > ARGON2_MAX_P_COST {
        return Err(format!("argon2 lanes p={p} are above {ARGON2_MAX_P_COST}"));
    }
    if u64::from(m) * u64::from(t) > ARGON2_MAX_WORK_KIB {
        return Err(format!(
            "argon2 memory times passes (m={m} KiB, t={t}) is above 1 GiB"
        ));
    }
    Ok(Stored::Argon2(hash))
}

fn parse_bcrypt(s: &str) -> Result<Stored<'_>, String> {
    // `$2b$` then two digits of cost: the crate would also read `+5` as a cost.
    if !matches!(s.as_bytes().get(4..7), Some([a, b, b'$']) if a.is_ascii_digit() && b.is_ascii_digit())
    {
        return Err(BAD_BCRYPT.into());
    }
    // The crate's own reading: 60 ASCII characters, salt and hash in bcrypt's base64.
    let parts: bcrypt::HashParts = s.parse().map_err(|_| BAD_BCRYPT)?;
    let cost = parts.get_cost();
    if cost < *BCRYPT_COSTS.start() {
        return Err(format!(
            "bcrypt cost {cost} is below {}",
            BCRYPT_COSTS.start()
        ));
    }
    if cost > *BCRYPT_COSTS.end() {
        return Err(format!(
            "bcrypt cost {cost} is above {}",
            BCRYPT_COSTS.end()
        ));
    }
    Ok(Stored::Bcrypt(s))
}

/// `rest` follows `pbkdf2_sha256$`: `<iterations>$<salt>$<base64 hash>`.
fn parse_pbkdf2(rest: &str) -> Result<Stored<'_>, String> {
    let mut fields = rest.split('$');
    let (Some(iterations), Some(salt), Some(encoded), None) =
        (fields.next(), fields.next(), fields.next(), fields.next())
    else {
        return Err(BAD_PBKDF2.into());
    };
    if iterations.is_empty() || !iterations.bytes().all(|b| b.is_ascii_digit()) {
        return Err(BAD_PBKDF2.into());
    }
    let above = || format!("PBKDF2 iterations are above {}", PBKDF2_ITERATIONS.end());
    let iterations: u32 = iterations.parse().map_err(|_| above())?;
    if iterations < *PBKDF2_ITERATIONS.start() {
        return Err(format!(
            "PBKDF2 iterations {iterations} are below {}",
            PBKDF2_ITERATIONS.start()
        ));
    }
    if iterations > *PBKDF2_ITERATIONS.end() {
        return Err(format!(
            "PBKDF2 iterations {iterations} are above {}",
            PBKDF2_ITERATIONS.end()
        ));
    }
    if salt.is_empty() || salt.len() > PBKDF2_MAX_SALT_BYTES {
        return Err(format!(
            "PBKDF2 salt must be 1..{PBKDF2_MAX_SALT_BYTES} bytes"
        ));
    }
    // Padded standard base64 of exactly 32 bytes, decoded in constant time.
    let mut hash = [0u8; PBKDF2_HASH_BYTES];
    let decoded = Base64::decode(encoded, &mut hash).map(|h| h.len());
    if decoded != Ok(PBKDF2_HASH_BYTES) {
        return Err(format!(
            "PBKDF2 hash must be {PBKDF2_HASH_BYTES} bytes in standard base64"
        ));
    }
    Ok(Stored::Pbkdf2Sha256 {
        iterations,
        salt,
        hash,
    })
}

/// An imported user's password hash, as given in `field`: a bcrypt (`$2a$`, `$2b$`, `$2y$`),
/// Django PBKDF2-SHA256 (`pbkdf2_sha256$<iterations>$<salt>$<base64 hash>`) or argon2 PHC
/// (`$argon2id$`, `$argon2i$`, `$argon2d$`) string, well formed, with costs that one login can
/// afford (argon2 m <= 256 MiB, t <= 10, p <= 4, m × t <= 1 GiB; bcrypt cost 4..=14; PBKDF2
/// 1..=2 000 000 iterations and a 32-byte hash). Returns the string to store, unchanged.
/// A 400 names the field and the problem, never the hash.
pub fn check_imported_hash(field: &str, hash: &str) -> ApiResult<String> {
    match Stored::parse(hash) {
        Ok(_) => Ok(hash.to_string()),
        Err(problem) => Err(ApiError::invalid(field, problem)),
    }
}

/// Whether `stored` is anything but what [`hash_password`] writes now: argon2id, version 19,
/// the current m, t and p, a 16-byte salt and a 32-byte hash. After a successful login such a
/// hash is replaced with a fresh [`hash_password`] of the password.
pub fn needs_rehash(stored: &str) -> bool {
    let Ok(hash) = PasswordHash::new(stored) else {
        return true;
    };
    let current = hash.algorithm == Algorithm::Argon2id.ident()
        && hash.version == Some(Version::V0x13.into())
        && Params::try_from(&hash.params).is_ok_and(|params| params == ARGON2_PARAMS)
        && hash.salt.is_some_and(|salt| salt.len() == SALT_BYTES)
        && hash.hash.is_some_and(|output| output.len() == OUTPUT_BYTES);
    !current
}

// Test-only: production code counts nothing here.
#[cfg(any(test, feature = "testing"))]
thread_local! {
    static THREAD_VERIFICATIONS: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// Verifications run on the calling thread, of any form, a malformed hash's too: a test (one
/// thread per `#[tokio::test]`) reads it to prove that a login for an unknown user runs the
/// same work as a wrong password. Compiled for tests only (`testing` feature).
#[cfg(any(test, feature = "testing"))]
pub fn password_verifications_on_this_thread() -> u64 {
    THREAD_VERIFICATIONS.with(std::cell::Cell::get)
}

/// Whether `candidate` is the password of the `stored` hash: ours or an imported one, in
/// any form [`check_imported_hash`] accepts. Anything else (another form, a malformed
/// string, costs beyond the bounds) is a mismatch, answered without hashing.
pub fn verify_password(stored: &str, candidate: &str) -> bool {
    #[cfg(any(test, feature = "testing"))]
    THREAD_VERIFICATIONS.with(|n| n.set(n.get() + 1));
    Stored::parse(stored).is_ok_and(|hash| hash.verify(candidate))
}

/// A hash of a random password no one kept, with the current parameters (a test holds
/// them equal). A sign-in for a user that does not exist verifies against it, so it takes
/// as long as one with a wrong password and cannot tell which users exist.
pub const DUMMY_PASSWORD_HASH: &str = "$argon2id$v=19$m=47104,t=1,p=1$rxwMPv+UBRd2cbNQNasE2w$lcwJHsS/uISN0C0ns+gqn1UzSwU3KH1TlvuEZkvrb3o";

/// [`verify_password`] for a user that may not exist: with no hash it does the same work
/// against [`DUMMY_PASSWORD_HASH`] and answers false.
pub fn verify_password_or_dummy(stored: Option<&str>, candidate: &str) -> bool {
    match stored {
        Some(stored) => verify_password(stored, candidate),
        None => {
            let _ = verify_password(DUMMY_PASSWORD_HASH, candidate);
            false
        }
    }
}

#[cfg(test)]
mod tests;
