//! Sign-up, login and logout of app users (MinApp's `hserve` auth), and the revocation of
//! client tokens that every client endpoint of every dialect honours.
//!
//! - **Tokens** are the one client JWT of [`crate::auth::token`]; each carries its issue time
//!   in milliseconds (`iat_ms`; a token without it counts as issued at 0).
//! - **Revocation**: the user item carries `tokens_valid_after` (unix ms). Logout and a
//!   password change set it, nothing else (a failed login never does); a token issued before
//!   it is refused with 401 by every client endpoint, except the one session whose own
//!   password change set it (`tokens_kept`, removed by logout and by the app server's
//!   password change: [`crate::auth::token::Revocation`] is the rule). Client operations exist only on [`Client`], which only a verified
//!   [`Session`] opens, and each checks it at no extra round trip: the caller's item is
//!   folded into the read (or the condition of the write) the operation already does.
//! - **Sign-up** first takes an attempt from its source IP's limit (`SIGNUP_IP_LIMIT`), then
//!   creates a user with a generated `user_id` (`hs_` + 20 lowercase hex digits from the
//!   CSPRNG) and its IM identity, the guard of the login value and the argon2id hash, all in
//!   one transaction.
//! - **Login** first takes an attempt from its source IP's limit (`LOGIN_IP_LIMIT`), then from
//!   its login identifier's (`LOGIN_LIMIT`, the normalized value whether or not an account
//!   holds it): two conditional UpdateItems, before anything is read, so no burst gets more
//!   than the limit through to argon2 and a refused attempt costs the same for every name
//!   (429 with `Retry-After`). Then it reads the guard and a user (a key no user has when no
//!   guard holds the value) and verifies with argon2id, against a dummy hash for an unknown
//!   user: both failures answer the same 400 after the same calls and the same work. A
//!   success gives its attempt back to the identifier's window (only failures use it up).
//!   Nothing of an attempt (password, hash) is ever logged. A user an admin disabled
//!   ([`crate::console`]) gets 403 `user disabled` after the right password (a wrong one is
//!   the same 400 as ever, so a guesser learns nothing), recorded as a refused `login`.
//! - **Anonymous users** (MinApp's `auth.anonymousLogin()`): a sign-up with no login value
//!   and no password, marked `anonymous` on its item (explicitly: users made by the server
//!   API hold no login value either). Nothing can log in as one; its own user object says
//!   `_anonymous: true` ([`MinAppUser::own`]). It becomes a registered user, same id, by a
//!   register with its token ([`Sessions::register`]). Abandoned ones stay: nothing deletes
//!   them (README, "Anonymous users").
//! - **Audit records** ([`crate::audit`]): sign-up (in its transaction), login success and
//!   failure, a login identifier's limit reached (`limit_reached`), logout and a client's
//!   wrong or missing current password on the account path (`password_check_failed`), each
//!   one more PutItem. A failure for an identifier nobody holds is recorded in that identifier's
//!   partition (`LOGIN#<identifier>`), a known user's in the user's: one PutItem either way. A
//!   source IP's limit reached names no user: it is the request's log line only.

use serde::Serialize;
use serde_json::Value;

use std::net::IpAddr;

use crate::account::{
    AccountField, AccountUpdate, Password, guard_key, hash_password, needs_rehash, verify_password,
    verify_password_or_dummy,
};
use crate::audit::{Event, Subject};
use crate::auth::caller::Session;
use crate::auth::token::{TokenKeys, TokenRequest};
use crate::clock::{now, now_ms};
use crate::config::TOKEN_DEFAULT_TTL_SECONDS;
use crate::error::{ApiError, ApiResult};
use crate::limits::Counter;
use crate::profile::{ProfileUpdate, UserFields};
use crate::store::{OwnAccount, StoredUser, UserView};
use crate::user::{ImIdentity, NewUser, User, UserInfo, UserUpdate, in_request_order};
use crate::user_profile::{Listing, Origin, UserProfiles};
use crate::users::Users;
use crate::views::MinAppUser;

