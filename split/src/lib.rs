//! The shop split into services: a gateway plus one binary per component. Built in the split issue.
