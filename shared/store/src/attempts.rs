//! Per-caller limit counters: one item per counter and fixed window, reserved by a
//! conditional ADD before the work it limits (argon2, a sign-up, a lookup), so concurrent
//! attempts never pass the limit. DynamoDB's TTL deletes old windows.
//!
//! | item | pk | sk | attributes |
//! |---|---|---|---|
//! | limit counter | [`Counter::key`]: `LIMIT#login#<identifier>`, `LIMIT#ip#<ip>#<action>` | `WINDOW#<start, unix s>` | attempts, expires_at (the window's end) |

use std::collections::HashMap;

use aws_sdk_dynamodb::operation::update_item::UpdateItemError;

use super::expr::{Expr, exists, not_exists};
use super::*;
use crate::error::Limited;
use crate::limits::Counter;

/// An attempt taken from a counter's window, which [`UserTable::give_back`] can return.
#[derive(Debug, Clone, PartialEq)]
pub struct Reservation {
    key: Item,
}

/// The item of `counter`'s window starting at `start`.
fn window_key(counter: &Counter, start: i64) -> Item {
    HashMap::from([
        (attr::PK.to_string(), s(&counter.key)),
        (attr::SK.to_string(), s(format!("WINDOW#{start}"))),
    ])
}

impl UserTable {
    /// Takes one attempt from `counter`'s window at `now`: one UpdateItem, an ADD conditioned
    /// on the count being below the limit (DynamoDB applies single-item writes one at a time,
    /// so no burst gets more than the limit through and none conflicts). Past the limit: 429
    /// with the seconds until the window frees, and nothing written.
    pub async fn reserve(&self, counter: &Counter, now: i64) -> ApiResult<Reservation> {
        let (start, end) = counter.limit.window(now);
        let key = window_key(counter, start);
        let mut e = Expr::new();
        let attempts = e.name(attr::ATTEMPTS);
        let expires_at = e.name(attr::EXPIRES_AT);
        let one = e.number(1);
        let end_value = e.number(end);
        let max = e.number(counter.limit.max);
        e.add(&attempts, &one);
        e.set(&expires_at, &end_value);
        e.condition_any(&[not_exists(&attempts), format!("{attempts} < {max}")]);
        let result = e
            .update_item(self.client.update_item())
            .table_name(&self.table)
            .set_key(Some(key.clone()))
            .send()
            .await;
        match result {
            Ok(_) => Ok(Reservation { key }),
            Err(err) => match err.as_service_error() {
                Some(UpdateItemError::ConditionalCheckFailedException(_)) => {
                    Err(ApiError::TooManyAttempts(Limited {
                        limit: counter.name,
                        retry_after: (end - now).max(1),
                    }))
                }
                _ => Err(store_error("reserve an attempt", err)),
            },
        }
    }

    /// Returns a reserved attempt to its window (one UpdateItem; nothing when the window's
    /// item is gone).
    pub async fn give_back(&self, reservation: &Reservation) -> ApiResult<()> {
        let mut e = Expr::new();
        let attempts = e.name(attr::ATTEMPTS);
        let minus_one = e.number(-1);
        let zero = e.number(0);
        e.add(&attempts, &minus_one);
        e.condition(exists(&attempts));
        e.condition(format!("{attempts} > {zero}"));
        let result = e
            .update_item(self.client.update_item())
            .table_name(&self.table)
            .set_key(Some(reservation.key.clone()))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(err) => match err.as_service_error() {
                Some(UpdateItemError::ConditionalCheckFailedException(_)) => Ok(()),
                _ => Err(store_error("give back an attempt", err)),
            },
        }
    }

    /// The attempts counted in `counter`'s window at `now` (0 when none): one strongly
    /// consistent GetItem, for tests and operators.
    pub async fn attempts(&self, counter: &Counter, now: i64) -> ApiResult<i64> {
        let (start, _) = counter.limit.window(now);
        let (expression, names) = projection(&[attr::ATTEMPTS]);
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(window_key(counter, start)))
            .consistent_read(true)
            .projection_expression(expression)
            .set_expression_attribute_names(Some(names))
            .send()
            .await
            .map_err(|e| store_error("read attempts", e))?;
        let count = out
            .item()
            .and_then(|i| i.get(attr::ATTEMPTS))
            .map(|v| v.as_n().ok().and_then(|n| n.parse::<i64>().ok()));
        match count {
            None => Ok(0),
            Some(Some(n)) => Ok(n),
            Some(None) => Err(ApiError::Internal("attempts is not an integer".into())),
        }
    }
}
