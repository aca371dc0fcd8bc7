//! Optional native helpers for `@rpcx/core`, called from Deno through `Deno.dlopen`.
//!
//! The C ABI is "buffers in, lengths out": every function takes caller-owned buffers with their
//! lengths and returns a non-negative byte count (or count of frames) on success, or one of the
//! negative `RPCX_E_*` codes. Nothing is allocated for the caller to free. Every length is
//! checked before a byte is read or written; a zero length never dereferences its pointer (Deno
//! passes a null pointer for empty buffers).
//!
//! Exported symbols (ABI version [`ABI_VERSION`]):
//!
//! | symbol | returns |
//! |---|---|
//! | `rpcx_native_abi_version() -> u32` | the ABI version |
//! | `rpcx_noop() -> u32` | 0; measures the bare FFI call overhead |
//! | `rpcx_touch(buf, len: u32) -> i32` | `len` (or the error code); overhead with one buffer |
//! | `rpcx_gzip_bound(len: u32) -> i32` | the largest gzip output for `len` input bytes |
//! | `rpcx_gzip(in, in_len, out, out_len, level: i32) -> i32` | bytes written to `out` |
//! | `rpcx_gunzip(in, in_len, out, out_len) -> i32` | bytes written to `out` |
//! | `rpcx_gunzip_size(in, in_len, limit: u32) -> i32` | decompressed size, without output |
//! | `rpcx_encode_batch(desc, desc_len, blob, blob_len, out, out_len) -> i32` | bytes written |
//! | `rpcx_scan_frames(buf, len, max_total, out, out_len) -> i32` | complete frames found |
//!
//! Lengths are `u32` and results `i32` so that Deno's fast-call path can use plain numbers; a
//! result can therefore not exceed `i32::MAX` bytes (2 GiB), far above the protocol limits.

use std::cell::RefCell;

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};

/// Version of the C ABI below; bumped on any incompatible change.
pub const ABI_VERSION: u32 = 1;

/// A pointer was null while its length was not zero, or an argument is out of range.
pub const RPCX_E_ARG: i32 = -1;
/// The output buffer is too small: for `rpcx_gunzip`, the data decompresses to more than
/// `out_len` bytes; for `rpcx_gzip`/`rpcx_encode_batch`/`rpcx_scan_frames`, `out` cannot hold
/// the result.
pub const RPCX_E_OUTPUT_FULL: i32 = -2;
/// The input is not a valid gzip stream (bad header, corrupt deflate data, CRC or size
/// mismatch, truncated, or trailing bytes that are not another gzip member).
pub const RPCX_E_BAD_DATA: i32 = -3;
/// `rpcx_gunzip_size`: the data decompresses to more than `limit` bytes.
pub const RPCX_E_LIMIT: i32 = -4;
/// `rpcx_encode_batch`: the descriptor is malformed or inconsistent with the blob.
pub const RPCX_E_DESCRIPTOR: i32 = -5;
/// `rpcx_scan_frames`: a frame breaks the rpcx layout (bad magic, lengths that do not add up).
pub const RPCX_E_FRAME: i32 = -6;
/// `rpcx_scan_frames`: a frame announces more than `max_total` bytes.
pub const RPCX_E_FRAME_TOO_LARGE: i32 = -7;
/// The compressor failed unexpectedly.
pub const RPCX_E_INTERNAL: i32 = -8;

/// rpcx frame header length.
pub const HEADER_LENGTH: usize = 16;
/// Words (u32) per message in the `rpcx_encode_batch` descriptor.
pub const DESCRIPTOR_WORDS: usize = 8;
/// `rpcx_encode_batch` descriptor word 7 bit: the payload is not in the blob (see
/// [`encode_batch`]).
pub const PAYLOAD_EXTERNAL: u32 = 0x100;
/// `rpcx_encode_batch` descriptor word 7 bit: the payload is already compressed (see
/// [`encode_batch`]).
pub const PAYLOAD_PRECOMPRESSED: u32 = 0x200;
/// Gzip level used when a caller passes a level outside 0..=9.
pub const DEFAULT_LEVEL: u32 = 6;