pub use crate::auth::token::{TOKEN_REVOKED, USER_DISABLED};

/// Why a client may not filter or sort other users by a field.
pub const HIDDEN_FROM_OTHERS: &str = "not visible to other users";

/// The answer to a wrong password and to an unknown user alike (MinApp's own text).
pub const INVALID_CREDENTIALS: &str = "Invalid username/email or password.";
/// Prefix of the `user_id` of users who sign up through MinApp.
pub const SIGNUP_USER_ID_PREFIX: &str = "hs_";

/// A validated sign-up or login body: `{<field>: value, password}`.
#[derive(Debug, Clone)]
pub struct Credentials {
    pub field: AccountField,
    pub value: String,
    pub password: Password,
}

impl Credentials {
    /// A sign-up body: the value follows the account rules, the password 8..256 characters.
    pub fn sign_up(field: AccountField, body: &Value) -> ApiResult<Credentials> {
        Self::parse(field, body, |p| Password::named("password", p))
    }

    /// A login body: the value follows the account rules, the password is 1..256 characters.
    pub fn log_in(field: AccountField, body: &Value) -> ApiResult<Credentials> {
        Self::parse(field, body, |p| Password::candidate("password", p))
    }

    fn parse(
        field: AccountField,
        body: &Value,
        password: impl Fn(&str) -> ApiResult<Password>,
    ) -> ApiResult<Credentials> {
        let obj = body
            .as_object()
            .ok_or_else(|| ApiError::invalid("body", "must be a JSON object"))?;
        let allowed = [field.name(), "password"];
        let mut unknown: Vec<&str> = obj
            .keys()
            .map(String::as_str)
            .filter(|k| !allowed.contains(k))
            .collect();
        unknown.sort_unstable();
        if !unknown.is_empty() {
            return Err(ApiError::invalid(
                unknown.join(", "),
                format!("unknown field; allowed: {}", allowed.join(", ")),
            ));
        }
        let value = match obj.get(field.name()) {
            Some(Value::String(v)) => v.clone(),
            None => return Err(ApiError::invalid(field.name(), "is required")),
            Some(_) => return Err(ApiError::invalid(field.name(), "must be a string")),
        };
        field.validate(&value)?;
        let password = match obj.get("password") {
            Some(Value::String(p)) => password(p)?,
            None => return Err(ApiError::invalid("password", "is required")),
            Some(_) => return Err(ApiError::invalid("password", "must be a string")),
        };
        Ok(Credentials {
            field,
            value,
            password,
        })
    }
}

/// A signed-in user: MinApp's user object (the same view every `user_profile` endpoint shows,
/// `user_id` its numeric id) plus `token` and `expires_in` (seconds).
#[derive(Debug, Clone, Serialize)]
pub struct SignedIn {
    #[serde(flatten)]
    pub user: MinAppUser,
    pub token: String,
    pub expires_in: i64,
}

/// `GET /userve/v1/user-profile/` (seed 004): the caller.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CurrentUser {
    pub avatar_link: String,
    pub email: Option<String>,
    pub nickname: String,
    pub user_id: i64,
}

impl From<&User> for CurrentUser {
    fn from(user: &User) -> Self {
        CurrentUser {
            avatar_link: user.avatar.clone(),
            email: user.account.email.clone(),
            nickname: user.nick.clone(),
            user_id: user.im_userid,
        }
    }
}

/// The answer of `session/destroy`, MinApp's words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Destroyed {
    pub message: &'static str,
    pub status: &'static str,
}

/// A fresh sign-up id: `hs_` and 20 lowercase hex digits (80 random bits).
pub fn new_user_id() -> ApiResult<String> {
    let mut bytes = [0u8; 10];
    getrandom::fill(&mut bytes).map_err(|e| ApiError::Internal(format!("CSPRNG: {e}")))?;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    Ok(format!("{SIGNUP_USER_ID_PREFIX}{hex}"))
}

