use super::*;
use std::io::{Read, Write};

/// xorshift64*: deterministic pseudo-random bytes for the tests.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn bytes(&mut self, n: usize, alphabet: usize) -> Vec<u8> {
        (0..n).map(|_| (self.below(alphabet)) as u8).collect()
    }
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn gzip_vec(data: &[u8], level: i32) -> Vec<u8> {
    let mut out = vec![0u8; gzip_bound(data.len())];
    let n = gzip_into(data, &mut out, level)
        .unwrap_or_else(|e| panic!("gzip {e} size {} level {level}", data.len()));
    out.truncate(n);
    out
}

fn flate2_gunzip(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::MultiGzDecoder::new(data)
        .read_to_end(&mut out)
        .expect("flate2 gunzip");
    out
}

fn gunzip_vec(data: &[u8], cap: usize) -> Result<Vec<u8>, i32> {
    let mut out = vec![0u8; cap];
    let n = gunzip_into(data, &mut out)?;
    out.truncate(n);
    Ok(out)
}

#[test]
fn abi_version_and_noop() {
    assert_eq!(rpcx_native_abi_version(), ABI_VERSION);
    assert_eq!(rpcx_noop(), 0);
    assert_eq!(unsafe { rpcx_touch(std::ptr::null(), 0) }, 0);
    assert_eq!(unsafe { rpcx_touch(std::ptr::null(), 5) }, RPCX_E_ARG);
    let b = [1u8, 2, 3];
    assert_eq!(unsafe { rpcx_touch(b.as_ptr(), 3) }, 3);
}

#[test]
fn gzip_round_trips_at_every_level_and_size() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let sizes = [
        0usize,
        1,
        2,
        17,
        64,
        1000,
        4096,
        65_535,
        65_536,
        65_537,
        300_000,
        1 << 20,
    ];
    for &size in &sizes {
        for alphabet in [2usize, 256] {
            let data = rng.bytes(size, alphabet);
            for level in [-1, 0, 1, 6, 9, 42] {
                let gz = gzip_vec(&data, level);
                assert!(gz.len() <= gzip_bound(size), "bound for {size}");
                assert_eq!(&gz[..3], &[0x1f, 0x8b, 8]);
                assert_eq!(
                    flate2_gunzip(&gz),
                    data,
                    "flate2 reads ours: size {size} level {level}"
                );
                assert_eq!(gunzip_vec(&gz, size).unwrap(), data);
                assert_eq!(gunzip_size(&gz, size).unwrap(), size);
            }
        }
    }
}

#[test]
fn gzip_reports_a_small_output_buffer() {
    let data = Rng(7).bytes(10_000, 256);
    let mut out = vec![0u8; 500];
    assert_eq!(gzip_into(&data, &mut out, 6), Err(RPCX_E_OUTPUT_FULL));
    let mut tiny = [0u8; 10];
    assert_eq!(gzip_into(b"", &mut tiny, 6), Err(RPCX_E_OUTPUT_FULL));
    // The compressor is reusable after a failed call.
    assert_eq!(flate2_gunzip(&gzip_vec(&data, 6)), data);
}

#[test]
fn gunzip_reads_other_encoders_with_header_fields() {
    let data = b"hello rpcx hello rpcx hello rpcx".repeat(100);
    let mut enc = flate2::GzBuilder::new()
        .filename("payload.bin")
        .comment("a comment")
        .extra(vec![1, 2, 3, 4])
        .write(Vec::new(), flate2::Compression::best());
    enc.write_all(&data).unwrap();
    let gz = enc.finish().unwrap();
    assert_eq!(gunzip_vec(&gz, data.len()).unwrap(), data);
    // FHCRC set by hand: header without extras, with the CRC16 of the header appended.
    let plain = gzip_vec(&data, 6);
    let mut h = plain[..10].to_vec();
    h[3] |= 0x02;
    let crc16 = (crc32fast::hash(&h) & 0xffff) as u16;
    let mut with_hcrc = h.clone();
    with_hcrc.extend_from_slice(&crc16.to_le_bytes());
    with_hcrc.extend_from_slice(&plain[10..]);
    assert_eq!(gunzip_vec(&with_hcrc, data.len()).unwrap(), data);
    with_hcrc[10] ^= 1;
    assert_eq!(gunzip_vec(&with_hcrc, data.len()), Err(RPCX_E_BAD_DATA));
}

