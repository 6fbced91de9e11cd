//! Config loading over configs broken every way a person breaks them,
//! starting from the example config's settings: a value of the wrong type
//! or out of range, a misspelt key, a line deleted, a character dropped.
//! Loading never panics, and every refusal names a key and a line, so a
//! broken config is fixed in one look.

use proptest::prelude::*;

use cutover::config::load_str;

const EXAMPLE: &str = include_str!("../../config.example.toml");

/// The example's settings without its comments: about 45 lines, each a
/// table header or a `key = value`.
fn base() -> Vec<String> {
    EXAMPLE
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_string)
        .collect()
}

/// Values of every TOML type, in range and out of it.
fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "\"\"",
            "\"x\"",
            "\"5\"",
            "\"-5s\"",
            "\"0s\"",
            "\"10 years\"",
            "\"1e9h\"",
            "\"hold\"",
            "\"rollback\"",
            "\"scrape\"",
            "0",
            "-1",
            "1",
            "101",
            "1e400",
            "-0.5",
            "nan",
            "inf",
            "true",
            "false",
            "[]",
            "[0]",
            "[100, 5, 1]",
            "[1, 1, 100]",
            "[\"1\"]",
            "{}",
            "{ warn = 1 }",
            "{ warn = 9, breach = 1 }",
            "1979-05-27T07:32:00Z",
            "18446744073709551615",
        ])
        .prop_map(str::to_string),
        any::<i64>().prop_map(|n| n.to_string()),
        any::<f64>().prop_map(|f| format!("{f:?}")),
        "\"[ -~]{0,12}\"",
    ]
}

/// One way to break line `i` (taken modulo the line count).
#[derive(Debug, Clone)]
enum Break {
    /// `key = value` gets another value.
    Value(usize, String),
    /// The key gains a letter: a misspelling.
    Misspell(usize, char),
    /// The line is gone.
    Delete(usize),
    /// One character of the line is gone.
    DropChar(usize, usize),
}

fn breakage() -> impl Strategy<Value = Break> {
    prop_oneof![
        4 => (any::<usize>(), value()).prop_map(|(i, v)| Break::Value(i, v)),
        2 => (any::<usize>(), prop::char::range('a', 'z')).prop_map(|(i, c)| Break::Misspell(i, c)),
        2 => any::<usize>().prop_map(Break::Delete),
        2 => (any::<usize>(), any::<usize>()).prop_map(|(i, j)| Break::DropChar(i, j)),
    ]
}

fn apply(lines: &mut Vec<String>, b: &Break) {
    let n = lines.len();
    match b {
        Break::Value(i, v) => {
            let l = &mut lines[i % n];
            if let Some((key, _)) = l.split_once(" = ") {
                *l = format!("{key} = {v}");
            }
        }
        Break::Misspell(i, c) => {
            let l = &mut lines[i % n];
            if let Some((key, rest)) = l.split_once(" = ") {
                *l = format!("{key}{c} = {rest}");
            }
        }
        Break::Delete(i) => {
            lines.remove(i % n);
        }
        Break::DropChar(i, j) => {
            let l = &mut lines[i % n];
            if !l.is_empty() {
                let at = l.char_indices().nth(j % l.chars().count()).unwrap().0;
                l.remove(at);
            }
        }
    }
}

proptest! {
    #[test]
    fn a_broken_config_is_refused_naming_a_key_and_a_line(
        breaks in prop::collection::vec(breakage(), 1..3)
    ) {
        let mut lines = base();
        for b in &breaks {
            apply(&mut lines, b);
        }
        let text = lines.join("\n") + "\n";
        if let Err(e) = load_str(&text, "config.toml") {
            let shown = e.to_string();
            prop_assert!(e.key.is_some(), "no key named for {breaks:?}: {shown}\n{text}");
            // A whole table that is missing is nowhere in the file: its
            // error names the table and says it is missing instead.
            let missing_table = e.message.contains("] is missing:");
            match e.line {
                Some(line) => prop_assert!(
                    (1..=lines.len() + 1).contains(&line),
                    "line {line} is not in the file: {shown}"
                ),
                None => prop_assert!(
                    missing_table,
                    "no line named for {breaks:?}: {shown}\n{text}"
                ),
            }
        }
    }

    /// Any text at all: loading answers, it never panics.
    #[test]
    fn any_text_loads_or_is_refused(text in any::<String>()) {
        if let Err(e) = load_str(&text, "config.toml") {
            prop_assert!(!e.message.is_empty());
        }
    }
}

#[test]
fn the_base_config_loads() {
    let text = base().join("\n");
    load_str(&text, "config.toml").unwrap_or_else(|e| panic!("{e}\n{text}"));
}

/// What the property found: TOML that does not parse named a line but no
/// key. The key written on that line is named now, under its table.
#[test]
fn a_syntax_error_names_the_key_on_its_line() {
    let text = base()
        .join("\n")
        .replace("warn = 0.75, breach = 0.70", "warn = .75, breach = 0.70");
    let e = load_str(&text, "config.toml").unwrap_err();
    assert_eq!(e.key.as_deref(), Some("guardrails.quality.absolute"), "{e}");
    assert!(e.line.is_some(), "{e}");
}
