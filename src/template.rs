//! Bounded minijinja rendering, shared by workflows and generic hooks (DESIGN §3): a missing
//! variable renders empty, a render gets a fixed amount of work (loops included), and its
//! output stops at [`MAX_OUTPUT`] while it is written, not after all of it was built.

use minijinja::{Environment, UndefinedBehavior};
use serde::Serialize;

/// Instructions one render may run: plenty for any real template, a wall for a loop bomb.
const FUEL: u64 = 50_000;
/// The longest text a render may produce.
pub const MAX_OUTPUT: usize = 64 * 1024;

/// The environment every render uses; a template named `*.html` is auto-escaped.
pub fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_auto_escape_callback(|name| {
        if name.ends_with(".html") { minijinja::AutoEscape::Html } else { minijinja::AutoEscape::None }
    });
    // A missing variable (even `a.b` of a missing `a`) renders empty.
    env.set_undefined_behavior(UndefinedBehavior::Chainable);
    env.set_fuel(Some(FUEL));
    env
}

/// Renders `t`; an error starts with `field: `.
pub fn render(t: &minijinja::Template, ctx: &impl Serialize, field: &str) -> Result<String, String> {
    struct Bounded(Vec<u8>);
    impl std::io::Write for Bounded {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            if self.0.len() + buf.len() > MAX_OUTPUT {
                return Err(std::io::Error::other("output limit"));
            }
            self.0.extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut out = Bounded(Vec::new());
    match t.render_captured_to(ctx, &mut out) {
        Ok(_) => String::from_utf8(out.0).map_err(|_| format!("{field}: renders to invalid UTF-8")),
        Err(e) if e.kind() == minijinja::ErrorKind::WriteFailure => {
            Err(format!("{field}: renders to more than {MAX_OUTPUT} bytes"))
        }
        Err(e) => Err(format!("{field}: {e}")),
    }
}

/// Compiles `src` in `env` and renders it; an error starts with `field: `.
pub fn render_str(
    env: &Environment<'_>,
    src: &str,
    ctx: &impl Serialize,
    field: &str,
) -> Result<String, String> {
    let t = env.template_from_str(src).map_err(|e| format!("{field}: {e}"))?;
    render(&t, ctx, field)
}