#[test]
fn gunzip_concatenated_members() {
    let a = b"first member ".repeat(50);
    let b = b"second".to_vec();
    let mut gz = gzip_vec(&a, 6);
    gz.extend_from_slice(&gzip_vec(&b, 1));
    let mut both = a.clone();
    both.extend_from_slice(&b);
    assert_eq!(gunzip_vec(&gz, both.len()).unwrap(), both);
    assert_eq!(gunzip_size(&gz, 1 << 20).unwrap(), both.len());
    assert_eq!(gunzip_vec(&gz, both.len() - 1), Err(RPCX_E_OUTPUT_FULL));
}

#[test]
fn gunzip_rejects_bad_data() {
    let data = Rng(11).bytes(5000, 16);
    let gz = gzip_vec(&data, 6);
    assert_eq!(gunzip_vec(b"", 10), Err(RPCX_E_BAD_DATA));
    assert_eq!(
        gunzip_vec(b"not gzip at all, clearly", 100),
        Err(RPCX_E_BAD_DATA)
    );
    // Every truncation fails.
    for cut in 0..gz.len() {
        assert_eq!(
            gunzip_vec(&gz[..cut], data.len()),
            Err(RPCX_E_BAD_DATA),
            "cut at {cut}"
        );
        assert_eq!(
            gunzip_size(&gz[..cut], 1 << 20),
            Err(RPCX_E_BAD_DATA),
            "cut at {cut}"
        );
    }
    // Trailing garbage that is not another member.
    let mut trailing = gz.clone();
    trailing.extend_from_slice(&[0, 0, 0]);
    assert_eq!(gunzip_vec(&trailing, data.len()), Err(RPCX_E_BAD_DATA));
    // CRC and size mismatches.
    let mut bad_crc = gz.clone();
    let n = bad_crc.len();
    bad_crc[n - 8] ^= 0xff;
    assert_eq!(gunzip_vec(&bad_crc, data.len()), Err(RPCX_E_BAD_DATA));
    let mut bad_size = gz.clone();
    bad_size[n - 1] ^= 0x01;
    assert_eq!(gunzip_vec(&bad_size, data.len()), Err(RPCX_E_BAD_DATA));
    // Reserved flag bits, wrong method.
    let mut reserved = gz.clone();
    reserved[3] = 0x20;
    assert_eq!(gunzip_vec(&reserved, data.len()), Err(RPCX_E_BAD_DATA));
    let mut method = gz.clone();
    method[2] = 7;
    assert_eq!(gunzip_vec(&method, data.len()), Err(RPCX_E_BAD_DATA));
    // Single bit flips anywhere never panic, never succeed with wrong output.
    let mut rng = Rng(99);
    for _ in 0..2000 {
        let mut g = gz.clone();
        let i = rng.below(g.len());
        g[i] ^= 1 << rng.below(8);
        if let Ok(out) = gunzip_vec(&g, data.len() * 2) {
            assert_eq!(out, data, "a flip that decodes must not change the data");
        }
    }
    // The decoder is reusable after errors.
    assert_eq!(gunzip_vec(&gz, data.len()).unwrap(), data);
}