const GZIP_HEADER_LEN: usize = 10;
const GZIP_TRAILER_LEN: usize = 8;
const MAX_RESULT: usize = i32::MAX as usize;

// ---------------------------------------------------------------------------------------------
// Safe cores (tested directly by `cargo test`).
// ---------------------------------------------------------------------------------------------

/// Largest gzip output `gzip_into` can produce for `n` input bytes: zlib's conservative
/// `deflateBound` (which also covers level 1's static-Huffman blocks, up to 9 bits a byte)
/// plus the 18 bytes of gzip header and trailer.
pub fn gzip_bound(n: usize) -> usize {
    n + ((n + 7) >> 3) + ((n + 63) >> 6) + 5 + GZIP_HEADER_LEN + GZIP_TRAILER_LEN
}

struct Codecs {
    compress: Option<(u32, Compress)>,
    decompress: Decompress,
}

thread_local! {
    // Deflate state is a few hundred KiB: allocating it per call costs more than compressing a
    // small payload, so each thread keeps one and resets it.
    static CODECS: RefCell<Codecs> = RefCell::new(Codecs {
        compress: None,
        decompress: Decompress::new(false),
    });
}

fn normalize_level(level: i32) -> u32 {
    if (0..=9).contains(&level) {
        level as u32
    } else {
        DEFAULT_LEVEL
    }
}

/// Gzips `input` into `out`; returns the bytes written or `RPCX_E_OUTPUT_FULL`.
pub fn gzip_into(input: &[u8], out: &mut [u8], level: i32) -> Result<usize, i32> {
    let level = normalize_level(level);
    if out.len() < GZIP_HEADER_LEN + GZIP_TRAILER_LEN {
        return Err(RPCX_E_OUTPUT_FULL);
    }
    let xfl = match level {
        9 => 2,
        1 => 4,
        _ => 0,
    };
    // ID1 ID2 CM=deflate FLG=0 MTIME=0 XFL OS=3 (Unix, as zlib writes it).
    out[..GZIP_HEADER_LEN].copy_from_slice(&[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, xfl, 3]);
    let body_end = out.len() - GZIP_TRAILER_LEN;
    let written = CODECS.with(|c| -> Result<usize, i32> {
        let mut c = c.borrow_mut();
        let comp = match &mut c.compress {
            Some((l, comp)) if *l == level => {
                comp.reset();
                comp
            }
            slot => {
                *slot = Some((level, Compress::new(Compression::new(level), false)));
                &mut slot.as_mut().unwrap().1
            }
        };
        let dst = &mut out[GZIP_HEADER_LEN..body_end];
        let mut in_pos = 0usize;
        let mut out_pos = 0usize;
        loop {
            let before_in = comp.total_in();
            let before_out = comp.total_out();
            let status = comp
                .compress(&input[in_pos..], &mut dst[out_pos..], FlushCompress::Finish)
                .map_err(|_| RPCX_E_INTERNAL)?;
            in_pos += (comp.total_in() - before_in) as usize;
            out_pos += (comp.total_out() - before_out) as usize;
            match status {
                Status::StreamEnd => return Ok(out_pos),
                _ if out_pos == dst.len() => return Err(RPCX_E_OUTPUT_FULL),
                _ if comp.total_in() == before_in && comp.total_out() == before_out => {
                    return Err(RPCX_E_INTERNAL)
                }
                _ => {}
            }
        }
    })?;
    let mut o = GZIP_HEADER_LEN + written;
    let crc = crc32fast::hash(input);
    out[o..o + 4].copy_from_slice(&crc.to_le_bytes());
    out[o + 4..o + 8].copy_from_slice(&(input.len() as u32).to_le_bytes());
    o += GZIP_TRAILER_LEN;
    Ok(o)
}

/// Where decompressed bytes go: a caller buffer, or nowhere (only counted).
enum Sink<'a> {
    Buffer(&'a mut [u8]),
    Count { limit: usize },
}

