//! "Did you mean" suggestions for unknown names: close by edit distance, same letters in
//! another case, or a prefix.

/// Up to three candidates close to `name`, best first.
pub fn close_names<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Vec<&'a str> {
    let lower = name.to_lowercase();
    let limit = (name.chars().count() / 3).clamp(1, 3);
    let mut scored: Vec<(usize, &str)> = candidates
        .into_iter()
        .filter_map(|c| {
            let cl = c.to_lowercase();
            let d = distance(&lower, &cl);
            if cl == lower {
                Some((0, c))
            } else if d <= limit {
                Some((d, c))
            } else if lower.len() >= 3 && (cl.starts_with(&lower) || lower.starts_with(&cl)) {
                Some((limit + 1, c))
            } else {
                None
            }
        })
        .collect();
    scored.sort();
    scored.dedup_by(|a, b| a.1 == b.1);
    scored.into_iter().take(3).map(|(_, c)| c).collect()
}

/// ` (did you mean 'a' or 'b'?)`, or nothing.
pub fn hint<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> String {
    let close = close_names(name, candidates);
    if close.is_empty() {
        return String::new();
    }
    let quoted: Vec<String> = close.iter().map(|c| format!("'{c}'")).collect();
    format!(" (did you mean {}?)", quoted.join(" or "))
}

fn distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for i in 1..=a.len() {
        let mut cur = vec![i; b.len() + 1];
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            cur[j] = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_names() {
        let names = ["Temperature", "Timestamp", "Device"];
        assert_eq!(close_names("Temprature", names), vec!["Temperature"]);
        assert_eq!(close_names("device", names), vec!["Device"]);
        assert!(close_names("zzz", names).is_empty());
    }
}
