//! trybuild UI tests for the macros (added with the macros).