/// Parses a gzip member header at `input[0..]`; returns its length.
fn gzip_header_len(input: &[u8]) -> Result<usize, i32> {
    if input.len() < GZIP_HEADER_LEN {
        return Err(RPCX_E_BAD_DATA);
    }
    if input[0] != 0x1f || input[1] != 0x8b || input[2] != 8 {
        return Err(RPCX_E_BAD_DATA);
    }
    let flg = input[3];
    if flg & 0xe0 != 0 {
        return Err(RPCX_E_BAD_DATA);
    }
    let mut p = GZIP_HEADER_LEN;
    if flg & 0x04 != 0 {
        // FEXTRA
        if input.len() < p + 2 {
            return Err(RPCX_E_BAD_DATA);
        }
        let xlen = u16::from_le_bytes([input[p], input[p + 1]]) as usize;
        p += 2;
        if input.len() - p < xlen {
            return Err(RPCX_E_BAD_DATA);
        }
        p += xlen;
    }
    for bit in [0x08u8, 0x10] {
        // FNAME, FCOMMENT: zero-terminated
        if flg & bit != 0 {
            match input[p..].iter().position(|&b| b == 0) {
                Some(z) => p += z + 1,
                None => return Err(RPCX_E_BAD_DATA),
            }
        }
    }
    if flg & 0x02 != 0 {
        // FHCRC: low 16 bits of the CRC-32 of the header so far
        if input.len() < p + 2 {
            return Err(RPCX_E_BAD_DATA);
        }
        let want = u16::from_le_bytes([input[p], input[p + 1]]);
        if (crc32fast::hash(&input[..p]) & 0xffff) as u16 != want {
            return Err(RPCX_E_BAD_DATA);
        }
        p += 2;
    }
    Ok(p)
}

fn gunzip_impl(input: &[u8], mut sink: Sink<'_>) -> Result<usize, i32> {
    if input.is_empty() {
        return Err(RPCX_E_BAD_DATA);
    }
    let mut scratch = [0u8; 16 * 1024];
    let mut total = 0usize; // bytes produced over all members
    let mut pos = 0usize; // position in input
    CODECS.with(|c| -> Result<usize, i32> {
        let mut c = c.borrow_mut();
        let dec = &mut c.decompress;
        loop {
            pos += gzip_header_len(&input[pos..])?;
            dec.reset(false);
            let mut crc = crc32fast::Hasher::new();
            let member_start = total;
            loop {
                let dst: &mut [u8] = match &mut sink {
                    Sink::Buffer(buf) => {
                        if total == buf.len() {
                            // Full: any further byte means the data is larger than allowed.
                            &mut scratch[..1]
                        } else {
                            &mut buf[total..]
                        }
                    }
                    Sink::Count { .. } => &mut scratch[..],
                };
                let before_in = dec.total_in();
                let before_out = dec.total_out();
                let status = dec
                    .decompress(&input[pos..], dst, FlushDecompress::None)
                    .map_err(|_| RPCX_E_BAD_DATA)?;
                let used = (dec.total_in() - before_in) as usize;
                let made = (dec.total_out() - before_out) as usize;
                pos += used;
                match &mut sink {
                    Sink::Buffer(buf) => {
                        if made > 0 && total == buf.len() {
                            return Err(RPCX_E_OUTPUT_FULL);
                        }
                        crc.update(&buf[total..total + made]);
                    }
                    Sink::Count { limit } => {
                        if made > *limit - total {
                            return Err(RPCX_E_LIMIT);
                        }
                        crc.update(&scratch[..made]);
                    }
                }
                total += made;
                if let Status::StreamEnd = status {
                    break;
                }
                if used == 0 && made == 0 {
                    // No progress: the input ended inside the deflate stream.
                    return Err(RPCX_E_BAD_DATA);
                }
            }
            if input.len() - pos < GZIP_TRAILER_LEN {
                return Err(RPCX_E_BAD_DATA);
            }
            let t = &input[pos..pos + GZIP_TRAILER_LEN];
            let want_crc = u32::from_le_bytes([t[0], t[1], t[2], t[3]]);
            let want_size = u32::from_le_bytes([t[4], t[5], t[6], t[7]]);
            pos += GZIP_TRAILER_LEN;
            if crc.finalize() != want_crc || ((total - member_start) as u32) != want_size {
                return Err(RPCX_E_BAD_DATA);
            }
            if pos == input.len() {
                return Ok(total);
            }
            // Another member must follow (concatenated gzip streams decode to the
            // concatenation); anything else is an error.
        }
    })
}

