//! Compile-time behaviour of the macros: pass cases build and run, fail cases must fail with
//! the exact diagnostics in their `.stderr` snapshot (blessed on the machine's stable rustc with
//! `TRYBUILD=overwrite cargo test -p ui-tests`, then reviewed by hand).

#[test]
fn ui() {
    let cases = trybuild::TestCases::new();
    cases.pass("ui/pass/*.rs");
    cases.compile_fail("ui/fail/*.rs");
}
