//! Where a key stands in TOML text: the dotted key at a byte offset, the
//! span of a dotted key, the line of an offset. Both the config and the
//! `[[metrics]]` loader name the key and line of every error through these.

use std::ops::Range;

use toml::de::{DeTable, DeValue};

/// The 1-based line holding byte `offset` of `text`.
pub fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// The dotted key whose key or value contains `offset`, as deep as it goes.
/// A table's own span covers only its header, so every table is searched.
pub fn key_at(table: &DeTable<'_>, offset: usize) -> Option<String> {
    let inside = |r: Range<usize>| r.start <= offset && offset < r.end.max(r.start + 1);
    for (k, v) in table {
        let here = k.get_ref().to_string();
        if let DeValue::Table(t) = v.get_ref()
            && let Some(d) = key_at(t, offset)
        {
            return Some(format!("{here}.{d}"));
        }
        // An array of tables (`[[alerts]]`): name the entry, `alerts[1].url`.
        if let DeValue::Array(a) = v.get_ref() {
            for (i, item) in a.iter().enumerate() {
                if let DeValue::Table(t) = item.get_ref()
                    && let Some(d) = key_at(t, offset)
                {
                    return Some(format!("{here}[{i}].{d}"));
                }
                if matches!(item.get_ref(), DeValue::Table(_)) && inside(item.span()) {
                    return Some(format!("{here}[{i}]"));
                }
            }
        }
        if inside(k.span()) || inside(v.span()) {
            return Some(here);
        }
    }
    None
}

/// The span of the key `dotted` (or of its nearest existing parent, so a
/// missing key still points at its table).
pub fn span_of(table: &DeTable<'_>, dotted: &str) -> Option<Range<usize>> {
    let (head, rest) = match dotted.split_once('.') {
        Some((h, r)) => (h, Some(r)),
        None => (dotted, None),
    };
    // Array elements are written `steps[2]`: point at the array, or, in an
    // array of tables (`gates.smoke[1].url`, `alerts[1].url`), at the key in that entry.
    let (head, index) = match head.split_once('[') {
        Some((h, i)) => (h, i.trim_end_matches(']').parse::<usize>().ok()),
        None => (head, None),
    };
    let (k, v) = table.iter().find(|(k, _)| k.get_ref().as_ref() == head)?;
    match (rest, v.get_ref(), index) {
        (Some(rest), DeValue::Table(t), _) => span_of(t, rest).or(Some(k.span())),
        (rest, DeValue::Array(a), Some(i)) => match (rest, a.get(i).map(|e| e.get_ref())) {
            (Some(rest), Some(DeValue::Table(t))) => span_of(t, rest).or(Some(a[i].span())),
            (_, Some(_)) => Some(a[i].span()),
            _ => Some(k.span()),
        },
        _ => Some(k.span()),
    }
}
