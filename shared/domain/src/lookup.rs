//! Finding users by what people know of them: an email, a uid (the numeric id) or a login
//! name. Deepin ID's `/v1/users` lookups, in its own words ("identify"), without HTTP or
//! DynamoDB. Never by the string id (`user_id`): that is the Qiniu dialect's key, and a
//! username could be chosen to equal someone's.

use crate::error::{ApiError, ApiResult};

/// Values of one multi lookup, at most this many in all.
pub const LOOKUP_MAX_VALUES: usize = 100;

/// What a single `identify` means, tried in this order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Identify {
    /// Contains `@`: an email (case-insensitive).
    Email(String),
    /// All digits: a uid; if no user has it, a login name made of digits (one chosen before
    /// usernames had to hold a non-digit).
    Uid(i64, String),
    /// Anything else: a login name (by its guard: case and look-alikes folded).
    Name(String),
}

impl Identify {
    /// The value as the caller wrote it.
    pub fn as_str(&self) -> &str {
        match self {
            Identify::Email(v) | Identify::Uid(_, v) | Identify::Name(v) => v,
        }
    }

    pub fn parse(identify: &str) -> ApiResult<Identify> {
        let identify = identify.trim();
        if identify.is_empty() {
            return Err(ApiError::invalid("identify", "must not be empty"));
        }
        if identify.contains('@') {
            return Ok(Identify::Email(identify.to_string()));
        }
        if identify.bytes().all(|b| b.is_ascii_digit()) {
            // Too many digits for a uid is still a name.
            if let Ok(uid) = identify.parse::<i64>() {
                return Ok(Identify::Uid(uid, identify.to_string()));
            }
        }
        Ok(Identify::Name(identify.to_string()))
    }
}

/// `GET /v1/users?id=..&username=..&email=..`: values of one parameter are alternatives (OR),
/// different parameters must all hold (AND). Empty lists are parameters not given.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UsersQuery {
    pub ids: Vec<i64>,
    pub usernames: Vec<String>,
    pub emails: Vec<String>,
}

impl UsersQuery {
    /// From the repeated query parameters; at least one value and at most
    /// [`LOOKUP_MAX_VALUES`] given in all (duplicates count: the bound is on the request),
    /// ids integers, duplicates collapsed.
    pub fn parse<'a>(
        ids: impl IntoIterator<Item = &'a str>,
        usernames: impl IntoIterator<Item = &'a str>,
        emails: impl IntoIterator<Item = &'a str>,
    ) -> ApiResult<UsersQuery> {
        let mut query = UsersQuery::default();
        let given = std::cell::Cell::new(0usize);
        let count = || -> ApiResult<()> {
            given.set(given.get() + 1);
            if given.get() > LOOKUP_MAX_VALUES {
                return Err(ApiError::invalid(
                    "id, username, email",
                    format!("at most {LOOKUP_MAX_VALUES} values in all"),
                ));
            }
            Ok(())
        };
        for (i, raw) in ids.into_iter().enumerate() {
            count()?;
            let id = raw
                .trim()
                .parse::<i64>()
                .map_err(|_| ApiError::invalid(format!("id[{i}]"), "must be an integer uid"))?;
            if !query.ids.contains(&id) {
                query.ids.push(id);
            }
        }
        let text = |field: &str, values: &mut Vec<String>, raw: &mut dyn Iterator<Item = &str>| {
            for (i, value) in raw.enumerate() {
                count()?;
                let value = value.trim();
                if value.is_empty() || value.chars().count() > 254 {
                    return Err(ApiError::invalid(
                        format!("{field}[{i}]"),
                        "must be 1 to 254 characters",
                    ));
                }
                let known = values
                    .iter()
                    .any(|v| v.to_lowercase() == value.to_lowercase());
                if !known {
                    values.push(value.to_string());
                }
            }
            Ok(())
        };
        text("username", &mut query.usernames, &mut usernames.into_iter())?;
        text("email", &mut query.emails, &mut emails.into_iter())?;
        if given.get() == 0 {
            return Err(ApiError::invalid(
                "id, username, email",
                "give at least one value",
            ));
        }
        Ok(query)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identify_reads_emails_then_uids_then_names() {
        assert_eq!(
            Identify::parse("Iceyers@Gmail.com").unwrap(),
            Identify::Email("Iceyers@Gmail.com".into())
        );
        assert_eq!(
            Identify::parse("17898").unwrap(),
            Identify::Uid(17898, "17898".into())
        );
        assert_eq!(
            Identify::parse("Iceyer").unwrap(),
            Identify::Name("Iceyer".into())
        );
        // Beyond i64: a name that happens to be digits.
        let long = "9".repeat(30);
        assert_eq!(Identify::parse(&long).unwrap(), Identify::Name(long));
        assert!(Identify::parse(" ").is_err());
    }

    #[test]
    fn users_query_collapses_duplicates_and_bounds_the_values() {
        let q = UsersQuery::parse(["7045", "17898", "7045"], ["Iceyer", "iceyer"], []).unwrap();
        assert_eq!(q.ids, [7045, 17898]);
        assert_eq!(q.usernames, ["Iceyer"]);
        let err = UsersQuery::parse(["x"], [], []).unwrap_err();
        assert_eq!(err.to_string(), "id[0]: must be an integer uid");
        let err = UsersQuery::parse([], [], []).unwrap_err();
        assert!(err.to_string().contains("at least one value"));
        let many: Vec<String> = (0..101).map(|i| i.to_string()).collect();
        let err = UsersQuery::parse(many.iter().map(String::as_str), [], []).unwrap_err();
        assert!(err.to_string().contains("at most 100 values"));
        // The bound is on what the request gives: 101 copies of one name are too many.
        let err = UsersQuery::parse([], ["0"; 101], []).unwrap_err();
        assert!(err.to_string().contains("at most 100 values"));
        let err = UsersQuery::parse([], [""], []).unwrap_err();
        assert_eq!(err.to_string(), "username[0]: must be 1 to 254 characters");
    }
}
