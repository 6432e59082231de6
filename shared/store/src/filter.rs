//! Tests of the MinApp filter's pushdown, rendered as the store sends it.

mod tests;