#[test]
fn gunzip_stops_a_bomb_at_the_limit() {
    // 256 MiB of zeros compresses to ~250 KiB.
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    let chunk = vec![0u8; 1 << 20];
    for _ in 0..256 {
        enc.write_all(&chunk).unwrap();
    }
    let bomb = enc.finish().unwrap();
    assert!(bomb.len() < 1 << 20);
    let t = std::time::Instant::now();
    assert_eq!(gunzip_size(&bomb, 1 << 20), Err(RPCX_E_LIMIT));
    let mut out = vec![0u8; 1 << 20];
    assert_eq!(gunzip_into(&bomb, &mut out), Err(RPCX_E_OUTPUT_FULL));
    assert!(t.elapsed().as_secs() < 5, "stopped early");
    // Exactly at the limit is fine.
    let exact = gzip_vec(&chunk, 6);
    assert_eq!(gunzip_size(&exact, 1 << 20), Ok(1 << 20));
    assert_eq!(gunzip_size(&exact, (1 << 20) - 1), Err(RPCX_E_LIMIT));
    assert_eq!(gunzip_into(&exact, &mut out), Ok(1 << 20));
    assert_eq!(
        gunzip_into(&exact, &mut out[..(1 << 20) - 1]),
        Err(RPCX_E_OUTPUT_FULL)
    );
}

#[test]
fn c_abi_checks_pointers_and_lengths() {
    let data = b"payload payload payload".to_vec();
    let mut out = vec![0u8; gzip_bound(data.len())];
    unsafe {
        assert_eq!(
            rpcx_gzip(std::ptr::null(), 5, out.as_mut_ptr(), 100, 6),
            RPCX_E_ARG
        );
        assert_eq!(
            rpcx_gzip(data.as_ptr(), 5, std::ptr::null_mut(), 100, 6),
            RPCX_E_ARG
        );
        let n = rpcx_gzip(
            data.as_ptr(),
            data.len() as u32,
            out.as_mut_ptr(),
            out.len() as u32,
            6,
        );
        assert!(n > 0);
        let gz = out[..n as usize].to_vec();
        let mut back = vec![0u8; data.len()];
        assert_eq!(
            rpcx_gunzip(
                gz.as_ptr(),
                gz.len() as u32,
                back.as_mut_ptr(),
                back.len() as u32
            ),
            data.len() as i32
        );
        assert_eq!(back, data);
        assert_eq!(
            rpcx_gunzip(gz.as_ptr(), gz.len() as u32, std::ptr::null_mut(), 0),
            RPCX_E_OUTPUT_FULL
        );
        assert_eq!(
            rpcx_gunzip(std::ptr::null(), 0, back.as_mut_ptr(), 4),
            RPCX_E_BAD_DATA
        );
        assert_eq!(
            rpcx_gunzip_size(gz.as_ptr(), gz.len() as u32, 1000),
            data.len() as i32
        );
        assert_eq!(
            rpcx_gunzip_size(gz.as_ptr(), gz.len() as u32, 3),
            RPCX_E_LIMIT
        );
        assert_eq!(rpcx_gzip_bound(0), gzip_bound(0) as i32);
        assert_eq!(rpcx_gzip_bound(u32::MAX), RPCX_E_ARG);
        assert_eq!(
            rpcx_encode_batch(
                std::ptr::null_mut(),
                0,
                std::ptr::null(),
                0,
                std::ptr::null_mut(),
                0
            ),
            0
        );
        assert_eq!(
            rpcx_encode_batch(
                std::ptr::null_mut(),
                32,
                std::ptr::null(),
                0,
                std::ptr::null_mut(),
                0
            ),
            RPCX_E_ARG
        );
        assert_eq!(
            rpcx_scan_frames(std::ptr::null(), 0, 100, std::ptr::null_mut(), 0),
            0
        );
    }
}

/// Builds a descriptor and blob for messages given as
/// (version, flags, serialize_byte, seq, path, method, meta_pairs, payload, level).
struct Msg<'a> {
    flags: u8,
    serialize: u8,
    seq: u64,
    path: &'a str,
    method: &'a str,
    meta: Vec<(&'a str, &'a str)>,
    payload: Vec<u8>,
}

