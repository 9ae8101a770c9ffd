//! The load generator: deploys either architecture, drives it with goose, writes results. Built in the loadgen issue.