/// Gunzips `input` into `out`. `Err(RPCX_E_OUTPUT_FULL)` when it decompresses to more than
/// `out.len()` bytes (the check happens as bytes are produced, so a gzip bomb stops there).
pub fn gunzip_into(input: &[u8], out: &mut [u8]) -> Result<usize, i32> {
    gunzip_impl(input, Sink::Buffer(out))
}

/// Decompressed size of `input`, decompressing without keeping output;
/// `Err(RPCX_E_LIMIT)` as soon as it exceeds `limit`.
pub fn gunzip_size(input: &[u8], limit: usize) -> Result<usize, i32> {
    gunzip_impl(input, Sink::Count { limit })
}

fn put_u32(out: &mut [u8], at: usize, v: u32) {
    out[at..at + 4].copy_from_slice(&v.to_be_bytes());
}

fn get_u32(buf: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([buf[at], buf[at + 1], buf[at + 2], buf[at + 3]])
}

fn desc_word(desc: &[u8], i: usize) -> u32 {
    let at = i * 4;
    u32::from_ne_bytes([desc[at], desc[at + 1], desc[at + 2], desc[at + 3]])
}

/// Encodes a batch of messages back to back into `out`.
///
/// `desc` holds [`DESCRIPTOR_WORDS`] native-endian u32 words (32 bytes) per message:
/// 0-1: seq as a native-endian u64 (so TS can store a bigint with one `BigUint64Array` write);
/// 2: `version | flags << 8 | serialize_byte << 16` (the three header bytes after the magic);
/// 3: path length; 4: method length; 5: metadata block length (its content, pairs of u32 BE
/// length + bytes, is in the blob); 6: payload length (uncompressed); 7: options — bits 0..7
/// the gzip level (used when the flags say compress type 1), bit 8 [`PAYLOAD_EXTERNAL`], bit 9
/// [`PAYLOAD_PRECOMPRESSED`].
///
/// `blob` holds, for each message in order, its path, method, metadata block content and
/// (uncompressed) payload. With [`PAYLOAD_EXTERNAL`] the payload is not in the blob: its
/// `payload length` bytes are left untouched in `out` and word 7 is overwritten with the offset
/// in `out` where the caller must copy them (large payloads are then copied once, not twice).
/// With [`PAYLOAD_PRECOMPRESSED`] the payload bytes are already the wire bytes (the caller
/// gzipped them) and are not compressed again whatever the flags say. An external payload of a
/// gzip message must be precompressed. When the compress type in the flags is gzip and the payload is
/// non-empty, the payload is gzipped straight into its place in `out` (an empty payload stays
/// empty, as in the TS encoder). Every length is checked against `blob`; the blob must be
/// consumed exactly.
pub fn encode_batch(desc: &mut [u8], blob: &[u8], out: &mut [u8]) -> Result<usize, i32> {
    let stride = DESCRIPTOR_WORDS * 4;
    if !desc.len().is_multiple_of(stride) {
        return Err(RPCX_E_DESCRIPTOR);
    }
    let count = desc.len() / stride;
    let mut b = 0usize; // blob position
    let mut o = 0usize; // out position
    for m in 0..count {
        let w = |i: usize| desc_word(&*desc, m * DESCRIPTOR_WORDS + i);
        let at = m * DESCRIPTOR_WORDS * 4;
        let seq = u64::from_ne_bytes(desc[at..at + 8].try_into().map_err(|_| RPCX_E_DESCRIPTOR)?);
        let head = w(2);
        let flags = ((head >> 8) & 0xff) as u8;
        let options = w(7);
        let gzip = (flags >> 2) & 0x07 == 1 && options & PAYLOAD_PRECOMPRESSED == 0;
        let path = w(3) as usize;
        let method = w(4) as usize;
        let meta = w(5) as usize;
        let payload = w(6) as usize;
        let level = (options & 0xff) as i32;
        let external = options & PAYLOAD_EXTERNAL != 0;
        if external && gzip {
            return Err(RPCX_E_DESCRIPTOR);
        }
        let in_blob = if external { 0 } else { payload };
        let strings = path
            .checked_add(method)
            .and_then(|x| x.checked_add(meta))
            .ok_or(RPCX_E_DESCRIPTOR)?;
        let fields = strings.checked_add(in_blob).ok_or(RPCX_E_DESCRIPTOR)?;
        if blob.len() - b < fields {
            return Err(RPCX_E_DESCRIPTOR);
        }
        let fixed = HEADER_LENGTH + 16 + strings;
        if out.len() - o < fixed {
            return Err(RPCX_E_OUTPUT_FULL);
        }
        let start = o;
        out[o] = 0x08;
        out[o + 1] = (head & 0xff) as u8;
        out[o + 2] = flags;
        out[o + 3] = ((head >> 16) & 0xff) as u8;
        out[o + 4..o + 12].copy_from_slice(&seq.to_be_bytes());
        o += HEADER_LENGTH;
        for len in [path, method, meta] {
            put_u32(out, o, len as u32);
            out[o + 4..o + 4 + len].copy_from_slice(&blob[b..b + len]);
            o += 4 + len;
            b += len;
        }
        let src = &blob[b..b + in_blob];
        b += in_blob;
        let wire_len = if gzip && payload > 0 {
            gzip_into(src, &mut out[o + 4..], level)?
        } else {
            if out.len() - o - 4 < payload {
                return Err(RPCX_E_OUTPUT_FULL);
            }
            if external {
                let at = (m * DESCRIPTOR_WORDS + 7) * 4;
                let hole = u32::try_from(o + 4).map_err(|_| RPCX_E_ARG)?;
                desc[at..at + 4].copy_from_slice(&hole.to_ne_bytes());
            } else {
                out[o + 4..o + 4 + payload].copy_from_slice(src);
            }
            payload
        };
        put_u32(out, o, u32::try_from(wire_len).map_err(|_| RPCX_E_ARG)?);
        o += 4 + wire_len;
        let total = o - start - HEADER_LENGTH;
        put_u32(
            out,
            start + 12,
            u32::try_from(total).map_err(|_| RPCX_E_ARG)?,
        );
        if o > MAX_RESULT {
            return Err(RPCX_E_ARG);
        }
    }
    if b != blob.len() {
        return Err(RPCX_E_DESCRIPTOR);
    }
    Ok(o)
}

