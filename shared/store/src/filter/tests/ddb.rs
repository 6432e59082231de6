//! A model of DynamoDB's condition expressions, as far as [`Filter::to_dynamo`] writes them, to
//! check the pushdown without a server. Items are JSON: `null` is a NULL attribute, an absent
//! key an absent attribute. Behaviours that matter here were checked on DynamoDB Local: `<>`
//! and `NOT (a IN ...)` are true on an absent attribute; comparisons of different types are
//! false; numbers compare by value inside lists and maps too; `contains` on a list tests
//! elements (maps included), on a string substrings; `size` of an absent attribute makes its
//! comparison false; `attribute_exists` of a map key holding NULL is true. It also refuses
//! what DynamoDB refuses: redundant parentheses (`((a))`), placeholders the expression does not
//! use, more than 300 operators and functions, more than 100 `IN` operands, over 4 KB.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

#[derive(Debug, Clone, PartialEq)]
pub enum Tok {
    Open,
    Close,
    Comma,
    Dot,
    Name(String),
    Val(String),
    Word(String),
    Cmp(String),
}

const WORDS: [&str; 9] = [
    "AND",
    "OR",
    "NOT",
    "IN",
    "attribute_exists",
    "attribute_not_exists",
    "attribute_type",
    "contains",
    "size",
];

/// Splits an expression; anything but placeholders, keywords and functions panics.
pub fn tokens(expr: &str) -> Vec<Tok> {
    let chars: Vec<char> = expr.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    let word = |i: &mut usize| {
        let start = *i;
        while *i < chars.len() && (chars[*i].is_ascii_alphanumeric() || chars[*i] == '_') {
            *i += 1;
        }
        chars[start..*i].iter().collect::<String>()
    };
    while i < chars.len() {
        let c = chars[i];
        match c {
            ' ' => i += 1,
            '(' => {
                out.push(Tok::Open);
                i += 1
            }
            ')' => {
                out.push(Tok::Close);
                i += 1
            }
            ',' => {
                out.push(Tok::Comma);
                i += 1
            }
            '.' => {
                out.push(Tok::Dot);
                i += 1
            }
            '#' | ':' => {
                i += 1;
                let w = word(&mut i);
                assert!(!w.is_empty(), "bare {c} in {expr}");
                out.push(if c == '#' {
                    Tok::Name(format!("#{w}"))
                } else {
                    Tok::Val(format!(":{w}"))
                });
            }
            '<' | '>' | '=' => {
                let mut op = c.to_string();
                i += 1;
                if i < chars.len() && matches!(chars[i], '=' | '>') {
                    op.push(chars[i]);
                    i += 1;
                }
                assert!(
                    ["=", "<>", "<", "<=", ">", ">="].contains(&op.as_str()),
                    "{op} in {expr}"
                );
                out.push(Tok::Cmp(op));
            }
            c if c.is_ascii_alphabetic() => {
                let w = word(&mut i);
                assert!(WORDS.contains(&w.as_str()), "raw text {w:?} in {expr}");
                out.push(Tok::Word(w));
            }
            other => panic!("raw character {other:?} in {expr}"),
        }
    }
    out
}

#[derive(Debug)]
enum Operand {
    Path(Vec<String>),
    Val(String),
    Size(Vec<String>),
}

#[derive(Debug)]
enum Ex {
    Or(Box<Ex>, Box<Ex>),
    And(Box<Ex>, Box<Ex>),
    Not(Box<Ex>),
    Cmp(Operand, String, Operand),
    In(Operand, Vec<Operand>),
    Func(String, Vec<Operand>),
    Group(Box<Ex>),
}

