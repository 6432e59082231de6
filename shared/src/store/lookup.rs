//! Users by what people know of them (uid, login name, email), and the guard items that keep
//! login names, emails and phones unique.
//!
//! | item | pk | sk | attributes |
//! |---|---|---|---|
//! | guard | `USERNAME#<lower-cased>`, `EMAIL#<lower-cased>`, `PHONE#<as given>` | `GUARD` | user_id |
//!
//! A guard exists exactly while its user holds the value: both change in one transaction.

use std::collections::{BTreeSet, HashMap};

use super::*;
use crate::lookup::{Identify, UsersQuery};
use crate::user::User;

pub(super) const GUARD_SK: &str = "GUARD";

/// An account value only one user may hold at a time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Claim {
    Username,
    Email,
    Phone,
}

impl Claim {
    /// The request field the value comes from (errors name it).
    pub fn field(self) -> &'static str {
        match self {
            Claim::Username => "username",
            Claim::Email => "email",
            Claim::Phone => "phone",
        }
    }

    /// The user item's attribute holding the value.
    pub fn attribute(self) -> &'static str {
        match self {
            Claim::Username => attr::USERNAME,
            Claim::Email => attr::EMAIL,
            Claim::Phone => attr::PHONE,
        }
    }

    /// The attribute saying whether the value was verified (nothing verifies a login name).
    pub fn verified_attribute(self) -> Option<&'static str> {
        match self {
            Claim::Username => None,
            Claim::Email => Some(attr::EMAIL_VERIFIED),
            Claim::Phone => Some(attr::PHONE_VERIFIED),
        }
    }

    /// The guard's partition key: login names and emails are unique case-insensitively, so
    /// they are folded (Unicode lower case, which also folds ASCII); phones are digits already.
    pub fn guard_pk(self, value: &str) -> String {
        match self {
            Claim::Username => format!("USERNAME#{}", value.to_lowercase()),
            Claim::Email => format!("EMAIL#{}", value.to_lowercase()),
            Claim::Phone => format!("PHONE#{value}"),
        }
    }
}

pub(super) fn guard_key(claim: Claim, value: &str) -> Item {
    HashMap::from([
        (attr::PK.to_string(), s(claim.guard_pk(value))),
        (attr::SK.to_string(), s(GUARD_SK)),
    ])
}

/// What a guard item says: who holds the value.
#[derive(serde::Deserialize)]
struct Guard {
    user_id: String,
}

/// The holder named by a guard item (read with any projection that has `user_id`).
fn guard_holder(item: &Item) -> ApiResult<String> {
    from_item::<Guard>(item.clone()).map(|g| g.user_id)
}

fn is_guard(item: &Item) -> bool {
    item.get(attr::SK)
        .and_then(|v| v.as_s().ok())
        .map(String::as_str)
        == Some(GUARD_SK)
        || item
            .get(attr::PK)
            .and_then(|v| v.as_s().ok())
            .is_some_and(|pk| !pk.starts_with("USER#"))
}

impl UserTable {
    /// One user as Deepin's `/v1/users/{identify}` finds it: an email through its guard; a
    /// uid through the `im_userid` index, else as a name; a name as a login name (its guard)
    /// and else as an exact string id. Round trips: 2 (email, uid), 1 or 2 (name), plus the
    /// name's when a uid finds nobody.
    pub async fn find(&self, identify: &Identify) -> ApiResult<Option<User>> {
        match identify {
            Identify::Email(email) => {
                let guards = self
                    .batch_get(vec![guard_key(Claim::Email, email)], User::ATTRIBUTES)
                    .await?;
                match guards.first().map(guard_holder).transpose()? {
                    Some(user_id) => self.get::<User>(&user_id).await,
                    None => Ok(None),
                }
            }
            Identify::Uid(uid, name) => match self.find_by_im_ids(&[*uid]).await?.pop() {
                Some(info) => self.get::<User>(&info.user_id).await,
                None => Box::pin(self.find(&Identify::Name(name.clone()))).await,
            },
            Identify::Name(name) => {
                let keys = vec![guard_key(Claim::Username, name), user_key(name)];
                let items = self.batch_get(keys, User::ATTRIBUTES).await?;
                let holder = items
                    .iter()
                    .find(|i| is_guard(i))
                    .map(guard_holder)
                    .transpose()?;
                let by_id = items.iter().find(|i| !is_guard(i));
                match (holder, by_id) {
                    (Some(holder), Some(user)) if guard_holder(user)? == holder => {
                        read_view::<User>(user.clone()).map(Some)
                    }
                    (Some(holder), _) => self.get::<User>(&holder).await,
                    (None, Some(user)) => read_view::<User>(user.clone()).map(Some),
                    (None, None) => Ok(None),
                }
            }
        }
    }

