//! Users by what people know of them (uid, login name, email; never the string id), and the guard items that keep
//! login names, emails and phones unique.
//!
//! | item | pk | sk | attributes |
//! |---|---|---|---|
//! | guard | [`guard_key`]: `USERNAME#<confusable skeleton>`, `EMAIL#<case-folded NFKC>`, `PHONE#<E.164>` | `GUARD` | user_id |
//!
//! A guard exists exactly while its user holds the value: both change in one transaction.

use std::collections::{BTreeSet, HashMap};

use super::*;
use crate::account::{AccountField, guard_key};
use crate::user::User;
use domain::lookup::{Identify, UsersQuery};

pub(super) const GUARD_SK: &str = "GUARD";

/// The key of a guard item, from its [`guard_key`].
pub(super) fn guard_item(key: &str) -> Item {
    HashMap::from([
        (attr::PK.to_string(), s(key)),
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

impl UserTable {
    /// One user as Deepin's `/v1/users/{identify}` finds it: an email or a login name through
    /// its guard; a uid through the `im_userid` index, else as a login name. Never an exact
    /// string id: a username could be chosen to equal someone's. Round trips: 2 (1 when no
    /// guard or uid matches), plus the name's when a uid finds nobody.
    pub async fn find(&self, identify: &Identify) -> ApiResult<Option<User>> {
        let guarded = |field, value: &str| {
            let key = guard_item(&guard_key(field, value));
            async move {
                let guards = self.batch_get(vec![key], User::ATTRIBUTES).await?;
                match guards.first().map(guard_holder).transpose()? {
                    Some(user_id) => self.get::<User>(&user_id).await,
                    None => Ok(None),
                }
            }
        };
        match identify {
            Identify::Email(email) => guarded(AccountField::Email, email).await,
            Identify::Uid(uid, name) => match self.find_by_im_ids(&[*uid]).await?.pop() {
                Some(info) => self.get::<User>(&info.user_id).await,
                None => guarded(AccountField::Username, name).await,
            },
            Identify::Name(name) => guarded(AccountField::Username, name).await,
        }
    }

    /// Deepin's `/v1/users`: every user matching one of the ids AND one of the login names
    /// AND one of the emails given (a parameter not given matches everyone), sorted by uid.
    /// Round trips: one index query per id (concurrently), one BatchGetItem per 100 guard
    /// keys, one per 100 users they name.
    pub async fn find_all(&self, query: &UsersQuery) -> ApiResult<Vec<User>> {
        let mut sets: Vec<BTreeSet<String>> = Vec::new();
        if !query.ids.is_empty() {
            let found = self.find_by_im_ids(&query.ids).await?;
            sets.push(found.into_iter().map(|u| u.user_id).collect());
        }
        // Login names and emails (their guards) in one read.
        let mut keys = Vec::new();
        for name in &query.usernames {
            keys.push(guard_item(&guard_key(AccountField::Username, name)));
        }
        for email in &query.emails {
            keys.push(guard_item(&guard_key(AccountField::Email, email)));
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
                set.extend(holder(guard_key(AccountField::Username, name))?);
            }
            sets.push(set);
        }
        if !query.emails.is_empty() {
            let mut set = BTreeSet::new();
            for email in &query.emails {
                set.extend(holder(guard_key(AccountField::Email, email))?);
            }
            sets.push(set);
        }
        let mut matching = sets.pop().unwrap_or_default();
        for set in sets {
            matching.retain(|id| set.contains(id));
        }
        let matching: Vec<String> = matching.into_iter().collect();
        let mut users = self.get_many::<User>(&matching).await?;
        users.sort_by_key(|u| u.im_userid);
        Ok(users)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_user_projection_never_reads_a_secret() {
        for secret in ["im_password", "password_hash"] {
            assert!(!User::ATTRIBUTES.contains(&secret));
        }
    }
}