/// Finds the complete frames at the start of `buf`, checking each one's layout (magic, the
/// four length fields and every metadata pair fit exactly, `total <= max_total`). Writes two
/// native-endian u32 words per frame into `out` (start offset, frame length) and returns the
/// number of frames; stops at the first incomplete frame (`sum of lengths` tells the caller
/// where the unconsumed tail starts). `Err(RPCX_E_OUTPUT_FULL)` when `out` has no room for
/// another complete frame.
pub fn scan_frames(buf: &[u8], max_total: u32, out: &mut [u8]) -> Result<usize, i32> {
    let mut off = 0usize;
    let mut n = 0usize;
    while buf.len() - off >= 1 {
        if buf[off] != 0x08 {
            return Err(RPCX_E_FRAME);
        }
        if buf.len() - off < HEADER_LENGTH {
            break;
        }
        let total = get_u32(buf, off + 12);
        if total > max_total {
            return Err(RPCX_E_FRAME_TOO_LARGE);
        }
        let total = total as usize;
        if total < 16 {
            return Err(RPCX_E_FRAME);
        }
        if (flags_compress(buf[off + 2])) > 1 {
            return Err(RPCX_E_FRAME);
        }
        let end = match (off + HEADER_LENGTH).checked_add(total) {
            Some(e) if e <= buf.len() => e,
            _ => break,
        };
        let mut p = off + HEADER_LENGTH;
        for field in 0..4 {
            if end - p < 4 {
                return Err(RPCX_E_FRAME);
            }
            let len = get_u32(buf, p) as usize;
            p += 4;
            if len > end - p {
                return Err(RPCX_E_FRAME);
            }
            if field == 2 {
                let meta_end = p + len;
                let mut q = p;
                while q < meta_end {
                    for _ in 0..2 {
                        if meta_end - q < 4 {
                            return Err(RPCX_E_FRAME);
                        }
                        let l = get_u32(buf, q) as usize;
                        q += 4;
                        if l > meta_end - q {
                            return Err(RPCX_E_FRAME);
                        }
                        q += l;
                    }
                }
            }
            p += len;
            if field == 3 && p != end {
                return Err(RPCX_E_FRAME);
            }
        }
        let at = n * 8;
        if out.len() < at + 8 {
            return Err(RPCX_E_OUTPUT_FULL);
        }
        out[at..at + 4].copy_from_slice(&(off as u32).to_ne_bytes());
        out[at + 4..at + 8].copy_from_slice(&((end - off) as u32).to_ne_bytes());
        n += 1;
        off = end;
    }
    Ok(n)
}

