//! Users by what people know of them (uid, login name, email), and the guard items that keep
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
                    .batch_get(
                        vec![guard_item(&guard_key(AccountField::Email, email))],
                        User::ATTRIBUTES,
                    )
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
                let keys = vec![
                    guard_item(&guard_key(AccountField::Username, name)),
                    user_key(name),
                ];
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
            keys.push(guard_item(&guard_key(AccountField::Username, name)));
            keys.push(user_key(name));
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
                let by_guard = holder(guard_key(AccountField::Username, name))?;
                let by_id = holder(format!("USER#{name}"))?;
                set.extend(by_guard.or(by_id));
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
    fn the_user_projection_never_reads_a_secret() {
        for secret in ["im_password", "password_hash"] {
            assert!(!User::ATTRIBUTES.contains(&secret));
        }
    }
}