/// Sign-up and login for one app: what a public endpoint may do, each attempt counted
/// against the per-caller limits first.
pub struct Sessions<'a> {
    users: &'a Users,
    /// The app the issued tokens are for.
    app_id: String,
    tokens: &'a TokenKeys,
    /// Where the attempts come from (API Gateway's request context); `None` counts under one
    /// fixed key ([`crate::limits::NO_SOURCE_IP`]), never unlimited.
    source_ip: Option<IpAddr>,
}

impl<'a> Sessions<'a> {
    /// Sign-up and login, issuing tokens for `app_id`.
    pub fn new(users: &'a Users, app_id: String, tokens: &'a TokenKeys) -> Self {
        Sessions {
            users,
            app_id,
            tokens,
            source_ip: None,
        }
    }

    /// The same, counting attempts against `source_ip`'s limits.
    pub fn from_ip(mut self, source_ip: Option<IpAddr>) -> Self {
        self.source_ip = source_ip;
        self
    }

    /// Creates a user holding `credentials` (its IM identity, the guard of the value and the
    /// argon2id hash in one transaction) and signs it in. A taken value is a 400 naming the
    /// field; past the source IP's limit, 429 before any work (a sign-up that finds its value
    /// taken counts too: sign-up says whether a value is taken). Round trips: the limit's
    /// UpdateItem and one TransactWriteItems (plus the IM id counter once per block).
    pub async fn sign_up(&self, credentials: &Credentials) -> ApiResult<SignedIn> {
        self.register(credentials, None).await
    }

    /// MinApp's `register` with the session of the client token the request presented (its
    /// SDKs send the one they have stored), if any; identity comes from that verified token
    /// only, never from the body:
    /// - the session's user is an anonymous user (the stored `anonymous` marker): that user
    ///   takes the login value and password and loses the marker, keeping its id, profile and
    ///   custom fields, in one transaction conditioned on it still being anonymous with no
    ///   login value, so of concurrent registers with one anonymous token exactly one wins (the
    ///   others: 400, nothing changes). MinApp's documented way up from an anonymous user.
    ///   The registration is stamped (`anonymous_until`): a token of the anonymous session,
    ///   presented again after it (a double submit, a race decided on a later read), is that
    ///   400 too, never a second user.
    /// - the session's user is any other user (or none): a plain sign-up of a new user, as
    ///   without a token (registering another account is legitimate).
    /// - the token was revoked (logout, password change): 401, nothing created. A token that
    ///   does not verify (signature, expiry, another `APP_ID`) never gets here: the pipeline
    ///   refuses it ([`crate::endpoint::Authenticate`]).
    ///
    /// Either way it counts against the source IP's sign-up limit first. Round trips with a
    /// token: the limit's UpdateItem, a consistent GetItem of the caller (its marker and
    /// `tokens_valid_after`: the decision is made on it, and the transaction's condition keeps
    /// it true), then one TransactWriteItems (user, guard, audit record) for an anonymous
    /// user, or a sign-up's for anyone else (the IM id counter once per block, and one
    /// TransactWriteItems).
    pub async fn register(
        &self,
        credentials: &Credentials,
        session: Option<&Session>,
    ) -> ApiResult<SignedIn> {
        self.reserve_sign_up().await?;
        let table = self.users.table();
        let anonymous = match session {
            Some(session) => table.anonymous_caller(session).await?,
            None => None,
        };
        let hash = hash_password(credentials.password.expose())?;
        let user = match (anonymous, session) {
            (Some(user), Some(session)) => {
                let value = (credentials.field, credentials.value.as_str());
                table
                    .register_anonymous(session, user, value, &hash, now())
                    .await?
            }
            _ => self.create(Some((credentials, hash))).await?,
        };
        self.signed_in(&user)
    }

