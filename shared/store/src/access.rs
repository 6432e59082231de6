//! What the functions serving anonymous callers may touch of the table: the attribute lists
//! of the IAM conditions (`dynamodb:Attributes`) in their `template.yaml` policies, defined
//! here once from [`attr`] and the views' projections. `shared/tests/privilege.rs` holds the
//! template to these lists, and the handler tests of those functions check every request
//! they make against the template (`shared::testing`), so neither can drift alone.
//!
//! A new read or write on one of these paths names its attributes here (and in the
//! template): the tests say which function and which list.

use super::IM_INDEX;
use super::item::{INFO_ATTRIBUTES, UserView, attr};
use crate::user::User;

/// The table's key: every conditioned statement names it (DynamoDB cannot act without it).
pub const TABLE_KEY: [&str; 2] = [attr::PK, attr::SK];

/// What a statement lets a function do, on the table or on an index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    /// IAM actions (`dynamodb:GetItem`, ...).
    pub actions: &'static [&'static str],
    /// `None`: the table; `Some(name)`: that index.
    pub index: Option<&'static str>,
    /// The `dynamodb:Attributes` it allows, keys included.
    pub attributes: Vec<&'static str>,
}

impl Grant {
    /// Reads: `dynamodb:Select` must be `SPECIFIC_ATTRIBUTES` (a projection naming only these).
    pub fn is_read(&self) -> bool {
        self.actions.iter().all(|a| {
            matches!(
                *a,
                "dynamodb:GetItem" | "dynamodb:BatchGetItem" | "dynamodb:Query"
            )
        })
    }
}

const READS: &[&str] = &["dynamodb:GetItem", "dynamodb:BatchGetItem"];
const GET: &[&str] = &["dynamodb:GetItem"];
const QUERY: &[&str] = &["dynamodb:Query"];
const UPDATE: &[&str] = &["dynamodb:UpdateItem"];
const PUT: &[&str] = &["dynamodb:PutItem"];

/// A limit counter (`store::attempts`): its attempts and expiry, written by an UpdateItem.
fn counter() -> Grant {
    Grant {
        actions: UPDATE,
        index: None,
        attributes: with_key(&[attr::ATTEMPTS, attr::EXPIRES_AT]),
    }
}

/// An audit record (`store::audit`), put alone or inside a transaction.
fn audit_record() -> Grant {
    Grant {
        actions: PUT,
        index: None,
        attributes: with_key(&attr::AUDIT),
    }
}

fn with_key(attributes: &[&'static str]) -> Vec<&'static str> {
    let mut all = TABLE_KEY.to_vec();
    for a in attributes {
        if !all.contains(a) {
            all.push(a);
        }
    }
    all
}

/// Deepin's lookups: users as [`User`] shows them (guards through the same projection), and
/// a client caller's revocation marks ([`attr::SESSION`]); by uid, the public view the
/// `im_userid` index holds. Never a password hash, IM credentials or sign-in record.
pub fn lookup() -> Vec<Grant> {
    let mut user = User::ATTRIBUTES.to_vec();
    user.extend(attr::SESSION);
    let mut index = vec![attr::IM_USERID];
    index.extend(INFO_ATTRIBUTES);
    vec![
        Grant {
            actions: READS,
            index: None,
            attributes: with_key(&user),
        },
        Grant {
            actions: QUERY,
            index: Some(IM_INDEX),
            attributes: with_key(&index),
        },
        counter(),
    ]
}

/// MinApp's logins: the guard's holder, the user as the answer shows it with the password
/// hash and its revocation mark (never the IM credentials); writes of the limit counters and
/// the audit record only: a stranger's login writes no user item.
pub fn login() -> Vec<Grant> {
    let mut user = User::ATTRIBUTES.to_vec();
    user.push(attr::PASSWORD_HASH);
    user.extend(attr::SESSION);
    vec![
        Grant {
            actions: GET,
            index: None,
            attributes: with_key(&user),
        },
        counter(),
        audit_record(),
    ]
}

/// MinApp's registers: a new user (see [`new_user`]); with a client token, the caller's item
/// as [`User`] shows it with its revocation mark (never a secret: the anonymous marker decides
/// the path and the user is the answer), and an anonymous caller's registration, an
/// UpdateItem of its login values, hash, marker and `updated_at` (conditioned on the marker,
/// the revocation mark and the item's existence), inside the transaction.
pub fn sign_up() -> Vec<Grant> {
    let mut caller = User::ATTRIBUTES.to_vec();
    caller.extend(attr::SESSION);
    caller.push(attr::ANONYMOUS_UNTIL);
    let registration = [
        attr::USERNAME,
        attr::EMAIL,
        attr::PHONE,
        attr::PASSWORD_HASH,
        attr::UPDATED_AT,
        attr::ANONYMOUS,
        attr::ANONYMOUS_UNTIL,
        attr::TOKENS_VALID_AFTER,
        // Named by the write's condition (the token still valid: the one Revocation rule).
        attr::TOKENS_KEPT,
        attr::DISABLED_UNTIL,
    ];
    let mut grants = new_user(&attr::USER);
    grants.extend([
        Grant {
            actions: GET,
            index: None,
            attributes: with_key(&caller),
        },
        Grant {
            actions: UPDATE,
            index: None,
            attributes: with_key(&registration),
        },
    ]);
    grants
}

/// MinApp's anonymous login: a new user with its `anonymous` marker, and nothing else.
pub fn anonymous_login() -> Vec<Grant> {
    let mut user = attr::USER.to_vec();
    user.push(attr::ANONYMOUS);
    new_user(&user)
}

/// A new user item (`user`: its attributes), its guard and its audit record (conditional puts
/// in one transaction), the IM id counter and the source IP's limit counter; no read besides
/// init's warm-up of the counter (a statement of its own, on that item's key only).
fn new_user(user: &[&'static str]) -> Vec<Grant> {
    vec![
        Grant {
            actions: PUT,
            index: None,
            attributes: with_key(user),
        },
        Grant {
            actions: UPDATE,
            index: None,
            attributes: with_key(&[attr::VALUE]),
        },
        counter(),
        audit_record(),
    ]
}

/// The functions that serve anonymous callers, with what each may touch. MinApp's oauth
/// functions serve them too but hold no table access at all.
pub fn anonymous_functions() -> Vec<(&'static str, Vec<Grant>)> {
    vec![
        ("deepin-users-get", lookup()),
        ("deepin-users-list", lookup()),
        ("minapp-login-username", login()),
        ("minapp-login-email", login()),
        ("minapp-login-phone", login()),
        ("minapp-register-username", sign_up()),
        ("minapp-register-email", sign_up()),
        ("minapp-register-phone", sign_up()),
        ("minapp-login-anonymous", anonymous_login()),
    ]
}

/// The secrets none of them may read (sign-ups write the first two, never read them).
pub const SECRETS: [&str; 3] = [attr::PASSWORD_HASH, attr::IM_PASSWORD, attr::IM_USERNAME];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_logins_read_a_password_hash_and_nobody_an_im_password() {
        for (function, grants) in anonymous_functions() {
            for grant in grants.iter().filter(|g| g.is_read()) {
                assert!(!grant.attributes.contains(&attr::IM_PASSWORD), "{function}");
                assert!(!grant.attributes.contains(&attr::IM_USERNAME), "{function}");
                assert_eq!(
                    grant.attributes.contains(&attr::PASSWORD_HASH),
                    function.starts_with("minapp-login-"),
                    "{function}"
                );
            }
        }
    }
}
