use serde_json::json;

use super::*;

const SPEC_FIELDS: &str =
    "level:integer,score:number,vip:boolean,tags:array,bio:string,prefs:object,birthday:date";

fn fields() -> UserFields {
    UserFields::parse(SPEC_FIELDS).unwrap()
}

fn update(body: Value) -> ApiResult<ProfileUpdate> {
    ProfileUpdate::from_json(&body, &fields())
}

fn message(r: ApiResult<ProfileUpdate>) -> String {
    match r {
        Err(ApiError::Invalid(m)) => m,
        other => panic!("expected a 400, got {other:?}"),
    }
}

#[test]
fn user_fields_parse_the_documented_example() {
    let f = fields();
    let declared: Vec<(&str, FieldType)> = f.custom().collect();
    assert_eq!(
        declared,
        [
            ("level", FieldType::Integer),
            ("score", FieldType::Number),
            ("vip", FieldType::Boolean),
            ("tags", FieldType::Array),
            ("bio", FieldType::String),
            ("prefs", FieldType::Object),
            ("birthday", FieldType::Date),
        ]
    );
    assert_eq!(UserFields::parse("").unwrap(), UserFields::default());
    assert_eq!(
        UserFields::parse(" level : integer , ,bio:string ")
            .unwrap()
            .custom()
            .count(),
        2
    );
}

#[test]
fn user_fields_refuse_clashes_and_bad_declarations() {
    for (spec, says) in [
        ("level", "not name:type"),
        ("level:int", "unknown type"),
        ("level:integer,level:string", "declared twice"),
        ("nickname:string", "built-in"),
        ("id:integer", "built-in"),
        ("_email:string", "start with a letter"),
        ("where:string", "reserved"),
        ("order_by:string", "reserved"),
        ("expand:string", "reserved"),
        ("return_total_count:integer", "reserved"),
        ("my__field:string", "__"),
        ("1st:string", "start with a letter"),
        ("$x:string", "start with a letter"),
        ("a-b:string", "letters, digits and _"),
        (":string", "1 to 64"),
    ] {
        let err = UserFields::parse(spec).unwrap_err();
        assert!(err.contains(says), "{spec}: {err}");
        assert!(err.starts_with("USER_FIELDS"), "{err}");
    }
    let many: Vec<String> = (0..=CUSTOM_FIELDS_MAX)
        .map(|i| format!("f{i}:string"))
        .collect();
    assert!(
        UserFields::parse(&many.join(","))
            .unwrap_err()
            .contains("at most")
    );
    let long = format!("{}:string", "a".repeat(65));
    assert!(UserFields::parse(&long).is_err());
}

#[test]
fn the_schema_resolves_builtins_and_custom_fields() {
    let f = fields();
    let id = f.field("id").unwrap();
    assert_eq!(
        (id.ty, id.kind),
        (FieldType::Integer, FieldKind::Builtin(Builtin::Id))
    );
    assert_eq!(f.field("_email_verified").unwrap().ty, FieldType::Boolean);
    assert_eq!(f.field("_phone").unwrap().ty, FieldType::String);
    assert_eq!(f.field("level").unwrap().kind, FieldKind::Custom);
    assert!(f.field("nope").is_none());
    for b in Builtin::ALL {
        assert_eq!(Builtin::from_name(b.name()), Some(b));
    }
    let writable: Vec<&str> = Builtin::ALL
        .iter()
        .filter(|b| b.writable())
        .map(|b| b.name())
        .collect();
    assert_eq!(
        writable,
        [
            "nickname", "avatar", "gender", "country", "province", "city", "language"
        ]
    );
}

