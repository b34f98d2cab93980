//! Delimited text (RFC 4180 quoting: `"a ""quoted"" field"`, separators and line breaks
//! inside quotes). Returns each record with the line it starts on.

use super::{truncate_payload, RecordFailure};

pub fn records(text: &str, sep: u8) -> (Vec<(u64, Vec<String>)>, Vec<RecordFailure>) {
    let sep = sep as char;
    let mut out = vec![];
    let mut failures = vec![];
    let mut chars = text.chars().peekable();
    let mut line = 1u64;
    let mut record_line = 1u64;
    let mut fields: Vec<String> = vec![];
    let mut field = String::new();
    let mut in_quotes = false;
    let mut quoted_field = false;
    let mut raw = String::new();
    let mut any = false;
    while let Some(c) = chars.next() {
        raw.push(c);
        if in_quotes {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    chars.next();
                    raw.push('"');
                    field.push('"');
                }
                '"' => in_quotes = false,
                '\n' => {
                    line += 1;
                    field.push(c);
                }
                _ => field.push(c),
            }
            continue;
        }
        match c {
            '"' if field.is_empty() && !quoted_field => {
                in_quotes = true;
                quoted_field = true;
                any = true;
            }
            c if c == sep => {
                fields.push(std::mem::take(&mut field));
                quoted_field = false;
                any = true;
            }
            '\r' if chars.peek() == Some(&'\n') => {}
            '\n' => {
                if any || !field.is_empty() {
                    fields.push(std::mem::take(&mut field));
                    out.push((record_line, std::mem::take(&mut fields)));
                }
                quoted_field = false;
                any = false;
                raw.clear();
                line += 1;
                record_line = line;
            }
            _ => {
                field.push(c);
                any = true;
            }
        }
    }
    if in_quotes {
        failures.push(RecordFailure {
            position: format!("line {record_line}"),
            payload: truncate_payload(&raw),
            code: "BadRequest_InvalidCsv",
            message: "a quoted field is not closed".into(),
        });
    } else if any || !field.is_empty() {
        fields.push(field);
        out.push((record_line, fields));
    }
    (out, failures)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_and_lines() {
        let (r, f) = records("a,\"b,c\",\"d \"\"e\"\"\"\n\n1,\"x\ny\",3\r\nlast,,", b',');
        assert!(f.is_empty());
        assert_eq!(r[0], (1, vec!["a".into(), "b,c".into(), "d \"e\"".into()]));
        assert_eq!(r[1], (3, vec!["1".into(), "x\ny".into(), "3".into()]));
        assert_eq!(r[2], (5, vec!["last".into(), "".into(), "".into()]));
        let (r, f) = records("ok\n\"open", b',');
        assert_eq!(r.len(), 1);
        assert_eq!(f[0].position, "line 2");
    }
}
