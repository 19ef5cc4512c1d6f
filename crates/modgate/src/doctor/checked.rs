//! What every check gives, in one shape: its findings (problems and warnings alike: a
//! warning is a finding, never an error that ends a check) and what it measured. A leaf:
//! it imports none of the checks.

use serde::Serialize;

use super::finding::{Finding, Group};

/// A line of what was measured, for the report (not a finding).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Measured {
    /// Which part.
    pub group: Group,
    /// What.
    pub text: String,
    /// For one item of a series (one repository of many): the series, the item and its
    /// time, so that a healthy series prints as one summary line.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub series: Option<Series>,
}

/// One item of a series of like measurements.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Series {
    /// What the series measures (`git ls-remote`).
    pub name: String,
    /// The item (a module).
    pub item: String,
    /// Its time in milliseconds.
    pub ms: u64,
}

/// What one check gave.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Checked {
    /// What was found.
    pub findings: Vec<Finding>,
    /// What was measured.
    pub measured: Vec<Measured>,
}

impl Checked {
    /// Adds a finding.
    pub fn find(&mut self, finding: Finding) {
        self.findings.push(finding);
    }

    /// Adds a line of what was measured about `group`.
    pub fn measure(&mut self, group: Group, text: impl Into<String>) {
        self.measured.push(Measured {
            group,
            text: text.into(),
            series: None,
        });
    }

    /// Adds a line of what was measured about one `item` of series `name`, which took
    /// `ms`.
    pub fn measure_item(
        &mut self,
        group: Group,
        name: &str,
        item: &str,
        ms: u64,
        text: impl Into<String>,
    ) {
        self.measured.push(Measured {
            group,
            text: text.into(),
            series: Some(Series {
                name: name.into(),
                item: item.into(),
                ms,
            }),
        });
    }

    /// Adds what another check gave, after what is here.
    pub fn extend(&mut self, other: Checked) {
        self.findings.extend(other.findings);
        self.measured.extend(other.measured);
    }
}

impl From<Vec<Finding>> for Checked {
    fn from(findings: Vec<Finding>) -> Checked {
        Checked {
            findings,
            measured: Vec::new(),
        }
    }
}

impl FromIterator<Checked> for Checked {
    /// The checks' findings and measurements, in the checks' order.
    fn from_iter<I: IntoIterator<Item = Checked>>(checks: I) -> Checked {
        let mut all = Checked::default();
        for c in checks {
            all.extend(c);
        }
        all
    }
}
