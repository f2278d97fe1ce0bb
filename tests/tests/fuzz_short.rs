//! The fuzz harness's short run: every decoder oracle of `socketio::fuzzing` (the same code the
//! coverage-guided targets in `fuzz/` run) replays its seed corpus (`fuzz/seeds/<target>`, with
//! the inputs of every crash found so far) and then a FIXED number of inputs mutated from it by
//! a seeded generator, with tokens from the target's dictionary (`fuzz/dict/<target>.dict`):
//! the same inputs on every run, whatever the machine's load. A failure names the case number
//! and the input, which `cargo fuzz run <target> <file>` replays once written to a file.
//!
//! The long, coverage-guided campaign is `scripts/fuzz` (docs/reliability.md, "Fuzzing").

use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::path::PathBuf;

use socketio::fuzzing::{CountingAllocator, TARGETS};
use tests::rng::XorShift;

#[global_allocator]
static ALLOC: CountingAllocator = CountingAllocator;

/// Generated inputs per decoder.
const CASES: usize = 200_000;

/// Generated inputs are cut to this many bytes (as `-max_len` bounds the long run).
const MAX_LEN: usize = 4096;

fn fuzz_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fuzz")
}

/// The seed inputs of `target`, in file-name order.
fn seeds(target: &str) -> Vec<Vec<u8>> {
    let dir = fuzz_dir().join("seeds").join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.map(|e| e.path()))
        .collect::<Result<_, _>>()
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    files.sort();
    let seeds: Vec<Vec<u8>> = files
        .iter()
        .map(|f| std::fs::read(f).unwrap_or_else(|e| panic!("{}: {e}", f.display())))
        .collect();
    assert!(!seeds.is_empty(), "no seeds in {}", dir.display());
    seeds
}

/// The tokens of a libFuzzer dictionary (`"..."` per line, `\xNN`, `\\` and `\"` escapes).
fn dictionary(target: &str) -> Vec<Vec<u8>> {
    let path = fuzz_dir().join("dict").join(format!("{target}.dict"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines()
        .filter_map(|line| {
            let quoted = line.trim().split_once('"')?.1.strip_suffix('"')?;
            let mut token = Vec::new();
            let mut bytes = quoted.bytes();
            while let Some(b) = bytes.next() {
                if b != b'\\' {
                    token.push(b);
                    continue;
                }
                match bytes.next()? {
                    b'x' => {
                        let hex = [bytes.next()?, bytes.next()?];
                        token.push(u8::from_str_radix(std::str::from_utf8(&hex).ok()?, 16).ok()?);
                    }
                    other => token.push(other),
                }
            }
            Some(token)
        })
        .collect()
}

/// One input: a seed (or two spliced) with one to eight random edits.
fn mutate(rng: &mut XorShift, seeds: &[Vec<u8>], dict: &[Vec<u8>]) -> Vec<u8> {
    const INTERESTING: &[u8] = b"\x00\x1e\xff-,/\"\\[]{}:0123456789b=";
    let mut input = rng.pick(seeds).clone();
    for _ in 0..1 + rng.below(8) {
        let at = rng.below(input.len() + 1);
        match rng.below(9) {
            0 if at < input.len() => input[at] ^= 1 << rng.below(8),
            1 if at < input.len() => input[at] = *rng.pick(INTERESTING),
            2 => input.insert(at, rng.next_u64() as u8),
            3 => {
                let token = rng.pick(dict).clone();
                input.splice(at..at, token);
            }
            4 if at < input.len() => {
                let end = at + 1 + rng.below((input.len() - at).min(16));
                input.drain(at..end);
            }
            5 if at < input.len() => {
                let end = at + 1 + rng.below((input.len() - at).min(64));
                let copy = input[at..end].to_vec();
                let to = rng.below(input.len() + 1);
                input.splice(to..to, copy);
            }
            6 => {
                let other = rng.pick(seeds);
                let from = rng.below(other.len() + 1);
                input.splice(at.., other[from..].iter().copied());
            }
            7 => input.truncate(at),
            _ => {
                let len = rng.below(8);
                input.extend(rng.bytes(len));
            }
        }
    }
    input.truncate(MAX_LEN);
    input
}

/// Runs `oracle` on `input`; on a panic, names the case and the input before failing.
fn check(target: &str, case: &str, oracle: fn(&[u8]), input: &[u8]) {
    if let Err(panic) = catch_unwind(AssertUnwindSafe(|| oracle(input))) {
        eprintln!(
            "{target}, {case}: the oracle failed on {:?} (bytes: {input:?})",
            String::from_utf8_lossy(input)
        );
        resume_unwind(panic);
    }
}

fn run(target: &str) {
    let oracle = TARGETS
        .iter()
        .find(|(name, _)| *name == target)
        .map(|(_, oracle)| *oracle)
        .unwrap_or_else(|| panic!("no oracle named {target}"));
    let seeds = seeds(target);
    let dict = dictionary(target);
    assert!(!dict.is_empty(), "empty dictionary for {target}");
    for (i, seed) in seeds.iter().enumerate() {
        check(target, &format!("seed {i}"), oracle, seed);
    }
    let mut rng = XorShift::new(0x5eed_f022 ^ target.len() as u64);
    for case in 0..CASES {
        let input = mutate(&mut rng, &seeds, &dict);
        check(target, &format!("case {case}"), oracle, &input);
    }
}

#[test]
fn every_oracle_has_a_test_here() {
    let names: Vec<&str> = TARGETS.iter().map(|(name, _)| *name).collect();
    assert_eq!(
        names,
        [
            "engineio_packet",
            "engineio_payload",
            "socketio_packet",
            "binary_packet",
            "queue_wire"
        ]
    );
}

#[test]
fn engineio_packet() {
    run("engineio_packet");
}

#[test]
fn engineio_payload() {
    run("engineio_payload");
}

#[test]
fn socketio_packet() {
    run("socketio_packet");
}

#[test]
fn binary_packet() {
    run("binary_packet");
}

#[test]
fn queue_wire() {
    run("queue_wire");
}