    /// MinApp's anonymous login (`auth.anonymousLogin()`): a new user holding no account value
    /// and no password, marked `anonymous`, signed in. It counts against the source IP's
    /// sign-up limit like any sign-up. Round trips: the limit's UpdateItem and one
    /// TransactWriteItems (user and audit record; plus the IM id counter once per block).
    pub async fn sign_up_anonymous(&self) -> ApiResult<SignedIn> {
        self.reserve_sign_up().await?;
        let user = self.create(None).await?;
        self.signed_in(&user)
    }

    /// One attempt from the source IP's sign-up limit (429 past it).
    async fn reserve_sign_up(&self) -> ApiResult<()> {
        let limit = self.users.limits().signup_ip;
        let counter = Counter::per_ip("signup", self.source_ip, limit);
        self.users.table().reserve(&counter, now()).await?;
        Ok(())
    }

    /// A new user holding `credentials` and its hash, or an anonymous one.
    async fn create(&self, credentials: Option<(&Credentials, String)>) -> ApiResult<User> {
        let users = self.users;
        let user_id = new_user_id()?;
        let ids = users.im_ids(1).await?;
        let im = ImIdentity::new(ids.start, users.im_username_prefix(), &user_id)?;
        let new = NewUser {
            user_id: user_id.clone(),
            nick: String::new(),
            avatar: String::new(),
            extends: Default::default(),
        };
        let mut stored = StoredUser::new(&new, &im, now());
        match &credentials {
            Some((c, hash)) => {
                let value = Some(c.value.clone());
                match c.field {
                    AccountField::Username => stored.username = value,
                    AccountField::Email => stored.email = value,
                    AccountField::Phone => stored.phone = value,
                }
                stored.password_hash = Some(hash.clone());
            }
            None => stored.anonymous = true,
        }
        users
            .table()
            .create_signed_up(
                &stored,
                credentials.map(|(c, _)| (c.field, c.value.as_str())),
            )
            .await?;
        User::from_stored(stored)
    }

    /// Signs in with a login value and password. Past the source IP's or the identifier's
    /// limit: 429 before anything is read; wrong password and unknown user: the same 400 after
    /// the same calls and argon2 work. Round trips, the same for a known and an unknown value:
    /// refused by the IP's limit 1 (UpdateItem); by the identifier's 3 (UpdateItem x2, the
    /// audit record's PutItem); a failure 5 (UpdateItem x2, GetItem of the guard, GetItem of
    /// the user, PutItem of the audit record); a success 6 (the same and an UpdateItem giving
    /// its attempt back). Both phases, before and after argon2, run within the request's one
    /// deadline.
    pub async fn log_in(&self, credentials: &Credentials) -> ApiResult<SignedIn> {
        let table = self.users.table();
        let limits = self.users.limits();
        let now = now();
        // The IP's first: an attempt the identifier refuses still used one of its IP's, and
        // one the IP refuses never touches the identifier's.
        table
            .reserve(
                &Counter::per_ip("login", self.source_ip, limits.login_ip),
                now,
            )
            .await?;
        let identifier = guard_key(credentials.field, &credentials.value);
        let reserved = table.reserve_login(&identifier, limits.login, now).await?;
        let found = table
            .sign_in_record(credentials.field, &credentials.value)
            .await?;
        let hash = found.as_ref().and_then(|s| s.password_hash.as_deref());
        let verified = verify_password_or_dummy(hash, credentials.password.expose());
        let stored = match found {
            Some(stored) if verified => stored,
            failed => {
                let subject = match &failed {
                    Some(stored) => Subject::User(&stored.user_id),
                    None => Subject::Identifier(&identifier),
                };
                table.audit(subject, Event::LoginFailed).await;
                return Err(ApiError::Invalid(INVALID_CREDENTIALS.into()));
            }
        };
        table.give_back(&reserved).await?;
        // After the password check: only the password's holder learns the user is disabled.
        if stored.revocation().disabled_at(now_ms()) {
            let refused = Event::LoginRefusedDisabled;
            table.audit(Subject::User(&stored.user_id), refused).await;
            return Err(ApiError::Forbidden(USER_DISABLED));
        }
        // A hash that moved in with the user (bcrypt, Django PBKDF2, other argon2) becomes
        // ours at its first login: the password just verified, hashed with argon2id. A hash
        // changed meanwhile (a new password) wins; the login goes on either way.
        if let Some(was) = stored.password_hash.as_deref().filter(|h| needs_rehash(h)) {
            let hash = hash_password(credentials.password.expose())?;
            if table.rehash_password(&stored.user_id, was, &hash).await? {
                let rehashed = Event::PasswordRehashed;
                table.audit(Subject::User(&stored.user_id), rehashed).await;
            }
        }
        table
            .audit(Subject::User(&stored.user_id), Event::Login)
            .await;
        let user = User::from_stored(stored)?;
        self.signed_in(&user)
    }

