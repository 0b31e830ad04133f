//! What a conformance run found: a line per failed check, and the counts.

use std::process::ExitCode;

/// The result of a run: how many cases passed and failed, and one line per
/// failed check (`FAIL <case>: <check>: <details>`).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Verdict {
    /// Cases (fixtures, captured events, stated routes) that passed.
    pub passed: usize,
    /// Cases with at least one failed check.
    pub failed: usize,
    /// One line per failed check, in the order found.
    pub failures: Vec<String>,
    /// Remarks that are no failure but limit what was checked (e.g.
    /// signatures not checked for want of a key).
    pub notes: Vec<String>,
}

impl Verdict {
    /// Whether every case passed.
    pub fn is_pass(&self) -> bool {
        self.failed == 0
    }

    /// Counts one case: passed when `problems` is empty, else failed with a
    /// line per problem.
    pub(crate) fn record(&mut self, case: &str, problems: Vec<String>) {
        if problems.is_empty() {
            self.passed += 1;
        } else {
            self.failed += 1;
            self.failures
                .extend(problems.into_iter().map(|p| format!("FAIL {case}: {p}")));
        }
    }

    /// Prints the failures, then `conformance: N passed, M failed` and,
    /// alone on the last line, `N passed, M failed` (what CI parsers read);
    /// returns the exit code: success only when everything passed.
    /// Notes go to standard error first.
    pub fn print(&self) -> ExitCode {
        for note in &self.notes {
            eprintln!("conformance: {note}");
        }
        for line in &self.failures {
            println!("{line}");
        }
        println!(
            "conformance: {} passed, {} failed",
            self.passed, self.failed
        );
        println!("{} passed, {} failed", self.passed, self.failed);
        if self.is_pass() {
            ExitCode::SUCCESS
        } else {
            eprintln!("conformance: {} check(s) failed", self.failed);
            ExitCode::FAILURE
        }
    }
}