fn build(msgs: &[Msg<'_>]) -> (Vec<u8>, Vec<u8>, usize) {
    build_ext(msgs, usize::MAX)
}

/// As `build`, with payloads of at least `external` bytes left out of the blob.
fn build_ext(msgs: &[Msg<'_>], external: usize) -> (Vec<u8>, Vec<u8>, usize) {
    let mut desc = Vec::new();
    let mut blob = Vec::new();
    let mut out_len = 0;
    for m in msgs {
        let mut meta = Vec::new();
        for (k, v) in &m.meta {
            meta.extend_from_slice(&(k.len() as u32).to_be_bytes());
            meta.extend_from_slice(k.as_bytes());
            meta.extend_from_slice(&(v.len() as u32).to_be_bytes());
            meta.extend_from_slice(v.as_bytes());
        }
        desc.extend_from_slice(&m.seq.to_ne_bytes());
        let words = [
            (m.flags as u32) << 8 | (m.serialize as u32) << 16,
            m.path.len() as u32,
            m.method.len() as u32,
            meta.len() as u32,
            m.payload.len() as u32,
            if m.payload.len() >= external {
                6 | PAYLOAD_EXTERNAL
            } else {
                6
            },
        ];
        for w in words {
            desc.extend_from_slice(&w.to_ne_bytes());
        }
        blob.extend_from_slice(m.path.as_bytes());
        blob.extend_from_slice(m.method.as_bytes());
        blob.extend_from_slice(&meta);
        if m.payload.len() < external {
            blob.extend_from_slice(&m.payload);
        }
        out_len += 32 + m.path.len() + m.method.len() + meta.len() + gzip_bound(m.payload.len());
    }
    (desc, blob, out_len)
}

fn encode(msgs: &[Msg<'_>]) -> Result<Vec<u8>, i32> {
    let (mut desc, blob, out_len) = build(msgs);
    let mut out = vec![0u8; out_len];
    let n = encode_batch(&mut desc, &blob, &mut out)?;
    out.truncate(n);
    Ok(out)
}

const V1: &str = "08000010000000000000000100000027000000054172697468000000034d756c000000000000000f7b2241223a31302c2242223a32307d";
const V2: &str = "08000010000000000000000200000038000000054172697468000000034d756c00000011000000065f5f4155544800000003746f6b0000000f7b2241223a31302c2242223a32307d";
const V7: &str =
    "0800000001020304050607080000001b000000044563686f000000054279746573000000000000000200ff";

fn v1(seq: u64, meta: Vec<(&'static str, &'static str)>) -> Msg<'static> {
    Msg {
        flags: 0,
        serialize: 0x10,
        seq,
        path: "Arith",
        method: "Mul",
        meta,
        payload: br#"{"A":10,"B":20}"#.to_vec(),
    }
}

#[test]
fn encode_batch_matches_the_protocol_vectors() {
    assert_eq!(encode(&[v1(1, vec![])]).unwrap(), hex(V1));
    assert_eq!(encode(&[v1(2, vec![("__AUTH", "tok")])]).unwrap(), hex(V2));
    let v7 = Msg {
        flags: 0,
        serialize: 0,
        seq: 0x0102_0304_0506_0708,
        path: "Echo",
        method: "Bytes",
        meta: vec![],
        payload: vec![0x00, 0xff],
    };
    assert_eq!(encode(&[v7]).unwrap(), hex(V7));
    let mut both = hex(V1);
    both.extend_from_slice(&hex(V2));
    assert_eq!(
        encode(&[v1(1, vec![]), v1(2, vec![("__AUTH", "tok")])]).unwrap(),
        both
    );
    assert_eq!(encode(&[]).unwrap(), Vec::<u8>::new());
}

#[test]
fn encode_batch_gzips_payloads_in_place() {
    let payload = b"{\"A\":10,\"B\":20}".repeat(100);
    let mut m = v1(5, vec![("k", "v")]);
    m.flags = 0x04;
    m.payload = payload.clone();
    let mut empty = v1(6, vec![]);
    empty.flags = 0x04;
    empty.payload = vec![];
    let out = encode(&[m, empty]).unwrap();
    let mut frames = [0u8; 32];
    assert_eq!(scan_frames(&out, 1 << 24, &mut frames), Ok(2));
    let len0 = u32::from_ne_bytes(frames[4..8].try_into().unwrap()) as usize;
    let f0 = &out[..len0];
    assert_eq!(f0[2], 0x04);
    assert_eq!(get_u32(f0, 12) as usize, len0 - 16);
    // path(4+5) method(4+3) meta(4+10) then payload length.
    let p = 16 + 9 + 7 + 14;
    let wire = get_u32(f0, p) as usize;
    assert_eq!(p + 4 + wire, len0);
    assert_eq!(flate2_gunzip(&f0[p + 4..]), payload);
    // The empty payload stays empty even with the gzip flag.
    let f1 = &out[len0..];
    assert_eq!(f1.len(), 32 + 8);
    assert_eq!(get_u32(f1, f1.len() - 4), 0);
}

#[test]
fn encode_batch_checks_the_descriptor() {
    let (mut desc, blob, out_len) = build(&[v1(1, vec![("a", "b")])]);
    let mut out = vec![0u8; out_len];
    // Blob too short, too long, descriptor not a whole number of messages.
    assert_eq!(
        encode_batch(&mut desc, &blob[..blob.len() - 1], &mut out),
        Err(RPCX_E_DESCRIPTOR)
    );
    let mut longer = blob.clone();
    longer.push(0);
    assert_eq!(
        encode_batch(&mut desc, &longer, &mut out),
        Err(RPCX_E_DESCRIPTOR)
    );
    assert_eq!(
        encode_batch(&mut desc[..31], &blob, &mut out),
        Err(RPCX_E_DESCRIPTOR)
    );
    // Output too small, at every size below the frame.
    let exact = encode_batch(&mut desc, &blob, &mut out).unwrap();
    for cut in 0..exact {
        assert_eq!(
            encode_batch(&mut desc, &blob, &mut out[..cut]),
            Err(RPCX_E_OUTPUT_FULL),
            "{cut}"
        );
    }
    // Huge lengths do not overflow.
    let mut huge = desc.clone();
    for w in 3..7 {
        huge[w * 4..w * 4 + 4].copy_from_slice(&u32::MAX.to_ne_bytes());
    }
    assert_eq!(
        encode_batch(&mut huge, &blob, &mut out),
        Err(RPCX_E_DESCRIPTOR)
    );
    // Random descriptors never panic.
    let mut rng = Rng(5);
    for _ in 0..5000 {
        let dn = 32 * (1 + rng.below(3));
        let mut d: Vec<u8> = rng.bytes(dn, 256);
        let mut small = d.clone();
        for w in 3..7 {
            let v = rng.below(40) as u32;
            small[w * 4..w * 4 + 4].copy_from_slice(&v.to_ne_bytes());
        }
        let bn = rng.below(200);
        let b = rng.bytes(bn, 256);
        let mut o = vec![0u8; rng.below(400)];
        let _ = encode_batch(&mut d, &b, &mut o);
        let _ = encode_batch(&mut small, &b, &mut o);
    }
}

#[test]
fn scan_frames_finds_complete_frames_and_rejects_bad_ones() {
    let mut stream = hex(V1);
    stream.extend_from_slice(&hex(V2));
    stream.extend_from_slice(&hex(V7));
    let mut out = [0u8; 64];
    assert_eq!(scan_frames(&stream, 1 << 24, &mut out), Ok(3));
    let w = |i: usize| u32::from_ne_bytes(out[i * 4..i * 4 + 4].try_into().unwrap()) as usize;
    assert_eq!((w(0), w(1)), (0, hex(V1).len()));
    assert_eq!((w(2), w(3)), (hex(V1).len(), hex(V2).len()));
    // Partial tail: only the complete frames are reported.
    for cut in 0..stream.len() {
        let n = scan_frames(&stream[..cut], 1 << 24, &mut out).unwrap();
        let complete = [hex(V1).len(), hex(V1).len() + hex(V2).len(), stream.len()]
            .iter()
            .filter(|&&e| e <= cut)
            .count();
        assert_eq!(n, complete, "cut {cut}");
    }
    assert_eq!(
        scan_frames(&stream, 10, &mut out),
        Err(RPCX_E_FRAME_TOO_LARGE)
    );
    assert_eq!(
        scan_frames(&stream, 1 << 24, &mut out[..8]),
        Err(RPCX_E_OUTPUT_FULL)
    );
    let mut bad = hex(V2);
    bad[0] = 0x47;
    assert_eq!(scan_frames(&bad, 1 << 24, &mut out), Err(RPCX_E_FRAME));
    let mut bad_meta = hex(V2);
    bad_meta[16 + 9 + 7 + 4 + 3] = 0x20; // metadata key length 0x20 > block
    assert_eq!(scan_frames(&bad_meta, 1 << 24, &mut out), Err(RPCX_E_FRAME));
    let mut bad_payload = hex(V1);
    let n = bad_payload.len();
    bad_payload[n - 16] = 0x0e; // payload length one short
    assert_eq!(
        scan_frames(&bad_payload, 1 << 24, &mut out),
        Err(RPCX_E_FRAME)
    );
    let mut bad_compress = hex(V1);
    bad_compress[2] = 0x08; // compress type 2
    assert_eq!(
        scan_frames(&bad_compress, 1 << 24, &mut out),
        Err(RPCX_E_FRAME)
    );
    let mut rng = Rng(3);
    for _ in 0..20_000 {
        let mut s = stream.clone();
        let i = rng.below(s.len());
        s[i] = rng.next() as u8;
        let _ = scan_frames(&s[..rng.below(s.len() + 1)], 1 << 24, &mut out);
    }
}

#[test]
fn encode_batch_leaves_holes_for_external_payloads() {
    let big = v1(3, vec![("x", "y")]);
    let small = v1(4, vec![]);
    let msgs = [big, small];
    let expected = encode(&msgs).unwrap();
    // Every payload of 15+ bytes external: both here.
    let (mut desc, blob, out_len) = build_ext(&msgs, 15);
    assert_eq!(blob.len(), 5 + 3 + 10 + 5 + 3);
    let mut out = vec![0u8; out_len];
    let n = encode_batch(&mut desc, &blob, &mut out).unwrap();
    for (i, m) in msgs.iter().enumerate() {
        let at = (i * DESCRIPTOR_WORDS + 7) * 4;
        let hole = u32::from_ne_bytes(desc[at..at + 4].try_into().unwrap()) as usize;
        assert!(out[hole..hole + m.payload.len()].iter().all(|&b| b == 0));
        out[hole..hole + m.payload.len()].copy_from_slice(&m.payload);
    }
    assert_eq!(&out[..n], &expected[..]);
    // External together with gzip is refused unless precompressed.
    let mut g = v1(5, vec![]);
    g.flags = 0x04;
    let (mut desc, blob, out_len) = build_ext(&[g], 1);
    let mut out = vec![0u8; out_len];
    assert_eq!(
        encode_batch(&mut desc, &blob, &mut out),
        Err(RPCX_E_DESCRIPTOR)
    );
    let word7 = 7 * 4;
    let opts = PAYLOAD_EXTERNAL | PAYLOAD_PRECOMPRESSED | 6;
    desc[word7..word7 + 4].copy_from_slice(&opts.to_ne_bytes());
    let n = encode_batch(&mut desc, &blob, &mut out).unwrap();
    let hole = u32::from_ne_bytes(desc[word7..word7 + 4].try_into().unwrap()) as usize;
    assert_eq!(n, hole + 15);
    assert_eq!(out[2], 0x04, "the gzip flag stays");
}

#[test]
fn encode_batch_copies_precompressed_payloads_as_is() {
    let gz = gzip_vec(b"already compressed elsewhere", 9);
    let mut m = v1(8, vec![]);
    m.flags = 0x04;
    m.payload = gz.clone();
    let (mut desc, blob, out_len) = build(&[m]);
    let word7 = 7 * 4;
    let opts = PAYLOAD_PRECOMPRESSED | 6;
    desc[word7..word7 + 4].copy_from_slice(&opts.to_ne_bytes());
    let mut out = vec![0u8; out_len];
    let n = encode_batch(&mut desc, &blob, &mut out).unwrap();
    assert_eq!(&out[n - gz.len()..n], &gz[..]);
    assert_eq!(get_u32(&out, n - gz.len() - 4) as usize, gz.len());
}