struct Parser {
    toks: Vec<Tok>,
    at: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.at)
    }

    fn next(&mut self) -> Tok {
        let t = self.toks[self.at].clone();
        self.at += 1;
        t
    }

    fn expect(&mut self, t: Tok) {
        assert_eq!(self.next(), t);
    }

    fn is_word(&self, w: &str) -> bool {
        self.peek() == Some(&Tok::Word(w.to_string()))
    }

    fn or(&mut self) -> Ex {
        let mut e = self.and();
        while self.is_word("OR") {
            self.next();
            e = Ex::Or(Box::new(e), Box::new(self.and()));
        }
        e
    }

    fn and(&mut self) -> Ex {
        let mut e = self.not();
        while self.is_word("AND") {
            self.next();
            e = Ex::And(Box::new(e), Box::new(self.not()));
        }
        e
    }

    fn not(&mut self) -> Ex {
        if self.is_word("NOT") {
            self.next();
            return Ex::Not(Box::new(self.not()));
        }
        self.atom()
    }

    fn path(&mut self) -> Vec<String> {
        let mut segments = Vec::new();
        loop {
            match self.next() {
                Tok::Name(n) => segments.push(n),
                t => panic!("expected a name, got {t:?}"),
            }
            if self.peek() == Some(&Tok::Dot) {
                self.next();
            } else {
                return segments;
            }
        }
    }

    fn operand(&mut self) -> Operand {
        match self.peek() {
            Some(Tok::Val(_)) => match self.next() {
                Tok::Val(v) => Operand::Val(v),
                _ => unreachable!(),
            },
            Some(Tok::Word(w)) if w == "size" => {
                self.next();
                self.expect(Tok::Open);
                let p = self.path();
                self.expect(Tok::Close);
                Operand::Size(p)
            }
            _ => Operand::Path(self.path()),
        }
    }

    fn atom(&mut self) -> Ex {
        match self.peek().cloned() {
            Some(Tok::Open) => {
                self.next();
                let e = self.or();
                self.expect(Tok::Close);
                assert!(
                    !matches!(e, Ex::Group(_)),
                    "redundant parentheses: DynamoDB refuses them"
                );
                Ex::Group(Box::new(e))
            }
            Some(Tok::Word(w)) if w != "size" => {
                self.next();
                self.expect(Tok::Open);
                let mut args = vec![self.operand()];
                while self.peek() == Some(&Tok::Comma) {
                    self.next();
                    args.push(self.operand());
                }
                self.expect(Tok::Close);
                Ex::Func(w, args)
            }
            _ => {
                let left = self.operand();
                match self.next() {
                    Tok::Cmp(op) => Ex::Cmp(left, op, self.operand()),
                    Tok::Word(w) if w == "IN" => {
                        self.expect(Tok::Open);
                        let mut list = vec![self.operand()];
                        while self.peek() == Some(&Tok::Comma) {
                            self.next();
                            list.push(self.operand());
                        }
                        self.expect(Tok::Close);
                        assert!(list.len() <= 100, "IN takes at most 100 operands");
                        Ex::In(left, list)
                    }
                    t => panic!("expected a comparison, got {t:?}"),
                }
            }
        }
    }
}

struct Ctx<'a> {
    names: &'a BTreeMap<String, String>,
    values: &'a BTreeMap<String, Value>,
    item: &'a Map<String, Value>,
}

