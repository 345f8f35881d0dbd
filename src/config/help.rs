//! The option lines of `--help`, rendered from the table of settings: flags, value, help and
//! range, then the environment variable and the default, filled to 80 columns.

use super::table::{Fallback, Rule, Section, Setting};

/// The option lines of `--help` for `table`: one block per section. Each option shows its
/// flags, value, help and range, then its environment variable and default.
pub fn options_help(table: &[Section]) -> String {
    let mut out = String::new();
    for section in table {
        out.push_str(&format!("\n{}:\n", section.title));
        for s in section.settings {
            option_help(&mut out, s);
        }
    }
    out
}

pub(super) fn option_help(out: &mut String, s: &Setting) {
    let flags = match s.short {
        Some(c) => format!("  -{c}, --{}", s.long),
        None => format!("      --{}", s.long),
    };
    let value = s.value.map(|v| format!(" {v}")).unwrap_or_default();
    let mut words: Vec<String> = s.help.split(' ').map(String::from).collect();
    if let Some(range) = s.rule.range().filter(|_| s.value.is_some()) {
        let range = format!("({range})");
        // A range is read as one: it moves to the next line whole when it fits there.
        if range.len() <= HELP_WIDTH - HELP_COLUMN {
            words.push(range);
        } else {
            words.extend(range.split(' ').map(String::from));
        }
    }
    fill(out, &format!("{flags}{value}"), &words);
    let mut notes = Vec::new();
    match (s.env, s.rule) {
        (Some(env), Rule::Bool) => notes.push(format!("[env: {env}=true|false]")),
        (Some(env), _) => notes.push(format!("[env: {env}]")),
        (None, _) => {}
    }
    if let Some(property) = s.property {
        notes.push(format!("[property: {property}]"));
    }
    match s.default {
        Fallback::Value(v) | Fallback::Absent(v) if !v.is_empty() => {
            notes.push(format!("[default: {v}]"))
        }
        _ => {}
    }
    if !notes.is_empty() {
        fill(out, "", &notes);
    }
}

/// Where option help starts, and where no help line goes past.
pub(super) const HELP_COLUMN: usize = 30;
pub(super) const HELP_WIDTH: usize = 80;

/// Writes `words` as lines that start at the help column and end before the width, the first
/// one after `lead` (on a line of its own when `lead` leaves no room for two spaces).
pub(super) fn fill(out: &mut String, lead: &str, words: &[String]) {
    let mut line = lead.to_string();
    if line.len() + 2 > HELP_COLUMN {
        out.push_str(&line);
        out.push('\n');
        line.clear();
    }
    let mut empty = true;
    for word in words {
        if !empty && line.len() + 1 + word.len() > HELP_WIDTH {
            out.push_str(&line);
            out.push('\n');
            line.clear();
            empty = true;
        }
        if empty {
            line = format!("{line:HELP_COLUMN$}{word}");
            empty = false;
        } else {
            line.push(' ');
            line.push_str(word);
        }
    }
    out.push_str(&line);
    out.push('\n');
}
