//! What the process prints on stdout and stderr outside the TUI. Every
//! layer that speaks to the user headless (the front ends, the assembly,
//! the guardian, alerts) prints through here, so that it sits below all of
//! them.

use crate::format::sanitize;

/// Prints a line to stdout. A closed stdout (`cutover run | head`) is not
/// worth dying for: the autopilot must go on whether anyone reads it or not.
/// Control characters are escaped: what is printed may hold text from a
/// config or a server, and must not drive the user's terminal.
pub fn say(text: impl std::fmt::Display) {
    use std::io::Write;
    let text = text.to_string();
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{}", sanitize(&text, true)).and_then(|_| out.flush());
}

/// The same for stderr (errors quote config lines and server answers).
pub fn warn(text: impl std::fmt::Display) {
    use std::io::Write;
    let text = text.to_string();
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "{}", sanitize(&text, true));
}
