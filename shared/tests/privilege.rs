//! Least privilege below the table: the functions serving anonymous callers (Deepin's
//! lookups, MinApp's sign-ups and logins) cannot read what they do not need. Their
//! `template.yaml` policies are evaluated here ([`shared::testing::policy`]): a password hash
//! or IM password read is denied, the reads they make are allowed, and the attribute lists
//! are exactly those of `store::access`. (Every request their handlers make in their own
//! tests is checked against the same policies by `TestRequest::send`.)

use std::collections::BTreeSet;

use serde_json::{Value, json};
use shared::store::access::{Grant, SECRETS, anonymous_functions};
use shared::store::attr;
use shared::testing::policy::{
    DynamoRequest, Operator, Resource, Statement, allowed, check, expression_attributes,
    parse_statement, requests_of, template_policy,
};
use shared::testing::{TestApp, calls_made_by};

fn policy(function: &str) -> Vec<Statement> {
    template_policy(function).unwrap_or_else(|| panic!("{function} is in template.yaml"))
}

/// The one request a call needs authorised.
fn one(operation: &str, body: Value) -> DynamoRequest {
    let mut requests = requests_of(operation, &body);
    assert_eq!(requests.len(), 1, "{operation}");
    requests.remove(0)
}

fn key(pk: &str) -> Value {
    json!({"pk": {"S": pk}, "sk": {"S": "USER"}})
}

fn get(projection: Option<&str>) -> DynamoRequest {
    let mut body = json!({"TableName": "t", "Key": key("USER#victim")});
    if let Some(p) = projection {
        body["ProjectionExpression"] = json!("#a");
        body["ExpressionAttributeNames"] = json!({"#a": p});
    }
    one("GetItem", body)
}

fn set(name: &str) -> Value {
    json!({"TableName": "t", "Key": key("USER#victim"), "UpdateExpression": "SET #a = :v",
           "ExpressionAttributeNames": {"#a": name}, "ExpressionAttributeValues": {":v": {"S": "x"}}})
}

#[test]
fn the_template_gives_each_anonymous_function_exactly_its_access_lists() {
    for (function, grants) in anonymous_functions() {
        let statements = policy(function);
        for grant in &grants {
            let Grant {
                actions,
                index,
                attributes,
            } = grant;
            let resource = match index {
                Some(i) => Resource::Index(i.to_string()),
                None => Resource::Table,
            };
            let found = statements
                .iter()
                .find(|s| {
                    s.resources == [resource.clone()]
                        && s.actions
                            .iter()
                            .map(String::as_str)
                            .collect::<BTreeSet<_>>()
                            == actions.iter().copied().collect()
                        && s.condition("dynamodb:Attributes").is_none_or(|c| {
                            c.values.iter().map(String::as_str).collect::<BTreeSet<_>>()
                                == attributes.iter().copied().collect()
                        })
                })
                .unwrap_or_else(|| {
                    panic!(
                        "{function}: no statement for {actions:?} on {resource:?} with \
                         {attributes:?}: template.yaml and store::access disagree"
                    )
                });
            let listed = found
                .condition("dynamodb:Attributes")
                .unwrap_or_else(|| panic!("{function}: {actions:?} without dynamodb:Attributes"));
            assert_eq!(
                listed.operator,
                Operator::ForAllValuesStringEquals,
                "{function}"
            );
            assert_eq!(
                listed
                    .values
                    .iter()
                    .map(String::as_str)
                    .collect::<BTreeSet<_>>(),
                attributes.iter().copied().collect::<BTreeSet<_>>(),
                "{function}: {actions:?}: template.yaml and store::access disagree"
            );
            if grant.is_read() {
                let select = found
                    .condition("dynamodb:Select")
                    .expect("a read names Select");
                assert_eq!(select.operator, Operator::StringEquals, "{function}");
                assert_eq!(select.values, ["SPECIFIC_ATTRIBUTES"], "{function}");
            } else {
                let returns = found
                    .condition("dynamodb:ReturnValues")
                    .expect("a write names ReturnValues");
                assert!(
                    returns
                        .values
                        .iter()
                        .all(|v| ["NONE", "UPDATED_OLD", "UPDATED_NEW"].contains(&v.as_str())),
                    "{function}: {returns:?}"
                );
            }
        }
        // Nothing else: a statement is one of the grants, or the warm-up read of the counter.
        for statement in &statements {
            let warm_up = statement.actions == ["dynamodb:GetItem"]
                && statement
                    .condition("dynamodb:LeadingKeys")
                    .is_some_and(|c| {
                        c.operator == Operator::ForAllValuesStringEquals
                            && c.values == ["COUNTER#im_userid"]
                    });
            assert!(
                warm_up || statement.condition("dynamodb:Attributes").is_some(),
                "{function}: a statement without attribute conditions: {statement:?}"
            );
        }
        assert!(statements.len() <= grants.len() + 1, "{function}");
    }
}

