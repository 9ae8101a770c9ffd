//! The public API's contract suite against the monolith, as a real process.

mod support;

shop_contract::contract_tests!(support::deploy);