#[test]
fn dates_normalise_to_utc_microseconds() {
    for (input, canonical) in [
        ("2024-05-01", "2024-05-01T00:00:00.000000Z"),
        ("2024-05-01T08:30:00Z", "2024-05-01T08:30:00.000000Z"),
        ("2024-05-01T08:30:00+08:00", "2024-05-01T00:30:00.000000Z"),
        ("2024-05-01T08:30:00.123Z", "2024-05-01T08:30:00.123000Z"),
        (
            "2024-05-01T08:30:00.1234567-01:00",
            "2024-05-01T09:30:00.123456Z",
        ),
        ("2024-01-01T01:00:00+02:00", "2023-12-31T23:00:00.000000Z"),
        // RFC 3339 allows a space for the T.
        ("2024-05-01 08:30:00Z", "2024-05-01T08:30:00.000000Z"),
    ] {
        assert_eq!(normalize_date(input).as_deref(), Some(canonical), "{input}");
    }
    for bad in [
        "",
        "2024-13-01",
        "2024-02-30",
        "2024-05-01T08:30:00",
        "yesterday",
        "1714550400",
        "24-05-01",
    ] {
        assert_eq!(normalize_date(bad), None, "{bad}");
    }
    // Fixed width: string order is time order.
    let a = normalize_date("2024-05-01T23:59:59.999Z").unwrap();
    let b = normalize_date("2024-05-02").unwrap();
    assert!(a < b);
}

#[test]
fn plain_values_of_each_type_are_checked_and_normalised() {
    let u = update(json!({
        "nickname": "Tom",
        "avatar": "a.png",
        "gender": 2,
        "country": "中国",
        "language": "zh_CN",
        "level": 3.0,
        "score": 1.5,
        "vip": true,
        "tags": ["a", 1, {"k": [true]}],
        "bio": "",
        "prefs": {"theme": "dark"},
        "birthday": "1990-01-02T03:04:05+08:00",
    }))
    .unwrap();
    let set = |name: &str| {
        u.updates
            .iter()
            .find(|x| x.field == name)
            .map(|x| x.op.clone())
            .unwrap()
    };
    assert_eq!(set("level"), FieldOp::Set(json!(3)));
    assert_eq!(
        set("birthday"),
        FieldOp::Set(json!("1990-01-01T19:04:05.000000Z"))
    );
    assert_eq!(set("gender"), FieldOp::Set(json!(2)));
    assert_eq!(u.updates.len(), 12);
    let nick = u.updates.iter().find(|x| x.field == "nickname").unwrap();
    assert_eq!(nick.kind, FieldKind::Builtin(Builtin::Nickname));
}

#[test]
fn type_mismatches_name_the_field() {
    for (body, says) in [
        (json!({"level": "3"}), "level: must be an integer"),
        (json!({"level": 1.5}), "level: must be an integer"),
        (
            json!({"level": 9007199254740992_i64}),
            "level: must be an integer",
        ),
        (json!({"score": "x"}), "score: must be a number"),
        (
            json!({"score": 1e200}),
            "score: must be a number of magnitude",
        ),
        (json!({"vip": 1}), "vip: must be a boolean"),
        (json!({"tags": "a"}), "tags: must be an array"),
        (json!({"bio": 5}), "bio: must be a string"),
        (json!({"prefs": [1]}), "prefs: must be an object"),
        (
            json!({"birthday": "soon"}),
            "birthday: must be an ISO 8601 date",
        ),
        (json!({"birthday": 1714550400}), "birthday: must be a date"),
        (
            json!({"gender": 3}),
            "gender: must be 0 (unknown), 1 (male) or 2 (female)",
        ),
        (json!({"gender": "1"}), "gender: must be 0"),
        (json!({"nickname": 5}), "nickname: must be a string"),
        (json!({"city": ["x"]}), "city: must be a string"),
    ] {
        let m = message(update(body.clone()));
        assert!(m.starts_with(says), "{body}: {m}");
    }
}

#[test]
fn read_only_and_unknown_fields_are_refused() {
    for name in [
        "id",
        "user_id",
        "created_by",
        "created_at",
        "updated_at",
        "openid",
        "unionid",
        "_username",
        "_email",
        "_phone",
        "_email_verified",
        "_phone_verified",
    ] {
        assert_eq!(
            message(update(json!({ name: 1 }))),
            format!("{name}: is read-only")
        );
        assert_eq!(
            message(update(json!({"$unset": { name: "" }}))),
            format!("{name}: is read-only")
        );
    }
    assert_eq!(
        message(update(json!({"level2": 1}))),
        "level2: unknown field"
    );
    assert_eq!(
        message(update(json!({"$set": {}}))),
        "$set: unknown operator"
    );
    assert_eq!(message(update(json!([1]))), "body: must be a JSON object");
}

