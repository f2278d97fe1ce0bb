//! Golden tests from the protocol README and the official test suite, bad
//! inputs, and a deterministic fuzz-style no-panic test.

use bytes::Bytes;

use super::*;

fn limits() -> Limits {
    Limits::default()
}

fn ok(text: &str) -> Packet<'_> {
    decode(text, &limits()).unwrap_or_else(|e| panic!("{text:?} refused: {e}"))
}

// ---------------------------------------------------------------- README

#[test]
fn readme_connect_examples() {
    let p = ok("0");
    assert_eq!(
        (p.kind, p.namespace, p.payload),
        (PacketKind::Connect, "/", None)
    );
    let p = ok("0/admin,");
    assert_eq!(
        (p.kind, p.namespace, p.payload),
        (PacketKind::Connect, "/admin", None)
    );

    let mut buf = String::new();
    encode_connect(&mut buf, "/", "wZX3oN0bSVIhsaknAAAI");
    assert_eq!(buf, r#"0{"sid":"wZX3oN0bSVIhsaknAAAI"}"#);
    assert_eq!(ok(&buf).payload, Some(r#"{"sid":"wZX3oN0bSVIhsaknAAAI"}"#));

    let mut buf = String::new();
    encode_connect(&mut buf, "/admin", "oSO0OpakMV_3jnilAAAA");
    assert_eq!(buf, r#"0/admin,{"sid":"oSO0OpakMV_3jnilAAAA"}"#);
    assert_eq!(ok(&buf).namespace, "/admin");

    let mut buf = String::new();
    encode_connect_error(&mut buf, "/", "Not authorized", None);
    assert_eq!(buf, r#"4{"message":"Not authorized"}"#);
    let p = ok(&buf);
    assert_eq!((p.kind, p.namespace), (PacketKind::ConnectError, "/"));
}

#[test]
fn readme_event_examples() {
    let mut buf = String::new();
    encode_event(&mut buf, "/", "foo", &(), None).unwrap();
    assert_eq!(buf, r#"2["foo"]"#);

    let mut buf = String::new();
    encode_event(&mut buf, "/admin", "bar", &(), None).unwrap();
    assert_eq!(buf, r#"2/admin,["bar"]"#);
    let p = ok(&buf);
    assert_eq!(
        (p.kind, p.namespace, p.id),
        (PacketKind::Event, "/admin", None)
    );
    assert_eq!(split_event(p.payload.unwrap()).unwrap().name, "bar");

    let mut buf = String::new();
    let att = encode_event(&mut buf, "/", "baz", &Binary::from(vec![1, 2, 3, 4]), None).unwrap();
    assert_eq!(buf, r#"51-["baz",{"_placeholder":true,"num":0}]"#);
    assert_eq!(att, [vec![1, 2, 3, 4]]);

    let mut buf = String::new();
    let args = (Binary::from(vec![1, 2]), Binary::from(vec![3, 4]));
    let att = encode_event(&mut buf, "/admin", "baz", &args, None).unwrap();
    assert_eq!(
        buf,
        r#"52-/admin,["baz",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#
    );
    assert_eq!(att, [vec![1, 2], vec![3, 4]]);
    let mut c = BinaryCollector::new(Bytes::from(buf), &limits(), 1 << 16).unwrap();
    for a in att {
        c.push(a).unwrap();
    }
    assert!(c.is_complete());
    let ev = split_event(c.packet().payload.unwrap()).unwrap();
    let back: (Binary, Binary) =
        deserialize_with_attachments(&format!("[{},{}]", ev.args[0], ev.args[1]), c.attachments())
            .unwrap();
    assert_eq!(back, args);
}

#[test]
fn readme_ack_examples() {
    let mut buf = String::new();
    encode_event(&mut buf, "/", "foo", &(), Some(12)).unwrap();
    assert_eq!(buf, r#"212["foo"]"#);
    assert_eq!(ok(&buf).id, Some(12));

    let mut buf = String::new();
    encode_ack(&mut buf, "/", 12, &()).unwrap();
    assert_eq!(buf, "312[]");
    let p = ok(&buf);
    assert_eq!(
        (p.kind, p.id, p.payload),
        (PacketKind::Ack, Some(12), Some("[]"))
    );

    let mut buf = String::new();
    encode_event(&mut buf, "/admin", "foo", &(), Some(13)).unwrap();
    assert_eq!(buf, r#"2/admin,13["foo"]"#);

    let mut buf = String::new();
    encode_ack(&mut buf, "/admin", 13, "bar").unwrap();
    assert_eq!(buf, r#"3/admin,13["bar"]"#);
    let p = ok(&buf);
    assert_eq!((p.namespace, p.id), ("/admin", Some(13)));

    let mut buf = String::new();
    let att = encode_event(
        &mut buf,
        "/",
        "foo",
        &Binary::from(vec![1, 2, 3, 4]),
        Some(14),
    )
    .unwrap();
    assert_eq!(buf, r#"51-14["foo",{"_placeholder":true,"num":0}]"#);
    assert_eq!(att.len(), 1);

    let mut buf = String::new();
    encode_ack(&mut buf, "/", 14, "bar").unwrap();
    assert_eq!(buf, r#"314["bar"]"#);

    let mut buf = String::new();
    encode_event(&mut buf, "/", "foo", &(), Some(15)).unwrap();
    assert_eq!(buf, r#"215["foo"]"#);

    let mut buf = String::new();
    let att = encode_ack(&mut buf, "/", 15, &("bar", Binary::from(vec![1, 2, 3, 4]))).unwrap();
    assert_eq!(buf, r#"61-15["bar",{"_placeholder":true,"num":0}]"#);
    assert_eq!(att.len(), 1);
    let p = BinaryCollector::new(Bytes::from(buf), &limits(), 1 << 16).unwrap();
    assert_eq!(
        (p.packet().kind, p.packet().id),
        (PacketKind::BinaryAck, Some(15))
    );
}

#[test]
fn readme_disconnect_examples() {
    let mut buf = String::new();
    encode_disconnect(&mut buf, "/");
    assert_eq!(buf, "1");
    let mut buf = String::new();
    encode_disconnect(&mut buf, "/admin");
    assert_eq!(buf, "1/admin,");
    let p = ok(&buf);
    assert_eq!(
        (p.kind, p.namespace, p.payload),
        (PacketKind::Disconnect, "/admin", None)
    );
    // The official test suite also sends `41/custom` (no comma).
    assert_eq!(ok("1/custom").namespace, "/custom");
}

// ---------------------------------------------------------------- official test suite
// The expected strings include the Engine.IO `4` prefix, which the caller
// writes before calling the encoders (hence `String::from("4")`).

#[test]
fn suite_plain_text_echo_is_byte_exact() {
    let received = ok(r#"2["message",1,"2",{"3":[true]}]"#);
    let ev = split_event(received.payload.unwrap()).unwrap();
    assert_eq!(ev.name, "message");
    let mut buf = String::from("4");
    let att = encode_event(
        &mut buf,
        received.namespace,
        "message-back",
        &RawArgs(&ev.args),
        None,
    )
    .unwrap();
    assert!(att.is_empty());
    assert_eq!(buf, r#"42["message-back",1,"2",{"3":[true]}]"#);

    let mut buf = String::from("4");
    encode_raw_event(&mut buf, "/", "message-back", &ev.args, None, 0);
    assert_eq!(buf, r#"42["message-back",1,"2",{"3":[true]}]"#);
}

#[test]
fn suite_ack_echo() {
    let received = ok(r#"2456["message-with-ack",1,"2",{"3":[false]}]"#);
    assert_eq!(received.id, Some(456));
    let ev = split_event(received.payload.unwrap()).unwrap();
    let mut buf = String::from("4");
    encode_ack(&mut buf, "/", 456, &RawArgs(&ev.args)).unwrap();
    assert_eq!(buf, r#"43456[1,"2",{"3":[false]}]"#);

    let mut buf = String::from("4");
    encode_raw_ack(&mut buf, "/", 456, &ev.args, 0);
    assert_eq!(buf, r#"43456[1,"2",{"3":[false]}]"#);

    let back = ok(&buf[1..]);
    assert_eq!(split_args(back.payload.unwrap()).unwrap().len(), 3);
}

fn collect(text: &str, attachments: &[&'static [u8]]) -> BinaryCollector {
    let mut c =
        BinaryCollector::new(Bytes::copy_from_slice(text.as_bytes()), &limits(), 1 << 16).unwrap();
    for (i, a) in attachments.iter().enumerate() {
        assert_eq!(
            c.push(Bytes::from_static(a)).unwrap(),
            i + 1 == attachments.len()
        );
    }
    c
}

#[test]
fn suite_binary_echo() {
    let c = collect(
        r#"52-["message",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#,
        &[&[1, 2, 3], &[4, 5, 6]],
    );
    let expected =
        r#"452-["message-back",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#;
    let ev = split_event(c.packet().payload.unwrap()).unwrap();

    // Forwarding the raw payload and the received attachments.
    let mut buf = String::from("4");
    encode_raw_event(&mut buf, "/", "message-back", &ev.args, None, c.expected());
    assert_eq!(buf, expected);

    // Going through typed values.
    let args: Vec<Binary> = ev
        .args
        .iter()
        .map(|a| deserialize_with_attachments(a, c.attachments()).unwrap())
        .collect();
    let mut buf = String::from("4");
    let pair = (&args[0], &args[1]);
    let att = encode_event(&mut buf, "/", "message-back", &pair, None).unwrap();
    assert_eq!(buf, expected);
    assert_eq!(att, c.attachments());
}

#[test]
fn suite_binary_ack_echo() {
    let c = collect(
        r#"52-789["message-with-ack",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#,
        &[&[1, 2, 3], &[4, 5, 6]],
    );
    assert_eq!(c.packet().id, Some(789));
    let expected = r#"462-789[{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#;
    let ev = split_event(c.packet().payload.unwrap()).unwrap();

    let mut buf = String::from("4");
    encode_raw_ack(&mut buf, "/", 789, &ev.args, c.expected());
    assert_eq!(buf, expected);

    let (a, b): (Binary, Binary) =
        deserialize_with_attachments(&format!("[{},{}]", ev.args[0], ev.args[1]), c.attachments())
            .unwrap();
    let mut buf = String::from("4");
    let att = encode_ack(&mut buf, "/", 789, &(a, b)).unwrap();
    assert_eq!(buf, expected);
    assert_eq!(att, [vec![1, 2, 3], vec![4, 5, 6]]);
}

#[test]
fn suite_namespaces() {
    let p = ok("0/random");
    let mut buf = String::from("4");
    encode_connect_error(&mut buf, p.namespace, "Invalid namespace", None);
    assert_eq!(buf, r#"44/random,{"message":"Invalid namespace"}"#);

    let p = ok("0/custom,");
    let mut buf = String::from("4");
    encode_connect(&mut buf, p.namespace, "abc");
    assert_eq!(buf, r#"40/custom,{"sid":"abc"}"#);

    // The suite's v4 "auth" echo: the CONNECT payload sent back as one raw argument.
    let p = ok(r#"0/custom,{"token":"abc"}"#);
    let auth: &serde_json::value::RawValue = serde_json::from_str(p.payload.unwrap()).unwrap();
    let mut buf = String::from("4");
    encode_event(&mut buf, p.namespace, "auth", auth, None).unwrap();
    assert_eq!(buf, r#"42/custom,["auth",{"token":"abc"}]"#);
}

// ---------------------------------------------------------------- bad input

fn deep(n: usize) -> String {
    format!(r#"2["x",{}{}]"#, "[".repeat(n), "]".repeat(n))
}

#[test]
fn bad_inputs_are_refused() {
    let nines = format!(r#"2{}["x"]"#, "9".repeat(10_000));
    let eleven = format!(
        "511-[\"x\"{}]",
        (0..11)
            .map(|i| format!(r#",{{"_placeholder":true,"num":{i}}}"#))
            .collect::<String>()
    );
    let deep = deep(100_000);
    let cases: &[&str] = &[
        "",
        "abc",
        "7",
        "8",
        "9",
        "\u{0}",
        "é",
        "2{}",
        r#"2"str""#,
        "2[]",
        r#"2[null,"bar"]"#,
        r#"2[true,"foo"]"#,
        r#"2[{"toString":"foo"}]"#,
        r#"2[1,"foo"]"#,
        r#"2["some","data""#,
        r#"42["some","data""#,
        r#"2["connect"]"#,
        r#"2["disconnect","123"]"#,
        r#"2["connect_error"]"#,
        r#"2["disconnecting"]"#,
        r#"2["newListener"]"#,
        r#"2["removeListener"]"#,
        r#"2abc["x"]"#,
        r#"2abc["message-with-ack",1,"2",{"3":[false]}]"#,
        r#"2-1["x"]"#,
        &nines,
        r#"218446744073709551616["x"]"#,
        &eleven,
        r#"5999999999999999999999-["x"]"#,
        "5",
        "51",
        "5a-",
        "51.23-",
        r#"5-1-["x"]"#,
        r#"51-"#,
        r#"51-{}"#,
        r#"61-[]"#,
        "0\"str\"",
        "0[]",
        "0123",
        r#"0/admin,"invalid""#,
        r#"0{"a":1"#,
        r#"0{"a":1}x"#,
        r#"1{"a":1}"#,
        "1/admin,{}",
        "112",
        "2",
        "2/admin,",
        "3[]",
        "312",
        r#"312{}"#,
        "4abc",
        "4[]",
        "412",
        &deep,
        r#"2["x","\ud800"]"#,
        r#"2["\udc00"]"#,
    ];
    for text in cases {
        let shown: String = text.chars().take(60).collect();
        match decode(text, &limits()) {
            Ok(p) => panic!("{shown:?} accepted: {p:?}"),
            Err(e) => assert!(!e.to_string().is_empty(), "{shown:?}"),
        }
    }
}

#[test]
fn bad_inputs_give_precise_errors() {
    let err = |text: &str| decode(text, &limits()).unwrap_err();
    assert!(matches!(err("7"), DecodeError::UnknownPacketType(b'7')));
    assert!(matches!(err(""), DecodeError::Empty));
    assert!(matches!(
        err(&format!(r#"2{}["x"]"#, "9".repeat(10_000))),
        DecodeError::AckIdTooLong
    ));
    assert!(matches!(
        err(r#"218446744073709551616["x"]"#),
        DecodeError::AckIdTooLong
    ));
    assert!(matches!(
        err(r#"511-["x"]"#),
        DecodeError::TooManyAttachments { max: 10 }
    ));
    assert!(matches!(
        err(r#"5999999999999999999999-["x"]"#),
        DecodeError::TooManyAttachments { .. }
    ));
    assert!(matches!(
        err(&format!("5{}-", "9".repeat(100_000))),
        DecodeError::TooManyAttachments { .. }
    ));
    assert!(matches!(err("5"), DecodeError::InvalidAttachments(_)));
    assert!(matches!(err("51"), DecodeError::InvalidAttachments(_)));
    assert!(matches!(err("51.23-"), DecodeError::InvalidAttachments(_)));
    assert!(matches!(
        err(r#"2["connect"]"#),
        DecodeError::ReservedEventName("connect")
    ));
    assert!(matches!(err("2[]"), DecodeError::InvalidPayload { .. }));
    assert!(matches!(err("2{}"), DecodeError::InvalidPayload { .. }));
    assert!(matches!(
        err("0123"),
        DecodeError::UnexpectedAckId(PacketKind::Connect)
    ));
    assert!(matches!(
        err(r#"1{"a":1}"#),
        DecodeError::UnexpectedPayload(PacketKind::Disconnect)
    ));
    assert!(matches!(
        err("3[]"),
        DecodeError::MissingAckId(PacketKind::Ack)
    ));
    assert!(matches!(
        err("2"),
        DecodeError::MissingPayload(PacketKind::Event)
    ));
    assert!(matches!(err(&deep(100_000)), DecodeError::TooDeep));
    assert!(matches!(
        err(r#"2["x","\ud800"]"#),
        DecodeError::LoneSurrogate
    ));
    assert!(matches!(
        err(r#"2["some","data""#),
        DecodeError::InvalidJson {
            at: 14,
            expected: "',' or ']'"
        }
    ));
}

#[test]
fn nesting_up_to_the_limit_is_accepted() {
    // The outer array is one level.
    let text = deep(MAX_NESTING - 1);
    let p = ok(&text);
    let ev = split_event(p.payload.unwrap()).unwrap();
    let _: serde_json::Value = serde_json::from_str(ev.args[0]).unwrap();
    assert!(decode(&deep(MAX_NESTING), &limits()).is_err());
}

#[test]
fn bad_placeholders_are_refused() {
    for num in [
        r#""splice""#,
        "1",
        "-1",
        "1.5",
        "1e400",
        "null",
        "true",
        r#""0""#,
    ] {
        let text = format!(r#"51-["x",{{"_placeholder":true,"num":{num}}}]"#);
        assert!(
            BinaryCollector::new(Bytes::from(text.clone()), &limits(), 1 << 16).is_err(),
            "{text}"
        );
    }
    // `"_placeholder":"true"` is not a placeholder: an ordinary object.
    let text = r#"51-["x",{"_placeholder":"true","num":"splice"},{"_placeholder":true,"num":0}]"#;
    let mut c = BinaryCollector::new(Bytes::from(text), &limits(), 1 << 16).unwrap();
    assert!(c.push(Bytes::from_static(b"a")).unwrap());
    let ev = split_event(c.packet().payload.unwrap()).unwrap();
    assert!(deserialize_with_attachments::<Binary>(ev.args[0], c.attachments()).is_err());
    let v: serde_json::Value = deserialize_with_attachments(ev.args[0], c.attachments()).unwrap();
    assert_eq!(v["num"], "splice");
}

#[test]
fn lone_surrogates_in_raw_args() {
    // Decided: refused at decode (Rust strings cannot hold them), while a
    // properly paired surrogate escape is fine.
    assert!(decode(r#"2["x","\ud800"]"#, &limits()).is_err());
    let p = ok(r#"2["x","\ud83d\ude00"]"#);
    let ev = split_event(p.payload.unwrap()).unwrap();
    let s: String = serde_json::from_str(ev.args[0]).unwrap();
    assert_eq!(s, "😀");
}

// ---------------------------------------------------------------- fuzz-style

struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Runs every entry point on `text`; only checks that nothing panics.
fn exercise(text: &str) {
    if let Ok(p) = decode(text, &limits()) {
        if let Some(payload) = p.payload {
            let _ = split_event(payload);
            let _ = split_args(payload);
            let _ = validate_placeholders(payload, p.attachments);
            let _ = deserialize_with_attachments::<Vec<Binary>>(payload, &[Bytes::new()]);
        }
    }
    let _ = split_event(text);
    let _ = split_args(text);
    let _ = validate_placeholders(text, 2);
    if let Ok(mut c) = BinaryCollector::new(Bytes::copy_from_slice(text.as_bytes()), &limits(), 64)
    {
        let _ = c.packet();
        for _ in 0..3 {
            let _ = c.push(Bytes::from_static(b"0123456789"));
        }
    }
}

const VALID: &[&str] = &[
    r#"2["message",1,"2",{"3":[true]}]"#,
    r#"2/admin,456["message-with-ack",1,"2",{"3":[false]}]"#,
    r#"52-/ns,789["message",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#,
    r#"61-15["bar",{"_placeholder":true,"num":0}]"#,
    r#"0/custom,{"token":"ab\u00e9\ud83d\ude00"}"#,
    r#"4/random,{"message":"Invalid namespace","data":[1]}"#,
    "1/admin,",
    r#"312["é",[],{}]"#,
];

#[test]
fn fuzz_prefixes_and_mutations_do_not_panic() {
    for text in VALID {
        assert!(decode(text, &limits()).is_ok(), "{text}");
        for (i, _) in text.char_indices() {
            exercise(&text[..i]);
            exercise(&text[i..]);
        }
    }
    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
    const ALPHABET: &[char] = &[
        '0', '1', '2', '3', '4', '5', '6', '7', '9', '-', '/', ',', '[', ']', '{', '}', '"', '\\',
        'u', 'd', '8', 'c', ':', 'a', ' ', 't', 'r', 'e', 'n', 'l', '.', 'é', '_', '\u{0}',
    ];
    for _ in 0..20_000 {
        // Mutate a valid packet...
        let base = VALID[rng.below(VALID.len())];
        let mut chars: Vec<char> = base.chars().collect();
        for _ in 0..=rng.below(4) {
            let at = rng.below(chars.len() + 1);
            let c = ALPHABET[rng.below(ALPHABET.len())];
            match rng.below(3) {
                0 if at < chars.len() => chars[at] = c,
                1 if at < chars.len() => {
                    chars.remove(at);
                }
                _ => chars.insert(at, c),
            }
        }
        exercise(&chars.into_iter().collect::<String>());

        // ...and build a random string.
        let len = rng.below(40);
        let s: String = (0..len)
            .map(|_| ALPHABET[rng.below(ALPHABET.len())])
            .collect();
        exercise(&s);

        // Random bytes, including invalid UTF-8, for the byte-level entry point.
        let bytes: Vec<u8> = (0..rng.below(24)).map(|_| rng.next() as u8).collect();
        let _ = BinaryCollector::new(Bytes::from(bytes.clone()), &limits(), 1 << 10);
        exercise(&String::from_utf8_lossy(&bytes));
    }
}

#[test]
fn large_inputs_stay_linear() {
    // A big, flat event and a long string: decoded and split without trouble.
    let args = vec![r#""0123456789""#; 100_000];
    let mut buf = String::new();
    encode_event(&mut buf, "/", "big", &RawArgs(&args), Some(1)).unwrap();
    let p = ok(&buf);
    assert_eq!(split_event(p.payload.unwrap()).unwrap().args.len(), 100_000);
    let long = format!(r#"2["x","{}"]"#, "\\\\".repeat(500_000));
    assert!(decode(&long, &limits()).is_ok());
    let brackets = format!("2{}", "[".repeat(1_000_000));
    assert!(decode(&brackets, &limits()).is_err());
    let commas = format!("2/{}", ",".repeat(1_000_000));
    assert!(decode(&commas, &limits()).is_err());
}

/// The server's own split keeps up to four arguments on the stack and spills past them, with
/// the same arguments in the same order as `decode_split`.
#[test]
fn split_into_arg_slices_agrees_with_decode_split() {
    for n in 0..10 {
        let args: Vec<String> = (0..n).map(|i| format!("{{\"a\":{i}}}")).collect();
        for text in [
            format!(
                "2[\"e\"{}]",
                args.iter().map(|a| format!(",{a}")).collect::<String>()
            ),
            format!("35[{}]", args.join(",")),
        ] {
            let limits = Limits::default();
            let inline = decode_split_into::<ArgSlices>(&text, &limits).unwrap();
            let plain = decode_split(&text, &limits).unwrap();
            assert_eq!(&inline.args[..], &plain.args[..], "{text}");
            assert_eq!(inline.args.len(), n, "{text}");
        }
    }
}

/// `decode_split` accepts and refuses exactly what `decode` does, and splits like
/// `split_event`/`split_args`.
#[test]
fn decode_split_agrees_with_decode_and_split() {
    let cases = [
        r#"2["message",1,"2",{"3":[true]}]"#,
        r#"2/admin,12["caf\u00e9",[1]]"#,
        r#"3456[1,"2",{"3":[false]}]"#,
        r#"3/admin,7[]"#,
        r#"0{"token":"x"}"#,
        "1/admin,",
        r#"4{"message":"no"}"#,
        r#"52-["x",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#,
        "2{}",
        r#"2["connect"]"#,
        r#"2[null,"bar"]"#,
        "3[]",
        "2abc[\"x\"]",
        "abc",
        "",
    ];
    for text in cases {
        let limits = Limits::default();
        match (decode(text, &limits), decode_split(text, &limits)) {
            (Ok(packet), Ok(split)) => {
                assert_eq!(split.packet, packet, "{text}");
                match packet.kind {
                    PacketKind::Event | PacketKind::BinaryEvent => {
                        let expected = split_event(packet.payload.unwrap()).unwrap();
                        assert_eq!(split.event, Some(expected.name), "{text}");
                        assert_eq!(split.args, expected.args, "{text}");
                    }
                    PacketKind::Ack | PacketKind::BinaryAck => {
                        let expected = split_args(packet.payload.unwrap()).unwrap();
                        assert_eq!(split.event, None, "{text}");
                        assert_eq!(split.args, expected, "{text}");
                    }
                    _ => assert!(split.event.is_none() && split.args.is_empty(), "{text}"),
                }
            }
            (Err(_), Err(_)) => {}
            (a, b) => panic!("{text}: decode {a:?} but decode_split {b:?}"),
        }
    }
}
