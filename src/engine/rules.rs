//! User rules (DESIGN §3): match an event, rewrite what happens to it. Like mail filters,
//! they run in order and `stop` ends the chain. Pure.

use jiff::SignedDuration;

use crate::model::prefs::{Rule, RuleMatch, parse_duration};
use crate::model::{Channel, Event, Urgency};

/// What the rule chain decided, with the names of the rules that did it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Outcome {
    pub urgency: Option<(Urgency, String)>,
    pub mute: Option<String>,
    pub route: Option<(Vec<Channel>, String)>,
    pub skip_inbox: Option<String>,
    pub mark_read: Option<String>,
    pub snooze: Option<(SignedDuration, String)>,
    pub tags: Vec<String>,
    pub matched: Vec<String>,
}

/// `*` matches any run of characters, `?` exactly one; everything else is literal.
pub fn glob(pattern: &str, text: &str) -> bool {
    // Event types and thread keys are ASCII nearly always: match bytes, allocate nothing.
    if pattern.is_ascii() && text.is_ascii() {
        return glob_in(pattern.as_bytes(), text.as_bytes(), b'*', b'?');
    }
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    glob_in(&p, &t, '*', '?')
}

fn glob_in<T: PartialEq + Copy>(p: &[T], t: &[T], any: T, one: T) -> bool {
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == one || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == any {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == any)
}

fn data_at<'a>(data: &'a serde_json::Value, path: &str) -> Option<&'a serde_json::Value> {
    path.split('.').try_fold(data, |v, key| v.get(key))
}

/// Whether every condition of `m` holds for the event at urgency `urgency`.
pub fn matches(m: &RuleMatch, event: &Event, category: &str, urgency: Urgency) -> bool {
    let text_has = |needle: &str| {
        let needle = needle.to_lowercase();
        event.title.to_lowercase().contains(&needle)
            || event.body.as_deref().is_some_and(|b| b.to_lowercase().contains(&needle))
    };
    m.kind.as_deref().is_none_or(|g| glob(g, &event.kind))
        && m.category.as_deref().is_none_or(|c| c == category)
        && m.urgency_at_least.is_none_or(|u| urgency >= u)
        && m.urgency_at_most.is_none_or(|u| urgency <= u)
        && m.actor.as_deref().is_none_or(|a| event.actor.as_deref() == Some(a))
        && m.thread.as_deref().is_none_or(|g| event.thread.as_deref().is_some_and(|t| glob(g, t)))
        && m.text_contains.as_deref().is_none_or(text_has)
        && m.data.iter().all(|(path, want)| data_at(&event.data, path) == Some(want))
}

/// Runs the enabled rules in order. A later rule sees the urgency an earlier one set.
pub fn apply(rules: &[Rule], event: &Event, category: &str, urgency: Urgency) -> Outcome {
    let mut out = Outcome::default();
    let mut current = urgency;
    for rule in rules.iter().filter(|r| r.enabled) {
        if !matches(&rule.matcher, event, category, current) {
            continue;
        }
        let name = rule.name.clone();
        let a = &rule.actions;
        if let Some(u) = a.set_urgency {
            current = u;
            out.urgency = Some((u, name.clone()));
        }
        if a.mute {
            out.mute = Some(name.clone());
        }
        if let Some(route) = &a.route {
            out.route = Some((route.clone(), name.clone()));
        }
        if a.skip_inbox {
            out.skip_inbox = Some(name.clone());
        }
        if a.mark_read {
            out.mark_read = Some(name.clone());
        }
        if let Some(d) = a.snooze_for.as_deref().and_then(|s| parse_duration(s).ok()) {
            out.snooze = Some((d, name.clone()));
        }
        if let Some(tag) = &a.tag
            && !out.tags.contains(tag)
        {
            out.tags.push(tag.clone());
        }
        out.matched.push(name);
        if rule.stop {
            break;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::glob;

    #[test]
    fn globs() {
        assert!(glob("build.*", "build.failed"));
        assert!(glob("*.failed", "payment.failed"));
        assert!(glob("*", ""));
        assert!(glob("a?c", "abc"));
        assert!(!glob("build.*", "deploy.failed"));
        assert!(!glob("a?c", "ac"));
        assert!(glob("repo/*#*", "repo/api#4711"));
        assert!(!glob("exact", "exactly"));
        assert!(glob("équipe.*", "équipe.réunion"));
        assert!(glob("?.x", "é.x"), "one character, not one byte");
    }
}