#[test]
fn atomic_operators_parse_on_their_types() {
    let u = update(json!({
        "level": {"$incr_by": -2},
        "score": {"$incr_by": 0.5},
        "tags": {"$append": "x"},
        "prefs": {"$update": {"a": 1}},
    }))
    .unwrap();
    let ops: Vec<(&str, &FieldOp)> = u
        .updates
        .iter()
        .map(|x| (x.field.as_str(), &x.op))
        .collect();
    assert_eq!(
        ops,
        [
            ("level", &FieldOp::IncrBy(Number::from(-2))),
            (
                "prefs",
                &FieldOp::Update(json!({"a": 1}).as_object().unwrap().clone())
            ),
            ("score", &FieldOp::IncrBy(Number::from_f64(0.5).unwrap())),
            ("tags", &FieldOp::Append(vec![json!("x")])),
        ]
    );
    let op = |body| update(body).unwrap().updates.remove(0).op;
    assert_eq!(
        op(json!({"tags": {"$append_unique": ["a", "b"]}})),
        FieldOp::AppendUnique(vec![json!("a"), json!("b")])
    );
    assert_eq!(
        op(json!({"tags": {"$remove": 1}})),
        FieldOp::Remove(vec![json!(1)])
    );
    assert_eq!(op(json!({"tags": {"$pop": 1}})), FieldOp::Pop(PopEnd::Last));
    assert_eq!(
        op(json!({"tags": {"$pop": -1}})),
        FieldOp::Pop(PopEnd::First)
    );
    assert_eq!(op(json!({"bio": null})), FieldOp::Unset);
    assert_eq!(op(json!({"$unset": {"bio": ""}})), FieldOp::Unset);
    assert_eq!(op(json!({"$unset": {"gender": ""}})), FieldOp::Unset);
}

#[test]
fn operators_on_the_wrong_type_name_the_field() {
    for (body, says) in [
        (
            json!({"bio": {"$incr_by": 1}}),
            "bio: $incr_by applies to integer and number fields, not a string",
        ),
        (
            json!({"vip": {"$incr_by": 1}}),
            "vip: $incr_by applies to integer and number fields, not a boolean",
        ),
        (
            json!({"level": {"$incr_by": 1.5}}),
            "level: $incr_by on an integer field takes an integer",
        ),
        (
            json!({"level": {"$incr_by": "1"}}),
            "level: $incr_by takes a number",
        ),
        (
            json!({"level": {"$append": [1]}}),
            "level: $append applies to array fields",
        ),
        (
            json!({"prefs": {"$append_unique": [1]}}),
            "prefs: $append_unique applies to array fields",
        ),
        (
            json!({"bio": {"$remove": ["a"]}}),
            "bio: $remove applies to array fields",
        ),
        (
            json!({"tags": {"$update": {"a": 1}}}),
            "tags: $update applies to object fields",
        ),
        (
            json!({"prefs": {"$update": [1]}}),
            "prefs: $update takes an object",
        ),
        (
            json!({"prefs": {"$update": {}}}),
            "prefs: $update takes at least one key",
        ),
        (
            json!({"level": {"$pop": 1}}),
            "level: $pop applies to array fields",
        ),
        (
            json!({"tags": {"$pop": 2}}),
            "tags: $pop takes 1 (last element) or -1",
        ),
        (
            json!({"tags": {"$append": []}}),
            "tags: $append takes 1 to 64 values",
        ),
        (
            json!({"tags": {"$push": [1]}}),
            "tags: unknown operator $push",
        ),
        (
            json!({"tags": {"$append": [1], "$remove": [2]}}),
            "tags: an atomic operator must be the only key",
        ),
        (
            json!({"nickname": {"$incr_by": 1}}),
            "nickname: atomic operators apply to custom fields only",
        ),
        (
            json!({"gender": {"$incr_by": 1}}),
            "gender: atomic operators apply to custom fields only",
        ),
        (
            json!({"bio": "x", "$unset": {"bio": ""}}),
            "bio: both set and unset",
        ),
        (
            json!({"$unset": ["bio"]}),
            "$unset: must be an object of field names",
        ),
        (json!({"$unset": {"nope": ""}}), "nope: unknown field"),
    ] {
        let m = message(update(body.clone()));
        assert!(m.starts_with(says), "{body}: {m}");
    }
}