    /// Deepin's `/v1/users`: every user matching one of the ids AND one of the login names
    /// AND one of the emails given (a parameter not given matches everyone), sorted by uid.
    /// Round trips: one index query per id (concurrently), one BatchGetItem per 100 guard
    /// and name keys, one per 100 users not read yet.
    pub async fn find_all(&self, query: &UsersQuery) -> ApiResult<Vec<User>> {
        let mut sets: Vec<BTreeSet<String>> = Vec::new();
        if !query.ids.is_empty() {
            let found = self.find_by_im_ids(&query.ids).await?;
            sets.push(found.into_iter().map(|u| u.user_id).collect());
        }
        // Login names (guard, else an exact string id) and emails (guard) in one read.
        let mut keys = Vec::new();
        for name in &query.usernames {
            keys.push(guard_key(Claim::Username, name));
            keys.push(user_key(name));
        }
        for email in &query.emails {
            keys.push(guard_key(Claim::Email, email));
        }
        let mut items: HashMap<String, Item> = HashMap::new();
        for chunk in keys.chunks(KEYS_PER_CALL) {
            for item in self.batch_get(chunk.to_vec(), User::ATTRIBUTES).await? {
                if let Some(pk) = item.get(attr::PK).and_then(|v| v.as_s().ok()).cloned() {
                    items.insert(pk, item);
                }
            }
        }
        let holder = |pk: String| -> ApiResult<Option<String>> {
            items.get(&pk).map(guard_holder).transpose()
        };
        if !query.usernames.is_empty() {
            let mut set = BTreeSet::new();
            for name in &query.usernames {
                let by_guard = holder(Claim::Username.guard_pk(name))?;
                let by_id = holder(format!("USER#{name}"))?;
                set.extend(by_guard.or(by_id));
            }
            sets.push(set);
        }
        if !query.emails.is_empty() {
            let mut set = BTreeSet::new();
            for email in &query.emails {
                set.extend(holder(Claim::Email.guard_pk(email))?);
            }
            sets.push(set);
        }
        let mut matching = sets.pop().unwrap_or_default();
        for set in sets {
            matching.retain(|id| set.contains(id));
        }
        let mut users = Vec::with_capacity(matching.len());
        let mut unread = Vec::new();
        for user_id in matching {
            match items.get(&format!("USER#{user_id}")) {
                Some(item) => users.push(read_view(item.clone())?),
                None => unread.push(user_id),
            }
        }
        users.extend(self.get_many::<User>(&unread).await?);
        users.sort_by_key(|u| u.im_userid);
        Ok(users)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guards_fold_case_for_names_and_emails_only() {
        assert_eq!(Claim::Username.guard_pk("IceYer"), "USERNAME#iceyer");
        assert_eq!(Claim::Email.guard_pk("A@B.org"), "EMAIL#a@b.org");
        assert_eq!(
            Claim::Phone.guard_pk("+8613800138000"),
            "PHONE#+8613800138000"
        );
        assert_eq!(
            Claim::Username.guard_pk("ÄBC"),
            Claim::Username.guard_pk("äbc")
        );
    }

    #[test]
    fn the_user_projection_never_reads_a_secret() {
        for secret in ["im_password", "password_hash"] {
            assert!(!User::ATTRIBUTES.contains(&secret));
        }
    }
}
