//! The integration tests of `kmcr-access`, one binary: the decision table (`tests/decision_table.toml`) run row by row.

mod decision_table;
mod information_governance;