#[test]
fn bounds_name_the_field() {
    let s = |n: usize| "é".repeat(n);
    assert!(update(json!({"nickname": s(128)})).is_ok());
    assert_eq!(
        message(update(json!({"nickname": s(129)}))),
        "nickname: must be at most 128 characters"
    );
    assert!(update(json!({"avatar": s(1024)})).is_ok());
    assert!(
        message(update(json!({"avatar": s(1025)}))).starts_with("avatar: must be at most 1024")
    );
    assert!(message(update(json!({"city": s(129)}))).starts_with("city: must be at most 128"));
    assert!(message(update(json!({"bio": s(1025)}))).starts_with("bio: must be at most 1024"));
    assert!(message(update(json!({"tags": [s(1025)]}))).starts_with("tags: must be at most 1024"));
    let many: Vec<u32> = (0..65).collect();
    assert!(
        message(update(json!({"tags": many}))).starts_with("tags: must have at most 64 elements")
    );
    assert!(
        message(update(json!({"tags": {"$append": many}})))
            .starts_with("tags: $append takes 1 to 64")
    );
    let keys: Map<String, Value> = (0..65).map(|i| (format!("k{i}"), json!(i))).collect();
    assert!(
        message(update(json!({"prefs": keys})))
            .starts_with("prefs: objects must have at most 64 keys")
    );
    assert!(
        message(update(json!({"prefs": {"": 1}})))
            .starts_with("prefs: object keys must be 1 to 64")
    );
    let mut deep = json!(1);
    for _ in 0..VALUE_MAX_DEPTH {
        deep = json!([deep]);
    }
    assert!(update(json!({"tags": deep.clone()})).is_ok());
    assert!(
        message(update(json!({"tags": [deep]})))
            .starts_with("tags: arrays and objects nest at most")
    );
    assert!(
        message(update(json!({"tags": [1e300]})))
            .starts_with("tags: numbers must have a magnitude")
    );
    // The request alone over the per-user bound: refused before any read.
    let big: Vec<String> = (0..5).map(|_| "x".repeat(1000)).collect();
    assert_eq!(
        message(update(json!({"tags": big}))),
        format!(
            "body: custom fields of a user must total at most {CUSTOM_FIELDS_MAX_BYTES} bytes of JSON"
        )
    );
}

fn object(v: Value) -> Map<String, Value> {
    v.as_object().unwrap().clone()
}

fn applied(start: Value, body: Value) -> ApiResult<Value> {
    let mut o = object(start);
    update(body)?.apply(&mut o, &fields())?;
    Ok(Value::Object(o))
}

#[test]
fn apply_is_the_reference_for_each_operator() {
    let start = json!({
        "id": 7, "nickname": "Tom", "gender": 1,
        "level": 5, "score": 1.5, "tags": ["a", 1, "b", 1], "prefs": {"a": 1, "b": 2}, "bio": "hi",
    });
    let cases = [
        (json!({"level": {"$incr_by": 2}}), json!({"level": 7})),
        (json!({"score": {"$incr_by": -0.5}}), json!({"score": 1.0})),
        (
            json!({"tags": {"$append": ["a"]}}),
            json!({"tags": ["a", 1, "b", 1, "a"]}),
        ),
        (
            json!({"tags": {"$append_unique": ["a", "c", "c", 1.0]}}),
            json!({"tags": ["a", 1, "b", 1, "c"]}),
        ),
        (
            json!({"tags": {"$remove": [1.0, "zz"]}}),
            json!({"tags": ["a", "b"]}),
        ),
        (json!({"tags": {"$pop": 1}}), json!({"tags": ["a", 1, "b"]})),
        (json!({"tags": {"$pop": -1}}), json!({"tags": [1, "b", 1]})),
        (
            json!({"prefs": {"$update": {"b": 3, "c": null}}}),
            json!({"prefs": {"a": 1, "b": 3, "c": null}}),
        ),
        (json!({"$unset": {"bio": ""}}), json!({"bio": null})),
        (json!({"bio": null}), json!({"bio": null})),
        (json!({"$unset": {"nickname": ""}}), json!({"nickname": ""})),
        (json!({"$unset": {"gender": ""}}), json!({"gender": null})),
        (
            json!({"nickname": "Ann", "level": 1}),
            json!({"nickname": "Ann", "level": 1}),
        ),
    ];
    for (body, changed) in cases {
        let got = applied(start.clone(), body.clone()).unwrap();
        let mut want = object(start.clone());
        for (k, v) in object(changed) {
            if v.is_null() && fields().custom_type(&k).is_some() {
                want.remove(&k);
            } else {
                want.insert(k, v);
            }
        }
        assert_eq!(got, Value::Object(want), "{body}");
    }
}

