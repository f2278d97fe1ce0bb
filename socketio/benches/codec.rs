//! Socket.IO packet codec micro-benchmarks.
//!
//! ```sh
//! cargo bench -p socketio --bench codec            # full run
//! cargo bench -p socketio --bench codec -- --quick # a few seconds per group
//! cargo bench -p socketio --bench codec --features msgpack -- msgpack # the MessagePack transcoders
//! ```

use std::hint::black_box;
use std::time::Duration;

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use serde::Serialize;
use socketio::protocol::{decode, encode_ack, encode_event, split_event, Binary, Limits, RawArgs};

/// What the bench load generator sends for `echo` (32-byte message, ack id).
const ECHO: &str = r#"21["echo",{"seq":1,"msg":"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}]"#;
/// A larger event in a custom namespace: nested objects, escapes, several arguments.
const CHAT: &str = r#"2/chat,42["message",{"room":"lobby","from":{"id":7,"name":"Zoë"},"text":"hello \"world\"\n","tags":["a","b","c"],"at":1732550400000},true,null,3.25]"#;

#[derive(Serialize)]
struct Msg<'a> {
    seq: u64,
    msg: &'a str,
}

#[derive(Serialize)]
struct File<'a> {
    name: &'a str,
    data: Binary,
}

fn decoding(c: &mut Criterion) {
    let limits = Limits::default();
    let mut g = c.benchmark_group("decode");
    for (name, text) in [("echo", ECHO), ("chat", CHAT)] {
        g.throughput(Throughput::Bytes(text.len() as u64));
        g.bench_function(name, |b| {
            b.iter(|| decode(black_box(text), &limits).unwrap())
        });
    }
    g.finish();

    let mut g = c.benchmark_group("split_event");
    for (name, text) in [("echo", ECHO), ("chat", CHAT)] {
        let payload = decode(text, &limits).unwrap().payload.unwrap();
        g.throughput(Throughput::Bytes(payload.len() as u64));
        g.bench_function(name, |b| {
            b.iter(|| split_event(black_box(payload)).unwrap())
        });
    }
    g.finish();

    // What the server does for every received event.
    c.bench_function("decode+split_event/echo", |b| {
        b.iter(|| {
            let packet = decode(black_box(ECHO), &limits).unwrap();
            split_event(packet.payload.unwrap()).unwrap()
        })
    });
}

fn encoding(c: &mut Criterion) {
    let msg = Msg {
        seq: 1,
        msg: "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
    };
    let mut g = c.benchmark_group("encode_event");
    g.bench_function("struct", |b| {
        b.iter(|| {
            let mut buf = String::with_capacity(64);
            encode_event(&mut buf, "/", "echo", black_box(&msg), None).unwrap();
            buf
        })
    });
    g.bench_function("tuple_with_ack_id", |b| {
        b.iter(|| {
            let mut buf = String::with_capacity(64);
            encode_event(
                &mut buf,
                "/chat",
                "m",
                black_box(&("hi", 42, true)),
                Some(7),
            )
            .unwrap();
            buf
        })
    });
    let file = File {
        name: "a.bin",
        data: Binary(Bytes::from(vec![7u8; 1024])),
    };
    g.bench_function("binary_attachment", |b| {
        b.iter(|| {
            let mut buf = String::with_capacity(64);
            let attachments =
                encode_event(&mut buf, "/", "upload", black_box(&file), None).unwrap();
            (buf, attachments)
        })
    });
    g.finish();

    // The echo acknowledgement: the received raw argument written back.
    let raw = r#"{"seq":1,"msg":"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}"#;
    let mut g = c.benchmark_group("encode_ack");
    g.bench_function("raw_args", |b| {
        b.iter(|| {
            let mut buf = String::with_capacity(64);
            encode_ack(&mut buf, "/", 1, black_box(&RawArgs(&[raw]))).unwrap();
            buf
        })
    });
    g.bench_function("unit", |b| {
        b.iter(|| {
            let mut buf = String::with_capacity(8);
            encode_ack(&mut buf, "/", 1, black_box(&())).unwrap();
            buf
        })
    });
    g.finish();
}

/// The MessagePack parser's transcoders: what a server with `Parser::MessagePack` adds per
/// received packet (`decode`, before the JSON decoding above) and per emitted packet
/// (`encode`, once for all its recipients).
#[cfg(feature = "msgpack")]
fn msgpack(c: &mut Criterion) {
    use socketio::protocol::{decode_msgpack, encode_msgpack};

    let limits = Limits::default();
    let upload = r#"51-["upload",{"name":"a.bin","data":{"_placeholder":true,"num":0}}]"#;
    let kib = [Bytes::from(vec![7u8; 1024])];
    let mut g = c.benchmark_group("msgpack");
    for (name, text, attachments) in [
        ("echo", ECHO, &[][..]),
        ("chat", CHAT, &[][..]),
        ("binary_1k", upload, &kib[..]),
    ] {
        let frame = Bytes::from(encode_msgpack(text, attachments).unwrap());
        g.throughput(Throughput::Bytes(frame.len() as u64));
        g.bench_function(format!("encode/{name}"), |b| {
            b.iter(|| encode_msgpack(black_box(text), attachments).unwrap())
        });
        g.bench_function(format!("decode/{name}"), |b| {
            b.iter(|| decode_msgpack(black_box(&frame), &limits).unwrap())
        });
    }
    g.finish();
}

#[cfg(not(feature = "msgpack"))]
fn msgpack(_: &mut Criterion) {}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    targets = decoding, encoding, msgpack
}
criterion_main!(benches);