#[test]
fn no_anonymous_function_may_read_a_secret_or_a_whole_item() {
    for (function, _) in anonymous_functions() {
        let p = policy(function);
        // The password logins read a hash; an anonymous login has none to check.
        let login = function.starts_with("minapp-login-") && function != "minapp-login-anonymous";
        for secret in SECRETS {
            let may = login && secret == attr::PASSWORD_HASH;
            assert_eq!(
                allowed(&p, &get(Some(secret))),
                may,
                "{function}: GetItem {secret}"
            );
            let batch = json!({"RequestItems": {"t": {"Keys": [key("USER#victim")],
                "ProjectionExpression": "#a", "ExpressionAttributeNames": {"#a": secret}}}});
            assert!(
                !allowed(&p, &one("BatchGetItem", batch)) || may,
                "{function}: BatchGetItem {secret}"
            );
            // An update may not hand back a secret's old value either.
            let mut touch = set(secret);
            touch["ReturnValues"] = json!("UPDATED_OLD");
            assert!(
                !allowed(&p, &one("UpdateItem", touch)),
                "{function}: UPDATED_OLD {secret}"
            );
        }
        // No projection: the whole item.
        assert!(
            !allowed(&p, &get(None)),
            "{function}: GetItem without a projection"
        );
        let batch = json!({"RequestItems": {"t": {"Keys": [key("USER#victim")]}}});
        assert!(
            !allowed(&p, &one("BatchGetItem", batch)),
            "{function}: BatchGetItem, no projection"
        );
        for index in [None, Some("im_userid-index"), Some("directory-index")] {
            let mut query = json!({"TableName": "t", "KeyConditionExpression": "#k = :v",
                "ExpressionAttributeNames": {"#k": "im_userid"},
                "ExpressionAttributeValues": {":v": {"N": "1"}}});
            if let Some(i) = index {
                query["IndexName"] = json!(i);
            }
            assert!(
                !allowed(&p, &one("Query", query)),
                "{function}: Query {index:?}, no projection"
            );
        }
        let scan = json!({"TableName": "t", "ProjectionExpression": "#a",
            "ExpressionAttributeNames": {"#a": "user_id"}});
        assert!(!allowed(&p, &one("Scan", scan)), "{function}: Scan");
        // Writes handing back the whole item, before or after.
        for returns in ["ALL_NEW", "ALL_OLD"] {
            let mut touch = set(attr::TOKENS_VALID_AFTER);
            touch["ReturnValues"] = json!(returns);
            assert!(
                !allowed(&p, &one("UpdateItem", touch)),
                "{function}: UpdateItem {returns}"
            );
        }
        let mut put =
            json!({"TableName": "t", "Item": key("USER#victim"), "ReturnValues": "ALL_OLD"});
        assert!(
            !allowed(&p, &one("PutItem", put.clone())),
            "{function}: PutItem ALL_OLD"
        );
        put["ReturnValues"] = json!("NONE");
        put["ReturnValuesOnConditionCheckFailure"] = json!("ALL_OLD");
        assert!(
            !allowed(&p, &one("PutItem", put)),
            "{function}: PutItem, ALL_OLD on failure"
        );
        let delete = json!({"TableName": "t", "Key": key("USER#victim")});
        assert!(
            !allowed(&p, &one("DeleteItem", delete)),
            "{function}: DeleteItem"
        );
    }
}