    fn signed_in(&self, user: &User) -> ApiResult<SignedIn> {
        signed_in(user, self.users.user_fields(), &self.app_id, self.tokens)
    }
}

/// What a client may do, as the user its verified [`Session`] speaks for. Every operation
/// checks that the session was not revoked, in the round trips it already makes (or one
/// beside them, never after): there is no other way for a client to read or write.
pub struct Client<'a> {
    users: &'a Users,
    session: &'a Session,
    /// Where a password check's attempts count ([`Client::update_account`]).
    source_ip: Option<IpAddr>,
}

impl<'a> Client<'a> {
    pub fn new(users: &'a Users, session: &'a Session) -> Self {
        Client {
            users,
            session,
            source_ip: None,
        }
    }

    /// The same, counting password checks against `source_ip`'s login limit.
    pub fn from_ip(mut self, source_ip: Option<IpAddr>) -> Self {
        self.source_ip = source_ip;
        self
    }

    /// Voids every token of the caller issued up to now (this one included). One UpdateItem,
    /// then the audit record's PutItem (none for a token of no user: nothing was voided).
    pub async fn log_out(&self) -> ApiResult<Destroyed> {
        let table = self.users.table();
        if table.revoke_tokens(self.session, now_ms()).await? {
            table
                .audit(Subject::User(self.session.user_id()), Event::Logout)
                .await;
        }
        Ok(Destroyed {
            message: "Destroy succeed.",
            status: "ok",
        })
    }

    /// The caller itself in view `V`: one GetItem that also projects `tokens_valid_after`.
    pub async fn own<V: UserView>(&self) -> ApiResult<V> {
        let session = self.session;
        self.users
            .table()
            .get_as::<V>(session, session.user_id())
            .await?
            .ok_or_else(|| ApiError::UserNotFound(session.user_id().to_string()))
    }

    /// Another user's public view: one BatchGetItem of the two keys (one GetItem when the
    /// caller asks for itself).
    pub async fn info(&self, user_id: &str) -> ApiResult<UserInfo> {
        self.users
            .table()
            .get_as::<UserInfo>(self.session, user_id)
            .await?
            .ok_or_else(|| ApiError::UserNotFound(user_id.to_string()))
    }

    /// Public views in request order: the caller's key rides in the last BatchGetItem (a
    /// call of its own, concurrent with the others, when that one is full).
    pub async fn infos(&self, user_ids: &[String]) -> ApiResult<Vec<UserInfo>> {
        let found = self
            .users
            .table()
            .get_many_as::<UserInfo>(self.session, user_ids)
            .await?;
        Ok(in_request_order(user_ids, found, |u| u.user_id()))
    }

