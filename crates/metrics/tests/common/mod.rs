//! Reading the Prometheus text format back in tests.

#![allow(dead_code)] // each test binary uses a subset

use std::collections::BTreeMap;

/// Every sample line of a scrape: `name{labels}` → value.
#[derive(Debug)]
pub struct Scrape {
    pub text: String,
    pub samples: BTreeMap<String, f64>,
}

impl Scrape {
    pub fn parse(text: &str) -> Scrape {
        let mut samples = BTreeMap::new();
        for line in text.lines() {
            if line.starts_with('#') || line.trim().is_empty() {
                continue;
            }
            let (series, value) = line.rsplit_once(' ').expect("sample line has a value");
            let value: f64 = value.parse().expect("sample value is a number");
            let previous = samples.insert(series.to_owned(), value);
            assert!(previous.is_none(), "duplicate series {series}");
        }
        Scrape {
            text: text.to_owned(),
            samples,
        }
    }

    /// The value of one exact series (`name{a="1",b="2"}`, labels sorted).
    pub fn get(&self, series: &str) -> Option<f64> {
        self.samples.get(series).copied()
    }

    /// The value of an exact series, panicking with the family when absent.
    pub fn value(&self, series: &str) -> f64 {
        match self.get(series) {
            Some(v) => v,
            None => {
                let family = series.split('{').next().unwrap_or(series);
                panic!(
                    "no series {series}; {family} has: {:?}",
                    self.series_of(family)
                )
            }
        }
    }

    /// Every series (with labels) of one metric family name.
    pub fn series_of(&self, name: &str) -> Vec<String> {
        self.samples
            .keys()
            .filter(|k| k.split('{').next() == Some(name))
            .cloned()
            .collect()
    }

    /// `# TYPE name kind` lines.
    pub fn type_of(&self, name: &str) -> Option<&str> {
        self.text.lines().find_map(|l| {
            l.strip_prefix("# TYPE ")
                .and_then(|rest| rest.strip_prefix(name))
                .and_then(|rest| rest.strip_prefix(' '))
        })
    }
}
