//! The public API's contract suite against the split shop: gateway and services as real
//! processes. The same test functions the monolith passes.

mod support;

shop_contract::contract_tests!(support::deploy);