    /// MinApp's `GET /hserve/v2.5/user/info/{id}/`: the caller itself in full, another user as
    /// others may see it ([`MinAppUser::for_others`]). Round trips: the `im_userid` index query,
    /// then the user's read with the caller's check folded in (a GetItem for itself, else one
    /// BatchGetItem of both keys). The index is eventually consistent and the SDK reads a user
    /// back right after its sign-up: a uid the index does not know yet is tried against the
    /// caller's own item (one GetItem) before it is a 404.
    pub async fn user_info(&self, uid: i64) -> ApiResult<MinAppUser> {
        let table = self.users.table();
        let fields = self.users.user_fields();
        let session = self.session;
        let user_id = match table.find_by_im_ids(&[uid]).await?.pop() {
            Some(info) => info.user_id,
            None => session.user_id().to_string(),
        };
        let user = table
            .get_as::<User>(session, &user_id)
            .await?
            .filter(|u| u.im_userid == uid)
            .ok_or_else(|| ApiError::UserNotFound(uid.to_string()))?;
        Ok(if user.user_id == session.user_id() {
            MinAppUser::own(&user, fields)
        } else {
            MinAppUser::for_others(&user, fields)
        })
    }

    /// MinApp's `PUT /hserve/v2.5/user/info/`: the caller updates its own profile with the
    /// `userve` update's fields and operators, limited to what a client may write (the
    /// [`crate::profile::Builtin::writable`] built-ins and every declared custom field, private ones included:
    /// they are the caller's); answers the caller's whole updated object. Round trips: those
    /// of [`crate::store::UserTable::update_profile`], with the token check folded into its
    /// read and its UpdateItem's condition; an empty update is one GetItem.
    pub async fn update_info(&self, body: &Value) -> ApiResult<MinAppUser> {
        let fields = self.users.user_fields();
        let update = ProfileUpdate::from_json(body, fields)?;
        let user = if update.is_empty() {
            self.own::<User>().await?
        } else {
            self.users
                .table()
                .update_own_profile(self.session, &update, fields, now())
                .await?
        };
        Ok(MinAppUser::own(&user, fields))
    }

    /// MinApp's `GET /hserve/v2.2/user/info/`: the `user_profile` query language and listing
    /// ([`UserProfiles::list_as`]) over what a client may see of others, every user (the caller
    /// too: one shape for one directory) as [`MinAppUser::for_others`]. A filter or an asked
    /// `order_by` on a field others do not see is a 400 naming it before anything is read, so
    /// no query learns a hidden value, not even by sorting or `$exists`. The default order
    /// (`-created_at`, ties by `id`) stays: it is the order of the sequential ids others see.
    /// Round trips: the listing's, with the caller's GetItem beside them.
    pub async fn list_users(
        &self,
        params: &[(String, String)],
        origin: &Origin,
    ) -> ApiResult<Listing> {
        let fields = self.users.user_fields();
        let profiles = UserProfiles::new(self.users);
        let query = profiles.list_query(params)?;
        if let Some(name) = query
            .filter
            .fields()
            .into_iter()
            .find(|f| !MinAppUser::shown_to_others(f, fields))
        {
            return Err(ApiError::invalid(name, HIDDEN_FROM_OTHERS));
        }
        let order_asked = params
            .iter()
            .any(|(k, v)| k == "order_by" && !v.trim().is_empty());
        if let Some(key) = query
            .order
            .keys
            .iter()
            // `created_at` is the default order's key: asking for it (MinApp apps often
            // `orderBy('-created_at')`) shows nothing the default order does not.
            .find(|k| {
                order_asked
                    && k.field != "created_at"
                    && !MinAppUser::shown_to_others(&k.field, fields)
            })
        {
            return Err(ApiError::invalid(
                "order_by",
                format!("{}: {HIDDEN_FROM_OTHERS}", key.field),
            ));
        }
        self.checked_beside(profiles.list_as(&query, origin, MinAppUser::for_others))
            .await
    }