impl Ctx<'_> {
    fn resolve(&self, path: &[String]) -> Option<Value> {
        let mut current: Option<&Value> = None;
        for (i, placeholder) in path.iter().enumerate() {
            let name = &self.names[placeholder];
            current = if i == 0 {
                self.item.get(name)
            } else {
                current?.as_object()?.get(name)
            };
        }
        current.cloned()
    }

    fn operand(&self, o: &Operand) -> Option<Value> {
        match o {
            Operand::Path(p) => self.resolve(p),
            Operand::Val(v) => Some(self.values[v].clone()),
            Operand::Size(p) => match self.resolve(p)? {
                Value::String(s) => Some(Value::from(s.len())),
                Value::Array(a) => Some(Value::from(a.len())),
                Value::Object(m) => Some(Value::from(m.len())),
                _ => None,
            },
        }
    }

    fn eval(&self, e: &Ex) -> bool {
        match e {
            Ex::Or(a, b) => self.eval(a) || self.eval(b),
            Ex::And(a, b) => self.eval(a) && self.eval(b),
            Ex::Not(a) => !self.eval(a),
            Ex::Group(a) => self.eval(a),
            Ex::Cmp(a, op, b) => {
                let (a, b) = (self.operand(a), self.operand(b));
                match op.as_str() {
                    "=" => matches!((&a, &b), (Some(x), Some(y)) if eq(x, y)),
                    "<>" => !matches!((&a, &b), (Some(x), Some(y)) if eq(x, y)),
                    _ => {
                        let ord = match (&a, &b) {
                            (Some(Value::Number(x)), Some(Value::Number(y))) => {
                                x.as_f64().unwrap().partial_cmp(&y.as_f64().unwrap())
                            }
                            (Some(Value::String(x)), Some(Value::String(y))) => {
                                Some(x.as_bytes().cmp(y.as_bytes()))
                            }
                            _ => None,
                        };
                        use std::cmp::Ordering::*;
                        matches!(
                            (op.as_str(), ord),
                            ("<", Some(Less))
                                | ("<=", Some(Less | Equal))
                                | (">", Some(Greater))
                                | (">=", Some(Greater | Equal))
                        )
                    }
                }
            }
            Ex::In(a, list) => match self.operand(a) {
                Some(x) => list
                    .iter()
                    .any(|o| self.operand(o).is_some_and(|y| eq(&x, &y))),
                None => false,
            },
            Ex::Func(f, args) => match (f.as_str(), args.as_slice()) {
                ("attribute_exists", [p]) => self.operand(p).is_some(),
                ("attribute_not_exists", [p]) => self.operand(p).is_none(),
                ("attribute_type", [p, t]) => {
                    let t = self.operand(t).unwrap();
                    self.operand(p).is_some_and(|v| t == type_name(&v))
                }
                ("contains", [p, v]) => {
                    let v = self.operand(v).unwrap();
                    match self.operand(p) {
                        Some(Value::String(s)) => v.as_str().is_some_and(|sub| s.contains(sub)),
                        Some(Value::Array(items)) => items.iter().any(|e| eq(e, &v)),
                        _ => false,
                    }
                }
                other => panic!("unexpected function {other:?}"),
            },
        }
    }
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "NULL",
        Value::Bool(_) => "BOOL",
        Value::Number(_) => "N",
        Value::String(_) => "S",
        Value::Array(_) => "L",
        Value::Object(_) => "M",
    }
}

/// DynamoDB equality: same type, numbers by value, lists in order, maps by key.
fn eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| eq(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, a)| y.get(k).is_some_and(|b| eq(a, b)))
        }
        _ => a == b,
    }
}

/// Whether DynamoDB would return `item` for the FilterExpression `expr`.
pub fn eval(
    expr: &str,
    names: &BTreeMap<String, String>,
    values: &BTreeMap<String, Value>,
    item: &Map<String, Value>,
) -> bool {
    assert!(expr.len() <= 4096, "over 4 KB");
    let toks = tokens(expr);
    let operators = toks
        .iter()
        .filter(|t| matches!(t, Tok::Cmp(_) | Tok::Word(_)))
        .count();
    assert!(operators <= 300, "{operators} operators and functions");
    for placeholder in names.keys().chain(values.keys()) {
        let used = toks
            .iter()
            .any(|t| matches!(t, Tok::Name(p) | Tok::Val(p) if p == placeholder));
        assert!(used, "{placeholder} unused: DynamoDB refuses it");
    }
    let mut parser = Parser { toks, at: 0 };
    let ast = parser.or();
    assert_eq!(parser.at, parser.toks.len(), "trailing tokens in {expr}");
    Ctx {
        names,
        values,
        item,
    }
    .eval(&ast)
}
