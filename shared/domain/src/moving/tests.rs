use proptest::prelude::*;
use proptest::sample::select;
use serde_json::{Value, json};

use super::*;
use crate::testing::{DATES, element, object};

/// The custom fields the samples are written for (docs/moving).
const SAMPLE_FIELDS: &str =
    "level:integer,score:number,vip:boolean,tags:array,prefs:object,birthday:date,bio:string";
const MINAPP_SAMPLE: &str = include_str!("../../../../docs/moving/minapp-sample.csv");
const QNLIVEKIT_SAMPLE: &str = include_str!("../../../../docs/moving/qnlivekit-sample.csv");

fn fields() -> UserFields {
    UserFields::parse(SAMPLE_FIELDS).unwrap()
}

fn rows(source: Source, text: &str) -> Vec<Row> {
    read(source, text.as_bytes(), &fields()).unwrap()
}

fn users(rows: Vec<Row>) -> Vec<Incoming> {
    rows.into_iter()
        .map(|row| match row {
            Row::User(user) => user,
            other => panic!("expected a user, got {other:?}"),
        })
        .collect()
}

fn one_user(source: Source, text: &str) -> Incoming {
    let mut found = users(rows(source, text));
    assert_eq!(found.len(), 1);
    found.remove(0)
}

/// The message of the file's one row, which must be invalid.
fn invalid(source: Source, text: &str) -> String {
    match rows(source, text).as_slice() {
        [Row::Invalid { message, .. }] => message.clone(),
        other => panic!("expected one invalid row, got {other:?}"),
    }
}

fn file_error(source: Source, text: &str) -> String {
    match read(source, text.as_bytes(), &fields()) {
        Err(ApiError::Invalid(m)) => m,
        other => panic!("expected a file error, got {other:?}"),
    }
}

fn custom(value: Value) -> Custom {
    match value {
        Value::Object(map) => map,
        _ => panic!("an object"),
    }
}