#[test]
fn what_they_do_need_is_allowed() {
    let (logins, lookups, sign_ups): (Vec<_>, Vec<_>, Vec<_>) = {
        let all: Vec<&str> = anonymous_functions().into_iter().map(|(f, _)| f).collect();
        let of = |prefix: &str| -> Vec<&str> {
            all.iter()
                .copied()
                .filter(|f| f.starts_with(prefix))
                .collect()
        };
        // An anonymous login is a sign-up: it creates a user and reads none (a register reads
        // the user of the token it is given, if any).
        let mut sign_ups = of("minapp-register-");
        sign_ups.push("minapp-login-anonymous");
        let logins = of("minapp-login-")
            .into_iter()
            .filter(|f| !sign_ups.contains(f))
            .collect();
        (logins, of("deepin-users-"), sign_ups)
    };
    assert_eq!((logins.len(), lookups.len(), sign_ups.len()), (3, 2, 4));
    for function in &logins {
        assert!(
            allowed(&policy(function), &get(Some(attr::PASSWORD_HASH))),
            "{function}"
        );
    }
    for function in &lookups {
        let p = policy(function);
        assert!(allowed(&p, &get(Some(attr::USERNAME))), "{function}");
        assert!(
            allowed(&p, &get(Some(attr::TOKENS_VALID_AFTER))),
            "{function}"
        );
    }
    for function in &sign_ups {
        let p = policy(function);
        // The user and its guard, in one transaction.
        let put = |item: Value| {
            json!({"Put": {"TableName": "t", "Item": item,
            "ConditionExpression": "attribute_not_exists(#pk)",
            "ExpressionAttributeNames": {"#pk": "pk"}}})
        };
        let mut user = key("USER#new");
        user["password_hash"] = json!({"S": "$argon2id$..."});
        user["im_password"] = json!({"S": "secret"});
        let guard =
            json!({"pk": {"S": "USERNAME#new"}, "sk": {"S": "GUARD"}, "user_id": {"S": "new"}});
        let transaction = json!({"TransactItems": [put(user), put(guard)]});
        for request in requests_of("TransactWriteItems", &transaction) {
            assert!(allowed(&p, &request), "{function}: {request:?}");
        }
        // ... never read back; a register reads its token's user (no secret: see above), an
        // anonymous login no user at all.
        let register = function.starts_with("minapp-register-");
        assert_eq!(
            allowed(&p, &get(Some(attr::USER_ID))),
            register,
            "{function}"
        );
        assert_eq!(
            allowed(&p, &get(Some(attr::ANONYMOUS))),
            register,
            "{function}"
        );
    }
}

#[tokio::test]
async fn every_function_may_make_its_warm_up_read() {
    let t = TestApp::new().await;
    let ((), calls) = calls_made_by(t.app.users.table().warm_up()).await;
    assert_eq!(calls.len(), 1, "{calls:?}");
    for (function, _) in anonymous_functions() {
        check(function, &calls);
    }
}

#[test]
#[should_panic(expected = "is not evaluated here")]
fn a_condition_the_evaluator_does_not_know_fails_rather_than_being_guessed() {
    let statement = json!({"Effect": "Allow", "Action": "dynamodb:GetItem",
        "Resource": "UsersTable.Arn",
        "Condition": {"ForAnyValue:StringLike": {"dynamodb:Attributes": ["user_*"]}}});
    parse_statement("test", &statement);
}

#[test]
#[should_panic(expected = "is not evaluated here")]
fn a_condition_key_the_evaluator_does_not_know_fails_too() {
    let statement = json!({"Effect": "Allow", "Action": "dynamodb:GetItem",
        "Resource": "UsersTable.Arn",
        "Condition": {"StringEquals": {"dynamodb:ConsistentRead": "true"}}});
    parse_statement("test", &statement);
}

#[test]
fn expressions_name_their_top_level_attributes() {
    let names = [
        ("#a", "extends"),
        ("#k", "x.y"),
        ("#b", "nick"),
        ("#c", "pk"),
    ]
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .into();
    let found = expression_attributes(
        "SET #a.#k = :v, #b = if_not_exists(#b, :w) REMOVE custom.f[0] \
         ADD login_failures :one",
        &names,
    );
    assert_eq!(
        found,
        ["extends", "nick", "nick", "custom", "login_failures"]
    );
    let found = expression_attributes(
        "attribute_exists(#c) AND size(#a) <= :n OR NOT #b IN (:x)",
        &names,
    );
    assert_eq!(found, ["pk", "extends", "nick"]);
}

#[test]
fn the_oauth_functions_hold_no_table_access_at_all() {
    for function in ["minapp-oauth-authorize", "minapp-oauth-access-token"] {
        assert_eq!(policy(function), [], "{function}");
    }
}
