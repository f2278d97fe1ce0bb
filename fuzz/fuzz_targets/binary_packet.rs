//! `socketio::fuzzing::binary_packet` under libFuzzer (its properties are documented there).
#![no_main]

#[global_allocator]
static ALLOC: socketio::fuzzing::CountingAllocator = socketio::fuzzing::CountingAllocator;

libfuzzer_sys::fuzz_target!(|data: &[u8]| socketio::fuzzing::binary_packet(data));