    /// MinApp's `PUT /hserve/v2.2/user/account/` (the SDK's `setUsername`, `setEmail`,
    /// `setMobilePhone`, `updatePassword`, `setAccount`): the caller sets or clears (`null`)
    /// its own `username`, `email` and `phone`, with the `userve` account update's rules,
    /// guards, audit record and transaction ([`crate::store::UserTable::change_account`]),
    /// and answers its whole own object (what `GET /hserve/v2.5/user/info/{id}/` shows it).
    ///
    /// `new_password` needs `password`, the current one, when the user has a password; a user
    /// without one (made by the app server, or anonymous) sets one with its token alone. A
    /// wrong or missing current password is a 400 naming `password`, nothing changes, and it
    /// counts as a failed login: an attempt from the source IP's `LOGIN_IP_LIMIT` and from
    /// the `LOGIN_LIMIT` of each login value the user holds, taken before argon2 (429 past
    /// them), given back to the values' windows on success, a failure audited
    /// (`password_check_failed`). A new password voids every other token of the user; this
    /// session keeps working (`tokens_kept`, see [`crate::auth::token::Revocation`]).
    ///
    /// Round trips: the caller's GetItem (its token checked there) and one TransactWriteItems
    /// (its condition checks the token again); with a current password to check, the
    /// limits' UpdateItems (the IP's, one per login value) and, on success, one UpdateItem
    /// per login value giving its attempt back; a failure one more PutItem (the audit record).
    /// An empty body is the GetItem alone.
    pub async fn update_account(&self, body: &Value) -> ApiResult<MinAppUser> {
        let (update, current) = AccountUpdate::from_client_json(body)?;
        let table = self.users.table();
        let fields = self.users.user_fields();
        let session = self.session;
        let read = table
            .read_own_account(session, update.new_password.is_some())
            .await?;
        if update.is_empty() {
            return Ok(MinAppUser::new(&User::from_stored(read)?, fields));
        }
        if update.new_password.is_some()
            && let Some(hash) = &read.password_hash
        {
            self.check_password(&read, hash, current.as_ref()).await?;
        }
        let hash = update
            .new_password
            .as_ref()
            .map(|p| hash_password(p.expose()))
            .transpose()?;
        let own = OwnAccount { session, read };
        let user = table
            .change_account(
                session.user_id(),
                &update,
                hash.as_deref(),
                Some(own),
                now(),
            )
            .await?;
        Ok(MinAppUser::new(&user, fields))
    }

    /// The current password a new one needs, counted as a login ([`Client::update_account`]).
    async fn check_password(
        &self,
        read: &StoredUser,
        hash: &str,
        given: Option<&Password>,
    ) -> ApiResult<()> {
        let table = self.users.table();
        let limits = self.users.limits();
        let now = now();
        let user = Subject::User(&read.user_id);
        table
            .reserve(
                &Counter::per_ip("login", self.source_ip, limits.login_ip),
                now,
            )
            .await?;
        let account = User::from_stored(read.clone())?.account;
        let mut reserved = Vec::new();
        for field in AccountField::ALL {
            let Some(value) = account.get(field) else {
                continue;
            };
            let counter = Counter::login(&guard_key(field, value), limits.login);
            match table.reserve(&counter, now).await {
                Err(refused @ ApiError::TooManyAttempts(_)) => {
                    let limit = Event::LimitReached { limit: "login" };
                    table.audit(user, limit).await;
                    return Err(refused);
                }
                taken => reserved.push(taken?),
            }
        }
        if !given.is_some_and(|p| verify_password(hash, p.expose())) {
            table.audit(user, Event::PasswordCheckFailed).await;
            return Err(ApiError::invalid(
                "password",
                match given {
                    Some(_) => "does not match the current password",
                    None => "the current password is required to set new_password",
                },
            ));
        }
        for reservation in &reserved {
            table.give_back(reservation).await?;
        }
        Ok(())
    }