fn flags_compress(flags: u8) -> u8 {
    (flags >> 2) & 0x07
}

// ---------------------------------------------------------------------------------------------
// C ABI.
// ---------------------------------------------------------------------------------------------

/// Builds a slice from a caller pointer and length; `None` for a null pointer with a non-zero
/// length. A zero length never touches the pointer.
unsafe fn slice<'a>(ptr: *const u8, len: u32) -> Option<&'a [u8]> {
    if len == 0 {
        Some(&[])
    } else if ptr.is_null() {
        None
    } else {
        // SAFETY: the caller promises `ptr` points to `len` readable bytes.
        Some(unsafe { std::slice::from_raw_parts(ptr, len as usize) })
    }
}

unsafe fn slice_mut<'a>(ptr: *mut u8, len: u32) -> Option<&'a mut [u8]> {
    if len == 0 {
        Some(&mut [])
    } else if ptr.is_null() {
        None
    } else {
        // SAFETY: the caller promises `ptr` points to `len` writable bytes, not aliased.
        Some(unsafe { std::slice::from_raw_parts_mut(ptr, len as usize) })
    }
}

fn result(r: Result<usize, i32>) -> i32 {
    match r {
        Ok(n) if n <= MAX_RESULT => n as i32,
        Ok(_) => RPCX_E_ARG,
        Err(e) => e,
    }
}

/// The ABI version of this library ([`ABI_VERSION`]).
#[no_mangle]
pub extern "C" fn rpcx_native_abi_version() -> u32 {
    ABI_VERSION
}

/// Does nothing; returns 0. Used to measure the bare FFI call overhead.
#[no_mangle]
pub extern "C" fn rpcx_noop() -> u32 {
    0
}

/// Returns `len` after reading the first byte (so the buffer is really passed), or
/// `RPCX_E_ARG`. Used to measure the FFI overhead of a call with one buffer argument.
///
/// # Safety
/// `buf` must point to `len` readable bytes (or `len` must be 0).
#[no_mangle]
pub unsafe extern "C" fn rpcx_touch(buf: *const u8, len: u32) -> i32 {
    match unsafe { slice(buf, len) } {
        Some(s) => {
            let _ = s.first().copied();
            len.min(i32::MAX as u32) as i32
        }
        None => RPCX_E_ARG,
    }
}

/// The largest number of bytes `rpcx_gzip` can write for `len` input bytes, or `RPCX_E_ARG`.
#[no_mangle]
pub extern "C" fn rpcx_gzip_bound(len: u32) -> i32 {
    result(Ok(gzip_bound(len as usize)))
}

