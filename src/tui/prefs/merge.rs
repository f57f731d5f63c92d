//! A version conflict merged field by field (issue 16, failure 5): a save met preferences
//! another client changed since the version this draft was edited from. Each field only one
//! side changed is taken from that side without asking; only the fields both sides changed,
//! to different values, are asked about. Fields are the leaves of the preferences' JSON
//! shape; a list (the rules, the escalation channels) is one field. Pure.

use serde_json::{Map, Value};

use crate::prefs::{MASKED_SECRET, Preferences};

/// A field both sides changed to different values: where, and each side's value (`None`:
/// that side removed it).
#[derive(Debug, Clone, PartialEq)]
pub struct Clash {
    pub path: Vec<String>,
    pub mine: Option<Value>,
    pub theirs: Option<Value>,
}

impl Clash {
    /// The field as the dialog names it: `channels.email.address`.
    pub fn name(&self) -> String {
        self.path.join(".")
    }

    /// How one side's value reads in the dialog; a secret never shows.
    pub fn shown(&self, value: Option<&Value>) -> String {
        let secret = self.path.last().is_some_and(|k| k == "secret");
        match value {
            None | Some(Value::Null) => "(none)".into(),
            Some(Value::String(s)) if secret && s.is_empty() => "(none)".into(),
            Some(Value::String(s)) if secret && s == MASKED_SECRET => MASKED_SECRET.into(),
            Some(_) if secret => "a new secret (hidden)".into(),
            Some(Value::String(s)) => s.clone(),
            Some(other) => other.to_string(),
        }
    }
}

/// The three-way merge of `mine` and `theirs`, both edited from `base`.
#[derive(Debug, Clone, PartialEq)]
pub struct Merge {
    /// Every field one side changed, from that side; a clash keeps mine until picked.
    pub merged: Value,
    /// The fields both sides changed.
    pub clashes: Vec<Clash>,
    /// The fields taken from theirs without asking.
    pub taken: Vec<String>,
}

pub fn merge(base: &Preferences, mine: &Preferences, theirs: &Preferences) -> Merge {
    let json = |p: &Preferences| serde_json::to_value(p).unwrap_or_default();
    let (base, mine, theirs) = (json(base), json(mine), json(theirs));
    let mut m = Merge { merged: Value::Null, clashes: Vec::new(), taken: Vec::new() };
    let merged = walk(&mut Vec::new(), Some(&base), Some(&mine), Some(&theirs), &mut m);
    m.merged = merged.unwrap_or(Value::Null);
    m
}

fn walk(
    path: &mut Vec<String>,
    base: Option<&Value>,
    mine: Option<&Value>,
    theirs: Option<&Value>,
    m: &mut Merge,
) -> Option<Value> {
    if mine == theirs {
        return mine.cloned();
    }
    // Objects merge key by key (a key new on both sides too), so that what was taken is
    // named field by field.
    let empty = Map::new();
    if let (Some(Value::Object(x)), Some(Value::Object(y))) = (mine, theirs) {
        let b = match base {
            Some(Value::Object(b)) => Some(b),
            None => Some(&empty),
            Some(_) => None,
        };
        if let Some(b) = b {
            let keys: std::collections::BTreeSet<&String> =
                b.keys().chain(x.keys()).chain(y.keys()).collect();
            let mut out = Map::new();
            for k in keys {
                path.push(k.clone());
                if let Some(v) = walk(path, b.get(k), x.get(k), y.get(k), m) {
                    out.insert(k.clone(), v);
                }
                path.pop();
            }
            return Some(Value::Object(out));
        }
    }
    if theirs == base {
        return mine.cloned();
    }
    if mine == base {
        m.taken.push(path.join("."));
        return theirs.cloned();
    }
    m.clashes.push(Clash { path: path.clone(), mine: mine.cloned(), theirs: theirs.cloned() });
    mine.cloned()
}

/// `merged` with each clash resolved as picked (`true`: mine).
pub fn resolve(merged: &Value, clashes: &[Clash], picks: &[bool]) -> Result<Preferences, String> {
    let mut v = merged.clone();
    for (c, mine) in clashes.iter().zip(picks) {
        set(&mut v, &c.path, if *mine { c.mine.clone() } else { c.theirs.clone() });
    }
    serde_json::from_value(v).map_err(|e| e.to_string())
}

fn set(v: &mut Value, path: &[String], to: Option<Value>) {
    let Some((last, parents)) = path.split_last() else {
        if let Some(to) = to {
            *v = to;
        }
        return;
    };
    let mut at = v;
    for k in parents {
        let Value::Object(map) = at else { return };
        at = map.entry(k.clone()).or_insert_with(|| Value::Object(Map::new()));
    }
    if let Value::Object(map) = at {
        match to {
            Some(to) => map.insert(last.clone(), to),
            None => map.remove(last),
        };
    }
}

/// Field names in a sentence, the first two and how many more.
pub fn names(paths: &[String]) -> String {
    match paths {
        [] => "nothing".into(),
        [a] => a.clone(),
        [a, b] => format!("{a}, {b}"),
        [a, b, rest @ ..] => format!("{a}, {b} and {} more", rest.len()),
    }
}
