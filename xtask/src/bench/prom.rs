//! A running pipeline's `/metrics` (Prometheus text format), scraped over
//! plain HTTP and summed by metric name and labels.

use anyhow::{Context, Result};
use std::time::Duration;

/// Label pairs of one sample.
pub type Labels = Vec<(String, String)>;

/// One scrape: `(name, labels, value)` per sample line.
#[derive(Debug, Default, Clone)]
pub struct Scrape {
    samples: Vec<(String, Labels, f64)>,
}

impl Scrape {
    /// `GET url` (the `/metrics` endpoint) with a short timeout.
    pub fn fetch(agent: &ureq::Agent, url: &str) -> Result<Scrape> {
        let text = agent
            .get(url)
            .call()
            .with_context(|| format!("GET {url}"))?
            .body_mut()
            .read_to_string()
            .with_context(|| format!("read the body of {url}"))?;
        Ok(Scrape::parse(&text))
    }

    /// Parses the text exposition format (comments skipped; label values
    /// may contain escaped quotes).
    pub fn parse(text: &str) -> Scrape {
        let mut samples = Vec::new();
        for line in text.lines() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (name, labels, rest) = match line.find('{') {
                Some(open) => {
                    let Some((labels, rest)) = parse_labels(&line[open + 1..]) else {
                        continue;
                    };
                    (&line[..open], labels, rest)
                }
                None => match line.split_once(' ') {
                    Some((name, rest)) => (name, Vec::new(), rest),
                    None => continue,
                },
            };
            let Some(value) = rest
                .split_whitespace()
                .next()
                .and_then(|v| v.parse::<f64>().ok())
            else {
                continue;
            };
            samples.push((name.to_owned(), labels, value));
        }
        Scrape { samples }
    }

    /// Sum of the samples of `name` whose labels include every `(key, value)`
    /// of `filter`; `None` when there is none.
    pub fn sum(&self, name: &str, filter: &[(&str, &str)]) -> Option<f64> {
        let mut found = None;
        for (n, labels, v) in &self.samples {
            if n == name
                && filter
                    .iter()
                    .all(|(k, want)| labels.iter().any(|(lk, lv)| lk == k && lv == want))
            {
                *found.get_or_insert(0.0) += v;
            }
        }
        found
    }

    /// [`Scrape::sum`] as a whole number, 0 when absent.
    pub fn count(&self, name: &str, filter: &[(&str, &str)]) -> u64 {
        self.sum(name, filter).unwrap_or(0.0).max(0.0) as u64
    }

    /// The samples of `name`, with their labels.
    pub fn series(&self, name: &str) -> impl Iterator<Item = (&[(String, String)], f64)> {
        self.samples
            .iter()
            .filter(move |(n, _, _)| n == name)
            .map(|(_, l, v)| (l.as_slice(), *v))
    }
}

/// `k="v",k2="v2"} rest` → labels and `rest`.
fn parse_labels(s: &str) -> Option<(Labels, &str)> {
    let mut labels = Vec::new();
    let mut rest = s;
    loop {
        rest = rest.trim_start_matches([',', ' ']);
        if let Some(after) = rest.strip_prefix('}') {
            return Some((labels, after));
        }
        let eq = rest.find('=')?;
        let key = rest[..eq].trim().to_owned();
        let mut chars = rest[eq + 1..].char_indices();
        if chars.next()?.1 != '"' {
            return None;
        }
        let mut value = String::new();
        let mut escaped = false;
        let mut end = None;
        for (i, c) in chars {
            match (escaped, c) {
                (true, 'n') => {
                    value.push('\n');
                    escaped = false;
                }
                (true, c) => {
                    value.push(c);
                    escaped = false;
                }
                (false, '\\') => escaped = true,
                (false, '"') => {
                    end = Some(eq + 1 + i + 1);
                    break;
                }
                (false, c) => value.push(c),
            }
        }
        labels.push((key, value));
        rest = &rest[end?..];
    }
}

/// An HTTP agent for scrapes: short timeouts, no proxies.
pub fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(2)))
        .http_status_as_error(true)
        .build()
        .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = r#"# HELP kbridge_records_in_total Records consumed.
# TYPE kbridge_records_in_total counter
kbridge_records_in_total{topic="in",otel_scope_name="kbridge"} 1200
kbridge_records_in_total{topic="other"} 5
kbridge_consumer_committed_offset{partition="0",topic="in"} 300
kbridge_consumer_committed_offset{partition="1",topic="in"} 700
kbridge_records_dead_lettered_total{class="Bad \"magic\"",stage="decode",topic="in"} 2
kbridge_up 1
"#;

    #[test]
    fn sums_by_name_and_labels() {
        let s = Scrape::parse(TEXT);
        assert_eq!(
            s.count("kbridge_records_in_total", &[("topic", "in")]),
            1200
        );
        assert_eq!(s.count("kbridge_records_in_total", &[]), 1205);
        assert_eq!(
            s.count("kbridge_consumer_committed_offset", &[("topic", "in")]),
            1000
        );
        assert_eq!(
            s.sum("kbridge_records_in_total", &[("topic", "nope")]),
            None
        );
        assert_eq!(s.count("kbridge_up", &[]), 1);
        let dl: Vec<_> = s.series("kbridge_records_dead_lettered_total").collect();
        assert_eq!(dl.len(), 1);
        assert!(
            dl[0]
                .0
                .contains(&("class".to_owned(), "Bad \"magic\"".to_owned()))
        );
        assert_eq!(dl[0].1, 2.0);
    }
}