    /// Public views by IM id: the caller's GetItem runs concurrently with the index queries
    /// (one more request, no more waiting).
    pub async fn imusers(&self, im_user_ids: &[i64]) -> ApiResult<Vec<UserInfo>> {
        self.checked_beside(self.users.table().find_by_im_ids(im_user_ids))
            .await
    }

    /// The caller updates itself: the UpdateItem is conditioned on the token still being
    /// valid, so revocation costs nothing extra.
    pub async fn update(&self, update: UserUpdate) -> ApiResult<()> {
        self.users
            .table()
            .update_own(self.session, &update, now())
            .await
    }

    /// `work`, with the caller's token checked by a GetItem running beside it (one more
    /// request, no more waiting): for reads that never read the caller's own item.
    pub(crate) async fn checked_beside<T>(
        &self,
        work: impl std::future::Future<Output = ApiResult<T>>,
    ) -> ApiResult<T> {
        let (found, checked) =
            futures_util::future::join(work, self.users.table().check_session(self.session)).await;
        checked?;
        found
    }
}

/// The sign-up and login answer: the user and a fresh client token (default lifetime).
fn signed_in(
    user: &User,
    fields: &UserFields,
    app_id: &str,
    tokens: &TokenKeys,
) -> ApiResult<SignedIn> {
    let request = TokenRequest {
        app_id: app_id.to_string(),
        user_id: user.user_id.clone(),
        device_id: String::new(),
        expires_at: now() + TOKEN_DEFAULT_TTL_SECONDS,
    };
    let issued = tokens.issue(&request)?;
    Ok(SignedIn {
        user: MinAppUser::own(user, fields),
        token: issued.access_token,
        expires_in: TOKEN_DEFAULT_TTL_SECONDS,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn credentials_name_the_field_at_fault() {
        let err = |r: ApiResult<Credentials>| match r {
            Err(ApiError::Invalid(m)) => m,
            other => panic!("expected 400, got {other:?}"),
        };
        use AccountField::*;
        assert_eq!(
            err(Credentials::sign_up(
                Username,
                &json!({"password": "12345678"})
            )),
            "username: is required"
        );
        assert_eq!(
            err(Credentials::sign_up(
                Username,
                &json!({"username": "bob", "password": "short"})
            )),
            "password: must be 8..256 characters"
        );
        assert_eq!(
            err(Credentials::sign_up(
                Email,
                &json!({"email": "nope", "password": "12345678"})
            )),
            "email: must contain exactly one @"
        );
        assert_eq!(
            err(Credentials::log_in(
                Phone,
                &json!({"phone": 138, "password": "x"})
            )),
            "phone: must be a string"
        );
        assert_eq!(
            err(Credentials::log_in(Username, &json!({"username": "bob"}))),
            "password: is required"
        );
        assert_eq!(
            err(Credentials::log_in(
                Username,
                &json!({"username": "bob", "password": "x", "nick": 1})
            )),
            "nick: unknown field; allowed: username, password"
        );
        assert_eq!(
            err(Credentials::log_in(Username, &json!([1]))),
            "body: must be a JSON object"
        );
        // A short password may be offered at login: it simply does not match.
        assert!(
            Credentials::log_in(Username, &json!({"username": "bob", "password": "x"})).is_ok()
        );
        let shown = format!(
            "{:?}",
            Credentials::log_in(
                Username,
                &json!({"username": "bob", "password": "hunter2-secret"})
            )
            .unwrap()
        );
        assert!(!shown.contains("hunter2"), "{shown}");
    }

    #[test]
    fn sign_up_ids_are_prefixed_random_hex() {
        let (a, b) = (new_user_id().unwrap(), new_user_id().unwrap());
        assert_ne!(a, b);
        assert_eq!(a.len(), 23);
        assert!(a.starts_with("hs_") && a[3..].bytes().all(|c| c.is_ascii_hexdigit()));
        assert!(crate::user::validate_user_id("user_id", &a).is_ok());
    }
}
