use shared::testing::*;