fn extends(pairs: &[(&str, &str)]) -> Extends {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// What reading an export of `user` must give.
fn expected(user: &User, secrets: &Secrets, line: usize) -> Incoming {
    let given = |s: &str| Some(s.to_string()).filter(|s| !s.is_empty());
    Incoming {
        line,
        id: Some(user.im_userid),
        user_id: Some(user.user_id.clone()),
        nick: user.nick.clone(),
        avatar: user.avatar.clone(),
        extends: user.extends.clone(),
        im_username: given(secrets.im_username),
        im_password: given(secrets.im_password),
        account: user.account.clone(),
        password_hash: secrets.password_hash.map(str::to_string),
        created_at: user.created_at,
        updated_at: user.updated_at,
        profile: user.profile.clone(),
        custom: user.custom.clone(),
    }
}

fn csv_file(users: &[(&User, &Secrets)], fields: &UserFields) -> String {
    let mut file = csv_line(&minapp_csv_header(fields));
    for (user, secrets) in users {
        file += &csv_line(&minapp_csv_record(user, secrets, fields));
    }
    file
}

const BCRYPT: &str = "$2b$10$171wph6mpGNleKGIpbzeneo1fWG3ky8j7vFnUrDOkcrMf8iKW.ueW";
const PBKDF2: &str =
    "pbkdf2_sha256$600000$Qm9vc3RTYWx0MDAx$4cetKAtPt1JfQGrTuMDD2p1AS+2Yg+wLiJ8kx8/eEis=";

/// Every field set, every custom type, and the characters CSV and JSON must quote.
fn full_user() -> (User, Secrets<'static>) {
    let user = User {
        user_id: "用户-1,\"q\"'".into(),
        nick: "Tom, \"the\"\ncat 😀\r\n".into(),
        avatar: "https://cdn.example.com/a,b.png".into(),
        extends: extends(&[("k,1", "v\"\n2"), ("签名", "你好, 世界"), ("empty", "")]),
        im_userid: 12_345_678_901_234,
        account: Account {
            email: Some("Tom.Cat@Example.COM".into()),
            email_verified: true,
            username: Some("tom_cat".into()),
            phone: Some("+8613800138000".into()),
            phone_verified: true,
        },
        created_at: 1_700_000_000,
        updated_at: 1_600_000_000,
        profile: Profile {
            gender: Some(2),
            country: Some("中国, \"CN\"".into()),
            province: Some("广东\n省".into()),
            city: Some("深圳".into()),
            language: Some("zh_CN".into()),
        },
        custom: custom(json!({
            "level": -42,
            "score": 2.5,
            "vip": false,
            "tags": ["a,b", 1, 1.5, 3.0, {"k": "v\n\""}, null, true],
            "prefs": {"x": {"y": [true, "z,"]}, "n": 1e100},
            "birthday": "2020-02-29T12:00:00.000000Z",
            "bio": "a,b\"c\nd\r\ne\t😀",
        })),
        anonymous: false,
        disabled_until: None,
    };
    let secrets = Secrets {
        im_username: "qltom,\"x\"",
        im_password: "p,\"w\nd",
        password_hash: Some(BCRYPT),
    };
    (user, secrets)
}

/// Nothing optional: no account, profile, custom field, extends or password hash.
fn bare_user() -> (User, Secrets<'static>) {
    let user = User {
        user_id: "u".into(),
        im_userid: 1,
        ..User::default()
    };
    let secrets = Secrets {
        im_username: "qlu",
        im_password: "p",
        password_hash: None,
    };
    (user, secrets)
}

// Sources.

#[test]
fn sources_are_named_as_the_cli_names_them() {
    for source in Source::ALL {
        assert_eq!(Source::from_name(source.name()), Some(source));
    }
    assert_eq!(Source::from_name("qnlivekit"), Some(Source::QnLiveKit));
    assert_eq!(Source::from_name("csv"), None);
}

#[test]
fn the_minapp_sample_yields_its_six_users() {
    let found = users(rows(Source::MinApp, MINAPP_SAMPLE));
    let ids: Vec<Option<i64>> = found.iter().map(|u| u.id).collect();
    assert_eq!(
        ids,
        [
            Some(12_345_678),
            Some(98_765_432_109_876),
            Some(10_000_001),
            Some(20_000_002_000_020),
            Some(30_000_003),
            Some(99_999_999_999_999),
        ]
    );
    // The second row's bio spans two lines.
    let lines: Vec<usize> = found.iter().map(|u| u.line).collect();
    assert_eq!(lines, [2, 3, 5, 6, 7, 8]);
    assert_eq!(
        found[0],
        Incoming {
            line: 2,
            id: Some(12_345_678),
            user_id: None,
            nick: "小明".into(),
            avatar: "https://cdn.example.com/avatars/12345678.png".into(),
            extends: Extends::new(),
            im_username: None,
            im_password: None,
            account: Account {
                email: None,
                email_verified: false,
                username: Some("xiaoming".into()),
                phone: Some("+8613800138000".into()),
                phone_verified: true,
            },
            password_hash: Some(BCRYPT.into()),
            created_at: 1_700_000_000,
            updated_at: 1_700_003_600,
            profile: Profile {
                gender: Some(1),
                country: Some("中国".into()),
                province: Some("广东".into()),
                city: Some("深圳".into()),
                language: Some("zh_CN".into()),
            },
            custom: custom(json!({
                "level": 3,
                "score": 4.5,
                "vip": true,
                "tags": ["摄影", "travel"],
                "prefs": {"theme": "dark", "notify": true},
                "birthday": "1990-05-01T00:00:00.000000Z",
                "bio": "Hello, \"world\"",
            })),
        }
    );
    let alice = &found[1];
    // Account values as given: the store folds the capitals for its guard.
    assert_eq!(
        alice.account.email.as_deref(),
        Some("Alice.Smith@Example.COM")
    );
    assert!(alice.account.email_verified);
    assert_eq!(alice.account.phone, None);
    assert_eq!(alice.custom["birthday"], "1985-12-31T15:30:00.000000Z");
    assert_eq!(alice.custom["bio"], "line one\nline two");
    assert_eq!(alice.custom["tags"], json!([]));
    assert_eq!(alice.password_hash.as_deref(), Some(PBKDF2));
    // The empty custom cell is no value; the empty nickname and avatar are "".
    let bob = &found[2];
    assert!(!bob.custom.contains_key("level"));
    assert_eq!(bob.custom.len(), 6);
    assert_eq!((bob.nick.as_str(), bob.avatar.as_str()), ("", ""));
    assert_eq!(bob.profile.gender, Some(0));
    assert_eq!(bob.profile.country, None);
    // The samples' passwords, for logins after an import: minapp-sample-1 (bcrypt, the
    // first user), minapp-sample-2 (Django PBKDF2, the second), minapp-sample-3 (argon2id).
    let argon2 = bob.password_hash.as_deref().unwrap();
    assert!(crate::account::verify_password(argon2, "minapp-sample-3"));
    let carol = &found[3];
    assert_eq!(carol.nick, "Carol, the \"Great\"");
    assert_eq!(carol.custom["level"], -7);
    assert_eq!(carol.custom["score"], json!(0.001));
    assert_eq!(carol.account.username, None);
    assert!(!carol.account.email_verified && !carol.account.phone_verified);
    assert_eq!(carol.password_hash, None);
    assert_eq!(found[5].custom["birthday"], "2000-01-01T00:00:00.000000Z");
    assert_eq!(found[5].account.email.as_deref(), Some("EVE@example.org"));
}

#[test]
fn the_qnlivekit_sample_yields_four_users_and_skips_the_deleted_one() {
    let found = rows(Source::QnLiveKit, QNLIVEKIT_SAMPLE);
    assert_eq!(found.len(), 5);
    assert_eq!(
        found[2],
        Row::Skipped {
            line: 4,
            reason: "deleted".into()
        }
    );
    let mut found = found;
    found.remove(2);
    let found = users(found);
    assert_eq!(
        found[0],
        Incoming {
            line: 2,
            id: Some(608001001),
            user_id: Some("u-1001".into()),
            nick: "主播小王".into(),
            avatar: "https://cdn.example.com/live/u-1001.png".into(),
            extends: extends(&[("level", "5"), ("signature", "Hi, I stream")]),
            im_username: Some("qlu-1001".into()),
            im_password: Some("Zk3pQ8sLw2Xr7NvB4hTy9JcD".into()),
            account: Account::default(),
            password_hash: None,
            created_at: 1_652_973_840,
            updated_at: 1_672_628_645,
            profile: Profile::default(),
            custom: Custom::new(),
        }
    );
    let summary: Vec<_> = found
        .iter()
        .map(|u| {
            (
                u.line,
                u.id,
                u.user_id.as_deref().unwrap(),
                u.nick.as_str(),
                u.created_at,
                u.updated_at,
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            (
                2,
                Some(608001001),
                "u-1001",
                "主播小王",
                1_652_973_840,
                1_672_628_645
            ),
            (
                3,
                Some(608001002),
                "anchor@example.com",
                "Anchor",
                1_654_070_400,
                1_654_070_400
            ),
            (
                5,
                Some(608001004),
                "13800138000",
                "Li, Lei \"LL\"",
                1_677_628_799,
                1_709_164_800
            ),
            (
                6,
                Some(608001005),
                "u-1005",
                "视频达人",
                1_704_067_200,
                1_710_498_600
            ),
        ]
    );
    assert_eq!(found[1].extends, Extends::new());
    assert_eq!(found[2].extends, Extends::new());
    assert_eq!(
        found[3].extends,
        extends(&[("city", "杭州"), ("tags", "美食,旅行")])
    );
    assert!(found.iter().all(|u| u.im_password.is_some()));
}

#[test]
fn minapp_json_is_read_one_object_per_line_or_as_one_array() {
    let line = r#"{"id": 12345678, "nickname": "n", "created_at": 1, "updated_at": 2, "level": 3}"#;
    let lines = format!("{line}\n\n{line}\n");
    let found = users(rows(Source::MinApp, &lines));
    assert_eq!(found.iter().map(|u| u.line).collect::<Vec<_>>(), [1, 3]);
    assert_eq!(found[0].custom, custom(json!({"level": 3})));
    assert_eq!(found[0].user_id, None);
    // An array, pretty-printed: each row has its object's first line.
    let array = format!(
        "[\n  {line},\n  {{\n    \"id\": 2,\n \"created_at\": 0,\n \"updated_at\": 0\n  }}\n]\n"
    );
    let found = users(rows(Source::MinApp, &array));
    assert_eq!(found.iter().map(|u| u.line).collect::<Vec<_>>(), [2, 3]);
    assert_eq!(found[1].id, Some(2));
    assert_eq!(rows(Source::MinApp, "[]"), []);
    assert_eq!(rows(Source::Jsonl, ""), []);
}

#[test]
fn a_bad_jsonl_line_is_its_row_and_the_rows_after_it_are_read() {
    let good = r#"{"id": 1, "created_at": 0, "updated_at": 0}"#;
    let file = format!("{good}\n{{\"id\": 2,\n{good}\n[1]\n");
    let found = rows(Source::Jsonl, &file);
    assert!(matches!(found[0], Row::User(_)));
    assert!(
        matches!(&found[1], Row::Invalid { line: 2, message } if message.starts_with("line 2: is not a JSON object (EOF while parsing a value at column 9)")),
        "{found:?}"
    );
    assert!(matches!(found[2], Row::User(Incoming { line: 3, .. })));
    assert_eq!(
        found[3],
        Row::Invalid {
            line: 4,
            message: "line 4: must be a JSON object".into()
        }
    );
}

#[test]
fn a_qnlivekit_row_without_im_userid_has_no_id_and_null_deleted_at_is_live() {
    let file = "user_id,nick,created_at,updated_at,deleted_at,im_userid\n\
                a,A,2024-01-01 00:00:00,2024-01-01 00:00:00.250,NULL,\n\
                b,B,2024-01-01 00:00:00,2024-01-01 00:00:00,\\N,7\n";
    let found = users(rows(Source::QnLiveKit, file));
    assert_eq!(found[0].id, None);
    assert_eq!(found[0].updated_at, 1_704_067_200);
    assert_eq!(found[0].im_username, None);
    assert_eq!(found[1].id, Some(7));
}

#[test]
fn openid_unionid_and_this_stores_account_state_are_read_and_dropped() {
    let (user, secrets) = full_user();
    let mut line: Map<String, Value> =
        serde_json::from_str(&jsonl_line(&user, &secrets, &fields())).unwrap();
    line.insert("openid".into(), json!("o-1"));
    line.insert("unionid".into(), json!("u-1"));
    line.insert(ANONYMOUS.into(), json!(true));
    line.insert(DISABLED.into(), json!(true));
    line.insert(DISABLED_UNTIL.into(), json!(1_900_000_000));
    let text = Value::Object(line).to_string();
    assert_eq!(one_user(Source::Jsonl, &text), expected(&user, &secrets, 1));
    // The same in CSV.
    let csv = "id,created_at,updated_at,openid,unionid,_anonymous,_disabled,_disabled_until\n\
               5,0,0,o,u,true,true,1900000000\n";
    let incoming = one_user(Source::MinApp, csv);
    assert_eq!(incoming.id, Some(5));
}

#[test]
fn a_password_hash_passes_through_under_either_name() {
    let base = r#""id": 1, "created_at": 0, "updated_at": 0"#;
    for key in ["password_hash", "_password_hash"] {
        let text = format!(r#"{{{base}, "{key}": "{PBKDF2}"}}"#);
        assert_eq!(
            one_user(Source::Jsonl, &text).password_hash.as_deref(),
            Some(PBKDF2)
        );
    }
    let both = format!(r#"{{{base}, "password_hash": "{PBKDF2}", "_password_hash": "{PBKDF2}"}}"#);
    assert_eq!(
        one_user(Source::Jsonl, &both).password_hash.as_deref(),
        Some(PBKDF2)
    );
    let differ =
        format!(r#"{{{base}, "password_hash": "{PBKDF2}", "_password_hash": "{BCRYPT}"}}"#);
    let m = invalid(Source::Jsonl, &differ);
    assert_eq!(
        m,
        "line 1: password_hash: differs from _password_hash: give one"
    );
    let qn = format!(
        "user_id,created_at,updated_at,password_hash\nu,2024-01-01 00:00:00,2024-01-01 00:00:00,{BCRYPT}\n"
    );
    assert_eq!(
        one_user(Source::QnLiveKit, &qn).password_hash.as_deref(),
        Some(BCRYPT)
    );
}

#[test]
fn debug_output_hides_the_secrets() {
    let (user, secrets) = full_user();
    let incoming = one_user(Source::Jsonl, &jsonl_line(&user, &secrets, &fields()));
    for shown in [format!("{incoming:?}"), format!("{secrets:?}")] {
        assert!(!shown.contains(BCRYPT), "{shown}");
        assert!(
            !shown.contains(secrets.im_password.replace('\n', "\\n").as_str()),
            "{shown}"
        );
        assert!(shown.contains("***"), "{shown}");
    }
}

#[test]
fn a_byte_order_mark_before_the_header_is_ignored() {
    let file = "\u{feff}id,created_at,updated_at\n7,0,0\n";
    assert_eq!(one_user(Source::MinApp, file).id, Some(7));
    let file = "\u{feff}{\"id\": 7, \"created_at\": 0, \"updated_at\": 0}";
    assert_eq!(one_user(Source::Jsonl, file).id, Some(7));
}

// Validation: each error names its column.

#[test]
fn each_minapp_value_error_names_its_column() {
    let fields = fields();
    let base = json!({"id": 12345678, "created_at": 1, "updated_at": 2});
    let cases: Vec<(Value, &str)> = vec![
        (json!({"id": null}), "id: is required"),
        (
            json!({"id": "12345678"}),
            "id: must be a positive integer up to 2^53 - 1",
        ),
        (json!({"id": 0}), "id: must be a positive integer"),
        (
            json!({"id": 9_007_199_254_740_992_i64}),
            "id: must be a positive integer up to 2^53 - 1",
        ),
        (json!({"id": 1.5}), "id: must be a positive integer"),
        (json!({"user_id": 5}), "user_id: must equal id"),
        (
            json!({"created_by": "12345678"}),
            "created_by: must equal id",
        ),
        (json!({"created_at": null}), "created_at: is required"),
        (
            json!({"created_at": -1}),
            "created_at: must be unix seconds",
        ),
        (
            json!({"updated_at": 1_700_000_000_000_i64}),
            "updated_at: must be unix seconds, an integer from 0 to 253402300799",
        ),
        (
            json!({"updated_at": "1"}),
            "updated_at: must be unix seconds",
        ),
        (json!({"nickname": 1}), "nickname: must be a string"),
        (
            json!({"nickname": "n".repeat(129)}),
            "nickname: must be at most 128 characters",
        ),
        (
            json!({"avatar": "a".repeat(1025)}),
            "avatar: must be at most 1024 characters",
        ),
        (
            json!({"_user_id": "a b"}),
            "_user_id: must not contain whitespace",
        ),
        (json!({"_user_id": ""}), "_user_id: must not be empty"),
        (
            json!({"_extends": {"k": 1}}),
            "_extends.k: value must be a string",
        ),
        (
            json!({"_extends": ["k"]}),
            "_extends: must be an object of strings",
        ),
        (
            json!({"gender": 3}),
            "gender: must be 0 (unknown), 1 (male) or 2 (female)",
        ),
        (json!({"gender": "1"}), "gender: must be 0"),
        (json!({"country": 5}), "country: must be a string"),
        (
            json!({"city": "c".repeat(129)}),
            "city: must be at most 128 characters",
        ),
        (
            json!({"_username": "12345"}),
            "_username: must not be all digits",
        ),
        (json!({"_username": 5}), "_username: must be a string"),
        (
            json!({"_email": "not-an-email"}),
            "_email: must contain exactly one @",
        ),
        (
            json!({"_phone": "+861"}),
            "_phone: must be 5..20 characters",
        ),
        (
            json!({"_phone": "+86abc"}),
            "_phone: must be digits with an optional leading +",
        ),
        (
            json!({"_email_verified": "yes", "_email": "a@b.cn"}),
            "_email_verified: must be true or false",
        ),
        (
            json!({"_phone_verified": true}),
            "_phone_verified: is true but there is no _phone",
        ),
        (json!({"_im_username": 5}), "_im_username: must be a string"),
        (json!({"_im_password": 5}), "_im_password: must be a string"),
        (
            json!({"_password_hash": 5}),
            "_password_hash: must be a string",
        ),
        (json!({"level": "3"}), "level: must be an integer"),
        (json!({"level": 1.5}), "level: must be an integer"),
        (json!({"score": "x"}), "score: must be a number"),
        (json!({"vip": 1}), "vip: must be a boolean"),
        (json!({"tags": {}}), "tags: must be an array"),
        (json!({"prefs": []}), "prefs: must be an object"),
        (
            json!({"birthday": "yesterday"}),
            "birthday: must be an ISO 8601 date",
        ),
        (json!({"bio": 5}), "bio: must be a string"),
        (
            json!({"nick": "n"}),
            "nick: is neither a MinApp built-in nor declared in USER_FIELDS",
        ),
        (
            json!({"tags": (0..60).map(|i| format!("{i:0>70}")).collect::<Vec<_>>()}),
            "custom fields of a user must total at most 4096 bytes of JSON",
        ),
    ];
    for (change, rule) in cases {
        let mut object = base.as_object().unwrap().clone();
        object.extend(change.as_object().unwrap().clone());
        let text = Value::Object(object).to_string();
        let found = read(Source::Jsonl, text.as_bytes(), &fields).unwrap();
        let expected = format!("line 1: {rule}");
        match found.as_slice() {
            [Row::Invalid { line: 1, message }] => {
                assert!(message.starts_with(&expected), "{change}: {message}")
            }
            other => panic!("{change}: {other:?}"),
        }
    }
    // The base itself is a user.
    assert!(matches!(
        rows(Source::Jsonl, &base.to_string()).as_slice(),
        [Row::User(_)]
    ));
}

#[test]
fn each_minapp_csv_cell_error_names_its_column_and_line() {
    let header =
        "id,created_at,updated_at,level,score,vip,tags,prefs,birthday,_email,_email_verified";
    let good = "12345678,1,2,3,1.5,true,[],{},2024-01-01,a@b.cn,true";
    let cases = [
        (0, "12.5", "id: must be a positive integer up to 2^53 - 1"),
        (
            0,
            "9007199254740992",
            "id: must be a positive integer up to 2^53 - 1",
        ),
        (0, "-5", "id: must be a positive integer"),
        (1, "2024-01-01", "created_at: must be unix seconds"),
        (3, "three", "level: must be an integer"),
        (4, "1,5", "score: must be a number"),
        (4, "NaN", "score: must be a number"),
        (5, "yes", "vip: must be a boolean"),
        (6, "[1,", "tags: must be an array"),
        (7, "{\"a\"}", "prefs: must be an object"),
        (8, "01/02/2024", "birthday: must be an ISO 8601 date"),
        (9, "a@b", "_email: must have a domain"),
        (10, "1", "_email_verified: must be true or false"),
    ];
    for (column, cell, rule) in cases {
        let mut cells: Vec<String> = good.split(',').map(str::to_string).collect();
        cells[column] = cell.to_string();
        let file = format!("{header}\n{}", csv_line(&cells));
        let message = invalid(Source::MinApp, &file);
        assert!(
            message.starts_with(&format!("line 2: {rule}")),
            "{cell}: {message}"
        );
    }
    let file = format!("{header}\n{good}\n");
    assert!(matches!(
        rows(Source::MinApp, &file).as_slice(),
        [Row::User(_)]
    ));
}

#[test]
fn a_csv_row_with_the_wrong_number_of_cells_is_its_row_only() {
    let file = "id,created_at,updated_at\n1,0\n2,0,0\n";
    let found = rows(Source::MinApp, file);
    assert_eq!(
        found[0],
        Row::Invalid {
            line: 2,
            message: "line 2: has 2 cells, the header 3".into()
        }
    );
    assert!(matches!(found[1], Row::User(Incoming { line: 3, .. })));
}

#[test]
fn each_qnlivekit_error_names_its_column() {
    let header = "user_id,nick,avatar,extends,im_userid,im_username,im_password,created_at,updated_at,deleted_at";
    let good = [
        "u-1",
        "n",
        "a",
        "{}",
        "1001",
        "qlu",
        "pw",
        "2024-01-01 00:00:00",
        "2024-01-01 00:00:00",
        "",
    ];
    let cases = [
        (0, "", "user_id: is required"),
        (0, "a b", "user_id: must not contain whitespace"),
        (1, &"n".repeat(129), "nick: must be at most 128 characters"),
        (3, "not json", "extends: must be an object of strings"),
        (3, "{\"a\": 1}", "extends.a: value must be a string"),
        (
            4,
            "abc",
            "im_userid: must be a positive integer up to 2^53 - 1",
        ),
        (4, "0", "im_userid: must be a positive integer"),
        (7, "", "created_at: is required"),
        (
            7,
            "2024/01/01 00:00:00",
            "created_at: must be a UTC time YYYY-MM-DD HH:MM:SS",
        ),
        (
            8,
            "1969-12-31 23:59:59",
            "updated_at: must not be before 1970",
        ),
        (9, "yesterday", "deleted_at: must be a UTC time"),
    ];
    for (column, cell, rule) in cases {
        let mut cells: Vec<String> = good.iter().map(|c| c.to_string()).collect();
        cells[column] = cell.to_string();
        let file = format!("{header}\n{}", csv_line(&cells));
        let message = invalid(Source::QnLiveKit, &file);
        assert!(
            message.starts_with(&format!("line 2: {rule}")),
            "{cell}: {message}"
        );
    }
    let file = format!("{header}\n{}", good.join(","));
    assert!(matches!(
        rows(Source::QnLiveKit, &file).as_slice(),
        [Row::User(_)]
    ));
}

#[test]
fn file_level_problems_are_errors_before_any_row() {
    let cases = [
        (Source::MinApp, "", "file: has no header row"),
        (Source::MinApp, "\n\n", "file: has no header row"),
        (
            Source::MinApp,
            "nickname,created_at,updated_at\nn,0,0\n",
            "file: has no id column",
        ),
        (
            Source::MinApp,
            "id,created_at,updated_at,email\n1,0,0,a@b.cn\n",
            "file: column email is neither a MinApp built-in nor declared in USER_FIELDS",
        ),
        (
            Source::MinApp,
            "id,created_at,updated_at,id\n",
            "file: column id appears twice",
        ),
        (
            Source::MinApp,
            "id,,created_at,updated_at\n",
            "file: column 2 has no name",
        ),
        (
            Source::QnLiveKit,
            "user_id,created_at\n",
            "file: has no updated_at column",
        ),
        (
            Source::QnLiveKit,
            "user_id,created_at,updated_at,email\n",
            "file: column email is not a column of QNLiveKit's live_users",
        ),
        (Source::QnLiveKit, "", "file: has no header row"),
        (Source::Jsonl, "id,created_at\n1,0\n", "file: is not JSON"),
        (
            Source::MinApp,
            "[{\"id\": 1}",
            "file: broken JSON array at line 1: expected , or ]",
        ),
        (
            Source::MinApp,
            "[{\"id\": 1},\n{\"id\": 2,}]",
            "file: broken JSON array at line 2: trailing comma",
        ),
        (
            Source::Jsonl,
            "[{\"id\": 1}] x",
            "file: has text after the JSON array, at line 1",
        ),
        (
            Source::Jsonl,
            "[\n",
            "file: JSON array is not closed with ]",
        ),
    ];
    for (source, text, expected) in cases {
        let m = file_error(source, text);
        assert!(m.starts_with(expected), "{text:?}: {m}");
    }
    let bytes: &[u8] = b"id,created_at,updated_at\n\xff,0,0\n";
    let m = match read(Source::MinApp, bytes, &fields()) {
        Err(ApiError::Invalid(m)) => m,
        other => panic!("{other:?}"),
    };
    assert!(m.starts_with("file: cannot be read as UTF-8 text"), "{m}");
}

// Export.

#[test]
fn a_jsonl_line_is_the_minapp_object_plus_what_the_store_keeps() {
    let (user, secrets) = full_user();
    let fields = fields();
    let line: Value = serde_json::from_str(&jsonl_line(&user, &secrets, &fields)).unwrap();
    let mut object = MinAppUser::new(&user, &fields).0;
    let extra = object.as_object_mut().unwrap();
    extra.insert(EXTENDS.into(), serde_json::to_value(&user.extends).unwrap());
    extra.insert(IM_USERNAME.into(), json!(secrets.im_username));
    extra.insert(IM_PASSWORD.into(), json!(secrets.im_password));
    extra.insert(PASSWORD_HASH.into(), json!(BCRYPT));
    assert_eq!(line, object);
    assert!(!jsonl_line(&user, &secrets, &fields).contains('\n'));
    let (bare, secrets) = bare_user();
    let line: Value = serde_json::from_str(&jsonl_line(&bare, &secrets, &fields)).unwrap();
    assert!(line.get(PASSWORD_HASH).is_none());
    assert_eq!(line[EXTENDS], json!({}));
}

#[test]
fn the_csv_header_is_the_minapp_object_then_our_columns() {
    let header = minapp_csv_header(&fields());
    assert_eq!(header[..3], ["id", "user_id", "created_by"]);
    assert_eq!(
        header[header.len() - 11..],
        [
            "level",
            "score",
            "vip",
            "tags",
            "prefs",
            "birthday",
            "bio",
            "_extends",
            "_im_username",
            "_im_password",
            "_password_hash"
        ]
    );
    let (user, secrets) = full_user();
    let record = minapp_csv_record(&user, &secrets, &fields());
    assert_eq!(record.len(), header.len());
    let cell = |name: &str| record[header.iter().position(|h| h == name).unwrap()].as_str();
    assert_eq!(cell("id"), "12345678901234");
    assert_eq!(cell("vip"), "false");
    assert_eq!(cell("score"), "2.5");
    assert_eq!(cell("openid"), "");
    assert_eq!(cell("birthday"), "2020-02-29T12:00:00.000000Z");
    assert_eq!(
        cell("_extends"),
        r#"{"empty":"","k,1":"v\"\n2","签名":"你好, 世界"}"#
    );
    assert_eq!(
        csv_line(&["a,b".into(), "c\"d".into(), "".into(), "x\ny".into()]),
        "\"a,b\",\"c\"\"d\",,\"x\ny\"\n"
    );
}

// Round trips: what is exported reads back as the user it was written from.

#[test]
fn a_jsonl_export_reads_back_as_the_users_it_was_written_from() {
    let fields = fields();
    let (full, full_secrets) = full_user();
    let (bare, bare_secrets) = bare_user();
    let file = format!(
        "{}\n{}\n",
        jsonl_line(&full, &full_secrets, &fields),
        jsonl_line(&bare, &bare_secrets, &fields)
    );
    let found = users(read(Source::Jsonl, file.as_bytes(), &fields).unwrap());
    assert_eq!(
        found,
        [
            expected(&full, &full_secrets, 1),
            expected(&bare, &bare_secrets, 2)
        ]
    );
    // JSON keeps "" apart from no value.
    let mut empty = full.clone();
    empty.profile.country = Some(String::new());
    empty.custom.insert("bio".into(), json!(""));
    let line = jsonl_line(&empty, &full_secrets, &fields);
    assert_eq!(
        one_user(Source::Jsonl, &line),
        expected(&empty, &full_secrets, 1)
    );
}

#[test]
fn a_minapp_csv_export_reads_back_as_the_users_it_was_written_from() {
    let fields = fields();
    let (full, full_secrets) = full_user();
    let (bare, bare_secrets) = bare_user();
    let file = csv_file(&[(&full, &full_secrets), (&bare, &bare_secrets)], &fields);
    let found = users(read(Source::MinApp, file.as_bytes(), &fields).unwrap());
    // The full user's quoted line breaks count as lines: the next row starts at line 9.
    assert_eq!(
        found,
        [
            expected(&full, &full_secrets, 2),
            expected(&bare, &bare_secrets, 9)
        ]
    );
}

/// The property test's find: serde_json's default float parser read this back one unit in
/// the last place off (hence its `float_roundtrip` feature).
#[test]
fn a_number_reads_back_as_the_very_float_it_was_written_from() {
    let fields = fields();
    let (mut user, secrets) = bare_user();
    user.custom
        .insert("score".into(), json!(937_896.589_135_140_5));
    let line = jsonl_line(&user, &secrets, &fields);
    assert_eq!(one_user(Source::Jsonl, &line), expected(&user, &secrets, 1));
    let file = csv_file(&[(&user, &secrets)], &fields);
    assert_eq!(
        one_user(Source::MinApp, &file),
        expected(&user, &secrets, 2)
    );
}

#[test]
fn csv_reads_an_empty_string_back_as_no_value() {
    let fields = fields();
    let (mut user, secrets) = full_user();
    user.profile.country = Some(String::new());
    user.custom.insert("bio".into(), json!(""));
    let file = csv_file(&[(&user, &secrets)], &fields);
    let incoming = users(read(Source::MinApp, file.as_bytes(), &fields).unwrap()).remove(0);
    assert_eq!(incoming.profile.country, None);
    assert!(!incoming.custom.contains_key("bio"));
}

fn arb_text(min: usize, max: usize) -> impl Strategy<Value = String> {
    proptest::string::string_regex(&format!(
        r#"[a-zA-Z0-9 ,"'\n\r\t\\{{}}:中文😀é]{{{min},{max}}}"#
    ))
    .unwrap()
}

prop_compose! {
    fn arb_account()(
        username in proptest::option::of("[a-z][a-z0-9_.]{0,10}"),
        email in proptest::option::of("[a-zA-Z0-9.]{1,8}@[a-zA-Z]{1,8}\\.(com|cn|ORG)"),
        phone in proptest::option::of("\\+86[0-9]{11}"),
        email_verified in any::<bool>(),
        phone_verified in any::<bool>(),
    ) -> Account {
        Account {
            email_verified: email_verified && email.is_some(),
            phone_verified: phone_verified && phone.is_some(),
            email,
            username,
            phone,
        }
    }
}

prop_compose! {
    fn arb_profile()(
        gender in proptest::option::of(0i64..3),
        places in proptest::collection::vec(proptest::option::of(arb_text(1, 12)), 4),
    ) -> Profile {
        Profile {
            gender,
            country: places[0].clone(),
            province: places[1].clone(),
            city: places[2].clone(),
            language: places[3].clone(),
        }
    }
}

prop_compose! {
    fn arb_custom()(
        level in proptest::option::of(-crate::profile::INTEGER_MAX..=crate::profile::INTEGER_MAX),
        score in proptest::option::of(prop_oneof![-1e6f64..1e6, Just(0.0), Just(3.0), Just(1e100)]),
        vip in proptest::option::of(any::<bool>()),
        tags in proptest::option::of(proptest::collection::vec(element(), 0..5)),
        prefs in proptest::option::of(object()),
        birthday in proptest::option::of(select(DATES.to_vec()).prop_map(|(_, canonical)| canonical)),
        bio in proptest::option::of(arb_text(1, 40)),
    ) -> Custom {
        let mut custom = Custom::new();
        let mut put = |name: &str, value: Option<Value>| {
            if let Some(value) = value {
                custom.insert(name.to_string(), value);
            }
        };
        put("level", level.map(Value::from));
        put("score", score.map(|s| json!(s)));
        put("vip", vip.map(Value::from));
        put("tags", tags.map(Value::from));
        put("prefs", prefs);
        put("birthday", birthday.map(Value::from));
        put("bio", bio.map(Value::from));
        custom
    }
}

prop_compose! {
    fn arb_user()(
        user_id in "[a-zA-Z0-9_@.,\"'中😀-]{1,20}",
        nick in arb_text(0, 30),
        avatar in arb_text(0, 30),
        extends in proptest::collection::btree_map(arb_text(1, 8), arb_text(0, 12), 0..4),
        im_userid in 1..=ID_MAX,
        account in arb_account(),
        created_at in 0..=UNIX_TIME_MAX,
        updated_at in 0..=UNIX_TIME_MAX,
        profile in arb_profile(),
        custom in arb_custom(),
    ) -> User {
        User { user_id, nick, avatar, extends, im_userid, account, created_at, updated_at, profile, custom, anonymous: false, disabled_until: None }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn any_user_reads_back_from_jsonl_and_csv(
        user in arb_user(),
        im_username in arb_text(1, 20),
        im_password in arb_text(1, 24),
        password_hash in proptest::option::of("\\$2b\\$10\\$[A-Za-z0-9./]{53}"),
    ) {
        let fields = fields();
        let secrets = Secrets {
            im_username: &im_username,
            im_password: &im_password,
            password_hash: password_hash.as_deref(),
        };
        let line = jsonl_line(&user, &secrets, &fields);
        let from_jsonl = users(read(Source::Jsonl, line.as_bytes(), &fields).unwrap());
        prop_assert_eq!(&from_jsonl, &[expected(&user, &secrets, 1)]);
        let file = csv_file(&[(&user, &secrets)], &fields);
        let from_csv = users(read(Source::MinApp, file.as_bytes(), &fields).unwrap());
        prop_assert_eq!(&from_csv, &[expected(&user, &secrets, 2)]);
    }
}