/// Gzips `input[0..in_len]` into `out[0..out_len]` at `level` (0..=9; anything else means 6).
/// Returns the bytes written, `RPCX_E_OUTPUT_FULL`, or `RPCX_E_ARG`.
///
/// # Safety
/// `input` must point to `in_len` readable bytes and `out` to `out_len` writable bytes that do
/// not overlap `input` (or the lengths must be 0).
#[no_mangle]
pub unsafe extern "C" fn rpcx_gzip(
    input: *const u8,
    in_len: u32,
    out: *mut u8,
    out_len: u32,
    level: i32,
) -> i32 {
    let (Some(i), Some(o)) = (unsafe { slice(input, in_len) }, unsafe {
        slice_mut(out, out_len)
    }) else {
        return RPCX_E_ARG;
    };
    result(gzip_into(i, o, level))
}

/// Gunzips `input[0..in_len]` (one or more concatenated members) into `out[0..out_len]`.
/// Returns the bytes written; `RPCX_E_OUTPUT_FULL` as soon as the output would exceed
/// `out_len` (so `out_len` is the gzip-bomb limit); `RPCX_E_BAD_DATA` for invalid data.
///
/// # Safety
/// As for `rpcx_gzip`.
#[no_mangle]
pub unsafe extern "C" fn rpcx_gunzip(
    input: *const u8,
    in_len: u32,
    out: *mut u8,
    out_len: u32,
) -> i32 {
    let (Some(i), Some(o)) = (unsafe { slice(input, in_len) }, unsafe {
        slice_mut(out, out_len)
    }) else {
        return RPCX_E_ARG;
    };
    result(gunzip_into(i, o))
}

/// The decompressed size of `input[0..in_len]` without storing it (memory use is constant);
/// `RPCX_E_LIMIT` as soon as it exceeds `limit`; `RPCX_E_BAD_DATA` for invalid data.
///
/// # Safety
/// `input` must point to `in_len` readable bytes (or `in_len` must be 0).
#[no_mangle]
pub unsafe extern "C" fn rpcx_gunzip_size(input: *const u8, in_len: u32, limit: u32) -> i32 {
    let Some(i) = (unsafe { slice(input, in_len) }) else {
        return RPCX_E_ARG;
    };
    result(gunzip_size(i, (limit as usize).min(MAX_RESULT)))
}

/// Encodes a batch of messages; see [`encode_batch`] for the descriptor and blob layout.
/// Returns the bytes written to `out`, or `RPCX_E_DESCRIPTOR`, `RPCX_E_OUTPUT_FULL`,
/// `RPCX_E_ARG`, `RPCX_E_INTERNAL`.
///
/// # Safety
/// Each pointer must point to its length in bytes (readable; `desc` and `out` also writable;
/// none overlapping), or the length must be 0.
#[no_mangle]
pub unsafe extern "C" fn rpcx_encode_batch(
    desc: *mut u8,
    desc_len: u32,
    blob: *const u8,
    blob_len: u32,
    out: *mut u8,
    out_len: u32,
) -> i32 {
    let (Some(d), Some(b), Some(o)) = (
        unsafe { slice_mut(desc, desc_len) },
        unsafe { slice(blob, blob_len) },
        unsafe { slice_mut(out, out_len) },
    ) else {
        return RPCX_E_ARG;
    };
    result(encode_batch(d, b, o))
}

/// Scans complete frames at the start of `buf[0..len]`; see [`scan_frames`].
///
/// # Safety
/// `buf` must point to `len` readable bytes and `out` to `out_len` writable bytes (or the
/// lengths must be 0).
#[no_mangle]
pub unsafe extern "C" fn rpcx_scan_frames(
    buf: *const u8,
    len: u32,
    max_total: u32,
    out: *mut u8,
    out_len: u32,
) -> i32 {
    let (Some(b), Some(o)) = (unsafe { slice(buf, len) }, unsafe {
        slice_mut(out, out_len)
    }) else {
        return RPCX_E_ARG;
    };
    result(scan_frames(b, max_total, o))
}

#[cfg(test)]
mod tests;
