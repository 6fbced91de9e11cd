//! serde speaks Rust (`expected u32`, `expected struct Levels`, `sequence`);
//! a config error is read by someone who writes TOML. This turns serde's
//! wording into TOML's.

/// `message` with every Rust type name put in TOML's words.
pub fn plain(message: &str) -> String {
    let (got, expected) = match message.split_once(", expected ") {
        Some((g, e)) => (g, Some(e)),
        None => (message, None),
    };
    let mut out = found(got);
    if let Some(e) = expected {
        out.push_str(", expected ");
        out.push_str(&wanted(e));
    }
    out
}

/// What serde says it found: `invalid type: sequence` and the like.
fn found(text: &str) -> String {
    let mut t = text.to_string();
    for (rust, toml) in [
        ("sequence", "a list"),
        ("map", "a table"),
        ("floating point", "the number"),
        ("integer", "the number"),
        ("unit value", "nothing"),
    ] {
        for lead in ["invalid type: ", "invalid value: "] {
            let from = format!("{lead}{rust}");
            if t.starts_with(&from) {
                t = format!("{lead}{toml}{}", &t[from.len()..]);
            }
        }
    }
    t
}

/// What serde says it expected, in TOML's words.
fn wanted(e: &str) -> String {
    let e = e.trim();
    let word = match e {
        "u8" => "a whole number from 0 to 255",
        "u16" => "a whole number from 0 to 65535",
        "u32" => "a whole number from 0 to 4294967295",
        "u64" | "usize" => "a whole number, 0 or more",
        "i8" | "i16" | "i32" | "i64" | "isize" => "a whole number",
        "f32" | "f64" => "a number",
        "a sequence" => "a list, e.g. [1, 2]",
        "a map" | "map" => "a table",
        "a boolean" | "bool" => "true or false",
        "a string" | "string" | "a borrowed string" => "a string in quotes",
        "char" | "a character" => "a single character in quotes",
        _ if e.starts_with("struct ") => "a table",
        _ if e.starts_with("enum ") => "one of the documented words, in quotes",
        _ if e.starts_with("a sequence of") || e.starts_with("sequence") => "a list",
        _ => return e.to_string(),
    };
    word.to_string()
}

#[cfg(test)]
mod tests {
    use super::plain;

    #[test]
    fn no_rust_type_names() {
        assert_eq!(
            plain("invalid type: string \"two\", expected u32"),
            "invalid type: string \"two\", expected a whole number from 0 to 4294967295"
        );
        assert_eq!(
            plain("invalid type: string \"x\", expected f64"),
            "invalid type: string \"x\", expected a number"
        );
        assert_eq!(
            plain("invalid type: sequence, expected struct Levels"),
            "invalid type: a list, expected a table"
        );
        assert_eq!(
            plain("invalid value: integer `300`, expected u8"),
            "invalid value: the number `300`, expected a whole number from 0 to 255"
        );
        assert_eq!(
            plain("invalid type: integer `1`, expected a boolean"),
            "invalid type: the number `1`, expected true or false"
        );
        assert_eq!(plain("missing field `name`"), "missing field `name`");
    }
}