#[test]
fn apply_treats_absent_fields_as_empty() {
    let got = applied(
        json!({"id": 1}),
        json!({
            "level": {"$incr_by": 3},
            "score": {"$incr_by": 0.25},
            "tags": {"$append_unique": ["x", "x"]},
            "prefs": {"$update": {"k": true}},
        }),
    )
    .unwrap();
    assert_eq!(
        got,
        json!({"id": 1, "level": 3, "score": 0.25, "tags": ["x"], "prefs": {"k": true}})
    );
    let popped = applied(json!({"id": 1}), json!({"tags": {"$pop": 1}})).unwrap();
    assert_eq!(popped, json!({"id": 1, "tags": []}));
    let removed = applied(
        json!({"id": 1, "tags": null}),
        json!({"tags": {"$remove": "a"}}),
    )
    .unwrap();
    assert_eq!(removed, json!({"id": 1, "tags": []}));
}

#[test]
fn apply_refuses_results_over_the_bounds_and_changes_nothing() {
    let full: Vec<u32> = (0..64).collect();
    let start = json!({"id": 1, "tags": full, "level": INTEGER_MAX - 1});
    for (body, says) in [
        (
            json!({"tags": {"$append": [1]}}),
            "tags: must have at most 64 elements",
        ),
        (
            json!({"level": {"$incr_by": 2}}),
            "level: would leave the range",
        ),
    ] {
        let mut o = object(start.clone());
        let err = update(body).unwrap().apply(&mut o, &fields()).unwrap_err();
        assert!(err.to_string().starts_with(says), "{err}");
        assert_eq!(Value::Object(o), start);
    }
    // Same value already present: append_unique adds nothing, so it fits.
    assert!(applied(start.clone(), json!({"tags": {"$append_unique": [3]}})).is_ok());
    let keys: Map<String, Value> = (0..64).map(|i| (format!("k{i}"), json!(i))).collect();
    let mut o = object(json!({"prefs": keys}));
    let err = update(json!({"prefs": {"$update": {"new": 1}}}))
        .unwrap()
        .apply(&mut o, &fields())
        .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("prefs: must have at most 64 keys")
    );
    // Each request fits, the sum does not.
    let mut o = object(json!({"id": 1}));
    let chunk = |c: &str| json!({"bio": c.repeat(1000)});
    update(chunk("a"))
        .unwrap()
        .apply(&mut o, &fields())
        .unwrap();
    let tags: Vec<String> = (0..4).map(|_| "t".repeat(1000)).collect();
    let before = o.clone();
    let err = update(json!({"tags": tags}))
        .unwrap()
        .apply(&mut o, &fields())
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("custom fields of a user must total")
    );
    assert_eq!(o, before);
    // Built-ins do not count toward the custom bound.
    let mut o = object(json!({"avatar": "x".repeat(5000)}));
    update(json!({"bio": "y"}))
        .unwrap()
        .apply(&mut o, &fields())
        .unwrap();
}

#[test]
fn a_field_declared_private_is_read_by_its_owner_only() {
    let fields = UserFields::parse("level:integer, diary:string:private").unwrap();
    assert_eq!(fields.custom_type("diary"), Some(FieldType::String));
    assert!(fields.readable_by_others("level"));
    assert!(!fields.readable_by_others("diary"));
    let err = UserFields::parse("diary:string:secret").unwrap_err();
    assert!(err.contains("unknown flag"), "{err}");
}
