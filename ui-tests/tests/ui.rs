//! Compile-time behaviour of the macros: pass cases build and run, fail cases must fail with
//! the exact diagnostics in their `.stderr` snapshot (blessed on the machine's stable rustc with
//! `TRYBUILD=overwrite cargo test --workspace --test ui`, then reviewed by hand). Bless them as
//! CI runs them, with the whole workspace: rustc shortens a type's path in a diagnostic only
//! when no other crate of the build exports the same name, so `-p ui-tests` alone can print
//! `Handshake` where the workspace build prints `socketio::Handshake`.

#[test]
fn ui() {
    let cases = trybuild::TestCases::new();
    cases.pass("ui/pass/*.rs");
    cases.compile_fail("ui/fail/*.rs");
}
